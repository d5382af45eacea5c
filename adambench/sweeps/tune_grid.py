"""The grid of a tuned comparison (``run --tune lr,beta1``): one axis per tuned hyperparameter,
its spacing chosen from the hyperparameter's kind, name and declared range, and the number of
values per axis that fits a budget.

Spacing (the ``scale`` of a :class:`TuneAxis`):

- ``log``: a positive float with no upper bound (lr, eps, weight_decay): log-spaced values.
- ``log1m``: a beta (named ``beta*``, ``alpha``, ``rho`` or ``momentum``, declared in [0, 1)):
  values log-spaced in 1 - beta, so 0.9, 0.99 and 0.999 are as far apart as 1e-1, 1e-2, 1e-3.
- ``linear``: any other float (declared on both sides, or with a range given).
- ``int``: an integer hyperparameter: every integer of the range when they fit, else integers
  rounded from a log (or linear) spacing, duplicates dropped.
- ``enum``: a flag (false, true) or a category (kind ``choice``): every value, or the ones
  listed (``amsgrad=true|false``); enumerated axes are never cut by the budget. ``schedule``
  left unlisted enumerates the schedules that need no parameter (not step, exponential).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from adambench.errors import OptimizerError, UsageError
from adambench.limits import MAX_TUNE_COUNT, MAX_TUNE_POINTS, MIN_TUNE_COUNT, check_int
from adambench.optimizers.controls import PARAMETERISED_SCHEDULES
from adambench.optimizers.spec import BOOL_WORDS, name_hint
from adambench.sweeps.grid import GRID_DIGITS, Axis, parse_values, show_value

if TYPE_CHECKING:
    from adambench.optimizers.spec import HyperParam, OptimizerSpec

__all__ = [
    "BETA_NAMES",
    "DEFAULT_LR_RANGE",
    "DEFAULT_TUNE_COUNT",
    "Range",
    "TuneAxis",
    "axis_values",
    "fit_budget",
    "parse_tune_names",
    "parse_tune_ranges",
    "scale_of",
    "tuning_axes",
]

#: Values per numeric axis when neither --tune-count nor --tune-budget says otherwise.
DEFAULT_TUNE_COUNT = 9
#: The lr range tuned when --tune-range does not give one (the range of ``run --tune lr``).
DEFAULT_LR_RANGE = (1e-4, 1.0)
#: Names of the hyperparameters tuned on a log(1 - beta) axis when declared in [0, 1).
BETA_NAMES = ("alpha", "rho", "momentum")
#: The default beta range: 0.5 to 1 - 1e-3 (one decade closer to 1 when the default is).
_BETA_LOW, _BETA_GAP = 0.5, 1e-3

_NAME = re.compile(r"^[A-Za-z_]\w*$")

#: A range as --tune-range gives it: (low, high), or the listed values of a flag or category.
Range = tuple[float, float] | tuple[str, ...]


@dataclass(frozen=True)
class TuneAxis:
    """One tuned hyperparameter: how it is spaced, over which range, and the values tried.

    ``low``/``high`` are None for an enumerated axis; ``given`` says whether the range came
    from --tune-range; ``hard`` holds the declared bounds the range cannot be widened past.
    """

    name: str
    scale: str  # "log", "log1m", "linear", "int" or "enum"
    low: float | None
    high: float | None
    values: tuple[Any, ...]
    given: bool
    hard: tuple[float | None, float | None] = (None, None)

    @property
    def numeric(self) -> bool:
        return self.scale != "enum"

    def axis(self) -> Axis:
        """The sweep axis (every optimizer of the run, unscoped)."""
        return Axis(self.name, None, self.values, self.spec(), self.scale)

    def spec(self) -> str:
        if not self.numeric:
            return "|".join(show_value(v) for v in self.values)
        return f"{self.low:g}:{self.high:g}"

    def describe(self) -> str:
        """The axis in words, e.g. ``7 log-spaced values in [0.0001, 1]``."""
        n = len(self.values)
        if not self.numeric:
            return f"every value ({', '.join(show_value(v) for v in self.values)})"
        span = f"[{self.low:g}, {self.high:g}]"
        if self.scale == "log1m":
            return f"{n} values in {span}, log-spaced in 1 - {self.name}"
        if self.scale == "int":
            return f"{n} integers in {span}"
        return f"{n} {'log-spaced' if self.scale == 'log' else 'evenly spaced'} values in {span}"

    def at_edge(self, value: Any) -> bool:
        """Whether ``value`` is an end of the range that a wider range could move past."""
        if not self.numeric or len(self.values) < 2:
            return False
        ends = {self.values[0]: self.hard[0], self.values[-1]: self.hard[1]}
        return value in ends and ends[value] != value

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "scale": self.scale,
            "range": [self.low, self.high] if self.numeric else None,
            "given": self.given,
            "values": list(self.values),
        }


def parse_tune_names(text: str | Sequence[str]) -> tuple[str, ...]:
    """The hyperparameters of ``--tune lr,beta1``: names, each once."""
    items = text.split(",") if isinstance(text, str) else list(text)
    names = tuple(str(n).strip() for n in items)
    for n in names:
        if not _NAME.match(n):
            raise UsageError(
                f"'{n}' is not a hyperparameter name (e.g. --tune lr or --tune lr,beta1)",
                where="--tune",
            )
    dup = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if dup is not None:
        raise UsageError(f"'{dup}' is given twice", where="--tune")
    return names


def parse_tune_ranges(
    spec: str | tuple[float, float] | Mapping[str, Any] | None, names: Sequence[str]
) -> dict[str, Range]:
    """The ranges of ``--tune-range lr=1e-4:1,beta1=0.5:0.999`` by name.

    ``LOW:HIGH`` without a name is the range of the one tuned hyperparameter (as before
    several could be tuned); an enumerated axis takes a list ``amsgrad=true|false``. A
    (low, high) pair or a mapping is taken as given (the Python API).
    """
    if spec is None:
        return {}
    if isinstance(spec, Mapping):
        entries = [(str(k), v) for k, v in spec.items()]
    elif isinstance(spec, tuple):
        entries = [("", spec)]
    else:
        entries = [_split_entry(e, str(spec)) for e in str(spec).split(",")]
    out: dict[str, Range] = {}
    for key, value in entries:
        if not key:
            if len(names) != 1:
                raise UsageError(
                    f"name the hyperparameter of each range when tuning several, e.g. "
                    f"{names[0]}=LOW:HIGH,{names[1]}=LOW:HIGH",
                    where="--tune-range",
                )
            key = names[0]
        if key not in names:
            raise UsageError(
                f"'{key}' is not tuned (--tune {','.join(names)})", where="--tune-range"
            )
        if key in out:
            raise UsageError(f"'{key}' has two ranges", where="--tune-range")
        out[key] = _range_value(key, value)
    return out


def _split_entry(entry: str, whole: str) -> tuple[str, str]:
    key, eq, value = entry.partition("=")
    if not eq:
        key, value = "", entry
    if not value.strip():
        raise UsageError(
            f"expected LOW:HIGH or NAME=LOW:HIGH[,NAME=LOW:HIGH], e.g. 1e-4:1 or "
            f"lr=1e-4:1,beta1=0.5:0.999, got '{whole}'",
            where="--tune-range",
        )
    return key.strip(), value.strip()


def _range_value(key: str, value: Any) -> Range:
    """``LOW:HIGH`` as two numbers, ``a|b`` as names, a pair as given."""
    if isinstance(value, (tuple, list)):
        if len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
            return float(value[0]), float(value[1])
        return tuple(str(v) for v in value)
    text = str(value)
    if "|" in text:
        return tuple(v.strip() for v in text.split("|"))
    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        low, high = float(parts[0]), float(parts[1])
    except ValueError:
        raise UsageError(
            f"expected LOW:HIGH for {key}, e.g. 1e-4:1, got '{text}'", where="--tune-range"
        ) from None
    if not (math.isfinite(low) and math.isfinite(high)):
        raise UsageError(f"{key}={text}: the ends must be finite numbers", where="--tune-range")
    return low, high


def scale_of(name: str, hp: HyperParam) -> str:
    """How a hyperparameter is spaced when tuned (see the module docstring)."""
    kind = hp.kind
    if kind in ("bool", "choice"):
        return "enum"
    if kind == "int":
        return "int"
    nonneg = hp.low is not None and hp.low >= 0
    if nonneg and hp.high == 1 and hp.high_open and _beta_named(name):
        return "log1m"
    if nonneg and hp.high is None:
        return "log"
    return "linear"


def _beta_named(name: str) -> bool:
    return name.startswith("beta") or name in BETA_NAMES


def axis_values(scale: str, low: float, high: float, count: int) -> tuple[float, ...]:
    """``count`` values from ``low`` to ``high`` (both included) spaced as ``scale`` says.

    Log spacing reads as ``--grid a:b:logn`` does (3 significant digits where they keep the
    values apart); ``log1m`` spaces 1 - value that way; ``int`` rounds and drops duplicates,
    so it may return fewer than ``count`` (every integer when they fit).
    """
    if scale == "log":
        return tuple(float(v) for v in parse_values(f"{low!r}:{high!r}:log{count}")[0])
    if scale == "log1m":
        gaps = parse_values(f"{1 - low!r}:{1 - high!r}:log{count}")[0]
        inner = [float(f"{1 - float(g):.{GRID_DIGITS}g}") for g in gaps[1:-1]]
        return (low, *inner, high)
    if scale == "int":
        lo, hi = math.ceil(low), math.floor(high)
        if hi - lo + 1 <= count:
            return tuple(float(v) for v in range(lo, hi + 1))
        if lo > 0 and hi / lo >= 10:
            raw = [math.exp(x) for x in _spaced(math.log(lo), math.log(hi), count)]
        else:
            raw = _spaced(lo, hi, count)
        return tuple(sorted({float(round(v)) for v in raw}))
    return tuple(float(v) for v in parse_values(f"{low!r}:{high!r}:{count}")[0])


def _spaced(a: float, b: float, n: int) -> list[float]:
    return [a + (b - a) * i / (n - 1) for i in range(n)]


def fit_budget(caps: Sequence[int], budget: int) -> list[int]:
    """The values per numeric axis: as equal as possible, each at least 2 and at most its cap,
    with a product of at most ``budget`` (the caller checks that 2 per axis fits).

    Greedy: one more value on the axis with the fewest (the first of equals) for as long as
    the product stays within the budget; the counts end up within one of each other, save for
    axes held at their cap.
    """
    counts = [min(2, c) for c in caps]
    while True:
        for i in sorted(range(len(counts)), key=lambda i: (counts[i], i)):
            if counts[i] < caps[i] and math.prod(counts) // counts[i] * (counts[i] + 1) <= budget:
                counts[i] += 1
                break
        else:
            return counts


def tuning_axes(
    specs: Sequence[tuple[str, OptimizerSpec]],
    names: Sequence[str],
    ranges: Mapping[str, Range],
    *,
    count: int | None = None,
    budget: int | None = None,
) -> list[TuneAxis]:
    """The axes of a tuned comparison over the optimizers ``specs`` (label, spec).

    Every optimizer must have every tuned hyperparameter, of one kind. Numeric axes get
    ``count`` values each (default :data:`DEFAULT_TUNE_COUNT`); with ``budget``, as many as fit
    in ``budget`` points per optimizer (balanced, at most ``count`` each when given).
    """
    if count is not None and not (
        isinstance(count, int) and MIN_TUNE_COUNT <= count <= MAX_TUNE_COUNT
    ):
        raise UsageError(
            f"--tune-count must be an integer between {MIN_TUNE_COUNT} and {MAX_TUNE_COUNT}, "
            f"got {count}"
        )
    if budget is not None:
        check_int("--tune-budget", budget, 1, MAX_TUNE_POINTS)
    kinds = [_kind(specs, n) for n in names]
    bounds = [_bounds([hp for _, hp in k]) for k in kinds]
    spans = [_span(n, k, b, ranges.get(n)) for n, k, b in zip(names, kinds, bounds, strict=True)]
    counts = _counts(names, kinds, spans, count, budget)
    axes = []
    for n, k, b, span, c in zip(names, kinds, bounds, spans, counts, strict=True):
        scale = scale_of(n, k[0][1])
        values = span if scale == "enum" else axis_values(scale, span[0], span[1], c)
        low, high = (None, None) if scale == "enum" else span
        axes.append(TuneAxis(n, scale, low, high, tuple(values), n in ranges, b[:2]))
    points = math.prod(len(ax.values) for ax in axes)
    if points > MAX_TUNE_POINTS:
        raise UsageError(
            f"the tuning grid has {points:,} points per optimizer, more than {MAX_TUNE_POINTS:,}; "
            "cap it with --tune-budget N"
        )
    return axes


def _kind(specs: Sequence[tuple[str, OptimizerSpec]], name: str) -> list[tuple[str, HyperParam]]:
    """``name``'s hyperparameter in every optimizer, which must all have it, of one kind."""
    found, missing = [], []
    for label, spec in specs:
        hp = next((h for h in spec.hyperparams if h.name == name), None)
        if hp is None:
            missing.append((label, spec))
        else:
            found.append((label, hp))
    if not found:
        everything = sorted({h.name for _, s in specs for h in s.hyperparams})
        raise UsageError(
            f"no optimizer of this run has a hyperparameter '{name}'{name_hint(name, everything)}",
            where="--tune",
        )
    if missing:
        label, spec = missing[0]
        raise UsageError(
            f"{label} has no hyperparameter '{name}' (it has: "
            f"{', '.join(h.name for h in spec.hyperparams)}); every tuned optimizer needs "
            "every tuned hyperparameter: tune it in a run of its own",
            where="--tune",
        )
    shape = {(hp.kind, tuple(getattr(hp, "choices", ()) or ())) for _, hp in found}
    if len(shape) > 1 or len({scale_of(name, hp) for _, hp in found}) > 1:
        raise UsageError(
            f"'{name}' is not the same kind of hyperparameter in "
            f"{' and '.join(label for label, _ in found)}; tune them in separate runs",
            where="--tune",
        )
    return found


