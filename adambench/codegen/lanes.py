"""The lockstep runner, vectorised across runs: ``advance_lockstep`` and its ``lockstep_step``.

A sweep runs many configurations of one optimizer on one small problem. In lockstep every run of
a block takes step t before any takes step t + 1, so the runs are independent within a step and
the step can be computed for :data:`LANES` runs at once in packed instructions (``vsqrtpd``,
``vdivpd``), as JAX's ``vmap`` does.

The layout (an array of structures of arrays)
---------------------------------------------
For the length of a chunk of steps, the block's values live in one flat float64 array ``W``: the
runs in groups of :data:`LANES`, group b at ``W[b * size : (b + 1) * size]``, each of its rows
(x, the optimizer state, the average, the hyperparameters, the clipping thresholds, the noise,
the metrics, see :func:`_row_names`) :data:`LANES` values long, lane l of row k at
``W[o + k * LANES + l]``. Every access of the step is at a constant row offset from the group's
base, so LLVM sees that no two rows overlap without a runtime check per pair (the cost that made
a first version with one array per row take 17-34 s to compile), vectorises the lane loop, and
the out-of-order core overlaps the chains of successive groups. A float32 run's values are
float32 numbers held exactly in float64 slots; the step computes in float32 as the other loops do.

The step without a branch per run
---------------------------------
``lockstep_step`` computes :data:`~adambench.codegen.loops.STEP`'s operations for every lane,
running or not, and keeps a result only where the rule holds, through
:func:`adambench.kernels.choose` (an LLVM ``select``): a stopped run's values pass through
unchanged. The same floating-point operations in the same order as the run loop's, so the same
numbers bit for bit (the layout tests hold every loop to that). What cannot be computed lane by
lane runs per step before it, one run at a time: a scheduled run's lr and the gradient noise
(``K.normal``: log and cos); the trace is written after it. Step 0's start check and
``opt_init`` run on the block's rows before the layout is built.
"""

from __future__ import annotations

import textwrap

from adambench import kernels as K
from adambench.codegen.loops import RUNNER_ARGS, ScalarLocals, scheduled_lr_lines
from adambench.optimizers.spec import KernelRef
from adambench.schedules import NORM_EPS

__all__ = ["LANES", "lockstep_runner_source"]

#: Runs per group: one AVX2 register of float64. Wider groups measured no faster.
LANES = 4

#: The metrics a group keeps per run: (row, metric array, its column).
_METRICS = (
    ("best", "M", "M_BEST"),
    ("stall", "M", "M_STALL"),
    ("avg_pow", "M", "M_AVG_POW"),
    ("status", "IM", "I_STATUS"),
    ("steps", "IM", "I_STEPS"),
    ("diverged_at", "IM", "I_DIVERGED_AT"),
    ("best_step", "IM", "I_BEST_STEP"),
    ("hit", "IM", "I_TARGET_STEP"),
)
_CLIP = ("clip_value", "clip_norm", "clip_margin", "clip_on")  # chunk_controls' CLIP columns
_RUNNING, _DIVERGED, _STOPPED = (float(c) for c in (K.RUNNING, K.DIVERGED, K.STOPPED_AT_TARGET))
_PADDING = -1.0  # the status of a lane past the block's last run: never running


def lockstep_runner_source(n: int, kernel: KernelRef, dtype: str = "float64") -> str:
    """``advance_lockstep`` (the runner, :data:`RUNNER_ARGS`) and ``lockstep_step`` (step t of
    every group) for n named variables stepped by ``kernel``'s ``opt_prepare``/``opt_update``."""
    v = ScalarLocals(n, kernel, dtype)
    rows = {name: k for k, name in enumerate(_row_names(v))}
    return _step_source(v, rows) + "\n\n" + _runner_source(v, rows)


def _row_names(v: ScalarLocals) -> list[str]:
    """The rows of a group, in order."""
    state = [name for name, _ in v.state_columns()]
    hps = [f"hp{j}" for j in range(v.kernel.hyperparameters)]
    per_variable = [f"{kind}{i}" for kind in ("g", "av", "nz", "xr") for i in range(v.n)]
    return [*v.xs, *state, *per_variable, *hps, *_CLIP, *(m for m, _, _ in _METRICS), "frec"]


def _at(rows: dict[str, int], name: str, lane: str = "l") -> str:
    """Where row ``name`` of lane ``lane`` is in ``W``, from the group's base ``o`` (which
    includes the lane when ``lane`` is empty)."""
    return f"W[o + {rows[name] * LANES}{' + ' + lane if lane else ''}]"


