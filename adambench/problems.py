"""The problem registry: YAML files in ``problems/`` (package data) or given by path.

A problem file states the objective and the facts a benchmark needs (start, minimum, target,
plot domain, default steps). Three kinds:

- expression problems: ``variables: [x, y]`` and an ``expression`` in them;
- vector problems: ``dim: N`` and an expression that is a sum over a stencil,
  ``sum(i, 0, dim-2, 100*(x[i+1] - x[i]**2)**2 + (1 - x[i])**2)``;
- data problems: a ``data`` block (generated two moons, a shipped data set, or the user's CSV,
  NPZ or svmlight file: :mod:`adambench.data_files`) and a ``model`` block (``logistic``,
  ``softmax`` or ``least_squares`` regression); the variables are the model's weights.

Expressions are parsed by :mod:`adambench.expr` (a whitelist, never ``eval``); gradients come
from sympy at code generation time (:mod:`adambench.codegen`), only when the expression is new.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from adambench import expr, minima, safeyaml
from adambench.errors import AdambenchError, ConfigError, ProblemError, UsageError, did_you_mean
from adambench.fields import Fields, show
from adambench.limits import MAX_DIM, MAX_STEPS
from adambench.numbers import nonnegative_number
from adambench.problem_files import TAGS, builtin_files, mlp_size

if TYPE_CHECKING:
    from adambench.corpus import SparseRows

__all__ = [
    "ACTIVATIONS",
    "HELD_OUT_TARGETS",
    "MAX_DIM",
    "MAX_ROTATE_DIM",
    "MAX_STEPS",
    "TAGS",
    "Problem",
    "checked_noise",
    "default_eval_every",
    "haar_rotation",
    "is_path",
    "list_problems",
    "load_problem",
    "mlp_size",
    "problem_from_dict",
    "with_variant",
]

_COMMON_KEYS = {
    "name": "a short identifier",
    "description": "one line",
    "start": "the start point",
    "target": "a loss value, or {gap: g} above the minimum",
    "domain": "the plotting box",
    "steps": "default number of steps",
    "gradient_noise": "sigma of Gaussian noise added to every gradient component",
    "suggested": "per-optimizer suggested hyperparameters",
    "contour": "log, linear or auto",
    "scale": "size of the region of interest (divergence at |x| > 1e6 scale)",
    "tags": "a list of tag words (TAGS), for `list --tag` and suites",
    "reference": "where the function is defined (a paper or a library of test functions)",
}

_EXPRESSION_KEYS = {
    **_COMMON_KEYS,
    "variables": "",
    "dim": "",
    "expression": "",
    "minimum": "",
    "rotate": "a seed: the problem rotated as --rotate SEED rotates it",
}
_DATA_KEYS = {**_COMMON_KEYS, "variables": "", "data": "", "model": ""}
_RESERVED = {"pi", "e", "dim", "sum", "i", *expr.UPDATE_FUNCTIONS}


@dataclass(frozen=True)
class Problem:
    """A loaded, validated problem. Arrays are float64; ``domain`` has shape (dim, 2)."""

    name: str
    description: str
    kind: str  # "expression", "vector" or "logreg" (every data problem, whatever its model)
    variables: tuple[str, ...]
    dim: int
    expression: str | None
    tree: expr.Node | None
    start: np.ndarray
    minimizers: tuple[np.ndarray, ...]
    min_value: float | None
    #: The target's value: a training loss, unless ``target_metric`` names a held-out metric.
    target: float | None
    domain: np.ndarray
    steps: int
    gradient_noise: float
    suggested: Mapping[str, Mapping[str, Any]]
    contour: str
    scale: float
    source: str
    data: np.ndarray | None = None
    model: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    #: A data problem's held-out rows (the same layout as ``data``), when test_fraction > 0.
    test_data: np.ndarray | None = None
    tags: tuple[str, ...] = ()
    reference: str = ""
    #: ``--rotate SEED``: the seed, the orthogonal matrix R and the centre c of the rotation
    #: (the loss at x is the file's loss at c + R (x - c)); None: not rotated.
    rotation_seed: int | None = None
    #: ``--noise SIGMA`` when given (it replaced the file's ``gradient_noise``); None: the file's.
    noise_override: float | None = None
    rotation: np.ndarray | None = None
    rotation_centre: np.ndarray | None = None
    #: The rotation is the file's own (``rotate: SEED``), part of the problem, not a variant.
    file_rotation: bool = False
    #: Sparse data (a logistic model on ``generator: bow``, or an svmlight file read with
    #: ``sparse: true``): the training and held-out rows in CSR form, the bias column appended;
    #: ``data`` and ``test_data`` then hold them packed (:func:`adambench.corpus.pack`), the
    #: form a compiled runner takes.
    sparse: SparseRows | None = None
    sparse_test: SparseRows | None = None
    #: What ``target`` bounds: "loss" (the training loss, checked at every evaluation of it),
    #: or a data problem's "test_loss" (at most) or "test_accuracy" (at least), checked at
    #: every evaluation of the held-out rows.
    target_metric: str = "loss"

    @property
    def loss_target(self) -> float | None:
        """The target on the training loss (None: none, or the target is a held-out one)."""
        return self.target if self.target_metric == "loss" else None

    @property
    def stochastic(self) -> bool:
        return self.gradient_noise > 0 or self.kind == "logreg"

    def code_identity(self) -> str:
        """Everything that reaches the generated kernels (the cache key's problem part)."""
        rotated = "|rotated" if self.rotation is not None else ""
        if self.kind == "expression":
            return f"expression|{self.dim}|{self.tree!r}{rotated}"
        if self.kind == "vector":
            return f"vector|{self.tree!r}{rotated}"
        return f"data|{self.model['kind']}" + "|sparse" * (self.sparse is not None)

    def problem_params(self, sparse_gradient: bool = False) -> np.ndarray:
        """The ``pd`` vector of the kernels: [gradient_noise, (data-problem settings:
        l2, weights regularised per class, batch size, classes, eval_every, input dropout;
        with sparse data, 1 when the optimizer takes the minibatch's present coordinates
        only (``sparse_gradient``: lazy Adam), else 0; an mlp's layers; the training rows
        last, which :meth:`runner_data` puts before the held-out ones)]."""
        if self.kind == "logreg":
            m = self.model
            pd = [self.gradient_noise, m["l2"], self._n_reg(), m["batch_size"], m["n_classes"]]
            pd += [m["eval_every"], m["input_dropout"]]
            if self.sparse is not None:
                pd.append(1.0 if sparse_gradient else 0.0)
            if m["kind"] == "mlp":
                activation = ACTIVATIONS.index(m["activation"])
                pd += [m["dropout"], activation, len(m["hidden"]), *m["hidden"]]
            pd.append(self.n_train())
            return np.array(pd, float)
        if self.rotation is not None:  # pd = [noise, R row by row, c]: see codegen's rotation
            assert self.rotation_centre is not None
            return np.concatenate(
                [[self.gradient_noise], self.rotation.ravel(), self.rotation_centre]
            )
        return np.array([self.gradient_noise], float)

    def _n_reg(self) -> int:
        """The features of a data problem, whose weights the l2 penalty covers (not the bias)."""
        if self.sparse is not None:
            return self.sparse.n_features - (1 if self.model["bias"] else 0)
        assert self.data is not None
        return self.data.shape[1] - 1 - (1 if self.model["bias"] else 0)

    def n_train(self) -> int:
        """The training rows of a data problem (0 for other problems)."""
        if self.sparse is not None:
            return self.sparse.n_rows
        return self.data.shape[0] if self.kind == "logreg" and self.data is not None else 0

    def problem_state_width(self, steps: int = 0) -> int:
        """Integers of per-run state the kernels keep: the minibatch permutation, the last
        loss evaluated, the permutation's epoch, then (with held-out rows) room for the
        evaluations of a run of ``steps`` steps (:meth:`evaluation_count`), three floats each."""
        if self.kind != "logreg" or self.data is None:
            return 0
        from adambench.kernels import EVAL_FIELDS

        return self.n_train() + 2 + EVAL_FIELDS * self.evaluation_count(steps)

    def evaluation_count(self, steps: int) -> int:
        """How many evaluations of the held-out rows a run of ``steps`` steps makes inside
        the compiled loop: at iterates 0, K, 2K, ... before the last (K = eval_every; the last
        iterate's are measured when the run closes). 0 without held-out rows."""
        if self.kind != "logreg" or self.test_data is None or steps < 1:
            return 0
        return (steps - 1) // int(self.model["eval_every"]) + 1

    def data_array(self) -> np.ndarray:
        """The training rows the kernels take (packed, for sparse data)."""
        return self.data if self.data is not None else np.zeros((0, 0))

    def runner_data(self) -> np.ndarray:
        """The ``data`` of a compiled run: the training rows then the held-out ones (dense), or
        the packed training rows with the packed held-out rows as a second row, zero-padded
        (sparse)."""
        if self.test_data is None:
            return self.data_array()
        assert self.data is not None
        if self.sparse is None:
            return np.ascontiguousarray(np.vstack([self.data, self.test_data]))
        width = max(self.data.shape[1], self.test_data.shape[1])
        out = np.zeros((2, width))
        out[0, : self.data.shape[1]] = self.data[0]
        out[1, : self.test_data.shape[1]] = self.test_data[0]
        return out

    def distance_to_minimum(self, x: np.ndarray) -> float | None:
        """The Euclidean distance from ``x`` to the nearest known minimizer (None: none known).

        Far from the origin (``max |d_i|`` beyond 1e150) it is computed as ``s * |d / s|`` with
        ``s = max |d_i|``, so that a point at 1e200 gives its true distance instead of
        overflowing in the sum of squares; inf or NaN in ``x`` gives inf or NaN, silently.
        """
        if not self.minimizers:
            return None
        with np.errstate(over="ignore", invalid="ignore"):
            return float(min(_norm(np.asarray(x, float) - m) for m in self.minimizers))

    def accuracy(self, x: np.ndarray, test: bool = False) -> float | None:
        """A classifier's accuracy at ``x`` on the training rows (``test``: the held-out
        rows); None for other problems, least squares, or no held-out rows."""
        rows = self.test_data if test else self.data
        if self.kind != "logreg" or rows is None or not rows.shape[0]:
            return None
        if self.sparse is not None:
            csr = self.sparse_test if test else self.sparse
            assert csr is not None
            return float(np.mean((csr.scores(x) > 0) == (csr.labels > 0.5)))
        from adambench.datasets import mlp_accuracy, model_accuracy

        if self.model["kind"] == "mlp":
            return mlp_accuracy(x, rows, self.model["widths"], self.model["activation"])
        return model_accuracy(self.model["kind"], x, rows, self.model["n_classes"])

    def loss_numpy(self, x: np.ndarray, test: bool = False) -> float:
        """The data problem's loss in numpy on the training rows (``test``: the held-out
        rows), with the l2 penalty (a reference for tests, and the test loss)."""
        from adambench.datasets import mlp_loss, model_loss

        rows = self.test_data if test else self.data
        assert self.kind == "logreg" and rows is not None
        m = self.model
        if self.sparse is not None:  # the compiled kernel: the runner's numbers, bit for bit
            from adambench.sparse_kernels import logreg_full_loss

            csr = self.sparse_test if test else self.sparse
            assert csr is not None
            args = (csr.indptr, csr.indices, csr.values, csr.labels)
            return float(logreg_full_loss(np.asarray(x, float), *args, m["l2"], self._n_reg()))
        if m["kind"] == "mlp":
            return mlp_loss(x, rows, m["widths"], m["activation"], m["l2"])
        return model_loss(m["kind"], x, rows, m["l2"], self._n_reg(), m["n_classes"])

    def formula(self) -> str:
        if self.kind == "logreg":
            m = self.model
            reg = f" + ({m['l2']:g}/2) |w|^2"
            batches = f", minibatches of {m['batch_size']}"
            if m["kind"] == "mlp":
                layers = "-".join(str(w) for w in m["widths"])
                net = f"mean cross-entropy(softmax({layers} {m['activation']} MLP), class)"
                dropped = f", dropout {m['dropout']:g}" * (m["dropout"] > 0)
                return net + reg.replace("|w|", "|W|") + batches + dropped
            dropped = f", input dropout {m['input_dropout']:g}" * (m["input_dropout"] > 0)
            stored = ", sparse rows" * (self.sparse is not None)
            return _MODEL_FORMULAS[m["kind"]] + reg + batches + dropped + stored
        return self.expression or ""


_MODEL_FORMULAS = {
    "logistic": "mean BCE(sigmoid(w . a), label)",
    "softmax": "mean cross-entropy(softmax(W a), class)",
    "least_squares": "mean (w . a - y)^2 / 2",
}


def _norm(d: np.ndarray) -> float:
    """|d| without overflow or underflow in the squares (call under np.errstate)."""
    if not d.size:
        return 0.0
    hi, lo = float(d.max()), float(d.min())
    if math.isnan(hi):
        return hi  # np.max propagates NaN
    # max |d_i| as max(max d, -min d): the same number without an |d| temporary (80 MB at 1e7)
    s = max(hi, -lo)
    if s == 0.0 or not math.isfinite(s):
        return s  # 0 or inf
    if 1e-150 < s < 1e150:
        return float(np.linalg.norm(d))  # the squares are safe: the usual sum, bit for bit
    return s * float(np.linalg.norm(d / s))


# ---------------------------------------------------------------------------------------------
# The registry of shipped problems


def is_path(name: str) -> bool:
    return (
        os.sep in name
        or "/" in name
        or name.endswith((".yaml", ".yml"))
        or (name not in builtin_files() and Path(name).is_file())
    )


def load_problem(name_or_path: str | Path, dim: int | None = None) -> Problem:
    """Load a shipped problem by name, or a problem file by path; ``dim`` resizes vector ones."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or is_path(text):
        raw = safeyaml.load_file(text)
        base = Path(text).resolve().parent
        return problem_from_dict(raw, where=text, dim=dim, source=text, base_dir=base)
    files = builtin_files()
    if text not in files:
        raise ProblemError(
            f"unknown problem '{text}'{did_you_mean(text, files)}; `adambench list` shows the "
            f"{len(files)} shipped problems (or give a path to a YAML file)"
        )
    raw = safeyaml.load_file(files[text])
    where = f"problems/{text}.yaml"
    return problem_from_dict(raw, where, dim=dim, source="built-in", base_dir=files[text].parent)


#: The largest dimension ``--rotate`` takes: R is a dense dim x dim matrix, applied every step.
MAX_ROTATE_DIM = 2000


def with_variant(
    problem: Problem, noise: float | None = None, rotate: int | None = None
) -> Problem:
    """``problem`` with additive gradient noise of standard deviation ``noise`` (replacing the
    file's ``gradient_noise``) and/or rotated by a seeded random rotation (``rotate``: the seed),
    as BBOB rotates its functions to break the axis alignment that favours per-coordinate methods.

    The rotated loss is f(c + R (x - c)), with R uniformly random orthogonal (Haar: the QR
    factor of a Gaussian matrix from ``numpy.random.default_rng(seed)``, signs fixed) and c the
    first known minimiser (else the domain's centre). Its minimum value is f's; its minimisers
    and its start are f's mapped by x -> c + R^T (x - c), so the rotated run starts at the same
    loss and distance from the minimum. The domain (plots, random starts) stays the file's box.
    """
    changes: dict[str, Any] = {}
    if noise is not None:
        noise = checked_noise(noise)
        if problem.kind == "logreg" and noise > 0:
            raise UsageError(
                "--noise applies to expression and vector problems (data problems' "
                "gradients are already minibatch estimates)"
            )
        changes["gradient_noise"] = changes["noise_override"] = noise
    if rotate is not None:
        changes.update(_rotated(problem, rotate))
    return replace(problem, **changes) if changes else problem


def checked_noise(value: Any) -> float:
    """``--noise``'s value as a float: a finite number >= 0, else a usage error (exit 2)."""
    return nonnegative_number(value, lambda message: UsageError(f"--noise {message}"))


def _rotate_flag_error(message: str) -> AdambenchError:
    return UsageError(f"--rotate {message}")


def _rotated(
    problem: Problem,
    seed: Any,
    fail: Callable[[str], AdambenchError] = _rotate_flag_error,
) -> dict[str, Any]:
    """What rotating ``problem`` by ``seed`` changes of it; ``fail`` makes the error of a bad
    seed or a problem too large, naming where the rotation was asked for (``--rotate``, or a
    file's ``rotate:``)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise fail(f"takes a seed, a whole number >= 0, got {seed!r}")
    if problem.kind == "logreg":
        raise UsageError("--rotate applies to expression and vector problems, not to data problems")
    if problem.dim > MAX_ROTATE_DIM:
        raise fail(
            f"takes problems of at most {MAX_ROTATE_DIM} variables (R is dense); "
            f"this one has {problem.dim}"
        )
    if problem.rotation is not None:
        raise UsageError(
            f"problem '{problem.name}' is rotated already (its file says rotate: "
            f"{problem.rotation_seed})"
        )
    R = haar_rotation(problem.dim, seed)
    c = problem.minimizers[0].copy() if problem.minimizers else problem.domain.mean(axis=1)

    def back(x: np.ndarray) -> np.ndarray:  # the point whose rotated image is x
        return c + R.T @ (x - c)

    return {
        "rotation_seed": seed,
        "rotation": R,
        "rotation_centre": c,
        "start": back(problem.start),
        "minimizers": tuple(back(m) for m in problem.minimizers),
    }


def haar_rotation(n: int, seed: int) -> np.ndarray:
    """A uniformly random n x n orthogonal matrix (Haar measure; Mezzadri 2007): Q of the QR
    factorisation of a standard Gaussian matrix, each column's sign set by R's diagonal."""
    a = np.random.default_rng(seed).standard_normal((n, n))
    q, r = np.linalg.qr(a)
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)


# Validation: every error names the file and the key (see adambench.fields).


@dataclass(frozen=True)
class _Shape:
    """What the kind of a problem decides: its variables, dimension and objective."""

    kind: str
    variables: tuple[str, ...]
    n: int
    expression: str | None = None
    tree: expr.Node | None = None
    data: np.ndarray | None = None
    model: dict[str, Any] = field(default_factory=dict)
    test_data: np.ndarray | None = None
    sparse: SparseRows | None = None
    sparse_test: SparseRows | None = None


def problem_from_dict(
    raw: Any,
    where: str,
    dim: int | None = None,
    source: str = "user",
    base_dir: Path | None = None,
) -> Problem:
    """Validate a problem file's content and build the :class:`Problem`; a data file's path is
    relative to ``base_dir`` (the problem file's folder; None: the working directory)."""
    f, name, description, is_data = _head(raw, where)
    shape = _shape(f, is_data, base_dir)
    n = _resized(shape, name, dim)
    if shape.kind == "vector":
        assert shape.tree is not None
        _check_stencil_ranges(shape.tree, n, f)
    start = minima.point(raw.get("start", {"fill": 0}), n, f, "start")
    known = minima.minimum(f, n, shape.n) if "minimum" in raw else minima.Minimum((), None)
    minimizers, min_value = known.points, known.value
    notes: list[str] = [known.note] if known.note else []
    is_mlp = shape.kind == "logreg" and shape.model["kind"] == "mlp"
    if is_mlp:
        start = _mlp_start(shape.model, start if "start" in raw else None, notes)
    elif shape.kind == "logreg" and shape.sparse is None:
        minimizers, min_value, steps_taken = _data_optimum(shape, where)
        notes.append(_optimum_note(shape.model["kind"], steps_taken))
        if shape.model["kind"] == "softmax" and shape.model["bias"]:
            # The loss is the same when one constant is added to every class's bias: the
            # minimisers are a line, and a distance to one point of it would mislead.
            minimizers = ()
            notes.append("the minimiser is not unique (the biases only up to a common constant)")
    notes += [_SPARSE_NOTE] * (shape.sparse is not None)
    held_out = _held_out_target(f, shape)
    settings = _settings(f, min_value, start, minimizers, known.note is not None, held_out)
    if shape.kind == "logreg" and shape.data is not None:
        notes += _batch_notes(_n_rows(shape), shape.model["batch_size"])
        notes += _eval_notes(shape.model["eval_every"], shape.test_data is not None)
    problem = Problem(
        name=name.strip(),
        description=description.strip(),
        kind=shape.kind,
        variables=shape.variables,
        dim=n,
        expression=shape.expression,
        tree=shape.tree,
        start=start,
        minimizers=minimizers,
        min_value=min_value,
        source=source,
        data=shape.data,
        model=shape.model,
        test_data=shape.test_data,
        sparse=shape.sparse,
        sparse_test=shape.sparse_test,
        notes=tuple(notes),
        tags=_tags(f),
        reference=f.text("reference", "").strip(),
        **settings,
    )
    return _rotated_by_file(problem, f) if "rotate" in f else problem


def _head(raw: Any, where: str) -> tuple[Fields, str, str, bool]:
    """The file's fields, name and description, and whether it is a data problem; its keys
    checked against the kind's."""
    if not isinstance(raw, Mapping):
        raise ConfigError(
            "a problem file must be a mapping of keys (name, variables, ...)", where=where
        )
    f = Fields(raw, where)
    is_data = "data" in raw or "model" in raw
    f.unknown_keys(_DATA_KEYS if is_data else _EXPRESSION_KEYS)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise f.fail("name", "is required and must be a non-empty string")
    if "start" not in raw and not is_data:
        raise f.fail("start", "is required (one number per variable)")
    return f, name, f.text("description", ""), is_data


def _rotated_by_file(problem: Problem, f: Fields) -> Problem:
    """The problem rotated by its file's ``rotate: SEED`` (as ``--rotate SEED`` would), at the
    dim it was loaded at: a rotated function that is a file of its own (BBOB's rotated
    ellipsoid at any dim)."""
    rotated = _rotated(problem, f.get("rotate"), lambda message: f.fail("rotate", message))
    return replace(problem, file_rotation=True, **rotated)


_SPARSE_NOTE = "sparse data: no minimum computed (targets are values, not gaps)"


def _n_rows(shape: _Shape) -> int:
    """The training rows of a data problem's shape, sparse or dense."""
    assert shape.data is not None
    return shape.sparse.n_rows if shape.sparse is not None else shape.data.shape[0]


def _shape(f: Fields, is_data: bool, base_dir: Path | None) -> _Shape:
    """The kind of problem the file describes, and its variables and objective."""
    if is_data:
        return _data_problem(f, base_dir)
    if "dim" in f:
        return _vector_shape(f)
    if "variables" not in f:
        raise f.fail("variables", "is required (or dim for a vector problem)")
    variables = _variables(f.get("variables"), f)
    expression = _expression_text(f)
    names = {v: f"v{k}" for k, v in enumerate(variables)}
    tree = expr.parse(expression, expr.Grammar(names=names), where=f"{f.where}: expression")
    return _Shape("expression", variables, len(variables), expression, tree)


def _vector_shape(f: Fields) -> _Shape:
    """A vector problem: ``dim`` and a sum over a stencil of ``x``."""
    if "variables" in f:
        raise ConfigError("give either 'variables' or 'dim', not both", where=f.where)
    n = f.integer("dim", 1, MAX_DIM)
    expression = _expression_text(f)
    tree = expr.parse(
        expression, expr.Grammar(names={}, vector="x"), where=f"{f.where}: expression"
    )
    if not expr.vector_reductions(tree):
        raise f.fail("expression", "has no sum(i, lo, hi, term) over x")
    return _Shape("vector", (), n, expression, tree)


def _resized(shape: _Shape, name: str, dim: int | None) -> int:
    """The problem's dimension, after ``--dim`` (which only vector problems take)."""
    if dim is None:
        return shape.n
    if shape.kind != "vector":
        raise ProblemError(
            f"problem '{name}' has fixed variables; --dim applies to vector problems"
        )
    if isinstance(dim, bool) or not isinstance(dim, int) or not 1 <= dim <= MAX_DIM:
        raise ProblemError(f"--dim must be between 1 and {MAX_DIM:g}, got {dim!r}")
    return dim


def _settings(
    f: Fields,
    min_value: float | None,
    start: np.ndarray,
    minimizers: tuple[np.ndarray, ...],
    dropped: bool = False,
    held_out: tuple[str, float] | None = None,
) -> dict[str, Any]:
    """The keys every kind of problem has: target, plot box, steps, noise, suggestions, scale
    (``dropped``: the file's minimum could not follow --dim; ``held_out``: the target is on a
    data problem's held-out rows, :func:`_held_out_target`)."""
    if held_out is None:
        metric, target = "loss", minima.target(f, min_value, len(start), dropped)
    else:
        metric, target = held_out
    domain = _domain(f.get("domain"), len(start), start, minimizers, f)
    steps = f.integer("steps", 1, MAX_STEPS, 1000)
    noise = f.number("gradient_noise", 0.0)
    if noise < 0:
        raise f.fail("gradient_noise", f"must be >= 0, got {noise:g}")
    suggested = _suggested(f.get("suggested", {}), f)
    contour = f.choice("contour", ("auto", "log", "linear"), "auto")
    extent = [1.0, float(np.max(np.abs(domain))), float(np.max(np.abs(start)))]
    extent += [float(np.max(np.abs(m))) for m in minimizers]
    scale = f.number("scale") if "scale" in f else max(extent)
    if scale <= 0:
        raise f.fail("scale", f"must be > 0, got {scale:g}")
    return {
        "target": target,
        "target_metric": metric,
        "domain": domain,
        "steps": steps,
        "gradient_noise": noise,
        "suggested": suggested,
        "contour": contour,
        "scale": scale,
    }


#: Targets on a data problem's held-out rows: the metric and the comparison that reaches it.
HELD_OUT_TARGETS = {"test_loss": "<=", "test_accuracy": ">="}


def _held_out_target(f: Fields, shape: _Shape) -> tuple[str, float] | None:
    """A data problem's target on its held-out rows, ``target: {test_loss: v}`` or
    ``{test_accuracy: a}``: the metric and its value, checked (None: the target is not one)."""
    raw = f.get("target")
    if not isinstance(raw, Mapping):
        return None
    metric = next((key for key in HELD_OUT_TARGETS if key in raw), None)
    if metric is None:
        return None
    if len(raw) != 1:
        raise f.fail("target", f"{{{metric}: v}} takes no other key, got {show(raw)}")
    block = f.nested("target", raw)
    value = block.number(metric)
    if shape.kind != "logreg":
        raise block.fail(metric, "is a target for data problems (on their held-out rows)")
    if shape.test_data is None:
        raise block.fail(metric, "needs held-out rows: give data: {test_fraction: f} with f > 0")
    if metric == "test_accuracy":
        if shape.model["kind"] == "least_squares":
            raise block.fail(metric, "least squares is not a classifier (give test_loss)")
        if not 0.0 <= value <= 1.0:
            raise block.fail(metric, f"must be a fraction between 0 and 1, got {value:g}")
    return metric, value


def _tags(f: Fields) -> tuple[str, ...]:
    """The file's ``tags:``: known words (:data:`TAGS`), each once, in the file's order."""
    value = f.get("tags", [])
    if not isinstance(value, list):
        raise f.fail("tags", f"must be a list of tag words, got {show(value)}")
    tags: list[str] = []
    for tag in value:
        if not isinstance(tag, str) or tag not in TAGS:
            shown = repr(tag) if isinstance(tag, str) else show(tag)
            raise f.fail("tags", f"has unknown tag {shown}; known: {', '.join(TAGS)}")
        if tag not in tags:
            tags.append(tag)
    return tuple(tags)


def _variables(value: Any, f: Fields) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise f.fail("variables", "must be a non-empty list of names, e.g. [x, y]")
    names = []
    for v in value:
        if not isinstance(v, str) or not v.isidentifier():
            raise f.fail("variables", f"must hold identifiers, got {show(v)}")
        if v.startswith("__") or v in _RESERVED:
            raise f.fail("variables", f"cannot use the reserved name '{v}'")
        if v in names:
            raise f.fail("variables", f"names '{v}' twice")
        names.append(v)
    if len(names) > 1000:
        raise f.fail("variables", "has more than 1000 names; use dim and sum(...) instead")
    return tuple(names)


def _expression_text(f: Fields) -> str:
    if "expression" not in f:
        raise f.fail("expression", "is required (the objective as a formula)")
    value = f.get("expression")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise f.fail("expression", f"must be a string, got {show(value)}")
    return str(value)


def _check_stencil_ranges(tree: expr.Node, n: int, f: Fields) -> None:
    problem = expr.vector_range_error(tree, n)
    if problem is not None:
        raise f.fail("expression", problem)


def _domain(
    value: Any, n: int, start: np.ndarray, mins: tuple[np.ndarray, ...], f: Fields
) -> np.ndarray:
    if value is None:
        pts = np.vstack([start, *mins])
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        pad = np.maximum(0.2 * (hi - lo), 1.0)
        return np.column_stack([lo - pad, hi + pad])
    if not isinstance(value, list) or not value:
        raise f.fail("domain", "must be [lo, hi] or one [lo, hi] per variable")
    if all(not isinstance(v, list) for v in value):
        if len(value) != 2:
            raise f.fail("domain", "must be [lo, hi] or one [lo, hi] per variable")
        # one pair for every variable: read once, and kept once (a read-only view of n rows,
        # no copy: a vector problem may have 1e7 variables, 160 MB as a full table)
        pair = [f.as_number(value[0], "domain"), f.as_number(value[1], "domain")]
        out = np.broadcast_to(np.array(pair, float), (n, 2))
    else:
        if len(value) != n or not all(isinstance(v, list) and len(v) == 2 for v in value):
            raise f.fail("domain", f"must have {n} pairs [lo, hi], one per variable")
        out = np.array([[f.as_number(a, "domain"), f.as_number(b, "domain")] for a, b in value])
    if np.any(out[:, 0] >= out[:, 1]):
        raise f.fail("domain", "needs lo < hi for every variable")
    return out


def _suggested(value: Any, f: Fields) -> dict[str, dict[str, Any]]:
    if not isinstance(value, Mapping):
        raise f.fail("suggested", "must map optimizer names to {hyperparameter: value}")
    out: dict[str, dict[str, Any]] = {}
    for opt, hps in value.items():
        if not isinstance(hps, Mapping):
            raise f.fail(f"suggested.{opt}", "must be a mapping {hyperparameter: value}")
        out[str(opt)] = dict(hps)
    return out


_GENERATED_KEYS = ("generator", "n_samples", "noise", "data_seed")
#: The largest generated corpus (documents x mean length), a bound on time and memory.
_MAX_CORPUS_WORDS = 50_000_000
_BOW_KEYS = ("n_docs", "vocab", "doc_length", "zipf", "informative", "signal")
_FILE_KEYS = ("file", "format", "target", "zero_based", "sparse")
_SPLIT_KEYS = ("standardize", "test_fraction", "split_seed", "max_rows")


def _data_problem(f: Fields, base_dir: Path | None) -> _Shape:
    """A data problem: its data set (train and held-out rows), model and weights."""
    from adambench.datasets import design

    data = f.mapping("data", "must be a mapping", {})
    data.unknown_keys((*_GENERATED_KEYS, *_BOW_KEYS, "builtin", *_FILE_KEYS, *_SPLIT_KEYS))
    model = _model(f)
    if data.get("generator") == "bow":
        return _sparse_shape(f, data, model, *_bow_corpus(data, model))
    if "file" in data and data.boolean("sparse", False):
        return _sparse_shape(f, data, model, *_svmlight_sparse(data, model, base_dir))
    if "sparse" in data and "file" not in data:
        raise data.fail("sparse", "applies to an svmlight file (file:); bow data is always sparse")
    for key in _BOW_KEYS:
        if key in data:
            raise data.fail(key, "applies to generator: bow")
    features, target, source = _data_set(data, model["kind"], base_dir)
    model["n_classes"] = _n_classes(model["kind"], target)
    train_x, train_y, test_x, test_y = _split(data, features, target)
    if len(test_y):
        source += f"; {len(train_y)} rows for training, {len(test_y)} held out"
    _data_batching(f, model, len(train_y), len(test_y))
    table = design(train_x, train_y, model["bias"])
    test = design(test_x, test_y, model["bias"]) if len(test_y) else None
    per_class = table.shape[1] - 1
    n = per_class * (model["n_classes"] if model["kind"] == "softmax" else 1)
    if model["kind"] == "mlp":
        model["widths"] = [per_class, *model["hidden"], model["n_classes"]]
        n = mlp_size(model["widths"])
    if n > MAX_DIM:
        raise f.fail("data", f"gives {n:,} weights, more than {MAX_DIM:,}")
    model.update(n_features=features.shape[1], source=source)
    generated = "file" not in data and "builtin" not in data
    if generated and model["kind"] not in ("softmax", "mlp"):
        default_vars: Any = ["w1", "w2"] + (["b"] if model["bias"] else [])
    else:
        default_vars = None  # unnamed, as a vector problem's: x[0..n-1]
    variables = _data_variables(f, default_vars, n)
    return _Shape("logreg", variables, n, data=table, model=model, test_data=test)


def _sparse_shape(
    f: Fields, data: Fields, model: dict[str, Any], corpus: SparseRows, source: str
) -> _Shape:
    """A logistic model on sparse rows (the bow corpus, an svmlight file), CSR end to end."""
    from adambench.corpus import pack

    if data.boolean("standardize", False):
        raise data.fail("standardize", "would make sparse data dense (centring)")
    model["n_classes"] = 2
    train, test = _sparse_split(data, corpus)
    if test is not None:
        source += f"; {train.n_rows} rows for training, {test.n_rows} held out"
    _data_batching(f, model, train.n_rows, test.n_rows if test is not None else 0)
    if model["bias"]:
        train, test = train.with_bias(), test.with_bias() if test is not None else None
    n = train.n_features
    model.update(n_features=corpus.n_features, source=source)
    variables = _data_variables(f, None, n)
    packed_test = pack(test) if test is not None else None
    shape = _Shape("logreg", variables, n, data=pack(train), model=model, test_data=packed_test)
    return replace(shape, sparse=train, sparse_test=test)


def _bow_corpus(data: Fields, model: dict[str, Any]) -> tuple[SparseRows, str]:
    """The corpus the block's generator settings (``BOW_DEFAULTS``) give, and its description."""
    from adambench.corpus import BOW_DEFAULTS, bag_of_words

    if model["kind"] != "logistic":
        raise data.fail("generator", "bow needs model.kind: logistic (its kernels are sparse)")
    for key in ("n_samples", "noise"):
        if key in data:
            raise data.fail(key, "applies to generator: two_moons")
    for key in (*_FILE_KEYS[1:], "max_rows"):
        if key in data:
            raise data.fail(key, "applies to a data file (file: or builtin:)")
    d = BOW_DEFAULTS
    vocab = data.integer("vocab", 1, 1_000_000, int(d["vocab"]))
    settings = {
        "n_docs": data.integer("n_docs", 2, 1_000_000, int(d["n_docs"])),
        "vocab": vocab,
        "doc_length": data.integer("doc_length", 1, 10_000, int(d["doc_length"])),
        "zipf": data.number("zipf", float(d["zipf"])),
        "informative": data.integer("informative", 0, vocab, min(int(d["informative"]), vocab)),
        "signal": data.number("signal", float(d["signal"])),
        "data_seed": data.integer("data_seed", 0, 2**63 - 1, 0),
    }
    for key in ("zipf", "signal"):
        if not 0 <= settings[key] <= 100:
            raise data.fail(key, f"must be between 0 and 100, got {settings[key]:g}")
    words = settings["n_docs"] * settings["doc_length"]
    if words > _MAX_CORPUS_WORDS:
        raise data.fail(
            "n_docs", f"x doc_length is {words:,} words, more than {_MAX_CORPUS_WORDS:,}"
        )
    corpus = bag_of_words(**settings)
    if np.unique(corpus.labels).shape[0] < 2:
        raise data.fail("n_docs", "gives documents of one class only (give more documents)")
    described = (
        f"bag of words, {settings['n_docs']} documents, vocabulary {vocab}, "
        f"{corpus.nnz:,} nonzeros, data seed {settings['data_seed']}"
    )
    return corpus, described


def _sparse_split(data: Fields, corpus: SparseRows) -> tuple[SparseRows, SparseRows | None]:
    """The training and held-out rows: the dense split's rule (``split_and_scale``) on the
    row numbers, so a sparse and a dense copy of the same rows split alike."""
    numbers = np.arange(corpus.n_rows, dtype=np.float64).reshape(-1, 1)
    train_k, _, test_k, _ = _split(data, numbers, corpus.labels)
    train = corpus.take(train_k[:, 0].astype(np.int64))
    test = corpus.take(test_k[:, 0].astype(np.int64)) if test_k.shape[0] else None
    return train, test


def _data_batching(f: Fields, model: dict[str, Any], n_train: int, n_test: int) -> None:
    """The model's batch size (at most the training rows) and its default eval_every."""
    model["batch_size"] = f.nested("model", f.get("model") or {}).integer(
        "batch_size", 1, n_train, min(16, n_train)
    )
    if model["eval_every"] == 0:
        steps = f.get("steps")
        cap = steps if isinstance(steps, int) and not isinstance(steps, bool) else MAX_STEPS
        model["eval_every"] = default_eval_every(n_train, model["batch_size"], cap, n_test)


def _data_variables(f: Fields, default: list[str] | None, n: int) -> tuple[str, ...]:
    """The names of the weights: given (one per weight), the default, or none (unnamed)."""
    value = f.get("variables", default)
    if value is None:
        return ()
    variables = _variables(value, f)
    if len(variables) != n:
        raise f.fail("variables", f"must name {n} weights, got {len(variables)}")
    return variables


def _data_set(
    data: Fields, model: str, base_dir: Path | None
) -> tuple[np.ndarray, np.ndarray, str]:
    """Features, target and a one-line description of the data set the block names."""
    from adambench import data_files

    sources = [key for key in ("generator", "builtin", "file") if key in data]
    if len(sources) > 1:
        raise data.fail(None, f"give one of generator, builtin or file, not {sources}")
    source = sources[0] if sources else "generator"
    if source == "generator":
        for key in (*_FILE_KEYS[1:], "max_rows"):
            if key in data:
                raise data.fail(key, "applies to a data file (file: or builtin:)")
        return _generated(data)
    for key in _GENERATED_KEYS[1:]:
        if key in data:
            raise data.fail(key, "applies to generated data (generator: two_moons)")
    max_rows = data.integer("max_rows", 1, 2**62, None) if "max_rows" in data else None
    if source == "builtin":
        for key in _FILE_KEYS[1:]:
            if key in data:
                raise data.fail(key, "applies to a data file (file:), not a shipped data set")
        name = data.choice("builtin", tuple(data_files.BUILTIN_SETS))
        table = data_files.builtin_table(name, max_rows)
        described = f"data set {name}: {data_files.BUILTIN_SETS[name]}"
    else:
        table = _file_table(data, base_dir, max_rows)
        described = f"file {data.text('file')}"
    if table.features.shape[1] == 0:
        only = f"has no feature columns besides '{table.target_name}'"
        raise ConfigError(only, where=table.where)
    target = table.target
    if model != "least_squares":
        target, _ = data_files.class_labels(table, binary=model == "logistic")
    return table.features, target, f"{described}; {table.features.shape[1]} features"


def _data_path(data: Fields, base_dir: Path | None) -> tuple[Path, str, str]:
    """The data file's path (relative to the problem file's folder), as written, and format."""
    from adambench import data_files

    text = data.text("file", got=True)
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    guessed = data_files.format_of(path)
    if "format" in data or guessed is None:
        if "format" not in data:
            raise data.fail("format", f"is needed: '{text}' has no .csv, .npz or .svm suffix")
        return path, text, data.choice("format", data_files.FORMATS)
    return path, text, guessed


def _svmlight_sparse(data: Fields, model: dict[str, Any], base_dir: Path | None) -> Any:
    """An svmlight file read into CSR arrays (``sparse: true``): never a dense matrix."""
    from adambench import data_files
    from adambench.corpus import SparseRows

    if model["kind"] != "logistic":
        raise data.fail("sparse", "needs model.kind: logistic (its kernels are sparse)")
    path, text, fmt = _data_path(data, base_dir)
    if fmt != "svmlight":
        raise data.fail("sparse", f"applies to an svmlight file, not a {fmt} file")
    if "target" in data:
        raise data.fail("target", "applies to a CSV file; an svmlight file has its labels")
    max_rows = data.integer("max_rows", 1, 2**62, None) if "max_rows" in data else None
    zero_based = data.boolean("zero_based", False)
    indptr, indices, values, labels, width = data_files.read_svmlight_csr(
        path, zero_based, max_rows
    )
    rows = np.arange(labels.shape[0])
    table = data_files.Table(text, np.zeros((rows.shape[0], 0)), labels, (), "label", rows, "row")
    if width == 0:
        raise ConfigError("has no feature columns besides 'label'", where=text)
    target, _ = data_files.class_labels(table, binary=True)
    corpus = SparseRows(indptr, indices, values, target, width)
    return corpus, f"file {text}; {width} features, {corpus.nnz:,} nonzeros, stored sparse"


def _file_table(data: Fields, base_dir: Path | None, max_rows: int | None) -> Any:
    """The user's data file the block names (its path relative to the problem file)."""
    from adambench import data_files

    path, text, fmt = _data_path(data, base_dir)
    target = None
    if fmt == "csv":
        if "target" not in data:
            raise data.fail("target", "is required for a CSV file (the column to predict)")
        target = data.text("target", got=True)
    elif "target" in data:
        raise data.fail("target", f"applies to a CSV file; a {fmt} file has its labels")
    zero_based = data.boolean("zero_based", False)
    return data_files.read_table(path, fmt, text, target, max_rows, zero_based)


def _generated(data: Fields) -> tuple[np.ndarray, np.ndarray, str]:
    """Two moons (the only generator), and its description."""
    from adambench.datasets import two_moons

    data.choice("generator", ("two_moons", "bow"), "two_moons")
    n_samples = data.integer("n_samples", 2, 10_000_000, 200)
    noise = data.number("noise", 0.2)
    if noise < 0:
        raise data.fail("noise", f"must be >= 0, got {noise:g}")
    seed = data.integer("data_seed", 0, 2**63 - 1, 0)
    points, labels = two_moons(n_samples, noise, seed)
    return points, labels, f"two moons, {n_samples} samples, noise {noise:g}, data seed {seed}"


def _n_classes(model: str, target: np.ndarray) -> int:
    """The classes of a softmax or mlp (labels are 0..k-1 by now), 2 for logistic, 1 otherwise."""
    if model in ("softmax", "mlp"):
        return int(target.max()) + 1
    return 2 if model == "logistic" else 1


def _split(data: Fields, features: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, ...]:
    """The block's seeded train/test split and standardisation (see data_files)."""
    from adambench.data_files import split_and_scale

    fraction = data.number("test_fraction", 0.0)
    if not 0 <= fraction <= 0.9:
        raise data.fail("test_fraction", f"must be between 0 and 0.9, got {fraction:g}")
    seed = data.integer("split_seed", 0, 2**63 - 1, 0)
    standardize = data.boolean("standardize", False)
    parts = split_and_scale(features, target, fraction, seed, standardize)
    if len(parts[1]) < 2:
        raise data.fail("test_fraction", f"leaves {len(parts[1])} training rows (at least 2)")
    return parts


def _model(f: Fields) -> dict[str, Any]:
    """The ``model`` block of a data problem (its batch size is checked with the data)."""
    from adambench.datasets import MODELS

    model = f.mapping("model", "must be a mapping", {})
    model.unknown_keys((*_MODEL_KEYS, *_MLP_KEYS))
    kind = model.choice("kind", MODELS, "logistic")
    for key in _MLP_KEYS if kind != "mlp" else ("bias",):
        if key in model:
            applies = "to a linear model (an mlp's layers all have biases)"
            raise model.fail(key, f"applies {applies if key == 'bias' else 'to kind: mlp'}")
    bias = model.boolean("bias", False)
    l2 = model.number("l2", 1e-3)
    if l2 < 0:
        raise model.fail("l2", f"must be >= 0, got {l2:g}")
    # 0 until the data and batch sizes are known: then default_eval_every (in _data_problem).
    eval_every = model.integer("eval_every", 1, MAX_STEPS, 1) if "eval_every" in model else 0
    settings = {"kind": kind, "bias": bias, "l2": l2, "eval_every": eval_every}
    settings["input_dropout"] = _dropout(model, "input_dropout")
    if kind == "mlp":
        settings.update(_mlp_settings(model))
    return settings


_MODEL_KEYS = ("kind", "bias", "l2", "batch_size", "eval_every", "input_dropout")
_MLP_KEYS = ("hidden", "activation", "dropout", "init_seed")
#: An mlp's activations, by their code in the kernels (pd[MLP_ACTIVATION]).
ACTIVATIONS = ("tanh", "relu")


def _dropout(model: Fields, key: str) -> float:
    p = model.number(key, 0.0)
    if not 0 <= p < 1:
        raise model.fail(key, f"must be in [0, 1) (the probability of dropping a unit), got {p:g}")
    return p


def _mlp_settings(model: Fields) -> dict[str, Any]:
    """An mlp's hidden widths (one or two layers), activation, dropout and init seed."""
    hidden = model.get("hidden", [32])
    if isinstance(hidden, int) and not isinstance(hidden, bool):
        hidden = [hidden]
    widths_ok = isinstance(hidden, list) and all(
        isinstance(h, int) and not isinstance(h, bool) and 1 <= h <= 4096 for h in hidden
    )
    if not widths_ok or not 1 <= len(hidden) <= 2:
        raise model.fail(
            "hidden",
            f"must be one or two layer widths from 1 to 4096, e.g. [64, 32], got {hidden!r}",
        )
    return {
        "hidden": list(hidden),
        "activation": model.choice("activation", ACTIVATIONS, "tanh"),
        "dropout": _dropout(model, "dropout"),
        "init_seed": model.integer("init_seed", 0, 2**63 - 1, 0),
    }


def _mlp_start(model: dict[str, Any], given: np.ndarray | None, notes: list[str]) -> np.ndarray:
    """An mlp's start: the file's, or seeded Glorot weights (noted, with the non-convexity)."""
    notes.append("non-convex: no known minimum (targets are values, not gaps)")
    if given is not None:
        return given
    from adambench.datasets import glorot_start

    notes.insert(-1, f"start: Glorot uniform weights, zero biases (init_seed {model['init_seed']})")
    return glorot_start(model["widths"], model["init_seed"])


def _data_optimum(shape: _Shape, where: str) -> tuple[tuple[np.ndarray, ...], float, int]:
    """The minimiser and minimum of a data problem's training loss, and the solver's steps."""
    from adambench.datasets import model_loss, model_optimum

    model, n = shape.model, shape.n
    assert shape.data is not None
    n_reg = shape.data.shape[1] - 1 - (1 if model["bias"] else 0)
    args = (shape.data, model["l2"], n_reg, model["n_classes"])
    # Newton's method fails on extreme data (noise 1e200 overflows the Hessian) and on
    # separable data without l2 (the Hessian goes singular, the weights to infinity).
    steps_taken = 0
    try:
        cached = _cached_optimum(model["kind"], *args)
        if cached is not None:
            return cached
        with np.errstate(all="ignore"):
            w_opt, steps_taken = model_optimum(model["kind"], *args)
            min_value = model_loss(model["kind"], w_opt, *args)
        _keep_optimum(model["kind"], args, w_opt, min_value, steps_taken)
    except np.linalg.LinAlgError:
        w_opt, min_value = np.full(n, np.nan), math.nan
    if not (np.all(np.isfinite(w_opt)) and math.isfinite(min_value)):
        raise ConfigError(
            "the optimum of this data problem cannot be computed (no finite minimiser: "
            "separable data with l2 = 0, or extreme values); use model.l2 > 0 and moderate "
            "data (data.standardize: true)",
            where=where,
        )
    return (w_opt,), min_value, steps_taken


def _optimum_path(model: str, data: np.ndarray, *settings: Any) -> Path:
    """Where the optimum of (model, data, l2, n_reg, classes) is kept: the cache directory,
    under a hash of everything that decides it (the solver's source and version included)."""
    import hashlib

    from adambench.cache import cache_dir
    from adambench.files import package_text
    from adambench.version import __version__

    h = hashlib.sha256(np.ascontiguousarray(data).tobytes())
    h.update(repr((data.shape, model, *settings, __version__)).encode())
    h.update(package_text("datasets.py").encode())
    return cache_dir() / "optima" / f"{h.hexdigest()[:32]}.json"


def _cached_optimum(
    model: str, data: np.ndarray, *settings: Any
) -> tuple[tuple[np.ndarray, ...], float, int] | None:
    """The kept optimum of a data problem (a later load of the same data needs no solve)."""
    import json

    from adambench.files import read_verified

    text = read_verified(_optimum_path(model, data, *settings))
    if text is None:
        return None
    kept = json.loads(text)
    return (np.array(kept["x"], float),), float(kept["value"]), int(kept["steps"])


def _keep_optimum(
    model: str, args: tuple[Any, ...], w: np.ndarray, value: float, steps: int
) -> None:
    """Keep a finite optimum for the next load (JSON numbers are exact: repr round-trips)."""
    import contextlib
    import json

    from adambench.files import write_verified

    if not (np.all(np.isfinite(w)) and math.isfinite(value)):
        return
    text = json.dumps({"x": w.tolist(), "value": value, "steps": steps})
    with contextlib.suppress(OSError):  # a read-only cache: solved again next time
        write_verified(_optimum_path(model, *args), text)


def _optimum_note(model: str, steps: int) -> str:
    if model == "least_squares":
        return "optimum by a direct solve of the normal equations"
    method = "Newton's method" if model == "logistic" else "Newton's method with backtracking"
    return f"optimum by {method} on the full-batch loss ({steps} steps)"


def default_eval_every(n_train: int, batch_size: int, steps: int, n_test: int = 0) -> int:
    """The ``eval_every`` of a data problem whose file gives none: an evaluation passes over
    the n_train training rows and the n_test held-out ones, a row of loss costing about half a
    row of gradient, so evaluating every 10 max(n_train, n_test) / batch_size steps keeps it
    near 10 % of the run or under. That count is rounded up to 1, 2 or 5 times a power of ten
    (200 rows in batches of 16: 125, so 200), and capped by the problem's ``steps`` (the last
    iterate is always measured). Full-batch problems get 10: their loss is a second pass over
    the rows, as dear as the gradient's."""
    wanted = math.ceil(10 * max(n_train, n_test) / batch_size)
    nice = 1
    while nice < wanted:
        nice = _next_nice(nice)
    return max(1, min(nice, steps))


def _next_nice(value: int) -> int:
    """The next of 1, 2, 5, 10, 20, 50, ... after ``value`` (itself one of them)."""
    return value * 5 // 2 if str(value)[0] == "2" else value * 2


def _eval_notes(every: int, held_out: bool) -> list[str]:
    """What the losses mean when the training loss (and the held-out rows) are not evaluated
    at every step."""
    if every == 1:
        return []
    what = "the training loss and the held-out rows are" if held_out else "the training loss is"
    return [
        f"{what} evaluated every {every} steps (and at the last): best loss, "
        f"steps to target and recorded losses are those of iterates 0, {every}, {2 * every}, ..."
    ]


def _batch_notes(size: int, batch: int) -> list[str]:
    """A note when the last minibatch of an epoch is shorter than the others."""
    last = size % batch
    if not last:
        return []
    return [
        f"{size} samples = {size // batch} batches of "
        f"{batch} + 1 of {last} per epoch (the short batch is kept)"
    ]


def list_problems() -> list[Problem]:
    """Every shipped problem, loaded (cheap: no sympy, no numba)."""
    return [load_problem(name) for name in builtin_files()]
