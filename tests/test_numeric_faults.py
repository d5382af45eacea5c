"""Numeric faults are results, not crashes (issue 10): a run whose iterate overflows, whose loss
turns NaN, or that starts where the loss or its gradient is not finite ends as ``diverged`` (with
the step) or ``invalid_start``, in the table and the JSON, through run, sweep and check; the other
runs are bit-for-bit what they are alone, the exit code is that of a normal run, and no numpy
warning reaches the user (warnings are errors in this test suite, and subprocesses are checked).

Problems: ``bump`` = 1/(1 + 4x^2) is finite everywhere, also at x = inf, so sgd with
lr = 1.7e308 overflows x to inf in one step while the loss stays finite (0). ``root`` =
sqrt(x) + y^2: from (1, 1) sgd(lr=2) steps to x = 0 (gradient inf) and then to x = -inf, where
the loss is NaN: diverged at step 2. From (0, 1) the gradient is already infinite: invalid start.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from typer.testing import CliRunner

from adambench.cli import app
from adambench.problems import load_problem

runner = CliRunner()

BUMP = "name: bump\nvariables: [x]\nexpression: 1/(1 + 4*x**2)\nstart: [0.3]\nsteps: 50\n"
ROOT = (
    "name: root\nvariables: [x, y]\nexpression: sqrt(x) + y**2\nstart: [1, 1]\nsteps: 20\n"
    "minimum: {x: [0, 0], value: 0}\n"
)
OVERFLOW = "sgd(lr=1.7e308)"
OVERFLOW_LABEL = "sgd(lr=1.7e+308)"


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bump.yaml").write_text(BUMP)
    (tmp_path / "root.yaml").write_text(ROOT)
    return tmp_path


def cli_json(*args: str) -> dict:
    r = runner.invoke(app, [*args, "--json"])
    assert r.exit_code == 0, r.output
    assert "Warning" not in r.stderr
    return json.loads(r.stdout)


def runs_by_label(data: dict) -> dict[str, dict]:
    return {r["label"]: r for r in data["runs"]}


def test_overflow_to_inf_with_a_finite_loss_is_diverged_at_its_step(files):
    data = cli_json("run", "bump.yaml", "-O", f"{OVERFLOW},adam(lr=0.1)")
    bad, good = runs_by_label(data)[OVERFLOW_LABEL], runs_by_label(data)["adam(lr=0.1)"]
    assert bad["status"] == "diverged" and bad["diverged_at"] == 1
    # x is inf (null in JSON) while the loss there is a finite 0: not reported as a final loss.
    assert bad["final_x"] == [None] and bad["final_loss"] is None
    assert bad["distance_to_minimum"] is None
    alone = cli_json("run", "bump.yaml", "-O", "adam(lr=0.1)")["runs"][0]
    assert good == alone  # the other run is untouched, bit for bit
    assert good["status"] in ("max_steps", "stalled") and math.isfinite(good["final_loss"])


def test_nan_loss_mid_run_is_diverged_at_the_step_it_appeared(files):
    data = cli_json("run", "root.yaml", "-O", "sgd(lr=2),adam(lr=0.01)", "--seeds", "2")
    for r in data["runs"]:
        if r["optimizer"] == "sgd":
            assert r["status"] == "diverged" and r["diverged_at"] == 2 and r["steps"] == 2
            assert r["final_loss"] is None and r["best_loss"] == 2.0  # at the start
        else:
            assert r["status"] == "max_steps" and r["diverged_at"] is None


def test_undefined_gradient_at_the_start_is_invalid_start(files):
    data = cli_json("run", "root.yaml", "-O", "sgd(lr=2),adam", "--start", "0,1")
    for r in data["runs"]:
        assert r["status"] == "invalid_start" and r["steps"] == 0 and r["diverged_at"] is None
        assert r["final_loss"] is None and r["distance_to_minimum"] is None
    r = runner.invoke(app, ["run", "root.yaml", "-O", "sgd(lr=2),adam", "--start", "0,1"])
    assert r.exit_code == 0
    assert r.stdout.count("invalid start") == 2  # the final-loss cells
    assert "every run started where the loss or its gradient is not finite" in r.stdout
    assert "2 run(s) started where the loss or its gradient is not finite" in r.stderr


def test_table_names_the_diverged_run_and_its_step(files):
    r = runner.invoke(app, ["run", "bump.yaml", "-O", f"{OVERFLOW},adam(lr=0.1)"])
    assert r.exit_code == 0, r.output
    assert "diverged" in r.stdout
    assert f"1 run(s) diverged (first: {OVERFLOW_LABEL}, seed 0, at step 1)" in r.stderr


def test_a_start_far_away_gives_no_numpy_warning(files):
    """At 1e200 beale's loss overflows (invalid start); |x| + |y| is finite there but beyond the
    divergence bound (diverged at step 0). Neither prints a numpy warning."""
    (files / "vee.yaml").write_text(
        "name: vee\nvariables: [x, y]\nexpression: abs(x) + abs(y)\nstart: [1, 1]\n"
        "minimum: {x: [0, 0], value: 0}\n"
    )
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    for problem, status in (("beale", "invalid_start"), ("vee.yaml", "diverged")):
        p = subprocess.run(
            [sys.executable, "-m", "adambench", "run", problem, "-O", "adam,sgd", "--start",
             "1e200,1e200", "--steps", "10", "--json"],
            cwd=files, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert p.returncode == 0, p.stderr
        assert "Warning" not in p.stderr and p.stderr == ""
        for r in json.loads(p.stdout)["runs"]:
            assert r["status"] == status
            assert r["diverged_at"] == (0 if status == "diverged" else None)


def test_distance_to_minimum_of_far_points_is_exact_and_silent():
    p = load_problem("beale")  # minimum at (3, 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert p.distance_to_minimum(np.array([1e200, 1e200])) == pytest.approx(
            math.sqrt(2) * 1e200
        )
        assert p.distance_to_minimum(np.array([-1e308, 1e308])) == pytest.approx(
            math.sqrt(2) * 1e308
        )
        assert p.distance_to_minimum(np.array([np.inf, 0.0])) == math.inf
        assert math.isnan(p.distance_to_minimum(np.array([np.nan, 0.0])))
    x = np.array([3.5, -0.25])  # near the minimum the plain formula, bit for bit
    assert p.distance_to_minimum(x) == float(np.linalg.norm(x - p.minimizers[0]))


def test_sweep_counts_diverged_points_and_leaves_the_others_alone(files):
    data = cli_json("sweep", "bump.yaml", "-O", "sgd", "--grid", "lr=0.1,1.7e308")
    points = {p["values"]["lr"]: p for p in data["sweep"]["points"]}
    assert points[1.7e308]["diverged"] == 1 and points[0.1]["diverged"] == 0
    runs = {r["hyperparameters"]["lr"]: r for r in data["runs"]}
    assert runs[1.7e308]["status"] == "diverged" and runs[1.7e308]["diverged_at"] == 1
    alone = cli_json("run", "bump.yaml", "-O", "sgd(lr=0.1)", "--trace")["runs"][0]
    assert runs[0.1]["final_loss"] == alone["final_loss"]
    assert runs[0.1]["final_x"] == alone["final_x"]
    # A start far away: every point fails, nothing is printed but the result.
    r = runner.invoke(app, ["sweep", "beale", "--grid", "lr=0.1", "--start", "1e200,1e200",
                            "--steps", "5", "--json"])  # fmt: skip
    assert r.exit_code == 0 and "Warning" not in r.stderr
    assert json.loads(r.stdout)["runs"][0]["status"] == "invalid_start"


def test_check_judges_diverged_cases_and_the_others_normally(files):
    (files / "suite.yaml").write_text(
        "cases:\n"
        f"  - {{name: blows-up, problem: bump.yaml, optimizer: '{OVERFLOW}', "
        "expect: {status: diverged}}\n"
        "  - {name: fine, problem: beale, optimizer: adam(lr=0.1), steps: 600, "
        "expect: {status: reached_target}}\n"
        "  - {name: nan, problem: root.yaml, optimizer: sgd(lr=2), expect: {final_loss_below: 1}}\n"
    )
    r = runner.invoke(app, ["check", "suite.yaml", "--json"])
    assert r.exit_code == 1, r.output  # only the 'nan' case's expectation fails
    report = json.loads(r.stdout)
    cases = {c["id"]: c for c in report["cases"]}
    assert cases["blows-up"]["passed"] and cases["fine"]["passed"]
    assert not cases["nan"]["passed"]
    assert cases["nan"]["metrics"]["statuses"] == {"diverged": 1}
    assert cases["nan"]["metrics"]["final_loss"] is None


def test_the_distance_is_the_old_formula_bit_for_bit_without_its_temporary():
    # The distance takes max |d| as max(max d, -min d) (no |d| array: 80 MB at 1e7); the
    # numbers must be those of np.max(np.abs(d)) and the same scaled norm as before.
    p = load_problem("rosenbrock_nd")
    rng = np.random.default_rng(0)
    cases = [rng.normal(size=10) * 10.0**e for e in (-200, -3, 0, 3, 200)]
    for bad in ([1.0, np.nan], [np.inf, -1.0], [-np.inf, np.nan], [-np.inf, np.inf]):
        cases.append(np.resize(np.array(bad), 10))
    for x in cases:
        d = np.asarray(x, float) - p.minimizers[0]
        with np.errstate(over="ignore", invalid="ignore"):
            s = float(np.max(np.abs(d)))
            old = (
                s
                if s == 0.0 or not math.isfinite(s)
                else (
                    float(np.linalg.norm(d))
                    if 1e-150 < s < 1e150
                    else s * float(np.linalg.norm(d / s))
                )
            )
        new = p.distance_to_minimum(x)
        assert (math.isnan(old) and math.isnan(new)) or new == old, (x, old, new)


def test_a_domain_given_once_is_kept_once_at_any_dimension():
    p = load_problem("rosenbrock_nd", dim=10**6)
    assert p.domain.shape == (10**6, 2) and p.domain.strides[0] == 0  # a view, not 16 MB
    assert (p.domain == [-2.0, 2.0]).all()
