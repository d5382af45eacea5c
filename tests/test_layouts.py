"""Every loop kind gives the same numbers bit for bit: the array loop, the register loops (fused,
lockstep) and the parallel wide loop, for every built-in optimizer, the training controls and
both dtypes (the slowest tests of the suite: each case compiles every kernel in each layout).

The wide loop's frame is checked here over several blocks of coordinates; each optimizer's
parallel twin, which is all that differs between the wide runners of two optimizers, is checked
against its serial kernel in tests/test_vector_kernels.py."""

from __future__ import annotations

import json

import pytest

import adambench


def stable(result, trace=True):
    d = result.to_dict(trace=trace)
    d.pop("volatile")
    return json.dumps(d, sort_keys=True)


LAYOUT_SPECS = [
    "adam(lr=0.01,amsgrad=true)",
    "adam(lr=0.5,bias_correction=false,weight_decay=0.1)",
    "adamax(lr=0.01)",
    "sgd(lr=0.01)",
    "momentum(lr=0.002)",
    "nesterov(lr=0.002)",
    "adagrad(lr=0.3,lr_decay=0.01,initial_accumulator_value=0.1)",
    "rmsprop(lr=0.003,momentum=0.5,centered=true)",
    "adamw(lr=0.01,amsgrad=true,weight_decay=0.1)",
    "nadam(lr=0.01,weight_decay=0.1)",
    "nadam(lr=0.01,weight_decay=0.1,decoupled_weight_decay=true)",
    "radam(lr=0.05,weight_decay=0.01)",
    "adadelta(lr=0.5,weight_decay=0.01)",
    "rprop(lr=0.05)",
    "lazy_adam(lr=0.02)",  # dense gradients: every coordinate present
    # the training controls: schedules (shared tables and not), warm-up, both clippings
    "adam(lr=0.05,schedule=cosine,t_max=120,eta_min=0.001,warmup=30,clip_norm=0.5)",
    "momentum(lr=0.002,schedule=step,step_size=40,gamma=0.5,clip_value=1)",
    "rmsprop(lr=0.01,schedule=linear,start_factor=0.2,total_iters=100,clip_norm=2,clip_value=1)",
    "adagrad(lr=0.1,schedule=exponential,gamma=0.99,warmup=10,warmup_start=0.5)",
    "sgd(lr=0.003,schedule=inverse_sqrt,clip_norm=1e-7)",
]


#: Beale's function with noisy gradients and a loose target: the deterministic loop plus the
#: noise, with runs that diverge, reach the target, stop there and (in float32) stall, so one
#: problem covers every branch of the loop (each case compiles every kernel in each layout).
NOISY_BEALE = """\
name: noisy_beale
variables: [x, y]
expression: (1.5 - x + x*y)**2 + (2.25 - x + x*y**2)**2 + (2.625 - x + x*y**3)**2
start: [1, 1.5]
minimum: {x: [3, 0.5], value: 0}
target: 1.0
domain: [[-4.5, 4.5], [-4.5, 4.5]]
gradient_noise: 0.3
"""


#: float32's layouts round where the array loop stores (one cast per assignment, written by the
#: layout, not by the optimizer): checked on the optimizers whose updates have the most to round
#: (several state slots, run-level scalars, sign and trust logic) and on the training controls.
#: Every optimizer's float32 fused loop is held to torch in tests/test_float32.py.
FLOAT32_KINDS = ("adam", "nadam", "radam", "rmsprop", "adadelta", "rprop")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_every_runner_layout_gives_the_same_bytes(dtype, write_yaml):
    """The generic array loop, the fused loop (values in registers) and the lockstep loop (runs
    interleaved) run the same operations: identical results, divergence and stops included; in
    float32 the register loops round where the array loop stores into its float32 rows."""
    problem = write_yaml(NOISY_BEALE)
    specs = LAYOUT_SPECS
    if dtype == "float32":
        specs = [s for s in LAYOUT_SPECS if s.split("(")[0] in FLOAT32_KINDS]
    kw = dict(steps=300, seeds=3, start="random", average=True, every=7, threads=2, dtype=dtype)
    results = {
        layout: adambench.run(problem, specs, layout=layout, **kw)
        for layout in ("generic", "fused", "lockstep", "auto")
    }
    assert len({stable(r) for r in results.values()}) == 1
    statuses = {run.status for run in results["generic"].runs}
    assert {"diverged", "reached_target", "max_steps"} <= statuses  # every branch is taken
    stops = {
        layout: adambench.run(problem, specs[:3], layout=layout, stop_at_target=True, **kw)
        for layout in ("generic", "lockstep")
    }
    assert len({stable(r) for r in stops.values()}) == 1
    assert "reached_target" in {run.status for run in stops["generic"].runs}


#: A vector problem of several blocks of coordinates (its sums run over fixed blocks), noisy
#: or not, with a target that the first configuration reaches mid-run.
WIDE_PROBLEM = (
    "name: wide_bowl\ndim: 9000\n"
    "expression: sum(i, 0, dim-2, 0.5*(x[i+1] - x[i])**2 + 0.01*(x[i] - 1)**2)"
    " + 0.05*sum(i, 0, dim-1, x[i]**2)\n"
    "start: {{pattern: [0.5, 1.5, 1]}}\ngradient_noise: {noise}\ntarget: 600\n"
)


