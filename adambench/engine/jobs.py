"""`run`: optimizer configurations x seeds on a problem, inside compiled code. No printing.

Runs that share an optimizer kernel form a *batch*: one generated module (problem kernels +
optimizer kernels + the run loop, see :mod:`adambench.codegen`) advances all of them. The
engine only allocates arrays, calls the compiled ``advance`` in chunks of steps (about 0.1 s of
work each, so progress can be shown and Ctrl-C honoured between chunks) from a pool of threads
on disjoint blocks of runs, and turns the arrays into :class:`~adambench.engine.results.Result`. A
run's state lives only in its rows of the arrays and its random stream depends only on its seed
(:func:`adambench.kernels.uniform`), so chunk sizes and thread counts never change a number.
"""

from __future__ import annotations

import itertools
import math
import os
import pickle
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from adambench import kernels as K
from adambench.engine import metrics
from adambench.engine.results import Result, RunResult, Settings
from adambench.errors import UsageError
from adambench.optimizers.registry import configs_from_specs
from adambench.optimizers.spec import OptimizerConfig
from adambench.problems import MAX_STEPS, Problem, load_problem

__all__ = [
    "CHUNK_SECONDS",
    "LAYOUTS",
    "LOCKSTEP_MIN_RUNS",
    "MAX_SEEDS",
    "MAX_TRACE_PARAMS",
    "TRACE_BUDGET_BYTES",
    "WIDE_MIN_DIM",
    "Batch",
    "CompileFn",
    "Job",
    "ProgressFn",
    "available_memory",
    "check_int",
    "collect",
    "execute",
    "prepare",
    "problem_functions",
    "random_starts",
    "run",
]

#: Parameter trajectories are recorded for problems up to this many parameters.
MAX_TRACE_PARAMS = 256
#: Memory allowed for recorded traces (loss and x) before --every is raised automatically.
TRACE_BUDGET_BYTES = 512 * 2**20
MAX_SEEDS = 1_000_000
CHUNK_SECONDS = 0.1
#: Runner layouts (they never change a number): auto, or one forced (tests and benchmarks).
LAYOUTS = ("auto", "generic", "fused", "lockstep", "wide")

ProgressFn = Callable[[int, int], None]
CompileFn = Callable[[str], Any]


@dataclass
class Batch:
    """Runs sharing one runner, with their arrays.

    ``advance`` has the signature of the compiled ``advance`` of
    :mod:`adambench.codegen.runner_template` (a run's state is its rows of the arrays);
    ``module`` is the generated module it comes from (None for runners that are not compiled).
    """

    module: ModuleType | None
    advance: Callable[..., None]
    warm: bool
    name: str
    runs: list[tuple[int, int]]  # (config index, seed index)
    arrays: dict[str, np.ndarray]  # per-run arrays, first axis = run
    pd: np.ndarray  # the problem's parameters (shared by every run)
    data: np.ndarray  # the problem's data set (shared by every run)


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


