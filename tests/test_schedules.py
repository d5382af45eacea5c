"""Learning-rate schedules, warm-up and gradient clipping against torch.optim in float64.

Every schedule is compared with its torch.optim.lr_scheduler class (one ``scheduler.step()``
after every ``optimizer.step()``); a warm-up with LambdaLR of the product of the warm-up factor
and the schedule's own factor, read from torch's scheduler class run alone. Clipping is
torch.nn.utils.clip_grad_norm_ / clip_grad_value_ before each step, on a noisy gradient too
(the same noise, drawn from adambench's random stream). Skipped cleanly without torch.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import adambench
from adambench import kernels as K
from adambench.errors import OptimizerError

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch
sched = torch.optim.lr_scheduler


def beale(x, y):
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


PROBLEMS = {"beale": (beale, [1.0, 1.5]), "rosenbrock": (rosenbrock, [-1.5, 2.0])}
STEPS = 500

# (adambench spec, torch class, torch kwargs)
OPTIMIZERS = [
    ("adam(lr=0.01, {})", "Adam", {"lr": 0.01}),
    ("momentum(lr=0.0005, {})", "SGD", {"lr": 0.0005, "momentum": 0.9}),
]

# (our schedule, torch's scheduler for an optimizer and the run's steps)
SCHEDULES = [
    ("schedule=constant", lambda o, n: sched.ConstantLR(o, factor=1.0)),
    ("schedule=step, step_size=50, gamma=0.5", lambda o, n: sched.StepLR(o, 50, 0.5)),
    ("schedule=exponential, gamma=0.995", lambda o, n: sched.ExponentialLR(o, 0.995)),
    ("schedule=cosine", lambda o, n: sched.CosineAnnealingLR(o, T_max=n)),
    (
        "schedule=cosine, t_max=120, eta_min=0.0001",
        lambda o, n: sched.CosineAnnealingLR(o, T_max=120, eta_min=1e-4),
    ),
    ("schedule=inverse_sqrt", lambda o, n: sched.LambdaLR(o, lambda e: 1 / math.sqrt(e + 1))),
    ("schedule=linear", lambda o, n: sched.LinearLR(o)),
    (
        "schedule=linear, start_factor=0.1, end_factor=0.5, total_iters=300",
        lambda o, n: sched.LinearLR(o, start_factor=0.1, end_factor=0.5, total_iters=300),
    ),
]


def schedule_lrs(make, lr, steps):
    """The lr of each step that torch's scheduler gives, run alone on a dummy parameter."""
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    s = make(opt, steps)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        s.step()
    return out


def warmed(make, lr, steps, warmup, start):
    """LambdaLR with the product of the warm-up factor and the schedule's own factor."""
    own = schedule_lrs(make, lr, steps)

    def factor(e):
        return own[e] / lr * (start + (1 - start) * min(e + 1, warmup) / warmup)

    return lambda o, n: sched.LambdaLR(o, lambda e: factor(min(e, steps - 1)))


def torch_trajectory(f, start, cls, kwargs, steps, make=None, clip=None, noise=None):
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = getattr(torch.optim, cls)([p], **kwargs)
    s = make(opt, steps) if make else None
    out = [p.detach().clone().numpy()]
    for t in range(steps):
        opt.zero_grad()
        f(p[0], p[1]).backward()
        if noise is not None:
            with torch.no_grad():
                p.grad += torch.tensor(noise(t + 1), dtype=torch.float64)
        if clip is not None:
            clip(p)
        opt.step()
        if s is not None:
            s.step()
        out.append(p.detach().clone().numpy())
    return np.array(out)


def ours(problem, spec, steps=STEPS, **kw):
    run = adambench.run(problem, [spec], steps=steps, **kw).runs[0]
    assert run.steps == steps, run.status
    return run


@pytest.mark.parametrize("warmup", [0, 80])
@pytest.mark.parametrize("problem", list(PROBLEMS))
@pytest.mark.parametrize(("opt", "cls", "kwargs"), OPTIMIZERS, ids=["adam", "momentum"])
@pytest.mark.parametrize(("schedule", "make"), SCHEDULES, ids=[s for s, _ in SCHEDULES])
def test_every_schedule_and_warmup_match_torch(schedule, make, opt, cls, kwargs, problem, warmup):
    f, start = PROBLEMS[problem]
    if warmup:
        schedule += f", warmup={warmup}, warmup_start=0.1"
        make = warmed(make, kwargs["lr"], STEPS, warmup, 0.1)
    got = ours(problem, opt.format(schedule)).x_trace
    want = torch_trajectory(f, start, cls, kwargs, STEPS, make)
    assert np.max(np.abs(got - want)) <= 1e-10


CLIPS = [
    ("clip_norm=0.5", lambda p: torch.nn.utils.clip_grad_norm_([p], 0.5)),
    ("clip_norm=3", lambda p: torch.nn.utils.clip_grad_norm_([p], 3.0)),
    # (a tighter clip_value makes Adam on Rosenbrock bang-bang across the valley: chaotic, so
    # any two implementations part ways, torch's own code paths included)
    ("clip_value=1", lambda p: torch.nn.utils.clip_grad_value_([p], 1.0)),
]


