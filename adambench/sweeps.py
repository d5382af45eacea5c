"""Hyperparameter sweeps and tuned comparisons: grids x seeds in one compiled pass, ranked.

A sweep is a problem, one or more optimizer specs (the *bases*, as ``-O`` takes them) and a grid:
one axis per swept hyperparameter. Axes are written ``NAME=VALUES``:

========================  ============================================================
``lr=1e-3:1:log7``        7 log-spaced values from 1e-3 to 1, both ends included
``momentum=0:0.9:4``      4 evenly spaced values from 0 to 0.9, both ends included
``beta1=0.5,0.9,0.99``    an explicit list (``true,false`` for flags); one value fixes it
``adam.beta1=...``        scoped: applies to the adam bases only
========================  ============================================================

An unscoped axis applies to every base whose optimizer has that hyperparameter; bases without it
run without that axis (a note says so), and a name no base has is refused with a "did you mean".
A scoped axis replaces an unscoped one of the same name for its optimizer. A base that sets a
hyperparameter in its spec (``adam(lr=0.1)``) may not also sweep it. Range values are rounded,
so that grids read well and are the same on every platform: log-spaced values to 3 significant
digits (``1e-3:1:log7`` is 0.001, 0.00316, 0.01, 0.0316, 0.1, 0.316, 1; more digits only where
3 would merge neighbours), linear ones to 12 (``0:0.9:4`` is 0, 0.3, 0.6, 0.9, not
0.30000000000000004). The ends are exactly as written. Every value is validated against its
hyperparameter's range, and the number of runs against ``max_runs``, before anything runs.

Each base's configurations are the Cartesian product of its axes (the first axis varies
slowest), and every configuration runs from the same seeds as ``run`` (``seed .. seed+seeds-1``:
the same start and noise stream per seed, so configurations are compared on common random
numbers). All runs of all bases go through one :func:`adambench.engine.prepare` /
:func:`~adambench.engine.execute` pass, in parallel over configurations x seeds.

Aggregation, per configuration over its seeds, for ``metric``:

- ``final_loss`` / ``best_loss``: the median, with the quartiles as spread. A run that diverged
  (or could not start) counts as +inf, the worst value: a configuration that diverges on at least
  half its seeds has an infinite median and is shown as ``diverged``.
- ``steps_to_target``: the median first step at the target; runs that never reach it (or
  diverge) count as +inf (``not reached``). Ties are broken by the median final loss.
- ``success_rate``: the fraction of runs that reached the target (higher is better); ties by
  median steps to target, then median final loss.

Ranking is by that value (ties: fewer failed runs, then grid order), best first.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from adambench.errors import ConfigError, OptimizerError, UsageError, did_you_mean

if TYPE_CHECKING:
    from adambench.engine import CompileFn, ProgressFn
    from adambench.optimizers import OptimizerConfig, OptimizerSpec
    from adambench.problems import Problem
    from adambench.results import Result

#: Refuse sweeps of more runs (configurations x seeds) than this unless told otherwise.
MAX_RUNS = 100_000
#: No single axis may hold more values than this (a typo like log1000000 is refused early).
MAX_AXIS_POINTS = 100_000
#: Heatmaps rendered at most (one per base and combination of further axes).
MAX_HEATMAPS = 24
METRICS = ("final_loss", "best_loss", "steps_to_target", "success_rate")
METRIC_NAMES = {
    "final_loss": "final loss",
    "best_loss": "best loss",
    "steps_to_target": "steps to target",
    "success_rate": "success rate",
}
#: Significant digits range values are rounded to (platform-independent grids).
GRID_DIGITS = 12
#: Significant digits of log-spaced values (more where needed to keep them apart).
LOG_DIGITS = 3

Value = float | bool


# ---------------------------------------------------------------------------------------------
# Grid specs


@dataclass(frozen=True)
class Axis:
    """One swept hyperparameter: its name, optional optimizer scope and values, in order."""

    name: str
    optimizer: str | None
    values: tuple[Value, ...]
    spec: str  # as written, e.g. "1e-3:1:log7"
    scale: str  # "log", "linear" or "list"

    @property
    def key(self) -> str:
        return f"{self.optimizer}.{self.name}" if self.optimizer else self.name

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "optimizer": self.optimizer,
            "spec": self.spec,
            "scale": self.scale,
            "values": list(self.values),
        }


_KEY = re.compile(r"^(?:([A-Za-z_][\w\-]*)\.)?([A-Za-z_]\w*)$")
_BOOL_WORDS = {"true": True, "false": False, "yes": True, "no": False, "on": True, "off": False}


def show_value(v: Any) -> str:
    """A grid value as tables and labels print it (flags as true/false, numbers with :g)."""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, float, np.floating, np.integer)):
        return f"{float(v):g}"
    return str(v)


def _round(v: float, digits: int = GRID_DIGITS) -> float:
    return float(f"{v:.{digits}g}")


def _number(text: str, where: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise UsageError(f"'{text}' is not a number", where=where) from None
    if not math.isfinite(v):
        raise UsageError(f"'{text}' is not a finite number", where=where)
    return v


def _scalar(item: Any, where: str) -> Value:
    """One explicit grid value: a number or a flag word."""
    if isinstance(item, bool):
        return item
    if isinstance(item, (int, float)):
        v = float(item)
        if not math.isfinite(v):
            raise UsageError(f"{item!r} is not a finite number", where=where)
        return v
    if isinstance(item, str):
        t = item.strip()
        if not t:
            raise UsageError("empty value in the list", where=where)
        if t.lower() in _BOOL_WORDS:
            return _BOOL_WORDS[t.lower()]
        try:
            float(t)
        except ValueError:
            raise UsageError(f"'{t}' is not a number (or true/false)", where=where) from None
        return _number(t, where)
    raise UsageError(f"{item!r} is not a number (or true/false)", where=where)


def parse_values(spec: Any, where: str = "grid") -> tuple[tuple[Value, ...], str]:
    """The values of one axis and its scale from a spec: ``a:b:n``, ``a:b:logn``, a list.

    ``spec`` is a string (as on the command line), a number, or a list (as in a YAML file).
    Ranges include both ends and need n >= 2 distinct points.
    """
    if isinstance(spec, (list, tuple)):
        if not spec:
            raise UsageError("empty list of values", where=where)
        values = tuple(_scalar(v, where) for v in spec)
        scale = "list"
    elif isinstance(spec, (bool, int, float)):
        values, scale = (_scalar(spec, where),), "list"
    elif isinstance(spec, str) and ":" in spec:
        values, scale = _parse_range(spec.strip(), where)
    elif isinstance(spec, str):
        if not spec.strip():
            raise UsageError("no values given", where=where)
        values = tuple(_scalar(v, where) for v in spec.split(","))
        scale = "list"
    else:
        raise UsageError(f"expected a range 'a:b:n' or a list of values, got {spec!r}", where=where)
    if len(values) > MAX_AXIS_POINTS:
        raise UsageError(f"{len(values)} values; at most {MAX_AXIS_POINTS} per axis", where=where)
    seen: set[Any] = set()
    for v in values:
        if v in seen:
            raise UsageError(f"value {show_value(v)} appears twice", where=where)
        seen.add(v)
    return values, scale


def _parse_range(text: str, where: str) -> tuple[tuple[float, ...], str]:
    parts = text.split(":")
    if len(parts) != 3:
        raise UsageError(f"range '{text}' must be a:b:n or a:b:logn", where=where)
    a, b = _number(parts[0].strip(), where), _number(parts[1].strip(), where)
    count = parts[2].strip()
    log = count.lower().startswith("log")
    digits = count[3:] if log else count
    if not digits.isdigit():
        raise UsageError(
            f"range '{text}': the count '{count}' must be an integer n or logn", where=where
        )
    n = int(digits)
    if n > MAX_AXIS_POINTS:
        raise UsageError(f"range '{text}' has {n} points; at most {MAX_AXIS_POINTS}", where=where)
    if n < 2:
        raise UsageError(
            f"range '{text}' is empty: it needs at least 2 points (use a list for one value)",
            where=where,
        )
    if a == b:
        raise UsageError(f"range '{text}' is empty: it starts and ends at {a:g}", where=where)
    if log:
        if a <= 0 or b <= 0:
            raise UsageError(
                f"log range '{text}' must have both ends > 0 (log spacing cannot reach zero "
                "or negative values)",
                where=where,
            )
        inner = [float(v) for v in np.logspace(math.log10(a), math.log10(b), n)[1:-1]]
        # Log-spaced step sizes read best with 3 significant digits (0.00316, not
        # 0.00316227766017); more only where 3 would merge or reorder neighbours.
        for digits in range(LOG_DIGITS, GRID_DIGITS + 1):
            values = [a] + [_round(v, digits) for v in inner] + [b]
            steps = np.diff(values)
            if np.all(steps > 0) or np.all(steps < 0):
                break
        return tuple(values), "log"
    inner = [float(v) for v in np.linspace(a, b, n)[1:-1]]
    return tuple([a] + [_round(v) for v in inner] + [b]), "linear"


def parse_axis(text: str) -> Axis:
    """One ``--grid`` option: ``[optimizer.]name=values``."""
    where = f"--grid {text}"
    key, eq, spec = text.partition("=")
    if not eq:
        raise UsageError("expected NAME=VALUES, e.g. lr=1e-3:1:log7", where=where)
    return make_axis(key.strip(), spec, where)


def make_axis(key: str, spec: Any, where: str) -> Axis:
    """An axis from its key (``lr``, ``adam.beta1``) and spec (string, number or list)."""
    m = _KEY.match(key)
    if not m:
        raise UsageError(
            f"'{key}' is not a hyperparameter name (NAME or OPTIMIZER.NAME)", where=where
        )
    values, scale = parse_values(spec, where)
    text = spec if isinstance(spec, str) else ",".join(show_value(v) for v in values)
    return Axis(m.group(2), m.group(1), values, text.strip(), scale)


# ---------------------------------------------------------------------------------------------
# Planning: bases x axes -> validated configurations


@dataclass(frozen=True)
class Base:
    """One ``-O`` entry of a sweep and the axes that apply to it (indices into the grid)."""

    label: str
    optimizer: str
    overrides: Mapping[str, Value]
    axes: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "optimizer": self.optimizer,
            "overrides": dict(self.overrides),
            "axes": list(self.axes),
        }


@dataclass(frozen=True)
class Point:
    """One configuration of a sweep: its base, the swept values, and its (unique) label."""

    label: str
    base: int
    values: Mapping[str, Value]


@dataclass
class Plan:
    """A validated sweep, ready to run: every configuration resolved, runs counted."""

    problem: Problem
    bases: list[Base]
    axes: list[Axis]
    points: list[Point]
    configs: list[OptimizerConfig]
    seeds: int
    notes: list[str] = field(default_factory=list)

    @property
    def runs(self) -> int:
        return len(self.configs) * self.seeds


def _base_label(name: str, overrides: Mapping[str, Value]) -> str:
    if not overrides:
        return name
    return f"{name}({', '.join(f'{k}={show_value(v)}' for k, v in overrides.items())})"


def _axes_list(grid: Sequence[str | Axis] | Mapping[str, Any], where: str | None) -> list[Axis]:
    axes: list[Axis] = []
    if isinstance(grid, Mapping):
        for key, spec in grid.items():
            axes.append(make_axis(str(key), spec, f"{where}: grid.{key}" if where else key))
    else:
        for g in grid:
            axes.append(g if isinstance(g, Axis) else parse_axis(g))
    return axes


def plan(
    problem: Problem | str | Path,
    optimizers: Sequence[str] | str,
    grid: Sequence[str | Axis] | Mapping[str, Any],
    *,
    seeds: int = 1,
    max_runs: int | None = MAX_RUNS,
    dim: int | None = None,
    where: str | None = None,
) -> Plan:
    """Parse and validate a sweep without running it (see the module docstring for the rules).

    ``where`` names the sweep file the grid came from, for error messages. ``max_runs=None``
    lifts the limit on configurations x seeds.
    """
    from adambench.engine import MAX_SEEDS, _check_int
    from adambench.optimizers import get, parse_specs, resolve
    from adambench.problems import load_problem

    prob = problem if not isinstance(problem, (str, Path)) else load_problem(problem, dim=dim)
    n_seeds = _check_int("seeds", seeds, 1, MAX_SEEDS)
    if isinstance(optimizers, str):
        optimizers = [optimizers]
    specs = [(get(name), dict(over)) for name, over in parse_specs(list(optimizers))]
    axes = _axes_list(grid, where)
    if not axes:
        raise UsageError("a sweep needs at least one --grid NAME=VALUES (e.g. lr=1e-3:1:log7)")

    def axis_where(ax: Axis) -> str:
        return f"{where}: grid.{ax.key}" if where else f"--grid {ax.key}={ax.spec}"

    seen: dict[str, Axis] = {}
    for ax in axes:
        if ax.key in seen:
            raise UsageError(f"grid '{ax.key}' is given twice", where=where)
        seen[ax.key] = ax
    names = sorted({s.name for s, _ in specs})
    all_params = sorted({hp.name for s, _ in specs for hp in s.hyperparams})
    for ax in axes:
        if ax.optimizer is not None:
            if ax.optimizer not in names:
                raise UsageError(
                    f"optimizer '{ax.optimizer}' is not in this sweep "
                    f"({', '.join(names)}){did_you_mean(ax.optimizer, names)}",
                    where=axis_where(ax),
                )
            try:
                get(ax.optimizer).param(ax.name)
            except OptimizerError as exc:
                raise UsageError(str(exc), where=axis_where(ax)) from None
        elif ax.name not in all_params:
            raise UsageError(
                f"no optimizer of this sweep ({', '.join(names)}) has a hyperparameter "
                f"'{ax.name}'{did_you_mean(ax.name, all_params)}",
                where=axis_where(ax),
            )

    bases: list[Base] = []
    notes: list[str] = []
    for spec, over in specs:
        own = [i for i, ax in enumerate(axes) if ax.optimizer == spec.name]
        scoped = {axes[i].name for i in own}
        mine = [
            i
            for i, ax in enumerate(axes)
            if i in own or (ax.optimizer is None and ax.name not in scoped and _has(spec, ax.name))
        ]
        for i in mine:
            ax = axes[i]
            if ax.name in over:
                raise UsageError(
                    f"-O {_base_label(spec.name, over)} sets {ax.name}, which --grid "
                    f"{ax.key} also sweeps; remove one",
                    where=where,
                )
            hp = spec.param(ax.name)
            for v in ax.values:
                try:
                    hp.validate(v, spec.name)
                except OptimizerError as exc:
                    raise UsageError(str(exc), where=axis_where(ax)) from None
        skipped = [axes[i].name for i, ax in enumerate(axes) if ax.optimizer is None]
        skipped = [n for n in skipped if not _has(spec, n)]
        if skipped:
            notes.append(
                f"{spec.name} has no {', '.join(skipped)}: its runs do not vary "
                f"{'it' if len(skipped) == 1 else 'them'}"
            )
        bases.append(Base(_base_label(spec.name, over), spec.name, over, tuple(mine)))

    total = sum(math.prod(len(axes[i].values) for i in b.axes) for b in bases) * n_seeds
    if max_runs is not None and total > max_runs:
        n_cfg = total // n_seeds
        raise UsageError(
            f"the sweep has {total:,} runs ({n_cfg:,} configurations x {n_seeds} seeds), more "
            f"than the limit of {max_runs:,}; pass --yes (or raise --max-runs) to run it"
        )

    configs: list[OptimizerConfig] = []
    points: list[Point] = []
    for b_index, (b, (spec, over)) in enumerate(zip(bases, specs, strict=True)):
        suggested = prob.suggested.get(spec.name)
        swept = [axes[i] for i in b.axes]
        for combo in itertools.product(*(ax.values for ax in swept)):
            chosen = {ax.name: v for ax, v in zip(swept, combo, strict=True)}
            try:
                cfg = resolve(spec, {**over, **chosen}, suggested=suggested)
            except OptimizerError as exc:
                point = ", ".join(f"{k}={show_value(v)}" for k, v in chosen.items())
                raise UsageError(f"grid point {point}: {exc}", where=where) from None
            sources = {**cfg.sources, **{k: "grid" for k in chosen}}
            cfg = replace(cfg, sources=sources)
            configs.append(cfg)
            public = cfg.public_values()
            points.append(Point(cfg.label, b_index, {k: public[k] for k in chosen}))
    return Plan(prob, bases, axes, points, configs, n_seeds, notes)


def _has(spec: OptimizerSpec, name: str) -> bool:
    return any(hp.name == name for hp in spec.hyperparams)


# ---------------------------------------------------------------------------------------------
# Outcomes and aggregation


@dataclass
class Outcomes:
    """The per-run numbers a sweep is summarised from, as (configurations, seeds) arrays."""

    failed: np.ndarray  # diverged or invalid start
    diverged: np.ndarray
    reached: np.ndarray
    final: np.ndarray  # NaN where unknown
    best: np.ndarray
    steps_to_target: np.ndarray

    @staticmethod
    def empty(n_points: int, n_seeds: int) -> Outcomes:
        def z(dtype: Any, fill: Any) -> np.ndarray:
            return np.full((n_points, n_seeds), fill, dtype)

        return Outcomes(
            z(bool, True), z(bool, False), z(bool, False), z(float, np.nan), z(float, np.nan),
            z(float, np.nan),
        )  # fmt: skip

    def set(self, p: int, s: int, status: str, final: Any, best: Any, stt: Any) -> None:
        self.failed[p, s] = status in ("diverged", "invalid_start")
        self.diverged[p, s] = status == "diverged"
        self.reached[p, s] = status == "reached_target"
        self.final[p, s] = np.nan if final is None else final
        self.best[p, s] = np.nan if best is None else best
        self.steps_to_target[p, s] = np.nan if stt is None else stt


@dataclass(frozen=True)
class PointStat:
    """A configuration over its seeds, for one metric.

    ``value`` is the median (or, for success_rate, the fraction reached); ``q1``/``q3`` are the
    quartiles (failed runs count as +inf, so a median of inf means at least half failed).
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
    src = {"final_loss": o.final, "best_loss": o.best, "steps_to_target": o.steps_to_target}
    if metric not in src:
        raise UsageError(f"unknown metric '{metric}'{did_you_mean(metric, METRICS)}")
    v = src[metric]
    return np.where(o.failed | np.isnan(v), np.inf, v)


