"""`run_jobs`: the one place that decides where runs execute, in this process or on Dask."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from adambench.engine import jobs as engine
from adambench.engine.batches import CompileFn, ProgressFn

__all__ = ["Executed", "run_jobs"]


@dataclass
class Executed:
    """What running jobs did, wherever they ran: the engine threads used (on a cluster, all of
    its threads), the names of the kernels compiled (not found in the disk cache), and notes
    from the workers of a cluster (none locally: local notes go to the jobs)."""

    threads: int
    compiled: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def run_jobs(
    jobs: Sequence[engine.Job],
    scheduler: Any = None,
    *,
    threads: int | None = None,
    progress: ProgressFn | None = None,
    on_compile: CompileFn | None = None,
    chunk_steps: int | None = None,
    what: str = "runs",
) -> Executed:
    """Run every run of ``jobs`` (made with ``engine.prepare(..., allocate=False)``, or
    allocated) to its end, ready for :func:`adambench.engine.collect`. The numbers are the same
    bit for bit wherever they run, and whatever ``threads`` and ``chunk_steps`` are.

    Without ``scheduler`` the jobs run here, together, on ``threads`` engine threads
    (:func:`adambench.engine.execute`); ``on_compile(name)`` is entered around each kernel
    compiled here, and ``chunk_steps`` fixes the steps per chunk. With one (``"local"``, a
    scheduler's address, a ``distributed.Client`` or a
    :class:`~adambench.backends.dask.Cluster`) they run on Dask in chunks of runs
    (:mod:`adambench.backends.dask`), ``threads`` engine threads per chunk; ``what`` names them in
    the journal and messages. Only then is Dask imported. ``progress(done, total)`` counts
    run-steps either way.
    """
    if scheduler is None:
        return _run_here(jobs, threads, progress, on_compile, chunk_steps)
    from adambench.backends import dask as cluster

    report = cluster.execute(
        jobs,
        cluster.as_cluster(scheduler, threads),
        progress=progress,
        on_compile=on_compile,
        what=what,
    )
    return Executed(report.threads, list(report.compiled), list(report.notes))


def _run_here(
    jobs: Sequence[engine.Job],
    threads: int | None,
    progress: ProgressFn | None,
    on_compile: CompileFn | None,
    chunk_steps: int | None,
) -> Executed:
    compiled: list[str] = []

    def compiling(name: str) -> AbstractContextManager[Any]:
        compiled.append(name)
        return on_compile(name) if on_compile is not None else nullcontext()

    for job in jobs:
        engine.allocate(job)
    n_threads = engine.execute(
        jobs, threads=threads, progress=progress, on_compile=compiling, chunk_steps=chunk_steps
    )
    return Executed(n_threads, compiled)
