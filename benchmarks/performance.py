"""adambench's performance suite: against the peers (C, JAX+optax, torch.optim) and the limit.

One command, from the repository root (a benchmark, not a test; ~5 minutes on 2 cores)::

    pip install -e ".[bench]"            # jax, optax, torch (each section skips a missing peer)
    python benchmarks/performance.py     # all sections; --quick for fewer repetitions
    python benchmarks/performance.py --sections step,sweep --out perf.md

Sections (each prints a Markdown table; the README's performance section is its output):

- ``step``: every built-in optimizer on Beale, 10,000 steps, float64, the loss recorded every
  step. adambench's compiled loop (the call itself, steady state) against the same computation
  as a C loop (benchmarks/c/beale_step.c, built here with gcc -O3 -march=native
  -ffp-contract=off so it runs the same IEEE operations: the final x must agree to the bit),
  JAX+optax ``jit(lax.scan)`` for Adam and SGD with momentum, and a torch.optim per-step loop.
- ``sweep``: 1,000 Adam configurations x 2,000 steps on Beale: runs/s of adambench's lockstep
  loop (1 and 2 threads), its per-run loops, and JAX ``vmap(scan)`` of optax's Adam with the
  gradient from ``jax.value_and_grad`` and written by hand; results bit-identical across
  layouts and thread counts.
- ``startup``: whole processes: a warm ``adambench run beale -O adam,rmsprop`` against
  ``python -c "import numpy, numba, typer, rich, yaml"``; ``--help``, ``list``, ``show adam``
  and ``cache info`` against ``python -c "import typer, rich"``; the cold run (empty caches)
  reported (benchmarks/startup_bench.py measures the same against another checkout too).
- ``scale``: one Adam step at N = 1e7 against the memory roofline measured in the same run
  (best of numpy.copyto and a 2-thread numba copy), and torch.optim.Adam(fused=True); which
  loops vectorise (packed AVX sqrt/div in the assembly numba emits).
- ``growth``: time per step against dimension (2 .. 1e7) and steps (1e2 .. 1e6), and the peak
  memory of the largest cases.

Every comparison alternates its contenders in one run (A B A B ...) and quotes medians of the
ratios measured pair by pair, so the ratios hold on a shared, noisy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OPTIMIZERS = ("adam", "adamax", "sgd", "momentum", "nesterov", "adagrad", "rmsprop")
STEPS = 10_000
QUICK = False


def reps(full: int) -> int:
    return max(3, full // 3) if QUICK else full


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import numba

    return (
        f"{cpu}, {os.cpu_count()} CPUs; Python {platform.python_version()}, "
        f"numpy {np.__version__}, numba {numba.__version__}"
    )


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def have(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


# ---------------------------------------------------------------------------------------------
# step: per-step cost against C, JAX and torch


def build_c() -> dict[str, Path]:
    """Compile benchmarks/c/beale_step.c once per optimizer (gcc -O3 -march=native)."""
    gcc = shutil.which("gcc")
    if gcc is None:
        return {}
    out = Path(tempfile.mkdtemp(prefix="adambench-c-"))
    bins = {}
    for name in (*OPTIMIZERS, "bare_adam"):
        exe = out / f"beale_{name}"
        subprocess.run(
            [
                gcc,
                "-O3",
                "-march=native",
                "-ffp-contract=off",
                f"-DOPT={name.upper()}",
                str(ROOT / "benchmarks" / "c" / "beale_step.c"),
                "-lm",
                "-o",
                str(exe),
            ],
            check=True,
        )
        bins[name] = exe
    return bins


def numba_step(name: str) -> tuple[Callable[[], float], float]:
    """A timer of adambench's compiled loop (one run, STEPS steps, loss every step) in steady
    state (the same arrays restored before each call: warm caches, as the C loop has), and the
    final x[0] + x[1] of that run."""
    from adambench.engine import jobs as engine

    job = engine.prepare("beale", [name], steps=STEPS, every=1, record_x=False)
    b = job.batches[0]
    a = b.arrays
    prob = job.problem
    from adambench.codegen.loops import RUNNER_ARGS

    given = {
        **a,
        "pd": b.pd,
        "data": b.data,
        "t_begin": 0,
        "t_end": STEPS,
        "finish": False,
        "total": STEPS,
        "every": 1,
        "record_x": False,
        "target": float(prob.target),
        "bound": 1e6 * prob.scale,
        "stall_step": STEPS - STEPS // 10,
        "stop": False,
        "decay": 0.0,
    }
    args = tuple(given[name] for name in RUNNER_ARGS)
    pristine = {k: v.copy() for k, v in a.items()}

    def restore() -> None:
        for k, v in pristine.items():
            np.copyto(a[k], v)

    b.advance(*args)  # compile or load
    restore()
    b.advance(*args)
    final = float(a["X"][0].sum())

    def timer() -> float:
        restore()
        t = time.perf_counter()
        b.advance(*args)
        return (time.perf_counter() - t) / STEPS * 1e9

    return timer, final


def c_step(exe: Path) -> tuple[float, float]:
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def _jax_beale() -> Callable[..., Any]:
    """Beale's function for JAX, in float64."""
    import jax

    jax.config.update("jax_enable_x64", True)

    def beale(x: Any) -> Any:
        a = 1.5 - x[0] + x[0] * x[1]
        b = 2.25 - x[0] + x[0] * x[1] ** 2
        c = 2.625 - x[0] + x[0] * x[1] ** 3
        return a * a + b * b + c * c

    return beale


