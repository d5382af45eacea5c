"""Trajectories against torch.optim in float64: max |dx| <= 1e-10 over 500-1,000 steps.

Torch computes the gradient with autograd on its own copy of the formula, so this checks the
optimizer and the generated gradient together. Skipped cleanly where torch is not installed.
"""

from __future__ import annotations

import numpy as np
import pytest

import adambench

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def beale(x, y):
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


PROBLEMS = {"beale": (beale, [1.0, 1.5]), "rosenbrock": (rosenbrock, [-1.5, 2.0])}

# (adambench spec, torch class name, torch kwargs)
CASES = [
    ("adam(lr=0.01)", "Adam", {"lr": 0.01}),
    ("adam(lr=0.01,amsgrad=true)", "Adam", {"lr": 0.01, "amsgrad": True}),
    (
        "adam(lr=0.005,weight_decay=0.01,beta1=0.8)",
        "Adam",
        {"lr": 0.005, "weight_decay": 0.01, "betas": (0.8, 0.999)},
    ),
    ("adamax(lr=0.01)", "Adamax", {"lr": 0.01}),
    ("sgd(lr=0.0005)", "SGD", {"lr": 0.0005}),
    ("momentum(lr=0.0005)", "SGD", {"lr": 0.0005, "momentum": 0.9}),
    ("nesterov(lr=0.0005)", "SGD", {"lr": 0.0005, "momentum": 0.9, "nesterov": True}),
    (
        "sgd(lr=0.0005,momentum=0.5,dampening=0.2,weight_decay=0.01)",
        "SGD",
        {"lr": 0.0005, "momentum": 0.5, "dampening": 0.2, "weight_decay": 0.01},
    ),
    ("adagrad(lr=0.05)", "Adagrad", {"lr": 0.05}),
    (
        "adagrad(lr=0.05,lr_decay=0.01,initial_accumulator_value=0.1)",
        "Adagrad",
        {"lr": 0.05, "lr_decay": 0.01, "initial_accumulator_value": 0.1},
    ),
    ("rmsprop(lr=0.001)", "RMSprop", {"lr": 0.001}),
    (
        "rmsprop(lr=0.001,momentum=0.5,centered=true)",
        "RMSprop",
        {"lr": 0.001, "momentum": 0.5, "centered": True},
    ),
]


def torch_trajectory(f, start, cls, kwargs, steps):
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = getattr(torch.optim, cls)([p], **kwargs)
    out = [p.detach().clone().numpy()]
    for _ in range(steps):
        opt.zero_grad()
        loss = f(p[0], p[1])
        loss.backward()
        opt.step()
        out.append(p.detach().clone().numpy())
    return np.array(out)


@pytest.mark.parametrize("problem", list(PROBLEMS))
@pytest.mark.parametrize(("spec", "cls", "kwargs"), CASES, ids=[c[0] for c in CASES])
def test_trajectory_matches_torch_optim(problem, spec, cls, kwargs):
    steps = 600
    f, start = PROBLEMS[problem]
    ours = adambench.run(problem, [spec], steps=steps).runs[0]
    assert ours.steps == steps, ours.status
    theirs = torch_trajectory(f, start, cls, kwargs, steps)
    assert np.max(np.abs(ours.x_trace - theirs)) <= 1e-10
