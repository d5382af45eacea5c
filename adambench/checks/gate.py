"""`check`: run a suite and judge it (the CI gate). No printing."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adambench.limits import MAX_THREADS, check_int
from adambench.version import __version__

if TYPE_CHECKING:
    from adambench.engine.batches import CompileFn, ProgressFn
from adambench.checks.baseline import match_baseline, read_baseline, validate_baseline
from adambench.checks.expectations import METRICS, Tolerance, is_applicable, measure
from adambench.checks.judge import against_baseline, judge
from adambench.checks.outcome import CaseResult, CheckItem, CheckResult
from adambench.checks.planning import PlannedCase, plan, problem_facts
from adambench.checks.suite import Suite, load_suite, suite_from_dict

__all__ = ["baseline_items", "check"]


def check(
    suite: str | Path | Suite | Mapping[str, Any],
    *,
    baseline: str | Path | Mapping[str, Any] | None = None,
    threads: int | None = None,
    progress: ProgressFn | None = None,
    on_compile: CompileFn | None = None,
    scheduler: Any = None,
    dtype: str | None = None,
) -> CheckResult:
    """Run a check suite and judge every case against its expectations (and a baseline).

    ``suite`` is a path to a suite YAML file, a :class:`Suite` or the suite as a dict;
    ``baseline`` a baseline file or its loaded content. Every case runs in one
    :func:`adambench.engine.jobs.execute` call, in parallel; the numbers do not depend on
    ``threads``. Invalid suites and mismatched baselines raise
    :class:`~adambench.errors.ConfigError` (exit 2) before anything runs; a failed check is
    a result (``result.passed`` is False, ``result.exit_code`` is 1).

    ``scheduler`` runs the cases on Dask instead, in chunks of runs (as
    :func:`adambench.sweep` takes it: ``"local"``, an address, a ``distributed.Client`` or a
    :class:`~adambench.backends.dask.Cluster`); the report is the same. ``dtype`` (float64
    or float32) overrides the dtype of every case (the suite's ``dtype:`` keys otherwise).
    """
    from adambench.backends import run_jobs

    t0 = time.perf_counter()
    if threads is not None:
        check_int("threads", threads, 1, MAX_THREADS)  # before loading anything
    s = _suite(suite)
    planned = plan(s, allocate=False, dtype=dtype)
    base, base_where = _baseline(baseline, s, planned)
    t_plan = time.perf_counter()
    jobs = [p.job for p in planned]
    runs = sum(len(j.configs) * len(j.settings.seeds) for j in jobs)
    done = run_jobs(
        jobs,
        scheduler,
        threads=threads,
        progress=progress,
        on_compile=on_compile,
        what=f"check {s.name}: {runs} runs",
    )
    notes = list(done.notes) + _suite_notes(planned, base)
    cases: list[CaseResult] = []
    for p in planned:
        cases += _judged_cases(p, done.threads, base, notes)
    job_t = planned[0].job.timings if planned else {}
    timings = {
        "prepare_s": t_plan - t0,
        "compile_s": job_t.get("compile_s", 0.0),
        "run_s": job_t.get("run_s", 0.0),
        "total_s": time.perf_counter() - t0,
    }
    return CheckResult(
        "check",
        s.name,
        s.path,
        cases,
        baseline=base_where,
        notes=notes,
        timings=timings,
        threads=done.threads,
        compiled=done.compiled,
    )


def _suite(suite: str | Path | Suite | Mapping[str, Any]) -> Suite:
    """The suite, validated: as given, from its dict, or loaded from its file."""
    if isinstance(suite, Suite):
        return suite
    if isinstance(suite, Mapping):
        return suite_from_dict(dict(suite))
    return load_suite(suite)


def _baseline(
    baseline: str | Path | Mapping[str, Any] | None, s: Suite, planned: list[PlannedCase]
) -> tuple[Mapping[str, Any] | None, str | None]:
    """The baseline (validated, and matched to the planned cases) and where it came from."""
    if baseline is None:
        return None, None
    if isinstance(baseline, Mapping):
        base_where = "<baseline>"
        base = validate_baseline(dict(baseline), base_where)
    else:
        base_where = str(baseline)
        base = read_baseline(baseline, suite=s.path)
    match_baseline(planned, base, base_where)
    return base, base_where


def _suite_notes(planned: list[PlannedCase], base: Mapping[str, Any] | None) -> list[str]:
    """Notes on the suite itself: stochastic cases run from one seed, a baseline of another
    version."""
    notes = []
    for p in planned:
        if p.case.seeds == 1 and (p.problem.stochastic or p.case.start == "random"):
            notes.append(
                f"{p.case.title} is stochastic but runs from one seed; state several "
                "(seeds: 5) and expect medians and a success rate, so one seed cannot flake it"
            )
    tool = base.get("tool") if base is not None else None
    version = tool.get("version") if isinstance(tool, dict) else None
    if base is not None and version != __version__:
        notes.append(f"the baseline was written by adambench {version}; this is {__version__}")
    return notes


def _judged_cases(
    p: PlannedCase, threads: int, base: Mapping[str, Any] | None, notes: list[str]
) -> list[CaseResult]:
    """The cases of one planned job, each judged against its expectations (and the baseline);
    the job's notes not yet in ``notes`` are added to it."""
    from adambench.engine import jobs as engine

    result = engine.collect(p.job, threads=threads)
    notes += [n for n in result.notes if n not in notes]
    facts = problem_facts(p.problem)
    f_star = p.problem.min_value
    cases = []
    for k, cid in enumerate(p.ids):
        runs = [_run_record(r) for r in result.runs_of(k)]
        metrics = measure(runs)
        metrics.update(_gaps(metrics, f_star))
        items = [judge(e, metrics) for e in p.case.expect]
        if base is not None:
            old = base["cases"][cid]["metrics"]
            items += baseline_items(metrics, old, p.case.tolerances, facts, f_star)
        cases.append(CaseResult(cid, p.case.description, p.settings[k], metrics, items))
    return cases


def _gaps(metrics: Mapping[str, Any], f_star: float | None) -> dict[str, float | None]:
    """``final_gap`` and ``best_gap``: the medians of the losses less the problem's known
    minimum value (None when it is unknown or the median is)."""
    from adambench.engine.metrics import gap_to_minimum

    return {
        "final_gap": gap_to_minimum(metrics.get("final_loss"), f_star),
        "best_gap": gap_to_minimum(metrics.get("best_loss"), f_star),
    }


def _run_record(r: Any) -> dict[str, Any]:
    return {
        "status": r.status,
        "final_loss": r.final_loss,
        "best_loss": r.best_loss,
        "steps_to_target": r.steps_to_target,
        "distance_to_minimum": r.distance_to_minimum,
        "grad_norm": r.grad_norm,
        "accuracy": r.accuracy,
        "test_loss": r.test_loss,
        "test_accuracy": r.test_accuracy,
    }


def baseline_items(
    new: Mapping[str, Any],
    old: Mapping[str, Any],
    tolerances: Mapping[str, Tolerance | None],
    facts: Mapping[str, bool],
    f_star: float | None,
    prefix: str = "baseline",
) -> list[CheckItem]:
    items = []
    for metric, tol in tolerances.items():
        if tol is None or not is_applicable(METRICS[metric], facts):
            continue
        items.append(
            against_baseline(metric, new.get(metric), old.get(metric), tol, f_star, prefix)
        )
    return items
