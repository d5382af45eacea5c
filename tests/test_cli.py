"""The command line through typer's CliRunner: tables, JSON contract, files, exit codes."""

from __future__ import annotations

import csv
import io
import json
from importlib.resources import files

import jsonschema
import pytest
from typer.testing import CliRunner

from adambench.cli import app

runner = CliRunner()
SCHEMA = json.loads((files("adambench.schema") / "result.schema.json").read_text())


def invoke(*args, **kw):
    return runner.invoke(app, list(args), **kw)


def test_run_prints_a_table_and_a_verdict():
    r = invoke("run", "beale", "--optimizers", "adam,rmsprop", "--steps", "1500")
    assert r.exit_code == 0, r.output
    assert "adam" in r.stdout and "rmsprop" in r.stdout and "final loss" in r.stdout
    assert "only rmsprop reached the target" in r.stdout


def test_json_output_follows_the_published_schema():
    r = invoke(
        "run",
        "beale",
        "-O",
        "adam(lr=0.05,beta1=0.8),adam(lr=0.01)",
        "-O",
        "rmsprop",
        "--steps",
        "200",
        "--seeds",
        "2",
        "--json",
        "--trace",
        "--average",
    )
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    jsonschema.validate(data, SCHEMA)
    assert [o["label"] for o in data["optimizers"]] == [
        "adam(lr=0.05, beta1=0.8)",
        "adam(lr=0.01)",
        "rmsprop",
    ]
    assert data["optimizers"][0]["sources"]["lr"] == "spec"
    assert len(data["runs"]) == 6 and data["settings"]["seeds"] == [0, 1]
    assert data["runs"][0]["optimizer"] == "adam"
    assert len(data["runs"][0]["trace"]["loss"]) == 201


@pytest.mark.parametrize("problem", ["noisy_logreg", "rosenbrock_nd", "saddle_point"])
def test_json_of_other_problem_kinds_validates(problem):
    r = invoke("run", problem, "--steps", "50", "--json", "--seeds", "2", "--trace")
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    jsonschema.validate(data, SCHEMA)
    if problem == "noisy_logreg":
        assert data["runs"][0]["accuracy"] is not None


def test_diverged_runs_are_reported_with_exit_code_zero():
    r = invoke("run", "beale", "-O", "sgd(lr=1),adam", "--steps", "100", "--json")
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    jsonschema.validate(data, SCHEMA)
    assert data["runs"][0]["status"] == "diverged" and data["runs"][0]["diverged_at"] > 0
    r = invoke("run", "beale", "-O", "sgd(lr=1),adam", "--steps", "100")
    assert "diverged" in r.stdout and r.exit_code == 0


def test_output_files_by_extension(tmp_path):
    j, c = tmp_path / "r.json", tmp_path / "r.csv"
    assert (
        invoke("run", "long_valley", "-O", "adam,sgd", "--steps", "100", "-o", str(j)).exit_code
        == 0
    )
    jsonschema.validate(json.loads(j.read_text()), SCHEMA)
    assert (
        invoke("run", "long_valley", "-O", "adam,sgd", "--steps", "100", "-o", str(c)).exit_code
        == 0
    )
    rows = list(csv.DictReader(io.StringIO(c.read_text())))
    assert [row["optimizer"] for row in rows] == ["adam", "sgd"]
    assert rows[0]["hp_lr"] == "0.001" and rows[1]["hp_momentum"] == "0.0"


