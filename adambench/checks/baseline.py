"""Baselines: recorded metrics of a suite, read back and matched to the planned cases."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adambench.errors import ConfigError

if TYPE_CHECKING:
    pass
from adambench.checks.expectations import BASELINE_FORMAT, BASELINE_VERSION, METRICS
from adambench.checks.planning import PlannedCase
from adambench.checks.suite import SuiteContext, shown_value

__all__ = ["id_list", "match_baseline", "read_baseline", "short_text", "validate_baseline"]


def read_baseline(path: str | Path, suite: str | None = None) -> dict[str, Any]:
    """Load and validate a baseline file (errors are exit 2, naming the file and the case)."""
    from adambench.engine.results import read_json

    where = str(path)
    how = f"adambench check {suite or 'SUITE'} --save-baseline {where}"
    data = read_json(path, f"no such baseline file; create it with: {how}", "baseline")
    return validate_baseline(data, where)


def validate_baseline(data: Any, where: str = "<baseline>") -> dict[str, Any]:
    ctx = SuiteContext(where)
    if not isinstance(data, dict) or data.get("format") != BASELINE_FORMAT:
        raise ConfigError(
            f"not an adambench baseline (no format = {BASELINE_FORMAT}); "
            "write one with --save-baseline",
            where=where,
        )
    if data.get("format_version") != BASELINE_VERSION:
        raise ctx.fail(
            "format_version",
            f"is {data.get('format_version')!r}; this adambench reads {BASELINE_VERSION}",
        )
    cases = data.get("cases")
    if not isinstance(cases, dict):
        raise ctx.fail("cases", "must be a mapping of case ids to {settings, metrics}")
    for cid, entry in cases.items():
        cctx = SuiteContext(where, f"case '{cid}'")
        if not isinstance(entry, dict) or not isinstance(entry.get("settings"), dict):
            raise cctx.fail("settings", "is missing or not a mapping")
        metrics = entry.get("metrics")
        if not isinstance(metrics, dict):
            raise cctx.fail("metrics", "is missing or not a mapping")
        for name in METRICS:
            if name not in metrics:
                raise cctx.fail(f"metrics.{name}", "is missing")
            v = metrics[name]
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise cctx.fail(
                    f"metrics.{name}", f"must be a number or null, got {shown_value(v)}"
                )
    return data


def _differences(a: Any, b: Any, path: str) -> Iterator[tuple[str, Any, Any]]:
    """(dotted path, a's value, b's value) wherever two JSON-like values differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            yield from _differences(a.get(k), b.get(k), f"{path}.{k}" if path else k)
    elif not _same(a, b):
        yield path, a, b


def _same(a: Any, b: Any) -> bool:
    # true == 1 in Python; a flag recorded as true must not match a number 1.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def match_baseline(planned: Sequence[PlannedCase], baseline: Mapping[str, Any], where: str) -> None:
    """Raise (exit 2) when the baseline was not made from this suite's cases and settings."""
    ours = {cid: s for p in planned for cid, s in zip(p.ids, p.settings, strict=True)}
    theirs = baseline["cases"]
    problems = []
    missing = [cid for cid in ours if cid not in theirs]
    extra = [cid for cid in theirs if cid not in ours]
    if missing:
        problems.append(f"cases not in the baseline: {id_list(missing)}")
    if extra:
        problems.append(f"cases not in the suite: {id_list(extra)}")
    for cid, settings in ours.items():
        if cid not in theirs:
            continue
        # Baselines saved before float32 existed have no dtype: they are float64.
        recorded = {"dtype": "float64", **theirs[cid]["settings"]}
        for path, mine, old in _differences(settings, recorded, ""):
            problems.append(
                f"case '{cid}': {path} is {short_text(mine)} in the suite, "
                f"{short_text(old)} in the baseline"
            )
    if problems:
        shown = "; ".join(problems[:4])
        more = f"; and {len(problems) - 4} more difference(s)" if len(problems) > 4 else ""
        raise ConfigError(
            f"the baseline does not match the suite: {shown}{more}. If the change is intended, "
            "re-create the baseline with --save-baseline",
            where=where,
        )


def id_list(ids: Sequence[str]) -> str:
    head = ", ".join(f"'{i}'" for i in ids[:3])
    return head + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")


def short_text(v: Any) -> str:
    if v is None:
        return "absent"
    text = json.dumps(v) if not isinstance(v, str) else repr(v)
    return text if len(text) <= 60 else text[:57] + "..."
