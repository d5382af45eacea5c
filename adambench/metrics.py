"""Pure functions over run outcomes: statuses, summaries over seeds, and the verdict line."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from adambench import kernels as K

if TYPE_CHECKING:
    from adambench.results import Result, RunResult

#: The statuses a run can end with, everywhere (table, JSON, checks).
STATUSES = ("reached_target", "diverged", "stalled", "max_steps", "invalid_start")
STALL_RTOL = 1e-12


def status_of(code: int, target_step: int, loss_at_stall: float, final_loss: float) -> str:
    """The public status of a run from its kernel status code and metrics.

    ``stalled``: the target was not reached and the loss changed by less than 1e-12 relative
    over the last 10 % of the steps.
    """
    if code == K.INVALID_START:
        return "invalid_start"
    if code == K.DIVERGED:
        return "diverged"
    if code == K.STOPPED_AT_TARGET or target_step >= 0:
        return "reached_target"
    if math.isfinite(loss_at_stall) and abs(final_loss - loss_at_stall) <= STALL_RTOL * abs(
        loss_at_stall
    ):
        return "stalled"
    return "max_steps"


def stall_step(steps: int) -> int:
    """The step whose loss the stall test compares with the final one (-1: too few steps)."""
    return steps - steps // 10 if steps >= 10 else -1


@dataclass(frozen=True)
class Stat:
    """Median and spread (quartiles, min, max) of the finite values; ``n`` of them."""

    median: float
    q1: float
    q3: float
    low: float
    high: float
    n: int

    @staticmethod
    def of(values: Sequence[float | None]) -> Stat | None:
        arr = np.array([v for v in values if v is not None and math.isfinite(v)], float)
        if arr.size == 0:
            return None
        q1, med, q3 = np.quantile(arr, [0.25, 0.5, 0.75])
        return Stat(float(med), float(q1), float(q3), float(arr.min()), float(arr.max()), arr.size)


@dataclass(frozen=True)
class ConfigSummary:
    """One optimizer configuration over its seeds."""

    label: str
    optimizer: str
    runs: int
    statuses: dict[str, int]
    success_rate: float
    final_loss: Stat | None
    best_loss: Stat | None
    distance: Stat | None
    grad_norm: Stat | None
    steps_to_target: Stat | None
    accuracy: Stat | None
    average_loss: Stat | None

    @property
    def all_diverged(self) -> bool:
        return self.statuses.get("diverged", 0) + self.statuses.get("invalid_start", 0) == self.runs


def summarize(runs: Sequence[RunResult], label: str) -> ConfigSummary:
    statuses = Counter(r.status for r in runs)
    return ConfigSummary(
        label=label,
        optimizer=runs[0].optimizer,
        runs=len(runs),
        statuses=dict(statuses),
        success_rate=statuses.get("reached_target", 0) / len(runs),
        final_loss=Stat.of([r.final_loss for r in runs if r.status != "diverged"]),
        best_loss=Stat.of([r.best_loss for r in runs if r.status != "diverged"]),
        distance=Stat.of([r.distance_to_minimum for r in runs if r.status != "diverged"]),
        grad_norm=Stat.of([r.grad_norm for r in runs if r.status != "diverged"]),
        steps_to_target=Stat.of([r.steps_to_target for r in runs]),
        accuracy=Stat.of([r.accuracy for r in runs if r.status != "diverged"]),
        average_loss=Stat.of([r.average_loss for r in runs if r.status != "diverged"]),
    )


def _failure(summaries: Sequence[ConfigSummary]) -> str:
    """How runs without a final loss failed: "diverged", unless none of them even started."""
    if any(s.statuses.get("diverged", 0) for s in summaries):
        return "diverged"
    return "started where the loss or its gradient is not finite (invalid_start)"


def _ratio(a: float, b: float) -> str:
    r = b / a if a > 0 else math.inf
    return f"{r:.1f}x" if r < 100 else f"{r:.3g}x"


def verdict(result: Result) -> str:
    """One line in the manner of hyperfine: who got there first, and by how much."""
    summaries = result.summaries()
    if not summaries:
        return ""
    many = len(result.settings.seeds) > 1
    med = "median " if many else ""
    target = result.problem.target
    reached = [s for s in summaries if s.steps_to_target is not None]
    if len(summaries) == 1:
        s = summaries[0]
        if s.steps_to_target is not None:
            first = s.steps_to_target.median
            return f"{s.label} reached the target ({target:g}) at {med}step {first:g}"
        if s.final_loss is None:
            return f"{s.label} {_failure(summaries)}"
        return f"{s.label} did not reach the target; {med}final loss {s.final_loss.median:.3g}"
    if reached:
        best_rate = max(s.success_rate for s in reached)
        pool = [s for s in reached if s.success_rate == best_rate]
        pool.sort(key=lambda s: s.steps_to_target.median)  # type: ignore[union-attr]
        best = pool[0]
        others = [s for s in reached if s is not best]
        steps = best.steps_to_target.median  # type: ignore[union-attr]
        if others:
            runner = min(others, key=lambda s: (-s.success_rate, s.steps_to_target.median))  # type: ignore[union-attr]
            other = runner.steps_to_target.median  # type: ignore[union-attr]
            over = f"medians over {len(result.settings.seeds)} seeds: " if many else ""
            if other < 1.05 * steps:
                line = (
                    f"{best.label} and {runner.label} reached the target in about as many "
                    f"steps ({over}{steps:g} and {other:g})"
                )
            else:
                line = (
                    f"{best.label} reached the target in {_ratio(steps, other)} fewer steps "
                    f"than {runner.label} ({over}{steps:g} vs {other:g})"
                )
        else:
            line = f"only {best.label} reached the target ({target:g}), at {med}step {steps:g}"
        missing = [s.label for s in summaries if s.steps_to_target is None]
        if missing and others:
            line += f"; {', '.join(missing)} did not"
        return line
    finite = [s for s in summaries if s.final_loss is not None]
    steps = result.settings.steps
    head = (
        f"no optimizer reached the target ({target:g}) in {steps} steps"
        if target is not None
        else ""
    )
    if not finite:
        return (head + "; " if head else "") + f"every run {_failure(summaries)}"
    best = min(finite, key=lambda s: s.final_loss.median)  # type: ignore[union-attr]
    tail = f"{best.label} ended with the lowest {med}loss ({best.final_loss.median:.3g})"  # type: ignore[union-attr]
    rest = [s for s in finite if s is not best]
    if rest:
        runner = min(rest, key=lambda s: s.final_loss.median)  # type: ignore[union-attr]
        tail += f", ahead of {runner.label} ({runner.final_loss.median:.3g})"  # type: ignore[union-attr]
    return f"{head}; {tail}" if head else tail
