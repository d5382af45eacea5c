"""The kernels of vector problems: each coordinate gathers its gradient from the stencil terms
that touch it, and the loss is summed in fixed blocks of coordinates, so the serial ``p_fg``,
its parallel twin ``p_fg_par`` and ``p_loss`` agree bit for bit on any number of threads."""

from __future__ import annotations

import importlib

import numba
import numpy as np
import pytest

from adambench.codegen.modules import load_module
from adambench.kernels import SUM_BLOCK
from adambench.optimizers.registry import get, parse_spec, resolve
from adambench.problems import load_problem

#: Three terms with offsets -1, 0 and 2, a coefficient, the index i and a constant: each
#: coordinate is touched by several terms from both sides.
STENCIL = (
    "name: stencil\ndim: 12\n"
    "expression: 0.5*sum(i, 1, dim-3, (x[i-1] - 2*x[i] + x[i+2])**2 + 0.01*i*x[i]**2)"
    " + sum(i, 0, dim-1, (x[i] - 1)**2) - 3*sum(i, 2, dim-1, x[i-1]*x[i] - x[i-2]) + 7\n"
    "start: {fill: 0.5}\n"
)

DIMS = [4, 17, SUM_BLOCK - 1, SUM_BLOCK, SUM_BLOCK + 1, 3 * SUM_BLOCK + 123]


def kernels(problem, dtype="float64"):
    module, _ = load_module(problem, get("adam").kernel, dtype)
    return module


def numpy_stencil(x):
    """STENCIL's loss and gradient, written out with numpy."""
    n, i = x.shape[0], np.arange(x.shape[0], dtype=float)
    f, g = 7.0, np.zeros(n)
    r = x[0 : n - 3] - 2 * x[1 : n - 2] + x[3:n]
    ii = i[1 : n - 2]
    f += 0.5 * np.sum(r**2 + 0.01 * ii * x[1 : n - 2] ** 2)
    g[0 : n - 3] += r
    g[1 : n - 2] += -2 * r + 0.01 * ii * x[1 : n - 2]
    g[3:n] += r
    f += np.sum((x - 1) ** 2)
    g += 2 * (x - 1)
    f -= 3 * np.sum(x[1 : n - 1] * x[2:n] - x[0 : n - 2])
    g[1 : n - 1] -= 3 * x[2:n]
    g[2:n] -= 3 * x[1 : n - 1]
    g[0 : n - 2] += 3
    return f, g


def numpy_rosenbrock(x):
    f = np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    g = np.zeros_like(x)
    g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return f, g


def evaluate(module, x, par=False):
    g = np.empty_like(x)
    fg = module.p_fg_par if par else module.p_fg
    f = fg(x, g, np.zeros(4), np.zeros((1, 1)))
    return f, g


@pytest.mark.parametrize("n", [2, 10, SUM_BLOCK + 5])
def test_the_gathered_gradient_is_rosenbrock_nd_s(n):
    module = kernels(load_problem("rosenbrock_nd", dim=n))
    x = np.random.default_rng(n).normal(size=n)
    f, g = evaluate(module, x)
    f_ref, g_ref = numpy_rosenbrock(x)
    assert f == pytest.approx(f_ref, rel=1e-13)
    np.testing.assert_allclose(g, g_ref, rtol=1e-13, atol=1e-12)


