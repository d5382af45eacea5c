"""Whitelisted expression parser: YAML text -> a small immutable tree (no sympy, no eval).

The text is parsed with :func:`ast.parse` and walked against a whitelist. Allowed: numbers, the
constants ``pi`` and ``e``, declared names, ``+ - * / **``, unary minus/plus, and calls of a fixed
set of functions. Everything else (attribute access, subscripts outside ``sum``, lambdas, calls
to other names, comprehensions, strings, conditionals, ...) is refused with an
:class:`~adambench.errors.ExpressionError` naming the offending piece. Nothing is ever evaluated
as Python: constant subexpressions are folded with plain float arithmetic only to refuse those
that overflow or divide by zero.

The tree is a nest of tuples, hashable and printable (its ``repr`` is the cache key):

==========================  ==================================================
``("num", text)``           a literal, kept as its source text (exact rational)
``("const", "pi"|"e")``     a mathematical constant
``("sym", key)``            a declared name, mapped by the caller to ``key``
``("idx", k)``              ``x[i + k]`` inside a ``sum`` (vector problems)
``("sidx", s, k)``          ``x[s*i + k]`` (s >= 2) inside a ``sum`` or ``prod``
``("widx", k)``             ``x[(i + k) % dim]``, a neighbour wrapping around the ends
``("aidx", bound)``         ``x[a*dim + b]`` outside sums (an absolute index)
``("dim",)``                the dimension as a number (vector problems)
``("ivar",)``               the summation index used as a number
``(op, a, b)``              op in add, sub, mul, div, pow
``("neg", a)``              unary minus
``("call", f, a, ...)``     a whitelisted function
``("cmp", op, a, b)``       a comparison, only as the first argument of ``where``
``("sum", (a, b), (c, d), term)``  sum for i from a*dim+b to c*dim+d of term (a bound
                            ``(a, b, q)`` is a*dim/q + b, dim a multiple of q/gcd(a, q))
``("prod", lo, hi, term)``  the product of term over i, bounds as for ``sum``
``("max"|"min", lo, hi, term)``  the largest (smallest) term over i, bounds as for ``sum``
``("reduce", "sum"|"norm", a)``  ``sum_i(a)`` / ``norm(a)`` over every coordinate (updates)
==========================  ==================================================

sympy is imported only by :func:`to_sympy`, when code has to be generated.
"""

from __future__ import annotations

import ast
import functools
import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from adambench.errors import ExpressionError

__all__ = [
    "BASE_FUNCTIONS",
    "MAX_CHARS",
    "MAX_DEPTH",
    "MAX_INT",
    "MAX_NODES",
    "REDUCTIONS",
    "UPDATE_FUNCTIONS",
    "VECTOR_REDUCTIONS",
    "Grammar",
    "Node",
    "absolute_indices",
    "bound_value",
    "check_constants",
    "derivative",
    "is_constant",
    "linear_sums",
    "parse",
    "render",
    "render_bound",
    "stencil_offsets",
    "step_functions",
    "symbols_in",
    "term_leaves",
    "to_sympy",
    "uses_index",
    "vector_range_error",
    "vector_reductions",
]

# The size limits bound what codegen (sympy) is handed: a formula with a constant table (Watson
# as SciPy writes it, ~3,000 nodes, ~10 s to derive) fits; 10,000 nodes take ~40 s to derive
# once (then cached), and a hostile formula of a million nodes is refused while parsed.
MAX_CHARS = 50_000
MAX_NODES = 10_000
MAX_DEPTH = 400
MAX_INT = 2**53

#: Functions every expression may call, with their arity.
BASE_FUNCTIONS: dict[str, int] = {
    "exp": 1,
    "log": 1,
    "sqrt": 1,
    "sin": 1,
    "cos": 1,
    "tan": 1,
    "tanh": 1,
    "abs": 1,
    "sinh": 1,
    "cosh": 1,
    "asinh": 1,
    "acosh": 1,
    "atanh": 1,
    "atan": 1,
    "atan2": 2,
    "log10": 1,
    "sign": 1,
    "floor": 1,
    "round": 1,
    "max": 2,
    "min": 2,
    "where": 3,
}
#: Extra functions for optimizer update rules (``float32(a)``: a rounded to the nearest float32,
#: for references that keep a value in single precision).
UPDATE_FUNCTIONS: dict[str, int] = {**BASE_FUNCTIONS, "float32": 1}
#: Reductions over every coordinate of the parameter vector, for update rules only
#: (:attr:`Grammar.reductions`): ``sum_i(a)`` is the sum of a over the coordinates, ``norm(a)`` the
#: Euclidean norm sqrt(sum_i(a**2)). The name -> the operation in the ``reduce`` node.
REDUCTIONS: dict[str, str] = {"sum_i": "sum", "norm": "norm"}

