"""Start-up of the command line: each command as a whole process against its bare-import floor.

From the repository root (a benchmark, not a test; ~2 minutes)::

    python benchmarks/startup_bench.py                  # 15 repetitions of each pair
    python benchmarks/startup_bench.py --reps 25
    python benchmarks/startup_bench.py --before ../main # also the same commands from another
                                                        # checkout, alternated with this one
    python benchmarks/startup_bench.py --worker         # also each command sent to a warm
                                                        # resident worker (ADAMBENCH_WORKER=1)

Floors: a run needs ``python -c "import numpy, numba, typer, rich, yaml"``; ``list``, ``show``,
``--help`` and ``cache info`` need no numba, their floor is ``python -c "import typer, rich"``.
Targets (issue 16): run <= 1.6x its floor, the others <= 1.3x. Each command runs right after its
floor (A B A B ...), and the ratio quoted is the median of the ratios of those pairs, so it holds
on a shared, noisy machine. The cache is warm (the run and ``show adam`` are run once first);
the cold run (empty ADAMBENCH_CACHE_DIR and NUMBA_CACHE_DIR: every kernel compiled) is timed
apart, and with ``--before`` against the other checkout too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
RUN_FLOOR = [PY, "-c", "import numpy, numba, typer, rich, yaml"]
CLI_FLOOR = [PY, "-c", "import typer, rich"]
#: command (the README example first), its floor, the target ratio
COMMANDS = [
    (["run", "beale", "--optimizers", "adam,rmsprop"], RUN_FLOOR, 1.6),
    (["list"], CLI_FLOOR, 1.3),
    (["show", "adam"], CLI_FLOOR, 1.3),
    (["--help"], CLI_FLOOR, 1.3),
    (["cache", "info"], CLI_FLOOR, 1.3),
]


def env_for(tree: Path, **extra: str) -> dict[str, str]:
    """The environment that runs adambench from ``tree`` (the venv may point elsewhere)."""
    return {**os.environ, "PYTHONPATH": str(tree), **extra}


def wall(cmd: list[str], env: dict[str, str]) -> float:
    """Seconds to run ``cmd`` from the tree it runs (``python -m`` puts the working directory
    first on sys.path)."""
    cwd = env["PYTHONPATH"]
    t = time.perf_counter()
    subprocess.run(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd, check=True
    )
    return time.perf_counter() - t


def adambench(args: list[str]) -> list[str]:
    return [PY, "-m", "adambench", *args]


#: A variant measured: the tree, a label, and the extra environment (the worker's switch and
#: its private socket folder, or nothing for a plain process).
Variant = tuple[Path, str, dict[str, str]]


def variants(trees: list[Path], worker: bool) -> list[Variant]:
    found: list[Variant] = []
    for tree in trees:
        found.append((tree, tree.name, {}))
        if worker:
            runtime = tempfile.mkdtemp(prefix="adambench-worker-")
            extra = {"ADAMBENCH_WORKER": "1", "XDG_RUNTIME_DIR": runtime}
            found.append((tree, f"{tree.name} + worker", extra))
    return found


def warm(found: list[Variant]) -> None:
    """Every command once (kernels cached); a worker started, then warmed by a second pass."""
    for _ in range(2):
        for tree, _, extra in found:
            for args, _, _ in COMMANDS:
                wall(adambench(args), env_for(tree, **extra))
        time.sleep(3.0 if any(extra for _, _, extra in found) else 0.0)


def stop_workers(found: list[Variant]) -> None:
    for tree, _, extra in found:
        if extra:
            wall(adambench(["worker", "stop"]), env_for(tree, **extra))


def measure(found: list[Variant], reps: int) -> dict[tuple[str, str], dict[str, list[float]]]:
    """For each variant and command: its times, its floor's times and the pair ratios."""
    cells: dict[tuple[str, str], dict[str, list[float]]] = {}
    for _ in range(reps):
        for tree, label, extra in found:
            for args, floor, _ in COMMANDS:
                env = env_for(tree, **extra)
                a, b = wall(adambench(args), env), wall(floor, env)
                cell = cells.setdefault((label, " ".join(args)), {"t": [], "f": [], "r": []})
                cell["t"].append(a)
                cell["f"].append(b)
                cell["r"].append(a / b)
    return cells


def cold(trees: list[Path], reps: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {str(t): [] for t in trees}
    for _ in range(reps):
        for tree in trees:
            with tempfile.TemporaryDirectory() as d:
                env = env_for(tree, ADAMBENCH_CACHE_DIR=d, NUMBA_CACHE_DIR=d)
                times[str(tree)].append(wall(adambench(COMMANDS[0][0]), env))
    return times


def report(
    cells: dict, cold_times: dict[str, list[float]], trees: list[Path], found: list[Variant]
) -> str:
    med = statistics.median
    lines = [
        "| tree | command | median | floor | ratio (median of pairs) | target |",
        "|---|---|---|---|---|---|",
    ]
    for _, label, _ in found:
        for args, floor, target in COMMANDS:
            cell = cells[(label, " ".join(args))]
            lines.append(
                f"| {label} | adambench {' '.join(args)} | {med(cell['t']):.3f} s | "
                f"{med(cell['f']):.3f} s ({'numba' if floor is RUN_FLOOR else 'typer'}) | "
                f"{med(cell['r']):.2f}x | {target}x |"
            )
    for tree in trees:
        times = cold_times[str(tree)]
        if not times:
            continue
        lines.append(
            f"| {tree.name} | adambench run (cold: empty caches) | {med(times):.2f} s | | | |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=15, help="repetitions of each pair")
    parser.add_argument("--cold-reps", type=int, default=3, help="cold runs per tree")
    parser.add_argument("--before", type=Path, help="another checkout, measured alternately")
    parser.add_argument("--worker", action="store_true", help="also through a resident worker")
    a = parser.parse_args()
    trees = [ROOT] + ([a.before.resolve()] if a.before else [])
    found = variants(trees, a.worker)
    warm(found)
    try:
        cells = measure(found, a.reps)
    finally:
        stop_workers(found)
    print(report(cells, cold(trees, a.cold_reps), trees, found))


if __name__ == "__main__":
    main()
