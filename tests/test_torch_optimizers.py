"""torch.optim optimizers through adambench's gradient: the same numbers as the built-ins, marked
as not compiled; torch imported only when asked for. Tests needing torch skip without it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from importlib.util import find_spec
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from typer.testing import CliRunner

import adambench
from adambench.cli import app

needs_torch = pytest.mark.skipif(find_spec("torch") is None, reason="torch is not installed")
runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "adambench" / "schema" / "result.schema.json").read_text())


@needs_torch
def test_torch_adam_through_adambench_matches_the_builtin_adam_on_beale():
    r = adambench.run("beale", ["torch:torch.optim.Adam(lr=0.01)", "adam(lr=0.01)"], steps=600)
    theirs, ours = r.runs
    assert theirs.steps == ours.steps == 600
    # Same gradient (adambench's kernels) on both sides: only the optimizer's arithmetic differs
    # (torch: lerp for m, pow for beta^t), so the trajectories agree to rounding.
    assert np.max(np.abs(theirs.x_trace - ours.x_trace)) <= 1e-10
    assert np.max(np.abs(theirs.loss_trace - ours.loss_trace)) <= 1e-10
    assert (theirs.status, theirs.best_step) == (ours.status, ours.best_step)
    assert theirs.grad_norm == pytest.approx(ours.grad_norm, rel=1e-9)
    spec = r.configs[0].spec
    assert spec.source == "torch" and spec.compiled is False


@needs_torch
def test_stochastic_runs_see_the_same_noise_and_minibatches_and_stop_the_same_way():
    kw = dict(steps=400, seeds=3, start="random", average=True, stop_at_target=True)
    r = adambench.run("noisy_logreg", ["torch:Adam(lr=0.05)", "adam(lr=0.05)"], threads=2, **kw)
    for a, b in zip(r.runs[:3], r.runs[3:]):
        assert a.seed == b.seed and (a.status, a.steps) == (b.status, b.steps)
        assert a.steps_to_target == b.steps_to_target
        assert np.max(np.abs(a.x_trace - b.x_trace)) <= 1e-10
        assert a.average_loss == pytest.approx(b.average_loss, abs=1e-10)
    serial = adambench.run("noisy_logreg", ["torch:Adam(lr=0.05)"], threads=1, **kw)
    for a, b in zip(serial.runs, r.runs[:3]):
        np.testing.assert_array_equal(a.x_trace, b.x_trace)  # threads never change a number


@needs_torch
def test_torch_sgd_momentum_matches_the_builtin_and_diverges_the_same_way():
    r = adambench.run(
        "beale",
        ["torch:SGD(lr=0.001,momentum=0.9)", "momentum(lr=0.001)", "torch:SGD(lr=1)", "sgd(lr=1)"],
        steps=500,
    )
    a, b, c, d = r.runs
    assert np.max(np.abs(a.x_trace - b.x_trace)) <= 1e-10
    assert c.status == d.status == "diverged" and c.diverged_at == d.diverged_at


@needs_torch
def test_a_closure_optimizer_lbfgs_runs():
    r = adambench.run("long_valley", ["torch:LBFGS(lr=1,max_iter=5)"], steps=20)
    assert r.runs[0].status == "reached_target"
    assert r.configs[0].values["max_iter"] == 5.0
    assert r.configs[0].spec.param("max_iter").kind == "int"


@needs_torch
def test_table_json_and_schema_mark_torch_as_not_compiled():
    r = runner.invoke(app, ["run", "beale", "-O", "torch:Adam(lr=0.1),adam(lr=0.1)", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    jsonschema.validate(data, SCHEMA)
    torch_cfg = data["optimizers"][0]
    assert torch_cfg["source"] == "torch" and torch_cfg["optimizer"] == "torch:Adam"
    assert torch_cfg["label"] == "torch:Adam(lr=0.1)"
    assert set(torch_cfg["hyperparameters"]) >= {"lr", "beta1", "beta2", "eps", "amsgrad"}
    t = runner.invoke(app, ["run", "beale", "-O", "torch:Adam(lr=0.1),adam(lr=0.1)"])
    assert "torch:Adam(lr=0.1) ‡" in t.stdout
    assert "‡ not compiled: torch.optim stepped from Python" in t.stderr


@needs_torch
@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "torch:torch.nn.Linear",
            r"torch:torch.nn.Linear: .*Linear.* is not a torch.optim.Optimizer",
        ),
        ("torch:torch.optim.Optimizer", r"is not a torch.optim.Optimizer subclass"),
        ("torch:adambench_no_such_pkg.Opt", r"cannot import 'adambench_no_such_pkg.Opt'"),
        ("torch:torch.optim.Adamm", r"'torch.optim' has no attribute 'Adamm'"),
        ("torch:Adam(lr=-1)", r"^error: torch:Adam: Invalid learning rate: -1.0$"),
        ("torch:Adam(betas=0.5)", r"torch:Adam has no hyperparameter 'betas' .*beta1"),
        ("torch:LBFGS(max_iter=2.5)", r"max_iter must be an integer, got 2.5"),
        ("torch:", r"name a class after torch:"),
    ],
)
def test_bad_torch_optimizers_are_one_line_exit_2(spec, message):
    r = runner.invoke(app, ["run", "beale", "-O", spec])
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and re.search(message, lines[0]), r.stderr
    assert r.stdout == ""


@pytest.mark.skipif(
    find_spec("pytorch_optimizer") is None, reason="pytorch-optimizer not installed"
)
def test_a_third_party_optimizer_lion_matches_the_yaml_lion():
    lion = str(ROOT / "sample_configs" / "optimizers" / "lion.yaml")
    r = adambench.run("beale", ["torch:pytorch_optimizer.Lion(lr=0.01)", f"{lion}(lr=0.01)"])
    theirs, ours = r.runs
    assert theirs.steps_to_target == ours.steps_to_target == 782
    assert np.max(np.abs(theirs.x_trace - ours.x_trace)) <= 1e-10


WITHOUT_TORCH = textwrap.dedent("""
    import sys
    sys.modules["torch"] = None  # as if torch were not installed: import torch fails
    from adambench.cli import main
    sys.argv = ["adambench", "run", "beale", "-O", "torch:torch.optim.Adam(lr=0.01)"]
    main()
""")


def test_without_torch_a_torch_optimizer_is_one_line_exit_2():
    r = subprocess.run([sys.executable, "-c", WITHOUT_TORCH], capture_output=True, text=True)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip() == (
        "error: torch:torch.optim.Adam: torch is not installed (pip install 'adambench[torch]')"
    )


NO_TORCH_IMPORT = textwrap.dedent("""
    import sys
    from typer.testing import CliRunner
    from adambench.cli import app
    yaml = sys.argv[1]
    for args in (["run", "beale", "-O", "adam", "-O", yaml, "--steps", "10"], ["list"]):
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 0, r.output
    print("torch" in sys.modules)
""")


def test_torch_is_never_imported_unless_asked_for():
    yaml = str(ROOT / "sample_configs" / "optimizers" / "adam.yaml")
    r = subprocess.run(
        [sys.executable, "-c", NO_TORCH_IMPORT, yaml],
        capture_output=True,
        text=True,
        env={**os.environ},
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"
