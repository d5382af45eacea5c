"""Data sets read from files: the user's CSV, NPZ and svmlight files, and the shipped sets.

Every reader returns a :class:`Table` (dense float64 features, a float64 target, and the line of
the file each row came from, so that a later check can name it). Every defect of a file is a
:class:`~adambench.errors.ConfigError` of one line naming the file, the line (or row) and the
column: ragged rows, non-numeric or empty cells, NaN and infinities, a missing target column,
zero rows. Nothing here knows about models; :func:`class_labels` checks a classification target
and :func:`split_and_scale` makes the seeded train/test split and the standardisation.

svmlight/libsvm files are sparse on disk and read into a dense matrix: the models are dense
(sparse storage end to end is not implemented), so a file is refused above :data:`MAX_CELLS`
cells. Only numpy and the standard library are used (no pandas, no scikit-learn).
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from adambench.errors import ConfigError, did_you_mean

__all__ = [
    "BUILTIN_SETS",
    "FORMATS",
    "MAX_CELLS",
    "Table",
    "builtin_table",
    "class_labels",
    "format_of",
    "read_svmlight_csr",
    "read_table",
    "split_and_scale",
]

#: The largest data set (rows x features, dense) a file may give: 400 MB of float64.
MAX_CELLS = 50_000_000

FORMATS = ("csv", "npz", "svmlight")

#: The shipped data sets (``adambench/data/NAME.npz``, with the names of the features and the
#: target): name -> one line on what it is.
BUILTIN_SETS = {
    "digits": "UCI optical recognition of handwritten digits (1,797 8x8 images, 10 classes), "
    "CC BY 4.0",
    "breast_cancer": "UCI breast cancer Wisconsin (diagnostic) (569 x 30, 1 = benign), CC BY 4.0",
}


@dataclass(frozen=True)
class Table:
    """A data set as read: ``features`` (n, d) and ``target`` (n,), float64, finite; ``lines``
    the line (1-based) or row (0-based, ``unit == "row"``) of the file each row came from."""

    where: str
    features: np.ndarray
    target: np.ndarray
    feature_names: tuple[str, ...]
    target_name: str
    lines: np.ndarray
    unit: str = "line"

    def at(self, k: int) -> str:
        """Where row ``k`` is in the file, e.g. ``line 12``."""
        return f"{self.unit} {int(self.lines[k])}"


def format_of(path: Path) -> str | None:
    """The format a file's name suggests (None: say ``format:``)."""
    name = path.name.lower().removesuffix(".gz")
    for suffix, fmt in ((".csv", "csv"), (".npz", "npz"), (".svm", "svmlight")):
        if name.endswith(suffix):
            return fmt
    if name.endswith((".svmlight", ".libsvm")):
        return "svmlight"
    return None


def read_table(
    path: Path,
    fmt: str,
    where: str,
    target: str | None = None,
    max_rows: int | None = None,
    zero_based: bool = False,
) -> Table:
    """Read ``path`` in format ``fmt`` (``where`` is how errors name the file), at most
    ``max_rows`` rows (the first ones). CSV needs the name of its ``target`` column."""
    if not path.is_file():
        raise ConfigError("no such data file", where=where)
    try:
        if fmt == "csv":
            assert target is not None
            with _open_text(path) as fh:
                table = _read_csv(fh, where, target, max_rows)
        elif fmt == "npz":
            table = _read_npz(path, where, max_rows)
        else:
            with _open_text(path) as fh:
                table = _read_svmlight(fh, where, max_rows, zero_based)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ConfigError(f"cannot read it as {fmt}: {exc}", where=where) from None
    if table.features.shape[0] == 0:
        raise ConfigError("has no data rows", where=where)
    return table


