"""Generate, cache and import the compiled kernels of a (problem, optimizer) pair.

Two layers, both on disk under :func:`adambench.cache.cache_dir`:

1. The problem's kernels (``p_fg``, ``p_loss``, ``p_train``): for an expression problem, sympy
   differentiates the expression and the result is printed as numba source. This text is cached
   by a hash of everything that reaches it (the parsed expression, the kind of problem, this
   file's source, the package version), so a warm run imports no sympy.
2. A module per (problem kernels, optimizer kernels): a header, the problem's kernels, the
   optimizer binding and the run loop of :mod:`adambench.runner_template`. Its file name is the
   hash of its text plus the sources it imports (``kernels.py``, a plugin's file) and the package,
   numba and Python versions, so an edit anywhere gives a new module and numba's disk cache
   (keyed by the file) can never serve stale machine code.

Files are created atomically (write a temp file, then link it into place), so two processes
generating the same module at once both succeed and leave one valid file.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from adambench import __version__, expr
from adambench.cache import cache_dir

if TYPE_CHECKING:
    from adambench.problems import Problem

_HERE = Path(__file__).resolve().parent
_MARKER = "# ---- generated code starts here ----"
_HEADER_TAG = "# adambench generated module; sha256 of the rest: "


def _read(name: str) -> str:
    return (_HERE / name).read_text(encoding="utf-8")


def _sha(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# Problem kernels


def problem_key(problem: Problem) -> str:
    """Hash of every input of the problem's generated kernels."""
    return _sha("problem", problem.code_identity(), _read("codegen.py"), __version__)


def problem_source(problem: Problem) -> str:
    """The numba source of the problem's kernels, from the disk cache or generated (sympy)."""
    if problem.kind == "logreg":
        return _LOGREG_SOURCE
    key = problem_key(problem)
    path = cache_dir() / "problems" / f"p_{key[:32]}.py"
    text = _read_verified(path)
    if text is None:
        text = _generate_expression_source(problem)
        _write_verified(path, text)
    return text


def _generate_expression_source(problem: Problem) -> str:
    if problem.kind == "vector":
        return _vector_source(problem) + _TRAIN_WITH_NOISE
    return _named_source(problem) + _TRAIN_WITH_NOISE


def _printer() -> Any:
    import sympy
    from sympy.printing.pycode import PythonCodePrinter

    class NumbaPrinter(PythonCodePrinter):
        """Prints floats exactly (repr) and rationals as float divisions."""

        def _print_Float(self, e: Any) -> str:
            return repr(float(e))

        def _print_Rational(self, e: Any) -> str:
            return f"({e.p}.0 / {e.q}.0)"

        def _print_Integer(self, e: Any) -> str:
            return str(e.p)

        def _print_Pow(self, e: Any, rational: bool = False) -> str:
            base, exp = e.args
            if exp.is_Integer and 2 <= int(exp) <= 4:
                b = self.parenthesize(base, 100)
                return "(" + "*".join([b] * int(exp)) + ")"
            if exp.is_Integer and int(exp) == -1:
                return f"(1.0 / {self.parenthesize(base, 100)})"
            return super()._print_Pow(e, rational=rational)

    del sympy
    return NumbaPrinter({"fully_qualified_modules": True, "standard": "python3"})


def _cse_lines(exprs: list[Any], indent: str) -> tuple[list[str], list[str]]:
    import sympy

    printer = _printer()
    replacements, reduced = sympy.cse(
        exprs, symbols=sympy.numbered_symbols("c"), optimizations=None
    )
    lines = [f"{indent}{sym} = {printer.doprint(val)}" for sym, val in replacements]
    return lines, [printer.doprint(r) for r in reduced]


