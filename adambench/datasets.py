"""Data sets of data problems, their models' losses in numpy, and their optimum (plain numpy,
run once per problem load).

Two moons (the geometry of scikit-learn's ``make_moons``, generated here so scikit-learn is not
needed): ``n_samples`` points, half on each moon. Outer moon, label 0: (cos t, sin t) for t evenly
spaced over [0, pi]; inner moon, label 1: (1 - cos t, 1 - sin t - 0.5); then Gaussian noise of
standard deviation ``noise`` on every coordinate, from ``numpy.random.default_rng(data_seed)``.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

__all__ = [
    "MODELS",
    "design",
    "glorot_start",
    "logreg_accuracy",
    "logreg_loss",
    "logreg_optimum",
    "mlp_accuracy",
    "mlp_loss",
    "model_accuracy",
    "model_loss",
    "model_optimum",
    "two_moons",
]

#: The models of data problems.
MODELS = ("logistic", "softmax", "least_squares", "mlp")


def two_moons(n_samples: int, noise: float, data_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Points (n, 2) and labels (n,) in {0, 1}."""
    n_out = n_samples // 2
    n_in = n_samples - n_out
    t_out = np.linspace(0.0, np.pi, n_out)
    t_in = np.linspace(0.0, np.pi, n_in)
    outer = np.column_stack([np.cos(t_out), np.sin(t_out)])
    inner = np.column_stack([1.0 - np.cos(t_in), 1.0 - np.sin(t_in) - 0.5])
    points = np.vstack([outer, inner])
    rng = np.random.default_rng(data_seed)
    points = points + rng.normal(scale=noise, size=points.shape)
    labels = np.concatenate([np.zeros(n_out), np.ones(n_in)])
    return points, labels


def design(points: np.ndarray, labels: np.ndarray, bias: bool) -> np.ndarray:
    """Rows [features..., label], with a constant feature 1 last when ``bias``."""
    cols = [points]
    if bias:
        cols.append(np.ones((points.shape[0], 1)))
    cols.append(labels[:, None])
    return np.ascontiguousarray(np.hstack(cols), dtype=np.float64)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.where(
        z >= 0, 1.0 / (1.0 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1.0 + np.exp(-np.abs(z)))
    )


def logreg_loss(w: np.ndarray, data: np.ndarray, l2: float, n_reg: int) -> float:
    """Mean binary cross-entropy of sigmoid(a . w) + (l2/2) |w[:n_reg]|^2 (numpy reference)."""
    a, y = data[:, :-1], data[:, -1]
    z = a @ w
    bce = np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z))) - y * z
    return float(bce.mean() + 0.5 * l2 * np.sum(w[:n_reg] ** 2))


def logreg_accuracy(w: np.ndarray, data: np.ndarray) -> float:
    """Fraction of samples whose predicted label (z > 0) is right."""
    z = data[:, :-1] @ w
    return float(np.mean((z > 0) == (data[:, -1] > 0.5)))


def logreg_optimum(
    data: np.ndarray, l2: float, n_reg: int, iters: int = 50
) -> tuple[np.ndarray, int]:
    """Minimise the full-batch loss by Newton's method (smooth and convex with l2 > 0).

    Returns the minimiser and the number of Newton steps taken (stops when the step < 1e-14).
    """
    a, y = data[:, :-1], data[:, -1]
    n, d = a.shape
    w = np.zeros(d)
    reg = np.zeros(d)
    reg[:n_reg] = l2
    for k in range(1, iters + 1):
        p = _sigmoid(a @ w)
        grad = a.T @ (p - y) / n + reg * w
        hess = (a * (p * (1 - p))[:, None]).T @ a / n + np.diag(reg)
        step = np.linalg.solve(hess, grad)
        w = w - step
        if np.max(np.abs(step)) < 1e-14:
            return w, k
    return w, iters


# ---------------------------------------------------------------------------------------------
# Every model (``logistic``, ``softmax``, ``least_squares``): ``data`` rows are [features...,
# label]; the l2 penalty covers the first ``n_reg`` weights of each class (the bias is last).
# A softmax's weights are (n_classes, d) row after row, d = the row's features.


