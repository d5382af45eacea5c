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

from adambench.kernels import SUM_BLOCK, jit, jit_parallel, prange

__all__ = [
    "ANCHOR",
    "CONTROL_AT",
    "MAX_TABLE",
    "NORM_EPS",
    "N_CONTROLS",
    "SCHEDULE_CODES",
    "chunk_controls",
    "clip_gradient",
    "clip_gradient_par",
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


#: Epochs between exact values of a cosine or exponential schedule: in between, a rotation
#: (cosine) or a product (exponential) advances the anchor, about 2 ns instead of a libm call
#: of 10-20 ns, within ~1e-14 of the closed form. Anchors sit at multiples of this, so a
#: value depends only on its epoch, never on where a chunk of steps begins.
ANCHOR = 64


@jit
def _cosine(out, e0, t_max, eta_min):
    """a = (1 + cos(pi e / t_max)) / 2 and b = eta_min (1 - a) of epochs e0, e0 + 1, ..."""
    theta = math.pi / t_max
    cd, sd = math.cos(theta), math.sin(theta)
    end = e0 + out.shape[1]
    for k in range(e0 - e0 % ANCHOR, end, ANCHOR):
        c, s = math.cos(math.pi * k / t_max), math.sin(math.pi * k / t_max)
        for _ in range(k, max(k, e0)):  # to e0 inside the first block
            c, s = c * cd - s * sd, s * cd + c * sd
        for e in range(max(k, e0), min(k + ANCHOR, end)):
            a = (1.0 + c) / 2.0
            out[0, e - e0] = a
            out[1, e - e0] = eta_min * (1.0 - a)
            c, s = c * cd - s * sd, s * cd + c * sd


@jit
def _exponential(out, e0, gamma):
    """a = gamma^e of epochs e0, e0 + 1, ... (b = 0)."""
    end = e0 + out.shape[1]
    for k in range(e0 - e0 % ANCHOR, end, ANCHOR):
        a = math.pow(gamma, float(k))
        for _ in range(k, max(k, e0)):
            a *= gamma
        for e in range(max(k, e0), min(k + ANCHOR, end)):
            out[0, e - e0] = a
            out[1, e - e0] = 0.0
            a *= gamma


@jit
def _elementary(out, e0, hp, c):
    """a (b = 0) of epochs e0, e0 + 1, ... for the step, inverse_sqrt and linear schedules."""
    kind = int(hp[c])
    last, a = -1, 1.0
    for j in range(out.shape[1]):
        e = e0 + j
        if kind == _STEP:
            k = e // int(hp[c + 1])
            if k != last:  # gamma^k changes once per step_size epochs
                last, a = k, math.pow(hp[c + 2], float(k))
        elif kind == _INVERSE_SQRT:
            a = 1.0 / math.sqrt(e + 1.0)
        elif kind == _LINEAR:
            start, end, iters = hp[c + 5], hp[c + 6], hp[c + 7]
            a = start + (end - start) * min(float(e), iters) / iters
        out[0, j] = a
        out[1, j] = 0.0


@jit
def schedule_terms(out, hp, e0, total):
    """Fill ``out[0|1, j]`` with (a, b) of epoch e0 + j for the row ``hp``: the lr of that
    epoch's step is ``lr * a + b``.

    As torch's classes: step = gamma^(e // step_size); exponential = gamma^e; cosine =
    eta_min + (lr - eta_min) (1 + cos(pi e / t_max)) / 2 (t_max 0: the run's ``total``
    steps); inverse_sqrt = 1 / sqrt(e + 1); linear = start + (end - start) min(e,
    total_iters) / total_iters; constant = 1. A warm-up of W steps multiplies both by
    ws + (1 - ws) min(e + 1, W) / W. Every value depends on its epoch alone (see
    :data:`ANCHOR`)."""
    c = hp.shape[0] - _TAIL
    kind = int(hp[c])
    if kind == _COSINE:
        _cosine(out, e0, hp[c + 3] if hp[c + 3] > 0.0 else float(total), hp[c + 4])
    elif kind == _EXPONENTIAL:
        _exponential(out, e0, hp[c + 2])
    else:
        _elementary(out, e0, hp, c)
    warmup, ws = hp[c + 8], hp[c + 9]
    if warmup > 0.0:
        # After the warm-up min(e + 1, W) / W is W / W = 1 exactly: the factor is one constant
        # (1.0 unless rounding says otherwise), so the loop stops at the warm-up's end.
        full = ws + (1.0 - ws) * (warmup / warmup)
        for j in range(out.shape[1]):
            inside = e0 + j + 1.0 < warmup
            if not inside and full == 1.0:
                break
            w = ws + (1.0 - ws) * (e0 + j + 1.0) / warmup if inside else full
            out[0, j] *= w
            out[1, j] *= w


@jit
def scheduled_lr(hp, e, total):
    """The lr of epoch e (optimizer step e + 1) of the row ``hp``."""
    out = np.empty((2, 1))
    schedule_terms(out, hp, e, total)
    return hp[int(hp[hp.shape[0] - 1])] * out[0, 0] + out[1, 0]


@jit
def _same_schedule(HP, r, q, c):
    for k in range(_N_SCHEDULE):  # noqa: SIM110 (a loop: numba compiles no generator in all())
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
        schedule_terms(FT[d], HP[firsts[d]], t_begin, total)
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
        # in fixed blocks (as clip_gradient_par): one block, the plain sum, for n <= SUM_BLOCK
        nb = (n + SUM_BLOCK - 1) // SUM_BLOCK
        ss = 0.0
        for b in range(nb):
            part = 0.0
            for i in range(b * SUM_BLOCK, min(n, b * SUM_BLOCK + SUM_BLOCK)):
                part += g[i] * g[i]
            ss += part
        if ss > clip[2]:
            coef = cn / (math.sqrt(ss) + NORM_EPS)
            if coef < 1.0:
                for i in range(n):
                    g[i] *= coef


@jit_parallel
def clip_gradient_par(g, clip):
    """:func:`clip_gradient` on all threads, giving its numbers bit for bit (the squared norm
    summed in the same fixed blocks, the partial sums added in block order)."""
    n = g.shape[0]
    cv, cn = clip[0], clip[1]
    if cv > 0.0:
        for i in prange(n):
            g[i] = min(max(g[i], -cv), cv)
    if cn > 0.0:
        nb = (n + SUM_BLOCK - 1) // SUM_BLOCK
        parts = np.empty(nb)
        for b in prange(nb):
            part = 0.0
            for i in range(b * SUM_BLOCK, min(n, b * SUM_BLOCK + SUM_BLOCK)):
                part += g[i] * g[i]
            parts[b] = part
        ss = 0.0
        for b in range(nb):
            ss += parts[b]
        if ss > clip[2]:
            coef = cn / (math.sqrt(ss) + NORM_EPS)
            if coef < 1.0:
                for i in prange(n):
                    g[i] *= coef


@jit
def _lr_trace(hp, steps, total):
    terms = np.empty((2, steps))
    schedule_terms(terms, hp, 0, total)
    lr = hp[int(hp[hp.shape[0] - 1])]
    out = np.empty(steps)
    for e in range(steps):
        out[e] = lr * terms[0, e] + terms[1, e]
    return out


def lr_trace(hp_row: np.ndarray, steps: int) -> np.ndarray:
    """The lr of optimizer steps 1..steps of a configuration's hyperparameter row (its
    ``hp_vector()``), as the run loop computes it, over a run of ``steps`` steps."""
    return _lr_trace(np.asarray(hp_row, np.float64), int(steps), int(steps))
