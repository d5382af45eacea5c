"""The result of a sweep, its JSON form, and reading it back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from adambench.errors import ConfigError, UsageError, did_you_mean
from adambench.limits import DTYPES

if TYPE_CHECKING:
    from adambench.engine.results import Result
from adambench.sweeps.aggregate import (
    RANKING,
    Heatmap,
    Outcomes,
    PointStat,
    aggregate,
    heatmaps,
)
from adambench.sweeps.grid import HELD_OUT_METRICS, METRIC_NAMES, METRICS, Axis
from adambench.sweeps.plan import Base, Point

__all__ = [
    "SweepResult",
    "check_metric",
    "load_sweep_result",
    "outcomes_of",
    "points_dicts",
    "ranking_text",
    "rule_text",
]


@dataclass
class SweepResult:
    """A finished (or reloaded) sweep: its grid, every run's outcome, and views of them.

    ``result`` is the full :class:`~adambench.engine.results.Result` (every run, as ``run`` returns)
    for a sweep that ran in this process, and None for one reloaded from a JSON file;
    ``minimum`` is the problem's minimum value, when known.
    """

    problem: str
    target: float | None
    steps: int
    seeds: tuple[int, ...]
    bases: list[Base]
    axes: list[Axis]
    points: list[Point]
    outcomes: Outcomes
    metric: str = "final_loss"
    notes: list[str] = field(default_factory=list)
    result: Result | None = None
    minimum: float | None = None  # the problem's minimum value, when known
    dtype: str = "float64"  # of the parameters and state (results before 0.2 have float64)
    held_out: bool = False  # the problem holds rows out (test_loss, test_error can rank)

    def __post_init__(self) -> None:
        check_metric(self.metric, self.target, self.problem, self.held_out)

    @property
    def runs(self) -> int:
        return len(self.points) * len(self.seeds)

    def stats(self, metric: str | None = None) -> list[PointStat]:
        """Per-configuration statistics in grid order (see :func:`aggregate`)."""
        m = metric or self.metric
        check_metric(m, self.target, self.problem, self.held_out)
        return aggregate(self.outcomes, m)

    def ranked(self, metric: str | None = None) -> list[PointStat]:
        """The statistics, best first."""
        return sorted(self.stats(metric), key=lambda s: s.rank)

    def best(self, metric: str | None = None) -> PointStat | None:
        r = self.ranked(metric)
        return r[0] if r else None

    def heatmaps(self, metric: str | None = None) -> list[Heatmap]:
        return heatmaps(self.bases, self.axes, self.points, self.stats(metric))

    def swept_names(self) -> list[str]:
        """Names of the hyperparameters that take more than one value, in grid order."""
        names: list[str] = []
        for ax in self.axes:
            if len(ax.values) > 1 and ax.name not in names:
                names.append(ax.name)
        return names

    def rule(self, metric: str | None = None) -> str:
        """The aggregation rule, in words (stated under tables and in the JSON)."""
        return rule_text(metric or self.metric, self.seeds)

    def sweep_dict(self, metric: str | None = None) -> dict[str, Any]:
        """The ``sweep`` block of the JSON result."""
        m = metric or self.metric
        return {
            "metric": m,
            "rule": self.rule(m),
            "ranking": ranking_text(m),
            "seeds": list(self.seeds),
            "steps": self.steps,
            "optimizers": [b.to_dict() for b in self.bases],
            "grid": [ax.to_dict() for ax in self.axes],
            "points": points_dicts(self.points, self.stats(m)),
        }

    def to_dict(self, trace: bool = False) -> dict[str, Any]:
        """The JSON object of ``run`` (every run) plus a ``sweep`` block."""
        if self.result is None:
            raise UsageError("a reloaded sweep has no runs to write again")
        d = self.result.to_dict(trace=trace)
        d["sweep"] = self.sweep_dict()
        return d

    def to_json(self, trace: bool = False) -> str:
        import json

        return json.dumps(self.to_dict(trace), indent=2, allow_nan=False) + "\n"

    def to_csv(self) -> str:
        """One row per run, as ``run`` writes it (swept values are the hp_ columns)."""
        if self.result is None:
            raise UsageError("a reloaded sweep has no runs to write again")
        return self.result.to_csv()

    @staticmethod
    def from_dict(data: Mapping[str, Any], where: str = "<sweep>") -> SweepResult:
        """Rebuild a sweep from its JSON object (``sweep -o FILE.json``) to render it again."""
        return _from_dict(data, where)


def check_metric(metric: str, target: float | None, problem: str, held_out: bool) -> None:
    """Refuse a metric the sweep cannot rank by: unknown, steps to target or success rate
    without a target, a held-out metric on a problem that holds out no rows."""
    if metric not in METRICS:
        raise UsageError(
            f"unknown metric '{metric}'{did_you_mean(metric, METRICS)}; "
            f"choose from {', '.join(METRICS)}"
        )
    if metric in ("steps_to_target", "success_rate") and target is None:
        raise UsageError(f"metric {metric} needs a problem with a target; {problem} has none")
    if metric in HELD_OUT_METRICS and not held_out:
        raise UsageError(
            f"metric {metric} needs held-out rows (a data problem with test_fraction > 0); "
            f"{problem} has none"
        )


def rule_text(metric: str, seeds: Sequence[int]) -> str:
    """The ranking and aggregation rule in one sentence, for under the tables and the JSON."""
    n = len(seeds)
    over = f"seed {seeds[0]}" if n == 1 else f"{n} seeds ({seeds[0]}..{seeds[-1]})"
    tie = RANKING[metric][2].removeprefix("lowest ")
    if metric == "success_rate":
        return (
            f"ranked by the fraction of runs that reached the target over {over}; ties by "
            "median steps to target, then median final loss, then grid order"
        )
    if metric == "steps_to_target":
        failed = "runs that failed or never reached the target"
    else:
        failed = "failed runs (diverged or invalid start)"
    return (
        f"ranked by fewest {failed}, then median {METRIC_NAMES[metric]} over {over}, then "
        f"{tie}, then grid order; those runs count as the worst value"
    )


def ranking_text(metric: str) -> str:
    """The keys of the ranking, in order (the ``ranking`` field of the JSON)."""
    return "; then ".join((*RANKING[metric], "grid order"))


def points_dicts(points: Sequence[Point], stats: Sequence[PointStat]) -> list[dict[str, Any]]:
    from adambench.numbers import finite_or_none

    return [
        {
            "label": pt.label,
            "base": pt.base,
            "values": dict(pt.values),
            "value": finite_or_none(st.value),
            "q1": finite_or_none(st.q1),
            "q3": finite_or_none(st.q3),
            "state": st.state,
            "runs": st.runs,
            "failed": st.failed,
            "diverged": st.diverged,
            "reached": st.reached,
            "rank": st.rank,
        }
        for pt, st in zip(points, stats, strict=True)
    ]


def outcomes_of(result: Result, n_points: int) -> Outcomes:
    """Outcomes of a sweep's runs (configuration k = point k, seeds in settings order)."""
    seed_index = {s: i for i, s in enumerate(result.settings.seeds)}
    o = Outcomes.empty(n_points, len(seed_index))
    for r in result.runs:
        o.set(
            r.config_index, seed_index[r.seed], r.status, r.final_loss, r.best_loss,
            r.steps_to_target, r.test_loss, r.test_accuracy,
        )  # fmt: skip
    return o


