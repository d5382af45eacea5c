"""The suite file of `adambench check`: cases, expectations and tolerances, validated."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adambench import safeyaml
from adambench.checks.expectations import EXPECTATIONS, MAX_CASES, METRICS, Expectation, Tolerance
from adambench.errors import ConfigError, did_you_mean
from adambench.fields import Fields, Wording
from adambench.fields import show as shown_value
from adambench.limits import DTYPES, MAX_SEED, MAX_SEEDS
from adambench.numbers import format_number, nonnegative_number

__all__ = [
    "DEFAULT_TOLERANCES",
    "SUITE_WORDING",
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
    "dtype": "default dtype of every case: float64 or float32",
    "tolerances": "baseline tolerances per metric",
    "cases": "the list of cases",
}


_CASE_KEYS = {
    "name": "the case's name",
    "description": "one line",
    "problem": "a shipped problem or a problem file",
    "dim": "dimension of a vector problem",
    "noise": "gradient noise of this standard deviation (as --noise)",
    "rotate": "a seed: the problem rotated (as --rotate)",
    "optimizer": "a -O spec, or a list of them",
    "steps": "steps per run",
    "seeds": "number of seeds",
    "seed": "first seed",
    "start": "default, random or a point",
    "stop_at_target": "stop each run at the target",
    "dtype": "float64 (default) or float32: parameters, optimizer state and gradient",
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
    dtype: str = "float64"
    #: ``noise:`` / ``rotate:`` (None: the problem's own), as ``--noise`` / ``--rotate``.
    noise: float | None = None
    rotate: int | None = None

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


#: The wording of suite files: the keys of a nested block are named by their dotted path.
SUITE_WORDING = Wording(nested_in_where=False)


class SuiteContext(Fields):
    """The fields of (a part of) a suite file: errors name the file, the case and the field."""

    def __init__(
        self, where: str, case: str | None = None, raw: Mapping[Any, Any] | None = None
    ) -> None:
        head = f"{case}: " if case else ""
        super().__init__({} if raw is None else raw, where, SUITE_WORDING, head=head)


def load_suite(path: str | Path) -> Suite:
    """Read and validate a suite file (errors name the file, the case and the field)."""
    return suite_from_dict(safeyaml.load_file(path), where=str(path))


def suite_from_dict(raw: Any, where: str = "<suite>") -> Suite:
    """Validate a suite given as data (what :func:`load_suite` reads from YAML)."""
    from adambench.problems import MAX_STEPS

    if not isinstance(raw, dict):
        raise ConfigError(
            f"a suite must be a mapping with a 'cases' list, got {shown_value(raw)}", where=where
        )
    ctx = SuiteContext(where, raw=raw)
    ctx.unknown_keys(_SUITE_KEYS)
    name = raw.get("name", Path(where).stem if where != "<suite>" else "suite")
    if not isinstance(name, str) or not name.strip():
        raise ctx.fail("name", f"must be a non-empty string, got {shown_value(name)}")
    description = ctx.text("description", "", got=True)
    defaults = _run_settings(ctx, {}, MAX_STEPS)
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
    ctx: SuiteContext, inherited: Mapping[str, Any], max_steps: int
) -> dict[str, Any]:
    out = dict(inherited)
    if "steps" in ctx:
        out["steps"] = ctx.integer("steps", 1, max_steps)
    if "seeds" in ctx:
        out["seeds"] = ctx.integer("seeds", 1, MAX_SEEDS)
    if "seed" in ctx:
        out["seed"] = ctx.integer("seed", 0, MAX_SEED)
    if "stop_at_target" in ctx:
        out["stop_at_target"] = ctx.boolean("stop_at_target")
    if "dtype" in ctx:
        dtype = ctx.get("dtype")
        if dtype not in DTYPES:
            raise ctx.fail("dtype", f"must be one of {', '.join(DTYPES)}, got {shown_value(dtype)}")
        out["dtype"] = dtype
    if "start" in ctx:
        start = ctx.get("start")
        if isinstance(start, str) and start in ("default", "random"):
            out["start"] = start
        elif isinstance(start, list) and start:
            out["start"] = [ctx.as_number(v, "start") for v in start]
        else:
            raise ctx.fail(
                "start", f"must be default, random or a list of numbers, got {shown_value(start)}"
            )
    return out


def _noise(ctx: SuiteContext) -> float:
    """A case's ``noise``: a finite number >= 0."""
    return nonnegative_number(
        ctx.number("noise"),
        lambda message: ctx.fail("noise", message),
        shown_value(ctx.raw["noise"]),
    )


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
        where,
        f"case '{label}' (cases[{index}])" if isinstance(label, str) else f"cases[{index}]",
        raw,
    )
    ctx.unknown_keys(_CASE_KEYS)
    if name is not None and (not isinstance(name, str) or not name.strip() or "\n" in name):
        raise ctx.fail("name", f"must be a non-empty one-line string, got {shown_value(name)}")
    description = ctx.text("description", "", got=True)
    if not isinstance(problem, str) or not problem.strip():
        raise ctx.fail("problem", "is required: a shipped problem name or a problem file")
    dim = None if raw.get("dim") is None else ctx.integer("dim", 1, 100_000_000)
    noise = None if raw.get("noise") is None else _noise(ctx)
    rotate = None if raw.get("rotate") is None else ctx.integer("rotate", 0, 2**63 - 1)
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
    settings = _run_settings(ctx, defaults, max_steps)
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
        dtype=settings.get("dtype", DTYPES[0]),
        noise=noise,
        rotate=rotate,
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
    block = ctx.nested("expect", raw)
    block.unknown_keys(EXPECTATIONS)
    out = []
    for key, value in raw.items():
        metric, op, kind = EXPECTATIONS[key]
        if kind == "statuses":
            items = value if isinstance(value, list) else [value]
            if not items or not all(isinstance(s, str) for s in items):
                raise block.fail(
                    key, f"must be a status or a list of them, got {shown_value(value)}"
                )
            for s in items:
                if s not in STATUSES:
                    raise block.fail(
                        key,
                        f"unknown status '{s}'{did_you_mean(s, STATUSES)}; "
                        f"statuses: {', '.join(STATUSES)}",
                    )
            out.append(Expectation(key, metric, op, statuses=tuple(dict.fromkeys(items))))
            continue
        if kind == "steps":
            number = float(block.as_integer(value, key, 1, 10**9))
        else:
            number = block.as_number(value, key)
        if kind == "positive" and number <= 0:
            raise block.fail(key, f"must be > 0, got {format_number(number)}")
        if kind == "fraction" and not 0.0 <= number <= 1.0:
            raise block.fail(key, f"must be between 0 and 1, got {format_number(number)}")
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
    block = ctx.nested(key, raw)
    block.unknown_keys({n: m.doc for n, m in METRICS.items()})
    for metric, value in raw.items():
        if value is None or value is False or value == "off":
            out[metric] = None
            continue
        if not isinstance(value, dict) or not value:
            raise block.fail(
                metric, f"must be {{rtol: r, atol: a}} or off, got {shown_value(value)}"
            )
        tol = block.nested(metric, value)
        tol.unknown_keys({"rtol": "relative", "atol": "absolute"})
        base = out.get(metric) or Tolerance()
        rtol = tol.number("rtol") if "rtol" in tol else base.rtol
        atol = tol.number("atol") if "atol" in tol else base.atol
        for name, v in (("rtol", rtol), ("atol", atol)):
            if v < 0:
                raise tol.fail(name, f"must be >= 0, got {format_number(v)}")
        out[metric] = Tolerance(rtol, atol)
    return out
