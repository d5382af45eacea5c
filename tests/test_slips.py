"""Slips a user makes that adambench takes as meant: numbers YAML 1.1 leaves as text (``1e-6``)
in every kind of file, whole numbers written ``1e4`` on the command line, and a problem file's
suggestion for an optimizer file. (The slips it refuses, with a hint, are rows of
tests/test_bad_inputs.py.)"""

from __future__ import annotations

import json

from typer.testing import CliRunner

from adambench.checks.suite import suite_from_dict
from adambench.cli import app
from adambench.optimizers.rules import load_optimizer_yaml
from adambench.problems import load_problem
from adambench.safeyaml import loads
from adambench.sweeps.config import load_sweep_file

runner = CliRunner()


def test_problem_files_read_numbers_yaml_left_as_text(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(
        "name: bowl\nvariables: [x, y]\nexpression: x**2 + 3*y**2\nstart: [1e0, -2e0]\n"
        "minimum: {x: [0, 0], value: 0e0}\ntarget: 1e-16\ndomain: [-3e0, 3e0]\n"
        "steps: 1e3\ngradient_noise: 1e-3\n",
        encoding="utf-8",
    )
    assert isinstance(loads(path.read_text())["target"], str)  # what YAML 1.1 makes of it
    p = load_problem(path)
    assert (p.target, p.steps, p.gradient_noise) == (1e-16, 1000, 1e-3)
    assert list(p.start) == [1.0, -2.0] and list(p.domain[0]) == [-3.0, 3.0]


def test_problem_target_gap_reads_text():
    from adambench.problems import problem_from_dict

    raw = loads(
        "name: b\nvariables: [x]\nexpression: x**2\nstart: [1]\nminimum: {value: 1e0}\n"
        "target: {gap: 1e-6}\n"
    )
    assert problem_from_dict(raw, "p.yaml").target == 1.0 + 1e-6


def test_suite_files_read_numbers_yaml_left_as_text():
    raw = loads(
        "steps: 1e2\ncases:\n  - problem: beale\n    optimizer: adam(lr=1e-1)\n"
        "    expect: {final_loss_below: 1e-6, steps_to_target_at_most: 1e3}\n"
        "    tolerances: {final_loss: {rtol: 1e-3, atol: 1e-12}}\n"
    )
    case = suite_from_dict(raw, "s.yaml").cases[0]
    assert case.steps == 100
    assert [e.value for e in case.expect] == [1e-6, 1000.0]
    assert (case.tolerances["final_loss"].rtol, case.tolerances["final_loss"].atol) == (
        1e-3,
        1e-12,
    )


def test_sweep_files_read_numbers_yaml_left_as_text(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        "problem: beale\ngrid: {lr: [1e-3, 1e-2]}\nsteps: 1e3\nseeds: 2e0\nstart: [1e-1, 2]\n",
        encoding="utf-8",
    )
    spec = load_sweep_file(path)
    assert (spec.steps, spec.seeds, spec.start) == (1000, 2, [0.1, 2.0])


def test_optimizer_files_read_numbers_yaml_left_as_text(tmp_path):
    path = tmp_path / "o.yaml"
    path.write_text(
        "name: my_sgd\nhyperparameters:\n  lr: {default: 1e-2, above: 0e0, max: 1e1}\n"
        "update:\n  - p = p - lr*g\n",
        encoding="utf-8",
    )
    (lr,) = load_optimizer_yaml(str(path)).own_hyperparams
    assert (lr.default, lr.low, lr.high) == (0.01, 0.0, 10.0)


def test_integer_options_take_whole_numbers_in_any_notation():
    args = ["run", "beale", "--steps", "1e1", "--every", "2.0", "--seeds", "2e0", "--json"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.stderr
    settings = json.loads(r.stdout)["settings"]
    assert (settings["steps"], settings["every"], settings["seeds"]) == (10, 2, [0, 1])


def test_a_suggestion_for_an_optimizer_file_applies_to_it(tmp_path, monkeypatch):
    # The key is what -O takes (a path, relative to the problem file's folder).
    sub = tmp_path / "problems"
    sub.mkdir()
    (sub / "o.yaml").write_text(
        "name: my_sgd\nhyperparameters:\n  lr: {default: 0.01, above: 0}\nupdate:\n"
        "  - p = p - lr*g\n",
        encoding="utf-8",
    )
    (sub / "p.yaml").write_text(
        "name: bowl\nvariables: [x, y]\nexpression: x**2 + 3*y**2\nstart: [1, -2]\n"
        "suggested:\n  o.yaml: {lr: 0.2}\n  adam: {lr: 1e-2}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(
        app, ["run", "problems/p.yaml", "-O", "./problems/o.yaml,adam", "--steps", "3", "--json"]
    )
    assert r.exit_code == 0, r.stderr
    runs = json.loads(r.stdout)["runs"]
    assert {run["optimizer"]: run["hyperparameters"]["lr"] for run in runs} == {
        "my_sgd": 0.2,
        "adam": 0.01,
    }
