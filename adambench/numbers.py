"""Numbers for people and for JSON: how a value is shown, and the finite-or-null rule of JSON.

:func:`format_number` is the one formatter of numbers for people: every table, line, message
and picture label names its style (:data:`STYLES`), so a format lives in one place.
:func:`delta_text`, :func:`rate_delta_text` and :func:`distinct_number` show a value against
another.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

__all__ = [
    "STYLES",
    "delta_text",
    "distinct_number",
    "finite_or_none",
    "format_number",
    "json_value",
    "nonnegative_number",
    "number_or_none",
    "rate_delta_text",
]


def finite_or_none(v: float | None) -> float | None:
    """A value as a float for JSON, None when missing or not finite (JSON has no NaN)."""
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def number_or_none(v: Any) -> float | None:
    """A finite number as a float; None for anything else (NaN, inf, bools, text)."""
    if v is None or isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(v) else None


def nonnegative_number(
    value: Any, error: Callable[[str], Exception], shown: str | None = None
) -> float:
    """``value`` as a float when it is a finite number >= 0 (an int or a float, not a bool);
    else raises ``error(message)`` with the message ``must be a number >= 0, got ...``: the
    value shown as ``shown`` (how its file wrote it) or else as its repr.

    ``error`` builds the caller's error from the message (``--noise`` prefixes the flag, a
    file names its key), so every check of a gradient noise says the same thing.
    """
    number = number_or_none(value)
    if number is None or number < 0:
        raise error(f"must be a number >= 0, got {repr(value) if shown is None else shown}")
    return number


def json_value(v: Any) -> Any:
    """A value (or a dict of them) with non-finite floats as None, for JSON."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: json_value(x) for k, x in v.items()}
    return v


def _scientific_outside(v: float, inside: str, outside: str) -> str:
    """``v`` in format ``outside`` when below 1e-3 or from 1e5 up in size (0 excepted), else
    in ``inside``: the tables' way of keeping a number short."""
    a = abs(v)
    return f"{v:{outside}}" if a != 0 and (a < 1e-3 or a >= 1e5) else f"{v:{inside}}"


def _table(v: float) -> str:
    return _scientific_outside(v, ".4g", ".2e")


def _check(v: float) -> str:
    if isinstance(v, float) and v.is_integer() and 1 <= abs(v) < 1e9:
        return f"{int(v)}"
    return _table(v)


def _spread(v: float) -> str:
    return _scientific_outside(v, ".2g", ".0e")


def _sweep_spread(v: float) -> str:
    return _scientific_outside(v, ".0f" if abs(v) >= 100 else ".2g", ".0e")


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return f"{v:g}"


def _ratio(r: float) -> str:
    return f"{r:.1f}x" if r < 100 else f"{r:.3g}x"


#: The named styles of :func:`format_number`: each is the format of what it shows.
STYLES: dict[str, Callable[[Any], str]] = {
    # The run table's cells and the sweep tables' values: at most ~9 characters, 4 significant
    # digits, scientific when small or big.
    "table": _table,
    # Measured values and bounds of check and compare (and their messages): as "table", but a
    # whole number (from 1 up) is shown whole.
    "check": _check,
    # Quartiles under a median in the run table: one or two significant digits.
    "spread": _spread,
    # Quartiles in the sweep tables: two significant digits, whole numbers from 100 up.
    "sweep_spread": _sweep_spread,
    # Step counts (medians may be halves): rounded to a whole step.
    "steps": lambda v: f"{v:.0f}",
    # A fraction (success rate, diverged rate) as a whole percentage.
    "percent": lambda v: f"{100 * v:.0f}%",
    # The target in a picture's legend: four significant digits, as the tables show values.
    "legend": lambda v: f"{v:.4g}",
    # How many times fewer steps, in the verdict: ``2.5x``, ``130x``.
    "ratio": _ratio,
    # Values as given (hyperparameters, targets, settings): Python's ``g``; flags as true/false.
    "value": _value,
    # `show`'s minimum value and target: six significant digits.
    "detail": lambda v: f"{v:.6g}",
    # Numbers in a picture's axis labels: four significant digits.
    "label": lambda v: f"{v:.4g}",
    # Tick labels of a contour panel's colour bar: three significant digits.
    "colorbar": lambda v: f"{v:.3g}",
    # Values written in the cells of a sweep heatmap picture: two significant digits.
    "cell": lambda v: f"{v:.2g}",
    # How long a check took, in its summary line: ``0.42s``.
    "duration": lambda v: f"{v:.2f}s",
    # The cold compile time beside it: ``3.1s``.
    "compile_time": lambda v: f"{v:.1f}s",
}


def format_number(v: Any, style: str = "check") -> str:
    """A number for people in the named :data:`STYLES` format; ``–`` for None (no value).

    The default, ``"check"``, is the format of check and compare values and of the messages
    that quote a number.
    """
    if v is None:
        return "–"
    return STYLES[style](v)


def distinct_number(v: float, other: float, style: str = "check") -> str:
    """``v`` with enough digits to tell it from ``other`` (-0.249999999, not -0.25): the
    ``style`` format (:func:`format_number`) when that already shows the two apart, else as
    many significant digits as it takes (at least 4). Two different values never come back as
    the same text: ``"check"`` shows 1.234e-06 and 1.235e-06 both as 1.23e-06."""
    shown = format_number(v, style)
    if v == other or shown != format_number(other, style):
        return shown
    for digits in range(4, 18):
        text = f"{v:.{digits}g}"
        if text != f"{other:.{digits}g}":
            return text
    return repr(v)


def delta_text(new: float | None, ref: float | None) -> str:
    """How far ``new`` is from ``ref``: a relative change (``-21.4%``) when within a factor of
    ten, else a ratio (``×1.6e-24``), else an absolute difference for values of mixed sign."""
    if new is None or ref is None or not (math.isfinite(new) and math.isfinite(ref)):
        return ""
    if new == ref:
        return "0"
    if ref != 0:
        ratio = new / ref
        if 0.1 < ratio < 10:
            rel = (new - ref) / abs(ref)
            return f"{100 * rel:+.1f}%" if abs(rel) >= 1e-3 else f"{100 * rel:+.1g}%"
        if ratio > 0:
            return f"×{ratio:.2g}"
    return f"{new - ref:+.2g}"


def rate_delta_text(new: float, ref: float) -> str:
    """A difference of two fractions, in percentage points (shown as %): ``+25%``, ``0``."""
    d = 100 * (new - ref)
    return "0" if d == 0 else f"{d:+.0f}%"