def _step_source(v: ScalarLocals, rows: dict[str, int]) -> str:
    """``lockstep_step``: step t of every run of the block; returns how many still run.

    Each group passes through up to three lane loops: the evaluation and the bookkeeping, the
    clipping (only when a run of the block clips: inside one loop, LLVM computed it for every
    lane and step, 15 % of a plain step), then the optimizer step. The gradient passes from one
    to the next in the group's ``g`` rows, and whether a run still runs in its status row."""
    at = lambda name: _at(rows, name)  # noqa: E731
    gs = [at(f"g{i}") for i in range(v.n)]
    clip = [f"{g} = {v.cast(w)}" for g, w in zip(v.gs, gs, strict=True)]
    clip += _clip(v, at) + [f"{w} = {g}" for g, w in zip(v.gs, gs, strict=True)]
    args = "W, groups, t, pd, stall, noisy, clipping, bound, target, stop, decay"
    return "\n".join(
        [
            "@jit",
            f"def lockstep_step({args}):",
            '    """Step t of every run of the block (groups of lanes); the runs still running."""',
            "    running = 0",
            "    tf = float(t)",
            "    for b in range(groups):",
            f"        o = b * {len(rows) * LANES}",
            f"        for l in range({LANES}):",
            *[f"            {line}" for line in _check_lines(v, at)],
            "        if clipping:",
            f"            for l in range({LANES}):",
            *[f"                {line}" for line in clip],
            f"        for l in range({LANES}):",
            *[f"            {line}" for line in _update_lines(v, at)],
            "            running += live",
            "    return running",
        ]
    )


def _check_lines(v: ScalarLocals, at) -> list[str]:
    """A lane's loss and gradient at x, its checks, records and metrics (:data:`STEP` up to
    the clipping); the gradient left in the ``g`` rows."""
    finite = " & ".join(["math.isfinite(f)", *(f"(abs({x}) <= bound)" for x in v.xs)])
    return [
        f"status = {at('status')}",
        f"live = status == {_RUNNING!r}",
        *[f"{x} = {v.cast(at(x))}" for x in v.xs],
        *_evaluate(v, at),
        f"ok = {finite}",
        "gone = live & (not ok)",
        f"status = choose(gone, {_DIVERGED!r}, status)",
        f"{at('diverged_at')} = choose(gone, tf, {at('diverged_at')})",
        "live = live & ok",
        f"{at('frec')} = choose(live, f, math.nan)",  # NaN: nothing to record at this step
        *[f"{at(f'xr{i}')} = {x}" for i, x in enumerate(v.xs)],
        f"best = {at('best')}",
        "better = live & (f < best)",
        f"{at('best')} = choose(better, f, best)",
        f"{at('best_step')} = choose(better, tf, {at('best_step')})",
        f"{at('stall')} = choose(live & stall, f, {at('stall')})",
        f"hit = {at('hit')}",
        "first = live & (f <= target) & (hit < 0.0)",
        f"{at('hit')} = choose(first, tf, hit)",
        "halt = first & stop",
        f"{at('status')} = choose(halt, {_STOPPED!r}, status)",
        *[f"{at(f'g{i}')} = {g}" for i, g in enumerate(v.gs)],
    ]


def _update_lines(v: ScalarLocals, at) -> list[str]:
    """A running lane's optimizer step, temporal average and step count (kept where the lane
    runs, the old values passed through elsewhere)."""
    state = [name for name, _ in v.state_columns()]
    hps = [at(f"hp{j}") for j in range(v.kernel.hyperparameters)]
    return [
        f"live = {at('status')} == {_RUNNING!r}",
        *[f"{x} = {v.cast(at(x))}" for x in v.xs],
        *[f"{g} = {v.cast(at(f'g{i}'))}" for i, g in enumerate(v.gs)],
        *[f"{s} = {v.cast(at(s))}" for s in state],
        *[f"old_{name} = {name}" for name in [*v.xs, *state]],
        f"hp = ({', '.join(hps)},)" if hps else "hp = ()",
        *v.step("hp"),
        *[f"{at(name)} = choose(live, {name}, old_{name})" for name in [*v.xs, *state]],
        "keep = live & (decay > 0.0)",
        *[_average(v, at(f"av{i}"), x) for i, x in enumerate(v.xs)],
        f"{at('avg_pow')} = choose(keep, {at('avg_pow')} * decay, {at('avg_pow')})",
        f"{at('steps')} = choose(live, tf + 1.0, {at('steps')})",
    ]