def check_int(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise UsageError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise UsageError(f"{name} must be between {low} and {high:g}, got {value}")
    return int(value)


def _starts(problem: Problem, start: Any, seeds: Sequence[int]) -> tuple[np.ndarray, str]:
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


@dataclass
class Job:
    """A prepared run: a problem, its configurations x seeds, and the arrays of every run.

    Made by :func:`prepare`, advanced by :func:`execute` (together with other jobs), turned into
    a :class:`~adambench.engine.results.Result` by :func:`collect`. Sweeps and check suites are many
    jobs executed at once.
    """

    problem: Problem
    configs: list[OptimizerConfig]
    settings: Settings
    starts: np.ndarray
    batches: list[Batch]
    notes: list[str]
    timings: dict[str, float]


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
) -> Job:
    """Validate the arguments of :func:`run`, resolve configurations, allocate the arrays and
    load (not yet compile) the generated modules.

    With ``allocate=False`` the job is only validated and resolved (settings, configurations,
    starts): it has no batches, loads no generated module and holds no per-run arrays. That is
    the client's side of a run elsewhere (:mod:`adambench.backends.dask`), whose results arrive as
    batches of collected arrays for :func:`collect`.
    """
    t_start = time.perf_counter()
    prob = problem if isinstance(problem, Problem) else load_problem(problem, dim=dim)
    if isinstance(problem, Problem) and dim is not None and dim != problem.dim:
        raise UsageError("dim applies when the problem is given by name or path")
    configs = _configs(prob, optimizers, lr)
    n_steps = check_int("steps", prob.steps if steps is None else steps, 1, MAX_STEPS)
    n_seeds = check_int("seeds", seeds, 1, MAX_SEEDS)
    first = check_int("seed", seed, 0, 2**62)
    every = check_int("every", every, 1, n_steps)
    if average and not (0.0 < average_decay < 1.0):
        raise UsageError(f"average decay must be in (0, 1), got {average_decay:g}")
    seed_list = tuple(range(first, first + n_seeds))

    want_x = prob.dim <= MAX_TRACE_PARAMS if record_x is None else bool(record_x)
    want_x = want_x and prob.dim <= MAX_TRACE_PARAMS
    notes: list[str] = []
    if record_x and prob.dim > MAX_TRACE_PARAMS:
        notes.append(
            f"parameter trajectory not recorded: {prob.dim} parameters > {MAX_TRACE_PARAMS}"
        )
    n_runs = len(configs) * n_seeds
    per_record = 8 * n_runs * (1 + (prob.dim if want_x else 0))
    max_records = max(2, TRACE_BUDGET_BYTES // per_record)
    if n_steps // every + 1 > max_records:
        every = math.ceil(n_steps / (max_records - 1))
        notes.append(f"trace recorded every {every} steps to stay within memory")
    _check_memory(prob, configs, n_seeds, n_steps // every + 1, want_x, average)
    starts, start_kind = _starts(prob, start, seed_list)
    settings = Settings(
        steps=n_steps,
        seeds=seed_list,
        every=every,
        start=start_kind,
        stop_at_target=stop_at_target,
        average_decay=average_decay if average else None,
        record_x=want_x,
    )
    if layout not in LAYOUTS:
        raise UsageError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    batches = _make_batches(prob, configs, starts, seed_list, settings, layout) if allocate else []
    timings = {"prepare_s": time.perf_counter() - t_start}
    return Job(prob, configs, settings, starts, batches, notes, timings)


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
    registers; ``"generic"`` forces the array runner: for tests and benchmarks).
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
        "threads", threads if threads is not None else (os.cpu_count() or 1), 1, 1024
    )
    wide = any(
        getattr(b.advance, "__name__", "") == "advance_wide" for job in jobs for b in job.batches
    )
    pool_threads = n_threads
    if wide:
        # The optimizer step itself runs on numba's threads; numba's default threading layer
        # must not be entered from two Python threads at once, so the runs go one at a time.
        import numba

        numba.set_num_threads(min(n_threads, numba.config.NUMBA_NUM_THREADS))
        pool_threads = 1
    t0 = time.perf_counter()
    for job in jobs:
        _compile(job, on_compile)
    t1 = time.perf_counter()
    _advance_all(jobs, pool_threads, progress, chunk_steps)
    t2 = time.perf_counter()
    for job in jobs:
        job.timings["compile_s"] = t1 - t0
        job.timings["run_s"] = t2 - t1
    return n_threads


def collect(job: Job, threads: int = 1) -> Result:
    """The :class:`~adambench.engine.results.Result` of an executed job."""
    from adambench.cache import pop_notes

    return Result(
        problem=job.problem,
        configs=job.configs,
        settings=job.settings,
        runs=_collect(job),
        timings=dict(job.timings),
        threads=threads,
        notes=job.notes + pop_notes(),
        date=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )


