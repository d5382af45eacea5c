"""The engine: determinism, seeds, statuses, recording, averaging, compile hygiene."""

from __future__ import annotations

import json

import numpy as np
import pytest

import adambench
from adambench import codegen
from adambench.engine.starts import random_starts
from adambench.errors import UsageError
from adambench.problems import load_problem


def stable(result, trace=True):
    d = result.to_dict(trace=trace)
    d.pop("volatile")
    return json.dumps(d, sort_keys=True)


@pytest.mark.parametrize("problem", ["beale", "noisy_logreg"])
def test_same_seed_same_bytes_serial_parallel_and_any_chunking(problem):
    kw = dict(
        optimizers=["adam", "rmsprop(lr=0.003)", "sgd"],
        steps=300,
        seeds=3,
        start="random",
        average=True,
    )
    serial = adambench.run(problem, threads=1, **kw)
    parallel = adambench.run(problem, threads=2, **kw)
    chunked = adambench.run(problem, threads=2, chunk_steps=7, **kw)
    one_step = adambench.run(problem, threads=1, chunk_steps=1, **kw)
    assert stable(serial) == stable(parallel) == stable(chunked) == stable(one_step)


def test_a_runs_stream_depends_only_on_its_seed(write_yaml):
    path = write_yaml(
        "name: noisy\nvariables: [x, y]\nexpression: x**2 + y**2\n"
        "start: [1, 1]\ngradient_noise: 0.5\n"
    )
    many = adambench.run(path, ["adam(lr=0.01)", "sgd(lr=0.01)"], steps=200, seeds=3, seed=5)
    assert [r.seed for r in many.runs] == [5, 6, 7, 5, 6, 7]
    alone = adambench.run(path, ["sgd(lr=0.01)"], steps=200, seeds=1, seed=6)
    np.testing.assert_array_equal(alone.runs[0].final_x, many.runs[4].final_x)
    np.testing.assert_array_equal(alone.runs[0].loss_trace, many.runs[4].loss_trace)
    # Different seeds see different noise.
    assert not np.array_equal(many.runs[3].final_x, many.runs[4].final_x)


def test_random_starts_are_in_the_domain_and_per_seed():
    p = load_problem("beale")
    a = random_starts(p, [0, 1, 2])
    b = random_starts(p, [1])
    assert np.all(a >= p.domain[:, 0]) and np.all(a <= p.domain[:, 1])
    np.testing.assert_array_equal(a[1], b[0])
    assert not np.array_equal(a[0], a[1])


def test_statuses_reached_max_steps_and_divergence_does_not_touch_other_runs():
    r = adambench.run("beale", ["momentum(lr=0.003)", "adam", "sgd(lr=1)"], steps=1000)
    reached, maxed, diverged = r.runs
    assert reached.status == "reached_target" and reached.steps_to_target == 405
    assert reached.best_loss <= 1e-6 and reached.steps == 1000
    assert maxed.status == "max_steps" and maxed.steps_to_target is None
    assert diverged.status == "diverged" and diverged.diverged_at is not None
    assert diverged.steps == diverged.diverged_at
    alone = adambench.run("beale", ["momentum(lr=0.003)"], steps=1000)
    np.testing.assert_array_equal(alone.runs[0].final_x, reached.final_x)


def test_stop_at_target_stops_each_run_at_its_first_hit():
    full = adambench.run("beale", ["momentum(lr=0.003)", "nesterov(lr=0.003)"], steps=1000)
    stopped = adambench.run(
        "beale", ["momentum(lr=0.003)", "nesterov(lr=0.003)"], steps=1000, stop_at_target=True
    )
    for f, s in zip(full.runs, stopped.runs):
        assert s.status == "reached_target"
        assert s.steps == s.steps_to_target == f.steps_to_target
        assert s.loss_trace.shape == (s.steps + 1,)
        np.testing.assert_array_equal(s.loss_trace, f.loss_trace[: s.steps + 1])
        np.testing.assert_array_equal(s.x_trace[-1], s.final_x)
        assert s.final_loss == pytest.approx(s.loss_trace[-1])


def test_invalid_start_and_stalled(write_yaml):
    bad = write_yaml("name: cusp\nvariables: [x, y]\nexpression: sqrt(x) + y**2\nstart: [0, 1]\n")
    r = adambench.run(bad, ["adam", "sgd"], steps=50)
    assert [x.status for x in r.runs] == ["invalid_start", "invalid_start"]
    assert r.runs[0].steps == 0 and r.runs[0].loss_trace.size == 0
    flat = write_yaml("name: flat\nvariables: [x]\nexpression: x**4 + 1\nstart: [0]\n", "flat.yaml")
    r = adambench.run(flat, ["sgd"], steps=100)
    assert r.runs[0].status == "stalled"


