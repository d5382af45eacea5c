"""Sweep throughput: 1,000 Adam configurations x 2,000 steps on Beale, serial vs parallel.

Run from the repository root (a benchmark, not a test; it takes about 10 s)::

    python benchmarks/sweep_bench.py            # 5 repetitions, threads 1 and 2
    python benchmarks/sweep_bench.py --reps 9 --threads 1 2 4

The grid is lr = 1e-3..1 (40 log-spaced values) x beta1 = 0..0.99 (25 values), one seed, from
Beale's default start. Compilation is excluded (one warm-up sweep first). Serial and parallel
repetitions alternate, so both see the same machine load, and medians are reported:

- ``compute``: :func:`adambench.engine.jobs.execute` alone, the compiled loop over every run;
- ``end to end``: :func:`adambench.sweeps.sweep` (grid validation, 1,000 resolved configurations,
  arrays, the compiled pass, the Result and the per-configuration aggregation).

runs/s counts configurations x seeds; steps/s counts the optimizer steps actually taken
(a diverged run stops early).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from adambench import kernels as K
from adambench.engine import jobs as engine
from adambench.sweeps.execution import sweep
from adambench.sweeps.plan import plan

PROBLEM = "beale"
GRID = ["lr=1e-3:1:log40", "beta1=0:0.99:25"]
STEPS = 2000


def compute_once(threads: int) -> tuple[float, int, int]:
    """Seconds of execute() alone, runs, and steps taken."""
    p = plan(PROBLEM, ["adam"], GRID)
    job = engine.prepare(p.problem, p.configs, steps=STEPS, every=STEPS, record_x=False)
    engine.execute([job], threads=threads)  # compiled code is cached: no compile here
    steps = sum(int(b.arrays["IM"][:, K.I_STEPS].sum()) for b in job.batches)
    return job.timings["run_s"], len(p.configs), steps


def end_to_end_once(threads: int) -> float:
    t0 = time.perf_counter()
    sw = sweep(PROBLEM, ["adam"], GRID, steps=STEPS, threads=threads)
    sw.ranked()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    t0 = time.perf_counter()
    sweep(PROBLEM, ["adam"], GRID, steps=10)  # warm-up: compile or load from the disk cache
    print(f"warm-up (compile or cache load): {time.perf_counter() - t0:.2f} s")
    compute: dict[int, list[float]] = {n: [] for n in args.threads}
    e2e: dict[int, list[float]] = {n: [] for n in args.threads}
    runs = steps = 0
    for _ in range(args.reps):
        for n in args.threads:  # interleaved: every thread count sees the same load
            s, runs, steps = compute_once(n)
            compute[n].append(s)
            e2e[n].append(end_to_end_once(n))
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(
        f"{runs} Adam configurations x {STEPS} steps on {PROBLEM} ({steps:,} steps taken); "
        f"medians (and minima) of {args.reps} repetitions; {os.cpu_count()} cores visible, "
        f"load average {load}"
    )
    print(
        f"{'threads':>7}  {'compute s':>17}  {'runs/s':>9}  {'steps/s':>9}  {'ns/step':>7}  "
        f"{'end-to-end s':>12}"
    )
    base = statistics.median(compute[args.threads[0]])
    for n in args.threads:
        c, c_min = statistics.median(compute[n]), min(compute[n])
        e = statistics.median(e2e[n])
        print(
            f"{n:>7}  {c:>8.4f} ({c_min:.4f})  {runs / c:>9.3g}  {steps / c:>9.3g}  "
            f"{1e9 * c / steps:>7.1f}  {e:>12.4f}   (compute x{base / c:.2f} vs "
            f"{args.threads[0]} thread)"
        )


if __name__ == "__main__":
    main()
