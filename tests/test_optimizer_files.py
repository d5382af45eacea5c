"""Optimizers written in YAML: parsing, the generated code, errors, and equivalence with the
built-in Adam (bit for bit over 1,000 steps on four 2-D problems)."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import reference
from rule_kernels import rule_steps
from typer.testing import CliRunner

import adambench
from adambench import codegen
from adambench import kernels as K
from adambench.cli import app
from adambench.optimizers.registry import get, resolve
from adambench.optimizers.rules import load_optimizer_yaml
from adambench.problems import load_problem

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_configs" / "optimizers"
ADAM = str(SAMPLES / "adam.yaml")
#: The 2-D problems adam.yaml is run on against the built-in: the classic and the curved valley,
#: a saddle, and noise with minibatches (long_valley would only add a compile: same code paths).
PROBLEMS_2D = ["beale", "rosenbrock", "saddle_point", "noisy_logreg"]


def rule_trajectory(spec, start, grad, steps, **overrides):
    after = rule_steps(spec, start, lambda t, p: grad(list(p)), steps, **overrides)
    return np.array([np.array(start, float), *after])


def builtin_trajectory(name, start, grad, steps, **overrides):
    spec = get(name)
    hp = np.array(resolve(spec, overrides).hp_vector())
    p = np.array(start, float)
    state = np.zeros(spec.state_size(p.size))
    getattr(K, spec.kernel.init)(p, hp, state)
    out = [p.copy()]
    for t in range(1, steps + 1):
        getattr(K, spec.kernel.step)(p, np.array(grad(list(p)), float), state, t, hp)
        out.append(p.copy())
    return np.array(out)


# ---------------------------------------------------------------------------------------------
# Parsing and the generated code


def test_samples_load_with_their_declarations():
    adam = load_optimizer_yaml(ADAM)
    assert adam.name == "yaml_adam" and adam.source == ADAM
    assert [h.name for h in adam.own_hyperparams] == ["lr", "beta1", "beta2", "eps"]
    own = {hp.name: hp.default for hp in adam.own_hyperparams}
    assert own == {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    assert adam.param("lr").range_text() == "(0, inf)"
    assert adam.param("beta1").range_text() == "[0, 1)"
    # m, v per parameter; the running products beta1^t, beta2^t once per run
    assert (adam.state_per_param, adam.state_extra) == (2, 2)
    assert adam.state_size(5) == 12
    for name in ["amsgrad", "lion", "adabelief"]:
        spec = load_optimizer_yaml(str(SAMPLES / f"{name}.yaml"))
        assert spec.name == f"yaml_{name}" and spec.summary


def test_uniform_values_are_computed_once_per_step_outside_the_loop():
    def step_of(src: str) -> str:  # opt_step alone (the elementwise form follows it)
        return src.split("def opt_step")[1].split("def opt_prepare")[0]

    src = step_of(load_optimizer_yaml(str(SAMPLES / "adabelief.yaml")).kernel.inline)
    loop = src.split("for i in range(n):")[-1]
    assert "**" in src and "** v_t" not in loop  # 1 - beta**t before the loop
    assert "math.sqrt(v_shat)" in loop
    head, loop = step_of(load_optimizer_yaml(ADAM).kernel.inline).split("for i in range(n):")
    assert "    v1_beta1_t = " in head and "beta1_t" not in loop


def test_the_elementwise_form_is_the_step_cut_in_two():
    """opt_prepare holds the per-step part of opt_step, opt_update its loop body; the fused
    and lockstep loops run them and give the numbers of opt_step bit for bit."""
    kernel = load_optimizer_yaml(ADAM).kernel
    assert kernel.elementwise and (kernel.slots, kernel.extra) == (2, 2)
    src = kernel.inline
    prepare = src.split("def opt_prepare")[1].split("def opt_update")[0]
    update = src.split("def opt_update")[1]
    assert "u_0 = v1_beta1_t" in prepare and "for i" not in prepare
    assert "math.sqrt(v_v)" in update and "state[" not in update and "[i]" not in update
    specs = [f"{ADAM}(lr=0.01)", str(SAMPLES / "lion.yaml"), str(SAMPLES / "adabelief.yaml")]
    outs = set()
    for layout in ("generic", "fused", "lockstep"):
        r = adambench.run("beale", specs, steps=200, seeds=4, start="random", layout=layout)
        d = r.to_dict(trace=True)
        d.pop("volatile")
        outs.add(json.dumps(d, sort_keys=True))
    assert len(outs) == 1


def test_user_names_never_shadow_generated_variables(write_yaml):
    # State named like the generated code's own variables (n, i, state, hp, p is reserved).
    path = write_yaml(
        textwrap.dedent("""
            name: shadow
            hyperparameters: {lr: {default: 0.001, above: 0}, hp: 0.5}
            state: {n: 0, i: 1, state: p}
            update:
              - n = hp*n + g
              - i = i*0.5
              - g = n + i
              - p = p - lr*g + 0*state
        """),
        "shadow.yaml",
    )
    spec = load_optimizer_yaml(path)
    got = rule_trajectory(spec, [1.0, 1.5], reference.beale_grad, 40)
    p, n, i = [1.0, 1.5], [0.0, 0.0], 1.0
    want = [list(p)]
    for _ in range(40):
        g = reference.beale_grad(p)
        i *= 0.5
        for k in range(2):
            n[k] = 0.5 * n[k] + g[k]
            p[k] = p[k] - 0.001 * (n[k] + i)
        want.append(list(p))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-13)
    assert spec.state_per_param == 2 and spec.state_extra == 1  # i is uniform


def interpret(rule, start, grad, steps, hp):
    """The rule executed statement by statement, coordinate by coordinate, in plain Python: an
    independent reference for the generated code (hoisting, versions, loads and stores)."""
    ops = {"add": float.__add__, "sub": float.__sub__, "mul": float.__mul__}
    cmps = {">": float.__gt__, ">=": float.__ge__, "<": float.__lt__, "<=": float.__le__,
            "==": float.__eq__, "!=": float.__ne__}  # fmt: skip
    funcs = {"exp": math.exp, "log": math.log, "sqrt": math.sqrt, "abs": abs, "max": max,
             "min": min, "tanh": math.tanh,
             "sign": lambda x: 0.0 if x == 0 else math.copysign(1.0, x)}  # fmt: skip

    def ev(node, env):
        kind = node[0]
        if kind == "num":
            return float(node[1])
        if kind == "const":
            return getattr(math, node[1])
        if kind == "sym":
            return env[node[1]]
        if kind == "neg":
            return -ev(node[1], env)
        if kind in ops:
            return ops[kind](ev(node[1], env), ev(node[2], env))
        if kind == "div":
            return ev(node[1], env) / ev(node[2], env)
        if kind == "pow":
            return ev(node[1], env) ** ev(node[2], env)
        if kind == "cmp":
            return cmps[node[1]](ev(node[2], env), ev(node[3], env))
        if node[1] == "where":
            c = node[2]
            cond = ev(c, env) if c[0] == "cmp" else ev(c, env) != 0.0
            return ev(node[3], env) if cond else ev(node[4], env)
        return float(funcs[node[1]](*(ev(a, env) for a in node[2:])))

    p = [float(v) for v in start]
    names = [h.name for h in rule.hyperparams]
    base = dict(zip(names, hp))
    state = [{s: ev(tree, {**base, "p": p[i]}) for s, tree in rule.state} for i in range(len(p))]
    out = [list(p)]
    for t in range(1, steps + 1):
        g = grad(p)
        for i in range(len(p)):
            env = {**base, "t": float(t), "g": g[i], "p": p[i], **state[i]}
            for a in rule.update:
                env[a.target] = ev(a.tree, env)
            p[i] = env["p"]
            state[i] = {s: env[s] for s, _ in rule.state}
        out.append(list(p))
    return np.array(out)


TRICKY = [
    # uniform state read before and after its update, uniform locals, a per-coordinate state
    # reset by a uniform where, sign, reads of the new p
    """
    name: tricky1
    hyperparameters: {lr: 0.01, b: {default: 0.5, min: 0, max: 1}}
    state: {k: 1, m: 0, s: p}
    update:
      - m = b*m + (1 - b)*g
      - u = lr*k
      - k = k*b + 1
      - u2 = u + k/t**2
      - s = where(t > 2, s, 0*lr)
      - p = p - u*m - u2*0.001*sign(g) + 0*s
      - s = s + p
    """,
    # a per-coordinate state given a uniform value, then read; g reassigned; where on a flag
    """
    name: tricky2
    hyperparameters: {lr: 0.001, clip: 2.0, enabled: true}
    state: {a: p, v: 0}
    update:
      - a = lr*t
      - g = where(enabled, max(-clip, min(clip, g)), g)
      - v = max(v, abs(g))
      - p -= a*g/(v + 1) + where(v > 1, 0, exp(-t))*1.0e-3
    """,
]


@pytest.mark.parametrize("text", TRICKY, ids=["tricky1", "tricky2"])
def test_generated_code_matches_a_plain_interpreter_of_the_rule(write_yaml, text):
    spec = load_optimizer_yaml(write_yaml(textwrap.dedent(text), "tricky.yaml"))
    from adambench.optimizers.rules import rule_from_dict
    from adambench.safeyaml import loads

    rule = rule_from_dict(loads(textwrap.dedent(text)), "tricky.yaml")
    hp = resolve(spec, {}).hp_vector()
    got = rule_trajectory(spec, [1.0, 1.5], reference.beale_grad, 60)
    want = interpret(rule, [1.0, 1.5], reference.beale_grad, 60, hp)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert not np.array_equal(got[-1], got[0])


def test_where_sign_max_min_and_augmented_assignments(write_yaml):
    path = write_yaml(
        textwrap.dedent("""
            name: clipped
            hyperparameters: {lr: {default: 0.01, above: 0}, clip: {default: 1.0, above: 0}}
            state: {best: 1.0e300}
            update:
              - g = max(-clip, min(clip, g))
              - best = min(best, abs(g))
              - step = where(g > 0, lr, where(g < 0, -lr, 0))*(1 + 0*best)
              - p -= step*sign(g)*sign(g)
              - p += 0*t
        """),
        "clipped.yaml",
    )
    spec = load_optimizer_yaml(path)
    got = rule_trajectory(spec, [1.0, 1.5], reference.beale_grad, 50)
    p = [1.0, 1.5]
    want = [list(p)]
    for _ in range(50):
        g = [max(-1.0, min(1.0, v)) for v in reference.beale_grad(p)]
        p = [x - (0.01 if v > 0 else -0.01 if v < 0 else 0.0) for x, v in zip(p, g)]
        want.append(list(p))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-14)


def test_cache_key_follows_the_update_not_the_defaults_or_name(write_yaml):
    base = Path(ADAM).read_text(encoding="utf-8")
    a = load_optimizer_yaml(write_yaml(base, "a.yaml"))
    b = load_optimizer_yaml(write_yaml(base.replace("default: 0.9,", "default: 0.8,"), "b.yaml"))
    c = load_optimizer_yaml(
        write_yaml(base.replace("+ (1 - beta1)*g", "+ (1 - beta1)*g*1.0"), "c.yaml")
    )
    assert a.kernel == b.kernel  # defaults travel at run time: same compiled code
    assert a.kernel != c.kernel
    problem = load_problem("beale")
    text_a = codegen.module_source(codegen.problem_source(problem), a.kernel)
    text_c = codegen.module_source(codegen.problem_source(problem), c.kernel)
    assert codegen.module_key(text_a, a.kernel) != codegen.module_key(text_c, c.kernel)


# ---------------------------------------------------------------------------------------------
# Equivalence with the built-in Adam


@pytest.mark.parametrize("problem", PROBLEMS_2D)
def test_yaml_adam_matches_builtin_adam_over_1000_steps(problem):
    # adam.yaml does the built-in's arithmetic (running products for beta^t, see its comments),
    # so the trajectories agree within 1e-12, and in fact bit for bit as the file claims, noise
    # and minibatches included (noisy_logreg: same seeds, same stream).
    lr = {"rosenbrock": 0.005, "noisy_logreg": 0.02}.get(problem, 0.01)
    r = adambench.run(problem, [f"{ADAM}(lr={lr})", f"adam(lr={lr})"], steps=1000, seeds=2)
    ours, builtin = r.runs[:2], r.runs[2:]
    for a, b in zip(ours, builtin):
        assert a.steps == b.steps == 1000
        assert np.max(np.abs(a.x_trace - b.x_trace)) <= 1e-12
        np.testing.assert_array_equal(a.x_trace, b.x_trace)
        assert (a.status, a.best_step, a.steps_to_target) == (
            b.status,
            b.best_step,
            b.steps_to_target,
        )


def test_yaml_amsgrad_matches_the_builtin_adam_with_amsgrad():
    amsgrad = str(SAMPLES / "amsgrad.yaml")
    r = adambench.run("beale", [f"{amsgrad}(lr=0.01)", "adam(lr=0.01,amsgrad=true)"], steps=1000)
    # amsgrad.yaml writes the textbook 1 - beta**t: equal to rounding, not bit for bit.
    assert np.max(np.abs(r.runs[0].x_trace - r.runs[1].x_trace)) <= 1e-12


def test_textbook_bias_correction_differs_from_running_products_only_by_rounding(write_yaml):
    text = Path(ADAM).read_text(encoding="utf-8")
    text = text.replace("(1 - beta1_t)", "(1 - beta1**t)").replace(
        "(1 - beta2_t)", "(1 - beta2**t)"
    )
    spec = load_optimizer_yaml(write_yaml(text, "textbook.yaml"))
    assert spec.state_extra == 2  # the products are still declared, just unused
    got = rule_trajectory(spec, [1.0, 1.5], reference.beale_grad, 1000, lr=0.01)
    want = builtin_trajectory("adam", [1.0, 1.5], reference.beale_grad, 1000, lr=0.01)
    diff = np.max(np.abs(got - want))
    assert 0 < diff <= 1e-12  # pow and running products round differently, within 1e-12


# ---------------------------------------------------------------------------------------------
# The other samples against plain-Python transcriptions of their papers


@pytest.mark.parametrize(
    ("sample", "ref", "overrides"),
    [
        ("lion", reference.lion, {"lr": 0.003, "weight_decay": 0.01}),
        ("adabelief", reference.adabelief, {"lr": 0.01}),
        ("amsgrad", None, {"lr": 0.01}),
    ],
)
def test_samples_match_their_papers(sample, ref, overrides):
    spec = load_optimizer_yaml(str(SAMPLES / f"{sample}.yaml"))
    got = rule_trajectory(spec, [1.0, 1.5], reference.beale_grad, 500, **overrides)
    if ref is None:
        want = reference.adam([1.0, 1.5], reference.beale_grad, 500, amsgrad=True, **overrides)
    else:
        want = ref([1.0, 1.5], reference.beale_grad, 500, **overrides)
    np.testing.assert_allclose(got, np.array(want), rtol=0, atol=1e-11)


def test_the_four_samples_run_from_the_command_line():
    args = ["run", "beale", "--steps", "300", "--json"]
    for name, lr in [("adam", 0.1), ("amsgrad", 0.1), ("lion", 0.01), ("adabelief", 0.1)]:
        args += ["-O", f"{SAMPLES / name}.yaml(lr={lr})"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert [o["optimizer"] for o in data["optimizers"]] == [
        "yaml_adam",
        "yaml_amsgrad",
        "yaml_lion",
        "yaml_adabelief",
    ]
    assert data["optimizers"][2]["source"] == f"{SAMPLES / 'lion'}.yaml"
    assert data["optimizers"][0]["label"] == "yaml_adam(lr=0.1)"
    assert all(run["status"] != "diverged" for run in data["runs"])
    losses = [run["final_loss"] for run in data["runs"]]
    assert all(f < 14.2 for f in losses)  # each moved downhill from f(start) = 14.2


def test_no_recompilation_across_hyperparameters():
    adambench.run("saddle_point", [f"{ADAM}(lr=0.01)"], steps=10)
    adambench.run("saddle_point", [f"{ADAM}(lr=0.2,beta1=0.5)"], steps=20, seeds=3, threads=2)
    adambench.run("saddle_point", [f"{ADAM}(lr=0.3)"], steps=20, seeds=5, threads=2)
    module, _ = codegen.load_module(load_problem("saddle_point"), load_optimizer_yaml(ADAM).kernel)
    for runner in (module.advance_fused, module.advance_lockstep):
        assert len(runner.signatures) == 1


PROBE = textwrap.dedent("""
    import json, sys
    import adambench
    from adambench import codegen
    r = adambench.run("beale", [sys.argv[1] + "(lr=0.05)"], steps=200)
    runners = [getattr(m, name) for m in codegen.modules._LOADED.values()
               for name in ("advance", "advance_fused", "advance_lockstep") if hasattr(m, name)]
    print(json.dumps({
        "hits": sum(sum(f.stats.cache_hits.values()) for f in runners),
        "misses": sum(sum(f.stats.cache_misses.values()) for f in runners),
        "sympy": "sympy" in sys.modules,
        "loss": r.runs[0].final_loss,
    }))