def _named_source(problem: Problem) -> str:
    """``p_fgs(v0, .., pd) -> (f, g0, ..)`` on scalars (what fused runners call), ``p_fg`` on
    arrays (a wrapper: the same operations), and ``p_loss``."""
    import sympy

    n = problem.dim
    syms = {f"v{k}": sympy.Symbol(f"v{k}", real=True) for k in range(n)}
    f = expr.to_sympy(problem.tree, syms)
    grads = [sympy.diff(f, syms[f"v{k}"]) for k in range(n)]
    args = ", ".join(f"v{k}" for k in range(n))
    body, (f_code, *g_codes) = _cse_lines([f, *grads], "    ")
    fgs = [
        "@jit",
        f"def p_fgs({args}, pd):",
        *body,
        f"    return {f_code}, {', '.join(g_codes)}",
    ]
    outs = ", ".join(f"g[{k}]" for k in range(n))
    xs = ", ".join(f"x[{k}]" for k in range(n))
    fg = ["@jit", "def p_fg(x, g, pd, data):", f"    f, {outs} = p_fgs({xs}, pd)", "    return f"]
    unpack = [f"    v{k} = x[{k}]" for k in range(n)]
    body_l, (f_only,) = _cse_lines([f], "    ")
    loss = ["@jit", "def p_loss(x, pd, data):", *unpack, *body_l, f"    return {f_only}"]
    return "\n".join([*fgs, "", "", *fg, "", "", *loss, "", ""]) + "\n"


def linear_sums(tree: expr.Node) -> tuple[list[tuple[float, expr.Node]], float]:
    """Split a vector expression into sum(...) terms with constant coefficients and a constant.

    Raises ValueError when the expression is not such a linear combination.
    """
    if tree[0] == "sum":
        return [(1.0, tree)], 0.0
    if expr.is_constant(tree):
        value = expr._fold(tree, None)
        assert value is not None
        return [], value
    kind = tree[0]
    if kind in ("add", "sub"):
        left, lc = linear_sums(tree[1])
        right, rc = linear_sums(tree[2])
        sign = 1.0 if kind == "add" else -1.0
        return left + [(sign * c, s) for c, s in right], lc + sign * rc
    if kind == "neg":
        terms, c = linear_sums(tree[1])
        return [(-k, s) for k, s in terms], -c
    if kind in ("mul", "div"):
        a, b = tree[1], tree[2]
        if kind == "mul" and expr.is_constant(a):
            a, b = b, a
        if expr.is_constant(b):
            k = expr._fold(b, None)
            assert k is not None
            k = 1.0 / k if kind == "div" else k
            terms, c = linear_sums(a)
            return [(k * w, s) for w, s in terms], k * c
    raise ValueError(
        "a vector expression must be a sum of sum(i, lo, hi, term) calls with constant coefficients"
    )


def _vector_source(problem: Problem) -> str:
    import sympy

    terms, constant = linear_sums(problem.tree)
    printer = _printer()
    fg = [
        "@jit",
        "def p_fg(x, g, pd, data):",
        "    n = x.shape[0]",
        "    for j in range(n):",
        "        g[j] = 0.0",
        "    f = 0.0",
    ]
    loss = ["@jit", "def p_loss(x, pd, data):", "    n = x.shape[0]", "    f = 0.0"]
    for coef, node in terms:
        (alo, blo), (ahi, bhi), term = node[1], node[2], node[3]
        offsets = expr.stencil_offsets(term)
        syms = {k: sympy.Symbol(f"s{j}", real=True) for j, k in enumerate(offsets)}
        isym = sympy.Symbol("ii", real=True)
        t_expr = expr.to_sympy(term, {}, offsets=syms, index=isym)
        derivs = [sympy.diff(t_expr, syms[k]) for k in offsets]
        head = [f"    for i in range({alo} * n + {blo}, {ahi} * n + {bhi} + 1):"]
        if expr.uses_index(term):
            head.append("        ii = float(i)")
        head += [f"        s{j} = x[i + {k}]" for j, k in enumerate(offsets)]
        body, (t_code, *d_codes) = _cse_lines([t_expr, *derivs], "        ")
        c = repr(float(coef))
        fg += [*head, *body, f"        f += {c} * ({t_code})"]
        fg += [f"        g[i + {k}] += {c} * ({d})" for k, d in zip(offsets, d_codes, strict=True)]
        body_l, (t_only,) = _cse_lines([t_expr], "        ")
        loss += [*head, *body_l, f"        f += {c} * ({t_only})"]
    del printer
    fg.append(f"    return f + {float(constant)!r}")
    loss.append(f"    return f + {float(constant)!r}")
    return "\n".join([*fg, "", "", *loss, "", ""]) + "\n"


_TRAIN_WITH_NOISE = """

@jit
def p_train(x, g, pd, data, ps, t, seed):
    f = p_fg(x, g, pd, data)
    sigma = pd[0]
    if sigma > 0.0:
        for i in range(g.shape[0]):
            g[i] += sigma * K.normal(seed, t, i)
    return f
"""

