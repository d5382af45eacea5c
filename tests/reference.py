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


def adamw(p, grad: Grad, steps, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2,
          amsgrad=False):  # fmt: skip
    """Loshchilov & Hutter 2019 in torch's form: theta *= 1 - lr wd, then Adam on g alone."""
    p = list(p)
    n = len(p)
    m, v, vmax = [0.0] * n, [0.0] * n, [0.0] * n
    out = [list(p)]
    for t in range(1, steps + 1):
        g = grad(p)
        for i in range(n):
            p[i] = p[i] * (1 - lr * weight_decay)
            m[i] = beta1 * m[i] + (1 - beta1) * g[i]
            v[i] = beta2 * v[i] + (1 - beta2) * g[i] ** 2
            vmax[i] = max(vmax[i], v[i])
            vhat = (vmax[i] if amsgrad else v[i]) / (1 - beta2**t)
            p[i] = p[i] - lr * (m[i] / (1 - beta1**t)) / (math.sqrt(vhat) + eps)
        out.append(list(p))
    return out


def nadam(p, grad: Grad, steps, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
          momentum_decay=4e-3, decoupled_weight_decay=False):  # fmt: skip
    """Dozat 2016 with torch's schedule mu_t = beta1 (1 - 0.96^(t psi) / 2):
    p -= lr ((1 - mu_t) g / (1 - prod_{i<=t} mu_i) + mu_{t+1} m / (1 - prod_{i<=t+1} mu_i))
    / (sqrt(v / (1 - beta2^t)) + eps)."""
    p = list(p)
    n = len(p)
    m, v = [0.0] * n, [0.0] * n
    out = [list(p)]

    def mu(t):
        return beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))

    for t in range(1, steps + 1):
        g = grad(p)
        prod_t = math.prod(mu(i) for i in range(1, t + 1))
        prod_next = prod_t * mu(t + 1)
        for i in range(n):
            if decoupled_weight_decay:
                p[i] = p[i] * (1 - lr * weight_decay)
                gi = g[i]
            else:
                gi = g[i] + weight_decay * p[i]
            m[i] = beta1 * m[i] + (1 - beta1) * gi
            v[i] = beta2 * v[i] + (1 - beta2) * gi**2
            d = math.sqrt(v[i] / (1 - beta2**t)) + eps
            nesterov_m = (1 - mu(t)) * gi / (1 - prod_t) + mu(t + 1) * m[i] / (1 - prod_next)
            p[i] = p[i] - lr * nesterov_m / d
        out.append(list(p))
    return out


def radam(p, grad: Grad, steps, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
          decoupled_weight_decay=False):  # fmt: skip
    """Liu et al. 2020, Algorithm 2, with torch's eps and threshold rho_t > 5."""
    p = list(p)
    n = len(p)
    m, v = [0.0] * n, [0.0] * n
    rho_inf = 2 / (1 - beta2) - 1
    out = [list(p)]
    for t in range(1, steps + 1):
        g = grad(p)
        rho_t = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
        for i in range(n):
            if decoupled_weight_decay:
                p[i] = p[i] * (1 - lr * weight_decay)
                gi = g[i]
            else:
                gi = g[i] + weight_decay * p[i]
            m[i] = beta1 * m[i] + (1 - beta1) * gi
            v[i] = beta2 * v[i] + (1 - beta2) * gi**2
            mhat = m[i] / (1 - beta1**t)
            if rho_t > 5:
                r = math.sqrt(
                    (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
                )
                adaptive = math.sqrt(1 - beta2**t) / (math.sqrt(v[i]) + eps)
                p[i] = p[i] - lr * mhat * r * adaptive
            else:
                p[i] = p[i] - lr * mhat
        out.append(list(p))
    return out


def adadelta(p, grad: Grad, steps, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
    """Zeiler 2012, Algorithm 1, scaled by lr as torch does."""
    p = list(p)
    n = len(p)
    eg, ex = [0.0] * n, [0.0] * n
    out = [list(p)]
    for _t in range(1, steps + 1):
        g = grad(p)
        for i in range(n):
            gi = g[i] + weight_decay * p[i]
            eg[i] = rho * eg[i] + (1 - rho) * gi**2
            dx = -math.sqrt(ex[i] + eps) / math.sqrt(eg[i] + eps) * gi
            ex[i] = rho * ex[i] + (1 - rho) * dx**2
            p[i] = p[i] + lr * dx
        out.append(list(p))
    return out


def rprop(p, grad: Grad, steps, lr=1e-2, eta_minus=0.5, eta_plus=1.2, step_size_min=1e-6,
          step_size_max=50.0):  # fmt: skip
    """Riedmiller & Braun 1993 without backtracking (torch's Rprop, Igel's Rprop-)."""
    p = list(p)
    n = len(p)
    size, prev = [lr] * n, [0.0] * n
    out = [list(p)]
    for _t in range(1, steps + 1):
        g = grad(p)
        for i in range(n):
            gi = g[i]
            if gi * prev[i] > 0:
                size[i] = min(size[i] * eta_plus, step_size_max)
            elif gi * prev[i] < 0:
                size[i] = max(size[i] * eta_minus, step_size_min)
                gi = 0.0
            else:
                size[i] = min(max(size[i], step_size_min), step_size_max)
            p[i] = p[i] - math.copysign(size[i], gi) * (gi != 0)
            prev[i] = gi
        out.append(list(p))
    return out


def lazy_adam(p, grad: Grad, steps, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """torch.optim.SparseAdam's step on a gradient where every coordinate is present: eps
    added to sqrt(v) before the bias correction, which goes into the step size."""
    p = list(p)
    n = len(p)
    m, v = [0.0] * n, [0.0] * n
    out = [list(p)]
    for t in range(1, steps + 1):
        g = grad(p)
        step_size = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t)
        for i in range(n):
            m[i] = beta1 * m[i] + (1 - beta1) * g[i]
            v[i] = beta2 * v[i] + (1 - beta2) * g[i] ** 2
            p[i] = p[i] - step_size * (m[i] / (math.sqrt(v[i]) + eps))
        out.append(list(p))
    return out


REFERENCES = {
    "adam": adam,
    "lazy_adam": lazy_adam,
    "adamax": adamax,
    "sgd": sgd,
    "momentum": lambda p, g, s, **k: sgd(p, g, s, **{"momentum": 0.9, **k}),
    "nesterov": lambda p, g, s, **k: sgd(p, g, s, **{"momentum": 0.9, "nesterov": True, **k}),
    "adagrad": adagrad,
    "rmsprop": rmsprop,
    "adamw": adamw,
    "nadam": nadam,
    "radam": radam,
    "adadelta": adadelta,
    "rprop": rprop,
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
