"""The vector grammar beyond linear sums of stencils (issue 17): ``dim`` as a number, ``prod``,
functions of sums, strided, wrapped and absolute indices.

Each construct's generated kernels are checked against an independent numpy formula (the loss)
and torch autograd of the same formula (the gradient, float64, 1e-10 relative) at random points.
The generated source runs as plain Python here (no compile); one test compiles a module that
holds every construct and checks the serial, parallel and loss kernels agree bit for bit.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adambench import expr, kernels
from adambench.codegen.problem_source import problem_source
from adambench.errors import ConfigError, ExpressionError
from adambench.kernels import SUM_BLOCK
from adambench.problems import load_problem

TAU = 2 * math.pi


def _i(v: Any, m: Any, start: int = 0) -> Any:
    """start, start + 1, ... as floats, as many as v has coordinates (numpy or torch)."""
    n = v.shape[0]
    if m is np:
        return np.arange(start, start + n, dtype=float)
    return m.arange(start, start + n, dtype=m.float64)


def _powell(v: Any, m: Any) -> Any:
    a, b, c, d = v[0::4], v[1::4], v[2::4], v[3::4]
    return m.sum((a + 10 * b) ** 2 + 5 * (c - d) ** 2 + (b - 2 * c) ** 4 + 10 * (a - d) ** 4)


#: (expression, dims, the same function written with numpy / torch as ``m``)
CASES: dict[str, tuple[str, list[int], Any]] = {
    "dim as a number": (
        "10*dim + sum(i, 0, dim-1, x[i]**2 - 10*cos(2*pi*x[i]))/dim + 1/dim",
        [1, 5],
        lambda v, m: (
            10 * v.shape[0] + m.sum(v**2 - 10 * m.cos(TAU * v)) / v.shape[0] + 1 / v.shape[0]
        ),
    ),
    "prod": (
        "1 + sum(i, 0, dim-1, x[i]**2)/4000 - prod(i, 0, dim-1, cos(x[i]/sqrt(i + 1)))",
        [1, 2, 7],
        lambda v, m: 1 + m.sum(v**2) / 4000 - m.prod(m.cos(v / m.sqrt(_i(v, m, 1)))),
    ),
    "powers of sums": (
        "sum(i, 0, dim-1, x[i]**2) + sum(i, 0, dim-1, 0.5*(i + 1)*x[i])**2"
        " + sum(i, 0, dim-1, 0.5*(i + 1)*x[i])**4",
        [2, 6],
        lambda v, m: (
            m.sum(v**2) + m.sum(0.5 * _i(v, m, 1) * v) ** 2 + m.sum(0.5 * _i(v, m, 1) * v) ** 4
        ),
    ),
    "exp and sqrt of sums": (
        "-20*exp(-0.2*sqrt(sum(i, 0, dim-1, x[i]**2)/dim))"
        " - exp(sum(i, 0, dim-1, cos(2*pi*x[i]))/dim) + e + 20",
        [1, 3, 8],
        lambda v, m: (
            -20 * m.exp(-0.2 * m.sqrt(m.sum(v**2) / v.shape[0]))
            - m.exp(m.sum(m.cos(TAU * v)) / v.shape[0])
            + math.e
            + 20
        ),
    ),
    "cos of a sum": (
        "1 - cos(2*pi*sqrt(sum(i, 0, dim-1, x[i]**2))) + 0.1*sqrt(sum(i, 0, dim-1, x[i]**2))",
        [2, 5],
        lambda v, m: 1 - m.cos(TAU * m.sqrt(m.sum(v**2))) + 0.1 * m.sqrt(m.sum(v**2)),
    ),
    "products and sums of sums": (
        "sum(i, 0, dim-1, x[i])*sum(i, 0, dim-2, x[i]*x[i + 1]) + log(1 + sum(i, 1, dim-1,"
        " x[i - 1]**2)*prod(i, 0, dim-1, 1 + x[i]**2))",
        [2, 6],
        lambda v, m: (
            m.sum(v) * m.sum(v[:-1] * v[1:]) + m.log(1 + m.sum(v[:-1] ** 2) * m.prod(1 + v**2))
        ),
    ),
    "absolute and wrapped indices": (
        "(x[0] - 1)**2 + x[dim-1]**4 + sum(i, 0, dim-1, (x[(i + 1) % dim] - x[i])**2)"
        " + sum(i, 0, dim-1, x[(i - 2) % dim]*x[i])",
        [1, 2, 5],
        lambda v, m: (
            (v[0] - 1) ** 2 + v[-1] ** 4 + m.sum((m.roll(v, -1) - v) ** 2) + m.sum(m.roll(v, 2) * v)
        ),
    ),
    "strided indices": (
        "sum(i, 0, dim/4-1, (x[4*i] + 10*x[4*i + 1])**2 + 5*(x[4*i + 2] - x[4*i + 3])**2"
        " + (x[4*i + 1] - 2*x[4*i + 2])**4 + 10*(x[4*i] - x[4*i + 3])**4)",
        [4, 12],
        _powell,
    ),
    "max and min over coordinates": (
        "max(i, 0, dim-1, abs(x[i])) + min(i, 0, dim-2, x[i]*x[i + 1])"
        " + 0.5*max(i, 0, dim-1, x[i] - 0.1*i)**2",
        [2, 5],
        lambda v, m: m.max(m.abs(v)) + m.min(v[:-1] * v[1:]) + 0.5 * m.max(v - 0.1 * _i(v, m)) ** 2,
    ),
    "a product with zero factors": (
        "prod(i, 0, dim-1, x[i]) + prod(i, 0, dim-2, x[i] + x[i + 1])",
        [2, 4, 6],
        lambda v, m: m.prod(v) + m.prod(v[:-1] + v[1:]),
    ),
}


def _problem(write_yaml: Any, text: str, n: int) -> Any:
    path = write_yaml(f"name: t\ndim: {n}\nexpression: '{text}'\nstart: {{fill: 0.5}}\n")
    return load_problem(path)


def _in_python(problem: Any) -> dict[str, Any]:
    """The problem's generated kernels run as plain Python (numba's decorators as identity)."""
    space = {name: getattr(kernels, name) for name in kernels.__all__}
    space.update(jit=lambda f: f, jit_parallel=lambda f: f, prange=range, np=np, math=math)
    space["K"] = kernels
    exec(compile(problem_source(problem), f"<{problem.name}>", "exec"), space)
    return space


def _torch_gradient(form: Any, point: np.ndarray) -> np.ndarray:
    torch = pytest.importorskip("torch")
    t = torch.tensor(point, dtype=torch.float64, requires_grad=True)
    form(t, torch).backward()
    return t.grad.numpy()


def _points(n: int, zeros: bool) -> list[np.ndarray]:
    rng = np.random.default_rng(n)
    points = [rng.uniform(-1.5, 1.5, n) for _ in range(4)]
    if zeros:  # one zero factor, then two: the gradient is the other factors' product, or 0
        for count in (1, 2):
            p = rng.uniform(-1.5, 1.5, n)
            p[rng.choice(n, size=min(count, n), replace=False)] = 0.0
            points.append(p)
    return points


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_construct_matches_numpy_and_torch_autograd(write_yaml, case):
    text, dims, form = CASES[case]
    for n in dims:
        fns = _in_python(_problem(write_yaml, text, n))
        for x in _points(n, zeros="zero" in case):
            g, g_par = np.empty(n), np.empty(n)
            f = fns["p_fg"](x.copy(), g, np.zeros(4), None)
            assert fns["p_fg_par"](x.copy(), g_par, np.zeros(4), None) == f
            assert fns["p_loss"](x.copy(), np.zeros(4), None) == f
            np.testing.assert_array_equal(g_par, g)
            assert f == pytest.approx(form(x, np), rel=1e-12, abs=1e-12), (case, n)
            want = _torch_gradient(form, x)
            scale = max(1.0, float(np.max(np.abs(want))))
            np.testing.assert_allclose(g, want, rtol=1e-10, atol=1e-10 * scale, err_msg=case)


#: Every construct in one problem, for the compiled kernels.
EVERYTHING = (
    "10*dim + sum(i, 0, dim-1, x[i]**2)**2/dim**2 - prod(i, 0, dim-1, cos(x[i]/sqrt(i + 1)))"
    " + exp(-sum(i, 0, dim-1, (x[(i + 1) % dim] - x[i])**2)/dim) + (x[0] - 1)**2 + x[dim-1]**4"
    " + sum(i, 0, dim/4-1, (x[4*i] + 10*x[4*i + 1])**2 + (x[4*i + 2] - x[4*i + 3])**4)"
    " + max(i, 0, dim-1, abs(x[i]))"
)


def test_compiled_kernels_agree_bit_for_bit_and_with_the_python_run(write_yaml):
    from adambench.codegen.modules import load_module
    from adambench.optimizers.registry import get

    for n in (8, SUM_BLOCK + 4):
        problem = _problem(write_yaml, EVERYTHING, n)
        module, _ = load_module(problem, get("adam").kernel, "float64")
        fns = _in_python(problem)
        x = np.random.default_rng(n).uniform(-1, 1, n)
        g, g_par, g_py = np.empty(n), np.empty(n), np.empty(n)
        f = module.p_fg(x, g, np.zeros(4), np.zeros((1, 1)))
        assert module.p_fg_par(x, g_par, np.zeros(4), np.zeros((1, 1))) == f
        assert module.p_loss(x, np.zeros(4), np.zeros((1, 1))) == f
        np.testing.assert_array_equal(g_par, g)
        assert fns["p_fg"](x.copy(), g_py, np.zeros(4), None) == pytest.approx(f, rel=1e-14)
        np.testing.assert_allclose(g, g_py, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize(
    ("text", "n", "message"),
    [
        ("sum(i, 0, dim/4-1, x[4*i]**2)", 6, r"dim/4-1, \.\.\.\) needs dim to be a multiple of 4"),
        ("sum(i, 0, dim-1, x[2*i]**2)", 4, r"x\[2\*i\] leaves 0..dim-1 for i in 0..3"),
        ("x[dim] + sum(i, 0, dim-1, x[i]**2)", 3, r"x\[dim\] is outside 0..dim-1 with dim = 3"),
        ("prod(i, 2, dim-1, x[i])", 1, r"prod\(i, 2, 0, \.\.\.\) is empty for dim = 1"),
        ("x[0]**2", 3, "has no sum"),
        ("max(i, 0, dim-1, x[i], 1)", 3, r"max\(\) takes 2 argument\(s\) \(or index, first, last"),
        ("sum(i, 0, dim-1, max(j, 0, dim-1, x[j]))", 3, "a nested max"),
        ("sum(i, 0, dim-1, where(x[i], 1, x[i]))", 3, "condition must be a comparison"),
    ],
)
def test_vector_problems_out_of_the_grammar_are_one_line(write_yaml, text, n, message):
    path = write_yaml(f"name: t\ndim: {n}\nexpression: '{text}'\nstart: {{fill: 0}}\n")
    with pytest.raises((ConfigError, ExpressionError), match=message) as info:
        load_problem(path)
    assert "\n" not in str(info.value)


def _watson() -> str:
    """Watson's function as SciPy's benchmark suite writes it: a table of 30 rows of constants."""
    rows = []
    for i in range(30):
        a = f"({i}/29)"
        t1 = " + ".join(f"{j + 1}*{a}**{j}*x{j + 1}" for j in range(5))
        t2 = " + ".join(f"{a}**{k}*x{k}" for k in range(6))
        rows.append(f"(({t1}) - ({t2})**2 - 1)**2")
    return " + ".join(rows) + " + x0**2"


def test_a_formula_with_a_constant_table_fits_and_hostile_ones_do_not():
    names = {f"x{k}": f"v{k}" for k in range(6)}
    tree = expr.parse(_watson(), expr.Grammar(names=names))  # over 3,000 nodes
    assert expr.symbols_in(tree) == set(names.values())
    for hostile, message in [
        ("x0+" * 30_000 + "x0", "longer than"),
        ("-" * 500 + "x0", "nested more than"),
        ("(x0**9)**9**9**9", "overflows|not finite"),
        ("+".join(["(x0+x0)*(x0+x0)"] * 1_400), "nodes|nested"),
    ]:
        with pytest.raises(ExpressionError, match=message):
            expr.parse(hostile, expr.Grammar(names=names))


_VEC = expr.Grammar(names={}, vector="x")
_VEC_ATOMS = st.sampled_from(
    ["x[i]", "x[i + 1]", "x[2*i + 1]", "x[(i - 1) % dim]", "x[i*i]", "x[0]", "x[dim-1]", "dim",
     "i", "1", "2.5", "pi", "1e300"]
)  # fmt: skip
_VEC_BOUNDS = st.sampled_from(["0", "1", "dim-1", "dim/2-1", "dim/4", "dim*dim", "n", "-1"])


@st.composite
def _vector_formula(draw: st.DrawFn, depth: int = 0) -> str:
    if depth > 3 or draw(st.booleans()):
        return draw(_VEC_ATOMS)
    kind = draw(st.sampled_from(["bin", "fn", "reduce"]))
    if kind == "bin":
        op = draw(st.sampled_from(["+", "-", "*", "/", "**"]))
        return f"({draw(_vector_formula(depth + 1))}{op}{draw(_vector_formula(depth + 1))})"
    if kind == "fn":
        fn = draw(st.sampled_from(["exp", "sqrt", "cos", "where", "abs"]))
        if fn == "where":
            cond = draw(st.sampled_from(["x[i] < 0", "x[0]", "dim > 2", "i"]))
            return f"where({cond}, {draw(_vector_formula(depth + 1))}, 0)"
        return f"{fn}({draw(_vector_formula(depth + 1))})"
    reducer = draw(st.sampled_from(["sum", "prod", "max", "min"]))
    lo, hi = draw(_VEC_BOUNDS), draw(_VEC_BOUNDS)
    return f"{reducer}(i, {lo}, {hi}, {draw(_vector_formula(depth + 1))})"


@settings(max_examples=200, deadline=None)
@given(_vector_formula(), st.integers(1, 9))
def test_fuzz_vector_formulas_parse_round_trip_or_are_refused_in_one_line(text, n):
    try:
        tree = expr.parse(text, _VEC)
    except ExpressionError as exc:
        assert "\n" not in str(exc)
        return
    assert expr.parse(expr.render(tree), _VEC) == tree
    problem = expr.vector_range_error(tree, n)
    assert problem is None or "\n" not in problem


def test_the_array_and_wide_runners_give_the_same_bytes_on_a_reduced_problem(write_yaml):
    """The loop layouts on a problem of sums and products (noisy, so p_train's noise is used):
    the serial array loop and the parallel wide loop on 1 and 2 threads (float64: the float32
    kernels round g[j] at the same one store in both, and each dtype costs two compiles)."""
    import json

    import adambench

    def stable(result: Any) -> str:
        d = result.to_dict(trace=True)
        d.pop("volatile")
        return json.dumps(d, sort_keys=True)

    small = "sum(i, 0, dim-1, x[i]**2)**2/dim - prod(i, 0, dim-1, cos(x[i])) + x[0]**2"
    path = write_yaml(
        f"name: t\ndim: {SUM_BLOCK + 4}\nexpression: '{small}'\nstart: {{pattern: [0.5, -0.3]}}\n"
        "gradient_noise: 0.01\n"
    )
    for dtype in ("float64",):
        kw = dict(steps=12, seeds=2, every=3, dtype=dtype, chunk_steps=5)
        generic = stable(adambench.run(path, ["adam(lr=0.01)"], layout="generic", **kw))
        for threads in (1, 2):
            wide = adambench.run(path, ["adam(lr=0.01)"], layout="wide", threads=threads, **kw)
            assert stable(wide) == generic


def test_show_lists_the_sums_their_outer_derivatives_and_each_terms_derivative():
    from adambench.report.catalog import describe

    lines = dict(describe("griewank", dim=5))
    assert lines["S1"] == "sum(i, 0, dim-1, x[i] ** 2)"
    assert lines["S2"] == "prod(i, 0, dim-1, cos(x[i] / sqrt(i + 1)))"
    assert (lines["d f/d S1"], lines["d f/d S2"]) == ("1/4000", "-1")
    assert lines["d term of S1/d x[i]"] == "2*x[i]"
    assert lines["d factor of S2/d x[i]"] == "-sin(x[i]/sqrt(i + 1))/sqrt(i + 1)"
    levy = dict(describe("levy"))
    assert "d f/d x[0]" in levy and "d f/d x[dim-1]" in levy


def test_max_over_coordinates_sends_its_gradient_to_the_first_extreme_term(write_yaml):
    """Ties: the first i attaining the max (min) takes the whole (sub)gradient, as the index
    torch.max(v, 0) returns; a NaN term makes the value NaN (torch.max propagates NaN)."""
    fns = _in_python(
        _problem(write_yaml, "max(i, 0, dim-1, abs(x[i])) + min(i, 0, dim-1, x[i])", 4)
    )
    g = np.empty(4)
    f = fns["p_fg"](np.array([2.0, -1.0, 2.0, -1.0]), g, np.zeros(4), None)
    assert f == 1.0
    np.testing.assert_array_equal(g, [1.0, 1.0, 0.0, 0.0])
    f = fns["p_fg"](np.array([0.5, math.nan, -3.0, 0.5]), g, np.zeros(4), None)
    assert math.isnan(f)
