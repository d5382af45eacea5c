"""`adambench bench`: every optimizer tuned per problem of a suite under the same budget, run
from random starts, and judged across the suite (ECDF, ERT, performance profiles, ranks).

:func:`run_bench` runs it; :class:`BenchResult` holds each problem's tuned comparison reduced to
what the suite-level statistics need (:mod:`adambench.sweeps.bench_stats`), and writes the
``bench`` block of the JSON result.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

import adambench.sweeps.bench_stats as S
from adambench.errors import AdambenchError, ConfigError, UsageError
from adambench.numbers import finite_or_none
from adambench.sweeps.bench_suite import Suite, SuiteProblem

if TYPE_CHECKING:
    from adambench.backends.execution import Executed
    from adambench.engine.batches import CompileFn, ProgressFn
    from adambench.engine.jobs import Job
    from adambench.engine.results import RunResult
    from adambench.problems import Problem
    from adambench.sweeps.tuning import PendingTuning, TunedResult, Tuning

__all__ = [
    "BenchEntry",
    "BenchResult",
    "BenchRun",
    "OptimizerOutcome",
    "problem_label",
    "run_bench",
]

DEFAULT_OPTIMIZERS = ("adam", "adamw", "rmsprop", "sgd")


@dataclass(frozen=True)
class BenchRun:
    """One reported run, reduced: ``spent`` is its steps up to its target (a success) or in
    full; ``reach`` the step it reached each of the 51 gap thresholds (None: never)."""

    seed: int
    status: str
    steps: int
    steps_to_target: int | None
    final_gap: float | None
    best_gap: float | None
    reach: tuple[int | None, ...] | None

    @property
    def spent(self) -> int:
        return self.steps if self.steps_to_target is None else self.steps_to_target

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "status": self.status,
            "steps": self.steps,
            "steps_to_target": self.steps_to_target,
            "final_gap": finite_or_none(self.final_gap),
            "best_gap": finite_or_none(self.best_gap),
            "reach": None if self.reach is None else list(self.reach),
        }


@dataclass(frozen=True)
class OptimizerOutcome:
    """One optimizer on one problem: its tuned point and its runs there."""

    optimizer: str
    label: str
    tuned: dict[str, Any]
    at_edge: bool
    runs: tuple[BenchRun, ...]

    @property
    def successes(self) -> int:
        return sum(r.steps_to_target is not None for r in self.runs)

    @property
    def success_rate(self) -> float:
        return self.successes / len(self.runs)

    @property
    def ert(self) -> float:
        return S.expected_running_time([r.spent for r in self.runs], self.successes)

    def median(self, key: str) -> float | None:
        values = [getattr(r, key) for r in self.runs if getattr(r, key) is not None]
        return float(np.median(values)) if values else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "optimizer": self.optimizer,
            "label": self.label,
            "tuned": dict(self.tuned),
            "at_edge": self.at_edge,
            "success_rate": self.success_rate,
            "ert": finite_or_none(self.ert),
            "median_steps_to_target": self.median("steps_to_target"),
            "median_final_gap": finite_or_none(self.median("final_gap")),
            "runs": [r.to_dict() for r in self.runs],
        }


def problem_label(name: str, rotate: int | None, gradient_noise: float) -> str:
    """A bench problem's name with its variant: ``ellipsoid (rotated 1, noise 0.1)``."""
    parts = [f"rotated {rotate}"] if rotate is not None else []
    parts += [f"noise {gradient_noise:g}"] if gradient_noise else []
    return f"{name} ({', '.join(parts)})" if parts else name


@dataclass(frozen=True)
class BenchEntry:
    """One problem of the bench: its settings and each optimizer's outcome."""

    problem: str
    steps: int
    start: str
    target: float | None
    min_value: float | None
    tuning_rule: str
    outcomes: tuple[OptimizerOutcome, ...]
    #: The rotation's seed (None: not rotated) and the gradient noise the runs had.
    rotate: int | None = None
    gradient_noise: float = 0.0

    @property
    def label(self) -> str:
        return problem_label(self.problem, self.rotate, self.gradient_noise)

    def to_dict(self) -> dict[str, Any]:
        return {
            "problem": self.problem,
            "steps": self.steps,
            "start": self.start,
            "target": finite_or_none(self.target),
            "min_value": finite_or_none(self.min_value),
            "tuning": self.tuning_rule,
            "rotate": self.rotate,
            "gradient_noise": self.gradient_noise,
            "optimizers": [o.to_dict() for o in self.outcomes],
        }