def _configs(
    prob: Problem, optimizers: Sequence[str | OptimizerConfig] | str, lr: float | None
) -> list[OptimizerConfig]:
    if isinstance(optimizers, str):
        optimizers = [optimizers]
    if not optimizers:
        raise UsageError("no optimizer given")
    out: list[OptimizerConfig] = []
    for o in optimizers:
        if isinstance(o, OptimizerConfig):
            out.append(o)
        else:
            out += configs_from_specs([o], lr=lr, suggested=prob.suggested)
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


# ---- memory check (issue 10): refuse what cannot fit, before allocating anything ----


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


def _check_memory(
    prob: Problem,
    configs: list[OptimizerConfig],
    n_seeds: int,
    n_rec: int,
    record_x: bool,
    average: bool,
) -> None:
    """Refuse (exit 2) a job whose per-run arrays (starts and those of :func:`_make_batches`)
    exceed the available memory, before allocating any: numpy would fail with a traceback, or
    the kernel's OOM killer end the process, only after a long allocation."""
    n = prob.dim
    per_seed = 0
    for c in configs:
        floats = 4 * n + c.spec.state_size(n) + len(c.spec.hyperparams) + K.N_FLOAT_METRICS
        floats += n_rec * (1 + (n if record_x else 0))
        floats += n if average else 0
        per_seed += 8 * (floats + K.N_INT_METRICS + prob.problem_state_width())
    need = n_seeds * per_seed
    have = available_memory()
    if have is not None and need > have:

        def gb(b: float) -> str:
            return f"{b / 1e9:,.0f} GB" if b >= 1e10 else f"{b / 1e9:.1f} GB"

        k = len(configs)
        raise UsageError(
            f"this run needs about {gb(need)} of memory ({k} configuration{'s' * (k != 1)} x "
            f"{n_seeds} seed{'s' * (n_seeds != 1)} x {n:,} parameters) and {gb(have)} is "
            "available; use fewer seeds or optimizers, or a smaller --dim"
        )


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
    n = prob.dim
    n_rec = settings.steps // settings.every + 1
    batches = []
    for kernel, members in groups.items():
        spec = configs[members[0]].spec
        if spec.compiled:
            module, warm = load_module(prob, kernel)
            advance = _runner(module, layout, len(members) * len(seeds), prob.dim)
        else:  # e.g. torch.optim: a Python callable with the same array contract (issue 6)
            from adambench.codegen.torch_loop import torch_runner

            assert spec.stepped_from_python is not None
            module, warm, advance = None, True, torch_runner(prob, spec.stepped_from_python)
        runs = [(k, s) for k in members for s in range(len(seeds))]
        R = len(runs)
        ps_width = prob.problem_state_width()
        PS = np.zeros((R, ps_width), np.int64)
        if ps_width:
            PS[:, -1] = -1  # no minibatch permutation drawn yet
        M = np.full((R, K.N_FLOAT_METRICS), np.nan)
        M[:, K.M_BEST] = np.inf
        M[:, K.M_AVG_POW] = 1.0
        IM = np.zeros((R, K.N_INT_METRICS), np.int64)
        IM[:, [K.I_TARGET_STEP, K.I_BEST_STEP, K.I_DIVERGED_AT]] = -1
        arrays = {
            "X": np.ascontiguousarray(starts[[s for _, s in runs]]),
            "S": np.zeros((R, spec.state_size(n))),
            "HP": np.array([configs[k].hp_vector() for k, _ in runs], float).reshape(R, -1),
            "seeds": np.array([seeds[s] for _, s in runs], np.int64),
            "PS": PS,
            "G": np.zeros((R, n)),
            "LT": np.full((R, n_rec), np.nan),
            "XT": np.full((R, n_rec, n), np.nan) if settings.record_x else np.zeros((R, 0, 0)),
            "AVG": np.zeros((R, n)) if settings.average_decay else np.zeros((R, 0)),
            "M": M,
            "IM": IM,
        }
        name = f"{prob.name} x {spec.name}"
        batches.append(
            Batch(
                module,
                advance,
                warm,
                name,
                runs,
                arrays,
                prob.problem_params(),
                prob.data_array(),
            )
        )
    return batches