#: The reductions over i of a vector problem's stencil terms (node kinds and function names).
VECTOR_REDUCTIONS = ("sum", "prod", "max", "min")

_BINOPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}
_CMPOPS = {ast.Gt: ">", ast.GtE: ">=", ast.Lt: "<", ast.LtE: "<=", ast.Eq: "==", ast.NotEq: "!="}
_CONSTANTS = {"pi": math.pi, "e": math.e}

Node = tuple[Any, ...]


@dataclass(frozen=True)
class Grammar:
    """What an expression may refer to.

    ``names`` maps each name a user may write to the key it becomes in the tree. ``vector`` is the
    name of the vector variable usable as ``x[i + k]`` inside ``sum(i, lo, hi, term)``, whose
    bounds are integers in ``dim``; ``None`` disables ``sum`` and subscripts. ``reductions``
    allows :data:`REDUCTIONS` (an update rule's ``sum_i(a)`` and ``norm(a)``, not nested).
    """

    names: Mapping[str, str]
    functions: Mapping[str, int] = field(default_factory=lambda: dict(BASE_FUNCTIONS))
    vector: str | None = None
    reductions: bool = False
    #: Whether ``where``'s condition may be any value (nonzero counts as true), as an update
    #: rule's flags are; a problem's condition must be a comparison.
    flag_conditions: bool = False


