"""The verdict line under a run's table: who reached the target first, and by how much."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adambench.engine.metrics import ConfigSummary
    from adambench.engine.results import Result

__all__ = ["verdict"]


def _failure(summaries: Sequence[ConfigSummary]) -> str:
    """How runs without a final loss failed: "diverged", unless none of them even started."""
    if any(s.statuses.get("diverged", 0) for s in summaries):
        return "diverged"
    return "started where the loss or its gradient is not finite (invalid_start)"


def _ratio(a: float, b: float) -> str:
    r = b / a if a > 0 else math.inf
    return f"{r:.1f}x" if r < 100 else f"{r:.3g}x"


def verdict(result: Result) -> str:
    """One line in the manner of hyperfine: who got there first, and by how much."""
    summaries = result.summaries()
    if not summaries:
        return ""
    many = len(result.settings.seeds) > 1
    med = "median " if many else ""
    target = result.problem.target
    reached = [s for s in summaries if s.steps_to_target is not None]
    if len(summaries) == 1:
        s = summaries[0]
        if s.steps_to_target is not None:
            first = s.steps_to_target.median
            return f"{s.label} reached the target ({target:g}) at {med}step {first:g}"
        if s.final_loss is None:
            return f"{s.label} {_failure(summaries)}"
        return f"{s.label} did not reach the target; {med}final loss {s.final_loss.median:.3g}"
    if reached:
        best_rate = max(s.success_rate for s in reached)
        pool = [s for s in reached if s.success_rate == best_rate]
        pool.sort(key=lambda s: s.steps_to_target.median)  # type: ignore[union-attr]
        best = pool[0]
        others = [s for s in reached if s is not best]
        steps = best.steps_to_target.median  # type: ignore[union-attr]
        if others:
            runner = min(others, key=lambda s: (-s.success_rate, s.steps_to_target.median))  # type: ignore[union-attr]
            other = runner.steps_to_target.median  # type: ignore[union-attr]
            over = f"medians over {len(result.settings.seeds)} seeds: " if many else ""
            if other < 1.05 * steps:
                line = (
                    f"{best.label} and {runner.label} reached the target in about as many "
                    f"steps ({over}{steps:g} and {other:g})"
                )
            else:
                line = (
                    f"{best.label} reached the target in {_ratio(steps, other)} fewer steps "
                    f"than {runner.label} ({over}{steps:g} vs {other:g})"
                )
        else:
            line = f"only {best.label} reached the target ({target:g}), at {med}step {steps:g}"
        missing = [s.label for s in summaries if s.steps_to_target is None]
        if missing and others:
            line += f"; {', '.join(missing)} did not"
        return line
    finite = [s for s in summaries if s.final_loss is not None]
    steps = result.settings.steps
    head = (
        f"no optimizer reached the target ({target:g}) in {steps} steps"
        if target is not None
        else ""
    )
    if not finite:
        return (head + "; " if head else "") + f"every run {_failure(summaries)}"
    best = min(finite, key=lambda s: s.final_loss.median)  # type: ignore[union-attr]
    tail = f"{best.label} ended with the lowest {med}loss ({best.final_loss.median:.3g})"  # type: ignore[union-attr]
    rest = [s for s in finite if s is not best]
    if rest:
        runner = min(rest, key=lambda s: s.final_loss.median)  # type: ignore[union-attr]
        tail += f", ahead of {runner.label} ({runner.final_loss.median:.3g})"  # type: ignore[union-attr]
    return f"{head}; {tail}" if head else tail
