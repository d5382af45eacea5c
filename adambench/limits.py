"""Every bound on user input, and the one check of an integer against its bounds.

The bottom layer (standard library and :mod:`adambench.errors` only): problems, the engine,
sweeps, checks, the cluster options and the CLI all take their limits from here, so a bound is
stated once and its error message is the same wherever the value comes from.
"""

from __future__ import annotations

import numbers
from typing import Any

from adambench.errors import UsageError

__all__ = [
    "DTYPES",
    "MAX_AXIS_POINTS",
    "MAX_CASES",
    "MAX_CHUNK_RUNS",
    "MAX_DIM",
    "MAX_RETRIES",
    "MAX_RUNS",
    "MAX_SEED",
    "MAX_SEEDS",
    "MAX_STEPS",
    "MAX_THREADS",
    "MAX_TRACE_PARAMS",
    "MAX_TUNE_COUNT",
    "MAX_TUNE_POINTS",
    "MAX_WORKERS",
    "MIN_TUNE_COUNT",
    "check_dtype",
    "check_int",
]

#: Parameters of a vector problem (``--dim``, ``dim:``).
MAX_DIM = 100_000_000
#: Steps of a run.
MAX_STEPS = 10**9
#: Seeds of a run, a sweep or a check case.
MAX_SEEDS = 1_000_000
#: The largest first seed (``--seed``): seeds stay well inside 64-bit integers.
MAX_SEED = 2**62
#: Engine threads (``--threads``), and engine threads per chunk on a cluster.
MAX_THREADS = 1024
#: Worker processes of a local Dask cluster (``--workers``).
MAX_WORKERS = 1024
#: Retries of a cluster task that raised.
MAX_RETRIES = 100
#: Runs of one cluster chunk (``--chunk-runs``).
MAX_CHUNK_RUNS = 100_000
#: Parameter trajectories are recorded for problems up to this many parameters.
MAX_TRACE_PARAMS = 256
#: Runs of one sweep (configurations x seeds) unless ``--max-runs`` says otherwise.
MAX_RUNS = 100_000
#: Values of one sweep axis.
MAX_AXIS_POINTS = 100_000
#: Cases of one check suite.
MAX_CASES = 10_000
#: Values a tuning search tries (``--tune-count``).
MIN_TUNE_COUNT = 2
MAX_TUNE_COUNT = 1000
#: Points of a tuning grid per optimizer (the product of its axes; ``--tune-budget``).
MAX_TUNE_POINTS = 100_000
#: The floating-point types of parameters, optimizer state and gradient (``--dtype``); the
#: first is the default.
DTYPES = ("float64", "float32")


def check_int(name: str, value: Any, low: int, high: int) -> int:
    """``value`` as an int if it is an integer (not a bool) in ``[low, high]``; else a
    :class:`~adambench.errors.UsageError` naming ``name`` (exit code 2)."""
    # numbers.Integral covers Python's int and numpy's integer types (numpy registers them).
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise UsageError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise UsageError(f"{name} must be between {low} and {high:g}, got {value}")
    return int(value)


def check_dtype(value: Any) -> str:
    """``value`` if it is one of :data:`DTYPES`, else a usage error naming the choices."""
    if not isinstance(value, str) or value not in DTYPES:
        shown = value if isinstance(value, str) else type(value).__name__
        raise UsageError(f"dtype must be one of {', '.join(DTYPES)}, got {shown!r}")
    return value
