"""`check`: a CI regression gate over a suite of cases; `compare`: two saved results. No printing.

A *suite* (YAML, see ``sample_configs/ci.yaml`` and the README) lists cases: a problem, one or
more optimizer configurations (``-O`` spec strings), steps and seeds, and expectations such as
``final_loss_below: 1e-6`` or ``success_rate_at_least: 0.9``. Every case becomes an engine job and
all jobs run in ONE :func:`adambench.engine.execute` call (compiled, in parallel, deterministic).

Each case configuration is judged over its seeds, so a gate on a stochastic problem does not flake:

- ``success_rate`` is the fraction of runs whose status is ``reached_target``;
- ``diverged_rate`` the fraction of runs that diverged;
- every other quantity is the **median over seeds**, where a run that diverged (or could not
  start) counts as the worst value (``+inf`` for losses, steps, distances, gradient norms and
  ``-inf`` for accuracy), and a run that never reached the target counts as ``+inf`` steps. A
  median that is not finite is reported (and saved) as ``None`` ("diverged" / "not reached").

A *baseline* (``--save-baseline``) records these measured numbers per case together with every
setting that produced them; ``--baseline`` compares a new measurement against it with the
suite's tolerances. A value may get worse by at most ``max(atol, rtol * |baseline|)``, never
fails for getting better, and a ``None`` (worst) baseline cannot be made worse. Losses are
compared as their **excess over the problem's known minimum value** f* (the loss itself when f*
is unknown), so ``rtol`` means the same thing for a minimum at 0, at -0.25 or at 0.3117, and
``atol`` is the floor below which changes of a converged loss do not matter.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adambench import __version__, safeyaml
from adambench.errors import AdambenchError, ConfigError, ExitCode, did_you_mean

if TYPE_CHECKING:
    from adambench.engine import CompileFn, Job, ProgressFn
    from adambench.optimizers import OptimizerConfig
    from adambench.problems import Problem

BASELINE_FORMAT = "adambench-check-baseline"
BASELINE_VERSION = 1
REPORT_FORMAT = "adambench-check-report"
MAX_CASES = 10_000

# ---------------------------------------------------------------------------------------------
# Metrics and tolerances


@dataclass(frozen=True)
class Tolerance:
    """How much a measured value may get worse than its baseline: ``max(atol, rtol * |base|)``.

    For losses, ``base`` is the baseline's excess over the problem's minimum value (see the
    module docstring). Getting better never fails.
    """

    rtol: float = 0.0
    atol: float = 0.0

    def slack(self, base: float) -> float:
        return max(self.atol, self.rtol * abs(base))

    def text(self) -> str:
        parts = []
        if self.rtol:
            parts.append(f"rtol {self.rtol:g}")
        if self.atol or not parts:
            parts.append(f"atol {self.atol:g}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Metric:
    """A measured quantity of a case configuration (over its seeds)."""

    name: str
    doc: str
    higher_is_better: bool = False
    excess: bool = False  # compared as the excess over the problem's minimum value
    default: Tolerance | None = None  # None: not compared with a baseline unless a suite asks
    needs: str | None = None  # "target", "minimum" or "data": when the metric exists at all


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric(
            "final_loss",
            "median final loss",
            excess=True,
            default=Tolerance(rtol=0.1, atol=1e-9),
        ),
        Metric("best_loss", "median best loss", excess=True, default=Tolerance(0.1, 1e-9)),
        Metric(
            "steps_to_target",
            "median first step at the target",
            default=Tolerance(rtol=0.05),
            needs="target",
        ),
        Metric(
            "success_rate",
            "fraction of runs that reached the target",
            higher_is_better=True,
            default=Tolerance(),
            needs="target",
        ),
        Metric("diverged_rate", "fraction of runs that diverged", default=Tolerance()),
        Metric("distance_to_minimum", "median distance to the nearest minimiser", needs="minimum"),
        Metric("grad_norm", "median final gradient norm"),
        Metric(
            "accuracy",
            "median training accuracy",
            higher_is_better=True,
            default=Tolerance(atol=0.01),
            needs="data",
        ),
    )
}

_FAILED = ("diverged", "invalid_start")


def measure(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The metrics of one configuration over its runs (dicts with the JSON contract's run keys).

    Medians count failed runs as the worst value; see the module docstring.
    """
    n = len(runs)
    statuses = Counter(str(r["status"]) for r in runs)

    def median(key: str, worst: float) -> float | None:
        values = []
        for r in runs:
            v = r.get(key)
            ok = r["status"] not in _FAILED and isinstance(v, (int, float)) and math.isfinite(v)
            values.append(float(v) if ok else worst)  # type: ignore[arg-type]
        m = statistics.median(values)
        if not math.isfinite(m):
            return None
        return int(m) if key == "steps_to_target" and m.is_integer() else m

    out: dict[str, Any] = {
        "runs": n,
        "statuses": dict(sorted(statuses.items())),
        "success_rate": statuses.get("reached_target", 0) / n,
        "diverged_rate": statuses.get("diverged", 0) / n,
    }
    for name, m in METRICS.items():
        if name not in out:
            out[name] = median(name, -math.inf if m.higher_is_better else math.inf)
    return out