def _bounds(hps: Sequence[HyperParam]) -> tuple[float | None, float | None, bool, bool]:
    """The declared range every optimizer accepts: (low, high, low_open, high_open)."""
    low = high = None
    low_open = high_open = False
    for hp in hps:
        if hp.low is not None and (low is None or hp.low > low or (hp.low == low and hp.low_open)):
            low, low_open = hp.low, hp.low_open
        if hp.high is not None and (
            high is None or hp.high < high or (hp.high == high and hp.high_open)
        ):
            high, high_open = hp.high, hp.high_open
    return low, high, low_open, high_open


def _span(name: str, kind: list[tuple[str, HyperParam]], bounds: Any, given: Any) -> Any:
    """The range of one axis: the given one, checked, or the default (module docstring)."""
    hp = kind[0][1]
    scale = scale_of(name, hp)
    if scale == "enum":
        return _enum_values(name, kind, given)
    if given is None:
        return _default_span(name, scale, kind, bounds)
    if len(given) != 2 or isinstance(given[0], str):
        raise UsageError(
            f"{name} is a number: give LOW:HIGH, e.g. {name}={hp.default:g}:{hp.default * 10:g}",
            where="--tune-range",
        )
    low, high = given
    text = f"{name}={low:g}:{high:g}"
    if scale == "log" and (low <= 0 or high <= 0):
        raise UsageError(
            f"{text}: {name} is tuned on a log axis, which must have both ends > 0 (log "
            "spacing cannot reach zero or negative values)",
            where="--tune-range",
        )
    if not low < high:
        raise UsageError(f"{text} is empty: LOW must be below HIGH", where="--tune-range")
    for label, h in kind:
        for v in (low, high):
            try:
                h.validate(v, label)
            except OptimizerError as exc:
                raise UsageError(f"{text}: {exc}", where="--tune-range") from None
    return low, high


