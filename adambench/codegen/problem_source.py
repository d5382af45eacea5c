"""The numba source of a problem's kernels (``p_fg``, ``p_loss``, ``p_train``; ``p_fgs`` on
scalars).

For an expression problem, sympy differentiates the expression and the result is printed as numba
source. The text is cached by a hash of everything that reaches it (the parsed expression, the
kind of problem, this file's source, the package version), so a warm run imports no sympy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from adambench import expr
from adambench.cache import cache_dir
from adambench.version import __version__

if TYPE_CHECKING:
    from adambench.problems import Problem
from adambench.expr import linear_sums
from adambench.files import package_text, read_verified, sha256_of, write_verified

__all__ = ["problem_key", "problem_source"]


def problem_key(problem: Problem) -> str:
    """Hash of every input of the problem's generated kernels."""
    return sha256_of(
        "problem", problem.code_identity(), package_text("codegen/problem_source.py"), __version__
    )


def problem_source(problem: Problem) -> str:
    """The numba source of the problem's kernels, from the disk cache or generated (sympy)."""
    if problem.kind == "logreg" and problem.sparse is not None:
        return _SPARSE_DATA_TEMPLATE
    if problem.kind == "logreg":
        return _data_source(problem.model["kind"])
    key = problem_key(problem)
    path = cache_dir() / "problems" / f"p_{key[:32]}.py"
    text = read_verified(path)
    if text is None:
        text = _generate_expression_source(problem)
        if problem.rotation is not None:
            text = _rotated_source(text, problem)
        write_verified(path, text)
    return text


def _generate_expression_source(problem: Problem) -> str:
    if problem.kind == "vector":
        try:
            expr.linear_sums(problem.tree)
        except ValueError:  # dim, prod, functions of sums, strided/wrapped/absolute indices
            return _reduced_source(problem) + _TRAIN_WITH_NOISE
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

        # floor and round in floats (numba's give an int64, wrong beyond 2**63): a float of
        # magnitude 2**52 or more (or inf, nan) is already whole and is kept as it is.
        def _print_StepFloor(self, e: Any) -> str:
            a = self._print(e.args[0])
            return f"({a} if not (abs({a}) < 4503599627370496.0) else float(math.floor({a})))"

        def _print_StepRound(self, e: Any) -> str:  # half to even, as Python's round
            a = self._print(e.args[0])
            return f"({a} if not (abs({a}) < 4503599627370496.0) else float(round({a})))"

    del sympy
    return NumbaPrinter({"fully_qualified_modules": True, "standard": "python3"})