def _applicable(metric: Metric, facts: Mapping[str, bool]) -> bool:
    return metric.needs is None or facts.get(metric.needs, False)


# ---------------------------------------------------------------------------------------------
# Expectations


@dataclass(frozen=True)
class Expectation:
    """One ``expect:`` entry: ``metric op value`` (``status``: every run ends in ``statuses``)."""

    key: str
    metric: str
    op: str  # "<", "<=", ">=", "in"
    value: float = 0.0
    statuses: tuple[str, ...] = ()

    def text(self) -> str:
        if self.op == "in":
            return " or ".join(self.statuses)
        return f"{_OP_TEXT[self.op]} {format_number(self.value)}"


_OP_TEXT = {"<": "<", "<=": "≤", ">=": "≥"}

# key -> (metric, operator, kind of threshold)
EXPECTATIONS: dict[str, tuple[str, str, str]] = {
    "status": ("status", "in", "statuses"),
    "final_loss_below": ("final_loss", "<", "number"),
    "best_loss_below": ("best_loss", "<", "number"),
    "steps_to_target_at_most": ("steps_to_target", "<=", "steps"),
    "success_rate_at_least": ("success_rate", ">=", "fraction"),
    "distance_to_minimum_below": ("distance_to_minimum", "<", "positive"),
    "grad_norm_below": ("grad_norm", "<", "positive"),
    "accuracy_at_least": ("accuracy", ">=", "fraction"),
    "diverged_rate_at_most": ("diverged_rate", "<=", "fraction"),
}


# ---------------------------------------------------------------------------------------------
# The suite file

_SUITE_KEYS = {
    "name": "a short name for reports (default: the file name)",
    "description": "one line",
    "steps": "default steps of every case",
    "seeds": "default number of seeds of every case (seeds seed..seed+K-1)",
    "seed": "default first seed",
    "start": "default start: default, random or a point",
    "stop_at_target": "default: stop each run at the target",
    "tolerances": "baseline tolerances per metric",
    "cases": "the list of cases",
}
_CASE_KEYS = {
    "name": "the case's name",
    "description": "one line",
    "problem": "a shipped problem or a problem file",
    "dim": "dimension of a vector problem",
    "optimizer": "a -O spec, or a list of them",
    "steps": "steps per run",
    "seeds": "number of seeds",
    "seed": "first seed",
    "start": "default, random or a point",
    "stop_at_target": "stop each run at the target",
    "expect": "expectations",
    "tolerances": "baseline tolerances for this case",
}


@dataclass(frozen=True)
class CaseSpec:
    """A validated case of a suite (not yet resolved against the registries)."""

    index: int
    name: str | None
    description: str
    problem: str
    dim: int | None
    optimizers: tuple[str, ...]
    steps: int | None
    seeds: int
    seed: int
    start: Any
    stop_at_target: bool
    expect: tuple[Expectation, ...]
    tolerances: Mapping[str, Tolerance | None]

    @property
    def title(self) -> str:
        """How messages name the case: ``case 'beale-adam' (cases[0])``."""
        return f"case '{self.name or self.problem}' (cases[{self.index}])"


@dataclass(frozen=True)
class Suite:
    """A validated suite file."""

    path: str
    name: str
    description: str
    cases: tuple[CaseSpec, ...]
    tolerances: Mapping[str, Tolerance | None]


def _show(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) < 40 else text[:37] + '...'}"


