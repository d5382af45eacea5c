"""Jobs: optimizer configurations x seeds on a problem, inside compiled code. No printing.

Runs that share an optimizer kernel form a *batch* (:mod:`adambench.engine.batches`): one
generated module (problem kernels + optimizer kernels + the run loop, see
:mod:`adambench.codegen`) advances all of them. A job is prepared (validated, resolved,
allocated), executed together with other jobs, and collected into a
:class:`~adambench.engine.results.Result`; :func:`run` does all three. A run's state lives only in
its rows of the arrays and its random stream depends only on its seed
(:func:`adambench.kernels.uniform`), so chunk sizes and thread counts never change a number.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from adambench.engine.batches import (
    Batch,
    CompileFn,
    ProgressFn,
    advance_all,
    collect_runs,
    compile_batch,
    run_arrays,
)
from adambench.engine.memory import check_memory
from adambench.engine.results import Result, Settings
from adambench.engine.starts import repeated_seeds_note, start_points
from adambench.errors import UsageError
from adambench.limits import (
    DTYPES,
    MAX_SEED,
    MAX_SEEDS,
    MAX_STEPS,
    MAX_THREADS,
    MAX_TRACE_PARAMS,
    check_dtype,
    check_int,
)
from adambench.optimizers.registry import configs_from_specs, validate_suggestions
from adambench.optimizers.spec import OptimizerConfig
from adambench.problems import Problem, load_problem

__all__ = [
    "LAYOUTS",
    "LOCKSTEP_MIN_RUNS",
    "TRACE_BUDGET_BYTES",
    "WIDE_MIN_DIM",
    "Job",
    "allocate",
    "collect",
    "execute",
    "prepare",
    "problem_functions",
    "run",
]

#: Memory allowed for recorded traces (loss and x) before --every is raised automatically.
TRACE_BUDGET_BYTES = 512 * 2**20
#: Runner layouts (they never change a number): auto, or one forced (tests and benchmarks).
LAYOUTS = ("auto", "generic", "fused", "lockstep", "wide")


@dataclass
class Job:
    """A prepared run: a problem, its configurations x seeds, and the arrays of every run.

    Made by :func:`prepare`, advanced by :func:`execute` (together with other jobs), turned into
    a :class:`~adambench.engine.results.Result` by :func:`collect`. Sweeps and check suites are many
    jobs executed at once. ``batches`` is empty until the job is allocated (:func:`allocate`),
    and stays empty for a job that runs elsewhere (its results arrive as collected batches).
    """

    problem: Problem
    configs: list[OptimizerConfig]
    settings: Settings
    starts: np.ndarray
    batches: list[Batch]
    notes: list[str]
    timings: dict[str, float]
    layout: str = "auto"


def prepare(
    problem: Problem | str | Path,
    optimizers: Sequence[str | OptimizerConfig] | str = ("adam",),
    *,
    steps: int | None = None,
    seeds: int = 1,
    seed: int = 0,
    lr: float | None = None,
    start: Any = None,
    every: int = 1,
    average: bool = False,
    average_decay: float = 0.999,
    stop_at_target: bool = False,
    dim: int | None = None,
    record_x: bool | None = None,
    layout: str = "auto",
    allocate: bool = True,
    dtype: str = DTYPES[0],
) -> Job:
    """Validate the arguments of :func:`run`, resolve configurations, allocate the arrays and
    load (not yet compile) the generated modules.

    With ``allocate=False`` the job is only validated and resolved (settings, configurations,
    starts): it has no batches, loads no generated module and holds no per-run arrays, until
    :func:`allocate` (the local path of :func:`adambench.backends.run_jobs` does it). A job run
    on a cluster is never allocated: its results arrive as batches of collected arrays for
    :func:`collect`.
    """
    t_start = time.perf_counter()
    prob = problem if isinstance(problem, Problem) else load_problem(problem, dim=dim)
    if isinstance(problem, Problem) and dim is not None and dim != problem.dim:
        raise UsageError("dim applies when the problem is given by name or path")
    configs = _configs(prob, optimizers, lr)
    _check_dtype_support(configs, check_dtype(dtype))
    if stop_at_target and prob.target_metric != "loss":
        raise UsageError(
            f"stop at target stops a run at a training-loss target; {prob.name}'s target is "
            f"on its {prob.target_metric.replace('_', ' ')}, measured every "
            f"{prob.model['eval_every']} steps: runs go to their last step"
        )
    n_steps = check_int("steps", prob.steps if steps is None else steps, 1, MAX_STEPS)
    n_seeds = check_int("seeds", seeds, 1, MAX_SEEDS)
    first = check_int("seed", seed, 0, MAX_SEED)
    every = check_int("every", every, 1, n_steps)
    if average and not (0.0 < average_decay < 1.0):
        raise UsageError(f"average decay must be in (0, 1), got {average_decay:g}")
    seed_list = tuple(range(first, first + n_seeds))
    every, want_x, notes = _traces(prob.dim, len(configs) * n_seeds, n_steps, every, record_x)
    check_memory(prob, configs, n_seeds, n_steps // every + 1, want_x, average, n_steps)
    starts, start_kind = start_points(prob, start, seed_list)
    settings = Settings(
        steps=n_steps,
        seeds=seed_list,
        every=every,
        start=start_kind,
        stop_at_target=stop_at_target,
        average_decay=average_decay if average else None,
        record_x=want_x,
        dtype=dtype,
    )
    if layout not in LAYOUTS:
        raise UsageError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    timings = {"prepare_s": time.perf_counter() - t_start}
    job = Job(prob, configs, settings, starts, [], notes, timings, layout)
    if allocate:
        _allocate(job, t_start)
    return job


def _check_dtype_support(configs: list[OptimizerConfig], dtype: str) -> None:
    """Refuse an optimizer whose kernels do not take arrays of ``dtype`` (a Python plugin that
    does not declare float32), in one line saying how it could."""
    for c in configs:
        if dtype not in c.spec.dtypes:
            raise UsageError(
                f"optimizer '{c.spec.name}' ({c.spec.source}) takes {', '.join(c.spec.dtypes)} "
                f"arrays only, not {dtype}: a plugin whose init and step accept {dtype} says so "
                f"with DTYPES = {DTYPES!r}"
            )


def _traces(
    dim: int, n_runs: int, n_steps: int, every: int, record_x: bool | None
) -> tuple[int, bool, list[str]]:
    """What is recorded: the trace interval (raised to keep traces within
    :data:`TRACE_BUDGET_BYTES`), whether x is, and notes saying what was changed."""
    want_x = dim <= MAX_TRACE_PARAMS if record_x is None else bool(record_x)
    want_x = want_x and dim <= MAX_TRACE_PARAMS
    notes: list[str] = []
    if record_x and dim > MAX_TRACE_PARAMS:
        notes.append(f"parameter trajectory not recorded: {dim} parameters > {MAX_TRACE_PARAMS}")
    per_record = 8 * n_runs * (1 + (dim if want_x else 0))
    max_records = max(2, TRACE_BUDGET_BYTES // per_record)
    if n_steps // every + 1 > max_records:
        every = math.ceil(n_steps / (max_records - 1))
        notes.append(f"trace recorded every {every} steps to stay within memory")
    return every, want_x, notes


def allocate(job: Job) -> None:
    """Load a job's generated modules and allocate its per-run arrays, if :func:`prepare` was
    told not to (``allocate=False``); the time counts as preparing."""
    if not job.batches:
        _allocate(job, time.perf_counter() - job.timings.get("prepare_s", 0.0))


def _allocate(job: Job, t_start: float) -> None:
    st = job.settings
    job.batches = _make_batches(job.problem, job.configs, job.starts, st.seeds, st, job.layout)
    job.timings["prepare_s"] = time.perf_counter() - t_start


def run(
    problem: Problem | str | Path,
    optimizers: Sequence[str | OptimizerConfig] | str = ("adam",),
    *,
    steps: int | None = None,
    seeds: int = 1,
    seed: int = 0,
    lr: float | None = None,
    start: Any = None,
    every: int = 1,
    average: bool = False,
    average_decay: float = 0.999,
    stop_at_target: bool = False,
    dim: int | None = None,
    threads: int | None = None,
    record_x: bool | None = None,
    progress: ProgressFn | None = None,
    on_compile: CompileFn | None = None,
    chunk_steps: int | None = None,
    layout: str = "auto",
    dtype: str = DTYPES[0],
) -> Result:
    """Run every optimizer configuration from ``seeds`` seeds on ``problem``.

    ``optimizers`` are names or specs with overrides (``"adam(lr=0.05)"``) or resolved
    :class:`OptimizerConfig`. Hyperparameter precedence: the spec, then ``lr``, then the
    problem's suggestion, then the optimizer's default. Seeds are ``seed .. seed + seeds - 1``.
    ``start`` is ``None`` (the problem's), ``"random"`` (uniform in the domain per seed) or a
    point. ``every`` records the loss (and x, for problems of up to 256 parameters) every k
    steps; best loss, steps to target and divergence are always tracked at every step.
    ``on_compile(name)`` is called, and must return a context manager, before code that is not
    cached yet is compiled. ``chunk_steps`` fixes the chunk size (by default chunks adapt to
    about 0.1 s of work); results never depend on it, nor on ``threads``, nor on ``layout``
    (``"auto"`` runs problems with few named variables through the fused runner, values in
    registers; ``"generic"`` forces the array runner: for tests and benchmarks). ``dtype``
    (``"float64"`` or ``"float32"``) is that of the parameters, optimizer state and gradient;
    losses are computed in float64 from them.
    """
    job = prepare(
        problem,
        optimizers,
        steps=steps,
        seeds=seeds,
        seed=seed,
        lr=lr,
        start=start,
        every=every,
        average=average,
        average_decay=average_decay,
        stop_at_target=stop_at_target,
        dim=dim,
        record_x=record_x,
        layout=layout,
        dtype=dtype,
    )
    n_threads = execute(
        [job], threads=threads, progress=progress, on_compile=on_compile, chunk_steps=chunk_steps
    )
    return collect(job, threads=n_threads)


def execute(
    jobs: Sequence[Job],
    *,
    threads: int | None = None,
    progress: ProgressFn | None = None,
    on_compile: CompileFn | None = None,
    chunk_steps: int | None = None,
) -> int:
    """Compile (or load) and advance every run of every job to its end; returns the threads used.

    All jobs advance together, in chunks, on one pool of threads. ``progress(done, total)``
    counts run-steps (a run stopped early counts as done).
    """
    n_threads = check_int(
        "threads", threads if threads is not None else (os.cpu_count() or 1), 1, MAX_THREADS
    )
    pool_threads = _pool_threads(jobs, n_threads)
    t0 = time.perf_counter()
    for job in jobs:
        for b in job.batches:
            spec = job.configs[b.runs[0][0]].spec
            compile_batch(job.problem, job.settings, b, spec, on_compile, job.notes)
    t1 = time.perf_counter()
    batches = [(job.problem, job.settings, b) for job in jobs for b in job.batches]
    advance_all(batches, pool_threads, progress, chunk_steps)
    t2 = time.perf_counter()
    for job in jobs:
        job.timings["compile_s"] = t1 - t0
        job.timings["run_s"] = t2 - t1
    return n_threads


def _pool_threads(jobs: Sequence[Job], n_threads: int) -> int:
    """The Python threads to advance blocks of runs on: ``n_threads``, or 1 when a batch steps
    on numba's threads (``advance_wide``, which then gets ``n_threads``)."""
    wide = any(
        getattr(b.advance, "__name__", "") == "advance_wide" for job in jobs for b in job.batches
    )
    if not wide:
        return n_threads
    # The optimizer step itself runs on numba's threads; numba's default threading layer
    # must not be entered from two Python threads at once, so the runs go one at a time.
    import numba

    numba.set_num_threads(min(n_threads, numba.config.NUMBA_NUM_THREADS))
    return 1


def collect(job: Job, threads: int = 1) -> Result:
    """The :class:`~adambench.engine.results.Result` of an executed job."""
    from adambench.cache import pop_notes

    return Result(
        problem=job.problem,
        configs=job.configs,
        settings=job.settings,
        runs=collect_runs(job.problem, job.configs, job.settings, job.starts, job.batches),
        timings=dict(job.timings),
        threads=threads,
        notes=job.notes + _repeat_notes(job) + pop_notes(),
        date=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )


def _repeat_notes(job: Job) -> list[str]:
    """The note on seeds that repeat one run, made when the whole job is collected (a chunk of
    its runs on a worker sees only some of the seeds)."""
    st = job.settings
    note = repeated_seeds_note(job.problem, st.start, len(st.seeds))
    return [note] if note else []


def _configs(
    prob: Problem, optimizers: Sequence[str | OptimizerConfig] | str, lr: float | None
) -> list[OptimizerConfig]:
    if isinstance(optimizers, str):
        optimizers = [optimizers]
    if not optimizers:
        raise UsageError("no optimizer given")
    out: list[OptimizerConfig] = []
    suggested = validate_suggestions(prob)
    for o in optimizers:
        if isinstance(o, OptimizerConfig):
            out.append(o)
        else:
            out += configs_from_specs([o], lr=lr, suggested=suggested)
    labels = [c.label for c in out]
    if len(set(labels)) != len(labels):
        out = _unique_labels(out)
    return out


def _unique_labels(configs: list[OptimizerConfig]) -> list[OptimizerConfig]:
    seen: dict[str, int] = {}
    out = []
    for c in configs:
        seen[c.label] = seen.get(c.label, 0) + 1
        if seen[c.label] > 1:
            c = OptimizerConfig(c.spec, c.values, c.sources, f"{c.label}#{seen[c.label]}")
        out.append(c)
    return out


#: Blocks of at least this many runs advance in lockstep (all runs one step, then the next).
LOCKSTEP_MIN_RUNS = 4


#: Problems with at least this many parameters step on all threads (``advance_wide``).
WIDE_MIN_DIM = 1 << 16


def _runner(module: ModuleType, layout: str, runs: int, dim: int) -> Callable[..., None]:
    """The generated module's loop for a batch: ``advance_lockstep`` for many runs and
    ``advance_fused`` for few when the module has them (``layout="auto"``), ``advance_wide`` for
    problems with many parameters, else ``advance``. All give the same numbers; they differ in
    speed only."""
    if layout == "auto" and hasattr(module, "advance_fused"):
        return module.advance_lockstep if runs >= LOCKSTEP_MIN_RUNS else module.advance_fused
    if hasattr(module, "advance_wide") and (
        layout == "wide" or (layout == "auto" and dim >= WIDE_MIN_DIM)
    ):
        return module.advance_wide
    if layout == "lockstep" and hasattr(module, "advance_lockstep"):
        return module.advance_lockstep
    if layout == "fused" and hasattr(module, "advance_fused"):
        return module.advance_fused
    return module.advance


def _make_batches(
    prob: Problem,
    configs: list[OptimizerConfig],
    starts: np.ndarray,
    seeds: tuple[int, ...],
    settings: Settings,
    layout: str = "auto",
) -> list[Batch]:
    from adambench.codegen.modules import load_module

    groups: dict[Any, list[int]] = {}
    for k, c in enumerate(configs):
        groups.setdefault(c.spec.kernel, []).append(k)
    batches = []
    data = prob.runner_data()  # the same rows for every batch (a copy when rows are held out)
    for kernel, members in groups.items():
        spec = configs[members[0]].spec
        if spec.compiled:
            module, warm = load_module(prob, kernel, settings.dtype)
            advance = _runner(module, layout, len(members) * len(seeds), prob.dim)
        else:  # e.g. torch.optim: a Python callable with the same array contract (issue 6)
            from adambench.codegen.torch_loop import torch_runner

            assert spec.stepped_from_python is not None
            stepped = spec.stepped_from_python
            module, warm, advance = None, True, torch_runner(prob, stepped, settings.dtype)
        runs = [(k, s) for k in members for s in range(len(seeds))]
        arrays = run_arrays(prob, configs, spec, runs, starts, seeds, settings)
        name = f"{prob.name} x {spec.name}"
        pd = prob.problem_params(spec.sparse_gradient)
        batches.append(Batch(module, advance, warm, name, runs, arrays, pd, data))
    return batches


def problem_functions(problem: Problem) -> tuple[Callable[..., np.ndarray], Callable[..., Any]]:
    """Compiled ``loss(points) -> losses`` and ``loss_and_grad(x) -> (loss, grad)`` of a problem.

    ``points`` has one point per row (contour grids); the gradient is the exact one (no noise,
    full batch).
    """
    from adambench.codegen.modules import load_module
    from adambench.optimizers.registry import get

    module, _ = load_module(problem, get("adam").kernel)
    pd, data = problem.problem_params(), problem.data_array()

    def loss(points: np.ndarray) -> np.ndarray:
        pts = np.ascontiguousarray(np.atleast_2d(points), dtype=np.float64)
        out = np.empty(pts.shape[0])
        module.loss_many(pts, pd, data, out)
        return out

    def loss_and_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
        xx = np.ascontiguousarray(x, dtype=np.float64).copy()
        g = np.empty_like(xx)
        return float(module.loss_and_grad(xx, g, pd, data)), g

    return loss, loss_and_grad
