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
    import sympy

    n = problem.dim
    syms = {f"v{k}": sympy.Symbol(f"v{k}", real=True) for k in range(n)}
    f = expr.to_sympy(problem.tree, syms)
    grads = [sympy.diff(f, syms[f"v{k}"]) for k in range(n)]
    unpack = [f"    v{k} = x[{k}]" for k in range(n)]
    body, (f_code, *g_codes) = _cse_lines([f, *grads], "    ")
    fg = [
        "@jit",
        "def p_fg(x, g, pd, data):",
        *unpack,
        *body,
        *[f"    g[{k}] = {code}" for k, code in enumerate(g_codes)],
        f"    return {f_code}",
    ]
    body_l, (f_only,) = _cse_lines([f], "    ")
    loss = ["@jit", "def p_loss(x, pd, data):", *unpack, *body_l, f"    return {f_only}"]
    return "\n".join([*fg, "", "", *loss, "", ""]) + "\n"


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

    def binding(self) -> str:
        if self.inline is not None:
            return self.inline
        return (
            f"from {self.module} import {self.init} as opt_init\n"
            f"from {self.module} import {self.step} as opt_step\n"
        )

    def identity(self) -> str:
        if self.inline is not None:
            return self.inline
        assert self.source_file is not None
        return self.binding() + Path(self.source_file).read_text(encoding="utf-8")


def module_source(problem_src: str, kernel: KernelRef) -> str:
    """The text of the generated module for a problem's kernels and an optimizer."""
    template = _read("runner_template.py")
    loop = template.split(_MARKER, 1)[1]
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


_LOADED: dict[str, ModuleType] = {}


def load_module(problem: Problem, kernel: KernelRef) -> tuple[ModuleType, bool]:
    """Import the generated module for (problem, optimizer kernels), creating it if needed.

    Returns the module and whether its compiled code is believed to be cached already.
    """
    text = module_source(problem_source(problem), kernel)
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
