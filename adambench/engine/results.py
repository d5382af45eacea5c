"""Result types of a run, and their JSON / CSV form (a public contract, schema version 1).

The JSON layout is documented in docs/json.md and published as a JSON Schema
(``adambench/schema/result.schema.json``). Non-finite numbers are written as ``null`` (JSON has
no NaN); the run's ``status`` says why. Everything that varies between two identical invocations
(date, timings, thread count) lives under ``volatile``, so two results can be compared byte for
byte without it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from adambench.numbers import finite_or_none
from adambench.version import __version__

if TYPE_CHECKING:
    from adambench.engine.metrics import ConfigSummary
    from adambench.optimizers.spec import OptimizerConfig
    from adambench.problems import Problem

__all__ = [
    "MAX_JSON_BYTES",
    "MAX_JSON_PARAMS",
    "SCHEMA_VERSION",
    "Evaluations",
    "Result",
    "RunResult",
    "Settings",
    "environment",
    "read_json",
    "read_result_file",
    "run_dict",
]

SCHEMA_VERSION = 1
#: Above this many parameters, start/final_x/minimum are left out of the JSON (null).
MAX_JSON_PARAMS = 1000


@dataclass(frozen=True)
class Settings:
    """How the runs were made."""

    steps: int
    seeds: tuple[int, ...]
    every: int
    start: str  # "default", "random" or "given"
    stop_at_target: bool
    average_decay: float | None
    record_x: bool
    #: Of the parameters, optimizer state and gradient (``limits.DTYPES``).
    dtype: str = "float64"


@dataclass(frozen=True)
class Evaluations:
    """A run's evaluations of a data problem's held-out rows: at iterates 0, K, 2K, ...
    (K = eval_every, inside the compiled loop) and at its last iterate (when the run closes),
    each with the full training loss measured there."""

    steps: np.ndarray  # int64
    train_loss: np.ndarray
    test_loss: np.ndarray
    test_accuracy: np.ndarray  # NaN for least squares (not a classifier)

    def first_reaching(self, metric: str, target: float) -> int | None:
        """The first evaluated step whose ``metric`` (test_loss at most, test_accuracy at
        least) reaches ``target``; None if none does."""
        values = getattr(self, metric)
        hit = values <= target if metric == "test_loss" else values >= target
        where = np.flatnonzero(hit)
        return int(self.steps[where[0]]) if where.size else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": self.steps.tolist(),
            "train_loss": _vec(self.train_loss),
            "test_loss": _vec(self.test_loss),
            "test_accuracy": _vec(self.test_accuracy),
        }


@dataclass
class RunResult:
    """One run: an optimizer configuration from one seed."""

    config_index: int
    optimizer: str
    label: str
    hyperparameters: dict[str, float | bool]
    seed: int
    start: np.ndarray
    status: str
    steps: int
    diverged_at: int | None
    final_x: np.ndarray
    final_loss: float | None
    best_loss: float | None
    best_step: int | None
    steps_to_target: int | None
    distance_to_minimum: float | None
    grad_norm: float | None
    accuracy: float | None = None
    #: A data problem's loss (with the penalty) and accuracy on its held-out rows, if any.
    test_loss: float | None = None
    test_accuracy: float | None = None
    #: The held-out evaluations along the run (None: no held-out rows).
    evaluations: Evaluations | None = None
    average_x: np.ndarray | None = None
    average_loss: float | None = None
    loss_trace: np.ndarray | None = None
    x_trace: np.ndarray | None = None
    trace_every: int = 1

    def trace_steps(self) -> np.ndarray:
        n = 0 if self.loss_trace is None else self.loss_trace.shape[0]
        return np.arange(n) * self.trace_every


@dataclass
class Result:
    """What `run` returns: the problem, the configurations, the settings and every run."""

    problem: Problem
    configs: list[OptimizerConfig]
    settings: Settings
    runs: list[RunResult]
    timings: dict[str, float] = field(default_factory=dict)
    threads: int = 1
    notes: list[str] = field(default_factory=list)
    date: str = ""

    def runs_of(self, config_index: int) -> list[RunResult]:
        return [r for r in self.runs if r.config_index == config_index]

    def summaries(self) -> list[ConfigSummary]:
        from adambench.engine.metrics import summarize

        m = self.problem.min_value
        return [summarize(self.runs_of(k), c.label, m) for k, c in enumerate(self.configs)]

    # -- serialisation ---------------------------------------------------------------------
    def to_dict(self, trace: bool = False) -> dict[str, Any]:
        """The documented JSON object (``trace`` adds the recorded loss and x arrays)."""
        p = self.problem
        small = p.dim <= MAX_JSON_PARAMS
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "adambench", "version": __version__},
            "environment": environment(),
            "problem": {
                "name": p.name,
                "description": p.description,
                "kind": p.kind,
                "source": p.source,
                "formula": p.formula(),
                "variables": list(p.variables) if p.variables else f"x[0..{p.dim - 1}]",
                "dim": p.dim,
                "start": _vec(p.start) if small else None,
                "minimum": {
                    "x": [_vec(m) for m in p.minimizers] if small and p.minimizers else None,
                    "value": finite_or_none(p.min_value),
                },
                "target": finite_or_none(p.target),
                "target_metric": p.target_metric,
                "gradient_noise": p.gradient_noise,
                "rotate": p.rotation_seed,
            },
            "settings": {
                "steps": self.settings.steps,
                "seeds": list(self.settings.seeds),
                "every": self.settings.every,
                "start": self.settings.start,
                "stop_at_target": self.settings.stop_at_target,
                "average_decay": self.settings.average_decay,
                "record_x": self.settings.record_x,
                "dtype": self.settings.dtype,
                "parameters_in_json": small,
            },
            "optimizers": [
                {
                    "label": c.label,
                    "optimizer": c.name,
                    "source": c.spec.source,
                    "hyperparameters": c.public_values(),
                    "sources": dict(c.sources),
                }
                for c in self.configs
            ],
            "runs": [
                run_dict(r, small, trace, p.min_value, p.test_data is not None) for r in self.runs
            ],
            "notes": list(self.notes) + list(p.notes),
            "volatile": {
                "date": self.date,
                "threads": self.threads,
                "timings": {k: round(v, 6) for k, v in self.timings.items()},
            },
        }

    def to_json(self, trace: bool = False) -> str:
        return json.dumps(self.to_dict(trace), indent=2, allow_nan=False) + "\n"

    def to_csv(self) -> str:
        """One row per run, the columns of the JSON's runs (``final_gap`` and ``best_gap`` empty
        without a known minimum); hyperparameters as hp_<name> columns (union over optimizers)."""
        from adambench.engine.metrics import gap_to_minimum

        hp_names: list[str] = []
        for c in self.configs:
            for name in c.values:
                if name not in hp_names:
                    hp_names.append(name)
        cols = [
            "optimizer",
            "label",
            "seed",
            "status",
            "steps",
            "diverged_at",
            "final_loss",
            "best_loss",
            "final_gap",
            "best_gap",
            "best_step",
            "steps_to_target",
            "distance_to_minimum",
            "grad_norm",
            "accuracy",
            "average_loss",
        ] + ["test_loss", "test_accuracy"] * (self.problem.test_data is not None)
        m = self.problem.min_value
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(cols + [f"hp_{n}" for n in hp_names])
        for r in self.runs:
            gaps = {
                "final_gap": gap_to_minimum(r.final_loss, m),
                "best_gap": gap_to_minimum(r.best_loss, m),
            }
            row = [gaps[c] if c in gaps else getattr(r, c) for c in cols]
            row += [r.hyperparameters.get(n, "") for n in hp_names]
            w.writerow(["" if v is None else _csv(v) for v in row])
        return buf.getvalue()


def _csv(v: Any) -> Any:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ""
    return v


def _vec(a: np.ndarray | None) -> list[float | None] | None:
    if a is None:
        return None
    return [finite_or_none(v) for v in np.asarray(a, float).tolist()]


def run_dict(
    r: RunResult,
    small: bool,
    trace: bool,
    min_value: float | None = None,
    held_out: bool = False,
) -> dict[str, Any]:
    """One run as the JSON object of the result schema; ``min_value``, the problem's known
    minimum value (None: unknown), gives ``final_gap`` and ``best_gap`` (null without it);
    ``held_out`` adds ``test_loss`` and ``test_accuracy`` (a data problem's held-out rows)."""
    from adambench.engine.metrics import gap_to_minimum

    out: dict[str, Any] = {
        "optimizer": r.optimizer,
        "label": r.label,
        "hyperparameters": dict(r.hyperparameters),
        "seed": r.seed,
        "start": _vec(r.start) if small else None,
        "status": r.status,
        "steps": r.steps,
        "diverged_at": r.diverged_at,
        "final_x": _vec(r.final_x) if small else None,
        "final_loss": finite_or_none(r.final_loss),
        "best_loss": finite_or_none(r.best_loss),
        "final_gap": gap_to_minimum(r.final_loss, min_value),
        "best_gap": gap_to_minimum(r.best_loss, min_value),
        "best_step": r.best_step,
        "steps_to_target": r.steps_to_target,
        "distance_to_minimum": finite_or_none(r.distance_to_minimum),
        "grad_norm": finite_or_none(r.grad_norm),
        "accuracy": finite_or_none(r.accuracy),
        "average": None
        if r.average_loss is None and r.average_x is None
        else {"x": _vec(r.average_x) if small else None, "loss": finite_or_none(r.average_loss)},
    }
    if held_out:  # a data problem with held-out rows (test_fraction > 0)
        out["test_loss"] = finite_or_none(r.test_loss)
        out["test_accuracy"] = finite_or_none(r.test_accuracy)
        out["evaluations"] = r.evaluations.to_dict() if r.evaluations is not None else None
    if trace:
        out["trace"] = {
            "every": r.trace_every,
            "loss": _vec(r.loss_trace) or [],
            "x": [_vec(row) for row in r.x_trace] if r.x_trace is not None else None,
        }
    return out


def environment() -> dict[str, Any]:
    """Versions and machine, recorded in every result."""
    import numba

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "platform": platform.platform(terse=True),
        "machine": platform.machine(),
        "cpu": _cpu_name(),
    }


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


