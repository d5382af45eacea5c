"""User problem files the tests write: one text each, shared by the tests that need it."""

from __future__ import annotations

#: A quadratic bowl with noisy gradients (a stochastic user problem), as a YAML problem file.
NOISY_BOWL = """\
name: noisy_bowl
description: a quadratic bowl with noisy gradients (a stochastic user problem)
variables: [x, y]
expression: (x - 1)**2 + 3*(y + 0.5)**2
start: [-2.0, 2.0]
minimum: {x: [[1.0, -0.5]], value: 0.0}
target: {gap: 1.0e-4}
domain: [[-3, 3], [-3, 3]]
steps: 500
gradient_noise: 0.05
"""