def _call(job: Job, batch: Batch, lo: int, hi: int, t_begin: int, t_end: int, finish: bool) -> None:
    """Advance runs lo..hi-1 of a batch from t_begin to t_end (and close them with finish)."""
    from adambench.codegen.loops import RUNNER_ARGS  # imported with the runner, not at startup

    a = {k: v[lo:hi] for k, v in batch.arrays.items()}
    prob, st = job.problem, job.settings
    target = prob.target if prob.target is not None else -math.inf
    given = {
        **a,
        "pd": batch.pd,
        "data": batch.data,
        "t_begin": t_begin,
        "t_end": t_end,
        "finish": finish,
        "total": st.steps,
        "every": st.every,
        "record_x": st.record_x,
        "target": float(target),
        "bound": float(1e6 * prob.scale),
        "stall_step": metrics.stall_step(st.steps),
        "stop": st.stop_at_target,
        "decay": float(st.average_decay or 0.0),
    }
    batch.advance(*(given[name] for name in RUNNER_ARGS))


def _compile(job: Job, on_compile: CompileFn | None) -> None:
    """Load (or compile, once, then cache on disk) each batch's runner with a zero-step call."""
    from contextlib import nullcontext

    from adambench.codegen.modules import CACHE_ERRORS, forget_compiled, mark_compiled

    for b in job.batches:
        cold = not b.warm and b.module is not None
        ctx = on_compile(b.name) if (on_compile is not None and cold) else nullcontext()
        try:
            with ctx:
                _call(job, b, 0, 0, 0, 0, False)
        except Exception as exc:
            spec = job.configs[b.runs[0][0]].spec
            if b.module is None:
                raise  # a Python runner (torch): any error is a bug
            if isinstance(exc, (pickle.UnpicklingError, *CACHE_ERRORS)):
                # Perhaps a corrupted cache entry: forget it and compile afresh (never use it).
                forget_compiled(b.module)
                job.notes.append(
                    f"rebuilt a corrupted compile-cache entry for {b.name} ({type(exc).__name__})"
                )
                ctx = on_compile(b.name) if on_compile is not None else nullcontext()
                try:
                    with ctx:
                        _call(job, b, 0, 0, 0, 0, False)
                except Exception as again:
                    if spec.source == "built-in":
                        raise
                    from adambench.optimizers.plugins import compile_failure

                    raise compile_failure(spec, again) from None
                cold = True
            elif spec.source != "built-in":
                # A user's compiled optimizer (plugin, YAML file) that numba refuses: one line
                # naming its file, exit code 2. For a built-in it is a bug (exit 3).
                from adambench.optimizers.plugins import compile_failure

                raise compile_failure(spec, exc) from None
            else:
                raise
        if cold:
            mark_compiled(b.module)
            b.warm = True