def test_a_stencil_of_several_terms_and_offsets_matches_numpy_and_central_differences(
    write_yaml,
):
    n = 40
    module = kernels(load_problem(write_yaml(STENCIL), dim=n))
    x = np.random.default_rng(1).normal(size=n)
    f, g = evaluate(module, x)
    f_ref, g_ref = numpy_stencil(x)
    assert f == pytest.approx(f_ref, rel=1e-13)
    np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-12)
    h = 1e-6
    for j in range(n):
        up, down = x.copy(), x.copy()
        up[j] += h
        down[j] -= h
        central = (evaluate(module, up)[0] - evaluate(module, down)[0]) / (2 * h)
        assert central == pytest.approx(g[j], rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_parallel_twin_and_the_loss_give_the_serial_bits(write_yaml, dtype):
    """For dims smaller than one block, not multiples of it and of several blocks, on one and
    two threads: p_fg_par's loss and gradient are p_fg's, and p_loss is p_fg's loss."""
    for n in DIMS:
        module = kernels(load_problem(write_yaml(STENCIL), dim=n), dtype)
        x = np.random.default_rng(n).normal(size=n).astype(dtype)
        f, g = evaluate(module, x)
        assert module.p_loss(x, np.zeros(4), np.zeros((1, 1))) == f
        for threads in (1, 2):
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            f_par, g_par = evaluate(module, x, par=True)
            assert f_par == f
            assert g_par.tobytes() == g.tobytes()


def test_the_loss_is_summed_in_blocks_of_coordinates():
    """Over several blocks the loss is the sum, in block order, of each block's sum, and a
    block's sum is (lane 0 + lane 1) + (lane 2 + lane 3), lane l the terms of the coordinates
    j = l mod 4 added in ascending j: the same bits serially and on any number of threads, with
    or without the interior loop."""
    n = 2 * SUM_BLOCK + 7
    module = kernels(load_problem("rosenbrock_nd", dim=n))
    x = np.random.default_rng(5).normal(size=n)
    terms = 100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2
    f = 0.0
    for b in range(0, n - 1, SUM_BLOCK):
        lanes = [0.0] * 4
        for j, v in enumerate(terms[b : b + SUM_BLOCK], start=b):
            lanes[j % 4] += float(v)
        f += (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
    loss = module.p_loss(x, np.zeros(4), np.zeros((1, 1)))
    assert loss == f
    assert evaluate(module, x)[0] == f


def test_the_interior_loop_gives_the_checked_loops_bits():
    """Coordinates where every term is in range run in a loop without range checks (LLVM
    vectorises it); the others check each term. Rosenbrock's terms depend on x[j-1], x[j],
    x[j+1] alone, so a coordinate of either loop with the same three values has the same
    gradient, bit for bit: j = 2 and j = n - 2 are checked, the others copy them inside."""
    n = 3 * SUM_BLOCK + 7
    module = kernels(load_problem("rosenbrock_nd", dim=n))
    x = np.random.default_rng(11).normal(size=n)
    for edge, inside in ((2, 1000), (n - 2, 2 * SUM_BLOCK + 50)):
        x[inside - 1 : inside + 2] = x[edge - 1 : edge + 2]
    g = evaluate(module, x)[1]
    assert g[1000] == g[2] and g[2 * SUM_BLOCK + 50] == g[n - 2]
    g_ref = numpy_rosenbrock(x)[1]
    np.testing.assert_allclose(g, g_ref, rtol=1e-13, atol=1e-12)


def test_the_interior_loop_is_vectorised():
    """The interior loop of a stencil problem's gradient compiles to packed (ymm) arithmetic."""
    import platform
    import re

    with open("/proc/cpuinfo") if platform.system() == "Linux" else open(__file__) as f:
        if " avx2" not in f.read():
            pytest.skip("needs an x86 machine with AVX2")
    module = kernels(load_problem("rosenbrock_nd", dim=100))
    fresh = numba.njit(error_model="numpy")(module.p_fg.py_func)
    fresh(np.zeros(100), np.zeros(100), np.zeros(4), np.zeros((1, 1)))
    asm = "\n".join(fresh.inspect_asm().values())
    assert re.search(r"^\s*vmulpd\s.*ymm", asm, re.MULTILINE)


def test_a_float32_gradient_is_the_float64_one_rounded_once(write_yaml):
    """Each coordinate's gradient is summed in float64 and rounded once where the float32 array
    holds it (as a problem of named variables does), not once per term that touches it."""
    problem = load_problem(write_yaml(STENCIL), dim=3 * SUM_BLOCK + 5)
    x32 = np.random.default_rng(7).normal(size=problem.dim).astype(np.float32)
    _, g32 = evaluate(kernels(problem, "float32"), x32)
    _, g64 = evaluate(kernels(problem), x32.astype(np.float64))
    assert g32.dtype == np.float32
    assert g32.tobytes() == g64.astype(np.float32).tobytes()


#: One spec per built-in step kernel, with the options that take their other branches (the
#: controls rewrite only ``hp``, which both kernels read alike).
TWIN_SPECS = [
    "adam(lr=0.01,amsgrad=true)",
    "adam(lr=0.01,weight_decay=0.1)",
    "adamax",
    "nesterov(lr=1e-4)",
    "momentum(lr=1e-4,dampening=0.3)",
    "adagrad(lr=0.1,lr_decay=0.01)",
    "rmsprop(lr=1e-3,centered=true,momentum=0.5)",
    "rmsprop(lr=1e-3)",
    "sgd(lr=1e-4)",
    "adamw(lr=0.01,amsgrad=true)",
    "nadam(lr=0.01,weight_decay=0.1,decoupled_weight_decay=true)",
    "radam(lr=0.01,weight_decay=0.01)",
    "adadelta(weight_decay=0.01)",
    "rprop(lr=1e-3)",
    "lazy_adam(lr=0.01)",
]


def twin_kernels(text):
    """The spec, its hp vector, and its init, step and parallel step kernels."""
    name, overrides = parse_spec(text)
    spec = get(name)
    module = importlib.import_module(spec.kernel.module)
    hp = np.array(resolve(spec, overrides).hp_vector(), float)
    init, step, step_par = (
        getattr(module, f) for f in (spec.kernel.init, spec.kernel.step, spec.kernel.step_par)
    )
    return spec, hp, init, step, step_par


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_each_parallel_twin_steps_as_its_serial_kernel(dtype):
    """The wide runner steps with ``opt_step_par``: for every built-in kernel and the options
    that branch inside it (in float32, a kernel of each state shape), on one and two threads,
    its parameters and state after several steps are the serial kernel's, bit for bit (each
    update touches only its own coordinate)."""
    n, rng = 1001, np.random.default_rng(7)
    grads = [rng.normal(size=n).astype(dtype) for _ in range(6)]
    specs = TWIN_SPECS if dtype == "float64" else TWIN_SPECS[:1] + TWIN_SPECS[6:7] + TWIN_SPECS[10:]
    for text in specs:
        spec, hp, init, step, step_par = twin_kernels(text)
        x0 = rng.normal(size=n).astype(dtype)
        ends = []
        for kernel, threads in ((step, 1), (step_par, 1), (step_par, 2)):
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            p, state = x0.copy(), np.zeros(spec.state_size(n), dtype)
            init(p, hp, state)
            for t, g in enumerate(grads, start=1):
                kernel(p, g.copy(), state, t, hp)
            ends.append(p.tobytes() + state.tobytes())
        assert not np.array_equal(p, x0), text  # the steps moved it
        assert ends[1] == ends[0] and ends[2] == ends[0], text


def test_a_step_of_a_stencil_problem_is_one_vectorised_pass():
    """The wide runner of an elementwise optimizer on a stencil problem steps in one pass
    (``p_fused_par``: the gradient, the bounds check and the update per coordinate), whose
    interior loop compiles to packed (ymm) sqrt and division: Adam's update vectorised with the
    gradient. Its x_{t+1} and loss are those of the separate passes, bit for bit."""
    import inspect
    import platform
    import re

    n = 2 * SUM_BLOCK + 9
    module = kernels(load_problem("rosenbrock_nd", dim=n))
    assert "p_fused_par(" in inspect.getsource(module.advance_wide.py_func)
    x = np.random.default_rng(3).normal(size=n)
    hp = np.array([0.01, 0.9, 0.999, 1e-8, 0.0, 0.0, 1.0])
    state = np.zeros(3 * n + 2)
    state[3 * n :] = 1.0
    consts = module.opt_prepare(1, hp, 1.0, 1.0)[2:]  # past the two running powers
    y = np.empty(n)
    f, outside = module.p_fused_par(x, y, state.copy(), np.zeros(4), np.zeros((1, 1)), 1e9,
                                    tuple(consts))  # fmt: skip
    x2, g = x.copy(), np.empty(n)
    assert f == module.p_fg(x2, g, np.zeros(4), np.zeros((1, 1))) and outside == 0
    module.opt_step(x2, g, state, 1, hp)
    assert y.tobytes() == x2.tobytes()
    with open("/proc/cpuinfo") if platform.system() == "Linux" else open(__file__) as f:
        if " avx2" not in f.read():
            pytest.skip("needs an x86 machine with AVX2")
    # Compiled afresh: code loaded from the disk cache has no machine code to show.
    fresh = numba.njit(error_model="numpy", parallel=True)(module.p_fused_par.py_func)
    fresh(x, y, state, np.zeros(4), np.zeros((1, 1)), 1e9, tuple(consts))
    asm = "\n".join(fresh.inspect_asm().values())
    for op in ("vsqrtpd", "vdivpd"):
        assert re.search(rf"^\s*{op}\s.*ymm", asm, re.MULTILINE), op
