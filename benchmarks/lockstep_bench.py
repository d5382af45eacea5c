"""The vectorised lockstep runner against the one before it and a bare vectorised kernel (issue 16).

Run from the repository root (a benchmark, not a test; about a minute)::

    git worktree add /tmp/before f553e0d          # the code before the vectorised runner
    python benchmarks/lockstep_bench.py --before /tmp/before
    python benchmarks/lockstep_bench.py --before /tmp/before --reps 9 --compile

The work is ``benchmarks/sweep_bench.py``'s: 1,000 Adam configurations (lr = 1e-3..1, 40
log-spaced values, x beta1 = 0..0.99, 25 values) x 2,000 steps on Beale, one seed, every
bookkeeping of a run on (best loss, first step at target, divergence, stall checkpoint); the
time is :func:`adambench.engine.jobs.execute`'s compiled pass (``run_s``), compilation excluded.
Each round measures, one after the other so that all see the same machine load:

- ``new``: this checkout's ``advance_lockstep`` (the step vectorised across runs);
- ``before``: the same sweep run by the checkout given with ``--before`` in a worker process
  with ``PYTHONPATH`` set to it;
- ``bare``: a bare numba kernel of the same Adam on Beale with the run loop innermost over
  structure-of-arrays state, recording every run's loss at every step and nothing else (the
  40-line kernel of issue 16).

Medians of the rounds are printed, with the ratios new/before and new/bare (medians of the
ratios taken round by round). With ``--compile``, also the seconds of a first
``adambench.run("beale", ["adam"], seeds=8)`` on an empty cache in each checkout (alternated),
which is what compiling the generated module costs a user.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time

import numba
import numpy as np

PROBLEM = "beale"
GRID = ["lr=1e-3:1:log40", "beta1=0:0.99:25"]
STEPS = 2000

#: The worker that times the sweep in another checkout: reads a thread count per line, prints
#: the seconds of the compiled pass.
WORKER = """
import sys
from adambench.engine import jobs as engine
from adambench.sweeps.plan import plan
p = plan(%r, ["adam"], %r)
def once(threads, steps):
    job = engine.prepare(p.problem, p.configs, steps=steps, every=steps, record_x=False)
    engine.execute([job], threads=threads)
    return job.timings["run_s"]
once(1, 10)
print("ready", flush=True)
for line in sys.stdin:
    print(once(int(line), %d), flush=True)
