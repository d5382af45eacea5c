"""Rendering a bench: a table of every problem's tuned optimizers, the suite summary (average
rank with its bootstrap interval, the performance profile), the ECDF as a text curve, and the
verdict. Formats only; the numbers come from :class:`adambench.sweeps.bench.BenchResult`."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from adambench.numbers import format_number

if TYPE_CHECKING:
    from rich.table import Table

    from adambench.sweeps.bench import BenchResult, OptimizerOutcome

__all__ = [
    "PROFILE_COLUMNS",
    "column_keys",
    "ecdf_lines",
    "heading_text",
    "problems_table",
    "summary_table",
    "timing_text",
]

#: The factors tau of the performance profile the summary table shows (the JSON has them all).
PROFILE_COLUMNS = (1.0, 2.0, 8.0)


def heading_text(bench: BenchResult) -> str:
    """``bench card: 5 problems x 4 optimizers x 20 seeds, lr tuned per problem``."""
    e, o, s = len(bench.entries), len(bench.optimizers), len(bench.seeds)
    return (
        f"bench {bench.suite}: {e} problem{'s' if e != 1 else ''} x {o} optimizer"
        f"{'s' if o != 1 else ''} x {s} seed{'s' if s != 1 else ''}, tuned: {bench.tuning_text()}"
    )


def timing_text(bench: BenchResult) -> str:
    """``took 3.2 s: 2.5 s running 480 runs (+ 0.7 s compiling 4 kernels cold, now cached)``;
    the compile time apart, as a second bench with the same kernels will not pay it."""
    t = bench.timings
    line = (
        f"took {t.get('total_s', 0.0):.1f} s: {t.get('run_s', 0.0):.1f} s running "
        f"{bench.runs:,} runs (tuning and reported)"
    )
    if bench.compiled:
        n = bench.compiled
        line += (
            f" (+ {t.get('compile_s', 0.0):.1f} s compiling {n} kernel{'s' if n != 1 else ''} "
            "cold, now cached)"
        )
    return line


def _new_table(title: str) -> Table:
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    return Table(
        title=escape(title),
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
    )


def problems_table(bench: BenchResult) -> Table:
    """A row per (problem, optimizer): the tuned point, the success rate, the ERT, and the
    medians over seeds of the steps to target and of the final gap."""
    from rich.markup import escape

    t = _new_table("per problem, each optimizer at its tuned point")
    t.add_column("problem", no_wrap=True)
    t.add_column("optimizer", no_wrap=True)
    t.add_column("tuned", no_wrap=True)
    for name in ("success", "ERT", "to target", "final gap"):
        t.add_column(name, justify="right")
    for e in bench.entries:
        for j, o in enumerate(e.outcomes):
            t.add_row(
                escape(e.label) if j == 0 else "",
                escape(o.optimizer),
                escape(_tuned_text(o)),
                f"{o.successes}/{len(o.runs)}",
                _ert_cell(o.ert),
                format_number(o.median("steps_to_target"), "steps"),
                format_number(o.median("final_gap"), "table"),
                end_section=j == len(e.outcomes) - 1,
            )
    return t


def _tuned_text(o: OptimizerOutcome) -> str:
    from adambench.sweeps.grid import show_value

    text = ", ".join(f"{k}={show_value(v)}" for k, v in o.tuned.items())
    return text + "*" if o.at_edge else text


def _ert_cell(ert: float) -> str:
    return "∞" if not math.isfinite(ert) else format_number(ert, "steps")


def summary_table(bench: BenchResult) -> Table:
    """A row per optimizer, best average rank first: the rank, its bootstrap interval, and the
    share of problems whose ERT is within 1x, 2x and 8x of the best optimizer's."""
    from rich.markup import escape

    from adambench.sweeps.bench_stats import BOOTSTRAP_LEVEL, PROFILE_TAUS

    ranks, low, high = bench.ranks()
    profile = bench.profile()
    level = f"{100 * BOOTSTRAP_LEVEL:.0f}%"
    t = _new_table(f"across {len(bench.entries)} problems, ranked by ERT")
    t.add_column("optimizer", no_wrap=True)
    t.add_column("avg rank", justify="right")
    t.add_column(f"{level} interval", justify="right")
    t.add_column("solved", justify="right")
    for tau in PROFILE_COLUMNS:
        t.add_column("best" if tau == 1 else f"≤{tau:g}x", justify="right")
    order = sorted(range(len(bench.optimizers)), key=lambda j: (ranks[j], j))
    erts = bench.erts()
    for j in order:
        solved = int(sum(math.isfinite(v) for v in erts[:, j]))
        cells = [
            format_number(profile[j][PROFILE_TAUS.index(tau)], "percent") for tau in PROFILE_COLUMNS
        ]
        t.add_row(
            escape(bench.optimizers[j]),
            f"{ranks[j]:.2f}",
            f"{low[j]:.2f}–{high[j]:.2f}",
            f"{solved}/{len(bench.entries)}",
            *cells,
        )
    return t


def column_keys() -> list[str]:
    """What the columns of the two tables mean (printed dim under them)."""
    shown = ", ".join("best" if t == 1 else f"≤{t:g}x" for t in PROFILE_COLUMNS)
    return [
        "ERT: steps of all seeds / successes (∞: none); to target, final gap: medians",
        "*: at an end of the tuning range (a note names it)",
        f"{shown}: share of problems with the best ERT, or within that factor of it",
    ]


def ecdf_lines(bench: BenchResult) -> list[str]:
    """The ECDF as text: a line per optimizer, one bar per step mark (▁ none to █ all of the
    (problem, target, seed) triples reached by that step), and the share reached at the end."""
    from adambench.report.tables import sparkline

    steps, fractions = bench.ecdf()
    if all(math.isnan(f[0]) for f in fractions):
        return ["ECDF: no problem of the suite has a known minimum"]
    width = max(len(name) for name in bench.optimizers)
    lines = [
        f"ECDF of (problem, target, seed) triples reached, steps {steps[0]}..{steps[-1]} "
        "(log scale):"
    ]
    for name, f in zip(bench.optimizers, fractions, strict=True):
        lines.append(
            f"  {name:<{width}}  {sparkline(f, 0.0, 1.0)}  {format_number(f[-1], 'percent')}"
        )
    return lines
