"""Batches: runs that share one runner, with their arrays; compiling, advancing and collecting
them.

A run's state lives only in its rows of a batch's arrays and its random stream depends only on
its seed, so the blocks of rows advanced together, the chunks of steps and the threads never
change a number.
"""

from __future__ import annotations

import itertools
import math
import pickle
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from adambench import kernels as K
from adambench.engine import metrics
from adambench.engine.results import Evaluations, RunResult, Settings
from adambench.optimizers.spec import OptimizerConfig, OptimizerSpec
from adambench.problems import Problem

__all__ = [
    "CHUNK_SECONDS",
    "Batch",
    "CompileFn",
    "ProgressFn",
    "advance_all",
    "advance_block",
    "collect_runs",
    "compile_batch",
    "kept_evaluations",
    "run_arrays",
]

#: Chunks of steps adapt to about this much work (seconds), so progress is shown and Ctrl-C
#: honoured between chunks.
CHUNK_SECONDS = 0.1

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


def run_arrays(
    prob: Problem,
    configs: list[OptimizerConfig],
    spec: OptimizerSpec,
    runs: list[tuple[int, int]],
    starts: np.ndarray,
    seeds: tuple[int, ...],
    settings: Settings,
) -> dict[str, np.ndarray]:
    """The per-run arrays of a batch of ``runs`` ((configuration, seed) indices) of ``spec``,
    each run at its start with its metrics not yet measured. What holds x, the optimizer state
    or the gradient (X, S, G, XT, AVG) is of ``settings.dtype``; losses, metrics and
    hyperparameters are float64 whatever the dtype."""
    n = prob.dim
    dt = np.dtype(settings.dtype)
    n_rec = settings.steps // settings.every + 1
    R = len(runs)
    ps_width = prob.problem_state_width(settings.steps)
    PS = np.zeros((R, ps_width), np.int64)
    if ps_width:
        PS[:, prob.n_train() + 1] = -1  # no minibatch permutation drawn yet
    M = np.full((R, K.N_FLOAT_METRICS), np.nan)
    M[:, K.M_BEST] = np.inf
    M[:, K.M_AVG_POW] = 1.0
    IM = np.zeros((R, K.N_INT_METRICS), np.int64)
    IM[:, [K.I_TARGET_STEP, K.I_BEST_STEP, K.I_DIVERGED_AT]] = -1
    return {
        "X": np.ascontiguousarray(starts[[s for _, s in runs]], dtype=dt),
        "S": np.zeros((R, spec.state_size(n)), dt),
        "HP": np.array([configs[k].hp_vector() for k, _ in runs], float).reshape(R, -1),
        "seeds": np.array([seeds[s] for _, s in runs], np.int64),
        "PS": PS,
        "G": np.zeros((R, n), dt),
        "LT": np.full((R, n_rec), np.nan),
        "XT": np.full((R, n_rec, n), np.nan, dt) if settings.record_x else np.zeros((R, 0, 0), dt),
        "AVG": np.zeros((R, n), dt) if settings.average_decay else np.zeros((R, 0), dt),
        "M": M,
        "IM": IM,
    }


def advance_block(
    prob: Problem,
    st: Settings,
    batch: Batch,
    lo: int,
    hi: int,
    t_begin: int,
    t_end: int,
    finish: bool,
) -> None:
    """Advance runs lo..hi-1 of a batch from t_begin to t_end (and close them with finish)."""
    from adambench.codegen.loops import RUNNER_ARGS  # imported with the runner, not at startup

    a = {k: v[lo:hi] for k, v in batch.arrays.items()}
    target = prob.loss_target if prob.loss_target is not None else -math.inf
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


