"""Sign momentum: buf = momentum buf + g; p -= lr sign(buf) (signSGD, Bernstein et al. 2018)."""

import math

# Hyperparameters in the order of the hp vector, in the form of YAML optimizer files.
HYPERPARAMETERS = {
    "lr": {"default": 0.01, "above": 0, "description": "step size"},
    "momentum": {"default": 0.0, "min": 0, "below": 1},
}
STATE_PER_PARAM = 1  # state = STATE_PER_PARAM * n + STATE_EXTRA values (or def state_size(n))


def init(p, hp, state):
    """Fill one run's state before its first step."""
    for k in range(state.shape[0]):
        state[k] = 0.0


def step(p, g, state, t, hp):
    """Update p in place from the gradient g at step t (1, 2, ...)."""
    for i in range(p.shape[0]):
        state[i] = hp[1] * state[i] + g[i]
        p[i] -= hp[0] * math.copysign(1.0, state[i])
