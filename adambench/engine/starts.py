"""Start points of runs: the problem's, one given point, or uniform in the domain per seed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from adambench import kernels as K
from adambench.errors import UsageError
from adambench.problems import Problem

__all__ = ["random_starts", "repeated_seeds_note", "seeds_repeat_one_run", "start_points"]


def random_starts(problem: Problem, seeds: Sequence[int]) -> np.ndarray:
    """Each seed's start, uniform in the problem's domain, from the run's own random stream."""
    lo, hi = problem.domain[:, 0], problem.domain[:, 1]
    out = np.empty((len(seeds), problem.dim))
    for k, s in enumerate(seeds):
        u = np.array([_uniform_py(s, K.STREAM_START, 0, i) for i in range(problem.dim)])
        out[k] = lo + u * (hi - lo)
    return out


_MASK = (1 << 64) - 1


def _mix64_py(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def _uniform_py(seed: int, stream: int, a: int, b: int) -> float:
    """Pure-Python twin of :func:`adambench.kernels.uniform` (same numbers, tested)."""
    g = 0x9E3779B97F4A7C15
    h = _mix64_py((seed * g + stream) & _MASK)
    h = _mix64_py(h ^ ((a + g) & _MASK))
    h = _mix64_py(h ^ ((b + g) & _MASK))
    return (h >> 11) * (1.0 / 9007199254740992.0)


def start_points(problem: Problem, start: Any, seeds: Sequence[int]) -> tuple[np.ndarray, str]:
    """Each seed's start (one row per seed) and its kind (``default``, ``random``, ``given``).

    ``start`` is None or ``"default"`` (the problem's start), ``"random"`` (:func:`random_starts`)
    or a point: anything numpy reads as ``problem.dim`` finite numbers (a list from YAML, a
    tuple parsed from ``x,y``). Anything else raises :class:`~adambench.errors.UsageError`.
    """
    if start is None or (isinstance(start, str) and start == "default"):
        return np.tile(problem.start, (len(seeds), 1)), "default"
    if isinstance(start, str) and start == "random":
        return random_starts(problem, seeds), "random"
    try:
        point = np.asarray(start, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise UsageError(
            f"start must be 'random' or {problem.dim} numbers, got {start!r}"
        ) from None
    if point.size != problem.dim:
        raise UsageError(
            f"start must have {problem.dim} numbers for '{problem.name}', got {point.size}"
        )
    if not np.all(np.isfinite(point)):
        raise UsageError("start must be finite numbers")
    return np.tile(point, (len(seeds), 1)), "given"


def seeds_repeat_one_run(problem: Problem, start_kind: str) -> bool:
    """Whether every seed gives the same run: a problem with no gradient noise and no data
    sampling (not :attr:`~adambench.problems.Problem.stochastic`), started from one point
    (``start_kind`` is not ``"random"``). The seed then changes nothing."""
    return not problem.stochastic and start_kind != "random"


def repeated_seeds_note(problem: Problem, start_kind: str, n_seeds: int) -> str | None:
    """The note for runs whose seeds all repeat one run (None when the seeds differ)."""
    if n_seeds < 2 or not seeds_repeat_one_run(problem, start_kind):
        return None
    where = "the problem's start" if start_kind == "default" else "the given start"
    return (
        f"the {n_seeds} seeds repeat one run ({problem.name} has no gradient noise and every "
        f"run begins at {where}); --start random gives each seed its own start"
    )
