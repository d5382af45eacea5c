"""Tuned comparisons (``run --tune``): every optimizer tuned under the same budget, then run on
held-out seeds."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adambench.errors import UsageError, did_you_mean
from adambench.limits import MAX_SEED, MAX_SEEDS, MAX_TUNE_COUNT, MIN_TUNE_COUNT, check_int

if TYPE_CHECKING:
    from adambench.engine.batches import CompileFn, ProgressFn
    from adambench.engine.results import Result
    from adambench.optimizers.spec import OptimizerConfig
    from adambench.problems import Problem
from adambench.sweeps.aggregate import RANKING, Heatmap, PointStat, heatmaps
from adambench.sweeps.execution import sweep
from adambench.sweeps.grid import METRIC_NAMES, Axis, Value, make_axis
from adambench.sweeps.plan import base_label
from adambench.sweeps.result import SweepResult, check_metric, points_dicts, ranking_text

__all__ = ["Choice", "TunedResult", "Tuning", "run_tuned", "tune"]


@dataclass(frozen=True)
class Choice:
    """The value tuning chose for one optimizer, and how it did there."""

    base: int
    label: str
    value: float
    stat: PointStat
    at_edge: bool


@dataclass
class Tuning:
    """The per-optimizer step-size search that precedes a tuned comparison."""

    param: str
    low: float
    high: float
    count: int
    metric: str
    sweep: SweepResult
    choices: list[Choice]
    eval_seeds: tuple[int, ...]

    @property
    def values(self) -> tuple[Value, ...]:
        return self.sweep.axes[0].values

    def heatmap(self) -> Heatmap:
        """The tuning grid: a row per value, a column per optimizer, each one's choice marked."""
        s = self.sweep
        return heatmaps(s.bases, s.axes, s.points, s.stats(), min_bases=1, per_column=True)[-1]

    def seeds_repeat(self) -> bool:
        """Whether the tuning runs are the reported runs again: a problem with no noise from
        one start gives the same run on every seed, so no seed is "held out"."""
        from adambench.engine.starts import seeds_repeat_one_run

        r = self.sweep.result
        return r is not None and seeds_repeat_one_run(r.problem, r.settings.start)

    def rule(self) -> str:
        """The protocol in one sentence (under the table and in the JSON)."""
        s = self.sweep
        seeds = s.seeds
        over = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}..{seeds[-1]}"
        if self.eval_seeds and self.seeds_repeat():
            over += " (every seed gives the same run here)"
        elif self.eval_seeds:
            shared = set(seeds) & set(self.eval_seeds)
            over += " (shared with" if shared else " (held out from"
            over += " the reported seeds)"
        if self.metric == "success_rate":
            chosen = "the highest success rate"
        else:
            chosen = "the {}, then the {}".format(*RANKING[self.metric][:2])
        return (
            f"{self.param} tuned per optimizer over {self.count} log-spaced values in "
            f"[{self.low:g}, {self.high:g}], {s.steps} steps from {over}; chosen: {chosen}; "
            "the same budget for every optimizer, no gradient clipping"
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``tuning`` block of the JSON result: protocol, choices, every grid point and run."""
        from adambench.engine.results import run_dict
        from adambench.numbers import finite_or_none

        s = self.sweep
        stats = s.stats()
        out: dict[str, Any] = {
            "param": self.param,
            "range": [self.low, self.high],
            "count": self.count,
            "values": list(self.values),
            "metric": self.metric,
            "rule": self.rule(),
            "ranking": ranking_text(self.metric),
            "seeds": list(s.seeds),
            "steps": s.steps,
            "chosen": [
                {
                    "label": c.label,
                    "optimizer": s.bases[c.base].optimizer,
                    "value": c.value,
                    "median": finite_or_none(c.stat.value),
                    "state": c.stat.state,
                    "at_edge": c.at_edge,
                }
                for c in self.choices
            ],
            "optimizers": [b.to_dict() for b in s.bases],
            "points": points_dicts(s.points, stats),
            "runs": [],
        }
        if s.result is not None:
            small = s.result.problem.dim <= 1000
            m = s.result.problem.min_value
            out["runs"] = [run_dict(r, small, False, m) for r in s.result.runs]
        return out


def tune(
    problem: Problem | str | Path,
    optimizers: Sequence[str] | str,
    *,
    param: str = "lr",
    low: float = 1e-4,
    high: float = 1.0,
    count: int = 9,
    metric: str = "final_loss",
    seeds: int = 1,
    seed: int = 0,
    eval_seeds: Sequence[int] = (),
    steps: int | None = None,
    start: Any = None,
    dim: int | None = None,
    threads: int | None = None,
    progress: ProgressFn | None = None,
    on_compile: CompileFn | None = None,
    dtype: str = "float64",
) -> Tuning:
    """Sweep ``param`` over ``count`` log-spaced values in [low, high] for every optimizer
    (the same grid, steps and seeds for each) and pick each one's best value by ``metric``."""
    if isinstance(optimizers, str):
        optimizers = [optimizers]
    axis = _tuning_axis(optimizers, param, low, high, count)
    s = sweep(
        problem,
        optimizers,
        [axis],
        seeds=seeds,
        seed=seed,
        steps=steps,
        start=start,
        metric=metric,
        max_runs=None,
        dim=dim,
        threads=threads,
        progress=progress,
        on_compile=on_compile,
        dtype=dtype,
    )
    choices = _choices(s, axis)
    return Tuning(param, float(low), float(high), count, metric, s, choices, tuple(eval_seeds))


def _tuning_axis(
    optimizers: Sequence[str], param: str, low: float, high: float, count: int
) -> Axis:
    """The values tuning tries, once the search is known to be one it can run: ``param`` is
    lr, ``count`` in range, and no optimizer fixes ``param`` itself."""
    from adambench.optimizers.registry import parse_specs

    if param != "lr":
        raise UsageError(f"--tune supports lr only, got '{param}'{did_you_mean(param, ['lr'])}")
    if not (isinstance(count, int) and MIN_TUNE_COUNT <= count <= MAX_TUNE_COUNT):
        raise UsageError(
            f"--tune-count must be an integer between {MIN_TUNE_COUNT} and {MAX_TUNE_COUNT}, "
            f"got {count}"
        )
    spec = f"{low!r}:{high!r}:log{count}"
    axis = make_axis(param, spec, f"--tune-range {low:g}:{high:g}")
    for name, over in parse_specs(list(optimizers)):
        if param in over:
            raise UsageError(
                f"-O {base_label(name, over)} sets {param}, which --tune {param} chooses; "
                "remove one"
            )
    return axis


def _choices(s: SweepResult, axis: Axis) -> list[Choice]:
    """Each optimizer's best value on the tuning grid (ranked as the sweep ranks points), and
    whether it lies at an end of the range."""
    stats = s.stats()
    choices = []
    for b, base in enumerate(s.bases):
        mine = [st for st in stats if s.points[st.point].base == b]
        best = min(mine, key=lambda st: st.rank)
        value = float(s.points[best.point].values[axis.name])
        ends = (axis.values[0], axis.values[-1])
        edge = value in ends and len(mine) > 1
        choices.append(Choice(b, base.label, value, best, edge))
    return choices


@dataclass
class TunedResult:
    """A tuned comparison: the tuning search and the comparison at the chosen values."""

    result: Result
    tuning: Tuning

    def to_dict(self, trace: bool = False) -> dict[str, Any]:
        d = self.result.to_dict(trace=trace)
        d["tuning"] = self.tuning.to_dict()
        return d

    def to_json(self, trace: bool = False) -> str:
        import json

        return json.dumps(self.to_dict(trace), indent=2, allow_nan=False) + "\n"

    def to_csv(self) -> str:
        """Every run of the tuning grid (phase ``tune``) and of the comparison (``compare``),
        in the columns of ``run``'s CSV plus a last column ``phase``."""
        assert self.tuning.sweep.result is not None
        tune_rows = self.tuning.sweep.result.to_csv().splitlines()
        comp_rows = self.result.to_csv().splitlines()
        if tune_rows[0] != comp_rows[0]:  # different hp columns: align on the union
            return _merge_csv(self.tuning.sweep.result, self.result)
        lines = [tune_rows[0] + ",phase"]
        lines += [r + ",tune" for r in tune_rows[1:]]
        lines += [r + ",compare" for r in comp_rows[1:]]
        return "\n".join(lines) + "\n"


def _merge_csv(a: Result, b: Result) -> str:
    import csv
    import io

    rows: list[dict[str, str]] = []
    cols: list[str] = []
    for res, phase in ((a, "tune"), (b, "compare")):
        reader = csv.DictReader(io.StringIO(res.to_csv()))
        for c in reader.fieldnames or []:
            if c not in cols:
                cols.append(c)
        rows += [{**row, "phase": phase} for row in reader]
    buf = io.StringIO()
    w = csv.DictWriter(buf, [*cols, "phase"], lineterminator="\n", restval="")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def run_tuned(
    problem: Problem | str | Path,
    optimizers: Sequence[str] | str = ("adam",),
    *,
    param: str = "lr",
    tune_range: tuple[float, float] = (1e-4, 1.0),
    tune_count: int = 9,
    tune_metric: str = "final_loss",
    tune_seeds: int | None = None,
    steps: int | None = None,
    seeds: int = 1,
    seed: int = 0,
    start: Any = None,
    dim: int | None = None,
    threads: int | None = None,
    progress: Callable[[str], ProgressFn | None] | None = None,
    on_compile: CompileFn | None = None,
    **run_options: Any,
) -> TunedResult:
    """A tuned comparison: tune ``param`` per optimizer, then run each at its chosen value.

    The tuning runs use ``tune_seeds`` seeds (default: as many as ``seeds``) that follow the
    reported ones (``seed+seeds ..``), so the reported numbers are not the ones the choice was
    made on. The comparison is ``run`` with the chosen values (source ``tuned``); other
    ``run_options`` (every, average, stop_at_target, ...) apply to it only. ``progress(phase)``
    returns the progress callback of each phase (``"tune"``, ``"run"``).
    """
    from adambench.engine import jobs as engine
    from adambench.problems import load_problem

    prob = problem if not isinstance(problem, (str, Path)) else load_problem(problem, dim=dim)
    check_metric(tune_metric, prob.target, prob.name)
    n_seeds = check_int("seeds", seeds, 1, MAX_SEEDS)
    first = check_int("seed", seed, 0, MAX_SEED)
    n_tune = check_int("tune seeds", n_seeds if tune_seeds is None else tune_seeds, 1, MAX_SEEDS)
    if "lr" in run_options and run_options["lr"] is not None:
        raise UsageError("--lr and --tune lr both set the step size; remove one")
    run_options.pop("lr", None)
    low, high = tune_range
    eval_seeds = tuple(range(first, first + n_seeds))
    tuning = tune(
        prob,
        optimizers,
        param=param,
        low=low,
        high=high,
        count=tune_count,
        metric=tune_metric,
        seeds=n_tune,
        seed=first + n_seeds,
        eval_seeds=eval_seeds,
        steps=steps,
        start=start,
        threads=threads,
        progress=progress("tune") if progress else None,
        on_compile=on_compile,
        dtype=run_options.get("dtype", "float64"),  # tuned in the dtype the comparison runs in
    )
    result = engine.run(
        prob,
        _tuned_configs(prob, optimizers, tuning),
        steps=steps,
        seeds=n_seeds,
        seed=first,
        start=start,
        threads=threads,
        progress=progress("run") if progress else None,
        on_compile=on_compile,
        **run_options,
    )
    result.notes += _choice_notes(tuning)
    return TunedResult(result, tuning)


def _tuned_configs(
    prob: Problem, optimizers: Sequence[str] | str, tuning: Tuning
) -> list[OptimizerConfig]:
    """Each optimizer at the value tuning chose for it (its source ``tuned``)."""
    from adambench.optimizers.registry import get, parse_specs, resolve, validate_suggestions

    suggestions = validate_suggestions(prob)
    configs = []
    param = tuning.param
    items = list(optimizers) if not isinstance(optimizers, str) else [optimizers]
    for (name, over), choice in zip(parse_specs(items), tuning.choices, strict=True):
        spec = get(name)
        cfg = resolve(spec, {**over, param: choice.value}, suggested=suggestions.get(spec.name))
        configs.append(replace(cfg, sources={**cfg.sources, param: "tuned"}))
    return configs


def _choice_notes(tuning: Tuning) -> list[str]:
    """Notes on choices to doubt: at an end of the range, or with no finite median."""
    notes = []
    param = tuning.param
    for c in tuning.choices:
        if c.at_edge:
            notes.append(
                f"{c.label}: the best {param} ({c.value:g}) is at the edge of the tuning range; "
                "widen --tune-range"
            )
        if c.stat.state != "ok":
            notes.append(
                f"{c.label}: no {param} in the tuning range gave a finite median "
                f"{METRIC_NAMES[tuning.metric]}; reported at the least bad ({c.value:g})"
            )
    return notes