def builtin_table(name: str, max_rows: int | None = None) -> Table:
    """One of the shipped sets (:data:`BUILTIN_SETS`), read from the package's data folder."""
    if name not in BUILTIN_SETS:
        known = ", ".join(BUILTIN_SETS)
        raise ConfigError(f"unknown data set '{name}'{did_you_mean(name, BUILTIN_SETS)}; {known}")
    path = Path(__file__).resolve().parent / "data" / f"{name}.npz"
    return read_table(path, "npz", f"data set {name}", max_rows=max_rows)


def _open_text(path: Path) -> io.TextIOBase:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", newline="")  # type: ignore[return-value]
    return open(path, encoding="utf-8", newline="")  # the caller closes it


def _number(text: str, where: str, line: int, column: str) -> float:
    """A cell as a finite float, or the error naming its line and column."""
    cell = text.strip()
    if not cell:
        raise ConfigError(f"line {line}, column {column}: empty cell", where=where)
    try:
        value = float(cell)
    except ValueError:
        raise ConfigError(
            f"line {line}, column {column}: {cell!r} is not a number "
            "(only numeric columns can be used)",
            where=where,
        ) from None
    if not math.isfinite(value):
        raise ConfigError(f"line {line}, column {column}: {cell} is not finite", where=where)
    return value


def _read_csv(fh: io.TextIOBase, where: str, target: str, max_rows: int | None) -> Table:
    """A CSV file with a header line; every column numeric; ``target`` one of the columns."""
    reader = csv.reader(fh)
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        raise ConfigError("line 1: no header (a first line naming the columns)", where=where)
    names = [h.strip() for h in header]
    if target not in names:
        raise ConfigError(
            f"line 1: no column '{target}' for the target{did_you_mean(target, names)} "
            f"(columns: {_listed(names)})",
            where=where,
        )
    rows, lines = [], []
    for cells in reader:
        line = reader.line_num
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue  # a blank line
        if len(cells) != len(names):
            raise ConfigError(
                f"line {line}: {len(cells)} cells, the header names {len(names)} columns",
                where=where,
            )
        rows.append([_number(c, where, line, f"'{n}'") for c, n in zip(cells, names, strict=True)])
        lines.append(line)
        if max_rows is not None and len(rows) >= max_rows:
            break
        _check_size(len(rows), len(names), where)
    data = np.array(rows, dtype=np.float64).reshape(len(rows), len(names))
    k = names.index(target)
    features = np.ascontiguousarray(np.delete(data, k, axis=1))
    feature_names = tuple(n for j, n in enumerate(names) if j != k)
    return Table(where, features, data[:, k].copy(), feature_names, target, np.array(lines))


def _listed(names: list[str], most: int = 8) -> str:
    shown = ", ".join(names[:most])
    return shown + (f", ... ({len(names)} in all)" if len(names) > most else "")


def _check_size(n: int, d: int, where: str) -> None:
    if n * d > MAX_CELLS:
        raise ConfigError(
            f"more than {MAX_CELLS:,} cells (rows x features) in a dense matrix; "
            "use max_rows to read fewer rows",
            where=where,
        )


def _read_npz(path: Path, where: str, max_rows: int | None) -> Table:
    """An ``.npz`` archive with ``X`` (n, d) and ``y`` (n,), numeric and finite (and, optional,
    the strings ``feature_names`` (d,) and ``target_name``, as the shipped sets have)."""
    with np.load(path, allow_pickle=False) as archive:
        for key in ("X", "y"):
            if key not in archive.files:
                raise ConfigError(
                    f"no array '{key}' (it has: {', '.join(archive.files) or 'none'}); "
                    "an npz data file holds X (n, d) and y (n,)",
                    where=where,
                )
        x, y = archive["X"], archive["y"]
        names = _npz_names(archive, x.shape[-1] if x.ndim == 2 else 0)
    if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.shape[0]:
        raise ConfigError(
            f"X must be (n, d) and y (n,) with the same n, got X {x.shape} and y {y.shape}",
            where=where,
        )
    for key, arr in (("X", x), ("y", y)):
        if arr.dtype.kind not in "biuf":
            raise ConfigError(f"{key} is not numeric (dtype {arr.dtype})", where=where)
    if max_rows is not None:
        x, y = x[:max_rows], y[:max_rows]
    _check_size(x.shape[0], x.shape[1], where)
    x, y = x.astype(np.float64), y.astype(np.float64)
    bad = np.argwhere(~np.isfinite(x))
    if bad.size:
        r, c = bad[0]
        raise ConfigError(f"X row {r}, column {c}: {x[r, c]} is not finite", where=where)
    bad_y = np.flatnonzero(~np.isfinite(y))
    if bad_y.size:
        raise ConfigError(f"y row {bad_y[0]}: {y[bad_y[0]]} is not finite", where=where)
    rows = np.arange(len(y))
    return Table(where, np.ascontiguousarray(x), y, names[0], names[1], rows, unit="row")


