"""Trajectories against torch.optim in float64: max |dx| <= 1e-10 over 500-1,000 steps.

Torch computes the gradient with autograd on its own copy of the formula, so this checks the
optimizer and the generated gradient together. Skipped cleanly where torch is not installed.
"""

from __future__ import annotations

import numpy as np
import pytest
import reference
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import adambench
from adambench import kernels as K
from adambench.optimizers.registry import get, resolve

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def beale(x, y):
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


PROBLEMS = {"beale": (beale, [1.0, 1.5]), "rosenbrock": (rosenbrock, [-1.5, 2.0])}

# (adambench spec, torch class name, torch kwargs)
CASES = [
    ("adam(lr=0.01)", "Adam", {"lr": 0.01}),
    ("adam(lr=0.01,amsgrad=true)", "Adam", {"lr": 0.01, "amsgrad": True}),
    (
        "adam(lr=0.005,weight_decay=0.01,beta1=0.8)",
        "Adam",
        {"lr": 0.005, "weight_decay": 0.01, "betas": (0.8, 0.999)},
    ),
    ("adamax(lr=0.01)", "Adamax", {"lr": 0.01}),
    ("sgd(lr=0.0005)", "SGD", {"lr": 0.0005}),
    ("momentum(lr=0.0005)", "SGD", {"lr": 0.0005, "momentum": 0.9}),
    ("nesterov(lr=0.0005)", "SGD", {"lr": 0.0005, "momentum": 0.9, "nesterov": True}),
    (
        "sgd(lr=0.0005,momentum=0.5,dampening=0.2,weight_decay=0.01)",
        "SGD",
        {"lr": 0.0005, "momentum": 0.5, "dampening": 0.2, "weight_decay": 0.01},
    ),
    ("adagrad(lr=0.05)", "Adagrad", {"lr": 0.05}),
    (
        "adagrad(lr=0.05,lr_decay=0.01,initial_accumulator_value=0.1)",
        "Adagrad",
        {"lr": 0.05, "lr_decay": 0.01, "initial_accumulator_value": 0.1},
    ),
    ("rmsprop(lr=0.001)", "RMSprop", {"lr": 0.001}),
    (
        "rmsprop(lr=0.001,momentum=0.5,centered=true)",
        "RMSprop",
        {"lr": 0.001, "momentum": 0.5, "centered": True},
    ),
]


def torch_trajectory(f, start, cls, kwargs, steps):
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = getattr(torch.optim, cls)([p], **kwargs)
    out = [p.detach().clone().numpy()]
    for _ in range(steps):
        opt.zero_grad()
        loss = f(p[0], p[1])
        loss.backward()
        opt.step()
        out.append(p.detach().clone().numpy())
    return np.array(out)


@pytest.mark.parametrize("problem", list(PROBLEMS))
@pytest.mark.parametrize(("spec", "cls", "kwargs"), CASES, ids=[c[0] for c in CASES])
def test_trajectory_matches_torch_optim(problem, spec, cls, kwargs):
    steps = 600
    f, start = PROBLEMS[problem]
    ours = adambench.run(problem, [spec], steps=steps).runs[0]
    assert ours.steps == steps, ours.status
    theirs = torch_trajectory(f, start, cls, kwargs, steps)
    assert np.max(np.abs(ours.x_trace - theirs)) <= 1e-10


# ---------------------------------------------------------------------------------------------
# Adam's family and two classics (adamw, nadam, radam, adadelta, rprop): 500 steps within 1e-10
# of torch.optim (foreach=False), at torch's defaults and at one moderate lr per problem.


def long_valley(x, y):
    return 5 * x**2 + 0.001 * (y - 10) ** 2


def saddle_point(x, y):
    return x**2 + y**4 / 4 - y**2 / 2


EXPRESSION_PROBLEMS = {
    **PROBLEMS,
    "long_valley": (long_valley, [0.5, -8.0]),
    "saddle_point": (saddle_point, [1.0, 0.001]),
}

