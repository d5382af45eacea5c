"""Grid axes: ``lr=1e-3:1:log7``, ``beta1=0.5,0.9`` and their YAML forms, parsed and validated."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from adambench.errors import UsageError
from adambench.limits import MAX_AXIS_POINTS, MAX_RUNS
from adambench.numbers import format_number
from adambench.optimizers.spec import BOOL_WORDS

if TYPE_CHECKING:
    pass

__all__ = [
    "GRID_DIGITS",
    "HELD_OUT_METRICS",
    "LOG_DIGITS",
    "MAX_AXIS_POINTS",
    "MAX_HEATMAPS",
    "MAX_RUNS",
    "METRICS",
    "METRIC_NAMES",
    "Axis",
    "Value",
    "make_axis",
    "parse_axis",
    "parse_values",
    "show_value",
]


#: Heatmaps rendered at most (one per base and combination of further axes).
MAX_HEATMAPS = 24


METRICS = ("final_loss", "best_loss", "steps_to_target", "success_rate", "test_loss", "test_error")

#: The metrics measured on a data problem's held-out rows, at the last iterate (test_error is
#: 1 - test accuracy, so that lower is better as for every other metric but success_rate).
HELD_OUT_METRICS = ("test_loss", "test_error")


METRIC_NAMES = {
    "final_loss": "final loss",
    "best_loss": "best loss",
    "steps_to_target": "steps to target",
    "success_rate": "success rate",
    "test_loss": "test loss",
    "test_error": "test error",
}


#: Significant digits range values are rounded to (platform-independent grids).
GRID_DIGITS = 12


#: Significant digits of log-spaced values (more where needed to keep them apart).
LOG_DIGITS = 3


Value = float | bool | str

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Axis:
    """One swept hyperparameter: its name, optional optimizer scope and values, in order."""

    name: str
    optimizer: str | None
    values: tuple[Value, ...]
    spec: str  # as written, e.g. "1e-3:1:log7"
    scale: str  # "log", "linear" or "list"

    @property
    def key(self) -> str:
        return f"{self.optimizer}.{self.name}" if self.optimizer else self.name

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "optimizer": self.optimizer,
            "spec": self.spec,
            "scale": self.scale,
            "values": list(self.values),
        }


_KEY = re.compile(r"^(?:([A-Za-z_][\w\-]*)\.)?([A-Za-z_]\w*)$")


def show_value(v: Any) -> str:
    """A grid value as tables and labels print it (flags as true/false, numbers with :g)."""
    if isinstance(v, (bool, np.bool_)):
        return format_number(bool(v), "value")
    if isinstance(v, (int, float, np.floating, np.integer)):
        return format_number(float(v), "value")
    return str(v)


def _round(v: float, digits: int = GRID_DIGITS) -> float:
    return float(f"{v:.{digits}g}")


def _number(text: str, where: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise UsageError(f"'{text}' is not a number", where=where) from None
    if not math.isfinite(v):
        raise UsageError(f"'{text}' is not a finite number", where=where)
    return v


def _scalar(item: Any, where: str) -> Value:
    """One explicit grid value: a number or a flag word."""
    if isinstance(item, bool):
        return item
    if isinstance(item, (int, float)):
        v = float(item)
        if not math.isfinite(v):
            raise UsageError(f"{item!r} is not a finite number", where=where)
        return v
    if isinstance(item, str):
        t = item.strip()
        if not t:
            raise UsageError("empty value in the list (a comma too many?)", where=where)
        if t.lower() in BOOL_WORDS:
            return BOOL_WORDS[t.lower()]
        try:
            float(t)
        except ValueError:
            if _NAME.match(t):  # a choice such as schedule=constant,cosine, checked when resolved
                return t
            hint = " (a range is a:b:n or a:b:logn, e.g. 1e-3:1:log7)" if ".." in t else ""
            raise UsageError(
                f"'{t}' is not a number, true/false or a name{hint}", where=where
            ) from None
        return _number(t, where)
    raise UsageError(f"{item!r} is not a number, true/false or a name", where=where)


def parse_values(spec: Any, where: str = "grid") -> tuple[tuple[Value, ...], str]:
    """The values of one axis and its scale from a spec: ``a:b:n``, ``a:b:logn``, a list.

    ``spec`` is a string (as on the command line), a number, or a list (as in a YAML file).
    Ranges include both ends and need n >= 2 distinct points.
    """
    if isinstance(spec, (list, tuple)):
        if not spec:
            raise UsageError("empty list of values", where=where)
        values = tuple(_scalar(v, where) for v in spec)
        scale = "list"
    elif isinstance(spec, (bool, int, float)):
        values, scale = (_scalar(spec, where),), "list"
    elif isinstance(spec, str) and ":" in spec:
        values, scale = _parse_range(spec.strip(), where)
    elif isinstance(spec, str):
        if not spec.strip():
            raise UsageError("no values given", where=where)
        values = tuple(_scalar(v, where) for v in spec.split(","))
        scale = "list"
    else:
        raise UsageError(f"expected a range 'a:b:n' or a list of values, got {spec!r}", where=where)
    if len(values) > MAX_AXIS_POINTS:
        raise UsageError(f"{len(values)} values; at most {MAX_AXIS_POINTS} per axis", where=where)
    seen: set[Any] = set()
    for v in values:
        if v in seen:
            raise UsageError(f"value {show_value(v)} appears twice", where=where)
        seen.add(v)
    return values, scale


def _parse_range(text: str, where: str) -> tuple[tuple[float, ...], str]:
    parts = text.split(":")
    if len(parts) != 3:
        raise UsageError(f"range '{text}' must be a:b:n or a:b:logn", where=where)
    a, b = _number(parts[0].strip(), where), _number(parts[1].strip(), where)
    count = parts[2].strip()
    log = count.lower().startswith("log")
    digits = count[3:] if log else count
    if not digits.isdigit():
        raise UsageError(
            f"range '{text}': the count '{count}' must be an integer n or logn", where=where
        )
    n = int(digits)
    if n > MAX_AXIS_POINTS:
        raise UsageError(f"range '{text}' has {n} points; at most {MAX_AXIS_POINTS}", where=where)
    if n < 2:
        raise UsageError(
            f"range '{text}' is empty: it needs at least 2 points (use a list for one value)",
            where=where,
        )
    if a == b:
        raise UsageError(f"range '{text}' is empty: it starts and ends at {a:g}", where=where)
    if log:
        if a <= 0 or b <= 0:
            raise UsageError(
                f"log range '{text}' must have both ends > 0 (log spacing cannot reach zero "
                "or negative values)",
                where=where,
            )
        inner = [float(v) for v in np.logspace(math.log10(a), math.log10(b), n)[1:-1]]
        # Log-spaced step sizes read best with 3 significant digits (0.00316, not
        # 0.00316227766017); more only where 3 would merge or reorder neighbours.
        for digits in range(LOG_DIGITS, GRID_DIGITS + 1):
            values = [a] + [_round(v, digits) for v in inner] + [b]
            steps = np.diff(values)
            if np.all(steps > 0) or np.all(steps < 0):
                break
        return tuple(values), "log"
    inner = [float(v) for v in np.linspace(a, b, n)[1:-1]]
    return tuple([a] + [_round(v) for v in inner] + [b]), "linear"


def parse_axis(text: str) -> Axis:
    """One ``--grid`` option: ``[optimizer.]name=values``."""
    where = f"--grid {text}"
    key, eq, spec = text.partition("=")
    if not eq:
        raise UsageError("expected NAME=VALUES, e.g. lr=1e-3:1:log7", where=where)
    return make_axis(key.strip(), spec, where)


def make_axis(key: str, spec: Any, where: str) -> Axis:
    """An axis from its key (``lr``, ``adam.beta1``) and spec (string, number or list)."""
    m = _KEY.match(key)
    if not m:
        raise UsageError(
            f"'{key}' is not a hyperparameter name (NAME or OPTIMIZER.NAME)", where=where
        )
    values, scale = parse_values(spec, where)
    text = spec if isinstance(spec, str) else ",".join(show_value(v) for v in values)
    return Axis(m.group(2), m.group(1), values, text.strip(), scale)
