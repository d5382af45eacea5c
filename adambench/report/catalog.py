"""What `adambench list` and `adambench show` print, straight from the registries.

``catalog`` reads the problem files' headline fields without building the problems (no numpy,
no sympy), so `list` starts fast; ``describe`` loads one problem fully and derives its gradient.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from adambench import safeyaml
from adambench.files import package_text, read_verified, sha256_of, write_verified
from adambench.numbers import format_number
from adambench.report.tables import target_text

__all__ = [
    "catalog",
    "controls",
    "describe",
    "describe_optimizer",
    "gradient_lines",
    "optimizer_sources",
    "problem_record",
]


def _problem_headline(name: str, raw: Any) -> dict[str, Any]:
    raw = raw if isinstance(raw, dict) else {}
    if "data" in raw or "model" in raw:
        kind, dim = "data", _data_dim(raw)
    elif "dim" in raw:
        kind, dim = "vector", raw["dim"]
    else:
        kind, dim = "expression", len(raw.get("variables", []))
    target = raw.get("target")
    if isinstance(target, dict) and "gap" in target:
        target = f"min + {_value(target['gap'])}"
    return {
        "name": name,
        "kind": kind,
        "dim": dim,
        "steps": raw.get("steps", 1000),
        "target": target,
        "description": raw.get("description", ""),
        "suggested": raw.get("suggested", {}),
        # as the file states them (fill and pattern rules unexpanded): `list` builds no problem
        "formula": raw.get("expression"),
        "variables": raw.get("variables"),
        "start": raw.get("start"),
        "domain": raw.get("domain"),
        "minimum": raw.get("minimum"),
        "tags": raw.get("tags", []),
        "reference": raw.get("reference", ""),
    }


def _data_dim(raw: dict[str, Any]) -> int | str:
    """A data problem's number of weights, from its file alone: its variables, a shipped data
    set's shape, two moons' 2 features or a bow corpus's vocabulary (a bias adds one per class;
    an mlp's layers decide its own); "–" for a user's file."""
    from adambench.problem_files import BUILTIN_DATA_SHAPES

    if "variables" in raw:
        return len(raw["variables"])
    data = raw.get("data") if isinstance(raw.get("data"), dict) else {}
    model = raw.get("model") if isinstance(raw.get("model"), dict) else {}
    if "file" in data or data.get("builtin", "digits") not in BUILTIN_DATA_SHAPES:
        return "–"
    features, classes = BUILTIN_DATA_SHAPES[data["builtin"]] if "builtin" in data else (2, 2)
    if data.get("generator") == "bow":  # one weight per word of the vocabulary
        vocab = data.get("vocab", 10000)
        features = vocab if isinstance(vocab, int) else features
    if model.get("kind") == "mlp":
        from adambench.problem_files import mlp_size

        hidden = model.get("hidden", [32])
        hidden = [hidden] if isinstance(hidden, int) else hidden
        if not (isinstance(hidden, list) and all(isinstance(h, int) for h in hidden)):
            return "–"  # refused when the problem is loaded
        return mlp_size([features, *hidden, classes])
    per_class = features + (1 if model.get("bias") is True else 0)
    return per_class * (classes if model.get("kind") == "softmax" else 1)


def catalog() -> dict[str, Any]:
    """Problems and optimizers with their defaults and conventions (a library optimizer's is its
    paper), where each optimizer comes from (``built-in``, ``library``, ``entry point
    PACKAGE``), and the other ways to name one."""
    from adambench.optimizers.builtins import BUILTINS
    from adambench.optimizers.plugins import entry_point_specs
    from adambench.optimizers.rules import library_files, library_spec
    from adambench.problem_files import builtin_files

    problems = [_problem_headline(n, safeyaml.load_file(p)) for n, p in builtin_files().items()]
    problems_notes: list[str] = []
    library = [library_spec(name) for name in library_files()]  # convention: the paper
    specs = [*BUILTINS.values(), *library, *entry_point_specs(problems_notes).values()]
    optimizers = [
        {
            "name": spec.name,
            "summary": spec.summary,
            "source": spec.source,
            "defaults": {hp.name: hp.public(hp.default) for hp in spec.own_hyperparams},
            "ranges": {hp.name: hp.range_text() for hp in spec.own_hyperparams},
            "convention": spec.convention,
            "controls": spec.has_controls,
            "schedulable": spec.schedulable and spec.lr_index >= 0,
        }
        for spec in specs
    ]
    return {
        "problems": problems,
        "optimizers": optimizers,
        "controls": controls(),
        "optimizer_sources": optimizer_sources(),
        "notes": problems_notes,
    }


def controls() -> list[dict[str, Any]]:
    """The training controls every compiled optimizer takes after its own hyperparameters."""
    from adambench.optimizers.controls import CONTROLS

    return [
        {
            "name": hp.name,
            "default": hp.public(hp.default),
            "range": hp.range_text(),
            "description": hp.doc,
        }
        for hp in CONTROLS
    ]


def optimizer_sources() -> list[dict[str, str]]:
    """The other ways to name an optimizer with -O (files, torch), without importing torch."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        torch_state = f"torch {version('torch')} installed"
    except PackageNotFoundError:
        torch_state = "torch not installed: pip install 'adambench[torch]'"
    return [
        {
            "source": "file",
            "spec": "PATH.yaml(k=v,...)",
            "what": "an update rule in YAML, compiled (docs/optimizers.md: Your own optimizer)",
        },
        {
            "source": "file",
            "spec": "PATH.py(k=v,...)",
            "what": "a Python plugin with numba init/step, compiled",
        },
        {
            "source": "entry point",
            "spec": "NAME",
            "what": "a plugin an installed package registers (group adambench.optimizers)",
        },
        {
            "source": "torch",
            "spec": "torch:CLASS(k=v,...)",
            "what": f"a torch.optim.Optimizer subclass, stepped from Python ({torch_state})",
        },
    ]


