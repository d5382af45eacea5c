"""float32 runs (``--dtype float32``): against torch.optim in float32, what is stored, plugins,
the command line, sweep and suite files, JSON and compare.

The bit-for-bit parity of every runner layout in float32 is in tests/test_engine.py (the layout
tests take a dtype).
"""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
from typer.testing import CliRunner

import adambench
from adambench.cli import app
from adambench.engine.jobs import problem_functions
from adambench.errors import AdambenchError, UsageError
from adambench.problems import load_problem

runner = CliRunner()

#: (adambench spec, torch class, torch kwargs): the paper's five, on two problems.
TORCH_CASES = [
    ("adam(lr=0.01)", "Adam", {"lr": 0.01}),
    ("momentum(lr=0.0005)", "SGD", {"lr": 0.0005, "momentum": 0.9}),
    ("adagrad(lr=0.05)", "Adagrad", {"lr": 0.05}),
    ("rmsprop(lr=0.001)", "RMSprop", {"lr": 0.001}),
    ("adamax(lr=0.01)", "Adamax", {"lr": 0.01}),
]
#: The stated tolerance over 200 steps on beale and rosenbrock (coordinates of order 1): about
#: 100 float32 ulps. Measured: at most 1.1e-6. torch computes each update in float32, adambench
#: in float64 rounded to float32 where torch stores, so they part by a few ulps per step.
TORCH_ATOL = 1e-5


def torch_float32_trajectory(problem, cls, kwargs, steps):
    """torch.optim in float32 from the problem's start, fed adambench's gradient at each of its
    iterates (computed in float64 from the float32 parameters, rounded to float32)."""
    torch = pytest.importorskip("torch")
    prob = load_problem(problem)
    _, loss_and_grad = problem_functions(prob)
    p = torch.tensor(np.asarray(prob.start, np.float32), requires_grad=True)
    opt = getattr(torch.optim, cls)([p], foreach=False, **kwargs)
    out = [p.detach().numpy().astype(np.float64)]
    for _ in range(steps):
        _, g = loss_and_grad(p.detach().numpy().astype(np.float64))
        p.grad = torch.from_numpy(g.astype(np.float32))
        opt.step()
        out.append(p.detach().numpy().astype(np.float64))
    return np.array(out)


#: Adam's family and the two classics added with it, on beale (the float32 arithmetic they add
#: over the cases above: decoupled decay, mu products, the rectification, sign-based steps).
FAMILY_CASES = [
    ("adamw(lr=0.01)", "AdamW", {"lr": 0.01}),
    ("nadam(lr=0.01)", "NAdam", {"lr": 0.01}),
    ("radam(lr=0.01)", "RAdam", {"lr": 0.01}),
    ("adadelta", "Adadelta", {}),
    ("rprop(lr=0.01)", "Rprop", {"lr": 0.01}),
]


#: Every optimizer on beale; rosenbrock (a second problem's float32 gradient) with Adam alone:
#: the optimizers' float32 arithmetic does not depend on the problem, and each runner compiles.
FLOAT32_CASES = [("beale", *c) for c in TORCH_CASES + FAMILY_CASES] + [
    ("rosenbrock", *TORCH_CASES[0])
]


@pytest.mark.torch
@pytest.mark.parametrize(
    ("problem", "spec", "cls", "kwargs"),
    FLOAT32_CASES,
    ids=[f"{c[0]}-{c[1]}" for c in FLOAT32_CASES],
)
def test_float32_trajectories_agree_with_torch_float32(problem, spec, cls, kwargs):
    steps = 200
    ours = adambench.run(problem, [spec], steps=steps, dtype="float32").runs[0]
    assert ours.steps == steps, ours.status
    xs = ours.x_trace
    # Every iterate is a float32 value (a float64 run's are not) ...
    np.testing.assert_array_equal(xs, xs.astype(np.float32).astype(np.float64))
    # ... and the trajectory is torch's in float32 within the stated tolerance.
    want = torch_float32_trajectory(problem, cls, kwargs, steps)
    # Rprop steps by the sign of g * g_prev: near the minimum, where rounding decides a sign, one
    # flipped decision moves x by a whole step size (measured: 4.6e-5 on beale after step 147).
    atol = 1e-4 if spec.startswith("rprop") else TORCH_ATOL
    np.testing.assert_allclose(xs, want, rtol=0, atol=atol)