def _describe(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except Exception:  # pragma: no cover - unparse handles every node ast.parse makes
        text = type(node).__name__
    return text if len(text) <= 40 else text[:37] + "..."


class _Parser:
    def __init__(self, grammar: Grammar, where: str | None) -> None:
        self.grammar = grammar
        self.where = where
        self.count = 0
        self.in_reduction: str | None = None  # the reduction being parsed (they do not nest)

    def fail(self, message: str) -> ExpressionError:
        return ExpressionError(message, where=self.where)

    def refuse(self, node: ast.AST, what: str) -> ExpressionError:
        return self.fail(f"{what} is not allowed: '{_describe(node)}'")

    # -- entry -----------------------------------------------------------------------------
    def parse(self, text: str) -> Node:
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            raise self.fail(f"syntax error: {exc.msg}") from None
        except (RecursionError, MemoryError):
            raise self.fail(f"nested more than {MAX_DEPTH} levels deep; refused") from None
        try:
            return self.walk(tree.body, 0, index=None)
        except RecursionError:
            raise self.fail(f"nested more than {MAX_DEPTH} levels deep; refused") from None

    # -- the walk --------------------------------------------------------------------------
    def walk(self, node: ast.AST, depth: int, index: str | None) -> Node:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(f"more than {MAX_NODES} nodes; refused")
        if depth > MAX_DEPTH:
            raise self.fail(f"nested more than {MAX_DEPTH} levels deep; refused")
        d = depth + 1
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            return self.name(node, index)
        if isinstance(node, ast.BinOp):
            op = _BINOPS.get(type(node.op))
            if isinstance(node.op, ast.BitXor):
                # Written for a power as in maths or Excel; Python reads ^ as exclusive or.
                raise self.fail(
                    f"'^' is not allowed: use ** for powers (x**2, not x^2): '{_describe(node)}'"
                )
            if op is None:
                raise self.refuse(node, f"the operator '{type(node.op).__name__}'")
            return (op, self.walk(node.left, d, index), self.walk(node.right, d, index))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return ("neg", self.walk(node.operand, d, index))
            if isinstance(node.op, ast.UAdd):
                return self.walk(node.operand, d, index)
            raise self.refuse(node, f"the operator '{type(node.op).__name__}'")
        if isinstance(node, ast.Call):
            return self.call(node, d, index)
        if isinstance(node, ast.Subscript):
            return self.subscript(node, index)
        if isinstance(node, ast.Attribute):
            raise self.refuse(node, "attribute access")
        if isinstance(node, ast.Lambda):
            raise self.refuse(node, "a lambda")
        if isinstance(node, ast.IfExp):
            raise self.refuse(node, "a conditional expression")
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            raise self.refuse(node, "a comprehension")
        if isinstance(node, ast.Compare):
            raise self.refuse(node, "a comparison (only as where's first argument)")
        raise self.refuse(node, f"'{type(node).__name__}'")

    def number(self, node: ast.Constant) -> Node:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.refuse(node, "a non-numeric literal")
        if isinstance(value, int) and abs(value) > MAX_INT:
            raise self.fail(f"integer literal {value} is too large (limit 2**53)")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(f"literal '{_describe(node)}' is not a finite number")
        return ("num", repr(value))

    def name(self, node: ast.Name, index: str | None) -> Node:
        ident = node.id
        if ident.startswith("__"):
            raise self.refuse(node, "a dunder name")
        if index is not None and ident == index:
            return ("ivar",)
        if ident == "dim" and self.grammar.vector is not None:
            return ("dim",)
        if ident in self.grammar.names:
            return ("sym", self.grammar.names[ident])
        if ident in _CONSTANTS:
            return ("const", ident)
        if ident == self.grammar.vector:
            raise self.fail(f"'{ident}' is a vector: write {ident}[i] inside sum(i, lo, hi, ...)")
        known = sorted(self.grammar.names)
        from adambench.errors import did_you_mean

        hint = did_you_mean(ident, [*known, *_CONSTANTS])
        listing = ", ".join(known) if known else "none"
        raise self.fail(f"unknown name '{ident}'{hint}; declared names: {listing}")

    def call(self, node: ast.Call, depth: int, index: str | None) -> Node:
        if not isinstance(node.func, ast.Name):
            raise self.refuse(node.func, "calling this")
        fname = node.func.id
        if fname.startswith("__"):
            raise self.refuse(node.func, "a dunder name")
        if node.keywords:
            raise self.refuse(node, "a keyword argument")
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise self.refuse(node, "a starred argument")
        if fname in ("sum", "prod") and self.grammar.vector is not None:
            return self.stencil_sum(node, depth, index)
        if fname in ("max", "min") and self.grammar.vector is not None and len(node.args) == 4:
            return self.stencil_sum(node, depth, index)  # over coordinates, not of two terms
        if fname in REDUCTIONS:
            return self.reduction(node, fname, depth, index)
        arity = self.grammar.functions.get(fname)
        if arity is None:
            from adambench.errors import did_you_mean

            hint = did_you_mean(fname, self.grammar.functions)
            allowed = ", ".join(sorted(self.grammar.functions))
            raise self.fail(f"unknown function '{fname}'{hint}; allowed: {allowed}")
        if len(node.args) != arity:
            over = " (or index, first, last, term)" if fname in ("max", "min") else ""
            over = over if self.grammar.vector is not None else ""
            raise self.fail(f"{fname}() takes {arity} argument(s){over}, got {len(node.args)}")
        args = []
        for k, arg in enumerate(node.args):
            if fname == "where" and k == 0 and isinstance(arg, ast.Compare):
                args.append(self.comparison(arg, depth, index))
            elif fname == "where" and k == 0 and not self.grammar.flag_conditions:
                raise self.fail(
                    "where()'s condition must be a comparison (a < b, a == b, ...), "
                    f"got '{_describe(arg)}'"
                )
            else:
                args.append(self.walk(arg, depth, index))
        return ("call", fname, *args)

    def reduction(self, node: ast.Call, fname: str, depth: int, index: str | None) -> Node:
        """``sum_i(a)`` / ``norm(a)``: a per-coordinate expression reduced over the coordinates."""
        if not self.grammar.reductions:
            raise self.fail(
                f"{fname}() is allowed only in an optimizer's update (a reduction over the "
                "coordinates of the parameter vector)"
            )
        if self.in_reduction is not None:
            raise self.fail(
                f"{fname}() inside {self.in_reduction}() is not allowed: assign the inner "
                "reduction to a name on a line of its own"
            )
        if len(node.args) != 1:
            raise self.fail(f"{fname}() takes 1 argument(s), got {len(node.args)}")
        self.in_reduction = fname
        arg = self.walk(node.args[0], depth, index)
        self.in_reduction = None
        return ("reduce", REDUCTIONS[fname], arg)

    def comparison(self, node: ast.Compare, depth: int, index: str | None) -> Node:
        if len(node.ops) != 1:
            raise self.refuse(node, "a chained comparison")
        op = _CMPOPS.get(type(node.ops[0]))
        if op is None:
            raise self.refuse(node, "this comparison")
        return (
            "cmp",
            op,
            self.walk(node.left, depth, index),
            self.walk(node.comparators[0], depth, index),
        )

    def subscript(self, node: ast.Subscript, index: str | None) -> Node:
        vec = self.grammar.vector
        if vec is None:
            raise self.refuse(node, "a subscript (only x[i + k] inside sum(...))")
        if not (isinstance(node.value, ast.Name) and node.value.id == vec):
            raise self.refuse(node, f"a subscript of anything but '{vec}'")
        if index is None:  # an absolute index: x[0], x[dim-1]
            return ("aidx", self.bound(node.slice))
        leaf = self.index_leaf(node.slice, index)
        if leaf is None:
            raise self.refuse(
                node,
                f"this subscript (write {vec}[{index} + k], {vec}[s*{index} + k] or "
                f"{vec}[({index} + k) % dim] with integers s >= 1 and k)",
            )
        return leaf

    def index_leaf(self, node: ast.AST, index: str) -> Node | None:
        """``x[i + k]``, ``x[s*i + k]`` (s >= 2) or ``x[(i + k) % dim]`` as its leaf node."""
        wrap = (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Mod)
            and isinstance(node.right, ast.Name)
            and node.right.id == "dim"
        )
        affine = self.index_affine(node.left if wrap else node, index)  # type: ignore[attr-defined]
        if affine is None:
            return None
        s, k = affine
        if s < 1 or s > 1000 or abs(k) > 1000 or (wrap and s != 1):
            return None
        if wrap:
            return ("widx", k)
        return ("idx", k) if s == 1 else ("sidx", s, k)

    def index_affine(self, node: ast.AST, index: str) -> tuple[int, int] | None:
        """An index s*i + k with integer s and k, as (s, k); None for anything else."""
        if isinstance(node, ast.Name) and node.id == index:
            return (1, 0)
        if isinstance(node, ast.Constant) and type(node.value) is int and abs(node.value) <= 1000:
            return (0, node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = self.index_affine(node.operand, index)
            return None if inner is None else (-inner[0], -inner[1])
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
            left = self.index_affine(node.left, index)
            right = self.index_affine(node.right, index)
            if left is None or right is None:
                return None
            if isinstance(node.op, ast.Add):
                return (left[0] + right[0], left[1] + right[1])
            if isinstance(node.op, ast.Sub):
                return (left[0] - right[0], left[1] - right[1])
            if left[0] and right[0]:
                return None
            return (left[0] * right[1] + right[0] * left[1], left[1] * right[1])
        return None

    def stencil_sum(self, node: ast.Call, depth: int, index: str | None) -> Node:
        kind = node.func.id  # type: ignore[attr-defined]
        if index is not None:
            raise self.refuse(node, f"a nested {kind}")
        if len(node.args) != 4 or not isinstance(node.args[0], ast.Name):
            raise self.fail(
                f"{kind} takes (index, first, last, term), e.g. {kind}(i, 0, dim-2, x[i]**2)"
            )
        ivar = node.args[0].id
        if ivar in self.grammar.names or ivar in _CONSTANTS or ivar in ("dim", self.grammar.vector):
            raise self.fail(f"summation index '{ivar}' clashes with another name")
        lo = self.bound(node.args[1])
        hi = self.bound(node.args[2])
        term = self.walk(node.args[3], depth, ivar)
        return (kind, lo, hi, term)

    def bound(self, node: ast.AST) -> tuple[int, ...]:
        """An integer affine bound a*dim + b, as (a, b); a*dim/q + b as (a, b, q)."""
        a, b = self.bound_fraction(node)
        if a.denominator == 1:
            return (a.numerator, b)
        return (a.numerator, b, a.denominator)

    def bound_fraction(self, node: ast.AST) -> tuple[Fraction, int]:
        """A bound as (a, b) with a rational: ``dim/4 - 1`` (dim a multiple of 4) is (1/4, -1)."""
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Div, ast.FloorDiv)):
            a, b = self.bound_fraction(node.left)
            q = node.right
            if not (isinstance(q, ast.Constant) and type(q.value) is int and 1 <= q.value <= 1000):
                raise self.refuse(node, "a bound divided by anything but an integer 1..1000")
            if b % q.value:
                raise self.refuse(node, "a bound whose constant part is not a multiple of q")
            return (a / q.value, b // q.value)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
            la, lb = self.bound_fraction(node.left)
            ra, rb = self.bound_fraction(node.right)
            if isinstance(node.op, ast.Add):
                return (la + ra, lb + rb)
            if isinstance(node.op, ast.Sub):
                return (la - ra, lb - rb)
            if la and ra:
                raise self.refuse(node, "a bound quadratic in dim")
            return (la * rb + ra * lb, lb * rb)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            a, b = self.bound_fraction(node.operand)
            return (-a, -b)
        a, b = self.bound_integer(node)
        return (Fraction(a), b)

    def bound_integer(self, node: ast.AST) -> tuple[int, int]:
        """A bound's leaf: an integer or ``dim``."""
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return (0, node.value)
        if isinstance(node, ast.Name) and node.id == "dim":
            return (1, 0)
        raise self.refuse(node, "this bound (integers and dim with + - * and / q only)")


def parse(text: Any, grammar: Grammar, where: str | None = None) -> Node:
    """Parse ``text`` against ``grammar`` into a tree, refusing anything outside the whitelist."""
    if not isinstance(text, (str, int, float)) or isinstance(text, bool):
        raise ExpressionError(
            f"expression must be a string, got {type(text).__name__}", where=where
        )
    text = str(text)
    if not text.strip():
        raise ExpressionError("expression is empty", where=where)
    if len(text) > MAX_CHARS:
        raise ExpressionError(
            f"expression longer than {MAX_CHARS} characters; refused", where=where
        )
    tree = _Parser(grammar, where).parse(text)
    check_constants(tree, where)
    return tree


# -- constant folding (only to refuse) ---------------------------------------------------------

_FOLD_FUNCS = {
    "exp": math.exp,
    "log": math.log,
    "sqrt": math.sqrt,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "tanh": math.tanh,
    "abs": abs,
    "sign": lambda a: math.copysign(1.0, a) if a else 0.0,
    "sinh": math.sinh,
    "cosh": math.cosh,
    "asinh": math.asinh,
    "acosh": math.acosh,
    "atanh": math.atanh,
    "atan": math.atan,
    "atan2": math.atan2,
    "log10": math.log10,
    "floor": math.floor,
    "round": round,
    "max": max,
    "min": min,
    "float32": lambda a: struct.unpack("f", struct.pack("f", a))[0],
}


def _fold(node: Node, where: str | None) -> float | None:
    """The float value of a constant subtree, or None when it depends on a variable."""
    kind = node[0]
    if kind == "num":
        return float(node[1])
    if kind == "const":
        return _CONSTANTS[node[1]]
    if kind in ("sym", "idx", "ivar", "cmp", "sidx", "widx", "aidx", "dim"):
        # Fold the operands of a comparison anyway, to refuse their bad constants.
        if kind == "cmp":
            _fold(node[2], where)
            _fold(node[3], where)
        return None
    if kind in VECTOR_REDUCTIONS:
        _fold(node[3], where)
        return None
    if kind == "reduce":
        _fold(node[2], where)
        return None
    args = [_fold(a, where) for a in (node[2:] if kind == "call" else node[1:])]
    text = render(node)
    if kind == "div" and args[1] == 0:
        raise ExpressionError(f"division by zero in '{text}'", where=where)
    if any(a is None for a in args):
        return None
    try:
        if kind == "neg":
            value = -args[0]
        elif kind == "add":
            value = args[0] + args[1]
        elif kind == "sub":
            value = args[0] - args[1]
        elif kind == "mul":
            value = args[0] * args[1]
        elif kind == "div":
            value = args[0] / args[1]
        elif kind == "pow":
            if args[0] == 0 and args[1] < 0:
                raise ExpressionError(f"division by zero in '{text}'", where=where)
            value = math.pow(args[0], args[1])
        elif node[1] == "where":
            return None
        else:
            value = float(_FOLD_FUNCS[node[1]](*args))
    except OverflowError:
        raise ExpressionError(f"constant '{text}' overflows a float", where=where) from None
    except (ValueError, ZeroDivisionError):
        raise ExpressionError(f"constant '{text}' is undefined", where=where) from None
    if not math.isfinite(value):
        raise ExpressionError(f"constant '{text}' is not finite", where=where)
    return value


def check_constants(tree: Node, where: str | None = None) -> None:
    """Refuse constant subexpressions that overflow, divide by zero or are undefined."""
    _fold(tree, where)


_VARYING = (
    "sym",
    "idx",
    "ivar",
    "cmp",
    "reduce",
    "sidx",
    "widx",
    "aidx",
    "dim",
    *VECTOR_REDUCTIONS,
)


def is_constant(node: Node) -> bool:
    kind = node[0]
    if kind in ("num", "const"):
        return True
    if kind in _VARYING:
        return False
    children = node[2:] if kind == "call" else node[1:]
    return all(is_constant(c) for c in children)


def symbols_in(tree: Node) -> set[str]:
    """The keys of the ``sym`` leaves of a tree."""
    if tree[0] == "sym":
        return {tree[1]}
    out: set[str] = set()
    for child in tree[1:]:
        if isinstance(child, tuple) and child and isinstance(child[0], str):
            out |= symbols_in(child)
    return out


_PREC = {"add": 1, "sub": 1, "mul": 2, "div": 2, "neg": 3, "pow": 4}
_SYM = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}


