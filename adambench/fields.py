"""Reading the fields of a mapping from a file, with errors that name the file and the key.

Every reader of the package's YAML files (problems, optimizer rules, sweeps, check suites)
validates through a :class:`Fields`. The readers word the same fault in slightly different ways,
and their messages are part of the interface (tests pin them byte for byte), so the wording is
a :class:`Wording` that each reader picks once; the checks themselves are shared.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from adambench.errors import ConfigError, did_you_mean

__all__ = ["MISSING", "Fields", "Wording", "number_like", "show"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: The default of a field that is required (its absence is the caller's error, as a KeyError).
MISSING: Any = _Missing()


def show(value: Any) -> str:
    """A value for an error message: its type and its repr, cut at 40 characters."""
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) < 40 else text[:37] + '...'}"


def number_like(value: Any) -> float | None:
    """A number, or a string YAML left unparsed such as ``1e-8`` (YAML 1.1 wants ``1.0e-8``);
    ``None`` for anything else (bools included).

    Every number field of every file kind reads its value through this function, so ``1e-6``
    means the same in a problem, optimizer, sweep or suite file as on the command line.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _whole(value: Any) -> Any:
    """``value`` as an int when it is a whole number written as a float (``3.0``) or as text
    YAML 1.1 left unparsed (``1e4``); otherwise unchanged, for the caller to refuse."""
    number = number_like(value)
    if isinstance(value, int) or number is None or not math.isfinite(number):
        return value
    return int(number) if number.is_integer() else value


@dataclass(frozen=True)
class Wording:
    """How one kind of file words its errors (the checks are the same for every kind)."""

    #: How a message names its key: ``'steps' must be ...`` or ``steps: must be ...``.
    label: str = "'{key}' "
    #: How a message shows a bad value: :func:`show` (``str 'abc'``) or :func:`repr`.
    shown: Callable[[Any], str] = show
    #: Integers: say "between lo and hi"; otherwise "an integer >= lo" / "at most hi". Both
    #: accept a whole number written as a float (``3.0``) or as YAML 1.1 text (``1e4``).
    integral_floats: bool = True
    #: Refuse mapping keys that are not strings (others compare them as text).
    string_keys: bool = True
    #: Follow an unknown key with the list of the known ones.
    list_known: bool = False
    #: Unknown keys of a nested block: named in the location (``file: data: unknown key 'x'``)
    #: or by their dotted path (``unknown key 'expect.x'``).
    nested_in_where: bool = True


#: The wording of problem files, and the default.
_QUOTED = Wording()


