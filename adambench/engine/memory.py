"""The memory check (issue 10): refuse a job that cannot fit, before allocating anything."""

from __future__ import annotations

import os

from adambench import kernels as K
from adambench.errors import UsageError
from adambench.optimizers.spec import OptimizerConfig
from adambench.problems import Problem

__all__ = ["available_memory", "check_memory"]


def available_memory() -> int | None:
    """Bytes of memory available to this process now (Linux: MemAvailable), else the physical
    memory; None where neither is known."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(
    prob: Problem,
    configs: list[OptimizerConfig],
    n_seeds: int,
    n_rec: int,
    record_x: bool,
    average: bool,
    steps: int = 0,
) -> None:
    """Refuse (exit 2) a job whose per-run arrays (starts and those of
    :func:`adambench.engine.batches.run_arrays`; ``steps``, the run's length, sizes a data
    problem's evaluations) exceed the available memory, before allocating any: numpy would
    fail with a traceback, or the kernel's OOM killer end the process, only after a long
    allocation."""
    n = prob.dim
    per_seed = 0
    for c in configs:
        floats = 4 * n + c.spec.state_size(n) + len(c.spec.hyperparams) + K.N_FLOAT_METRICS
        floats += n_rec * (1 + (n if record_x else 0))
        floats += n if average else 0
        per_seed += 8 * (floats + K.N_INT_METRICS + prob.problem_state_width(steps))
    need = n_seeds * per_seed
    have = available_memory()
    if have is not None and need > have:
        k = len(configs)
        raise UsageError(
            f"this run needs about {_gb(need)} of memory ({k} configuration{'s' * (k != 1)} x "
            f"{n_seeds} seed{'s' * (n_seeds != 1)} x {n:,} parameters) and {_gb(have)} is "
            "available; use fewer seeds or optimizers, or a smaller --dim"
        )


def _gb(b: float) -> str:
    return f"{b / 1e9:,.0f} GB" if b >= 1e10 else f"{b / 1e9:.1f} GB"