def render(node: Node, names: Mapping[str, str] | None = None) -> str:
    """Print a tree back as an expression (``names`` maps keys back to user names)."""
    kind = node[0]
    if kind == "num":
        return node[1]
    if kind == "const":
        return node[1]
    if kind == "sym":
        return names.get(node[1], node[1]) if names else node[1]
    if kind == "ivar":
        return "i"
    if kind == "idx":
        k = node[1]
        return "x[i]" if k == 0 else f"x[i + {k}]" if k > 0 else f"x[i - {-k}]"
    if kind == "sidx":
        s, k = node[1], node[2]
        return f"x[{s}*i]" if k == 0 else f"x[{s}*i + {k}]" if k > 0 else f"x[{s}*i - {-k}]"
    if kind == "widx":
        k = node[1]
        return f"x[(i + {k}) % dim]" if k >= 0 else f"x[(i - {-k}) % dim]"
    if kind == "aidx":
        return f"x[{render_bound(node[1])}]"
    if kind == "dim":
        return "dim"
    if kind == "neg":
        inner = render(node[1], names)
        return f"-({inner})" if node[1][0] in _PREC and _PREC[node[1][0]] < 3 else f"-{inner}"
    if kind in _SYM:
        left, right = render(node[1], names), render(node[2], names)
        p = _PREC[kind]
        if node[1][0] in _PREC and _PREC[node[1][0]] < p + (kind == "pow"):
            left = f"({left})"
        if node[2][0] in _PREC and _PREC[node[2][0]] <= p - (kind == "pow"):
            right = f"({right})"
        return f"{left} {_SYM[kind]} {right}"
    if kind == "call":
        return f"{node[1]}({', '.join(render(a, names) for a in node[2:])})"
    if kind == "cmp":
        return f"{render(node[2], names)} {node[1]} {render(node[3], names)}"
    if kind in VECTOR_REDUCTIONS:
        lo, hi = render_bound(node[1]), render_bound(node[2])
        return f"{kind}(i, {lo}, {hi}, {render(node[3], names)})"
    if kind == "reduce":
        fname = next(k for k, v in REDUCTIONS.items() if v == node[1])
        return f"{fname}({render(node[2], names)})"
    raise ValueError(f"unknown node {kind}")  # pragma: no cover