"""


def time_new(threads: int) -> float:
    from adambench.engine import jobs as engine
    from adambench.sweeps.plan import plan

    p = plan(PROBLEM, ["adam"], GRID)
    job = engine.prepare(p.problem, p.configs, steps=STEPS, every=STEPS, record_x=False)
    engine.execute([job], threads=threads)
    return job.timings["run_s"]


@numba.njit(error_model="numpy", nogil=True)
def bare_adam_beale(x0, x1, lr, beta1, beta2, eps, losses):
    """Adam (PyTorch's arrangement, bias corrected) on Beale, every run in lockstep, the run
    loop innermost over structure-of-arrays state; records each run's loss at each step."""
    R = x0.shape[0]
    m0, m1, v0, v1 = np.zeros(R), np.zeros(R), np.zeros(R), np.zeros(R)
    p1, p2 = np.ones(R), np.ones(R)
    for t in range(losses.shape[0]):
        for r in range(R):
            a, b = x0[r], x1[r]
            c2 = -a + a * b + 1.5
            c3 = b * b
            c5 = -a + c3 * a + 2.25
            c6 = b * b * b
            c7 = -a + c6 * a + 2.625
            losses[t, r] = c2 * c2 + c5 * c5 + c7 * c7
            g0 = c2 * (2 * b - 2) + c5 * (2 * c3 - 2) + c7 * (2 * c6 - 2)
            g1 = 4 * a * b * c5 + 2 * c2 * a + 6 * c3 * a * c7
            p1[r] *= beta1[r]
            p2[r] *= beta2[r]
            size = lr[r] / (1.0 - p1[r])
            bc2 = math.sqrt(1.0 - p2[r])
            m0[r] = beta1[r] * m0[r] + (1.0 - beta1[r]) * g0
            m1[r] = beta1[r] * m1[r] + (1.0 - beta1[r]) * g1
            v0[r] = beta2[r] * v0[r] + (1.0 - beta2[r]) * g0 * g0
            v1[r] = beta2[r] * v1[r] + (1.0 - beta2[r]) * g1 * g1
            x0[r] = a - size * m0[r] / (math.sqrt(v0[r]) / bc2 + eps[r])
            x1[r] = b - size * m1[r] / (math.sqrt(v1[r]) / bc2 + eps[r])


def time_bare(steps: int = STEPS) -> float:
    lr = np.repeat(np.geomspace(1e-3, 1.0, 40), 25)
    beta1 = np.tile(np.linspace(0.0, 0.99, 25), 40)
    R = lr.size
    args = (np.ones(R), np.full(R, 1.5), lr, beta1, np.full(R, 0.999), np.full(R, 1e-8))
    losses = np.empty((steps, R))
    t0 = time.perf_counter()
    bare_adam_beale(*args, losses)
    return time.perf_counter() - t0


def packed(kernel) -> dict[str, int]:
    """How many packed (on ymm registers) and scalar sqrt and division instructions a compiled
    kernel's machine code holds."""
    asm = "\n".join(kernel.inspect_asm().values())
    return {
        name: len(re.findall(rf"^\s*{name}\s.*{reg}", asm, re.MULTILINE))
        for name, reg in (("vsqrtpd", "ymm"), ("vdivpd", "ymm"), ("vsqrtsd", ""), ("vdivsd", ""))
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--before", required=True, help="a checkout of the code to compare with")
    ap.add_argument("--compile", action="store_true", help="also time a cold first run")
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": args.before}
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER % (PROBLEM, GRID, STEPS)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=args.before,
    )  # fmt: skip
    time_new(1)  # warm-up: compile or load from the disk cache
    time_bare(10)
    assert worker.stdout is not None and worker.stdin is not None
    assert worker.stdout.readline().strip() == "ready"
    times: dict[tuple[str, int], list[float]] = {}
    for _ in range(args.reps):
        for n in args.threads:
            worker.stdin.write(f"{n}\n")
            worker.stdin.flush()
            times.setdefault(("before", n), []).append(float(worker.stdout.readline()))
            times.setdefault(("new", n), []).append(time_new(n))
        times.setdefault(("bare", 1), []).append(time_bare())
    worker.stdin.close()
    worker.wait()
    report(times, args.threads, args.reps)
    if args.compile:
        compile_times(args.before, args.reps)


COLD = (
    "import time, adambench; t0 = time.perf_counter(); "
    "adambench.run('beale', ['adam'], steps=10, seeds=8); print(time.perf_counter() - t0)"
)


def compile_times(before: str, reps: int) -> None:
    """A first run on an empty cache (the generated module compiled), in each checkout."""
    import tempfile

    cold: dict[str, list[float]] = {"new": [], "before": []}
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for _ in range(reps):
        for name, path in (("before", before), ("new", here)):
            with tempfile.TemporaryDirectory() as cache:
                env = {**os.environ, "PYTHONPATH": path, "ADAMBENCH_CACHE_DIR": cache}
                out = subprocess.run(
                    [sys.executable, "-c", COLD], env=env, cwd=path, capture_output=True,
                    text=True, check=True,
                )  # fmt: skip
                cold[name].append(float(out.stdout.split()[-1]))
    for name, ts in cold.items():
        print(f"cold first run ({name}): median {statistics.median(ts):.2f} s of {reps}")


def report(times: dict[tuple[str, int], list[float]], threads: list[int], reps: int) -> None:
    from adambench.codegen.modules import load_module
    from adambench.optimizers.registry import get
    from adambench.problems import load_problem

    runs = 1000
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(
        f"{runs} Adam configurations x {STEPS} steps on {PROBLEM}; medians of {reps} rounds; "
        f"{os.cpu_count()} cores visible, load average {load}"
    )
    print(f"{'runner':<28} {'threads':>7} {'s':>8} {'runs/s':>9}")
    for (name, n), ts in sorted(times.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        s = statistics.median(ts)
        print(f"{name:<28} {n:>7} {s:>8.4f} {runs / s:>9,.0f}")
    for n in threads:
        new_before = [m / w for m, w in zip(times[("before", n)], times[("new", n)], strict=True)]
        print(f"new / before runs/s, {n} thread(s): {statistics.median(new_before):.2f}x")
    for n in threads:
        new_bare = [b / w for b, w in zip(times[("bare", 1)], times[("new", n)], strict=True)]
        print(f"new ({n} thread(s)) / bare (1 thread) runs/s: {statistics.median(new_bare):.2f}x")
    module, _ = load_module(load_problem(PROBLEM), get("adam").kernel)
    step = module.lockstep_step  # compiled afresh: one loaded from the cache shows no code
    fresh = numba.njit(error_model="numpy", nogil=True)(step.py_func)
    fresh(np.zeros(0), 0, 0, np.zeros(1), False, False, False, 1.0, 0.0, False, 0.0)
    kernels = {"lockstep_step": fresh, "bare": bare_adam_beale}
    print("machine code:", json.dumps({name: packed(k) for name, k in kernels.items()}))


if __name__ == "__main__":
    main()
