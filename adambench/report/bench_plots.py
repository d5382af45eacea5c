"""`bench --plot FILE`: the suite's two figures side by side, the ECDF of (problem, target,
seed) triples reached against steps, and the Dolan-More performance profile over ERT.
matplotlib is imported inside the function only (importing this module costs nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from adambench.sweeps.bench import BenchResult

__all__ = ["bench_figure", "bench_plot", "profile_curve"]


def profile_curve(erts: np.ndarray, j: int) -> tuple[np.ndarray, np.ndarray]:
    """Optimizer ``j``'s profile as a step curve: the sorted ratios of its ERT to each
    problem's best (finite ones only), and the share of problems at or below each."""
    best = erts.min(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = erts[:, j] / best
    ratio = np.sort(ratio[np.isfinite(ratio)])
    return ratio, np.arange(1, ratio.size + 1) / erts.shape[0]


def bench_plot(bench: BenchResult, path: str | Path) -> None:
    """Draw the ECDF and the performance profile to ``path`` (png, svg or pdf, atomically)."""
    from adambench.report.plots import require_matplotlib, save_figure

    require_matplotlib()
    save_figure(bench_figure(bench), path)


def bench_figure(bench: BenchResult) -> Figure:
    """The ECDF (left) and the performance profile (right) as one matplotlib figure (for
    ``--plot`` and the HTML report)."""
    from matplotlib.figure import Figure

    from adambench.sweeps.bench_stats import ecdf

    fig = Figure(figsize=(10, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    top = max(e.steps for e in bench.entries)
    steps = np.unique(np.geomspace(1, top, 200).round().astype(int))
    erts = bench.erts()
    curves = [profile_curve(erts, j) for j in range(len(bench.optimizers))]
    end = 2 * max([2.0, *(r[-1] for r, _ in curves if r.size)])  # flat tails stay visible
    for j, name in enumerate(bench.optimizers):
        left.step(steps, ecdf(bench.reached(j), steps), where="post", label=name, lw=1.5)
        ratio, share = curves[j]
        last = share[-1] if share.size else 0.0
        xs, ys = np.r_[1.0, ratio, end], np.r_[0.0, share, last]
        right.step(xs, ys, where="post", label=name, lw=1.5)
    left.set_xscale("log")
    left.set_xlabel("steps")
    left.set_ylabel("share of (problem, target, seed) triples")
    left.set_title(f"{bench.suite}: targets reached (51 gaps, 1e2..1e-8)", fontsize=10)
    right.set_xscale("log", base=2)
    right.set_xlabel("ERT / best ERT on the problem (tau)")
    right.set_ylabel("share of problems")
    right.set_title("performance profile over ERT", fontsize=10)
    for ax in (left, right):
        ax.set_ylim(-0.02, 1.02)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    return fig