def render_bound(bound: tuple[int, ...]) -> str:
    """A sum's bound (a, b) or (a, b, q) as text: ``dim-2``, ``dim/4-1``."""
    a, c = bound[0], bound[1]
    if a == 0:
        return str(c)
    head = "dim" if a == 1 else f"{a}*dim"
    if len(bound) == 3:
        head += f"/{bound[2]}"
    return head if c == 0 else f"{head}{c:+d}"


def bound_value(bound: tuple[int, ...], n: int) -> int | None:
    """A bound's value at dim = n; None when a*n/q is not a whole number."""
    a, c = bound[0], bound[1]
    q = bound[2] if len(bound) == 3 else 1
    return None if (a * n) % q else (a * n) // q + c


# -- to sympy (lazy) ------------------------------------------------------------------------------


def to_sympy(
    tree: Node,
    symbols: Mapping[str, Any],
    offsets: Mapping[int, Any] | None = None,
    index: Any = None,
) -> Any:
    """Build a sympy expression from a tree. Literals become exact rationals.

    ``symbols`` maps ``sym`` keys to sympy symbols; ``offsets`` maps stencil offsets ``k`` to the
    symbol standing for ``x[i + k]``; ``index`` is the symbol for the summation index.
    """
    return _SympyBuilder(symbols, offsets, index).build(tree)


