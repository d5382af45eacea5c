"""Tuned comparisons (``run --tune lr,beta1``): every optimizer tuned over the same grid of its
hyperparameters (the same budget), then run at its best point on held-out seeds."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adambench.errors import UsageError
from adambench.limits import MAX_SEED, MAX_SEEDS, check_int

if TYPE_CHECKING:
    from adambench.backends.execution import Executed
    from adambench.engine.batches import CompileFn, ProgressFn
    from adambench.engine.jobs import Job
    from adambench.engine.results import Result
    from adambench.optimizers.spec import OptimizerConfig
    from adambench.problems import Problem
from adambench.sweeps.aggregate import RANKING, Heatmap, PointStat, heatmaps
from adambench.sweeps.execution import prepare_sweep, sweep_result
from adambench.sweeps.grid import METRIC_NAMES, Value, show_value
from adambench.sweeps.plan import Plan, base_label
from adambench.sweeps.result import SweepResult, check_metric, points_dicts, ranking_text
from adambench.sweeps.tune_grid import TuneAxis, parse_tune_names, parse_tune_ranges, tuning_axes

__all__ = [
    "Choice",
    "PendingTuning",
    "TunedResult",
    "Tuning",
    "choice_notes",
    "prepare_tuning",
    "run_tuned",
    "tune",
    "tuned_configs",
]


@dataclass(frozen=True)
class Choice:
    """The point tuning chose for one optimizer, and how it did there.

    ``values`` holds the chosen value of every tuned hyperparameter, ``value`` the first one's
    (the only one when one is tuned); ``edges`` names those at an end of their range that a
    wider range could move past (``at_edge``: there is one).
    """

    base: int
    label: str
    value: Any
    stat: PointStat
    at_edge: bool
    values: Mapping[str, Any] = field(default_factory=dict)
    edges: tuple[str, ...] = ()

    def point_text(self) -> str:
        """``lr=0.1, beta1=0.9``: the chosen point as a spec would write it."""
        return ", ".join(f"{k}={show_value(v)}" for k, v in self.values.items())


@dataclass
class Tuning:
    """The per-optimizer search that precedes a tuned comparison: the same grid (the product
    of ``axes``) for every optimizer; ``count`` and ``budget`` as given (None: not given)."""

    axes: list[TuneAxis]
    count: int | None
    budget: int | None
    metric: str
    sweep: SweepResult
    choices: list[Choice]
    eval_seeds: tuple[int, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(ax.name for ax in self.axes)

    @property
    def param(self) -> str:
        """The tuned hyperparameters as --tune takes them (``lr`` or ``lr,beta1``)."""
        return ",".join(self.names)

    @property
    def values(self) -> tuple[Value, ...]:
        """The first axis's values (the only axis's, when one hyperparameter is tuned)."""
        return self.axes[0].values

    @property
    def points_per_optimizer(self) -> int:
        return math.prod(len(ax.values) for ax in self.axes)

    def heatmap(self) -> Heatmap:
        """The tuning grid of one axis: a row per value, a column per optimizer, each one's
        choice marked."""
        s = self.sweep
        return heatmaps(s.bases, s.axes, s.points, s.stats(), min_bases=1, per_column=True)[-1]

    def heatmaps(self) -> list[Heatmap]:
        """With several axes, one heatmap per optimizer: its first two axes, the further ones
        held at the optimizer's chosen values (so its ★ is its choice)."""
        s = self.sweep
        if len(s.axes) < 2:
            return []
        every = heatmaps(s.bases, s.axes, s.points, s.stats(), min_bases=len(s.bases) + 1)
        per_base = math.prod(len(ax.values) for ax in s.axes[2:])
        assert len(every) == per_base * len(s.bases)  # every optimizer sweeps every axis
        out = []
        for c in self.choices:
            mine = every[c.base * per_base : (c.base + 1) * per_base]
            out += [hm for hm in mine if all(c.values[k] == v for k, v in hm.fixed.items())]
        return out

    def seeds_repeat(self) -> bool:
        """Whether the tuning runs are the reported runs again: a problem with no noise from
        one start gives the same run on every seed, so no seed is "held out"."""
        from adambench.engine.starts import seeds_repeat_one_run

        r = self.sweep.result
        return r is not None and seeds_repeat_one_run(r.problem, r.settings.start)

    def grid_text(self) -> str:
        """What was tuned over, e.g. ``lr tuned per optimizer over 9 log-spaced values in
        [0.0001, 1]``, or for several axes their product and each axis."""
        if len(self.axes) == 1:
            text = f"{self.param} tuned per optimizer over {self.axes[0].describe()}"
        else:
            sizes = " x ".join(str(len(ax.values)) for ax in self.axes)
            each = "; ".join(f"{ax.name}: {ax.describe()}" for ax in self.axes)
            text = (
                f"{' x '.join(self.names)} tuned per optimizer over {sizes} = "
                f"{self.points_per_optimizer} points ({each})"
            )
        if self.budget is not None:
            text += f", sized to fit --tune-budget {self.budget}"
        return text

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
            f"{self.grid_text()}, {s.steps} steps from {over}; chosen: {chosen}; "
            "the same budget for every optimizer, no gradient clipping"
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``tuning`` block of the JSON result: protocol, choices, every grid point and run
        (and, when one hyperparameter is tuned, ``param``, ``range``, ``count`` and ``values``
        as before several could be)."""
        from adambench.engine.results import run_dict

        s = self.sweep
        out: dict[str, Any] = {"params": list(self.names)}
        if len(self.axes) == 1:
            ax = self.axes[0]
            out |= {"param": ax.name, "range": ax.to_dict()["range"], "count": len(ax.values)}
            out["values"] = list(ax.values)
        out |= {
            "axes": [ax.to_dict() for ax in self.axes],
            "points_per_optimizer": self.points_per_optimizer,
            "budget": self.budget,
            "metric": self.metric,
            "rule": self.rule(),
            "ranking": ranking_text(self.metric),
            "seeds": list(s.seeds),
            "steps": s.steps,
            "chosen": [self._choice_dict(c) for c in self.choices],
            "optimizers": [b.to_dict() for b in s.bases],
            "points": points_dicts(s.points, s.stats()),
            "runs": [],
        }
        if s.result is not None:
            small = s.result.problem.dim <= 1000
            m = s.result.problem.min_value
            out["runs"] = [run_dict(r, small, False, m) for r in s.result.runs]
        return out

    def _choice_dict(self, c: Choice) -> dict[str, Any]:
        from adambench.numbers import finite_or_none

        d: dict[str, Any] = {"label": c.label, "optimizer": self.sweep.bases[c.base].optimizer}
        if len(self.axes) == 1:
            d["value"] = c.value
        return d | {
            "values": dict(c.values),
            "median": finite_or_none(c.stat.value),
            "state": c.stat.state,
            "at_edge": c.at_edge,
            "edges": list(c.edges),
        }


def tune(
    problem: Problem | str | Path,
    optimizers: Sequence[str] | str,
    *,
    param: str | Sequence[str] = "lr",
    tune_range: Any = None,
    low: float | None = None,
    high: float | None = None,
    count: int | None = None,
    budget: int | None = None,
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
    """Sweep the hyperparameters ``param`` (``"lr"``, ``"lr,beta1"``) over the product of
    their axes for every optimizer (the same grid, steps and seeds for each) and pick each
    one's best point by ``metric``.

    ``tune_range`` is ``--tune-range``'s text (``lr=1e-4:1,beta1=0.5:0.999``), a mapping of
    name to (low, high) or to listed values, or (low, high) of a single hyperparameter (as are
    ``low`` and ``high``); hyperparameters without a range get the defaults of
    :mod:`adambench.sweeps.tune_grid`. ``count`` is the values per numeric axis (default 9);
    ``budget`` caps the points per optimizer, the axes sized to fit it.
    """
    from adambench.backends import run_jobs

    if isinstance(optimizers, str):
        optimizers = [optimizers]
    if low is not None or high is not None:
        tune_range = (1e-4 if low is None else low, 1.0 if high is None else high)
    pending = prepare_tuning(
        problem,
        optimizers,
        param=param,
        tune_range=tune_range,
        count=count,
        budget=budget,
        metric=metric,
        seeds=seeds,
        seed=seed,
        eval_seeds=eval_seeds,
        steps=steps,
        start=start,
        dim=dim,
        dtype=dtype,
    )
    p, job = pending.plan, pending.job
    done = run_jobs(
        [job],
        None,
        threads=threads,
        progress=progress,
        on_compile=on_compile,
        what=f"sweep {p.problem.name}: {p.runs:,} runs of {job.settings.steps} steps",
    )
    return pending.finish(done)


@dataclass
class PendingTuning:
    """A tuning search whose sweep job is prepared but not run: run ``job`` with
    :func:`adambench.backends.run_jobs` (alone or with other jobs), then :meth:`finish`."""

    axes: list[TuneAxis]
    count: int | None
    budget: int | None
    metric: str
    plan: Plan
    job: Job
    eval_seeds: tuple[int, ...]

    def finish(self, done: Executed) -> Tuning:
        s = sweep_result(self.plan, self.job, done, self.metric)
        return Tuning(
            self.axes,
            self.count,
            self.budget,
            self.metric,
            s,
            _choices(s, self.axes),
            self.eval_seeds,
        )


def prepare_tuning(
    problem: Problem | str | Path,
    optimizers: Sequence[str],
    *,
    param: str | Sequence[str] = "lr",
    tune_range: Any = None,
    count: int | None = None,
    budget: int | None = None,
    metric: str = "final_loss",
    seeds: int = 1,
    seed: int = 0,
    eval_seeds: Sequence[int] = (),
    steps: int | None = None,
    start: Any = None,
    dim: int | None = None,
    dtype: str = "float64",
) -> PendingTuning:
    """:func:`tune`'s search validated and prepared, not run: the same runs, so the same
    choices, as :func:`tune` with these arguments."""
    axes = _tuning_axes(optimizers, param, tune_range, count, budget)
    p, job = prepare_sweep(
        problem,
        optimizers,
        [ax.axis() for ax in axes],
        seeds=seeds,
        seed=seed,
        steps=steps,
        start=start,
        metric=metric,
        max_runs=None,
        dim=dim,
        where="--tune",  # a point no optimizer accepts is named as the tuning's
        dtype=dtype,
    )
    return PendingTuning(axes, count, budget, metric, p, job, tuple(eval_seeds))


def _tuning_axes(
    optimizers: Sequence[str],
    param: str | Sequence[str],
    tune_range: Any,
    count: int | None,
    budget: int | None,
) -> list[TuneAxis]:
    """The axes tuning tries, once the search is known to be one it can run: every optimizer
    has every tuned hyperparameter, none fixes one itself, ranges and sizes in bounds."""
    from adambench.optimizers.registry import get, parse_specs

    names = parse_tune_names(param)
    parsed = parse_specs(list(optimizers))
    for name, over in parsed:
        fixed = [n for n in names if n in over]
        if fixed:
            raise UsageError(
                f"-O {base_label(name, over)} sets {fixed[0]}, which --tune {fixed[0]} "
                "chooses; remove one"
            )
    specs = [(base_label(name, over), get(name)) for name, over in parsed]
    ranges = parse_tune_ranges(tune_range, names)
    return tuning_axes(specs, names, ranges, count=count, budget=budget)


def _choices(s: SweepResult, axes: Sequence[TuneAxis]) -> list[Choice]:
    """Each optimizer's best point of the tuning grid (ranked as the sweep ranks points), and
    which of its values lie at an end of their range."""
    stats = s.stats()
    choices = []
    for b, base in enumerate(s.bases):
        mine = [st for st in stats if s.points[st.point].base == b]
        best = min(mine, key=lambda st: st.rank)
        values = {ax.name: s.points[best.point].values[ax.name] for ax in axes}
        edges = tuple(ax.name for ax in axes if ax.at_edge(values[ax.name]))
        first = values[axes[0].name]
        choices.append(Choice(b, base.label, first, best, bool(edges), values, edges))
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
    param: str | Sequence[str] = "lr",
    tune_range: Any = None,
    tune_count: int | None = None,
    tune_budget: int | None = None,
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
    """A tuned comparison: tune ``param`` (one hyperparameter or several, ``"lr,beta1"``) per
    optimizer, then run each at its chosen point (``tune_range``, ``tune_count`` and
    ``tune_budget`` as :func:`tune` takes them).

    The tuning runs use ``tune_seeds`` seeds (default: as many as ``seeds``) that follow the
    reported ones (``seed+seeds ..``), so the reported numbers are not the ones the choice was
    made on. The comparison is ``run`` with the chosen values (source ``tuned``); other
    ``run_options`` (every, average, stop_at_target, ...) apply to it only. ``progress(phase)``
    returns the progress callback of each phase (``"tune"``, ``"run"``).
    """
    from adambench.engine import jobs as engine
    from adambench.problems import load_problem

    prob = problem if not isinstance(problem, (str, Path)) else load_problem(problem, dim=dim)
    check_metric(tune_metric, prob.target, prob.name, prob.test_data is not None)
    n_seeds = check_int("seeds", seeds, 1, MAX_SEEDS)
    first = check_int("seed", seed, 0, MAX_SEED)
    n_tune = check_int("tune seeds", n_seeds if tune_seeds is None else tune_seeds, 1, MAX_SEEDS)
    _refuse_lr_option(parse_tune_names(param), run_options.pop("lr", None))
    eval_seeds = tuple(range(first, first + n_seeds))
    tuning = tune(
        prob,
        optimizers,
        param=param,
        tune_range=tune_range,
        count=tune_count,
        budget=tune_budget,
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
        tuned_configs(prob, optimizers, tuning),
        steps=steps,
        seeds=n_seeds,
        seed=first,
        start=start,
        threads=threads,
        progress=progress("run") if progress else None,
        on_compile=on_compile,
        **run_options,
    )
    result.notes += choice_notes(tuning)
    return TunedResult(result, tuning)


def _refuse_lr_option(names: Sequence[str], lr: float | None) -> None:
    """--lr with --tune: it would set the comparison's lr but not the tuning runs'."""
    if lr is None:
        return
    if "lr" in names:
        raise UsageError("--lr and --tune lr both set the step size; remove one")
    raise UsageError(
        "--lr would set the step size of the comparison but not of the tuning runs; give "
        "each optimizer its lr in its spec instead, e.g. -O 'adam(lr=0.1)'"
    )


def tuned_configs(
    prob: Problem, optimizers: Sequence[str] | str, tuning: Tuning
) -> list[OptimizerConfig]:
    """Each optimizer at the point tuning chose for it (its tuned values' source ``tuned``)."""
    from adambench.optimizers.registry import get, parse_specs, resolve, validate_suggestions

    suggestions = validate_suggestions(prob)
    configs = []
    items = list(optimizers) if not isinstance(optimizers, str) else [optimizers]
    for (name, over), choice in zip(parse_specs(items), tuning.choices, strict=True):
        spec = get(name)
        cfg = resolve(spec, {**over, **choice.values}, suggested=suggestions.get(spec.name))
        tuned = dict.fromkeys(choice.values, "tuned")
        configs.append(replace(cfg, sources={**cfg.sources, **tuned}))
    return configs


def choice_notes(tuning: Tuning) -> list[str]:
    """Notes on choices to doubt: at an end of a range, or with no finite median."""
    notes = []
    for c in tuning.choices:
        for name in c.edges:
            notes.append(
                f"{c.label}: the best {name} ({show_value(c.values[name])}) is at the edge of "
                "the tuning range; widen --tune-range"
            )
        if c.stat.state != "ok":
            where = (
                f"{tuning.param} in the tuning range"
                if len(tuning.axes) == 1
                else "point of the tuning grid"
            )
            at = show_value(c.value) if len(tuning.axes) == 1 else c.point_text()
            notes.append(
                f"{c.label}: no {where} gave a finite median "
                f"{METRIC_NAMES[tuning.metric]}; reported at the least bad ({at})"
            )
    return notes
