"""Optimizers written in YAML: an update rule, compiled to numba like a problem's expression.

A file declares hyperparameters (defaults and valid ranges), per-parameter state with initial
values, and the update as assignments in order::

    name: my_adam
    hyperparameters:
      lr: {default: 0.001, above: 0}
      beta1: {default: 0.9, min: 0, below: 1}
    state:
      m: 0
    update:
      - m = beta1*m + (1 - beta1)*g
      - p = p - lr*m

The update may use the gradient ``g``, the step count ``t`` (1, 2, ... as a float), the parameter
``p``, the state, the hyperparameters, and names assigned earlier in the same update (locals).
Each right-hand side goes through :func:`adambench.expr.parse` with the update grammar
(:data:`adambench.expr.UPDATE_FUNCTIONS`: the problem functions, which include ``max``, ``min``,
``sign`` and ``where(cmp, a, b)``, plus ``float32``; and the reductions over every coordinate
``sum_i(x)`` and ``norm(x)``, :data:`adambench.expr.REDUCTIONS`); nothing is ever evaluated as
Python. The final value of ``p`` is the new parameter; state is kept between steps; ``g`` may be
reassigned (e.g. weight decay) as a local.

Code generation prints the expression trees directly as numba source (no differentiation, so no
sympy): ``opt_init(p, hp, state)`` and ``opt_step(p, g, state, t, hp)``, the contract of every
optimizer kernel (:mod:`adambench.kernels`). The source goes into the generated module
(:class:`~adambench.codegen.KernelRef` ``inline``), so it is part of the module's cache key.
Two things make it as fast as a hand-written kernel:

- *uniform* values, the same for every coordinate (functions of the hyperparameters, ``t`` and
  uniform state only), are computed once per step before the loop over coordinates: uniform
  assignments, and uniform subexpressions of per-coordinate ones (``1 - beta1**t``). A state
  variable whose initial value and every assignment are uniform (a running product ``beta^t``)
  is stored once, not once per coordinate. Moving a computation never changes its operations,
  so results are bit for bit those of the rule as written.
- user names are renamed (``m`` -> ``v_m``; a reassigned uniform value gets ``v1_m``, ``v2_m``,
  ...), so no user name can shadow a generated variable (``n``, ``i``, ``state``, ...).

A reduction cuts the step into passes over the coordinates (:func:`_stages`): the loop before
the line that holds it accumulates the sum, the lines from there on run in the next loop, and a
per-coordinate local read across the cut is kept in a scratch slot of the state vector. Such a
rule has no elementwise form (it runs in the array loop only); a rule without reductions is one
pass and compiles as it always did.

Every value is a float64; literals are printed as floats (integer exponents stay integers, so
``g**2`` is one multiplication), ``where`` becomes a conditional expression, ``sign`` is
``np.sign`` (0 at 0, NaN at NaN).
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from adambench import expr, safeyaml
from adambench.errors import ConfigError, did_you_mean
from adambench.fields import Fields
from adambench.optimizers.builtins import BUILTINS
from adambench.optimizers.controls import with_controls
from adambench.optimizers.spec import (
    OPTIMIZER_WORDING,
    HyperParam,
    KernelRef,
    OptimizerSpec,
    hyperparam_from_data,
)

__all__ = [
    "BUILTIN_NAMES",
    "LIBRARY_DIR",
    "MAX_STATE",
    "MAX_UPDATES",
    "RESERVED",
    "TOP_KEYS",
    "Assignment",
    "Generated",
    "UpdateRule",
    "generate_source",
    "library_files",
    "library_rule",
    "library_spec",
    "load_optimizer_yaml",
    "rule_from_dict",
    "spec_from_rule",
]

TOP_KEYS = {
    "name": "a short identifier (the optimizer's name in tables and JSON)",
    "description": "one line",
    "paper": "the publication the rule comes from (shown by `list`)",
    "hyperparameters": "name: {default, min|above, max|below, kind, description}",
    "state": "name: initial value (a number, or an expression in the hyperparameters and p)",
    "update": "a list of assignments 'name = expression', in order",
}
#: Names an update may read but never declare or assign (``g`` and ``p`` may be assigned).
BUILTIN_NAMES = {"g": "the gradient", "t": "the step count", "p": "the parameter"}
RESERVED = {"t", "pi", "e", "sum", "dim", *expr.UPDATE_FUNCTIONS, *expr.REDUCTIONS}
#: The optimizers of the literature shipped with adambench, one YAML file each (package data).
LIBRARY_DIR = Path(__file__).resolve().parent / "library"
MAX_UPDATES = 200
MAX_STATE = 64

_ASSIGN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*([-+*/]?)=(?!=)(.*)$", re.S)
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]*$")
_AUG = {"+": "add", "-": "sub", "*": "mul", "/": "div"}


@dataclass(frozen=True)
class Assignment:
    """One line of the update: ``target = tree`` (augmented forms are expanded)."""

    target: str
    tree: expr.Node
    text: str


@dataclass(frozen=True)
class UpdateRule:
    """A validated optimizer file."""

    name: str
    description: str
    hyperparams: tuple[HyperParam, ...]
    state: tuple[tuple[str, expr.Node], ...]  # (name, initial value) in declaration order
    update: tuple[Assignment, ...]
    source: str
    paper: str = ""


# ---------------------------------------------------------------------------------------------
# Loading and validation


_CACHE: dict[tuple[str, str], OptimizerSpec] = {}


def load_optimizer_yaml(path: str) -> OptimizerSpec:
    """The :class:`OptimizerSpec` of a YAML optimizer file (``source`` = the path as given)."""
    raw = safeyaml.load_file(path)
    key = (path, repr(raw))
    if key not in _CACHE:
        _CACHE[key] = spec_from_rule(rule_from_dict(raw, where=path))
    return _CACHE[key]


@cache
def library_files() -> dict[str, Path]:
    """Name -> file of every optimizer of the library (``optimizers/library/NAME.yaml``)."""
    return {p.stem: p for p in sorted(LIBRARY_DIR.glob("*.yaml"))}


@cache
def library_rule(name: str) -> UpdateRule:
    """The validated rule of the library optimizer ``name`` (a key of :func:`library_files`)."""
    path = library_files()[name]
    return rule_from_dict(safeyaml.load_file(str(path)), where=_shown(path))


@cache
def library_spec(name: str) -> OptimizerSpec:
    """The library optimizer ``name`` (a key of :func:`library_files`), source ``library``."""
    return replace(spec_from_rule(library_rule(name)), source="library")


def _shown(path: Path) -> str:
    """How errors name a library file: from the package folder, not the install path."""
    return f"adambench/optimizers/library/{path.name}"


def _check_name(name: Any, where: str, what: str, taken: Mapping[str, str]) -> str:
    if isinstance(name, bool):
        raise ConfigError(
            f"{what} name {name!r} is not an identifier (YAML reads yes/no/on/off as true/false: "
            "quote the name)",
            where=where,
        )
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ConfigError(f"{what} name {name!r} is not an identifier", where=where)
    if name.startswith("__"):
        raise ConfigError(f"{what} name '{name}' is reserved (leading __)", where=where)
    if name in BUILTIN_NAMES or name in RESERVED:
        meaning = BUILTIN_NAMES.get(name, "a reserved name (constant or function)")
        raise ConfigError(f"{what} name '{name}' is reserved: {meaning}", where=where)
    if name in taken:
        raise ConfigError(f"'{name}' is already declared as a {taken[name]}", where=where)
    return name


def rule_from_dict(raw: Any, where: str) -> UpdateRule:
    """Validate an optimizer file's content. Errors are one :class:`ConfigError` line naming the
    file and the key."""
    if not isinstance(raw, Mapping):
        raise ConfigError("an optimizer file must be a mapping (name, update, ...)", where=where)
    f = Fields(raw, where, OPTIMIZER_WORDING)
    f.unknown_keys(TOP_KEYS)
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise f.fail("name", "is required: letters, digits, _ . - (starting with a letter)")
    if name in BUILTINS:
        raise f.fail(
            "name", f"{name!r} is taken by a built-in optimizer; choose another (e.g. 'my_{name}')"
        )
    if name in library_files() and where != _shown(library_files()[name]):
        raise f.fail(
            "name",
            f"{name!r} is taken by the library optimizer {_shown(library_files()[name])}; "
            f"choose another (e.g. 'my_{name}')",
        )
    description = f.text("description", "")
    paper = f.text("paper", "")
    taken: dict[str, str] = {}
    hyperparams = _hyperparams(f, taken)
    state = _state(f, hyperparams, taken)
    update = _parse_update(raw.get("update"), where, taken)
    return UpdateRule(
        name, description.strip(), tuple(hyperparams), tuple(state), tuple(update), where,
        " ".join(paper.split()),
    )  # fmt: skip


def _hyperparams(f: Fields, taken: dict[str, str]) -> list[HyperParam]:
    """The declared hyperparameters (their names are added to ``taken``)."""
    hps = f.get("hyperparameters") or {}
    if not isinstance(hps, Mapping):
        raise f.fail("hyperparameters", "must map names to {default: ...}")
    hyperparams = []
    for hname, hraw in hps.items():
        _check_name(hname, f"{f.where}: hyperparameters", "hyperparameter", taken)
        hyperparams.append(hyperparam_from_data(hname, hraw, f.where))
        taken[hname] = "hyperparameter"
    return hyperparams


def _state(
    f: Fields, hyperparams: list[HyperParam], taken: dict[str, str]
) -> list[tuple[str, expr.Node]]:
    """The declared state and the trees of its initial values (names added to ``taken``)."""
    state_raw = f.get("state") or {}
    if not isinstance(state_raw, Mapping):
        raise f.fail("state", "must map names to initial values, e.g. {m: 0}")
    if len(state_raw) > MAX_STATE:
        raise f.fail("state", f"declares more than {MAX_STATE} names")
    init_names = {h.name: h.name for h in hyperparams} | {"p": "p"}
    grammar = expr.Grammar(names=init_names, functions=expr.UPDATE_FUNCTIONS, flag_conditions=True)
    state = []
    for sname, value in state_raw.items():
        _check_name(sname, f"{f.where}: state", "state", taken)
        at = f"{f.where}: state.{sname}"
        if value is None or isinstance(value, (bool, list, dict)):
            raise ConfigError(
                f"initial value must be a number or an expression, got {value!r}", where=at
            )
        state.append((sname, expr.parse(value, grammar, where=at)))
        taken[sname] = "state"
    return state


def _parse_update(items: Any, where: str, taken: Mapping[str, str]) -> list[Assignment]:
    if not isinstance(items, list) or not items:
        raise ConfigError(
            "'update' is required: a list of assignments such as '- p = p - lr*g'", where=where
        )
    if len(items) > MAX_UPDATES:
        raise ConfigError(f"'update' has more than {MAX_UPDATES} assignments", where=where)
    # Every name any line assigns, to tell "used before it is assigned" from "unknown".
    later: dict[str, int] = {}
    for k, item in enumerate(items, 1):
        m = _ASSIGN.match(item) if isinstance(item, str) else None
        if m:
            later.setdefault(m.group(1), k)
    known = {n: n for n in taken} | {n: n for n in BUILTIN_NAMES}
    out: list[Assignment] = []
    for k, item in enumerate(items, 1):
        at = f"{where}: update #{k}"
        if not isinstance(item, str):
            raise ConfigError(f"must be a string 'name = expression', got {item!r}", where=at)
        m = _ASSIGN.match(item)
        if not m:
            raise ConfigError(f"expected 'name = expression', got {item.strip()!r}", where=at)
        target, aug, rhs = m.group(1), m.group(2), m.group(3)
        if target in RESERVED or target.startswith("__") or keyword.iskeyword(target):
            meaning = BUILTIN_NAMES.get(target, "a reserved name")
            raise ConfigError(f"cannot assign to '{target}' ({meaning})", where=at)
        if taken.get(target) == "hyperparameter":
            raise ConfigError(
                f"cannot assign to the hyperparameter '{target}' (declare a state or a local "
                "under another name)",
                where=at,
            )
        names = {**{n: n for n in later}, **known}
        grammar = expr.Grammar(
            names=names, functions=expr.UPDATE_FUNCTIONS, reductions=True, flag_conditions=True
        )
        tree = expr.parse(rhs, grammar, where=at)
        if aug:
            if target not in known:
                raise ConfigError(f"'{target}' {aug}= ... needs '{target}' to exist", where=at)
            tree = (_AUG[aug], ("sym", target), tree)
        for used in sorted(expr.symbols_in(tree)):
            if used not in known:
                raise ConfigError(
                    f"'{used}' is used before it has a value (first assigned at #{later[used]}); "
                    "to keep a value between steps, declare it under state: with its initial "
                    "value",
                    where=at,
                )
        out.append(Assignment(target, tree, item.strip()))
        known[target] = target
    if not any(a.target == "p" for a in out):
        raise ConfigError("'update' never assigns p (the new parameter value)", where=where)
    _check_locals_used(out, where, taken)
    return out


def _check_locals_used(update: list[Assignment], where: str, taken: Mapping[str, str]) -> None:
    """A local that is assigned and never read is a typo for a state name, or dead code."""
    for k, a in enumerate(update):
        if a.target in taken or a.target in BUILTIN_NAMES:
            continue
        if not any(a.target in expr.symbols_in(b.tree) for b in update[k + 1 :]):
            states = [n for n, kind in taken.items() if kind == "state"]
            hint = did_you_mean(a.target, states)
            raise ConfigError(
                f"'{a.target}' is assigned but never used, and is not a state{hint}; "
                "declare it under state: to keep it between steps",
                where=f"{where}: update #{k + 1}",
            )


# ---------------------------------------------------------------------------------------------
# Code generation


def spec_from_rule(rule: UpdateRule) -> OptimizerSpec:
    """The registry entry of a rule: its hyperparameters and the generated kernels. A rule with
    a reduction (``sum_i``, ``norm``) has no elementwise form: it runs in the array loop."""
    gen = generate_source(rule)
    elementwise = {"prepare": "opt_prepare", "update": "opt_update"} if gen.elementwise else {}
    kernel = KernelRef(
        inline=gen.source, slots=gen.per_param, extra=gen.extra, consts=gen.consts, **elementwise
    )
    return OptimizerSpec(
        rule.name,
        rule.description or f"update rule from {rule.source}",
        with_controls(rule.hyperparams),
        gen.per_param,
        kernel,
        convention=rule.paper or "; ".join(a.text for a in rule.update),
        source=rule.source,
        state_extra=gen.extra,
    )


@dataclass(frozen=True)
class _Stage:
    """One pass over the coordinates: its assignments, then the reductions accumulated at the end
    of its loop, as (result name, "sum" or "norm", per-coordinate tree). The next stage starts
    with the assignment that reads those results (its ``reduce`` nodes replaced by them)."""

    statements: tuple[Assignment, ...]
    reductions: tuple[tuple[str, str, expr.Node], ...] = ()


def _stages(rule: UpdateRule) -> list[_Stage]:
    """The update cut into passes at each assignment that holds a reduction: one stage for a
    rule without any (the common, elementwise case)."""
    stages: list[_Stage] = []
    current: list[Assignment] = []
    count = 0
    for a in rule.update:
        found: list[tuple[str, str, expr.Node]] = []
        tree = _take_reductions(a.tree, found, count)
        if found:
            stages.append(_Stage(tuple(current), tuple(found)))
            current = []
            count += len(found)
        current.append(Assignment(a.target, tree, a.text))
    stages.append(_Stage(tuple(current)))
    return stages


def _take_reductions(tree: expr.Node, found: list[Any], count: int) -> expr.Node:
    """The tree with each ``reduce`` node replaced by its result ``r{k}`` (appended to found)."""
    if tree[0] == "reduce":
        for name, op, arg in found:  # the same reduction twice in a line is computed once
            if (op, arg) == tree[1:]:
                return ("hoisted", name)
        name = f"r{count + len(found)}"
        found.append((name, tree[1], tree[2]))
        return ("hoisted", name)
    if tree[0] in ("num", "const", "sym", "hoisted"):
        return tree
    head = 2 if tree[0] in ("call", "cmp") else 1
    return (*tree[:head], *(_take_reductions(c, found, count) for c in tree[head:]))


def _statements(rule: UpdateRule) -> list[Assignment]:
    """Every assignment in order, with reductions replaced by their (uniform) results."""
    return [a for stage in _stages(rule) for a in stage.statements]


def _uniform_state(rule: UpdateRule) -> set[str]:
    """State variables with the same value in every coordinate (stored once per run)."""
    hps = {h.name for h in rule.hyperparams}
    cand = {s for s, init in rule.state if expr.symbols_in(init) <= hps}
    statements = _statements(rule)
    while True:
        changed = False
        local: dict[str, bool] = {}
        for a in statements:
            u = _is_uniform(a.tree, hps, cand, local)
            if a.target in cand and not u:
                cand.discard(a.target)
                changed = True
                break
            if a.target not in cand:
                # g and p are per-coordinate whatever is assigned to them
                local[a.target] = u and a.target not in ("g", "p")
        if not changed:
            return cand


def _cross_stage(rule: UpdateRule, ustate: set[str], per_state: list[str]) -> list[str]:
    """Per-coordinate locals (and a reassigned ``g``) read in a later pass than the one that
    assigned them: each gets a scratch slot in the state vector, written and read per step."""
    hps = {h.name for h in rule.hyperparams}
    cur_uniform: dict[str, bool] = {}
    assigned_in: dict[str, int] = {}
    cross: list[str] = []

    def read(names: set[str], stage: int) -> None:
        for name in sorted(names):
            earlier = assigned_in.get(name, stage) < stage and not cur_uniform.get(name, False)
            if earlier and name != "p" and name not in per_state and name not in cross:
                cross.append(name)

    for k, stage in enumerate(_stages(rule)):
        for a in stage.statements:
            read(expr.symbols_in(a.tree), k)
            if a.target not in ustate:
                u = _is_uniform(a.tree, hps, ustate, cur_uniform)
                cur_uniform[a.target] = u and a.target not in ("g", "p")
            assigned_in[a.target] = k
        for _, _, arg in stage.reductions:
            read(expr.symbols_in(arg), k)
    return cross


def _is_uniform(
    tree: expr.Node, hps: set[str], ustate: set[str], local: Mapping[str, bool]
) -> bool:
    for name in expr.symbols_in(tree):
        if name in hps or name == "t" or name in ustate:
            continue
        if local.get(name, False):  # a local whose current value is uniform
            continue
        return False
    return True


class _Printer:
    """Prints trees as numba-compatible Python over the current bindings of user names."""

    def __init__(self, bind: dict[str, str]) -> None:
        self.bind = bind

    def __call__(self, node: expr.Node) -> str:
        kind = node[0]
        if kind == "num":
            return repr(float(node[1]))
        if kind == "const":
            return f"math.{node[1]}"
        if kind == "sym":
            return self.bind[node[1]]
        if kind == "hoisted":
            return node[1]
        if kind == "neg":
            return f"(-{self(node[1])})"
        if kind == "pow":
            exp = node[2]
            if exp[0] == "num" and float(exp[1]).is_integer() and 0 <= float(exp[1]) <= 64:
                # an integer power: numba multiplies (g**2 is g*g, bit for bit)
                return f"({self(node[1])} ** {int(float(exp[1]))})"
            return f"({self(node[1])} ** {self(exp)})"
        if kind in ("add", "sub", "mul", "div"):
            op = {"add": "+", "sub": "-", "mul": "*", "div": "/"}[kind]
            return f"({self(node[1])} {op} {self(node[2])})"
        if kind == "cmp":
            return f"({self(node[2])} {node[1]} {self(node[3])})"
        if kind == "call":
            return self.call(node[1], node[2:])
        raise ValueError(f"cannot print node {kind}")  # pragma: no cover

    def call(self, f: str, args: tuple[expr.Node, ...]) -> str:
        if f == "where":
            cond = args[0]
            c = self(cond) if cond[0] == "cmp" else f"({self(cond)} != 0.0)"
            return f"({self(args[1])} if {c} else {self(args[2])})"
        if f == "sign":
            return f"np.sign({self(args[0])})"
        if f == "float32":  # rounded to single precision, computed on in double
            return f"np.float64(np.float32({self(args[0])}))"
        if f in ("abs", "max", "min"):
            return f"{f}({', '.join(self(a) for a in args)})"
        if f == "floor":
            return f"np.floor({self(args[0])})"
        if f == "round":  # half to even, as Python's round and numpy's rint
            return f"np.rint({self(args[0])})"
        return f"math.{f}({', '.join(self(a) for a in args)})"


def _hoist(
    tree: expr.Node, uniform: Any, temps: dict[str, str], lines: list[str], printer: _Printer
) -> expr.Node:
    """Replace maximal uniform, non-trivial subtrees by temporaries computed before the loop."""
    if tree[0] in ("num", "const", "sym", "hoisted"):
        return tree
    if uniform(tree) and tree[0] != "cmp":  # a comparison stays where's condition (a bool)
        text = printer(tree)
        if text not in temps:
            temps[text] = f"c{len(temps)}"
            lines.append(f"    {temps[text]} = {text}")
        return ("hoisted", temps[text])
    if tree[0] == "call":
        return (*tree[:2], *(_hoist(a, uniform, temps, lines, printer) for a in tree[2:]))
    if tree[0] == "cmp":
        return (*tree[:2], *(_hoist(a, uniform, temps, lines, printer) for a in tree[2:]))
    return (tree[0], *(_hoist(a, uniform, temps, lines, printer) for a in tree[1:]))


@dataclass(frozen=True)
class _StateLayout:
    """Where a rule's state lives in a run's state vector: per-coordinate state ``j`` of
    coordinate ``i`` at ``state[j*n + i]``, uniform (run-level) state ``u`` at ``state[k*n + u]``
    after the k per-coordinate ones. ``scratch`` names (see :func:`_cross_stage`) are
    per-coordinate slots too, after the declared ones, with no initial value."""

    per: list[str]
    uni: list[str]
    scratch: list[str]

    @staticmethod
    def of(rule: UpdateRule) -> _StateLayout:
        ustate = _uniform_state(rule)
        per = [s for s, _ in rule.state if s not in ustate]
        uni = [s for s, _ in rule.state if s in ustate]
        return _StateLayout(per, uni, _cross_stage(rule, ustate, per))

    def slot(self, s: str) -> str:
        """The array element holding state s (at coordinate i when it is per-coordinate)."""
        k = len(self.per) + len(self.scratch)
        if s in self.uni:
            u = self.uni.index(s)
            return f"state[{u}]" if k == 0 else f"state[{'n' if k == 1 else f'{k} * n'} + {u}]"
        j = self.per.index(s) if s in self.per else len(self.per) + self.scratch.index(s)
        return f"state[{'' if j == 0 else 'n + ' if j == 1 else f'{j} * n + '}i]"


@dataclass(frozen=True)
class Generated:
    """The numba source of a rule and its state layout (see :func:`generate_source`)."""

    source: str
    per_param: int  # values per parameter in the state vector (declared state and scratch)
    extra: int  # run-level scalars after them
    consts: int  # constants opt_prepare passes to opt_update
    elementwise: bool  # whether opt_prepare / opt_update are defined (no reduction)


def generate_source(rule: UpdateRule) -> Generated:
    """Numba source defining ``opt_init`` and ``opt_step`` for a rule, and, for a rule without
    reductions, its elementwise form ``opt_prepare`` / ``opt_update``."""
    hps = [h.name for h in rule.hyperparams]
    layout = _StateLayout.of(rule)
    unpack = [f"    v_{h} = hp[{j}]" for j, h in enumerate(hps)]
    init = _init_lines(rule, layout, unpack)
    passes = _step_lines(rule, layout, unpack)
    step = [
        line
        for pre, body in passes
        for line in (*pre, *(["    for i in range(n):", *body] if body else []))
    ]
    header = f"# optimizer {rule.name} (an update rule from a YAML file)\n"
    text = header + "\n".join([*init, "", "", *step, "    return"]) + "\n\n\n"
    per_param = len(layout.per) + len(layout.scratch)
    if len(passes) > 1:
        return Generated(text, per_param, len(layout.uni), 0, False)
    pre, body = passes[0]
    elementwise, n_consts = _elementwise_source(pre, body, hps, layout.per, layout.uni, layout.slot)
    return Generated(text + elementwise, per_param, len(layout.uni), n_consts, True)


def _init_lines(rule: UpdateRule, layout: _StateLayout, unpack: list[str]) -> list[str]:
    """``opt_init(p, hp, state)``: each state's initial value."""
    bind = {h.name: f"v_{h.name}" for h in rule.hyperparams} | {"p": "v_p"}
    pr = _Printer(bind)
    init = ["@jit", "def opt_init(p, hp, state):", "    n = p.shape[0]", *unpack]
    init += [f"    {layout.slot(s)} = {pr(tree)}" for s, tree in rule.state if s in layout.uni]
    per_init = [(s, tree) for s, tree in rule.state if s not in layout.uni]
    per_init += [(s, ("num", "0")) for s in layout.scratch]  # every slot defined from the start
    if per_init:
        init.append("    for i in range(n):")
        if any("p" in expr.symbols_in(tree) for _, tree in per_init):
            init.append("        v_p = p[i]")
        init += [f"        {layout.slot(s)} = {pr(tree)}" for s, tree in per_init]
    init.append("    return")
    return init