def _cse_lines(exprs: list[Any], indent: str, prefix: str = "c") -> tuple[list[str], list[str]]:
    import sympy

    printer = _printer()
    replacements, reduced = sympy.cse(
        exprs, symbols=sympy.numbered_symbols(prefix), optimizations=None
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
    grads = [expr.derivative(f, syms[f"v{k}"]) for k in range(n)]
    args = ", ".join(f"v{k}" for k in range(n))
    body, (f_code, *g_codes) = _cse_lines([f, *grads], "    ")
    # float32 parameters are widened first: the loss and gradient are computed in float64
    # whatever the run's dtype (the runner rounds the gradient where it holds it).
    widen = [f"    v{k} = float(v{k})" for k in range(n)]
    fgs = [
        "@jit",
        f"def p_fgs({args}, pd):",
        *widen,
        *body,
        f"    return {f_code}, {', '.join(g_codes)}",
    ]
    outs = ", ".join(f"g[{k}]" for k in range(n))
    xs = ", ".join(f"x[{k}]" for k in range(n))
    fg = ["@jit", "def p_fg(x, g, pd, data):", f"    f, {outs} = p_fgs({xs}, pd)", "    return f"]
    unpack = [f"    v{k} = float(x[{k}])" for k in range(n)]
    body_l, (f_only,) = _cse_lines([f], "    ")
    loss = ["@jit", "def p_loss(x, pd, data):", *unpack, *body_l, f"    return {f_only}"]
    return "\n".join([*fgs, "", "", *fg, "", "", *loss, "", ""]) + "\n"


def _vector_terms(problem: Problem) -> tuple[list[_StencilTerm], float]:
    """The stencil terms of a vector problem, each with its generated lines, and the constant."""
    import sympy

    terms, constant = linear_sums(problem.tree)
    out = []
    for coef, node in terms:
        (alo, blo), (ahi, bhi), term = node[1], node[2], node[3]
        offsets = expr.stencil_offsets(term)
        syms = {k: sympy.Symbol(f"s{j}", real=True) for j, k in enumerate(offsets)}
        isym = sympy.Symbol("ii", real=True)
        t_expr = expr.to_sympy(term, {}, offsets=syms, index=isym)
        derivs = [expr.derivative(t_expr, syms[k]) for k in offsets]
        # One CSE of the term and all its derivatives, used wherever any of them is needed
        # (unused lines are dead code to LLVM): the same text gives the same bits everywhere.
        body, (t_code, *d_codes) = _cse_lines([t_expr, *derivs], "")
        first, last = f"{alo} * n + {blo}", f"{ahi} * n + {bhi}"
        c = repr(float(coef))
        uses_index = expr.uses_index(term)
        out.append(_StencilTerm(first, last, c, offsets, body, t_code, d_codes, uses_index))
    return out, float(constant)


@dataclass(frozen=True)
class _StencilTerm:
    """One term ``c * t(x[i + k] for k in offsets)`` summed over i in [first, last]: the lines
    that compute t and its derivatives from the loaded values (``body``), t's and each
    derivative's code, and whether t reads the index i itself."""

    first: str
    last: str
    coef: str
    offsets: list[int]
    body: list[str]
    t_code: str
    d_codes: list[str]
    uses_index: bool

    def loads(self, k: int = 0, interior: bool = False) -> list[str]:
        """The values of the term at i = j - k: ``x[i + o]`` for each offset o; in the
        interior loop, ``xv{d}[u]`` of the view shifted by d = o - k (so ``u >= 0``)."""
        index = [f"ii = float({'a + u' if interior else 'i'}{f' - {k}' if interior and k else ''})"]
        out = index if self.uses_index else []
        if interior:
            return out + [f"s{j} = float(xv{_shift(o - k)}[u])" for j, o in enumerate(self.offsets)]
        return out + [f"s{j} = float(x[i + {o}])" for j, o in enumerate(self.offsets)]

    def at(self, k: int, indent: str, uses: list[str]) -> list[str]:
        """The lines for i = j - k when it is in the term's range, then ``uses``."""
        inner = indent + "    "
        return [
            f"{indent}i = {f'j - {k}' if k >= 0 else f'j + {-k}'}",
            f"{indent}if {self.first} <= i <= {self.last}:",
            *[inner + line for line in [*self.loads(k), *self.body, *uses]],
        ]

    def inside(self, k: int, indent: str, uses: list[str]) -> list[str]:
        """The lines for i = j - k in the interior loop, where every term is in range."""
        return [indent + line for line in [*self.loads(k, interior=True), *self.body, *uses]]

    def uses(self, gradient: bool) -> list[tuple[int, str | None]]:
        """The (k, derivative code) pairs coordinate j gathers, in order: the loss term at
        i = j first when t does not read x[i], then each offset descending (the order in which
        a scatter loop over i adds to g[j]); derivative ``None``: the loss term only."""
        if not gradient:
            return [(0, None)]
        pairs = sorted(zip(self.offsets, self.d_codes, strict=True), reverse=True)
        return ([] if 0 in self.offsets else [(0, None)]) + list(pairs)


def _shift(d: int) -> str:
    """The name suffix of the view of x shifted by d: ``p2`` for +2, ``m1`` for -1."""
    return f"p{d}" if d >= 0 else f"m{-d}"


def _block_body(
    terms: list[_StencilTerm], gradient: bool, interior: bool = False, one_pass: bool = False
) -> list[str]:
    """The lines for coordinate j of a block: its loss terms (i = j) added to its lane's sum
    (``acc[j % 4]``; in the interior loop, stored in ``tb{q}[u]`` and added after it, in the
    same order) in the order of the terms and, with ``gradient``, g[j] gathered from every term
    that touches it (:meth:`_StencilTerm.uses`). The sum is a float64 local stored once: in
    float32 the gradient is rounded once, where it is held, as a problem of named variables
    rounds it (the float64 bits are the scatter's). With ``one_pass``, g[j] is not stored but
    used at once (:func:`_one_pass_use`)."""
    ind = " " * (16 if interior else 12)
    lines = [f"{ind}gj = 0.0"] if gradient else []
    q = 0
    for term in terms:
        for k, d in term.uses(gradient):
            uses = [f"gj += {term.coef} * ({d})"] if d is not None else []
            if k == 0:
                value = f"{term.coef} * ({term.t_code})"
                uses.append(f"tb{q}[u] = {value}" if interior else f"acc[j % 4] += {value}")
                q += 1
            lines += term.inside(k, ind, uses) if interior else term.at(k, ind, uses)
    if not gradient:
        return lines
    if one_pass:
        return lines + [ind + line for line in _one_pass_use(interior)]
    return [*lines, f"{ind}{'gv[u]' if interior else 'g[j]'} = gj"]


def _one_pass_use(interior: bool) -> list[str]:
    """What ``p_fused_par`` does with coordinate j's gradient ``gj`` at x_t: rounds it as g
    holds it, counts x_t[j] out of bounds as ``all_within_par`` counts, and steps it, writing
    x_{t+1}[j] into ``y`` (in the interior on views, the update put in by the run module)."""
    xj = "xv[u]" if interior else "x[j]"
    update = INTERIOR_UPDATE if interior else "y[j] = opt_update_at(x[j], gr, state, j, n, consts)"
    return ["gr = K.as_dtype_of(x, gj)", f"if not abs({xj}) <= bound:", "    out += 1", update]


def _interior(terms: list[_StencilTerm], gradient: bool) -> tuple[str, str, list[int]]:
    """The range [J0, J1] of coordinates j at which every term the body reads is in range
    (code in n), and the shifts of x the interior loop reads."""
    pairs = [(t, k) for t in terms for k, _ in t.uses(gradient)]
    lo = ", ".join(f"{t.first} + {k}" for t, k in pairs)
    hi = ", ".join(f"{t.last} + {k}" for t, k in pairs)
    shifts = sorted({o - k for t, k in pairs for o in t.offsets})
    return (f"max({lo}, 0)", f"min({hi}, n - 1)", shifts)


def _blocked(
    name: str,
    args: str,
    terms: list[_StencilTerm],
    constant: float,
    par: bool,
    gradient: bool,
    one_pass: bool = False,
) -> list[str]:
    """A function summing a stencil problem's loss over fixed blocks of SUM_BLOCK coordinates
    (whatever the thread count), and with ``gradient`` gathering g. Within a block, coordinate
    j's loss terms go to lane j % 4 of four running sums, added as (0 + 1) + (2 + 3) at the
    block's end; the blocks' sums are added in block order. The coordinates at which every
    term is in range run in a loop without a branch (``_block_body(interior=True)``, on views
    of x shifted by each offset), which LLVM vectorises; the others (before and after the
    interior) check each term's range. Each lane adds its coordinates' terms in ascending j
    whatever the interior is, so p_fg and p_loss (whose interiors differ) agree to the bit.
    Both compute each coordinate's numbers with the same operations in the same order, so the
    ``par`` twin (blocks on all threads) and the serial form give the same bits. With
    ``one_pass``, ``p_fused_par`` (:data:`_FUSED_ARGS`): the gradient is used where it is
    gathered (:func:`_one_pass_use`), and the coordinates out of bounds are counted too."""
    J0, J1, shifts = _interior(terms, gradient)
    losses = sum(1 for t in terms for k, _ in t.uses(gradient) if k == 0)
    checked = _block_body(terms, gradient, one_pass=one_pass)
    views = [f"xv{_shift(d)} = x[a + {d} : a + {d} + m4]" for d in shifts]
    if one_pass:
        views += ["yv = y[a : a + m4]", "xv = x[a : a + m4]", SLOT_VIEWS]
    elif gradient:
        views.append("gv = g[a : a + m4]")
    lanes = [f"a{lane} += tb{q}[v + {lane}]" for lane in range(4) for q in range(losses)]
    head = [
        "@jit_parallel" if par else "@jit",
        f"def {name}({args}):",
        "    n = x.shape[0]",
        "    nb = (n + SUM_BLOCK - 1) // SUM_BLOCK",
        f"    J0, J1 = {J0}, {J1}",
        "    parts = np.empty(nb)",
        *(["    outside = np.empty(nb, np.int64)"] if one_pass else []),
        f"    for b in {'prange' if par else 'range'}(nb):",
        "        lo, hi = b * SUM_BLOCK, min(n, b * SUM_BLOCK + SUM_BLOCK)",
        "        a = (max(lo, J0) + 3) // 4 * 4  # the first interior j of lane 0",
        "        m4 = max(min(hi, J1 + 1) - a, 0) // 4 * 4  # interior coordinates, whole lanes",
        "        acc = np.zeros(4)",
        *(["        out = 0"] if one_pass else []),
        "        for side in range(3):  # before the interior, the interior, after it: j ascending",
        "            if side == 1:",
        "                if m4 > 0:",
        *[f"                    {line}" for line in views],
        *[f"                    tb{q} = np.empty(m4)" for q in range(losses)],
        "                    for u in range(m4):",
        *["        " + line for line in _block_body(terms, gradient, True, one_pass)],
        "                    a0, a1, a2, a3 = acc[0], acc[1], acc[2], acc[3]",
        "                    for v in range(0, m4, 4):",
        *[f"                        {line}" for line in lanes],
        "                    acc[0], acc[1], acc[2], acc[3] = a0, a1, a2, a3",
        "                continue",
        "            first, last = (lo, min(a, hi)) if side == 0 else (max(a + m4, lo), hi)",
        "            for j in range(first, last):",
        *["    " + line for line in checked],
        "        parts[b] = (acc[0] + acc[1]) + (acc[2] + acc[3])",
        *(["        outside[b] = out"] if one_pass else []),
    ]
    tail = ["    f = 0.0", "    for b in range(nb):", "        f += parts[b]"]
    if not one_pass:
        return [*head, *tail, f"    return f + {constant!r}", "", ""]
    count = ["    count = 0", "    for b in range(nb):", "        count += outside[b]"]
    return [*head, *tail, *count, f"    return f + {constant!r}, count", "", ""]


def _vector_source(problem: Problem) -> str:
    """``p_fg`` (and its parallel twin ``p_fg_par``) and ``p_loss`` of a vector problem: each
    coordinate gathers its gradient (no scatter, so blocks are independent), the loss is summed
    in fixed blocks, so ``p_fg``, ``p_fg_par`` and ``p_loss`` agree bit for bit."""
    terms, constant = _vector_terms(problem)
    out = _blocked("p_fg", "x, g, pd, data", terms, constant, par=False, gradient=True)
    out += _blocked("p_fg_par", "x, g, pd, data", terms, constant, par=True, gradient=True)
    out += _blocked("p_loss", "x, pd, data", terms, constant, par=False, gradient=False)
    one_pass = _blocked("p_fused_par", _FUSED_ARGS, terms, constant, True, True, one_pass=True)
    marked = FUSED_PASS_MARKER + "\n".join(one_pass) + FUSED_PASS_MARKER
    return "\n".join(out) + "\n" + _TRAIN_PAR_WITH_NOISE + marked


#: Around a stencil problem's one-pass step in its text: the step calls the optimizer, so it
#: is compiled in each run module (``split_fused_pass``), not in the problem's.
FUSED_PASS_MARKER = "\n# ---- one pass of a step, for the run modules ----\n"

#: Where the run module puts the optimizer into the one-pass step: the views of the interior's
#: state slots, and the update of an interior coordinate (see ``codegen.loops.one_pass_source``).
SLOT_VIEWS, INTERIOR_UPDATE = "# <slot views>", "# <interior update>"

_FUSED_ARGS = "x, y, state, pd, data, bound, consts"


def split_fused_pass(text: str) -> tuple[str, str]:
    """A problem's text without its one-pass step, and the step (empty when it has none)."""
    head, _, rest = text.partition(FUSED_PASS_MARKER)
    fused, _, tail = rest.partition(FUSED_PASS_MARKER)
    return head + tail, fused


def _substituted(node: expr.Node, table: dict[expr.Node, expr.Node]) -> expr.Node:
    """The tree with every subtree found in ``table`` replaced by its entry."""
    if node in table:
        return table[node]
    return tuple(
        _substituted(c, table) if isinstance(c, tuple) and c and isinstance(c[0], str) else c
        for c in node
    )


def _bound_code(bound: tuple[int, ...]) -> str:
    if len(bound) == 3:
        return f"({bound[0]} * n) // {bound[2]} + {bound[1]}"
    return f"{bound[0]} * n + {bound[1]}"


def _leaf_at(leaf: expr.Node) -> str:
    """The index of x a term's leaf reads at i."""
    if leaf[0] == "idx":
        return f"i + {leaf[1]}"
    if leaf[0] == "sidx":
        return f"{leaf[1]} * i + {leaf[2]}"
    return f"(i + {leaf[1]}) % n"  # widx


def _leaf_from(leaf: expr.Node) -> tuple[str, str]:
    """The i whose term reads x[j] through this leaf, and the condition that it does."""
    if leaf[0] == "idx":
        return f"j - {leaf[1]}", ""
    if leaf[0] == "sidx":
        return f"(j - {leaf[2]}) // {leaf[1]}", f" and {leaf[1]} * i + {leaf[2]} == j"
    return f"(j - {leaf[1]}) % n", ""  # widx


@dataclass(frozen=True)
class _Reduction:
    """One ``sum``/``prod`` of a vector expression: number ``k`` (its value is ``r{k}``), its
    bounds' code, its leaves, and the lines computing its term t and dt/dleaf at i."""

    k: int
    kind: str
    first: str
    last: str
    leaves: list[expr.Node]
    lines: list[str]
    t_code: str
    d_codes: list[str]

    def loop(self, indent: str) -> list[str]:
        """A loop over i from first to last with the term's lines."""
        head = f"{indent}for i in range(lo{self.k}, hi{self.k} + 1):"
        return [head, *[indent + "    " + line for line in self.lines]]

    def value(self, gradient: bool) -> list[str]:
        """The lines computing r{k} (and, for a product with ``gradient``, the products of the
        factors before and after each i: no division, so a zero factor is exact)."""
        k = self.k
        out = [f"    lo{k} = {self.first}", f"    hi{k} = {self.last}"]
        if self.kind == "sum":
            return [*out, f"    r{k} = 0.0", *self.loop("    "), f"        r{k} += {self.t_code}"]
        if self.kind in ("max", "min"):  # the first extreme term wins; a NaN term wins for good
            better = ">" if self.kind == "max" else "<"
            out += [f"    r{k} = math.nan", f"    at{k} = lo{k}", *self.loop("    ")]
            out += [f"        tk = {self.t_code}"]
            out += [f"        if i == lo{k} or (tk {better} r{k}) or (tk != tk and r{k} == r{k}):"]
            return [*out, f"            r{k} = tk", f"            at{k} = i"]
        out += [f"    m{k} = hi{k} - lo{k} + 1", f"    pre{k} = np.empty(m{k} + 1)"]
        out += [f"    fac{k} = np.empty(m{k})", f"    pre{k}[0] = 1.0", *self.loop("    ")]
        out += [f"        fac{k}[i - lo{k}] = {self.t_code}"]
        out += [f"        pre{k}[i - lo{k} + 1] = pre{k}[i - lo{k}] * fac{k}[i - lo{k}]"]
        out += [f"    r{k} = pre{k}[m{k}]"]
        if gradient:  # the factors were kept: the suffix products need no second evaluation
            out += [f"    suf{k} = np.empty(m{k} + 1)", f"    suf{k}[m{k}] = 1.0"]
            out += [f"    for q in range(m{k} - 1, -1, -1):"]
            out += [f"        suf{k}[q] = suf{k}[q + 1] * fac{k}[q]"]
        return out

    def gather(self) -> list[str]:
        """The lines adding to gj what the term at every i that reads x[j] contributes."""
        k, out = self.k, []
        for leaf, d in zip(self.leaves, self.d_codes, strict=True):
            i, extra = _leaf_from(leaf)
            use = f"w{k} * ({d})"
            if self.kind == "prod":
                use = f"w{k} * (pre{k}[i - lo{k}] * suf{k}[i - lo{k} + 1] * ({d}))"
            inside = f"i == at{k}" if self.kind in ("max", "min") else f"lo{k} <= i <= hi{k}"
            out += [f"        i = {i}", f"        if {inside}{extra}:"]
            out += ["            " + line for line in self.lines]
            out += [f"            gj += {use}"]
        return out


def _reduction(k: int, node: expr.Node, nd: Any) -> _Reduction:
    """A sum or product: its term and the term's derivative by each leaf, one CSE."""
    import sympy

    term = node[3]
    leaves = expr.term_leaves(term)
    table = {leaf: ("sym", f"s{j}") for j, leaf in enumerate(leaves)}
    syms = {f"s{j}": sympy.Symbol(f"s{j}", real=True) for j in range(len(leaves))}
    t = expr.to_sympy(
        _substituted(term, {**table, ("dim",): ("sym", "nd")}),
        {**syms, "nd": nd},
        index=sympy.Symbol("ii", real=True),
    )
    derivs = [expr.derivative(t, syms[f"s{j}"]) for j in range(len(leaves))]
    body, (t_code, *d_codes) = _cse_lines([t, *derivs], "")
    loads = ["ii = float(i)"] if expr.uses_index(term) else []
    loads += [f"s{j} = float(x[{_leaf_at(leaf)}])" for j, leaf in enumerate(leaves)]
    first, last = _bound_code(node[1]), _bound_code(node[2])
    return _Reduction(k, node[0], first, last, leaves, [*loads, *body], t_code, d_codes)


def _reduced_source(problem: Problem) -> str:
    """``p_fg``, ``p_fg_par`` and ``p_loss`` of a vector expression F(r0, r1, .., x[a], dim) of
    sums and products r_k over i of stencil terms t_k(i). The sums are taken first, in order
    (so the three functions agree bit for bit), then F and its derivatives once, then each
    coordinate gathers g[j] = sum_k dF/dr_k * dr_k/dx[j] (chain rule) with dr_k/dx[j] the
    derivatives of the terms that read x[j] (times the other factors for a product): O(dim)."""
    import sympy

    tree = problem.tree
    nd = sympy.Symbol("nd", real=True)
    reductions = expr.vector_reductions(tree)
    absolutes = expr.absolute_indices(tree)
    parts = [_reduction(k, node, nd) for k, node in enumerate(reductions)]
    table: dict[expr.Node, expr.Node] = {("dim",): ("sym", "nd")}
    table |= {node: ("sym", f"r{k}") for k, node in enumerate(reductions)}
    table |= {leaf: ("sym", f"a{m}") for m, leaf in enumerate(absolutes)}
    names = [f"r{k}" for k in range(len(reductions))] + [f"a{m}" for m in range(len(absolutes))]
    syms = {name: sympy.Symbol(name, real=True) for name in names}
    f = expr.to_sympy(_substituted(tree, table), {**syms, "nd": nd})
    grads = [expr.derivative(f, syms[name]) for name in names]
    body, (f_code, *w_codes) = _cse_lines([f, *grads], "    ", prefix="o")
    outer = ["    n = x.shape[0]", "    nd = float(n)"]
    outer_loads = [
        f"    a{m} = float(x[{_bound_code(leaf[1])}])" for m, leaf in enumerate(absolutes)
    ]
    out: list[str] = []
    for name, par in (("p_fg", False), ("p_fg_par", True)):
        lines = [*outer, *[line for p in parts for line in p.value(True)], *outer_loads, *body]
        lines += [f"    f = {f_code}"]
        lines += [f"    {w} = {code}" for w, code in zip(_weights(names), w_codes, strict=True)]
        lines += [f"    for j in {'prange' if par else 'range'}(n):", "        gj = 0.0"]
        lines += [line for p in parts for line in p.gather()]
        for m, leaf in enumerate(absolutes):
            lines += [f"        if j == {_bound_code(leaf[1])}:", f"            gj += wa{m}"]
        lines += ["        g[j] = gj", "    return f"]
        out += ["@jit_parallel" if par else "@jit", f"def {name}(x, g, pd, data):", *lines]
        out += ["", ""]
    # the loss: the same lines as p_fg's (so the same bits), less those only dF/dr needs (they
    # may divide by zero where F does not, as at sqrt(0))
    loss_body = _lines_for(body, f_code)
    loss = [*outer, *[line for p in parts for line in p.value(False)], *outer_loads, *loss_body]
    out += ["@jit", "def p_loss(x, pd, data):", *loss, f"    return {f_code}", "", ""]
    return "\n".join(out) + "\n" + _TRAIN_PAR_WITH_NOISE


def _lines_for(lines: list[str], code: str) -> list[str]:
    """The CSE ``lines`` (``    oK = ...``) that ``code`` needs, directly or through others."""
    import re

    defined = {line.split(" = ", 1)[0].strip(): line for line in lines}
    needed: set[str] = set()
    todo = re.findall(r"\bo\d+\b", code)
    while todo:
        name = todo.pop()
        if name in defined and name not in needed:
            needed.add(name)
            todo += re.findall(r"\bo\d+\b", defined[name].split(" = ", 1)[1])
    return [line for line in lines if line.split(" = ", 1)[0].strip() in needed]


def _weights(names: list[str]) -> list[str]:
    """The names of dF/dr_k (``w{k}``) and dF/dx[a_m] (``wa{m}``)."""
    return [f"w{name[1:]}" if name[0] == "r" else f"wa{name[1:]}" for name in names]


_TRAIN_PAR_WITH_NOISE = """
@jit_parallel
def p_train_par(x, g, pd, data, ps, t, seed):
    f = p_fg_par(x, g, pd, data)
    sigma = pd[0]
    if sigma > 0.0:
        for i in prange(g.shape[0]):
            g[i] += sigma * K.normal(seed, t, i)
    return f
"""


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


# A data problem's model: pd = [gradient_noise, l2, n_regularised, batch_size, n_classes,
# eval_every, input dropout, (an mlp's: hidden dropout, activation, layers, widths...),
# n_train last]; ``data`` holds the n_train training rows, then the held-out rows (if any).
# ps (per run) = [permutation of the samples..., the last loss evaluated (its float64 bits),
# epoch of that permutation, the evaluations (K.record_evaluation)...]. The loss returned is
# the full training set's (the gradient is the minibatch's), evaluated at iterates 0, K, 2K, ...
# (K = eval_every): between two it is the last one evaluated. Each evaluation also measures the
# held-out rows' loss and accuracy (in the same pass as their training loss would take).
_DATA_TEMPLATE = """
@jit
def p_loss(x, pd, data):
    train = data[: int(pd[-1])]
    return LOSS_ALL


@jit
def p_fg(x, g, pd, data):
    train = data[: int(pd[-1])]
    GRAD_ALL
    return LOSS_ALL


@jit
def p_train(x, g, pd, data, ps, t, seed):
    n = int(pd[-1])
    train = data[:n]
    rows = K.minibatch_rows(ps, n, int(pd[3]), seed, t)
    GRAD_BATCH
    sigma = pd[0]
    if sigma > 0.0:
        for i in range(g.shape[0]):
            g[i] += sigma * K.normal(seed, t, i)
    held = ps[n : n + 1].view(np.float64)
    every = int(pd[5])
    if (t - 1) % every == 0:
        held[0] = LOSS_ALL
        if data.shape[0] > n:
            test = data[n:]
            test_loss, test_accuracy = TEST_METRICS
            K.record_evaluation(ps, n, (t - 1) // every, held[0], test_loss, test_accuracy)
    return held[0]
"""


# A logistic model on sparse rows (``data`` packed by adambench.corpus.pack, read back by
# S.unpack without a copy; a second row of it packs the held-out rows): the same pd and ps as
# above, plus pd[7] = 1 when the optimizer
# takes the minibatch's present coordinates only (lazy Adam: the absent ones marked -0.0).
# The gradient and losses are the dense kernels' numbers, bit for bit (sparse_kernels.py).
_SPARSE_DATA_TEMPLATE = """
from adambench import sparse_kernels as S


@jit
def sparse_drop_batch(indptr, indices, values, labels, rows, n_features, p, seed, t):
    # The batch ``rows`` as CSR arrays of its own (rows renumbered 0..) with input dropout:
    # each stored feature j < n_features of the batch's r-th row scaled by
    # K.dropout_scale(seed, t, r, j, p), the factor the dense drop_inputs uses for that cell
    # (an absent word is 0 whatever its factor, so only the present ones are drawn).
    bs = rows.shape[0]
    size = 0
    for r in range(bs):
        size += indptr[rows[r] + 1] - indptr[rows[r]]
    b_indptr = np.zeros(bs + 1, np.int64)
    b_indices = np.empty(size, np.int64)
    b_values = np.empty(size)
    b_labels = np.empty(bs)
    q_out = 0
    for r in range(bs):
        k = rows[r]
        b_labels[r] = labels[k]
        for q in range(indptr[k], indptr[k + 1]):
            j = indices[q]
            b_indices[q_out] = j
            v = values[q]
            if j < n_features:
                v *= K.dropout_scale(seed, t, r, j, p)
            b_values[q_out] = v
            q_out += 1
        b_indptr[r + 1] = q_out
    return b_indptr, b_indices, b_values, b_labels


@jit
def p_loss(x, pd, data):
    indptr, indices, values, labels = S.unpack(data)
    return S.logreg_full_loss(x, indptr, indices, values, labels, pd[1], int(pd[2]))


@jit
def p_fg(x, g, pd, data):
    indptr, indices, values, labels = S.unpack(data)
    everything = np.arange(labels.shape[0])
    S.logreg_batch_grad(x, g, indptr, indices, values, labels, everything, pd[1], int(pd[2]))
    return S.logreg_full_loss(x, indptr, indices, values, labels, pd[1], int(pd[2]))


@jit
def p_train(x, g, pd, data, ps, t, seed):
    indptr, indices, values, labels = S.unpack(data)
    n = labels.shape[0]
    rows = K.minibatch_rows(ps, n, int(pd[3]), seed, t)
    if pd[6] > 0.0:
        indptr_b, indices_b, values_b, labels_b = sparse_drop_batch(
            indptr, indices, values, labels, rows, int(pd[2]), pd[6], seed, t
        )
        rows_b = np.arange(rows.shape[0])
    else:
        indptr_b, indices_b, values_b, labels_b, rows_b = indptr, indices, values, labels, rows
    if pd[7] > 0.0:
        S.logreg_batch_marked(x, g, indptr_b, indices_b, values_b, labels_b, rows_b, pd[1],
                              int(pd[2]))
    else:
        S.logreg_batch_grad(x, g, indptr_b, indices_b, values_b, labels_b, rows_b, pd[1],
                            int(pd[2]))
    sigma = pd[0]
    if sigma > 0.0:
        for i in range(g.shape[0]):
            if not S.is_absent(g[i]):
                g[i] += sigma * K.normal(seed, t, i)
    held = ps[n : n + 1].view(np.float64)
    every = int(pd[5])
    if (t - 1) % every == 0:
        held[0] = S.logreg_full_loss(x, indptr, indices, values, labels, pd[1], int(pd[2]))
        if data.shape[0] > 1:  # the held-out rows, packed in data's second row
            t_indptr, t_indices, t_values, t_labels = S.unpack(data[1:])
            test_loss, test_accuracy = S.logreg_full_metrics(
                x, t_indptr, t_indices, t_values, t_labels, pd[1], int(pd[2])
            )
            K.record_evaluation(ps, n, (t - 1) // every, held[0], test_loss, test_accuracy)
    return held[0]
"""


def _data_source(model: str) -> str:
    """The kernels of a data problem with model ``model`` (the kernels of :mod:`kernels`)."""
    if model == "mlp":
        metrics = "K.mlp_metrics(x, ROWS, pd)"
        grad_all = "K.mlp_grad(x, g, train, np.arange(train.shape[0]), pd, 0, 0)"
        grad_batch = "K.mlp_grad(x, g, train, rows, pd, seed, t)"
        loss = "K.mlp_loss(x, train, pd)"
    else:
        name, extra = {
            "logistic": ("logreg", ""),
            "softmax": ("softmax", ", int(pd[4])"),
            "least_squares": ("lsq", ""),
        }[model]
        settings = f"pd[1], int(pd[2]){extra}"
        metrics = f"K.{name}_metrics(x, ROWS, {settings})"
        loss = f"K.{name}_loss(x, train, {settings})"
        grad_all = f"K.{name}_grad(x, g, train, np.arange(train.shape[0]), {settings})"
        # input dropout: the gradient of the batch's rows with features dropped (pd[6] = p)
        grad_batch = (
            f"if pd[6] > 0.0:\n"
            f"        batch = K.drop_inputs(train, rows, int(pd[2]), pd[6], seed, t)\n"
            f"        K.{name}_grad(x, g, batch, np.arange(rows.shape[0]), {settings})\n"
            f"    else:\n"
            f"        K.{name}_grad(x, g, train, rows, {settings})"
        )
    return (
        _DATA_TEMPLATE.replace("LOSS_ALL", loss)
        .replace("GRAD_ALL", grad_all)
        .replace("GRAD_BATCH", grad_batch)
        .replace("TEST_METRICS", metrics.replace("ROWS", "test"))
    )


# A rotated problem (``--rotate``): the file's kernels renamed ``raw_*``, called at
# y = c + R (x - c), the gradient mapped back by R^T. pd = [noise, R row by row, c], so one
# compiled module serves every seed of the rotation.

_ROTATED_NAMED = """

@jit
def p_fgs({args}, pd):
{rotate}
    f, {hs} = raw_fgs({ys}, pd)
{back}
    return f, {gs}


@jit
def p_loss(x, pd, data):
    y = np.empty({n})
    for i in range({n}):
        s = 0.0
        for j in range({n}):
            s += pd[1 + i * {n} + j] * (float(x[j]) - pd[1 + {n} * {n} + j])
        y[i] = pd[1 + {n} * {n} + i] + s
    return raw_loss(y, pd, data)
"""

_ROTATED_VECTOR = """

@jit
def _rotate_in(x, pd):
    n = x.shape[0]
    y = np.empty(n)
    for i in range(n):
        s = 0.0
        for j in range(n):
            s += pd[1 + i * n + j] * (float(x[j]) - pd[1 + n * n + j])
        y[i] = pd[1 + n * n + i] + s
    return y


@jit
def p_fg(x, g, pd, data):
    n = x.shape[0]
    h = np.empty(n)
    f = raw_fg(_rotate_in(x, pd), h, pd, data)
    for j in range(n):
        s = 0.0
        for i in range(n):
            s += pd[1 + i * n + j] * h[i]
        g[j] = s
    return f


@jit
def p_fg_par(x, g, pd, data):
    return p_fg(x, g, pd, data)


@jit
def p_loss(x, pd, data):
    return raw_loss(_rotate_in(x, pd), pd, data)
"""


def _rotated_source(text: str, problem: Problem) -> str:
    """The kernels of ``text`` renamed ``raw_*`` and wrapped: the loss at c + R (x - c), the
    gradient R^T g there (sums in a fixed order: the same bits on any thread count)."""
    n = problem.dim
    if problem.kind == "vector":
        for name in ("p_fg", "p_fg_par", "p_loss"):
            text = text.replace(f"def {name}(", f"def raw_{name[2:]}(")
        return text + _ROTATED_VECTOR
    text = text.replace("def p_fgs(", "def raw_fgs(").replace("def p_loss(", "def raw_loss(")
    c = [f"pd[{1 + n * n + j}]" for j in range(n)]
    rotate = [f"    d{j} = float(v{j}) - {c[j]}" for j in range(n)]
    for i in range(n):
        terms = " + ".join(f"pd[{1 + i * n + j}] * d{j}" for j in range(n))
        rotate.append(f"    y{i} = {c[i]} + ({terms})")
    back = []
    for j in range(n):
        terms = " + ".join(f"pd[{1 + i * n + j}] * h{i}" for i in range(n))
        back.append(f"    g{j} = {terms}")
    return text + _ROTATED_NAMED.format(
        args=", ".join(f"v{k}" for k in range(n)),
        n=n,
        rotate="\n".join(rotate),
        hs=", ".join(f"h{k}" for k in range(n)),
        ys=", ".join(f"y{k}" for k in range(n)),
        back="\n".join(back),
        gs=", ".join(f"g{k}" for k in range(n)),
    )