def describe_optimizer(name: str) -> list[tuple[str, str]]:
    """(key, value) lines describing a built-in or library optimizer: its paper, hyperparameters
    with their defaults and ranges, and a library optimizer's update rule line by line."""
    from adambench.optimizers.registry import get
    from adambench.optimizers.rules import library_files, library_rule

    spec = get(name)
    lines = [("name", spec.name), ("description", spec.summary), ("source", spec.source)]
    if name in library_files():
        rule = library_rule(name)
        lines.append(("paper", rule.paper))
        lines.append(("file", f"adambench/optimizers/library/{name}.yaml"))
    else:
        lines.append(("convention", spec.convention))
    for hp in spec.hyperparams:
        default = ("true" if hp.default else "false") if hp.kind == "bool" else _value(hp.default)
        doc = f" ({hp.doc})" if hp.doc else ""
        lines.append((f"hyperparameter {hp.name}", f"{default} in {hp.range_text()}{doc}"))
    if name in library_files():
        lines += [(f"update #{k}", a.text) for k, a in enumerate(library_rule(name).update, 1)]
    return lines


def _vec(a: Any, limit: int = 8) -> str:
    vals = [_value(v) for v in list(a)[:limit]]
    more = f", ... ({len(a)} values)" if len(a) > limit else ""
    return "(" + ", ".join(vals) + more + ")"


def describe(name: str, dim: int | None = None) -> list[tuple[str, str]]:
    """(key, value) lines describing a problem, with its derived gradient."""
    from adambench.problems import load_problem

    p = load_problem(name, dim=dim)
    lines = [("name", p.name), ("description", p.description or "–"), ("source", p.source)]
    if p.kind == "vector":
        lines.append(("variables", f"x[0] .. x[{p.dim - 1}] (dim {p.dim}; --dim to change)"))
    elif not p.variables:  # a data problem's weights, as many as its data decides
        lines.append(("variables", f"x[0] .. x[{p.dim - 1}] (the model's {p.dim} weights)"))
    else:
        lines.append(("variables", ", ".join(p.variables)))
    lines.append(("objective", p.formula()))
    lines += gradient_lines(p)
    lines.append(("start", _vec(p.start)))
    lines += _minimum_lines(p)
    if p.target is None:
        lines.append(("target", "none"))
    elif p.target_metric == "loss":
        lines.append(("target", f"loss <= {format_number(p.target, 'detail')}"))
    else:
        lines.append(("target", target_text(p, "detail")))
    domain = " x ".join(f"[{_value(a)}, {_value(b)}]" for a, b in p.domain[:4])
    lines.append(("domain", domain + (" ..." if p.dim > 4 else "")))
    lines.append(("default steps", str(p.steps)))
    if p.tags:
        lines.append(("tags", ", ".join(p.tags)))
    if p.reference:
        lines.append(("reference", p.reference))
    if p.gradient_noise:
        sigma = _value(p.gradient_noise)
        lines.append(("gradient noise", f"Gaussian, sigma = {sigma} per component"))
    if p.kind == "logreg":
        lines.append(("data", p.model["source"]))
        lines.append(("model", _model_line(p.model)))
    from adambench.optimizers.registry import validate_suggestions

    validate_suggestions(p)  # refused here as `run` would refuse them
    for opt, hps in p.suggested.items():
        lines.append((f"suggested for {opt}", ", ".join(f"{k}={v}" for k, v in hps.items())))
    for note in p.notes:
        lines.append(("note", note))
    lines.append(
        ("note", "start, target and domain are the project's defaults (see docs/problems.md)")
        if p.source == "built-in"
        else ("note", "a user problem file")
    )
    return lines