@pytest.mark.parametrize("noise", [0.01, 0.0], ids=["noisy", "one-pass"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_wide_runner_gives_advance_s_bytes_over_several_blocks(dtype, noise, write_yaml):
    """Over several blocks of coordinates, with or without noise, both clippings, a schedule,
    a divergence in the middle of the run, x recorded and a stop at the target: the parallel
    loss, gradient, checks, norm and average of advance_wide give the serial runner's numbers,
    on 1 and 2 threads. Without noise the runs that do not clip take their steps in one pass
    (``p_fused_par``: gradient, bounds and update, x_{t+1} in a second buffer)."""
    specs = [
        "adam(lr=0.05)",
        "adam(lr=0.05,clip_norm=5,schedule=cosine,t_max=40)",
        "rmsprop(lr=0.01,clip_value=0.05,clip_norm=3)",
        "sgd(lr=1.5)",  # diverges after a few steps
        "nadam(lr=0.05,schedule=cosine,t_max=40)",
    ]
    problem = write_yaml(WIDE_PROBLEM.format(noise=noise))
    kw = dict(steps=40, seeds=2, every=3, average=True, dtype=dtype, chunk_steps=7, record_x=True)
    for stop in (False, True):
        generic = stable(adambench.run(problem, specs, layout="generic", stop_at_target=stop, **kw))
        assert '"diverged"' in generic and '"reached_target"' in generic
        for threads in (1, 2):
            wide = adambench.run(
                problem, specs, layout="wide", threads=threads, stop_at_target=stop, **kw
            )
            assert stable(wide) == generic


# The library's YAML rules and built-ins with state of every shape, on a problem with
# transcendental functions (exp, sin, log: numba calls the scalar libm in the vectorised loop,
# so they keep their bits) whose runs diverge at different steps in the middle of a chunk.
LANE_SPECS = [
    "lion(lr=0.02)",
    "adabelief(lr=0.05)",
    "yogi(lr=0.05)",
    "adam(lr=0.3,amsgrad=true,schedule=cosine,t_max=50,clip_norm=2)",
    "rprop(lr=0.05)",
    "nadam(lr=2)",
    "sgd(lr=0.5,momentum=0.9,clip_value=3)",
    "sgd(lr=3)",  # diverges near step 20
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_vectorised_lockstep_runner_matches_the_run_loop_in_chunks_and_threads(
    dtype, write_yaml
):
    """advance_lockstep (groups of lanes, a branch-free step) against advance_fused and the
    array loop: divergence mid-chunk, stops at the target, schedules, clipping, noise, records of
    x at every step, a block that is not a whole number of groups, odd chunks of steps and 1 or
    2 threads all give the same bytes."""
    problem = write_yaml(
        "name: wavy\nvariables: [x, y]\nexpression: exp(0.3*x) + sin(3*y) + log(1 + x**2) + "
        "0.5*y**2\nstart: [2, 1]\ngradient_noise: 0.05\ntarget: 0.2\n"
    )
    kw = dict(steps=120, seeds=3, start="random", dtype=dtype, average=True, record_x=True)
    for stop in (False, True):
        outs = {
            (layout, threads, chunk): stable(
                adambench.run(
                    problem,
                    LANE_SPECS,
                    layout=layout,
                    threads=threads,
                    chunk_steps=chunk,
                    stop_at_target=stop,
                    **kw,
                )
            )
            for layout, threads, chunk in [
                ("fused", 1, None),
                ("generic", 2, 13),
                ("lockstep", 1, None),
                ("lockstep", 2, 7),
                ("lockstep", 1, 1),
            ]
        }
        assert len(set(outs.values())) == 1
        text = outs[("fused", 1, None)]
        assert '"diverged"' in text
        assert '"max_steps"' in text and '"reached_target"' in text


def test_the_lockstep_step_is_vectorised_across_runs():
    """The step of advance_lockstep compiles to packed (ymm) sqrt and division, without masked
    stores: LLVM vectorised its lane loop."""
    import platform
    import re

    import numba
    import numpy as np

    from adambench import codegen
    from adambench.problems import load_problem

    with open("/proc/cpuinfo") if platform.system() == "Linux" else open(__file__) as f:
        if " avx2" not in f.read():
            pytest.skip("needs an x86 machine with AVX2")
    kernel = adambench.list_optimizers()["adam"].kernel
    module, _ = codegen.load_module(load_problem("beale"), kernel)
    # Compiled afresh: a step loaded from the disk cache has no machine code to show.
    fresh = numba.njit(error_model="numpy", nogil=True)(module.lockstep_step.py_func)
    fresh(np.zeros(0), 0, 0, np.zeros(1), False, False, False, 1.0, 0.0, False, 0.0)
    asm = "\n".join(fresh.inspect_asm().values())
    for op in ("vsqrtpd", "vdivpd"):
        assert re.search(rf"^\s*{op}\s.*ymm", asm, re.MULTILINE), op
    assert not re.search(r"^\s*vmaskmovpd\s+%ymm\d+, %ymm\d+, [-\d]*\(", asm, re.MULTILINE)
