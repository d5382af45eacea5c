"""Outcomes of a sweep's runs, aggregated per configuration over seeds, and heatmaps of two axes."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from adambench.errors import UsageError, did_you_mean
from adambench.sweeps.grid import METRICS, Axis, Value, show_value
from adambench.sweeps.plan import Base, Point

__all__ = [
    "RANKING",
    "Heatmap",
    "Outcomes",
    "PointStat",
    "aggregate",
    "heatmaps",
    "per_run_values",
]


@dataclass
class Outcomes:
    """The per-run numbers a sweep is summarised from, as (configurations, seeds) arrays."""

    failed: np.ndarray  # diverged or invalid start
    diverged: np.ndarray
    reached: np.ndarray
    final: np.ndarray  # NaN where unknown
    best: np.ndarray
    steps_to_target: np.ndarray
    test_loss: np.ndarray  # held-out rows, at the last iterate (NaN without them)
    test_error: np.ndarray  # 1 - held-out accuracy

    @staticmethod
    def empty(n_points: int, n_seeds: int) -> Outcomes:
        def z(dtype: Any, fill: Any) -> np.ndarray:
            return np.full((n_points, n_seeds), fill, dtype)

        return Outcomes(
            z(bool, True), z(bool, False), z(bool, False), z(float, np.nan), z(float, np.nan),
            z(float, np.nan), z(float, np.nan), z(float, np.nan),
        )  # fmt: skip

    def set(
        self,
        p: int,
        s: int,
        status: str,
        final: Any,
        best: Any,
        stt: Any,
        test_loss: Any = None,
        test_accuracy: Any = None,
    ) -> None:
        self.failed[p, s] = status in ("diverged", "invalid_start")
        self.diverged[p, s] = status == "diverged"
        self.reached[p, s] = status == "reached_target"
        self.final[p, s] = np.nan if final is None else final
        self.best[p, s] = np.nan if best is None else best
        self.steps_to_target[p, s] = np.nan if stt is None else stt
        self.test_loss[p, s] = np.nan if test_loss is None else test_loss
        self.test_error[p, s] = np.nan if test_accuracy is None else 1.0 - test_accuracy


@dataclass(frozen=True)
class PointStat:
    """A configuration over its seeds, for one metric.

    ``value`` is the median (or, for success_rate, the fraction reached); ``q1``/``q3`` are the
    quartiles (failed runs count as +inf, so a median of inf means at least half failed).
    ``misses`` counts the runs that count as the worst value for this metric (failed, and for
    steps_to_target and success_rate also not reached); the ranking puts fewer misses first.
    """

    point: int
    value: float
    q1: float
    q3: float
    runs: int
    failed: int
    diverged: int
    reached: int
    rank: int
    misses: int = 0

    @property
    def fragile(self) -> bool:
        """A finite median over runs of which some missed (failed, or for steps_to_target never
        reached the target): the median alone would hide them, so the ranking does not."""
        return self.misses > 0 and self.state == "ok"

    @property
    def state(self) -> str:
        """``ok``, ``diverged`` (at least half the runs failed) or ``not_reached``."""
        if math.isfinite(self.value):
            return "ok"
        return "diverged" if 2 * self.failed >= self.runs else "not_reached"


def _sorted_quantile(m: np.ndarray, q: float) -> np.ndarray:
    """Linear-interpolated quantile along axis 1 of a row-sorted array that may hold +inf.

    numpy's own quantile turns inf into NaN when it interpolates between two infinities (or
    with weight 0 on one); here any interpolation that touches +inf gives +inf.
    """
    k = m.shape[1]
    pos = q * (k - 1)
    i = math.floor(pos)
    t = pos - i
    a = m[:, i]
    if t == 0 or i + 1 >= k:
        return a.copy()
    b = m[:, i + 1]
    with np.errstate(invalid="ignore"):
        d = b - a
        out = a + d * t if t < 0.5 else b - d * (1 - t)  # numpy's lerp, for the same bits
    out[np.isinf(b)] = np.inf
    return out


def per_run_values(o: Outcomes, metric: str) -> np.ndarray:
    """Each run's value for ``metric`` (lower is better, failed runs +inf; success: 1 or 0)."""
    if metric == "success_rate":
        return o.reached.astype(float)
    src = {
        "final_loss": o.final,
        "best_loss": o.best,
        "steps_to_target": o.steps_to_target,
        "test_loss": o.test_loss,
        "test_error": o.test_error,
    }
    if metric not in src:
        raise UsageError(f"unknown metric '{metric}'{did_you_mean(metric, METRICS)}")
    v = src[metric]
    return np.where(o.failed | np.isnan(v), np.inf, v)


