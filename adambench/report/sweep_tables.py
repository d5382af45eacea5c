"""Rendering sweeps: the ranked table, the heatmap tables and the tuned-comparison table.

Nothing here computes; it formats what :mod:`adambench.sweeps` aggregated. Heatmap cells are
coloured on a viridis scale (colour-blind safe, the same map as ``--plot``): bright yellow is
the best value, dark purple the worst, log-scaled for positive losses. A configuration whose
median failed is written out (``diverged``, or ``–`` for "never reached the target"), never
shown as a number or a colour; the best cell is marked ★ so it stands out without colour too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from adambench.numbers import distinct_number, format_number

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import JustifyMethod, Text

    from adambench.sweeps.aggregate import Heatmap, PointStat
    from adambench.sweeps.result import SweepResult
    from adambench.sweeps.tuning import Tuning

__all__ = [
    "BEST_MARK",
    "COLOUR_DECADES",
    "FRAGILE_MARK",
    "RANKED_DROP_ORDER",
    "VIRIDIS",
    "ColourScale",
    "best_line",
    "colour_scale",
    "footnotes",
    "gap_offset",
    "heading",
    "heading_text",
    "heatmap_table",
    "keys",
    "ranked_table",
    "shown_name",
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
#: Marks a fragile configuration: a finite median although some of its seeds failed.
FRAGILE_MARK = "!"
#: A log colour scale spans at most this many decades below the worst value shown.
COLOUR_DECADES = 4

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


def gap_offset(sw: SweepResult, metric: str) -> float:
    """What the tables subtract from a loss to show it: the problem's minimum value when it is
    known and not zero (the tables then show the gap to it, so that runs near a non-zero
    minimum can be told apart), else 0 (the loss itself)."""
    if metric in ("final_loss", "best_loss") and sw.minimum is not None and sw.minimum != 0:
        return sw.minimum
    return 0.0


def shown_name(sw: SweepResult, metric: str) -> str:
    """The name of what the tables show for ``metric``: ``final gap`` when they show the gap
    to the minimum (:func:`gap_offset`), else the metric's name."""
    from adambench.sweeps.grid import METRIC_NAMES

    if gap_offset(sw, metric):
        return METRIC_NAMES[metric].replace(" loss", " gap")
    return METRIC_NAMES[metric]


def _spread(st: PointStat, metric: str, offset: float) -> str:
    """The quartiles; ``∞`` where a quartile falls on failed runs."""
    if metric == "success_rate" or st.runs == 1 or not math.isfinite(st.q1) or st.q1 == st.q3:
        return ""
    q1, q3 = st.q1 - offset, st.q3 - offset
    style = "steps" if metric == "steps_to_target" else "sweep_spread"
    if math.isfinite(q3) and format_number(q1, style) == format_number(q3, style):
        style = "table"  # two digits would hide the spread: show four
    hi = format_number(q3, style) if math.isfinite(q3) else "∞"
    return f"{format_number(q1, style)}…{hi}"


def _failed_cell(st: PointStat) -> str:
    return "[bold red]diverged[/]" if st.state == "diverged" else "[dim]not reached[/]"


def _rank_cell(st: PointStat, metric: str) -> str:
    """The rank, marked :data:`FRAGILE_MARK` when some of the configuration's runs missed."""
    if st.fragile and metric != "success_rate":
        return f"{st.rank}[bold yellow]{FRAGILE_MARK}[/]"
    return str(st.rank)


def ranked_table(sw: SweepResult, metric: str | None = None, top: int = 10) -> Table:
    """The configurations, best first: swept values, median and quartiles over the seeds,
    and how many runs diverged or reached the target; a rank marked ``!`` is a fragile
    configuration (some seeds failed: :func:`footnotes` says so).

    ``top`` limits the rows (negative: all); the caption says how many were left out.
    """
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from adambench.sweeps.grid import show_value

    m = metric or sw.metric
    ranked = sw.ranked(m)
    names = sw.swept_names()
    many_bases = len(sw.bases) > 1
    spread = len(sw.seeds) > 1 and m != "success_rate"
    reached = sw.target is not None and m != "success_rate"
    offset = gap_offset(sw, m)
    t = Table(header_style="bold", box=box.SIMPLE_HEAD, collapse_padding=True)
    t.add_column("#", justify="right")
    if many_bases:
        t.add_column("optimizer", no_wrap=True)
    for n in names:
        t.add_column(n, justify="right")
    t.add_column(shown_name(sw, m), justify="right")
    if spread:
        t.add_column("q1…q3", justify="right", style="dim")
    t.add_column("diverged", justify="right")
    if reached:
        t.add_column("reached", justify="right")
    shown = ranked if top < 0 else ranked[:top]
    for st in shown:
        pt = sw.points[st.point]
        row = [_rank_cell(st, m)]
        if many_bases:
            row.append(escape(sw.bases[pt.base].label))
        row += [show_value(pt.values[n]) if n in pt.values else "–" for n in names]
        row.append(_value(st.value - offset, m) if st.state == "ok" else _failed_cell(st))
        if spread:
            row.append(_spread(st, m, offset))
        row.append(f"[red]{st.diverged}/{st.runs}[/]" if st.diverged else f"0/{st.runs}")
        if reached:
            row.append(f"{st.reached}/{st.runs}")
        t.add_row(*row)
    if len(shown) < len(ranked):
        more = len(ranked) - len(shown)
        t.caption = f"{more} more (--top -1 shows all)"
        t.caption_justify = "left"
    return t


