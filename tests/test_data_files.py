"""Data problems read from files (CSV, NPZ, svmlight) and the shipped data sets: the readers,
the options (standardize, test_fraction, max_rows), and every bad file refused in one line that
names the file, the line and the column (exit 2). Nothing here compiles a kernel."""

from __future__ import annotations

import gzip
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from adambench.cli import app
from adambench.data_files import builtin_table, split_and_scale
from adambench.errors import ConfigError
from adambench.problems import load_problem
from adambench.report.catalog import catalog

runner = CliRunner()

CSV = "a,b,label\n1,2,0\n2,1,1\n3,0.5,0\n4,-1,1\n5,2.5,0\n6,3,1\n"


def problem_text(data: str, model: str = "{kind: logistic, bias: true}") -> str:
    return f"name: mine\ndata: {data}\nmodel: {model}\n"


def write_problem(tmp_path, data: str, model: str = "{kind: logistic, bias: true}"):
    path = tmp_path / "p.yaml"
    path.write_text(problem_text(data, model))
    return path


def test_csv_npz_and_svmlight_give_the_same_problem(tmp_path):
    rows = np.array([[float(v) for v in line.split(",")] for line in CSV.splitlines()[1:]])
    (tmp_path / "d.csv").write_text(CSV)
    np.savez(tmp_path / "d.npz", X=rows[:, :2], y=rows[:, 2])
    svm = "".join(
        f"{int(y)} " + " ".join(f"{j + 1}:{float(v)!r}" for j, v in enumerate(x) if v) + " # row\n"
        for *x, y in rows
    )
    (tmp_path / "d.svm").write_text("# a comment line\n\n" + svm)
    with gzip.open(tmp_path / "d.csv.gz", "wt") as fh:
        fh.write(CSV)
    problems = [
        load_problem(write_problem(tmp_path, "{file: d.csv, target: label}")),
        load_problem(write_problem(tmp_path, "{file: d.csv.gz, target: label}")),
        load_problem(write_problem(tmp_path, "{file: d.npz}")),
        load_problem(write_problem(tmp_path, "{file: d.svm}")),
    ]
    first = problems[0]
    assert first.dim == 3 and first.variables == ()  # two weights and a bias, unnamed
    assert np.array_equal(first.data, np.column_stack([rows[:, :2], np.ones(6), rows[:, 2]]))
    for p in problems[1:]:
        assert np.array_equal(p.data, first.data)
        assert p.min_value == first.min_value
    assert np.all(first.start == 0)  # a data problem starts at zero unless told


def test_svmlight_labels_minus_one_and_one_are_read_as_zero_and_one(tmp_path):
    (tmp_path / "d.svm").write_text("-1 1:0.5\n+1 1:2\n-1 2:1\n1 1:1 2:1\n")
    p = load_problem(write_problem(tmp_path, "{file: d.svm}"))
    assert p.data[:, -1].tolist() == [0, 1, 0, 1]


