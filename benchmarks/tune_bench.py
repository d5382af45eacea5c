"""Tuning throughput: a two-axis tune (lr x beta1) of Adam and AdaMax on Beale, 2,000 steps.

Run from the repository root (a benchmark, not a test; it takes a few seconds)::

    python benchmarks/tune_bench.py              # --tune-count 30: 2 x 900 configurations
    python benchmarks/tune_bench.py --count 10 --reps 9

It times :func:`adambench.sweeps.tune` (what ``adambench run beale -O adam,adamax --tune
lr,beta1 --tune-count 30`` does before its comparison): the grid's validation, every resolved
configuration, the one compiled pass over all of them and the choice of each optimizer's best
point. Compilation is excluded (one small tune first); the median (and minimum) of the
repetitions is reported, with the machine's load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from adambench.problems import load_problem
from adambench.sweeps.tuning import tune

OPTIMIZERS = ["adam", "adamax"]
STEPS = 2000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=30, help="values per axis (--tune-count)")
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    prob = load_problem("beale")
    tune(prob, OPTIMIZERS, param="lr,beta1", count=5, steps=10)  # compile or load the cache
    times = []
    configs = 0
    for _ in range(args.reps):
        t0 = time.perf_counter()
        t = tune(prob, OPTIMIZERS, param="lr,beta1", count=args.count, steps=STEPS)
        times.append(time.perf_counter() - t0)
        configs = len(t.sweep.points)
    med = statistics.median(times)
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(
        f"{configs} configurations ({', '.join(OPTIMIZERS)}: lr x beta1 at {args.count} x "
        f"{args.count}) x {STEPS} steps on beale: {med:.3f} s (median of {args.reps}, min "
        f"{min(times):.3f}); {configs / med:,.0f} configurations/s; load average {load}"
    )


if __name__ == "__main__":
    main()