def jax_steps() -> dict[str, Callable[[], float]]:
    if not (have("jax") and have("optax")):
        return {}
    import jax
    import jax.numpy as jnp
    import optax

    beale = _jax_beale()

    def make(opt):
        vg = jax.value_and_grad(beale)

        def body(carry, _):
            x, s = carry
            f, g = vg(x)
            u, s = opt.update(g, s, x)
            return (optax.apply_updates(x, u), s), f

        @jax.jit
        def run(x0):
            (x, _), losses = jax.lax.scan(body, (x0, opt.init(x0)), None, length=STEPS)
            return x, losses

        x0 = jnp.array([1.0, 1.5])
        run(x0)[0].block_until_ready()

        def timer() -> float:
            t = time.perf_counter()
            run(x0)[0].block_until_ready()
            return (time.perf_counter() - t) / STEPS * 1e9

        return timer

    return {"adam": make(optax.adam(1e-3)), "momentum": make(optax.sgd(1e-3, momentum=0.9))}


def torch_steps() -> dict[str, Callable[[], float]]:
    if not have("torch"):
        return {}
    import torch

    specs = {
        "adam": (torch.optim.Adam, {"lr": 1e-3}),
        "adamax": (torch.optim.Adamax, {"lr": 2e-3}),
        "sgd": (torch.optim.SGD, {"lr": 1e-3}),
        "momentum": (torch.optim.SGD, {"lr": 1e-3, "momentum": 0.9}),
        "nesterov": (torch.optim.SGD, {"lr": 1e-3, "momentum": 0.9, "nesterov": True}),
        "adagrad": (torch.optim.Adagrad, {"lr": 1e-2}),
        "rmsprop": (torch.optim.RMSprop, {"lr": 1e-2}),
    }
    n = 1000

    def make(cls, kw):
        def timer() -> float:
            p = torch.tensor([1.0, 1.5], dtype=torch.float64, requires_grad=True)
            opt = cls([p], **kw)
            losses = torch.empty(n, dtype=torch.float64)
            t = time.perf_counter()
            for k in range(n):
                opt.zero_grad()
                x, y = p[0], p[1]
                f = (
                    (1.5 - x + x * y) ** 2
                    + (2.25 - x + x * y**2) ** 2
                    + (2.625 - x + x * y**3) ** 2
                )
                f.backward()
                losses[k] = f.detach()
                opt.step()
            return (time.perf_counter() - t) / n * 1e9

        return timer

    return {k: make(*v) for k, v in specs.items()}


