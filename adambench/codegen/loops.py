"""The run loop, written once: every runner of a generated module is made from it.

A runner moves a block of runs from step ``t_begin`` to ``t_end`` (the engine calls it in chunks,
to show progress and honour Ctrl-C, and from several threads on disjoint blocks); with
``finish`` it also closes each run (``finish_run`` of :mod:`.runner_template`). A run's state
lives entirely in its rows of the arrays between calls, so chunking and threading never change
a result. Every runner takes the arguments :data:`RUNNER_ARGS`, in that order.

At step t a run evaluates the loss and gradient at x_t, checks and records x_t, then steps to
x_{t+1}: loss index t is the loss of the iterate after t steps, index 0 the start.

How the source is made
----------------------
The loop is text in a tiny template language, rendered by :func:`render`:

- ``{name}`` in a line is replaced by a name's spelling (an expression or statement), e.g.
  ``{best}`` is ``best`` (a local) in one runner and ``M[r, M_BEST]`` (the array) in another;
- a line holding only ``<hook>`` is replaced by the hook's lines (none, one or many), indented
  as the ``<hook>`` line is.

:data:`STEP` is the one per-step body (evaluate, invalid start and ``opt_init``, bounds,
record, best loss, stall checkpoint, target, optimizer step, temporal average): a new per-step
feature is one edit there, and one in the lockstep runner's branch-free twin of it
(:mod:`adambench.codegen.lanes`, which advances runs in lockstep, vectorised across runs). The
frame :data:`RUN_MAJOR` puts the step in a loop (each run all its steps: ``advance``,
``advance_fused``, ``advance_wide`` and the Python loop of torch runners). A :class:`Layout`
fills the holes, so the variation points are parameters of the generator:

- how x, the gradient and the optimizer state are held: rows of the arrays (``advance``, with
  ``opt_step`` on them), numbered local variables (``advance_fused`` for problems with few
  named variables, with the elementwise ``opt_prepare``/``opt_update``), or numpy rows stepped
  by torch;
- which step kernel is called (``opt_step``, its parallel twin ``opt_step_par``, a torch step).

Every variant runs the same floating-point operations in the same order, so all give the same
numbers bit for bit (the layout tests compare them, the lockstep runner's too); they differ only
in speed.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adambench.problems import Problem
from adambench.optimizers.spec import KernelRef
from adambench.schedules import NORM_EPS

__all__ = [
    "FUSED_MAX_DIM",
    "RUNNER_ARGS",
    "RUN_MAJOR",
    "STEP",
    "Layout",
    "ScalarLocals",
    "array_runner_source",
    "fused_dim",
    "fused_runner_source",
    "one_pass_source",
    "python_runner_source",
    "render",
    "scheduled_lr_lines",
    "wide_runner_source",
]

#: Problems with at most this many named variables get the fused runner (values in registers).
FUSED_MAX_DIM = 16

#: The arguments of every runner, in order: the run arrays (rows = runs), the problem's
#: parameters and data, the step range, the recording and stopping settings, the metrics.
RUNNER_ARGS = (
    "X", "S", "HP", "seeds", "pd", "data", "PS", "G", "t_begin", "t_end", "finish", "total",
    "every", "LT", "XT", "record_x", "target", "bound", "stall_step", "stop", "decay", "AVG",
    "M", "IM",
)  # fmt: skip

#: This step's lr of a scheduled run: from its schedule's table (``{sched}`` >= 0), or computed
#: at each step (-2: more distinct schedules than tables), written to ``{lr_now}``.
SCHEDULED_LR = """\
if {sched} >= 0:
    {lr_now} = HP[r, LI] * FT[{sched}, 0, t - t_begin] + FT[{sched}, 1, t - t_begin]
elif {sched} == -2:
    {lr_now} = scheduled_lr(HP[r], t, total)
"""

#: One step of one run at step t (see the module docstring for the template language).
STEP = (
    """\
<evaluate>
ok = math.isfinite(f)
if t == 0:
    <finite_gradient>
    if not ok:
        {status} = INVALID_START
        {leave}
    <init>
