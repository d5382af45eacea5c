"""Rendering sweeps: the ranked table, the heatmap tables and the tuned-comparison table.

Nothing here computes; it formats what :mod:`adambench.sweeps` aggregated. Heatmap cells are
coloured on a viridis scale (colour-blind safe, the same map as ``--plot``): bright yellow is
the best value, dark purple the worst, log-scaled for positive losses. A configuration whose
median failed is written out (``diverged``, or ``–`` for "never reached the target"), never
shown as a number or a colour; the best cell is marked ★ so it stands out without colour too.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from adambench.numbers import format_number

if TYPE_CHECKING:
    from rich.table import Table

    from adambench.sweeps.aggregate import Heatmap, PointStat
    from adambench.sweeps.result import SweepResult
    from adambench.sweeps.tuning import Tuning

__all__ = [
    "BEST_MARK",
    "RANKED_DROP_ORDER",
    "VIRIDIS",
    "best_line",
    "footnotes",
    "heading",
    "heatmap_table",
    "ranked_table",
    "tuning_table",
]

#: viridis at 8 stops, from the worst value (dark) to the best (bright).
VIRIDIS = (
    "#440154",
    "#46327e",
    "#365c8d",
    "#277f8e",
    "#1fa187",
    "#4ac16d",
    "#a0da39",
    "#fde725",
)
BEST_MARK = "★"

#: The ranked table's columns a narrow terminal leaves out, least important first
#: (:func:`adambench.report.fitting.fit`); the rank, the swept values, the metric and the
#: diverged count always stay. Heatmaps and the tuning table are grids (every column a value of
#: an axis): they leave nothing out, and are shown whole, with a note, when wider than the
#: terminal.
RANKED_DROP_ORDER = ("reached", "q1…q3")


def _value(v: float, metric: str) -> str:
    return format_number(v, _VALUE_STYLE.get(metric, "table"))


#: How a metric's values are shown, when not in the "table" style.
_VALUE_STYLE = {"success_rate": "percent", "steps_to_target": "steps"}


def _spread(st: PointStat, metric: str) -> str:
    """The quartiles; ``∞`` where a quartile falls on failed runs."""
    if metric == "success_rate" or st.runs == 1 or not math.isfinite(st.q1) or st.q1 == st.q3:
        return ""
    style = "steps" if metric == "steps_to_target" else "sweep_spread"
    if math.isfinite(st.q3) and format_number(st.q1, style) == format_number(st.q3, style):
        style = "table"  # two digits would hide the spread: show four
    hi = format_number(st.q3, style) if math.isfinite(st.q3) else "∞"
    return f"{format_number(st.q1, style)}…{hi}"


def _failed_cell(st: PointStat) -> str:
    return "[bold red]diverged[/]" if st.state == "diverged" else "[dim]not reached[/]"


def ranked_table(sw: SweepResult, metric: str | None = None, top: int = 10) -> Table:
    """The configurations, best first: swept values, median and quartiles over the seeds,
    and how many runs diverged or reached the target.

    ``top`` limits the rows (negative: all); the caption says how many were left out.
    """
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from adambench.sweeps.grid import METRIC_NAMES, show_value

    m = metric or sw.metric
    ranked = sw.ranked(m)
    names = sw.swept_names()
    many_bases = len(sw.bases) > 1
    n_seeds = len(sw.seeds)
    t = Table(
        header_style="bold",
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
    )
    t.add_column("#", justify="right")
    if many_bases:
        t.add_column("optimizer", no_wrap=True)
    for n in names:
        t.add_column(n, justify="right")
    what = METRIC_NAMES[m]
    t.add_column(what, justify="right")
    if n_seeds > 1 and m != "success_rate":
        t.add_column("q1…q3", justify="right", style="dim")
    t.add_column("diverged", justify="right")
    if sw.target is not None and m != "success_rate":
        t.add_column("reached", justify="right")
    shown = ranked if top < 0 else ranked[:top]
    for st in shown:
        pt = sw.points[st.point]
        row = [str(st.rank)]
        if many_bases:
            row.append(escape(sw.bases[pt.base].label))
        row += [show_value(pt.values[n]) if n in pt.values else "–" for n in names]
        row.append(_value(st.value, m) if st.state == "ok" else _failed_cell(st))
        if n_seeds > 1 and m != "success_rate":
            row.append(_spread(st, m))
        row.append(f"[red]{st.diverged}/{st.runs}[/]" if st.diverged else f"0/{st.runs}")
        if sw.target is not None and m != "success_rate":
            row.append(f"{st.reached}/{st.runs}")
        t.add_row(*row)
    if len(shown) < len(ranked):
        more = len(ranked) - len(shown)
        t.caption = f"{more} more (--top -1 shows all)"
        t.caption_justify = "left"
    return t


def heading(sw: SweepResult) -> str:
    """The line above the ranked table: problem, optimizers, size of the sweep."""
    n_seeds = len(sw.seeds)
    opts = ", ".join(b.label for b in sw.bases)
    seeds = f"{n_seeds} seeds" if n_seeds > 1 else "1 seed"
    return (
        f"{sw.problem}: {opts}, {len(sw.points)} configurations x {seeds} = {sw.runs} runs "
        f"of {sw.steps} steps"
    )


def _scale(stats: list[PointStat], metric: str) -> tuple[float, float, bool]:
    vals = [s.value for s in stats if math.isfinite(s.value)]
    if not vals:
        return 0.0, 1.0, False
    log = metric in ("final_loss", "best_loss") and min(vals) > 0
    if log:
        vals = [math.log10(v) for v in vals]
    return min(vals), max(vals), log


def _colour(st: PointStat, lo: float, hi: float, log: bool, metric: str) -> str:
    v = math.log10(st.value) if log else st.value
    frac = 0.5 if hi == lo else (v - lo) / (hi - lo)
    goodness = frac if metric == "success_rate" else 1.0 - frac
    k = min(len(VIRIDIS) - 1, max(0, round(goodness * (len(VIRIDIS) - 1))))
    text = "white" if k < 4 else "black"
    return f"{text} on {VIRIDIS[k]}"


def heatmap_table(sw: SweepResult, hm: Heatmap, metric: str | None = None) -> Table:
    """One heatmap as a table: a row per value of the first axis, a column per the second."""
    m = metric or sw.metric
    return _heatmap(hm, sw.stats(m), m, _heatmap_title(sw, hm, m))


def _heatmap_title(sw: SweepResult, hm: Heatmap, metric: str) -> str:
    from adambench.sweeps.grid import METRIC_NAMES

    what = METRIC_NAMES[metric]
    stat = what if metric == "success_rate" or len(sw.seeds) == 1 else f"median {what}"
    head = f"{hm.title}: " if hm.title else ""
    return f"{head}{stat} ({hm.row_name} x {hm.col_name})"


def _heatmap(hm: Heatmap, stats: list[PointStat], metric: str, title: str) -> Table:
    from rich import box
    from rich.markup import escape as esc
    from rich.table import Table

    t = Table(
        title=esc(title),
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        min_width=len(title),  # a narrow grid stretches rather than wrap its title
    )
    t.add_column(esc(f"{hm.row_name} \\ {hm.col_name}"), no_wrap=True)
    for label in hm.col_labels:
        t.add_column(label, justify="right", no_wrap=True)
    cell_stats = [stats[p] for row in hm.cells for p in row if p is not None]
    lo, hi, log = _scale(cell_stats, metric)
    marked = set(hm.marked)
    for r, row in enumerate(hm.cells):
        out = [esc(hm.row_labels[r])]
        for c, p in enumerate(row):
            if p is None:
                out.append("")
                continue
            st = stats[p]
            if st.state == "diverged":
                out.append("[bold red]diverged[/]")
            elif st.state == "not_reached":
                out.append("[dim]–[/]")
            else:
                text = _value(st.value, metric)
                if (r, c) in marked:
                    text = f"{BEST_MARK} {text}"
                    out.append(f"[bold {_colour(st, lo, hi, log, metric)}] {text} [/]")
                else:
                    out.append(f"[{_colour(st, lo, hi, log, metric)}] {text} [/]")
        t.add_row(*out)
    return t


def best_line(sw: SweepResult, metric: str | None = None) -> str:
    """One line under the tables: the best configuration and its value."""
    from adambench.sweeps.grid import METRIC_NAMES

    m = metric or sw.metric
    best = sw.best(m)
    if best is None:
        return ""
    label = sw.points[best.point].label
    what = METRIC_NAMES[m]
    if best.state != "ok":
        reason = "diverged" if best.state == "diverged" else "never reached the target"
        return (
            f"no configuration has a finite median {what}: at least half the runs of each {reason}"
        )
    if m == "success_rate":
        return f"best: {label}, reached the target in {best.reached} of {best.runs} runs"
    median = "median " if best.runs > 1 else ""
    return f"best: {label}, {median}{what} {_value(best.value, m)}"


def footnotes(sw: SweepResult, metric: str | None = None) -> list[str]:
    """The aggregation rule and what the tool noticed, for under the tables."""
    lines = [sw.rule(metric)]
    failed = sum(1 for s in sw.stats(metric) if s.state == "diverged")
    if failed:
        lines.append(
            f"{failed} of {len(sw.points)} configurations diverged on at least half their seeds"
        )
    return lines + list(sw.notes)


def tuning_table(tuning: Tuning) -> Table:
    """The tuning grid of a tuned comparison: a column per optimizer, its choice marked ★."""
    from adambench.sweeps.grid import METRIC_NAMES

    what = METRIC_NAMES[tuning.metric]
    stat = what if tuning.metric == "success_rate" else f"median {what}"
    title = f"tuning {tuning.param}: {stat} at each value ({BEST_MARK} chosen)"
    return _heatmap(tuning.heatmap(), tuning.sweep.stats(), tuning.metric, title)