def test_nan_mid_run_is_diverged_with_its_step(write_yaml):
    path = write_yaml("name: cliff\nvariables: [x]\nexpression: log(x)**2 + x\nstart: [0.5]\n")
    r = adambench.run(path, ["sgd(lr=1)", "adam"], steps=100)
    cliff, fine = r.runs
    x, t = 0.5, 0  # the same run in plain Python: the first step where log(x) is undefined
    while x > 0:
        x -= 2 * np.log(x) / x + 1
        t += 1
    assert cliff.status == "diverged" and cliff.diverged_at == t
    assert fine.status in ("max_steps", "stalled")


def test_recording_every_k_keeps_metrics_exact():
    every1 = adambench.run("rosenbrock", ["adam(lr=0.01)"], steps=500)
    every7 = adambench.run("rosenbrock", ["adam(lr=0.01)"], steps=500, every=7)
    a, b = every1.runs[0], every7.runs[0]
    assert b.loss_trace.shape == (500 // 7 + 1,)
    np.testing.assert_array_equal(b.loss_trace, a.loss_trace[::7])
    np.testing.assert_array_equal(b.x_trace, a.x_trace[::7])
    assert (a.best_loss, a.best_step, a.final_loss) == (b.best_loss, b.best_step, b.final_loss)


def test_large_problems_record_the_loss_only():
    r = adambench.run("rosenbrock_nd", ["adam"], dim=300, steps=20)
    run = r.runs[0]
    assert run.x_trace is None and run.loss_trace.shape == (21,)
    assert r.settings.record_x is False
    assert r.to_dict()["runs"][0]["final_x"] is not None


def test_temporal_average_matches_its_formula():
    r = adambench.run("long_valley", ["adam(lr=0.05)"], steps=60, average=True, average_decay=0.9)
    run = r.runs[0]
    xs = run.x_trace[1:]  # p_1 .. p_T
    pbar = np.zeros(2)
    for x in xs:
        pbar = 0.9 * pbar + 0.1 * x
    np.testing.assert_allclose(run.average_x, pbar / (1 - 0.9**60), rtol=1e-13)
    load_problem("long_valley")
    x, y = run.average_x
    assert run.average_loss == pytest.approx(5 * x**2 + 0.001 * (y - 10) ** 2, rel=1e-13)


def test_no_recompilation_across_hyperparameters_and_seeds():
    adambench.run("saddle_point", ["adam(lr=0.01)"], steps=10)
    adambench.run("saddle_point", ["adam(lr=0.2,amsgrad=true)"], steps=30, seeds=3, threads=2)
    adambench.run("saddle_point", ["adam(lr=0.3)", "adam"], steps=30, seeds=5, threads=2)
    adambench.run("saddle_point", ["adam(lr=0.3)"], steps=30, seeds=6, layout="generic")
    module, _ = codegen.load_module(
        load_problem("saddle_point"), adambench.list_optimizers()["adam"].kernel
    )
    for runner in (module.advance_fused, module.advance_lockstep, module.advance):
        assert len(runner.signatures) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps": 0}, "steps must be between 1"),
        ({"steps": 10**10}, "steps must be between 1"),
        ({"seeds": 0}, "seeds must be between 1"),
        ({"seed": -1}, "seed must be between 0"),
        ({"every": 0}, "every must be between 1"),
        ({"threads": 0}, "threads must be between 1"),
        ({"start": [1, 2, 3]}, "start must have 2 numbers"),
        ({"start": [1, float("nan")]}, "start must be finite"),
        ({"start": "nowhere"}, "start must be 'random'"),
        ({"average": True, "average_decay": 1.0}, r"average decay must be in \(0, 1\)"),
        ({"optimizers": []}, "no optimizer given"),
    ],
)
def test_bad_arguments_raise_usage_errors(kwargs, message):
    kwargs = {"optimizers": ["adam"], **kwargs}
    with pytest.raises((UsageError, adambench.AdambenchError), match=message):
        adambench.run("beale", **kwargs)