#: Saved JSON files larger than this are refused. A run's recorded traces are bounded by the
#: engine's memory budget (512 MiB of numbers, about 1.5 GB as JSON text).
MAX_JSON_BYTES = 4 * 2**30
_CHUNK = 1 << 20


def read_json(path: str | Path, missing: str = "no such file", what: str = "result") -> Any:
    """Parse a saved JSON file (a result, a sweep, a baseline). Errors are ConfigError (exit 2)
    naming the file: missing (``missing`` says what to do), a folder, binary data, not UTF-8,
    larger than :data:`MAX_JSON_BYTES`, invalid or too deeply nested JSON.

    The file is read in chunks and refused at the first NUL byte (JSON text has none): a device
    or pipe (``/dev/zero``, ``<(...)``) is neither sized nor ever-ending then.
    """
    from adambench.errors import ConfigError

    where = str(path)
    p = Path(path)
    chunks = []
    size = 0
    try:
        with p.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                if b"\0" in chunk:
                    raise ConfigError(f"binary data, not a JSON {what} file", where=where)
                size += len(chunk)
                if size > MAX_JSON_BYTES:
                    raise ConfigError(
                        f"larger than {MAX_JSON_BYTES // 2**30} GiB; refused", where=where
                    )
                chunks.append(chunk)
    except FileNotFoundError:
        raise ConfigError(missing, where=where) from None
    except IsADirectoryError:
        raise ConfigError(f"is a directory, not a {what} file", where=where) from None
    except PermissionError:
        raise ConfigError("permission denied", where=where) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", where=where) from None
    try:
        text = b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", where=where) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not valid JSON (line {exc.lineno}: {exc.msg})", where=where) from None
    except RecursionError:
        raise ConfigError("JSON nested too deeply; refused", where=where) from None


def read_result_file(path: str | Path) -> dict[str, Any]:
    """Load a saved result (``run -o x.json``, a sweep, a baseline): the JSON object, checked
    for the tool name and a schema version this adambench reads. Errors are ConfigError (exit 2)
    naming the file."""
    from adambench.errors import ConfigError

    where = str(path)
    data = read_json(path)
    if not isinstance(data, dict) or data.get("tool", {}).get("name") != "adambench":
        raise ConfigError("not an adambench result (no tool.name = adambench)", where=where)
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ConfigError(
            f"schema_version {version!r} is not one this adambench reads ({SCHEMA_VERSION})",
            where=where,
        )
    return data