def heading(sw: SweepResult) -> str:
    """The line above the ranked table: problem, optimizers, size of the sweep."""
    return heading_text(
        sw.problem,
        [b.label for b in sw.bases],
        len(sw.points),
        len(sw.seeds),
        sw.steps,
        sw.dtype,
    )


def heading_text(
    problem: str,
    labels: Sequence[str],
    points: int,
    seeds: int,
    steps: int,
    dtype: str = "float64",
) -> str:
    """``problem: opts, N configurations x K seeds = R runs of S steps``: what a sweep is about
    to run (shown before it starts) or ran; `` in float32`` follows when not in float64."""
    many = f"{seeds} seeds" if seeds > 1 else "1 seed"
    in_dtype = f" in {dtype}" if dtype != "float64" else ""
    return (
        f"{problem}: {', '.join(labels)}, {points} configurations x {many} = "
        f"{points * seeds} runs of {steps} steps{in_dtype}"
    )


@dataclass(frozen=True)
class ColourScale:
    """How a heatmap's values map to colours: ``worst`` (dark) to ``best`` (bright), both in
    the values' units; log-scaled for non-negative losses, where ``best`` is at most
    :data:`COLOUR_DECADES` decades below ``worst`` (``capped``: lower values, zero included,
    take the brightest colour), so that the range that tells configurations apart gets the
    colours rather than a few extreme ones."""

    worst: float
    best: float
    log: bool
    capped: bool

    def position(self, v: float) -> float:
        """Where ``v`` sits on the scale's axis (log10 for a log scale), clamped to the scale."""
        lo, hi = sorted((self.worst, self.best))
        v = min(max(v, lo), hi)
        return math.log10(v) if self.log else v

    def goodness(self, v: float) -> float:
        """0 at the worst value, 1 at the best (and beyond it)."""
        worst, best = self.position(self.worst), self.position(self.best)
        return 0.5 if worst == best else (self.position(v) - worst) / (best - worst)


def colour_scale(values: Sequence[float], metric: str) -> ColourScale:
    """The colour scale of a heatmap's finite ``values`` (shown values: gaps where the tables
    show gaps). Higher is better only for success_rate."""
    vals = [v for v in values if math.isfinite(v)]
    if not vals:
        return ColourScale(0.0, 1.0, False, False)
    lo, hi = min(vals), max(vals)
    if metric == "success_rate":
        return ColourScale(lo, hi, False, False)
    if metric in ("final_loss", "best_loss") and lo >= 0 and hi > 0:
        floor = hi / 10.0**COLOUR_DECADES
        best = max(lo, floor) if lo > 0 else max(min(v for v in vals if v > 0), floor)
        return ColourScale(hi, best, True, lo < floor or lo == 0)
    return ColourScale(hi, lo, False, False)


def _colour(goodness: float) -> str:
    """The cell style of a value at ``goodness`` (0 worst .. 1 best): a viridis background."""
    k = min(len(VIRIDIS) - 1, max(0, round(goodness * (len(VIRIDIS) - 1))))
    text = "white" if k < 4 else "black"
    return f"{text} on {VIRIDIS[k]}"


def heatmap_table(sw: SweepResult, hm: Heatmap, metric: str | None = None) -> RenderableType:
    """One heatmap as a table (a row per value of the first axis, a column per the second),
    with its colour legend under it."""
    m = metric or sw.metric
    return _heatmap(hm, sw.stats(m), m, _heatmap_title(sw, hm, m), gap_offset(sw, m))


def _heatmap_title(sw: SweepResult, hm: Heatmap, metric: str) -> str:
    what = shown_name(sw, metric)
    stat = what if metric == "success_rate" or len(sw.seeds) == 1 else f"median {what}"
    head = f"{hm.title}: " if hm.title else ""
    return f"{head}{stat} ({hm.row_name} x {hm.col_name})"


def _padded(text: str, style: str = "", justify: JustifyMethod = "right") -> Padding:
    """A cell's text with one space either side, the whole cell (to the column's full width)
    in ``style``: a coloured cell is a block, not coloured digits in a ragged grid."""
    from rich.padding import Padding
    from rich.text import Text

    pad = (0, 1) if justify == "right" else (0, 1, 0, 0)
    return Padding(Text.from_markup(text, justify=justify), pad, style=style)


