"""The suite file of `adambench check`: cases, expectations and tolerances, validated."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adambench import safeyaml
from adambench.errors import ConfigError, did_you_mean
from adambench.limits import MAX_SEED, MAX_SEEDS

if TYPE_CHECKING:
    pass
from adambench.checks.expectations import EXPECTATIONS, MAX_CASES, METRICS, Expectation, Tolerance
from adambench.numbers import format_number

__all__ = [
    "DEFAULT_TOLERANCES",
    "CaseSpec",
    "Suite",
    "SuiteContext",
    "load_suite",
    "shown_value",
    "suite_from_dict",
]

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


def shown_value(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) < 40 else text[:37] + '...'}"


class SuiteContext:
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
                    prefix.rstrip(".") or None, f"keys must be strings, got {shown_value(key)}"
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
            raise self.fail(key, f"must be a number, got {shown_value(value)}{hint}")
        if not math.isfinite(value):
            raise self.fail(key, f"must be a finite number, got {value}")
        return float(value)

    def integer(self, value: Any, key: str, low: int, high: int) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be an integer, got {shown_value(value)}")
        if not low <= value <= high:
            raise self.fail(key, f"must be between {low} and {high:g}, got {value}")
        return value

    def boolean(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {shown_value(value)}")
        return value


def load_suite(path: str | Path) -> Suite:
    """Read and validate a suite file (errors name the file, the case and the field)."""
    return suite_from_dict(safeyaml.load_file(path), where=str(path))


def suite_from_dict(raw: Any, where: str = "<suite>") -> Suite:
    """Validate a suite given as data (what :func:`load_suite` reads from YAML)."""
    from adambench.problems import MAX_STEPS

    ctx = SuiteContext(where)
    if not isinstance(raw, dict):
        raise ConfigError(
            f"a suite must be a mapping with a 'cases' list, got {shown_value(raw)}", where=where
        )
    ctx.keys(raw, _SUITE_KEYS)
    name = raw.get("name", Path(where).stem if where != "<suite>" else "suite")
    if not isinstance(name, str) or not name.strip():
        raise ctx.fail("name", f"must be a non-empty string, got {shown_value(name)}")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise ctx.fail("description", f"must be a string, got {shown_value(description)}")
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
    raw: Mapping[str, Any], ctx: SuiteContext, inherited: Mapping[str, Any], max_steps: int
) -> dict[str, Any]:
    out = dict(inherited)
    if "steps" in raw:
        out["steps"] = ctx.integer(raw["steps"], "steps", 1, max_steps)
    if "seeds" in raw:
        out["seeds"] = ctx.integer(raw["seeds"], "seeds", 1, MAX_SEEDS)
    if "seed" in raw:
        out["seed"] = ctx.integer(raw["seed"], "seed", 0, MAX_SEED)
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
                "start", f"must be default, random or a list of numbers, got {shown_value(start)}"
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
            f"cases[{index}] must be a mapping (problem, optimizer, expect, ...), "
            f"got {shown_value(raw)}",
            where=where,
        )
    name = raw.get("name")
    problem = raw.get("problem")
    label = name if isinstance(name, str) and name.strip() else problem
    ctx = SuiteContext(
        where, f"case '{label}' (cases[{index}])" if isinstance(label, str) else f"cases[{index}]"
    )
    ctx.keys(raw, _CASE_KEYS)
    if name is not None and (not isinstance(name, str) or not name.strip() or "\n" in name):
        raise ctx.fail("name", f"must be a non-empty one-line string, got {shown_value(name)}")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise ctx.fail("description", f"must be a string, got {shown_value(description)}")
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
        raise ctx.fail(
            "optimizer", f"must be a spec string or a list of them, got {shown_value(opt)}"
        )
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


def _expectations(raw: Any, ctx: SuiteContext) -> tuple[Expectation, ...]:
    from adambench.engine.metrics import STATUSES

    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise ctx.fail(
            "expect",
            f"must be a mapping such as {{final_loss_below: 1e-6}}, got {shown_value(raw)}",
        )
    ctx.keys(raw, EXPECTATIONS, "expect.")
    out = []
    for key, value in raw.items():
        metric, op, kind = EXPECTATIONS[key]
        field_ = f"expect.{key}"
        if kind == "statuses":
            items = value if isinstance(value, list) else [value]
            if not items or not all(isinstance(s, str) for s in items):
                raise ctx.fail(
                    field_, f"must be a status or a list of them, got {shown_value(value)}"
                )
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
    raw: Any, ctx: SuiteContext, key: str, inherited: Mapping[str, Tolerance | None]
) -> dict[str, Tolerance | None]:
    """Tolerances merged key by key over ``inherited``; ``off`` (or false/null) disables one."""
    out = dict(inherited)
    if raw is None:
        return out
    if not isinstance(raw, dict):
        raise ctx.fail(
            key, f"must map metrics to {{rtol: r, atol: a}} or off, got {shown_value(raw)}"
        )
    ctx.keys(raw, {n: m.doc for n, m in METRICS.items()}, f"{key}.")
    for metric, value in raw.items():
        field_ = f"{key}.{metric}"
        if value is None or value is False or value == "off":
            out[metric] = None
            continue
        if not isinstance(value, dict) or not value:
            raise ctx.fail(field_, f"must be {{rtol: r, atol: a}} or off, got {shown_value(value)}")
        ctx.keys(value, {"rtol": "relative", "atol": "absolute"}, f"{field_}.")
        base = out.get(metric) or Tolerance()
        rtol = ctx.number(value["rtol"], f"{field_}.rtol") if "rtol" in value else base.rtol
        atol = ctx.number(value["atol"], f"{field_}.atol") if "atol" in value else base.atol
        for name, v in (("rtol", rtol), ("atol", atol)):
            if v < 0:
                raise ctx.fail(f"{field_}.{name}", f"must be >= 0, got {format_number(v)}")
        out[metric] = Tolerance(rtol, atol)
    return out
