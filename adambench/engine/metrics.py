"""Pure functions over run outcomes: statuses and summaries over seeds."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from adambench import kernels as K

__all__ = [
    "STALL_RTOL",
    "STATUSES",
    "ConfigSummary",
    "RunOutcome",
    "Stat",
    "gap_to_minimum",
    "stall_step",
    "status_of",
    "summarize",
]


class RunOutcome(Protocol):
    """What a summary reads of a run (:class:`adambench.engine.results.RunResult` has it)."""

    status: str
    optimizer: str
    final_loss: float | None
    best_loss: float | None
    distance_to_minimum: float | None
    grad_norm: float | None
    steps_to_target: int | None
    accuracy: float | None
    average_loss: float | None


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
    final_gap: Stat | None
    best_gap: Stat | None
    distance: Stat | None
    grad_norm: Stat | None
    steps_to_target: Stat | None
    accuracy: Stat | None
    average_loss: Stat | None
    #: On a data problem's held-out rows (None without them).
    test_loss: Stat | None = None
    test_accuracy: Stat | None = None

    @property
    def all_diverged(self) -> bool:
        return self.statuses.get("diverged", 0) + self.statuses.get("invalid_start", 0) == self.runs


def gap_to_minimum(value: float | None, min_value: float | None) -> float | None:
    """``value - min_value``: how far a loss lies above the problem's known minimum value; None
    when either is unknown or not finite. Rounding can make it slightly negative (a loss a few
    ulps below the stated minimum): it is returned as it is, never clipped."""
    if value is None or min_value is None:
        return None
    if not (math.isfinite(value) and math.isfinite(min_value)):
        return None
    return float(value) - float(min_value)


def summarize(
    runs: Sequence[RunOutcome], label: str, min_value: float | None = None
) -> ConfigSummary:
    """One configuration's runs in a summary; ``min_value`` (the problem's known minimum value,
    if any) gives the gaps ``final_gap`` and ``best_gap``."""
    statuses = Counter(r.status for r in runs)
    kept = [r for r in runs if r.status != "diverged"]
    return ConfigSummary(
        label=label,
        optimizer=runs[0].optimizer,
        runs=len(runs),
        statuses=dict(statuses),
        success_rate=statuses.get("reached_target", 0) / len(runs),
        final_loss=Stat.of([r.final_loss for r in runs if r.status != "diverged"]),
        best_loss=Stat.of([r.best_loss for r in runs if r.status != "diverged"]),
        final_gap=Stat.of([gap_to_minimum(r.final_loss, min_value) for r in kept]),
        best_gap=Stat.of([gap_to_minimum(r.best_loss, min_value) for r in kept]),
        distance=Stat.of([r.distance_to_minimum for r in runs if r.status != "diverged"]),
        grad_norm=Stat.of([r.grad_norm for r in runs if r.status != "diverged"]),
        steps_to_target=Stat.of([r.steps_to_target for r in runs]),
        accuracy=Stat.of([r.accuracy for r in runs if r.status != "diverged"]),
        test_loss=Stat.of([getattr(r, "test_loss", None) for r in kept]),
        test_accuracy=Stat.of([getattr(r, "test_accuracy", None) for r in kept]),
        average_loss=Stat.of([r.average_loss for r in runs if r.status != "diverged"]),
    )
