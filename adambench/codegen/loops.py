"""The run loops of a generated module, made from the one template in :mod:`.runner_template`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adambench.problems import Problem
from adambench.optimizers.spec import KernelRef

__all__ = [
    "FUSED_MAX_DIM",
    "fused_dim",
    "fused_runner_source",
    "lockstep_runner_source",
    "wide_runner_source",
]

#: Problems with at most this many named variables get the fused runner (values in registers).
FUSED_MAX_DIM = 16


def fused_dim(problem: Problem, kernel: KernelRef) -> int:
    """The dimension for which the module gets a fused runner, or 0 when it gets none."""
    ok = problem.kind == "expression" and problem.dim <= FUSED_MAX_DIM and kernel.elementwise
    return problem.dim if ok else 0


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
    """``advance_fused``: the run loop of :mod:`adambench.codegen.runner_template` for n named
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
