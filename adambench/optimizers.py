"""The optimizer registry, hyperparameter validation and `-O` spec parsing.

One :class:`OptimizerSpec` per optimizer: its hyperparameters (defaults and valid ranges, in the
order of the kernel's ``hp`` vector), its state size and its kernels. Adding an optimizer is its
``step`` (and maybe ``init``) in :mod:`adambench.kernels`, one entry in :data:`BUILTINS` and one
row in the tests' optimizer table. Conventions follow PyTorch (``torch.optim``) so numbers can be
compared; the paper's variants are options (see ``../shared/reference/optimizers.md``).

Wherever an optimizer name is accepted (:func:`get`, ``-O``), so is:

- the path of an optimizer file: ``.yaml`` / ``.yml`` (an update rule,
  :mod:`adambench.optimizer_files`) or ``.py`` (a plugin module, :mod:`adambench.plugins`);
- the name an installed package registers in the entry point group ``adambench.optimizers``;
- ``torch:CLASS``, any importable ``torch.optim.Optimizer`` subclass
  (:mod:`adambench.torch_optimizers`; torch is imported only then).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adambench.codegen import KernelRef
from adambench.errors import ConfigError, OptimizerError, did_you_mean

if TYPE_CHECKING:
    from adambench.problems import Problem

_KERNELS_FILE = str(Path(__file__).resolve().parent / "kernels.py")


@dataclass(frozen=True)
class HyperParam:
    """One hyperparameter: default, kind and valid range ``[low, high]`` (ends open if marked)."""

    name: str
    default: float
    doc: str
    kind: str = "float"  # "float", "bool" or "int" (ints: torch.optim arguments such as max_iter)
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def range_text(self) -> str:
        if self.kind == "bool":
            return "true or false"
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        left = "(" if self.low_open or self.low is None else "["
        right = ")" if self.high_open or self.high is None else "]"
        return f"{left}{lo}, {hi}{right}"

    @property
    def python_type(self) -> type:
        return bool if self.kind == "bool" else int if self.kind == "int" else float

    def validate(self, value: Any, owner: str) -> float:
        """Return the value as a float, or raise naming the parameter, value and range."""
        if self.kind == "bool":
            if isinstance(value, bool):
                return 1.0 if value else 0.0
            if isinstance(value, str) and value.lower() in _BOOL_WORDS:
                return 1.0 if _BOOL_WORDS[value.lower()] else 0.0
            if isinstance(value, (int, float)) and value in (0, 1):
                return float(value)
            raise OptimizerError(f"{owner}: {self.name} must be true or false, got {value!r}")
        if self.kind == "int" and not (
            isinstance(value, (int, float)) and not isinstance(value, bool) and value == int(value)
        ):
            raise OptimizerError(f"{owner}: {self.name} must be an integer, got {value!r}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            try:
                value = float(str(value))
            except ValueError:
                raise OptimizerError(
                    f"{owner}: {self.name} must be a number, got {value!r}"
                ) from None
        x = float(value)
        bad = not math.isfinite(x)
        if self.low is not None:
            bad |= x <= self.low if self.low_open else x < self.low
        if self.high is not None:
            bad |= x >= self.high if self.high_open else x > self.high
        if bad:
            raise OptimizerError(
                f"{owner}: {self.name} must be in {self.range_text()}, got {_fmt(value)}"
            )
        return x


_BOOL_WORDS = {"true": True, "false": False, "yes": True, "no": False, "on": True, "off": False}


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _lr(default: float) -> HyperParam:
    return HyperParam("lr", default, "step size (alpha in the paper)", low=0.0, low_open=True)


def _beta(name: str, default: float, doc: str) -> HyperParam:
    return HyperParam(name, default, doc, low=0.0, high=1.0, high_open=True)


def _eps(default: float) -> HyperParam:
    return HyperParam("eps", default, "added to the denominator", low=0.0)


_WD = HyperParam("weight_decay", 0.0, "L2 penalty added to the gradient (wd * p)", low=0.0)


@dataclass(frozen=True)
class OptimizerSpec:
    """An optimizer of the registry."""

    name: str
    summary: str
    hyperparams: tuple[HyperParam, ...]
    state_per_param: int
    kernel: KernelRef
    convention: str = ""
    source: str = "built-in"
    check: Callable[[dict[str, float]], str | None] | None = field(default=None, compare=False)
    compiled: bool = True
    state_extra: int = 0  # scalars kept after the per-parameter state (e.g. running powers)
    #: A plugin's own ``state_size(n)``, used instead of ``state_per_param * n + state_extra``.
    state_size_fn: Callable[[int], int] | None = field(default=None, compare=False)
    #: For optimizers that are not compiled (``compiled=False``, torch.optim): makes, for a
    #: problem, a Python callable with the array contract of ``runner_template.advance``.
    make_runner: Callable[[Problem], Callable[..., None]] | None = field(
        default=None, compare=False
    )

    def param(self, name: str) -> HyperParam:
        for hp in self.hyperparams:
            if hp.name == name:
                return hp
        names = [h.name for h in self.hyperparams]
        raise OptimizerError(
            f"{self.name} has no hyperparameter '{name}'{did_you_mean(name, names)}; "
            f"it has: {', '.join(names)}"
        )

    @property
    def defaults(self) -> dict[str, float]:
        return {hp.name: hp.default for hp in self.hyperparams}

    def state_size(self, n: int) -> int:
        """Length of one run's state vector for n parameters."""
        if self.state_size_fn is not None:
            return self.state_size_fn(n)
        return self.state_per_param * n + self.state_extra


