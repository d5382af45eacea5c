"""The worker side: run one task (:func:`run_chunk`) and return the collected arrays."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from adambench.backends.options import ClusterError
from adambench.backends.tasks import (
    Block,
    ChunkOutput,
    Part,
    Task,
    code_digest,
    load_problem_ref,
    load_spec,
)
from adambench.errors import AdambenchError

if TYPE_CHECKING:
    from adambench.engine.batches import CompileFn
    from adambench.engine.jobs import Job

__all__ = ["COLLECTED", "cores", "run_chunk"]

#: The engine arrays a worker returns: those :func:`adambench.engine.jobs.collect` reads
#: (and "EV", the evaluations part of "PS", without its minibatch permutation).
COLLECTED = ("X", "M", "IM", "LT", "XT", "AVG")


def _prepare(part: Part) -> Job:
    from adambench.engine import jobs as engine
    from adambench.optimizers.spec import OptimizerConfig

    problem = load_problem_ref(part.problem)
    specs = [load_spec(s) for s in part.specs]
    configs = [
        OptimizerConfig(specs[c.spec], dict(c.values), dict(c.sources), c.label)
        for c in part.configs
    ]
    job = engine.prepare(
        problem,
        configs,
        steps=part.steps,
        seeds=part.seeds,
        seed=part.seed,
        start=part.start,
        every=part.every,
        average=part.average_decay is not None,
        average_decay=part.average_decay if part.average_decay is not None else 0.999,
        stop_at_target=part.stop_at_target,
        record_x=part.record_x,
        dtype=part.dtype,
    )
    if job.settings.every != part.every:  # the trace budget differs with the runs: never here
        raise RuntimeError(f"chunk recorded every {job.settings.every}, not {part.every}")
    return job


def _worker() -> tuple[str, int]:
    """This worker's address and Dask threads (outside a worker: '' and 1)."""
    try:
        from distributed import get_worker

        w = get_worker()
    except (ImportError, ValueError):
        return "", 1
    return str(w.address), int(getattr(w, "state", w).nthreads)


def cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1  # pragma: no cover


def run_chunk(task: Task, on_compile: CompileFn | None = None) -> ChunkOutput:
    """Run one chunk on a worker (the function every task calls), or in this process: rebuild
    its jobs, execute them together, return the collected arrays. Errors a user should see (a
    plugin that does not compile, a different adambench) come back as values, so Dask does not
    retry them. ``on_compile(name)`` is entered around each kernel compiled (in this process)."""
    from contextlib import nullcontext

    from adambench.cache import pop_notes
    from adambench.engine import jobs as engine
    from adambench.engine.batches import kept_evaluations

    t0 = time.perf_counter()
    address, dask_threads = _worker()
    threads = task.threads or max(1, cores() // dask_threads)
    out = ChunkOutput(task.id, threads=threads, worker=address)
    compiled: list[str] = []

    def compiling(name: str) -> Any:
        compiled.append(name)
        return on_compile(name) if on_compile is not None else nullcontext()

    try:
        if task.code != code_digest():
            raise ClusterError(
                f"the worker {address or '(local)'} runs a different adambench, numpy, numba or "
                "Python than the client; install the same versions on every machine"
            )
        jobs = [_prepare(part) for part in task.parts]
        engine.execute(jobs, threads=threads, on_compile=compiling)
    except AdambenchError as exc:
        out.error = exc
        return out
    for part, job in zip(task.parts, jobs, strict=True):
        for b in job.batches:
            runs = np.array(
                [(part.config_index[k], part.seed_index + s) for k, s in b.runs], np.int64
            ).reshape(-1, 2)
            arrays = {key: np.ascontiguousarray(b.arrays[key]) for key in COLLECTED}
            arrays["EV"] = kept_evaluations(job.problem, b.arrays)
            out.blocks.append(Block(part.job, runs, arrays))
        out.notes += [n for n in job.notes if n not in out.notes]
    out.notes += pop_notes()
    out.compiled = compiled
    out.compile_s = jobs[0].timings.get("compile_s", 0.0) if jobs else 0.0
    out.wall_s = time.perf_counter() - t0
    return out