def aggregate(o: Outcomes, metric: str) -> list[PointStat]:
    """Per-configuration statistics (in grid order), each with its rank (1 = best).

    The ranking (:data:`RANKING`) puts fewer misses first, so a configuration that fails on
    some seeds never wins by its median alone; ties go to the metric's median, then (final
    and best loss) the upper quartile, (steps to target, success rate) the tie-breaks of
    :data:`RANKING`, then grid order.
    """
    n_points, k = o.failed.shape
    if n_points == 0:
        return []
    vals = per_run_values(o, metric)
    srt = np.sort(vals, axis=1)
    if metric == "success_rate":
        value = vals.mean(axis=1)
        q1 = q3 = value
        misses = k - o.reached.sum(axis=1)
    else:
        value, q1, q3 = (_sorted_quantile(srt, q) for q in (0.5, 0.25, 0.75))
        misses = np.isinf(vals).sum(axis=1)
    rank = _ranks(o, metric, misses, value, q3)
    failed = o.failed.sum(axis=1)
    diverged, reached = o.diverged.sum(axis=1), o.reached.sum(axis=1)
    return [
        PointStat(
            point=p,
            value=float(value[p]),
            q1=float(q1[p]),
            q3=float(q3[p]),
            runs=k,
            failed=int(failed[p]),
            diverged=int(diverged[p]),
            reached=int(reached[p]),
            rank=int(rank[p]),
            misses=int(misses[p]),
        )
        for p in range(n_points)
    ]


#: The order of a sweep's configurations, per metric: keys compared in turn, lower first
#: (stated under the table and in the JSON as ``ranking``).
RANKING = {
    "final_loss": ("fewest failed runs", "lowest median final loss", "lowest upper quartile"),
    "best_loss": ("fewest failed runs", "lowest median best loss", "lowest upper quartile"),
    "steps_to_target": (
        "fewest runs that failed or never reached the target",
        "lowest median steps to target",
        "lowest median final loss",
    ),
    "success_rate": (
        "highest fraction of runs that reached the target",
        "lowest median steps to target",
        "lowest median final loss",
    ),
    "test_loss": ("fewest failed runs", "lowest median test loss", "lowest upper quartile"),
    "test_error": ("fewest failed runs", "lowest median test error", "lowest upper quartile"),
}


def _ranks(
    o: Outcomes, metric: str, misses: np.ndarray, value: np.ndarray, q3: np.ndarray
) -> np.ndarray:
    """Each configuration's rank (1 = best) by the keys of :data:`RANKING`, then grid order."""
    n_points = len(value)
    idx = np.arange(n_points)
    final_med = _sorted_quantile(np.sort(per_run_values(o, "final_loss"), axis=1), 0.5)
    if metric == "success_rate":
        stt_med = _sorted_quantile(np.sort(per_run_values(o, "steps_to_target"), axis=1), 0.5)
        order = np.lexsort((idx, final_med, stt_med, misses))
    elif metric == "steps_to_target":
        order = np.lexsort((idx, final_med, value, misses))
    else:
        order = np.lexsort((idx, q3, value, misses))
    rank = np.empty(n_points, int)
    rank[order] = np.arange(1, n_points + 1)
    return rank


@dataclass(frozen=True)
class Heatmap:
    """A metric over two swept axes (rows x columns) with the other swept values held fixed.

    ``cells[i][j]`` is a point index (or None where the grid has no such configuration);
    ``col_name`` is ``"optimizer"`` when the columns are the sweep's bases. ``marked`` holds
    the best cell, or each column's best (a tuned comparison's choices).
    """

    title: str
    row_name: str
    col_name: str
    row_labels: tuple[str, ...]
    col_labels: tuple[str, ...]
    cells: tuple[tuple[int | None, ...], ...]
    fixed: Mapping[str, Value]
    marked: tuple[tuple[int, int], ...]


def heatmaps(
    bases: Sequence[Base],
    axes: Sequence[Axis],
    points: Sequence[Point],
    stats: list[PointStat],
    *,
    min_bases: int = 2,
    per_column: bool = False,
) -> list[Heatmap]:
    """The heatmaps of a sweep.

    A base with two or more swept axes (more than one value each) gets a heatmap of its first
    two (rows = first, columns = second, in grid order), one per combination of its further
    axes. When every base sweeps exactly one and the same hyperparameter and there are at least
    ``min_bases`` bases, one heatmap has a row per value and a column per base. The best cell
    (by rank) is marked, or with ``per_column`` the best of each column; cells whose median
    failed are never marked.
    """
    grid = _Grid(points, stats, per_column)
    swept = [[i for i in b.axes if len(axes[i].values) > 1] for b in bases]
    out: list[Heatmap] = []
    for b, (base, mine) in enumerate(zip(bases, swept, strict=True)):
        if len(mine) >= 2:
            out += _base_heatmaps(grid, b, base, mine, axes)
    one = [axes[m[0]].name for m in swept if len(m) == 1]
    if len(bases) >= min_bases and len(one) == len(bases) and len(set(one)) == 1:
        out.append(_across_bases(grid, bases, axes, swept))
    return out


