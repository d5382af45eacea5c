"""Planning a suite: every case becomes an engine job."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from adambench.errors import AdambenchError, ConfigError, ExitCode

if TYPE_CHECKING:
    from adambench.engine.jobs import Job
    from adambench.optimizers.spec import OptimizerConfig
    from adambench.problems import Problem
from adambench.checks.expectations import METRICS, is_applicable
from adambench.checks.suite import CaseSpec, Suite
from adambench.numbers import number_or_none

__all__ = ["PlannedCase", "plan", "problem_facts"]


@dataclass
class PlannedCase:
    case: CaseSpec
    job: Job
    problem: Problem
    ids: list[str]
    settings: list[dict[str, Any]]


def _case_error(case: CaseSpec, where: str, key: str, exc: AdambenchError) -> AdambenchError:
    if exc.exit_code != ExitCode.USAGE:
        return exc
    return ConfigError(f"{case.title}: '{key}': {exc}", where=where)


def plan(suite: Suite, allocate: bool = True, dtype: str | None = None) -> list[PlannedCase]:
    """Resolve every case (problem, optimizer configurations, settings) into an engine job
    (``allocate=False``: without arrays, for a run on a cluster)."""
    from adambench.engine.jobs import prepare
    from adambench.optimizers.registry import configs_from_specs, validate_suggestions

    problems: dict[tuple[Any, ...], Problem] = {}
    suggestions: dict[tuple[Any, ...], dict[str, dict[str, Any]]] = {}
    out: list[PlannedCase] = []
    seen: dict[str, str] = {}
    for case in suite.cases:
        key = (case.problem, case.dim, case.noise, case.rotate)
        if key not in problems:
            try:
                problems[key] = _load_problem(case)
                suggestions[key] = validate_suggestions(problems[key])
            except AdambenchError as exc:
                raise _case_error(case, suite.path, "problem", exc) from None
        problem = problems[key]
        try:
            configs = configs_from_specs(case.optimizers, suggested=suggestions[key])
        except AdambenchError as exc:
            raise _case_error(case, suite.path, "optimizer", exc) from None
        _check_applicable(case, problem, suite.path)
        try:
            job = prepare(
                problem,
                configs,
                steps=case.steps,
                seeds=case.seeds,
                seed=case.seed,
                start=case.start,
                every=case.steps or problem.steps,
                stop_at_target=case.stop_at_target,
                record_x=False,
                allocate=allocate,
                dtype=dtype or case.dtype,  # --dtype overrides every case's
            )
        except AdambenchError as exc:
            raise _case_error(case, suite.path, _field_of(str(exc)), exc) from None
        ids = []
        for cfg in job.configs:
            cid = case.name if (case.name and len(job.configs) == 1) else None
            cid = cid or f"{case.name or problem.name}[{cfg.label}]"
            if cid in seen:
                raise ConfigError(
                    f"{case.title}: its id '{cid}' is also the id of {seen[cid]}; "
                    "give the cases different names",
                    where=suite.path,
                )
            seen[cid] = case.title
            ids.append(cid)
        settings = [_settings(problem, cfg, job) for cfg in job.configs]
        out.append(PlannedCase(case, job, problem, ids, settings))
    return out


def _field_of(message: str) -> str:
    for key in ("steps", "seeds", "seed", "start", "every"):
        if message.startswith(key):
            return key
    return "case"


def _load_problem(case: CaseSpec) -> Problem:
    from adambench.problems import load_problem, with_variant

    problem = load_problem(case.problem, dim=case.dim)
    return with_variant(problem, noise=case.noise, rotate=case.rotate)


def problem_facts(problem: Problem) -> dict[str, bool]:
    return {
        "target": problem.target is not None,
        "minimum": bool(problem.minimizers),
        "data": problem.kind == "logreg",
        "held_out": problem.test_data is not None,
    }


def _check_applicable(case: CaseSpec, problem: Problem, where: str) -> None:
    facts = problem_facts(problem)
    why = {
        "target": f"'{problem.name}' has no target",
        "minimum": f"'{problem.name}' has no known minimiser",
        "data": f"'{problem.name}' is not a data problem (accuracy needs one)",
        "held_out": f"'{problem.name}' holds out no rows (give its data a test_fraction > 0)",
    }
    for exp in case.expect:
        metric = METRICS.get(exp.metric)
        if metric is not None and not is_applicable(metric, facts):
            raise ConfigError(
                f"{case.title}: 'expect.{exp.key}' cannot be checked: {why[metric.needs or '']}",
                where=where,
            )
        if exp.op == "in" and "reached_target" in exp.statuses and not facts["target"]:
            raise ConfigError(
                f"{case.title}: 'expect.status' cannot be reached_target: {why['target']}",
                where=where,
            )


def _settings(problem: Problem, cfg: OptimizerConfig, job: Job) -> dict[str, Any]:
    """Everything that produced a case's numbers (recorded in baselines and compared)."""
    st = job.settings
    start: Any = st.start
    if start == "given":
        start = [float(v) for v in job.starts[0]]
    return {
        "problem": {
            "name": problem.name,
            "dim": problem.dim,
            "formula": problem.formula(),
            "target": number_or_none(problem.target),
            "minimum_value": number_or_none(problem.min_value),
            "gradient_noise": problem.gradient_noise,
            # only when rotated: the settings of every other baseline stay as they were
            **({"rotate": problem.rotation_seed} if problem.rotation is not None else {}),
        },
        "optimizer": {
            "name": cfg.name,
            "label": cfg.label,
            "hyperparameters": cfg.public_values(),
        },
        "steps": st.steps,
        "seeds": list(st.seeds),
        "start": start,
        "stop_at_target": st.stop_at_target,
        "dtype": st.dtype,
    }
