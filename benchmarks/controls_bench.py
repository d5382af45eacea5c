"""The per-step cost of a learning-rate schedule and of gradient clipping (a benchmark, not a
test): Adam on Beale in the fused loop (one run, values in registers), 10,000 steps, the loss
recorded every step, against the same run without them.

    python benchmarks/controls_bench.py            # --quick for fewer repetitions

The variants alternate in one run (plain, cosine + warm-up, clip_norm, plain, ...) and the
table quotes the median time per step of each and the median of the ratios measured pair by
pair, so the ratios hold on a shared, noisy machine. The issue's target: under 10 % for both.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

STEPS = 10_000
VARIANTS = {
    "plain": "adam(lr=0.01)",
    "cosine + warm-up": "adam(lr=0.01, schedule=cosine, warmup=1000)",
    "clip_norm": "adam(lr=0.01, clip_norm=1)",
    "clip_value": "adam(lr=0.01, clip_value=1)",
    "all three": "adam(lr=0.01, schedule=cosine, warmup=1000, clip_norm=1, clip_value=1)",
}


def fused_timer(spec: str) -> Callable[[], float]:
    """ns per step of the fused runner for one run of ``spec``, in steady state (the same
    arrays restored before each call)."""
    from adambench.codegen.loops import RUNNER_ARGS
    from adambench.engine import jobs as engine

    job = engine.prepare("beale", [spec], steps=STEPS, every=1, record_x=False, layout="fused")
    b = job.batches[0]
    a, prob = b.arrays, job.problem
    given = {
        **a, "pd": b.pd, "data": b.data, "t_begin": 0, "t_end": STEPS, "finish": False,
        "total": STEPS, "every": 1, "record_x": False, "target": float(prob.target),
        "bound": 1e6 * prob.scale, "stall_step": STEPS - STEPS // 10, "stop": False,
        "decay": 0.0,
    }  # fmt: skip
    args = tuple(given[name] for name in RUNNER_ARGS)
    pristine = {k: v.copy() for k, v in a.items()}

    def timer() -> float:
        for k, v in pristine.items():
            np.copyto(a[k], v)
        t = time.perf_counter()
        b.advance(*args)
        return (time.perf_counter() - t) / STEPS * 1e9

    timer()  # compile or load
    return timer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    reps = 15 if parser.parse_args().quick else 61
    timers = {name: fused_timer(spec) for name, spec in VARIANTS.items()}
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(reps):
        for name, timer in timers.items():
            times[name].append(timer())
    plain = times["plain"]
    print(f"Adam on Beale, fused loop, {STEPS:,} steps, median of {reps} alternated repetitions\n")
    print("| variant | spec | ns/step | per-step cost vs plain |")
    print("|---|---|---|---|")
    for name, spec in VARIANTS.items():
        ratio = statistics.median(t / p for t, p in zip(times[name], plain, strict=True))
        cost = "—" if name == "plain" else f"{(ratio - 1) * 100:+.1f} %"
        print(f"| {name} | `{spec}` | {statistics.median(times[name]):.1f} | {cost} |")


if __name__ == "__main__":
    main()
