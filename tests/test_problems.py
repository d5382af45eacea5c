"""Shipped problems: facts of problems.md, exact gradients, validation of problem files."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import BUILTIN_PROBLEMS, central_difference

from adambench.engine.jobs import problem_functions
from adambench.errors import ConfigError, ExpressionError, ProblemError
from adambench.optimizers.registry import validate_suggestions
from adambench.problems import builtin_files, load_problem


def test_every_shipped_problem_is_packaged_and_loads():
    assert set(BUILTIN_PROBLEMS) <= set(builtin_files())
    for name in builtin_files():
        p = load_problem(name)
        assert p.name == name and p.start.shape == (p.dim,) and p.domain.shape == (p.dim, 2)
        validate_suggestions(p)


FACTS = {
    # name: (start, minimizers, min value, target, steps, loss at start)
    "beale": ([1, 1.5], [[3, 0.5]], 0.0, 1e-6, 2000, 41.25),
    "rosenbrock": ([-1.5, 2], [[1, 1]], 0.0, 1e-6, 5000, 2.5**2 + 100 * 0.25**2),
    "long_valley": ([0.5, -8], [[0, 10]], 0.0, 1e-4, 2000, 5 * 0.25 + 0.001 * 324),
    "saddle_point": ([1, 0.001], [[0, 1], [0, -1]], -0.25, -0.2499, 2000, None),
}


@pytest.mark.parametrize("name", list(FACTS))
def test_problem_facts_match_problems_md(name):
    start, mins, fmin, target, steps, f0 = FACTS[name]
    p = load_problem(name)
    np.testing.assert_array_equal(p.start, start)
    assert [m.tolist() for m in p.minimizers] == mins
    assert p.min_value == fmin and p.target == target and p.steps == steps
    loss, _ = problem_functions(p)
    values = loss(np.array(mins, float))
    np.testing.assert_allclose(values, fmin, atol=1e-15)
    if f0 is not None:
        assert loss(p.start)[0] == pytest.approx(f0, rel=1e-14)


def test_rosenbrock_nd_facts():
    p = load_problem("rosenbrock_nd")
    assert p.dim == 10
    np.testing.assert_array_equal(p.start[:4], [-1.2, 1, -1.2, 1])
    loss, _grad = problem_functions(p)
    assert loss(np.ones(10))[0] == 0.0
    # the classic value: f(-1.2, 1, ...) = 4 * 24.2 + 5 * ... check against a numpy formula
    x = p.start
    ref = np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    assert loss(x)[0] == pytest.approx(ref, rel=1e-14)
    big = load_problem("rosenbrock_nd", dim=1001)
    assert big.dim == 1001 and big.start.shape == (1001,)


def test_noisy_logreg_facts():
    p = load_problem("noisy_logreg")
    assert p.data.shape == (200, 3)
    (w,) = p.minimizers
    np.testing.assert_allclose(w, [1.378, -3.712], atol=1e-3)
    assert p.min_value == pytest.approx(0.3117, abs=1e-4)
    assert p.target == pytest.approx(p.min_value + 1e-3)
    assert p.accuracy(w) == pytest.approx(0.87)
    assert any("Newton" in n for n in p.notes) and any("8" in n for n in p.notes)
    loss, grad = problem_functions(p)
    assert loss(w)[0] == pytest.approx(p.min_value, rel=1e-12)
    assert np.linalg.norm(grad(w)[1]) < 1e-10


@pytest.mark.parametrize("name", BUILTIN_PROBLEMS)
def test_gradient_matches_central_differences(name):
    p = load_problem(name, dim=6 if name == "rosenbrock_nd" else None)
    loss, grad = problem_functions(p)
    rng = np.random.default_rng(0)
    for _ in range(5 if p.dim < 100 else 1):  # digits_softmax: 1,300 losses per point
        x = p.domain[:, 0] + rng.random(p.dim) * (p.domain[:, 1] - p.domain[:, 0])
        f, g = grad(x)
        assert f == pytest.approx(loss(x)[0], rel=1e-14)
        if p.dim > 1000:  # digits_mlp: the derivative along a few random directions
            for v in rng.normal(size=(3, p.dim)):
                slope = central_difference(lambda s: loss(x + s[0] * v)[0], np.zeros(1), h=1e-6)
                assert g @ v == pytest.approx(slope[0], rel=1e-6)
            continue
        num = central_difference(lambda v: loss(v)[0], x, h=1e-6 * max(1, np.abs(x).max()))
        np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-6 * max(1.0, np.abs(g).max()))


def test_minimal_user_file_needs_four_keys(write_yaml):
    path = write_yaml("name: bowl\nvariables: [a, b]\nexpression: a**2 + 3*b**2\nstart: [1, -2]\n")
    p = load_problem(path)
    assert p.name == "bowl" and p.source == path and p.target is None and p.steps == 1000
    assert p.domain[0, 0] < 1 < p.domain[0, 1]


def test_user_vector_problem_with_index_and_two_sums(write_yaml):
    path = write_yaml(
        "name: chain\ndim: 5\n"
        "expression: 0.5*sum(i, 0, dim-1, (i+1)*x[i]**2) + sum(i, 1, dim-1, (x[i]-x[i-1])**2) - 2\n"
        "start: {fill: 1}\n"
    )
    p = load_problem(path)
    loss, grad = problem_functions(p)
    x = np.arange(5.0)
    ref = 0.5 * np.sum((np.arange(5) + 1) * x**2) + np.sum(np.diff(x) ** 2) - 2
    assert loss(x)[0] == pytest.approx(ref)
    num = central_difference(lambda v: loss(v)[0], x)
    np.testing.assert_allclose(grad(x)[1], num, rtol=1e-6)


BAD_FILES = [
    ("variables: [x]\nexpression: x\nstart: [0]\n", ConfigError, "'name' is required"),
    (
        "name: a\nvariables: [x]\nexpression: x\nstart: [0]\nstart_point: 1\n",
        ConfigError,
        "unknown key 'start_point'",
    ),
    (
        "name: a\nvariables: [x]\nexpresion: x\nstart: [0]\n",
        ConfigError,
        r"unknown key 'expresion' \(did you mean 'expression'\?\)",
    ),
    (
        "name: a\nvariables: [x, y]\nexpression: x\nstart: [0]\n",
        ConfigError,
        "'start' must have 2 numbers",
    ),
    ("name: a\nvariables: [x]\nexpression: x\nstart: [.nan]\n", ConfigError, "finite number"),
    (
        "name: a\nvariables: [x]\nexpression: x\nstart: [0]\ntarget: .inf\n",
        ConfigError,
        "'target' must be a finite number",
    ),
    ("name: a\nvariables: [x]\nexpression: x\nstart: [zero]\n", ConfigError, "must be a number"),
    (
        "name: a\nvariables: [x]\nexpression: x\nstart: [0]\nsteps: -5\n",
        ConfigError,
        "'steps' must be between 1",
    ),
    (
        "name: a\nvariables: [x]\nexpression: x\nstart: [0]\nsteps: 1.5\n",
        ConfigError,
        "'steps' must be an integer",
    ),
    ("name: a\nvariables: [x, x]\nexpression: x\nstart: [0, 0]\n", ConfigError, "twice"),
    ("name: a\nvariables: [pi]\nexpression: pi\nstart: [0]\n", ConfigError, "reserved name 'pi'"),
    ("name: a\nvariables: [x]\nexpression: y\nstart: [0]\n", ExpressionError, "unknown name 'y'"),
    ("name: a\nvariables: [x]\nexpression: ''\nstart: [0]\n", ExpressionError, "empty"),
    ("name: a\nvariables: [x]\nexpression: x/0\nstart: [0]\n", ExpressionError, "division by zero"),
    (
        "name: a\nvariables: [x]\nexpression: x.__class__\nstart: [0]\n",
        ExpressionError,
        "attribute access",
    ),
    ("name: a\nvariables: [x]\nstart: [0]\n", ConfigError, "'expression' is required"),
    ("name: a\nvariables: [x]\nexpression: [x]\nstart: [0]\n", ConfigError, "must be a string"),
    (
        "name: a\nvariables: [x]\nexpression: x\nstart: [0]\ndomain: [[1, 0]]\n",
        ConfigError,
        "lo < hi",
    ),
    (
        "name: a\nvariables: [x]\nexpression: x\nstart: [0]\ngradient_noise: -1\n",
        ConfigError,
        "'gradient_noise' must be >= 0",
    ),
    (
        "name: a\nvariables: [x]\nexpression: x\nstart: [0]\ntarget: {gap: 1}\n",
        ConfigError,
        "needs a known minimum",
    ),
    ("- just\n- a list\n", ConfigError, "must be a mapping"),
    (
        "name: a\ndim: 3\nexpression: sum(i, 0, dim-1, x[i+1]**2)\nstart: {fill: 0}\n",
        ConfigError,
        "leaves 0..dim-1",
    ),
    (
        "name: a\ndim: 3\nexpression: sum(i, 0, dim-1, x[i]**2) * x\nstart: {fill: 0}\n",
        ExpressionError,
        "'x' is a vector",
    ),
    (
        "name: a\ndim: 6\nexpression: sum(i, 0, dim/4-1, x[4*i]**2)\nstart: {fill: 0}\n",
        ConfigError,
        r"sum\(i, 0, dim/4-1, ...\) needs dim to be a multiple of 4, got dim = 6",
    ),
    (
        "name: a\ndim: 0\nexpression: sum(i, 0, dim-1, x[i]**2)\nstart: {fill: 0}\n",
        ConfigError,
        "'dim' must be between 1",
    ),
    (
        "name: a\ndata: {n_samples: 100}\nmodel: {batch_size: 0}\nstart: [0, 0]\n",
        ConfigError,
        "'model.batch_size' must be between 1",
    ),
    ("name: a\ndata: {generator: blobs}\nstart: [0, 0]\n", ConfigError, "must be two_moons"),
]


@pytest.mark.parametrize(("text", "error", "message"), BAD_FILES)
def test_bad_problem_files_get_one_clear_message(write_yaml, text, error, message):
    path = write_yaml(text)
    with pytest.raises(error, match=message) as info:
        load_problem(path)
    assert path in str(info.value)


def test_unknown_problem_suggests_a_name():
    with pytest.raises(ProblemError, match=r"unknown problem 'beal' \(did you mean 'beale'\?\)"):
        load_problem("beal")


def test_dim_only_for_vector_problems():
    with pytest.raises(ProblemError, match="--dim applies to vector problems"):
        load_problem("beale", dim=3)


@pytest.mark.slow
def test_the_wheel_ships_every_problem_file_as_package_data(tmp_path):
    import subprocess
    import sys
    import zipfile
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(tmp_path), str(root)],
        check=True,
        capture_output=True,
        text=True,
    )
    # every folder of package data is listed in `packages` (setuptools warns of one left out)
    assert "absent from the `packages` configuration" not in built.stdout + built.stderr
    (wheel,) = tmp_path.glob("adambench-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for name in builtin_files():
        assert f"adambench/problems/{name}.yaml" in names
    assert "adambench/schema/result.schema.json" in names
    for name in ("digits", "breast_cancer"):  # the shipped data sets
        assert f"adambench/data/{name}.npz" in names
