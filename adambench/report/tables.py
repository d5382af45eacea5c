"""Rendering results: the rich convergence table, the verdict, and file writers.

Nothing here computes optimisation numbers; it formats what :mod:`adambench.metrics` and
:mod:`adambench.engine.results` hold. Files are written atomically (a temp file in the same folder,
then ``os.replace``), so an interrupted run never leaves a truncated file behind.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from adambench.files import check_output_path, write_atomic
from adambench.numbers import format_number

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from adambench.engine.metrics import ConfigSummary, Stat
    from adambench.engine.results import Result
    from adambench.optimizers.spec import OptimizerConfig
    from adambench.problems import Problem
    from adambench.report.fitting import FittedTable

__all__ = [
    "DROP_ORDER",
    "NOT_COMPILED_MARK",
    "SPARK_BARS",
    "SPARK_DECADES",
    "SPARK_WIDTH",
    "STATUS_STYLE",
    "fitted_table",
    "footnotes",
    "shows_gap",
    "spark_cells",
    "sparkline",
    "table",
    "write_result",
]

STATUS_STYLE = {
    "reached_target": "green",
    "diverged": "bold red",
    "invalid_start": "bold red",
    "stalled": "yellow",
    "max_steps": "",
}


def _stat(s: Stat | None, many: bool, integer: bool = False) -> str:
    """The median; with several seeds, the quartiles under it (dim)."""
    if s is None:
        return "–"
    value, spread = ("steps", "steps") if integer else ("table", "spread")
    median = format_number(s.median, value)
    if not many or s.n == 1 or s.q1 == s.q3:
        return median
    q1, q3 = format_number(s.q1, spread), format_number(s.q3, spread)
    return f"{median}\n[dim]{q1}…{q3}[/dim]"


_SHORT = {
    "reached_target": "reached",
    "max_steps": "max_steps",
    "diverged": "diverged",
    "stalled": "stalled",
    "invalid_start": "invalid_start",
}


def _status_cell(s: ConfigSummary) -> str:
    if s.runs == 1:
        status = next(iter(s.statuses))
        style = STATUS_STYLE[status]
        return f"[{style}]{status}[/{style}]" if style else status
    parts = []
    for status, count in sorted(s.statuses.items(), key=lambda kv: -kv[1]):
        style = STATUS_STYLE[status]
        text = f"{count}× {_SHORT[status]}"
        parts.append(f"[{style}]{text}[/{style}]" if style else text)
    return "\n".join(parts)


def table(result: Result, spark: int = 0) -> Table:
    """The convergence table: one row per optimizer configuration.

    ``spark`` > 0 adds a "loss curve" column of sparklines that many characters wide (see
    :func:`spark_cells`; :func:`fitted_table` adds it when it fits the console).
    """
    from rich import box
    from rich.table import Table

    t = Table(
        title=_title(result),
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
    )
    sparks = spark_cells(result, spark) if spark else []
    for name in _columns(result, bool(sparks)):
        if name in _NO_WRAP:
            t.add_column(name, no_wrap=True)
        else:
            t.add_column(name, justify="right")
    for k, s in enumerate(result.summaries()):
        cells = _row(result, k, s)
        if sparks:
            cells.append(sparks[k])
        t.add_row(*cells)
    return t


#: Columns of the convergence table whose cells never wrap (the others are right-aligned).
_NO_WRAP = ("optimizer", "status", "loss curve")


def _title(result: Result) -> str:
    """The table's title, escaped for rich (a problem may be named ``bowl[2]``)."""
    from rich.markup import escape

    p, seeds = result.problem, result.settings.seeds
    rotated = f" rotated (seed {p.rotation_seed})" if p.rotation_seed is not None else ""
    title = f"{p.name}{rotated}: {result.settings.steps} steps"
    if result.settings.dtype != "float64":  # the default goes unsaid
        title += f" in {result.settings.dtype}"
    if p.target is not None:
        title += f", target {target_text(p, 'table')}"
    if p.gradient_noise > 0 and p.kind != "logreg":
        title += f", gradient noise {format_number(p.gradient_noise, 'table')}"
    if len(seeds) > 1:
        under = "final gap" if shows_gap(p) else "final loss"
        title += f", {len(seeds)} seeds: medians (quartiles under {under} and steps)"
    return escape(title)


