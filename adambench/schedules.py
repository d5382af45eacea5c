"""Learning-rate schedules and gradient clipping, compiled: what the run loop of every compiled
optimizer does before its step (see :mod:`adambench.codegen.loops`).

A configuration's hyperparameter row ends with the training controls
(:mod:`adambench.optimizers.controls`, in the order of :data:`CONTROL_AT`) and the position of
its ``lr``. At optimizer step t (1, 2, ...) the schedule is at epoch e = t - 1, as torch's
schedulers give it (one ``scheduler.step()`` after every ``optimizer.step()``), and the step
uses ``lr * a(e) + b(e)``: a schedule is the pair (a, b) of :func:`schedule_terms`, which never
depends on lr or x. So the run loop precomputes the pairs of a chunk of steps once per
distinct schedule (:func:`chunk_controls`), keeping ``cos`` and ``pow`` out of the step, and
the learning-rate plot calls the same function (:func:`lr_trace`).
"""

from __future__ import annotations

import math

import numpy as np

from adambench.kernels import jit

__all__ = [
    "CONTROL_AT",
    "MAX_TABLE",
    "NORM_EPS",
    "N_CONTROLS",
    "SCHEDULE_CODES",
    "chunk_controls",
    "clip_gradient",
    "lr_trace",
    "schedule_terms",
    "scheduled_lr",
]

#: Each schedule's index in a hyperparameter row (the ``schedule`` choice of
#: :mod:`adambench.optimizers.controls` lists the names in this order).
SCHEDULE_CODES = {
    "constant": 0, "step": 1, "exponential": 2, "cosine": 3, "inverse_sqrt": 4, "linear": 5,
}  # fmt: skip
_STEP, _EXPONENTIAL, _COSINE, _INVERSE_SQRT, _LINEAR = 1, 2, 3, 4, 5

#: Each control's offset in the control block of a row.
CONTROL_AT = {
    "schedule": 0, "step_size": 1, "gamma": 2, "t_max": 3, "eta_min": 4, "start_factor": 5,
    "end_factor": 6, "total_iters": 7, "warmup": 8, "warmup_start": 9, "clip_norm": 10,
    "clip_value": 11,
}  # fmt: skip
N_CONTROLS = 12
_N_SCHEDULE = 10  # the controls that define a schedule (the key of a shared table)
_TAIL = N_CONTROLS + 1  # the controls, then the position of lr

#: Floats of schedule tables kept per chunk (2 per step and distinct schedule); schedules
#: beyond it are computed at each step, by the same function, to the same numbers.
MAX_TABLE = 1 << 22

#: torch's clip_grad_norm_ divides by norm + 1e-6.
NORM_EPS = 1e-6


