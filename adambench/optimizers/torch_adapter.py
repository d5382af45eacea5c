"""torch.optim optimizers on adambench problems: ``-O "torch:torch.optim.Adam(lr=0.01)"``.

Optional (``pip install adambench[torch]``): torch is imported only when such a name is used.
``torch:CLASS`` takes any importable ``torch.optim.Optimizer`` subclass (``torch:Adam`` is short
for ``torch:torch.optim.Adam``; third-party ones such as ``torch:pytorch_optimizer.Lion`` work
the same way). Its hyperparameters are the keyword arguments of the class with number or bool
defaults (tuples are split: ``betas`` -> ``beta1``, ``beta2``; ``etas`` -> ``eta1``, ``eta2``);
implementation switches (``foreach``, ``fused``, ``capturable``, ``differentiable``) and
``maximize`` are left out. Values are checked by constructing the optimizer once, so torch's own
message reports a bad one.

Such an optimizer is not compiled: the runner of :mod:`adambench.codegen.torch_loop` steps it
from Python, one step at a time, with the parameters as tensors of the run's dtype (float64 or
float32) that share memory with the run's row of the engine's arrays. Everything else is
adambench's: the training gradient (noise, minibatches, from the same counter-based stream and
seed as a compiled run) comes from the problem's compiled kernels, and the bookkeeping
(statuses, metrics, traces, averaging) is the run loop of :mod:`adambench.codegen.loops`, so
results are comparable number for number.
This module holds only data about the class (:class:`TorchOptimizer`): it is a lower layer than
the code generator.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from adambench.errors import OptimizerError
from adambench.optimizers.spec import TORCH_PREFIX, HyperParam, KernelRef, OptimizerSpec

__all__ = ["IGNORED_ARGUMENTS", "NOTE", "TorchOptimizer", "torch_spec"]

#: Constructor arguments that change how torch computes, not what: never hyperparameters here.
IGNORED_ARGUMENTS = {"params", "foreach", "fused", "capturable", "differentiable", "maximize"}
NOTE = "torch.optim stepped from Python, not compiled (gradient from adambench's kernels)"

_SPECS: dict[str, OptimizerSpec] = {}


def _import_torch(name: str) -> Any:
    try:
        import torch
    except ImportError:
        raise OptimizerError(
            f"{name}: torch is not installed (pip install 'adambench[torch]')"
        ) from None
    return torch


def _resolve(path: str, name: str) -> Any:
    """The object a dotted path names: the longest importable module prefix, then attributes."""
    import importlib

    if ":" in path:
        module_name, _, attrs = path.partition(":")
        parts = [module_name, *attrs.split(".")]
        head = 1
    else:
        parts = path.split(".")
        head = len(parts) - 1
    if not all(p.isidentifier() for p in ".".join(parts).split(".")):
        raise OptimizerError(f"{name}: '{path}' is not a dotted Python path")
    error: Exception | None = None
    for k in range(head, 0, -1):
        module_name = ".".join(parts[:k])
        try:
            obj = importlib.import_module(module_name)
        except ImportError as exc:
            if error is None:
                error = exc
            continue
        except Exception as exc:  # the imported package's own code failed
            raise OptimizerError(
                f"{name}: importing '{module_name}' failed: {type(exc).__name__}: {exc}"
            ) from None
        for attr in parts[k:]:
            if not hasattr(obj, attr):
                raise OptimizerError(f"{name}: '{module_name}' has no attribute '{attr}'")
            obj = getattr(obj, attr)
        return obj
    raise OptimizerError(f"{name}: cannot import '{path}' ({error})")


@dataclass(frozen=True)
class _Arg:
    """A constructor argument and the hyperparameters (indices in the hp vector) it takes."""

    name: str
    kind: str  # float, int, bool or tuple
    slots: tuple[int, ...]


def _kind(param: inspect.Parameter) -> str | None:
    d = param.default
    if isinstance(d, bool):
        return "bool"
    if isinstance(d, tuple):
        ok = d and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in d)
        return "tuple" if ok else None
    if isinstance(d, (int, float)):
        ann = param.annotation
        text = ann if isinstance(ann, str) else getattr(ann, "__name__", str(ann))
        return "int" if "int" in text and "float" not in text else "float"
    return None


def _element_names(name: str, size: int, taken: set[str]) -> list[str]:
    base = name[:-1] if name.endswith("s") else name
    names = [f"{base}{k + 1}" for k in range(size)]
    if any(n in taken for n in names):
        names = [f"{name}_{k + 1}" for k in range(size)]
    return names


def _signature_hyperparams(cls: type) -> tuple[tuple[HyperParam, ...], tuple[_Arg, ...]]:
    params = [
        p
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.name != "self"
        and p.name not in IGNORED_ARGUMENTS
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    taken = {p.name for p in params}
    hps: list[HyperParam] = []
    args: list[_Arg] = []
    for p in params:
        kind = _kind(p)
        if kind is None:
            continue  # None defaults, strings, callables: left at the class's default
        doc = f"{cls.__name__}({p.name}=...)"
        if kind == "tuple":
            names = _element_names(p.name, len(p.default), taken)
            slots = []
            for n, v in zip(names, p.default, strict=True):
                slots.append(len(hps))
                hps.append(HyperParam(n, float(v), f"{doc}[{len(slots) - 1}]"))
            args.append(_Arg(p.name, "tuple", tuple(slots)))
            continue
        default = float(p.default)
        hps.append(HyperParam(p.name, default, doc, kind=kind))
        args.append(_Arg(p.name, kind, (len(hps) - 1,)))
    return tuple(hps), tuple(args)


def _kwargs(args: tuple[_Arg, ...], hp: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for a in args:
        values = [float(hp[k]) for k in a.slots]
        if a.kind == "tuple":
            out[a.name] = tuple(values)
        elif a.kind == "bool":
            out[a.name] = values[0] != 0.0
        elif a.kind == "int":
            out[a.name] = int(values[0])
        else:
            out[a.name] = values[0]
    return out


@dataclass(frozen=True)
class TorchOptimizer:
    """A ``torch:CLASS`` optimizer as data for its runner: the class, which hyperparameters
    (slots of a run's hp vector) its constructor's keyword arguments take, and its name."""

    cls: type
    args: tuple[_Arg, ...]
    name: str

    @property
    def takes_closure(self) -> bool:
        """Whether ``step`` takes a closure (LBFGS needs one; others call it once)."""
        return "closure" in inspect.signature(self.cls.step).parameters

    def make(self, param: Any, hp: Any) -> Any:
        """The optimizer of one run, over the tensor ``param``, with the run's hp vector."""
        return self.cls([param], **_kwargs(self.args, hp))


def torch_spec(name: str) -> OptimizerSpec:
    """The registry entry of ``torch:CLASS``."""
    if name in _SPECS:
        return _SPECS[name]
    path = name[len(TORCH_PREFIX) :].strip()
    if not path:
        raise OptimizerError(f"'{name}': name a class after torch:, e.g. torch:torch.optim.Adam")
    torch = _import_torch(name)
    cls = _resolve(path if "." in path or ":" in path else f"torch.optim.{path}", name)
    base = torch.optim.Optimizer
    if not (isinstance(cls, type) and issubclass(cls, base)) or cls is base:
        raise OptimizerError(f"{name}: {cls!r} is not a torch.optim.Optimizer subclass")
    hyperparams, args = _signature_hyperparams(cls)
    label = f"{cls.__module__}.{cls.__qualname__}"
    doc = (inspect.getdoc(cls) or "").strip().splitlines()
    spec = OptimizerSpec(
        name,
        f"{doc[0] if doc else label} (torch)",
        hyperparams,
        0,
        KernelRef(module=name),  # groups its runs into one batch; never imported
        convention=f"{label}: {NOTE}",
        source="torch",
        check=lambda values: _check(cls, args, hyperparams, values),
        compiled=False,
        stepped_from_python=TorchOptimizer(cls, args, name),
    )
    _SPECS[name] = spec
    return spec


def _check(
    cls: type, args: tuple[_Arg, ...], hps: tuple[HyperParam, ...], values: dict[str, float]
) -> str | None:
    """torch's own validation: construct the optimizer once on a dummy parameter."""
    import torch

    try:
        cls([torch.zeros(1, dtype=torch.float64)], **_kwargs(args, [values[h.name] for h in hps]))
    except (ValueError, TypeError, RuntimeError, AssertionError) as exc:
        return " ".join(str(exc).split()) or type(exc).__name__
    return None
