"""`run --lr-plot FILE`: the learning rate each optimizer of a run actually used, against the
step. The rates come from :func:`adambench.schedules.lr_trace`, the function the compiled run
loop uses, so the picture shows what the runs did (no second formula)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from adambench.engine.results import Result
    from adambench.optimizers.spec import OptimizerConfig

__all__ = ["lr_of_steps", "write_lr_plot"]


def lr_of_steps(config: OptimizerConfig, steps: int) -> np.ndarray | None:
    """The lr of optimizer steps 1..steps of ``config``; None for an optimizer without lr.

    A torch optimizer (no training controls) keeps its lr constant."""
    from adambench.schedules import lr_trace

    if config.spec.lr_index < 0:
        return None
    if not config.spec.has_controls:
        return np.full(steps, config.values["lr"])
    return lr_trace(np.array(config.hp_vector()), steps)


def write_lr_plot(result: Result, path: str | Path) -> list[str]:
    """Draw the lr against the step of every configuration of ``result`` to ``path`` (png, svg
    or pdf, written atomically); returns notes for the user (optimizers without an lr)."""
    from matplotlib.figure import Figure

    from adambench.report.plots import save_figure

    steps = result.settings.steps
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    notes = []
    t = np.arange(1, steps + 1)
    for config in result.configs:
        lrs = lr_of_steps(config, steps)
        if lrs is None:
            notes.append(f"{config.label} has no lr: not drawn in {path}")
            continue
        ax.plot(t, lrs, label=config.label, lw=1.5)
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    ax.set_title(f"{result.problem.name}: the learning rate of each step", fontsize=10)
    ax.grid(True, alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=8)
    save_figure(fig, path)
    return notes