def _advance_all(
    jobs: Sequence[Job], n_threads: int, progress: ProgressFn | None, chunk_steps: int | None
) -> None:
    blocks = []
    for job in jobs:
        for b in job.batches:
            R = len(b.runs)
            edges = np.linspace(0, R, min(R, n_threads) + 1).round().astype(int)
            blocks += [
                (job, b, int(lo), int(hi)) for lo, hi in itertools.pairwise(edges) if hi > lo
            ]
    horizon = max((job.settings.steps for job in jobs), default=0)
    total_work = sum(len(b.runs) * job.settings.steps for job in jobs for b in job.batches)
    pool = ThreadPoolExecutor(max_workers=n_threads) if n_threads > 1 and len(blocks) > 1 else None

    def work(t0: int, t1: int) -> list[tuple[Job, Batch, int, int, int, int, bool]]:
        calls = []
        for job, b, lo, hi in blocks:
            total = job.settings.steps
            if t0 < total:
                end = min(t1, total)
                calls.append((job, b, lo, hi, t0, end, end == total))
        return calls

    def chunk(t0: int, t1: int) -> None:
        calls = work(t0, t1)
        if pool is None:
            for c in calls:
                _call(*c)
        else:
            for f in [pool.submit(_call, *c) for c in calls]:
                f.result()

    def done_work() -> int:
        done = 0
        for job in jobs:
            for b in job.batches:
                running = b.arrays["IM"][:, K.I_STATUS] == K.RUNNING
                steps = b.arrays["IM"][:, K.I_STEPS]
                done += int(np.where(running, steps, job.settings.steps).sum())
        return done

    try:
        t = 0
        size = min(horizon, chunk_steps or 64)
        while t < horizon:
            t1 = min(horizon, t + size)
            began = time.perf_counter()
            chunk(t, t1)
            elapsed = time.perf_counter() - began
            t = t1
            if progress is not None:
                progress(done_work(), total_work)
            if all(
                np.all(b.arrays["IM"][:, K.I_STATUS] != K.RUNNING)
                for job in jobs
                for b in job.batches
            ):
                break
            if chunk_steps is None:
                grow = CHUNK_SECONDS / max(elapsed, 1e-6)
                size = max(1, min(horizon, int(size * min(max(grow, 0.25), 8.0))))
        # Close the runs whose job ended early (every run stopped before its last step).
        for job, b, lo, hi in blocks:
            if t < job.settings.steps:
                _call(job, b, lo, hi, job.settings.steps, job.settings.steps, True)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _collect(job: Job) -> list[RunResult]:
    prob, configs, settings, starts = job.problem, job.configs, job.settings, job.starts
    out: dict[tuple[int, int], RunResult] = {}
    for b in job.batches:
        A = b.arrays
        for r, (k, s) in enumerate(b.runs):
            cfg = configs[k]
            m, im = A["M"][r], A["IM"][r]
            code = int(im[K.I_STATUS])
            final_loss = float(m[K.M_FINAL])
            status = metrics.status_of(
                code, int(im[K.I_TARGET_STEP]), float(m[K.M_STALL]), final_loss
            )
            x = A["X"][r].copy()
            diverged = status == "diverged"
            failed = diverged or status == "invalid_start"  # no iterate worth measuring
            if code == K.DIVERGED:
                last = int(im[K.I_DIVERGED_AT]) - 1
            elif code == K.INVALID_START:
                last = -1
            else:
                last = int(im[K.I_STEPS])
            n_rec = last // settings.every + 1 if last >= 0 else 0
            avg_x = avg_loss = None
            if settings.average_decay and code not in (K.INVALID_START,):
                pw = float(m[K.M_AVG_POW])
                if pw < 1.0:
                    avg_x = A["AVG"][r] / (1.0 - pw)
                    avg_loss = float(m[K.M_AVG_LOSS])
            out[(k, s)] = RunResult(
                config_index=k,
                optimizer=cfg.name,
                label=cfg.label,
                hyperparameters=cfg.public_values(),
                seed=settings.seeds[s],
                start=starts[s].copy(),
                status=status,
                steps=int(im[K.I_STEPS]),
                diverged_at=int(im[K.I_DIVERGED_AT]) if diverged else None,
                final_x=x,
                # Measured beyond the divergence bound (1/(1 + x^2) is 0 at x = inf): not a loss
                # the run reached, so none is reported.
                final_loss=final_loss if math.isfinite(final_loss) and not failed else None,
                best_loss=float(m[K.M_BEST]) if math.isfinite(m[K.M_BEST]) else None,
                best_step=int(im[K.I_BEST_STEP]) if im[K.I_BEST_STEP] >= 0 else None,
                steps_to_target=int(im[K.I_TARGET_STEP]) if im[K.I_TARGET_STEP] >= 0 else None,
                distance_to_minimum=None if failed else prob.distance_to_minimum(x),
                grad_norm=float(m[K.M_GNORM]) if math.isfinite(m[K.M_GNORM]) else None,
                accuracy=None if failed else prob.accuracy(x),
                average_x=avg_x,
                average_loss=avg_loss,
                loss_trace=A["LT"][r, :n_rec].copy(),
                x_trace=A["XT"][r, :n_rec].copy() if settings.record_x else None,
                trace_every=settings.every,
            )
    return [out[key] for key in sorted(out)]


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