class _Ctx:
    """Builds errors naming the file, the case and the field."""

    def __init__(self, where: str, case: str | None = None) -> None:
        self.where = where
        self.case = case

    def fail(self, key: str | None, message: str) -> ConfigError:
        head = f"{self.case}: " if self.case else ""
        field_ = f"'{key}' " if key else ""
        return ConfigError(f"{head}{field_}{message}", where=self.where)

    def keys(self, raw: Mapping[Any, Any], allowed: Mapping[str, str], prefix: str = "") -> None:
        for key in raw:
            if not isinstance(key, str):
                raise self.fail(
                    prefix.rstrip(".") or None, f"keys must be strings, got {_show(key)}"
                )
            if key not in allowed:
                raise self.fail(None, f"unknown key '{prefix}{key}'{did_you_mean(key, allowed)}")

    def number(self, value: Any, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            hint = ""
            if isinstance(value, str):
                try:
                    float(value)
                    hint = f" (YAML reads {value} as text: write it with a dot, e.g. 1.0e-6)"
                except ValueError:
                    pass
            raise self.fail(key, f"must be a number, got {_show(value)}{hint}")
        if not math.isfinite(value):
            raise self.fail(key, f"must be a finite number, got {value}")
        return float(value)

    def integer(self, value: Any, key: str, low: int, high: int) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be an integer, got {_show(value)}")
        if not low <= value <= high:
            raise self.fail(key, f"must be between {low} and {high:g}, got {value}")
        return value

    def boolean(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {_show(value)}")
        return value


def load_suite(path: str | Path) -> Suite:
    """Read and validate a suite file (errors name the file, the case and the field)."""
    return suite_from_dict(safeyaml.load_file(path), where=str(path))


def suite_from_dict(raw: Any, where: str = "<suite>") -> Suite:
    """Validate a suite given as data (what :func:`load_suite` reads from YAML)."""
    from adambench.problems import MAX_STEPS

    ctx = _Ctx(where)
    if not isinstance(raw, dict):
        raise ConfigError(
            f"a suite must be a mapping with a 'cases' list, got {_show(raw)}", where=where
        )
    ctx.keys(raw, _SUITE_KEYS)
    name = raw.get("name", Path(where).stem if where != "<suite>" else "suite")
    if not isinstance(name, str) or not name.strip():
        raise ctx.fail("name", f"must be a non-empty string, got {_show(name)}")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise ctx.fail("description", f"must be a string, got {_show(description)}")
    defaults = _run_settings(raw, ctx, {}, MAX_STEPS)
    tolerances = _tolerances(raw.get("tolerances"), ctx, "tolerances", DEFAULT_TOLERANCES)
    cases_raw = raw.get("cases")
    if not isinstance(cases_raw, list) or not cases_raw:
        raise ctx.fail("cases", "is required: a non-empty list of cases")
    if len(cases_raw) > MAX_CASES:
        raise ctx.fail("cases", f"has {len(cases_raw)} cases; at most {MAX_CASES} are allowed")
    cases = tuple(
        _case(i, c, where, defaults, tolerances, MAX_STEPS) for i, c in enumerate(cases_raw)
    )
    first_named: dict[str, CaseSpec] = {}
    for c in cases:
        if c.name is None:
            continue
        first = first_named.setdefault(c.name, c)
        if first is not c:
            raise ConfigError(
                f"cases[{first.index}] and cases[{c.index}] are both named '{c.name}'; "
                "case names must be unique",
                where=where,
            )
    return Suite(where, name.strip(), description, cases, tolerances)


def _run_settings(
    raw: Mapping[str, Any], ctx: _Ctx, inherited: Mapping[str, Any], max_steps: int
) -> dict[str, Any]:
    out = dict(inherited)
    if "steps" in raw:
        out["steps"] = ctx.integer(raw["steps"], "steps", 1, max_steps)
    if "seeds" in raw:
        out["seeds"] = ctx.integer(raw["seeds"], "seeds", 1, 1_000_000)
    if "seed" in raw:
        out["seed"] = ctx.integer(raw["seed"], "seed", 0, 2**62)
    if "stop_at_target" in raw:
        out["stop_at_target"] = ctx.boolean(raw["stop_at_target"], "stop_at_target")
    if "start" in raw:
        start = raw["start"]
        if isinstance(start, str) and start in ("default", "random"):
            out["start"] = start
        elif isinstance(start, list) and start:
            out["start"] = [ctx.number(v, "start") for v in start]
        else:
            raise ctx.fail(
                "start", f"must be default, random or a list of numbers, got {_show(start)}"
            )
    return out


def _case(
    index: int,
    raw: Any,
    where: str,
    defaults: Mapping[str, Any],
    suite_tolerances: Mapping[str, Tolerance | None],
    max_steps: int,
) -> CaseSpec:
    if not isinstance(raw, dict):
        raise ConfigError(
            f"cases[{index}] must be a mapping (problem, optimizer, expect, ...), got {_show(raw)}",
            where=where,
        )
    name = raw.get("name")
    problem = raw.get("problem")
    label = name if isinstance(name, str) and name.strip() else problem
    ctx = _Ctx(
        where, f"case '{label}' (cases[{index}])" if isinstance(label, str) else f"cases[{index}]"
    )
    ctx.keys(raw, _CASE_KEYS)
    if name is not None and (not isinstance(name, str) or not name.strip() or "\n" in name):
        raise ctx.fail("name", f"must be a non-empty one-line string, got {_show(name)}")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise ctx.fail("description", f"must be a string, got {_show(description)}")
    if not isinstance(problem, str) or not problem.strip():
        raise ctx.fail("problem", "is required: a shipped problem name or a problem file")
    dim = raw.get("dim")
    if dim is not None:
        dim = ctx.integer(dim, "dim", 1, 100_000_000)
    opt = raw.get("optimizer")
    if isinstance(opt, str):
        optimizers: tuple[str, ...] = (opt,)
    elif isinstance(opt, list) and opt and all(isinstance(o, str) for o in opt):
        optimizers = tuple(opt)
    elif opt is None:
        raise ctx.fail("optimizer", "is required: a spec such as adam(lr=0.1), or a list of specs")
    else:
        raise ctx.fail("optimizer", f"must be a spec string or a list of them, got {_show(opt)}")
    settings = _run_settings(raw, ctx, defaults, max_steps)
    expect = _expectations(raw.get("expect"), ctx)
    tolerances = _tolerances(raw.get("tolerances"), ctx, "tolerances", suite_tolerances)
    return CaseSpec(
        index=index,
        name=name.strip() if isinstance(name, str) else None,
        description=description,
        problem=problem.strip(),
        dim=dim,
        optimizers=optimizers,
        steps=settings.get("steps"),
        seeds=settings.get("seeds", 1),
        seed=settings.get("seed", 0),
        start=settings.get("start", "default"),
        stop_at_target=settings.get("stop_at_target", False),
        expect=expect,
        tolerances=tolerances,
    )


def _expectations(raw: Any, ctx: _Ctx) -> tuple[Expectation, ...]:
    from adambench.metrics import STATUSES

    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise ctx.fail(
            "expect", f"must be a mapping such as {{final_loss_below: 1e-6}}, got {_show(raw)}"
        )
    ctx.keys(raw, EXPECTATIONS, "expect.")
    out = []
    for key, value in raw.items():
        metric, op, kind = EXPECTATIONS[key]
        field_ = f"expect.{key}"
        if kind == "statuses":
            items = value if isinstance(value, list) else [value]
            if not items or not all(isinstance(s, str) for s in items):
                raise ctx.fail(field_, f"must be a status or a list of them, got {_show(value)}")
            for s in items:
                if s not in STATUSES:
                    raise ctx.fail(
                        field_,
                        f"unknown status '{s}'{did_you_mean(s, STATUSES)}; "
                        f"statuses: {', '.join(STATUSES)}",
                    )
            out.append(Expectation(key, metric, op, statuses=tuple(dict.fromkeys(items))))
            continue
        if kind == "steps":
            number = float(ctx.integer(value, field_, 1, 10**9))
        else:
            number = ctx.number(value, field_)
        if kind == "positive" and number <= 0:
            raise ctx.fail(field_, f"must be > 0, got {format_number(number)}")
        if kind == "fraction" and not 0.0 <= number <= 1.0:
            raise ctx.fail(field_, f"must be between 0 and 1, got {format_number(number)}")
        out.append(Expectation(key, metric, op, number))
    return tuple(out)


DEFAULT_TOLERANCES: dict[str, Tolerance | None] = {n: m.default for n, m in METRICS.items()}


def _tolerances(
    raw: Any, ctx: _Ctx, key: str, inherited: Mapping[str, Tolerance | None]
) -> dict[str, Tolerance | None]:
    """Tolerances merged key by key over ``inherited``; ``off`` (or false/null) disables one."""
    out = dict(inherited)
    if raw is None:
        return out
    if not isinstance(raw, dict):
        raise ctx.fail(key, f"must map metrics to {{rtol: r, atol: a}} or off, got {_show(raw)}")
    ctx.keys(raw, {n: m.doc for n, m in METRICS.items()}, f"{key}.")
    for metric, value in raw.items():
        field_ = f"{key}.{metric}"
        if value is None or value is False or value == "off":
            out[metric] = None
            continue
        if not isinstance(value, dict) or not value:
            raise ctx.fail(field_, f"must be {{rtol: r, atol: a}} or off, got {_show(value)}")
        ctx.keys(value, {"rtol": "relative", "atol": "absolute"}, f"{field_}.")
        base = out.get(metric) or Tolerance()
        rtol = ctx.number(value["rtol"], f"{field_}.rtol") if "rtol" in value else base.rtol
        atol = ctx.number(value["atol"], f"{field_}.atol") if "atol" in value else base.atol
        for name, v in (("rtol", rtol), ("atol", atol)):
            if v < 0:
                raise ctx.fail(f"{field_}.{name}", f"must be >= 0, got {format_number(v)}")
        out[metric] = Tolerance(rtol, atol)
    return out


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class CheckItem:
    """One judged check of a case: an expectation, or a metric against its baseline."""

    name: str  # the expectation key ("final_loss_below") or "baseline: final_loss"
    kind: str  # "expect" or "baseline"
    metric: str
    passed: bool
    measured: Any  # a number, None (worst / unavailable), or a status count for "status"
    expected: str  # human text: "< 1e-06", "≤ 955.5"
    threshold: float | None  # the bound the measured value was held to
    baseline: float | None = None
    delta: str = ""
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "metric": self.metric,
            "passed": self.passed,
            "measured": _json_value(self.measured),
            "expected": self.expected,
            "threshold": _num(self.threshold),
            "baseline": _num(self.baseline),
            "delta": self.delta,
            "message": self.message,
        }


@dataclass
class CaseResult:
    """A case configuration: its settings, measured metrics and checks."""

    id: str
    description: str
    settings: dict[str, Any]
    metrics: dict[str, Any]
    checks: list[CheckItem]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def seeds(self) -> int:
        return len(self.settings.get("seeds", [])) or 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "description": self.description,
            "passed": self.passed,
            "settings": self.settings,
            "metrics": {k: _json_value(v) for k, v in self.metrics.items()},
            "checks": [c.to_dict() for c in self.checks],
        }


