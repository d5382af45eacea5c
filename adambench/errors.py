"""Errors and exit codes shared by the library and the command line.

Library code raises an :class:`AdambenchError` subclass; the CLI catches exactly these at one
boundary, prints the message on one line and exits with the code the class carries. Anything
else reaching the top is a bug (exit 3).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from enum import IntEnum

__all__ = [
    "AdambenchError",
    "CompileError",
    "ConfigError",
    "ExitCode",
    "ExpressionError",
    "OptimizerError",
    "OutputError",
    "ProblemError",
    "UsageError",
    "did_you_mean",
]


class ExitCode(IntEnum):
    """Exit codes, the same in every command."""

    OK = 0
    GATE_FAILED = 1  # `check` / `compare` found a regression
    USAGE = 2  # usage or input error: bad arguments, bad YAML, bad expression, unwritable file
    INTERNAL = 3  # a bug in adambench
    INTERRUPTED = 130  # Ctrl-C


class AdambenchError(Exception):
    """Base class of the errors adambench reports to users (one line, no traceback)."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class ConfigError(AdambenchError):
    """A YAML file (problem, optimizer, sweep, suite) is malformed or invalid."""


class ExpressionError(ConfigError):
    """An expression is not in the whitelisted grammar, too large, or numerically invalid."""


class ProblemError(AdambenchError):
    """An unknown problem, or a problem that cannot be used as asked (e.g. a bad --dim)."""


class OptimizerError(AdambenchError):
    """An unknown optimizer, an unknown hyperparameter or a value outside its range."""


class UsageError(AdambenchError):
    """A command-line argument that is not valid (bad --start, --steps <= 0, ...)."""


class OutputError(AdambenchError):
    """An output file that cannot be written."""


class CompileError(AdambenchError):
    """Generated code that numba could not compile (a bug unless user code is involved)."""

    exit_code = ExitCode.INTERNAL


def _edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, transpositions."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or ``""`` when none is close.

    Typos (a swapped, missing or extra letter) win over difflib's longest-match similarity.
    """
    options = [str(c) for c in choices]
    if not options:
        return ""
    best = min(options, key=lambda c: (_edit_distance(name.lower(), c.lower()), c))
    distance = _edit_distance(name.lower(), best.lower())
    # A one-letter name is one edit from every other one-letter name ('y' -> 'e'): a suggestion
    # must keep at least one letter of what was typed.
    if distance <= max(1, len(name) // 3) and distance < max(len(name), len(best)):
        return f" (did you mean '{best}'?)"
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