#: The moderate lr of each problem (the same for every optimizer: for rprop it is the first step
#: size, for adadelta a hundredth of its default).
MODERATE_LR = {
    "beale": 0.01,
    "rosenbrock": 0.01,
    "long_valley": 0.1,
    "saddle_point": 0.1,
    "noisy_logreg": 0.1,
}
TORCH_CLASSES = {
    "adamw": "AdamW",
    "nadam": "NAdam",
    "radam": "RAdam",
    "adadelta": "Adadelta",
    "rprop": "Rprop",
}
#: Every option at least once, with the moderate lr of the problem.
OPTION_CASES = [
    ("adamw", {"amsgrad": True}),
    ("adamw", {"weight_decay": 0.1, "beta1": 0.8}),
    ("nadam", {"weight_decay": 0.05}),
    ("nadam", {"weight_decay": 0.1, "decoupled_weight_decay": True, "momentum_decay": 0.01}),
    ("radam", {"weight_decay": 0.05}),
    ("radam", {"weight_decay": 0.1, "decoupled_weight_decay": True, "beta2": 0.99}),
    ("adadelta", {"weight_decay": 0.05, "rho": 0.95, "eps": 1e-4}),
    ("rprop", {"eta_minus": 0.3, "eta_plus": 1.5, "step_size_min": 1e-3, "step_size_max": 0.5}),
]
#: The chaotic case: on rosenbrock, adadelta at lr 1.0 amplifies the last-bit difference between
#: torch's autograd gradient and adambench's generated one (1e-13 at step 134, 5e-3 at step 500;
#: torch's single-tensor and foreach paths agree with each other). Fed adambench's gradient,
#: torch agrees within 1e-14: checked by test_new_builtin_matches_torch_fed_the_same_gradient.
AUTOGRAD_CHAOTIC = {("rosenbrock", "adadelta", "defaults")}


def torch_kwargs(name, values):
    """torch.optim's keyword arguments for adambench's hyperparameter values."""
    kw = dict(values)
    if "beta1" in kw or "beta2" in kw:
        kw["betas"] = (kw.pop("beta1", 0.9), kw.pop("beta2", 0.999))
    if name == "rprop":
        kw = {
            "lr": kw.get("lr", 0.01),
            "etas": (kw.get("eta_minus", 0.5), kw.get("eta_plus", 1.2)),
            "step_sizes": (kw.get("step_size_min", 1e-6), kw.get("step_size_max", 50.0)),
        }
    return kw


def spec_text(name, values):
    if not values:
        return name
    return f"{name}({','.join(f'{k}={str(v).lower()}' for k, v in values.items())})"


def adapter_text(name, values):
    """The same optimizer as ``torch:CLASS(...)`` (the adapter splits betas, etas, step_sizes)."""
    names = {"eta_minus": "eta1", "eta_plus": "eta2"}
    names |= {"step_size_min": "step_size1", "step_size_max": "step_size2"}
    renamed = {names.get(k, k): v for k, v in values.items()}
    return spec_text(f"torch:{TORCH_CLASSES[name]}", renamed)


@pytest.fixture
def torch_float64_default():
    """torch keeps NAdam's mu_product in the default dtype: under the float32 default it is
    rounded to float32 at every step (1e-9 off a float64 trajectory by step 500)."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def family_cases(problems):
    cases = []
    for problem in problems:
        lr = MODERATE_LR[problem]
        for name in TORCH_CLASSES:
            cases.append((problem, name, "defaults", {}))
            cases.append((problem, name, f"lr={lr}", {"lr": lr}))
        for name, options in OPTION_CASES:
            cases.append((problem, name, "options", {"lr": lr, **options}))
    return cases


def case_id(case):
    problem, name, label, values = case
    return f"{problem}-{spec_text(name, values) if label == 'options' else name + '-' + label}"


#: On beale and rosenbrock only: long_valley and saddle_point run the same kernels through the
#: same generated code (each problem's gradient is checked against central differences in
#: tests/test_problems.py), and each of their runners costs a compile.
FAMILY_AUTOGRAD = [c for c in family_cases(PROBLEMS) if (c[0], c[1], c[2]) not in AUTOGRAD_CHAOTIC]


@pytest.mark.usefixtures("torch_float64_default")
@pytest.mark.parametrize("case", FAMILY_AUTOGRAD, ids=[case_id(c) for c in FAMILY_AUTOGRAD])
def test_new_builtin_matches_torch_optim_with_autograd(case):
    problem, name, _, values = case
    steps = 500
    f, start = EXPRESSION_PROBLEMS[problem]
    ours = adambench.run(problem, [spec_text(name, values)], steps=steps).runs[0]
    assert ours.steps == steps, ours.status
    kwargs = {**torch_kwargs(name, values), "foreach": False}
    theirs = torch_trajectory(f, start, TORCH_CLASSES[name], kwargs, steps)
    assert np.max(np.abs(ours.x_trace - theirs)) <= 1e-10


#: noisy_logreg (minibatches: torch must see the same ones), and the chaotic autograd case.
FAMILY_SAME_GRADIENT = family_cases(["noisy_logreg"]) + [
    c for c in family_cases(EXPRESSION_PROBLEMS) if (c[0], c[1], c[2]) in AUTOGRAD_CHAOTIC
]


@pytest.mark.usefixtures("torch_float64_default")
@pytest.mark.parametrize(
    "case", FAMILY_SAME_GRADIENT, ids=[case_id(c) for c in FAMILY_SAME_GRADIENT]
)
def test_new_builtin_matches_torch_fed_the_same_gradient(case):
    """torch.optim stepped by adambench's torch adapter (on CPU its default is the single-tensor
    path, foreach=False) sees the same gradient, noise and minibatches as the compiled run."""
    problem, name, _, values = case
    steps = 500
    r = adambench.run(problem, [spec_text(name, values), adapter_text(name, values)], steps=steps)
    ours, theirs = r.runs
    assert ours.steps == theirs.steps == steps, (ours.status, theirs.status)
    assert np.max(np.abs(ours.x_trace - theirs.x_trace)) <= 1e-10


def test_the_adapter_steps_torch_on_its_single_tensor_path():
    # What "foreach=False" rests on in the test above: torch's own default for CPU tensors.
    from torch.optim.optimizer import _default_to_fused_or_foreach

    p = torch.zeros(2, dtype=torch.float64)
    assert _default_to_fused_or_foreach([p], differentiable=False, use_fused=False) == (
        False,
        False,
    )


def test_nadam_under_torchs_float32_default_drifts_by_the_rounding_of_mu_product():
    """Why the tests above set torch's default dtype to float64 (docs/optimizers.md says so)."""
    f, start = EXPRESSION_PROBLEMS["beale"]
    ours = adambench.run("beale", ["nadam"], steps=500).runs[0]
    assert torch.get_default_dtype() == torch.float32
    theirs = torch_trajectory(f, start, "NAdam", {"foreach": False}, 500)
    assert 1e-12 < np.max(np.abs(ours.x_trace - theirs)) < 1e-8


