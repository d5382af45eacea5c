"""The library of optimizers from the literature (``adambench/optimizers/library/*.yaml``):
every file loads and is listed; each optimizer against pytorch-optimizer 4.1.0 (float64,
foreach=False, 200 steps, within 1e-10) at its defaults and at the paper's recommended values;
AMSGrad against values derived by hand from Reddi et al.'s Algorithm 2; and the rule-language
extension the library needed (reductions over the coordinates, ``float32``)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from rule_kernels import rule_steps
from typer.testing import CliRunner

import adambench
from adambench.cli import app
from adambench.errors import AdambenchError
from adambench.optimizers.builtins import BUILTINS
from adambench.optimizers.registry import get
from adambench.optimizers.rules import library_files, library_rule, load_optimizer_yaml

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ["adabelief", "adabound", "adamod", "adan", "amsgrad", "lamb", "lion", "qhadam"]
LIBRARY += ["signum", "yogi"]
#: Part of issue 15's built-ins, which the library's names must leave free too.
NEW_BUILTINS = {"adamw", "nadam", "radam", "adadelta", "rprop"}


def steps_with(spec, start, gradients, **overrides):
    """The parameters after each step, each step given its gradient."""
    return rule_steps(spec, start, lambda t, p: gradients[t - 1], len(gradients), **overrides)


# ---------------------------------------------------------------------------------------------
# Every file loads, validates and is listed


def test_every_library_file_loads_with_its_paper():
    assert sorted(library_files()) == LIBRARY
    for name, path in library_files().items():
        spec = get(name)
        assert spec.name == name == path.stem
        assert spec.source == "library"
        assert "et al." in spec.convention or "&" in spec.convention  # the paper, with authors
        assert spec.param("lr").default > 0


def test_library_names_clash_with_nothing():
    samples = {load_optimizer_yaml(str(p)).name for p in (ROOT / "sample_configs").rglob("*.yaml")
               if p.parent.name == "optimizers"}  # fmt: skip
    taken = set(BUILTINS) | NEW_BUILTINS | samples
    assert not taken & set(library_files())


def test_list_shows_the_library_with_papers():
    result = CliRunner().invoke(app, ["list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {o["name"]: o for o in json.loads(result.stdout)["optimizers"]}
    for name in LIBRARY:
        assert rows[name]["source"] == "library"
        assert rows[name]["convention"] == get(name).convention
    assert "Chen et al. 2023" in rows["lion"]["convention"]


def test_a_user_file_cannot_take_a_library_name(write_yaml):
    path = write_yaml("name: lion\nupdate:\n  - p = p - 0.1*g\n", "mine.yaml")
    with pytest.raises(AdambenchError, match=r"taken by the library optimizer .*lion\.yaml"):
        load_optimizer_yaml(path)


@pytest.mark.parametrize("name", ["gamma", "warmup", "t_max", "clip_norm", "schedule"])
def test_schedule_parameter_names_are_reserved(write_yaml, name):
    text = f"name: mine\nhyperparameters:\n  {name}: 0.5\nupdate:\n  - p = p - {name}*g\n"
    with pytest.raises(
        AdambenchError, match=rf"'{name}' is reserved for schedules and clipping .*name yours"
    ):
        load_optimizer_yaml(write_yaml(text, "mine.yaml"))


def test_run_takes_library_names_like_built_ins():
    result = adambench.run("beale", ["lion(lr=0.01)", "adabelief"], steps=50)
    assert [r.optimizer for r in result.runs] == ["lion", "adabelief"]
    assert all(r.steps == 50 for r in result.runs)


# ---------------------------------------------------------------------------------------------
# AMSGrad: Reddi et al. 2018, Algorithm 2 (constant alpha, no bias correction, v_hat max)


def test_amsgrad_first_three_steps_by_hand():
    # lr = alpha = 0.1, beta1 = 0.9, beta2 = 0.999, eps = 0 (the paper's update exactly).
    # Coordinate 0 sees g = 1, 0, 0: v shrinks after step 1 (0.000999, 0.000998001) but v_hat
    # keeps 0.001, so the steps are 0.1*m/sqrt(0.001) = sqrt(0.1)*(1, 0.9, 0.81); with v
    # instead of v_hat, or with bias correction, they would not be.
    # Coordinate 1 sees g = 2, 2, 2: m = 0.2, 0.38, 0.542; v = 0.004, 0.007996, 0.011988004.
    got = steps_with(get("amsgrad"), [0.0, 0.0], [[1, 2], [0, 2], [0, 2]], lr=0.1, eps=0.0)
    s = math.sqrt(0.1)
    x = [-s, -s * 1.9, -s * 2.71]
    y1 = -0.1 * 0.2 / math.sqrt(0.004)
    y2 = y1 - 0.1 * 0.38 / math.sqrt(0.007996)
    y3 = y2 - 0.1 * 0.542 / math.sqrt(0.011988004)
    np.testing.assert_allclose(np.array(got), np.array([x, [y1, y2, y3]]).T, rtol=1e-13)


# ---------------------------------------------------------------------------------------------
# The rule-language extension: reductions over the coordinates, float32


def test_norm_and_sum_i_by_hand(write_yaml):
    text = """