@dataclass
class CheckResult:
    """What :func:`check` and :func:`compare` return."""

    kind: str  # "check" or "compare"
    name: str  # the suite's name, or "OLD vs NEW"
    source: str  # the suite path, or the two result files
    cases: list[CaseResult]
    baseline: str | None = None
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    threads: int = 1
    compiled: list[str] = field(default_factory=list)  # what was compiled cold

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.cases)

    @property
    def n_passed(self) -> int:
        return sum(c.passed for c in self.cases if c.checks)

    @property
    def n_failed(self) -> int:
        return sum(not c.passed for c in self.cases)

    @property
    def n_unchecked(self) -> int:
        """Cases with nothing to check (no expectations and no baseline): they cannot fail."""
        return sum(not c.checks for c in self.cases)

    @property
    def exit_code(self) -> ExitCode:
        """0 when every check passed, 1 when one failed (a regression)."""
        return ExitCode.OK if self.passed else ExitCode.GATE_FAILED

    def checks(self) -> Iterator[tuple[CaseResult, CheckItem]]:
        for case in self.cases:
            for item in case.checks:
                yield case, item

    def to_dict(self) -> dict[str, Any]:
        """The machine-readable report (``--json``); everything that varies between two
        identical invocations is under ``volatile``."""
        n_checks = sum(1 for _ in self.checks())
        n_failed_checks = sum(1 for _, c in self.checks() if not c.passed)
        return {
            "format": REPORT_FORMAT,
            "tool": {"name": "adambench", "version": __version__},
            "kind": self.kind,
            "name": self.name,
            "source": self.source,
            "baseline": self.baseline,
            "passed": self.passed,
            "exit_code": int(self.exit_code),
            "summary": {
                "cases": len(self.cases),
                "passed": self.n_passed,
                "failed": self.n_failed,
                "without_checks": self.n_unchecked,
                "checks": n_checks,
                "checks_failed": n_failed_checks,
            },
            "cases": [c.to_dict() for c in self.cases],
            "notes": list(self.notes),
            "volatile": {
                "threads": self.threads,
                "compiled": list(self.compiled),
                "timings": {k: round(v, 6) for k, v in self.timings.items()},
            },
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"

    def baseline_dict(self) -> dict[str, Any]:
        """The baseline file's content: measured metrics and settings per case, no timings."""
        return {
            "format": BASELINE_FORMAT,
            "format_version": BASELINE_VERSION,
            "tool": {"name": "adambench", "version": __version__},
            "suite": self.name,
            "how_to_update": "adambench check SUITE --save-baseline FILE, then commit the diff",
            "cases": {
                c.id: {
                    "settings": c.settings,
                    "metrics": {k: _json_value(v) for k, v in c.metrics.items()},
                }
                for c in self.cases
            },
        }

    def baseline_json(self) -> str:
        """Diff-friendly JSON: sorted keys, two-space indent, one block per case."""
        return json.dumps(self.baseline_dict(), indent=2, sort_keys=True, allow_nan=False) + "\n"


def _num(v: Any) -> float | None:
    if v is None or isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(v) else None


def _json_value(v: Any) -> Any:
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _json_value(x) for k, x in v.items()}
    return v