def _columns(result: Result, curve: bool) -> list[str]:
    """The convergence table's column names: those the problem and settings give a value."""
    p, many = result.problem, len(result.settings.seeds) > 1
    names = ["optimizer", "status", "final loss"] + ["final gap"] * shows_gap(p) + ["best loss"]
    names += ["dist. to min"] * bool(p.minimizers) + ["|grad|"]
    if p.target is not None:
        names += ["steps to target"] + ["success"] * many
    names += ["accuracy"] * (p.kind == "logreg" and p.model.get("kind") != "least_squares")
    names += ["test loss"] * (p.test_data is not None)
    names += ["test acc."] * (p.test_data is not None and p.model.get("kind") != "least_squares")
    names += ["avg. loss"] * bool(result.settings.average_decay)
    return names + ["loss curve"] * curve


def _row(result: Result, k: int, s: ConfigSummary) -> list[str]:
    """Configuration ``k``'s cells, in the order of :func:`_columns` (without the curve)."""
    from rich.markup import escape

    p, many = result.problem, len(result.settings.seeds) > 1
    row = [escape(s.label) + _compiled_mark(result.configs[k]), _status_cell(s)]
    failed = "diverged" if s.statuses.get("diverged") else "invalid start"
    gap = shows_gap(p)
    row.append(
        f"[bold red]{failed}[/]"
        if s.final_loss is None and s.all_diverged
        else _stat(s.final_loss, many and not gap)
    )
    if gap:  # near a non-zero minimum the losses look alike: the gap tells the runs apart
        row.append(_stat(s.final_gap, many))
    # Quartiles only where they matter most, so the table fits 100 columns.
    row.append(_stat(s.best_loss, False))
    if p.minimizers:
        row.append(_stat(s.distance, False))
    row.append(_stat(s.grad_norm, False))
    if p.target is not None:
        row.append(_stat(s.steps_to_target, many, integer=True))
        if many:
            row.append(format_number(s.success_rate, "percent"))
    if p.kind == "logreg" and p.model.get("kind") != "least_squares":
        row.append(_stat(s.accuracy, many))
    if p.test_data is not None:
        row.append(_stat(s.test_loss, many))
        if p.model.get("kind") != "least_squares":
            row.append(_stat(s.test_accuracy, many))
    if result.settings.average_decay:
        row.append(_stat(s.average_loss, many))
    return row


def target_text(problem: Problem, style: str = "value") -> str:
    """The problem's target in words: its value for a training-loss target, e.g.
    ``test accuracy >= 0.9`` for one on the held-out rows."""
    from adambench.problems import HELD_OUT_TARGETS

    value = format_number(problem.target, style)
    if problem.target_metric == "loss":
        return value
    words = problem.target_metric.replace("_", " ")
    return f"{words} {HELD_OUT_TARGETS[problem.target_metric]} {value}"


def shows_gap(problem: Problem) -> bool:
    """Whether tables show the gap to the minimum beside the loss: when the problem's minimum
    value is known and not zero (at zero the gap is the loss itself)."""
    return problem.min_value is not None and problem.min_value != 0


def footnotes(result: Result) -> list[str]:
    """Lines under the table: where hyperparameters came from, notes."""
    lines = []
    sources = {src for c in result.configs for src in c.sources.values()}
    marks = []
    if "cli" in sources:
        marks.append("* from --lr")
    if "problem" in sources:
        marks.append(f"† suggested by the problem file ({result.problem.name})")
    if marks:
        lines.append("; ".join(marks))
    diverged = [r for r in result.runs if r.status == "diverged"]
    if diverged:
        first = min(diverged, key=lambda r: r.diverged_at or 0)
        lines.append(
            f"{len(diverged)} run(s) diverged (first: {first.label}, seed {first.seed}, "
            f"at step {first.diverged_at})"
        )
    invalid = [r for r in result.runs if r.status == "invalid_start"]
    if invalid:
        lines.append(
            f"{len(invalid)} run(s) started where the loss or its gradient is not finite "
            f"(first: {invalid[0].label}, seed {invalid[0].seed}); they took no step"
        )
    lines += _own_optimizer_notes(result)
    lines += list(result.notes) + list(result.problem.notes)
    return lines


def write_result(result: Result, path: str | Path, trace: bool = False) -> None:
    kind = check_output_path(path)
    write_atomic(path, result.to_json(trace=trace) if kind == "json" else result.to_csv())


# ---- own optimizers (issue 6) ----
#: Marks, in the table, configurations that do not run compiled (torch.optim, stepped from Python).
NOT_COMPILED_MARK = "‡"


def _compiled_mark(config: OptimizerConfig) -> str:
    return "" if config.spec.compiled else f" {NOT_COMPILED_MARK}"


