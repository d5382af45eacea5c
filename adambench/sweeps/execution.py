"""Running a sweep: one engine job (or Dask chunks) for every configuration x seed."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adambench.backends.execution import Executed
    from adambench.engine.batches import CompileFn, ProgressFn
    from adambench.engine.jobs import Job
    from adambench.engine.results import Result
    from adambench.problems import Problem
from adambench.sweeps.grid import MAX_RUNS, Axis
from adambench.sweeps.plan import Plan, plan
from adambench.sweeps.result import SweepResult, check_metric, outcomes_of

__all__ = ["prepare_sweep", "sweep", "sweep_result"]


def sweep(
    problem: Problem | str | Path,
    optimizers: Sequence[str] | str = ("adam",),
    grid: Sequence[str | Axis] | Mapping[str, Any] = (),
    *,
    seeds: int = 1,
    seed: int = 0,
    steps: int | None = None,
    start: Any = None,
    metric: str = "final_loss",
    max_runs: int | None = MAX_RUNS,
    dim: int | None = None,
    threads: int | None = None,
    progress: ProgressFn | None = None,
    on_compile: CompileFn | None = None,
    chunk_steps: int | None = None,
    where: str | None = None,
    scheduler: Any = None,
    on_plan: Callable[[Plan, int], None] | None = None,
    dtype: str = "float64",
) -> SweepResult:
    """Run every configuration of a grid from ``seeds`` seeds on ``problem``, in one pass.

    ``grid`` is a list of ``"name=values"`` strings (as ``--grid`` takes them) or a mapping
    ``{name: "a:b:logn" | [values] | value}`` (as a sweep file holds it). Everything is
    validated before anything runs (see :func:`plan`). Only the start and the end of each run
    are recorded (no trajectories), so a sweep's memory is small whatever its length.
    ``threads`` and ``chunk_steps`` never change a number. ``dtype`` is that of every run's
    parameters, optimizer state and gradient (``"float64"`` or ``"float32"``).

    ``scheduler`` runs the sweep on Dask in chunks of runs (:mod:`adambench.backends.dask`):
    ``"local"`` (a local cluster of worker processes), a scheduler's address
    (``"tcp://host:8786"``), a ``distributed.Client``, or a
    :class:`~adambench.backends.dask.Cluster` with more options (chunk size, partial output to
    resume). The result is the same, bit for bit; ``threads`` is then the engine threads per
    chunk. Without it nothing about Dask is imported.

    ``on_plan(plan, steps)`` is called once the sweep is validated and before any run starts
    (the command line prints the sweep's size then).
    """
    from adambench.backends import run_jobs

    p, job = prepare_sweep(
        problem,
        optimizers,
        grid,
        seeds=seeds,
        seed=seed,
        steps=steps,
        start=start,
        metric=metric,
        max_runs=max_runs,
        dim=dim,
        where=where,
        dtype=dtype,
    )
    if on_plan is not None:
        on_plan(p, job.settings.steps)
    done = run_jobs(
        [job],
        scheduler,
        threads=threads,
        progress=progress,
        on_compile=on_compile,
        chunk_steps=chunk_steps,
        what=f"sweep {p.problem.name}: {p.runs:,} runs of {job.settings.steps} steps",
    )
    return sweep_result(p, job, done, metric)


def prepare_sweep(
    problem: Problem | str | Path,
    optimizers: Sequence[str] | str,
    grid: Sequence[str | Axis] | Mapping[str, Any],
    *,
    seeds: int = 1,
    seed: int = 0,
    steps: int | None = None,
    start: Any = None,
    metric: str = "final_loss",
    max_runs: int | None = MAX_RUNS,
    dim: int | None = None,
    where: str | None = None,
    dtype: str = "float64",
) -> tuple[Plan, Job]:
    """A sweep's validated plan and its engine job, not yet run (``allocate=False``): for
    :func:`adambench.backends.run_jobs`, alone or with other jobs, then :func:`sweep_result`."""
    from adambench.engine import jobs as engine

    p = plan(problem, optimizers, grid, seeds=seeds, max_runs=max_runs, dim=dim, where=where)
    prob = p.problem
    check_metric(metric, prob.target, prob.name, prob.test_data is not None)
    n_steps = prob.steps if steps is None else steps
    # Only the start and the end of each run are recorded: a sweep needs no trajectories.
    valid = isinstance(n_steps, int) and not isinstance(n_steps, bool) and n_steps >= 1
    job = engine.prepare(
        prob,
        p.configs,
        steps=n_steps,
        seeds=seeds,
        seed=seed,
        start=start,
        every=n_steps if valid else 1,
        record_x=False,
        allocate=False,
        dtype=dtype,
    )
    return p, job


def sweep_result(p: Plan, job: Job, done: Executed, metric: str) -> SweepResult:
    """The :class:`SweepResult` of a job of :func:`prepare_sweep` once ``run_jobs`` ran it."""
    from adambench.engine import jobs as engine

    result = engine.collect(job, threads=done.threads)
    result.notes = p.notes + result.notes + [n for n in done.notes if n not in result.notes]
    return _from_result(p, result, metric)


def _from_result(p: Plan, result: Result, metric: str) -> SweepResult:
    # The engine may have renamed repeated labels (adam#2): points take the final labels.
    points = [replace(pt, label=c.label) for pt, c in zip(p.points, result.configs, strict=True)]
    return SweepResult(
        problem=p.problem.name,
        target=p.problem.target,
        steps=result.settings.steps,
        seeds=result.settings.seeds,
        bases=p.bases,
        axes=p.axes,
        points=points,
        outcomes=outcomes_of(result, len(points)),
        metric=metric,
        notes=list(result.notes),
        result=result,
        minimum=p.problem.min_value,
        dtype=result.settings.dtype,
        held_out=p.problem.test_data is not None,
    )