def section_step() -> str:
    bins = build_c()
    jax_t = jax_steps()
    torch_t = torch_steps()
    rows = []
    bare_note = ""
    for name in OPTIMIZERS:
        ours, final = numba_step(name)
        samples: dict[str, list[float]] = {"numba": [], "c": [], "jax": [], "torch": []}
        ratios: dict[str, list[float]] = {"c": [], "jax": [], "bare": []}
        c_final = None
        for _ in range(reps(15)):
            nb = median([ours() for _ in range(5)])
            samples["numba"].append(nb)
            if name in bins:
                c_ns, c_final = c_step(bins[name])
                samples["c"].append(c_ns)
                ratios["c"].append(nb / c_ns)
            if name == "adam" and "bare_adam" in bins:
                ratios["bare"].append(nb / c_step(bins["bare_adam"])[0])
        if ratios["bare"]:
            bare_note = (
                f"\n\nadam (loss recorded and checked every step) / a bare C Adam loop that "
                f"tracks nothing (constants folded, no check, no record: `-DOPT=BARE_ADAM`), "
                f"median of pairs: {median(ratios['bare']):.2f}x."
            )
            if name in jax_t:
                j = median([jax_t[name]() for _ in range(3)])
                samples["jax"].append(j)
                ratios["jax"].append(nb / j)
        if name in torch_t:
            samples["torch"] = [torch_t[name]() for _ in range(reps(3))]
        nb = median(samples["numba"])
        same = (
            "—"
            if c_final is None
            else ("yes" if c_final == final else f"no ({c_final - final:.1e})")
        )
        rows.append(
            [
                name,
                f"{nb:.1f}",
                f"{median(samples['c']):.1f}" if samples["c"] else "—",
                f"{median(ratios['c']):.2f}x" if ratios["c"] else "—",
                same,
                f"{median(samples['jax']):.1f}" if samples["jax"] else "—",
                f"{median(ratios['jax']):.2f}x" if ratios["jax"] else "—",
                f"{median(samples['torch']) / 1e3:.0f} µs" if samples["torch"] else "—",
                f"{median(samples['torch']) / nb:,.0f}x" if samples["torch"] else "—",
            ]
        )
    head = [
        "optimizer",
        "adambench ns/step",
        "C -O3 ns/step",
        "adambench / C",
        "same x as C",
        "JAX ns/step",
        "adambench / JAX",
        "torch.optim per step",
        "torch / adambench",
    ]
    return (
        "### Per step: Beale, 10,000 steps, float64, loss recorded every step\n\n"
        + table(head, rows)
        + bare_note
    )


# ---------------------------------------------------------------------------------------------
# sweep: 1,000 Adam configurations x 2,000 steps


