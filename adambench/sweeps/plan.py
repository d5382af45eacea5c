"""Planning a sweep: bases x axes -> validated optimizer configurations."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adambench.errors import OptimizerError, UsageError, did_you_mean
from adambench.optimizers.spec import name_hint

if TYPE_CHECKING:
    from adambench.optimizers.spec import OptimizerConfig, OptimizerSpec
    from adambench.problems import Problem
from adambench.sweeps.grid import MAX_RUNS, Axis, Value, make_axis, parse_axis, show_value

__all__ = ["Base", "Plan", "Point", "base_label", "plan"]


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


def base_label(name: str, overrides: Mapping[str, Value]) -> str:
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
    from adambench.limits import MAX_SEEDS, check_int
    from adambench.optimizers.registry import get, parse_specs
    from adambench.problems import load_problem

    prob = problem if not isinstance(problem, (str, Path)) else load_problem(problem, dim=dim)
    n_seeds = check_int("seeds", seeds, 1, MAX_SEEDS)
    if isinstance(optimizers, str):
        optimizers = [optimizers]
    specs = [(get(name), dict(over)) for name, over in parse_specs(list(optimizers))]
    axes = _axes_list(grid, where)
    if not axes:
        raise UsageError("a sweep needs at least one --grid NAME=VALUES (e.g. lr=1e-3:1:log7)")
    _check_axes(axes, specs, where)
    bases: list[Base] = []
    notes: list[str] = []
    for spec, over in specs:
        base, note = _base(spec, over, axes, where)
        bases.append(base)
        notes += note
    _check_size(bases, axes, n_seeds, max_runs)
    points, configs = _points(prob, bases, specs, axes, where)
    return Plan(prob, bases, axes, points, configs, n_seeds, notes)


def _axis_where(ax: Axis, where: str | None) -> str:
    """How errors name an axis: by the sweep file's key, or by the --grid option."""
    return f"{where}: grid.{ax.key}" if where else f"--grid {ax.key}={ax.spec}"


def _check_axes(
    axes: list[Axis], specs: list[tuple[OptimizerSpec, dict[str, Any]]], where: str | None
) -> None:
    """Each axis once, and each naming a hyperparameter of (its) optimizer in the sweep."""
    from adambench.optimizers.registry import get

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
                    where=_axis_where(ax, where),
                )
            try:
                get(ax.optimizer).param(ax.name)
            except OptimizerError as exc:
                raise UsageError(str(exc), where=_axis_where(ax, where)) from None
        elif ax.name not in all_params:
            raise UsageError(
                f"no optimizer of this sweep ({', '.join(names)}) has a hyperparameter "
                f"'{ax.name}'{name_hint(ax.name, all_params)}",
                where=_axis_where(ax, where),
            )


def _base(
    spec: OptimizerSpec, over: dict[str, Any], axes: list[Axis], where: str | None
) -> tuple[Base, list[str]]:
    """One -O entry, the axes that apply to it (values checked), and a note on those that don't.

    An axis scoped to the optimizer (``adam.lr``) wins over an unscoped one of the same name.
    """
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
                f"-O {base_label(spec.name, over)} sets {ax.name}, which --grid "
                f"{ax.key} also sweeps; remove one",
                where=where,
            )
        hp = spec.param(ax.name)
        for v in ax.values:
            try:
                hp.validate(v, spec.name)
            except OptimizerError as exc:
                raise UsageError(str(exc), where=_axis_where(ax, where)) from None
    skipped = [ax.name for ax in axes if ax.optimizer is None and not _has(spec, ax.name)]
    notes = []
    if skipped:
        notes.append(
            f"{spec.name} has no {', '.join(skipped)}: its runs do not vary "
            f"{'it' if len(skipped) == 1 else 'them'}"
        )
    return Base(base_label(spec.name, over), spec.name, over, tuple(mine)), notes


def _check_size(bases: list[Base], axes: list[Axis], n_seeds: int, max_runs: int | None) -> None:
    total = sum(math.prod(len(axes[i].values) for i in b.axes) for b in bases) * n_seeds
    if max_runs is not None and total > max_runs:
        n_cfg = total // n_seeds
        raise UsageError(
            f"the sweep has {total:,} runs ({n_cfg:,} configurations x {n_seeds} seeds), more "
            f"than the limit of {max_runs:,}; pass --yes (or raise --max-runs) to run it"
        )


def _points(
    prob: Problem,
    bases: list[Base],
    specs: list[tuple[OptimizerSpec, dict[str, Any]]],
    axes: list[Axis],
    where: str | None,
) -> tuple[list[Point], list[OptimizerConfig]]:
    """Every configuration of the grid, resolved (sources of swept values: ``grid``)."""
    from adambench.optimizers.registry import resolve, validate_suggestions

    suggestions = validate_suggestions(prob)
    configs: list[OptimizerConfig] = []
    points: list[Point] = []
    for b_index, (b, (spec, over)) in enumerate(zip(bases, specs, strict=True)):
        suggested = suggestions.get(spec.name)
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
    return points, configs


def _has(spec: OptimizerSpec, name: str) -> bool:
    return any(hp.name == name for hp in spec.hyperparams)
