"""The optimizer registry: looking an optimizer up by name, path or torch:CLASS, parsing -O
specs, and resolving every hyperparameter of a configuration."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adambench.errors import AdambenchError, ConfigError, ExitCode, OptimizerError, did_you_mean

if TYPE_CHECKING:
    from adambench.problems import Problem
from adambench.optimizers.builtins import BUILTINS
from adambench.optimizers.controls import check_controls
from adambench.optimizers.spec import (
    BOOL_WORDS,
    SOURCE_MARKS,
    TORCH_PREFIX,
    OptimizerConfig,
    OptimizerSpec,
)

__all__ = [
    "configs_from_specs",
    "get",
    "is_optimizer_path",
    "load_optimizer_file",
    "parse_spec",
    "parse_specs",
    "parse_value",
    "registry",
    "resolve",
    "split_specs",
    "validate_suggestions",
]


def registry() -> dict[str, OptimizerSpec]:
    """All optimizers known by name: the built-ins, the library (YAML rules shipped in
    ``optimizers/library/``), then those of installed packages (entry point group
    ``adambench.optimizers``; a name that is built in or in the library is not overridden)."""
    from adambench.optimizers.plugins import entry_point_specs
    from adambench.optimizers.rules import library_files, library_spec

    reg = dict(BUILTINS) | {name: library_spec(name) for name in library_files()}
    for name, spec in entry_point_specs().items():
        reg.setdefault(name, spec)
    return reg


def is_optimizer_path(name: str) -> bool:
    """Whether ``name`` (an -O name) denotes a file rather than a registered optimizer."""
    return (
        "/" in name
        or os.sep in name
        or name.endswith((".yaml", ".yml", ".py"))
        or (name not in BUILTINS and name not in _library_names() and Path(name).is_file())
    )


def _library_names() -> dict[str, Path]:
    from adambench.optimizers.rules import library_files

    return library_files()


def get(name: str) -> OptimizerSpec:
    """The optimizer ``name``: a built-in, a library optimizer, an optimizer file's path
    (``.yaml``/``.yml`` update rule, ``.py`` plugin), ``torch:CLASS``, or an entry point's name;
    else an error with a "did you mean"."""
    if name in BUILTINS:
        return BUILTINS[name]
    if name in _library_names():
        from adambench.optimizers.rules import library_spec

        return library_spec(name)
    if name.startswith(TORCH_PREFIX):
        from adambench.optimizers.torch_adapter import torch_spec

        return torch_spec(name)
    if is_optimizer_path(name):
        return load_optimizer_file(name)
    from adambench.optimizers.plugins import entry_point_names, entry_point_spec

    if name in entry_point_names():
        return entry_point_spec(name)
    known = [*BUILTINS, *_library_names(), *entry_point_names()]
    raise OptimizerError(
        f"unknown optimizer '{name}'{_unknown_hint(name, known)}; known: {', '.join(known)} "
        "(or the path of a .yaml/.py optimizer file, or torch:CLASS)"
    )


def _unknown_hint(name: str, known: list[str]) -> str:
    """What to say after "unknown optimizer 'name'": a torch class without its ``torch:``
    prefix, overrides in brackets instead of parentheses, else a "did you mean"."""
    if name.startswith("torch."):
        return f" (did you mean '{TORCH_PREFIX}{name}'?)"
    base, bracket, rest = name.partition("[")
    if bracket and base in known and rest.endswith("]"):
        return f" (did you mean '{base}({rest[:-1]})'?)"
    return did_you_mean(name, known)


def load_optimizer_file(path: str) -> OptimizerSpec:
    """The optimizer of a file: ``.py`` is a plugin module, anything else a YAML update rule."""
    if path.endswith(".py"):
        from adambench.optimizers.plugins import load_plugin_file

        return load_plugin_file(path)
    from adambench.optimizers.rules import load_optimizer_yaml

    return load_optimizer_yaml(path)


def _label(spec: OptimizerSpec, values: Mapping[str, float], sources: Mapping[str, str]) -> str:
    parts = []
    for hp in spec.hyperparams:
        if sources[hp.name] == "default":
            continue
        text = hp.show(values[hp.name])
        parts.append(f"{hp.name}={text}{SOURCE_MARKS.get(sources[hp.name], '')}")
    return f"{spec.name}({', '.join(parts)})" if parts else spec.name


def resolve(
    spec: OptimizerSpec,
    overrides: Mapping[str, Any] | None = None,
    *,
    lr: float | None = None,
    suggested: Mapping[str, Any] | None = None,
) -> OptimizerConfig:
    """Resolve every hyperparameter: the spec's overrides, then ``lr``, then the problem's
    suggestion, then the default. Values are validated against their ranges."""
    overrides = dict(overrides or {})
    suggested = dict(suggested or {})
    for name in overrides:
        spec.param(name)
    values: dict[str, float] = {}
    sources: dict[str, str] = {}
    for hp in spec.hyperparams:
        if hp.name in overrides:
            raw, src = overrides[hp.name], "spec"
        elif hp.name == "lr" and lr is not None:
            raw, src = lr, "cli"
        elif hp.name in suggested:
            raw, src = suggested[hp.name], "problem"
        else:
            raw, src = hp.default_text, "default"
        values[hp.name] = hp.validate(raw, spec.name)
        # A value equal to the default is still reported with its source (the user asked).
        sources[hp.name] = src
    if spec.check is not None and (problem := spec.check(values)):
        raise OptimizerError(f"{spec.name}: {problem}")
    if problem := check_controls(spec, values, sources):
        raise OptimizerError(f"{spec.name}: {problem}")
    return OptimizerConfig(spec, values, sources, _label(spec, values, sources))


_NAME = re.compile(r"^\s*([^()\s,][^(),]*?)\s*(?:\((.*)\))?\s*$", re.S)


def split_specs(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "([":  # brackets too: betas=[0.9,0.999] is one (refused) item, not two
            depth += 1
        elif ch in ")]":
            depth -= 1
            if depth < 0:
                raise OptimizerError(f"unbalanced '{ch}' in optimizer spec '{text}'")
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth != 0:
        raise OptimizerError(f"unbalanced '(' in optimizer spec '{text}'")
    parts.append("".join(cur))
    return [p.strip() for p in parts]


_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_value(text: str) -> float | bool | str:
    """A value as written in a spec: a flag word, a number, or a name (``schedule=cosine``,
    checked against the hyperparameter's kind when resolved)."""
    t = text.strip()
    if t.lower() in BOOL_WORDS:
        return BOOL_WORDS[t.lower()]
    try:
        return float(t)
    except ValueError:
        if _WORD.match(t):
            return t
        raise OptimizerError(
            f"hyperparameter value '{t}' is not a number, true/false or a name"
        ) from None


def parse_spec(text: str) -> tuple[str, dict[str, float | bool | str]]:
    """Parse one ``name(k=v, ...)`` spec."""
    m = _NAME.match(text)
    if not m or not text.strip():
        raise OptimizerError(
            f"cannot read optimizer spec '{text}' (expected name or name(k=v,...))"
        )
    name, inner = m.group(1), m.group(2)
    overrides: dict[str, float | bool | str] = {}
    if inner is not None and inner.strip():
        for item in split_specs(inner):
            key, eq, value = item.partition("=")
            key = key.strip()
            if not item.strip():
                raise OptimizerError(f"in '{text}': an empty item (a comma too many?)")
            if not eq and ":" in item:  # lr:0.1, as in a YAML mapping
                fix = "=".join(p.strip() for p in item.split(":", 1))
                raise OptimizerError(f"in '{text}': expected key=value, got '{item}' (write {fix})")
            if not eq or not key or not value.strip():
                raise OptimizerError(f"in '{text}': expected key=value, got '{item}'")
            if key in overrides:
                raise OptimizerError(f"in '{text}': '{key}' given twice")
            overrides[key] = _one_value(text, key, value)
    return name, overrides


def _one_value(spec: str, key: str, value: str) -> float | bool | str:
    """A hyperparameter's value; a tuple (torch's ``betas=(0.9, 0.999)``) is refused saying
    what to write instead."""
    inner = value.strip()
    if inner[:1] in "([" and inner[-1:] in ")]":
        parts = [p.strip() for p in inner[1:-1].split(",")]
        if key == "betas" and len(parts) == 2:
            fix = f"beta1={parts[0]}, beta2={parts[1]}"
            raise OptimizerError(f"in '{spec}': adambench takes one number each: use {fix}")
        raise OptimizerError(f"in '{spec}': {key} takes one number, got {inner}")
    return parse_value(value)


def parse_specs(items: Iterable[str]) -> list[tuple[str, dict[str, float | bool | str]]]:
    """Parse every -O value (each may hold several comma-separated specs)."""
    out = []
    for item in items:
        for part in split_specs(item):
            if not part:
                raise OptimizerError(f"empty optimizer name in '{item}' (a comma too many?)")
            out.append(parse_spec(part))
    if not out:
        raise OptimizerError("no optimizer given")
    return out


def configs_from_specs(
    items: Iterable[str],
    *,
    lr: float | None = None,
    suggested: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[OptimizerConfig]:
    """Resolve -O values into configurations (labels may repeat; `run` numbers repeats)."""
    suggested = suggested or {}
    configs = []
    for name, overrides in parse_specs(items):
        spec = get(name)
        configs.append(resolve(spec, overrides, lr=lr, suggested=suggested.get(spec.name)))
    return configs


def validate_suggestions(problem: Problem) -> dict[str, dict[str, Any]]:
    """The problem file's ``suggested`` hyperparameters, checked as ``-O`` checks a spec, keyed by
    the optimizer's name (what :func:`resolve` is given for it).

    A key is what ``-O`` takes: a registered name, the path of an optimizer file (relative to the
    problem file's folder) or ``torch:CLASS``. An unknown optimizer, an unknown hyperparameter or
    a value outside its range is a :class:`~adambench.errors.ConfigError` naming the problem
    file and the field (``p.yaml: suggested.adam: ...``), with a "did you mean".
    """
    where = _problem_file(problem)
    out: dict[str, dict[str, Any]] = {}
    for key, hps in problem.suggested.items():
        try:
            spec = get(_suggested_path(key, problem))
        except AdambenchError as exc:  # unknown, or an optimizer file that cannot be read
            if exc.exit_code != ExitCode.USAGE:
                raise
            raise ConfigError(str(exc), where=f"{where}: suggested") from None
        try:
            for name in hps:
                spec.param(str(name))
            resolve(spec, suggested=hps)
        except OptimizerError as exc:
            raise ConfigError(str(exc), where=f"{where}: suggested.{key}") from None
        out[spec.name] = dict(hps)
    return out


def _problem_file(problem: Problem) -> str:
    """How an error names the file a problem came from."""
    if problem.source == "built-in":
        return f"problems/{problem.name}.yaml"
    if problem.source == "user":
        return f"problem '{problem.name}'"
    return problem.source


def _suggested_path(key: str, problem: Problem) -> str:
    """A ``suggested`` key naming an optimizer file is relative to the problem file's folder."""
    if not is_optimizer_path(key) or os.path.isabs(key) or problem.source in ("built-in", "user"):
        return key
    return str(Path(problem.source).parent / key)