# Logistic regression: pd = [gradient_noise, l2, n_regularised, batch_size];
# ps (per run) = [permutation of the samples..., epoch of that permutation].
_LOGREG_SOURCE = """
@jit
def p_loss(x, pd, data):
    return K.logreg_loss(x, data, pd[1], int(pd[2]))


@jit
def p_fg(x, g, pd, data):
    K.logreg_grad(x, g, data, np.arange(data.shape[0]), pd[1], int(pd[2]))
    return K.logreg_loss(x, data, pd[1], int(pd[2]))


@jit
def p_train(x, g, pd, data, ps, t, seed):
    n = data.shape[0]
    bs = int(pd[3])
    n_batches = (n + bs - 1) // bs
    epoch = (t - 1) // n_batches
    b = (t - 1) % n_batches
    perm = ps[:n]
    if ps[n] != epoch:
        K.permutation(seed, epoch, perm)
        ps[n] = epoch
    K.logreg_grad(x, g, data, perm[b * bs : min(b * bs + bs, n)], pd[1], int(pd[2]))
    sigma = pd[0]
    if sigma > 0.0:
        for i in range(g.shape[0]):
            g[i] += sigma * K.normal(seed, t, i)
    return K.logreg_loss(x, data, pd[1], int(pd[2]))
"""


# ---------------------------------------------------------------------------------------------
# Optimizer binding and module assembly


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


#: Problems with at most this many named variables get the fused runner (values in registers).
FUSED_MAX_DIM = 16


def fused_dim(problem: Problem, kernel: KernelRef) -> int:
    """The dimension for which the module gets a fused runner, or 0 when it gets none."""
    ok = problem.kind == "expression" and problem.dim <= FUSED_MAX_DIM and kernel.elementwise
    return problem.dim if ok else 0


def module_source(problem_src: str, kernel: KernelRef, fused: int = 0, wide: bool = False) -> str:
    """The text of the generated module for a problem's kernels and an optimizer; with
    ``fused = n``, also the fused runners for n named variables; with ``wide``, the runner whose
    optimizer step runs on all threads."""
    template = _read("runner_template.py")
    loop = template.split(_MARKER, 1)[1]
    if fused:
        loop += "\n\n" + fused_runner_source(fused, kernel)
        loop += "\n\n" + lockstep_runner_source(fused, kernel)
    if wide:
        loop += "\n\n" + wide_runner_source(loop)
    header = (
        "# Generated by adambench: do not edit (regenerated when any input changes).\n"
        "import math\n\n"
        "import numpy as np\n\n"
        "from adambench import kernels as K\n"
        "from adambench.kernels import *  # noqa: F403 (status codes, metric slots, jit)\n"
        "from adambench.kernels import jit\n\n"
    )
    return header + kernel.binding() + "\n" + problem_src + "\n" + loop


def module_key(text: str, kernel: KernelRef) -> str:
    import platform

    import numba

    return _sha(
        "module",
        text,
        kernel.identity(),
        _read("kernels.py"),
        __version__,
        numba.__version__,
        platform.python_version(),
    )


def _indent(lines: list[str], depth: int) -> list[str]:
    return [" " * (4 * depth) + line for line in lines]


@dataclass(frozen=True)
class _ScalarStep:
    """The generated lines a scalar run loop needs (fused and lockstep share them): x, the
    gradient and the optimizer state as local variables, loaded from and stored to a run's
    rows, and one step of the optimizer on them."""

    xs: list[str]
    gs: list[str]
    load_x: list[str]
    store_x: list[str]
    load_s: list[str]
    store_s: list[str]
    finite_g: str
    in_bounds: str
    prepare: str
    updates: list[str]

    @staticmethod
    def of(n: int, kernel: KernelRef, hp: str) -> _ScalarStep:
        k, e, c = kernel.slots, kernel.extra, kernel.consts
        xs = [f"x{i}" for i in range(n)]
        gs = [f"g{i}" for i in range(n)]
        aux = [f"a{j}" for j in range(e)]
        consts = [f"c{j}" for j in range(c)]

        def slots(i: int) -> list[str]:
            return [f"s{j}_{i}" for j in range(k)]

        def call(i: int) -> str:
            # An optimizer without state returns the parameter alone, not a 1-tuple.
            lhs = ", ".join([xs[i], *slots(i)])
            return f"{lhs} = opt_update({', '.join([xs[i], gs[i], *slots(i), *consts])})"

        load_s = [f"s{j}_{i} = S[r, {j * n + i}]" for j in range(k) for i in range(n)]
        load_s += [f"{a} = S[r, {k * n + j}]" for j, a in enumerate(aux)]
        store_s = [f"S[r, {j * n + i}] = s{j}_{i}" for j in range(k) for i in range(n)]
        store_s += [f"S[r, {k * n + j}] = {a}" for j, a in enumerate(aux)]
        outs = ", ".join([*aux, *consts])
        prepare = f"opt_prepare(t + 1, {', '.join([hp, *aux])})"
        return _ScalarStep(
            xs=xs,
            gs=gs,
            load_x=[f"{x} = X[r, {i}]" for i, x in enumerate(xs)],
            store_x=[f"X[r, {i}] = {x}" for i, x in enumerate(xs)],
            load_s=load_s,
            store_s=store_s,
            finite_g=" and ".join(f"math.isfinite({g})" for g in gs),
            in_bounds=" and ".join(f"abs({x}) <= bound" for x in xs),
            prepare=f"{outs} = {prepare}" if outs else prepare,
            updates=[call(i) for i in range(n)],
        )


