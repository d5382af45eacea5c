"""Start-up of the command line: what each command imports, the fast option coercion agreeing
with typer's own, and the one-command app behaving as the whole one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer._coercion import build_runtime_param
from typer.testing import CliRunner

from adambench.cli import app
from adambench.cli.app import COMMANDS, make_app
from adambench.cli.coercion import FastCoercion, install_fast_coercion

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("pydantic", "numba", "numpy", "sympy", "matplotlib", "torch", "dask")


def imported_by(args: list[str]) -> tuple[int, list[str]]:
    """Run the console entry point in a fresh process; its exit code and the heavy modules
    it imported."""
    code = (
        "import sys\n"
        f"sys.argv = ['adambench', *{args!r}]\n"
        "from adambench.cli import main\n"
        "try:\n    main()\nexcept SystemExit as e:\n    rc = e.code\n"
        f"print(rc, sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    rc, modules = done.stderr.strip().splitlines()[-1].split(" ", 1)
    return int(rc), eval(modules)


@pytest.mark.parametrize(
    "args", [["list"], ["--help"], ["show", "adam"], ["cache", "info"], ["run", "--help"], []]
)
def test_catalog_help_and_cache_commands_import_no_numerical_library_nor_pydantic(args):
    imported_by(["show", "adam"])  # the gradient text cached (a cold show needs sympy once)
    rc, modules = imported_by(args)
    assert rc in (0, 2) and modules == []


def test_a_warm_run_imports_neither_pydantic_sympy_nor_matplotlib():
    args = ["run", "beale", "--optimizers", "adam,rmsprop", "--steps", "20"]
    imported_by(args)  # the kernels cached
    rc, modules = imported_by(args)
    assert rc == 0 and modules == ["numba", "numpy"]


def every_option(group=None) -> list[tuple[str, typer.core.TyperOption]]:
    group = group or typer.main.get_command(app)
    ctx = group.context_class(group, **group.context_settings)
    found = []

    def walk(command, path):
        for param in command.get_params(ctx):
            if hasattr(param, "type_descriptor"):
                found.append((f"{path}:{param.name}", param))
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(group, "adambench")
    return found


SAMPLES = [None, True, 0, 3, -2, 1.5, 2.0, "", "3", "-7", "2_000", "1e-3", ".5", "1.", "-0.25"]
SAMPLES += ["+4", "1E5", " 3", "inf", "nan", "abc", "1.5.", "beale", ("a", "b"), ["x"], ()]
SAMPLES += [(1, 2), "0x10", "1e400", "١٢"]


def outcome(coercer, value, param, ctx):
    try:
        got = coercer.coerce(value, param=param, ctx=ctx)
    except click_errors() as exc:
        return ("error", type(exc).__name__, exc.format_message())
    return ("value", type(got), repr(got))


def click_errors():
    from typer._click.exceptions import ClickException

    return ClickException


@pytest.mark.parametrize(
    "name,param", every_option(), ids=lambda x: x if isinstance(x, str) else ""
)
def test_the_fast_coercion_gives_what_typer_gives_for_every_option(name, param):
    ctx = typer.Context(typer.main.get_command(app))
    typer_own = build_runtime_param(param.type_descriptor)
    fast = FastCoercion(param)
    for value in SAMPLES:
        is_list_option = param.multiple or param.nargs == -1
        if value is not None and is_list_option != isinstance(value, (tuple, list)):
            continue  # click never hands a scalar to a list option, nor a list to a scalar
        assert outcome(fast, value, param, ctx) == outcome(typer_own, value, param, ctx), (
            name,
            value,
        )


def test_every_option_gets_the_fast_coercion_help_included():
    group = typer.main.get_command(app)
    install_fast_coercion(group)
    options = every_option(group)
    assert len(options) > 50 and all(isinstance(p._runtime_param, FastCoercion) for _, p in options)


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--help"],
        ["run", "beale", "-O", "adam", "--steps", "abc"],
        ["run", "beale", "-O", "adam", "--bogus"],
        ["show", "adam"],
        ["cache", "--help"],
        ["worker", "--help"],
        ["list", "--json"],
        ["sweep"],
    ],
)
def test_the_one_command_app_answers_as_the_whole_app(args):
    runner = CliRunner()
    whole, one = runner.invoke(app, args), runner.invoke(make_app(only=args[0]), args)
    assert (one.exit_code, one.stdout, one.stderr) == (whole.exit_code, whole.stdout, whole.stderr)
    assert set(COMMANDS) | {"cache", "worker"} == set(typer.main.get_command(app).commands)


def test_help_needs_no_rich_console():
    code = (
        "import sys\nsys.argv = ['adambench', '--help']\nfrom adambench.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('rich.console' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0 and done.stderr.strip() == "False"


# ---------------------------------------------------------------------------------------------
# The gradient text `show PROBLEM` prints, kept in the cache directory


def gradient_files(cache: Path) -> list[Path]:
    return sorted((cache / "gradients").glob("*.json"))


def test_the_gradient_text_is_derived_once_then_read_without_sympy(tmp_path, monkeypatch):
    from adambench.problems import load_problem
    from adambench.report.catalog import gradient_lines

    monkeypatch.setenv("ADAMBENCH_CACHE_DIR", str(tmp_path))
    derived = gradient_lines(load_problem("beale"))
    assert [k for k, _ in derived] == ["d/dx", "d/dy"] and len(gradient_files(tmp_path)) == 1
    monkeypatch.setitem(sys.modules, "sympy", None)  # import sympy now fails
    assert gradient_lines(load_problem("beale")) == derived


def test_the_gradient_cache_is_keyed_by_the_expression_and_the_versions(tmp_path, monkeypatch):
    import importlib.metadata

    import adambench.version
    from adambench.problems import load_problem
    from adambench.report.catalog import gradient_lines

    monkeypatch.setenv("ADAMBENCH_CACHE_DIR", str(tmp_path))
    beale = gradient_lines(load_problem("beale"))
    other = tmp_path / "mine.yaml"
    other.write_text(
        "name: mine\nvariables: [x, y]\nexpression: (1.5 - x + x*y)**2 + y**4\nstart: [1, 1]\n"
    )
    mine = gradient_lines(load_problem(str(other)))
    assert mine != beale and len(gradient_files(tmp_path)) == 2
    monkeypatch.setattr(adambench.version, "__version__", "99.0")
    gradient_lines(load_problem("beale"))
    real_version = importlib.metadata.version
    monkeypatch.setattr(
        importlib.metadata, "version", lambda n: "0.0" if n == "sympy" else real_version(n)
    )
    gradient_lines(load_problem("beale"))
    assert len(gradient_files(tmp_path)) == 4  # a new adambench or sympy: derived again


def test_a_damaged_gradient_file_is_derived_again(tmp_path, monkeypatch):
    from adambench.problems import load_problem
    from adambench.report.catalog import gradient_lines

    monkeypatch.setenv("ADAMBENCH_CACHE_DIR", str(tmp_path))
    derived = gradient_lines(load_problem("beale"))
    (path,) = gradient_files(tmp_path)
    path.write_text(path.read_text().replace("d/dx", "d/dz"))  # the checksum no longer holds
    assert gradient_lines(load_problem("beale")) == derived
    assert "d/dx" in path.read_text()


def test_an_unwritable_gradient_cache_still_shows_the_gradient(tmp_path, monkeypatch):
    from adambench.problems import load_problem
    from adambench.report import catalog

    monkeypatch.setenv("ADAMBENCH_CACHE_DIR", str(tmp_path))

    def refuse(path, text):
        raise PermissionError(path)

    monkeypatch.setattr(catalog, "write_verified", refuse)
    assert [k for k, _ in catalog.gradient_lines(load_problem("beale"))] == ["d/dx", "d/dy"]
    assert gradient_files(tmp_path) == []


def test_a_second_show_of_a_problem_needs_no_sympy():
    imported_by(["show", "beale"])  # derives the gradient text and keeps it
    rc, modules = imported_by(["show", "beale"])
    assert rc == 0 and modules == ["numpy"]  # the problem itself is loaded (numpy)


def test_cache_info_counts_what_rglob_counts(tmp_path, monkeypatch):
    from adambench.cache import info

    cache = tmp_path / "cache"
    (cache / "modules" / "__pycache__").mkdir(parents=True)
    (cache / "modules" / "ab_1.py").write_text("x = 1\n")
    (cache / "modules" / "__pycache__" / "ab_1.nbi").write_bytes(b"\0" * 1000)
    (cache / "problems").mkdir()
    (cache / "problems" / "p_2.py").write_text("y")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "big").write_bytes(b"\0" * 5000)
    (cache / "linked_dir").symlink_to(outside, target_is_directory=True)
    (cache / "linked_file").symlink_to(outside / "big")
    monkeypatch.setenv("ADAMBENCH_CACHE_DIR", str(cache))
    counted = [p.stat().st_size for p in cache.rglob("*") if p.is_file()]
    i = info()
    assert (i.files, i.bytes, i.modules, i.problem_kernels) == (len(counted), sum(counted), 1, 1)
    assert (i.files, i.bytes) == (4, 6 + 1000 + 1 + 5000)  # the linked file, not the linked dir
