"""A YAML rule's kernels compiled on their own (no run loop, no problem), and stepped by hand:
shared by the tests of optimizer files and of the library."""

from __future__ import annotations

import math
from collections.abc import Callable

import numba
import numpy as np

from adambench import kernels as K
from adambench.optimizers.registry import resolve


def compile_rule(spec):
    """The rule's opt_init / opt_step, compiled on their own (no run loop, no problem): the
    generated text executed as the generated module would, with jit without a disk cache."""
    ns = {"math": math, "np": np, "K": K, "jit": numba.njit(error_model="numpy")}
    exec(compile(spec.kernel.inline, f"<{spec.name}>", "exec"), ns)
    return ns["opt_init"], ns["opt_step"]


def rule_steps(spec, start, gradient: Callable, steps: int, **overrides) -> list[np.ndarray]:
    """The parameters after each of ``steps`` steps, step t given ``gradient(t, p)``."""
    init, step = compile_rule(spec)
    hp = np.array(resolve(spec, overrides).hp_vector())
    p = np.array(start, float)
    state = np.full(spec.state_size(p.size), np.nan)  # init must fill every slot
    init(p, hp, state)
    assert not np.isnan(state).any()
    out = []
    for t in range(1, steps + 1):
        step(p, np.array(gradient(t, p), float), state, t, hp)
        out.append(p.copy())
    return out