def _from_dict(data: Mapping[str, Any], where: str) -> SweepResult:
    block = data.get("sweep")
    if not isinstance(block, Mapping):
        raise ConfigError("not a sweep result (no 'sweep' block)", where=where)
    try:
        seeds = tuple(int(s) for s in data["settings"]["seeds"])
        axes = [
            Axis(
                str(a["name"]),
                a["optimizer"],
                tuple(v if isinstance(v, (bool, str)) else float(v) for v in a["values"]),
                str(a["spec"]),
                str(a["scale"]),
            )
            for a in block["grid"]
        ]
        bases = [
            Base(str(b["label"]), str(b["optimizer"]), dict(b["overrides"]), tuple(b["axes"]))
            for b in block["optimizers"]
        ]
        points = [
            Point(str(p["label"]), int(p["base"]), dict(p["values"])) for p in block["points"]
        ]
        index = {p.label: i for i, p in enumerate(points)}
        seed_index = {s: i for i, s in enumerate(seeds)}
        o = Outcomes.empty(len(points), len(seeds))
        seen = np.zeros((len(points), len(seeds)), bool)
        for r in data["runs"]:
            p, s = index[r["label"]], seed_index[r["seed"]]
            o.set(
                p, s, r["status"], r["final_loss"], r["best_loss"], r["steps_to_target"],
                r.get("test_loss"), r.get("test_accuracy"),
            )  # fmt: skip
            seen[p, s] = True
        if not seen.all():
            raise ConfigError("the sweep's runs are incomplete", where=where)
        prob = data["problem"]
        return SweepResult(
            problem=str(prob["name"]),
            target=prob["target"],
            steps=int(data["settings"]["steps"]),
            seeds=seeds,
            bases=bases,
            axes=axes,
            points=points,
            outcomes=o,
            metric=str(block["metric"]),
            # a held-out problem's runs carry test_loss (null for a failed run)
            held_out=any("test_loss" in r for r in data["runs"]),
            notes=[],
            minimum=_minimum_value(prob),
            dtype=_dtype_of(data["settings"], where),
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ConfigError(
            f"malformed sweep result ({type(exc).__name__}: {exc})", where=where
        ) from None


def _dtype_of(settings: Mapping[str, Any], where: str) -> str:
    """The result's dtype (float64 when absent: results written before there was a choice)."""
    value = settings.get("dtype", "float64")
    if value not in DTYPES:
        raise ConfigError(f"malformed sweep result (dtype {value!r})", where=where)
    return str(value)


def _minimum_value(problem: Mapping[str, Any]) -> float | None:
    """The minimum value in a result's ``problem`` block (None when unknown or absent)."""
    block = problem.get("minimum")
    value = block.get("value") if isinstance(block, Mapping) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def load_sweep_result(path: str | Path) -> SweepResult:
    """Reload a sweep saved with ``-o FILE.json``, for tables and plots without rerunning."""
    from adambench.engine.results import read_result_file

    if Path(path).suffix.lower() == ".csv":
        raise ConfigError(
            "a CSV holds the runs but not the grid; save sweeps as .json to reload them",
            where=str(path),
        )
    return SweepResult.from_dict(read_result_file(path), where=str(path))