def section_sweep() -> str:
    from adambench.engine import jobs as engine

    lrs = np.logspace(-4, 0, 1000)
    specs = [f"adam(lr={float(lr)!r})" for lr in lrs]
    steps = 2000

    def ours(layout: str, threads: int) -> tuple[float, np.ndarray]:
        job = engine.prepare(
            "beale", specs, steps=steps, every=steps, record_x=False, layout=layout
        )
        engine.execute([job], threads=threads, chunk_steps=steps)
        x = np.vstack([b.arrays["X"] for b in job.batches])
        return job.timings["run_s"], x

    variants = [("lockstep", 1), ("lockstep", 2), ("fused", 1), ("generic", 1)]
    finals = {v: ours(*v)[1] for v in variants}  # also compiles
    identical = all(np.array_equal(finals[v], finals[variants[0]]) for v in variants)
    jax_runs = _jax_sweeps(lrs, steps) if have("jax") and have("optax") else {}

    times: dict[object, list[float]] = {v: [] for v in variants}
    ratios: dict[str, list[float]] = {form: [] for form in jax_runs}
    for form in jax_runs:
        times[form] = []
    for _ in range(reps(15)):
        for v in variants:
            times[v].append(ours(*v)[0])
        for form, run in jax_runs.items():
            times[form].append(run())
            ratios[form].append(times[form][-1] / times[("lockstep", 1)][-1])

    def row(label: str, t: float) -> list[str]:
        return [label, f"{1000 / t:,.0f}", f"{1000 * steps / t / 1e6:.0f}", f"{t * 1e3:.1f}"]

    rows = [
        row(f"adambench {v[0]}, {v[1]} thread{'s' if v[1] > 1 else ''}", median(times[v]))
        for v in variants
    ]
    rows += [row(f"JAX vmap(scan), {form}, float64", median(times[form])) for form in jax_runs]
    text = "### Sweep: 1,000 Adam configurations x 2,000 steps on Beale\n\n" + table(
        ["runner", "runs/s", "M steps/s", "ms"], rows
    )
    same = "yes" if identical else "NO"
    text += f"\n\nResults bit-identical across layouts and thread counts: {same}."
    for form, rs in ratios.items():
        text += (
            f" adambench (lockstep, 1 thread) / JAX ({form}) runs/s, median of pairs: "
            f"{median(rs):.2f}x."
        )
    return text


def _jax_sweeps(lrs: np.ndarray, steps: int) -> dict[str, Callable[[], float]]:
    """The sweep in JAX, ``jax.vmap`` of a ``jax.lax.scan`` of optax's Adam, jitted, in two
    forms: the gradient by ``jax.value_and_grad`` and written by hand (the faster form here)."""
    import jax
    import jax.numpy as jnp
    import optax

    beale = _jax_beale()

    def by_hand(x: Any) -> tuple[Any, Any]:
        a, b = x[0], x[1]
        c2 = 1.5 - a + a * b
        c5 = 2.25 - a + a * b * b
        c7 = 2.625 - a + a * b * b * b
        g0 = 2 * c2 * (b - 1) + 2 * c5 * (b * b - 1) + 2 * c7 * (b * b * b - 1)
        g1 = 2 * c2 * a + 4 * c5 * a * b + 6 * c7 * a * b * b
        return c2 * c2 + c5 * c5 + c7 * c7, jnp.stack([g0, g1])

    def sweep_of(vg: Callable[[Any], Any]) -> Callable[[], float]:
        def one(lr: Any, x0: Any) -> Any:
            opt = optax.adam(lr)

            def body(carry: Any, _: Any) -> Any:
                x, s = carry
                f, g = vg(x)
                u, s = opt.update(g, s, x)
                return (optax.apply_updates(x, u), s), f

            (x, _), losses = jax.lax.scan(body, (x0, opt.init(x0)), None, length=steps)
            return x, losses[-1]

        f = jax.jit(jax.vmap(one, in_axes=(0, None)))
        jl, x0 = jnp.asarray(lrs), jnp.array([1.0, 1.5])
        f(jl, x0)[0].block_until_ready()  # compiles

        def run() -> float:
            t = time.perf_counter()
            f(jl, x0)[0].block_until_ready()
            return time.perf_counter() - t

        return run

    forms = {"value_and_grad": jax.value_and_grad(beale), "hand gradient": by_hand}
    return {form: sweep_of(vg) for form, vg in forms.items()}


# ---------------------------------------------------------------------------------------------
# startup: whole processes


def wall(cmd: list[str], env: dict[str, str] | None = None) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)
    return time.perf_counter() - t