@dataclass
class BenchResult:
    """A bench: the suite, the protocol, and every problem's entry; the suite-level statistics
    are computed from the entries (so a test can recompute them from the JSON)."""

    suite: str
    optimizers: tuple[str, ...]
    seeds: tuple[int, ...]
    tune: dict[str, Any]
    entries: list[BenchEntry]
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    threads: int = 1
    date: str = ""
    #: Kernels compiled cold (not found in the disk cache); their time is timings' compile_s.
    compiled: int = 0
    #: Runs made, tuning runs included.
    runs: int = 0

    @classmethod
    def from_dict(cls, block: dict[str, Any]) -> BenchResult:
        """The bench of a saved result's ``bench`` block (its statistics recompute from it)."""
        entries = [
            BenchEntry(
                p["problem"], p["steps"], p["start"], p["target"], p["min_value"], p["tuning"],
                tuple(
                    OptimizerOutcome(
                        o["optimizer"], o["label"], dict(o["tuned"]), o["at_edge"],
                        tuple(_run_from_dict(r) for r in o["runs"]),
                    )
                    for o in p["optimizers"]
                ),
                p.get("rotate"), p.get("gradient_noise", 0.0),
            )
            for p in block["problems"]
        ]  # fmt: skip
        return cls(
            block["suite"], tuple(block["optimizers"]), tuple(block["seeds"]),
            dict(block["tune"]), entries,
        )  # fmt: skip

    def erts(self) -> np.ndarray:
        """A row per problem, a column per optimizer."""
        return np.array([[o.ert for o in e.outcomes] for e in self.entries], float)

    def reached(self, j: int) -> list[int | None]:
        """Optimizer ``j``'s step for every (problem, threshold, seed) triple of the problems
        with a known minimum."""
        out: list[int | None] = []
        for e in self.entries:
            for r in e.outcomes[j].runs:
                if r.reach is not None:
                    out += list(r.reach)
        return out

    def ecdf(self) -> tuple[list[int], list[list[float]]]:
        steps = S.ecdf_steps(max(e.steps for e in self.entries))
        return steps, [S.ecdf(self.reached(j), steps) for j in range(len(self.optimizers))]

    def profile(self) -> np.ndarray:
        return S.performance_profile(self.erts())

    def ranks(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Average rank by ERT, and the bootstrap interval's low and high ends."""
        erts = self.erts()
        low, high = S.bootstrap_rank_interval(erts)
        return S.average_ranks(erts), low, high

    def tuning_text(self) -> str:
        params = self.tune.get("params", "lr")
        count = self.tune.get("count")
        budget = self.tune.get("budget")
        per = " per axis" if "," in params else ""
        size = f"over {count or 9} values{per}"
        if budget:
            size += f", at most {budget} points"
        return f"{params} {size}"

    def verdict(self) -> str:
        """One paragraph: what was compared, how, and who came first."""
        from adambench.sweeps.grid import show_value

        names = ", ".join(self.optimizers)
        n = len(self.seeds)
        return (
            f"Suite {self.suite}: {len(self.entries)} problems "
            f"({', '.join(e.problem for e in self.entries)}), optimizers {names}, "
            f"each tuned per problem ({self.tuning_text()}) on held-out seeds, then run from {n} "
            "random "
            f"start{'s' if n != 1 else ''} (seeds {show_value(self.seeds[0])}.."
            f"{show_value(self.seeds[-1])}). A run succeeds when its loss reaches the problem's "
            "target; ERT = steps of all seeds / successes. The ECDF counts (problem, target, "
            "seed) triples reached, over 51 log-uniform gaps from 1e2 to 1e-8 above the "
            f"minimum. {self._leader()}."
        )

    def _leader(self) -> str:
        """Who ranks first, by how much, and whom the bootstrap cannot tell apart from it."""
        erts = self.erts()
        if not np.isfinite(erts).any():
            return "No optimizer reached a target on any problem, so none ranks ahead"
        ranks, low, high = self.ranks()
        order = np.argsort(ranks, kind="stable")
        best = order[0]
        tied = [j for j in order[1:] if ranks[j] == ranks[best]]
        if tied:
            who = " and ".join(self.optimizers[j] for j in [best, *tied])
            return f"{who} tie for first by expected running time (average rank {ranks[best]:.2f})"
        lead = (
            f"{self.optimizers[best]} ranks first by expected running time (average rank "
            f"{ranks[best]:.2f}, 95% bootstrap interval {low[best]:.2f}-{high[best]:.2f})"
        )
        close = [self.optimizers[j] for j in order[1:] if low[j] <= high[best]]
        if not close:
            return lead + ", clearly ahead of every other optimizer"
        return lead + "; the interval overlaps that of " + ", ".join(close)

    def to_dict(self) -> dict[str, Any]:
        """The ``bench`` block of the JSON result."""
        steps, fractions = self.ecdf()
        ranks, low, high = self.ranks()
        profile = self.profile()
        names = list(self.optimizers)
        return {
            "suite": self.suite,
            "optimizers": names,
            "seeds": list(self.seeds),
            "tune": dict(self.tune),
            "target_gaps": list(S.TARGET_GAPS),
            "problems": [e.to_dict() for e in self.entries],
            "ecdf": {
                "steps": steps,
                "fractions": {  # null: no problem of the suite has a known minimum
                    n: [finite_or_none(v) for v in f] for n, f in zip(names, fractions, strict=True)
                },
            },
            "profile": {
                "taus": list(S.PROFILE_TAUS),
                "fractions": {n: list(map(float, profile[j])) for j, n in enumerate(names)},
            },
            "ranks": {
                n: {"mean": float(ranks[j]), "low": float(low[j]), "high": float(high[j])}
                for j, n in enumerate(names)
            },
            "bootstrap": {
                "resamples": S.BOOTSTRAP_RESAMPLES,
                "seed": S.BOOTSTRAP_SEED,
                "level": S.BOOTSTRAP_LEVEL,
            },
            "verdict": self.verdict(),
        }

    def to_json(self) -> str:
        import json

        from adambench.engine.results import SCHEMA_VERSION, environment
        from adambench.version import __version__

        data = {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "adambench", "version": __version__},
            "environment": environment(),
            "bench": self.to_dict(),
            "notes": list(self.notes),
            "volatile": {
                "date": self.date,
                "threads": self.threads,
                "compiled": self.compiled,
                "runs": self.runs,
                "timings": {k: round(v, 6) for k, v in self.timings.items()},
            },
        }
        return json.dumps(data, indent=2, allow_nan=False) + "\n"


