"""Dask cluster vs the local threaded path: a 10,000-run sweep, and the overhead per chunk.

Run from the repository root (a benchmark, not a test; about a minute on 2 cores; needs
``pip install -e ".[dask]"``)::

    python benchmarks/cluster_bench.py               # 3 repetitions
    python benchmarks/cluster_bench.py --reps 5 --workers 2

The sweep: Adam on Beale, lr = 1e-4..1 (100 log-spaced values) x beta1 = 0..0.99 (100 values),
one seed, 2,000 steps (10,000 runs, 20 million steps), compilation excluded (a warm-up first).
Timed end to end (``adambench.sweep``: validation, the runs, the Result and the ranking), the
three ways alternating in each repetition so they see the same machine load; medians reported:

- ``local threaded``: the compiled pass on ``--threads`` threads in this process;
- ``LocalCluster, cold``: ``scheduler="local"``, as ``--scheduler local`` does it: start a
  cluster of ``--workers`` processes, import adambench and load the kernels in each, run, stop;
- ``LocalCluster, warm``: the same cluster kept running between sweeps (a ``Client`` passed),
  its workers already warm: what a long-lived cluster costs per sweep.

The overhead per chunk: on the warm cluster, sweeps of ``--chunks`` one-step runs, one run per
chunk (``chunk_runs=1``), so the work is nil and the time is the round trip of a chunk (client,
scheduler, worker: rebuilding the job from the task's data, the engine call, returning the
arrays). Reported as seconds per chunk (wall / chunks, with every worker busy) and per chunk
per worker (wall x workers / chunks).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import time

import adambench
from adambench.backends.dask import Cluster

PROBLEM = "beale"
GRID = ["lr=1e-4:1:log100", "beta1=0:0.99:100"]
STEPS = 2000


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    import distributed

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--chunks", type=int, default=200)
    args = ap.parse_args()

    def sweep(**kw):
        return adambench.sweep(PROBLEM, ["adam"], GRID, steps=STEPS, **kw)

    t0 = time.perf_counter()
    adambench.sweep(PROBLEM, ["adam"], ["lr=0.1,0.2"], steps=10)  # compile or load
    print(f"warm-up (compile or cache load): {time.perf_counter() - t0:.2f} s")

    local = distributed.LocalCluster(
        n_workers=args.workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address="127.0.0.1:0",
        silence_logs=logging.ERROR,
    )
    client = distributed.Client(local, set_as_default=False)
    # Warm the workers: import adambench and load the kernels once in each.
    adambench.sweep(PROBLEM, ["adam"], ["lr=1e-3:1:log40"], steps=10, scheduler=client)

    runs = 100 * 100
    times: dict[str, list[float]] = {"local threaded": [], "LocalCluster, cold": [],
                                     "LocalCluster, warm": []}  # fmt: skip
    chunk: list[float] = []
    tiny_grid = [f"lr=1e-4:1:log{args.chunks}"]
    try:
        for _ in range(args.reps):
            times["local threaded"].append(timed(lambda: sweep(threads=args.threads)))
            cold = Cluster("local", workers=args.workers)
            times["LocalCluster, cold"].append(timed(lambda c=cold: sweep(scheduler=c)))
            times["LocalCluster, warm"].append(timed(lambda: sweep(scheduler=client)))
            tiny = Cluster(client, chunk_runs=1)
            chunk.append(timed(lambda t=tiny: adambench.sweep(PROBLEM, ["adam"], tiny_grid,
                                                              steps=1, scheduler=t)))  # fmt: skip
    finally:
        client.close()
        local.close()

    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(
        f"{runs:,} Adam runs x {STEPS} steps on {PROBLEM} ({runs * STEPS / 1e6:.0f} million "
        f"steps); medians (and minima) of {args.reps} repetitions; {os.cpu_count()} cores "
        f"visible, load average {load}; {args.workers} workers, local path on "
        f"{args.threads} threads"
    )
    print(f"{'':>20}  {'seconds':>15}  {'runs/s':>9}  {'vs local':>8}")
    base = statistics.median(times["local threaded"])
    for name, values in times.items():
        med = statistics.median(values)
        print(
            f"{name:>20}  {med:7.2f} ({min(values):5.2f})  {runs / med:9,.0f}  {med / base:7.1f}x"
        )
    med = statistics.median(chunk)
    print(
        f"overhead per chunk ({args.chunks} chunks of one 1-step run, warm cluster): "
        f"{1e3 * med / args.chunks:.1f} ms per chunk, "
        f"{1e3 * med * args.workers / args.chunks:.1f} ms per chunk per worker "
        f"(min {1e3 * min(chunk) / args.chunks:.1f} ms per chunk)"
    )


if __name__ == "__main__":
    main()
