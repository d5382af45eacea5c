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
from adambench.limits import MAX_DIM, MAX_STEPS
from adambench.problem_files import builtin_files

__all__ = [
    "MAX_DIM",
    "MAX_STEPS",
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


# ---------------------------------------------------------------------------------------------
# Validation helpers: each names the file and the key.


def _fail(where: str, key: str, message: str) -> ConfigError:
    return ConfigError(f"'{key}' {message}", where=where)


def _number(value: Any, where: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(where, key, f"must be a number, got {_show(value)}")
    x = float(value)
    if not math.isfinite(x):
        raise _fail(where, key, f"must be a finite number, got {value}")
    return x


def _int(value: Any, where: str, key: str, low: int, high: int) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(where, key, f"must be an integer, got {_show(value)}")
    if not low <= value <= high:
        raise _fail(where, key, f"must be between {low} and {high:g}, got {value}")
    return value


def _show(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) < 40 else text[:37] + '...'}"


def _point(value: Any, n: int, where: str, key: str) -> np.ndarray:
    """A point: a list of n numbers, or a rule {fill: v} / {pattern: [a, b, ...]}."""
    if isinstance(value, Mapping):
        if set(value) == {"fill"}:
            return np.full(n, _number(value["fill"], where, f"{key}.fill"))
        if set(value) == {"pattern"} and isinstance(value["pattern"], list) and value["pattern"]:
            pat = [_number(v, where, f"{key}.pattern") for v in value["pattern"]]
            return np.resize(np.array(pat, float), n)
        raise _fail(where, key, "must be a list of numbers, {fill: v} or {pattern: [a, b, ...]}")
    if not isinstance(value, list):
        raise _fail(where, key, f"must be a list of {n} numbers, got {_show(value)}")
    if len(value) != n:
        raise _fail(where, key, f"must have {n} numbers (one per variable), got {len(value)}")
    return np.array([_number(v, where, key) for v in value], float)


def _check_keys(raw: Mapping[str, Any], allowed: Mapping[str, str], where: str) -> None:
    for key in raw:
        if not isinstance(key, str):
            raise ConfigError(f"keys must be strings, got {_show(key)}", where=where)
        if key not in allowed:
            hint = did_you_mean(key, allowed)
            raise ConfigError(f"unknown key '{key}'{hint}", where=where)


def _variables(raw: Mapping[str, Any], where: str) -> tuple[str, ...]:
    value = raw.get("variables")
    if not isinstance(value, list) or not value:
        raise _fail(where, "variables", "must be a non-empty list of names, e.g. [x, y]")
    names = []
    for v in value:
        if not isinstance(v, str) or not v.isidentifier():
            raise _fail(where, "variables", f"must hold identifiers, got {_show(v)}")
        if v.startswith("__") or v in _RESERVED:
            raise _fail(where, "variables", f"cannot use the reserved name '{v}'")
        if v in names:
            raise _fail(where, "variables", f"names '{v}' twice")
        names.append(v)
    if len(names) > 1000:
        raise _fail(where, "variables", "has more than 1000 names; use dim and sum(...) instead")
    return tuple(names)


def problem_from_dict(
    raw: Any, where: str, dim: int | None = None, source: str = "user"
) -> Problem:
    """Validate a problem file's content and build the :class:`Problem`."""
    if not isinstance(raw, Mapping):
        raise ConfigError(
            "a problem file must be a mapping of keys (name, variables, ...)", where=where
        )
    is_data = "data" in raw or "model" in raw
    _check_keys(raw, _DATA_KEYS if is_data else _EXPRESSION_KEYS, where)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _fail(where, "name", "is required and must be a non-empty string")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise _fail(where, "description", "must be a string")
    if "start" not in raw:
        raise _fail(where, "start", "is required (one number per variable)")

    notes: list[str] = []
    data = None
    model: dict[str, Any] = {}
    tree = None
    expression = None
    minimizers: tuple[np.ndarray, ...] = ()
    min_value: float | None = None

    if is_data:
        kind = "logreg"
        data, model, variables = _data_problem(raw, where)
        n = len(variables)
    elif "dim" in raw:
        kind = "vector"
        if "variables" in raw:
            raise ConfigError("give either 'variables' or 'dim', not both", where=where)
        n = _int(raw["dim"], where, "dim", 1, MAX_DIM)
        variables = ()
        expression = _expression_text(raw, where)
        tree = expr.parse(
            expression, expr.Grammar(names={}, vector="x"), where=f"{where}: expression"
        )
        try:
            from adambench.expr import linear_sums

            sums, _ = linear_sums(tree)
        except ValueError as exc:
            raise _fail(where, "expression", str(exc)) from None
        if not sums:
            raise _fail(where, "expression", "has no sum(i, lo, hi, term) over x")
    else:
        kind = "expression"
        if "variables" not in raw:
            raise _fail(where, "variables", "is required (or dim for a vector problem)")
        variables = _variables(raw, where)
        n = len(variables)
        expression = _expression_text(raw, where)
        names = {v: f"v{k}" for k, v in enumerate(variables)}
        tree = expr.parse(expression, expr.Grammar(names=names), where=f"{where}: expression")

    if dim is not None:
        if kind != "vector":
            raise ProblemError(
                f"problem '{name}' has fixed variables; --dim applies to vector problems"
            )
        if isinstance(dim, bool) or not isinstance(dim, int) or not 1 <= dim <= MAX_DIM:
            raise ProblemError(f"--dim must be between 1 and {MAX_DIM:g}, got {dim!r}")
        n = dim
    if kind == "vector":
        _check_stencil_ranges(tree, n, where)

    start = _point(raw["start"], n, where, "start")

    if "minimum" in raw:
        minimizers, min_value = _minimum(raw["minimum"], n, where)
    if kind == "logreg":
        from adambench.datasets import logreg_loss, logreg_optimum

        n_reg = n - (1 if model["bias"] else 0)
        # Newton's method fails on extreme data (noise 1e200 overflows the Hessian) and on
        # separable data without l2 (the Hessian goes singular, the weights to infinity).
        try:
            with np.errstate(all="ignore"):
                w_opt, steps_taken = logreg_optimum(data, model["l2"], n_reg)
                min_value = logreg_loss(w_opt, data, model["l2"], n_reg)
        except np.linalg.LinAlgError:
            w_opt, min_value = np.full(n, np.nan), math.nan
        if not (np.all(np.isfinite(w_opt)) and math.isfinite(min_value)):
            raise ConfigError(
                "the optimum of this data problem cannot be computed (no finite minimiser: "
                "separable data with l2 = 0, or extreme noise); use model.l2 > 0 and a moderate "
                "data.noise",
                where=where,
            )
        minimizers = (w_opt,)
        notes.append(f"optimum by Newton's method on the full-batch loss ({steps_taken} steps)")

    target = _target(raw.get("target"), min_value, where)
    domain = _domain(raw.get("domain"), n, start, minimizers, where)
    steps = _int(raw.get("steps", 1000), where, "steps", 1, MAX_STEPS)
    noise = _number(raw.get("gradient_noise", 0.0), where, "gradient_noise")
    if noise < 0:
        raise _fail(where, "gradient_noise", f"must be >= 0, got {noise:g}")
    suggested = _suggested(raw.get("suggested", {}), where)
    contour = raw.get("contour", "auto")
    if contour not in ("auto", "log", "linear"):
        raise _fail(where, "contour", f"must be auto, log or linear, got {_show(contour)}")
    extent = [1.0, float(np.max(np.abs(domain))), float(np.max(np.abs(start)))]
    extent += [float(np.max(np.abs(m))) for m in minimizers]
    scale = _number(raw["scale"], where, "scale") if "scale" in raw else max(extent)
    if scale <= 0:
        raise _fail(where, "scale", f"must be > 0, got {scale:g}")
    if kind == "logreg" and data is not None:
        size = data.shape[0]
        last = size % model["batch_size"]
        if last:
            notes.append(
                f"{size} samples = {size // model['batch_size']} batches of "
                f"{model['batch_size']} + 1 of {last} per epoch (the short batch is kept)"
            )

    return Problem(
        name=name.strip(),
        description=description.strip(),
        kind=kind,
        variables=variables,
        dim=n,
        expression=expression,
        tree=tree,
        start=start,
        minimizers=minimizers,
        min_value=min_value,
        target=target,
        domain=domain,
        steps=steps,
        gradient_noise=noise,
        suggested=suggested,
        contour=contour,
        scale=scale,
        source=source,
        data=data,
        model=model,
        notes=tuple(notes),
    )


def _expression_text(raw: Mapping[str, Any], where: str) -> str:
    if "expression" not in raw:
        raise _fail(where, "expression", "is required (the objective as a formula)")
    value = raw["expression"]
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _fail(where, "expression", f"must be a string, got {_show(value)}")
    return str(value)


def _check_stencil_ranges(tree: expr.Node, n: int, where: str) -> None:
    from adambench.expr import linear_sums

    for _, node in linear_sums(tree)[0]:
        (alo, blo), (ahi, bhi), term = node[1], node[2], node[3]
        lo, hi = alo * n + blo, ahi * n + bhi
        offsets = expr.stencil_offsets(term) or [0]
        if hi < lo:
            raise _fail(where, "expression", f"sum(i, {lo}, {hi}, ...) is empty for dim = {n}")
        if lo + min(offsets) < 0 or hi + max(offsets) > n - 1:
            raise _fail(
                where,
                "expression",
                f"x[i + k] leaves 0..dim-1 for i in {lo}..{hi} with dim = {n} "
                f"(offsets {min(offsets)}..{max(offsets)})",
            )


def _minimum(value: Any, n: int, where: str) -> tuple[tuple[np.ndarray, ...], float | None]:
    if not isinstance(value, Mapping):
        raise _fail(where, "minimum", "must be a mapping {x: [...], value: f}")
    _check_keys(value, {"x": "", "value": ""}, f"{where}: minimum")
    mins: list[np.ndarray] = []
    if "x" in value:
        xs = value["x"]
        if isinstance(xs, list) and xs and all(isinstance(v, list) for v in xs):
            mins = [_point(v, n, where, "minimum.x") for v in xs]
        else:
            mins = [_point(xs, n, where, "minimum.x")]
    val = _number(value["value"], where, "minimum.value") if "value" in value else None
    return tuple(mins), val


def _target(value: Any, min_value: float | None, where: str) -> float | None:
    if value is None:
        return None if min_value is None else min_value + 1e-6
    if isinstance(value, Mapping):
        _check_keys(value, {"gap": ""}, f"{where}: target")
        if "gap" not in value:
            raise _fail(where, "target", "must be a number or {gap: g}")
        gap = _number(value["gap"], where, "target.gap")
        if gap < 0:
            raise _fail(where, "target.gap", f"must be >= 0, got {gap:g}")
        if min_value is None:
            raise _fail(where, "target", "{gap: g} needs a known minimum value")
        return min_value + gap
    return _number(value, where, "target")


def _domain(
    value: Any, n: int, start: np.ndarray, mins: tuple[np.ndarray, ...], where: str
) -> np.ndarray:
    if value is None:
        pts = np.vstack([start, *mins])
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        pad = np.maximum(0.2 * (hi - lo), 1.0)
        return np.column_stack([lo - pad, hi + pad])
    if not isinstance(value, list) or not value:
        raise _fail(where, "domain", "must be [lo, hi] or one [lo, hi] per variable")
    if all(not isinstance(v, list) for v in value):
        if len(value) != 2:
            raise _fail(where, "domain", "must be [lo, hi] or one [lo, hi] per variable")
        box = [value] * n
    else:
        if len(value) != n or not all(isinstance(v, list) and len(v) == 2 for v in value):
            raise _fail(where, "domain", f"must have {n} pairs [lo, hi], one per variable")
        box = value
    out = np.array([[_number(a, where, "domain"), _number(b, where, "domain")] for a, b in box])
    if np.any(out[:, 0] >= out[:, 1]):
        raise _fail(where, "domain", "needs lo < hi for every variable")
    return out


def _suggested(value: Any, where: str) -> dict[str, dict[str, Any]]:
    if not isinstance(value, Mapping):
        raise _fail(where, "suggested", "must map optimizer names to {hyperparameter: value}")
    out: dict[str, dict[str, Any]] = {}
    for opt, hps in value.items():
        if not isinstance(hps, Mapping):
            raise _fail(where, f"suggested.{opt}", "must be a mapping {hyperparameter: value}")
        out[str(opt)] = dict(hps)
    return out


def _data_problem(
    raw: Mapping[str, Any], where: str
) -> tuple[np.ndarray, dict[str, Any], tuple[str, ...]]:
    from adambench.datasets import design, two_moons

    data_cfg = raw.get("data", {})
    if not isinstance(data_cfg, Mapping):
        raise _fail(where, "data", "must be a mapping")
    _check_keys(
        data_cfg, {"generator": "", "n_samples": "", "noise": "", "data_seed": ""}, f"{where}: data"
    )
    gen = data_cfg.get("generator", "two_moons")
    if gen != "two_moons":
        raise _fail(where, "data.generator", f"must be two_moons, got {_show(gen)}")
    n_samples = _int(data_cfg.get("n_samples", 200), where, "data.n_samples", 2, 10_000_000)
    noise = _number(data_cfg.get("noise", 0.2), where, "data.noise")
    if noise < 0:
        raise _fail(where, "data.noise", f"must be >= 0, got {noise:g}")
    seed = _int(data_cfg.get("data_seed", 0), where, "data.data_seed", 0, 2**63 - 1)

    model_cfg = raw.get("model", {})
    if not isinstance(model_cfg, Mapping):
        raise _fail(where, "model", "must be a mapping")
    _check_keys(model_cfg, {"kind": "", "bias": "", "l2": "", "batch_size": ""}, f"{where}: model")
    mkind = model_cfg.get("kind", "logistic")
    if mkind != "logistic":
        raise _fail(where, "model.kind", f"must be logistic, got {_show(mkind)}")
    bias = model_cfg.get("bias", False)
    if not isinstance(bias, bool):
        raise _fail(where, "model.bias", f"must be true or false, got {_show(bias)}")
    l2 = _number(model_cfg.get("l2", 1e-3), where, "model.l2")
    if l2 < 0:
        raise _fail(where, "model.l2", f"must be >= 0, got {l2:g}")
    batch = _int(model_cfg.get("batch_size", 16), where, "model.batch_size", 1, n_samples)

    points, labels = two_moons(n_samples, noise, seed)
    data = design(points, labels, bias)
    default_vars = ["w1", "w2"] + (["b"] if bias else [])
    variables = _variables({"variables": raw.get("variables", default_vars)}, where)
    if len(variables) != data.shape[1] - 1:
        raise _fail(
            where, "variables", f"must name {data.shape[1] - 1} weights, got {len(variables)}"
        )
    model = {
        "bias": bias,
        "l2": l2,
        "batch_size": batch,
        "n_samples": n_samples,
        "noise": noise,
        "data_seed": seed,
    }
    return data, model, variables


def list_problems() -> list[Problem]:
    """Every shipped problem, loaded (cheap: no sympy, no numba)."""
    return [load_problem(name) for name in builtin_files()]
