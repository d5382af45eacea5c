"""The problem registry: YAML files in ``problems/`` (package data) or given by path.

A problem file states the objective and the facts a benchmark needs (start, minimum, target,
plot domain, default steps). Three kinds:

- expression problems: ``variables: [x, y]`` and an ``expression`` in them;
- vector problems: ``dim: N`` and an expression that is a sum over a stencil,
  ``sum(i, 0, dim-2, 100*(x[i+1] - x[i]**2)**2 + (1 - x[i])**2)``;
- data problems: a ``data`` block (two moons) and a ``model`` block (logistic regression).

Expressions are parsed by :mod:`adambench.expr` (a whitelist, never ``eval``); gradients come
from sympy at code generation time (:mod:`adambench.codegen`), only when the expression is new.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from adambench import expr, safeyaml
from adambench.errors import ConfigError, ProblemError, did_you_mean
from adambench.fields import Fields, show
from adambench.limits import MAX_DIM, MAX_STEPS
from adambench.problem_files import TAGS, builtin_files

__all__ = [
    "MAX_DIM",
    "MAX_STEPS",
    "TAGS",
    "Problem",
    "is_path",
    "list_problems",
    "load_problem",
    "problem_from_dict",
]

_COMMON_KEYS = {
    "name": "a short identifier",
    "description": "one line",
    "start": "the start point",
    "target": "a loss value, or {gap: g} above the minimum",
    "domain": "the plotting box",
    "steps": "default number of steps",
    "gradient_noise": "sigma of Gaussian noise added to every gradient component",
    "suggested": "per-optimizer suggested hyperparameters",
    "contour": "log, linear or auto",
    "scale": "size of the region of interest (divergence at |x| > 1e6 scale)",
    "tags": "a list of tag words (TAGS), for `list --tag` and suites",
    "reference": "where the function is defined (a paper or a library of test functions)",
}

_EXPRESSION_KEYS = {**_COMMON_KEYS, "variables": "", "dim": "", "expression": "", "minimum": ""}
_DATA_KEYS = {**_COMMON_KEYS, "variables": "", "data": "", "model": ""}
_RESERVED = {"pi", "e", "dim", "sum", "i", *expr.UPDATE_FUNCTIONS}


@dataclass(frozen=True)
class Problem:
    """A loaded, validated problem. Arrays are float64; ``domain`` has shape (dim, 2)."""

    name: str
    description: str
    kind: str  # "expression", "vector" or "logreg"
    variables: tuple[str, ...]
    dim: int
    expression: str | None
    tree: expr.Node | None
    start: np.ndarray
    minimizers: tuple[np.ndarray, ...]
    min_value: float | None
    target: float | None
    domain: np.ndarray
    steps: int
    gradient_noise: float
    suggested: Mapping[str, Mapping[str, Any]]
    contour: str
    scale: float
    source: str
    data: np.ndarray | None = None
    model: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    reference: str = ""

    @property
    def stochastic(self) -> bool:
        return self.gradient_noise > 0 or self.kind == "logreg"

    def code_identity(self) -> str:
        """Everything that reaches the generated kernels (the cache key's problem part)."""
        if self.kind == "expression":
            return f"expression|{self.dim}|{self.tree!r}"
        if self.kind == "vector":
            return f"vector|{self.tree!r}"
        return "logreg"

    def problem_params(self) -> np.ndarray:
        """The ``pd`` vector of the kernels: [gradient_noise, (data-problem settings)]."""
        if self.kind == "logreg":
            m = self.model
            n_reg = self.dim - (1 if m["bias"] else 0)
            return np.array([self.gradient_noise, m["l2"], n_reg, m["batch_size"]], float)
        return np.array([self.gradient_noise], float)

    def problem_state_width(self) -> int:
        """Integers of per-run state the kernels keep (minibatch permutation and its epoch)."""
        return self.data.shape[0] + 1 if self.kind == "logreg" and self.data is not None else 0

    def data_array(self) -> np.ndarray:
        return self.data if self.data is not None else np.zeros((0, 0))

    def distance_to_minimum(self, x: np.ndarray) -> float | None:
        """The Euclidean distance from ``x`` to the nearest known minimizer (None: none known).

        Far from the origin (``max |d_i|`` beyond 1e150) it is computed as ``s * |d / s|`` with
        ``s = max |d_i|``, so that a point at 1e200 gives its true distance instead of
        overflowing in the sum of squares; inf or NaN in ``x`` gives inf or NaN, silently.
        """
        if not self.minimizers:
            return None
        with np.errstate(over="ignore", invalid="ignore"):
            return float(min(_norm(np.asarray(x, float) - m) for m in self.minimizers))

    def accuracy(self, x: np.ndarray) -> float | None:
        if self.kind != "logreg" or self.data is None:
            return None
        from adambench.datasets import logreg_accuracy

        return logreg_accuracy(x, self.data)

    def loss_numpy(self, x: np.ndarray) -> float:
        """The data problem's loss in numpy (a reference for tests)."""
        from adambench.datasets import logreg_loss

        assert self.kind == "logreg" and self.data is not None
        n_reg = self.dim - (1 if self.model["bias"] else 0)
        return logreg_loss(x, self.data, self.model["l2"], n_reg)

    def formula(self) -> str:
        if self.kind == "logreg":
            m = self.model
            reg = f" + ({m['l2']:g}/2) |w|^2"
            return f"mean BCE(sigmoid(w . a), label){reg}, minibatches of {m['batch_size']}"
        return self.expression or ""


def _norm(d: np.ndarray) -> float:
    """|d| without overflow or underflow in the squares (call under np.errstate)."""
    s = float(np.max(np.abs(d))) if d.size else 0.0
    if s == 0.0 or not math.isfinite(s):
        return s  # 0, inf, or NaN (np.max propagates NaN)
    if 1e-150 < s < 1e150:
        return float(np.linalg.norm(d))  # the squares are safe: the usual sum, bit for bit
    return s * float(np.linalg.norm(d / s))


# ---------------------------------------------------------------------------------------------
# The registry of shipped problems


def is_path(name: str) -> bool:
    return (
        os.sep in name
        or "/" in name
        or name.endswith((".yaml", ".yml"))
        or (name not in builtin_files() and Path(name).is_file())
    )


def load_problem(name_or_path: str | Path, dim: int | None = None) -> Problem:
    """Load a shipped problem by name, or a problem file by path; ``dim`` resizes vector ones."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or is_path(text):
        raw = safeyaml.load_file(text)
        return problem_from_dict(raw, where=text, dim=dim, source=text)
    files = builtin_files()
    if text not in files:
        raise ProblemError(
            f"unknown problem '{text}'{did_you_mean(text, files)}; "
            f"known: {', '.join(files)} (or give a path to a YAML file)"
        )
    raw = safeyaml.load_file(files[text])
    return problem_from_dict(raw, where=f"problems/{text}.yaml", dim=dim, source="built-in")


# Validation: every error names the file and the key (see adambench.fields).


@dataclass(frozen=True)
class _Shape:
    """What the kind of a problem decides: its variables, dimension and objective."""

    kind: str
    variables: tuple[str, ...]
    n: int
    expression: str | None = None
    tree: expr.Node | None = None
    data: np.ndarray | None = None
    model: dict[str, Any] = field(default_factory=dict)


def problem_from_dict(
    raw: Any, where: str, dim: int | None = None, source: str = "user"
) -> Problem:
    """Validate a problem file's content and build the :class:`Problem`."""
    if not isinstance(raw, Mapping):
        raise ConfigError(
            "a problem file must be a mapping of keys (name, variables, ...)", where=where
        )
    f = Fields(raw, where)
    is_data = "data" in raw or "model" in raw
    f.unknown_keys(_DATA_KEYS if is_data else _EXPRESSION_KEYS)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise f.fail("name", "is required and must be a non-empty string")
    description = f.text("description", "")
    if "start" not in raw:
        raise f.fail("start", "is required (one number per variable)")
    shape = _shape(f, is_data)
    n = _resized(shape, name, dim)
    if shape.kind == "vector":
        assert shape.tree is not None
        _check_stencil_ranges(shape.tree, n, f)
    start = _point(raw["start"], n, f, "start")
    minimizers, min_value = _minimum(f, n) if "minimum" in raw else ((), None)
    notes: list[str] = []
    if shape.kind == "logreg":
        minimizers, min_value, steps_taken = _logreg_optimum(shape, where)
        notes.append(f"optimum by Newton's method on the full-batch loss ({steps_taken} steps)")
    settings = _settings(f, min_value, start, minimizers)
    if shape.kind == "logreg" and shape.data is not None:
        notes += _batch_notes(shape.data.shape[0], shape.model["batch_size"])
    return Problem(
        name=name.strip(),
        description=description.strip(),
        kind=shape.kind,
        variables=shape.variables,
        dim=n,
        expression=shape.expression,
        tree=shape.tree,
        start=start,
        minimizers=minimizers,
        min_value=min_value,
        source=source,
        data=shape.data,
        model=shape.model,
        notes=tuple(notes),
        tags=_tags(f),
        reference=f.text("reference", "").strip(),
        **settings,
    )


def _shape(f: Fields, is_data: bool) -> _Shape:
    """The kind of problem the file describes, and its variables and objective."""
    if is_data:
        data, model, variables = _data_problem(f)
        return _Shape("logreg", variables, len(variables), data=data, model=model)
    if "dim" in f:
        return _vector_shape(f)
    if "variables" not in f:
        raise f.fail("variables", "is required (or dim for a vector problem)")
    variables = _variables(f.get("variables"), f)
    expression = _expression_text(f)
    names = {v: f"v{k}" for k, v in enumerate(variables)}
    tree = expr.parse(expression, expr.Grammar(names=names), where=f"{f.where}: expression")
    return _Shape("expression", variables, len(variables), expression, tree)


def _vector_shape(f: Fields) -> _Shape:
    """A vector problem: ``dim`` and a sum over a stencil of ``x``."""
    if "variables" in f:
        raise ConfigError("give either 'variables' or 'dim', not both", where=f.where)
    n = f.integer("dim", 1, MAX_DIM)
    expression = _expression_text(f)
    tree = expr.parse(
        expression, expr.Grammar(names={}, vector="x"), where=f"{f.where}: expression"
    )
    try:
        sums, _ = expr.linear_sums(tree)
    except ValueError as exc:
        raise f.fail("expression", str(exc)) from None
    if not sums:
        raise f.fail("expression", "has no sum(i, lo, hi, term) over x")
    return _Shape("vector", (), n, expression, tree)


def _resized(shape: _Shape, name: str, dim: int | None) -> int:
    """The problem's dimension, after ``--dim`` (which only vector problems take)."""
    if dim is None:
        return shape.n
    if shape.kind != "vector":
        raise ProblemError(
            f"problem '{name}' has fixed variables; --dim applies to vector problems"
        )
    if isinstance(dim, bool) or not isinstance(dim, int) or not 1 <= dim <= MAX_DIM:
        raise ProblemError(f"--dim must be between 1 and {MAX_DIM:g}, got {dim!r}")
    return dim


def _settings(
    f: Fields, min_value: float | None, start: np.ndarray, minimizers: tuple[np.ndarray, ...]
) -> dict[str, Any]:
    """The keys every kind of problem has: target, plot box, steps, noise, suggestions, scale."""
    target = _target(f, min_value)
    domain = _domain(f.get("domain"), len(start), start, minimizers, f)
    steps = f.integer("steps", 1, MAX_STEPS, 1000)
    noise = f.number("gradient_noise", 0.0)
    if noise < 0:
        raise f.fail("gradient_noise", f"must be >= 0, got {noise:g}")
    suggested = _suggested(f.get("suggested", {}), f)
    contour = f.choice("contour", ("auto", "log", "linear"), "auto")
    extent = [1.0, float(np.max(np.abs(domain))), float(np.max(np.abs(start)))]
    extent += [float(np.max(np.abs(m))) for m in minimizers]
    scale = f.number("scale") if "scale" in f else max(extent)
    if scale <= 0:
        raise f.fail("scale", f"must be > 0, got {scale:g}")
    return {
        "target": target,
        "domain": domain,
        "steps": steps,
        "gradient_noise": noise,
        "suggested": suggested,
        "contour": contour,
        "scale": scale,
    }


def _tags(f: Fields) -> tuple[str, ...]:
    """The file's ``tags:``: known words (:data:`TAGS`), each once, in the file's order."""
    value = f.get("tags", [])
    if not isinstance(value, list):
        raise f.fail("tags", f"must be a list of tag words, got {show(value)}")
    tags: list[str] = []
    for tag in value:
        if not isinstance(tag, str) or tag not in TAGS:
            raise f.fail("tags", f"has unknown tag {show(tag)}; known: {', '.join(TAGS)}")
        if tag not in tags:
            tags.append(tag)
    return tuple(tags)


def _point(value: Any, n: int, f: Fields, key: str) -> np.ndarray:
    """A point: a list of n numbers, or a rule {fill: v} / {pattern: [a, b, ...]}."""
    if isinstance(value, Mapping):
        if set(value) == {"fill"}:
            return np.full(n, f.as_number(value["fill"], f"{key}.fill"))
        if set(value) == {"pattern"} and isinstance(value["pattern"], list) and value["pattern"]:
            pat = [f.as_number(v, f"{key}.pattern") for v in value["pattern"]]
            return np.resize(np.array(pat, float), n)
        raise f.fail(key, "must be a list of numbers, {fill: v} or {pattern: [a, b, ...]}")
    if not isinstance(value, list):
        raise f.fail(key, f"must be a list of {n} numbers, got {show(value)}")
    if len(value) != n:
        raise f.fail(key, f"must have {n} numbers (one per variable), got {len(value)}")
    return np.array([f.as_number(v, key) for v in value], float)


def _variables(value: Any, f: Fields) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise f.fail("variables", "must be a non-empty list of names, e.g. [x, y]")
    names = []
    for v in value:
        if not isinstance(v, str) or not v.isidentifier():
            raise f.fail("variables", f"must hold identifiers, got {show(v)}")
        if v.startswith("__") or v in _RESERVED:
            raise f.fail("variables", f"cannot use the reserved name '{v}'")
        if v in names:
            raise f.fail("variables", f"names '{v}' twice")
        names.append(v)
    if len(names) > 1000:
        raise f.fail("variables", "has more than 1000 names; use dim and sum(...) instead")
    return tuple(names)


def _expression_text(f: Fields) -> str:
    if "expression" not in f:
        raise f.fail("expression", "is required (the objective as a formula)")
    value = f.get("expression")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise f.fail("expression", f"must be a string, got {show(value)}")
    return str(value)


def _check_stencil_ranges(tree: expr.Node, n: int, f: Fields) -> None:
    for _, node in expr.linear_sums(tree)[0]:
        (alo, blo), (ahi, bhi), term = node[1], node[2], node[3]
        lo, hi = alo * n + blo, ahi * n + bhi
        offsets = expr.stencil_offsets(term) or [0]
        if hi < lo:
            raise f.fail("expression", f"sum(i, {lo}, {hi}, ...) is empty for dim = {n}")
        if lo + min(offsets) < 0 or hi + max(offsets) > n - 1:
            raise f.fail(
                "expression",
                f"x[i + k] leaves 0..dim-1 for i in {lo}..{hi} with dim = {n} "
                f"(offsets {min(offsets)}..{max(offsets)})",
            )


def _minimum(f: Fields, n: int) -> tuple[tuple[np.ndarray, ...], float | None]:
    block = f.mapping("minimum", "must be a mapping {x: [...], value: f}")
    block.unknown_keys(("x", "value"))
    mins: list[np.ndarray] = []
    if "x" in block:
        xs = block.get("x")
        if isinstance(xs, list) and xs and all(isinstance(v, list) for v in xs):
            mins = [_point(v, n, f, "minimum.x") for v in xs]
        else:
            mins = [_point(xs, n, f, "minimum.x")]
    val = block.number("value") if "value" in block else None
    return tuple(mins), val


def _target(f: Fields, min_value: float | None) -> float | None:
    value = f.get("target")
    if value is None:
        return None if min_value is None else min_value + 1e-6
    if not isinstance(value, Mapping):
        return f.as_number(value, "target")
    block = f.nested("target", value)
    block.unknown_keys(("gap",))
    if "gap" not in block:
        raise f.fail("target", "must be a number or {gap: g}")
    gap = block.number("gap")
    if gap < 0:
        raise block.fail("gap", f"must be >= 0, got {gap:g}")
    if min_value is None:
        raise f.fail("target", "{gap: g} needs a known minimum value")
    return min_value + gap


def _domain(
    value: Any, n: int, start: np.ndarray, mins: tuple[np.ndarray, ...], f: Fields
) -> np.ndarray:
    if value is None:
        pts = np.vstack([start, *mins])
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        pad = np.maximum(0.2 * (hi - lo), 1.0)
        return np.column_stack([lo - pad, hi + pad])
    if not isinstance(value, list) or not value:
        raise f.fail("domain", "must be [lo, hi] or one [lo, hi] per variable")
    if all(not isinstance(v, list) for v in value):
        if len(value) != 2:
            raise f.fail("domain", "must be [lo, hi] or one [lo, hi] per variable")
        # one pair for every variable: read once (a vector problem may have 1e7 variables)
        pair = [f.as_number(value[0], "domain"), f.as_number(value[1], "domain")]
        out = np.tile(np.array(pair, float), (n, 1))
    else:
        if len(value) != n or not all(isinstance(v, list) and len(v) == 2 for v in value):
            raise f.fail("domain", f"must have {n} pairs [lo, hi], one per variable")
        out = np.array([[f.as_number(a, "domain"), f.as_number(b, "domain")] for a, b in value])
    if np.any(out[:, 0] >= out[:, 1]):
        raise f.fail("domain", "needs lo < hi for every variable")
    return out


def _suggested(value: Any, f: Fields) -> dict[str, dict[str, Any]]:
    if not isinstance(value, Mapping):
        raise f.fail("suggested", "must map optimizer names to {hyperparameter: value}")
    out: dict[str, dict[str, Any]] = {}
    for opt, hps in value.items():
        if not isinstance(hps, Mapping):
            raise f.fail(f"suggested.{opt}", "must be a mapping {hyperparameter: value}")
        out[str(opt)] = dict(hps)
    return out


def _data_problem(f: Fields) -> tuple[np.ndarray, dict[str, Any], tuple[str, ...]]:
    """The data set and the model of a data problem, and the model's weights' names."""
    from adambench.datasets import design, two_moons

    data = f.mapping("data", "must be a mapping", {})
    data.unknown_keys(("generator", "n_samples", "noise", "data_seed"))
    data.choice("generator", ("two_moons",), "two_moons")
    n_samples = data.integer("n_samples", 2, 10_000_000, 200)
    noise = data.number("noise", 0.2)
    if noise < 0:
        raise data.fail("noise", f"must be >= 0, got {noise:g}")
    seed = data.integer("data_seed", 0, 2**63 - 1, 0)
    model = _model(f, n_samples)
    points, labels = two_moons(n_samples, noise, seed)
    table = design(points, labels, model["bias"])
    default_vars = ["w1", "w2"] + (["b"] if model["bias"] else [])
    variables = _variables(f.get("variables", default_vars), f)
    if len(variables) != table.shape[1] - 1:
        raise f.fail("variables", f"must name {table.shape[1] - 1} weights, got {len(variables)}")
    model.update(n_samples=n_samples, noise=noise, data_seed=seed)
    return table, model, variables


def _model(f: Fields, n_samples: int) -> dict[str, Any]:
    """The ``model`` block of a data problem: logistic regression settings."""
    model = f.mapping("model", "must be a mapping", {})
    model.unknown_keys(("kind", "bias", "l2", "batch_size"))
    model.choice("kind", ("logistic",), "logistic")
    bias = model.boolean("bias", False)
    l2 = model.number("l2", 1e-3)
    if l2 < 0:
        raise model.fail("l2", f"must be >= 0, got {l2:g}")
    batch = model.integer("batch_size", 1, n_samples, 16)
    return {"bias": bias, "l2": l2, "batch_size": batch}


def _logreg_optimum(shape: _Shape, where: str) -> tuple[tuple[np.ndarray, ...], float, int]:
    """The minimiser and minimum of a data problem, by Newton's method, and its steps."""
    from adambench.datasets import logreg_loss, logreg_optimum

    model, n = shape.model, shape.n
    n_reg = n - (1 if model["bias"] else 0)
    # Newton's method fails on extreme data (noise 1e200 overflows the Hessian) and on
    # separable data without l2 (the Hessian goes singular, the weights to infinity).
    steps_taken = 0
    try:
        with np.errstate(all="ignore"):
            w_opt, steps_taken = logreg_optimum(shape.data, model["l2"], n_reg)
            min_value = logreg_loss(w_opt, shape.data, model["l2"], n_reg)
    except np.linalg.LinAlgError:
        w_opt, min_value = np.full(n, np.nan), math.nan
    if not (np.all(np.isfinite(w_opt)) and math.isfinite(min_value)):
        raise ConfigError(
            "the optimum of this data problem cannot be computed (no finite minimiser: "
            "separable data with l2 = 0, or extreme noise); use model.l2 > 0 and a moderate "
            "data.noise",
            where=where,
        )
    return (w_opt,), min_value, steps_taken


def _batch_notes(size: int, batch: int) -> list[str]:
    """A note when the last minibatch of an epoch is shorter than the others."""
    last = size % batch
    if not last:
        return []
    return [
        f"{size} samples = {size // batch} batches of "
        f"{batch} + 1 of {last} per epoch (the short batch is kept)"
    ]


def list_problems() -> list[Problem]:
    """Every shipped problem, loaded (cheap: no sympy, no numba)."""
    return [load_problem(name) for name in builtin_files()]
