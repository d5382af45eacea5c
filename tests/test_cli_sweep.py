"""`adambench sweep`, `sweep-show` and `run --tune` through typer's CliRunner."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from adambench.cli import app

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((files("adambench.schema") / "result.schema.json").read_text())
runner = CliRunner()
GRID = ["--grid", "lr=0.01,0.1,1", "--grid", "beta1=0.5,0.9"]


def invoke(*args, **kw):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "100"}, **kw)


def lines(text):
    return [" ".join(line.split()) for line in text.splitlines()]


def test_sweep_prints_a_ranked_table_a_heatmap_and_the_best():
    r = invoke("sweep", "beale", "-O", "adam", *GRID, "--seeds", "2", "--steps", "300")
    assert r.exit_code == 0, r.output
    out = lines(r.stdout)
    assert out[0] == "beale: adam, 6 configurations x 2 seeds = 12 runs of 300 steps"
    assert "# lr beta1 final loss q1…q3 diverged reached" in out
    assert "adam: median final loss (lr x beta1)" in out
    assert "lr \\ beta1 0.5 0.9" in out
    assert sum("★" in line for line in out) == 1
    (best,) = [line for line in out if line.startswith("best: ")]
    ranked = [line for line in out if re.match(r"^1 ", line)]
    lr, beta1 = ranked[0].split()[1:3]
    assert best.startswith(f"best: adam(lr={lr}, beta1={beta1}), median final loss")
    assert any(line.startswith("ranked by fewest failed runs (diverged or invalid") for line in out)


def test_diverged_cells_say_so():
    r = invoke("sweep", "beale", "-O", "sgd", "--grid", "lr=1e-3,1", "--grid", "momentum=0,0.9",
               "--steps", "100")  # fmt: skip
    assert r.exit_code == 0, r.output
    row = next(line for line in lines(r.stdout) if line.startswith("1 diverged"))
    assert row == "1 diverged diverged"
    assert "diverged 1/1" in " ".join(lines(r.stdout))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--grid", "lr=1:1:log5"], r"--grid lr=1:1:log5: range '1:1:log5' is empty"),
        (["--grid", "lr=0:1:log5"], r"log range '0:1:log5' must have both ends > 0"),
        (["--grid", "lr=-1:1:log5"], r"must have both ends > 0"),
        (["--grid", "beta11=0.9"], r"'beta11' \(did you mean 'beta1'\?\)"),
        (["--grid", "beta1=0.5,1.5"], r"adam: beta1 must be in \[0, 1\), got 1.5"),
        (["--grid", "lr=fast"], r"adam: lr must be a number, got 'fast'"),
        (["--grid", "lr=1e-4:1:log400", "--grid", "beta1=0:0.9:300"], r"pass --yes"),
        (["--grid", "lr=0.1,1", "--max-runs", "1"], r"2 runs .* more than the limit of 1"),
        (["--grid", "lr=0.1", "--metric", "loss"], r"unknown metric 'loss'"),
        (["--grid", "lr=0.1", "--plot", "x.gif"], r"unknown output format '.gif'"),
        ([], r"needs at least one --grid"),
    ],
)
def test_bad_grids_are_one_line_exit_2_and_write_nothing(tmp_path, args, message):
    out = tmp_path / "sweep.json"
    r = invoke("sweep", "beale", "-O", "adam", "--steps", "20", "-o", out, *args)
    assert r.exit_code == 2, r.output
    assert re.search(message, r.stderr), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.output
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_yes_runs_a_sweep_over_the_limit():
    r = invoke("sweep", "beale", "--grid", "lr=0.1,1", "--max-runs", "1", "--yes", "--steps", "20")
    assert r.exit_code == 0, r.output


def test_problem_is_required_without_a_file():
    r = invoke("sweep", "--grid", "lr=0.1")
    assert r.exit_code == 2 and "give a PROBLEM" in r.stderr


def test_outputs_validate_and_reload_without_rerunning(tmp_path):
    j, c = tmp_path / "s.json", tmp_path / "s.csv"
    args = ["sweep", "beale", "-O", "adam,sgd", "--grid", "lr=0.01,0.1", "--seeds", "2"]
    r1 = invoke(*args, "--steps", "200", "-o", j)
    assert r1.exit_code == 0, r1.output
    data = json.loads(j.read_text())
    jsonschema.validate(data, SCHEMA)
    assert data["sweep"]["metric"] == "final_loss" and len(data["runs"]) == 8
    assert data["sweep"]["ranking"] == (
        "fewest failed runs; then lowest median final loss; then lowest upper quartile; "
        "then grid order"
    )
    assert invoke(*args, "--steps", "200", "-o", c).exit_code == 0
    rows = list(csv.DictReader(io.StringIO(c.read_text())))
    assert len(rows) == 8 and {r["hp_lr"] for r in rows} == {"0.01", "0.1"}
    shown = invoke("sweep-show", j)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout == r1.stdout
    other = invoke("sweep-show", j, "--metric", "steps_to_target")
    assert other.exit_code == 0 and "median steps to target" in other.stdout
    printed = invoke(*args, "--steps", "200", "--json")
    assert json.loads(printed.stdout)["sweep"] == data["sweep"]


def test_sweep_show_refuses_what_it_cannot_show(tmp_path):
    run_json = tmp_path / "run.json"
    assert invoke("run", "beale", "--steps", "20", "-o", run_json).exit_code == 0
    r = invoke("sweep-show", run_json)
    assert r.exit_code == 2 and "not a sweep result (no 'sweep' block)" in r.stderr
    r = invoke("sweep-show", tmp_path / "x.csv")
    assert r.exit_code == 2 and "save sweeps as .json" in r.stderr
    r = invoke("sweep-show", tmp_path / "missing.json")
    assert r.exit_code == 2 and "no such file" in r.stderr


def test_plots_are_written_for_one_and_two_swept_values(tmp_path):
    pytest.importorskip("matplotlib")
    heat, line = tmp_path / "heat.png", tmp_path / "line.svg"
    r = invoke("sweep", "beale", *GRID, "--steps", "100", "--plot", heat)
    assert r.exit_code == 0, r.output
    assert heat.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = invoke("sweep", "beale", "-O", "adam,sgd", "--grid", "lr=1e-3:1:log4", "--steps", "100",
               "--seeds", "2", "--plot", line)  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "<svg" in line.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["heat.png", "line.svg"]  # no temp files
    r = invoke("sweep", "beale", "--grid", "lr=0.1", "--steps", "10", "--plot", tmp_path / "n.png")
    assert r.exit_code == 2 and "nothing to plot" in r.stderr


def test_matplotlib_is_imported_only_for_plots(tmp_path):
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from adambench.cli import app\n"
        "r = CliRunner().invoke(app, ['sweep', 'beale', '--grid', 'lr=0.1,1', '--steps', '10',"
        " '-o', sys.argv[1]])\n"
        "assert r.exit_code == 0, r.output\n"
        "r = CliRunner().invoke(app, ['sweep-show', sys.argv[1]])\n"
        "assert r.exit_code == 0, r.output\n"
        "print('matplotlib' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "s.json")],
        capture_output=True,
        text=True,
        env=os.environ,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_a_sweep_file_with_overrides():
    r = invoke("sweep", "--config", ROOT / "sample_configs" / "sweep_beale.yaml", "--seeds", "2",
               "--steps", "100", "--top", "0")  # fmt: skip
    assert r.exit_code == 0, r.output
    out = lines(r.stdout)
    assert out[0] == "beale: adam, 21 configurations x 2 seeds = 42 runs of 100 steps"
    assert not any(line.startswith("# lr") for line in out)  # --top 0: no ranked table
    r = invoke("sweep", "-c", ROOT / "sample_configs" / "sweep_beale.yaml", "--grid", "lr=0.1",
               "--steps", "10")  # fmt: skip
    assert r.exit_code == 0 and "1 configurations" in r.stdout


def test_bad_sweep_file_is_one_line_naming_file_and_key(write_yaml):
    path = write_yaml("problem: beale\ngrid:\n  lr: 1:1:log5\n", "sweep.yaml")
    r = invoke("sweep", "--config", path)
    assert r.exit_code == 2
    assert r.stderr.strip() == (
        f"error: {path}: grid.lr: range '1:1:log5' is empty: it starts and ends at 1"
    )


def test_tuned_run_shows_the_chosen_lr_and_the_rule(tmp_path):
    out = tmp_path / "t.json"
    r = invoke("run", "beale", "-O", "sgd,adam", "--tune", "lr", "--tune-count", "5",
               "--steps", "300", "-o", out)  # fmt: skip
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text())
    jsonschema.validate(data, SCHEMA)
    chosen = {c["optimizer"]: c["value"] for c in data["tuning"]["chosen"]}
    text = lines(r.stdout)
    for opt, lr in chosen.items():
        assert any(line.startswith(f"{opt}(lr={lr:g}) ") for line in text), (opt, lr)
    assert "tuning lr: median final loss at each value (★ chosen)" in text
    assert "lr \\ optimizer sgd adam" in text
    assert sum(line.count("★") for line in text) == 3  # the title and one per optimizer
    assert any(line.startswith("lr tuned per optimizer over 5 log-spaced values") for line in text)
    assert data["tuning"]["values"] == [0.0001, 0.001, 0.01, 0.1, 1.0]
    assert {o["sources"]["lr"] for o in data["optimizers"]} == {"tuned"}
    c = tmp_path / "t.csv"
    assert invoke("run", "beale", "-O", "sgd,adam", "--tune", "lr", "--tune-count", "5",
                  "--steps", "300", "-o", c).exit_code == 0  # fmt: skip
    phases = [row["phase"] for row in csv.DictReader(io.StringIO(c.read_text()))]
    assert phases == ["tune"] * 10 + ["compare"] * 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tune-range", "1e-3:1"], r"--tune-range needs --tune NAMES"),
        (["--tune", "beta2"], r"--tune: rmsprop has no hyperparameter 'beta2'"),
        (["--tune", "lr", "--lr", "0.1"], r"--lr and --tune lr both set the step size"),
        (["--tune", "lr", "-O", "adam(lr=0.1)"], r"sets lr, which --tune lr chooses"),
        (["--tune", "lr", "--tune-range", "1e-3"], r"--tune-range: expected LOW:HIGH"),
        (["--tune", "lr", "--tune-range", "0:1"], r"must have both ends > 0"),
        (["--tune", "lr", "--tune-count", "1"], r"--tune-count must be an integer between 2"),
        (["--tune", "lr", "--tune-metric", "fast"], r"unknown metric 'fast'"),
    ],
)
def test_bad_tuning_options_exit_2(args, message):
    r = invoke("run", "beale", "-O", "adam,rmsprop", "--steps", "10", *args)
    assert r.exit_code == 2, r.output
    assert re.search(message, r.stderr), r.stderr


def test_help_has_examples():
    for cmd in ("sweep", "sweep-show"):
        h = invoke(cmd, "--help")
        assert h.exit_code == 0 and "Example" in h.stdout
    assert "--tune" in invoke("run", "--help").stdout
