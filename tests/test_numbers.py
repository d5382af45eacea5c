"""numbers.format_number: each named style keeps the format its table had (issue 13)."""

from __future__ import annotations

import math

import pytest

from adambench.numbers import (
    STYLES,
    distinct_number,
    format_number,
    nonnegative_number,
    rate_delta_text,
)

VALUES = [
    0.0, -0.0, 1.0, -1.0, 2.5, 99.5, 100.0, 123.456, 999.0, 1e5 - 1, 1e5, 123456.0, 1e9, 3e9,
    1e-3, 9.99e-4, 1.234e-7, -4.2e-5, 0.25, -0.249999999, 1 / 3, 42, 7, 0, 1e300, math.inf,
]  # fmt: skip


def _sci(v, inside, outside):
    a = abs(v)
    return f"{v:{outside}}" if a != 0 and (a < 1e-3 or a >= 1e5) else f"{v:{inside}}"


# The formats as the tables wrote them before they shared one formatter (the verdict now quotes
# the table's format; the legend's target has four digits; the colour bar's ticks are new).
BEFORE = {
    "table": lambda v: _sci(v, ".4g", ".2e"),
    "check": lambda v: (
        f"{int(v)}"
        if isinstance(v, float) and v.is_integer() and 1 <= abs(v) < 1e9
        else _sci(v, ".4g", ".2e")
    ),
    "spread": lambda v: _sci(v, ".2g", ".0e"),
    "sweep_spread": lambda v: _sci(v, ".0f" if abs(v) >= 100 else ".2g", ".0e"),
    "steps": lambda v: f"{v:.0f}",
    "percent": lambda v: f"{100 * v:.0f}%",
    "legend": lambda v: f"{v:.4g}",  # was .3g: a target of -0.2499 read -0.25 (issue 14)
    "colorbar": lambda v: f"{v:.3g}",
    "ratio": lambda v: f"{v:.1f}x" if v < 100 else f"{v:.3g}x",
    "value": lambda v: f"{v:g}",
    "detail": lambda v: f"{v:.6g}",
    "label": lambda v: f"{v:.4g}",
    "cell": lambda v: f"{v:.2g}",
    "duration": lambda v: f"{v:.2f}s",
    "compile_time": lambda v: f"{v:.1f}s",
}


@pytest.mark.parametrize("style", sorted(STYLES))
def test_every_style_keeps_its_format(style):
    for v in VALUES:
        assert format_number(v, style) == BEFORE[style](v), (style, v)


def test_missing_values_and_flags():
    assert all(format_number(None, style) == "–" for style in STYLES)
    assert format_number(True, "value") == "true" and format_number(False, "value") == "false"
    assert format_number(3.0) == "3"  # the default style is "check"
    with pytest.raises(KeyError):
        format_number(1.0, "no such style")


def test_distinct_number_and_rate_delta():
    assert distinct_number(-0.249999999, -0.25) == "-0.249999999"
    assert distinct_number(0.5, 0.7) == "0.5"
    assert distinct_number(2.0, 2.0) == "2"
    assert rate_delta_text(0.75, 0.5) == "+25%" and rate_delta_text(0.5, 0.5) == "0"


@pytest.mark.parametrize(
    ("a", "b"),
    [(1.231e-6, 1.232e-6), (1.2341e-6, 1.2342e-6), (0.00119837, 0.00119842), (-0.25, -0.2499)],
)
@pytest.mark.parametrize("style", ["check", "table"])
def test_distinct_number_never_shows_two_values_alike(a, b, style):
    # The check style shows 1.231e-06 and 1.232e-06 both as 1.23e-06: four digits of %g told
    # them apart, so the old rule fell back to that style and printed the same text twice.
    mine, theirs = distinct_number(a, b, style), distinct_number(b, a, style)
    assert mine != theirs
    assert abs(float(mine) - a) < abs(float(mine) - b)  # each reads as nearer to its own value
    assert abs(float(theirs) - b) < abs(float(theirs) - a)


def test_distinct_number_keeps_the_style_when_it_shows_the_difference():
    assert distinct_number(0.5, 0.7, "table") == format_number(0.5, "table")
    assert distinct_number(1.231e-6, 2.5e-6) == format_number(1.231e-6) == "1.23e-06"
    assert distinct_number(0.00119837, 0.00119842, "table") == "0.00119837"
    assert distinct_number(1.2341e-6, 1.2342e-6) == "1.2341e-06"


class _Refused(Exception):
    pass


@pytest.mark.parametrize(("value", "expected"), [(0, 0.0), (0.0, 0.0), (3, 3.0), (0.25, 0.25)])
def test_nonnegative_number_returns_the_float(value, expected):
    got = nonnegative_number(value, _Refused)
    assert got == expected and type(got) is float


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (-0.5, "-0.5"),
        (-1, "-1"),
        (True, "True"),  # YAML's `noise: true`: a bool is not a number
        (False, "False"),
        (math.nan, "nan"),
        (math.inf, "inf"),  # the file keys refuse inf, so --noise does too
        (-math.inf, "-inf"),
        ("0.5", "'0.5'"),  # text is the caller's to parse (a file's YAML 1.1 1e-3)
        (None, "None"),
    ],
)
def test_nonnegative_number_refuses_the_rest_through_the_callers_error(value, shown):
    with pytest.raises(_Refused) as e:
        nonnegative_number(value, _Refused)
    assert str(e.value) == f"must be a number >= 0, got {shown}"


def test_nonnegative_number_shows_the_value_as_the_caller_wrote_it():
    with pytest.raises(_Refused, match=r"^must be a number >= 0, got int -1$"):
        nonnegative_number(-1.0, _Refused, "int -1")