def _step_lines(
    rule: UpdateRule, layout: _StateLayout, unpack: list[str]
) -> list[tuple[list[str], list[str]]]:
    """``opt_step(p, g, state, t, hp)`` as passes over the coordinates, each the lines before its
    loop (the uniform work, hoisted) and the lines of the loop's body: one pass for a rule
    without reductions, one more after each assignment that holds one.

    In a loop, each input (g[i], p[i], a state value) is loaded just before its first use and
    each result stored right after its last assignment (the arrays never alias, by the
    contract). Measured: loading every input at the top kept LLVM from vectorising Adam's loop,
    2x slower per coordinate at 1,000 parameters. (A rule that reads p before it updates a
    state, such as an L2 penalty g = g + wd*p ahead of the moments, still runs scalar: LLVM
    cannot rule out that p and state overlap. The built-in adam avoids it by branching on
    wd != 0.)"""
    w = _StepWriter(rule, layout)
    pre = ["@jit", "def opt_step(p, g, state, t, hp):", "    n = p.shape[0]", "    v_t = float(t)"]
    pre += unpack + [f"    v_{s} = {layout.slot(s)}" for s in layout.uni]
    passes = []
    reassigned: set[str] = set()  # per-coordinate names assigned in an earlier pass
    for stage in _stages(rule):
        body: list[str] = []
        w.begin(pre, body, reassigned)
        last = {a.target: k for k, a in enumerate(stage.statements)}
        for k, a in enumerate(stage.statements):
            w.assign(a, stores=last[a.target] == k)
        for name, op, arg in stage.reductions:
            w.accumulate(name, op, arg)
        passes.append((pre, body))
        pre = [f"    {name} = {w.reduced(name, op)}" for name, op, _ in stage.reductions]
        reassigned |= {a.target for a in stage.statements}
    return passes


