"""Sweep files (YAML): what `adambench sweep --config` reads."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adambench.errors import ConfigError, UsageError
from adambench.fields import Fields, Wording, number_like
from adambench.limits import DTYPES
from adambench.sweeps.grid import METRICS, make_axis

__all__ = ["SWEEP_KEYS", "SWEEP_WORDING", "SweepSpec", "load_sweep_file"]


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
    dtype: str | None = None


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
    "metric": "final_loss, best_loss, steps_to_target, success_rate, test_loss or test_error",
    "max_runs": "refuse sweeps of more runs",
    "dtype": "float64 (default) or float32: parameters, optimizer state and gradient",
}


#: The wording of sweep files: ``key: message``, values shown by their repr, integers strictly
#: ints, and an unknown key followed by the known ones.
SWEEP_WORDING = Wording(
    label="{key}: ", shown=repr, integral_floats=False, string_keys=False, list_known=True
)


def load_sweep_file(path: str | Path) -> SweepSpec:
    """Read and validate a sweep YAML file (errors name the file and the key)."""
    from adambench.safeyaml import load_file

    where = str(path)
    raw = load_file(path)
    if not isinstance(raw, Mapping):
        raise ConfigError("a sweep file is a mapping of keys (problem, optimizers, grid, ...)",
                          where=where)  # fmt: skip
    f = Fields(raw, where, SWEEP_WORDING)
    f.unknown_keys(SWEEP_KEYS)
    problem = _problem(f, Path(path))
    optimizers = _optimizers(f)
    grid = _grid(f)
    metric = f.get("metric")
    if metric is not None and metric not in METRICS:
        raise f.fail("metric", f"must be one of {', '.join(METRICS)}, got {metric!r}")
    start = _start(f)
    dtype = f.get("dtype")
    if dtype is not None and dtype not in DTYPES:
        raise f.fail("dtype", f"must be one of {', '.join(DTYPES)}, got {dtype!r}")
    description = f.get("description")
    if description is not None and not isinstance(description, str):
        raise f.fail("description", "must be text")
    return SweepSpec(
        path=where,
        problem=problem,
        optimizers=optimizers,
        grid=grid,
        start=start,
        metric=metric,
        description=description,
        dtype=dtype,
        **_integers(f),
    )


def _problem(f: Fields, path: Path) -> str | None:
    """The problem's name, or its file's path (relative paths: to the sweep file's folder)."""
    from adambench.problems import is_path

    problem = f.get("problem")
    if problem is None:
        return None
    if not isinstance(problem, str) or not problem.strip():
        raise f.fail("problem", f"must be a problem name or file path, got {problem!r}")
    if is_path(problem) and not Path(problem).is_absolute():
        return str(path.parent / problem)
    return problem


def _optimizers(f: Fields) -> tuple[str, ...] | None:
    opts = f.get("optimizers")
    if opts is None:
        return None
    if isinstance(opts, str):
        opts = [opts]
    if not isinstance(opts, list) or not opts or not all(isinstance(o, str) for o in opts):
        raise f.fail("optimizers", "must be a spec or a non-empty list of specs")
    return tuple(opts)


def _grid(f: Fields) -> Mapping[str, Any] | None:
    """The grid, each axis checked now (so that errors name the file before anything runs)."""
    grid = f.get("grid")
    if grid is None:
        return None
    if not isinstance(grid, Mapping) or not grid:
        raise f.fail("grid", "must be a mapping NAME: VALUES (e.g. lr: 1.0e-3:1:log7)")
    for key, spec in grid.items():
        try:
            make_axis(str(key), spec, f"{f.where}: grid.{key}")
        except UsageError as exc:
            raise ConfigError(str(exc)) from None
    return grid


def _start(f: Fields) -> Any:
    """default, random, or a list of finite numbers (``1e-3`` read by YAML as text included)."""
    start = f.get("start")
    if start is None or start in ("default", "random"):
        return start
    numbers = [number_like(v) for v in start] if isinstance(start, list) else []
    if not numbers or not all(v is not None and math.isfinite(v) for v in numbers):
        raise f.fail("start", f"must be default, random or a list of finite numbers, got {start!r}")
    return numbers


def _integers(f: Fields) -> dict[str, int | None]:
    """The integer keys, checked in this order (None when absent or null)."""
    from adambench.limits import MAX_DIM, MAX_SEED, MAX_SEEDS, MAX_STEPS

    limits = {
        "seeds": (1, MAX_SEEDS),
        "seed": (0, MAX_SEED),
        "steps": (1, MAX_STEPS),
        "max_runs": (1, 10**12),
        "dim": (1, MAX_DIM),
    }
    return {
        key: None if f.get(key) is None else f.integer(key, low, high)
        for key, (low, high) in limits.items()
    }