_MODEL_GRADIENTS = {
    "logistic": "mean (sigmoid(w . a) - label) a + l2 w, over the minibatch",
    "softmax": "mean (softmax(W a) - onehot(class)) a^T + l2 W, over the minibatch",
    "least_squares": "mean (w . a - y) a + l2 w, over the minibatch",
    "mlp": "backpropagation, hand-derived: mean over the minibatch + l2 W (not the biases)",
}


def _model_line(m: Any) -> str:
    """The model in a few words: kind, bias, an mlp's layers and dropout."""
    if m["kind"] == "mlp":
        layers = "-".join(str(w) for w in m["widths"])
        line = f"{layers} {m['activation']} MLP (weights W1, b1, W2, b2, ...)"
        line += f", hidden dropout {m['dropout']:g}" * (m["dropout"] > 0)
    else:
        line = f"{m['kind']} regression" + " with a bias" * m["bias"]
    return line + f", input dropout {m['input_dropout']:g}" * (m["input_dropout"] > 0)


def problem_record(name: str, dim: int | None = None) -> dict[str, Any]:
    """One problem for `show --json`: every point expanded to its numbers (at ``dim``)."""
    from adambench.problems import load_problem

    p = load_problem(name, dim=dim)
    return {
        "name": p.name,
        "kind": "data" if p.kind == "logreg" else p.kind,
        "description": p.description,
        "source": p.source,
        "formula": p.formula(),
        "variables": list(p.variables) if p.kind != "vector" else None,
        "dim": p.dim,
        "start": p.start.tolist(),
        "domain": p.domain.tolist(),
        "minimum": {"x": [m.tolist() for m in p.minimizers], "value": p.min_value},
        "target": p.target,
        "target_metric": p.target_metric,
        "steps": p.steps,
        "gradient_noise": p.gradient_noise,
        "suggested": {k: dict(v) for k, v in p.suggested.items()},
        "tags": list(p.tags),
        "reference": p.reference,
        "notes": list(p.notes),
    }


def _value(v: Any) -> str:
    return format_number(v, "value")


def _minimum_lines(p: Any) -> list[tuple[str, str]]:
    """The known minimizers and minimum value, if any."""
    f = None if p.min_value is None else f"f = {format_number(p.min_value, 'detail')}"
    if p.minimizers:
        where = " or ".join(_vec(m) for m in p.minimizers)
        return [("minimum", where + ("" if f is None else f", {f}"))]
    return [("minimum", f)] if f is not None else []


def gradient_lines(p: Any) -> list[tuple[str, str]]:
    """The derived gradient, printed by sympy (the same derivation as the compiled kernel);
    kept in the cache directory, so that a second `show` needs no sympy (~0.3 s to import)."""
    if p.kind == "logreg":
        return [("gradient", _MODEL_GRADIENTS[p.model["kind"]])]
    path = _gradient_cache_path(p)
    cached = _read_gradient_lines(path)
    if cached is not None:
        return cached
    lines = _derive_gradient_lines(p)
    with contextlib.suppress(OSError):  # a read-only cache: derived again next time
        write_verified(path, json.dumps(lines))
    return lines