def run_bench(
    suite: Suite | str,
    optimizers: Sequence[str] | None = None,
    *,
    seeds: int | None = None,
    seed: int | None = None,
    steps: int | None = None,
    tune: str | None = None,
    tune_count: int | None = None,
    tune_budget: int | None = None,
    tune_range: str | None = None,
    threads: int | None = None,
    progress: Callable[[str, int], ProgressFn | None] | None = None,
    on_compile: CompileFn | None = None,
    scheduler: Any = None,
    noise: float | None = None,
    rotate: int | None = None,
) -> BenchResult:
    """Tune ``tune`` (default ``lr``) per optimizer on every problem of ``suite`` (a
    :class:`Suite`, a built-in suite's name or a suite file's path) under the same
    grid, then run each at its choice from ``seeds`` random starts (seeds ``seed..``), by
    :func:`adambench.sweeps.tuning.run_tuned` would one problem at a time (the same numbers, bit
    for bit). Arguments given here win over the suite file's.

    The runs go in two passes, each one ``run_jobs`` call over every problem: all tuning runs,
    then all reported runs, so engine threads, chunks and ``scheduler`` (as
    :func:`adambench.sweeps.execution.sweep` takes
    it: ``"local"``, an address, a Client or a Cluster) work across problems; the results do
    not depend on them. ``progress(label, steps)`` returns the progress callback of each pass
    (label: ``40 problems: tuning``, ``40 problems: runs``; steps: the mean per run). The
    timings hold the cold compile time (``compile_s``) apart from the runs' (``run_s``).

    ``noise`` and ``rotate`` (``--noise``/``--rotate``) vary every expression and vector problem
    of the suite that a suite file's own ``noise:``/``rotate:`` does not; data problems and
    problems rotated by their file run as they are, with a note."""
    import time
    from datetime import datetime, timezone

    from adambench.sweeps.bench_suite import load_suite

    if isinstance(suite, str):
        suite = load_suite(suite)
    from_file = suite.where if not optimizers and suite.optimizers else None
    opts = _optimizer_list(optimizers or suite.optimizers or DEFAULT_OPTIMIZERS, from_file)
    tune_opts = {
        "params": tune or suite.tune.get("params", "lr"),
        "count": tune_count if tune_count is not None else suite.tune.get("count"),
        "budget": tune_budget if tune_budget is not None else suite.tune.get("budget"),
        "range": tune_range if tune_range is not None else suite.tune.get("range"),
    }
    n_seeds = seeds if seeds is not None else (suite.seeds or 20)
    first = seed if seed is not None else (suite.seed or 0)
    if noise is not None:
        from adambench.problems import checked_noise

        noise = checked_noise(noise)
    # every problem loaded (and so checked) before anything runs
    problems = [_suite_problem(suite, k, noise, rotate) for k in range(len(suite.problems))]
    steps_of = [
        item.steps or steps or suite.steps or p.steps
        for item, p in zip(suite.problems, problems, strict=True)
    ]
    t0 = time.perf_counter()
    run = _BatchRunner(scheduler, threads, progress, on_compile)
    entries, notes = _run_passes(suite, problems, opts, tune_opts, steps_of, n_seeds, first, run)
    notes = _variant_notes(problems, noise, rotate) + notes
    seeds_used = tuple(range(first, first + n_seeds))
    total = time.perf_counter() - t0
    timings = {"compile_s": run.compile_s, "run_s": total - run.compile_s, "total_s": total}
    params = {k: v for k, v in tune_opts.items() if v is not None}
    date = datetime.now(timezone.utc).isoformat(timespec="seconds")
    result = BenchResult(
        suite.name, opts, seeds_used, params, entries, notes, timings, run.threads, date
    )
    result.compiled, result.runs = len(run.compiled), run.runs
    return result


