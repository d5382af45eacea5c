"""The types of the optimizer registry: hyperparameters, specs, resolved configurations."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from adambench.errors import OptimizerError, did_you_mean
from adambench.fields import Fields, Wording, number_like

__all__ = [
    "BOOL_WORDS",
    "CONTROL_NAMES",
    "FOREIGN_NAMES",
    "HYPERPARAM_KEYS",
    "OPTIMIZER_WORDING",
    "SCHEDULE_PARAMS",
    "SOURCE_MARKS",
    "TORCH_PREFIX",
    "HyperParam",
    "KernelRef",
    "OptimizerConfig",
    "OptimizerSpec",
    "hyperparam_from_data",
    "name_hint",
]


@dataclass(frozen=True)
class KernelRef:
    """Where an optimizer's ``init`` / ``step`` kernels live.

    Either importable functions (``module`` and the function names, with ``source_file`` whose
    text is part of the cache key), or ``inline`` source defining ``opt_init`` / ``opt_step``.
    """

    module: str | None = None
    init: str | None = None
    step: str | None = None
    source_file: str | None = None
    inline: str | None = None
    #: The elementwise form, when the optimizer has one (see kernels.py): ``prepare`` and
    #: ``update`` function names, state slots per coordinate, run-level scalars after them, and
    #: how many constants ``prepare`` passes to ``update``.
    prepare: str | None = None
    update: str | None = None
    slots: int = 0
    extra: int = 0
    consts: int = 0
    #: A twin of ``step`` compiled with parallel=True (for problems with millions of parameters).
    step_par: str | None = None
    #: How many hyperparameters ``prepare`` may read (the optimizer's own, before the training
    #: controls): the vectorised lockstep runner hands them to it as a tuple of that length.
    #: Set by :class:`OptimizerSpec` from its hyperparameters.
    hyperparameters: int = 0

    @property
    def elementwise(self) -> bool:
        return self.update is not None

    def binding(self) -> str:
        if self.inline is not None:
            return self.inline
        lines = [
            f"from {self.module} import {self.init} as opt_init\n",
            f"from {self.module} import {self.step} as opt_step\n",
        ]
        if self.elementwise:
            lines += [
                f"from {self.module} import {self.prepare} as opt_prepare\n",
                f"from {self.module} import {self.update} as opt_update\n",
            ]
        if self.step_par:
            lines.append(f"from {self.module} import {self.step_par} as opt_step_par\n")
        return "".join(lines)

    def identity(self) -> str:
        if self.inline is not None:
            return self.inline
        assert self.source_file is not None
        return self.binding() + Path(self.source_file).read_text(encoding="utf-8")


@dataclass(frozen=True)
class HyperParam:
    """One hyperparameter: default, kind and valid range ``[low, high]`` (ends open if marked)."""

    name: str
    default: float
    doc: str
    #: "float", "bool", "int" (ints: torch.optim arguments such as max_iter, schedule steps) or
    #: "choice" (one of ``choices``, held as its index: 0.0 is the first).
    kind: str = "float"
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] = ()
    #: True for the training controls (schedule, warm-up, clipping) every compiled optimizer
    #: takes after its own hyperparameters (see :mod:`adambench.optimizers.controls`).
    control: bool = False

    def range_text(self) -> str:
        if self.kind == "bool":
            return "true or false"
        if self.kind == "choice":
            return ", ".join(self.choices)
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        left = "(" if self.low_open or self.low is None else "["
        right = ")" if self.high_open or self.high is None else "]"
        return f"{left}{lo}, {hi}{right}"

    @property
    def python_type(self) -> type:
        return bool if self.kind == "bool" else int if self.kind == "int" else float

    def show(self, value: float) -> str:
        """A value as labels and tables print it: true/false, a choice's name, else ``:g``."""
        if self.kind == "bool":
            return "true" if value else "false"
        if self.kind == "choice":
            return self.choices[int(value)]
        return f"{value:g}"

    def public(self, value: float) -> float | bool | str:
        """A value as JSON holds it: flags as booleans, choices by name, else the number."""
        if self.kind == "bool":
            return bool(value)
        if self.kind == "choice":
            return self.choices[int(value)]
        return value

    def validate(self, value: Any, owner: str) -> float:
        """Return the value as a float, or raise naming the parameter, value and range."""
        if self.kind == "choice":
            return self._choice_index(value, owner)
        if self.kind == "bool":
            if isinstance(value, bool):
                return 1.0 if value else 0.0
            if isinstance(value, str) and value.lower() in BOOL_WORDS:
                return 1.0 if BOOL_WORDS[value.lower()] else 0.0
            if isinstance(value, (int, float)) and value in (0, 1):
                return float(value)
            raise OptimizerError(f"{owner}: {self.name} must be true or false, got {value!r}")
        number = number_like(value)
        if number is None:
            raise OptimizerError(f"{owner}: {self.name} must be a number, got {value!r}")
        if self.kind == "int" and not (math.isfinite(number) and number.is_integer()):
            raise OptimizerError(f"{owner}: {self.name} must be an integer, got {value!r}")
        x = number
        if isinstance(value, str):
            value = number  # shown as a number in the range error below
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

    def _choice_index(self, value: Any, owner: str) -> float:
        """A choice by its name (a number is refused: the index is how the hyperparameter
        vector holds it, not how a user names it)."""
        if isinstance(value, str) and value.strip() in self.choices:
            return float(self.choices.index(value.strip()))
        hint = did_you_mean(value, self.choices) if isinstance(value, str) else ""
        raise OptimizerError(
            f"{owner}: {self.name} must be one of {', '.join(self.choices)}; got {value!r}{hint}"
        )

    @property
    def default_text(self) -> Any:
        """The default as a user would write it: a choice by its name, else the value."""
        return self.choices[int(self.default)] if self.kind == "choice" else self.default