def format_number(v: float | None) -> str:
    """A number in at most ~9 characters (the table's format)."""
    if v is None:
        return "–"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e9 and abs(v) >= 1:
        return f"{int(v)}"
    a = abs(v)
    if a != 0 and (a < 1e-3 or a >= 1e5):
        return f"{v:.2e}"
    return f"{v:.4g}"


def delta_text(new: float | None, ref: float | None) -> str:
    """How far ``new`` is from ``ref``: a relative change (``-21.4%``) when within a factor of
    ten, else a ratio (``×1.6e-24``), else an absolute difference for values of mixed sign."""
    if new is None or ref is None or not (math.isfinite(new) and math.isfinite(ref)):
        return ""
    if new == ref:
        return "0"
    if ref != 0:
        ratio = new / ref
        if 0.1 < ratio < 10:
            rel = (new - ref) / abs(ref)
            return f"{100 * rel:+.1f}%" if abs(rel) >= 1e-3 else f"{100 * rel:+.1g}%"
        if ratio > 0:
            return f"×{ratio:.2g}"
    return f"{new - ref:+.2g}"


# ---------------------------------------------------------------------------------------------
# Judging


def _missing(metric: str, metrics: Mapping[str, Any]) -> str:
    """Why a metric has no number (None means the worst value or not available)."""
    if metric == "steps_to_target":
        return "the median run did not reach the target"
    if metric in ("final_loss", "best_loss", "distance_to_minimum", "grad_norm"):
        return "the median run diverged"
    if metric == "accuracy" and metrics.get("diverged_rate", 0) >= 0.5:
        return "the median run diverged"
    return "not available"


def _value_text(metric: str, v: float) -> str:
    if metric in ("success_rate", "diverged_rate"):
        return f"{100 * v:.0f}%"
    return format_number(v)