def section_startup() -> str:
    py = sys.executable
    ab = [py, "-m", "adambench"]
    exe = shutil.which("adambench")
    if exe:
        ab = [exe]
    base_imports = [py, "-c", "import numpy, numba, typer, rich, yaml"]
    cli_imports = [py, "-c", "import typer, rich"]
    run = [*ab, "run", "beale", "-O", "adam,rmsprop"]
    wall(run)  # make sure the kernels are cached
    wall([*ab, "show", "adam"])  # and the gradient text
    pairs = {
        "run": (run, base_imports),
        "--help": ([*ab, "--help"], cli_imports),
        "list": ([*ab, "list"], cli_imports),
        "show adam": ([*ab, "show", "adam"], cli_imports),
        "cache info": ([*ab, "cache", "info"], cli_imports),
    }
    t: dict[str, list[float]] = {k: [] for k in (*pairs, "base", "cli")}
    ratio: dict[str, list[float]] = {k: [] for k in pairs}
    for _ in range(reps(15)):
        for key, (cmd, ref) in pairs.items():
            a, b = wall(cmd), wall(ref)
            t[key].append(a)
            t["base" if ref is base_imports else "cli"].append(b)
            ratio[key].append(a / b)
    cold = []
    for _ in range(reps(3) if not QUICK else 1):
        with tempfile.TemporaryDirectory() as d:
            env = {**os.environ, "ADAMBENCH_CACHE_DIR": d, "NUMBA_CACHE_DIR": d}
            cold.append(wall(run, env))
    rows = [
        [
            "adambench run beale -O adam,rmsprop (warm)",
            f"{median(t['run']):.2f} s",
            f"import numpy, numba, typer, rich, yaml: {median(t['base']):.2f} s",
            f"{median(ratio['run']):.2f}x",
            "1.6x",
        ]
    ]
    rows += [
        [
            f"adambench {key}",
            f"{median(t[key]):.2f} s",
            f"import typer, rich: {median(t['cli']):.2f} s",
            f"{median(ratio[key]):.2f}x",
            "1.3x",
        ]
        for key in ("--help", "list", "show adam", "cache info")
    ]
    rows.append(
        [
            "adambench run beale -O adam,rmsprop (cold: empty caches)",
            f"{median(cold):.2f} s",
            "",
            "",
            "",
        ]
    )
    text = "### Start-up: whole processes\n\n" + table(
        ["command", "median", "reference", "ratio", "target"], rows
    )
    if have("scipy"):
        text += (
            "\n\nNote: scipy is installed here; numba then imports scipy.linalg when it "
            "loads the first cached function (~0.4 s more). A plain `pip install adambench` "
            "has no scipy."
        )
    return text


# ---------------------------------------------------------------------------------------------
# scale: one Adam step at N = 1e7


