"""The verdict line under a run's table: who reached the target first, and by how much."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from adambench.numbers import distinct_number, format_number
from adambench.report.tables import shows_gap, target_text

if TYPE_CHECKING:
    from adambench.engine.metrics import ConfigSummary
    from adambench.engine.results import Result

__all__ = ["verdict"]


def _failure(summaries: Sequence[ConfigSummary]) -> str:
    """How runs without a final loss failed: "diverged", unless none of them even started."""
    if any(s.statuses.get("diverged", 0) for s in summaries):
        return "diverged"
    return "started where the loss or its gradient is not finite (invalid_start)"


def verdict(result: Result) -> str:
    """One line in the manner of hyperfine: who got there first, and by how much."""
    summaries = result.summaries()
    if not summaries:
        return ""
    if len(summaries) == 1:
        return _alone(result, summaries[0])
    if any(s.steps_to_target is not None for s in summaries):
        return _race(result, summaries)
    return _lowest_loss(result, summaries)


def _med(result: Result) -> str:
    """The word "median " when several seeds make the numbers medians, else nothing."""
    return "median " if len(result.settings.seeds) > 1 else ""


def _alone(result: Result, s: ConfigSummary) -> str:
    """The verdict on a single configuration: where it reached the target, or how it ended."""
    med, target = _med(result), result.problem.target
    if s.steps_to_target is not None:
        first = format_number(s.steps_to_target.median, "steps")
        return f"{s.label} reached the target ({target_text(result.problem)}) at {med}step {first}"
    if s.final_loss is None:
        return f"{s.label} {_failure([s])}"
    if target is None:
        return f"{s.label} ran without a target; {med}final loss {_loss_text(result, s)}"
    return f"{s.label} did not reach the target; {med}final loss {_loss_text(result, s)}"


def _loss_text(result: Result, s: ConfigSummary) -> str:
    """A final loss as the table shows it, with its gap to a known non-zero minimum."""
    final = format_number(s.final_loss.median, "table")  # type: ignore[union-attr]
    if shows_gap(result.problem) and s.final_gap is not None:
        return f"{final} ({format_number(s.final_gap.median, 'table')} above the minimum)"
    return final


def _shown_pair(a: float, b: float) -> tuple[str, str]:
    """Two values as the table shows them, or with the digits that tell them apart when the
    table's precision would show them equal."""
    shown = format_number(a, "table"), format_number(b, "table")
    if shown[0] == shown[1] and a != b:
        return distinct_number(a, b, "table"), distinct_number(b, a, "table")
    return shown


def _race(result: Result, summaries: Sequence[ConfigSummary]) -> str:
    """Who reached the target first (most often, then fastest), and the runner-up."""
    reached = [s for s in summaries if s.steps_to_target is not None]
    best_rate = max(s.success_rate for s in reached)
    pool = [s for s in reached if s.success_rate == best_rate]
    best = min(pool, key=lambda s: s.steps_to_target.median)  # type: ignore[union-attr]
    others = [s for s in reached if s is not best]
    if not others:
        target = target_text(result.problem)
        steps = best.steps_to_target.median  # type: ignore[union-attr]
        at = f"{_med(result)}step {format_number(steps, 'steps')}"
        return f"only {best.label} reached the target ({target}), at {at}"
    runner = min(others, key=lambda s: (-s.success_rate, s.steps_to_target.median))  # type: ignore[union-attr]
    missing = [s.label for s in summaries if s.steps_to_target is None]
    tail = f"; {', '.join(missing)} did not" if missing else ""
    if runner.success_rate < best.success_rate:
        return _more_often(result, best, runner) + tail
    return _faster(result, best, runner) + tail


def _more_often(result: Result, best: ConfigSummary, runner: ConfigSummary) -> str:
    """The winner reached the target from more seeds than the runner-up, however fast each
    was: both rates and median steps, never "fewer steps" (the runner-up may have been faster)."""
    n = len(result.settings.seeds)

    def how(s: ConfigSummary) -> str:
        rate = format_number(s.success_rate, "percent")
        steps = format_number(s.steps_to_target.median, "steps")  # type: ignore[union-attr]
        return f"{rate} of {n} seeds, median step {steps}"

    return (
        f"{best.label} reached the target most often ({how(best)}), "
        f"then {runner.label} ({how(runner)})"
    )


def _faster(result: Result, best: ConfigSummary, runner: ConfigSummary) -> str:
    """Both reached the target as often: the winner in fewer steps, and by how many times."""
    steps = best.steps_to_target.median  # type: ignore[union-attr]
    other = runner.steps_to_target.median  # type: ignore[union-attr]
    n_seeds = len(result.settings.seeds)
    over = f"medians over {n_seeds} seeds: " if n_seeds > 1 else ""
    pair = format_number(steps, "steps"), format_number(other, "steps")
    if other == steps:
        return (
            f"{best.label} and {runner.label} reached the target in the same number of "
            f"steps ({over}{pair[0]})"
        )
    if other < 1.05 * steps:
        return (
            f"{best.label} and {runner.label} reached the target in about as many "
            f"steps ({over}{pair[0]} and {pair[1]})"
        )
    ratio = format_number(other / steps if steps > 0 else math.inf, "ratio")
    return (
        f"{best.label} reached the target in {ratio} fewer steps "
        f"than {runner.label} ({over}{pair[0]} vs {pair[1]})"
    )


def _lowest_loss(result: Result, summaries: Sequence[ConfigSummary]) -> str:
    """No one reached the target: who ended with the lowest loss, and the runner-up."""
    target = result.problem.target
    head = (
        f"no optimizer reached the target ({target_text(result.problem)}) "
        f"in {result.settings.steps} steps"
        if target is not None
        else ""
    )
    gap = shows_gap(result.problem)
    finite = sorted(
        (s for s in summaries if s.final_loss is not None),
        key=lambda s: s.final_loss.median,  # type: ignore[union-attr]
    )
    if not finite:
        return (head + "; " if head else "") + f"every run {_failure(summaries)}"
    tail = _lowest(result, finite, gap)
    return f"{head}; {tail}" if head else tail


def _lowest(result: Result, finite: Sequence[ConfigSummary], gap: bool) -> str:
    """Who ended lowest, and the runner-up: a tie called a tie; near a non-zero minimum, the
    gaps to it (the losses would look alike)."""
    best, med = finite[0], _med(result)
    what = f"{med}gap to the minimum" if gap else f"{med}loss"

    def value(s: ConfigSummary) -> float:
        stat = s.final_gap if gap and s.final_gap is not None else s.final_loss
        return stat.median  # type: ignore[union-attr]

    if len(finite) == 1:
        return f"{best.label} ended with the lowest {what} ({format_number(value(best), 'table')})"
    runner = finite[1]
    mine, theirs = _shown_pair(value(best), value(runner))
    if value(best) == value(runner):
        return f"{best.label} and {runner.label} tied for the lowest {what} ({mine})"
    return f"{best.label} ended with the lowest {what} ({mine}), ahead of {runner.label} ({theirs})"
