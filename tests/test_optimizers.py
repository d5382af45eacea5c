"""The optimizer registry: defaults, validation messages, -O spec parsing, precedence."""

from __future__ import annotations

import pytest
from conftest import BUILTIN_OPTIMIZERS

from adambench.errors import OptimizerError
from adambench.optimizers.registry import (
    configs_from_specs,
    get,
    parse_spec,
    registry,
    resolve,
    split_specs,
)
from adambench.optimizers.rules import library_files
from adambench.optimizers.spec import CONTROL_NAMES


def test_registry_holds_the_builtins_with_torch_defaults():
    reg = registry()
    # the built-ins first, then the library (optimizers/library/*.yaml)
    assert tuple(reg) == BUILTIN_OPTIMIZERS + tuple(library_files())
    own = {hp.name: hp.default for hp in reg["adam"].own_hyperparams}
    assert own == {
        "lr": 1e-3,
        "beta1": 0.9,
        "beta2": 0.999,
        "eps": 1e-8,
        "weight_decay": 0.0,
        "amsgrad": 0.0,
        "bias_correction": 1.0,
    }
    assert reg["adamax"].defaults["lr"] == 2e-3
    assert reg["momentum"].defaults["momentum"] == 0.9
    assert reg["nesterov"].defaults["nesterov"] == 1.0
    assert reg["adagrad"].defaults["eps"] == 1e-10
    assert reg["rmsprop"].defaults["alpha"] == 0.99


# adambench's name of each torch.optim constructor argument (tuples split as the adapter does).
TORCH_ARGUMENTS = {
    "betas": ("beta1", "beta2"),
    "etas": ("eta_minus", "eta_plus"),
    "step_sizes": ("step_size_min", "step_size_max"),
}


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("adamw", "AdamW"),
        ("nadam", "NAdam"),
        ("radam", "RAdam"),
        ("adadelta", "Adadelta"),
        ("rprop", "Rprop"),
    ],
)
def test_new_builtins_take_torchs_arguments_with_torchs_defaults(name, cls):
    torch = pytest.importorskip("torch")
    import inspect

    ignored = {"self", "params", "foreach", "maximize", "capturable", "differentiable", "fused"}
    theirs = {}
    for arg in inspect.signature(getattr(torch.optim, cls).__init__).parameters.values():
        if arg.name in ignored:
            continue
        names = TORCH_ARGUMENTS.get(arg.name, (arg.name,))
        values = arg.default if isinstance(arg.default, tuple) else (arg.default,)
        theirs |= {n: float(v) for n, v in zip(names, values, strict=True)}
    assert {hp.name: hp.default for hp in get(name).own_hyperparams} == theirs


def test_only_rprop_refuses_a_schedule():
    # torch's Rprop sets every step size to lr at its first step and never reads lr again.
    assert [n for n, spec in registry().items() if not spec.schedulable] == ["rprop"]


BAD = [
    ("adam", {"lr": 0}, r"adam: lr must be in \(0, inf\), got 0"),
    ("adam", {"lr": -1e-3}, r"lr must be in \(0, inf\), got -0.001"),
    ("adam", {"beta1": 1.0}, r"beta1 must be in \[0, 1\), got 1"),
    ("adam", {"beta2": -0.1}, r"beta2 must be in \[0, 1\)"),
    ("adam", {"eps": -1e-8}, r"eps must be in \[0, inf\)"),
    ("adam", {"lr": float("nan")}, r"lr must be in"),
    ("adam", {"lr": float("inf")}, r"lr must be in"),
    ("adam", {"amsgrad": 2}, r"amsgrad must be true or false"),
    ("adam", {"lr": "fast"}, r"lr must be a number"),
    ("sgd", {"momentum": 1.0}, r"momentum must be in \[0, 1\)"),
    ("sgd", {"nesterov": True}, r"nesterov requires momentum > 0"),
    ("nesterov", {"dampening": 0.5}, r"nesterov requires momentum > 0 and dampening = 0"),
    ("rmsprop", {"alpha": 1}, r"alpha must be in \[0, 1\)"),
    ("adagrad", {"lr_decay": -1}, r"lr_decay must be in \[0, inf\)"),
    ("rprop", {"eta_minus": 1.0}, r"rprop: eta_minus must be in \(0, 1\), got 1"),
    ("rprop", {"eta_plus": 1.0}, r"rprop: eta_plus must be in \(1, inf\), got 1"),
    ("rprop", {"step_size_min": 1, "step_size_max": 0.5}, r"step_size_min must not exceed"),
    ("nadam", {"momentum_decay": -1}, r"momentum_decay must be in \[0, inf\)"),
    ("adadelta", {"rho": 1.5}, r"rho must be in \[0, 1\], got 1.5"),
    ("adamw", {"decoupled_weight_decay": True}, r"adamw has no hyperparameter"),
    ("adam", {"betta1": 0.5}, r"adam has no hyperparameter 'betta1' \(did you mean 'beta1'\?\)"),
]