def test_a_float32_run_differs_from_float64_and_stores_float32_values():
    runs = {
        dt: adambench.run("beale", ["adam(lr=0.05)"], steps=300, dtype=dt).runs[0]
        for dt in ("float64", "float32")
    }
    x32, x64 = runs["float32"].final_x, runs["float64"].final_x
    assert x32.dtype == np.float64  # results hold float64 arrays whatever the dtype
    np.testing.assert_array_equal(x32, x32.astype(np.float32))
    assert not np.array_equal(x64, x64.astype(np.float32))
    assert not np.array_equal(x32, x64)
    np.testing.assert_allclose(x32, x64, atol=1e-4)  # same optimizer, rounding apart


def test_float32_noisy_and_data_problems_run_and_repeat_bit_for_bit():
    # Adam alone: the noise and minibatch streams are the problem's, whatever the optimizer
    # (rmsprop's float32 steps are checked against torch above); each runner costs a compile.
    kw = dict(steps=100, seeds=2, dtype="float32")
    for problem in ("noisy_logreg", "rosenbrock_nd"):
        a = adambench.run(problem, ["adam(lr=0.01)", "adam(lr=0.001)"], **kw).to_dict()
        b = adambench.run(problem, ["adam(lr=0.01)", "adam(lr=0.001)"], **kw).to_dict()
        a.pop("volatile"), b.pop("volatile")
        assert a == b
        assert all(r["status"] != "diverged" for r in a["runs"])


def test_json_records_the_dtype():
    for dt in ("float64", "float32"):
        d = json.loads(adambench.run("beale", ["adam"], steps=5, dtype=dt).to_json())
        assert d["settings"]["dtype"] == dt


def test_the_table_title_says_float32_only_when_it_is():
    r = runner.invoke(app, ["run", "beale", "-O", "adam", "--steps", "10", "--dtype", "float32"])
    assert r.exit_code == 0, r.output
    assert "beale: 10 steps in float32" in r.stdout
    r = runner.invoke(app, ["run", "beale", "-O", "adam", "--steps", "10"])
    assert "float" not in r.stdout


@pytest.mark.parametrize(
    "command",
    [
        ["run", "beale", "--dtype", "float16"],
        ["run", "beale", "--tune", "lr", "--dtype", "float16"],
        ["sweep", "beale", "-g", "lr=0.01,0.1", "--dtype", "float16"],
        ["check", "sample_configs/ci.yaml", "--dtype", "float16"],
    ],
)
def test_an_unknown_dtype_is_a_usage_error_naming_the_choices(command):
    r = runner.invoke(app, command)
    assert r.exit_code == 2, r.output
    assert "dtype must be one of float64, float32, got 'float16'" in r.stderr
    assert "Traceback" not in r.output


def test_the_engine_refuses_an_unknown_dtype():
    with pytest.raises(UsageError, match="dtype must be one of float64, float32"):
        adambench.run("beale", ["adam"], steps=5, dtype="float16")


PLUGIN = """\
\"\"\"Adam's own kernels as a plugin.\"\"\"
from adambench.kernels import adam_init as init, adam_step as step
from adambench.optimizers.builtins import BUILTINS

NAME = "adam32_plugin"
HYPERPARAMETERS = {
    hp.name: {"default": bool(hp.default) if hp.kind == "bool" else hp.default}
    for hp in BUILTINS["adam"].own_hyperparams
}
STATE_PER_PARAM = 3
STATE_EXTRA = 2
"""