def _own_optimizer_notes(result: Result) -> list[str]:
    """Where optimizers that are not shipped (built in or in the library) come from, and which
    ones are not compiled."""
    lines = []
    if any(not c.spec.compiled for c in result.configs):
        lines.append(
            f"{NOT_COMPILED_MARK} not compiled: torch.optim stepped from Python, one step at a "
            "time (gradient, noise and bookkeeping from adambench's compiled kernels)"
        )
    seen = set()
    for c in result.configs:
        src = c.spec.source
        if src not in ("built-in", "library", "torch") and (c.name, src) not in seen:
            seen.add((c.name, src))
            lines.append(f"{c.name}: {src}")
    return lines


# ---- sparklines (issue 4) ----

SPARK_BARS = "▁▂▃▄▅▆▇█"
#: Characters per sparkline in the table's "loss curve" column.
SPARK_WIDTH = 10
#: Sparklines span at most this many decades below their highest value.
SPARK_DECADES = 12.0


def sparkline(values: Sequence[float], lo: float, hi: float) -> str:
    """One character per value: ``▁`` at ``lo`` up to ``█`` at ``hi`` (clipped to the range).

    NaN (no data) is a space and +inf (diverged) is ``×``; with ``hi <= lo`` every finite value
    is a middle bar. A pure function: the caller chooses the scale (log10 of losses, say).
    """
    out = []
    n = len(SPARK_BARS)
    for v in values:
        if math.isnan(v):
            out.append(" ")
        elif v == math.inf:
            out.append("×")
        elif hi <= lo:
            out.append(SPARK_BARS[n // 2 - 1])
        else:
            level = int((min(max(v, lo), hi) - lo) / (hi - lo) * n)
            out.append(SPARK_BARS[min(level, n - 1)])
    return "".join(out)


def spark_cells(result: Result, width: int = SPARK_WIDTH) -> list[str]:
    """A sparkline per configuration: its loss curve (the median over seeds) in ``width``
    characters, each the mean over its share of the steps, on one scale for the whole table.

    The scale is log10 of the loss, or of the gap to a known non-zero minimum; linear when
    losses go negative and no minimum is known (:func:`adambench.report.curves.loss_scale`). Empty
    strings when the result recorded no losses.
    """
    import numpy as np

    from adambench.report import curves

    st, p = result.settings, result.problem
    n_rec = st.steps // st.every + 1
    if any(r.loss_trace is None for r in result.runs):
        return [""] * len(result.configs)
    trace = {id(r): np.asarray(r.loss_trace, float) for r in result.runs}
    scale = curves.loss_scale(list(trace.values()), p.min_value)
    rows = []
    for k in range(len(result.configs)):
        runs = result.runs_of(k)
        aligned = curves.align([trace[id(r)] for r in runs], [r.status for r in runs], n_rec)
        median = curves.quantiles(aligned, (0.5,))[0]
        shown = curves.transform(median, scale, p.min_value)
        if scale != "linear":
            with np.errstate(divide="ignore"):
                shown = np.log10(shown)
        buckets = np.array_split(shown, min(width, shown.size))
        rows.append(
            np.array([math.inf if np.any(b == math.inf) else float(np.mean(b)) for b in buckets])
        )
    finite = np.concatenate([r[np.isfinite(r)] for r in rows])
    if finite.size == 0:
        return [sparkline(r, 0.0, 0.0) for r in rows]
    hi = float(finite.max())
    lo = float(finite.min())
    if scale != "linear":
        lo = max(lo, hi - SPARK_DECADES)
    return [sparkline(r, lo, hi) for r in rows]


#: The run table's columns, least important first: the order a narrow terminal leaves them out
#: in (:func:`adambench.report.fitting.fit`). The sparkline goes first and silently; success
#: goes last (the status column counts the runs that reached the target); optimizer, status,
#: final loss and steps to target always stay (the final loss drops after the best loss when
#: the final gap to a non-zero minimum is shown beside it).
DROP_ORDER = (
    "loss curve",
    "|grad|",
    "dist. to min",
    "avg. loss",
    "best loss",
    "test loss",
    "accuracy",
    "test acc.",
    "success",
)


def fitted_table(result: Result, console: Console, width: int | None = None) -> FittedTable:
    """:func:`table` laid out for ``console`` (or ``width``) by
    :func:`adambench.report.fitting.fit`: with the sparkline column when it fits, and without
    the columns of :data:`DROP_ORDER` a narrow terminal has no room for; no number is cut."""
    from adambench.report.fitting import fit

    drop = DROP_ORDER
    if shows_gap(result.problem):  # the final gap carries what the final loss would show
        k = DROP_ORDER.index("best loss") + 1
        drop = (*DROP_ORDER[:k], "final loss", *DROP_ORDER[k:])
    return fit(table(result, spark=SPARK_WIDTH), console, drop, width=width, quiet=("loss curve",))
