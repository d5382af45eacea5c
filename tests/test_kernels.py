"""Kernels against the formulas: hand-computed first steps and the plain-Python reference."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest
import reference
from conftest import BUILTIN_OPTIMIZERS

from adambench import kernels as K
from adambench.engine.starts import _uniform_py
from adambench.optimizers.registry import get, resolve


def kernel_trajectory(name, start, grad, steps, **overrides):
    """Run a built-in optimizer's numba kernels in a Python loop over a Python gradient."""
    spec = get(name)
    cfg = resolve(spec, overrides)
    hp = np.array(cfg.hp_vector())
    p = np.array(start, float)
    state = np.zeros(spec.state_size(p.size))
    home = importlib.import_module(spec.kernel.module)  # kernels.py, or sparse_kernels.py
    getattr(home, spec.kernel.init)(p, hp, state)
    step = getattr(home, spec.kernel.step)
    out = [p.copy()]
    for t in range(1, steps + 1):
        g = np.array(grad(list(p)), float)
        step(p, g, state, t, hp)
        out.append(p.copy())
    return np.array(out)


CASES = [
    ("adam", {}),
    ("adam", {"lr": 0.01, "amsgrad": True}),
    ("adam", {"lr": 0.002, "bias_correction": False}),
    ("adam", {"lr": 0.01, "weight_decay": 0.1}),
    ("lazy_adam", {"lr": 0.01}),
    ("adamax", {"lr": 0.01}),
    ("sgd", {"lr": 1e-3}),
    ("sgd", {"lr": 1e-3, "momentum": 0.5, "dampening": 0.3}),
    ("momentum", {"lr": 1e-3}),
    ("nesterov", {"lr": 1e-3}),
    ("adagrad", {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1}),
    ("rmsprop", {"lr": 1e-3}),
    ("rmsprop", {"lr": 1e-3, "momentum": 0.9, "centered": True}),
    ("rmsprop", {"lr": 1e-3, "weight_decay": 0.01}),
    ("adamw", {}),
    ("adamw", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    ("nadam", {}),
    ("nadam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("nadam", {"lr": 0.01, "weight_decay": 0.01, "momentum_decay": 0.02}),
    ("radam", {"lr": 0.01}),
    ("radam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("radam", {"lr": 0.01, "weight_decay": 0.01, "beta2": 0.99}),
    ("adadelta", {}),
    ("adadelta", {"lr": 0.5, "rho": 0.95, "weight_decay": 0.01}),
    ("rprop", {}),
    ("rprop", {"lr": 0.1, "eta_minus": 0.3, "eta_plus": 1.5, "step_size_max": 0.5}),
]


@pytest.mark.parametrize(("name", "overrides"), CASES, ids=[f"{n}-{o}" for n, o in CASES])
def test_kernel_matches_plain_python_reference(name, overrides):
    steps = 300
    got = kernel_trajectory(name, [1.0, 1.5], reference.beale_grad, steps, **overrides)
    want = np.array(
        reference.REFERENCES[name]([1.0, 1.5], reference.beale_grad, steps, **overrides)
    )
    # Same formulas, different arrangement of the arithmetic (e.g. Adam's bias corrections):
    # agreement to rounding, amplified a little over 300 steps.
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-11)


def test_every_builtin_has_a_reference_case():
    assert {n for n, _ in CASES} == set(BUILTIN_OPTIMIZERS)


def test_adam_first_step_is_lr_times_sign_of_gradient():
    # m1 = (1-b1) g, v1 = (1-b2) g^2 -> mhat = g, vhat = g^2 -> step = lr * g / (|g| + eps)
    g = reference.beale_grad([1.0, 1.5])
    traj = kernel_trajectory("adam", [1.0, 1.5], reference.beale_grad, 1, lr=0.1, eps=0.0)
    np.testing.assert_allclose(
        traj[1] - traj[0], [-0.1 * math.copysign(1, v) for v in g], rtol=1e-15
    )


def test_adam_first_step_by_hand_with_eps():
    g = 3.0
    lr, eps = 0.01, 1e-2
    traj = kernel_trajectory("adam", [0.0], lambda p: [g], 1, lr=lr, eps=eps)
    assert traj[1][0] == pytest.approx(-lr * g / (abs(g) + eps), rel=1e-14)


def test_sgd_and_momentum_first_two_steps_by_hand():
    # f = x^2 / 2 at x0 = 1: g = x. SGD: x1 = 1 - lr. Momentum: buf1 = g0 = 1, x1 = 1 - lr;
    # buf2 = 0.9 * 1 + x1, x2 = x1 - lr * buf2.
    lr = 0.1
    sgd = kernel_trajectory("sgd", [1.0], lambda p: [p[0]], 2, lr=lr)
    assert sgd[1][0] == pytest.approx(0.9)
    assert sgd[2][0] == pytest.approx(0.81)
    mom = kernel_trajectory("momentum", [1.0], lambda p: [p[0]], 2, lr=lr)
    assert mom[1][0] == pytest.approx(0.9)
    assert mom[2][0] == pytest.approx(0.9 - 0.1 * (0.9 + 0.9))
    nes = kernel_trajectory("nesterov", [1.0], lambda p: [p[0]], 1, lr=lr)
    assert nes[1][0] == pytest.approx(1 - 0.1 * (1 + 0.9 * 1))


def test_rmsprop_first_step_is_lr_over_sqrt_one_minus_alpha():
    # v1 = (1-alpha) g^2 -> step = lr g / (sqrt(1-alpha) |g| + eps) ~ lr / sqrt(1 - alpha) = 10 lr
    traj = kernel_trajectory("rmsprop", [0.0], lambda p: [2.0], 1, lr=0.01, eps=0.0)
    assert traj[1][0] == pytest.approx(-0.01 / math.sqrt(0.01), rel=1e-14)


def test_adagrad_first_step_is_lr_times_sign():
    traj = kernel_trajectory("adagrad", [0.0], lambda p: [-5.0], 1, lr=0.3, eps=0.0)
    assert traj[1][0] == pytest.approx(0.3, rel=1e-15)


def test_adamax_first_step_by_hand():
    # m1 = 0.1 g, u1 = |g| + eps, step = (lr / 0.1) m1 / u1 = lr g / (|g| + eps)
    traj = kernel_trajectory("adamax", [0.0], lambda p: [4.0], 1, lr=0.002, eps=0.0)
    assert traj[1][0] == pytest.approx(-0.002, rel=1e-14)


def test_adamw_first_step_decays_then_moves_lr():
    # p1 = p0 (1 - lr wd) - lr g / |g| (Adam's first step, eps = 0): 2 * 0.95 - 0.1 = 1.8
    traj = kernel_trajectory("adamw", [2.0], lambda p: [3.0], 1, lr=0.1, weight_decay=0.5, eps=0)
    assert traj[1][0] == pytest.approx(1.8, rel=1e-15)


def test_nadam_first_step_by_hand():
    # m1 = (1 - b1) g, d = sqrt(v1 / (1 - b2)) = |g|, so
    # p1 = p0 - lr sign(g) (1 + mu2 (1 - b1) / (1 - mu1 mu2)), mu_t = b1 (1 - 0.96^(t psi) / 2)
    b1, psi, lr = 0.9, 4e-3, 0.01
    mu1, mu2 = (b1 * (1 - 0.5 * 0.96 ** (t * psi)) for t in (1, 2))
    traj = kernel_trajectory("nadam", [0.0], lambda p: [-5.0], 1, lr=lr, eps=0.0)
    assert traj[1][0] == pytest.approx(lr * (1 + mu2 * (1 - b1) / (1 - mu1 * mu2)), rel=1e-14)


def test_radam_moves_as_momentum_until_rho_t_passes_5_then_rectifies():
    # rho_1 = rho_inf - 2 b2 / (1 - b2) = 1. With a constant gradient mhat_t = g: each step is
    # lr g while rho_t <= 5; the first rectified step is lr r_t sign(g) (v_t = (1 - b2^t) g^2).
    lr, b2, g = 0.01, 0.999, 2.0
    rho_inf = 2 / (1 - b2) - 1
    rho = [rho_inf - 2 * t * b2**t / (1 - b2**t) for t in range(1, 12)]
    assert rho[0] == pytest.approx(1.0)
    k = next(t for t, r in enumerate(rho, 1) if r > 5)  # first rectified step
    rk = rho[k - 1]
    r = math.sqrt((rk - 4) * (rk - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rk))
    traj = kernel_trajectory("radam", [0.0], lambda p: [g], k, lr=lr, eps=0.0)
    steps = np.diff(traj[:, 0])
    np.testing.assert_allclose(steps[: k - 1], -lr * g, rtol=1e-12)
    assert steps[k - 1] == pytest.approx(-lr * r, rel=1e-12)
    assert k == 6 and 0 < r < 0.1  # the rectification starts small


def test_adadelta_first_step_by_hand():
    # sq1 = (1 - rho) g^2, delta = sqrt(0 + eps) / sqrt(sq1 + eps) g, p1 = p0 - lr delta
    rho, eps, g = 0.9, 1e-6, 1.0
    traj = kernel_trajectory("adadelta", [0.0], lambda p: [g], 1)
    assert traj[1][0] == pytest.approx(-math.sqrt(eps) / math.sqrt((1 - rho) * g * g + eps))


def test_rprop_steps_by_hand():
    # Gradient signs + + - - +: sizes lr, 1.2 lr (same sign), 0.6 lr (sign change: no move, the
    # gradient is forgotten), 0.6 lr (no change after a forgotten one), 0.3 lr (change, no move)
    lr = 0.1
    signs = iter([1.0, 1.0, -1.0, -1.0, 1.0])
    traj = kernel_trajectory("rprop", [0.0], lambda p: [next(signs)], 5, lr=lr)
    np.testing.assert_allclose(
        np.diff(traj[:, 0]), [-lr, -1.2 * lr, 0.0, 0.6 * lr, 0.0], rtol=1e-15, atol=0
    )


def test_rprop_reads_lr_only_at_its_first_step():
    spec = get("rprop")
    hp = np.array(resolve(spec, {"lr": 0.1}).hp_vector())
    p, g = np.zeros(2), np.array([1.0, -2.0])
    state = np.zeros(spec.state_size(2))
    K.rprop_init(p, hp, state)
    hp[0] = 1e3  # a later lr is never read
    for t in range(1, 4):
        K.rprop_step(p, g, state, t, hp)
    np.testing.assert_allclose(p, [-0.1 * (1 + 1.2 + 1.44), 0.1 * (1 + 1.2 + 1.44)], rtol=1e-15)


def test_uniform_python_twin_matches_kernel():
    for seed, stream, a, b in [(0, 1, 0, 0), (7, 3, 5, 11), (2**40, 2, 10**9, 3), (12345, 1, 1, 1)]:
        assert _uniform_py(seed, stream, a, b) == K.uniform(seed, stream, a, b)


def test_uniform_and_normal_look_right():
    u = np.array([K.uniform(3, 1, t, 0) for t in range(20000)])
    assert u.min() >= 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.01
    z = np.array([K.normal(3, t, 0) for t in range(20000)])
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1) < 0.03
    # Different seeds, steps and components give different numbers.
    assert K.normal(1, 1, 0) != K.normal(2, 1, 0) != K.normal(1, 2, 0) != K.normal(1, 1, 1)


def test_permutation_is_a_permutation_and_depends_on_seed_and_epoch():
    perms = {}
    for seed, epoch in [(0, 0), (0, 1), (1, 0)]:
        p = np.empty(50, np.int64)
        K.permutation(seed, epoch, p)
        assert sorted(p.tolist()) == list(range(50))
        perms[(seed, epoch)] = p.tolist()
    assert len({tuple(v) for v in perms.values()}) == 3


def test_logreg_gradient_matches_finite_differences():
    from conftest import central_difference

    from adambench.datasets import design, logreg_loss, two_moons

    data = design(*two_moons(40, 0.2, 1), bias=True)
    w = np.array([0.3, -1.2, 0.4])
    g = np.empty(3)
    K.logreg_grad(w, g, data, np.arange(40), 1e-2, 2)
    num = central_difference(lambda v: logreg_loss(v, data, 1e-2, 2), w)
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-9)
    assert K.logreg_loss(w, data, 1e-2, 2) == pytest.approx(
        logreg_loss(w, data, 1e-2, 2), rel=1e-13
    )
