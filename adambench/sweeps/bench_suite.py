"""What a bench runs: a built-in suite of shipped problems, or a suite file.

Built-in suites: ``card`` (five fixed problems), ``classic`` (every shipped problem with a
formula) and, by the ``tags:`` of the shipped problem files, ``multimodal``,
``ill-conditioned`` and ``nd``. A suite file (YAML) lists problems, each with optional steps,
start and target, and may set the optimizers, seeds and tuning; every mistake is refused in one
line naming the file and the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adambench.errors import ConfigError, UsageError, did_you_mean
from adambench.fields import Fields, number_like
from adambench.limits import MAX_SEED, MAX_SEEDS, MAX_STEPS
from adambench.numbers import nonnegative_number

__all__ = [
    "BUILTIN_SUITES",
    "CARD",
    "Suite",
    "SuiteProblem",
    "builtin_suite",
    "load_suite",
    "load_suite_file",
]

#: The card suite: one problem of each character the shipped set has.
CARD = ("beale", "rosenbrock", "long_valley", "saddle_point", "noisy_logreg")
#: Built-in suite name -> what it holds (``None``: every shipped problem with a formula).
BUILTIN_SUITES: dict[str, str | None] = {
    "card": "card",
    "classic": None,
    "multimodal": "multimodal",
    "ill-conditioned": "ill-conditioned",
    "nd": "nd",
}
_SUITE_KEYS = ("name", "problems", "optimizers", "seeds", "seed", "steps", "tune")
_PROBLEM_KEYS = ("problem", "steps", "start", "target", "noise", "rotate")
_TUNE_KEYS = ("params", "count", "budget", "range")


@dataclass(frozen=True)
class SuiteProblem:
    """One problem of a suite: a name or file, and what the suite changes of it (None: the
    problem's own). ``start`` is ``"random"``, ``"default"`` or a point; ``target`` a loss,
    or ``gap`` a distance above the known minimum."""

    problem: str
    steps: int | None = None
    start: Any = "random"
    target: float | None = None
    gap: float | None = None
    #: ``--noise`` / ``--rotate`` for this problem alone (None: as the command line says).
    noise: float | None = None
    rotate: int | None = None


@dataclass(frozen=True)
class Suite:
    """The problems of a bench, and what a suite file sets of the rest (None: not set)."""

    name: str
    problems: tuple[SuiteProblem, ...]
    optimizers: tuple[str, ...] | None = None
    seeds: int | None = None
    seed: int | None = None
    steps: int | None = None
    tune: dict[str, Any] = field(default_factory=dict)
    #: The suite file (None: a built-in suite), named by errors found when the suite is used.
    where: str | None = None


def _shipped_tags(path: Path) -> tuple[str, ...]:
    """The ``tags:`` of a shipped problem file (none if it has no such key)."""
    from adambench.safeyaml import load_file

    raw = load_file(path)
    tags = raw.get("tags", ()) if isinstance(raw, dict) else ()
    return tuple(str(t) for t in tags) if isinstance(tags, list) else ()


def _has_formula(path: Path) -> bool:
    from adambench.safeyaml import load_file

    raw = load_file(path)
    return isinstance(raw, dict) and "expression" in raw and "data" not in raw


def builtin_suite(name: str) -> Suite:
    """The built-in suite ``name``; an unknown name, or a tag no shipped problem has, is a
    one-line error."""
    from adambench.problem_files import builtin_files

    if name not in BUILTIN_SUITES:
        hint = did_you_mean(name, list(BUILTIN_SUITES))
        known = ", ".join(BUILTIN_SUITES)
        raise UsageError(f"unknown suite '{name}'{hint}; built-in suites: {known} (or a file)")
    files = builtin_files()
    tag = BUILTIN_SUITES[name]
    if tag == "card":
        names = [n for n in CARD if n in files]
    elif tag is None:
        names = [n for n, p in files.items() if _has_formula(p)]
    else:
        names = [n for n, p in files.items() if tag in _shipped_tags(p)]
    if not names:
        raise UsageError(f"suite '{name}': no shipped problem has the tag '{tag}'")
    return Suite(name, tuple(SuiteProblem(n) for n in names))


def load_suite(text: str) -> Suite:
    """A built-in suite name, or the path of a suite file (``.yaml``/``.yml``)."""
    if text.endswith((".yaml", ".yml")) or "/" in text:
        return load_suite_file(Path(text))
    return builtin_suite(text)


def load_suite_file(path: Path) -> Suite:
    """Read and check a suite file; one :class:`ConfigError` line per mistake."""
    from adambench.safeyaml import load_file

    where = str(path)
    if not path.is_file():
        raise ConfigError("no such suite file", where=where)
    raw = load_file(path)
    if not isinstance(raw, dict):
        raise ConfigError("a suite file must be a mapping with a 'problems' list", where=where)
    f = Fields(raw, where)
    f.unknown_keys(_SUITE_KEYS)
    if "problems" not in raw:
        raise f.fail("problems", "is required: a list of problem names or mappings")
    items = raw["problems"]
    if not isinstance(items, list) or not items:
        raise f.fail("problems", "must be a non-empty list of problem names or mappings")
    problems = tuple(_suite_problem(f, k, item) for k, item in enumerate(items))
    return Suite(
        name=f.text("name", path.stem),
        problems=problems,
        optimizers=_optimizers(f),
        seeds=f.integer("seeds", 1, MAX_SEEDS, None) if "seeds" in f else None,
        seed=f.integer("seed", 0, MAX_SEED, None) if "seed" in f else None,
        steps=f.integer("steps", 1, MAX_STEPS, None) if "steps" in f else None,
        tune=_tune(f),
        where=where,
    )


def _optimizers(f: Fields) -> tuple[str, ...] | None:
    if "optimizers" not in f:
        return None
    value = f.get("optimizers")
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise f.fail("optimizers", "must be a non-empty list of optimizer names or specs")
    return tuple(value)


def _tune(f: Fields) -> dict[str, Any]:
    if "tune" not in f:
        return {}
    raw = f.get("tune")
    if not isinstance(raw, dict):
        raise f.fail("tune", "must be a mapping of params, count, budget and range")
    t = f.nested("tune", raw)
    t.unknown_keys(_TUNE_KEYS)
    out: dict[str, Any] = {}
    if "params" in t:
        params = t.get("params")
        params = ",".join(params) if isinstance(params, list) else params
        if not isinstance(params, str) or not params:
            raise t.fail("params", "must be a hyperparameter name or a list of names")
        out["params"] = params
    if "count" in t:
        out["count"] = t.integer("count", 2, 1000)
    if "budget" in t:
        out["budget"] = t.integer("budget", 1, 100_000)
    if "range" in t:
        out["range"] = t.text("range")
    return out


def _suite_problem(f: Fields, k: int, item: Any) -> SuiteProblem:
    """One entry of ``problems``: a name, or a mapping with ``problem`` and optional steps,
    start and target."""
    if isinstance(item, str) and item:
        return SuiteProblem(item)
    if not isinstance(item, dict):
        raise f.fail(f"problems[{k}]", "must be a problem name or a mapping with 'problem'")
    p = f.nested(f"problems[{k}]", item)
    p.unknown_keys(_PROBLEM_KEYS)
    if not isinstance(item.get("problem"), str) or not item["problem"]:
        raise p.fail("problem", "is required: a problem name or file")
    steps = p.integer("steps", 1, MAX_STEPS) if "steps" in p else None
    target, gap = _target(p, item.get("target"))
    start = _start(p, item.get("start", "random"))
    noise = None
    if "noise" in p:
        noise = nonnegative_number(
            p.number("noise"), lambda message: p.fail("noise", message), str(item["noise"])
        )
    rotate = p.integer("rotate", 0, MAX_SEED) if "rotate" in p else None
    return SuiteProblem(item["problem"], steps, start, target, gap, noise, rotate)


def _start(p: Fields, value: Any) -> Any:
    if value in ("random", "default"):
        return value
    if isinstance(value, list) and value and all(number_like(v) is not None for v in value):
        return [p.as_number(v, "start") for v in value]
    raise p.fail("start", f"must be random, default or a list of numbers, got {value!r}")


def _target(p: Fields, value: Any) -> tuple[float | None, float | None]:
    """A loss (``1.0e-6``) or a gap above the minimum (``{gap: 1.0e-3}``)."""
    if value is None:
        return None, None
    if isinstance(value, dict) and set(value) == {"gap"}:
        gap = p.as_number(value["gap"], "target")
        if gap <= 0:
            raise p.fail("target", f"gap must be positive, got {value['gap']}")
        return None, gap
    if isinstance(value, dict):
        raise p.fail("target", "must be a loss or {gap: G}")
    return p.as_number(value, "target"), None
