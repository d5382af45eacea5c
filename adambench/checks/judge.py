"""Judging measured metrics against expectations and against a baseline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass
from adambench.checks.expectations import METRICS, OP_TEXT, Expectation, Tolerance
from adambench.checks.outcome import CheckItem
from adambench.numbers import delta_text, distinct_number, format_number, rate_delta_text

__all__ = ["against_baseline", "judge"]


def _missing(metric: str, metrics: Mapping[str, Any]) -> str:
    """Why a metric has no number (None means the worst value or not available)."""
    if metric == "steps_to_target":
        return "the median run did not reach the target"
    if metric in ("final_loss", "best_loss", "distance_to_minimum", "grad_norm", "test_loss"):
        return "the median run diverged"
    if metric in ("accuracy", "test_accuracy") and metrics.get("diverged_rate", 0) >= 0.5:
        return "the median run diverged"
    return "not available"


def _value_text(metric: str, v: float) -> str:
    return format_number(v, "percent" if metric in ("success_rate", "diverged_rate") else "check")


def judge(exp: Expectation, metrics: Mapping[str, Any]) -> CheckItem:
    """Hold the measured metrics to one expectation."""
    runs = int(metrics.get("runs", 1))
    if exp.op == "in":
        statuses: dict[str, int] = dict(metrics["statuses"])
        bad = {s: n for s, n in statuses.items() if s not in exp.statuses}
        message = ""
        if bad and runs == 1:
            message = f"expected the run to end {exp.text()}; it ended {next(iter(bad))}"
        elif bad:
            ended = ", ".join(f"{n} ended {s}" for s, n in sorted(bad.items()))
            message = f"expected every run to end {exp.text()}; {ended} (of {runs} runs)"
        return CheckItem(
            exp.key,
            "expect",
            "status",
            not bad,
            _status_text(statuses, runs),
            exp.text(),
            None,
            message=message,
        )
    v = metrics.get(exp.metric)
    rate = exp.metric in ("success_rate", "diverged_rate")
    what = exp.metric.replace("_", " ") if rate else exp.metric
    if runs > 1:
        what = f"{what} over {runs} seeds" if rate else f"median {what} over {runs} seeds"
    bound = f"{OP_TEXT[exp.op]} {_value_text(exp.metric, exp.value)}"
    if v is None:
        passed = False
        message = f"{_missing(exp.metric, metrics)}; expected {what} {bound}"
        delta = ""
    else:
        passed = {"<": v < exp.value, "<=": v <= exp.value, ">=": v >= exp.value}[exp.op]
        words = {"<": "below", "<=": "at most", ">=": "at least"}[exp.op]
        gap = _gap(exp.metric, v, metrics)
        message = (
            ""
            if passed
            else f"{what} is {_value_text(exp.metric, v)}{_gap_text(gap)}, not {words} "
            f"{_value_text(exp.metric, exp.value)}"
        )
        delta = rate_delta_text(v, exp.value) if rate else _delta(v, exp.value, gap)
    return CheckItem(
        exp.key, "expect", exp.metric, passed, v, bound, exp.value, delta=delta, message=message
    )


def _gap(metric: str, v: float, metrics: Mapping[str, Any]) -> float | None:
    """The gap to the problem's known non-zero minimum of a measured loss ``v`` (its
    ``final_gap`` or ``best_gap``); None for other metrics, an unknown minimum, or a minimum of
    zero (where the gap is the loss itself)."""
    if metric not in ("final_loss", "best_loss"):
        return None
    gap = metrics.get(metric.replace("loss", "gap"))
    return None if gap is None or gap == v else gap


def _delta(v: float, bound: float, gap: float | None) -> str:
    """The Δ of a measured value against its bound; near a non-zero minimum, of its gap against
    the bound's gap (-0.2499989 against < -0.2499 is ×0.011 of the allowed gap, not -0.04%)."""
    if gap is None:
        return delta_text(v, bound)
    minimum = v - gap
    return delta_text(gap, bound - minimum)


def _gap_text(gap: float | None) -> str:
    """`` (gap 4.27e-04 to the minimum)`` after a loss near a non-zero minimum, else nothing."""
    return "" if gap is None else f" (gap {format_number(gap, 'check')} to the minimum)"


def _status_text(statuses: Mapping[str, int], runs: int) -> str:
    if runs == 1:
        return next(iter(statuses))
    return ", ".join(f"{n}× {s}" for s, n in sorted(statuses.items(), key=lambda kv: -kv[1]))


def against_baseline(
    metric: str,
    new: float | None,
    old: float | None,
    tol: Tolerance,
    f_star: float | None,
    prefix: str = "baseline",
) -> CheckItem:
    """Hold a measured value to its baseline: worse by at most ``tol.slack`` (see the module
    docstring; losses as their excess over ``f_star``)."""
    m = METRICS[metric]
    name = f"{prefix}: {metric}"
    rate = metric in ("success_rate", "diverged_rate")
    op = "≥" if m.higher_is_better else "≤"
    if old is None:
        # The baseline was the worst value already (diverged / not reached): cannot get worse.
        return CheckItem(name, "baseline", metric, True, new, "any", None, None)
    if new is None:
        return CheckItem(
            name,
            "baseline",
            metric,
            False,
            None,
            f"{op} {_value_text(metric, old)}",
            old,
            old,
            "",
            f"{metric}: {_missing(metric, {})}; {prefix} {_value_text(metric, old)}",
        )
    shift = f_star if (m.excess and f_star is not None) else 0.0
    o, n = old - shift, new - shift
    slack = tol.slack(o)
    bound_excess = o - slack if m.higher_is_better else o + slack
    passed = n >= bound_excess if m.higher_is_better else n <= bound_excess
    bound = bound_excess + shift
    if rate:
        delta = rate_delta_text(new, old)
        bound_text = _value_text(metric, bound)
    else:
        delta = delta_text(n, o)
        bound_text = distinct_number(bound, old)
    message = ""
    if not passed:
        if shift != 0:
            change = (
                f"its excess over the minimum {format_number(shift, 'check')} went from "
                f"{format_number(o, 'check')} to {format_number(n, 'check')} ({delta})"
            )
        else:
            change = f"{delta}"
        message = (
            f"{metric} got worse: {distinct_number(new, old)} vs "
            f"{prefix} {distinct_number(old, new)}, "
            f"{change}; allowed {op} {bound_text} ({tol.text()})"
        )
    return CheckItem(
        name, "baseline", metric, passed, new, f"{op} {bound_text}", bound, old, delta, message
    )
