"""The ``minimum:`` and ``target:`` grammar of problem files: points and values that follow the
dimension of a vector problem, so that ``--dim N`` moves them with it.

::

    minimum:
      x: [a, b, ...]                 # one point; or a list of points: [[...], [...]]
      x: {fill: v}                   # v in every coordinate
      x: {pattern: [a, b]}           # a, b, a, b, ... (as many as the dimension)
      x: {formula: "i*(dim + 1 - i)"}  # a formula in i (0, 1, ..., dim-1) and dim
      value: v                       # the same at every dimension
      value: {per_coordinate: v}     # v * dim
      value: {formula: "-dim*(dim + 4)*(dim - 1)/6"}  # a formula in dim
    target: v | {gap: g} | {per_coordinate: v} | {formula: "..."}  # {gap: g}: the minimum + g

``i`` counts coordinates from 0, as ``sum(i, 0, dim-1, ...)`` does. A point written out as a
list of numbers holds at the file's ``dim`` only: at another ``--dim`` the problem runs without
a known minimum (no gap, no target derived from it) and a note says so. Formulas are parsed by
the expression whitelist (:mod:`adambench.expr`), never evaluated as Python.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from adambench import expr
from adambench.errors import ExpressionError
from adambench.fields import Fields, show

__all__ = ["Minimum", "evaluate", "minimum", "point", "target"]

_UNARY = {
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "tanh": np.tanh,
    "abs": np.abs,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "asinh": np.arcsinh,
    "acosh": np.arccosh,
    "atanh": np.arctanh,
    "atan": np.arctan,
    "log10": np.log10,
    "sign": np.sign,
    "floor": np.floor,
    "round": np.round,
}
_BINARY = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "div": np.divide,
    "pow": np.power,
    "atan2": np.arctan2,
    "max": np.maximum,
    "min": np.minimum,
}
_COMPARE = {
    ">": np.greater,
    ">=": np.greater_equal,
    "<": np.less,
    "<=": np.less_equal,
    "==": np.equal,
    "!=": np.not_equal,
}
_CONSTANTS = {"pi": np.pi, "e": np.e}


def evaluate(node: expr.Node, env: Mapping[str, Any]) -> Any:
    """The value of a parsed formula (no sums, no subscripts) with its names bound in ``env``
    (numbers or numpy arrays, broadcast together); numpy's rules for inf and NaN."""
    kind = node[0]
    if kind == "num":
        return float(node[1])
    if kind == "const":
        return _CONSTANTS[node[1]]
    if kind == "sym":
        return env[node[1]]
    if kind == "neg":
        return np.negative(evaluate(node[1], env))
    if kind in _BINARY:
        return _BINARY[kind](evaluate(node[1], env), evaluate(node[2], env))
    if kind == "cmp":
        return _COMPARE[node[1]](evaluate(node[2], env), evaluate(node[3], env))
    if kind == "call":
        name, args = node[1], [evaluate(a, env) for a in node[2:]]
        if name == "where":
            return np.where(*args)
        return (_UNARY[name] if len(args) == 1 else _BINARY[name])(*args)
    raise ExpressionError(f"'{expr.render(node)}' cannot be used here")  # pragma: no cover


def _formula(text: Any, n: int, f: Fields, key: str, per_index: bool) -> Any:
    """A formula in ``dim`` (and ``i`` when ``per_index``) at dimension n: an array of n
    values, or a number; every value finite, or one line naming the key."""
    names = {"dim": "dim", "i": "i"} if per_index else {"dim": "dim"}
    where = f"{f.where}: {key}"
    tree = expr.parse(text, expr.Grammar(names=names), where=where)
    env: dict[str, Any] = {"dim": float(n)}
    if per_index:
        env["i"] = np.arange(n, dtype=float)
    with np.errstate(all="ignore"):
        value = np.asarray(evaluate(tree, env), float)
    bad = np.flatnonzero(~np.isfinite(value.ravel()))
    if bad.size:
        at = f" at i = {bad[0]}" if per_index and value.ndim else ""
        raise ExpressionError(f"'{text}' is not a finite number{at} for dim = {n}", where=where)
    if per_index:
        return np.broadcast_to(value, (n,)).copy() if value.ndim == 0 else value
    return float(value)


