"""`check`: run a suite and judge it (the CI gate). No printing."""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adambench.version import __version__

if TYPE_CHECKING:
    from adambench.engine.jobs import CompileFn, ProgressFn
from adambench.checks.baseline import match_baseline, read_baseline, validate_baseline
from adambench.checks.expectations import METRICS, Tolerance, is_applicable, measure
from adambench.checks.judge import against_baseline, judge
from adambench.checks.outcome import CaseResult, CheckItem, CheckResult
from adambench.checks.planning import plan, problem_facts
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
    :class:`~adambench.backends.dask.Cluster`); the report is the same.
    """
    from adambench.engine import jobs as engine

    t0 = time.perf_counter()
    if threads is not None:
        engine.check_int("threads", threads, 1, 1024)  # before loading anything
    if isinstance(suite, Suite):
        s = suite
    elif isinstance(suite, Mapping):
        s = suite_from_dict(dict(suite))
    else:
        s = load_suite(suite)
    planned = plan(s, allocate=scheduler is None)
    base: Mapping[str, Any] | None = None
    base_where = None
    if baseline is not None:
        if isinstance(baseline, Mapping):
            base_where = "<baseline>"
            base = validate_baseline(dict(baseline), base_where)
        else:
            base_where = str(baseline)
            base = read_baseline(baseline, suite=s.path)
        match_baseline(planned, base, base_where)
    t_plan = time.perf_counter()

    compiled: list[str] = []

    def compiling(name: str) -> AbstractContextManager[Any]:
        compiled.append(name)
        return on_compile(name) if on_compile is not None else nullcontext()

    jobs = [p.job for p in planned]
    notes: list[str] = []
    if scheduler is None:
        n_threads = engine.execute(jobs, threads=threads, progress=progress, on_compile=compiling)
    else:
        from adambench.backends import dask as cluster

        what = f"check {s.name}: {sum(len(j.configs) * len(j.settings.seeds) for j in jobs)} runs"
        report = cluster.execute(
            jobs, cluster.as_cluster(scheduler, threads), progress=progress, what=what
        )
        n_threads = report.threads
        compiled += report.compiled
        notes += report.notes
    cases: list[CaseResult] = []
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
    for p in planned:
        result = engine.collect(p.job, threads=n_threads)
        notes += [n for n in result.notes if n not in notes]
        facts = problem_facts(p.problem)
        f_star = p.problem.min_value
        for k, cid in enumerate(p.ids):
            runs = [_run_record(r) for r in result.runs_of(k)]
            metrics = measure(runs)
            items = [judge(e, metrics) for e in p.case.expect]
            if base is not None:
                old = base["cases"][cid]["metrics"]
                items += baseline_items(metrics, old, p.case.tolerances, facts, f_star)
            cases.append(CaseResult(cid, p.case.description, p.settings[k], metrics, items))
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
        threads=n_threads,
        compiled=compiled,
    )


def _run_record(r: Any) -> dict[str, Any]:
    return {
        "status": r.status,
        "final_loss": r.final_loss,
        "best_loss": r.best_loss,
        "steps_to_target": r.steps_to_target,
        "distance_to_minimum": r.distance_to_minimum,
        "grad_norm": r.grad_norm,
        "accuracy": r.accuracy,
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