class Fields:
    """A mapping read from ``where``, and checks of its fields that raise :class:`ConfigError`.

    ``head`` starts every message (a suite's case); ``path`` is the dotted prefix of the keys of
    a nested block (``data.``). The ``as_*`` methods check a value given directly (list items);
    the others read the value of a key, ``default`` when it is absent.
    """

    def __init__(
        self,
        raw: Mapping[Any, Any],
        where: str,
        wording: Wording = _QUOTED,
        *,
        head: str = "",
        path: str = "",
    ) -> None:
        self.raw = raw
        self.where = where
        self.wording = wording
        self.head = head
        self.path = path

    def __contains__(self, key: Any) -> bool:
        return key in self.raw

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)

    def _value(self, key: str, default: Any) -> Any:
        return self.raw[key] if default is MISSING else self.raw.get(key, default)

    def fail(self, key: str | None, message: str) -> ConfigError:
        """The error of ``key`` (``None``: of the whole mapping), naming the file."""
        label = "" if key is None else self.wording.label.format(key=f"{self.path}{key}")
        return ConfigError(f"{self.head}{label}{message}", where=self.where)

    def nested(self, key: str, raw: Mapping[Any, Any]) -> Fields:
        """The fields of the block under ``key``, worded like this one."""
        return Fields(raw, self.where, self.wording, head=self.head, path=f"{self.path}{key}.")

    def unknown_keys(self, allowed: Iterable[str]) -> None:
        """Refuse keys outside ``allowed`` (with "did you mean"), and non-string keys."""
        allowed = list(allowed)
        for key in self.raw:
            if self.wording.string_keys and not isinstance(key, str):
                raise self._block_error(f"keys must be strings, got {show(key)}", label=True)
            if key not in allowed:
                hint = did_you_mean(str(key), allowed)
                known = f"; known: {', '.join(allowed)}" if self.wording.list_known else ""
                name = key if self.wording.nested_in_where else f"{self.path}{key}"
                raise self._block_error(f"unknown key '{name}'{hint}{known}")

    def _block_error(self, message: str, label: bool = False) -> ConfigError:
        """An error of this whole block (a nested one is named by its path)."""
        block = self.path.rstrip(".")
        if not block:
            return self.fail(None, message)
        if self.wording.nested_in_where:
            return ConfigError(message, where=f"{self.where}: {block}")
        return Fields(self.raw, self.where, self.wording, head=self.head).fail(
            block if label else None, message
        )

    def number(self, key: str, default: Any = MISSING) -> float:
        return self.as_number(self._value(key, default), key)

    def as_number(self, value: Any, key: str) -> float:
        """A finite int or float, or a string holding one (YAML 1.1 reads ``1e-6`` as text);
        not a bool. Returned as a float."""
        number = number_like(value)
        if number is None:
            raise self.fail(key, f"must be a number, got {self.wording.shown(value)}")
        if not math.isfinite(number):
            raise self.fail(key, f"must be a finite number, got {value}")
        return number

    def integer(self, key: str, low: int, high: int, default: Any = MISSING) -> int:
        return self.as_integer(self._value(key, default), key, low, high)

    def as_integer(self, value: Any, key: str, low: int, high: int) -> int:
        """An int in ``[low, high]`` (and an integral float, if the wording accepts those)."""
        shown = self.wording.shown
        value = _whole(value)
        if not self.wording.integral_floats:
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise self.fail(key, f"must be an integer >= {low}, got {shown(value)}")
            if value > high:
                raise self.fail(key, f"must be at most {high:g}, got {shown(value)}")
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be an integer, got {shown(value)}")
        if not low <= value <= high:
            raise self.fail(key, f"must be between {low} and {high:g}, got {value}")
        return value

    def boolean(self, key: str, default: Any = MISSING) -> bool:
        value = self._value(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {self.wording.shown(value)}")
        return value

    def choice(self, key: str, options: Iterable[Any], default: Any = MISSING) -> Any:
        """One of ``options``; the error lists them as ``a, b or c``."""
        options = list(options)
        value = self._value(key, default)
        if value not in options:
            words = ", ".join(str(o) for o in options[:-1])
            words = f"{words} or {options[-1]}" if words else str(options[-1])
            raise self.fail(key, f"must be {words}, got {self.wording.shown(value)}")
        return value

    def text(self, key: str, default: Any = MISSING, *, got: bool = False) -> str:
        """A string; ``got``: the error shows the value that is not one."""
        value = self._value(key, default)
        if not isinstance(value, str):
            shown = f", got {self.wording.shown(value)}" if got else ""
            raise self.fail(key, f"must be a string{shown}")
        return value

    def mapping(self, key: str, message: str, default: Any = MISSING) -> Fields:
        """The block under ``key``, which must be a mapping (``message`` says what it holds)."""
        value = self._value(key, default)
        if not isinstance(value, Mapping):
            raise self.fail(key, message)
        return self.nested(key, value)

    def sequence(self, key: str, message: str, default: Any = MISSING) -> list[Any]:
        """A non-empty list under ``key`` (``message`` says what it holds)."""
        value = self._value(key, default)
        if not isinstance(value, list) or not value:
            raise self.fail(key, message)
        return value
