"""Properties from the paper, with hypothesis: Adam's exact step bounds and invariance to
rescaling the gradient (eps = 0), and SGD's lack of it."""

from __future__ import annotations

import math

import numpy as np
import reference
from hypothesis import given
from hypothesis import strategies as st

from adambench import kernels as K
from adambench.optimizers.registry import get, resolve

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).filter(lambda v: abs(v) > 1e-6)
betas = st.tuples(st.floats(0.0, 0.99), st.floats(0.5, 0.9999)).filter(lambda b: b[0] ** 2 < b[1])


def adam_steps(grads, lr, beta1, beta2):
    """The per-step updates Delta_t of Adam (eps = 0) for a given gradient sequence."""
    hp = np.array(
        resolve(get("adam"), {"lr": lr, "beta1": beta1, "beta2": beta2, "eps": 0.0}).hp_vector()
    )
    p = np.zeros(1)
    state = np.zeros(get("adam").state_size(1))
    K.adam_init(p, hp, state)
    out = []
    for t, g in enumerate(grads, 1):
        before = p[0]
        K.adam_step(p, np.array([g]), state, t, hp)
        out.append(p[0] - before)
    return out


@given(g=finite, lr=st.floats(1e-4, 1.0), b=betas)
def test_first_step_is_exactly_lr(g, lr, b):
    (delta,) = adam_steps([g], lr, *b)
    assert math.isclose(abs(delta), lr, rel_tol=1e-12)


@given(g=finite, lr=st.floats(1e-4, 1.0), b=betas, steps=st.integers(1, 50))
def test_constant_gradient_steps_are_exactly_lr(g, lr, b, steps):
    for delta in adam_steps([g] * steps, lr, *b):
        assert math.isclose(abs(delta), lr, rel_tol=1e-9)


@given(grads=st.lists(finite, min_size=1, max_size=60), lr=st.floats(1e-4, 1.0), b=betas)
def test_any_gradients_respect_the_cauchy_schwarz_bound(grads, lr, b):
    beta1, beta2 = b
    r = beta1**2 / beta2
    for t, delta in enumerate(adam_steps(grads, lr, beta1, beta2), 1):
        geometric = sum(r**k for k in range(t))
        bound = (
            lr
            * (1 - beta1)
            / math.sqrt(1 - beta2)
            * math.sqrt(geometric)
            * math.sqrt(1 - beta2**t)
            / (1 - beta1**t)
        )
        assert abs(delta) <= bound * (1 + 1e-9)


def run_kernel(name, start, grad, steps, **hp):
    spec = get(name)
    hpv = np.array(resolve(spec, hp).hp_vector())
    p = np.array(start, float)
    state = np.zeros(spec.state_size(p.size))
    getattr(K, spec.kernel.init)(p, hpv, state)
    out = [p.copy()]
    for t in range(1, steps + 1):
        getattr(K, spec.kernel.step)(p, np.array(grad(list(p))), state, t, hpv)
        out.append(p.copy())
    return np.array(out)


@given(c=st.floats(1e-3, 1e3))
def test_adam_rmsprop_adagrad_are_invariant_to_scaling_the_objective(c):
    def scaled(p):
        return [c * v for v in reference.beale_grad(p)]

    for name, hp in [
        ("adam", {"lr": 0.01, "eps": 0.0}),
        ("rmsprop", {"lr": 0.001, "eps": 0.0}),
        ("adagrad", {"lr": 0.05, "eps": 0.0}),
    ]:
        base = run_kernel(name, [1.0, 1.5], reference.beale_grad, 200, **hp)
        other = run_kernel(name, [1.0, 1.5], scaled, 200, **hp)
        np.testing.assert_allclose(other, base, rtol=1e-9, atol=1e-12)


def test_power_of_two_scaling_is_bit_for_bit():
    base = run_kernel("adam", [1.0, 1.5], reference.beale_grad, 300, lr=0.01, eps=0.0)
    other = run_kernel(
        "adam",
        [1.0, 1.5],
        lambda p: [8 * v for v in reference.beale_grad(p)],
        300,
        lr=0.01,
        eps=0.0,
    )
    np.testing.assert_array_equal(other, base)


def test_sgd_is_not_invariant_its_first_step_scales_by_c():
    base = run_kernel("sgd", [1.0, 1.5], reference.beale_grad, 1, lr=1e-3)
    other = run_kernel(
        "sgd", [1.0, 1.5], lambda p: [3 * v for v in reference.beale_grad(p)], 1, lr=1e-3
    )
    np.testing.assert_allclose(other[1] - other[0], 3 * (base[1] - base[0]), rtol=1e-14)


def test_engine_trajectory_is_invariant_to_scaling_a_problem_file(write_yaml):
    import adambench

    text = (
        "name: {n}\nvariables: [x, y]\n"
        "expression: {c}*((1 - x)**2 + 100*(y - x**2)**2)\nstart: [-1.5, 2]\n"
    )
    a = adambench.run(
        write_yaml(text.format(n="a", c=1), "a.yaml"), ["adam(eps=0,lr=0.01)"], steps=400
    )
    b = adambench.run(
        write_yaml(text.format(n="b", c=1000), "b.yaml"), ["adam(eps=0,lr=0.01)"], steps=400
    )
    np.testing.assert_allclose(b.runs[0].x_trace, a.runs[0].x_trace, rtol=1e-9, atol=1e-12)