def point(value: Any, n: int, f: Fields, key: str) -> np.ndarray:
    """A point of n coordinates: a list of n numbers, or ``{fill: v}``, ``{pattern: [a, ...]}``
    or ``{formula: "..."}`` (in i and dim)."""
    if isinstance(value, Mapping):
        if set(value) == {"fill"}:
            return np.full(n, f.as_number(value["fill"], f"{key}.fill"))
        if set(value) == {"pattern"} and isinstance(value["pattern"], list) and value["pattern"]:
            pat = [f.as_number(v, f"{key}.pattern") for v in value["pattern"]]
            return np.resize(np.array(pat, float), n)
        if set(value) == {"formula"}:
            return _formula(value["formula"], n, f, f"{key}.formula", per_index=True)
        raise f.fail(
            key,
            "must be a list of numbers, {fill: v}, {pattern: [a, b, ...]} or {formula: '...'}",
        )
    if not isinstance(value, list):
        raise f.fail(key, f"must be a list of {n} numbers, got {show(value)}")
    if len(value) != n:
        raise f.fail(key, f"must have {n} numbers (one per variable), got {len(value)}")
    return np.array([f.as_number(v, key) for v in value], dtype=float)


def _resizes(value: Any) -> bool:
    """Whether a written point follows the dimension (a rule, not a list of numbers)."""
    return isinstance(value, Mapping)


class Minimum:
    """The known minimisers and minimum value at one dimension, and a note when the file's
    minimum could not follow ``--dim``."""

    def __init__(
        self, points: tuple[np.ndarray, ...], value: float | None, note: str | None = None
    ) -> None:
        self.points, self.value, self.note = points, value, note


def minimum(f: Fields, n: int, file_n: int) -> Minimum:
    """The file's ``minimum:`` at dimension n (``file_n``: the file's own ``dim``)."""
    block = f.mapping("minimum", "must be a mapping {x: [...], value: f}")
    block.unknown_keys(("x", "value"))
    xs = block.get("x")
    many = isinstance(xs, list) and xs and all(isinstance(v, list) for v in xs)
    written = list(xs) if many else ([xs] if "x" in block else [])
    if n != file_n and not all(_resizes(x) for x in written):
        note = (
            f"the file's minimum is written for dim = {file_n}; at dim = {n} there is no known "
            "minimum (no gap, no target from it): write it as {fill: v} or {formula: ...}"
        )
        return Minimum((), None, note)
    points = tuple(point(x, n, f, "minimum.x") for x in written)
    value = _value(block, "value", n) if "value" in block else None
    return Minimum(points, value)


def _value(f: Fields, key: str, n: int) -> float:
    """A number, ``{per_coordinate: v}`` (v * dim) or ``{formula: "..."}`` in dim."""
    raw = f.get(key)
    if not isinstance(raw, Mapping):
        return f.number(key)
    block = f.nested(key, raw)
    block.unknown_keys(("per_coordinate", "formula"))
    if set(raw) == {"per_coordinate"}:
        return block.number("per_coordinate") * n
    if set(raw) == {"formula"}:
        return _formula(raw["formula"], n, f, f"{key}.formula", per_index=False)
    raise f.fail(key, "must be a number, {per_coordinate: v} or {formula: '...'}")


def target(f: Fields, min_value: float | None, n: int, dropped: bool = False) -> float | None:
    """The file's ``target:`` at dimension n: a loss, ``{gap: g}`` above the minimum,
    ``{per_coordinate: v}`` or ``{formula: "..."}`` in dim; by default the minimum + 1e-6.
    ``dropped``: the minimum could not follow ``--dim``, so a gap target has nothing to add to
    and the run has no target."""
    raw = f.get("target")
    if raw is None:
        return None if min_value is None else min_value + 1e-6
    if not isinstance(raw, Mapping):
        return f.as_number(raw, "target")
    block = f.nested("target", raw)
    # test_loss and test_accuracy (a data problem's held-out targets) are read by the problem
    # layer; named here so that a misspelling of them gets its "did you mean".
    block.unknown_keys(("gap", "per_coordinate", "formula", "test_loss", "test_accuracy"))
    if "gap" not in raw:
        return _value(f, "target", n)
    if len(raw) != 1:
        raise f.fail("target", "must be one of a number, {gap: g}, {per_coordinate: v}, ...")
    gap = block.number("gap")
    if gap < 0:
        raise block.fail("gap", f"must be >= 0, got {gap:g}")
    if min_value is None:
        if dropped:
            return None
        raise f.fail("target", "{gap: g} needs a known minimum value")
    return min_value + gap
