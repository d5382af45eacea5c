"""Numba kernels of logistic regression on sparse (CSR) rows, and lazy Adam.

The rows are those of :class:`adambench.corpus.SparseRows` (``indptr``, ``indices``,
``values``, ``labels``), every feature column ``j < d`` of the weights ``w`` (a bias, when there
is one, is a column present in every row). A minibatch's gradient touches only the nonzeros of
its rows: its cost is the batch's nonzeros, not ``batch_size * d``.

Same numbers as the dense kernels of :mod:`adambench.kernels`, bit for bit: a row's dot
product sums its nonzeros in ascending column order, as the dense loop does (whose zero
columns add exact zeros), and the gradient accumulates the rows in the batch's order.

Which coordinates an update touches (docs/data.md has the table per optimizer): the data term of
the gradient is zero outside the batch's columns, but the l2 term ``l2 * w`` is not, so with
``l2 > 0`` the true gradient is dense and every optimizer but lazy Adam takes it whole.
:func:`logreg_batch_touched` gives the data gradient at the touched columns only (plus the l2
term there: the "lazy" penalty), which :func:`lazy_adam_step` consumes: torch.optim.SparseAdam's
update (moments and weights moved only at the touched columns, bias correction with the global
step ``t``), in torch's order of operations.

As in :mod:`adambench.kernels`, nothing here validates: callers pass consistent arrays.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import prange

__all__ = [
    "is_absent",
    "lazy_adam_array_step",
    "lazy_adam_array_step_par",
    "lazy_adam_init",
    "lazy_adam_prepare",
    "lazy_adam_step",
    "lazy_adam_update",
    "logreg_batch_grad",
    "logreg_batch_marked",
    "logreg_batch_touched",
    "logreg_full_loss",
    "logreg_full_metrics",
    "unpack",
]

_jit = numba.njit(cache=True, error_model="numpy", nogil=True)
_jit_parallel = numba.njit(cache=True, error_model="numpy", nogil=True, parallel=True)


@_jit
def _softplus(z):
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


@_jit
def _sigmoid(z):
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    ez = math.exp(z)
    return ez / (1.0 + ez)


@_jit
def _row_dot(w, indptr, indices, values, k):
    z = 0.0
    for q in range(indptr[k], indptr[k + 1]):
        z += w[indices[q]] * values[q]
    return z


@_jit
def logreg_full_loss(w, indptr, indices, values, labels, l2, n_reg):
    """Mean binary cross-entropy of sigmoid(w . a) over every row plus (l2/2) |w[:n_reg]|^2."""
    return logreg_full_metrics(w, indptr, indices, values, labels, l2, n_reg)[0]


@_jit
def logreg_full_metrics(w, indptr, indices, values, labels, l2, n_reg):
    """(loss, accuracy) over every row in one pass: the loss of :func:`logreg_full_loss`, and
    the fraction of rows whose predicted label (w . a > 0) is theirs."""
    n = labels.shape[0]
    total = 0.0
    right = 0
    for k in range(n):
        z = _row_dot(w, indptr, indices, values, k)
        total += _softplus(z) - labels[k] * z
        right += (z > 0.0) == (labels[k] > 0.5)
    reg = 0.0
    for j in range(n_reg):
        reg += w[j] * w[j]
    return total / n + 0.5 * l2 * reg, right / n


@_jit
def _accumulate(w, g, indptr, indices, values, labels, rows):
    """g[j] += (sigmoid(w . a_k) - y_k) a_kj over the nonzeros of the rows ``rows``."""
    for r in range(rows.shape[0]):
        k = rows[r]
        err = _sigmoid(_row_dot(w, indptr, indices, values, k)) - labels[k]
        for q in range(indptr[k], indptr[k + 1]):
            g[indices[q]] += err * values[q]


@_jit
def logreg_batch_grad(w, g, indptr, indices, values, labels, rows, l2, n_reg):
    """The full (dense) gradient of the minibatch ``rows``: mean data term plus l2 * w[:n_reg].

    Equal bit for bit to :func:`adambench.kernels.logreg_grad` on the dense rows."""
    d = w.shape[0]
    for j in range(d):
        g[j] = 0.0
    _accumulate(w, g, indptr, indices, values, labels, rows)
    inv = 1.0 / rows.shape[0]
    for j in range(d):
        g[j] *= inv
    for j in range(n_reg):
        g[j] += l2 * w[j]


@_jit
def logreg_batch_touched(w, g, touched, seen, indptr, indices, values, labels, rows, l2, n_reg):
    """The minibatch gradient at the columns its rows touch only; returns their count ``m``.

    ``touched[:m]`` are the columns in order of first appearance, ``g`` holds their gradient
    (data term plus the lazy l2 term ``l2 * w[j]`` for ``j < n_reg``); ``g`` must be all zero
    on entry and ``seen`` all False, and both are left so on the columns not touched (the caller
    resets ``g`` at ``touched[:m]`` after its update: see :func:`lazy_adam_step`). Cost: the
    batch's nonzeros, whatever ``d``."""
    m = 0
    for r in range(rows.shape[0]):
        k = rows[r]
        for q in range(indptr[k], indptr[k + 1]):
            j = indices[q]
            if not seen[j]:
                seen[j] = True
                touched[m] = j
                m += 1
    _accumulate(w, g, indptr, indices, values, labels, rows)
    inv = 1.0 / rows.shape[0]
    for i in range(m):
        j = touched[i]
        seen[j] = False
        g[j] *= inv
        if j < n_reg:
            g[j] += l2 * w[j]
    return m