def _default_span(name: str, scale: str, kind: Any, bounds: Any) -> tuple[float, float]:
    """The range tuned when none is given (stated in docs/sweeps.md)."""
    low, high, low_open, high_open = bounds
    defaults = [float(hp.default) for _, hp in kind]
    if scale == "log1m":
        gaps = [float(f"{1 - d:.{GRID_DIGITS}g}") for d in defaults]  # 1 - 0.999 is not 1e-3
        gap = min([_BETA_GAP, *(0.1 * g for g in gaps if 0 < g <= _BETA_GAP)])
        return max(_BETA_LOW, low), float(f"{1 - gap:.{GRID_DIGITS}g}")
    if scale == "log":
        positive = [d for d in defaults if d > 0]
        if name == "lr" or not positive:
            lo, hi = DEFAULT_LR_RANGE
        else:
            lo, hi = min(positive) / 100, max(positive) * 100
        return (max(lo, low) if low else lo), hi
    if scale == "int" and high is None and max(defaults) > 0:
        lo = low + 1 if low_open else low if low is not None else 1
        return float(max(lo, math.ceil(max(defaults) / 10))), float(max(defaults) * 10)
    if low is None or high is None:
        raise UsageError(
            f"{name} has no declared range to tune over: give one, e.g. "
            f"--tune-range {name}=LOW:HIGH",
            where="--tune-range",
        )
    if scale == "int":
        return float(low + low_open), float(high - high_open)
    inset = (high - low) / (DEFAULT_TUNE_COUNT + 1)
    return low + inset * low_open, high - inset * high_open


