"""Tuning beyond lr (`run --tune lr,beta1`): the grid construction as unit tests, and tuned
comparisons through typer's CliRunner."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from importlib.resources import files

import jsonschema
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from adambench.cli import app
from adambench.errors import UsageError
from adambench.optimizers.registry import get
from adambench.optimizers.spec import HyperParam
from adambench.sweeps.tune_grid import (
    axis_values,
    fit_budget,
    parse_tune_names,
    parse_tune_ranges,
    tuning_axes,
)

SCHEMA = json.loads((files("adambench.schema") / "result.schema.json").read_text())
runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "100"})


def lines(text):
    return [" ".join(line.split()) for line in text.splitlines()]


def axes_for(optimizers, names, ranges=None, **kw):
    specs = [(name, get(name)) for name in optimizers]
    return tuning_axes(specs, names, parse_tune_ranges(ranges, names), **kw)


# ---------------------------------------------------------------------------------------------
# The grid of each axis


def test_a_beta_axis_is_log_spaced_in_one_minus_beta():
    values = axis_values("log1m", 0.5, 0.999, 4)
    # 1 - beta from 0.5 to 1e-3 in three equal log steps, each gap to 1 rounded to 3 digits.
    gaps = [0.5 * (0.002 ** (i / 3)) for i in range(4)]
    assert values == (0.5, 1 - float(f"{gaps[1]:.3g}"), 1 - float(f"{gaps[2]:.3g}"), 0.999)
    assert values[1:3] == (0.937, 0.99206)


@settings(max_examples=60, deadline=None)
@given(
    low=st.floats(0.0, 0.9),
    decades=st.floats(0.3, 4.0),
    count=st.integers(2, 15),
)
def test_beta_axes_hold_their_ends_and_equal_log_steps_in_one_minus_beta(low, decades, count):
    high = float(f"{1 - (1 - low) * 10**-decades:.12g}")
    values = axis_values("log1m", low, high, count)
    assert len(values) == count and values[0] == low and values[-1] == high
    assert all(0 <= v < 1 for v in values) and list(values) == sorted(set(values))
    steps = np.diff(np.log10(1 - np.array(values)))
    # equal steps, up to the rounding of each gap to 3 significant digits (< 0.5 %)
    assert np.allclose(steps, steps.mean(), atol=2 * math.log10(1.005))


@settings(max_examples=60, deadline=None)
@given(low=st.integers(0, 200), span=st.integers(1, 5000), count=st.integers(2, 30))
def test_integer_axes_are_integers_of_the_range(low, span, count):
    high = low + span
    values = axis_values("int", low, high, count)
    assert all(float(v).is_integer() and low <= v <= high for v in values)
    assert list(values) == sorted(set(values)) and 2 <= len(values) <= count
    assert values[0] == low and values[-1] == high
    if span + 1 <= count:
        assert values == tuple(float(v) for v in range(low, high + 1))


@settings(max_examples=100, deadline=None)
@given(
    caps=st.lists(st.integers(2, 40), min_size=1, max_size=4),
    extra=st.integers(0, 5000),
)
def test_a_budget_is_split_into_balanced_counts_that_fit(caps, extra):
    budget = 2 ** len(caps) + extra
    counts = fit_budget(caps, budget)
    assert math.prod(counts) <= budget
    assert all(2 <= c <= cap for c, cap in zip(counts, caps, strict=True))
    free = [c for c, cap in zip(counts, caps, strict=True) if c < cap]
    if free:  # balanced: the fewest values of an axis could not be one more on every axis
        least = min(free)
        raised = [max(c, least + 1) if c < cap else c for c, cap in zip(counts, caps, strict=True)]
        assert math.prod(raised) > budget
    for i, c in enumerate(counts):  # nothing more fits
        if c < caps[i]:
            assert math.prod(counts) // c * (c + 1) > budget


def test_budget_examples():
    assert fit_budget([1000, 1000], 20) == [5, 4]
    assert fit_budget([1000], 20) == [20]
    assert fit_budget([3, 1000], 30) == [3, 10]


def test_default_ranges_and_scales():
    lr, beta1, beta2, amsgrad = axes_for(["adam"], ["lr", "beta1", "beta2", "amsgrad"])
    assert (lr.scale, lr.low, lr.high, len(lr.values)) == ("log", 1e-4, 1.0, 9)
    assert (beta1.scale, beta1.low, beta1.high) == ("log1m", 0.5, 0.999)
    assert (beta2.scale, beta2.high) == ("log1m", 0.9999)  # a decade past the default 0.999
    assert (amsgrad.scale, amsgrad.values) == ("enum", (False, True))
    (eps,) = axes_for(["adam"], ["eps"])
    assert (eps.scale, eps.low, eps.high) == ("log", 1e-10, 1e-6)  # the default x/÷ 100
    (dampening,) = axes_for(["sgd"], ["dampening"])  # declared [0, 1]: evenly spaced over it
    assert (dampening.scale, dampening.values[0], dampening.values[-1]) == ("linear", 0.0, 1.0)


@dataclass(frozen=True)
class ChoiceParam(HyperParam):
    """A category (kind "choice", its value an index into ``choices``), as schedules declare."""

    choices: tuple[str, ...] = ()


def with_params(name, *params):
    spec = get(name)  # params replace the optimizer's own of the same name (its controls)
    names = {p.name for p in params}
    kept = tuple(hp for hp in spec.hyperparams if hp.name not in names)
    return (name, replace(spec, hyperparams=(*kept, *params)))


def test_integer_and_category_hyperparameters():
    steps = HyperParam("t_max", 100.0, "", kind="int", low=1.0)
    warm = HyperParam("warmup", 0.0, "", kind="int", low=0.0, high=5.0)
    kind = ChoiceParam("schedule", 0.0, "", kind="choice", choices=("constant", "cosine", "step"))
    specs = [with_params("adam", steps, warm, kind)]
    t_max, warmup, schedule = tuning_axes(specs, ["t_max", "warmup", "schedule"], {})
    assert (t_max.scale, t_max.low, t_max.high) == ("int", 10.0, 1000.0)  # default / 10 .. x 10
    assert t_max.values == axis_values("int", 10, 1000, 9) and len(t_max.values) == 9
    assert warmup.values == (0.0, 1.0, 2.0, 3.0, 4.0, 5.0)  # every integer of [0, 5]
    assert (schedule.scale, schedule.values) == ("enum", ("constant", "cosine", "step"))
    ranges = parse_tune_ranges("t_max=1:4,schedule=cosine|constant", ["t_max", "schedule"])
    t_max, schedule = tuning_axes(specs, ["t_max", "schedule"], ranges)
    assert t_max.values == (1.0, 2.0, 3.0, 4.0) and schedule.values == ("cosine", "constant")
    with pytest.raises(UsageError, match="'linear' is not one of constant, cosine, step"):
        tuning_axes(specs, ["schedule"], parse_tune_ranges("linear|step", ["schedule"]))
    with pytest.raises(UsageError, match="t_max must be an integer"):
        tuning_axes(specs, ["t_max"], parse_tune_ranges("0.5:4", ["t_max"]))


def test_a_tune_over_every_schedule_leaves_out_those_needing_a_parameter():
    # step and exponential need gamma, which has no default and which the others refuse.
    (schedule,) = axes_for(["adam"], ["schedule"])
    assert schedule.values == ("constant", "cosine", "inverse_sqrt", "linear")
    r = runner.invoke(app, ["run", "beale", "-O", "adam", "--tune", "schedule", "--steps", "50"])
    assert r.exit_code == 0, r.output


def test_budget_sizes_numeric_axes_and_keeps_enumerated_ones_whole():
    axes = axes_for(["adam"], ["lr", "beta1", "amsgrad"], budget=50)
    assert [len(ax.values) for ax in axes] == [5, 5, 2]
    axes = axes_for(["adam"], ["lr", "beta1"], budget=50, count=4)  # count caps each axis
    assert [len(ax.values) for ax in axes] == [4, 4]


def test_range_parsing():
    assert parse_tune_ranges("1e-3:1", ["lr"]) == {"lr": (1e-3, 1.0)}
    assert parse_tune_ranges("lr=1e-4:1,beta1=0.5:0.999", ["lr", "beta1"]) == {
        "lr": (1e-4, 1.0),
        "beta1": (0.5, 0.999),
    }
    assert parse_tune_ranges("amsgrad=true|false", ["amsgrad"]) == {"amsgrad": ("true", "false")}
    assert parse_tune_names("lr, beta1") == ("lr", "beta1")
    with pytest.raises(UsageError, match="name the hyperparameter of each range"):
        parse_tune_ranges("1e-3:1", ["lr", "beta1"])


# ---------------------------------------------------------------------------------------------
# Tuned comparisons through the command line


def _recomputed_choice(data, optimizer):
    """The best point of ``optimizer``'s tuning grid, from the tuning runs themselves: fewest
    failed runs, then the lowest median final loss, then the upper quartile, then grid order."""
    tuning = data["tuning"]
    names = tuning["params"]
    runs = [r for r in tuning["runs"] if r["optimizer"] == optimizer]
    by_point: dict[tuple, list[float]] = {}
    for r in runs:
        key = tuple(r["hyperparameters"][n] for n in names)
        failed = r["status"] in ("diverged", "invalid_start")
        by_point.setdefault(key, []).append(np.inf if failed else r["final_loss"])
    order = list(by_point)

    def rank(key):
        v = np.sort(by_point[key])
        return (int(np.isinf(v).sum()), np.median(v), np.quantile(v, 0.75), order.index(key))

    return dict(zip(names, min(by_point, key=rank), strict=True))


def test_two_axes_choose_the_best_point_and_run_it(tmp_path):
    out = tmp_path / "t.json"
    r = invoke("run", "beale", "-O", "adam,adamax", "--tune", "lr,beta1",
               "--tune-range", "lr=1e-3:1,beta1=0.5:0.99", "--tune-count", "3",
               "--seeds", "2", "--start", "random", "--steps", "150", "-o", out)  # fmt: skip
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text())
    jsonschema.validate(data, SCHEMA)
    tuning = data["tuning"]
    assert tuning["params"] == ["lr", "beta1"] and "param" not in tuning
    assert [(a["name"], a["scale"], a["range"], a["given"]) for a in tuning["axes"]] == [
        ("lr", "log", [1e-3, 1.0], True),
        ("beta1", "log1m", [0.5, 0.99], True),
    ]
    assert tuning["axes"][1]["values"] == [0.5, 0.9293, 0.99]
    assert tuning["points_per_optimizer"] == 9 and len(tuning["runs"]) == 2 * 9 * 2
    for choice, opt in zip(tuning["chosen"], data["optimizers"], strict=True):
        assert choice["values"] == _recomputed_choice(data, choice["optimizer"])
        # The comparison runs at the chosen values, marked as tuned.
        for name, value in choice["values"].items():
            assert opt["hyperparameters"][name] == value and opt["sources"][name] == "tuned"
    for run in data["runs"]:
        chosen = next(c for c in tuning["chosen"] if c["optimizer"] == run["optimizer"])
        assert {k: run["hyperparameters"][k] for k in chosen["values"]} == chosen["values"]
    text = lines(r.stdout)
    assert "tuning lr x beta1: the best 3 of 9 points per optimizer (★ chosen)" in text
    assert "optimizer # lr beta1 median final loss failed" in text
    assert "adam: median final loss (lr x beta1)" in text
    assert "adamax: median final loss (lr x beta1)" in text
    start = next(i for i, t in enumerate(text) if t.startswith("lr x beta1 tuned"))
    rule = " ".join(text[start:])
    assert rule.startswith(
        "lr x beta1 tuned per optimizer over 3 x 3 = 9 points (lr: 3 log-spaced values in "
        "[0.001, 1]; beta1: 3 values in [0.5, 0.99], log-spaced in 1 - beta1), 150 steps from "
        "seeds 2..3 (held out from the reported seeds)"
    )


def test_a_flag_is_enumerated_and_the_budget_sizes_the_rest(tmp_path):
    out = tmp_path / "t.json"
    r = invoke("run", "beale", "-O", "adam", "--tune", "lr,amsgrad", "--tune-budget", "8",
               "--steps", "100", "-o", out)  # fmt: skip
    assert r.exit_code == 0, r.output
    tuning = json.loads(out.read_text())["tuning"]
    lr, amsgrad = tuning["axes"]
    assert amsgrad["values"] == [False, True] and amsgrad["range"] is None
    assert len(lr["values"]) == 4 and tuning["points_per_optimizer"] == 8
    assert tuning["budget"] == 8
    hps = {(run["hyperparameters"]["lr"], run["hyperparameters"]["amsgrad"]) for run in
           tuning["runs"]}  # fmt: skip
    assert hps == {(v, flag) for v in lr["values"] for flag in (False, True)}
    assert "amsgrad: every value (false, true)), sized to fit --tune-budget 8" in " ".join(
        lines(r.stdout)
    )


def test_one_axis_keeps_its_json_form(tmp_path):
    out = tmp_path / "t.json"
    r = invoke("run", "beale", "-O", "adam", "--tune", "lr", "--tune-range", "1e-3:1",
               "--tune-count", "4", "--steps", "100", "-o", out)  # fmt: skip
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text())
    jsonschema.validate(data, SCHEMA)
    tuning = data["tuning"]
    assert (tuning["param"], tuning["range"], tuning["count"]) == ("lr", [1e-3, 1.0], 4)
    assert tuning["values"] == [0.001, 0.01, 0.1, 1.0]
    assert tuning["chosen"][0]["value"] == tuning["chosen"][0]["values"]["lr"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tune", "bta1"], r"no optimizer of this run has a hyperparameter 'bta1'.*beta1"),
        (["-O", "adam,rmsprop", "--tune", "lr,beta1"], r"rmsprop has no hyperparameter 'beta1'"),
        (["--tune", "beta1", "--tune-range", "beta1=0.5:1.5"], r"beta1 must be in \[0, 1\)"),
        (["--tune", "lr", "--tune-range", "lr=1e-4"], r"--tune-range: expected LOW:HIGH for lr"),
        (["--tune", "lr", "--tune-range", "lr=a:b"], r"expected LOW:HIGH for lr"),
        (["--tune", "lr,beta1", "--tune-range", "1e-3:1"], r"name the hyperparameter"),
        (["--tune", "lr", "--tune-range", "beta1=0.5:0.9"], r"'beta1' is not tuned"),
        (["--tune", "lr", "--tune-range", "lr=1:1e-3"], r"empty: LOW must be below HIGH"),
        (["--tune", "amsgrad", "--tune-range", "amsgrad=0:1"], r"amsgrad is enumerated"),
        (["--tune", "lr", "--tune-budget", "0"], r"--tune-budget must be between 1 and"),
        (["--tune", "lr,beta1", "--tune-budget", "3"], r"--tune-budget 3 is below the smallest"),
        (["--tune", "lr,lr"], r"'lr' is given twice"),
        (["--tune", "beta1", "--lr", "0.1"], r"--lr would set the step size of the comparison"),
        (["--tune", "lr,beta1", "-O", "adam(beta1=0.8)"], r"sets beta1, which --tune beta1"),
        (["--tune-budget", "10"], r"--tune-budget needs --tune NAMES"),
        (["-O", "sgd", "--tune", "nesterov"], r"--tune: grid point nesterov=true: sgd: nesterov"),
    ],
)
def test_bad_tuning_options_exit_2(args, message):
    r = invoke("run", "beale", "--steps", "10", *args)
    assert r.exit_code == 2, r.output
    assert re.search(message, r.stderr), r.stderr
    assert "Traceback" not in r.output


def test_the_tuning_examples_of_run_help_run():
    text = invoke("run", "--help").stdout
    examples = [line.split()[1:] for line in text.splitlines() if "adambench run" in line]
    tuned = [args for args in examples if "--tune" in args]
    assert len(tuned) >= 3
    for args in tuned:
        r = invoke(*(a.strip("'\"") for a in args), "--steps", "20", "-q")
        assert r.exit_code == 0, (args, r.output)