def section_scale() -> str:
    import numba

    from adambench import kernels as K

    n = 10_000_000
    rng = np.random.default_rng(0)
    p, g = rng.random(n), rng.random(n)
    state = np.zeros(3 * n + 2)
    state[3 * n :] = 1.0
    hp = np.array([1e-3, 0.9, 0.999, 1e-8, 0.0, 0.0, 1.0])
    src, dst = rng.random(n), np.empty(n)

    @numba.njit(parallel=True)
    def copy2(out, a):
        for i in numba.prange(a.shape[0]):
            out[i] = a[i]

    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    copy2(dst, src)
    K.adam_step(p, g, state, 1, hp)
    K.adam_step_par(p, g, state, 2, hp)
    torch_step = None
    if have("torch"):
        import torch

        tp = torch.from_numpy(p.copy()).requires_grad_(True)
        tp.grad = torch.from_numpy(g.copy())
        topt = torch.optim.Adam([tp], lr=1e-3, fused=True)
        topt.step()

        def torch_step() -> float:
            t0 = time.perf_counter()
            topt.step()
            return time.perf_counter() - t0

    t_np, t_nb, t_adam, t_par, t_torch = [], [], [], [], []
    for k in range(reps(9)):
        a = time.perf_counter()
        np.copyto(dst, src)
        t_np.append(time.perf_counter() - a)
        a = time.perf_counter()
        copy2(dst, src)
        t_nb.append(time.perf_counter() - a)
        a = time.perf_counter()
        K.adam_step(p, g, state, 2 * k + 3, hp)
        t_adam.append(time.perf_counter() - a)
        a = time.perf_counter()
        K.adam_step_par(p, g, state, 2 * k + 4, hp)
        t_par.append(time.perf_counter() - a)
        if torch_step is not None:
            t_torch.append(torch_step())
    bandwidth = max(16 * n / median(t_np), 16 * n / median(t_nb))
    adam_bytes = 8 * n * 7  # reads p, g, m, v; writes p, m, v
    roofline = adam_bytes / bandwidth
    rows = [
        [
            "numpy.copyto",
            f"{median(t_np) * 1e3:.1f} ms",
            f"{16 * n / median(t_np) / 1e9:.1f} GB/s",
            "",
        ],
        [
            "numba copy, 2 threads",
            f"{median(t_nb) * 1e3:.1f} ms",
            f"{16 * n / median(t_nb) / 1e9:.1f} GB/s",
            "",
        ],
        [
            "adambench adam_step (1 thread)",
            f"{median(t_adam) * 1e3:.1f} ms",
            f"{adam_bytes / median(t_adam) / 1e9:.1f} GB/s",
            f"{100 * roofline / median(t_adam):.0f} % of the roofline ({roofline * 1e3:.1f} ms)",
        ],
    ]
    rows.append(
        [
            "adambench adam_step_par (2 threads; runs of over 65,536 parameters)",
            f"{median(t_par) * 1e3:.1f} ms",
            f"{adam_bytes / median(t_par) / 1e9:.1f} GB/s",
            f"{100 * roofline / median(t_par):.0f} % of the roofline",
        ]
    )
    if t_torch:
        rows.append(
            [
                "torch.optim.Adam(fused=True)",
                f"{median(t_torch) * 1e3:.1f} ms",
                f"{adam_bytes / median(t_torch) / 1e9:.1f} GB/s",
                f"adambench (2 threads) is {median(t_torch) / median(t_par):.2f}x its speed",
            ]
        )
    text = "### Scale: one Adam step at N = 1e7 float64 parameters\n\n" + table(
        ["", "time", "bandwidth", "note"], rows
    )
    return text + "\n\n" + vectorisation()


def vectorisation() -> str:
    """Which compiled loops use packed (ymm) arithmetic, from the assembly numba emits."""
    import numba

    from adambench import kernels as K

    n = 64
    hp = {
        "adam": np.array([1e-3, 0.9, 0.999, 1e-8, 0, 0, 1.0]),
        "adamax": np.array([2e-3, 0.9, 0.999, 1e-8, 0.0]),
        "sgd": np.array([1e-3, 0.9, 0, 0, 0.0]),
        "adagrad": np.array([1e-2, 0, 1e-10, 0, 0.0]),
        "rmsprop": np.array([1e-2, 0.99, 1e-8, 0, 0, 0.0]),
    }
    sizes = {"adam": 3 * n + 2, "adamax": 2 * n + 1, "sgd": n, "adagrad": n, "rmsprop": 3 * n}
    rows = []
    for name in hp:
        f = numba.njit(error_model="numpy")(getattr(K, f"{name}_step").py_func)
        f(np.zeros(n), np.ones(n), np.zeros(sizes[name]), 1, hp[name])
        asm = f.inspect_asm(f.signatures[0])
        packed = {
            i: len(re.findall(rf"\b{i}\b.*ymm", asm)) for i in ("vsqrtpd", "vdivpd", "vmulpd")
        }
        ok = packed["vmulpd"] > 0
        rows.append(
            [
                f"{name}_step (array kernel)",
                "yes" if ok else "no",
                ", ".join(f"{k} {v}" for k, v in packed.items()),
            ]
        )
    rows.append(
        [
            "advance_fused / advance_lockstep (small problems)",
            "no (by design)",
            "one run's values in registers; lockstep overlaps runs in the out-of-order core",
        ]
    )
    return "Vectorisation (packed AVX2 instructions in the assembly):\n\n" + table(
        ["loop", "vectorised", "packed instructions"], rows
    )


# ---------------------------------------------------------------------------------------------
# growth: cost against dimension and steps