<in_bounds>
if not ok:
    {status} = DIVERGED
    {diverged_at} = t
    {leave}
if {record_due}:
    {loss_record} = f
    if record_x:
        <record_x>
    <record_next>
if f < {best}:
    {best} = f
    {best_step} = t
if t == stall_step:
    {at_stall} = f
if f <= target and {hit} < 0:
    {hit} = t
    if stop:
        {status} = STOPPED_AT_TARGET
        {leave}
if {clipping}:
    <clip>
"""
    + SCHEDULED_LR
    + """\
<step>
if decay > 0.0:
    <average>
    {avg_pow} *= decay
"""
)

#: Each run of the block takes all its steps, then the next run. Row views and the run's
#: metrics are hoisted out of the step loop (kept in locals, written back on leaving):
#: creating views and reloading metrics through memory per step doubled the cost of a step.
RUN_MAJOR = """\
<decorator>
def {name}(
    <signature>
):
    \"\"\"{doc}\"\"\"
    <prologue>
    for r in range(X.shape[0]):
        m, im, hp = M[r], IM[r], {hp_rows}[r]
        lt, xt, avg = LT[r], XT[r], AVG[r]
        seed = seeds[r]
        <run_views>
        status = im[I_STATUS]
        t = t_begin
        if status == RUNNING and t < t_end:
            best, best_step, hit = m[M_BEST], im[I_BEST_STEP], im[I_TARGET_STEP]
            at_stall, avg_pow = m[M_STALL], m[M_AVG_POW]
            <load>
            <load_controls>
            next_record = -(-t // every) * every  # the first multiple of every >= t
            kk = next_record // every  # its index in the trace
            while t < t_end:
                <per_step>
                t += 1
            <store>
            im[I_STATUS] = status
            im[I_STEPS] = t
            m[M_BEST], im[I_BEST_STEP], im[I_TARGET_STEP] = best, best_step, hit
            m[M_STALL], m[M_AVG_POW] = at_stall, avg_pow
        <run_exit>
        if finish and status != INVALID_START:
            finish_run(X[r], G[r], pd, data, total, every, lt, xt, record_x, target, bound,
                       stall_step, decay, avg, m, im)
"""

#: Where a run-major loop keeps a run's metrics: in locals, written back when the run leaves.
_IN_LOCALS = {
    "status": "status",
    "leave": "break",
    "diverged_at": "im[I_DIVERGED_AT]",
    "record_due": "t == next_record",
    "loss_record": "lt[kk]",
    "best": "best",
    "best_step": "best_step",
    "hit": "hit",
    "at_stall": "at_stall",
    "avg_pow": "avg_pow",
    "seed": "seed",
    "hp_rows": "HPS",
    "clipping": "clip_on",
    "sched": "fi",
    "lr_now": "hp[LI]",
}

#: The training controls of a compiled runner (see :mod:`adambench.schedules`): per chunk,
#: the schedule tables and clip thresholds; per run, its schedule and whether it clips.
_CHUNK_CONTROLS = "HPS, FT, FI, CLIP, LI = chunk_controls(HP, t_begin, t_end, total)"
_RUN_CONTROLS = "fi, clip_on = FI[r], CLIP[r, 3] > 0.0"

_HOLE = re.compile(r"\{(\w+)\}")


def render(template: str, hooks: Mapping[str, Sequence[str]], names: Mapping[str, str]) -> str:
    """The template with each ``<hook>`` line replaced by the hook's lines (at its indentation)
    and each ``{name}`` by its spelling. A hook or name the template uses must be given."""
    out: list[str] = []
    for line in template.splitlines():
        stripped = line.strip()
        if stripped.startswith("<") and stripped.endswith(">"):
            indent = line[: len(line) - len(line.lstrip())]
            out += [indent + hook_line for hook_line in hooks[stripped[1:-1]]]
        else:
            out.append(_HOLE.sub(lambda m: names[m.group(1)], line))
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class Layout:
    """What fills the holes of :data:`STEP` and of a frame for one runner: ``hooks`` (lines)
    and ``names`` (spellings, see ``_IN_LOCALS``); hooks it lacks are empty."""

    hooks: Mapping[str, Sequence[str]]
    names: Mapping[str, str]

    def source(
        self, frame: str, name: str, doc: str, decorator: str = "@jit",
        per_step: Sequence[str] | None = None,
    ) -> str:  # fmt: skip
        """The runner ``name``: the frame with :data:`STEP` as its per-step body (or the lines
        ``per_step``, made with :meth:`step_lines`)."""
        holes = self._holes(frame)
        holes["decorator"] = [decorator] if decorator else []
        holes["signature"] = textwrap.wrap(", ".join(RUNNER_ARGS) + ",", 92)
        names = {**self.names, "name": name, "doc": doc}
        holes["per_step"] = list(per_step) if per_step is not None else self.step_lines()
        return render(frame, holes, names)

    def step_lines(self) -> list[str]:
        """:data:`STEP` with this layout's hooks and names."""
        return render(STEP, self._holes(STEP), self.names).splitlines()

    def _holes(self, frame: str) -> dict[str, list[str]]:
        holes: dict[str, list[str]] = {hook: [] for hook in _hooks_of(frame) | _hooks_of(STEP)}
        return holes | {hook: list(lines) for hook, lines in self.hooks.items()}


def scheduled_lr_lines(sched: str, lr_now: str) -> list[str]:
    """:data:`SCHEDULED_LR` for the schedule index ``sched`` and the lr's place ``lr_now``."""
    return render(SCHEDULED_LR, {}, {"sched": sched, "lr_now": lr_now}).splitlines()


def _hooks_of(template: str) -> set[str]:
    return set(re.findall(r"^\s*<(\w+)>$", template, re.MULTILINE))


def _for_each(line: str) -> list[str]:
    """A statement over every coordinate i of an array run."""
    return ["for i in range(n):", "    " + line]


def _array_layout(step_call: str) -> Layout:
    """x, the gradient and the state as the run's rows of the arrays (any problem)."""
    hooks = {
        "prologue": ["n = X.shape[1]", _CHUNK_CONTROLS],
        "run_views": ["x, g, s, ps = X[r], G[r], S[r], PS[r]"],
        "load_controls": [_RUN_CONTROLS],
        "clip": ["clip_gradient(g, CLIP[r])"],
        "evaluate": ["f = p_train(x, g, pd, data, ps, t + 1, seed)"],
        "finite_gradient": _for_each("ok = ok and math.isfinite(g[i])"),
        "init": ["opt_init(x, hp, s)"],
        "in_bounds": _for_each("ok = ok and abs(x[i]) <= bound  # NaN fails the comparison too"),
        "record_x": _for_each("xt[kk, i] = x[i]"),
        "record_next": ["next_record += every", "kk += 1"],
        "step": [step_call],
        "average": _for_each("avg[i] = decay * avg[i] + (1.0 - decay) * x[i]"),
    }
    return Layout(hooks, _IN_LOCALS)


def array_runner_source() -> str:
    """``advance``: the run loop on the rows of the arrays, for every problem and optimizer."""
    doc = "Advance every run of the block from t_begin to t_end; with finish, close them."
    return _array_layout("opt_step(x, g, s, t + 1, hp)").source(RUN_MAJOR, "advance", doc)


def wide_runner_source(fused: KernelRef | None = None) -> str:
    """``advance_wide``: ``advance`` with every pass over the coordinates on all threads: the
    loss and gradient (``p_train_par``, a vector problem's gathered gradient), the checks, the
    clipping, the optimizer's parallel twin (``opt_step_par``), the recording and the average.
    Each twin gives its serial loop's numbers bit for bit (sums in fixed blocks, checks as
    counts), so ``advance_wide`` gives ``advance``'s on any number of threads.

    With ``fused`` (an elementwise optimizer on a stencil problem, whose module has
    ``p_fused_par``), a step after the first of a run that does not clip is one pass over
    memory instead of four: the gradient, the bounds check and the optimizer's update per
    coordinate, x_{t+1} written into a second buffer that becomes x once the step is taken
    (:func:`_fused_step_hooks`)."""
    base = _array_layout("opt_step_par(x, g, s, t + 1, hp)")
    hooks = {
        **base.hooks,
        "evaluate": ["f = p_train_par(x, g, pd, data, ps, t + 1, seed)"],
        "finite_gradient": ["ok = ok and all_finite_par(g)"],
        "in_bounds": ["ok = ok and all_within_par(x, bound)"],
        "clip": ["clip_gradient_par(g, CLIP[r])"],
        "record_x": ["copy_par(xt[kk], x)"],
        "average": ["average_par(avg, x, decay)"],
    }
    doc = "``advance`` on all threads."
    if fused is None:
        return Layout(hooks, base.names).source(RUN_MAJOR, "advance_wide", doc)
    hooks |= {
        "prologue": [
            *hooks["prologue"],
            "fusing = pd[0] == 0.0 and not np.all(CLIP[:, 3] > 0.0)  # no noise, not all clip",
            "Y = np.empty((X.shape[0] if fusing else 0, n), X.dtype)  # the second buffers",
        ],
        "load_controls": [
            *hooks["load_controls"],
            "fuse_on = fusing and not clip_on",
            "y, swapped = (Y[r] if fuse_on else x), False",
        ],
        "store": ["if swapped:  # x_t is in the second buffer", "    copy_par(X[r], x)"],
    }
    plain = Layout(hooks, base.names)
    one_pass = Layout(hooks | _fused_step_hooks(fused), base.names)
    per_step = [
        "if t > 0 and fuse_on:",
        *["    " + line for line in one_pass.step_lines()],
        "else:",
        *["    " + line for line in plain.step_lines()],
    ]
    doc = "``advance`` on all threads, a step in one pass where it can."
    return plain.source(RUN_MAJOR, "advance_wide", doc, per_step=per_step)


def _fused_step_hooks(kernel: KernelRef) -> dict[str, list[str]]:
    """:data:`STEP`'s hooks for a step in one pass (``p_fused_par``, which calls ``opt_update_at``):
    this step's lr and ``opt_prepare`` first (the run-level scalars it returns are kept only
    if the step is taken), then the pass. The loss and bounds checks, records and metrics
    follow as in every loop, on x_t, which the pass leaves whole; taking the step swaps the
    buffers. A run that stops here (diverged, at its target) keeps x_t; the state slots the
    pass updated are never read again."""
    k = kernel.slots
    aux = [f"a{j}" for j in range(kernel.extra)]
    consts = [f"c{j}" for j in range(kernel.consts)]
    prepare = (
        f"opt_prepare(t + 1, {', '.join(['hp', *(f's[{k} * n + {j}]' for j in range(len(aux)))])})"
    )
    prepared = [f"{', '.join([*aux, *consts])} = {prepare}"] if aux or consts else [prepare]
    lr = scheduled_lr_lines("fi", "hp[LI]")
    cs = f"({', '.join(consts)},)" if consts else "()"
    pass_ = f"f, outside = p_fused_par(x, y, s, pd, data, bound, {cs})"
    return {
        "evaluate": [*lr, *prepared, pass_],
        "in_bounds": ["ok = ok and outside == 0"],
        "clip": ["pass  # a run that clips takes the passes of the other branch"],
        "step": [
            "x, y = y, x",
            "swapped = not swapped",
            *(f"s[{k} * n + {j}] = {a}" for j, a in enumerate(aux)),
        ],
    }


def one_pass_source(kernel: KernelRef, one_pass: str) -> str:
    """A stencil problem's one-pass step (``p_fused_par``, see
    :func:`adambench.codegen.problem_source.split_fused_pass`) with ``kernel``'s update put in:
    ``opt_update_at(p, g, state, j, n, consts)`` for the coordinates that check their range
    (state slot i of coordinate j at ``state[i * n + j]``), and in the interior, on views of
    the slots (``sv{i}``), the update written out, which LLVM vectorises with the gradient."""
    from adambench.codegen.problem_source import INTERIOR_UPDATE, SLOT_VIEWS

    k = kernel.slots
    slots = [f"state[{f'{i} * n + ' if i else ''}j]" for i in range(k)]
    call = f"opt_update(p, g, {', '.join([*slots, '*consts'])})"
    body = [f"p, {', '.join(slots)} = {call}", "return p"] if slots else [f"return {call}"]
    views = [f"sv{i} = state[{i} * n + a : {i} * n + a + m4]" for i in range(k)]
    svs = [f"sv{i}[u]" for i in range(k)]
    update = (
        f"{', '.join(['yv[u]', *svs])} = opt_update({', '.join(['xv[u]', 'gr', *svs, '*consts'])})"
    )
    lines = []
    for line in one_pass.splitlines():
        indent = line[: len(line) - len(line.lstrip())]
        if line.strip() == SLOT_VIEWS:
            lines += [indent + view for view in views]
        elif line.strip() == INTERIOR_UPDATE:
            lines.append(indent + update)
        else:
            lines.append(line)
    head = [
        "@jit",
        "def opt_update_at(p, g, state, j, n, consts):",
        '    """``opt_update`` on coordinate j of an array run\'s state."""',
        *[f"    {line}" for line in body],
    ]
    return "\n".join([*head, "", "", *lines]) + "\n"


def fused_dim(problem: Problem, kernel: KernelRef) -> int:
    """The dimension for which the module gets a fused runner, or 0 when it gets none."""
    ok = problem.kind == "expression" and problem.dim <= FUSED_MAX_DIM and kernel.elementwise
    return problem.dim if ok else 0


@dataclass(frozen=True)
class ScalarLocals:
    """The lines of a run whose x, gradient and optimizer state are numbered local variables
    (``x0``, ``g0``, ``s{j}_{i}`` for state slot j of coordinate i, ``a{j}`` for run-level
    scalars): loaded from and stored to the run's rows, and stepped by the elementwise
    ``opt_prepare`` / ``opt_update`` (the same scalar operations as ``opt_step``).

    With ``dtype="float32"`` the locals are float32, as the array runner's rows are: each value
    the array runner would store into a float32 row (the gradient once computed and once the
    noise is added, x and the state after each update, the run-level scalars after
    ``opt_prepare``, the average) is rounded by ``np.float32`` at that point, through
    temporaries (``h{i}``, ``y{j}``) so that a local never changes type. The kernels are then
    called with the argument types of the array runner, so both give the same numbers bit for
    bit. With float64 nothing is rounded and the text is that of a float64 runner."""

    n: int
    kernel: KernelRef
    dtype: str = "float64"

    @property
    def rounds(self) -> bool:
        return self.dtype != "float64"

    def cast(self, value: str) -> str:
        """``value`` as the run's dtype (rounded to float32, or as it is in float64)."""
        return f"np.float32({value})" if self.rounds else value

    def _assign(self, targets: list[str], call: str, single: bool) -> list[str]:
        """``targets = call``, the call returning a tuple (or one value when ``single``); in
        float32 through temporaries, each target then rounded."""
        if not self.rounds:
            return [f"{', '.join(targets)} = {call}"]
        temps = [f"y{j}" for j in range(len(targets))]
        head = f"{temps[0]} = {call}" if single else f"{', '.join(temps)} = {call}"
        return [head, *(f"{v} = {self.cast(y)}" for v, y in zip(targets, temps, strict=True))]

    @property
    def xs(self) -> list[str]:
        return [f"x{i}" for i in range(self.n)]

    @property
    def gs(self) -> list[str]:
        return [f"g{i}" for i in range(self.n)]

    def state_columns(self) -> list[tuple[str, int]]:
        """Each state local and its column in S."""
        k, n = self.kernel.slots, self.n
        per = [(f"s{j}_{i}", j * n + i) for j in range(k) for i in range(n)]
        return per + [(f"a{j}", k * n + j) for j in range(self.kernel.extra)]

    def load_x(self) -> list[str]:
        return [f"{x} = X[r, {i}]" for i, x in enumerate(self.xs)]

    def store_x(self) -> list[str]:
        return [f"X[r, {i}] = {x}" for i, x in enumerate(self.xs)]

    def load_s(self) -> list[str]:
        return [f"{v} = S[r, {c}]" for v, c in self.state_columns()]

    def store_s(self) -> list[str]:
        return [f"S[r, {c}] = {v}" for v, c in self.state_columns()]

    def evaluate(self, seed: str) -> list[str]:
        """The loss and gradient at x (the gradient rounded as the array runner's row holds it:
        once computed, again once the noise is added)."""
        xs = ", ".join(self.xs)
        draws = [f"sigma * K.normal({seed}, t + 1, {i})" for i in range(self.n)]
        if not self.rounds:
            noise = [f"    {g} += {d}" for g, d in zip(self.gs, draws, strict=True)]
            return [f"f, {', '.join(self.gs)} = p_fgs({xs}, pd)", "if sigma > 0.0:", *noise]
        pairs = zip(self.gs, draws, strict=True)
        noise = [f"    {g} = {self.cast(f'{g} + {d}')}" for g, d in pairs]
        hs = [f"h{i}" for i in range(self.n)]
        rounded = [f"{g} = {self.cast(h)}" for g, h in zip(self.gs, hs, strict=True)]
        return [f"f, {', '.join(hs)} = p_fgs({xs}, pd)", *rounded, "if sigma > 0.0:", *noise]

    def checks(self) -> dict[str, list[str]]:
        finite = " and ".join(f"math.isfinite({g})" for g in self.gs)
        bounds = " and ".join(f"abs({x}) <= bound" for x in self.xs)
        return {
            "finite_gradient": [f"ok = ok and {finite}"],
            "in_bounds": [f"ok = ok and {bounds}"],
        }

    def clip(self) -> list[str]:
        """:func:`adambench.schedules.clip_gradient` on the gradient locals, operation for
        operation (the squared norm summed in the same order)."""
        gs = self.gs
        return [
            "if CLIP[r, 0] > 0.0:",
            "    cv = CLIP[r, 0]",
            *[f"    {g} = {self.cast(f'min(max({g}, -cv), cv)')}" for g in gs],
            "if CLIP[r, 1] > 0.0:",
            # 0.0 first: the sum is float64 as clip_gradient's accumulator, also in float32
            f"    ss = 0.0 + {' + '.join(f'{g} * {g}' for g in gs)}",
            "    if ss > CLIP[r, 2]:",
            f"        coef = CLIP[r, 1] / (math.sqrt(ss) + {NORM_EPS!r})",
            "        if coef < 1.0:",
            *[f"            {g} = {self.cast(f'{g} * coef')}" for g in gs],
        ]

    def step(self, hp: str) -> list[str]:
        """``opt_prepare`` once, then ``opt_update`` per coordinate."""
        aux = [f"a{j}" for j in range(self.kernel.extra)]
        consts = [f"c{j}" for j in range(self.kernel.consts)]
        prepare = f"opt_prepare(t + 1, {', '.join([hp, *aux])})"
        if not aux and not consts:
            lines = [prepare]
        elif self.rounds and aux:  # the run-level scalars are stored, the constants are not
            temps = [f"y{j}" for j in range(len(aux))]
            lines = [f"{', '.join([*temps, *consts])} = {prepare}"]
            lines += [f"{a} = {self.cast(y)}" for a, y in zip(aux, temps, strict=True)]
        else:
            lines = [f"{', '.join([*aux, *consts])} = {prepare}"]
        for i, (x, g) in enumerate(zip(self.xs, self.gs, strict=True)):
            slots = [f"s{j}_{i}" for j in range(self.kernel.slots)]
            # An optimizer without state returns the parameter alone, not a 1-tuple.
            args = ", ".join([x, g, *slots, *consts])
            lines += self._assign([x, *slots], f"opt_update({args})", single=not slots)
        return lines

    def average(self, target: str, value: str) -> str:
        """``target = decay * target + (1 - decay) * x``, as the run's dtype."""
        return f"{target} = {self.cast(f'decay * {target} + (1.0 - decay) * {value}')}"


def fused_runner_source(n: int, kernel: KernelRef, dtype: str = "float64") -> str:
    """``advance_fused``: the run-major loop for n named variables, with x, the gradient and the
    optimizer state in local variables (registers) instead of arrays: it avoids the memory round
    trips between the gradient and the update (2-3x faster for small problems)."""
    v = ScalarLocals(n, kernel, dtype)
    avs = [f"av{i}" for i in range(n)]
    hooks = {
        "prologue": ["sigma = pd[0]", _CHUNK_CONTROLS],
        "load_controls": [_RUN_CONTROLS],
        "clip": v.clip(),
        "load": [
            *v.load_x(),
            *v.load_s(),
            *[f"{a} = avg[{i}] if decay > 0.0 else {v.cast('0.0')}" for i, a in enumerate(avs)],
        ],
        "evaluate": v.evaluate("seed"),
        **v.checks(),
        "init": ["opt_init(X[r], hp, S[r])", *v.load_s()],
        "record_x": [f"xt[kk, {i}] = {x}" for i, x in enumerate(v.xs)],
        "record_next": ["next_record += every", "kk += 1"],
        "step": v.step("hp"),
        "average": [v.average(a, x) for a, x in zip(avs, v.xs, strict=True)],
        "store": [
            *v.store_x(),
            *v.store_s(),
            "if decay > 0.0:",
            *[f"    avg[{i}] = {a}" for i, a in enumerate(avs)],
        ],
    }
    doc = "``advance`` with values in registers (generated for this problem's variables)."
    return Layout(hooks, _IN_LOCALS).source(RUN_MAJOR, "advance_fused", doc)


def python_runner_source() -> str:
    """``advance_python``: the run-major loop as plain Python over numpy rows, for optimizers
    stepped from Python (torch). Its free names are bound by the caller: ``train_grad`` and
    ``finish_run`` (compiled, of a generated module), ``warm_up(pd, data)``, the optimizer
    handles ``optimizers`` (by address of a run's row), ``opt_start(key, x, g, hp)`` and
    ``opt_step(opt, f, x, g, pd, data, ps, t, seed)``, ``math``, ``np`` and the status and
    metric constants of :mod:`adambench.kernels`."""
    hooks = {
        "prologue": [
            "if X.shape[0] == 0:",
            "    warm_up(pd, data)",
            "    return",
            "base, stride = X.ctypes.data, X.strides[0]",
        ],
        "run_views": [
            "x, g, ps = X[r], G[r], PS[r]",
            "key = base + r * stride  # a run's optimizer is found by the address of its row",
            "opt = optimizers.get(key)",
        ],
        "evaluate": ["f = train_grad(x, g, pd, data, ps, t + 1, seed)"],
        "finite_gradient": ["ok = ok and bool(np.isfinite(g).all())"],
        "init": ["opt = opt_start(key, x, g, hp)"],
        "in_bounds": ["ok = ok and bool((np.abs(x) <= bound).all())  # NaN fails it too"],
        "record_x": ["xt[kk] = x"],
        "record_next": ["next_record += every", "kk += 1"],
        "step": ["opt_step(opt, f, x, g, pd, data, ps, t + 1, seed)"],
        "average": ["avg[:] = decay * avg + (1.0 - decay) * x"],
        "run_exit": ["if finish or status != RUNNING:", "    optimizers.pop(key, None)"],
        "clip": ["pass"],
    }
    # torch's optimizers take no training controls (they are refused when resolved).
    names = {**_IN_LOCALS, "hp_rows": "HP", "clipping": "False", "sched": "-1"}
    doc = "``advance`` in Python, stepping an optimizer that is not compiled."
    return Layout(hooks, names).source(RUN_MAJOR, "advance_python", doc, decorator="")