class _StepWriter:
    """Writes the assignments of :func:`_step_lines`, pass after pass, keeping the bindings of
    user names to generated variables and the uniform temporaries between passes."""

    def __init__(self, rule: UpdateRule, layout: _StateLayout) -> None:
        self.layout = layout
        self.hps = {h.name for h in rule.hyperparams}
        self.ustate = set(layout.uni)
        self.bind = {h: f"v_{h}" for h in self.hps} | {"t": "v_t", "g": "v_g", "p": "v_p"}
        self.bind |= {s: f"v_{s}" for s, _ in rule.state}
        self.pr = _Printer(self.bind)
        self.versions: dict[str, int] = {}
        self.cur_uniform: dict[str, bool] = {}  # locals: is the current value uniform?
        self.temps: dict[str, str] = {}

    def begin(self, pre: list[str], body: list[str], reassigned: set[str]) -> None:
        """Start a pass: its lines before the loop and its loop body."""
        self.pre, self.body = pre, body
        slot = self.layout.slot
        self.inputs = {"g": "g[i]", "p": "p[i]"} | {s: slot(s) for s in self.layout.per}
        self.inputs |= {s: slot(s) for s in self.layout.scratch if s in reassigned}
        self.known: set[str] = set()  # inputs loaded or assigned so far in this loop

    def uniform(self, tree: expr.Node) -> bool:
        return _is_uniform(tree, self.hps, self.ustate, self.cur_uniform)

    def per_coordinate(self, tree: expr.Node) -> expr.Node:
        """The tree with its uniform parts hoisted, its inputs loaded in the loop."""
        tree = _hoist(tree, self.uniform, self.temps, self.pre, self.pr)
        for name in sorted(expr.symbols_in(tree)):
            if name in self.inputs and name not in self.known:
                self.body.append(f"        v_{name} = {self.inputs[name]}")
                self.known.add(name)
        return tree

    def assign(self, a: Assignment, stores: bool) -> None:
        target, layout = a.target, self.layout
        if self.uniform(a.tree) and target not in ("g", "p"):
            self.versions[target] = self.versions.get(target, 0) + 1
            ident = f"v{self.versions[target]}_{target}"
            self.pre.append(f"    {ident} = {self.pr(a.tree)}")
        else:
            tree = self.per_coordinate(a.tree)
            ident = f"v_{target}"
            self.body.append(f"        {ident} = {self.pr(tree)}")
        self.bind[target] = ident
        self.known.add(target)
        if target not in self.ustate:
            self.cur_uniform[target] = ident != f"v_{target}"  # the same rule as _uniform_state
        if not stores:
            return
        if target in layout.uni:
            self.pre.append(f"    {layout.slot(target)} = {ident}")
        elif target in layout.per or target in layout.scratch or target == "p":
            store = "p[i]" if target == "p" else layout.slot(target)
            self.body.append(f"        {store} = {ident}")

    def accumulate(self, name: str, op: str, arg: expr.Node) -> None:
        """Add a reduction's term of coordinate i to its accumulator (zeroed before the loop)."""
        term = ("pow", arg, ("num", "2")) if op == "norm" else arg
        self.pre.append(f"    acc_{name} = 0.0")
        tree = self.per_coordinate(term)
        self.body.append(f"        acc_{name} += {self.pr(tree)}")

    @staticmethod
    def reduced(name: str, op: str) -> str:
        return f"math.sqrt(acc_{name})" if op == "norm" else f"acc_{name}"