# Against steps, Beale with gradient noise: a run that converges exactly (zero gradient) drives
# Adam's moments into subnormal numbers, which the CPU handles ~100x slower; noise keeps the run
# in normal range, so the table shows the engine's cost, not that hardware cliff.
NOISY_BEALE = """name: noisy_beale
variables: [x, y]
expression: (1.5 - x + x*y)**2 + (2.25 - x + x*y**2)**2 + (2.625 - x + x*y**3)**2
start: [1, 1.5]
gradient_noise: 0.01
"""

GROWTH_SCRIPT = """
import json, resource, sys, time
import adambench
kind, size, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if kind == "dim":
    steps = max(10, min(2000, 20_000_000 // size))
    r = adambench.run("rosenbrock_nd", ["adam"], dim=size, steps=steps, threads=1)
else:
    steps = size
    r = adambench.run(path, ["adam(lr=0.01)"], steps=steps, threads=1)
# VmHWM, not ru_maxrss: the latter survives exec, so it would report the parent's peak.
hwm = [ln for ln in open("/proc/self/status") if ln.startswith("VmHWM:")]
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
peak = int(hwm[0].split()[1]) / 1024 if hwm else rss / 1024
ns = r.timings["run_s"] / steps * 1e9
print(json.dumps({"ns_per_step": ns, "steps": steps, "peak_mb": peak}))
"""


_NOISY_PATH = Path(tempfile.gettempdir()) / "adambench-bench-noisy-beale.yaml"


def growth_point(kind: str, size: int) -> dict[str, float]:
    _NOISY_PATH.write_text(NOISY_BEALE, encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-c", GROWTH_SCRIPT, kind, str(size), str(_NOISY_PATH)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def section_growth() -> str:
    dims = [2, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000]
    steps = [100, 1_000, 10_000, 100_000, 1_000_000]
    for d in dims[:3]:
        growth_point("dim", d)  # compile once
    growth_point("steps", 100)
    rows_d, rows_s = [], []
    for d in dims:
        pts = [growth_point("dim", d) for _ in range(1 if d >= 1_000_000 or QUICK else 3)]
        ns = median([p["ns_per_step"] for p in pts])
        rows_d.append(
            [f"{d:,}", f"{ns / 1e3:,.2f} µs", f"{ns / d:.2f} ns", f"{pts[0]['peak_mb']:.0f} MB"]
        )
    for s in steps:
        pts = [growth_point("steps", s) for _ in range(1 if s >= 1_000_000 or QUICK else 3)]
        ns = median([p["ns_per_step"] for p in pts])
        rows_s.append([f"{s:,}", f"{ns:.1f} ns", f"{pts[0]['peak_mb']:.0f} MB"])
    return (
        "### Growth: rosenbrock_nd with Adam, time per step against the dimension\n\n"
        + table(["dimension", "time per step", "per coordinate", "peak memory"], rows_d)
        + "\n\n### Growth: Beale with gradient noise, Adam, loss and x recorded every step, "
        "against steps\n\n" + table(["steps", "time per step", "peak memory"], rows_s)
    )


SECTIONS = {
    "step": section_step,
    "sweep": section_sweep,
    "startup": section_startup,
    "scale": section_scale,
    "growth": section_growth,
}


def main() -> None:
    global QUICK
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sections", default=",".join(SECTIONS), help="comma-separated sections")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    ap.add_argument("--out", help="also write the Markdown to this file")
    args = ap.parse_args()
    QUICK = args.quick
    parts = [
        f"Measured on {machine()}, {time.strftime('%Y-%m-%d')}; "
        f"`python benchmarks/performance.py{' --quick' if QUICK else ''}`."
    ]
    for name in args.sections.split(","):
        began = time.perf_counter()
        parts.append(SECTIONS[name.strip()]())
        print(parts[-1] + "\n", flush=True)
        print(f"({name}: {time.perf_counter() - began:.0f} s)\n", file=sys.stderr, flush=True)
    if args.out:
        Path(args.out).write_text("\n\n".join(parts) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