def test_paths_are_relative_to_the_problem_file(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.csv").write_text(CSV)
    path = tmp_path / "sub" / "p.yaml"
    path.write_text(problem_text("{file: d.csv, target: label}"))
    monkeypatch.chdir(tmp_path)
    assert load_problem("sub/p.yaml").data.shape == (6, 4)


def test_split_is_seeded_and_standardized_on_the_training_rows():
    x = np.arange(40.0).reshape(20, 2) ** 1.5
    y = np.arange(20.0) % 2
    a = split_and_scale(x, y, 0.25, 7, True)
    b = split_and_scale(x, y, 0.25, 7, True)
    c = split_and_scale(x, y, 0.25, 8, True)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not np.array_equal(a[3], c[3])  # another seed, another split
    train_x, train_y, test_x, test_y = a
    assert (len(train_y), len(test_y)) == (15, 5)
    assert np.allclose(train_x.mean(axis=0), 0) and np.allclose(train_x.std(axis=0), 1)
    # the test rows are scaled with the training rows' mean and deviation, not their own
    raw = split_and_scale(x, y, 0.25, 7, False)
    mean, std = raw[0].mean(axis=0), raw[0].std(axis=0)
    assert np.allclose(test_x, (raw[2] - mean) / std)
    # every row is in exactly one part, in the file's order
    assert sorted([*raw[1], *raw[3]]) == sorted(y)


def test_options_reach_the_problem(tmp_path):
    (tmp_path / "d.csv").write_text(CSV)
    data = "{file: d.csv, target: label, max_rows: 4, test_fraction: 0.25, split_seed: 3}"
    p = load_problem(write_problem(tmp_path, data, "{kind: least_squares, batch_size: 3}"))
    assert p.data.shape == (3, 3) and p.test_data.shape == (1, 3)
    assert p.dim == 2 and p.model["batch_size"] == 3
    assert p.accuracy(p.start) is None  # least squares is not a classifier
    assert p.loss_numpy(p.minimizers[0], test=True) >= 0


def test_softmax_maps_labels_to_classes_and_sizes_its_weights(tmp_path):
    text = "f,g,kind\n" + "".join(f"{i},{i * i % 7},{[3, 5, 9][i % 3]}\n" for i in range(12))
    (tmp_path / "d.csv").write_text(text)
    p = load_problem(write_problem(tmp_path, "{file: d.csv, target: kind}", "{kind: softmax}"))
    assert p.model["n_classes"] == 3 and p.dim == 6  # 3 classes x 2 features, no bias
    assert sorted(set(p.data[:, -1])) == [0, 1, 2]  # 3, 5, 9 -> 0, 1, 2
    assert p.minimizers  # without a bias the minimiser is unique


def test_shipped_data_sets():
    digits, cancer = builtin_table("digits"), builtin_table("breast_cancer")
    assert digits.features.shape == (1797, 64) and set(digits.target) == set(range(10))
    assert digits.features.min() == 0 and digits.features.max() == 16
    assert cancer.features.shape == (569, 30) and int(cancer.target.sum()) == 357  # benign
    assert cancer.feature_names[0] == "mean_radius" and cancer.target_name == "benign"
    from adambench.problem_files import BUILTIN_DATA_SHAPES

    # what `list` tells without reading the data
    assert BUILTIN_DATA_SHAPES == {"digits": (64, 10), "breast_cancer": (30, 2)}
    p = load_problem("digits_softmax")
    assert p.dim == 650 and p.data.shape[0] + p.test_data.shape[0] == 1797
    assert not p.minimizers  # the biases are free up to a constant: no unique minimiser
    assert "not unique" in " ".join(p.notes)
    q = load_problem("breast_cancer_logistic")
    assert q.dim == 31 and q.accuracy(q.minimizers[0], test=True) > 0.9
    listed = {row["name"]: row["dim"] for row in catalog()["problems"]}
    assert (listed["digits_softmax"], listed["breast_cancer_logistic"]) == (p.dim, q.dim)


BAD_FILES = [
    # (name, file name, content, data block, pattern of the error after the file's name)
    ("ragged", "d.csv", "a,b,y\n1,2,0\n1,0\n", "target: y", r"line 3: 2 cells, the header .*3"),
    ("text", "d.csv", "a,b,y\n1,2,0\n1,red,1\n", "target: y", r"line 3, column 'b': 'red' is"),
    ("nan", "d.csv", "a,b,y\n1,2,0\n1,nan,1\n", "target: y", r"line 3, column 'b': nan is not"),
    ("empty", "d.csv", "a,b,y\n1,,0\n2,1,1\n", "target: y", r"line 2, column 'b': empty cell"),
    ("no-target", "d.csv", "a,b,y\n1,2,0\n", "target: Y", r"line 1: no column 'Y' .*'y'\?"),
    ("no-rows", "d.csv", "a,b,y\n", "target: y", r"has no data rows"),
    ("no-features", "d.csv", "y\n0\n1\n", "target: y", r"has no feature columns besides 'y'"),
    ("no-header", "d.csv", "", "target: y", r"line 1: no header"),
    (
        "one-sample",
        "d.csv",
        "a,y\n1,0\n2,0\n3,1\n",
        "target: y",
        r"line 4: class 1 of target 'y' has one sample",
    ),
    ("not-binary", "d.csv", "a,y\n1,0\n2,2\n3,2\n", "target: y", r"line 3: .*= 2; logistic"),
    ("fraction", "d.csv", "a,y\n1,0\n2,1\n", "target: y", r"line 3: .* = 0.5 is not a class"),
    ("svm-token", "d.svm", "1 1:2 3\n0 1:1\n", "", r"line 1: '3' is not index:value"),
    ("svm-value", "d.svm", "1 1:2\n0 2:x\n", "", r"line 2, column feature 2: 'x' is not"),
    ("svm-zero", "d.svm", "1 0:2\n0 1:1\n", "", r"line 1: feature index 0: indices start at 1"),
    ("missing", "other.csv", "a,y\n", "target: y", r"no such data file"),
    ("npz-keys", "d.npz", "npz:A", "", r"no array 'X' \(it has: A\)"),
    ("npz-nan", "d.npz", "npz:nan", "", r"X row 1, column 0: nan is not finite"),
    ("npz-garbage", "d.npz", "not a zip", "", r"cannot read it as npz"),
]


@pytest.mark.parametrize("name, file, content, block, pattern", BAD_FILES, ids=lambda v: v)
def test_bad_data_file_is_refused_in_one_line(
    tmp_path, monkeypatch, name, file, content, block, pattern
):
    target = tmp_path / ("d.csv" if name == "missing" else file)
    if content == "npz:A":
        np.savez(target, A=np.zeros(2))
    elif content == "npz:nan":
        np.savez(target, X=np.array([[1.0], [np.nan]]), y=np.array([0.0, 1.0]))
    else:
        target.write_text(content)
    if name == "fraction":
        target.write_text("a,y\n1,0\n2,0.5\n3,1\n")
    data = "{file: " + file + (", " + block if block else "") + "}"
    (tmp_path / "p.yaml").write_text(problem_text(data))
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(app, ["show", "p.yaml"], env={"COLUMNS": "80", "NO_COLOR": "1"})
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.output
    assert re.search(rf"error: {re.escape(file)}: {pattern}", lines[0]), lines[0]


@pytest.mark.parametrize(
    "block, pattern",
    [
        ("{file: d.csv}", r"'data\.target' is required for a CSV file"),
        ("{file: d.txt, target: y}", r"'data\.format' is needed"),
        ("{file: d.csv, target: y, noise: 0.1}", r"'data\.noise' applies to generated data"),
        ("{n_samples: 50, max_rows: 10}", r"'data\.max_rows' applies to a data file"),
        ("{builtin: digit}", r"'data\.builtin' must be digits or breast_cancer"),
        ("{builtin: digits, file: d.csv}", r"give one of generator, builtin or file"),
        ("{file: d.csv, target: y, test_fraction: 0.95}", r"'data\.test_fraction' must be"),
        ("{file: d.npz, target: y}", r"'data\.target' applies to a CSV file"),
    ],
)
def test_bad_data_block_is_refused(tmp_path, block, pattern):
    (tmp_path / "d.csv").write_text("a,y\n1,0\n2,1\n3,0\n4,1\n")
    (tmp_path / "d.txt").write_text("a,y\n1,0\n")
    path = tmp_path / "p.yaml"
    path.write_text(problem_text(block))
    with pytest.raises(ConfigError, match=pattern):
        load_problem(path)