_DEFINES = re.compile(r"^    ([A-Za-z_][A-Za-z0-9_]*) = ")


def _elementwise_source(
    pre: list[str], body: list[str], hps: list[str], per: list[str], uni: list[str],
    slot: Any,
) -> tuple[str, int]:  # fmt: skip
    """``opt_prepare(t, hp, u...) -> (u..., c...)`` and ``opt_update(p, g, s..., c...) -> (p,
    s...)``: the rule's step cut in two, for the fused and lockstep run loops (the contract of
    kernels.py). The lines are those of ``opt_step`` - the per-step part before the loop, the
    per-coordinate part of its body - with the array loads and stores turned into arguments and
    results, so both forms run the same operations and give the same numbers."""
    uni_slot = {slot(s): j for j, s in enumerate(uni)}
    per_input = {"g[i]": "g", "p[i]": "p"} | {slot(s): s for s in per}
    prep = ["@jit", f"def opt_prepare(t, hp{''.join(f', u_{j}' for j in range(len(uni)))}):"]
    consts: list[str] = []
    for line in pre[2:]:  # past the decorator and the def of opt_step
        stripped = line.strip()
        target, _, value = stripped.partition(" = ")
        if target == "n":  # n = p.shape[0]: the size, which prepare does not need
            continue
        if value in uni_slot:  # a uniform state loaded from the array: an argument
            line = f"    {target} = u_{uni_slot[value]}"
        elif target in uni_slot:  # a uniform state stored: a result
            line = f"    u_{uni_slot[target]} = {value}"
        prep.append(line)
        m = _DEFINES.match(line)
        if m and not m.group(1).startswith("u_") and m.group(1) not in consts:
            consts.append(m.group(1))
    results = [f"u_{j}" for j in range(len(uni))] + consts
    prep.append(f"    return {', '.join(results)}" if results else "    return 0.0")
    outs = {"p": "a_p"} | {s: f"a_{s}" for s in per}
    upd_body = []
    for line in body:
        target, _, value = line.strip().partition(" = ")
        if value in per_input:  # a load: the argument
            upd_body.append(f"    {target} = a_{per_input[value]}")
        elif target in per_input:  # a store: the result
            outs[per_input[target]] = value
        else:
            upd_body.append(f"    {target} = {value}")
    args = ", ".join(["a_p", "a_g", *(f"a_{s}" for s in per), *consts])
    update = ["@jit", f"def opt_update({args}):", *upd_body,
              f"    return {', '.join([outs['p'], *(outs[s] for s in per)])}"]  # fmt: skip
    return "\n".join([*prep, "", "", *update]) + "\n\n\n", len(consts)