def _optimizer_list(items: Sequence[str], where: str | None) -> tuple[str, ...]:
    """Every spec of the -O values (or of the suite file ``where``), each once and known."""
    from adambench.optimizers.registry import get, parse_specs, split_specs

    opts = tuple(part.strip() for item in items for part in split_specs(item))
    twice = [o for o in opts if opts.count(o) > 1]
    try:
        if twice:
            raise UsageError(f"optimizer '{twice[0]}' is listed twice")
        for name, _ in parse_specs(opts):
            get(name)
    except AdambenchError as e:
        if where is None:
            raise
        raise ConfigError(f"'optimizers': {e}", where=where) from None
    return opts


def _run_passes(
    suite: Suite,
    problems: Sequence[Problem],
    opts: Sequence[str],
    tune_opts: dict[str, Any],
    steps_of: Sequence[int],
    n_seeds: int,
    first: int,
    run: _BatchRunner,
) -> tuple[list[BenchEntry], list[str]]:
    """Every problem's tuning runs in one pass, then every problem's reported runs in another;
    each problem's entry, and the notes."""
    from adambench.engine import jobs as engine
    from adambench.sweeps.tuning import TunedResult, choice_notes

    pending = [
        _pending_tuning(p, item, opts, tune_opts, n, n_seeds, first)
        for p, item, n in zip(problems, suite.problems, steps_of, strict=True)
    ]
    done = run("tuning", [t.job for t in pending])
    tunings = [t.finish(done) for t in pending]
    jobs = [
        _comparison_job(p, item, opts, tuning, n, n_seeds, first)
        for p, item, tuning, n in zip(problems, suite.problems, tunings, steps_of, strict=True)
    ]
    done = run("runs", jobs)
    entries, notes = [], []
    for prob, item, tuning, job in zip(problems, suite.problems, tunings, jobs, strict=True):
        result = engine.collect(job, threads=done.threads)
        result.notes += choice_notes(tuning)
        entries.append(_entry(prob, item, TunedResult(result, tuning), opts))
        notes += [f"{prob.name}: {n}" for n in result.notes]
        if prob.min_value is None:
            notes.append(f"{prob.name}: no known minimum, left out of the ECDF")
    notes += [n for n in done.notes if n not in notes]  # from a cluster's workers
    return entries, notes


