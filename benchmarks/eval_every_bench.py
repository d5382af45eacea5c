"""What measuring the full training loss costs a data problem: ``eval_every`` 1 against K.

From the repository root (a benchmark, not a test; about a minute on 2 cores)::

    python benchmarks/eval_every_bench.py              # digits_softmax, K = 10, 5 pairs
    python benchmarks/eval_every_bench.py --problem breast_cancer_logistic --every 25
    python benchmarks/eval_every_bench.py --problem bow_logistic --base 2000 --every 500

``--base`` (default 1) is the other K: ``--base STEPS`` measures only at the start and the end,
so the ratio is what evaluating every K steps costs (the training loss and, with held-out rows,
the test loss and accuracy).

Each pair runs ``adambench.run(PROBLEM, ["adam(lr=0.01)"], steps=STEPS, threads=1)`` once
measuring the loss at every step and once every K steps (A B A B ...), and quotes the engine's
time of the compiled loop (``timings["run_s"]``, compile excluded): the medians of each and the
median of the ratios pair by pair, so the ratio holds on a shared, noisy machine. The runs take
the same steps (the final loss is checked equal), only what is measured differs.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import adambench  # noqa: E402
from adambench.problems import load_problem  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", default="digits_softmax")
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--base", type=int, default=1, help="the K to compare with")
    args = parser.parse_args()
    base = load_problem(args.problem)
    variants = {
        k: dataclasses.replace(base, model={**base.model, "eval_every": k})
        for k in (args.base, args.every)
    }
    for problem in variants.values():  # compile (and warm) once
        adambench.run(problem, ["adam(lr=0.01)"], steps=5, threads=1)
    times: dict[int, list[float]] = {k: [] for k in variants}
    finals = set()
    for _ in range(args.pairs):
        for k, problem in variants.items():
            result = adambench.run(problem, ["adam(lr=0.01)"], steps=args.steps, threads=1)
            times[k].append(result.timings["run_s"])
            finals.add(result.runs[0].final_loss)
    assert len(finals) == 1, f"the runs differ: {finals}"
    ratios = [a / b for a, b in zip(times[args.base], times[args.every], strict=True)]
    print(f"{args.problem}: {args.steps} steps of adam(lr=0.01), {args.pairs} pairs")
    for k, ts in times.items():
        print(f"  eval_every {k:>4}: median {statistics.median(ts):.3f} s")
    what = f"every {args.base}" if args.base > 1 else "every step"
    print(f"  ratio ({what} / every {args.every}): median {statistics.median(ratios):.3f}x")


if __name__ == "__main__":
    main()
