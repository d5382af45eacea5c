"""`adambench list` and `adambench show`: what problems and optimizers there are, and one
problem in detail. `list` must stay fast: it imports no numerical module."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from adambench.cli.boundary import boundary
from adambench.cli.consoles import err, out, print_table
from adambench.cli.options import DimOpt, ProblemArg
from adambench.numbers import format_number

__all__ = ["CONTROLS_DROP_ORDER", "OPTIMIZERS_DROP_ORDER", "PROBLEMS_DROP_ORDER", "list_", "show"]

#: The columns of `list`'s tables a narrow terminal leaves out, least important first
#: (:func:`adambench.report.fitting.fit`; descriptions and conventions wrap at spaces first).
#: The table of other optimizer sources leaves out nothing.
PROBLEMS_DROP_ORDER = ("kind", "description", "steps", "dim")
OPTIMIZERS_DROP_ORDER = ("source", "convention")
CONTROLS_DROP_ORDER = ("range",)


def list_(
    json_out: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
    tag: Annotated[
        str | None,
        typer.Option("--tag", help="Only problems with this tag (e.g. multimodal).", metavar="TAG"),
    ] = None,
) -> None:
    """List problems and optimizers with their defaults and conventions.

    Example:

    \b
      adambench list
      adambench list --tag multimodal
    """
    with boundary():
        from adambench.report.catalog import catalog

        data = catalog()
        if tag is not None:
            data["problems"] = _tagged(data["problems"], tag)
        if json_out:
            import json

            sys.stdout.write(json.dumps(data, indent=2) + "\n")
            return
        narrow = [
            print_table(_problems_table(data["problems"]), PROBLEMS_DROP_ORDER),
            print_table(_optimizers_table(data["optimizers"]), OPTIMIZERS_DROP_ORDER),
            print_table(_controls_table(data["controls"]), CONTROLS_DROP_ORDER),
            print_table(_sources_table(data["optimizer_sources"])),
        ]
        for note in list(dict.fromkeys(n for n in narrow if n)) + data["notes"]:
            err.print(f"note: {note}", highlight=False, markup=False)


def _tagged(problems: list[dict[str, Any]], tag: str) -> list[dict[str, Any]]:
    """The problems with ``tag``; an unknown tag is a usage error naming the known ones."""
    from adambench.errors import UsageError
    from adambench.problem_files import TAGS

    if tag not in TAGS:
        raise UsageError(f"--tag: unknown tag '{tag}'; known: {', '.join(TAGS)}")
    return [p for p in problems if tag in (p["tags"] or [])]


def _table(title: str, columns: tuple[str, ...]) -> Any:
    from rich.table import Table

    t = Table(title=title, title_justify="left", header_style="bold")
    for col in columns:
        t.add_column(col)
    return t


def _add_row(t: Any, *cells: str) -> None:
    """A row of plain text: rich would read ``'adambench[torch]'`` or a description's
    ``[x, y]`` as markup and drop them."""
    from rich.text import Text

    t.add_row(*(Text(c) for c in cells))


def _problems_table(problems: list[dict[str, Any]]) -> Any:
    t = _table("Problems", ("name", "kind", "dim", "steps", "target", "tags", "description"))
    for p in problems:
        _add_row(
            t,
            p["name"],
            p["kind"],
            str(p["dim"]),
            str(p["steps"]),
            "–" if p["target"] is None else str(p["target"]),
            ", ".join(p["tags"] or []),
            p["description"],
        )
    return t


def _optimizers_table(optimizers: list[dict[str, Any]]) -> Any:
    t = _table("Optimizers", ("name", "source", "defaults", "convention"))
    for o in optimizers:
        defaults = ", ".join(f"{k}={format_number(v, 'value')}" for k, v in o["defaults"].items())
        _add_row(t, o["name"], o["source"], defaults, o["convention"])
    return t


def _controls_table(controls: list[dict[str, Any]]) -> Any:
    t = _table(
        "Schedules and clipping (every compiled optimizer takes them)",
        ("name", "default", "range", "what"),
    )
    for c in controls:
        default = c["default"]
        default = default if isinstance(default, str) else format_number(default, "value")
        _add_row(t, c["name"], default, c["range"], c["description"])
    return t


def _sources_table(sources: list[dict[str, Any]]) -> Any:
    t = _table("Your own optimizers (-O)", ("-O", "source", "what"))
    for o in sources:
        _add_row(t, o["spec"], o["source"], o["what"])
    return t


def show(
    problem: ProblemArg,
    dim: DimOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print a problem as JSON.")] = False,
) -> None:
    """Show a problem: formula, derived gradient, start, minimum, target, domain; or an
    optimizer of the registry: its paper, hyperparameters and (library) update rule.

    Example:

    \b
      adambench show beale
      adambench show lion
    """
    with boundary():
        from rich.markup import escape

        from adambench.errors import UsageError
        from adambench.report.catalog import describe, describe_optimizer, problem_record

        if json_out:
            import json

            if _names_an_optimizer(problem):
                raise UsageError("--json applies to problems; `show OPTIMIZER` prints text")
            record = problem_record(problem, dim=dim)
            sys.stdout.write(json.dumps(record, indent=2, allow_nan=False) + "\n")
            return
        lines = (
            describe_optimizer(problem)
            if _names_an_optimizer(problem)
            else describe(problem, dim=dim)
        )
        for key, value in lines:
            # Wrapped at spaces by rich (not by the terminal), so no number is split.
            out.print(f"[bold]{escape(key)}:[/bold] {escape(value)}", highlight=False)


def _names_an_optimizer(name: str) -> bool:
    """A built-in or library optimizer's name that no problem has (problems come first)."""
    from adambench.optimizers.builtins import BUILTINS
    from adambench.optimizers.rules import library_files
    from adambench.problem_files import builtin_files

    return name not in builtin_files() and (name in BUILTINS or name in library_files())
