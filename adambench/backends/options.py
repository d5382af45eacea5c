"""The options of a distributed execution (:class:`Cluster`), what it reports as it goes
(:class:`ChunkStatus`) and its error (:class:`ClusterError`). Imports no Dask."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adambench.errors import AdambenchError, UsageError
from adambench.limits import MAX_CHUNK_RUNS, MAX_RETRIES, MAX_THREADS, MAX_WORKERS, check_int

__all__ = ["IN_PROCESS", "ChunkStatus", "Cluster", "ClusterError", "as_cluster"]

#: The ``scheduler`` of a chunked execution in this process, without Dask: a local sweep or
#: check that keeps a journal (``-o FILE`` or ``--resume``) runs this way, chunk by chunk.
IN_PROCESS = "in-process"


class ClusterError(AdambenchError):
    """The cluster cannot be used as asked: Dask missing, no scheduler at the address, workers
    that keep dying or that run a different adambench (exit code 2)."""


@dataclass(frozen=True)
class ChunkStatus:
    """Where a distributed execution is, after each finished chunk."""

    chunks_done: int
    chunks_running: int
    runs_done: int
    runs_total: int
    runs_resumed: int
    workers: int
    elapsed: float


@dataclass
class Cluster:
    """Where and how to run chunks of runs on Dask.

    ``scheduler`` is ``"local"`` (a :class:`distributed.LocalCluster` on this machine, started and
    stopped with the call: ``workers`` processes of one thread, by default one per core),
    :data:`IN_PROCESS` (chunks run one after another in this process, no Dask: what a local
    sweep with a journal uses), the
    address of a running scheduler (``"tcp://host:8786"``), or a :class:`distributed.Client`
    (used as it is, not closed). ``chunk_runs`` fixes the runs per chunk (default: chunks of about
    :data:`TASK_SECONDS`, sized from the measured speed, smaller towards the end). ``threads`` is
    the engine threads each chunk runs on (default: on a local cluster the cores divided by the
    workers; elsewhere each worker's cores divided by its Dask threads). ``journal`` is the
    partial-output file (see the module docstring); ``resume=True`` continues an existing one,
    and an existing journal is refused without it. ``on_chunk`` is called after each finished
    chunk and ``log`` with one-line messages (cluster started, resuming); ``status`` holds the
    last :class:`ChunkStatus` (read it after an interruption).
    """

    scheduler: Any = "local"
    workers: int | None = None
    chunk_runs: int | None = None
    threads: int | None = None
    journal: str | Path | None = None
    resume: bool = False
    remove_journal: bool = True
    retries: int = 2
    timeout: float = 10.0
    on_chunk: Callable[[ChunkStatus], None] | None = None
    log: Callable[[str], None] | None = None
    status: ChunkStatus | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.workers is not None:
            check_int("workers", self.workers, 1, MAX_WORKERS)
            if self.scheduler != "local":
                raise UsageError("workers applies to the local cluster (--scheduler local) only")
        if self.chunk_runs is not None:
            check_int("chunk runs", self.chunk_runs, 1, MAX_CHUNK_RUNS)
        if self.threads is not None:
            check_int("threads", self.threads, 1, MAX_THREADS)
        check_int("retries", self.retries, 0, MAX_RETRIES)
        if isinstance(self.scheduler, str) and not self.scheduler.strip():
            raise UsageError("--scheduler must be 'local' or an address such as tcp://host:8786")
        if self.resume and self.journal is None:
            raise UsageError("resume needs the partial file to resume")


def as_cluster(scheduler: Any, threads: int | None = None) -> Cluster:
    """A :class:`Cluster` from what the API's ``scheduler=`` takes (a Cluster, ``"local"``, an
    address or a Client); ``threads`` fills in the engine threads per chunk when not set."""
    if isinstance(scheduler, Cluster):
        if threads is not None and scheduler.threads is None:
            scheduler.threads = threads
        return scheduler
    return Cluster(scheduler=scheduler, threads=threads)
