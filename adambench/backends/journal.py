"""The journal: the append-only partial output of a distributed execution, to resume it.

Journal format (JSON lines, ``adambench-partial`` version 1): the first line is a header
``{"format", "format_version", "tool", "identity", "what", "runs", "created"}``, where
``identity`` is the sha256 of everything that determines the runs (problems, configurations,
seeds, steps, settings, the adambench build); each further line is one finished chunk
``{"chunk", "worker", "notes", "compiled", "blocks": [{"job", "runs", "arrays"}]}``, where
``runs`` holds the (configuration, seed) indices of the block's runs and ``arrays`` the engine's
collected arrays (``X``, ``M``, ``IM``, ``LT``, ``XT``, ``AVG``), each array as
``{"dtype", "shape", "data"}`` with the raw little-endian bytes in base64 (exact, NaN and inf
included). A last line without its newline (the process died while writing it) is ignored.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from adambench import files
from adambench.backends.tasks import Block, ChunkOutput, JobPlan, code_digest
from adambench.errors import ConfigError, UsageError
from adambench.version import __version__

__all__ = ["JOURNAL_FORMAT", "JOURNAL_VERSION", "Journal", "identity"]

JOURNAL_FORMAT = "adambench-partial"
JOURNAL_VERSION = 1


def _encode(a: np.ndarray) -> dict[str, Any]:
    a = np.ascontiguousarray(a)
    dtype = a.dtype.newbyteorder("<")
    return {
        "dtype": dtype.str,
        "shape": list(a.shape),
        "data": base64.b64encode(a.astype(dtype, copy=False).tobytes()).decode("ascii"),
    }


def _decode(d: dict[str, Any]) -> np.ndarray:
    raw = base64.b64decode(d["data"], validate=True)
    return (
        np.frombuffer(raw, dtype=np.dtype(d["dtype"]))
        .reshape(d["shape"])
        .astype(np.dtype(d["dtype"]).newbyteorder("="), copy=True)
    )


def _record(out: ChunkOutput) -> dict[str, Any]:
    return {
        "chunk": out.id,
        "worker": out.worker,
        "notes": out.notes,
        "compiled": out.compiled,
        "blocks": [
            {
                "job": b.job,
                "runs": _encode(b.runs),
                "arrays": {k: _encode(v) for k, v in b.arrays.items()},
            }
            for b in out.blocks
        ],
    }


def _from_record(r: dict[str, Any]) -> ChunkOutput:
    blocks = [
        Block(int(b["job"]), _decode(b["runs"]), {k: _decode(v) for k, v in b["arrays"].items()})
        for b in r["blocks"]
    ]
    return ChunkOutput(
        int(r["chunk"]), blocks, list(r["notes"]), list(r["compiled"]), worker=str(r["worker"])
    )


class Journal:
    """The append-only partial output of a distributed execution (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: Any = None
        #: Chunks this process began to record (counted before the write: an interrupt during
        #: it leaves a torn last line, which resuming drops, never a chunk kept but not counted).
        self.chunks_recorded = 0

    @staticmethod
    def open(
        path: str | Path, identity: str, what: str, runs: int, resume: bool
    ) -> tuple[Journal, list[ChunkOutput]]:
        """Start a journal, or read one to resume (checked to belong to the same runs)."""
        if resume:
            return Journal._resume(Path(path), str(path), identity, what)
        return Journal._start(Path(path), str(path), identity, what, runs), []

    @staticmethod
    def _start(p: Path, where: str, identity: str, what: str, runs: int) -> Journal:
        """A new journal holding its header (an existing file is refused)."""
        if p.exists():
            raise UsageError(
                f"{where} exists: the partial output of an interrupted run. Continue it with "
                f"--resume {where}, or delete it"
            )
        header = {
            "format": JOURNAL_FORMAT,
            "format_version": JOURNAL_VERSION,
            "tool": {"name": "adambench", "version": __version__},
            "identity": identity,
            "what": what,
            "runs": runs,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        j = Journal(p)
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            j._fh = open(p, "x", encoding="utf-8")  # noqa: SIM115 - kept open while running
        except OSError as exc:
            raise UsageError(f"cannot write: {exc.strerror or exc}", where=where) from None
        j._write(header)
        return j

    @staticmethod
    def _resume(p: Path, where: str, identity: str, what: str) -> tuple[Journal, list[ChunkOutput]]:
        """An existing journal of the same runs, open for appending, and its chunks."""
        try:
            raw = p.read_bytes()
        except FileNotFoundError:
            raise UsageError("no such partial file to resume", where=where) from None
        except OSError as exc:
            raise UsageError(f"cannot read: {exc.strerror or exc}", where=where) from None
        lines = raw.split(b"\n")
        complete = lines[:-1]  # the last piece has no newline: empty, or a torn last record
        if not complete:
            raise ConfigError("empty; not a partial output", where=where)
        _check_header(complete[0], where, identity, what)
        outputs = []
        for n, line in enumerate(complete[1:], 2):
            try:
                outputs.append(_from_record(json.loads(line)))
            except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError):
                raise ConfigError(f"line {n} is damaged; cannot resume", where=where) from None
        good = sum(len(line) + 1 for line in complete)
        j = Journal(p)
        try:
            j._fh = open(p, "r+", encoding="utf-8")  # noqa: SIM115 - kept open while running
            j._fh.truncate(good)  # drop a torn last record before appending
            j._fh.seek(good)
        except OSError as exc:
            raise UsageError(f"cannot write: {exc.strerror or exc}", where=where) from None
        return j, outputs

    def _write(self, obj: dict[str, Any]) -> None:
        self._fh.write(json.dumps(obj, separators=(",", ":")) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def append(self, out: ChunkOutput) -> None:
        """Record a finished chunk (one line, flushed and fsynced)."""
        self.chunks_recorded += 1
        self._write(_record(out))

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def remove(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


def _check_header(first: bytes, where: str, identity: str, what: str) -> None:
    """Refuse a file that is not a journal of this format, or one of other runs."""
    try:
        header = json.loads(first)
    except (json.JSONDecodeError, UnicodeDecodeError):
        header = None
    if not isinstance(header, dict) or header.get("format") != JOURNAL_FORMAT:
        raise ConfigError(f"not an adambench partial output (no format {JOURNAL_FORMAT})",
                          where=where)  # fmt: skip
    if header.get("format_version") != JOURNAL_VERSION:
        raise ConfigError(
            f"format_version {header.get('format_version')!r}; this adambench reads "
            f"{JOURNAL_VERSION}",
            where=where,
        )
    if header.get("identity") != identity:
        raise UsageError(
            f"the partial output of other runs ({header.get('what')}): the problem, "
            "optimizers, grid, seeds, steps, settings or the adambench build differ from "
            f"these ({what}). Give the same command to resume it",
            where=where,
        )


def identity(plans: Sequence[JobPlan]) -> str:
    """sha256 of everything that determines the runs (the journal's key)."""
    data = {"code": code_digest(), "jobs": [p.identity() for p in plans]}
    return files.digest(json.dumps(data, sort_keys=True, separators=(",", ":")))