@pytest.mark.parametrize("problem", list(PROBLEMS))
@pytest.mark.parametrize(("opt", "cls", "kwargs"), OPTIMIZERS, ids=["adam", "momentum"])
@pytest.mark.parametrize(("clip", "torch_clip"), CLIPS, ids=[c for c, _ in CLIPS])
def test_clipping_matches_torch(clip, torch_clip, opt, cls, kwargs, problem):
    f, start = PROBLEMS[problem]
    got = ours(problem, opt.format(clip)).x_trace
    want = torch_trajectory(f, start, cls, kwargs, STEPS, clip=torch_clip)
    assert np.max(np.abs(got - want)) <= 1e-10
    plain = torch_trajectory(f, start, cls, kwargs, STEPS)
    assert np.max(np.abs(plain - want)) > 1e-3  # the clip did act


NOISY = """\
name: noisy_bowl
variables: [x, y]
expression: (x - 1)**2 + 3*(y + 2)**2 + 0.1*x*y
start: [4, 4]
gradient_noise: 2.0
"""


@pytest.mark.parametrize(("clip", "torch_clip"), CLIPS, ids=[c for c, _ in CLIPS])
def test_clipping_clips_the_noisy_gradient(clip, torch_clip, write_yaml):
    """On a problem with gradient noise the clipped gradient is the noisy one: torch is fed
    the same noise, drawn from the run's random stream (kernels.normal(seed, t, i))."""
    path = write_yaml(NOISY)
    seed = 7
    run = ours(path, f"adam(lr=0.05, schedule=cosine, warmup=20, {clip})", seed=seed)

    def bowl(x, y):
        return (x - 1) ** 2 + 3 * (y + 2) ** 2 + 0.1 * x * y

    def noise(t):
        return [2.0 * K.normal(seed, t, i) for i in range(2)]

    make = warmed(lambda o, n: sched.CosineAnnealingLR(o, T_max=n), 0.05, STEPS, 20, 0.0)
    want = torch_trajectory(bowl, [4.0, 4.0], "Adam", {"lr": 0.05}, STEPS, make, torch_clip, noise)
    assert np.max(np.abs(run.x_trace - want)) <= 1e-10
    unclipped = ours(path, "adam(lr=0.05, schedule=cosine, warmup=20)", seed=seed)
    assert np.max(np.abs(unclipped.x_trace - run.x_trace)) > 1e-3  # the clip did act


def _torch_schedule(name, p, steps):
    """torch's scheduler for our schedule ``name`` with parameters ``p``."""
    return {
        "constant": lambda o, n: sched.ConstantLR(o, factor=1.0),
        "step": lambda o, n: sched.StepLR(o, p["step_size"], p["gamma"]),
        "exponential": lambda o, n: sched.ExponentialLR(o, p["gamma"]),
        "cosine": lambda o, n: sched.CosineAnnealingLR(o, p["t_max"], p["eta_min"]),
        "inverse_sqrt": lambda o, n: sched.LambdaLR(o, lambda e: 1 / math.sqrt(e + 1)),
        "linear": lambda o, n: sched.LinearLR(
            o, p["start_factor"], p["end_factor"], p["total_iters"]
        ),
    }[name]


SCHEDULE_PARAMS = {
    "constant": {},
    "step": {"step_size": st.integers(1, 120), "gamma": st.floats(0.05, 1.5)},
    "exponential": {"gamma": st.floats(0.98, 1.002)},
    "cosine": {"t_max": st.integers(1, 400), "eta_min": st.floats(0.0, 0.005)},
    "inverse_sqrt": {},
    "linear": {
        "start_factor": st.floats(0.01, 1.0),
        "end_factor": st.floats(0.0, 1.0),
        "total_iters": st.integers(1, 300),
    },
}


@st.composite
def schedules(draw):
    name = draw(st.sampled_from(list(SCHEDULE_PARAMS)))
    params = {k: draw(v) for k, v in SCHEDULE_PARAMS[name].items()}
    warmup = draw(st.sampled_from([0, 0, 1, 17, 150]))
    start = draw(st.floats(0.0, 1.0)) if warmup else 0.0
    return name, params, warmup, start


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedules(), st.sampled_from([0, 1]))
def test_random_schedules_match_torch(schedule, opt_index):
    """Any schedule with parameters in range, with or without warm-up, over 200 steps."""
    name, params, warmup, start = schedule
    opt, cls, kwargs = OPTIMIZERS[opt_index]
    steps = 200
    text = ", ".join([f"schedule={name}", *(f"{k}={v!r}" for k, v in params.items())])
    make = _torch_schedule(name, params, steps)
    if warmup:
        text += f", warmup={warmup}" + (f", warmup_start={start!r}" if start else "")
        make = warmed(make, kwargs["lr"], steps, warmup, start)
    f, x0 = PROBLEMS["beale"]
    got = ours("beale", opt.format(text), steps=steps).x_trace
    want = torch_trajectory(f, x0, cls, kwargs, steps, make)
    assert np.max(np.abs(got - want)) <= 1e-10


def test_torch_optimizers_refuse_the_controls():
    """torch's optimizers step in Python from their own param_groups: a schedule or a clip
    would need a second implementation there, so they are refused in one line."""
    for control in ("schedule=cosine", "clip_norm=1", "warmup=10"):
        with pytest.raises(OptimizerError, match=r"torch:SGD takes no .*: schedules and clipping"):
            adambench.run("beale", [f"torch:SGD(lr=0.01, {control})"], steps=5)