#: Names other libraries (torch.optim, optax, Keras) give to hyperparameters adambench names
#: otherwise: an unknown name found here is answered with ours.
FOREIGN_NAMES = {
    "learning_rate": "lr",
    "b1": "beta1",
    "b2": "beta2",
    "beta_1": "beta1",
    "beta_2": "beta2",
    "epsilon": "eps",
    "wd": "weight_decay",
}


def name_hint(name: str, names: list[str]) -> str:
    """What to say after "no hyperparameter 'name'": our name for another library's (``lr`` for
    ``learning_rate``, ``beta1``/``beta2`` for ``betas``), else a "did you mean", else ``""``."""
    if name == "betas" and {"beta1", "beta2"} <= set(names):
        return " (adambench takes one number each: beta1=0.9, beta2=0.999)"
    ours = FOREIGN_NAMES.get(name)
    if ours in names:
        return f" (adambench calls it {ours})"
    return did_you_mean(name, names)


#: The parameters of the learning-rate schedules, and every training control's name: each
#: compiled optimizer takes them after its own hyperparameters, so no optimizer may declare one.
SCHEDULE_PARAMS = (
    "step_size", "gamma", "t_max", "eta_min", "start_factor", "end_factor", "total_iters",
    "warmup", "warmup_start",
)  # fmt: skip
CONTROL_NAMES = ("schedule", *SCHEDULE_PARAMS, "clip_norm", "clip_value")


BOOL_WORDS = {"true": True, "false": False, "yes": True, "no": False, "on": True, "off": False}


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


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
    #: The dtypes of the run arrays its kernels accept (every one of ``limits.DTYPES``, but a
    #: Python plugin's: float64 unless its module declares ``DTYPES``).
    dtypes: tuple[str, ...] = ("float64", "float32")
    state_extra: int = 0  # scalars kept after the per-parameter state (e.g. running powers)
    #: A plugin's own ``state_size(n)``, used instead of ``state_per_param * n + state_extra``.
    state_size_fn: Callable[[int], int] | None = field(default=None, compare=False)
    #: For optimizers that are not compiled (``compiled=False``, torch.optim): what a Python
    #: runner needs to step them (:class:`adambench.optimizers.torch_adapter.TorchOptimizer`).
    stepped_from_python: Any = field(default=None, compare=False)
    #: False for optimizers that read lr only at the start (torch's Rprop): a schedule is refused.
    schedulable: bool = True
    #: True for lazy Adam: on sparse data its gradient holds the minibatch's present
    #: coordinates only, the others marked -0.0 (see adambench.sparse_kernels).
    sparse_gradient: bool = False

    def __post_init__(self) -> None:
        own = len(self.own_hyperparams)
        if self.kernel.elementwise and self.kernel.hyperparameters != own:
            # frozen: the kernel learns its hyperparameter count once, here
            object.__setattr__(self, "kernel", replace(self.kernel, hyperparameters=own))

    def param(self, name: str) -> HyperParam:
        for hp in self.hyperparams:
            if hp.name == name:
                return hp
        if name in CONTROL_NAMES:
            raise OptimizerError(
                f"{self.name} takes no {name}: schedules and clipping run in the compiled loop, "
                "and torch's optimizers step in Python (use a built-in or YAML optimizer)"
            )
        names = [h.name for h in self.hyperparams]
        own = [h.name for h in self.own_hyperparams]
        controls = " and the schedule and clipping controls (adambench list)"
        raise OptimizerError(
            f"{self.name} has no hyperparameter '{name}'{name_hint(name, names)}; "
            f"it has: {', '.join(own)}{controls if self.has_controls else ''}"
        )

    @property
    def own_hyperparams(self) -> tuple[HyperParam, ...]:
        """The optimizer's own hyperparameters, without the training controls after them."""
        return tuple(hp for hp in self.hyperparams if not hp.control)

    @property
    def has_controls(self) -> bool:
        return any(hp.control for hp in self.hyperparams)

    @property
    def lr_index(self) -> int:
        """The position of ``lr`` (the rate a schedule scales) among the hyperparameters, or -1."""
        names = [hp.name for hp in self.hyperparams]
        return names.index("lr") if "lr" in names else -1

    @property
    def defaults(self) -> dict[str, float]:
        return {hp.name: hp.default for hp in self.hyperparams}

    def state_size(self, n: int) -> int:
        """Length of one run's state vector for n parameters."""
        if self.state_size_fn is not None:
            return self.state_size_fn(n)
        return self.state_per_param * n + self.state_extra