name: normalized
hyperparameters:
  lr: 0.5
update:
  - u = 2*g
  - s = sum_i(u)
  - p = p - lr*u/s + 0*norm(g)
"""
    spec = load_optimizer_yaml(write_yaml(text, "normalized.yaml"))
    # g = (1, 3): u = (2, 6), s = 8, so the step is 0.5*(0.25, 0.75)
    assert steps_with(spec, [1.0, 1.0], [[1, 3]])[0].tolist() == [0.875, 0.625]
    assert not spec.kernel.elementwise  # a reduction: the array loop only
    trust = write_yaml("name: trust\nupdate:\n  - p = p - 0.1*g/norm(g)\n", "trust.yaml")
    # g = (3, 4), ||g|| = 5
    got = steps_with(load_optimizer_yaml(trust), [0.0, 0.0], [[3, 4]])[0]
    np.testing.assert_allclose(got, [-0.06, -0.08], rtol=1e-15)


def test_reductions_across_passes_by_hand(write_yaml):
    # g reassigned before the cut is read after it (a scratch slot); a uniform state sums norms.
    text = """
name: passes
state:
  total: 0
update:
  - g = g + 1
  - s = sum_i(g)
  - total = total + norm(g)
  - p = p - g/s - 0.1*g/total
"""
    spec = load_optimizer_yaml(write_yaml(text, "passes.yaml"))
    assert spec.state_extra == 1  # total is stored once, not per coordinate
    # step 1, g = (2, 3) -> (3, 4): s = 7, total = 5; step 2, the same g: total = 10
    got = steps_with(spec, [0.0, 0.0], [[2, 3], [2, 3]])
    first = [-3 / 7 - 0.3 / 5, -4 / 7 - 0.4 / 5]
    second = [first[0] - 3 / 7 - 0.3 / 10, first[1] - 4 / 7 - 0.4 / 10]
    np.testing.assert_allclose(np.array(got), [first, second], rtol=1e-15)


def test_a_rule_with_a_reduction_runs_in_the_engine_like_its_kernel(write_yaml):
    text = "name: trust\nhyperparameters:\n  lr: 0.01\nupdate:\n  - p = p - lr*g/norm(g)\n"
    path = write_yaml(text, "trust.yaml")
    ours = adambench.run("beale", [path], steps=40).runs[0]

    def beale_grad(p):
        x, y = p
        a, b, c = 1.5 - x + x * y, 2.25 - x + x * y**2, 2.625 - x + x * y**3
        return [
            2 * a * (y - 1) + 2 * b * (y**2 - 1) + 2 * c * (y**3 - 1),
            2 * a * x + 4 * b * x * y + 6 * c * x * y**2,
        ]

    p = [1.0, 1.5]
    for _ in range(40):
        p = list(p - 0.01 * np.array(beale_grad(p)) / np.linalg.norm(beale_grad(p)))
    np.testing.assert_allclose(ours.x_trace[-1], p, rtol=1e-12)


@pytest.mark.parametrize(
    ("update", "message"),
    [
        ("p = p - norm(sum_i(g))*g", r"sum_i\(\) inside norm\(\) is not allowed"),
        ("p = p - norm(g, p)*g", r"norm\(\) takes 1 argument"),
    ],
)
def test_reductions_misused(write_yaml, update, message):
    path = write_yaml(f"name: bad\nupdate:\n  - {update}\n", "bad.yaml")
    with pytest.raises(AdambenchError, match=message):
        load_optimizer_yaml(path)


def test_reductions_only_in_the_update(write_yaml):
    text = "name: bad\nstate:\n  m: norm(p)\nupdate:\n  - m = m + g\n  - p = p - m\n"
    with pytest.raises(AdambenchError, match=r"norm\(\) is allowed only in an optimizer's update"):
        load_optimizer_yaml(write_yaml(text, "bad.yaml"))


def test_float32_rounds_to_single_precision(write_yaml):
    text = "name: f32\nupdate:\n  - p = p - float32(g)\n"
    spec = load_optimizer_yaml(write_yaml(text, "f32.yaml"))
    got = steps_with(spec, [0.0], [[0.1]])[0][0]
    assert got == -float(np.float32(0.1)) != -0.1


# ---------------------------------------------------------------------------------------------
# Against pytorch-optimizer 4.1.0


def beale(x, y):
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


PROBLEMS = {"beale": (beale, [1.0, 1.5]), "rosenbrock": (rosenbrock, [-1.5, 2.0])}

# (our spec, pytorch_optimizer class, its kwargs, where the values come from). Each at the
# class's defaults, then at the paper's recommended values (or, where those are the defaults, a
# setting that exercises the rest of the rule: weight decay, a larger lr).
REFERENCE_CASES = [
    ("lion", "Lion", {}, "defaults: lr 1e-4, betas (0.9, 0.99), the paper's"),
    (
        "lion(lr=3e-4,beta1=0.95,beta2=0.98,weight_decay=0.1)",
        "Lion",
        {"lr": 3e-4, "betas": (0.95, 0.98), "weight_decay": 0.1},
        "Chen et al. 2023, Sec. 5: betas (0.95, 0.98) for stability, larger weight decay",
    ),
    ("adabelief", "AdaBelief", {}, "defaults: eps 1e-16 (the authors' PyTorch default)"),
    (
        "adabelief(lr=0.01,eps=1e-8,weight_decay=5e-4)",
        "AdaBelief",
        {"lr": 0.01, "eps": 1e-8, "weight_decay": 5e-4},
        "eps 1e-8 of the paper's Algorithm 2, weight decay 5e-4 of its CIFAR runs",
    ),
    ("yogi", "Yogi", {}, "defaults = the paper's: lr 1e-2, eps 1e-3, v0 = 1e-6"),
    (
        "yogi(lr=0.05,weight_decay=0.01)",
        "Yogi",
        {"lr": 0.05, "weight_decay": 0.01},
        "a larger lr, and weight decay",
    ),
    ("adabound", "AdaBound", {}, "defaults = the paper's: final_lr 0.1, gamma 1e-3"),
    (
        "adabound(lr=0.01,weight_decay=0.01)",
        "AdaBound",
        {"lr": 0.01, "weight_decay": 0.01},
        "a larger lr (the bounds clip), and weight decay",
    ),
    ("adamod", "AdaMod", {}, "defaults: betas (0.9, 0.99, 0.9999)"),
    (
        "adamod(lr=0.01,beta2=0.999,beta3=0.999)",
        "AdaMod",
        {"lr": 0.01, "betas": (0.9, 0.999, 0.999)},
        "Ding et al. 2019: beta2 0.999, beta3 0.999 (of their {0.999, 0.9999})",
    ),
    ("lamb", "Lamb", {}, "defaults: eps 1e-6, the paper's"),
    (
        "lamb(lr=0.01,weight_decay=0.01)",
        "Lamb",
        {"lr": 0.01, "weight_decay": 0.01},
        "You et al. 2020: weight decay 0.01 (BERT)",
    ),
    ("adan", "Adan", {}, "defaults = the paper's betas (0.98, 0.92, 0.99)"),
    (
        "adan(lr=0.01,weight_decay=0.02)",
        "Adan",
        {"lr": 0.01, "weight_decay": 0.02},
        "Xie et al. 2022: weight decay 0.02 (ViT), a larger lr",
    ),
    ("qhadam", "QHAdam", {}, "defaults: nus (1, 1), plain Adam"),
    (
        "qhadam(nu1=0.7,nu2=1,beta1=0.995,beta2=0.999)",
        "QHAdam",
        {"nus": (0.7, 1.0), "betas": (0.995, 0.999)},
        "Ma & Yarats 2019, Sec. 6: nus (0.7, 1.0), betas (0.995, 0.999)",
    ),
    ("signum", "SignSGD", {}, "defaults: momentum 0.9"),
    (
        "signum(lr=1e-4,momentum=0.9,weight_decay=0.01)",
        "SignSGD",
        {"lr": 1e-4, "momentum": 0.9, "weight_decay": 0.01},
        "Bernstein et al. 2018: momentum 0.9, lr 1e-4 (ImageNet), weight decay",
    ),
]
#: Classes with a per-parameter and a batched path: the reference is the per-parameter one.
FOREACH = {"Lion", "AdaBelief", "Lamb", "Adan", "QHAdam", "SignSGD"}


def reference_trajectory(f, start, cls, kwargs, steps):
    torch = pytest.importorskip("torch")
    po = pytest.importorskip("pytorch_optimizer")
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    if cls in FOREACH:
        kwargs = {**kwargs, "foreach": False}
    opt = getattr(po, cls)([p], **kwargs)
    out = [p.detach().clone().numpy()]
    for _ in range(steps):
        opt.zero_grad()
        f(p[0], p[1]).backward()
        opt.step()
        out.append(p.detach().clone().numpy())
    return np.array(out)


#: The rules checked on rosenbrock as well as beale: those whose update branches on the
#: gradient's size or sign (trust ratio, bounds, sign), where a second surface takes other
#: branches; each other rule is one straight-line update, and one surface tests it (every
#: (problem, rule) pair compiles a module of its own).
BRANCHING_RULES = ("lamb", "adabound", "signum", "adan")
TRAJECTORY_CASES = [
    (problem, *case)
    for case in REFERENCE_CASES
    for problem in PROBLEMS
    if problem == "beale" or case[0].split("(")[0] in BRANCHING_RULES
]


@pytest.mark.torch
@pytest.mark.parametrize(
    ("problem", "spec", "cls", "kwargs", "source"),
    TRAJECTORY_CASES,
    ids=[f"{c[1]}-{c[0]}" for c in TRAJECTORY_CASES],
)
def test_trajectory_matches_pytorch_optimizer(problem, spec, cls, kwargs, source):
    f, start = PROBLEMS[problem]
    theirs = reference_trajectory(f, start, cls, kwargs, 200)
    ours = adambench.run(problem, [spec], steps=200).runs[0]
    assert ours.steps == 200, ours.status
    assert np.max(np.abs(ours.x_trace - theirs)) <= 1e-10


def test_show_prints_a_library_optimizer_with_its_paper_and_rule():
    result = CliRunner().invoke(app, ["show", "lamb"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "paper: You et al. 2020" in result.stdout
    for k, a in enumerate(library_rule("lamb").update, 1):
        assert f"update #{k}: {a.text}" in result.stdout
    assert "hyperparameter eps: 1e-06 in [0, inf)" in result.stdout


def test_the_library_files_are_package_data():
    import fnmatch

    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "adambench.optimizers.library" in data["tool"]["setuptools"]["packages"]
    globs = data["tool"]["setuptools"]["package-data"]["adambench.optimizers.library"]
    for path in library_files().values():
        assert any(fnmatch.fnmatch(path.name, g) for g in globs), path.name


def test_run_notes_no_source_for_shipped_optimizers(write_yaml):
    own = write_yaml("name: mine\nupdate:\n  - p = p - 0.01*g\n", "mine.yaml")
    result = CliRunner().invoke(app, ["run", "beale", "-O", f"signum,{own}", "--steps", "20"])
    assert result.exit_code == 0, result.output
    assert f"mine: {own}" in result.output  # a user's file is named
    assert "signum: library" not in result.output  # a shipped one needs no note