def judge(exp: Expectation, metrics: Mapping[str, Any]) -> CheckItem:
    """Hold the measured metrics to one expectation."""
    runs = int(metrics.get("runs", 1))
    if exp.op == "in":
        statuses: dict[str, int] = dict(metrics["statuses"])
        bad = {s: n for s, n in statuses.items() if s not in exp.statuses}
        message = ""
        if bad and runs == 1:
            message = f"expected the run to end {exp.text()}; it ended {next(iter(bad))}"
        elif bad:
            ended = ", ".join(f"{n} ended {s}" for s, n in sorted(bad.items()))
            message = f"expected every run to end {exp.text()}; {ended} (of {runs} runs)"
        return CheckItem(
            exp.key,
            "expect",
            "status",
            not bad,
            _status_text(statuses, runs),
            exp.text(),
            None,
            message=message,
        )
    v = metrics.get(exp.metric)
    rate = exp.metric in ("success_rate", "diverged_rate")
    what = exp.metric.replace("_", " ") if rate else exp.metric
    if runs > 1:
        what = f"{what} over {runs} seeds" if rate else f"median {what} over {runs} seeds"
    bound = f"{_OP_TEXT[exp.op]} {_value_text(exp.metric, exp.value)}"
    if v is None:
        passed = False
        message = f"{_missing(exp.metric, metrics)}; expected {what} {bound}"
        delta = ""
    else:
        passed = {"<": v < exp.value, "<=": v <= exp.value, ">=": v >= exp.value}[exp.op]
        words = {"<": "below", "<=": "at most", ">=": "at least"}[exp.op]
        message = (
            ""
            if passed
            else f"{what} is {_value_text(exp.metric, v)}, not {words} "
            f"{_value_text(exp.metric, exp.value)}"
        )
        delta = _rate_delta(v, exp.value) if rate else delta_text(v, exp.value)
    return CheckItem(
        exp.key, "expect", exp.metric, passed, v, bound, exp.value, delta=delta, message=message
    )


def _rate_delta(new: float, ref: float) -> str:
    """A difference of two fractions, in percentage points (shown as %)."""
    d = 100 * (new - ref)
    return "0" if d == 0 else f"{d:+.0f}%"


def _status_text(statuses: Mapping[str, int], runs: int) -> str:
    if runs == 1:
        return next(iter(statuses))
    return ", ".join(f"{n}× {s}" for s, n in sorted(statuses.items(), key=lambda kv: -kv[1]))


def _distinct(bound: float, ref: float) -> str:
    """``bound`` with enough digits to tell it from ``ref`` (-0.249999999, not -0.25)."""
    if bound == ref:
        return format_number(bound)
    for digits in range(4, 16):
        text = f"{bound:.{digits}g}"
        if text != f"{ref:.{digits}g}":
            return format_number(bound) if digits == 4 else text
    return repr(bound)


def against_baseline(
    metric: str,
    new: float | None,
    old: float | None,
    tol: Tolerance,
    f_star: float | None,
    prefix: str = "baseline",
) -> CheckItem:
    """Hold a measured value to its baseline: worse by at most ``tol.slack`` (see the module
    docstring; losses as their excess over ``f_star``)."""
    m = METRICS[metric]
    name = f"{prefix}: {metric}"
    rate = metric in ("success_rate", "diverged_rate")
    op = "≥" if m.higher_is_better else "≤"
    if old is None:
        # The baseline was the worst value already (diverged / not reached): cannot get worse.
        return CheckItem(name, "baseline", metric, True, new, "any", None, None)
    if new is None:
        return CheckItem(
            name,
            "baseline",
            metric,
            False,
            None,
            f"{op} {_value_text(metric, old)}",
            old,
            old,
            "",
            f"{metric}: {_missing(metric, {})}; {prefix} {_value_text(metric, old)}",
        )
    shift = f_star if (m.excess and f_star is not None) else 0.0
    o, n = old - shift, new - shift
    slack = tol.slack(o)
    bound_excess = o - slack if m.higher_is_better else o + slack
    passed = n >= bound_excess if m.higher_is_better else n <= bound_excess
    bound = bound_excess + shift
    if rate:
        delta = _rate_delta(new, old)
        bound_text = _value_text(metric, bound)
    else:
        delta = delta_text(n, o)
        bound_text = _distinct(bound, old)
    message = ""
    if not passed:
        if shift != 0:
            change = (
                f"its excess over the minimum {format_number(shift)} went from "
                f"{format_number(o)} to {format_number(n)} ({delta})"
            )
        else:
            change = f"{delta}"
        message = (
            f"{metric} got worse: {_distinct(new, old)} vs {prefix} {_distinct(old, new)}, "
            f"{change}; allowed {op} {bound_text} ({tol.text()})"
        )
    return CheckItem(
        name, "baseline", metric, passed, new, f"{op} {bound_text}", bound, old, delta, message
    )


# ---------------------------------------------------------------------------------------------
# Planning: suite -> engine jobs


@dataclass
class _Planned:
    case: CaseSpec
    job: Job
    problem: Problem
    ids: list[str]
    settings: list[dict[str, Any]]


def _case_error(case: CaseSpec, where: str, key: str, exc: AdambenchError) -> AdambenchError:
    if exc.exit_code != ExitCode.USAGE:
        return exc
    return ConfigError(f"{case.title}: '{key}': {exc}", where=where)