class _SympyBuilder:
    """Converts trees node by node (sympy is imported only when an expression is new)."""

    def __init__(
        self, symbols: Mapping[str, Any], offsets: Mapping[int, Any] | None, index: Any
    ) -> None:
        import sympy

        self.sympy = sympy
        self.symbols = symbols
        self.offsets = offsets
        self.index = index
        self.functions = {
            "exp": sympy.exp,
            "log": sympy.log,
            "sqrt": sympy.sqrt,
            "sin": sympy.sin,
            "cos": sympy.cos,
            "tan": sympy.tan,
            "tanh": sympy.tanh,
            "abs": sympy.Abs,
            "sign": sympy.sign,
            "sinh": sympy.sinh,
            "cosh": sympy.cosh,
            "asinh": sympy.asinh,
            "acosh": sympy.acosh,
            "atanh": sympy.atanh,
            "atan": sympy.atan,
            "atan2": sympy.atan2,
            "log10": lambda a: sympy.log(a, 10),
            # max/min as a where: the derivative is the chosen side's, ties take a (the first),
            # as torch.where(a >= b, a, b) does.
            "max": lambda a, b: sympy.Piecewise((a, sympy.Ge(a, b)), (b, True)),
            "min": lambda a, b: sympy.Piecewise((a, sympy.Le(a, b)), (b, True)),
            **step_functions(),
        }
        self.comparisons = {
            ">": sympy.Gt,
            ">=": sympy.Ge,
            "<": sympy.Lt,
            "<=": sympy.Le,
            "==": sympy.Eq,
            "!=": sympy.Ne,
        }

    def build(self, node: Node) -> Any:
        kind = node[0]
        if kind in ("num", "const", "sym", "idx", "ivar"):
            return self.leaf(node)
        if kind == "neg":
            return -self.build(node[1])
        if kind == "pow" and is_constant(node):
            # Exact rational powers can be astronomically large (1.0000001**1e9): fold in floats.
            value = _fold(node, None)
            assert value is not None
            return self.sympy.Float(value)
        if kind in _SYM:
            return self.binary(kind, self.build(node[1]), self.build(node[2]))
        if kind == "call":
            args = [self.build(a) for a in node[2:]]
            if node[1] == "where":
                return self.sympy.Piecewise((args[1], args[0]), (args[2], True))
            return self.functions[node[1]](*args)
        if kind == "cmp":
            return self.comparisons[node[1]](self.build(node[2]), self.build(node[3]))
        raise ValueError(f"cannot convert node {kind} to sympy")  # pragma: no cover

    def leaf(self, node: Node) -> Any:
        kind = node[0]
        if kind == "num":
            exact = "e" in node[1] or "." in node[1]
            return self.sympy.Rational(node[1]) if exact else self.sympy.Integer(node[1])
        if kind == "const":
            return self.sympy.pi if node[1] == "pi" else self.sympy.E
        if kind == "sym":
            return self.symbols[node[1]]
        if kind == "idx":
            assert self.offsets is not None
            return self.offsets[node[1]]
        return self.index  # "ivar"

    @staticmethod
    def binary(kind: str, a: Any, b: Any) -> Any:
        if kind == "add":
            return a + b
        if kind == "sub":
            return a - b
        if kind == "mul":
            return a * b
        if kind == "div":
            return a / b
        return a**b