def test_python_api_result_round_trips_to_json():
    r = adambench.run("beale", ["adam", "rmsprop"], steps=100, seeds=2)
    d = json.loads(r.to_json(trace=True))
    assert d["problem"]["name"] == "beale" and len(d["runs"]) == 4
    assert d["runs"][0]["trace"]["loss"][0] == pytest.approx(41.25)
    assert len(d["runs"][0]["trace"]["x"]) == 101
    assert r.to_csv().splitlines()[0].startswith("optimizer,label,seed,status")


def test_jobs_executed_together_match_jobs_run_alone():
    from adambench.engine.jobs import collect, execute, prepare

    jobs = [
        prepare("beale", ["adam", "momentum(lr=0.003)"], steps=700, stop_at_target=True),
        prepare("noisy_logreg", ["rmsprop"], steps=300, seeds=2),
        prepare("long_valley", ["sgd(lr=0.1)"], steps=50),
    ]
    execute(jobs, threads=2, chunk_steps=33)
    together = [stable(collect(j)) for j in jobs]
    alone = [
        stable(
            adambench.run("beale", ["adam", "momentum(lr=0.003)"], steps=700, stop_at_target=True)
        ),
        stable(adambench.run("noisy_logreg", ["rmsprop"], steps=300, seeds=2)),
        stable(adambench.run("long_valley", ["sgd(lr=0.1)"], steps=50)),
    ]
    assert together == alone


def test_progress_reports_run_steps_up_to_the_total():
    seen = []
    adambench.run(
        "beale",
        ["adam", "sgd"],
        steps=500,
        chunk_steps=100,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen[-1] == (1000, 1000)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_layouts_agree_on_an_invalid_start(write_yaml):
    path = write_yaml("name: cusp\nvariables: [x, y]\nexpression: sqrt(x) + y**2\nstart: [0, 1]\n")
    outs = {
        layout: stable(adambench.run(path, ["adam", "sgd"], steps=20, seeds=4, layout=layout))
        for layout in ("generic", "fused", "lockstep")
    }
    assert len(set(outs.values())) == 1
    assert '"invalid_start"' in outs["generic"]


def test_unknown_layout_is_refused():
    with pytest.raises(UsageError, match="layout must be one of"):
        adambench.run("beale", ["adam"], steps=5, layout="diagonal")


def test_parallel_twins_have_their_own_cache_entries():
    # numba keys its disk cache by qualified name: a twin under the kernel's own name would
    # silently load the serial machine code.
    from adambench import kernels as K

    names = ("adam", "adamax", "sgd", "adagrad", "rmsprop")
    for name in (*names, "adamw", "nadam", "radam", "adadelta", "rprop"):
        serial, twin = getattr(K, f"{name}_step"), getattr(K, f"{name}_step_par")
        assert twin.py_func.__qualname__ == f"{name}_step_par" != serial.py_func.__qualname__
        assert twin.targetoptions.get("parallel") is True


def test_every_runner_is_rendered_from_the_one_step_body_with_the_one_argument_list():
    import ast

    from adambench.codegen import lanes, loops

    kernel = adambench.list_optimizers()["adam"].kernel
    sources = [
        loops.array_runner_source(),
        loops.wide_runner_source(),
        loops.fused_runner_source(3, kernel),
        loops.python_runner_source(),
    ]
    for text in sources:
        (fn,) = ast.parse(text).body
        assert tuple(a.arg for a in fn.args.args) == loops.RUNNER_ARGS
        # The step body's fixed lines appear once in every runner.
        for line in ("ok = math.isfinite(f)", "if t == stall_step:", "if f <= target and"):
            assert text.count(line) == 1, (fn.name, line)
    # The lockstep runner has its own branch-free step (the layout tests hold it to the same
    # numbers); the runner the engine calls takes the same arguments.
    step, runner = ast.parse(lanes.lockstep_runner_source(3, kernel)).body
    assert (step.name, runner.name) == ("lockstep_step", "advance_lockstep")
    assert tuple(a.arg for a in runner.args.args) == loops.RUNNER_ARGS


def test_render_fills_hooks_at_their_indentation_and_refuses_unknown_holes():
    from adambench.codegen.loops import render

    text = render("if a:\n    <body>\n{x} = 1", {"body": ["b = 1", "c = 2"]}, {"x": "y"})
    assert text == "if a:\n    b = 1\n    c = 2\ny = 1\n"
    with pytest.raises(KeyError):
        render("<missing>", {}, {})
    with pytest.raises(KeyError):
        render("{missing}", {}, {})