def test_a_plugin_is_refused_in_float32_unless_it_declares_it(tmp_path):
    path = tmp_path / "adam32_plugin.py"
    path.write_text(PLUGIN, encoding="utf-8")
    with pytest.raises(UsageError, match=r"float64 arrays only, not float32.*DTYPES = "):
        adambench.run("beale", [str(path)], steps=5, dtype="float32")
    r = runner.invoke(app, ["run", "beale", "-O", str(path), "--dtype", "float32"])
    assert r.exit_code == 2 and "takes float64 arrays only" in r.stderr
    # Declared, it runs, and (Adam's kernels) gives the built-in's float32 numbers.
    declared = tmp_path / "adam32_declared.py"
    declared.write_text(
        PLUGIN.replace("adam32_plugin", "adam32_declared") + 'DTYPES = ("float64", "float32")\n',
        encoding="utf-8",
    )
    res = adambench.run("beale", [str(declared), "adam"], steps=200, dtype="float32")
    np.testing.assert_array_equal(res.runs[0].x_trace, res.runs[1].x_trace)


def test_a_plugin_with_a_bad_dtypes_declaration_is_refused(tmp_path):
    path = tmp_path / "adam16_plugin.py"
    path.write_text(
        PLUGIN.replace("adam32_plugin", "adam16_plugin") + 'DTYPES = ("float16",)\n',
        encoding="utf-8",
    )
    with pytest.raises(AdambenchError, match="DTYPES must list float64 and optionally float32"):
        adambench.run("beale", [str(path)], steps=5)


@pytest.mark.torch
def test_a_torch_optimizer_steps_in_float32():
    pytest.importorskip("torch")
    specs = ["torch:Adam(lr=0.01)", "adam(lr=0.01)"]
    r = adambench.run("beale", specs, steps=200, dtype="float32")
    torch_x, ours = r.runs[0].x_trace, r.runs[1].x_trace
    np.testing.assert_array_equal(torch_x, torch_x.astype(np.float32))  # torch held float32
    np.testing.assert_allclose(torch_x, ours, rtol=0, atol=TORCH_ATOL)


def test_compare_a_float64_and_a_float32_run_within_a_tolerance(tmp_path):
    files = {}
    for dt in ("float64", "float32"):
        files[dt] = tmp_path / f"{dt}.json"
        opts = ["-O", "adam(lr=0.05)", "--steps", "500", "--dtype", dt, "-q"]
        r = runner.invoke(app, ["run", "beale", *opts, "-o", str(files[dt])])
        assert r.exit_code == 0, r.output
    args = ["compare", str(files["float64"]), str(files["float32"])]
    r = runner.invoke(app, [*args, "--rtol", "1e-3"])
    assert r.exit_code == 0, r.output
    said = " ".join(r.stderr.split())  # the note wraps at the terminal's width
    assert "dtypes differ: float64 in" in said and "float32 in" in said
    # The numbers are compared, not waved through: with no tolerance, the rounding makes one of
    # the two worse than the other (getting better never fails, so both orders are tried).
    zero = ["--rtol", "0", "--atol", "0"]
    f64, f32 = str(files["float64"]), str(files["float32"])
    codes = {
        runner.invoke(app, ["compare", a, b, *zero]).exit_code for a, b in [(f64, f32), (f32, f64)]
    }
    assert codes == {0, 1}


def test_a_saved_float32_sweep_is_shown_in_float32(tmp_path):
    out = tmp_path / "sweep.json"
    args = ["sweep", "beale", "-O", "adam", "-g", "lr=0.01,0.1", "--steps", "20"]
    r = runner.invoke(app, [*args, "--dtype", "float32", "-o", str(out)])
    assert r.exit_code == 0, r.output
    heading = r.stdout.splitlines()[0]
    assert heading.endswith("in float32")
    shown = runner.invoke(app, ["sweep-show", str(out)])
    assert shown.exit_code == 0 and shown.stdout.splitlines()[0] == heading, shown.output
    data = json.loads(out.read_text())
    data["settings"]["dtype"] = "float16"
    out.write_text(json.dumps(data))
    shown = runner.invoke(app, ["sweep-show", str(out)])
    assert shown.exit_code != 0 and "dtype 'float16'" in shown.stderr, shown.output