class _BatchRunner:
    """Runs one phase of the bench (every problem's tuning runs, then every problem's
    reported runs) as one ``run_jobs`` call, so threads, chunks and a scheduler work across
    problems; adds up the phases' compile time and keeps the engine threads used."""

    def __init__(
        self,
        scheduler: Any,
        threads: int | None,
        progress: Callable[[str, int], ProgressFn | None] | None,
        on_compile: CompileFn | None,
    ) -> None:
        self.scheduler, self.threads_asked = scheduler, threads
        self.progress, self.on_compile = progress, on_compile
        self.compile_s, self.threads = 0.0, 1
        self.compiled: list[str] = []
        self.runs = 0

    def __call__(self, phase: str, jobs: Sequence[Job]) -> Executed:
        from adambench.backends import run_jobs

        runs = sum(len(j.configs) * len(j.settings.seeds) for j in jobs)
        run_steps = sum(len(j.configs) * len(j.settings.seeds) * j.settings.steps for j in jobs)
        self.runs += runs
        mean_steps = max(1, round(run_steps / runs))  # the bar counts runs of mixed lengths
        label = f"{len(jobs)} problem{'s' if len(jobs) != 1 else ''}: {phase}"
        done = run_jobs(
            jobs,
            self.scheduler,
            threads=self.threads_asked,
            progress=self.progress(label, mean_steps) if self.progress else None,
            on_compile=self.on_compile,
            what=f"bench {phase}: {runs:,} runs",
        )
        if done.compiled:  # loading machine code from the disk cache counts as running
            self.compile_s += jobs[0].timings.get("compile_s", 0.0)
            self.compiled += done.compiled
        self.threads = max(self.threads, done.threads)
        return done


def _pending_tuning(
    prob: Problem,
    item: SuiteProblem,
    opts: Sequence[str],
    tune_opts: dict[str, Any],
    steps: int,
    seeds: int,
    first: int,
) -> PendingTuning:
    """One problem's tuning search, prepared as ``run --tune`` does it (run_tuned): as many
    tuning seeds as reported ones, following them, so the choice is made on held-out seeds."""
    from adambench.sweeps.tuning import prepare_tuning

    return prepare_tuning(
        prob,
        list(opts),
        param=tune_opts["params"],
        tune_range=tune_opts["range"],
        count=tune_opts["count"],
        budget=tune_opts["budget"],
        seeds=seeds,
        seed=first + seeds,
        eval_seeds=tuple(range(first, first + seeds)),
        steps=steps,
        start=item.start,
    )


def _comparison_job(
    prob: Problem,
    item: SuiteProblem,
    opts: Sequence[str],
    tuning: Tuning,
    steps: int,
    seeds: int,
    first: int,
) -> Job:
    """One problem's reported runs: every optimizer at its tuned point, seeds ``first..``."""
    from adambench.engine import jobs as engine
    from adambench.sweeps.tuning import tuned_configs

    configs = tuned_configs(prob, list(opts), tuning)
    return engine.prepare(
        prob, configs, steps=steps, seeds=seeds, seed=first, start=item.start, allocate=False
    )


