"""Fitting a table to the terminal without cutting a number.

rich shrinks a table that is too wide by cutting cells (``5.24e…``), and its shrinking does not
respect a column's narrowest readable width. :func:`fit` does the shrinking itself, with one
rule for every table the command line prints:

1. A table whose cells all fit at their natural width prints as rich lays it out.
2. Otherwise each column gets at least its minimum: its longest word, so headers wrap at spaces
   (never mid-word), and whole cells for ``no_wrap`` columns; the spare width goes first to
   making the tallest header as short as it can be, then the widest columns give way first.
3. If the minimum is too wide, columns that may fold (``overflow="fold"``: names, such as a
   check's case id, never numbers) fold down to :data:`FOLD_WIDTH` characters a line.
4. If that is still too wide, whole columns are dropped in the table's stated order (least
   important first), one at a time, only as many as needed (names unfold as far as they can).
5. If even that is too wide (a very narrow terminal: the drop orders aim at keeping the
   tables within 60 columns), the table is rendered at its minimum width,
   wider than the terminal, and :meth:`FittedTable.note` says so: lines run past the edge, but
   nothing is cut.

Cells are never truncated: a number cell is one word, so its minimum is its whole width.
The drop orders of the command line's tables are stated where they are built (and in
docs/how-it-works.md, "Tables at any width").
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.measure import Measurement
    from rich.table import Column, Table

__all__ = ["FOLD_WIDTH", "FittedTable", "fit"]

#: A column that may fold (a name) keeps at least this many characters a line.
FOLD_WIDTH = 10

#: Wider than any terminal: the width at which a table is measured unconstrained.
_UNCONSTRAINED = 10_000


@dataclass(frozen=True)
class FittedTable:
    """A table laid out for a width: print it like any rich renderable.

    ``dropped`` names the columns left out (in the drop order), ``width`` is the width it takes,
    ``available`` the width it was fitted to, and ``full`` the width that would show every
    column but the ``quiet`` ones (its minimum width).
    """

    table: Table
    dropped: tuple[str, ...]
    width: int
    available: int
    full: int
    quiet: tuple[str, ...] = ()

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        # Wider than the terminal only when even the minimum does not fit: longer lines, whole
        # numbers (the terminal wraps or clips them, rich would cut them).
        # The caller prints with crop=False, or the console cuts the lines at its width.
        yield from console.render(self.table, options.update_width(max(self.width, 1)))

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        from rich.measure import Measurement

        return Measurement(self.width, self.width)

    @property
    def too_wide(self) -> bool:
        """True when the table is wider than the width it was fitted to."""
        return self.width > self.available

    def note(self, hint: str = "") -> str:
        """A footnote for a narrow terminal, or "" when the table shows everything.

        ``hint`` is another way to see every number (``"--json"``): "... or use --json".
        """
        told = [name for name in self.dropped if name not in self.quiet]
        other = f" or use {hint}" if hint else ""
        if self.too_wide:
            return (
                f"narrow terminal ({self.available} columns): the table needs {self.width}, "
                f"so its lines run past the edge; widen to {self.full} columns{other}"
            )
        if told:
            return (
                f"narrow terminal ({self.available} columns): left out {', '.join(told)}; "
                f"widen to {self.full} columns{other}"
            )
        return ""


def fit(
    table: Table,
    console: Console,
    drop: Sequence[str] = (),
    width: int | None = None,
    quiet: Sequence[str] = (),
) -> FittedTable:
    """``table`` laid out for ``width`` (default: the console's) without cutting any cell.

    ``drop`` names columns (by header), least important first, that may be left out when the
    table does not fit; names the table does not have are skipped. ``quiet`` names dropped
    columns the note need not mention (the optional sparkline). ``table`` is not changed.
    """
    available = console.width if width is None else width
    present = {_name(c) for c in table.columns}
    order = [name for name in drop if name in present]
    hidden = set(quiet) & set(order)
    # Measuring is most of the cost of a table (every cell rendered): the whole table's
    # measurement serves both its minimum width and the first candidate when no column is quiet.
    whole = _layout(console, table) if not hidden else None
    full = (whole or _layout(console, _without(table, hidden)))[0]
    for k in range(len(order) + 1):
        candidate = _without(table, set(order[:k]))
        minimum, maximum, ranges = whole if k == 0 and whole else _layout(console, candidate)
        if maximum <= available:
            return FittedTable(candidate, tuple(order[:k]), maximum, available, full, tuple(quiet))
        lows, highs = [lo for lo, _ in ranges], [hi for _, hi in ranges]
        if minimum > available:  # names may fold before a column of numbers goes
            minimum -= _fold(candidate, lows, minimum - available)
        if minimum <= available or k == len(order):
            spare = max(0, available - minimum)
            raised = _fewest_header_lines(console, candidate, lows, spare)
            widths = _spread(raised, highs, spare - (sum(raised) - sum(lows)))
            sized = _with_widths(candidate, widths)
            used = max(minimum, min(available, maximum))
            return FittedTable(sized, tuple(order[:k]), used, available, full, tuple(quiet))
    raise AssertionError("unreachable: the last candidate always returns")


def _name(column: Column) -> str:
    return column.header if isinstance(column.header, str) else str(column.header)


def _without(table: Table, names: set[str]) -> Table:
    """A shallow copy of ``table`` without the named columns (rows and cells are shared)."""
    out = copy.copy(table)
    kept = [c for c in table.columns if _name(c) not in names]
    # rich numbers its columns (``_index``: which is first and last, for the edge padding).
    out.columns = [dataclasses.replace(c, _index=k) for k, c in enumerate(kept)]
    return out


def _with_widths(table: Table, widths: list[int]) -> Table:
    """A shallow copy of ``table`` whose columns show ``widths`` characters of content."""
    out = copy.copy(table)
    out.columns = [
        dataclasses.replace(c, width=w + _padding_correction(table, k))
        for k, (c, w) in enumerate(zip(table.columns, widths, strict=True))
    ]
    return out


def _padding_correction(table: Table, k: int) -> int:
    """What to add to column ``k``'s content width to set its ``width``.

    rich (15) pads a cell one way (``Table._get_cells``: with collapse_padding, the first column
    keeps its left padding) and sizes a fixed-width column another (``_get_padding_width``:
    never a left padding), so the first column would lose a character.
    """
    _, right, _, left = table.padding
    first, last = k == 0, k == len(table.columns) - 1
    cell_left = left if first or not table.collapse_padding else max(0, left - right)
    sized_left = 0 if table.collapse_padding else left
    cell_right = sized_right = right
    if not table.pad_edge:
        cell_left = 0 if first else cell_left
        sized_left = 0 if first else sized_left
        cell_right = sized_right = 0 if last else right
    return (cell_left + cell_right) - (sized_left + sized_right)


def _layout(console: Console, table: Table) -> tuple[int, int, list[tuple[int, int]]]:
    """(minimum width, natural width, each column's (minimum, natural) content width)."""
    options = console.options.update_width(_UNCONSTRAINED)
    ranges = [_column_range(console, options, table, c) for c in table.columns]
    edges = _edges(console, table)
    minimum = sum(lo for lo, _ in ranges) + edges
    maximum = sum(hi for _, hi in ranges) + edges
    floor = table.min_width or 0
    return max(minimum, floor), max(maximum, floor), ranges


def _column_range(console: Console, options: Any, table: Table, column: Column) -> tuple[int, int]:
    """A column's content widths: its longest word (whole cells when it never wraps), and its
    longest line."""
    from rich.measure import Measurement

    cells = list(column.cells) + ([column.header] if table.show_header else [])
    sizes = [Measurement.get(console, options, cell) for cell in cells] or [Measurement(1, 1)]
    longest = max(m.maximum for m in sizes)
    if column.width is not None:
        return column.width, column.width
    if column.no_wrap:
        return longest, longest
    return max(m.minimum for m in sizes), longest


def _edges(console: Console, table: Table) -> int:
    """What the table adds to its columns' contents: padding and box lines."""
    from rich.measure import Measurement

    probe = _with_widths(table, [1] * len(table.columns))
    probe.min_width = None
    options = console.options.update_width(_UNCONSTRAINED)
    # The minimum, not the maximum: rich's maximum leaves out the box's edges.
    return Measurement.get(console, options, probe).minimum - len(table.columns)


def _fold(table: Table, lows: list[int], excess: int) -> int:
    """Narrow the columns that may fold (``overflow="fold"``: names such as a check's case id,
    never numbers) by up to ``excess`` in all, none below :data:`FOLD_WIDTH`; ``lows`` is
    changed in place. Returns how much narrower the table got."""
    saved = 0
    for k, column in enumerate(table.columns):
        if column.overflow == "fold" and excess > saved:
            cut = min(excess - saved, max(0, lows[k] - FOLD_WIDTH))
            lows[k] -= cut
            saved += cut
    return saved


def _fewest_header_lines(console: Console, table: Table, lows: list[int], spare: int) -> list[int]:
    """Column minimums raised, within ``spare``, so that the headers take as few lines as can be:
    the tallest header is what makes a table's head tall."""
    if not table.show_header or spare <= 0:
        return lows
    words = [console.render_str(_name(c)).plain.split() for c in table.columns]
    tallest = max((len(w) for w in words), default=1)
    for lines in range(1, tallest + 1):
        wanted = [max(lo, _width_for_lines(w, lines)) for lo, w in zip(lows, words, strict=True)]
        if sum(wanted) - sum(lows) <= spare:
            return wanted
    return lows


def _width_for_lines(words: list[str], lines: int) -> int:
    """The narrowest width at which ``words`` wrap (greedily, at spaces) into ``lines`` lines."""
    from rich.cells import cell_len

    if not words:
        return 0
    width = max(cell_len(w) for w in words)
    while _wrapped_lines(words, width) > lines:
        width += 1
    return width


def _wrapped_lines(words: list[str], width: int) -> int:
    from rich.cells import cell_len

    count, used = 1, -1
    for w in words:
        if used + 1 + cell_len(w) > width:
            count, used = count + 1, cell_len(w)
        else:
            used += 1 + cell_len(w)
    return count


def _spread(lows: list[int], highs: list[int], spare: int) -> list[int]:
    """Column widths between their minimums and natural widths, summing to the minimums plus
    ``spare``: the widest columns give way first, one character at a time (rich's own way of
    narrowing a table, but never below a column's minimum)."""
    spare = max(spare, 0)
    # No column can take more than all the spare (a progress bar's natural width is unbounded).
    widths = [max(lo, min(hi, lo + spare)) for lo, hi in zip(lows, highs, strict=True)]
    excess = sum(widths) - sum(lows) - spare
    while excess > 0:
        widest = max(w for w, lo in zip(widths, lows, strict=True) if w > lo)
        for k, w in enumerate(widths):
            if w == widest and w > lows[k] and excess > 0:
                widths[k] -= 1
                excess -= 1
    return widths
