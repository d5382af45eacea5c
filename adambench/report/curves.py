"""Loss curves as arrays: runs aligned on one step axis, quantiles over seeds, target hits.

Pure numpy, shared by the pictures (:mod:`adambench.report.plots`) and the sparkline column of
the table (:mod:`adambench.report.tables`), so both tell the same story. A run's recorded loss
(``loss``,
one value every ``every`` steps from step 0) ends early when the run stopped at its target or
diverged; on the common axis a run that **stopped** keeps its last loss (it is done, its loss
stays where it was) and a run that **diverged** (or never started) counts as ``+inf``, so a
median curve rises when more than half of the seeds blew up.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "ECDF_GAPS",
    "align",
    "ecdf",
    "ecdf_targets",
    "first_hits",
    "gap",
    "loss_scale",
    "quantiles",
    "subsample",
    "transform",
]

#: Gaps to the minimum used by the ECDF of target hits (COCO's ladder): 1e-1 .. 1e-8.
ECDF_GAPS = tuple(10.0**-k for k in range(1, 9))

# Quantiles are taken with +inf replaced by this sentinel (linear interpolation between inf and
# a number gives nan or inf); results at or above HUGE / 2 are turned back into +inf.
_HUGE = 1e300


def align(losses: Sequence[np.ndarray], statuses: Sequence[str], n_records: int) -> np.ndarray:
    """Runs' recorded losses as one (runs, n_records) array on a common step axis.

    Each row is the run's record, then its last value (a run that stopped) or ``+inf`` (a run
    that diverged or never started: ``status`` ``diverged`` / ``invalid_start``). Non-finite
    recorded values also count as ``+inf``.
    """
    out = np.full((len(losses), n_records), np.inf)
    for r, (loss, status) in enumerate(zip(losses, statuses, strict=True)):
        loss = np.asarray(loss, float)[:n_records]
        n = loss.shape[0]
        out[r, :n] = np.where(np.isfinite(loss), loss, np.inf)
        if n and status not in ("diverged", "invalid_start"):
            out[r, n:] = out[r, n - 1]
    return out


def quantiles(aligned: np.ndarray, qs: Sequence[float] = (0.25, 0.5, 0.75)) -> np.ndarray:
    """Quantiles over runs (axis 0) at every step; ``+inf`` entries count as the largest values.

    Returns an array (len(qs), n_records); a quantile that falls on diverged runs is ``+inf``.
    """
    a = np.where(np.isfinite(aligned), aligned, _HUGE)
    q = np.quantile(a, list(qs), axis=0)
    return np.where(q >= _HUGE / 2, np.inf, q)


def gap(values: np.ndarray, min_value: float | None) -> np.ndarray:
    """``values - min_value`` (``values`` when no minimum is known), floored above zero.

    Recorded losses can come out a rounding error below the known minimum (or equal to it); on
    a log axis those would vanish, so non-positive gaps become the smallest positive gap seen
    (or 1e-16 relative to the minimum's size when none is positive).
    """
    g = np.asarray(values, float) - (min_value or 0.0)
    pos = g[np.isfinite(g) & (g > 0)]
    floor = 1e-16 * max(1.0, abs(min_value or 0.0))
    if pos.size:
        floor = min(floor, float(pos.min()))
    return np.where(np.isfinite(g) & (g <= 0), floor, g)


def loss_scale(values: Sequence[np.ndarray], min_value: float | None) -> str:
    """How to show losses on a y axis: ``"gap"`` (loss - minimum, log), ``"log"`` or ``"linear"``.

    A known non-zero minimum gives the gap to it; otherwise log when every finite loss is
    positive, linear when some are zero or negative and no minimum is known.
    """
    if min_value is not None and min_value != 0.0:
        return "gap"
    finite = [v[np.isfinite(v)] for v in (np.asarray(x, float) for x in values)]
    if min_value is not None or all(np.all(f > 0) for f in finite if f.size):
        return "log"
    return "linear"


def transform(values: np.ndarray, scale: str, min_value: float | None) -> np.ndarray:
    """The values drawn for a :func:`loss_scale`: gap, loss, or loss; inf stays inf."""
    if scale == "gap":
        return gap(values, min_value)
    if scale == "log":
        return gap(values, 0.0)
    return np.asarray(values, float)


def first_hits(loss: np.ndarray, every: int, targets: Sequence[float]) -> np.ndarray:
    """For each target, the first recorded step whose loss is <= target (-1: never).

    With ``every`` > 1 the step is the first *recorded* one at the target, so it can be late by
    up to every - 1 steps.
    """
    loss = np.where(np.isfinite(loss), loss, np.inf)
    best = np.minimum.accumulate(loss) if loss.size else loss
    out = np.full(len(targets), -1, np.int64)
    for j, t in enumerate(targets):
        # best is non-increasing: the first index at or below t, by bisection on -best.
        k = int(np.searchsorted(-best, -t, side="left"))
        if k < best.size:
            out[j] = k * every
    return out


def ecdf(hits: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Fraction of (run, target) pairs reached by each step: ``hits`` is any shape, -1 = never."""
    h = np.asarray(hits).ravel()
    reached = np.sort(h[h >= 0])
    return np.searchsorted(reached, steps, side="right") / max(h.size, 1)


def ecdf_targets(min_value: float | None, best_seen: float | None) -> tuple[float, np.ndarray]:
    """The reference value and the ladder of targets ``reference + ECDF_GAPS``.

    The reference is the known minimum, else the best loss any run reached (then the ECDF
    measures how fast each optimizer got near the best anyone found).
    """
    ref = min_value if min_value is not None else best_seen
    if ref is None:
        raise ValueError("no reference value for targets")
    return ref, ref + np.array(ECDF_GAPS)


def subsample(n: int, cap: int, head: int = 200) -> np.ndarray:
    """At most about ``cap`` + ``head`` indices of 0..n-1 for drawing a long path or curve.

    Keeps the first ``head`` indices (paths move most at the start), then evenly spaced ones,
    and always the last.
    """
    if n <= cap + head:
        return np.arange(n)
    idx = np.concatenate([np.arange(head), np.linspace(head, n - 1, cap).round().astype(np.int64)])
    return np.unique(idx)
