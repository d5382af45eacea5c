"""What `adambench bench` costs: the wall time of a suite, cold (empty compile cache) and warm.

From the repository root (a benchmark, not a test; a few minutes on 2 cores)::

    python benchmarks/bench_suite_bench.py    # card, adam/adamw/rmsprop/sgd, 20 seeds
    python benchmarks/bench_suite_bench.py --suite classic --repeats 3

The cold run is the command in a fresh process with a fresh ``ADAMBENCH_CACHE_DIR`` (every
kernel compiled); the warm runs reuse that cache, each in a fresh process (the wall time a user
sees, start-up included). It quotes the cold time, the median warm time, the runs made (tuning
and reported) and the warm runs per second, and checks every warm ``bench`` block equal to the
cold one (the same seeds give the same numbers).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed_bench(args: argparse.Namespace, cache: str, out: Path) -> tuple[float, dict]:
    command = [sys.executable, "-m", "adambench", "bench", args.suite, "-O", args.optimizers,
               "--seeds", str(args.seeds), "--tune", "lr", "-q", "-o", str(out)]  # fmt: skip
    env = {**os.environ, "ADAMBENCH_CACHE_DIR": cache, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - t0, json.loads(out.read_text())["bench"]


def runs_of(bench: dict, tune_count: int = 9) -> int:
    """Reported runs, and the tuning runs before them (as many seeds per grid point)."""
    reported = sum(len(o["runs"]) for p in bench["problems"] for o in p["optimizers"])
    return reported * (1 + tune_count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="card")
    parser.add_argument("--optimizers", default="adam,adamw,rmsprop,sgd")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.json"
        cold, first = timed_bench(args, str(Path(tmp) / "cache"), out)
        warm = []
        for _ in range(args.repeats):
            seconds, again = timed_bench(args, str(Path(tmp) / "cache"), out)
            assert again == first, "a warm bench gave other numbers than the cold one"
            warm.append(seconds)
    runs = runs_of(first)
    median = statistics.median(warm)
    print(f"bench {args.suite}: {len(first['problems'])} problems, {args.optimizers}, "
          f"{args.seeds} seeds, lr tuned over 9 values: {runs:,} runs")  # fmt: skip
    print(
        f"cold {cold:.1f} s; warm median {median:.1f} s of {args.repeats} "
        f"({', '.join(f'{w:.1f}' for w in warm)}); {runs / median:,.0f} runs/s warm"
    )


if __name__ == "__main__":
    main()