def compile_batch(
    prob: Problem,
    st: Settings,
    batch: Batch,
    spec: OptimizerSpec,
    on_compile: CompileFn | None,
    notes: list[str],
) -> None:
    """Load (or compile, once, then cache on disk) a batch's runner with a zero-step call.

    ``on_compile(name)`` is entered around code that is not cached yet. A corrupted
    compile-cache entry is forgotten and compiled afresh (a note says so); a user's optimizer
    that numba refuses raises the one-line error naming its file (exit code 2)."""
    from contextlib import nullcontext

    from adambench.codegen.modules import CACHE_ERRORS, mark_compiled

    cold = not batch.warm and batch.module is not None
    ctx = on_compile(batch.name) if (on_compile is not None and cold) else nullcontext()
    try:
        with ctx:
            advance_block(prob, st, batch, 0, 0, 0, 0, False)
    except Exception as exc:
        if batch.module is None:
            raise  # a Python runner (torch): any error is a bug
        if not isinstance(exc, (pickle.UnpicklingError, *CACHE_ERRORS)):
            _raise_compile_failure(spec, exc)
        _recompile(prob, st, batch, spec, on_compile, notes, exc)
        cold = True
    if cold:
        mark_compiled(batch.module)
        batch.warm = True


def _recompile(
    prob: Problem,
    st: Settings,
    batch: Batch,
    spec: OptimizerSpec,
    on_compile: CompileFn | None,
    notes: list[str],
    exc: Exception,
) -> None:
    """Perhaps a corrupted cache entry: forget it and compile afresh (never use it)."""
    from contextlib import nullcontext

    from adambench.codegen.modules import forget_compiled

    forget_compiled(batch.module)
    notes.append(f"rebuilt a corrupted compile-cache entry for {batch.name} ({type(exc).__name__})")
    ctx = on_compile(batch.name) if on_compile is not None else nullcontext()
    try:
        with ctx:
            advance_block(prob, st, batch, 0, 0, 0, 0, False)
    except Exception as again:
        _raise_compile_failure(spec, again)


def _raise_compile_failure(spec: OptimizerSpec, exc: Exception) -> None:
    """Re-raise a compile error: for a built-in or library optimizer it is a bug (exit 3); a
    user's compiled optimizer (plugin, YAML file) that numba refuses is one line naming its file
    (exit code 2)."""
    if spec.source in ("built-in", "library"):
        raise exc
    from adambench.optimizers.plugins import compile_failure

    raise compile_failure(spec, exc) from None


class _Block(NamedTuple):
    """Rows lo..hi-1 of a batch, advanced by one call (one thread)."""

    prob: Problem
    st: Settings
    batch: Batch
    lo: int
    hi: int


def advance_all(
    batches: Sequence[tuple[Problem, Settings, Batch]],
    n_threads: int,
    progress: ProgressFn | None,
    chunk_steps: int | None,
) -> None:
    """Advance every run of every batch to its end, in chunks of steps, each chunk on a pool of
    ``n_threads`` threads (disjoint blocks of rows). Chunks adapt to about
    :data:`CHUNK_SECONDS` of work unless ``chunk_steps`` fixes them; ``progress(done, total)``
    counts run-steps after each chunk (a run stopped early counts as done)."""
    blocks = _blocks(batches, n_threads)
    horizon = max((st.steps for _, st, _ in batches), default=0)
    total_work = sum(len(b.runs) * st.steps for _, st, b in batches)
    pool = ThreadPoolExecutor(max_workers=n_threads) if n_threads > 1 and len(blocks) > 1 else None
    try:
        t = 0
        size = min(horizon, chunk_steps or 64)
        while t < horizon:
            t1 = min(horizon, t + size)
            began = time.perf_counter()
            _chunk(pool, blocks, t, t1)
            elapsed = time.perf_counter() - began
            t = t1
            if progress is not None:
                progress(_done_work(batches), total_work)
            if _all_stopped(batches):
                break
            if chunk_steps is None:
                grow = CHUNK_SECONDS / max(elapsed, 1e-6)
                size = max(1, min(horizon, int(size * min(max(grow, 0.25), 8.0))))
        # Close the runs whose job ended early (every run stopped before its last step).
        for blk in blocks:
            if t < blk.st.steps:
                advance_block(*blk, blk.st.steps, blk.st.steps, True)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _blocks(batches: Sequence[tuple[Problem, Settings, Batch]], n_threads: int) -> list[_Block]:
    """Each batch's rows cut into at most ``n_threads`` contiguous blocks."""
    blocks = []
    for prob, st, b in batches:
        R = len(b.runs)
        edges = np.linspace(0, R, min(R, n_threads) + 1).round().astype(int)
        blocks += [
            _Block(prob, st, b, int(lo), int(hi)) for lo, hi in itertools.pairwise(edges) if hi > lo
        ]
    return blocks