def test_a_sweep_file_and_a_suite_take_a_dtype(tmp_path):
    sweep_file = tmp_path / "sweep.yaml"
    sweep_file.write_text(
        "problem: beale\noptimizers: adam\ngrid: {lr: [0.01, 0.1]}\nsteps: 20\ndtype: float32\n",
        encoding="utf-8",
    )
    r = runner.invoke(app, ["sweep", "--config", str(sweep_file), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["settings"]["dtype"] == "float32"
    r = runner.invoke(app, ["sweep", "--config", str(sweep_file), "--dtype", "float64", "--json"])
    assert json.loads(r.stdout)["settings"]["dtype"] == "float64"  # the command line wins
    sweep_file.write_text(sweep_file.read_text().replace("float32", "half"), encoding="utf-8")
    r = runner.invoke(app, ["sweep", "--config", str(sweep_file)])
    assert r.exit_code == 2 and "dtype: must be one of float64, float32, got 'half'" in r.stderr

    suite = tmp_path / "suite.yaml"
    suite.write_text(
        textwrap.dedent(
            """\
            dtype: float32
            cases:
              - {name: a32, problem: beale, optimizer: adam(lr=0.05), steps: 50}
              - {name: a64, problem: beale, optimizer: adam(lr=0.05), steps: 50, dtype: float64}
            """
        ),
        encoding="utf-8",
    )
    r = runner.invoke(app, ["check", str(suite), "--json"])
    assert r.exit_code == 0, r.output
    got = {c["id"]: c["settings"]["dtype"] for c in json.loads(r.stdout)["cases"]}
    assert got == {"a32": "float32", "a64": "float64"}
    r = runner.invoke(app, ["check", str(suite), "--json", "--dtype", "float64"])
    got = {c["id"]: c["settings"]["dtype"] for c in json.loads(r.stdout)["cases"]}
    assert got == {"a32": "float64", "a64": "float64"}


def test_a_baseline_without_a_dtype_is_a_float64_one(tmp_path):
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "cases:\n  - {name: a, problem: beale, optimizer: adam(lr=0.05), steps: 50}\n",
        encoding="utf-8",
    )
    base = tmp_path / "base.json"
    r = runner.invoke(app, ["check", str(suite), "--save-baseline", str(base), "-q"])
    assert r.exit_code == 0, r.output
    data = json.loads(base.read_text())
    for case in data["cases"].values():
        assert case["settings"].pop("dtype") == "float64"
    base.write_text(json.dumps(data), encoding="utf-8")
    r = runner.invoke(app, ["check", str(suite), "--baseline", str(base), "-q"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["check", str(suite), "--baseline", str(base), "--dtype", "float32"])
    assert r.exit_code == 2 and "dtype is 'float32' in the suite" in r.stderr


def test_a_yaml_rule_runs_in_float32_in_every_layout_bit_for_bit():
    # adam.yaml only: the float32 rounding is the layout's (where it stores), not the rule's;
    # lion's and adabelief's elementwise forms are checked in every layout in float64 in
    # tests/test_optimizer_files.py, and each (rule, layout) runner costs a compile.
    rule = "adam"
    path = f"sample_configs/optimizers/{rule}.yaml"
    kw = dict(steps=200, seeds=4, start="random", dtype="float32")
    outs = {}
    for layout in ("generic", "fused", "lockstep"):
        r = adambench.run("beale", [f"{path}(lr=0.01)"], layout=layout, **kw)
        outs[layout] = np.array([run.x_trace for run in r.runs])
        np.testing.assert_array_equal(outs[layout], outs[layout].astype(np.float32))
    assert np.array_equal(outs["generic"], outs["fused"])
    assert np.array_equal(outs["generic"], outs["lockstep"])
    if rule == "adam":  # the rule does the built-in's arithmetic: its float32 numbers too
        builtin = adambench.run("beale", ["adam(lr=0.01)"], layout="generic", **kw)
        assert np.array_equal(outs["generic"], np.array([run.x_trace for run in builtin.runs]))


def test_a_tuned_comparison_tunes_and_runs_in_the_dtype_it_is_given():
    from adambench.sweeps.tuning import run_tuned

    tuned = run_tuned("beale", ["adam"], tune_count=3, steps=100, dtype="float32")
    assert tuned.result.settings.dtype == "float32"
    assert tuned.tuning.sweep.result.settings.dtype == "float32"
