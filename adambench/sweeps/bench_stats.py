"""The suite-level statistics of a bench, from the runs alone (numpy only, no compiled code).

COCO's view of a benchmark: a run *reaches* a gap threshold at the first step its best loss is
within that threshold of the minimum; the ECDF counts (problem, threshold, seed) triples
reached by each step; the expected running time (ERT) of an optimizer on a problem is the steps
of all its seeds (each success counted to its target, each failure in full) over its successes;
Dolan and More's performance profile is, for each factor tau, the share of problems on which an
optimizer's ERT is within tau of the best optimizer's; ranks order optimizers by ERT per
problem (ties averaged), averaged over problems, with a bootstrap interval over problems.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "BOOTSTRAP_LEVEL",
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SEED",
    "PROFILE_TAUS",
    "TARGET_GAPS",
    "average_ranks",
    "bootstrap_rank_interval",
    "ecdf",
    "ecdf_steps",
    "expected_running_time",
    "performance_profile",
    "rank_rows",
    "reach_steps",
]

#: COCO's 51 gap thresholds, log-uniform from 1e2 down to 1e-8 above the minimum.
TARGET_GAPS: tuple[float, ...] = tuple(float(g) for g in np.logspace(2, -8, 51))
#: The factors tau of a performance profile (ERT within tau times the best).
PROFILE_TAUS: tuple[float, ...] = (1.0, 1.5, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0)
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 0
BOOTSTRAP_LEVEL = 0.95


def reach_steps(
    losses: np.ndarray, min_value: float, every: int = 1, gaps: Sequence[float] = TARGET_GAPS
) -> list[int | None]:
    """The first recorded step at which the best loss so far is below ``min_value + gap``, for
    each gap (None: never). ``losses[k]`` is the loss at step ``k * every``; NaN (a diverged
    run's tail) never reaches anything."""
    best = np.fmin.accumulate(np.where(np.isnan(losses), np.inf, losses - min_value))
    out: list[int | None] = []
    for gap in gaps:
        below = np.flatnonzero(best < gap)
        out.append(int(below[0]) * every if below.size else None)
    return out


def ecdf_steps(max_steps: int) -> list[int]:
    """The steps the ECDF is read at: 0, then about five per decade up to ``max_steps``."""
    marks = {0, max_steps}
    for decade in range(int(math.log10(max(max_steps, 1))) + 1):
        for m in (1, 2, 3, 5, 7):
            step = m * 10**decade
            if step <= max_steps:
                marks.add(step)
    return sorted(marks)


def ecdf(reached: Sequence[int | None], steps: Sequence[int]) -> list[float]:
    """The share of ``reached`` (one entry per triple: the step it was reached at, or None)
    at or below each of ``steps``."""
    if not reached:
        return [math.nan] * len(steps)
    at = np.array([np.inf if r is None else r for r in reached], float)
    return [float(np.mean(at <= s)) for s in steps]


def expected_running_time(spent: Sequence[int], successes: int) -> float:
    """COCO's ERT: the steps of every run (a success counted to its target, a failure in full)
    over the number of successes; infinite without a success."""
    return float(sum(spent)) / successes if successes else math.inf


def performance_profile(erts: np.ndarray, taus: Sequence[float] = PROFILE_TAUS) -> np.ndarray:
    """Dolan-More profile: ``erts`` has a row per problem and a column per optimizer; the
    result a row per optimizer and a column per tau, the share of problems whose ERT is at
    most tau times the problem's best. A problem no optimizer solved counts for none."""
    best = erts.min(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(np.isfinite(erts), erts / best, np.inf)
    return np.array(
        [[float(np.mean(ratio[:, j] <= t)) for t in taus] for j in range(erts.shape[1])]
    )


def rank_rows(erts: np.ndarray) -> np.ndarray:
    """Each problem's ranks of the optimizers by ERT (1 = lowest), ties (infinite ones too)
    given the average of the ranks they span."""
    ranks = np.empty_like(erts, dtype=float)
    for p, row in enumerate(erts):
        for j, v in enumerate(row):
            below = np.sum(row < v)
            tied = np.sum(row == v)
            ranks[p, j] = below + (tied + 1) / 2
    return ranks


def average_ranks(erts: np.ndarray) -> np.ndarray:
    """The mean over problems of each optimizer's rank by ERT."""
    return rank_rows(erts).mean(axis=0)


def bootstrap_rank_interval(
    erts: np.ndarray,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    level: float = BOOTSTRAP_LEVEL,
) -> tuple[np.ndarray, np.ndarray]:
    """The percentile interval (``level``) of each optimizer's average rank when the problems
    are resampled with replacement ``resamples`` times (a numpy generator seeded ``seed``:
    the same numbers on every run)."""
    ranks = rank_rows(erts)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, ranks.shape[0], size=(resamples, ranks.shape[0]))
    means = ranks[picks].mean(axis=1)
    tail = (1 - level) / 2 * 100
    return np.percentile(means, tail, axis=0), np.percentile(means, 100 - tail, axis=0)