def _builtin(init: str, name: str, slots: int, extra: int, consts: int) -> KernelRef:
    """A built-in's kernels in kernels.py: ``init``, ``{name}_step`` and the elementwise
    ``{name}_prepare`` / ``{name}_update`` (state slots, run-level scalars, constants)."""
    return KernelRef(
        "adambench.kernels", init, f"{name}_step", _KERNELS_FILE,
        prepare=f"{name}_prepare", update=f"{name}_update", slots=slots, extra=extra,
        consts=consts, step_par=f"{name}_step_par",
    )  # fmt: skip


def _nesterov_check(values: dict[str, float]) -> str | None:
    if values["nesterov"] and (values["momentum"] <= 0 or values["dampening"] != 0):
        return "nesterov requires momentum > 0 and dampening = 0"
    return None


_SGD_PARAMS = (
    _lr(1e-3),
    HyperParam("momentum", 0.0, "momentum factor", low=0.0, high=1.0, high_open=True),
    HyperParam("dampening", 0.0, "dampening of the momentum", low=0.0, high=1.0),
    HyperParam("nesterov", 0.0, "Nesterov momentum", kind="bool"),
    _WD,
)


def _with_defaults(params: tuple[HyperParam, ...], **defaults: float) -> tuple[HyperParam, ...]:
    from dataclasses import replace

    return tuple(replace(p, default=defaults.get(p.name, p.default)) for p in params)


