"""Wall time of the sweep in benchmarks/mlp_sweep.yaml: 100 configurations x 2,000 steps of the
64-32-10 tanh MLP on the digits at batch 32 (issue 18's target: under a minute on two cores).

From the repository root (a benchmark, not a test)::

    python benchmarks/mlp_sweep_bench.py            # 3 repeats, threads 2

It runs the sweep once to compile (the kernels are then cached on disk), then times
``adambench sweep --config benchmarks/mlp_sweep.yaml`` end to end in a fresh process (start-up,
loading, the 100 runs, the table) ``--repeats`` times, and prints each time, the median and the
load average before and after (the machine may be shared: the figure is only as quiet as it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "benchmarks" / "mlp_sweep.yaml"


def sweep_seconds(threads: int) -> float:
    """Seconds of one ``adambench sweep`` of the config, in a process of its own."""
    command = [sys.executable, "-m", "adambench", "sweep", "--config", str(CONFIG)]
    command += ["--threads", str(threads), "--json"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    began = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    sweep_seconds(args.threads)  # compile once
    before = os.getloadavg()[0]
    times = [sweep_seconds(args.threads) for _ in range(args.repeats)]
    after = os.getloadavg()[0]
    print("digits_mlp sweep, 100 configurations x 2,000 steps, threads", args.threads)
    print("  runs:", ", ".join(f"{t:.1f} s" for t in times))
    print(f"  median {statistics.median(times):.1f} s (target < 60 s)")
    print(f"  load average {before:.2f} before, {after:.2f} after")


if __name__ == "__main__":
    main()
