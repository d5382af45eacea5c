"""Data sets of data problems, and their optimum (plain numpy, run once per problem load).

Two moons (the geometry of scikit-learn's ``make_moons``, generated here so scikit-learn is not
needed): ``n_samples`` points, half on each moon. Outer moon, label 0: (cos t, sin t) for t evenly
spaced over [0, pi]; inner moon, label 1: (1 - cos t, 1 - sin t - 0.5); then Gaussian noise of
standard deviation ``noise`` on every coordinate, from ``numpy.random.default_rng(data_seed)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["design", "logreg_accuracy", "logreg_loss", "logreg_optimum", "two_moons"]


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