BUILTINS: dict[str, OptimizerSpec] = {
    spec.name: spec
    for spec in (
        OptimizerSpec(
            "adam",
            "Adam with bias correction (Kingma & Ba 2015, Algorithm 1)",
            (
                _lr(1e-3),
                _beta("beta1", 0.9, "decay of the first moment"),
                _beta("beta2", 0.999, "decay of the second moment"),
                _eps(1e-8),
                _WD,
                HyperParam("amsgrad", 0.0, "use max of the second moments (AMSGrad)", "bool"),
                HyperParam("bias_correction", 1.0, "divide moments by 1 - beta^t", "bool"),
            ),
            3,
            _builtin("adam_init", "adam", 3, 2, 7),
            "torch.optim.Adam: p -= (lr/bc1) m / (sqrt(v)/sqrt(bc2) + eps)",
            state_extra=2,
        ),
        OptimizerSpec(
            "adamax",
            "AdaMax, Adam with the infinity norm (paper Section 7.1)",
            (
                _lr(2e-3),
                _beta("beta1", 0.9, "decay of the first moment"),
                _beta("beta2", 0.999, "decay of the infinity norm"),
                _eps(1e-8),
                _WD,
            ),
            2,
            _builtin("adamax_init", "adamax", 2, 1, 5),
            "torch.optim.Adamax: eps inside the max, u = max(beta2 u, |g| + eps)",
            state_extra=1,
        ),
        OptimizerSpec(
            "sgd",
            "Stochastic gradient descent",
            _SGD_PARAMS,
            1,
            _builtin("zeros_init", "sgd", 1, 0, 6),
            "torch.optim.SGD",
            check=_nesterov_check,
        ),
        OptimizerSpec(
            "momentum",
            "SGD with heavy-ball momentum 0.9",
            _with_defaults(_SGD_PARAMS, momentum=0.9),
            1,
            _builtin("zeros_init", "sgd", 1, 0, 6),
            "torch.optim.SGD(momentum=0.9): buf = momentum buf + g, p -= lr buf",
            check=_nesterov_check,
        ),
        OptimizerSpec(
            "nesterov",
            "SGD with Nesterov momentum 0.9",
            _with_defaults(_SGD_PARAMS, momentum=0.9, nesterov=1.0),
            1,
            _builtin("zeros_init", "sgd", 1, 0, 6),
            "torch.optim.SGD(momentum=0.9, nesterov=True): p -= lr (g + momentum buf)",
            check=_nesterov_check,
        ),
        OptimizerSpec(
            "adagrad",
            "AdaGrad (Duchi et al. 2011)",
            (
                _lr(1e-2),
                HyperParam("lr_decay", 0.0, "lr / (1 + (t - 1) lr_decay)", low=0.0),
                _eps(1e-10),
                HyperParam("initial_accumulator_value", 0.0, "start of the sum of g^2", low=0.0),
                _WD,
            ),
            1,
            _builtin("adagrad_init", "adagrad", 1, 0, 3),
            "torch.optim.Adagrad: eps outside the sqrt",
        ),
        OptimizerSpec(
            "rmsprop",
            "RMSProp (Tieleman & Hinton 2012)",
            (
                _lr(1e-2),
                _beta("alpha", 0.99, "decay of the mean square"),
                _eps(1e-8),
                HyperParam("momentum", 0.0, "momentum factor", low=0.0, high=1.0, high_open=True),
                HyperParam("centered", 0.0, "divide by the variance, not the mean square", "bool"),
                _WD,
            ),
            3,
            _builtin("zeros_init", "rmsprop", 3, 0, 6),
            "torch.optim.RMSprop: eps outside the sqrt, alpha 0.99 (optax: inside, 0.9)",
        ),
    )
}


def registry() -> dict[str, OptimizerSpec]:
    """All optimizers known by name: the built-ins, then those of installed packages (entry
    point group ``adambench.optimizers``; a name that is built in is not overridden)."""
    from adambench.plugins import entry_point_specs

    reg = dict(BUILTINS)
    for name, spec in entry_point_specs().items():
        reg.setdefault(name, spec)
    return reg


TORCH_PREFIX = "torch:"


def is_optimizer_path(name: str) -> bool:
    """Whether ``name`` (an -O name) denotes a file rather than a registered optimizer."""
    return (
        "/" in name
        or os.sep in name
        or name.endswith((".yaml", ".yml", ".py"))
        or (name not in BUILTINS and Path(name).is_file())
    )


def get(name: str) -> OptimizerSpec:
    """The optimizer ``name``: a built-in, an optimizer file's path (``.yaml``/``.yml`` update
    rule, ``.py`` plugin), ``torch:CLASS``, or an entry point's name; else an error with a
    "did you mean"."""
    if name in BUILTINS:
        return BUILTINS[name]
    if name.startswith(TORCH_PREFIX):
        from adambench.torch_optimizers import torch_spec

        return torch_spec(name)
    if is_optimizer_path(name):
        return load_optimizer_file(name)
    from adambench.plugins import entry_point_names, entry_point_spec

    if name in entry_point_names():
        return entry_point_spec(name)
    known = [*BUILTINS, *entry_point_names()]
    raise OptimizerError(
        f"unknown optimizer '{name}'{did_you_mean(name, known)}; known: {', '.join(known)} "
        "(or the path of a .yaml/.py optimizer file, or torch:CLASS)"
    )


