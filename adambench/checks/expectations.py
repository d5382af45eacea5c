"""What a check can measure and expect: metrics, tolerances and expectations."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass
from adambench.limits import MAX_CASES
from adambench.numbers import format_number

__all__ = [
    "BASELINE_FORMAT",
    "BASELINE_VERSION",
    "EXPECTATIONS",
    "MAX_CASES",
    "METRICS",
    "OP_TEXT",
    "REPORT_FORMAT",
    "Expectation",
    "Metric",
    "Tolerance",
    "is_applicable",
    "measure",
]

BASELINE_FORMAT = "adambench-check-baseline"


BASELINE_VERSION = 1


REPORT_FORMAT = "adambench-check-report"


@dataclass(frozen=True)
class Tolerance:
    """How much a measured value may get worse than its baseline: ``max(atol, rtol * |base|)``.

    For losses, ``base`` is the baseline's excess over the problem's minimum value (see the
    module docstring). Getting better never fails.
    """

    rtol: float = 0.0
    atol: float = 0.0

    def slack(self, base: float) -> float:
        return max(self.atol, self.rtol * abs(base))

    def text(self) -> str:
        parts = []
        if self.rtol:
            parts.append(f"rtol {self.rtol:g}")
        if self.atol or not parts:
            parts.append(f"atol {self.atol:g}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Metric:
    """A measured quantity of a case configuration (over its seeds)."""

    name: str
    doc: str
    higher_is_better: bool = False
    excess: bool = False  # compared as the excess over the problem's minimum value
    default: Tolerance | None = None  # None: not compared with a baseline unless a suite asks
    # "target", "minimum", "data" or "held_out" (rows held out): when the metric exists at all
    needs: str | None = None


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric(
            "final_loss",
            "median final loss",
            excess=True,
            default=Tolerance(rtol=0.1, atol=1e-9),
        ),
        Metric("best_loss", "median best loss", excess=True, default=Tolerance(0.1, 1e-9)),
        Metric(
            "steps_to_target",
            "median first step at the target",
            default=Tolerance(rtol=0.05),
            needs="target",
        ),
        Metric(
            "success_rate",
            "fraction of runs that reached the target",
            higher_is_better=True,
            default=Tolerance(),
            needs="target",
        ),
        Metric("diverged_rate", "fraction of runs that diverged", default=Tolerance()),
        Metric("distance_to_minimum", "median distance to the nearest minimiser", needs="minimum"),
        Metric("grad_norm", "median final gradient norm"),
        Metric(
            "accuracy",
            "median training accuracy",
            higher_is_better=True,
            default=Tolerance(atol=0.01),
            needs="data",
        ),
        Metric("test_loss", "median held-out loss at the last iterate", needs="held_out"),
        Metric(
            "test_accuracy",
            "median held-out accuracy at the last iterate",
            higher_is_better=True,
            needs="held_out",
        ),
    )
}


_FAILED = ("diverged", "invalid_start")


def measure(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The metrics of one configuration over its runs (dicts with the JSON contract's run keys).

    Medians count failed runs as the worst value; see the module docstring.
    """
    n = len(runs)
    statuses = Counter(str(r["status"]) for r in runs)

    def median(key: str, worst: float) -> float | None:
        values = []
        for r in runs:
            v = r.get(key)
            ok = r["status"] not in _FAILED and isinstance(v, (int, float)) and math.isfinite(v)
            values.append(float(v) if ok else worst)  # type: ignore[arg-type]
        m = statistics.median(values)
        if not math.isfinite(m):
            return None
        return int(m) if key == "steps_to_target" and m.is_integer() else m

    out: dict[str, Any] = {
        "runs": n,
        "statuses": dict(sorted(statuses.items())),
        "success_rate": statuses.get("reached_target", 0) / n,
        "diverged_rate": statuses.get("diverged", 0) / n,
    }
    for name, m in METRICS.items():
        if name not in out:
            out[name] = median(name, -math.inf if m.higher_is_better else math.inf)
    return out


def is_applicable(metric: Metric, facts: Mapping[str, bool]) -> bool:
    return metric.needs is None or facts.get(metric.needs, False)


@dataclass(frozen=True)
class Expectation:
    """One ``expect:`` entry: ``metric op value`` (``status``: every run ends in ``statuses``)."""

    key: str
    metric: str
    op: str  # "<", "<=", ">=", "in"
    value: float = 0.0
    statuses: tuple[str, ...] = ()

    def text(self) -> str:
        if self.op == "in":
            return " or ".join(self.statuses)
        return f"{OP_TEXT[self.op]} {format_number(self.value)}"


OP_TEXT = {"<": "<", "<=": "≤", ">=": "≥"}


# key -> (metric, operator, kind of threshold)
EXPECTATIONS: dict[str, tuple[str, str, str]] = {
    "status": ("status", "in", "statuses"),
    "final_loss_below": ("final_loss", "<", "number"),
    "best_loss_below": ("best_loss", "<", "number"),
    "steps_to_target_at_most": ("steps_to_target", "<=", "steps"),
    "success_rate_at_least": ("success_rate", ">=", "fraction"),
    "distance_to_minimum_below": ("distance_to_minimum", "<", "positive"),
    "grad_norm_below": ("grad_norm", "<", "positive"),
    "accuracy_at_least": ("accuracy", ">=", "fraction"),
    "test_loss_below": ("test_loss", "<", "number"),
    "test_accuracy_at_least": ("test_accuracy", ">=", "fraction"),
    "diverged_rate_at_most": ("diverged_rate", "<=", "fraction"),
}
