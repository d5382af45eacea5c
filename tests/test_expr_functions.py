"""The scalar functions of problem expressions (min, max, sign, floor, round, where, atan, atan2,
log10, hyperbolic) and derived gradients without removable singularities: values and gradients
of the compiled kernels against torch autograd (float64), at random points and on the sets where
sympy's forms would divide 0 by 0. One problem per group keeps the compile cost to a module."""

from __future__ import annotations

import math

import numpy as np
import pytest

import adambench
from adambench import expr
from adambench.codegen.modules import load_module
from adambench.errors import ExpressionError
from adambench.optimizers.registry import get
from adambench.problems import load_problem

#: Every new function at least once (the comparisons of where too).
ALL_FUNCTIONS = (
    "max(x, y)**2 + min(x*y, 0.3) + sign(x)*x + floor(3*x)*y + round(2*y)*x"
    " + where(x < y, sinh(x), cosh(y)) + where(x >= 0.1, x**2, y) + where(y <= x, y, -y)"
    " + where(y > 0, atan(x), 0) + atan2(y, x + 3) + log10(x**2 + 2) + tanh(y) + asinh(x)"
    " + acosh(y**2 + 2) + atanh(0.5*tanh(x))"
)
#: Brown's function (a, b), Schwefel's power (c, d), a sum of different powers (u, w): each
#: differentiates, in sympy's form, to 0/0 or 0*log(0) at the start (0, 0, 1e-200, 0, 0, 0.5).
SINGULAR = (
    "(a**2)**(b**2 + 1) + (b**2)**(a**2 + 1) + (c**2 + d**2)**sqrt(pi)"
    " + abs(u)**2.5 + abs(w)**3 + abs(u)**(w**2 + 2)"
)
SINGULAR_START = [0.0, 0.0, 1e-200, 0.0, 0.0, 0.5]


def torch_value_and_gradient(text, names, point):
    """f and its gradient by torch autograd; ties of max/min take the first argument."""
    torch = pytest.importorskip("torch")
    xs = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in point]
    env = {
        "max": lambda a, b: torch.where(a >= b, a, b),
        "min": lambda a, b: torch.where(a <= b, a, b),
        "where": lambda c, a, b: torch.where(c, torch.as_tensor(a, dtype=torch.float64), b),
        "pi": math.pi,
        **{f: getattr(torch, f) for f in ("sign", "floor", "round", "atan", "atan2", "log10")},
        **{f: getattr(torch, f) for f in ("sinh", "cosh", "tanh", "asinh", "acosh", "atanh")},
        "abs": torch.abs,
        "sqrt": math.sqrt,
        **dict(zip(names, xs)),
    }
    f = eval(text, {"__builtins__": {}}, env)  # test-only: our own fixed formulas
    f.backward()
    return f.item(), np.array([x.grad.item() for x in xs])


def compiled(write_yaml, name, variables, text, start, dtype="float64"):
    path = write_yaml(
        f"name: {name}\nvariables: [{', '.join(variables)}]\nexpression: {text}\nstart: {start}\n",
        f"{name}.yaml",
    )
    module, _ = load_module(load_problem(path), get("adam").kernel, dtype)
    return path, module


def kernel_value_and_gradient(module, point):
    x = np.array(point, dtype=float)
    g = np.empty_like(x)
    f = module.p_fg(x, g, np.zeros(4), np.zeros((1, 1)))
    return f, g


@pytest.mark.torch
def test_every_new_function_against_torch_autograd(write_yaml):
    _, module = compiled(write_yaml, "allfun", ["x", "y"], ALL_FUNCTIONS, [0.3, -0.7])
    rng = np.random.default_rng(17)
    # random points, ties of max (x == y) and of where's comparisons, a jump of floor/round
    points = [*rng.uniform(-2, 2, size=(20, 2)), (0.5, 0.5), (0.1, 0.1), (-0.4, 0.25), (0, 0)]
    for point in points:
        f, g = kernel_value_and_gradient(module, point)
        f_ref, g_ref = torch_value_and_gradient(ALL_FUNCTIONS, ["x", "y"], point)
        assert f == pytest.approx(f_ref, rel=1e-12, abs=1e-12), point
        np.testing.assert_allclose(g, g_ref, rtol=1e-10, atol=1e-12, err_msg=str(point))


