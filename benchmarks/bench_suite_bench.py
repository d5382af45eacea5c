"""What `adambench bench` costs: the wall time of a suite, cold (empty compile cache) and warm,
the cold compile time apart, and what running every problem in one pass saves.

From the repository root (a benchmark, not a test; several minutes on 2 cores)::

    python benchmarks/bench_suite_bench.py    # classic, adam/adamw/rmsprop/sgd, 20 seeds
    python benchmarks/bench_suite_bench.py --suite card --repeats 3 --compare 2

The cold run is the command in a fresh process with a fresh ``ADAMBENCH_CACHE_DIR`` (every
kernel compiled); the warm runs reuse that cache, each in a fresh process (the wall time a user
sees, start-up included). It quotes the cold time and, from the result's timings, how much of
it was compiling; the median warm time, the runs made (tuning and reported) and the warm runs
per second; and checks every warm ``bench`` block equal to the cold one (the same seeds give
the same numbers). With ``--compare N`` it also times, in this process and warm, the bench as
it runs (every problem's tuning runs in one pass, then every reported run) against one problem
at a time (a one-problem bench per problem, as benches ran before), N times each alternating,
and checks both give the same numbers.
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
    return time.perf_counter() - t0, json.loads(out.read_text())


def compare_passes(args: argparse.Namespace, cache: str) -> None:
    """One pass over the suite against one problem at a time, A B A B, in this process."""
    os.environ["ADAMBENCH_CACHE_DIR"] = cache
    sys.path.insert(0, str(ROOT))
    from dataclasses import replace

    from adambench.sweeps.bench import run_bench
    from adambench.sweeps.bench_suite import load_suite

    suite = load_suite(args.suite)
    opts = args.optimizers.split(",")
    kw = dict(seeds=args.seeds, tune="lr")

    def together() -> list:
        return [e.to_dict() for e in run_bench(suite, opts, **kw).entries]

    def one_at_a_time() -> list:
        return [
            run_bench(replace(suite, problems=(p,)), opts, **kw).entries[0].to_dict()
            for p in suite.problems
        ]

    one_at_a_time()  # loads every kernel from the disk cache into this process, untimed
    times: dict[str, list[float]] = {"one pass": [], "per problem": []}
    results = {}
    for _ in range(args.compare):
        for name, fn in (("one pass", together), ("per problem", one_at_a_time)):
            t0 = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - t0)
    assert results["one pass"] == results["per problem"], "the two paths gave other numbers"
    a, b = (statistics.median(times[k]) for k in ("one pass", "per problem"))
    show = {k: ", ".join(f"{t:.1f}" for t in v) for k, v in times.items()}
    print(f"warm, in process: one pass median {a:.1f} s ({show['one pass']}); one problem at "
          f"a time {b:.1f} s ({show['per problem']}); ratio {b / a:.2f}x")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="classic")
    parser.add_argument("--optimizers", default="adam,adamw,rmsprop,sgd")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compare", type=int, default=0, help="A/B rounds (0: none)")
    args = parser.parse_args()
    print(f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        out, cache = Path(tmp) / "bench.json", str(Path(tmp) / "cache")
        cold, first = timed_bench(args, cache, out)
        warm = []
        for _ in range(args.repeats):
            seconds, again = timed_bench(args, cache, out)
            assert again["bench"] == first["bench"], "a warm bench gave other numbers"
            warm.append(seconds)
        v = first["volatile"]
        bench = first["bench"]
        print(f"bench {args.suite}: {len(bench['problems'])} problems, {args.optimizers}, "
              f"{args.seeds} seeds, lr tuned over 9 values: {v['runs']:,} runs")  # fmt: skip
        t = v["timings"]
        print(f"cold {cold:.1f} s wall: {t['compile_s']:.1f} s compiling {v['compiled']} kernels, "
              f"{t['run_s']:.1f} s the rest of the bench")  # fmt: skip
        median = statistics.median(warm)
        print(
            f"warm median {median:.1f} s wall of {args.repeats} "
            f"({', '.join(f'{w:.1f}' for w in warm)}); {v['runs'] / median:,.0f} runs/s warm"
        )
        if args.compare:
            compare_passes(args, cache)
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
