"""float32 against float64 at N = 1e7: rosenbrock_nd with Adam (the wide loop), and its parts.

From the repository root (a benchmark, not a test; about 3 minutes on 2 cores, 2.5 GB)::

    python benchmarks/dtype_bench.py            # --pairs 5 --steps 20 by default
    python benchmarks/dtype_bench.py --out dtype.md

Three comparisons, each alternating float64 and float32 (A B A B ...) and quoting the medians of
each and the median of the ratios measured pair by pair, so the ratio holds on a shared, noisy
machine:

- ``run``: ``adambench.run("rosenbrock_nd", ["adam(lr=0.001)"], dim=10**7, dtype=...)``, the
  engine's time of one more step (``timings["run_s"]``, compiled loop only, compile and
  allocation excluded, of a run of ``--steps`` less that of a run of 2 steps, per step).
  The target of issue 15 is float32 at least 1.6x faster.
- ``gradient``: the problem's compiled loss and gradient on one point (``p_fg_par``: the
  gathered stencil on 2 threads, as the wide loop calls it).
- ``adam step``: ``kernels.adam_step_par`` (2 threads) on arrays of the dtype.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import adambench  # noqa: E402
from adambench import kernels as K  # noqa: E402
from adambench.codegen.modules import load_module  # noqa: E402
from adambench.optimizers.registry import get  # noqa: E402
from adambench.problems import load_problem  # noqa: E402

N = 10_000_000
DTYPES = ("float64", "float32")


def pairs(timers: dict[str, Callable[[], float]], n: int) -> tuple[dict[str, float], float]:
    """Alternate the two timers n times: the median of each and of the ratios float64/float32."""
    times: dict[str, list[float]] = {dt: [] for dt in DTYPES}
    ratios = []
    for _ in range(n):
        for dt in DTYPES:
            times[dt].append(timers[dt]())
        ratios.append(times["float64"][-1] / times["float32"][-1])
    return {dt: statistics.median(v) for dt, v in times.items()}, statistics.median(ratios)


def run_seconds(dtype: str, steps: int) -> float:
    r = adambench.run(
        "rosenbrock_nd", ["adam(lr=0.001)"], dim=N, steps=steps, dtype=dtype, threads=2
    )
    assert r.runs[0].status == "max_steps", r.runs[0].status
    return r.timings["run_s"]


def run_timer(dtype: str, steps: int) -> Callable[[], float]:
    """One more step: a run of ``steps`` less a run of 2, per step (once-per-run costs cancel)."""

    def timer() -> float:
        return (run_seconds(dtype, steps) - run_seconds(dtype, 2)) / (steps - 2)

    return timer


def gradient_timer(dtype: str) -> Callable[[], float]:
    prob = load_problem("rosenbrock_nd", dim=N)
    module, _ = load_module(prob, get("adam").kernel, dtype)
    x = prob.start.astype(dtype)
    g = np.empty_like(x)
    pd, data = prob.problem_params(), prob.data_array()
    module.p_fg_par(x, g, pd, data)  # compile

    def timer() -> float:
        t0 = time.perf_counter()
        module.p_fg_par(x, g, pd, data)
        return time.perf_counter() - t0

    return timer


def adam_timer(dtype: str) -> Callable[[], float]:
    rng = np.random.default_rng(0)
    p = rng.standard_normal(N).astype(dtype)
    g = rng.standard_normal(N).astype(dtype)
    state = np.zeros(3 * N + 2, dtype)
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


def row(name: str, medians: dict[str, float], ratio: float) -> str:
    ms = {dt: f"{medians[dt] * 1e3:,.1f} ms" for dt in DTYPES}
    return f"| {name} | {ms['float64']} | {ms['float32']} | {ratio:.2f}x |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=5, help="float64/float32 pairs per comparison")
    ap.add_argument("--steps", type=int, default=20, help="steps of each engine run")
    ap.add_argument("--out", help="also write the Markdown table to this file")
    args = ap.parse_args()
    import numba

    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    for dt in DTYPES:  # compile (and cache) both modules first
        run_seconds(dt, 2)  # compile (and cache) first
    lines = [
        "| N = 1e7, rosenbrock_nd, Adam | float64 | float32 | float64 / float32 |",
        "|---|---|---|---|",
    ]
    parts = {
        "run (engine, one more step)": {dt: run_timer(dt, args.steps) for dt in DTYPES},
        "gradient (p_fg_par, 2 threads)": {dt: gradient_timer(dt) for dt in DTYPES},
        "adam step (adam_step_par, 2 threads)": {dt: adam_timer(dt) for dt in DTYPES},
    }
    for name, timers in parts.items():
        medians, ratio = pairs(timers, args.pairs)
        lines.append(row(name, medians, ratio))
        print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