def _chunk(pool: ThreadPoolExecutor | None, blocks: list[_Block], t0: int, t1: int) -> None:
    """Advance every block whose runs go on past ``t0`` to ``t1`` (or to their last step)."""
    calls = []
    for blk in blocks:
        total = blk.st.steps
        if t0 < total:
            end = min(t1, total)
            calls.append((*blk, t0, end, end == total))
    if pool is None:
        for c in calls:
            advance_block(*c)
    else:
        for f in [pool.submit(advance_block, *c) for c in calls]:
            f.result()


def _done_work(batches: Sequence[tuple[Problem, Settings, Batch]]) -> int:
    done = 0
    for _, st, b in batches:
        running = b.arrays["IM"][:, K.I_STATUS] == K.RUNNING
        steps = b.arrays["IM"][:, K.I_STEPS]
        done += int(np.where(running, steps, st.steps).sum())
    return done


def _all_stopped(batches: Sequence[tuple[Problem, Settings, Batch]]) -> bool:
    return all(np.all(b.arrays["IM"][:, K.I_STATUS] != K.RUNNING) for _, _, b in batches)


def collect_runs(
    prob: Problem,
    configs: list[OptimizerConfig],
    settings: Settings,
    starts: np.ndarray,
    batches: Sequence[Batch],
) -> list[RunResult]:
    """Every run of the batches as a :class:`RunResult`, in (configuration, seed) order."""
    out: dict[tuple[int, int], RunResult] = {}
    for b in batches:
        arrays = {**b.arrays, "EV": kept_evaluations(prob, b.arrays)}
        for r, (k, s) in enumerate(b.runs):
            out[(k, s)] = _run_result(prob, configs[k], settings, arrays, r, k, s, starts[s])
    return [out[key] for key in sorted(out)]


def _run_result(
    prob: Problem,
    cfg: OptimizerConfig,
    settings: Settings,
    A: dict[str, np.ndarray],
    r: int,
    k: int,
    s: int,
    start: np.ndarray,
) -> RunResult:
    """Row ``r`` of a batch's arrays: the run of configuration ``k`` from seed index ``s``."""
    m, im = A["M"][r], A["IM"][r]
    code = int(im[K.I_STATUS])
    final_loss = float(m[K.M_FINAL])
    x = A["X"][r].astype(np.float64)  # results hold float64 arrays, whatever the run's dtype
    diverged = code == K.DIVERGED
    failed = diverged or code == K.INVALID_START  # no iterate worth measuring
    held_out = _held_out(prob, x, failed, A["EV"][r], im, final_loss)
    target_step = int(im[K.I_TARGET_STEP])
    if prob.target_metric != "loss" and prob.target is not None and held_out[2] is not None:
        reached = held_out[2].first_reaching(prob.target_metric, prob.target)
        target_step = -1 if reached is None else reached
    status = metrics.status_of(code, target_step, float(m[K.M_STALL]), final_loss)
    n_rec = _recorded(code, im, settings.every)
    avg_x = avg_loss = None
    if settings.average_decay and code not in (K.INVALID_START,):
        pw = float(m[K.M_AVG_POW])
        if pw < 1.0:
            avg_x = A["AVG"][r] / (1.0 - pw)
            avg_loss = float(m[K.M_AVG_LOSS])
    return RunResult(
        config_index=k,
        optimizer=cfg.name,
        label=cfg.label,
        hyperparameters=cfg.public_values(),
        seed=settings.seeds[s],
        # the start the run took (its dtype's rounding), a view when that is float64 already
        start=start.astype(A["X"].dtype, copy=False).astype(np.float64, copy=False),
        status=status,
        steps=int(im[K.I_STEPS]),
        diverged_at=int(im[K.I_DIVERGED_AT]) if diverged else None,
        final_x=x,
        # Measured beyond the divergence bound (1/(1 + x^2) is 0 at x = inf): not a loss
        # the run reached, so none is reported.
        final_loss=final_loss if math.isfinite(final_loss) and not failed else None,
        best_loss=float(m[K.M_BEST]) if math.isfinite(m[K.M_BEST]) else None,
        best_step=int(im[K.I_BEST_STEP]) if im[K.I_BEST_STEP] >= 0 else None,
        steps_to_target=target_step if target_step >= 0 else None,
        distance_to_minimum=None if failed else prob.distance_to_minimum(x),
        grad_norm=float(m[K.M_GNORM]) if math.isfinite(m[K.M_GNORM]) else None,
        accuracy=None if failed else prob.accuracy(x),
        test_loss=held_out[0],
        test_accuracy=held_out[1],
        evaluations=held_out[2],
        average_x=avg_x,
        average_loss=avg_loss,
        loss_trace=A["LT"][r, :n_rec].copy(),
        x_trace=A["XT"][r, :n_rec].astype(np.float64) if settings.record_x else None,
        trace_every=settings.every,
    )


