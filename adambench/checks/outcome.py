"""The outcome of a check or a comparison: items, cases and the whole result."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from adambench.errors import ExitCode
from adambench.numbers import json_value, number_or_none
from adambench.version import __version__

if TYPE_CHECKING:
    pass
from adambench.checks.expectations import BASELINE_FORMAT, BASELINE_VERSION, REPORT_FORMAT

__all__ = ["CaseResult", "CheckItem", "CheckResult"]


@dataclass(frozen=True)
class CheckItem:
    """One judged check of a case: an expectation, or a metric against its baseline."""

    name: str  # the expectation key ("final_loss_below") or "baseline: final_loss"
    kind: str  # "expect" or "baseline"
    metric: str
    passed: bool
    measured: Any  # a number, None (worst / unavailable), or a status count for "status"
    expected: str  # human text: "< 1e-06", "≤ 955.5"
    threshold: float | None  # the bound the measured value was held to
    baseline: float | None = None
    delta: str = ""
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "metric": self.metric,
            "passed": self.passed,
            "measured": json_value(self.measured),
            "expected": self.expected,
            "threshold": number_or_none(self.threshold),
            "baseline": number_or_none(self.baseline),
            "delta": self.delta,
            "message": self.message,
        }


@dataclass
class CaseResult:
    """A case configuration: its settings, measured metrics and checks."""

    id: str
    description: str
    settings: dict[str, Any]
    metrics: dict[str, Any]
    checks: list[CheckItem]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def seeds(self) -> int:
        return len(self.settings.get("seeds", [])) or 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "description": self.description,
            "passed": self.passed,
            "settings": self.settings,
            "metrics": {k: json_value(v) for k, v in self.metrics.items()},
            "checks": [c.to_dict() for c in self.checks],
        }


@dataclass
class CheckResult:
    """What :func:`check` and :func:`compare` return."""

    kind: str  # "check" or "compare"
    name: str  # the suite's name, or "OLD vs NEW"
    source: str  # the suite path, or the two result files
    cases: list[CaseResult]
    baseline: str | None = None
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    threads: int = 1
    compiled: list[str] = field(default_factory=list)  # what was compiled cold

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.cases)

    @property
    def n_passed(self) -> int:
        return sum(c.passed for c in self.cases if c.checks)

    @property
    def n_failed(self) -> int:
        return sum(not c.passed for c in self.cases)

    @property
    def n_unchecked(self) -> int:
        """Cases with nothing to check (no expectations and no baseline): they cannot fail."""
        return sum(not c.checks for c in self.cases)

    @property
    def exit_code(self) -> ExitCode:
        """0 when every check passed, 1 when one failed (a regression)."""
        return ExitCode.OK if self.passed else ExitCode.GATE_FAILED

    def checks(self) -> Iterator[tuple[CaseResult, CheckItem]]:
        for case in self.cases:
            for item in case.checks:
                yield case, item

    def to_dict(self) -> dict[str, Any]:
        """The machine-readable report (``--json``); everything that varies between two
        identical invocations is under ``volatile``."""
        n_checks = sum(1 for _ in self.checks())
        n_failed_checks = sum(1 for _, c in self.checks() if not c.passed)
        return {
            "format": REPORT_FORMAT,
            "tool": {"name": "adambench", "version": __version__},
            "kind": self.kind,
            "name": self.name,
            "source": self.source,
            "baseline": self.baseline,
            "passed": self.passed,
            "exit_code": int(self.exit_code),
            "summary": {
                "cases": len(self.cases),
                "passed": self.n_passed,
                "failed": self.n_failed,
                "without_checks": self.n_unchecked,
                "checks": n_checks,
                "checks_failed": n_failed_checks,
            },
            "cases": [c.to_dict() for c in self.cases],
            "notes": list(self.notes),
            "volatile": {
                "threads": self.threads,
                "compiled": list(self.compiled),
                "timings": {k: round(v, 6) for k, v in self.timings.items()},
            },
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"

    def baseline_dict(self) -> dict[str, Any]:
        """The baseline file's content: measured metrics and settings per case, no timings."""
        return {
            "format": BASELINE_FORMAT,
            "format_version": BASELINE_VERSION,
            "tool": {"name": "adambench", "version": __version__},
            "suite": self.name,
            "how_to_update": "adambench check SUITE --save-baseline FILE, then commit the diff",
            "cases": {
                c.id: {
                    "settings": c.settings,
                    "metrics": {k: json_value(v) for k, v in c.metrics.items()},
                }
                for c in self.cases
            },
        }

    def baseline_json(self) -> str:
        """Diff-friendly JSON: sorted keys, two-space indent, one block per case."""
        return json.dumps(self.baseline_dict(), indent=2, sort_keys=True, allow_nan=False) + "\n"
