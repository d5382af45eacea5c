"""A fast path for typer's option coercion, so that a command line needs no pydantic.

typer (>= 0.25) converts every option value with a pydantic ``TypeAdapter``, built when the
option is first processed, even when the value is the default ``None``; importing pydantic and
building the adapters costs ~0.1 s, a third of `adambench list`. The values this command line
takes are plain: ``str``, ``int`` through a parser, ``float``, ``bool``, ``list[str]`` and
``Path``, mostly left at their defaults. :func:`install_fast_coercion` gives each option a
coercer that converts those plain cases itself, exactly as typer's adapter would (same value,
same type), and hands every other value to typer's own adapter, built then, so error messages
and edge cases stay typer's. tests/test_cli_startup.py checks the two paths agree.

It reaches into typer's ``_TyperParameter`` (its lazily built ``_runtime_param``); with a typer
that has no such hook, nothing is installed and typer's own path runs.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["FastCoercion", "install_fast_coercion"]

#: The float literals converted here: what Python's float() and pydantic read identically
#: (both round correctly), ASCII digits only; anything else (inf, nan, underscores, spaces,
#: other scripts' digits, which float() reads and pydantic refuses) goes to typer's adapter.
_PLAIN_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")

#: Returned by a conversion that leaves the value to typer's adapter.
_MISS = object()


class FastCoercion:
    """Coerce one option's value as typer's runtime parameter does, the plain cases here."""

    def __init__(self, param: Any) -> None:
        self.descriptor = param.type_descriptor
        self.full: Any = None  # typer's own coercer, built on the first value it must take

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        if value is None:
            return () if param.multiple or param.nargs == -1 else None
        converted = self._convert(value)
        if converted is not _MISS:
            return converted
        if self.full is None:
            from typer._coercion import build_runtime_param

            self.full = build_runtime_param(self.descriptor)
        return self.full.coerce(value, param=param, ctx=ctx)

    def _convert(self, value: Any) -> Any:
        """The value typer's adapter would return, or ``_MISS`` to let the adapter decide."""
        annotation = self.descriptor.annotation
        info = self.descriptor.parameter_info
        if info.min is not None or info.max is not None or self.descriptor.is_file:
            return _MISS
        if info.parser is not None:
            return _parsed(info.parser, value)
        if annotation is str:
            return value if type(value) is str else _MISS
        if annotation is float:
            return _float(value)
        if annotation == list[str] and isinstance(value, (list, tuple)):
            return list(value) if all(type(v) is str for v in value) else _MISS
        return _MISS


def _parsed(parser: Any, value: Any) -> Any:
    """A parser's value; its error goes through typer's adapter, which words it."""
    try:
        return parser(value)
    except Exception:
        return _MISS


def _float(value: Any) -> Any:
    if type(value) is float:
        return value
    if type(value) is int:
        return float(value)
    if type(value) is str and _PLAIN_FLOAT.fullmatch(value):
        return float(value)
    return _MISS


def install_fast_coercion(group: Any) -> None:
    """Give every option of ``group`` and its subcommands, ``--help`` included (click makes
    it per command, on first use, and keeps it), a :class:`FastCoercion`."""
    ctx = group.context_class(group, **group.context_settings)
    _install(group, ctx)


def _install(command: Any, ctx: Any) -> None:
    for param in command.get_params(ctx):
        if getattr(param, "_runtime_param", _MISS) is None and hasattr(param, "type_descriptor"):
            param._runtime_param = FastCoercion(param)
    for sub in getattr(command, "commands", {}).values():
        _install(sub, ctx)
