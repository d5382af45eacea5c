"""The compiled run loop, as a template for generated modules (see :mod:`adambench.codegen`).

Everything below the marker line is copied verbatim into every generated module, after the
problem's kernels (``p_fg``, ``p_loss``, ``p_train``) and the optimizer binding (``opt_init``,
``opt_step``). The stubs above the marker exist only so that this file can be linted and read as
Python; it is never imported at run time.

One call of ``advance`` moves a block of runs from step ``t_begin`` to ``t_end``; the engine calls
it in chunks (to show progress and honour Ctrl-C) and from several threads on disjoint blocks.
A run's state lives entirely in its rows of the arrays, so chunking and threading never change
a result. With ``finish`` the call also evaluates each run's final iterate.

The loop evaluates the loss and gradient at x_t, checks and records x_t, then steps to x_{t+1}:
loss index t is the loss of the iterate after t steps, index 0 the start.
"""

# ruff: noqa: I001
import math


from adambench.kernels import jit, zeros_init as opt_init, adam_step as opt_step  # stub binding
from adambench.kernels import (
    DIVERGED,
    FINISHED,
    I_BEST_STEP,
    I_DIVERGED_AT,
    I_STATUS,
    I_STEPS,
    I_TARGET_STEP,
    INVALID_START,
    M_AVG_LOSS,
    M_AVG_POW,
    M_BEST,
    M_FINAL,
    M_GNORM,
    M_STALL,
    RUNNING,
    STOPPED_AT_TARGET,
)


def p_fg(x, g, pd, data):  # stub: the problem's loss and exact gradient
    return 0.0


def p_loss(x, pd, data):  # stub: the problem's loss
    return 0.0


def p_train(x, g, pd, data, ps, t, seed):  # stub: loss at x, training gradient for step t
    return 0.0


# ---- generated code starts here ----


@jit
def advance(
    X, S, HP, seeds, pd, data, PS, G, t_begin, t_end, finish, total, every, LT, XT, record_x,
    target, bound, stall_step, stop, decay, AVG, M, IM,
):  # fmt: skip
    """Advance every run of the block from t_begin to t_end; with finish, close them.

    One function on purpose: every jitted helper costs numba a compilation of its own, and the
    cold compile of a (problem, optimizer) pair is paid by every new user. Row views and the
    run's metrics are hoisted out of the step loop (kept in locals, written back on leaving):
    creating views and reloading metrics through memory per step doubled the cost of a step.
    """
    n = X.shape[1]
    for r in range(X.shape[0]):
        x, g, m, im = X[r], G[r], M[r], IM[r]
        s, hp, ps, lt, xt, avg = S[r], HP[r], PS[r], LT[r], XT[r], AVG[r]
        seed = seeds[r]
        status = im[I_STATUS]
        best, best_step, hit = m[M_BEST], im[I_BEST_STEP], im[I_TARGET_STEP]
        at_stall, avg_pow = m[M_STALL], m[M_AVG_POW]
        t = t_begin
        next_record = -(-t // every) * every  # the first multiple of every >= t
        while t < t_end and status == RUNNING:
            f = p_train(x, g, pd, data, ps, t + 1, seed)
            ok = math.isfinite(f)
            if t == 0:
                for i in range(n):
                    ok = ok and math.isfinite(g[i])
                if not ok:
                    status = INVALID_START
                    break
                opt_init(x, hp, s)
            for i in range(n):
                ok = ok and abs(x[i]) <= bound  # NaN fails the comparison too
            if not ok:
                status = DIVERGED
                im[I_DIVERGED_AT] = t
                break
            if t == next_record:
                k = t // every
                lt[k] = f
                if record_x:
                    for i in range(n):
                        xt[k, i] = x[i]
                next_record += every
            if f < best:
                best = f
                best_step = t
            if t == stall_step:
                at_stall = f
            if f <= target and hit < 0:
                hit = t
                if stop:
                    status = STOPPED_AT_TARGET
                    break
            opt_step(x, g, s, t + 1, hp)
            if decay > 0.0:
                for i in range(n):
                    avg[i] = decay * avg[i] + (1.0 - decay) * x[i]
                avg_pow *= decay
            t += 1
        if t > t_begin or status != im[I_STATUS]:  # the run moved: write its locals back
            im[I_STATUS] = status
            im[I_STEPS] = t
            m[M_BEST], im[I_BEST_STEP], im[I_TARGET_STEP] = best, best_step, hit
            m[M_STALL], m[M_AVG_POW] = at_stall, avg_pow
        if finish and status != INVALID_START:
            _finish(x, g, pd, data, total, every, lt, xt, record_x, target, bound, stall_step,
                    decay, avg, m, im)  # fmt: skip


@jit
def _finish(x, g, pd, data, total, every, lt, xt, record_x, target, bound, stall_step, decay,
            avg, m, im):  # fmt: skip
    """Close a run: loss and gradient norm at its last iterate (exact: no noise, full batch);
    a run that went all the way is checked and recorded at step ``total``."""
    n = x.shape[0]
    f = p_fg(x, g, pd, data)
    m[M_FINAL] = f
    ss = 0.0
    ok = math.isfinite(f)
    for i in range(n):
        ss += g[i] * g[i]
        ok = ok and abs(x[i]) <= bound
    m[M_GNORM] = math.sqrt(ss)
    if im[I_STATUS] == RUNNING:
        if not ok:
            im[I_STATUS] = DIVERGED
            im[I_DIVERGED_AT] = total
        else:
            _seen(total, f, x, every, lt, xt, record_x, stall_step, target, m, im)
            im[I_STATUS] = FINISHED
    if decay > 0.0 and m[M_AVG_POW] < 1.0:
        m[M_AVG_LOSS] = p_loss(avg / (1.0 - m[M_AVG_POW]), pd, data)


@jit
def _seen(t, f, x, every, lt, xt, record_x, stall_step, target, m, im):
    """Record the loss (and x) of x_t; track the best loss, stall checkpoint, first hit."""
    if t % every == 0:
        k = t // every
        lt[k] = f
        if record_x:
            for i in range(x.shape[0]):
                xt[k, i] = x[i]
    if f < m[M_BEST]:
        m[M_BEST] = f
        im[I_BEST_STEP] = t
    if t == stall_step:
        m[M_STALL] = f
    if f <= target and im[I_TARGET_STEP] < 0:
        im[I_TARGET_STEP] = t


@jit
def loss_many(P, pd, data, out):
    """The loss at each row of P (contour grids, averaged iterates)."""
    for k in range(P.shape[0]):
        out[k] = p_loss(P[k], pd, data)


@jit
def loss_and_grad(x, g, pd, data):
    """The loss and exact gradient at x (tests and `show`)."""
    return p_fg(x, g, pd, data)


@jit
def train_grad(x, g, pd, data, ps, t, seed):
    """The training gradient at x for step t (noise, minibatch), returning the loss at x."""
    return p_train(x, g, pd, data, ps, t, seed)