def fused_runner_source(n: int, kernel: KernelRef) -> str:
    """``advance_fused``: the run loop of :mod:`adambench.runner_template` for n named
    variables, with x, the gradient and the optimizer state held in local variables (registers)
    instead of arrays, calling the optimizer's elementwise ``opt_prepare`` / ``opt_update``.

    It runs the same operations in the same order as ``advance`` (the same scalar kernels), so
    it gives the same numbers bit for bit; it only avoids the memory round trips of arrays
    between the gradient and the update (2-3x faster for small problems).
    """
    p = _ScalarStep.of(n, kernel, "hp")
    xs, gs = p.xs, p.gs
    avs = [f"av{i}" for i in range(n)]
    load_x, store_x, load_s, store_s = p.load_x, p.store_x, p.load_s, p.store_s
    finite_g, in_bounds, prepare, updates = p.finite_g, p.in_bounds, p.prepare, p.updates
    noise = [f"{g} += sigma * K.normal(seed, t + 1, {i})" for i, g in enumerate(gs)]
    record_x = [f"xt[kk, {i}] = {x}" for i, x in enumerate(xs)]
    ind = _indent
    averages = [f"{a} = decay * {a} + (1.0 - decay) * {x}" for a, x in zip(avs, xs, strict=True)]
    body = [
        "@jit",
        "def advance_fused(",
        "    X, S, HP, seeds, pd, data, PS, G, t_begin, t_end, finish, total, every, LT, XT,",
        "    record_x, target, bound, stall_step, stop, decay, AVG, M, IM,",
        "):",
        '    """``advance`` with values in registers (generated for this problem\'s variables)."""',
        "    sigma = pd[0]",
        "    for r in range(X.shape[0]):",
        "        m, im, hp = M[r], IM[r], HP[r]",
        "        lt, xt, avg = LT[r], XT[r], AVG[r]",
        "        seed = seeds[r]",
        "        status = im[I_STATUS]",
        "        t = t_begin",
        "        if status == RUNNING and t < t_end:",
        "            best, best_step, hit = m[M_BEST], im[I_BEST_STEP], im[I_TARGET_STEP]",
        "            at_stall, avg_pow = m[M_STALL], m[M_AVG_POW]",
        *ind(load_x + load_s, 3),
        *ind([f"{a} = avg[{i}] if decay > 0.0 else 0.0" for i, a in enumerate(avs)], 3),
        "            next_record = -(-t // every) * every",
        "            kk = next_record // every  # the trace index of the next record",
        "            while t < t_end:",
        f"                f, {', '.join(gs)} = p_fgs({', '.join(xs)}, pd)",
        "                if sigma > 0.0:",
        *ind(noise, 5),
        "                ok = math.isfinite(f)",
        "                if t == 0:",
        f"                    ok = ok and {finite_g}",
        "                    if not ok:",
        "                        status = INVALID_START",
        "                        break",
        "                    opt_init(X[r], hp, S[r])",
        *ind(load_s, 5),
        f"                ok = ok and {in_bounds}",
        "                if not ok:",
        "                    status = DIVERGED",
        "                    im[I_DIVERGED_AT] = t",
        "                    break",
        "                if t == next_record:",
        "                    lt[kk] = f",
        "                    if record_x:",
        *ind(record_x, 6),
        "                    next_record += every",
        "                    kk += 1",
        "                if f < best:",
        "                    best = f",
        "                    best_step = t",
        "                if t == stall_step:",
        "                    at_stall = f",
        "                if f <= target and hit < 0:",
        "                    hit = t",
        "                    if stop:",
        "                        status = STOPPED_AT_TARGET",
        "                        break",
        f"                {prepare}",
        *ind(updates, 4),
        "                if decay > 0.0:",
        *ind(averages, 5),
        "                    avg_pow *= decay",
        "                t += 1",
        *ind(store_x + store_s, 3),
        "            if decay > 0.0:",
        *ind([f"avg[{i}] = {a}" for i, a in enumerate(avs)], 4),
        "            im[I_STATUS] = status",
        "            im[I_STEPS] = t",
        "            m[M_BEST], im[I_BEST_STEP], im[I_TARGET_STEP] = best, best_step, hit",
        "            m[M_STALL], m[M_AVG_POW] = at_stall, avg_pow",
        "        if finish and status != INVALID_START:",
        "            _finish(X[r], G[r], pd, data, total, every, lt, xt, record_x, target, bound,",
        "                    stall_step, decay, avg, m, im)",
    ]
    return "\n".join(body) + "\n"