TORCH_PREFIX = "torch:"


HYPERPARAM_KEYS = {
    "default": "the value used when none is given (required)",
    "min": "lowest valid value (closed end)",
    "max": "highest valid value (closed end)",
    "above": "values must be greater than this (open end)",
    "below": "values must be less than this (open end)",
    "kind": "float (the default) or bool",
    "description": "one line shown in errors and docs",
}


#: The wording of optimizer files: values shown by their repr, keys compared as text.
OPTIMIZER_WORDING = Wording(shown=repr, string_keys=False)


def _bound(f: Fields, closed: str, opened: str) -> tuple[float | None, bool]:
    """One end of a range, given closed (``min``) or open (``above``); None if not given."""
    if closed in f and opened in f:
        raise f.fail(None, f"give '{closed}' or '{opened}', not both")
    key = closed if closed in f else opened if opened in f else None
    if key is None:
        return None, False
    return f.number(key), key == opened


def hyperparam_from_data(name: Any, raw: Any, where: str) -> HyperParam:
    """A :class:`HyperParam` from its declaration in a file (see :data:`HYPERPARAM_KEYS`).

    Errors are :class:`~adambench.errors.ConfigError` naming ``where`` and the key.
    """
    if not isinstance(raw, Mapping):
        raw = {"default": raw}
    f = Fields(raw, f"{where}: hyperparameters.{name}", OPTIMIZER_WORDING)
    if name in CONTROL_NAMES:
        raise f.fail(
            None,
            f"'{name}' is reserved for schedules and clipping (every optimizer takes it); "
            f"name yours otherwise, e.g. {name}_{'bound' if name == 'gamma' else 'own'}",
        )
    f.unknown_keys(HYPERPARAM_KEYS)
    if "default" not in raw or raw["default"] is None:
        raise f.fail(None, "has no default (write default: VALUE)")
    doc = f.text("description", "")
    default = raw["default"]
    kind = f.choice("kind", ("float", "bool"), "bool" if isinstance(default, bool) else "float")
    if kind == "bool":
        if not isinstance(default, bool):
            raise f.fail(None, f"default of a bool must be true or false, got {default!r}")
        if any(k in raw for k in ("min", "max", "above", "below")):
            raise f.fail(None, "a bool has no range (min/max/above/below)")
        return HyperParam(str(name), 1.0 if default else 0.0, doc, kind="bool")
    low, low_open = _bound(f, "min", "above")
    high, high_open = _bound(f, "max", "below")
    if (
        low is not None
        and high is not None
        and (low > high or (low == high and (low_open or high_open)))
    ):
        raise f.fail(None, "the range is empty (check min/above and max/below)")
    value = number_like(default)
    if value is None:
        raise f.fail(None, f"default must be a number, got {default!r}")
    hp = HyperParam(str(name), value, doc, "float", low, high, low_open, high_open)
    if not math.isfinite(value) or (
        (low is not None and (value <= low if low_open else value < low))
        or (high is not None and (value >= high if high_open else value > high))
    ):
        raise f.fail(None, f"default {_fmt(value)} is outside its range {hp.range_text()}")
    return hp


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
        """The values in the order of the spec's hyperparameters (a kernel reads them by
        position); with training controls, then the position of ``lr`` (-1 without one), which
        the run loop rewrites at each step of a schedule."""
        values = [self.values[hp.name] for hp in self.spec.hyperparams]
        return [*values, float(self.spec.lr_index)] if self.spec.has_controls else values

    def public_values(self) -> dict[str, float | bool | str]:
        """Values with flags as booleans and choices by name, for JSON and tables."""
        return {hp.name: hp.public(self.values[hp.name]) for hp in self.spec.hyperparams}


SOURCE_MARKS = {"cli": "*", "problem": "†"}
