"""Numbers for people and for JSON: how a value is shown, and the finite-or-null rule of JSON."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["delta_text", "finite_or_none", "format_number", "json_value", "number_or_none"]


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


def json_value(v: Any) -> Any:
    """A value (or a dict of them) with non-finite floats as None, for JSON."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: json_value(x) for k, x in v.items()}
    return v


def format_number(v: float | None) -> str:
    """A number in at most ~9 characters (the table's format)."""
    if v is None:
        return "–"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e9 and abs(v) >= 1:
        return f"{int(v)}"
    a = abs(v)
    if a != 0 and (a < 1e-3 or a >= 1e5):
        return f"{v:.2e}"
    return f"{v:.4g}"


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