def lockstep_runner_source(n: int, kernel: KernelRef) -> str:
    """``advance_lockstep``: the fused loop turned inside out for blocks of many runs (sweeps,
    seeds): every run of the block advances one step before any advances the next, so the
    out-of-order core overlaps independent runs instead of waiting on one run's chain of
    dependent sqrt and division (about 2x the runs per second of ``advance_fused`` at 1,000
    runs). Each run's values live in its rows of the arrays between steps; the operations and
    their order per run are those of ``advance_fused``, so the numbers are the same bit for bit.
    """
    p = _ScalarStep.of(n, kernel, "HP[r]")
    xs, gs = p.xs, p.gs
    load_x, store_x, load_s, store_s = p.load_x, p.store_x, p.load_s, p.store_s
    finite_g, in_bounds, prepare, updates = p.finite_g, p.in_bounds, p.prepare, p.updates
    noise = [f"{g} += sigma * K.normal(seeds[r], t + 1, {i})" for i, g in enumerate(gs)]
    record_x = [f"XT[r, kk, {i}] = {x}" for i, x in enumerate(xs)]
    ind = _indent
    averages = [
        f"AVG[r, {i}] = decay * AVG[r, {i}] + (1.0 - decay) * {x}" for i, x in enumerate(xs)
    ]
    body = [
        "@jit",
        "def advance_lockstep(",
        "    X, S, HP, seeds, pd, data, PS, G, t_begin, t_end, finish, total, every, LT, XT,",
        "    record_x, target, bound, stall_step, stop, decay, AVG, M, IM,",
        "):",
        '    """``advance_fused`` with the loops swapped: steps outside, runs inside."""',
        "    sigma = pd[0]",
        "    R = X.shape[0]",
        "    for t in range(t_begin, t_end):",
        "        record = t % every == 0",
        "        kk = t // every",
        "        running = 0",
        "        for r in range(R):",
        "            if IM[r, I_STATUS] != RUNNING:",
        "                continue",
        "            running += 1",
        *ind(load_x, 3),
        f"            f, {', '.join(gs)} = p_fgs({', '.join(xs)}, pd)",
        "            if sigma > 0.0:",
        *ind(noise, 4),
        "            ok = math.isfinite(f)",
        "            if t == 0:",
        f"                ok = ok and {finite_g}",
        "                if not ok:",
        "                    IM[r, I_STATUS] = INVALID_START",
        "                    continue",
        "                opt_init(X[r], HP[r], S[r])",
        f"            ok = ok and {in_bounds}",
        "            if not ok:",
        "                IM[r, I_STATUS] = DIVERGED",
        "                IM[r, I_DIVERGED_AT] = t",
        "                continue",
        "            if record:",
        "                LT[r, kk] = f",
        "                if record_x:",
        *ind(record_x, 5),
        "            if f < M[r, M_BEST]:",
        "                M[r, M_BEST] = f",
        "                IM[r, I_BEST_STEP] = t",
        "            if t == stall_step:",
        "                M[r, M_STALL] = f",
        "            if f <= target and IM[r, I_TARGET_STEP] < 0:",
        "                IM[r, I_TARGET_STEP] = t",
        "                if stop:",
        "                    IM[r, I_STATUS] = STOPPED_AT_TARGET",
        "                    continue",
        *ind(load_s, 3),
        f"            {prepare}",
        *ind(updates, 3),
        *ind(store_x + store_s, 3),
        "            if decay > 0.0:",
        *ind(averages, 4),
        "                M[r, M_AVG_POW] *= decay",
        "            IM[r, I_STEPS] = t + 1",
        "        if running == 0:",
        "            break",
        "    if finish:",
        "        for r in range(R):",
        "            if IM[r, I_STATUS] != INVALID_START:",
        "                _finish(X[r], G[r], pd, data, total, every, LT[r], XT[r], record_x,",
        "                        target, bound, stall_step, decay, AVG[r], M[r], IM[r])",
    ]
    return "\n".join(body) + "\n"