@functools.cache
def step_functions() -> dict[str, Any]:
    """sympy functions for ``floor`` and ``round`` (half to even) whose derivative is 0: they are
    piecewise constant, so 0 is their gradient everywhere but at the jumps (a set of measure 0,
    where torch's autograd also gives 0). Codegen prints them as ``StepFloor``/``StepRound``."""
    import sympy

    class StepFloor(sympy.Function):
        nargs = 1

        @classmethod
        def eval(cls, a: Any) -> Any:
            return sympy.floor(a) if a.is_Number else None

        def fdiff(self, argindex: int = 1) -> Any:
            return sympy.S.Zero

    class StepRound(sympy.Function):
        nargs = 1

        @classmethod
        def eval(cls, a: Any) -> Any:
            return sympy.Integer(round(float(a))) if a.is_Number else None

        def fdiff(self, argindex: int = 1) -> Any:
            return sympy.S.Zero

    return {"floor": StepFloor, "round": StepRound}


def derivative(f: Any, symbol: Any) -> Any:
    """d f / d symbol, rewritten so that it is finite wherever the true derivative is.

    sympy's forms hold removable singularities: ``|x|**p`` differentiates to
    ``p*|x|**p*sign(x)/|x|`` and ``u**a`` to ``a*u**a*u'/u`` (0/0 where u = 0); merging the powers
    of one base gives ``p*|x|**(p-1)*sign(x)`` and ``a*u**(a-1)*u'``. A variable exponent ``u**v``
    gives ``u**v*log(u)*v'``, which is 0*log(0) where u = 0: that product is taken as 0 there (its
    limit as u -> 0 for v > 0; where v <= 0 the loss itself is not finite at u = 0). ``sign``'s
    derivative (a Dirac delta at 0) is 0, as is ``floor``'s and ``round``'s.
    """
    import sympy

    g = sympy.diff(f, symbol)
    g = g.replace(lambda e: isinstance(e, sympy.DiracDelta), lambda e: sympy.S.Zero)
    return g.replace(lambda e: e.is_Mul, _finite_product)


def _finite_product(mul: Any) -> Any:
    """A product with its powers of one base merged and a ``u**v*log(u)`` guarded at u = 0."""
    import sympy

    exponents: dict[Any, list[Any]] = {}
    for factor in mul.args:
        base, exp = factor.as_base_exp()
        exponents.setdefault(base, []).append(exp)
    merge = any(
        len(exps) > 1 and any(e.is_number and e.is_negative for e in exps)
        for exps in exponents.values()
    )
    if merge:  # only then, so that every other product prints (and rounds) as before
        mul = sympy.Mul(*(b ** sympy.Add(*exps) for b, exps in exponents.items()))
        exponents = {}
        for factor in sympy.Mul.make_args(mul):
            base, exp = factor.as_base_exp()
            exponents.setdefault(base, []).append(exp)
    logs = [e.args[0] for e in exponents if isinstance(e, sympy.log)]
    for base in logs:
        powered = [e for e in exponents.get(base, []) if not (e.is_number and e.is_nonpositive)]
        if powered:
            return sympy.Piecewise((sympy.S.Zero, sympy.Eq(base, 0)), (mul, True))
    return mul


def stencil_offsets(term: Node) -> list[int]:
    """The sorted offsets k of the ``x[i + k]`` leaves in a sum's term."""
    if term[0] == "idx":
        return [term[1]]
    found: set[int] = set()
    for child in term[1:]:
        if isinstance(child, tuple) and child and isinstance(child[0], str):
            found.update(stencil_offsets(child))
    return sorted(found)


