"""The shape of the house: floors, no cycles, private names kept private, every module's face.

The floors are written down once, as import-linter's ``layers`` contract in pyproject.toml, and
checked here by running ``lint-imports``; the other rules are checked on the import graph
(grimp, which import-linter is built on) and on the source (ast). docs/architecture.md shows the
same map to a reader.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "adambench"


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (``adambench.engine.jobs``)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("adambench")


def test_the_layers_contract_holds():
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint)],  # reads [tool.importlinter] of pyproject.toml in the working folder
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 kept, 0 broken" in done.stdout


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles(graph):
    # Every import counts: at the top, inside functions and under TYPE_CHECKING.
    edges = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    assert _cycles(edges) == []


def test_nothing_imports_the_package_face_or_the_command_line(graph):
    for face in ("adambench", "adambench.cli"):
        importers = {
            m for m in graph.find_modules_that_directly_import(face) if not m.startswith(face)
        }
        allowed = {"adambench.__main__"} if face == "adambench.cli" else set()
        assert importers <= allowed, (face, importers - allowed)


def test_modules_of_a_subpackage_do_not_import_its_face(graph):
    packages = {name for name, path in modules().items() if path.name == "__init__.py"}
    for package in packages - {"adambench"}:
        for module in graph.find_children(package):
            assert package not in graph.find_modules_directly_imported_by(module), module


def _private_uses(tree: ast.Module, module: str) -> list[str]:
    """Names ``_x`` this module takes from another adambench module."""
    aliases: dict[str, str] = {}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("adambench"):
            for a in node.names:
                if a.name.startswith("_") and not a.name.startswith("__"):
                    found.append(f"{node.module}.{a.name}")
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("adambench"):
                    aliases[a.asname or a.name.split(".")[0]] = a.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            found.append(f"{aliases[node.value.id]}.{node.attr}")
    return found


def test_private_names_finder_sees_both_forms():
    tree = ast.parse("from adambench.x import _a\nfrom adambench import y\ny._b()\n")
    assert _private_uses(tree, "m") == ["adambench.x._a", "adambench.y._b"]


def test_no_private_name_is_used_outside_its_module():
    uses = {
        name: _private_uses(ast.parse(path.read_text(encoding="utf-8")), name)
        for name, path in modules().items()
    }
    assert {k: v for k, v in uses.items() if v} == {}


def test_every_module_names_its_public_face_in_all():
    # The run-loop template is not a module that is imported: its text is copied into
    # generated modules (its stubs exist for linting).
    missing = []
    for name, path in modules().items():
        if name == "adambench.codegen.runner_template":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = [
            t.id
            for node in tree.body
            if isinstance(node, ast.Assign)
            for t in node.targets
            if isinstance(t, ast.Name)
        ]
        if "__all__" not in targets:
            missing.append(name)
    assert missing == []


def test_every_subpackage_is_in_the_distribution():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    packages = {name for name, path in modules().items() if path.name == "__init__.py"}
    assert packages <= listed
    # folders of package data only: problems/*.yaml, optimizers/library/*.yaml, data/*.npz
    # (listed, else setuptools warns that an importable folder is left out of `packages`)
    assert listed - packages == {
        "adambench.problems",
        "adambench.optimizers.library",
        "adambench.data",
    }


def test_the_library_does_not_load_the_command_line_stack():
    code = (
        "import sys, adambench.engine, adambench.sweeps, adambench.checks; "
        "print(sorted(m for m in ('typer', 'rich', 'matplotlib', 'torch', 'dask') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_every_name_of_the_python_api_resolves():
    import adambench

    for name in adambench.__all__:
        assert getattr(adambench, name) is not None, name
    assert callable(adambench.run) and callable(adambench.sweep) and callable(adambench.check)
    assert isinstance(adambench.Result, type)


def _body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of a function's body, after its signature and docstring."""
    body = node.body
    if (
        len(body) > 1
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        body = body[1:]
    return node.end_lineno - body[0].lineno + 1


def test_functions_fit_on_one_screen():
    # Signatures (the CLI's option declarations) and docstrings do not count; the generated
    # code's template is text, not functions.
    long = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            is_function = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            if is_function and _body_lines(node) > 60:
                long.append(f"{name}.{node.name}: {_body_lines(node)}")
    assert long == []