def _enum_values(name: str, kind: list[tuple[str, HyperParam]], given: Any) -> tuple[Any, ...]:
    """Every value of a flag or category, or the ones given (``a|b``), each checked."""
    hp = kind[0][1]
    choices = tuple(getattr(hp, "choices", ()) or ())
    if given is None:
        if hp.kind == "bool":
            return (False, True)
        if hp.control and hp.name == "schedule":  # those needing a parameter are left out
            return tuple(c for c in choices if c not in PARAMETERISED_SCHEDULES)
        return choices
    if len(given) == 2 and not isinstance(given[0], str):
        listed = " | ".join(["true", "false"] if hp.kind == "bool" else list(choices))
        raise UsageError(
            f"{name} is enumerated, not a range: leave it out for every value or list some, "
            f"e.g. {name}={listed.replace(' ', '')}",
            where="--tune-range",
        )
    values: list[Any] = []
    for word in given:
        if hp.kind == "bool":
            if word.lower() not in BOOL_WORDS:
                raise UsageError(f"{name}: '{word}' is not true or false", where="--tune-range")
            v: Any = BOOL_WORDS[word.lower()]
        elif word not in choices:
            raise UsageError(
                f"{name}: '{word}' is not one of {', '.join(choices)}", where="--tune-range"
            )
        else:
            v = word
        if v in values:
            raise UsageError(f"{name}: '{word}' is listed twice", where="--tune-range")
        values.append(v)
    if len(values) < 2:
        raise UsageError(f"{name}: list at least two values to tune", where="--tune-range")
    return tuple(values)