def _evaluate(v: ScalarLocals, at) -> list[str]:
    """The loss and gradient at x, rounded as :meth:`ScalarLocals.evaluate` rounds them; the noise
    drawn before the step (row ``nz``) added when ``noisy``."""
    xs = ", ".join(v.xs)
    if not v.rounds:
        lines = [f"f, {', '.join(v.gs)} = p_fgs({xs}, pd)"]
    else:
        hs = [f"h{i}" for i in range(v.n)]
        lines = [f"f, {', '.join(hs)} = p_fgs({xs}, pd)"]
        lines += [f"{g} = {v.cast(h)}" for g, h in zip(v.gs, hs, strict=True)]
    noise = [at(f"nz{i}") for i in range(v.n)]
    pairs = zip(v.gs, noise, strict=True)
    return lines + [f"{g} = choose(noisy, {v.cast(f'{g} + {z}')}, {g})" for g, z in pairs]


def _clip(v: ScalarLocals, at) -> list[str]:
    """:meth:`ScalarLocals.clip` as selects: the same operations, computed for every lane."""
    gs = v.gs
    return [
        f"cv, cn, cm = {at('clip_value')}, {at('clip_norm')}, {at('clip_margin')}",
        f"on = {at('clip_on')} > 0.0",
        "by_value = on & (cv > 0.0)",
        *[f"{g} = choose(by_value, {v.cast(f'min(max({g}, -cv), cv)')}, {g})" for g in gs],
        f"ss = 0.0 + {' + '.join(f'{g} * {g}' for g in gs)}",
        f"coef = cn / (math.sqrt(ss) + {NORM_EPS!r})",
        "by_norm = on & (cn > 0.0) & (ss > cm) & (coef < 1.0)",
        *[f"{g} = choose(by_norm, {v.cast(f'{g} * coef')}, {g})" for g in gs],
    ]


def _average(v: ScalarLocals, slot: str, x: str) -> str:
    av = v.cast(slot)
    return f"{slot} = choose(keep, {v.cast(f'decay * {av} + (1.0 - decay) * {x}')}, {av})"


def _runner_source(v: ScalarLocals, rows: dict[str, int]) -> str:
    """``advance_lockstep``: step 0's start check, the block into ``W``, the steps, ``W`` back
    into the block's rows, then (with ``finish``) each run closed."""
    body = [
        "sigma = pd[0]",
        "HPS, FT, FI, CLIP, LI = chunk_controls(HP, t_begin, t_end, total)",
        "R = X.shape[0]",
        *_start(v),
        f"groups = (R + {LANES - 1}) // {LANES}",
        f"W = np.zeros(groups * {len(rows) * LANES})",
        *_pack(v, rows),
        "clipping = np.any(CLIP[:, 3] > 0.0)",
        "scheduled = np.any(FI != -1)",
        "noisy = sigma > 0.0",
        "for t in range(t_begin, t_end):",
        *[f"    {line}" for line in _per_step(v, rows)],
        *_unpack(v, rows),
        "if finish:",
        "    for r in range(R):",
        "        if IM[r, I_STATUS] != INVALID_START:",
        "            finish_run(X[r], G[r], pd, data, total, every, LT[r], XT[r], record_x,",
        "                       target, bound, stall_step, decay, AVG[r], M[r], IM[r])",
    ]
    signature = textwrap.wrap(", ".join(RUNNER_ARGS) + ",", 92)
    doc = "Every run of the block one step, then the next: the step vectorised across runs."
    head = ["@jit", "def advance_lockstep(", *[f"    {line}" for line in signature], "):"]
    return "\n".join([*head, f'    """{doc}"""', *[f"    {line}" for line in body]]) + "\n"


def _base(r: str = "r") -> str:
    """The base ``o`` of run r's lane: its group's start plus its lane."""
    return f"o = ({r} // {LANES}) * size + {r} % {LANES}"


