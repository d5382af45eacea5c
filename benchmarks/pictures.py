"""What pictures cost: wall time of `run` with and without --plot, imports, GIF size.

Run from the repository root with the plot extra installed:

    python benchmarks/pictures.py [--repeat 5]

Each command runs once to warm the kernel cache, then ``--repeat`` times; the medians are
printed side by side (the machine's other load moves both alike). Numbers, not assertions.
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

BEALE = ["run", "beale", "-O", "adam,rmsprop", "-q"]
SEVEN = (
    "adam(lr=0.05),adamax(lr=0.05),sgd(lr=0.01),momentum(lr=0.002),nesterov(lr=0.002),"
    "adagrad(lr=0.5),rmsprop(lr=0.005)"
)


def wall(args: list[str], repeat: int) -> float:
    """Median wall time of ``python -m adambench ARGS`` (after one warm-up run)."""
    cmd = [sys.executable, "-m", "adambench", *args]
    subprocess.run(cmd, check=True, capture_output=True)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def modules_loaded(args: list[str]) -> dict[str, bool]:
    """Which heavy modules a CLI invocation imports (from inside the same process)."""
    code = (
        "import sys\nfrom adambench.cli import app\n"
        "try:\n    app(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "print(','.join(m for m in ('matplotlib', 'PIL', 'sympy') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *args], check=True, capture_output=True, text=True
    )
    loaded = set(filter(None, out.stdout.strip().splitlines()[-1].split(",")))
    return {m: m in loaded for m in ("matplotlib", "PIL", "sympy")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        png, gif = str(Path(tmp) / "b.png"), str(Path(tmp) / "b.gif")
        plain = wall(BEALE, opts.repeat)
        plotted = wall([*BEALE, "--plot", png], opts.repeat)
        print(f"run beale -O adam,rmsprop          median {plain:.2f} s")
        print(
            f"  ... --plot b.png                 median {plotted:.2f} s (+{plotted - plain:.2f} s)"
        )
        print(f"modules without a picture: {modules_loaded(BEALE)}")
        print(f"modules with --plot:       {modules_loaded([*BEALE, '--plot', png])}")
        long_run = ["run", "beale", "-O", SEVEN, "--steps", "10000", "-q"]
        wall(long_run, 1)  # warm
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "adambench", *long_run, "--animate", gif],
            check=True,
            capture_output=True,
        )
        took = time.perf_counter() - t
        no_gif = wall(long_run, 1)
        size = os.path.getsize(gif)
        print(
            f"7 optimizers x 10,000 steps on beale, --animate (defaults): {size / 1e6:.2f} MB, "
            f"{took:.1f} s with the run ({took - no_gif:.1f} s for the GIF)"
        )


if __name__ == "__main__":
    main()