""")


def test_a_warm_run_of_a_yaml_optimizer_imports_no_sympy_and_compiles_nothing():
    env = {**os.environ}
    env.pop("NUMBA_CACHE_DIR", None)
    runs = []
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-c", PROBE, ADAM], env=env, capture_output=True, text=True, check=True
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    warm = runs[1]
    assert warm["misses"] == 0 and warm["hits"] == 1 and warm["sympy"] is False
    assert warm["loss"] == runs[0]["loss"]


# ---------------------------------------------------------------------------------------------
# Errors: one line naming the file and the key, exit code 2, nothing run

GOOD = """\
name: mine
hyperparameters:
  lr: {default: 0.01, above: 0}
  beta1: {default: 0.9, min: 0, below: 1}
state:
  m: 0
update:
  - m = beta1*m + (1 - beta1)*g
  - p = p - lr*m
"""

BAD = [
    ("unknown-name", GOOD.replace("- p = p - lr*m", "- p = p - lr*mm"),
     r"update #2: unknown name 'mm' \(did you mean 'm'\?\)"),
    ("typo-hyper", GOOD.replace("beta1*m", "bta1*m"),
     r"update #1: unknown name 'bta1' \(did you mean 'beta1'\?\)"),
    ("used-before-declared",
     GOOD.replace("  - m = beta1", "  - v = v + g**2\n  - m = beta1").replace("lr*m", "lr*m/v"),
     r"update #1: 'v' is used before it has a value \(first assigned at #1\); to keep a value "
     r"between steps, declare it under state"),
    ("used-before-assigned", GOOD.replace("- p = p - lr*m", "- p = p - lr*d\n  - d = m"),
     r"update #2: 'd' is used before it has a value \(first assigned at #3\)"),
    ("assign-unknown", GOOD.replace("  - m = beta1", "  - mm = beta1"),
     r"update #1: 'mm' is assigned but never used, and is not a state \(did you mean 'm'\?\)"),
    ("assign-t", GOOD.replace("- p = p - lr*m", "- t = 1\n  - p = p - lr*m"),
     r"update #2: cannot assign to 't' \(the step count\)"),
    ("assign-hyper", GOOD.replace("- p = p - lr*m", "- lr = 1\n  - p = p - lr*m"),
     r"update #2: cannot assign to the hyperparameter 'lr'"),
    ("assign-function", GOOD.replace("- p = p - lr*m", "- sqrt = 1\n  - p = p - lr*m"),
     r"update #2: cannot assign to 'sqrt'"),
    ("no-p", GOOD.replace("  - p = p - lr*m\n", ""), r"'update' never assigns p"),
    ("no-update", GOOD.split("update:")[0], r"'update' is required"),
    ("not-assignment", GOOD.replace("- p = p - lr*m", "- p - lr*m"),
     r"expected 'name = expression'"),
    ("syntax", GOOD.replace("lr*m", "lr*(m"), r"update #2: syntax error"),
    ("attribute", GOOD.replace("lr*m", "lr*m.real"), r"attribute access is not allowed"),
    ("dunder", GOOD.replace("lr*m", "__import__('os')"), r"dunder"),
    ("missing-default", GOOD.replace("{default: 0.01, above: 0}", "{above: 0}"),
     r"hyperparameters.lr: has no default"),
    ("default-out-of-range", GOOD.replace("{default: 0.9, min: 0, below: 1}",
                                          "{default: 1, min: 0, below: 1}"),
     r"hyperparameters.beta1: default 1 is outside its range \[0, 1\)"),
    ("min-and-above",
     GOOD.replace("{default: 0.01, above: 0}", "{default: 0.01, above: 0, min: 0}"),
     r"hyperparameters.lr: give 'min' or 'above', not both"),
    ("bool-with-range", GOOD.replace("{default: 0.01, above: 0}", "{default: true, min: 0}"),
     r"hyperparameters.lr: a bool has no range"),
    ("unknown-hp-key", GOOD.replace("above: 0}", "abovee: 0}"),
     r"hyperparameters.lr: unknown key 'abovee' \(did you mean 'above'\?\)"),
    ("duplicate-key", GOOD.replace("state:", "state:\n  m: 1"), r"line 7: duplicate key 'm'"),
    ("unknown-top-key", GOOD + "udpate: []\n", r"unknown key 'udpate' \(did you mean 'update'\?\)"),
    ("builtin-name", GOOD.replace("name: mine", "name: adam"),
     r"'name' 'adam' is taken by a built-in optimizer"),
    ("no-name", GOOD.replace("name: mine\n", ""), r"'name' is required"),
    ("reserved-state", GOOD.replace("  m: 0", "  m: 0\n  g: 0"), r"state name 'g' is reserved"),
    ("state-clash", GOOD.replace("  m: 0", "  m: 0\n  lr: 0"),
     r"'lr' is already declared as a hyperparameter"),
    ("state-init-uses-g", GOOD.replace("  m: 0", "  m: g"), r"state.m: unknown name 'g'"),
    ("state-init-bool", GOOD.replace("  m: 0", "  m: true"), r"state.m: initial value must be"),
    ("yaml-bool-name", GOOD.replace("  m: 0", "  m: 0\n  on: 0"),
     r"state: state name True is not an identifier \(YAML reads yes/no/on/off"),
    ("division-by-zero", GOOD.replace("lr*m", "lr*m/0"), r"division by zero"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "text", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_optimizer_files_are_one_line_exit_2_naming_file_and_key(
    write_yaml, case, text, message
):
    path = write_yaml(text, f"{case}.yaml")
    r = CliRunner().invoke(app, ["run", "beale", "-O", f"{path}(lr=0.1)", "-O", "adam"])
    assert r.exit_code == 2, r.output
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: "), r.stderr
    assert re.search(message, lines[0]), lines[0]


def test_the_good_file_of_the_error_table_is_momentum_sgd(write_yaml):
    spec = load_optimizer_yaml(write_yaml(GOOD, "good.yaml"))
    got = rule_trajectory(spec, [1.0, 1.5], reference.beale_grad, 100, lr=0.001)
    p, m = [1.0, 1.5], [0.0, 0.0]
    for _ in range(100):
        g = reference.beale_grad(p)
        m = [0.9 * a + (1 - 0.9) * b for a, b in zip(m, g)]
        p = [x - 0.001 * a for x, a in zip(p, m)]
    np.testing.assert_allclose(got[-1], p, rtol=0, atol=1e-13)


def test_overrides_are_validated_against_the_files_ranges():
    r = CliRunner().invoke(app, ["run", "beale", "-O", f"{ADAM}(beta1=1)"])
    assert r.exit_code == 2
    assert "yaml_adam: beta1 must be in [0, 1), got 1" in r.stderr
    r = CliRunner().invoke(app, ["run", "beale", "-O", f"{ADAM}(betta1=0.5)"])
    assert r.exit_code == 2 and "did you mean 'beta1'" in r.stderr
    r = CliRunner().invoke(app, ["run", "beale", "-O", "./no/such/optimizer.yaml"])
    assert r.exit_code == 2 and "no such file" in r.stderr


def test_a_stateless_rule_runs_the_same_in_every_layout(write_yaml):
    path = write_yaml(
        "name: plain\nhyperparameters:\n  lr: {default: 0.001, above: 0}\n"
        "update:\n  - p = p - lr*g\n",
        "plain.yaml",
    )
    outs = set()
    for layout in ("generic", "fused", "lockstep"):
        r = adambench.run("beale", [path, "sgd"], steps=100, seeds=4, layout=layout)
        assert np.array_equal(r.runs[0].x_trace, r.runs[4].x_trace)  # = the built-in SGD
        d = r.to_dict(trace=True)
        d.pop("volatile")
        outs.add(json.dumps(d, sort_keys=True))
    assert len(outs) == 1