@_jit
def lazy_adam_step(p, g, m1, m2, touched, count, t, lr, beta1, beta2, eps):
    """torch.optim.SparseAdam's step ``t`` (global, 1-based) at the columns ``touched[:count]``
    only, with their gradient ``g``; clears ``g`` there afterwards (ready for the next batch)."""
    bias_correction1 = 1.0 - beta1**t
    bias_correction2 = 1.0 - beta2**t
    step_size = lr * math.sqrt(bias_correction2) / bias_correction1
    for i in range(count):
        j = touched[i]
        grad = g[j]
        first_change = (grad - m1[j]) * (1.0 - beta1)
        second_change = (grad * grad - m2[j]) * (1.0 - beta2)
        numer = first_change + m1[j]
        denom = math.sqrt(second_change + m2[j]) + eps
        m1[j] += first_change
        m2[j] += second_change
        p[j] += -step_size * (numer / denom)
        g[j] = 0.0


# ---------------------------------------------------------------------------------------------
# Sparse rows inside a compiled runner. The runner's ``data`` argument is one float64 array for
# every problem; sparse rows travel in it packed by :func:`adambench.corpus.pack` (header
# [n_rows, nnz, n_features], then indptr and indices as int64 bits, values, labels), and are
# viewed back here without a copy.


@_jit
def unpack(data):
    """The CSR arrays ``(indptr, indices, values, labels)`` packed in ``data`` (views)."""
    flat = data[0]
    n = int(flat[0])
    nnz = int(flat[1])
    a = 3
    indptr = flat[a : a + n + 1].view(np.int64)
    a += n + 1
    indices = flat[a : a + nnz].view(np.int64)
    a += nnz
    values = flat[a : a + nnz]
    a += nnz
    return indptr, indices, values, flat[a : a + n]


@_jit
def is_absent(gi):
    """True for -0.0, the mark of a coordinate absent from the minibatch (see below)."""
    return gi == 0.0 and math.copysign(1.0, gi) < 0.0


@_jit
def logreg_batch_marked(w, g, indptr, indices, values, labels, rows, l2, n_reg):
    """The minibatch gradient for lazy Adam, in a dense vector: at the columns the batch's
    rows contain, the data term plus the lazy l2 term ``l2 * w[j]`` (as
    :func:`logreg_batch_touched`, same arithmetic); at every other column ``-0.0``, the mark
    of an absent coordinate. A present column's value is never ``-0.0`` (a sum starting at
    ``+0.0`` that comes back to zero is ``+0.0``, and it is normalised anyway), and a mark
    survives gradient clipping (``-0.0 * c`` is ``-0.0``), so :func:`lazy_adam_update` can tell
    the two apart coordinate by coordinate in every layout."""
    d = w.shape[0]
    for j in range(d):
        g[j] = -0.0
    for r in range(rows.shape[0]):
        k = rows[r]
        for q in range(indptr[k], indptr[k + 1]):
            g[indices[q]] = 0.0
    _accumulate(w, g, indptr, indices, values, labels, rows)
    inv = 1.0 / rows.shape[0]
    for j in range(d):
        if not is_absent(g[j]):
            gj = g[j] * inv
            if j < n_reg:
                gj += l2 * w[j]
            g[j] = gj if gj != 0.0 else 0.0


# ---------------------------------------------------------------------------------------------
# Lazy Adam as an optimizer of the registry (``lazy_adam``): the kernels of the elementwise
# contract of adambench.kernels (init, prepare, update, step, step_par). State: m, v per
# coordinate. A coordinate whose gradient is the absent mark (-0.0) keeps p, m and v; on a
# dense gradient (no marks) every coordinate is present and it is torch.optim.SparseAdam given
# every index, which is Adam with SparseAdam's order of operations.


@_jit
def lazy_adam_init(p, hp, state):
    """Both moments start at zero."""
    for k in range(state.shape[0]):
        state[k] = 0.0


@_jit
def lazy_adam_prepare(t, hp):
    """beta1, beta2, eps and SparseAdam's step size ``lr sqrt(1 - beta2^t) / (1 - beta1^t)``."""
    lr, beta1, beta2 = hp[0], hp[1], hp[2]
    step_size = lr * math.sqrt(1.0 - beta2**t) / (1.0 - beta1**t)
    return beta1, beta2, hp[3], step_size


@_jit
def lazy_adam_update(p, g, m, v, beta1, beta2, eps, step_size):
    """One coordinate of torch.optim.SparseAdam's step (its order of operations); an absent
    coordinate (gradient -0.0) is returned unchanged."""
    if is_absent(g):
        return p, m, v
    first_change = (g - m) * (1.0 - beta1)
    second_change = (g * g - v) * (1.0 - beta2)
    numer = first_change + m
    denom = math.sqrt(second_change + v) + eps
    return p + -step_size * (numer / denom), m + first_change, v + second_change


@_jit
def lazy_adam_array_step(p, g, state, t, hp):
    """Lazy Adam on arrays: :func:`lazy_adam_prepare`, then :func:`lazy_adam_update` each."""
    n = p.shape[0]
    beta1, beta2, eps, step_size = lazy_adam_prepare(t, hp)
    m, v = state[:n], state[n : 2 * n]
    for i in range(n):
        p[i], m[i], v[i] = lazy_adam_update(p[i], g[i], m[i], v[i], beta1, beta2, eps, step_size)


@_jit_parallel
def lazy_adam_array_step_par(p, g, state, t, hp):
    """:func:`lazy_adam_array_step` on all threads (each coordinate on its own: same numbers)."""
    n = p.shape[0]
    beta1, beta2, eps, step_size = lazy_adam_prepare(t, hp)
    m, v = state[:n], state[n : 2 * n]
    for i in prange(n):
        p[i], m[i], v[i] = lazy_adam_update(p[i], g[i], m[i], v[i], beta1, beta2, eps, step_size)