def _start(v: ScalarLocals) -> list[str]:
    """Step 0's start check and ``opt_init``, on each running run's rows (as :data:`STEP`)."""
    (finite,) = v.checks()["finite_gradient"]
    return [
        "if t_begin == 0 and t_end > 0:",
        "    t = 0",
        "    for r in range(R):",
        "        if IM[r, I_STATUS] == RUNNING:",
        *[f"            {line}" for line in [*v.load_x(), *v.evaluate("seeds[r]")]],
        "            ok = math.isfinite(f)",
        f"            {finite}",
        "            if not ok:",
        "                IM[r, I_STATUS] = INVALID_START",
        "            else:",
        "                opt_init(X[r], HP[r], S[r])",
    ]


def _blocks(v: ScalarLocals, rows: dict[str, int]) -> list[tuple[int, str, int]]:
    """The runs' arrays whose columns are consecutive rows of a group: (first row, array,
    columns), copied by a loop per array rather than a statement per column."""
    state = v.state_columns()
    out = [(rows["x0"], "X", v.n)]
    out += [(rows[state[0][0]], "S", len(state))] if state else []
    hps = v.kernel.hyperparameters
    return out + ([(rows["hp0"], "HPS", hps)] if hps else []) + [(rows[_CLIP[0]], "CLIP", 4)]


def _copies(v: ScalarLocals, rows: dict[str, int], back: bool) -> list[str]:
    """The lines, in a loop over the runs r with ``o`` their base, that copy run r's values
    into its lane of ``W`` (or, with ``back``, out of it: x, the state and the metrics)."""
    lines = []
    for first, array, count in _blocks(v, rows):
        if back and array in ("HPS", "CLIP"):  # read only
            continue
        slot, entry = f"W[o + ({first} + c) * {LANES}]", f"{array}[r, c]"
        copy = f"{entry} = {slot}" if back else f"{slot} = {entry}"
        lines += [f"for c in range({count}):", f"    {copy}"]
    for row, array, col in _METRICS:
        slot, entry = _at(rows, row, ""), f"{array}[r, {col}]"
        value = (f"int({slot})" if array == "IM" else slot) if back else entry
        lines.append(f"{entry} = {value}" if back else f"{slot} = {value}")
    av = f"W[o + ({rows['av0']} + c) * {LANES}]"
    copy = f"AVG[r, c] = {av}" if back else f"{av} = AVG[r, c]"
    return [*lines, "if decay > 0.0:", f"    for c in range({v.n}):", f"        {copy}"]


def _pack(v: ScalarLocals, rows: dict[str, int]) -> list[str]:
    return [
        f"size = {len(rows) * LANES}",
        "for r in range(R):",
        f"    {_base()}",
        *[f"    {line}" for line in _copies(v, rows, back=False)],
        f"for r in range(R, groups * {LANES}):",
        f"    {_base()}",
        f"    {_at(rows, 'status', '')} = {_PADDING!r}",
    ]


def _unpack(v: ScalarLocals, rows: dict[str, int]) -> list[str]:
    return [
        "for r in range(R):",
        f"    {_base()}",
        *[f"    {line}" for line in _copies(v, rows, back=True)],
    ]


def _per_step(v: ScalarLocals, rows: dict[str, int]) -> list[str]:
    """Step t of the block: per run what cannot be vectorised (a scheduled lr, the gradient
    noise of a running run), ``lockstep_step``, then the trace entries of the running runs."""
    lr = f"W[o + ({rows['hp0']} + LI) * {LANES}]" if v.kernel.hyperparameters else None
    schedule = [
        "for r in range(R if scheduled else 0):",
        f"    {_base()}",
        *["    " + line for line in scheduled_lr_lines("FI[r]", lr)],
    ] if lr else []  # fmt: skip
    draws = [
        f"        {_at(rows, f'nz{i}', '')} = sigma * K.normal(seeds[r], t + 1, {i})"
        for i in range(v.n)
    ]
    return [
        *schedule,
        "for r in range(R if noisy else 0):",
        f"    {_base()}",
        f"    if {_at(rows, 'status', '')} == {_RUNNING!r}:",
        *draws,
        "running = lockstep_step(",
        "    W, groups, t, pd, t == stall_step, noisy, clipping, bound, target, stop, decay",
        ")",
        "if t % every == 0:",
        "    kk = t // every",
        "    for r in range(R):",
        f"        {_base()}",
        f"        f = {_at(rows, 'frec', '')}",
        "        if f == f:  # not NaN: the run was running and in bounds at this step",
        "            LT[r, kk] = f",
        "            if record_x:",
        *[f"                XT[r, kk, {i}] = {_at(rows, f'xr{i}', '')}" for i in range(v.n)],
        "if running == 0:",
        "    break",
    ]
