"""Runners for optimizers stepped from Python (torch.optim): the run loop of :mod:`.loops`,
rendered as plain Python and bound to torch.

The loop text is that of the compiled runners (:func:`.loops.python_runner_source`), so the
statuses, metrics, traces and averaging are computed in the same order as a compiled run; only
the optimizer step differs (``torch.optim.Optimizer.step`` on a tensor sharing memory with the
run's row of X). The training gradient and the closing of a run come from the compiled kernels
of the problem's generated module (the one Adam uses, usually cached already).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from adambench import kernels as K
from adambench.codegen.loops import python_runner_source
from adambench.codegen.modules import load_module
from adambench.errors import OptimizerError
from adambench.optimizers.builtins import BUILTINS

if TYPE_CHECKING:
    from adambench.optimizers.torch_adapter import TorchOptimizer
    from adambench.problems import Problem

__all__ = ["torch_runner"]

_SOURCE_NAME = "<adambench: advance_python>"


def torch_runner(
    problem: Problem, optimizer: TorchOptimizer, dtype: str = "float64"
) -> Callable[..., None]:
    """A runner with the contract of the compiled ``advance`` (arguments
    :data:`~adambench.codegen.loops.RUNNER_ARGS`) that steps ``optimizer`` from Python on
    ``problem``, on run arrays of ``dtype`` (the tensors share their memory, so torch computes
    in that dtype). A call with no runs compiles (or loads) the problem's kernels."""
    bindings = _TorchBindings(problem, optimizer, dtype)
    namespace: dict[str, Any] = {name: getattr(K, name) for name in K.__all__ if name.isupper()}
    namespace |= {
        "math": math,
        "np": np,
        "train_grad": bindings.train_grad,
        "finish_run": bindings.finish_run,
        "warm_up": bindings.warm_up,
        "optimizers": bindings.optimizers,
        "opt_start": bindings.start,
        "opt_step": bindings.step,
    }
    exec(compile(python_runner_source(), _SOURCE_NAME, "exec"), namespace)
    return namespace["advance_python"]


class _TorchBindings:
    """What the Python loop calls: the problem's compiled kernels and the torch optimizers of
    the runs, found by the address of the run's row of X (whose memory the tensor shares)."""

    def __init__(self, problem: Problem, optimizer: TorchOptimizer, dtype: str) -> None:
        import torch

        self.torch = torch
        self.optimizer = optimizer
        self.dtype = np.dtype(dtype)
        module, _ = load_module(problem, BUILTINS["adam"].kernel, dtype)
        self.train_grad = module.train_grad
        self.finish_run = module.finish_run
        self.dim = problem.dim
        self.ps_width = problem.problem_state_width()
        self.optimizers: dict[int, Any] = {}
        self.takes_closure = optimizer.takes_closure

    def warm_up(self, pd: np.ndarray, data: np.ndarray) -> None:
        """Compile (or load) the problem's kernels, with the argument types of real calls."""
        x, g = np.zeros(self.dim, self.dtype), np.zeros(self.dim, self.dtype)
        ps = np.zeros(self.ps_width, np.int64)
        if self.ps_width:
            ps[-1] = -1
        self.train_grad(x, g, pd, data, ps, 1, np.int64(0))
        lt, xt, avg = np.zeros(1), np.zeros((1, 0), self.dtype), np.zeros(0, self.dtype)
        m, im = np.zeros(K.N_FLOAT_METRICS), np.zeros(K.N_INT_METRICS, np.int64)
        im[K.I_STATUS] = K.FINISHED  # closes nothing: only the types matter
        self.finish_run(x, g, pd, data, 1, 1, lt, xt, False, 0.0, 1.0, 1, 0.0, avg, m, im)

    def start(self, key: int, x: np.ndarray, g: np.ndarray, hp: np.ndarray) -> Any:
        """The optimizer of a run starting at x (at step 0, with its first gradient in g)."""
        p = self.torch.from_numpy(x)  # shares x's memory: torch's in-place update moves x
        p.grad = self.torch.from_numpy(g)
        opt = self.optimizer.make(p, hp)
        self.optimizers[key] = opt
        return opt

    def step(self, opt: Any, f: float, x, g, pd, data, ps, t: int, seed) -> None:
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
                f"{self.optimizer.name}: step {t} raised {type(exc).__name__}: "
                f"{' '.join(str(exc).split())}"
            ) from None
