"""Speed of optimizers that are not built in, side by side with the built-in Adam.

    python benchmarks/own_optimizers.py [--repeats 5]

Prints ns per run-step (the engine's run time, compile excluded, divided by steps x runs) for:
the YAML Adam of sample_configs/optimizers/adam.yaml against the built-in adam (the same
arithmetic, generated instead of hand-written), on a 2-D problem and a 1,000-parameter one; and
torch.optim.Adam stepped from Python (``torch:``) when torch is installed. Medians of
alternating repeats on one thread; run twice and read the second (the first compiles).
"""

from __future__ import annotations

import argparse
import statistics
from importlib.util import find_spec
from pathlib import Path

import adambench

ADAM_YAML = str(Path(__file__).resolve().parent.parent / "sample_configs/optimizers/adam.yaml")


def ns_per_step(problem: str, spec: str, steps: int, seeds: int, **kw) -> float:
    r = adambench.run(problem, [spec], steps=steps, seeds=seeds, threads=1, every=steps, **kw)
    return 1e9 * r.timings["run_s"] / (steps * seeds)


def compare(label: str, problem: str, specs: list[str], steps: int, seeds: int, repeats: int,
            **kw) -> None:  # fmt: skip
    for s in specs:  # warm up: compile or load
        ns_per_step(problem, s, 10, 1, **kw)
    times: dict[str, list[float]] = {s: [] for s in specs}
    for _ in range(repeats):
        for s in specs:
            times[s].append(ns_per_step(problem, s, steps, seeds, **kw))
    base = statistics.median(times[specs[-1]])
    print(f"{label}: {steps} steps x {seeds} seeds, median of {repeats}")
    for s in specs:
        med = statistics.median(times[s])
        print(f"  {s:<55} {med:10.1f} ns/step   ratio {med / base:6.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    adam = "adam(lr=0.01)"
    yaml = f"{ADAM_YAML}(lr=0.01)"
    compare("beale (2-D)", "beale", [yaml, adam], 20_000, 20, args.repeats)
    compare("rosenbrock_nd (1000-D)", "rosenbrock_nd", [yaml, adam], 2_000, 4, args.repeats,
            dim=1000)  # fmt: skip
    if find_spec("torch") is not None:
        compare("beale, torch.optim.Adam stepped from Python", "beale",
                ["torch:torch.optim.Adam(lr=0.01)", adam], 2_000, 2, args.repeats)  # fmt: skip


if __name__ == "__main__":
    main()
