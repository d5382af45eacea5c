"""torch.optim optimizers on adambench problems: ``-O "torch:torch.optim.Adam(lr=0.01)"``.

Optional (``pip install adambench[torch]``): torch is imported only when such a name is used.
``torch:CLASS`` takes any importable ``torch.optim.Optimizer`` subclass (``torch:Adam`` is short
for ``torch:torch.optim.Adam``; third-party ones such as ``torch:pytorch_optimizer.Lion`` work
the same way). Its hyperparameters are the keyword arguments of the class with number or bool
defaults (tuples are split: ``betas`` -> ``beta1``, ``beta2``; ``etas`` -> ``eta1``, ``eta2``);
implementation switches (``foreach``, ``fused``, ``capturable``, ``differentiable``) and
``maximize`` are left out. Values are checked by constructing the optimizer once, so torch's own
message reports a bad one.

Such an optimizer is not compiled: :class:`TorchRunner` steps it from Python, one step at a time,
with the parameters as float64 tensors that share memory with the run's row of the engine's
arrays. Everything else is adambench's: the training gradient (noise, minibatches, from the same
counter-based stream and seed as a compiled run) comes from the problem's compiled kernels
(``train_grad`` of the generated module), and the bookkeeping (statuses, metrics, traces,
averaging) is that of :mod:`adambench.codegen.runner_template`, so results are comparable number for
number. The runner has the array contract of the compiled ``advance``, so the engine treats it as
one more batch.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from adambench import kernels as K
from adambench.errors import OptimizerError
from adambench.optimizers.spec import TORCH_PREFIX, HyperParam, KernelRef, OptimizerSpec

if TYPE_CHECKING:
    from adambench.problems import Problem

__all__ = ["IGNORED_ARGUMENTS", "NOTE", "TorchRunner", "torch_spec"]

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
        make_runner=lambda problem: TorchRunner(problem, cls, args, name),
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


class TorchRunner:
    """Steps a torch optimizer from Python, with the array contract of the compiled ``advance``
    (:mod:`adambench.codegen.runner_template`): a run's bookkeeping lives in its rows of the
    arrays; its torch optimizer (whose state torch keeps) is found by the address of the run's
    row of X,
    whose memory the parameter tensor shares."""

    def __init__(self, problem: Problem, cls: type, args: tuple[_Arg, ...], name: str) -> None:
        import torch

        from adambench.codegen.modules import load_module
        from adambench.optimizers.builtins import BUILTINS

        self.torch = torch
        self.cls, self.args, self.name = cls, args, name
        # The problem's kernels of the generated module adam uses (usually cached already).
        module, _ = load_module(problem, BUILTINS["adam"].kernel)
        self.train_grad = module.train_grad
        self.loss_and_grad = module.loss_and_grad
        self.loss_many = module.loss_many
        self.dim = problem.dim
        self.ps_width = problem.problem_state_width()
        self.optimizers: dict[int, Any] = {}
        self.takes_closure = "closure" in inspect.signature(cls.step).parameters

    def _warm_up(self, pd: np.ndarray, data: np.ndarray) -> None:
        """Compile (or load) the problem's kernels, with the argument types of real calls."""
        x, g = np.zeros(self.dim), np.zeros(self.dim)
        ps = np.zeros(self.ps_width, np.int64)
        if self.ps_width:
            ps[-1] = -1
        self.train_grad(x, g, pd, data, ps, 1, np.int64(0))
        self.loss_and_grad(x, g, pd, data)
        self.loss_many(x[None, :], pd, data, np.empty(1))

    def _start(self, key: int, x: np.ndarray, g: np.ndarray, hp: np.ndarray) -> Any:
        p = self.torch.from_numpy(x)  # shares x's memory: torch's in-place update moves x
        p.grad = self.torch.from_numpy(g)
        opt = self.cls([p], **_kwargs(self.args, hp))
        self.optimizers[key] = opt
        return opt

    def __call__(
        self, X, S, HP, seeds, pd, data, PS, G, t_begin, t_end, finish, total, every, LT, XT,
        record_x, target, bound, stall_step, stop, decay, AVG, M, IM,
    ) -> None:  # fmt: skip
        """The loop of ``runner_template.advance``, with ``opt.step()`` as the optimizer step."""
        if X.shape[0] == 0:
            self._warm_up(pd, data)
            return
        train_grad = self.train_grad
        base, stride = X.ctypes.data, X.strides[0]
        for r in range(X.shape[0]):
            key = base + r * stride
            x, g, m, im = X[r], G[r], M[r], IM[r]
            ps, lt, xt, avg = PS[r], LT[r], XT[r], AVG[r]
            seed = seeds[r]
            status = im[K.I_STATUS]
            best, best_step, hit = m[K.M_BEST], im[K.I_BEST_STEP], im[K.I_TARGET_STEP]
            at_stall, avg_pow = m[K.M_STALL], m[K.M_AVG_POW]
            opt = self.optimizers.get(key)
            t = t_begin
            next_record = -(-t // every) * every
            while t < t_end and status == K.RUNNING:
                f = train_grad(x, g, pd, data, ps, t + 1, seed)
                ok = math.isfinite(f)
                if t == 0:
                    if not (ok and np.isfinite(g).all()):
                        status = K.INVALID_START
                        break
                    opt = self._start(key, x, g, HP[r])
                ok = ok and bool((np.abs(x) <= bound).all())  # NaN fails the comparison too
                if not ok:
                    status = K.DIVERGED
                    im[K.I_DIVERGED_AT] = t
                    break
                if t == next_record:
                    k = t // every
                    lt[k] = f
                    if record_x:
                        xt[k] = x
                    next_record += every
                if f < best:
                    best = f
                    best_step = t
                if t == stall_step:
                    at_stall = f
                if f <= target and hit < 0:
                    hit = t
                    if stop:
                        status = K.STOPPED_AT_TARGET
                        break
                self._step(opt, f, x, g, pd, data, ps, t + 1, seed)
                if decay > 0.0:
                    avg[:] = decay * avg + (1.0 - decay) * x
                    avg_pow *= decay
                t += 1
            if t > t_begin or status != im[K.I_STATUS]:
                im[K.I_STATUS] = status
                im[K.I_STEPS] = t
                m[K.M_BEST], im[K.I_BEST_STEP], im[K.I_TARGET_STEP] = best, best_step, hit
                m[K.M_STALL], m[K.M_AVG_POW] = at_stall, avg_pow
            if status != K.RUNNING:
                self.optimizers.pop(key, None)
            if finish and status != K.INVALID_START:
                self._finish(x, g, pd, data, total, every, lt, xt, record_x, target, bound,
                             stall_step, decay, avg, avg_pow, m, im)  # fmt: skip
                self.optimizers.pop(key, None)

    def _step(self, opt: Any, f: float, x, g, pd, data, ps, t: int, seed) -> None:
        """One torch step. With a closure (LBFGS needs one, others call it once): its first call
        returns the loss whose gradient is already in g; later calls (line searches) evaluate
        the training gradient again at the moved x, for the same step t."""
        calls = 0

        def closure() -> float:
            nonlocal calls
            calls += 1
            if calls == 1:
                return f
            return float(self.train_grad(x, g, pd, data, ps, t, seed))

        try:
            opt.step(closure) if self.takes_closure else opt.step()
        except Exception as exc:  # the optimizer's own code
            raise OptimizerError(
                f"{self.name}: step {t} raised {type(exc).__name__}: {' '.join(str(exc).split())}"
            ) from None

    def _finish(self, x, g, pd, data, total, every, lt, xt, record_x, target, bound, stall_step,
                decay, avg, avg_pow, m, im) -> None:  # fmt: skip
        """Close a run as ``advance`` does with ``finish``: the final iterate's loss, gradient
        norm and status; the loss at the averaged iterate."""
        f = float(self.loss_and_grad(x, g, pd, data))
        m[K.M_FINAL] = f
        ss = 0.0
        for v in g.tolist():  # summed in order, as advance does (np.dot may round differently)
            ss += v * v
        m[K.M_GNORM] = math.sqrt(ss)
        ok = math.isfinite(f) and bool((np.abs(x) <= bound).all())
        if im[K.I_STATUS] == K.RUNNING:
            if not ok:
                im[K.I_STATUS] = K.DIVERGED
                im[K.I_DIVERGED_AT] = total
            else:
                if total % every == 0:
                    k = total // every
                    lt[k] = f
                    if record_x:
                        xt[k] = x
                if f < m[K.M_BEST]:
                    m[K.M_BEST] = f
                    im[K.I_BEST_STEP] = total
                if total == stall_step:
                    m[K.M_STALL] = f
                if f <= target and im[K.I_TARGET_STEP] < 0:
                    im[K.I_TARGET_STEP] = total
                im[K.I_STATUS] = K.FINISHED
        if decay > 0.0 and avg_pow < 1.0:
            out = np.empty(1)
            self.loss_many((avg / (1.0 - avg_pow))[None, :], pd, data, out)
            m[K.M_AVG_LOSS] = out[0]
