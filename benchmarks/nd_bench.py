"""A whole step of an n-D problem against one Adam array step, and against JAX + optax.

From the repository root (a benchmark, not a test; a few minutes on 2 cores)::

    python benchmarks/nd_bench.py                 # N = 1e7, 2 threads, --pairs 5 --steps 20
    python benchmarks/nd_bench.py --n 1000000 --out nd.md

``rosenbrock_nd`` at N parameters with ``adam(lr=0.001)`` on two threads:

- ``run``: ``adambench.run(...)`` through the wide runner, the engine's time per step: the
  difference of ``timings["run_s"]`` (compiled loop only; compile and allocation excluded)
  between a run of ``--steps`` steps and one of 2, per step, so that what a run costs once
  cancels (it is reported on its own line: ``once per run``).
- ``adam step``: ``kernels.adam_step_par`` on arrays of N (the update alone, memory bound): the
  issue-16 target is a whole step at most 2.5x this one, measured pair by pair (A B A B ...).
- ``jax value_and_grad`` and ``jax hand gradient`` (when ``jax`` and ``optax`` are installed,
  ``pip install -e ".[bench]"``): one ``jax.jit``-ted step of ``optax.adam`` (loss, gradient,
  update) with the gradient from ``jax.value_and_grad`` of the loss, and written out by hand;
  each alternated with ``run`` in the same way.
- ``peak memory``: the maximum resident set of a fresh process doing the ``run`` (``resource``),
  and the bytes of the run's own arrays (x, gradient, optimizer state, average, start).

Every ratio is the median of the ratios of adjacent measurements, so it holds on a shared, noisy
machine; the medians of each side are quoted too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import adambench  # noqa: E402
from adambench import kernels as K  # noqa: E402

SPEC = "adam(lr=0.001)"


SHORT = 2  # steps of the short run whose time is subtracted (the once-per-run costs)


def run_seconds(n: int, steps: int) -> float:
    r = adambench.run("rosenbrock_nd", [SPEC], dim=n, steps=steps, threads=2)
    assert r.runs[0].status == "max_steps", r.runs[0].status
    return r.timings["run_s"]


def run_timer(n: int, steps: int) -> Callable[[], float]:
    """The time of one more step: a run of ``steps`` less one of SHORT steps, per step (what a
    run costs once, whatever its steps, cancels: the first touch of the arrays, the exact loss
    and gradient at the end)."""

    def timer() -> float:
        return (run_seconds(n, steps) - run_seconds(n, SHORT)) / (steps - SHORT)

    return timer


def adam_timer(n: int) -> Callable[[], float]:
    rng = np.random.default_rng(0)
    p, g = rng.standard_normal(n), rng.standard_normal(n)
    state = np.zeros(3 * n + 2)
    hp = np.array([0.001, 0.9, 0.999, 1e-8, 0.0, 0.0, 1.0])  # lr, betas, eps, wd, ams, bc
    K.adam_init(p, hp, state)
    K.adam_step_par(p, g, state, 1, hp)  # compile
    t = [1]

    def timer() -> float:
        t[0] += 1
        t0 = time.perf_counter()
        K.adam_step_par(p, g, state, t[0], hp)
        return time.perf_counter() - t0

    return timer


def jax_timers(n: int) -> dict[str, Callable[[], float]]:
    """The JAX + optax steps, or none when jax is not installed."""
    try:
        import jax
        import jax.numpy as jnp
        import optax
    except ImportError:
        return {}
    jax.config.update("jax_enable_x64", True)

    def loss(x):
        return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    def loss_and_hand_gradient(x):
        a, b = x[:-1], x[1:]
        r = b - a * a
        f = jnp.sum(100.0 * r * r + (1.0 - a) ** 2)
        g = jnp.zeros_like(x).at[:-1].set(-400.0 * a * r - 2.0 * (1.0 - a))
        return f, g.at[1:].add(200.0 * r)

    opt = optax.adam(0.001)

    def make(value_and_grad):
        @jax.jit
        def step(x, state):
            f, g = value_and_grad(x)
            updates, state = opt.update(g, state, x)
            return optax.apply_updates(x, updates), state, f

        x = jnp.asarray(np.tile([-1.2, 1.0], n // 2 + 1)[:n])
        box = [x, opt.init(x)]
        step(*box)[0].block_until_ready()  # compile

        def timer() -> float:
            t0 = time.perf_counter()
            x, state, f = step(*box)
            f.block_until_ready()
            box[:] = [x, state]
            return time.perf_counter() - t0

        return timer

    return {
        "jax value_and_grad": make(jax.value_and_grad(loss)),
        "jax hand gradient": make(loss_and_hand_gradient),
    }


def pairs(a: Callable[[], float], b: Callable[[], float], n: int) -> tuple[float, float, float]:
    """A and B alternated n times: the median of each and of the ratios A / B."""
    ta, tb, ratios = [], [], []
    for _ in range(n):
        ta.append(a())
        tb.append(b())
        ratios.append(ta[-1] / tb[-1])
    return statistics.median(ta), statistics.median(tb), statistics.median(ratios)


# The high-water mark of this process's own memory (VmHWM): ``ru_maxrss`` of a child counts
# the memory of the parent it was forked from (this script's, with JAX's arrays: 2.1 GB where
# the run itself peaks under 1 GB).
_PEAK = """
import resource, sys
import adambench
r = adambench.run("rosenbrock_nd", ["{spec}"], dim={n}, steps=3, threads=2)
try:
    with open("/proc/self/status") as f:
        kb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(kb * 1024)
"""


def peak_rss(n: int) -> int:
    """The peak resident set (bytes) of a fresh process running 3 steps at N = n."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = _PEAK.format(spec=SPEC, n=n)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    return int(out.stdout.split()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10_000_000, help="parameters (default 1e7)")
    ap.add_argument("--pairs", type=int, default=5, help="A/B pairs per comparison")
    ap.add_argument("--steps", type=int, default=20, help="steps of each engine run")
    ap.add_argument("--out", help="also write the Markdown table to this file")
    args = ap.parse_args()
    import numba

    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    run = run_timer(args.n, args.steps)
    run_seconds(args.n, 2)  # compile (and cache) first
    lines = [
        f"| rosenbrock_nd, N = {args.n:.0e}, Adam, 2 threads | run | other | run / other |",
        "|---|---|---|---|",
    ]
    others = {"adam step (adam_step_par)": adam_timer(args.n), **jax_timers(args.n)}
    for name, other in others.items():
        a, b, ratio = pairs(run, other, args.pairs)
        lines.append(f"| {name} | {a * 1e3:,.1f} ms | {b * 1e3:,.1f} ms | {ratio:.2f}x |")
        print(lines[-1], flush=True)
    once = [run_seconds(args.n, SHORT) - SHORT * run() for _ in range(3)]
    lines.append(
        f"| once per run (run_s of {SHORT} steps less 2 steps) | "
        f"{statistics.median(once) * 1e3:,.0f} ms | | |"
    )
    print(lines[-1], flush=True)
    peak = min(peak_rss(args.n), peak_rss(args.n))  # a process that compiles peaks higher
    # the run's arrays as engine.memory counts them: x, gradient, start and 4 more per
    # coordinate, and Adam's m, v and v_max
    arrays = 8 * args.n * (4 + 3)
    peak_gb, arrays_gb = peak / 1e9, arrays / 1e9
    lines.append(f"| peak memory (max RSS) | {peak_gb:.2f} GB | run arrays {arrays_gb:.2f} GB | |")
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