def _variant(
    item: SuiteProblem, prob: Problem, noise: float | None, rotate: int | None
) -> dict[str, Any]:
    """The ``noise``/``rotate`` of the suite's problem ``prob``: its entry's, else the command
    line's where the problem takes them (an expression or vector problem not rotated by its
    file)."""
    takes = prob.kind != "logreg"
    if item.noise is not None:
        noise = item.noise
    elif not takes:
        noise = None
    if item.rotate is not None:
        rotate = item.rotate
    elif not takes or prob.rotation is not None:
        rotate = None
    return {"noise": noise, "rotate": rotate}


def _variant_notes(
    problems: Sequence[Problem], noise: float | None, rotate: int | None
) -> list[str]:
    """Which problems --noise/--rotate left alone, and why."""
    notes = []
    for p in problems:
        if p.kind == "logreg" and (noise is not None or rotate is not None):
            notes.append(f"{p.name}: a data problem, run without --noise/--rotate")
        elif rotate is not None and p.file_rotation:
            notes.append(f"{p.name}: rotated by its file already, run without --rotate")
    return notes


def _suite_problem(suite: Suite, k: int, noise: float | None, rotate: int | None) -> Problem:
    """Problem ``k`` of the suite with its variant (:func:`_variant`) and the suite's target
    (a loss, or a gap above its known minimum); a suite file's mistake is named by the file and
    the entry."""
    from adambench.problems import load_problem, with_variant

    item = suite.problems[k]
    try:
        prob = load_problem(item.problem)
        prob = with_variant(prob, **_variant(item, prob, noise, rotate))
        if item.gap is not None and prob.min_value is None:
            raise UsageError(f"{prob.name} has no known minimum for a target gap")
        if prob.target_metric != "loss" and item.gap is None and item.target is None:
            raise UsageError(
                f"{prob.name}'s target is on its {prob.target_metric.replace('_', ' ')}; a "
                "bench compares training losses: give the problem a target: or gap: here"
            )
    except AdambenchError as e:
        if suite.where is None:
            raise
        raise ConfigError(f"'problems[{k}]': {e}", where=suite.where) from None
    if item.gap is not None:
        assert prob.min_value is not None
        return replace(prob, target=prob.min_value + item.gap, target_metric="loss")
    if item.target is None:
        return prob
    return replace(prob, target=item.target, target_metric="loss")


def _entry(
    prob: Problem, item: SuiteProblem, tuned: TunedResult, opts: Sequence[str]
) -> BenchEntry:
    res = tuned.result
    outcomes = []
    for k, choice in enumerate(tuned.tuning.choices):
        runs = tuple(_bench_run(r, prob.min_value, res.settings.every) for r in res.runs_of(k))
        outcomes.append(
            OptimizerOutcome(opts[k], choice.label, dict(choice.values), choice.at_edge, runs)
        )
    start = item.start if isinstance(item.start, str) else "given"
    return BenchEntry(
        prob.name,
        res.settings.steps,
        start,
        prob.target,
        prob.min_value,
        tuned.tuning.rule(),
        tuple(outcomes),
        prob.rotation_seed,
        prob.gradient_noise,
    )


def _run_from_dict(r: dict[str, Any]) -> BenchRun:
    reach = None if r["reach"] is None else tuple(r["reach"])
    return BenchRun(
        r["seed"], r["status"], r["steps"], r["steps_to_target"], r["final_gap"], r["best_gap"],
        reach,
    )  # fmt: skip


def _bench_run(r: RunResult, min_value: float | None, every: int) -> BenchRun:
    from adambench.engine.metrics import gap_to_minimum

    reach = None
    if min_value is not None and math.isfinite(min_value) and r.loss_trace is not None:
        reach = tuple(S.reach_steps(np.asarray(r.loss_trace, float), min_value, every))
    return BenchRun(
        seed=r.seed,
        status=r.status,
        steps=r.steps,
        steps_to_target=r.steps_to_target,
        final_gap=gap_to_minimum(r.final_loss, min_value),
        best_gap=gap_to_minimum(r.best_loss, min_value),
        reach=reach,
    )
