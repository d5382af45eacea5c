"""`compare`: two saved results, run by run."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from adambench.checks.baseline import id_list, short_text
from adambench.checks.expectations import METRICS, Tolerance, measure
from adambench.checks.gate import baseline_items
from adambench.checks.outcome import CaseResult, CheckResult
from adambench.checks.suite import DEFAULT_TOLERANCES, Suite, load_suite, shown_value
from adambench.errors import ConfigError, did_you_mean

__all__ = ["compare"]


def compare(
    old: str | Path | Mapping[str, Any],
    new: str | Path | Mapping[str, Any],
    *,
    metrics: Sequence[str] | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    suite: str | Path | Suite | None = None,
) -> CheckResult:
    """Compare two saved results (``run -o``/``--json``, or a sweep in the same contract) run by
    run, matched by label and seed. Nothing is rerun.

    Tolerances: the defaults of :data:`METRICS`, or a suite's ``tolerances:`` block, with
    ``rtol``/``atol`` (when given) replacing both parts for every compared metric. ``metrics``
    picks the compared metrics (default: those with a tolerance). Runs present in only one
    file, or results of different problems or step counts, raise ConfigError (exit 2); results
    in different dtypes (float64, float32) are compared, with a note saying so.
    """
    from adambench.engine.results import read_result_file

    a_where, a = _result(old, "OLD", read_result_file)
    b_where, b = _result(new, "NEW", read_result_file)
    tolerances = _tolerances(suite, metrics, rtol, atol)
    pb = _same_experiment(a, a_where, b, b_where)
    runs_a, runs_b = _runs_by_key(a, a_where), _runs_by_key(b, b_where)
    _same_runs(runs_a, a_where, runs_b, b_where)
    facts, f_star = _facts(pb, runs_b)
    notes = _dtype_notes(a, a_where, b, b_where)
    cases = []
    steps = b.get("settings", {}).get("steps")
    for key, rb in runs_b.items():
        ra = runs_a[key]
        if ra.get("hyperparameters") != rb.get("hyperparameters"):
            notes.append(
                f"{_run_id(*key)}: hyperparameters differ: {short_text(ra.get('hyperparameters'))} "
                f"-> {short_text(rb.get('hyperparameters'))}"
            )
        settings = {
            "problem": pb["name"],
            "label": key[0],
            "seeds": [key[1]],
            "steps": steps,
            "hyperparameters": rb.get("hyperparameters"),
        }
        mb = measure([rb])
        items = baseline_items(mb, measure([ra]), tolerances, facts, f_star, prefix="old")
        cases.append(CaseResult(_run_id(*key), "", settings, mb, items))
    name = f"{Path(a_where).name} vs {Path(b_where).name}"
    return CheckResult(
        "compare", name, f"{a_where} {b_where}", cases, baseline=a_where, notes=notes
    )


def _facts(
    problem: Mapping[str, Any], runs: Mapping[tuple[str, int], Mapping[str, Any]]
) -> tuple[dict[str, bool], float | None]:
    """What the problem has (a target, a known minimum, data) and its minimum value, if any."""
    minimum = problem.get("minimum") or {}
    facts = {
        "target": problem.get("target") is not None,
        "minimum": minimum.get("x") is not None
        or any(r.get("distance_to_minimum") is not None for r in runs.values()),
        "data": problem.get("kind") == "logreg",
        "held_out": any("test_loss" in r for r in runs.values()),
    }
    f_star = minimum.get("value")
    return facts, float(f_star) if isinstance(f_star, (int, float)) else None


def _tolerances(
    suite: str | Path | Suite | None,
    metrics: Sequence[str] | None,
    rtol: float | None,
    atol: float | None,
) -> dict[str, Tolerance | None]:
    """The compared metrics and their tolerances (see :func:`compare`)."""
    if isinstance(suite, Suite):
        tolerances = dict(suite.tolerances)
    elif suite is not None:
        tolerances = dict(load_suite(suite).tolerances)
    else:
        tolerances = dict(DEFAULT_TOLERANCES)
    if metrics:
        for m in metrics:
            if m not in METRICS:
                raise ConfigError(
                    f"unknown metric '{m}'{did_you_mean(m, METRICS)}; metrics: {', '.join(METRICS)}"
                )
        tolerances = {m: tolerances.get(m) or Tolerance() for m in dict.fromkeys(metrics)}
    if rtol is None and atol is None:
        return tolerances
    for name, v in (("rtol", rtol), ("atol", atol)):
        if v is not None and not (math.isfinite(v) and v >= 0):
            raise ConfigError(f"--{name} must be a finite number >= 0, got {v:g}")
    return {
        m: Tolerance(t.rtol if rtol is None else rtol, t.atol if atol is None else atol)
        for m, t in tolerances.items()
        if t is not None
    }


def _same_experiment(
    a: Mapping[str, Any], a_where: str, b: Mapping[str, Any], b_where: str
) -> dict[str, Any]:
    """Refuse results of different problems or settings; the new result's problem."""
    pa, pb = _problem_of(a, a_where), _problem_of(b, b_where)
    if pa["name"] != pb["name"] or pa.get("dim") != pb.get("dim"):
        raise ConfigError(
            f"the results are of different problems: {pa['name']} (dim {pa.get('dim')}) "
            f"in {a_where}, {pb['name']} (dim {pb.get('dim')}) in {b_where}"
        )
    sa, sb = a.get("settings", {}), b.get("settings", {})
    for key in ("steps", "start", "stop_at_target"):
        if sa.get(key) != sb.get(key):
            raise ConfigError(
                f"the results were made with different {key}: {short_text(sa.get(key))} in "
                f"{a_where}, {short_text(sb.get(key))} in {b_where}; compare like with like"
            )
    return pb