def aggregate(o: Outcomes, metric: str) -> list[PointStat]:
    """Per-configuration statistics (in grid order), each with its rank (1 = best)."""
    n_points, k = o.failed.shape
    if n_points == 0:
        return []
    vals = per_run_values(o, metric)
    srt = np.sort(vals, axis=1)
    if metric == "success_rate":
        value = vals.mean(axis=1)
        q1 = q3 = value
    else:
        value, q1, q3 = (_sorted_quantile(srt, q) for q in (0.5, 0.25, 0.75))
    failed = o.failed.sum(axis=1)
    final_med = _sorted_quantile(np.sort(per_run_values(o, "final_loss"), axis=1), 0.5)
    idx = np.arange(n_points)
    if metric == "success_rate":
        stt_med = _sorted_quantile(np.sort(per_run_values(o, "steps_to_target"), axis=1), 0.5)
        order = np.lexsort((idx, final_med, stt_med, -value))
    elif metric == "steps_to_target":
        order = np.lexsort((idx, failed, final_med, value))
    else:
        order = np.lexsort((idx, failed, value))
    rank = np.empty(n_points, int)
    rank[order] = np.arange(1, n_points + 1)
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
        )
        for p in range(n_points)
    ]


# ---------------------------------------------------------------------------------------------
# Heatmaps


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
    lookup: dict[tuple[int, tuple[tuple[str, Any], ...]], int] = {}
    for i, pt in enumerate(points):
        lookup[(pt.base, tuple(sorted(pt.values.items())))] = i

    def find(base: int, values: Mapping[str, Value]) -> int | None:
        return lookup.get((base, tuple(sorted(values.items()))))

    def best_of(cells: list[list[int | None]]) -> tuple[tuple[int, int], ...]:
        found = [
            (stats[p].rank, r, c)
            for r, row in enumerate(cells)
            for c, p in enumerate(row)
            if p is not None and math.isfinite(stats[p].value)
        ]
        if not per_column:
            return (min(found)[1:],) if found else ()
        best: dict[int, tuple[int, int, int]] = {}
        for f in found:
            if f[2] not in best or f < best[f[2]]:
                best[f[2]] = f
        return tuple(best[c][1:] for c in sorted(best))

    out: list[Heatmap] = []
    swept = [[i for i in b.axes if len(axes[i].values) > 1] for b in bases]
    for b, (base, mine) in enumerate(zip(bases, swept, strict=True)):
        if len(mine) < 2:
            continue
        rows, cols, extra = axes[mine[0]], axes[mine[1]], [axes[i] for i in mine[2:]]
        fixed_all = {axes[i].name: axes[i].values[0] for i in base.axes if i not in mine}
        for combo in itertools.product(*(ax.values for ax in extra)):
            fixed = {ax.name: v for ax, v in zip(extra, combo, strict=True)}
            cells = [
                [
                    find(b, {rows.name: rv, cols.name: cv, **fixed, **fixed_all})
                    for cv in cols.values
                ]
                for rv in rows.values
            ]
            title = base.label + "".join(f", {k}={show_value(v)}" for k, v in fixed.items())
            out.append(
                Heatmap(
                    title,
                    rows.name,
                    cols.name,
                    tuple(show_value(v) for v in rows.values),
                    tuple(show_value(v) for v in cols.values),
                    tuple(tuple(r) for r in cells),
                    fixed,
                    best_of(cells),
                )
            )
    one = [axes[m[0]].name for m in swept if len(m) == 1]
    if len(bases) >= min_bases and len(one) == len(bases) and len(set(one)) == 1:
        name = one[0]
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
        cells = [[find(b, {name: v, **fixed_b[b]}) for b in range(len(bases))] for v in values]
        out.append(
            Heatmap(
                "",
                name,
                "optimizer",
                tuple(show_value(v) for v in values),
                tuple(b.label for b in bases),
                tuple(tuple(r) for r in cells),
                {},
                best_of(cells),
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# The result of a sweep


@dataclass
class SweepResult:
    """A finished (or reloaded) sweep: its grid, every run's outcome, and views of them.

    ``result`` is the full :class:`~adambench.results.Result` (every run, as ``run`` returns)
    for a sweep that ran in this process, and None for one reloaded from a JSON file.
    """

    problem: str
    target: float | None
    steps: int
    seeds: tuple[int, ...]
    bases: list[Base]
    axes: list[Axis]
    points: list[Point]
    outcomes: Outcomes
    metric: str = "final_loss"
    notes: list[str] = field(default_factory=list)
    result: Result | None = None

    def __post_init__(self) -> None:
        check_metric(self.metric, self.target, self.problem)

    @property
    def runs(self) -> int:
        return len(self.points) * len(self.seeds)

    def stats(self, metric: str | None = None) -> list[PointStat]:
        """Per-configuration statistics in grid order (see :func:`aggregate`)."""
        m = metric or self.metric
        check_metric(m, self.target, self.problem)
        return aggregate(self.outcomes, m)

    def ranked(self, metric: str | None = None) -> list[PointStat]:
        """The statistics, best first."""
        return sorted(self.stats(metric), key=lambda s: s.rank)

    def best(self, metric: str | None = None) -> PointStat | None:
        r = self.ranked(metric)
        return r[0] if r else None

    def heatmaps(self, metric: str | None = None) -> list[Heatmap]:
        return heatmaps(self.bases, self.axes, self.points, self.stats(metric))

    def swept_names(self) -> list[str]:
        """Names of the hyperparameters that take more than one value, in grid order."""
        names: list[str] = []
        for ax in self.axes:
            if len(ax.values) > 1 and ax.name not in names:
                names.append(ax.name)
        return names

    def rule(self, metric: str | None = None) -> str:
        """The aggregation rule, in words (stated under tables and in the JSON)."""
        return rule_text(metric or self.metric, self.seeds)

    def sweep_dict(self, metric: str | None = None) -> dict[str, Any]:
        """The ``sweep`` block of the JSON result."""
        m = metric or self.metric
        return {
            "metric": m,
            "rule": self.rule(m),
            "seeds": list(self.seeds),
            "steps": self.steps,
            "optimizers": [b.to_dict() for b in self.bases],
            "grid": [ax.to_dict() for ax in self.axes],
            "points": points_dicts(self.points, self.stats(m)),
        }

    def to_dict(self, trace: bool = False) -> dict[str, Any]:
        """The JSON object of ``run`` (every run) plus a ``sweep`` block."""
        if self.result is None:
            raise UsageError("a reloaded sweep has no runs to write again")
        d = self.result.to_dict(trace=trace)
        d["sweep"] = self.sweep_dict()
        return d

    def to_json(self, trace: bool = False) -> str:
        import json

        return json.dumps(self.to_dict(trace), indent=2, allow_nan=False) + "\n"

    def to_csv(self) -> str:
        """One row per run, as ``run`` writes it (swept values are the hp_ columns)."""
        if self.result is None:
            raise UsageError("a reloaded sweep has no runs to write again")
        return self.result.to_csv()

    @staticmethod
    def from_dict(data: Mapping[str, Any], where: str = "<sweep>") -> SweepResult:
        """Rebuild a sweep from its JSON object (``sweep -o FILE.json``) to render it again."""
        return _from_dict(data, where)


def check_metric(metric: str, target: float | None, problem: str) -> None:
    if metric not in METRICS:
        raise UsageError(
            f"unknown metric '{metric}'{did_you_mean(metric, METRICS)}; "
            f"choose from {', '.join(METRICS)}"
        )
    if metric in ("steps_to_target", "success_rate") and target is None:
        raise UsageError(f"metric {metric} needs a problem with a target; {problem} has none")


def rule_text(metric: str, seeds: Sequence[int]) -> str:
    n = len(seeds)
    over = f"seed {seeds[0]}" if n == 1 else f"{n} seeds ({seeds[0]}..{seeds[-1]})"
    if metric == "success_rate":
        return (
            f"ranked by the fraction of runs that reached the target over {over}; ties by "
            "median steps to target, then median final loss"
        )
    what = METRIC_NAMES[metric]
    fail = "never reached the target or diverged" if metric == "steps_to_target" else "diverged"
    return f"ranked by the median {what} over {over}; runs that {fail} count as the worst value"


def points_dicts(points: Sequence[Point], stats: Sequence[PointStat]) -> list[dict[str, Any]]:
    from adambench.results import _num

    return [
        {
            "label": pt.label,
            "base": pt.base,
            "values": dict(pt.values),
            "value": _num(st.value),
            "q1": _num(st.q1),
            "q3": _num(st.q3),
            "state": st.state,
            "runs": st.runs,
            "failed": st.failed,
            "diverged": st.diverged,
            "reached": st.reached,
            "rank": st.rank,
        }
        for pt, st in zip(points, stats, strict=True)
    ]


def outcomes_of(result: Result, n_points: int) -> Outcomes:
    """Outcomes of a sweep's runs (configuration k = point k, seeds in settings order)."""
    seed_index = {s: i for i, s in enumerate(result.settings.seeds)}
    o = Outcomes.empty(n_points, len(seed_index))
    for r in result.runs:
        o.set(
            r.config_index, seed_index[r.seed], r.status, r.final_loss, r.best_loss,
            r.steps_to_target,
        )  # fmt: skip
    return o


def _from_dict(data: Mapping[str, Any], where: str) -> SweepResult:
    block = data.get("sweep")
    if not isinstance(block, Mapping):
        raise ConfigError("not a sweep result (no 'sweep' block)", where=where)
    try:
        seeds = tuple(int(s) for s in data["settings"]["seeds"])
        axes = [
            Axis(
                str(a["name"]),
                a["optimizer"],
                tuple(v if isinstance(v, bool) else float(v) for v in a["values"]),
                str(a["spec"]),
                str(a["scale"]),
            )
            for a in block["grid"]
        ]
        bases = [
            Base(str(b["label"]), str(b["optimizer"]), dict(b["overrides"]), tuple(b["axes"]))
            for b in block["optimizers"]
        ]
        points = [
            Point(str(p["label"]), int(p["base"]), dict(p["values"])) for p in block["points"]
        ]
        index = {p.label: i for i, p in enumerate(points)}
        seed_index = {s: i for i, s in enumerate(seeds)}
        o = Outcomes.empty(len(points), len(seeds))
        seen = np.zeros((len(points), len(seeds)), bool)
        for r in data["runs"]:
            p, s = index[r["label"]], seed_index[r["seed"]]
            o.set(p, s, r["status"], r["final_loss"], r["best_loss"], r["steps_to_target"])
            seen[p, s] = True
        if not seen.all():
            raise ConfigError("the sweep's runs are incomplete", where=where)
        prob = data["problem"]
        return SweepResult(
            problem=str(prob["name"]),
            target=prob["target"],
            steps=int(data["settings"]["steps"]),
            seeds=seeds,
            bases=bases,
            axes=axes,
            points=points,
            outcomes=o,
            metric=str(block["metric"]),
            notes=[],
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ConfigError(
            f"malformed sweep result ({type(exc).__name__}: {exc})", where=where
        ) from None


def load_sweep_result(path: str | Path) -> SweepResult:
    """Reload a sweep saved with ``-o FILE.json``, for tables and plots without rerunning."""
    from adambench.results import read_result_file

    if Path(path).suffix.lower() == ".csv":
        raise ConfigError(
            "a CSV holds the runs but not the grid; save sweeps as .json to reload them",
            where=str(path),
        )
    return SweepResult.from_dict(read_result_file(path), where=str(path))


# ---------------------------------------------------------------------------------------------
# Running


def sweep(
    problem: Problem | str | Path,
    optimizers: Sequence[str] | str = ("adam",),
    grid: Sequence[str | Axis] | Mapping[str, Any] = (),
    *,
    seeds: int = 1,
    seed: int = 0,
    steps: int | None = None,
    start: Any = None,
    metric: str = "final_loss",
    max_runs: int | None = MAX_RUNS,
    dim: int | None = None,
    threads: int | None = None,
    progress: ProgressFn | None = None,
    on_compile: CompileFn | None = None,
    chunk_steps: int | None = None,
    where: str | None = None,
    scheduler: Any = None,
) -> SweepResult:
    """Run every configuration of a grid from ``seeds`` seeds on ``problem``, in one pass.

    ``grid`` is a list of ``"name=values"`` strings (as ``--grid`` takes them) or a mapping
    ``{name: "a:b:logn" | [values] | value}`` (as a sweep file holds it). Everything is
    validated before anything runs (see :func:`plan`). Only the start and the end of each run
    are recorded (no trajectories), so a sweep's memory is small whatever its length.
    ``threads`` and ``chunk_steps`` never change a number.

    ``scheduler`` runs the sweep on Dask in chunks of runs (:mod:`adambench.cluster`):
    ``"local"`` (a local cluster of worker processes), a scheduler's address
    (``"tcp://host:8786"``), a ``distributed.Client``, or a
    :class:`~adambench.cluster.Cluster` with more options (chunk size, partial output to
    resume). The result is the same, bit for bit; ``threads`` is then the engine threads per
    chunk. Without it nothing about Dask is imported.
    """
    from adambench import engine

    p = plan(problem, optimizers, grid, seeds=seeds, max_runs=max_runs, dim=dim, where=where)
    prob = p.problem
    check_metric(metric, prob.target, prob.name)
    n_steps = prob.steps if steps is None else steps
    # Only the start and the end of each run are recorded: a sweep needs no trajectories.
    valid = isinstance(n_steps, int) and not isinstance(n_steps, bool) and n_steps >= 1
    job = engine.prepare(
        prob,
        p.configs,
        steps=n_steps,
        seeds=seeds,
        seed=seed,
        start=start,
        every=n_steps if valid else 1,
        record_x=False,
        allocate=scheduler is None,
    )
    if scheduler is None:
        n_threads = engine.execute(
            [job],
            threads=threads,
            progress=progress,
            on_compile=on_compile,
            chunk_steps=chunk_steps,
        )
        extra: list[str] = []
    else:
        from adambench import cluster

        what = f"sweep {prob.name}: {p.runs:,} runs of {job.settings.steps} steps"
        report = cluster.execute(
            [job], cluster.as_cluster(scheduler, threads), progress=progress, what=what
        )
        n_threads, extra = report.threads, report.notes
    result = engine.collect(job, threads=n_threads)
    result.notes = p.notes + result.notes + [n for n in extra if n not in result.notes]
    return _from_result(p, result, metric)


def _from_result(p: Plan, result: Result, metric: str) -> SweepResult:
    # The engine may have renamed repeated labels (adam#2): points take the final labels.
    points = [replace(pt, label=c.label) for pt, c in zip(p.points, result.configs, strict=True)]
    return SweepResult(
        problem=p.problem.name,
        target=p.problem.target,
        steps=result.settings.steps,
        seeds=result.settings.seeds,
        bases=p.bases,
        axes=p.axes,
        points=points,
        outcomes=outcomes_of(result, len(points)),
        metric=metric,
        notes=list(result.notes),
        result=result,
    )


# ---------------------------------------------------------------------------------------------
# Sweep files


@dataclass(frozen=True)
class SweepSpec:
    """A sweep as a YAML file states it (keys the file leaves out are None)."""

    path: str
    problem: str | None = None
    optimizers: tuple[str, ...] | None = None
    grid: Mapping[str, Any] | None = None
    seeds: int | None = None
    seed: int | None = None
    steps: int | None = None
    start: Any = None
    metric: str | None = None
    max_runs: int | None = None
    dim: int | None = None
    description: str | None = None


SWEEP_KEYS = {
    "description": "free text",
    "problem": "a problem name or the path of a problem file (relative to the sweep file)",
    "dim": "dimension of a vector problem",
    "optimizers": "a spec or a list of specs, as -O takes them",
    "grid": "a mapping NAME: range string or list of values",
    "seeds": "runs per configuration",
    "seed": "the first seed",
    "steps": "steps per run",
    "start": "default, random or a point",
    "metric": "final_loss, best_loss, steps_to_target or success_rate",
    "max_runs": "refuse sweeps of more runs",
}


def load_sweep_file(path: str | Path) -> SweepSpec:
    """Read and validate a sweep YAML file (errors name the file and the key)."""
    from adambench.engine import MAX_SEEDS
    from adambench.problems import MAX_DIM, MAX_STEPS, is_path
    from adambench.safeyaml import load_file

    where = str(path)
    raw = load_file(path)
    if not isinstance(raw, Mapping):
        raise ConfigError("a sweep file is a mapping of keys (problem, optimizers, grid, ...)",
                          where=where)  # fmt: skip
    for key in raw:
        if key not in SWEEP_KEYS:
            raise ConfigError(
                f"unknown key '{key}'{did_you_mean(str(key), SWEEP_KEYS)}; "
                f"known: {', '.join(SWEEP_KEYS)}",
                where=where,
            )

    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(f"{key}: {message}", where=where)

    def integer(key: str, low: int, high: int) -> int | None:
        v = raw.get(key)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise fail(key, f"must be an integer >= {low}, got {v!r}")
        if v > high:
            raise fail(key, f"must be at most {high:g}, got {v!r}")
        return v

    problem = raw.get("problem")
    if problem is not None:
        if not isinstance(problem, str) or not problem.strip():
            raise fail("problem", f"must be a problem name or file path, got {problem!r}")
        if is_path(problem) and not Path(problem).is_absolute():
            problem = str(Path(path).parent / problem)
    opts = raw.get("optimizers")
    if opts is not None:
        if isinstance(opts, str):
            opts = [opts]
        if not isinstance(opts, list) or not opts or not all(isinstance(o, str) for o in opts):
            raise fail("optimizers", "must be a spec or a non-empty list of specs")
        opts = tuple(opts)
    grid = raw.get("grid")
    if grid is not None:
        if not isinstance(grid, Mapping) or not grid:
            raise fail("grid", "must be a mapping NAME: VALUES (e.g. lr: 1.0e-3:1:log7)")
        for key, spec in grid.items():
            try:
                make_axis(str(key), spec, f"{where}: grid.{key}")  # validates the spec now
            except UsageError as exc:
                raise ConfigError(str(exc)) from None
    metric = raw.get("metric")
    if metric is not None and metric not in METRICS:
        raise fail("metric", f"must be one of {', '.join(METRICS)}, got {metric!r}")
    start = raw.get("start")
    if start is not None and not (
        start in ("default", "random")
        or (
            isinstance(start, list)
            and start
            and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                for v in start
            )
        )
    ):
        raise fail("start", f"must be default, random or a list of finite numbers, got {start!r}")
    description = raw.get("description")
    if description is not None and not isinstance(description, str):
        raise fail("description", "must be text")
    return SweepSpec(
        path=where,
        problem=problem,
        optimizers=opts,
        grid=grid,
        seeds=integer("seeds", 1, MAX_SEEDS),
        seed=integer("seed", 0, 2**62),
        steps=integer("steps", 1, MAX_STEPS),
        start=start,
        metric=metric,
        max_runs=integer("max_runs", 1, 10**12),
        dim=integer("dim", 1, MAX_DIM),
        description=description,
    )


# ---------------------------------------------------------------------------------------------
# Tuned comparisons


@dataclass(frozen=True)
class Choice:
    """The value tuning chose for one optimizer, and how it did there."""

    base: int
    label: str
    value: float
    stat: PointStat
    at_edge: bool


@dataclass
class Tuning:
    """The per-optimizer step-size search that precedes a tuned comparison."""

    param: str
    low: float
    high: float
    count: int
    metric: str
    sweep: SweepResult
    choices: list[Choice]
    eval_seeds: tuple[int, ...]

    @property
    def values(self) -> tuple[Value, ...]:
        return self.sweep.axes[0].values

    def heatmap(self) -> Heatmap:
        """The tuning grid: a row per value, a column per optimizer, each one's choice marked."""
        s = self.sweep
        return heatmaps(s.bases, s.axes, s.points, s.stats(), min_bases=1, per_column=True)[-1]

    def rule(self) -> str:
        """The protocol in one sentence (under the table and in the JSON)."""
        s = self.sweep
        seeds = s.seeds
        over = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}..{seeds[-1]}"
        if self.eval_seeds:
            shared = set(seeds) & set(self.eval_seeds)
            over += " (shared with" if shared else " (held out from"
            over += " the reported seeds)"
        if self.metric == "success_rate":
            chosen = "the highest success rate"
        else:
            chosen = f"the lowest median {METRIC_NAMES[self.metric]}"
        return (
            f"{self.param} tuned per optimizer over {self.count} log-spaced values in "
            f"[{self.low:g}, {self.high:g}], {s.steps} steps from {over}; chosen: {chosen}, "
            "failed runs counting as worst; the same budget for every optimizer, "
            "no gradient clipping"
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``tuning`` block of the JSON result: protocol, choices, every grid point and run."""
        from adambench.results import _num, _run_dict

        s = self.sweep
        stats = s.stats()
        out: dict[str, Any] = {
            "param": self.param,
            "range": [self.low, self.high],
            "count": self.count,
            "values": list(self.values),
            "metric": self.metric,
            "rule": self.rule(),
            "seeds": list(s.seeds),
            "steps": s.steps,
            "chosen": [
                {
                    "label": c.label,
                    "optimizer": s.bases[c.base].optimizer,
                    "value": c.value,
                    "median": _num(c.stat.value),
                    "state": c.stat.state,
                    "at_edge": c.at_edge,
                }
                for c in self.choices
            ],
            "optimizers": [b.to_dict() for b in s.bases],
            "points": points_dicts(s.points, stats),
            "runs": [],
        }
        if s.result is not None:
            small = s.result.problem.dim <= 1000
            out["runs"] = [_run_dict(r, small, False) for r in s.result.runs]
        return out


def tune(
    problem: Problem | str | Path,
    optimizers: Sequence[str] | str,
    *,
    param: str = "lr",
    low: float = 1e-4,
    high: float = 1.0,
    count: int = 9,
    metric: str = "final_loss",
    seeds: int = 1,
    seed: int = 0,
    eval_seeds: Sequence[int] = (),
    steps: int | None = None,
    start: Any = None,
    dim: int | None = None,
    threads: int | None = None,
    progress: ProgressFn | None = None,
    on_compile: CompileFn | None = None,
) -> Tuning:
    """Sweep ``param`` over ``count`` log-spaced values in [low, high] for every optimizer
    (the same grid, steps and seeds for each) and pick each one's best value by ``metric``."""
    if param != "lr":
        raise UsageError(f"--tune supports lr only, got '{param}'{did_you_mean(param, ['lr'])}")
    if not (isinstance(count, int) and 2 <= count <= 1000):
        raise UsageError(f"--tune-count must be an integer between 2 and 1000, got {count}")
    spec = f"{low!r}:{high!r}:log{count}"
    axis = make_axis(param, spec, f"--tune-range {low:g}:{high:g}")
    if isinstance(optimizers, str):
        optimizers = [optimizers]
    from adambench.optimizers import parse_specs

    for name, over in parse_specs(list(optimizers)):
        if param in over:
            raise UsageError(
                f"-O {_base_label(name, over)} sets {param}, which --tune {param} chooses; "
                "remove one"
            )
    s = sweep(
        problem,
        optimizers,
        [axis],
        seeds=seeds,
        seed=seed,
        steps=steps,
        start=start,
        metric=metric,
        max_runs=None,
        dim=dim,
        threads=threads,
        progress=progress,
        on_compile=on_compile,
    )
    stats = s.stats()
    choices = []
    for b, base in enumerate(s.bases):
        mine = [st for st in stats if s.points[st.point].base == b]
        best = min(mine, key=lambda st: st.rank)
        value = float(s.points[best.point].values[param])
        ends = (axis.values[0], axis.values[-1])
        edge = value in ends and len(mine) > 1
        choices.append(Choice(b, base.label, value, best, edge))
    return Tuning(param, float(low), float(high), count, metric, s, choices, tuple(eval_seeds))


@dataclass
class TunedResult:
    """A tuned comparison: the tuning search and the comparison at the chosen values."""

    result: Result
    tuning: Tuning

    def to_dict(self, trace: bool = False) -> dict[str, Any]:
        d = self.result.to_dict(trace=trace)
        d["tuning"] = self.tuning.to_dict()
        return d

    def to_json(self, trace: bool = False) -> str:
        import json

        return json.dumps(self.to_dict(trace), indent=2, allow_nan=False) + "\n"

    def to_csv(self) -> str:
        """Every run of the tuning grid (phase ``tune``) and of the comparison (``compare``),
        in the columns of ``run``'s CSV plus a last column ``phase``."""
        assert self.tuning.sweep.result is not None
        tune_rows = self.tuning.sweep.result.to_csv().splitlines()
        comp_rows = self.result.to_csv().splitlines()
        if tune_rows[0] != comp_rows[0]:  # different hp columns: align on the union
            return _merge_csv(self.tuning.sweep.result, self.result)
        lines = [tune_rows[0] + ",phase"]
        lines += [r + ",tune" for r in tune_rows[1:]]
        lines += [r + ",compare" for r in comp_rows[1:]]
        return "\n".join(lines) + "\n"


def _merge_csv(a: Result, b: Result) -> str:
    import csv
    import io

    rows: list[dict[str, str]] = []
    cols: list[str] = []
    for res, phase in ((a, "tune"), (b, "compare")):
        reader = csv.DictReader(io.StringIO(res.to_csv()))
        for c in reader.fieldnames or []:
            if c not in cols:
                cols.append(c)
        rows += [{**row, "phase": phase} for row in reader]
    buf = io.StringIO()
    w = csv.DictWriter(buf, [*cols, "phase"], lineterminator="\n", restval="")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def run_tuned(
    problem: Problem | str | Path,
    optimizers: Sequence[str] | str = ("adam",),
    *,
    param: str = "lr",
    tune_range: tuple[float, float] = (1e-4, 1.0),
    tune_count: int = 9,
    tune_metric: str = "final_loss",
    tune_seeds: int | None = None,
    steps: int | None = None,
    seeds: int = 1,
    seed: int = 0,
    start: Any = None,
    dim: int | None = None,
    threads: int | None = None,
    progress: Callable[[str], ProgressFn | None] | None = None,
    on_compile: CompileFn | None = None,
    **run_options: Any,
) -> TunedResult:
    """A tuned comparison: tune ``param`` per optimizer, then run each at its chosen value.

    The tuning runs use ``tune_seeds`` seeds (default: as many as ``seeds``) that follow the
    reported ones (``seed+seeds ..``), so the reported numbers are not the ones the choice was
    made on. The comparison is ``run`` with the chosen values (source ``tuned``); other
    ``run_options`` (every, average, stop_at_target, ...) apply to it only. ``progress(phase)``
    returns the progress callback of each phase (``"tune"``, ``"run"``).
    """
    from adambench import engine
    from adambench.engine import MAX_SEEDS, _check_int
    from adambench.optimizers import get, parse_specs, resolve
    from adambench.problems import load_problem

    prob = problem if not isinstance(problem, (str, Path)) else load_problem(problem, dim=dim)
    check_metric(tune_metric, prob.target, prob.name)
    n_seeds = _check_int("seeds", seeds, 1, MAX_SEEDS)
    first = _check_int("seed", seed, 0, 2**62)
    n_tune = _check_int("tune seeds", n_seeds if tune_seeds is None else tune_seeds, 1, MAX_SEEDS)
    if "lr" in run_options and run_options["lr"] is not None:
        raise UsageError("--lr and --tune lr both set the step size; remove one")
    run_options.pop("lr", None)
    low, high = tune_range
    eval_seeds = tuple(range(first, first + n_seeds))
    tuning = tune(
        prob,
        optimizers,
        param=param,
        low=low,
        high=high,
        count=tune_count,
        metric=tune_metric,
        seeds=n_tune,
        seed=first + n_seeds,
        eval_seeds=eval_seeds,
        steps=steps,
        start=start,
        threads=threads,
        progress=progress("tune") if progress else None,
        on_compile=on_compile,
    )
    configs = []
    items = list(optimizers) if not isinstance(optimizers, str) else [optimizers]
    for (name, over), choice in zip(parse_specs(items), tuning.choices, strict=True):
        spec = get(name)
        cfg = resolve(spec, {**over, param: choice.value}, suggested=prob.suggested.get(name))
        configs.append(replace(cfg, sources={**cfg.sources, param: "tuned"}))
    result = engine.run(
        prob,
        configs,
        steps=steps,
        seeds=n_seeds,
        seed=first,
        start=start,
        threads=threads,
        progress=progress("run") if progress else None,
        on_compile=on_compile,
        **run_options,
    )
    for c in tuning.choices:
        if c.at_edge:
            result.notes.append(
                f"{c.label}: the best {param} ({c.value:g}) is at the edge of the tuning range; "
                "widen --tune-range"
            )
        if c.stat.state != "ok":
            result.notes.append(
                f"{c.label}: no {param} in the tuning range gave a finite median "
                f"{METRIC_NAMES[tuning.metric]}; reported at the least bad ({c.value:g})"
            )
    return TunedResult(result, tuning)


__all__ = [
    "MAX_RUNS",
    "METRICS",
    "Axis",
    "Heatmap",
    "PointStat",
    "SweepResult",
    "SweepSpec",
    "TunedResult",
    "Tuning",
    "load_sweep_file",
    "load_sweep_result",
    "parse_axis",
    "plan",
    "run_tuned",
    "sweep",
    "tune",
]