def kept_evaluations(prob: Problem, arrays: dict[str, np.ndarray]) -> np.ndarray:
    """The part of a batch's per-run state ``PS`` that holds the evaluations of the held-out
    rows (:func:`adambench.kernels.record_evaluation`): all a cluster worker returns of it
    ("EV", returned as it is). Arrays with neither (a journal of an older version) hold no
    evaluation."""
    if "EV" in arrays:
        return arrays["EV"]
    if "PS" not in arrays:
        return np.zeros((arrays["X"].shape[0], 0), np.int64)
    return np.ascontiguousarray(arrays["PS"][:, prob.n_train() + 2 :])


def _held_out(
    prob: Problem, x: np.ndarray, failed: bool, ev: np.ndarray, im: np.ndarray, final: float
) -> tuple[float | None, float | None, Evaluations | None]:
    """A run's test loss and accuracy at its last iterate (None: no held-out rows, or no
    iterate worth measuring) and its evaluations: those the compiled loop kept (``ev``, its
    row of :func:`kept_evaluations`), then the last iterate's."""
    if prob.test_data is None:
        return None, None, None
    loss = None if failed else prob.loss_numpy(x, test=True)
    accuracy = None if failed else prob.accuracy(x, test=True)
    every = int(prob.model["eval_every"])
    code, steps = int(im[K.I_STATUS]), int(im[K.I_STEPS])
    # The last iterate the loop evaluated: a diverged run's last, a run stopped at its
    # target's, else the one before the last step.
    last = {K.DIVERGED: int(im[K.I_DIVERGED_AT]), K.STOPPED_AT_TARGET: steps}.get(code, steps - 1)
    kept = ev.view(np.float64).reshape(-1, K.EVAL_FIELDS)
    n = 0 if code == K.INVALID_START or last < 0 else min(last // every + 1, kept.shape[0])
    rows = [(k * every, *kept[k]) for k in range(n)]
    if not failed and (not rows or rows[-1][0] < steps):
        rows.append((steps, final, loss, math.nan if accuracy is None else accuracy))
    table = np.array(rows, float).reshape(-1, 1 + K.EVAL_FIELDS)
    evaluations = Evaluations(table[:, 0].astype(np.int64), *table[:, 1:].T.copy())
    return loss, accuracy, evaluations


def _recorded(code: int, im: np.ndarray, every: int) -> int:
    """How many trace records a run wrote: up to its last step (before it diverged)."""
    if code == K.DIVERGED:
        last = int(im[K.I_DIVERGED_AT]) - 1
    elif code == K.INVALID_START:
        last = -1
    else:
        last = int(im[K.I_STEPS])
    return last // every + 1 if last >= 0 else 0