def _softmax_parts(w: np.ndarray, data: np.ndarray, n_classes: int) -> tuple[Any, ...]:
    """(features, class indices, weights (k, d), probabilities (n, k), logits (n, k))."""
    a, y = data[:, :-1], data[:, -1].astype(np.int64)
    weights = w.reshape(n_classes, a.shape[1])
    z = a @ weights.T
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return a, y, weights, e / e.sum(axis=1, keepdims=True), z


def _penalty_mask(shape: tuple[int, ...], n_reg: int) -> np.ndarray:
    mask = np.zeros(shape)
    mask[..., :n_reg] = 1.0
    return mask.reshape(-1)


def model_loss(
    model: str, w: np.ndarray, data: np.ndarray, l2: float, n_reg: int, n_classes: int = 2
) -> float:
    """The mean loss of ``model`` at ``w`` over the rows of ``data``, plus the l2 penalty."""
    if model == "logistic":
        return logreg_loss(w, data, l2, n_reg)
    reg = 0.5 * l2 * float(np.sum(w**2 * _penalty_mask((w.size,), n_reg)))
    if model == "least_squares":
        r = data[:, :-1] @ w - data[:, -1]
        return float(0.5 * np.mean(r**2)) + reg
    a, y, _, _, z = _softmax_parts(w, data, n_classes)
    top = z.max(axis=1)
    lse = top + np.log(np.exp(z - top[:, None]).sum(axis=1))
    mask = _penalty_mask((n_classes, a.shape[1]), n_reg)
    return float(np.mean(lse - z[np.arange(len(y)), y])) + 0.5 * l2 * float(np.sum(w**2 * mask))


def model_accuracy(model: str, w: np.ndarray, data: np.ndarray, n_classes: int) -> float | None:
    """The fraction of rows classified right (None for least squares, not a classifier)."""
    if model == "logistic":
        return logreg_accuracy(w, data)
    if model == "softmax":
        _, y, _, _, z = _softmax_parts(w, data, n_classes)
        return float(np.mean(np.argmax(z, axis=1) == y))
    return None


def model_optimum(
    model: str, data: np.ndarray, l2: float, n_reg: int, n_classes: int
) -> tuple[np.ndarray, int]:
    """The minimiser of the full-batch loss and the Newton steps taken: Newton's method for
    logistic regression, a direct solve for least squares, Newton with backtracking for
    softmax. Raises ``np.linalg.LinAlgError`` on a singular system."""
    if model == "logistic":
        return logreg_optimum(data, l2, n_reg)
    d = data.shape[1] - 1
    if model == "least_squares":
        a, y = data[:, :-1], data[:, -1]
        reg = l2 * _penalty_mask((d,), n_reg)
        return np.linalg.solve(a.T @ a / len(y) + np.diag(reg), a.T @ y / len(y)), 1
    return _softmax_newton(data, l2, n_reg, n_classes)


