"""Plain-Python transcriptions of the update rules (docs/optimizers.md), line by line.

Slow and obvious on purpose (stumpy's naive.py idea): an independent reference for the numba
kernels. Each function takes the parameters, a gradient function and hyperparameters, and returns
the trajectory [p_0, p_1, ..., p_T] as a list of lists.
"""

from __future__ import annotations

import math
from collections.abc import Callable

Grad = Callable[[list[float]], list[float]]


def adam(
    p,
    grad: Grad,
    steps,
    lr=1e-3,
    beta1=0.9,
    beta2=0.999,
    eps=1e-8,
    weight_decay=0.0,
    amsgrad=False,
    bias_correction=True,
):
    p = list(p)
    n = len(p)
    m, v, vmax = [0.0] * n, [0.0] * n, [0.0] * n
    out = [list(p)]
    for t in range(1, steps + 1):
        g = grad(p)
        for i in range(n):
            gi = g[i] + weight_decay * p[i]
            m[i] = beta1 * m[i] + (1 - beta1) * gi
            v[i] = beta2 * v[i] + (1 - beta2) * gi**2
            if amsgrad:
                vmax[i] = max(vmax[i], v[i])
            vv = vmax[i] if amsgrad else v[i]
            if bias_correction:
                mhat = m[i] / (1 - beta1**t)
                vhat = vv / (1 - beta2**t)
            else:
                mhat, vhat = m[i], vv
            p[i] = p[i] - lr * mhat / (math.sqrt(vhat) + eps)
        out.append(list(p))
    return out


def adam_torch_form(p, grad: Grad, steps, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """PyTorch's arrangement: p -= (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps)."""
    p = list(p)
    n = len(p)
    m, v = [0.0] * n, [0.0] * n
    out = [list(p)]
    for t in range(1, steps + 1):
        g = grad(p)
        bc1, bc2 = 1 - beta1**t, 1 - beta2**t
        for i in range(n):
            m[i] = beta1 * m[i] + (1 - beta1) * g[i]
            v[i] = beta2 * v[i] + (1 - beta2) * g[i] ** 2
            p[i] -= (lr / bc1) * m[i] / (math.sqrt(v[i]) / math.sqrt(bc2) + eps)
        out.append(list(p))
    return out


def adamax(p, grad: Grad, steps, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    p = list(p)
    n = len(p)
    m, u = [0.0] * n, [0.0] * n
    out = [list(p)]
    for t in range(1, steps + 1):
        g = grad(p)
        for i in range(n):
            gi = g[i] + weight_decay * p[i]
            m[i] = beta1 * m[i] + (1 - beta1) * gi
            u[i] = max(beta2 * u[i], abs(gi) + eps)
            p[i] = p[i] - (lr / (1 - beta1**t)) * m[i] / u[i]
        out.append(list(p))
    return out


def sgd(
    p, grad: Grad, steps, lr=1e-3, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0
):
    p = list(p)
    n = len(p)
    buf = [0.0] * n
    out = [list(p)]
    for t in range(1, steps + 1):
        g = grad(p)
        for i in range(n):
            gi = g[i] + weight_decay * p[i]
            if momentum != 0:
                buf[i] = gi if t == 1 else momentum * buf[i] + (1 - dampening) * gi
                d = gi + momentum * buf[i] if nesterov else buf[i]
            else:
                d = gi
            p[i] = p[i] - lr * d
        out.append(list(p))
    return out


def adagrad(
    p,
    grad: Grad,
    steps,
    lr=1e-2,
    lr_decay=0.0,
    eps=1e-10,
    initial_accumulator_value=0.0,
    weight_decay=0.0,
):
    p = list(p)
    n = len(p)
    s = [initial_accumulator_value] * n
    out = [list(p)]
    for t in range(1, steps + 1):
        g = grad(p)
        clr = lr / (1 + (t - 1) * lr_decay)
        for i in range(n):
            gi = g[i] + weight_decay * p[i]
            s[i] = s[i] + gi**2
            p[i] = p[i] - clr * gi / (math.sqrt(s[i]) + eps)
        out.append(list(p))
    return out


def rmsprop(
    p,
    grad: Grad,
    steps,
    lr=1e-2,
    alpha=0.99,
    eps=1e-8,
    momentum=0.0,
    centered=False,
    weight_decay=0.0,
):
    p = list(p)
    n = len(p)
    v, a, b = [0.0] * n, [0.0] * n, [0.0] * n
    out = [list(p)]
    for _t in range(1, steps + 1):
        g = grad(p)
        for i in range(n):
            gi = g[i] + weight_decay * p[i]
            v[i] = alpha * v[i] + (1 - alpha) * gi**2
            if centered:
                a[i] = alpha * a[i] + (1 - alpha) * gi
                denom = math.sqrt(v[i] - a[i] ** 2) + eps
            else:
                denom = math.sqrt(v[i]) + eps
            if momentum > 0:
                b[i] = momentum * b[i] + gi / denom
                p[i] = p[i] - lr * b[i]
            else:
                p[i] = p[i] - lr * gi / denom
        out.append(list(p))
    return out


REFERENCES = {
    "adam": adam,
    "adamax": adamax,
    "sgd": sgd,
    "momentum": lambda p, g, s, **k: sgd(p, g, s, **{"momentum": 0.9, **k}),
    "nesterov": lambda p, g, s, **k: sgd(p, g, s, **{"momentum": 0.9, "nesterov": True, **k}),
    "adagrad": adagrad,
    "rmsprop": rmsprop,
}


def beale_grad(p):
    x, y = p
    a = 1.5 - x + x * y
    b = 2.25 - x + x * y**2
    c = 2.625 - x + x * y**3
    return [
        2 * a * (y - 1) + 2 * b * (y**2 - 1) + 2 * c * (y**3 - 1),
        2 * a * x + 4 * b * x * y + 6 * c * x * y**2,
    ]


def beale(p):
    x, y = p
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def rosenbrock_grad(p):
    x, y = p
    return [-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)]


# Optimizers shipped as YAML examples (sample_configs/optimizers/), transcribed from the papers.


def lion(p, grad: Grad, steps, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    """Chen et al. 2023, Algorithm 2: c = b1 m + (1-b1) g; p -= lr (sign(c) + wd p);
    m = b2 m + (1-b2) g."""
    p = list(p)
    m = [0.0] * len(p)
    out = [list(p)]
    for _ in range(steps):
        g = grad(p)
        for i in range(len(p)):
            c = beta1 * m[i] + (1 - beta1) * g[i]
            sign = 0.0 if c == 0 else math.copysign(1.0, c)
            p[i] = p[i] - lr * (sign + weight_decay * p[i])
            m[i] = beta2 * m[i] + (1 - beta2) * g[i]
        out.append(list(p))
    return out


def adabelief(p, grad: Grad, steps, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-16):
    """Zhuang et al. 2020, Algorithm 2: s = b2 s + (1-b2)(g - m)^2 + eps, bias-corrected."""
    p = list(p)
    m, s = [0.0] * len(p), [0.0] * len(p)
    out = [list(p)]
    for t in range(1, steps + 1):
        g = grad(p)
        for i in range(len(p)):
            m[i] = beta1 * m[i] + (1 - beta1) * g[i]
            s[i] = beta2 * s[i] + (1 - beta2) * (g[i] - m[i]) ** 2 + eps
            mhat = m[i] / (1 - beta1**t)
            shat = s[i] / (1 - beta2**t)
            p[i] = p[i] - lr * mhat / (math.sqrt(shat) + eps)
        out.append(list(p))
    return out
