"""The built-in optimizers: one :class:`OptimizerSpec` each, kernels in :mod:`adambench.kernels`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adambench.files import PACKAGE_DIR
from adambench.optimizers.controls import with_controls
from adambench.optimizers.spec import KernelRef

if TYPE_CHECKING:
    pass
from adambench.optimizers.spec import HyperParam, OptimizerSpec

__all__ = ["BUILTINS"]

_KERNELS_FILE = str(PACKAGE_DIR / "kernels.py")
_SPARSE_KERNELS_FILE = str(PACKAGE_DIR / "sparse_kernels.py")

#: Lazy Adam's kernels (sparse_kernels.py): two slots (m, v), four constants from prepare.
_LAZY_ADAM_KERNEL = KernelRef(
    "adambench.sparse_kernels", "lazy_adam_init", "lazy_adam_array_step", _SPARSE_KERNELS_FILE,
    prepare="lazy_adam_prepare", update="lazy_adam_update", slots=2, extra=0, consts=4,
    step_par="lazy_adam_array_step_par",
)  # fmt: skip


def _lr(default: float) -> HyperParam:
    return HyperParam("lr", default, "step size (alpha in the paper)", low=0.0, low_open=True)


def _beta(name: str, default: float, doc: str) -> HyperParam:
    return HyperParam(name, default, doc, low=0.0, high=1.0, high_open=True)


def _eps(default: float) -> HyperParam:
    return HyperParam("eps", default, "added to the denominator", low=0.0)


_WD = HyperParam("weight_decay", 0.0, "L2 penalty added to the gradient (wd * p)", low=0.0)


_DECOUPLED = HyperParam(
    "decoupled_weight_decay", 0.0, "p *= 1 - lr wd before the step, as AdamW", kind="bool"
)


_DECOUPLED_WD = HyperParam(
    "weight_decay", 1e-2, "decoupled: p *= 1 - lr wd before the step", low=0.0
)


def _step_size_bounds_check(values: dict[str, float]) -> str | None:
    if values["step_size_min"] > values["step_size_max"]:
        return "step_size_min must not exceed step_size_max"
    return None


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


def _controlled(spec: OptimizerSpec) -> OptimizerSpec:
    """The spec with the training controls after its own hyperparameters."""
    from dataclasses import replace

    return replace(spec, hyperparams=with_controls(spec.hyperparams))


BUILTINS: dict[str, OptimizerSpec] = {
    spec.name: _controlled(spec)
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
            "lazy_adam",
            "Lazy Adam: moments and weights move only where the minibatch has data (SparseAdam)",
            (
                _lr(1e-3),
                _beta("beta1", 0.9, "decay of the first moment"),
                _beta("beta2", 0.999, "decay of the second moment"),
                _eps(1e-8),
            ),
            2,
            _LAZY_ADAM_KERNEL,
            "torch.optim.SparseAdam: on sparse data only the batch's present coordinates, bias "
            "correction with the global step; on dense data every coordinate (Adam)",
            sparse_gradient=True,
        ),
        OptimizerSpec(
            "adamw",
            "AdamW, Adam with decoupled weight decay (Loshchilov & Hutter 2019)",
            (
                _lr(1e-3),
                _beta("beta1", 0.9, "decay of the first moment"),
                _beta("beta2", 0.999, "decay of the second moment"),
                _eps(1e-8),
                _DECOUPLED_WD,
                HyperParam("amsgrad", 0.0, "use max of the second moments (AMSGrad)", "bool"),
            ),
            3,
            _builtin("zeros_init", "adamw", 3, 0, 7),
            "torch.optim.AdamW: p *= 1 - lr wd, then Adam's step (optax.adamw: wd default 1e-4)",
        ),
        OptimizerSpec(
            "nadam",
            "NAdam, Adam with Nesterov momentum (Dozat 2016)",
            (
                _lr(2e-3),
                _beta("beta1", 0.9, "decay of the first moment"),
                _beta("beta2", 0.999, "decay of the second moment"),
                _eps(1e-8),
                _WD,
                HyperParam(
                    "momentum_decay", 4e-3, "psi in mu_t = beta1 (1 - 0.96^(t psi) / 2)", low=0.0
                ),
                _DECOUPLED,
            ),
            2,
            _builtin("nadam_init", "nadam", 2, 1, 8),
            "torch.optim.NAdam: momentum schedule mu_t, product of mu in the state (optax.nadam: "
            "constant beta1)",
            state_extra=1,
        ),
        OptimizerSpec(
            "radam",
            "RAdam, Adam with the variance rectified (Liu et al. 2020)",
            (
                _lr(1e-3),
                _beta("beta1", 0.9, "decay of the first moment"),
                _beta("beta2", 0.999, "decay of the second moment"),
                _eps(1e-8),
                _WD,
                _DECOUPLED,
            ),
            2,
            _builtin("zeros_init", "radam", 2, 0, 10),
            "torch.optim.RAdam: rectified while rho_t > 5, else momentum only (optax.radam: "
            "rho_t >= 5, no weight decay)",
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
            "adadelta",
            "Adadelta (Zeiler 2012)",
            (
                _lr(1.0),
                HyperParam("rho", 0.9, "decay of both running averages", low=0.0, high=1.0),
                _eps(1e-6),
                _WD,
            ),
            2,
            _builtin("zeros_init", "adadelta", 2, 0, 4),
            "torch.optim.Adadelta: eps inside both sqrt (optax.adadelta: the same, lr=None is 1)",
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
        OptimizerSpec(
            "rprop",
            "Rprop, sign-based steps with per-coordinate sizes (Riedmiller & Braun 1993)",
            (
                _lr(1e-2),
                HyperParam(
                    "eta_minus",
                    0.5,
                    "step size factor on a sign change",
                    low=0.0,
                    high=1.0,
                    low_open=True,
                    high_open=True,
                ),
                HyperParam(
                    "eta_plus", 1.2, "step size factor on the same sign", low=1.0, low_open=True
                ),
                HyperParam("step_size_min", 1e-6, "smallest step size", low=0.0),
                HyperParam("step_size_max", 50.0, "largest step size", low=0.0, low_open=True),
            ),
            2,
            _builtin("rprop_init", "rprop", 2, 0, 4),
            "torch.optim.Rprop: step sizes start at lr, read only then (optax.rprop: no clamp "
            "while g prev = 0)",
            check=_step_size_bounds_check,
            schedulable=False,
        ),
    )
}