def test_adams_family_answers_by_name():
    # Before issue 15, -O adamw answered "unknown optimizer 'adamw' (did you mean 'adam'?)".
    r = invoke("run", "beale", "-O", "adamw,nadam,radam,adadelta,rprop", "--steps", "20")
    assert r.exit_code == 0, r.output
    for name in ("adamw", "nadam", "radam", "adadelta", "rprop"):
        assert f"  {name} " in r.output
    assert "did you mean" not in r.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "nosuch"], r"unknown problem 'nosuch'"),
        (["run", "beale", "-O", "adma"], r"did you mean 'adam'"),
        (["run", "beale", "-O", "adam(lr=0)"], r"lr must be in \(0, inf\), got 0"),
        (["run", "beale", "-O", "adam(beta2=1.5)"], r"beta2 must be in \[0, 1\), got 1.5"),
        (["run", "beale", "-O", "adam(eps=-1)"], r"eps must be in \[0, inf\)"),
        (["run", "beale", "--steps", "0"], "steps must be between 1"),
        (["run", "beale", "--seeds", "0"], "seeds must be between 1"),
        (["run", "beale", "--start", "1,2,3"], "start must have 2 numbers"),
        (["run", "beale", "--start", "a,b"], "expected comma-separated numbers"),
        (["run", "beale", "--dim", "5"], "--dim applies to vector problems"),
        (["run", "beale", "-o", "out.txt"], "unknown output format '.txt'"),
        (["run", "beale", "-o", "/nonexistent-dir/x.json"], "does not exist"),
        (["run", "beale", "--steps", "abc"], "Invalid value"),
        (["run", "beale", "--bogus"], "No such option"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(args, message):
    r = invoke(*args)
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    import re

    assert re.search(message, r.stderr), r.stderr


def test_output_into_a_directory_is_refused_before_running(tmp_path):
    r = invoke("run", "beale", "-o", str(tmp_path))
    assert r.exit_code == 2 and "is a directory" in r.stderr


def test_bad_problem_file_exit_code_2(write_yaml):
    path = write_yaml("name: a\nvariables: [x]\nexpression: __import__('os')\nstart: [0]\n")
    r = invoke("run", path)
    assert r.exit_code == 2
    assert path in r.stderr and "dunder" in r.stderr and "Traceback" not in r.output


def test_user_problem_by_path(write_yaml):
    path = write_yaml(
        "name: bowl\nvariables: [a, b]\nexpression: a**2 + 3*b**2\nstart: [1, -2]\n"
        "minimum: {x: [0, 0], value: 0}\n"
    )
    r = invoke("run", path, "-O", "adam(lr=0.1)", "--steps", "500", "--json")
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["problem"]["name"] == "bowl" and data["runs"][0]["status"] == "reached_target"


def test_list_shows_every_registry_entry_with_defaults():
    r = invoke("list")
    assert r.exit_code == 0
    for name in ["beale", "rosenbrock_nd", "noisy_logreg", "adam", "adamax", "nesterov", "rmsprop"]:
        assert name in r.stdout
    assert "lr=0.001" in r.stdout and "eps outside the sqrt" in r.stdout
    data = json.loads(invoke("list", "--json").stdout)
    assert {o["name"] for o in data["optimizers"]} >= {"adam", "rmsprop"}
    assert data["optimizers"][0]["defaults"]["amsgrad"] is False


def test_show_prints_formula_gradient_and_facts():
    r = invoke("show", "beale")
    assert r.exit_code == 0
    assert "d/dx" in r.stdout and "start: (1, 1.5)" in r.stdout and "(3, 0.5)" in r.stdout
    r = invoke("show", "rosenbrock_nd", "--dim", "4")
    assert "x[i+1]" in r.stdout and "dim 4" in r.stdout


def test_version_and_help():
    from adambench.version import __version__

    r = invoke("--version")
    assert r.exit_code == 0 and __version__ in r.stdout
    for cmd in ["run", "list", "show", "cache"]:
        h = invoke(cmd, "--help")
        assert h.exit_code == 0 and "Usage" in h.stdout
    assert "Example" in invoke("run", "--help").stdout
    assert "Exit codes" in invoke("--help").stdout


def test_cache_info_and_clear(tmp_path, monkeypatch):
    monkeypatch.setenv("ADAMBENCH_CACHE_DIR", str(tmp_path / "c"))
    r = invoke("cache", "info")
    assert r.exit_code == 0 and str(tmp_path / "c") in r.stdout
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "x").write_text("1")
    r = invoke("cache", "clear")
    assert r.exit_code == 0 and "removed 1 files" in r.stdout
    assert not (tmp_path / "c").exists()


def test_result_files_are_checked_when_read(tmp_path):
    from adambench.engine.results import read_result_file
    from adambench.errors import ConfigError

    good = tmp_path / "r.json"
    assert invoke("run", "beale", "--steps", "20", "-o", str(good)).exit_code == 0
    assert read_result_file(good)["problem"]["name"] == "beale"
    for text, message in [
        ("{", "not valid JSON"),
        ("[]", "not an adambench result"),
        ('{"tool": {"name": "adambench"}, "schema_version": 9}', "schema_version 9"),
    ]:
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        with pytest.raises(ConfigError, match=message):
            read_result_file(bad)
    with pytest.raises(ConfigError, match="no such file"):
        read_result_file(tmp_path / "missing.json")


@pytest.mark.parametrize("args", [["--help"], ["list"], ["run", "--help"]])
def test_help_and_list_do_not_import_numeric_libraries(args):
    import subprocess
    import sys

    code = (
        "import sys; from adambench.cli import app; from typer.testing import CliRunner; "
        f"CliRunner().invoke(app, {args!r}); "
        "print(sorted(m for m in ('numpy', 'numba', 'sympy', 'matplotlib', 'torch', 'dask') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_run_imports_neither_sympy_when_cached_nor_matplotlib():
    import subprocess
    import sys

    invoke("run", "beale", "-O", "adam", "--steps", "10")  # make sure it is cached
    code = (
        "import sys; from adambench.cli import app; from typer.testing import CliRunner; "
        "r = CliRunner().invoke(app, ['run', 'beale', '-O', 'adam', '--steps', '10']); "
        "assert r.exit_code == 0, r.output; "
        "print(sorted(m for m in ('sympy', 'matplotlib', 'torch', 'dask') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_help_text_is_eaten_by_rich_markup():
    # rich treats "[default: x]" as a markup tag and silently drops it from --help.
    import re
    from pathlib import Path

    source = "".join(
        p.read_text()
        for p in (Path(__file__).resolve().parent.parent / "adambench" / "cli").glob("*.py")
    )
    assert not re.search(r"help=[^)]*(?<!\\)\[[a-z][^\]]*\]", source)