def plan(suite: Suite, allocate: bool = True) -> list[_Planned]:
    """Resolve every case (problem, optimizer configurations, settings) into an engine job
    (``allocate=False``: without arrays, for a run on a cluster)."""
    from adambench.engine import prepare
    from adambench.optimizers import configs_from_specs

    problems: dict[tuple[str, int | None], Problem] = {}
    out: list[_Planned] = []
    seen: dict[str, str] = {}
    for case in suite.cases:
        key = (case.problem, case.dim)
        if key not in problems:
            try:
                problems[key] = _load_problem(case.problem, case.dim)
            except AdambenchError as exc:
                raise _case_error(case, suite.path, "problem", exc) from None
        problem = problems[key]
        try:
            configs = configs_from_specs(case.optimizers, suggested=problem.suggested)
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
        out.append(_Planned(case, job, problem, ids, settings))
    return out


def _field_of(message: str) -> str:
    for key in ("steps", "seeds", "seed", "start", "every"):
        if message.startswith(key):
            return key
    return "case"


def _load_problem(name: str, dim: int | None) -> Problem:
    from adambench.problems import load_problem

    return load_problem(name, dim=dim)


def _facts(problem: Problem) -> dict[str, bool]:
    return {
        "target": problem.target is not None,
        "minimum": bool(problem.minimizers),
        "data": problem.kind == "logreg",
    }


def _check_applicable(case: CaseSpec, problem: Problem, where: str) -> None:
    facts = _facts(problem)
    why = {
        "target": f"'{problem.name}' has no target",
        "minimum": f"'{problem.name}' has no known minimiser",
        "data": f"'{problem.name}' is not a data problem (accuracy needs one)",
    }
    for exp in case.expect:
        metric = METRICS.get(exp.metric)
        if metric is not None and not _applicable(metric, facts):
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
            "target": _num(problem.target),
            "minimum_value": _num(problem.min_value),
            "gradient_noise": problem.gradient_noise,
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
    }


# ---------------------------------------------------------------------------------------------
# Baselines


def read_baseline(path: str | Path, suite: str | None = None) -> dict[str, Any]:
    """Load and validate a baseline file (errors are exit 2, naming the file and the case)."""
    from adambench.results import read_json

    where = str(path)
    how = f"adambench check {suite or 'SUITE'} --save-baseline {where}"
    data = read_json(path, f"no such baseline file; create it with: {how}", "baseline")
    return validate_baseline(data, where)


def validate_baseline(data: Any, where: str = "<baseline>") -> dict[str, Any]:
    ctx = _Ctx(where)
    if not isinstance(data, dict) or data.get("format") != BASELINE_FORMAT:
        raise ConfigError(
            f"not an adambench baseline (no format = {BASELINE_FORMAT}); "
            "write one with --save-baseline",
            where=where,
        )
    if data.get("format_version") != BASELINE_VERSION:
        raise ctx.fail(
            "format_version",
            f"is {data.get('format_version')!r}; this adambench reads {BASELINE_VERSION}",
        )
    cases = data.get("cases")
    if not isinstance(cases, dict):
        raise ctx.fail("cases", "must be a mapping of case ids to {settings, metrics}")
    for cid, entry in cases.items():
        cctx = _Ctx(where, f"case '{cid}'")
        if not isinstance(entry, dict) or not isinstance(entry.get("settings"), dict):
            raise cctx.fail("settings", "is missing or not a mapping")
        metrics = entry.get("metrics")
        if not isinstance(metrics, dict):
            raise cctx.fail("metrics", "is missing or not a mapping")
        for name in METRICS:
            if name not in metrics:
                raise cctx.fail(f"metrics.{name}", "is missing")
            v = metrics[name]
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise cctx.fail(f"metrics.{name}", f"must be a number or null, got {_show(v)}")
    return data


def _differences(a: Any, b: Any, path: str) -> Iterator[tuple[str, Any, Any]]:
    """(dotted path, a's value, b's value) wherever two JSON-like values differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            yield from _differences(a.get(k), b.get(k), f"{path}.{k}" if path else k)
    elif not _same(a, b):
        yield path, a, b


def _same(a: Any, b: Any) -> bool:
    # true == 1 in Python; a flag recorded as true must not match a number 1.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def match_baseline(planned: Sequence[_Planned], baseline: Mapping[str, Any], where: str) -> None:
    """Raise (exit 2) when the baseline was not made from this suite's cases and settings."""
    ours = {cid: s for p in planned for cid, s in zip(p.ids, p.settings, strict=True)}
    theirs = baseline["cases"]
    problems = []
    missing = [cid for cid in ours if cid not in theirs]
    extra = [cid for cid in theirs if cid not in ours]
    if missing:
        problems.append(f"cases not in the baseline: {_names(missing)}")
    if extra:
        problems.append(f"cases not in the suite: {_names(extra)}")
    for cid, settings in ours.items():
        if cid not in theirs:
            continue
        for path, mine, old in _differences(settings, theirs[cid]["settings"], ""):
            problems.append(
                f"case '{cid}': {path} is {_short(mine)} in the suite, "
                f"{_short(old)} in the baseline"
            )
    if problems:
        shown = "; ".join(problems[:4])
        more = f"; and {len(problems) - 4} more difference(s)" if len(problems) > 4 else ""
        raise ConfigError(
            f"the baseline does not match the suite: {shown}{more}. If the change is intended, "
            "re-create the baseline with --save-baseline",
            where=where,
        )


