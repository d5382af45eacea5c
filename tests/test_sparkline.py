"""The sparkline column of the convergence table: a pure function and its scale."""

from __future__ import annotations

import math

import pytest
from rich.console import Console

import adambench
from adambench.report.tables import SPARK_BARS, fitted_table, spark_cells, sparkline


def test_sparkline_maps_the_range_onto_eight_bars():
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7], 0, 8) == SPARK_BARS == "▁▂▃▄▅▆▇█"
    assert sparkline([8, 100, -5], 0, 8) == "██▁"  # clipped to the range
    assert sparkline([math.nan, math.inf, 3.0], 0, 8) == " ×▄"
    assert sparkline([1.0, 2.0], 5, 5) == "▄▄"  # no range: a middle bar
    assert sparkline([], 0, 1) == ""


def test_spark_cells_share_one_log_scale_across_rows():
    r = adambench.run("beale", ["adam(lr=0.1)", "adam"], steps=400)
    fast, slow = spark_cells(r, 10)
    assert len(fast) == len(slow) == 10
    assert slow[0] == "█"  # the highest mean of the table: its top
    assert fast[-1] == "▁"  # reached the lowest loss of the table
    assert SPARK_BARS.index(slow[-1]) > 4  # adam at lr 1e-3 barely moved (on a log scale)
    # Reference: each bar is the mean of log10(loss) over a tenth of the steps, placed on
    # the table's range of those means (plain loops over the documented definition).
    means = []
    for run in r.runs:
        logs = [math.log10(v) for v in run.loss_trace]
        size, extra = divmod(len(logs), 10)
        chunks, at = [], 0
        for k in range(10):
            n = size + (1 if k < extra else 0)
            chunks.append(sum(logs[at : at + n]) / n)
            at += n
        means.append(chunks)
    hi = max(max(m) for m in means)
    lo = max(min(min(m) for m in means), hi - 12)
    expected = [
        "".join(SPARK_BARS[min(7, int((v - lo) / (hi - lo) * 8))] for v in m) for m in means
    ]
    assert [fast, slow] == expected
    assert sorted(slow, key=SPARK_BARS.index, reverse=True) == list(slow)  # adam: monotone


def test_spark_cells_show_divergence_and_gaps_to_a_negative_minimum():
    r = adambench.run("beale", ["sgd(lr=1)", "adam(lr=0.1)"], steps=100)
    diverged, fine = spark_cells(r, 10)
    assert diverged.endswith("×") and "×" not in fine
    r = adambench.run("saddle_point", ["adam(lr=0.05)"], steps=300)
    (cell,) = spark_cells(r, 10)  # losses go negative: log of the gap to the minimum -0.25
    assert cell[0] == "█" and cell[-1] == "▁"


def test_spark_cells_use_the_median_over_seeds():
    r = adambench.run("noisy_logreg", ["sgd(lr=0.5)"], steps=200, seeds=3)
    (cell,) = spark_cells(r, 5)
    assert len(cell) == 5 and cell[0] == "█" and cell[-1] in SPARK_BARS[:3]


@pytest.mark.parametrize(("width", "shown"), [(80, False), (120, True)])
def test_the_column_appears_only_when_it_fits_without_cutting_numbers(width, shown):
    r = adambench.run("beale", ["adam", "rmsprop"])  # the README's first table
    console = Console(width=width, no_color=True, record=True)
    console.print(fitted_table(r, console))
    text = console.export_text()
    assert ("loss curve" in text) is shown
    assert "…" not in text  # no number cut short either way