def test_every_new_function_compiles_in_float32(write_yaml):
    """The float32 module compiles and its loss and gradient are the float64 ones to float32's
    precision."""
    _, m64 = compiled(write_yaml, "allfun", ["x", "y"], ALL_FUNCTIONS, [0.3, -0.7])
    _, m32 = compiled(write_yaml, "allfun", ["x", "y"], ALL_FUNCTIONS, [0.3, -0.7], "float32")
    f32, *g32 = m32.p_fgs(np.float32(0.25), np.float32(-0.75), np.zeros(4))
    f64, g64 = kernel_value_and_gradient(m64, [0.25, -0.75])
    assert f32 == pytest.approx(f64, rel=1e-6)
    np.testing.assert_allclose(g32, g64, rtol=1e-5)


@pytest.mark.torch
def test_gradients_are_finite_on_the_removable_singularities(write_yaml):
    names = ["a", "b", "c", "d", "u", "w"]
    path, module = compiled(write_yaml, "singular", names, SINGULAR, SINGULAR_START)
    rng = np.random.default_rng(18)
    zeros = [[0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.7, 0.0, -0.3, 0.0, 0.0]]
    for point in [SINGULAR_START, *zeros, *rng.uniform(-1.5, 1.5, size=(10, 6))]:
        f, g = kernel_value_and_gradient(module, point)
        f_ref, g_ref = torch_value_and_gradient(SINGULAR, names, point)
        assert f == pytest.approx(f_ref, rel=1e-12, abs=1e-300), point
        np.testing.assert_allclose(g, g_ref, rtol=1e-10, atol=1e-300, err_msg=str(point))
    run = adambench.run(path, ["adam"], steps=3).runs[0]
    assert run.status != "invalid_start"


def test_vector_terms_use_the_functions_and_finite_gradients(write_yaml):
    """The stencil path differentiates through the same rules: a sum of different powers
    started at zeros, with max and where in the term."""
    path = write_yaml(
        "name: sdp\ndim: 4\nexpression: sum(i, 0, dim-1, abs(x[i])**(i + 2))"
        " + sum(i, 0, dim-2, max(x[i], x[i+1]) + where(x[i] < 0, x[i], 0))\n"
        "start: {fill: 0}\n",
        "sdp.yaml",
    )
    module, _ = load_module(load_problem(path), get("adam").kernel, "float64")
    for point in ([0.0, 0.5, 0.0, -0.25], [0.3, -0.2, 0.1, 0.4]):
        x = np.array(point)
        f, g = kernel_value_and_gradient(module, x)
        i = np.arange(4)
        pairs = np.where(x[:-1] >= x[1:], x[:-1], x[1:]) + np.minimum(x[:-1], 0)
        assert f == pytest.approx(np.sum(np.abs(x) ** (i + 2)) + np.sum(pairs))
        g_ref = (i + 2) * np.abs(x) ** (i + 1) * np.sign(x)
        first = x[:-1] >= x[1:]
        g_ref[:-1] += first + (x[:-1] < 0)
        g_ref[1:] += ~first
        np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x < y", "a comparison"),
        ("max(x < y, 1)", "a comparison"),
        ("where(x, 1, 2) + (x > 0)", "a comparison"),
        ("where(0 < x < 1, x, y)", "a chained comparison"),
        ("where(x < y, 1)", r"where\(\) takes 3"),
        ("atan2(x)", r"atan2\(\) takes 2"),
        ("max(x, y, 1)", r"max\(\) takes 2"),
        ("acosh(0.5) + x", "undefined"),
        ("atanh(1) + x", "undefined"),
        ("log10(0) + x", "undefined"),
        ("cosh(1000) * x", "overflows"),
        ("floor(1e300)**2 * x", "overflows"),
    ],
)
def test_new_constructs_refused_in_one_line(text, message):
    grammar = expr.Grammar(names={"x": "v0", "y": "v1"})
    with pytest.raises(ExpressionError, match=message) as info:
        expr.parse(text, grammar)
    assert "\n" not in str(info.value)