@pytest.mark.parametrize(("name", "overrides", "message"), BAD)
def test_bad_hyperparameters_are_refused_naming_parameter_value_and_range(name, overrides, message):
    with pytest.raises(OptimizerError, match=message):
        resolve(get(name), overrides)


def test_unknown_optimizer_suggests_a_name():
    with pytest.raises(OptimizerError, match=r"unknown optimizer 'adma' \(did you mean 'adam'\?\)"):
        get("adma")


def test_split_specs_respects_parentheses():
    assert split_specs("adam(lr=0.05,beta1=0.8),adam(lr=0.01),rmsprop") == [
        "adam(lr=0.05,beta1=0.8)",
        "adam(lr=0.01)",
        "rmsprop",
    ]
    with pytest.raises(OptimizerError, match="unbalanced"):
        split_specs("adam(lr=0.1")
    with pytest.raises(OptimizerError, match="unbalanced"):
        split_specs("adam)lr=0.1(")


def test_parse_spec_values():
    assert parse_spec("adam( lr = 0.05 , amsgrad=true )") == ("adam", {"lr": 0.05, "amsgrad": True})
    assert parse_spec("rmsprop") == ("rmsprop", {})
    with pytest.raises(OptimizerError, match="expected key=value"):
        parse_spec("adam(lr)")
    with pytest.raises(OptimizerError, match="given twice"):
        parse_spec("adam(lr=1,lr=2)")
    with pytest.raises(OptimizerError, match="not a number, true/false or a name"):
        parse_spec("adam(lr=1e-3..1)")
    assert parse_spec("adam(schedule=cosine)") == ("adam", {"schedule": "cosine"})
    with pytest.raises(OptimizerError, match=r"adam: lr must be a number, got 'abc'"):
        configs_from_specs(["adam(lr=abc)"])


def test_precedence_spec_then_cli_lr_then_problem_then_default():
    suggested = {"adam": {"lr": 0.02, "beta1": 0.8}}
    (cfg,) = configs_from_specs(["adam"], suggested=suggested)
    assert cfg.values["lr"] == 0.02 and cfg.sources["lr"] == "problem"
    assert cfg.values["beta1"] == 0.8 and cfg.sources["beta1"] == "problem"
    (cfg,) = configs_from_specs(["adam"], lr=0.5, suggested=suggested)
    assert cfg.values["lr"] == 0.5 and cfg.sources["lr"] == "cli"
    (cfg,) = configs_from_specs(["adam(lr=0.1)"], lr=0.5, suggested=suggested)
    assert cfg.values["lr"] == 0.1 and cfg.sources["lr"] == "spec"
    assert cfg.values["beta2"] == 0.999 and cfg.sources["beta2"] == "default"
    assert cfg.label == "adam(lr=0.1, beta1=0.8†)"


def test_labels_mark_non_default_values():
    a, b, c = configs_from_specs(["adam(lr=0.05,beta1=0.8),adam(lr=0.01)", "rmsprop"], lr=None)
    assert (a.label, b.label, c.label) == ("adam(lr=0.05, beta1=0.8)", "adam(lr=0.01)", "rmsprop")
    (d,) = configs_from_specs(["sgd"], lr=0.1)
    assert d.label == "sgd(lr=0.1*)"


def test_hp_vector_follows_the_kernel_order():
    (cfg,) = configs_from_specs(["adam(amsgrad=true,lr=0.5)"])
    own = [0.5, 0.9, 0.999, 1e-8, 0.0, 1.0, 1.0]
    controls = [hp.default for hp in cfg.spec.hyperparams[len(own) :]]
    assert [hp.name for hp in cfg.spec.hyperparams[len(own) :]] == list(CONTROL_NAMES)
    # then the position of lr, which the run loop rewrites at each step of a schedule
    assert cfg.hp_vector() == [*own, *controls, 0.0]
    assert cfg.public_values()["amsgrad"] is True