def _npz_names(archive: Any, d: int) -> tuple[tuple[str, ...], str]:
    """The archive's feature and target names, or x0..x{d-1} and y."""
    features = tuple(f"x{j}" for j in range(d))
    if "feature_names" in archive.files:
        given = archive["feature_names"]
        if given.dtype.kind == "U" and given.shape == (d,):
            features = tuple(str(v) for v in given)
    target = "y"
    if "target_name" in archive.files and archive["target_name"].dtype.kind == "U":
        target = str(archive["target_name"].reshape(-1)[0])
    return features, target


def _svmlight_rows(
    fh: io.TextIOBase, where: str, zero_based: bool
) -> Iterator[tuple[int, float, list[tuple[int, float]]]]:
    """(line, label, [(column, value), ...]) of each non-blank line; columns 0-based."""
    for line, text in enumerate(fh, start=1):
        body = text.split("#", 1)[0].split()
        if not body:
            continue
        label = _number(body[0], where, line, "1 (the label)")
        pairs = []
        for token in body[1:]:
            index, sep, value = token.partition(":")
            if not sep or not index.isdigit():
                raise ConfigError(f"line {line}: {token!r} is not index:value", where=where)
            column = int(index) - (0 if zero_based else 1)
            if column < 0:
                raise ConfigError(
                    f"line {line}: feature index {index}: indices start at 1 "
                    "(zero_based: true for files that start at 0)",
                    where=where,
                )
            pairs.append((column, _number(value, where, line, f"feature {index}")))
        yield line, label, pairs


def _read_svmlight(fh: io.TextIOBase, where: str, max_rows: int | None, zero_based: bool) -> Table:
    """An svmlight/libsvm file (``label index:value ...``), as a dense matrix."""
    labels, lines, rows, width = [], [], [], 0
    for line, label, pairs in _svmlight_rows(fh, where, zero_based):
        labels.append(label)
        lines.append(line)
        rows.append(pairs)
        width = max([width, *(c + 1 for c, _ in pairs)])
        _check_size(len(rows), width, where)
        if max_rows is not None and len(rows) >= max_rows:
            break
    x = np.zeros((len(rows), width))
    for k, pairs in enumerate(rows):
        for c, v in pairs:
            x[k, c] = v
    names = tuple(f"x{j + (0 if zero_based else 1)}" for j in range(width))
    return Table(where, x, np.array(labels, float), names, "label", np.array(lines, int))


