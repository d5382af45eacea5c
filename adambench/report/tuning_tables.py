"""Rendering a tuned comparison's search: the grid of one tuned hyperparameter (a row per value,
a column per optimizer), or with several, each optimizer's best points ranked and a heatmap
per optimizer of its first two axes (the further ones held at its chosen values)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adambench.numbers import format_number

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table

    from adambench.sweeps.tuning import Tuning

__all__ = ["TOP_PER_OPTIMIZER", "best_points_table", "tuning_tables"]

#: Rows per optimizer of the ranked table of a tuning over several hyperparameters.
TOP_PER_OPTIMIZER = 3


def tuning_tables(tuning: Tuning) -> list[RenderableType]:
    """What ``run --tune`` prints under the comparison: one grid for one hyperparameter; for
    several, :func:`best_points_table` and a heatmap per optimizer."""
    from adambench.report.sweep_tables import heatmap_table, tuning_table

    if len(tuning.axes) == 1:
        return [tuning_table(tuning)]
    sw = tuning.sweep
    return [best_points_table(tuning)] + [heatmap_table(sw, hm) for hm in tuning.heatmaps()]


def best_points_table(tuning: Tuning, top: int = TOP_PER_OPTIMIZER) -> Table:
    """Each optimizer's ``top`` points of the tuning grid, best first (its choice marked ★):
    the tuned values, the median metric over the tuning seeds and the failed runs."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from adambench.report.sweep_tables import BEST_MARK, gap_offset, shown_name
    from adambench.sweeps.grid import show_value

    sw, m = tuning.sweep, tuning.metric
    stats = sw.stats()
    what = shown_name(sw, m)
    stat = what if m == "success_rate" or len(sw.seeds) == 1 else f"median {what}"
    n = tuning.points_per_optimizer
    title = f"tuning {' x '.join(tuning.names)}: the best {min(top, n)} of {n} points per "
    title += f"optimizer ({BEST_MARK} chosen)"
    t = Table(
        title=escape(title),
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
        min_width=len(title),  # a narrow table stretches rather than wrap its title
    )
    t.add_column("optimizer", no_wrap=True)
    t.add_column("#", justify="right")
    for name in tuning.names:
        t.add_column(name, justify="right")
    t.add_column(stat, justify="right")
    t.add_column("failed", justify="right")
    offset = gap_offset(sw, m)
    for c in tuning.choices:
        mine = [st for st in stats if sw.points[st.point].base == c.base]
        mine = sorted(mine, key=lambda st: st.rank)[:top]
        for i, st in enumerate(mine):
            values = sw.points[st.point].values
            cell = _metric_cell(st.value - offset, st.state, m)
            if i == 0 and st.state == "ok":
                cell = f"{BEST_MARK} {cell}"
            t.add_row(
                escape(c.label) if i == 0 else "",
                str(i + 1),
                *(show_value(values[name]) for name in tuning.names),
                cell,
                f"[red]{st.failed}/{st.runs}[/]" if st.failed else f"0/{st.runs}",
                end_section=i == len(mine) - 1,
            )
    return t


def _metric_cell(value: float, state: str, metric: str) -> str:
    if state == "diverged":
        return "[bold red]diverged[/]"
    if state == "not_reached":
        return "[dim]not reached[/]"
    style = {"success_rate": "percent", "steps_to_target": "steps"}.get(metric, "table")
    return format_number(value, style)