# Random hyperparameters in range: the kernels, stepped in a Python loop on beale's gradient,
# against torch.optim fed the same gradient. The arithmetic is torch's, operation for operation,
# so even a trajectory that amplifies the last bit stays within rounding.
lrs = st.floats(1e-4, 0.3)
betas1 = st.floats(0.0, 0.99)
betas2 = st.floats(0.5, 0.9999)
epss = st.floats(1e-10, 1e-3)
decays = st.floats(0.0, 0.5)
HYPERPARAMETERS = {
    "adamw": st.fixed_dictionaries(
        {"lr": lrs, "beta1": betas1, "beta2": betas2, "eps": epss, "weight_decay": decays,
         "amsgrad": st.booleans()}
    ),
    "nadam": st.fixed_dictionaries(
        {"lr": lrs, "beta1": betas1, "beta2": betas2, "eps": epss, "weight_decay": decays,
         "momentum_decay": st.floats(0.0, 0.1), "decoupled_weight_decay": st.booleans()}
    ),
    "radam": st.fixed_dictionaries(
        {"lr": lrs, "beta1": betas1, "beta2": betas2, "eps": epss, "weight_decay": decays,
         "decoupled_weight_decay": st.booleans()}
    ),
    "adadelta": st.fixed_dictionaries(
        {"lr": st.floats(1e-3, 2.0), "rho": st.floats(0.0, 1.0), "eps": epss,
         "weight_decay": decays}
    ),
    "rprop": st.fixed_dictionaries(
        {"lr": lrs, "eta_minus": st.floats(0.05, 0.95), "eta_plus": st.floats(1.01, 3.0),
         "step_size_min": st.floats(0.0, 1e-3), "step_size_max": st.floats(1e-3, 50.0)}
    ),
}  # fmt: skip


FAR = 1e3  # a run this far out has diverged: both loops stop before the gradient overflows


def kernel_steps(name, values, start, grad, steps):
    spec = get(name)
    hp = np.array(resolve(spec, values).hp_vector())
    p = np.array(start, float)
    state = np.zeros(spec.state_size(p.size))
    getattr(K, spec.kernel.init)(p, hp, state)
    step = getattr(K, spec.kernel.step)
    out = [p.copy()]
    for t in range(1, steps + 1):
        if np.abs(p).max() > FAR:
            break
        step(p, np.array(grad(list(p))), state, t, hp)
        out.append(p.copy())
    return np.array(out)


def torch_steps(name, values, start, grad, steps):
    p = torch.tensor(start, dtype=torch.float64)
    kwargs = {**torch_kwargs(name, values), "foreach": False}
    opt = getattr(torch.optim, TORCH_CLASSES[name])([p], **kwargs)
    out = [p.clone().numpy()]
    for _ in range(steps):
        if p.abs().max() > FAR:
            break
        p.grad = torch.tensor(grad(p.tolist()), dtype=torch.float64)
        opt.step()
        out.append(p.clone().numpy())
    return np.array(out)


@pytest.mark.usefixtures("torch_float64_default")
@pytest.mark.parametrize("name", list(HYPERPARAMETERS))
def test_random_hyperparameters_in_range_match_torch(name):
    @settings(max_examples=25, deadline=None)
    @given(values=HYPERPARAMETERS[name])
    def check(values):
        assume(values.get("step_size_min", 0.0) <= values.get("step_size_max", 1.0))
        ours = kernel_steps(name, values, [1.0, 1.5], reference.beale_grad, 200)
        theirs = torch_steps(name, values, [1.0, 1.5], reference.beale_grad, 200)
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)

    check()