def _gradient_cache_path(p: Any) -> Path:
    """The file of ``p``'s gradient text: named by everything the text depends on (the
    expression, its variables, the derivation's code, adambench's and sympy's versions)."""
    from importlib.metadata import version

    from adambench.cache import cache_dir
    from adambench.version import __version__

    key = sha256_of(
        p.kind,
        repr(p.tree),
        repr(tuple(p.variables)),
        __version__,
        version("sympy"),
        package_text("report/catalog.py"),
        package_text("expr.py"),
    )
    return cache_dir() / "gradients" / f"{key}.json"


def _read_gradient_lines(path: Path) -> list[tuple[str, str]] | None:
    text = read_verified(path)
    if text is None:
        return None
    try:
        return [(str(key), str(value)) for key, value in json.loads(text)]
    except ValueError:
        return None


def _derive_gradient_lines(p: Any) -> list[tuple[str, str]]:
    import sympy

    from adambench import expr

    if p.kind == "expression":
        syms = {f"v{k}": sympy.Symbol(name, real=True) for k, name in enumerate(p.variables)}
        f = expr.to_sympy(p.tree, syms)
        return [
            (f"d/d{name}", str(sympy.diff(f, syms[f"v{k}"]))) for k, name in enumerate(p.variables)
        ]
    from adambench.expr import linear_sums

    try:
        linear_sums(p.tree)
    except ValueError:  # a function of sums and products: the chain rule's pieces
        return _reduced_gradient_lines(p)
    out = []
    for coef, node in linear_sums(p.tree)[0]:
        offsets = expr.stencil_offsets(node[3])
        syms = {k: sympy.Symbol("x[i]" if k == 0 else f"x[i{k:+d}]", real=True) for k in offsets}
        term = expr.to_sympy(node[3], {}, offsets=syms, index=sympy.Symbol("i"))
        for k in offsets:
            scale = "" if coef == 1 else f"{_value(coef)} * "
            out.append((f"d term/d {syms[k]}", f"{scale}{sympy.diff(term, syms[k])}"))
    return out


def _reduced_gradient_lines(p: Any) -> list[tuple[str, str]]:
    """A vector expression F(S1, S2, .., x[a], dim) of sums and products S_k over i: each S_k,
    dF/dS_k and dF/dx[a], and each term's (or factor's) derivative by the x it reads."""
    import sympy

    from adambench import expr

    reductions, absolutes = expr.vector_reductions(p.tree), expr.absolute_indices(p.tree)
    names = [f"S{k + 1}" for k in range(len(reductions))]
    names += [expr.render(leaf) for leaf in absolutes]
    syms = {name: sympy.Symbol(name, real=True) for name in names}
    table = {node: ("sym", name) for node, name in zip(reductions + absolutes, names, strict=True)}
    table[("dim",)] = ("sym", "dim")
    outer = expr.to_sympy(_substituted(p.tree, table), {**syms, "dim": sympy.Symbol("dim")})
    out = [(f"S{k + 1}", expr.render(node)) for k, node in enumerate(reductions)]
    out += [(f"d f/d {name}", str(sympy.diff(outer, syms[name]))) for name in names]
    for k, node in enumerate(reductions):
        leaves = expr.term_leaves(node[3])
        leaf_syms = {leaf: sympy.Symbol(expr.render(leaf), real=True) for leaf in leaves}
        term_table = {leaf: ("sym", str(sym)) for leaf, sym in leaf_syms.items()}
        term_table[("dim",)] = ("sym", "dim")
        term = expr.to_sympy(
            _substituted(node[3], term_table),
            {str(sym): sym for sym in leaf_syms.values()} | {"dim": sympy.Symbol("dim")},
            index=sympy.Symbol("i"),
        )
        what = "factor" if node[0] == "prod" else "term"
        for sym in leaf_syms.values():
            out.append((f"d {what} of S{k + 1}/d {sym}", str(sympy.diff(term, sym))))
    return out


def _substituted(node: Any, table: dict[Any, Any]) -> Any:
    """The tree with every subtree found in ``table`` replaced by its entry."""
    if node in table:
        return table[node]
    return tuple(
        _substituted(c, table) if isinstance(c, tuple) and c and isinstance(c[0], str) else c
        for c in node
    )
