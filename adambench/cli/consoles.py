"""The two consoles of the command line: data on stdout (`out`), progress and notes on stderr
(`err`), each made when first used so that COLUMNS and NO_COLOR are read at that moment."""

from __future__ import annotations

import os
from typing import Any

from rich.console import Console

__all__ = ["console", "err", "out"]


def console(stderr: bool = False) -> Console:
    """A rich console on stdout (or stderr); piped output gets 120 columns (rich would use 80)
    unless COLUMNS says otherwise. Emoji codes are off: rich would print the range ``a:b:n`` of
    an error message as ``a🅱n``."""
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
