"""Optimizers as Python plugins: a module file given by path, or an installed package's entry point.

The contract (the one the built-ins in :mod:`adambench.kernels` follow)::

    \"\"\"Sign SGD: p -= lr * sign(g).\"\"\"          # first line: the description
    import math
    import numba

    HYPERPARAMETERS = {                          # in the order of the hp vector
        "lr": {"default": 0.01, "above": 0},     # same form as in YAML optimizer files
        "momentum": {"default": 0.0, "min": 0, "below": 1},
    }
    STATE_PER_PARAM = 1                          # state = STATE_PER_PARAM * n + STATE_EXTRA
    STATE_EXTRA = 0                              # (or define state_size(n) -> int)
    NAME = "signsgd"                             # optional: default the file's stem / entry name

    @numba.njit
    def init(p, hp, state):                      # fill state before the first step
        for k in range(state.shape[0]):
            state[k] = 0.0

    @numba.njit
    def step(p, g, state, t, hp):                # one update of p in place; t = 1, 2, ...
        for i in range(p.shape[0]):
            state[i] = hp[1] * state[i] + g[i]
            p[i] -= hp[0] * math.copysign(1.0, state[i])

``init`` and ``step`` are called from inside the compiled run loop, so they must be numba
compatible; plain functions are compiled with numba (``error_model="numpy"``, as the built-ins),
already jitted ones are used as they are. Arrays are float64 (``state`` one run's vector, ``hp``
the hyperparameters, bools as 0.0/1.0); ``t`` is an integer. A plugin whose kernels also
accept float32 ``p``, ``g`` and ``state`` (``--dtype float32``) says so with
``DTYPES = ("float64", "float32")``; without it a float32 run refuses the plugin.

A plugin file is imported under a module name derived from the hash of its text
(``_adambench_plugin_<hash>``) and registered in ``sys.modules`` before the generated module that
calls it is imported; the file's text is part of the generated module's cache key, so an edit
recompiles. (Modules the plugin imports itself are not part of the key.) An installed package
registers plugin modules in the entry point group ``adambench.optimizers``::

    [project.entry-points."adambench.optimizers"]
    signsgd = "my_package.signsgd"

Errors (the module does not import, lacks ``init``/``step``, bad metadata, or does not compile
with numba) are one :class:`~adambench.errors.OptimizerError` line naming the file, exit code 2.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from adambench import files
from adambench.errors import ConfigError, OptimizerError
from adambench.limits import DTYPES
from adambench.optimizers.builtins import BUILTINS
from adambench.optimizers.controls import with_controls
from adambench.optimizers.spec import HyperParam, KernelRef, OptimizerSpec, hyperparam_from_data

__all__ = [
    "CONTRACT",
    "GROUP",
    "compile_failure",
    "entry_point_names",
    "entry_point_spec",
    "entry_point_specs",
    "import_file",
    "load_plugin_file",
    "spec_from_module",
]

GROUP = "adambench.optimizers"
#: Positional parameters of the two kernels, the contract of every optimizer.
CONTRACT = {"init": ("p", "hp", "state"), "step": ("p", "g", "state", "t", "hp")}
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]*$")

_SPECS: dict[tuple[str, str], OptimizerSpec] = {}


# ---------------------------------------------------------------------------------------------
# Plugins by path


def load_plugin_file(path: str) -> OptimizerSpec:
    """The optimizer of a plugin module file (``source`` = the path as given)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise OptimizerError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise OptimizerError(f"{path}: is a directory, not a plugin file") from None
    except OSError as exc:
        raise OptimizerError(f"{path}: cannot read: {exc.strerror or exc}") from None
    digest = files.digest(data)
    key = (path, digest)
    if key not in _SPECS:
        module = import_file(p, f"_adambench_plugin_{digest}", path)
        default_name = p.stem
        _SPECS[key] = spec_from_module(
            module, default_name=default_name, source=path, source_file=str(p.resolve())
        )
    return _SPECS[key]


