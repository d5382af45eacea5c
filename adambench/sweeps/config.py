"""Sweep files (YAML): what `adambench sweep --config` reads."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adambench.errors import ConfigError, UsageError, did_you_mean

if TYPE_CHECKING:
    pass
from adambench.sweeps.grid import METRICS, make_axis

__all__ = ["SWEEP_KEYS", "SweepSpec", "load_sweep_file"]


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
    from adambench.limits import MAX_DIM, MAX_SEED, MAX_SEEDS, MAX_STEPS
    from adambench.problems import is_path
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
        seed=integer("seed", 0, MAX_SEED),
        steps=integer("steps", 1, MAX_STEPS),
        start=start,
        metric=metric,
        max_runs=integer("max_runs", 1, 10**12),
        dim=integer("dim", 1, MAX_DIM),
        description=description,
    )