class _Grid:
    """A sweep's points by (base, values), and how a heatmap's best cells are chosen."""

    def __init__(self, points: Sequence[Point], stats: list[PointStat], per_column: bool) -> None:
        self.lookup = {
            (pt.base, tuple(sorted(pt.values.items()))): i for i, pt in enumerate(points)
        }
        self.stats = stats
        self.per_column = per_column

    def find(self, base: int, values: Mapping[str, Value]) -> int | None:
        """The point of ``base`` with exactly these values (None: the grid has none)."""
        return self.lookup.get((base, tuple(sorted(values.items()))))

    def heatmap(
        self,
        title: str,
        rows: tuple[str, Sequence[Value]],
        cols: tuple[str, Sequence[str]],
        cells: list[list[int | None]],
        fixed: Mapping[str, Value],
    ) -> Heatmap:
        """A heatmap of ``cells`` (rows: a name and its values; columns: a name and labels)."""
        return Heatmap(
            title,
            rows[0],
            cols[0],
            tuple(show_value(v) for v in rows[1]),
            tuple(cols[1]),
            tuple(tuple(r) for r in cells),
            fixed,
            self.best_of(cells),
        )

    def best_of(self, cells: list[list[int | None]]) -> tuple[tuple[int, int], ...]:
        """The best cell by rank, or each column's best; failed medians never count."""
        stats = self.stats
        found = [
            (stats[p].rank, r, c)
            for r, row in enumerate(cells)
            for c, p in enumerate(row)
            if p is not None and math.isfinite(stats[p].value)
        ]
        if not self.per_column:
            return (min(found)[1:],) if found else ()
        best: dict[int, tuple[int, int, int]] = {}
        for f in found:
            if f[2] not in best or f < best[f[2]]:
                best[f[2]] = f
        return tuple(best[c][1:] for c in sorted(best))


def _base_heatmaps(
    grid: _Grid, b: int, base: Base, mine: list[int], axes: Sequence[Axis]
) -> list[Heatmap]:
    """Base ``b``'s heatmaps of its first two swept axes (``mine``: indices into ``axes``), one
    per combination of the further ones; its unswept axes hold their one value."""
    rows, cols, extra = axes[mine[0]], axes[mine[1]], [axes[i] for i in mine[2:]]
    fixed_all = {axes[i].name: axes[i].values[0] for i in base.axes if i not in mine}
    out = []
    for combo in itertools.product(*(ax.values for ax in extra)):
        fixed = {ax.name: v for ax, v in zip(extra, combo, strict=True)}
        cells = [
            [
                grid.find(b, {rows.name: rv, cols.name: cv, **fixed, **fixed_all})
                for cv in cols.values
            ]
            for rv in rows.values
        ]
        title = base.label + "".join(f", {k}={show_value(v)}" for k, v in fixed.items())
        col_labels = [show_value(v) for v in cols.values]
        out.append(
            grid.heatmap(title, (rows.name, rows.values), (cols.name, col_labels), cells, fixed)
        )
    return out


def _across_bases(
    grid: _Grid, bases: Sequence[Base], axes: Sequence[Axis], swept: list[list[int]]
) -> Heatmap:
    """One heatmap of the hyperparameter every base sweeps alone: a row per value (in first
    seen order, sorted when the bases' values differ), a column per base."""
    name = axes[swept[0][0]].name
    values: list[Value] = []
    for m in swept:
        for v in axes[m[0]].values:
            if v not in values:
                values.append(v)
    if any(len(axes[m[0]].values) != len(values) for m in swept):
        values.sort()
    fixed_b = [
        {axes[i].name: axes[i].values[0] for i in base.axes if i not in swept[b]}
        for b, base in enumerate(bases)
    ]
    cells = [[grid.find(b, {name: v, **fixed_b[b]}) for b in range(len(bases))] for v in values]
    labels = [b.label for b in bases]
    return grid.heatmap("", (name, values), ("optimizer", labels), cells, {})