def read_svmlight_csr(
    path: Path, zero_based: bool = False, max_rows: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """An svmlight/libsvm file kept sparse: ``(indptr, indices, values, labels, n_features)``,
    the CSR arrays that :class:`adambench.corpus.SparseRows` holds (columns ascending within a
    row; a column given twice in a row keeps its last value, as the dense reader does). Never
    builds the dense matrix: the bound is on the nonzeros (:data:`MAX_CELLS`), not rows x
    features. Bad lines are refused as :func:`read_table` refuses them."""
    where = str(path)
    if not path.is_file():
        raise ConfigError("no such data file", where=where)
    indptr, indices, values, labels, width = [0], [], [], [], 0
    try:
        with _open_text(path) as fh:
            for _line, label, pairs in _svmlight_rows(fh, where, zero_based):
                row = dict(pairs)  # the last value of a repeated column wins
                columns = sorted(row)
                indices.extend(columns)
                values.extend(row[c] for c in columns)
                indptr.append(len(indices))
                labels.append(label)
                width = max(width, columns[-1] + 1) if columns else width
                if len(indices) > MAX_CELLS:
                    raise ConfigError(f"more than {MAX_CELLS:,} nonzeros", where=where)
                if max_rows is not None and len(labels) >= max_rows:
                    break
    except (OSError, ValueError, EOFError) as exc:
        raise ConfigError(f"cannot read it as svmlight: {exc}", where=where) from None
    if not labels:
        raise ConfigError("has no data rows", where=where)
    return (
        np.array(indptr, dtype=np.int64),
        np.array(indices, dtype=np.int64),
        np.array(values, dtype=np.float64),
        np.array(labels, dtype=np.float64),
        width,
    )


def class_labels(table: Table, binary: bool) -> tuple[np.ndarray, int]:
    """The target as class indices 0..k-1 (the sorted distinct values) and k. Refused: a
    non-integer label, one class only, a class with one sample, and for ``binary`` labels
    other than 0 and 1 (or -1 and 1, svmlight's custom, read as 0 and 1)."""
    y = table.target
    if binary and np.all((y == -1) | (y == 1)):
        y = (y == 1).astype(np.float64)
    bad = np.flatnonzero(y != np.round(y))
    if bad.size:
        k = int(bad[0])
        raise ConfigError(
            f"{table.at(k)}: target '{table.target_name}' = {y[k]:g} is not a class label "
            "(an integer)",
            where=table.where,
        )
    if binary:
        bad = np.flatnonzero((y != 0) & (y != 1))
        if bad.size:
            k = int(bad[0])
            raise ConfigError(
                f"{table.at(k)}: target '{table.target_name}' = {y[k]:g}; logistic "
                "regression needs labels 0 and 1 (softmax takes more classes)",
                where=table.where,
            )
    classes, index, counts = np.unique(y, return_inverse=True, return_counts=True)
    if len(classes) < 2:
        raise ConfigError(
            f"target '{table.target_name}' has one class only ({classes[0]:g})",
            where=table.where,
        )
    if np.any(counts < 2):
        c = int(np.flatnonzero(counts < 2)[0])
        k = int(np.flatnonzero(index == c)[0])
        raise ConfigError(
            f"{table.at(k)}: class {classes[c]:g} of target '{table.target_name}' has one "
            "sample (a class needs at least two)",
            where=table.where,
        )
    return index.astype(np.float64), len(classes)


def split_and_scale(
    features: np.ndarray, target: np.ndarray, test_fraction: float, seed: int, standardize: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train features, train target, test features, test target).

    The test rows are the first ``round(n * test_fraction)`` (at least 1 when the fraction is
    > 0) of a permutation from ``numpy.random.default_rng(seed)``; both parts keep the file's
    order. With ``standardize`` every feature is centred and scaled by the mean and standard
    deviation of the training rows (a constant feature is centred only), test rows alike."""
    n = features.shape[0]
    n_test = max(1, round(n * test_fraction)) if test_fraction > 0 else 0
    is_test = np.zeros(n, bool)
    is_test[np.random.default_rng(seed).permutation(n)[:n_test]] = True
    train_x, test_x = features[~is_test], features[is_test]
    if standardize:
        mean = train_x.mean(axis=0)
        std = train_x.std(axis=0)
        std[std == 0] = 1.0
        train_x, test_x = (train_x - mean) / std, (test_x - mean) / std
    return train_x, target[~is_test], test_x, target[is_test]
