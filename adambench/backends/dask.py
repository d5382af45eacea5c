"""Sweeps and check suites on a Dask cluster (``--scheduler``): chunks of runs sent as data.

adambench grows no distributed system of its own: it hands chunks of runs to Dask
(``dask.distributed``) and assembles what comes back. Dask is imported here only, and only when
a scheduler is given (``pip install "adambench[dask]"``).

The contract:

- **A task is data.** A chunk is a :class:`Task`: for each job it touches, the problem (a shipped
  one by name, a problem file by its YAML text), the resolved optimizer configurations (the
  optimizer by name, or a YAML / plugin file by its text, so workers need no shared disk; torch
  and entry point optimizers by name) and their hyperparameter values, a contiguous range of
  seeds, the steps and the settings. A worker rebuilds the jobs with
  :func:`adambench.engine.jobs.prepare` and runs them with
  :func:`adambench.engine.jobs.execute`, on its own threads; its own disk cache
  provides the compiled kernels (compiled once per machine, then
  loaded). It returns the arrays :func:`adambench.engine.jobs.collect` reads (final x, the metric
  slots, the recorded losses), never Python objects holding modules.
- **Identical to the local run, bit for bit.** A run's numbers depend only on its configuration,
  its seed and the settings (its random stream is a function of its seed), never on the chunk it
  ran in, on the worker or on the order chunks finish. The client puts every run in its place
  and calls the same :func:`~adambench.engine.jobs.collect` as the local path, so the Result
  (and its JSON, apart from ``volatile``) is the local one. Workers check that they run the same
  adambench, numpy, numba and Python as the client (:func:`code_digest`) and refuse otherwise.
- **Faults.** A chunk whose worker dies is run again elsewhere (Dask reschedules it; up to
  ``distributed.scheduler.allowed-failures`` deaths per chunk); an exception in a task is retried
  ``retries`` times. Every run is accounted for exactly once: a run's result is taken from the
  first chunk that delivers it, and the client checks that every run arrived.
- **Resume.** With a journal (``-o FILE`` makes it ``FILE.partial``), each finished chunk is
  appended to it as one line of JSON, flushed and fsynced, before progress is reported. An
  interrupted sweep (Ctrl-C, a lost connection) continues with ``--resume FILE.partial``: the runs
  in the journal are not run again, the others are, and the result is the same as an
  uninterrupted run. The journal is removed once the output is complete.

The pieces: the options (:mod:`adambench.backends.options`), the tasks and their references
(:mod:`adambench.backends.tasks`), the worker side (:mod:`adambench.backends.worker`) and the
journal (:mod:`adambench.backends.journal`); this module connects to Dask and runs the chunks.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from adambench.backends.journal import Journal, identity
from adambench.backends.options import (
    IN_PROCESS,
    ChunkStatus,
    Cluster,
    ClusterError,
    as_cluster,
)
from adambench.backends.tasks import (
    ChunkOutput,
    RunQueue,
    Task,
    code_digest,
    part_of,
    plan_job,
    rectangles,
)
from adambench.backends.worker import cores, run_chunk
from adambench.engine.batches import Batch
from adambench.errors import UsageError
from adambench.limits import MAX_CHUNK_RUNS

if TYPE_CHECKING:
    from adambench.engine.batches import CompileFn, ProgressFn
    from adambench.engine.jobs import Job

#: What a chunk should take on its worker, in seconds (long enough that the per-chunk overhead
#: of a few milliseconds does not matter, short enough for progress and load balance).
TASK_SECONDS = 1.0
#: Towards the end chunks shrink (each at most a share of what is left, so the last ones come
#: back together), but not below this much work.
MIN_TASK_SECONDS = 0.25
#: Chunks queued per worker thread, so a worker never waits for the client.
IN_FLIGHT = 2
#: The first guess of the cost model, before any chunk has been timed: seconds per unit of
#: The first guess of the cost model, before any chunk has been timed: seconds per unit of
#: work per thread (see :data:`adambench.backends.tasks.STEP_UNITS`).
SECONDS_PER_UNIT = 1.0 / 1.2e8


# ---------------------------------------------------------------------------------------------
# Running


@dataclass
class Report:
    """What a distributed execution did (for timings, notes and messages)."""

    threads: int
    chunks: int
    workers: int
    runs_resumed: int
    compiled: list[str]
    notes: list[str]


@contextlib.contextmanager
def connect(cluster: Cluster) -> Iterator[tuple[Any, int | None]]:
    """A Dask client for ``cluster`` (and the engine threads per chunk when known); a local
    cluster or a client made here is closed on leaving."""
    try:
        import distributed
    except ImportError:
        raise ClusterError(
            "--scheduler needs Dask: pip install 'adambench[dask]' (dask.distributed)"
        ) from None
    sched = cluster.scheduler
    if isinstance(sched, distributed.Client):
        yield sched, cluster.threads
        return
    if not isinstance(sched, str):
        raise UsageError(f"scheduler must be 'local', an address or a Client, got {sched!r}")
    made = _local_client(cluster) if sched == "local" else _remote_client(cluster, sched)
    with made as (client, threads):
        yield client, threads


@contextlib.contextmanager
def _local_client(cluster: Cluster) -> Iterator[tuple[Any, int]]:
    """A client of a local cluster of ``cluster.workers`` processes (one per core by
    default), both closed on leaving."""
    import logging

    import distributed

    from adambench.backends.worker_plugin import IgnoreInterrupt

    n = cluster.workers or cores()
    local = distributed.LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        dashboard_address="127.0.0.1:0",  # no fixed port (8787 may be taken)
        silence_logs=logging.ERROR,
        plugins={IgnoreInterrupt()},
    )
    try:
        client = distributed.Client(local, set_as_default=False)
    except BaseException:
        local.close()
        raise
    threads = cluster.threads or max(1, cores() // n)
    if cluster.log is not None:
        cluster.log(
            f"local Dask cluster: {_plural(n, 'worker process', 'es')}, "
            f"{_plural(threads, 'engine thread')} per chunk"
        )
    try:
        yield client, threads
    finally:
        client.close()
        local.close()


@contextlib.contextmanager
def _remote_client(cluster: Cluster, sched: str) -> Iterator[tuple[Any, int | None]]:
    """A client of the scheduler at ``sched``, closed on leaving."""
    import distributed

    try:
        client = distributed.Client(sched, timeout=cluster.timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        text = " ".join(str(exc).split()) or type(exc).__name__
        raise ClusterError(f"cannot reach the Dask scheduler at {sched}: {text}") from None
    try:
        if cluster.log is not None:
            nt = client.nthreads()
            workers, threads_ = len(nt), sum(nt.values())
            cluster.log(
                f"Dask scheduler {sched}: {_plural(workers, 'worker')}, "
                f"{_plural(threads_, 'thread')}"
                + ("; chunks wait until a worker joins" if not workers else "")
            )
        yield client, cluster.threads
    finally:
        client.close()


def _plural(n: int, word: str, suffix: str = "s") -> str:
    return f"{n:,} {word}{suffix if n != 1 else ''}"


def execute(
    jobs: Sequence[Job],
    cluster: Cluster,
    *,
    progress: ProgressFn | None = None,
    on_compile: CompileFn | None = None,
    what: str = "runs",
) -> Report:
    """Run every run of ``jobs`` (made with ``engine.prepare(..., allocate=False)``) on the
    cluster and attach the results to the jobs, ready for :func:`adambench.engine.jobs.collect`.

    ``progress(done, total)`` counts run-steps, as :func:`adambench.engine.jobs.execute`'s does,
    after each finished chunk (its journal line written first, so an exception raised there
    leaves the chunk saved). ``what`` names the runs in the journal's header and messages.
    ``on_compile(name)`` is entered around each kernel compiled in this process (in-process
    chunks only: workers compile on their own).
    """
    for job in jobs:
        if job.batches:
            raise UsageError("cluster jobs must be prepared with allocate=False")
    execution = _Execution(jobs, cluster, progress, what)
    execution.on_compile = on_compile
    return execution.run()


class _Execution:
    """One distributed execution: the queue of runs, the chunks in flight, the results."""

    def __init__(
        self, jobs: Sequence[Job], cluster: Cluster, progress: ProgressFn | None, what: str
    ) -> None:
        self.t0 = time.perf_counter()
        self.jobs, self.cluster, self.progress, self.what = jobs, cluster, progress, what
        self.plans = [plan_job(job) for job in jobs]
        self.done = [np.zeros((len(p.job.configs), p.n_seeds), bool) for p in self.plans]
        self.steps = [p.job.settings.steps for p in self.plans]
        self.runs_total = sum(d.size for d in self.done)
        self.work_total = sum(d.size * s for d, s in zip(self.done, self.steps, strict=True))
        self.notes: list[str] = []
        self.compiled: list[str] = []
        self.chunks = self.runs_done = self.runs_resumed = self.workers = 0
        self.threads = 1
        self.compile_s = 0.0
        self.journal: Journal | None = None
        self.on_compile: CompileFn | None = None

    def run(self) -> Report:
        cluster = self.cluster
        resumed: list[ChunkOutput] = []
        if cluster.journal is not None:
            self.journal, resumed = Journal.open(
                cluster.journal, identity(self.plans), self.what, self.runs_total, cluster.resume
            )
        try:
            self.runs_resumed = sum(self.attach(out) for out in resumed)
            self.runs_done = self.runs_resumed
            if resumed and cluster.log is not None:
                cluster.log(
                    f"resuming: {self.runs_resumed:,} of {self.runs_total:,} runs are in "
                    f"{cluster.journal}"
                )
            queue = RunQueue(self.plans, self.done)
            first = max((out.id for out in resumed), default=-1) + 1
            if queue and cluster.scheduler == IN_PROCESS:
                self.run_here(queue, first)
            elif queue:
                with connect(cluster) as (client, threads):
                    self.dispatch(client, threads, queue, first)
            missing = sum(int((~d).sum()) for d in self.done)
            if missing:  # never expected: every chunk delivers all of its runs
                raise RuntimeError(f"{missing} runs did not come back from the cluster")
        except BaseException:
            # The journal's own count, not runs_done: an interrupt may land between a chunk's
            # record and the count of its runs.
            j = self.journal
            if j is not None and self.runs_resumed == 0 and j.chunks_recorded == 0:
                # Nothing to resume: kept, it would only make the next plain command refuse.
                self.journal.remove()
            elif self.journal is not None:
                self.journal.close()
            raise
        if self.journal is not None:
            if cluster.remove_journal:
                self.journal.remove()
            else:
                self.journal.close()
        wall = time.perf_counter() - self.t0
        for job in self.jobs:
            job.timings["compile_s"] = self.compile_s
            job.timings["run_s"] = wall
        return Report(
            self.threads, self.chunks, self.workers, self.runs_resumed, self.compiled, self.notes
        )

    def attach(self, out: ChunkOutput) -> int:
        """Put a chunk's runs in their places (the first delivery of a run wins: a chunk run
        twice has the same numbers); returns the runs added."""
        added = 0
        for b in out.blocks:
            d = self.done[b.job]
            k, s = b.runs[:, 0], b.runs[:, 1]
            if d[k, s].any():
                continue
            d[k, s] = True
            runs = [(int(a), int(c)) for a, c in b.runs.tolist()]
            self.jobs[b.job].batches.append(
                Batch(
                    module=None,
                    advance=_not_runnable,
                    warm=True,
                    name=f"chunk {out.id}",
                    runs=runs,
                    arrays=b.arrays,
                    pd=np.zeros(0),
                    data=np.zeros((0, 0)),
                )
            )
            added += len(runs)
        self.notes.extend(n for n in out.notes if n not in self.notes)
        self.compiled.extend(c for c in out.compiled if c not in self.compiled)
        return added

    def next_task(
        self, queue: RunQueue, task_id: int, threads: int | None, slots: int, spu: float,
        per_task: int,
    ) -> Task:  # fmt: skip
        """The next chunk: ``chunk_runs`` runs, or about TASK_SECONDS of work at the measured
        speed, but at most a share of what is left so the last chunks come back together."""
        if self.cluster.chunk_runs is not None:
            taken = queue.take(self.cluster.chunk_runs, None)
        else:
            rate = per_task / spu  # units of work per second of one chunk
            share = queue.units / (2 * slots)
            budget = min(TASK_SECONDS * rate, max(share, MIN_TASK_SECONDS * rate))
            taken = queue.take(MAX_CHUNK_RUNS, budget)
        parts = []
        for j, flat in taken:
            for ks, s0, s1 in rectangles(flat, self.plans[j].n_seeds):
                parts.append(part_of(self.plans[j], j, ks, s0, s1))
        return Task(task_id, tuple(parts), threads, code_digest())

    def run_here(self, queue: RunQueue, task_id: int) -> None:
        """Run the chunks one after another in this process (no Dask), each on the engine
        threads of the cluster's ``threads`` (default: every core), journalled as they finish."""
        threads = self.cluster.threads
        samples: list[float] = []
        per_task = threads or cores()
        while queue:
            spu = float(np.median(samples[-9:])) if samples else SECONDS_PER_UNIT
            task = self.next_task(queue, task_id, threads, 1, spu, per_task)
            task_id += 1
            out = run_chunk(task, self.on_compile)
            if out.error is not None:
                raise out.error
            self.measure(task, out, samples)
            per_task = out.threads
            self.threads = max(self.threads, out.threads)
            self.finished(out, 0)

    def measure(self, task: Task, out: ChunkOutput, samples: list[float]) -> None:
        """Add a finished chunk's seconds per unit of work per thread to ``samples`` (the cost
        model that sizes the next chunks), and its compile time to the execution's."""
        units = sum(
            float(self.plans[p.job].run_units[list(p.config_index)].sum()) * p.seeds
            for p in task.parts
        )
        busy = out.wall_s - out.compile_s
        if busy > 0.05 and units > 0:
            samples.append(busy * out.threads / units)
        self.compile_s = max(self.compile_s, out.compile_s)

    def dispatch(self, client: Any, threads: int | None, queue: RunQueue, task_id: int) -> None:
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        pending: dict[str, tuple[Any, Task]] = {}
        finished = as_completed(loop=client.loop)
        samples: list[float] = []  # seconds per unit of work per thread, measured
        per_task = threads or 1
        tag = uuid.uuid4().hex[:8]
        try:
            while queue or pending:
                nthreads = client.nthreads()
                slots = max(1, sum(nthreads.values()))
                self.workers = len(nthreads)
                while queue and len(pending) < IN_FLIGHT * slots:
                    spu = float(np.median(samples[-9:])) if samples else SECONDS_PER_UNIT
                    task = self.next_task(queue, task_id, threads, slots, spu, per_task)
                    task_id += 1
                    future = client.submit(
                        run_chunk,
                        task,
                        key=f"adambench-chunk-{task.id}-{tag}",
                        pure=False,
                        retries=self.cluster.retries,
                    )
                    pending[future.key] = (future, task)
                    finished.add(future)
                future = next(finished)
                _, task = pending.pop(future.key)
                if future.status == "error":
                    exc = future.exception()
                    if isinstance(exc, KilledWorker):
                        raise ClusterError(
                            f"chunk {task.id} was running on workers that died each time it "
                            "was tried (out of memory?)"
                        ) from None
                    future.result()  # the task's own exception (a bug), with its traceback
                out: ChunkOutput = future.result()
                if out.error is not None:
                    raise out.error
                self.measure(task, out, samples)
                per_task = threads or out.threads
                self.threads = max(self.threads, per_task * slots)
                self.finished(out, len(pending))
        finally:
            if pending:
                client.cancel([f for f, _ in pending.values()])

    def finished(self, out: ChunkOutput, running: int) -> None:
        """Record a chunk: attach, journal (before anything that may raise), report."""
        added = self.attach(out)
        if self.journal is not None and added:
            self.journal.append(out)
        self.chunks += 1
        self.runs_done += added
        status = ChunkStatus(
            chunks_done=self.chunks,
            chunks_running=running,
            runs_done=self.runs_done,
            runs_total=self.runs_total,
            runs_resumed=self.runs_resumed,
            workers=self.workers,
            elapsed=time.perf_counter() - self.t0,
        )
        self.cluster.status = status
        if self.progress is not None:
            work = sum(int(d.sum()) * s for d, s in zip(self.done, self.steps, strict=True))
            self.progress(work, self.work_total)
        if self.cluster.on_chunk is not None:
            self.cluster.on_chunk(status)


def _not_runnable(*args: Any) -> None:  # pragma: no cover - collected batches never advance
    raise RuntimeError("a batch collected from a cluster cannot be advanced")


__all__ = [
    "ChunkStatus",
    "Cluster",
    "ClusterError",
    "Report",
    "as_cluster",
    "connect",
    "execute",
]