def load_optimizer_file(path: str) -> OptimizerSpec:
    """The optimizer of a file: ``.py`` is a plugin module, anything else a YAML update rule."""
    if path.endswith(".py"):
        from adambench.plugins import load_plugin_file

        return load_plugin_file(path)
    from adambench.optimizer_files import load_optimizer_yaml

    return load_optimizer_yaml(path)


# ---------------------------------------------------------------------------------------------
# Hyperparameters declared in data (YAML optimizer files and Python plugins share this form):
#   lr: {default: 0.001, above: 0}            # above/below: open ends; min/max: closed ends
#   beta1: {default: 0.9, min: 0, below: 1}
#   amsgrad: {default: false}                 # a bool default (or kind: bool) makes a flag
#   eps: 1.0e-8                               # shorthand: a default with no range

HYPERPARAM_KEYS = {
    "default": "the value used when none is given (required)",
    "min": "lowest valid value (closed end)",
    "max": "highest valid value (closed end)",
    "above": "values must be greater than this (open end)",
    "below": "values must be less than this (open end)",
    "kind": "float (the default) or bool",
    "description": "one line shown in errors and docs",
}


def _bound(raw: Mapping[str, Any], closed: str, opened: str, where: str) -> tuple[Any, bool]:
    if closed in raw and opened in raw:
        raise ConfigError(f"give '{closed}' or '{opened}', not both", where=where)
    key = closed if closed in raw else opened if opened in raw else None
    if key is None:
        return None, False
    value = _number_like(raw[key])
    if value is None or not math.isfinite(value):
        raise ConfigError(f"'{key}' must be a finite number, got {raw[key]!r}", where=where)
    return value, key == opened


