"""The numba source of a problem's kernels (``p_fg``, ``p_loss``, ``p_train``; ``p_fgs`` on
scalars).

For an expression problem, sympy differentiates the expression and the result is printed as numba
source. The text is cached by a hash of everything that reaches it (the parsed expression, the
kind of problem, this file's source, the package version), so a warm run imports no sympy.
"""

from __future__ import annotations

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
    if problem.kind == "logreg":
        return _LOGREG_SOURCE
    key = problem_key(problem)
    path = cache_dir() / "problems" / f"p_{key[:32]}.py"
    text = read_verified(path)
    if text is None:
        text = _generate_expression_source(problem)
        write_verified(path, text)
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
        head += [f"        s{j} = float(x[i + {k}])" for j, k in enumerate(offsets)]
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