def _dtype_notes(
    a: Mapping[str, Any], a_where: str, b: Mapping[str, Any], b_where: str
) -> list[str]:
    """The note that says the results were made in different dtypes (float64 and float32 runs
    of one configuration may be compared: their difference is judged by the tolerances)."""
    da, db = (d.get("settings", {}).get("dtype", "float64") for d in (a, b))
    if da == db:
        return []
    return [
        f"dtypes differ: {da} in {a_where}, {db} in {b_where}; "
        "each metric is compared within its tolerance"
    ]


def _same_runs(
    runs_a: Mapping[tuple[str, int], Any], a_where: str,
    runs_b: Mapping[tuple[str, int], Any], b_where: str,
) -> None:  # fmt: skip
    """Refuse results that do not hold the same runs (by label and seed)."""
    only_a = [k for k in runs_a if k not in runs_b]
    only_b = [k for k in runs_b if k not in runs_a]
    if not (only_a or only_b):
        return
    parts = []
    if only_a:
        parts.append(f"only in {a_where}: {id_list([_run_id(*k) for k in only_a])}")
    if only_b:
        parts.append(f"only in {b_where}: {id_list([_run_id(*k) for k in only_b])}")
    raise ConfigError(
        "the results do not hold the same runs (matched by label and seed): " + "; ".join(parts)
    )


def _result(
    value: str | Path | Mapping[str, Any], name: str, reader: Callable[[str | Path], dict[str, Any]]
) -> tuple[str, dict[str, Any]]:
    if isinstance(value, Mapping):
        return name, dict(value)
    return str(value), reader(value)


def _problem_of(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    p = data.get("problem")
    if not isinstance(p, dict) or not isinstance(p.get("name"), str):
        raise ConfigError("has no problem.name; not a run result", where=where)
    return p


def _runs_by_key(data: Mapping[str, Any], where: str) -> dict[tuple[str, int], dict[str, Any]]:
    from adambench.engine.metrics import STATUSES

    runs = data.get("runs")
    if not isinstance(runs, list):
        raise ConfigError("has no runs list; not a run result", where=where)
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for i, r in enumerate(runs):
        if not isinstance(r, dict) or not isinstance(r.get("label"), str):
            raise ConfigError(f"runs[{i}] has no label", where=where)
        seed = r.get("seed")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"runs[{i}] has no integer seed", where=where)
        if r.get("status") not in STATUSES:
            raise ConfigError(f"runs[{i}] has an unknown status {r.get('status')!r}", where=where)
        for name in METRICS:  # a hand-edited value must not pass for a diverged run
            v = r.get(name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise ConfigError(
                    f"runs[{i}].{name} must be a number or null, got {shown_value(v)}", where=where
                )
        key = (r["label"], seed)
        if key in out:
            raise ConfigError(
                f"runs[{i}] repeats {_run_id(*key)}; runs must be unique by label and seed",
                where=where,
            )
        out[key] = r
    return out


def _run_id(label: str, seed: int) -> str:
    return f"{label} seed={seed}"