def wide_runner_source(loop: str) -> str:
    """``advance_wide``: ``advance`` calling the optimizer's parallel twin (``opt_step_par``):
    for a problem with millions of parameters the update, memory bound, runs on all threads.
    Made from the text of ``advance`` itself, so the two loops cannot drift apart."""
    start = loop.index("@jit\ndef advance(")
    end = loop.index("\n@jit\n", start + 1)
    text = loop[start:end].replace("def advance(", "def advance_wide(", 1)
    call = "opt_step(x, g, s, t + 1, hp)"
    assert text.count(call) == 1, "runner_template.advance changed: update wide_runner_source"
    return text.replace(call, "opt_step_par(x, g, s, t + 1, hp)")


_LOADED: dict[str, ModuleType] = {}


def load_module(problem: Problem, kernel: KernelRef) -> tuple[ModuleType, bool]:
    """Import the generated module for (problem, optimizer kernels), creating it if needed.

    Returns the module and whether its compiled code is believed to be cached already.
    """
    wide = problem.kind == "vector" and kernel.step_par is not None
    text = module_source(problem_source(problem), kernel, fused_dim(problem, kernel), wide)
    key = module_key(text, kernel)[:32]
    if key in _LOADED:
        return _LOADED[key], True
    folder = cache_dir() / "modules"
    path = folder / f"ab_{key}.py"
    if _read_verified(path) != text:
        _write_verified(path, text)
    name = f"_adambench_gen_{key}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # numba's cache locates a function through sys.modules: register before executing.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    _LOADED[key] = module
    warm = (folder / f"ab_{key}.ok").exists()
    return module, warm


#: What numba raises when it reads a truncated or garbled cache entry.
CACHE_ERRORS = (
    EOFError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    OSError,
    ImportError,
)


def forget_compiled(module: ModuleType) -> None:
    """Forget the on-disk machine code of a generated module and of the shared kernels.

    numba has no checksum on its cache entries: a truncated index or data file makes loading
    raise (pickle errors). Flushing the indexes makes the next call compile afresh and rewrite
    them; correct entries are only recompiled, never wrong.
    """
    from adambench import kernels

    for mod in (module, kernels):
        for obj in list(vars(mod).values()):
            cache = getattr(obj, "_cache", None)
            if cache is not None and hasattr(cache, "flush"):
                with contextlib.suppress(OSError):
                    cache.flush()
    path = Path(module.__file__ or "").with_suffix(".ok")
    path.unlink(missing_ok=True)


def mark_compiled(module: ModuleType) -> None:
    """Record that the module's runner has been compiled (and cached) once."""
    path = Path(module.__file__ or "")
    with contextlib.suppress(OSError):
        path.with_suffix(".ok").touch()


# ---------------------------------------------------------------------------------------------
# Verified files: the first line carries the sha256 of the rest, so a truncated or edited file is
# detected and regenerated instead of being used.


def _read_verified(path: Path) -> str | None:
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    head, sep, body = raw.partition("\n")
    if not sep or not head.startswith(_HEADER_TAG):
        return None
    if head[len(_HEADER_TAG) :] != hashlib.sha256(body.encode("utf-8")).hexdigest():
        return None
    return body


def _write_verified(path: Path, text: str) -> None:
    """Create ``path`` atomically; a missing file is created only if still absent (a concurrent
    creator wins cleanly), a corrupt one is replaced."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    path.parent.mkdir(parents=True, exist_ok=True)
    replace = path.exists()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".py")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"{_HEADER_TAG}{digest}\n{text}")
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            except OSError:  # file systems without hard links
                os.replace(tmp, path)
                return
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
