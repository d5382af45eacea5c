"""The `adambench` typer app: the root group with its one-line errors and --version, each
command family's module registered under its command names, and the console entry point.

The command modules import nothing heavy at import time; numpy, numba, sympy and matplotlib are
imported inside the commands that need them, so `--help`, `list` and completion stay fast.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from adambench.cli.bench import bench
from adambench.cli.boundary import EXIT_CODES_HELP, OneLineErrors, print_internal_error
from adambench.cli.cache import cache_app
from adambench.cli.catalog import list_, show
from adambench.cli.check import check, compare
from adambench.cli.consoles import out
from adambench.cli.report import report
from adambench.cli.run import plot, run
from adambench.cli.sweep import sweep, sweep_show
from adambench.cli.worker import worker_app
from adambench.errors import ExitCode
from adambench.version import __version__

__all__ = ["COMMANDS", "app", "main", "make_app", "prebuild"]

#: The commands in the order `adambench --help` lists them ("cache" is a group of its own).
COMMANDS = {
    "run": run,
    "list": list_,
    "show": show,
    "plot": plot,
    "sweep": sweep,
    "sweep-show": sweep_show,
    "check": check,
    "compare": compare,
    "bench": bench,
    "report": report,
}


def make_app(only: str | None = None) -> typer.Typer:
    """The root group with every command, or with the command ``only`` alone: typer reads the
    signature of every command it registers (~30 ms for all), and `adambench run ...` needs
    one. Parsing, help and errors of that command are the same in both."""
    root = typer.Typer(
        cls=OneLineErrors,
        name="adambench",
        help="Benchmark Adam and other first-order optimizers on classic test surfaces.\n\n"
        "Example: adambench run beale --optimizers adam,rmsprop\n\n" + EXIT_CODES_HELP,
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    if only in (None, "cache"):
        root.add_typer(cache_app, name="cache")
    if only in (None, "worker"):
        root.add_typer(worker_app, name="worker")
    for name, command in COMMANDS.items():
        if only in (None, name):
            root.command(name)(command)
    root.callback()(_root)
    return root


def _version(value: bool) -> None:
    if value:
        out.print(f"adambench {__version__}", highlight=False)
        raise typer.Exit()


def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Benchmark first-order optimizers (Adam and its family) on test surfaces."""


app = make_app()

#: Click commands built ahead by :func:`prebuild`, by the ``only`` of :func:`make_app`.
_BUILT: dict[str | None, Any] = {}


def prebuild() -> None:
    """Build the click command of the whole app and of each command alone, once: the resident
    worker does this before it forks, so a command's child skips typer's reading of every
    signature (~40 ms). Each child uses its copy once, as a plain process uses its own."""
    for only in (None, *COMMANDS, "cache", "worker"):
        _BUILT[only] = typer.main.get_command(make_app(only))


def main(prog_name: str | None = None) -> None:
    """Console entry point: the outermost wrapper sets exit code 3 for internal errors.
    ``prog_name`` is the name usage lines show (click's guess from ``sys.argv`` if None)."""
    first = sys.argv[1] if len(sys.argv) > 1 else None
    only = first if first in COMMANDS or first in ("cache", "worker") else None
    try:
        if only in _BUILT:
            _BUILT[only].main(prog_name=prog_name)
        else:
            make_app(only)(prog_name=prog_name)
    except SystemExit:
        raise
    except Exception:  # the outermost boundary: typer.Exit never reaches here (SystemExit)
        print_internal_error()
        sys.exit(int(ExitCode.INTERNAL))


if __name__ == "__main__":  # pragma: no cover
    main()
