"""Hyperparameter sweeps and tuned comparisons: grids x seeds in one compiled pass, ranked.

A sweep is a problem, one or more optimizer specs (the *bases*, as ``-O`` takes them) and a grid:
one axis per swept hyperparameter. Axes are written ``NAME=VALUES``:

========================  ============================================================
``lr=1e-3:1:log7``        7 log-spaced values from 1e-3 to 1, both ends included
``momentum=0:0.9:4``      4 evenly spaced values from 0 to 0.9, both ends included
``beta1=0.5,0.9,0.99``    an explicit list (``true,false`` for flags); one value fixes it
``adam.beta1=...``        scoped: applies to the adam bases only
========================  ============================================================

An unscoped axis applies to every base whose optimizer has that hyperparameter; bases without it
run without that axis (a note says so), and a name no base has is refused with a "did you mean".
A scoped axis replaces an unscoped one of the same name for its optimizer. A base that sets a
hyperparameter in its spec (``adam(lr=0.1)``) may not also sweep it. Range values are rounded,
so that grids read well and are the same on every platform: log-spaced values to 3 significant
digits (``1e-3:1:log7`` is 0.001, 0.00316, 0.01, 0.0316, 0.1, 0.316, 1; more digits only where
3 would merge neighbours), linear ones to 12 (``0:0.9:4`` is 0, 0.3, 0.6, 0.9, not
0.30000000000000004). The ends are exactly as written. Every value is validated against its
hyperparameter's range, and the number of runs against ``max_runs``, before anything runs.

Each base's configurations are the Cartesian product of its axes (the first axis varies
slowest), and every configuration runs from the same seeds as ``run`` (``seed .. seed+seeds-1``:
the same start and noise stream per seed, so configurations are compared on common random
numbers). All runs of all bases go through one :func:`adambench.engine.prepare` /
:func:`~adambench.engine.execute` pass, in parallel over configurations x seeds.

Aggregation, per configuration over its seeds, for ``metric``:

- ``final_loss`` / ``best_loss``: the median, with the quartiles as spread. A run that diverged
  (or could not start) counts as +inf, the worst value: a configuration that diverges on at least
  half its seeds has an infinite median and is shown as ``diverged``.
- ``steps_to_target``: the median first step at the target; runs that never reach it (or
  diverge) count as +inf (``not reached``). Ties are broken by the median final loss.
- ``success_rate``: the fraction of runs that reached the target (higher is better); ties by
  median steps to target, then median final loss.

Ranking is by that value (ties: fewer failed runs, then grid order), best first.
"""

from adambench.sweeps.aggregate import (
    Heatmap,
    Outcomes,
    PointStat,
    aggregate,
    heatmaps,
    per_run_values,
)
from adambench.sweeps.bench import BenchResult, run_bench
from adambench.sweeps.bench_suite import Suite, load_suite
from adambench.sweeps.config import SWEEP_KEYS, SweepSpec, load_sweep_file
from adambench.sweeps.execution import sweep
from adambench.sweeps.grid import (
    GRID_DIGITS,
    LOG_DIGITS,
    MAX_AXIS_POINTS,
    MAX_HEATMAPS,
    MAX_RUNS,
    METRIC_NAMES,
    METRICS,
    Axis,
    Value,
    make_axis,
    parse_axis,
    parse_values,
    show_value,
)
from adambench.sweeps.plan import Base, Plan, Point, plan
from adambench.sweeps.result import (
    SweepResult,
    check_metric,
    load_sweep_result,
    outcomes_of,
    points_dicts,
    rule_text,
)
from adambench.sweeps.tune_grid import TuneAxis
from adambench.sweeps.tuning import Choice, TunedResult, Tuning, run_tuned, tune

__all__ = [
    "GRID_DIGITS",
    "LOG_DIGITS",
    "MAX_AXIS_POINTS",
    "MAX_HEATMAPS",
    "MAX_RUNS",
    "METRICS",
    "METRIC_NAMES",
    "SWEEP_KEYS",
    "Axis",
    "Base",
    "BenchResult",
    "Choice",
    "Heatmap",
    "Outcomes",
    "Plan",
    "Point",
    "PointStat",
    "Suite",
    "SweepResult",
    "SweepSpec",
    "TuneAxis",
    "TunedResult",
    "Tuning",
    "Value",
    "aggregate",
    "check_metric",
    "heatmaps",
    "load_suite",
    "load_sweep_file",
    "load_sweep_result",
    "make_axis",
    "outcomes_of",
    "parse_axis",
    "parse_values",
    "per_run_values",
    "plan",
    "points_dicts",
    "rule_text",
    "run_bench",
    "run_tuned",
    "show_value",
    "sweep",
    "tune",
]