def import_file(path: Path, name: str, shown: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise OptimizerError(f"{shown}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs, as an import would (numba's cache finds functions this way).
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's code: whatever it raises means "does not import"
        del sys.modules[name]
        raise OptimizerError(
            f"{shown}: the plugin does not import: {_one_line(exc)}{_where_in(exc, path)}"
        ) from None
    return module


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if len(text) > 200:
        text = text[:197] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _where_in(exc: BaseException, path: Path) -> str:
    if isinstance(exc, SyntaxError) and exc.lineno:
        return f" (line {exc.lineno})"
    tb = exc.__traceback__
    line = None
    target = str(path.resolve())
    while tb is not None:
        if str(Path(tb.tb_frame.f_code.co_filename).resolve()) == target:
            line = tb.tb_lineno
        tb = tb.tb_next
    return f" (line {line})" if line else ""


# ---------------------------------------------------------------------------------------------
# The contract


def spec_from_module(
    module: ModuleType, *, default_name: str, source: str, source_file: str, origin: str = ""
) -> OptimizerSpec:
    """Check a plugin module against the contract and build its registry entry."""
    where = source
    missing = [f for f in CONTRACT if not callable(getattr(module, f, None))]
    if missing:
        raise OptimizerError(
            f"{where}: a plugin must define init(p, hp, state) and step(p, g, state, t, hp); "
            f"missing: {', '.join(missing)}"
        )
    kernels = {}
    for fname, params in CONTRACT.items():
        fn = getattr(module, fname)
        _check_signature(fn, fname, params, where)
        kernels[fname] = _jitted(fn)

    name = getattr(module, "NAME", default_name)
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise OptimizerError(
            f"{where}: NAME must be letters, digits, _ . - starting with a letter, got {name!r}"
        )
    if name in BUILTINS:
        raise OptimizerError(
            f"{where}: the name '{name}' is a built-in optimizer's; set NAME = 'my_{name}'"
        )
    description = getattr(module, "DESCRIPTION", None)
    if description is None:
        description = (module.__doc__ or "").strip().splitlines()[0:1]
        description = description[0] if description else f"plugin {source}"
    if not isinstance(description, str):
        raise OptimizerError(f"{where}: DESCRIPTION must be a string")

    hyperparams = _hyperparams(getattr(module, "HYPERPARAMETERS", {}), where)
    per_param, extra, size_fn = _state_layout(module, where)
    dtypes = _dtypes(module, where)

    # The kernels go into a small module of their own, importable by the generated module.
    digest = files.digest(
        f"{module.__name__}\0{source_file}\0".encode() + Path(source_file).read_bytes()
    )
    shim_name = f"_adambench_kernels_{digest}"
    shim = sys.modules.get(shim_name)
    if shim is None:
        shim = ModuleType(shim_name, f"jitted kernels of the plugin {source}")
        shim.init, shim.step = kernels["init"], kernels["step"]
        sys.modules[shim_name] = shim
    return OptimizerSpec(
        name,
        description.strip(),
        with_controls(hyperparams),
        per_param,
        KernelRef(shim_name, "init", "step", source_file),
        convention=f"Python plugin ({origin or Path(source_file).name})",
        source=source,
        state_extra=extra,
        state_size_fn=size_fn,
        dtypes=dtypes,
    )


def _dtypes(module: ModuleType, where: str) -> tuple[str, ...]:
    """The dtypes a plugin declares its kernels accept (``DTYPES``); float64 alone by default,
    the contract's arrays."""
    declared = getattr(module, "DTYPES", ("float64",))
    ok = isinstance(declared, (tuple, list)) and all(d in DTYPES for d in declared)
    if not ok or "float64" not in declared:
        raise OptimizerError(
            f"{where}: DTYPES must list float64 and optionally float32, e.g. "
            f"DTYPES = ('float64', 'float32'); got {declared!r}"
        )
    return tuple(d for d in DTYPES if d in declared)


def _check_signature(fn: Any, fname: str, params: tuple[str, ...], where: str) -> None:
    py = getattr(fn, "py_func", fn)
    try:
        sig = inspect.signature(py)
    except (TypeError, ValueError):
        return  # not introspectable: numba will say if the call does not fit
    positional = [
        p
        for p in sig.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    if len(positional) != len(params):
        raise OptimizerError(
            f"{where}: {fname} must take ({', '.join(params)}), takes ({', '.join(sig.parameters)})"
        )


def _jitted(fn: Any) -> Any:
    """A numba dispatcher for a kernel: as given if already jitted, else compiled lazily with
    the built-ins' options (no ``cache``: the generated module's cache holds the machine code,
    and the user's folder stays clean)."""
    import numba
    from numba.core.dispatcher import Dispatcher

    if isinstance(fn, Dispatcher):
        return fn
    return numba.njit(error_model="numpy", nogil=True)(fn)


def _hyperparams(raw: Any, where: str) -> tuple[HyperParam, ...]:
    if not isinstance(raw, Mapping):
        raise OptimizerError(
            f"{where}: HYPERPARAMETERS must be a dict of name -> {{'default': ..., ...}}"
        )
    out = []
    for name, value in raw.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise OptimizerError(f"{where}: hyperparameter name {name!r} is not an identifier")
        try:
            out.append(hyperparam_from_data(name, value, where))
        except ConfigError as exc:
            raise OptimizerError(str(exc)) from None
    return tuple(out)


def _count(module: ModuleType, attr: str, where: str) -> int:
    value = getattr(module, attr, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise OptimizerError(f"{where}: {attr} must be an integer >= 0, got {value!r}")
    return value


def _state_layout(module: ModuleType, where: str) -> tuple[int, int, Callable[[int], int] | None]:
    fn = getattr(module, "state_size", None)
    if fn is None:
        return _count(module, "STATE_PER_PARAM", where), _count(module, "STATE_EXTRA", where), None
    if not callable(fn):
        raise OptimizerError(f"{where}: state_size must be a function of n")
    for n in (1, 2, 7):
        try:
            size = fn(n)
        except Exception as exc:  # the user's code
            raise OptimizerError(f"{where}: state_size({n}) raised {_one_line(exc)}") from None
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise OptimizerError(f"{where}: state_size({n}) must be an integer >= 0, got {size!r}")

    def checked(n: int) -> int:
        return int(fn(n))

    return 0, 0, checked


# ---------------------------------------------------------------------------------------------
# Entry points: installed packages adding optimizers


def _entry_points() -> list[Any]:
    from importlib.metadata import entry_points

    return list(entry_points(group=GROUP))


def entry_point_names() -> list[str]:
    """Names registered in the entry point group (without importing anything)."""
    return [ep.name for ep in _entry_points() if ep.name not in BUILTINS]


def _dist_name(ep: Any) -> str:
    dist = getattr(ep, "dist", None)
    return dist.name if dist is not None else ep.value.split(":")[0].split(".")[0]


def entry_point_spec(name: str) -> OptimizerSpec:
    """Load the optimizer an installed package registers as ``name``."""
    matches = [ep for ep in _entry_points() if ep.name == name]
    if not matches:
        raise OptimizerError(f"no entry point '{name}' in the group {GROUP}")
    ep = matches[0]
    source = f"entry point {_dist_name(ep)}"
    where = f"{source} ({name} = {ep.value})"
    try:
        module = ep.load()
    except Exception as exc:  # the package's code
        raise OptimizerError(f"{where}: does not import: {_one_line(exc)}") from None
    if not isinstance(module, ModuleType):
        raise OptimizerError(f"{where}: must name a module with init and step, got {module!r}")
    file = getattr(module, "__file__", None)
    if not file:
        raise OptimizerError(f"{where}: the module has no source file")
    key = (where, files.digest(Path(file).read_bytes()))
    if key not in _SPECS:
        spec = spec_from_module(
            module, default_name=name, source=source, source_file=file, origin=module.__name__
        )
        if spec.name != name:  # the registered name wins over NAME, so -O NAME finds it
            from dataclasses import replace

            spec = replace(spec, name=name)
        _SPECS[key] = spec
    return _SPECS[key]


def entry_point_specs(errors: list[str] | None = None) -> dict[str, OptimizerSpec]:
    """Every loadable entry point optimizer; broken ones are left out (their message appended to
    ``errors`` when given; `-O NAME` reports it)."""
    out = {}
    for ep in _entry_points():
        if ep.name in BUILTINS:
            if errors is not None:
                errors.append(
                    f"entry point '{ep.name}' of {_dist_name(ep)} ignored: the name is built in"
                )
            continue
        try:
            out[ep.name] = entry_point_spec(ep.name)
        except OptimizerError as exc:
            if errors is not None:
                errors.append(str(exc))
    return out


# ---------------------------------------------------------------------------------------------
# Compile errors


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def compile_failure(spec: OptimizerSpec, exc: Exception) -> OptimizerError:
    """One line for a numba error while compiling a user's optimizer (plugin or YAML file)."""
    from numba.core.errors import NumbaError

    text = _ANSI.sub("", str(exc))
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    skip = ("Failed in ", "During:", "File ", "<source", "^", "- Resolution failure")
    first = next((k for k, ln in enumerate(lines) if not ln.startswith(skip)), None)
    reason = lines[first] if first is not None else type(exc).__name__
    if reason.endswith(":") and first is not None and first + 1 < len(lines):
        reason += " " + lines[first + 1]  # e.g. "... found for signature: >>> add(...)"
    if len(reason) > 200:
        reason = reason[:197] + "..."
    if not isinstance(exc, NumbaError):  # e.g. AttributeError from math.nosuch
        reason = _one_line(exc)
    loc = ""
    file = spec.kernel.source_file
    for m in re.finditer(r'File "([^"]+)", line (\d+)', text):
        if file and Path(m.group(1)).name == Path(file).name:
            loc = f", line {m.group(2)}"
    callee = re.findall(r"resolving callee type: type\(CPUDispatcher\(<function (\w+) at", text)
    fn = f" (in {callee[-1]}{loc})" if callee else f" ({loc[2:]})" if loc else ""
    return OptimizerError(f"{spec.source}: does not compile with numba{fn}: {reason}")