@jit
def schedule_terms(hp, e, total):
    """(a, b) of epoch e for the row ``hp``: the step's lr is ``lr * a + b``.

    As torch's closed forms: step = gamma^(e // step_size); exponential = gamma^e; cosine =
    eta_min + (lr - eta_min) (1 + cos(pi e / t_max)) / 2 (t_max 0: the run's ``total`` steps);
    inverse_sqrt = 1 / sqrt(e + 1); linear = start + (end - start) min(e, total_iters) /
    total_iters. A warm-up of W steps multiplies both by ws + (1 - ws) min(e + 1, W) / W."""
    c = hp.shape[0] - _TAIL
    kind = int(hp[c])
    a, b = 1.0, 0.0
    if kind == _STEP:
        a = math.pow(hp[c + 2], float(e // int(hp[c + 1])))
    elif kind == _EXPONENTIAL:
        a = math.pow(hp[c + 2], float(e))
    elif kind == _COSINE:
        t_max = hp[c + 3] if hp[c + 3] > 0.0 else float(total)
        a = (1.0 + math.cos(math.pi * e / t_max)) / 2.0
        b = hp[c + 4] * (1.0 - a)
    elif kind == _INVERSE_SQRT:
        a = 1.0 / math.sqrt(e + 1.0)
    elif kind == _LINEAR:
        start, end, iters = hp[c + 5], hp[c + 6], hp[c + 7]
        a = start + (end - start) * min(float(e), iters) / iters
    warmup = hp[c + 8]
    if warmup > 0.0:
        w = hp[c + 9] + (1.0 - hp[c + 9]) * min(e + 1.0, warmup) / warmup
        a *= w
        b *= w
    return a, b


@jit
def scheduled_lr(hp, e, total):
    """The lr of epoch e (optimizer step e + 1) of the row ``hp``."""
    a, b = schedule_terms(hp, e, total)
    return hp[int(hp[hp.shape[0] - 1])] * a + b


@jit
def _same_schedule(HP, r, q, c):
    for k in range(_N_SCHEDULE):
        if HP[r, c + k] != HP[q, c + k]:
            return False
    return True


@jit
def _is_scheduled(HP, r, c):
    return int(HP[r, c]) != 0 or HP[r, c + 8] > 0.0


@jit
def chunk_controls(HP, t_begin, t_end, total):
    """What the run loop needs for steps t_begin..t_end-1 of the runs of ``HP``:

    - ``HPS``, a copy of ``HP`` whose lr the loop rewrites before each scheduled step;
    - ``FT[d, 0|1, t - t_begin]``, the (a, b) pairs of each distinct schedule d;
    - ``FI[r]``, run r's schedule in ``FT``, -1 for none, -2 for one computed at each step
      (beyond :data:`MAX_TABLE`);
    - ``CLIP[r]`` = (clip_value, clip_norm, the squared norm under which no clip_norm can
      scale, any clipping);
    - ``LI``, the position of lr in a row."""
    R, W = HP.shape
    c = W - _TAIL
    L = max(t_end - t_begin, 0)
    FI = np.full(R, -1, np.int64)
    CLIP = np.zeros((R, 4))
    firsts = np.empty(R, np.int64)  # a row of each distinct schedule
    D = 0
    for r in range(R):
        cv, cn = HP[r, c + 11], HP[r, c + 10]
        margin = cn - NORM_EPS
        # Below (C - 1e-6)^2 (less a relative 1e-9 for rounding) the coefficient C / (norm +
        # 1e-6) is > 1 and torch multiplies by 1: the root is taken only above it.
        CLIP[r, 0], CLIP[r, 1] = cv, cn
        CLIP[r, 2] = margin * margin * (1.0 - 1e-9) if margin > 0.0 else -1.0
        CLIP[r, 3] = 1.0 if cv > 0.0 or cn > 0.0 else 0.0
        if not _is_scheduled(HP, r, c):
            continue
        for d in range(D - 1, -1, -1):
            if _same_schedule(HP, r, firsts[d], c):
                FI[r] = d
                break
        if FI[r] < 0:
            firsts[D] = r
            FI[r] = D if 2 * L * (D + 1) <= MAX_TABLE else -2
            D += 1 if FI[r] >= 0 else 0
    FT = np.empty((D, 2, L))
    for d in range(D):
        for j in range(L):
            FT[d, 0, j], FT[d, 1, j] = schedule_terms(HP[firsts[d]], t_begin + j, total)
    LI = int(HP[0, W - 1]) if R > 0 else -1
    return HP.copy(), FT, FI, CLIP, LI


@jit
def clip_gradient(g, clip):
    """Clip the gradient ``g`` in place as torch's clip_grad_value_ (each component to
    [-clip_value, clip_value]) then clip_grad_norm_ (times clip_norm / (norm + 1e-6) when that
    is below 1), for ``clip`` a row of ``CLIP`` (see :func:`chunk_controls`)."""
    n = g.shape[0]
    cv, cn = clip[0], clip[1]
    if cv > 0.0:
        for i in range(n):
            g[i] = min(max(g[i], -cv), cv)
    if cn > 0.0:
        ss = 0.0
        for i in range(n):
            ss += g[i] * g[i]
        if ss > clip[2]:
            coef = cn / (math.sqrt(ss) + NORM_EPS)
            if coef < 1.0:
                for i in range(n):
                    g[i] *= coef


@jit
def _lr_trace(hp, steps, total):
    out = np.empty(steps)
    for e in range(steps):
        out[e] = scheduled_lr(hp, e, total)
    return out


def lr_trace(hp_row: np.ndarray, steps: int) -> np.ndarray:
    """The lr of optimizer steps 1..steps of a configuration's hyperparameter row (its
    ``hp_vector()``), as the run loop computes it."""
    return _lr_trace(np.asarray(hp_row, np.float64), int(steps), int(steps))