def _counts(
    names: Sequence[str], kinds: Any, spans: Sequence[Any], count: int | None, budget: int | None
) -> list[int]:
    """Values per axis (enumerated axes: their size): ``count`` each, or fitted to ``budget``."""
    scales = [scale_of(n, k[0][1]) for n, k in zip(names, kinds, strict=True)]
    fixed = math.prod(len(s) for s, sc in zip(spans, scales, strict=True) if sc == "enum")
    cap = count if count is not None else DEFAULT_TUNE_COUNT if budget is None else MAX_TUNE_COUNT
    caps = [
        len(s) if sc == "enum" else min(cap, _int_room(s)) if sc == "int" else cap
        for s, sc in zip(spans, scales, strict=True)
    ]
    if budget is None:
        return caps
    numeric = [i for i, sc in enumerate(scales) if sc != "enum"]
    smallest = fixed * 2 ** len(numeric)
    if budget < smallest:
        raise UsageError(
            f"--tune-budget {budget} is below the smallest tuning grid, {smallest} points per "
            f"optimizer ({_smallest_text(names, scales, spans)}); raise it or tune fewer "
            "hyperparameters"
        )
    fitted = fit_budget([caps[i] for i in numeric], budget // fixed)
    for i, c in zip(numeric, fitted, strict=True):
        caps[i] = c
    return caps


def _int_room(span: tuple[float, float]) -> int:
    return max(2, math.floor(span[1]) - math.ceil(span[0]) + 1)


def _smallest_text(names: Sequence[str], scales: Sequence[str], spans: Sequence[Any]) -> str:
    parts = [
        f"{n}: {len(s)}" if sc == "enum" else f"{n}: 2"
        for n, sc, s in zip(names, scales, spans, strict=True)
    ]
    return ", ".join(parts)