def _names(ids: Sequence[str]) -> str:
    head = ", ".join(f"'{i}'" for i in ids[:3])
    return head + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")


def _short(v: Any) -> str:
    if v is None:
        return "absent"
    text = json.dumps(v) if not isinstance(v, str) else repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


# ---------------------------------------------------------------------------------------------
# check


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
    :func:`adambench.engine.execute` call, in parallel; the numbers do not depend on
    ``threads``. Invalid suites and mismatched baselines raise
    :class:`~adambench.errors.ConfigError` (exit 2) before anything runs; a failed check is
    a result (``result.passed`` is False, ``result.exit_code`` is 1).

    ``scheduler`` runs the cases on Dask instead, in chunks of runs (as
    :func:`adambench.sweep` takes it: ``"local"``, an address, a ``distributed.Client`` or a
    :class:`~adambench.cluster.Cluster`); the report is the same.
    """
    from adambench import engine

    t0 = time.perf_counter()
    if threads is not None:
        engine._check_int("threads", threads, 1, 1024)  # before loading anything
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
        from adambench import cluster

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
        facts = _facts(p.problem)
        f_star = p.problem.min_value
        for k, cid in enumerate(p.ids):
            runs = [_run_record(r) for r in result.runs_of(k)]
            metrics = measure(runs)
            items = [judge(e, metrics) for e in p.case.expect]
            if base is not None:
                old = base["cases"][cid]["metrics"]
                items += _baseline_items(metrics, old, p.case.tolerances, facts, f_star)
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


def _baseline_items(
    new: Mapping[str, Any],
    old: Mapping[str, Any],
    tolerances: Mapping[str, Tolerance | None],
    facts: Mapping[str, bool],
    f_star: float | None,
    prefix: str = "baseline",
) -> list[CheckItem]:
    items = []
    for metric, tol in tolerances.items():
        if tol is None or not _applicable(METRICS[metric], facts):
            continue
        items.append(
            against_baseline(metric, new.get(metric), old.get(metric), tol, f_star, prefix)
        )
    return items


# ---------------------------------------------------------------------------------------------
# compare: two saved results, run by run


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
    file, or results of different problems or step counts, raise ConfigError (exit 2).
    """
    from adambench.results import read_result_file

    a_where, a = _result(old, "OLD", read_result_file)
    b_where, b = _result(new, "NEW", read_result_file)
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
    if rtol is not None or atol is not None:
        for name, v in (("rtol", rtol), ("atol", atol)):
            if v is not None and not (math.isfinite(v) and v >= 0):
                raise ConfigError(f"--{name} must be a finite number >= 0, got {v:g}")
        tolerances = {
            m: Tolerance(t.rtol if rtol is None else rtol, t.atol if atol is None else atol)
            for m, t in tolerances.items()
            if t is not None
        }
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
                f"the results were made with different {key}: {_short(sa.get(key))} in "
                f"{a_where}, {_short(sb.get(key))} in {b_where}; compare like with like"
            )
    runs_a, runs_b = _runs_by_key(a, a_where), _runs_by_key(b, b_where)
    only_a = [k for k in runs_a if k not in runs_b]
    only_b = [k for k in runs_b if k not in runs_a]
    if only_a or only_b:
        parts = []
        if only_a:
            parts.append(f"only in {a_where}: {_names([_run_id(*k) for k in only_a])}")
        if only_b:
            parts.append(f"only in {b_where}: {_names([_run_id(*k) for k in only_b])}")
        raise ConfigError(
            "the results do not hold the same runs (matched by label and seed): " + "; ".join(parts)
        )
    target = pb.get("target")
    minimum = pb.get("minimum") or {}
    facts = {
        "target": target is not None,
        "minimum": minimum.get("x") is not None
        or any(r.get("distance_to_minimum") is not None for r in runs_b.values()),
        "data": pb.get("kind") == "logreg",
    }
    f_star = minimum.get("value")
    f_star = float(f_star) if isinstance(f_star, (int, float)) else None
    notes: list[str] = []
    cases = []
    for key, rb in runs_b.items():
        ra = runs_a[key]
        ma, mb = measure([ra]), measure([rb])
        if ra.get("hyperparameters") != rb.get("hyperparameters"):
            notes.append(
                f"{_run_id(*key)}: hyperparameters differ: {_short(ra.get('hyperparameters'))} "
                f"-> {_short(rb.get('hyperparameters'))}"
            )
        settings = {
            "problem": pb["name"],
            "label": key[0],
            "seeds": [key[1]],
            "steps": sb.get("steps"),
            "hyperparameters": rb.get("hyperparameters"),
        }
        items = _baseline_items(mb, ma, tolerances, facts, f_star, prefix="old")
        cases.append(CaseResult(_run_id(*key), "", settings, mb, items))
    return CheckResult(
        "compare",
        f"{Path(a_where).name} vs {Path(b_where).name}",
        f"{a_where} {b_where}",
        cases,
        baseline=a_where,
        notes=notes,
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
    from adambench.metrics import STATUSES

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
                    f"runs[{i}].{name} must be a number or null, got {_show(v)}", where=where
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