def _number_like(value: Any) -> float | None:
    """A number, or a string YAML left unparsed such as ``1e-8`` (YAML 1.1 wants ``1.0e-8``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def hyperparam_from_data(name: Any, raw: Any, where: str) -> HyperParam:
    """A :class:`HyperParam` from its declaration in a file (see :data:`HYPERPARAM_KEYS`).

    Errors are :class:`~adambench.errors.ConfigError` naming ``where`` and the key.
    """
    at = f"{where}: hyperparameters.{name}"
    if not isinstance(raw, Mapping):
        raw = {"default": raw}
    for key in raw:
        if key not in HYPERPARAM_KEYS:
            hint = did_you_mean(str(key), HYPERPARAM_KEYS)
            raise ConfigError(f"unknown key '{key}'{hint}", where=at)
    if "default" not in raw or raw["default"] is None:
        raise ConfigError("has no default (write default: VALUE)", where=at)
    doc = raw.get("description", "")
    if not isinstance(doc, str):
        raise ConfigError("'description' must be a string", where=at)
    default = raw["default"]
    kind = raw.get("kind", "bool" if isinstance(default, bool) else "float")
    if kind not in ("float", "bool"):
        raise ConfigError(f"'kind' must be float or bool, got {kind!r}", where=at)
    if kind == "bool":
        if not isinstance(default, bool):
            raise ConfigError(f"default of a bool must be true or false, got {default!r}", where=at)
        if any(k in raw for k in ("min", "max", "above", "below")):
            raise ConfigError("a bool has no range (min/max/above/below)", where=at)
        return HyperParam(str(name), 1.0 if default else 0.0, doc, kind="bool")
    low, low_open = _bound(raw, "min", "above", at)
    high, high_open = _bound(raw, "max", "below", at)
    if (
        low is not None
        and high is not None
        and (low > high or (low == high and (low_open or high_open)))
    ):
        raise ConfigError("the range is empty (check min/above and max/below)", where=at)
    value = _number_like(default)
    if value is None:
        raise ConfigError(f"default must be a number, got {default!r}", where=at)
    hp = HyperParam(str(name), value, doc, "float", low, high, low_open, high_open)
    if not math.isfinite(value) or (
        (low is not None and (value <= low if low_open else value < low))
        or (high is not None and (value >= high if high_open else value > high))
    ):
        raise ConfigError(f"default {_fmt(value)} is outside its range {hp.range_text()}", where=at)
    return hp


# ---------------------------------------------------------------------------------------------
# Resolved configurations


@dataclass(frozen=True)
class OptimizerConfig:
    """An optimizer with every hyperparameter resolved, and where each value came from.

    ``sources`` maps a name to ``"spec"`` (given in the -O spec), ``"cli"`` (--lr),
    ``"problem"`` (the problem's suggestion) or ``"default"``.
    """

    spec: OptimizerSpec
    values: dict[str, float]
    sources: dict[str, str]
    label: str

    @property
    def name(self) -> str:
        return self.spec.name

    def hp_vector(self) -> list[float]:
        return [self.values[hp.name] for hp in self.spec.hyperparams]

    def public_values(self) -> dict[str, float | bool]:
        """Values with flags as booleans, for JSON and tables."""
        return {
            hp.name: bool(self.values[hp.name]) if hp.kind == "bool" else self.values[hp.name]
            for hp in self.spec.hyperparams
        }


SOURCE_MARKS = {"cli": "*", "problem": "†"}


def _label(spec: OptimizerSpec, values: Mapping[str, float], sources: Mapping[str, str]) -> str:
    parts = []
    for hp in spec.hyperparams:
        if sources[hp.name] == "default":
            continue
        v = values[hp.name]
        text = ("true" if v else "false") if hp.kind == "bool" else f"{v:g}"
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
            raw, src = hp.default, "default"
        values[hp.name] = hp.validate(raw, spec.name)
        # A value equal to the default is still reported with its source (the user asked).
        sources[hp.name] = src
    if spec.check is not None and (problem := spec.check(values)):
        raise OptimizerError(f"{spec.name}: {problem}")
    return OptimizerConfig(spec, values, sources, _label(spec, values, sources))


# ---------------------------------------------------------------------------------------------
# -O spec parsing: "adam(lr=0.05,beta1=0.8),adam(lr=0.01)" -> [(name, {k: v}), ...]

_NAME = re.compile(r"^\s*([^()\s,][^(),]*?)\s*(?:\((.*)\))?\s*$", re.S)


def split_specs(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise OptimizerError(f"unbalanced ')' in optimizer spec '{text}'")
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth != 0:
        raise OptimizerError(f"unbalanced '(' in optimizer spec '{text}'")
    parts.append("".join(cur))
    return [p.strip() for p in parts]


def parse_value(text: str) -> float | bool:
    t = text.strip()
    if t.lower() in _BOOL_WORDS:
        return _BOOL_WORDS[t.lower()]
    try:
        return float(t)
    except ValueError:
        raise OptimizerError(f"hyperparameter value '{t}' is not a number or true/false") from None


def parse_spec(text: str) -> tuple[str, dict[str, float | bool]]:
    """Parse one ``name(k=v, ...)`` spec."""
    m = _NAME.match(text)
    if not m or not text.strip():
        raise OptimizerError(
            f"cannot read optimizer spec '{text}' (expected name or name(k=v,...))"
        )
    name, inner = m.group(1), m.group(2)
    overrides: dict[str, float | bool] = {}
    if inner is not None and inner.strip():
        for item in split_specs(inner):
            key, eq, value = item.partition("=")
            key = key.strip()
            if not eq or not key or not value.strip():
                raise OptimizerError(f"in '{text}': expected key=value, got '{item}'")
            if key in overrides:
                raise OptimizerError(f"in '{text}': '{key}' given twice")
            overrides[key] = parse_value(value)
    return name, overrides


def parse_specs(items: Iterable[str]) -> list[tuple[str, dict[str, float | bool]]]:
    """Parse every -O value (each may hold several comma-separated specs)."""
    out = []
    for item in items:
        for part in split_specs(item):
            if not part:
                raise OptimizerError(f"empty optimizer name in '{item}'")
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
