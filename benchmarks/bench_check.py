"""How long a 50-case `adambench check` suite takes: cold (empty cache), then warm.

Run from the repository root:

    python benchmarks/bench_check.py            # 3 warm repeats after one cold run
    python benchmarks/bench_check.py --repeats 5 --keep-cache /tmp/abcache-bench

Each measurement is a whole `python -m adambench check SUITE --json` process; the script prints
the process wall time and the report's own timings (prepare, compile or load, run). The cold run
uses an empty cache directory, so it includes generating and compiling every (problem, optimizer)
pair of the suite once; warm runs load them from the disk cache. Not a test: timings depend on the
machine and its load, so compare medians taken side by side.
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

# 5 problems x 10 optimizer configurations = 50 cases over 3 kernel families (adam, rmsprop,
# sgd/momentum): 15 (problem, optimizer) pairs to compile on a cold cache.
PROBLEMS = {
    "beale": 3,
    "rosenbrock": 3,
    "long_valley": 3,
    "saddle_point": 3,
    "noisy_logreg": 5,  # stochastic: more seeds
}
CONFIGS = [
    "adam(lr=0.1)",
    "adam(lr=0.03)",
    "adam(lr=0.01)",
    "adam(lr=0.003)",
    "adam(lr=0.001)",
    "rmsprop(lr=0.03)",
    "rmsprop(lr=0.01)",
    "rmsprop(lr=0.003)",
    "momentum(lr=0.003)",
    "momentum(lr=0.001)",
]


def suite_text() -> str:
    lines = ["name: bench50", "cases:"]
    for problem, seeds in PROBLEMS.items():
        for spec in CONFIGS:
            lines += [
                f"  - problem: {problem}",
                f"    optimizer: '{spec}'",
                f"    seeds: {seeds}",
                "    start: random",
                "    expect: {status: [reached_target, max_steps, stalled, diverged]}",
            ]
    return "\n".join(lines) + "\n"


def measure(suite: Path, cache: Path) -> dict[str, float]:
    env = {**os.environ, "ADAMBENCH_CACHE_DIR": str(cache), "NO_COLOR": "1"}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "adambench", "check", str(suite), "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(proc.stderr)
    report = json.loads(proc.stdout)
    t = report["volatile"]["timings"]
    return {
        "wall_s": wall,
        **t,
        "cases": report["summary"]["cases"],
        "runs": sum(c["metrics"]["runs"] for c in report["cases"]),
        "compiled": len(report["volatile"]["compiled"]),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--keep-cache", type=Path, default=None, help="use (and keep) this cache")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        suite = Path(tmp) / "bench50.yaml"
        suite.write_text(suite_text(), encoding="utf-8")
        cache = args.keep_cache or Path(tmp) / "cache"
        cold = measure(suite, cache)
        label = "cold" if cold["compiled"] else "first (cache was warm)"
        print(
            f"{label}: {cold['cases']} cases, {cold['runs']} runs, "
            f"{cold['compiled']} pairs compiled; "
            f"process {cold['wall_s']:.2f} s, compile {cold['compile_s']:.2f} s, "
            f"run {cold['run_s']:.3f} s"
        )
        warm = [measure(suite, cache) for _ in range(args.repeats)]
        for key in ("wall_s", "prepare_s", "compile_s", "run_s", "total_s"):
            values = [w[key] for w in warm]
            print(
                f"warm {key:>9}: median {statistics.median(values):.3f} s "
                f"(min {min(values):.3f}, max {max(values):.3f}, n={len(values)})"
            )
        assert all(w["compiled"] == 0 for w in warm), "warm runs compiled something"


if __name__ == "__main__":
    main()