def _softmax_newton(
    data: np.ndarray, l2: float, n_reg: int, k: int, iters: int = 100
) -> tuple[np.ndarray, int]:
    """Newton's method with backtracking on the softmax loss, from zero.

    Without a penalty on the bias the loss is flat along "the same constant added to every
    class's bias": the Hessian is singular there. The gradient is orthogonal to that direction
    (the probabilities sum to 1), so adding it to the Hessian changes no step; the iterates keep
    the biases summing to zero: the minimiser of least norm."""
    a = np.ascontiguousarray(data[:, :-1])
    n, d = a.shape
    mask = _penalty_mask((k, d), n_reg)
    flat = np.zeros((k, d))
    flat[:, n_reg:] = 1.0 / math.sqrt(k)  # the flat directions (bias columns): unit vectors
    w = np.zeros(k * d)
    loss = model_loss("softmax", w, data, l2, n_reg, k)
    for step in range(1, iters + 1):
        _, y, _, p, _ = _softmax_parts(w, data, k)
        err = p.copy()
        err[np.arange(n), y] -= 1.0
        g = (err.T @ a / n).reshape(-1) + l2 * mask * w
        if np.max(np.abs(g)) < 1e-12:  # at the rounding floor: further steps only jitter
            return w, step - 1
        u = (p[:, :, None] * a[:, None, :]).reshape(n, k * d)
        hess = -(u.T @ u)
        for c in range(k):
            hess[c * d : (c + 1) * d, c * d : (c + 1) * d] += (a * p[:, c : c + 1]).T @ a
        hess = hess / n + np.diag(l2 * mask)
        for j in range(n_reg, d):  # one flat direction per bias column
            v = flat[:, j : j + 1] * np.eye(d)[j]
            hess += np.outer(v.reshape(-1), v.reshape(-1))
        direction = np.linalg.solve(hess, g)
        t = 1.0
        while True:  # backtracking: a full Newton step far from the optimum may overshoot
            trial = w - t * direction
            new = model_loss("softmax", trial, data, l2, n_reg, k)
            if new <= loss - 1e-4 * t * float(g @ direction) or t < 1e-10:
                break
            t *= 0.5
        w, loss = trial, new
        if np.max(np.abs(t * direction)) < 1e-14:
            return w, step
    return w, iters


# ---------------------------------------------------------------------------------------------
# The ``mlp`` model in numpy (the compiled kernels are kernels.mlp_*): ``widths`` is
# [inputs, hidden..., classes]; the weights are, layer after layer, W (fan_out x fan_in, row
# after row) then b (fan_out).


def _mlp_layers(w: np.ndarray, widths: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    layers, at = [], 0
    for n_in, n_out in itertools.pairwise(widths):
        weights = w[at : at + n_in * n_out].reshape(n_out, n_in)
        at += n_in * n_out
        layers.append((weights, w[at : at + n_out]))
        at += n_out
    return layers


def _mlp_logits(w: np.ndarray, a: np.ndarray, widths: list[int], activation: str) -> np.ndarray:
    layers = _mlp_layers(w, widths)
    for weights, bias in layers[:-1]:
        z = a @ weights.T + bias
        a = np.tanh(z) if activation == "tanh" else np.maximum(z, 0.0)
    weights, bias = layers[-1]
    return a @ weights.T + bias


def mlp_loss(
    w: np.ndarray, data: np.ndarray, widths: list[int], activation: str, l2: float
) -> float:
    """Mean cross-entropy of the network (no dropout) plus (l2 / 2) |W|^2 (not the biases)."""
    z = _mlp_logits(w, data[:, :-1], widths, activation)
    y = data[:, -1].astype(np.int64)
    top = z.max(axis=1)
    lse = top + np.log(np.exp(z - top[:, None]).sum(axis=1))
    penalty = sum(float(np.sum(weights**2)) for weights, _ in _mlp_layers(w, widths))
    return float(np.mean(lse - z[np.arange(len(y)), y])) + 0.5 * l2 * penalty


def mlp_accuracy(w: np.ndarray, data: np.ndarray, widths: list[int], activation: str) -> float:
    """The fraction of rows whose largest logit is their class."""
    z = _mlp_logits(w, data[:, :-1], widths, activation)
    return float(np.mean(np.argmax(z, axis=1) == data[:, -1].astype(np.int64)))


def glorot_start(widths: list[int], init_seed: int) -> np.ndarray:
    """Glorot (Xavier) uniform weights, U(-s, s) with s = sqrt(6 / (fan_in + fan_out)), and
    zero biases, drawn from numpy's PCG64 seeded with ``init_seed`` layer by layer."""
    rng = np.random.default_rng(init_seed)
    parts = []
    for n_in, n_out in itertools.pairwise(widths):
        bound = np.sqrt(6.0 / (n_in + n_out))
        parts += [rng.uniform(-bound, bound, n_out * n_in), np.zeros(n_out)]
    return np.concatenate(parts)