def uses_index(term: Node) -> bool:
    if term[0] == "ivar":
        return True
    return any(
        isinstance(c, tuple) and c and isinstance(c[0], str) and uses_index(c) for c in term[1:]
    )


def linear_sums(tree: Node) -> tuple[list[tuple[float, Node]], float]:
    """Split a vector expression into sum(...) terms with constant coefficients and a constant.

    Raises ValueError when the expression is not such a linear combination of sums of ``x[i + k]``
    stencils (a problem that is not one has the kernels of :func:`vector_reductions`).
    """
    if tree[0] == "sum":
        if _finds(tree, ("sidx", "widx", "dim")) or len(tree[1]) == 3 or len(tree[2]) == 3:
            raise ValueError("a sum of strided, wrapped or dim-dependent terms")
        return [(1.0, tree)], 0.0
    if is_constant(tree):
        value = _fold(tree, None)
        assert value is not None
        return [], value
    kind = tree[0]
    if kind in ("add", "sub"):
        left, lc = linear_sums(tree[1])
        right, rc = linear_sums(tree[2])
        sign = 1.0 if kind == "add" else -1.0
        return left + [(sign * c, s) for c, s in right], lc + sign * rc
    if kind == "neg":
        terms, c = linear_sums(tree[1])
        return [(-k, s) for k, s in terms], -c
    if kind in ("mul", "div"):
        a, b = tree[1], tree[2]
        if kind == "mul" and is_constant(a):
            a, b = b, a
        if is_constant(b):
            k = _fold(b, None)
            assert k is not None
            k = 1.0 / k if kind == "div" else k
            terms, c = linear_sums(a)
            return [(k * w, s) for w, s in terms], k * c
    raise ValueError(
        "a vector expression must be a sum of sum(i, lo, hi, term) calls with constant coefficients"
    )


def _finds(node: Node, kinds: tuple[str, ...]) -> bool:
    """Whether a node of one of ``kinds`` occurs in the tree."""
    if node[0] in kinds:
        return True
    return any(
        isinstance(c, tuple) and c and isinstance(c[0], str) and _finds(c, kinds) for c in node[1:]
    )


def _collect(node: Node, kinds: tuple[str, ...], out: list[Node]) -> list[Node]:
    """The distinct nodes of ``kinds`` in the tree, in the order they are first met."""
    if node[0] in kinds:
        if node not in out:
            out.append(node)
        return out
    for c in node[1:]:
        if isinstance(c, tuple) and c and isinstance(c[0], str):
            _collect(c, kinds, out)
    return out


def vector_reductions(tree: Node) -> list[Node]:
    """The distinct ``sum``/``prod``/``max``/``min`` nodes of a vector expression, in reading
    order."""
    return _collect(tree, VECTOR_REDUCTIONS, [])


def absolute_indices(tree: Node) -> list[Node]:
    """The distinct ``x[a*dim + b]`` leaves outside sums (``aidx`` nodes), in reading order."""
    return _collect(tree, ("aidx",), [])


def term_leaves(term: Node) -> list[Node]:
    """The distinct ``x[...]`` leaves of a sum's term (``idx``, ``sidx``, ``widx``), sorted."""
    return sorted(_collect(term, ("idx", "sidx", "widx"), []))


def vector_range_error(tree: Node, n: int) -> str | None:
    """Why the vector expression cannot be evaluated at dim = n (an empty sum, an index outside
    0..n-1, a bound ``dim/q`` with n not a multiple of q), or None when it can."""
    for node in vector_reductions(tree):
        kind, term = node[0], node[3]
        lo, hi = bound_value(node[1], n), bound_value(node[2], n)
        if lo is None or hi is None:
            q = max((len(b) == 3 and b[2]) or 1 for b in (node[1], node[2]))
            head = f"{kind}(i, {render_bound(node[1])}, {render_bound(node[2])}, ...)"
            return f"{head} needs dim to be a multiple of {q}, got dim = {n}"
        if hi < lo:
            return f"{kind}(i, {lo}, {hi}, ...) is empty for dim = {n}"
        offsets = stencil_offsets(term) or [0]
        if lo + min(offsets) < 0 or hi + max(offsets) > n - 1:
            return (
                f"x[i + k] leaves 0..dim-1 for i in {lo}..{hi} with dim = {n} "
                f"(offsets {min(offsets)}..{max(offsets)})"
            )
        for leaf in term_leaves(term):
            if leaf[0] == "sidx" and (leaf[1] * lo + leaf[2] < 0 or leaf[1] * hi + leaf[2] >= n):
                return f"{render(leaf)} leaves 0..dim-1 for i in {lo}..{hi} with dim = {n}"
    for leaf in absolute_indices(tree):
        at = bound_value(leaf[1], n)
        if at is None or not 0 <= at < n:
            return f"{render(leaf)} is outside 0..dim-1 with dim = {n}"
    return None
