"""The two consoles of the command line: data on stdout (`out`), progress and notes on stderr
(`err`), each made when first used so that COLUMNS and NO_COLOR are read at that moment."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["console", "err", "out", "print_table"]


def console(stderr: bool = False) -> Console:
    """A rich console on stdout (or stderr); piped output gets 120 columns (rich would use 80)
    unless COLUMNS says otherwise. Emoji codes are off: rich would print the range ``a:b:n`` of
    an error message as ``a🅱n``."""
    from rich.console import Console  # here: ~25 ms that `--help` does not need

    c = Console(stderr=stderr, emoji=False)
    if not c.is_terminal and "COLUMNS" not in os.environ:
        c = Console(stderr=stderr, width=120, emoji=False)
    return c


class _Lazy:
    """A console made when first used in a command, so COLUMNS/NO_COLOR are read then."""

    def __init__(self, stderr: bool) -> None:
        self.stderr = stderr

    def __getattr__(self, name: str) -> Any:
        return getattr(console(self.stderr), name)


out: Any = _Lazy(stderr=False)
err: Any = _Lazy(stderr=True)


def print_table(table: Any, drop: Sequence[str] = (), hint: str = "--json") -> str:
    """Print a rich table on stdout fitted to the terminal (no number cut, columns of ``drop``
    left out as needed: :func:`adambench.report.fitting.fit`); return the note a narrow terminal
    gets ("" if none), for the caller to print with its other notes.

    ``hint`` names another way to see every number, for the note ("" if the command has none).
    """
    from rich.console import Group
    from rich.table import Table

    from adambench.report.fitting import FittedTable, fit

    c = console()
    if isinstance(table, Group):  # a table with lines under it (a heatmap and its legend)
        notes = []
        for part in table.renderables:
            if isinstance(part, Table):
                notes.append(print_table(part, drop, hint))
            else:
                c.print(part, crop=False)
        return next((n for n in notes if n), "")
    fitted = table if isinstance(table, FittedTable) else fit(table, c, drop)
    # crop=False: below the narrowest width the table is wider than the terminal, and whole.
    c.print(fitted, crop=False)
    return fitted.note(hint)