def _heatmap(
    hm: Heatmap, stats: list[PointStat], metric: str, title: str, offset: float = 0.0
) -> RenderableType:
    from rich import box
    from rich.console import Group
    from rich.markup import escape as esc
    from rich.table import Table

    t = Table(
        title=esc(title),
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=0,
        min_width=len(title),  # a narrow grid stretches rather than wrap its title
    )
    t.add_column(_padded(esc(f"{hm.row_name} \\ {hm.col_name}"), justify="left"), no_wrap=True)
    for label in hm.col_labels:
        t.add_column(_padded(esc(label)), justify="right", no_wrap=True)
    shown = [stats[p].value - offset for row in hm.cells for p in row if p is not None]
    scale = colour_scale(shown, metric)
    for r, row in enumerate(hm.cells):
        cells = [_padded(esc(hm.row_labels[r]), justify="left")]
        cells += [_heatmap_cell(hm, stats, (r, c), p, metric, scale, offset) for c, p in
                  enumerate(row)]  # fmt: skip
        t.add_row(*cells)
    return Group(t, _Legend(scale, metric))


def _heatmap_cell(
    hm: Heatmap,
    stats: list[PointStat],
    at: tuple[int, int],
    p: int | None,
    metric: str,
    scale: ColourScale,
    offset: float,
) -> Padding:
    """One cell: the value on its colour (★ best, ! fragile), or its failure written out."""
    if p is None:
        return _padded("")
    st = stats[p]
    if st.state == "diverged":
        return _padded("[bold red]diverged[/]")
    if st.state == "not_reached":
        return _padded("[dim]–[/]")
    v = st.value - offset
    text = _value(v, metric)
    if st.fragile and metric != "success_rate":
        text = f"{FRAGILE_MARK} {text}"
    style = _colour(scale.goodness(v))
    if at in hm.marked:
        text, style = f"{BEST_MARK} {text}", f"bold {style}"
    return _padded(text, style)


class _Legend:
    """What a heatmap's colours mean, under it: the colours from worst to best with their
    values, and the cap of the scale. Printed only where colours are (not with NO_COLOR, not
    into a pipe), since without them there is nothing to explain."""

    def __init__(self, scale: ColourScale, metric: str) -> None:
        self.scale, self.metric = scale, metric

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if console.no_color or console.color_system is None:
            return
        yield self.text()

    def text(self) -> Text:
        """The legend line, e.g. ``worst 9.988 ████████ best 9.99e-04 and below (log scale,
        4 decades)``: the colours from the worst value to the best."""
        from rich.text import Text

        sc, m = self.scale, self.metric
        line = Text()
        line.append(f"worst {_value(sc.worst, m)} ", style="dim")
        for colour in VIRIDIS:
            line.append("█", style=colour)
        line.append(f" best {_value(sc.best, m)}", style="dim")
        if sc.capped:
            line.append(f" and below (log scale, {COLOUR_DECADES} decades)", style="dim")
        elif sc.log:
            line.append(" (log scale)", style="dim")
        return line


def best_line(sw: SweepResult, metric: str | None = None) -> str:
    """One line under the tables: the best configuration and its value (and its gap to the
    minimum where the tables show gaps)."""
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
    offset = gap_offset(sw, m)
    if offset:
        gap = _value(best.value - offset, m)
        loss = distinct_number(best.value, offset)  # the digits that tell it from the minimum
        return f"best: {label}, {median}{shown_name(sw, m)} {gap} ({what} {loss})"
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


def keys(sw: SweepResult, metric: str | None = None) -> list[str]:
    """What the tables' marks and columns mean, where they need saying (under the rule): the
    fragile mark when a configuration has it, the gap when the tables show gaps."""
    from adambench.sweeps.grid import METRIC_NAMES

    m = metric or sw.metric
    lines = []
    if m != "success_rate" and any(st.fragile for st in sw.stats(m)):
        missed = "failed or never reached the target" if m == "steps_to_target" else "failed"
        lines.append(
            f"{FRAGILE_MARK} fragile: some seeds {missed}; ranked below every configuration with "
            "fewer such runs, whatever its median"
        )
    offset = gap_offset(sw, m)
    if offset:
        lines.append(
            f"{shown_name(sw, m)} = {METRIC_NAMES[m]} - the minimum of {sw.problem} "
            f"({format_number(offset, 'detail')}); the ranking is the same"
        )
    return lines


def tuning_table(tuning: Tuning) -> RenderableType:
    """The tuning grid of a tuned comparison: a column per optimizer, its choice marked ★."""
    sw, m = tuning.sweep, tuning.metric
    what = shown_name(sw, m)
    stat = what if m == "success_rate" else f"median {what}"
    title = f"tuning {tuning.param}: {stat} at each value ({BEST_MARK} chosen)"
    return _heatmap(tuning.heatmap(), sw.stats(), m, title, gap_offset(sw, m))
