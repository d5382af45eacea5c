"""The whitelisted expression parser: what it accepts, what it refuses, and that it never
evaluates Python."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adambench import expr
from adambench.errors import ExpressionError

XY = expr.Grammar(names={"x": "v0", "y": "v1"})
VEC = expr.Grammar(names={}, vector="x")


@pytest.mark.parametrize(
    "text",
    [
        "(1.5 - x + x*y)**2 + (2.25 - x + x*y**2)**2",
        "exp(-x**2) * sin(pi*y) + log(1 + x**2) - sqrt(abs(y)) + tanh(x)/cos(y) + tan(0.1*x)",
        "-x + +y - 3e-2 * e",
        "x**-2",
        "2**10 * x",
    ],
)
def test_accepts_whitelisted_expressions(text):
    tree = expr.parse(text, XY)
    assert expr.symbols_in(tree) <= {"v0", "v1"}


def _balanced(leaves: int) -> str:
    """x + x + ... with ``leaves`` terms, parenthesised as a balanced tree (shallow, wide)."""
    if leaves == 1:
        return "x"
    half = leaves // 2
    return f"({_balanced(half)}+{_balanced(leaves - half)})"


REFUSED = [
    ("x.__class__", "attribute access is not allowed"),
    ("x[0]", "a subscript"),
    ("(lambda: 1)()", "calling this is not allowed"),
    ("lambda: 1", "a lambda is not allowed"),
    ("__import__('os').system('true')", "a dunder name|calling this"),
    ("__builtins__", "a dunder name is not allowed"),
    ("open('f')", "unknown function 'open'"),
    ("eval('1')", "unknown function 'eval'"),
    ("[t for t in x]", "a comprehension is not allowed"),
    ("'abc'", "a non-numeric literal is not allowed"),
    ("x if y else 1", "a conditional expression is not allowed"),
    ("x < y", "a comparison"),
    ("z + 1", r"unknown name 'z'"),
    ("exp(x, y)", r"exp\(\) takes 1 argument"),
    ("exp(x=1)", "keyword argument"),
    ("x // 2", "the operator 'FloorDiv'"),
    ("x % 2", "the operator 'Mod'"),
    ("x @ y", "the operator 'MatMult'"),
    ("~x", "the operator 'Invert'"),
    ("1/0 + x", "division by zero"),
    ("x/(1-1)", "division by zero"),
    ("0**-1 + x", "division by zero"),
    ("9**9**9**9", "overflows"),
    ("exp(1000) * x", "overflows"),
    ("log(0) + x", "undefined"),
    ("sqrt(-1) + x", "undefined"),
    ("1e309 * x", "not a finite number"),
    ("", "empty"),
    ("   ", "empty"),
    ("x +", "syntax error"),
    ("x; import os", "syntax error"),
    ("True + x", "non-numeric literal"),
    ("sum(i, 0, 3, x)", "unknown function 'sum'"),
    ("exp(" * 500 + "x" + ")" * 500, "nested|syntax"),
    ("-" * 500 + "x", "nested more than 400 levels"),
    ("+".join(["x*y"] * 1000), "nested more than 400 levels"),
    (_balanced(6_000), "more than 10000 nodes"),
    ("x+" * 30_000 + "x", "longer than 50000 characters"),
    ("99999999999999999999 * x", "too large"),
]


@pytest.mark.parametrize(("text", "message"), REFUSED)
def test_refuses_everything_else_naming_the_piece(text, message):
    with pytest.raises(ExpressionError, match=message):
        expr.parse(text, XY)


def test_long_flat_sums_are_fine():
    expr.parse("+".join(f"{k}*x**{k % 5}" for k in range(150)), XY)


def test_message_names_the_offending_piece():
    with pytest.raises(ExpressionError, match=r"'x\.real'"):
        expr.parse("1 + x.real", XY)


def test_unknown_name_suggests_a_close_one():
    with pytest.raises(ExpressionError, match=r"did you mean 'x'"):
        expr.parse("xx + y", XY)


def test_vector_sum_and_offsets():
    tree = expr.parse("sum(i, 0, dim-2, 100*(x[i+1] - x[i]**2)**2 + (1 - x[i])**2)", VEC)
    assert tree[0] == "sum" and tree[1] == (0, 0) and tree[2] == (1, -2)
    assert expr.stencil_offsets(tree[3]) == [0, 1]
    tree = expr.parse("sum(i, 1, dim-1, (x[i] - x[i-1])**2 * i)", VEC)
    assert expr.stencil_offsets(tree[3]) == [-1, 0] and expr.uses_index(tree[3])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x[i] + 1", "this bound"),
        ("sum(i, 0, dim, x[i*i])", "this subscript"),
        ("sum(i, 0, dim, x[(2*i) % dim])", "this subscript"),
        ("sum(i, 0, dim, x[0])", "this subscript"),
        ("sum(i, 0, dim/0, x[i])", "divided by anything but"),
        ("sum(i, 0, (dim+1)/2, x[i])", "not a multiple of q"),
        ("prod(i, 0, dim, prod(j, 0, dim, x[j]))", "nested prod"),
        ("sum(i, 0, dim, x[i][0])", "a subscript of anything but"),
        ("sum(i, 0, dim*dim, x[i])", "quadratic in dim"),
        ("sum(i, 0, dim, sum(j, 0, dim, x[j]))", "nested sum"),
        ("sum(x, 0, dim, 1)", "clashes"),
        ("sum(i, 0, n, x[i])", "this bound"),
        ("x + 1", "'x' is a vector"),
    ],
)
def test_vector_refusals(text, message):
    with pytest.raises(ExpressionError, match=message):
        expr.parse(text, VEC)


def test_update_grammar_has_where_with_a_comparison():
    g = expr.Grammar(names={"v": "s0", "m": "s1"}, functions=expr.UPDATE_FUNCTIONS)
    tree = expr.parse("where(v > m, v, m) + max(v, m) + sign(v)", g)
    assert expr.symbols_in(tree) == {"s0", "s1"}


def test_to_sympy_keeps_literals_exact():
    import sympy

    x = sympy.Symbol("x")
    f = expr.to_sympy(expr.parse("0.1*x + 2.625", expr.Grammar(names={"x": "x"})), {"x": x})
    assert f == sympy.Rational(1, 10) * x + sympy.Rational(21, 8)


def test_render_round_trips():
    for text in ["(1.5 - x + x * y) ** 2", "-(x + y) * exp(x)", "x - (y - 1)", "x ** (y ** 2)"]:
        tree = expr.parse(text, XY)
        again = expr.parse(expr.render(tree, {"v0": "x", "v1": "y"}), XY)
        assert again == tree


@given(st.text(max_size=80))
def test_fuzz_any_text_parses_or_raises_expression_error(text):
    with contextlib.suppress(ExpressionError):
        expr.parse(text, XY)


_atoms = st.sampled_from(["x", "y", "pi", "e", "1", "2.5", "0", "1e300", "-3"])
_ops = st.sampled_from(["+", "-", "*", "/", "**"])


@st.composite
def _formula(draw, depth=0):
    if depth > 4 or draw(st.booleans()):
        return draw(_atoms)
    kind = draw(st.sampled_from(["bin", "fn", "neg"]))
    if kind == "bin":
        return f"({draw(_formula(depth + 1))}{draw(_ops)}{draw(_formula(depth + 1))})"
    if kind == "fn":
        # any function with any number of arguments (a wrong count is refused), comparisons
        # anywhere an argument goes (only where's condition accepts one)
        fn = draw(st.sampled_from(sorted(expr.BASE_FUNCTIONS)))
        n = draw(st.integers(0, 4))
        args = [draw(_formula(depth + 1)) for _ in range(n)]
        if args and draw(st.booleans()):
            k = draw(st.integers(0, n - 1))
            cmp = draw(st.sampled_from(["<", "<=", ">", ">=", "==", "!=", "< 0 <"]))
            args[k] = f"{args[k]} {cmp} {draw(_formula(depth + 1))}"
        return f"{fn}({', '.join(args)})"
    return f"-{draw(_formula(depth + 1))}"


@given(_formula())
def test_fuzz_formulas_parse_or_raise_expression_error(text):
    try:
        tree = expr.parse(text, XY)
    except ExpressionError as exc:
        assert "\n" not in str(exc)  # one line
    else:
        assert expr.parse(expr.render(tree, {"v0": "x", "v1": "y"}), XY) == tree
