"""Rendering `check` and `compare` results: the rich table, the summary line, the failure list,
JUnit XML and Markdown. Formatters only: the numbers and verdicts come from
:mod:`adambench.checks`. Files are written by the CLI with
:func:`adambench.files.write_atomic`.
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import TYPE_CHECKING

from adambench.checks.outcome import CaseResult, CheckItem, CheckResult
from adambench.numbers import distinct_number, format_number
from adambench.version import __version__

if TYPE_CHECKING:
    from rich.table import Table

__all__ = [
    "BASELINE_FORMATS",
    "DROP_ORDER",
    "JUNIT_FORMATS",
    "MARKDOWN_FORMATS",
    "Row",
    "expected_text",
    "failures",
    "gap_note",
    "junit_xml",
    "markdown",
    "measured_text",
    "rows",
    "seconds",
    "summary_line",
    "table",
]

#: Output formats by extension, for :func:`adambench.report.tables.check_output_path`.
JUNIT_FORMATS = {".xml": "junit"}
MARKDOWN_FORMATS = {".md": "markdown", ".markdown": "markdown"}
BASELINE_FORMATS = {".json": "json"}

#: The check and compare table's columns a narrow terminal leaves out, least important first
#: (:func:`adambench.report.fitting.fit`): the change, then the bound (both are in the FAILED
#: lines); the mark, case, check and measured value always stay. Long case ids and check
#: names (names, not numbers) fold before a column is left out.
DROP_ORDER = ("Δ", "expected")


def gap_note(item: CheckItem, case: CaseResult) -> str:
    """``(gap 1.07e-06)``: the gap to the minimum shown with a measured loss when ``case``'s
    problem has a known non-zero minimum (at 0 the loss is the gap); "" otherwise."""
    if item.metric not in ("final_loss", "best_loss"):
        return ""
    problem = case.settings.get("problem")
    # compare's settings name the problem (a string) and its cases hold no gaps.
    if not isinstance(problem, dict) or not problem.get("minimum_value"):  # unknown, 0, or none
        return ""
    gap = case.metrics.get(item.metric.replace("loss", "gap"))
    return "" if gap is None else f"(gap {format_number(gap, 'table')})"


def measured_text(item: CheckItem) -> str:
    """The measured value as shown: a number, a status count, or why there is no number."""
    v = item.measured
    if isinstance(v, str):
        return v
    if v is None:
        if item.metric == "steps_to_target":
            return "not reached"
        if item.metric in ("final_loss", "best_loss", "distance_to_minimum", "grad_norm"):
            return "diverged"
        return "–"
    if item.metric in ("success_rate", "diverged_rate"):
        return format_number(v, "percent")
    if item.kind == "baseline" and item.baseline is not None:
        return distinct_number(v, item.baseline)  # enough digits to see the change
    return format_number(v, "check")


def expected_text(item: CheckItem) -> str:
    return item.expected


def seconds(result: CheckResult) -> tuple[float, float]:
    """(time shown in the summary, cold compile time); compile time only when something was
    compiled cold (loading cached machine code counts as running)."""
    t = result.timings
    total = t.get("total_s", 0.0)
    compile_s = t.get("compile_s", 0.0) if result.compiled else 0.0
    return total - compile_s, compile_s


def summary_line(result: CheckResult, markup: bool = False) -> str:
    """pytest's last line: ``5 passed, 1 failed in 0.42s`` (cold compile time apart)."""
    parts = []
    if result.n_passed:
        parts.append(
            f"[green]{result.n_passed} passed[/]" if markup else f"{result.n_passed} passed"
        )
    if result.n_failed:
        text = f"{result.n_failed} failed"
        parts.append(f"[bold red]{text}[/]" if markup else text)
    if result.n_unchecked:
        text = f"{result.n_unchecked} without checks"
        parts.append(f"[yellow]{text}[/]" if markup else text)
    head = ", ".join(parts) or "no cases"
    if result.kind != "check":
        return head
    shown, compile_s = seconds(result)
    line = f"{head} in {format_number(shown, 'duration')}"
    if result.compiled:
        n = len(result.compiled)
        took = format_number(compile_s, "compile_time")
        line += f" (+ {took} compiling {n} kernel{'s' if n > 1 else ''}, cached)"
    return line


def failures(result: CheckResult) -> list[str]:
    """One line per failed check, as in pytest's short summary."""
    return [
        f"FAILED {case.id} :: {item.name} - {item.message}"
        for case, item in result.checks()
        if not item.passed
    ]


def _title(result: CheckResult) -> str:
    """The table's title, escaped for rich (suite names and paths may hold ``[...]``)."""
    from rich.markup import escape

    n = len(result.cases)
    if result.kind == "compare":
        return escape(f"{result.name}: {n} run{'s' if n != 1 else ''} compared")
    title = f"{result.name}: {n} case{'s' if n != 1 else ''}"
    if result.baseline:
        title += f", against {result.baseline}"
    return escape(title)


@dataclass(frozen=True)
class Row:
    """A displayed row: one check, passing baseline checks folded into one, or "no checks"."""

    case: CaseResult
    passed: bool | None  # None: nothing was checked
    check: str
    measured: str
    expected: str
    delta: str
    gap: str = ""  # the gap note of a measured loss (:func:`gap_note`), shown with it


def rows(result: CheckResult, failures_only: bool = False, verbose: bool = False) -> list[Row]:
    """The rows of the table and the Markdown. Unless ``verbose``, a case's passing baseline
    checks fold into one row ("baseline: 5 metrics"); failures are always shown one by one."""
    out: list[Row] = []
    for case in result.cases:
        if failures_only and case.passed:
            continue
        items = [i for i in case.checks if not (failures_only and i.passed)]
        folded = [] if verbose else [i for i in items if i.kind == "baseline" and i.passed]
        for item in items:
            if item in folded:
                if item is folded[0]:
                    n = len(folded)
                    ref = "old" if result.kind == "compare" else "baseline"
                    out.append(
                        Row(
                            case,
                            True,
                            f"{ref}: {n} metric{'s' if n > 1 else ''}",
                            "",
                            "within tolerance",
                            "",
                        )
                    )
                continue
            out.append(
                Row(
                    case,
                    item.passed,
                    item.name,
                    measured_text(item),
                    expected_text(item),
                    item.delta,
                    gap_note(item, case),
                )
            )
        if not items:
            out.append(Row(case, None, "no checks", "", "", ""))
    return out


def table(result: CheckResult, failures_only: bool = False, verbose: bool = False) -> Table:
    """One row per check, grouped by case: pass/FAIL, measured, expected, Δ."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    t = Table(
        title=_title(result),
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
    )
    t.add_column("", no_wrap=True)
    t.add_column("case", overflow="fold")
    t.add_column("check", no_wrap=True)  # a fixed vocabulary: kept whole; case ids may fold
    t.add_column("measured", justify="right", no_wrap=True)
    t.add_column("expected", justify="right", no_wrap=True)
    t.add_column("Δ", justify="right", no_wrap=True)
    shown = rows(result, failures_only, verbose)
    for k, row in enumerate(shown):
        case = row.case
        first = k == 0 or shown[k - 1].case is not case
        second = not first and (k < 2 or shown[k - 2].case is not case)
        last = k == len(shown) - 1 or shown[k + 1].case is not case
        if first:
            case_cell = escape(case.id)
        elif second and case.seeds > 1:
            case_cell = f"[dim]{case.seeds} seeds[/dim]"
        else:
            case_cell = ""
        if row.passed is None:
            mark = "[dim]–[/]"
        else:
            mark = "[green]pass[/]" if row.passed else "[bold red]FAIL[/]"
        # The gap to the minimum goes under the loss: the column stays as narrow as a number.
        measured = escape(row.measured) + (f"\n{escape(row.gap)}" if row.gap else "")
        t.add_row(
            mark,
            case_cell,
            escape(row.check) if row.passed is not None else f"[dim]{escape(row.check)}[/]",
            measured if row.passed is not False else f"[red]{measured}[/]",
            escape(row.expected),
            escape(row.delta),
            end_section=last and k != len(shown) - 1,
        )
    return t


# ---------------------------------------------------------------------------------------------
# JUnit XML


def junit_xml(result: CheckResult) -> str:
    """JUnit XML: one ``testcase`` per check (``name`` = "case :: check"), failures with their
    message; a case with no checks is a skipped testcase. CI systems (GitHub, GitLab, Jenkins)
    display it."""
    rows: list[tuple[CaseResult, CheckItem | None]] = []
    for case in result.cases:
        rows += [(case, item) for item in case.checks] if case.checks else [(case, None)]
    n_failed = sum(1 for _, item in rows if item is not None and not item.passed)
    n_skipped = sum(1 for _, item in rows if item is None)
    shown, compile_s = seconds(result)
    counts = {
        "tests": str(len(rows)),
        "failures": str(n_failed),
        "errors": "0",
        "skipped": str(n_skipped),
        "time": f"{shown + compile_s:.3f}",
    }
    root = ET.Element("testsuites", {"name": "adambench", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": f"adambench {result.kind}: {result.name}"})
    suite.attrib.update(counts)
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("adambench.version", __version__),
        ("source", result.source),
        ("baseline", result.baseline or ""),
    ):
        ET.SubElement(props, "property", {"name": name, "value": value})
    classname = f"adambench.{result.kind}.{result.name}"
    for case, item in rows:
        if item is None:
            tc = ET.SubElement(suite, "testcase", {"classname": classname, "name": case.id})
            ET.SubElement(tc, "skipped", {"message": "no expectations and no baseline"})
            continue
        tc = ET.SubElement(
            suite, "testcase", {"classname": classname, "name": f"{case.id} :: {item.name}"}
        )
        if not item.passed:
            failure = ET.SubElement(
                tc,
                "failure",
                {
                    "message": item.message,
                    "type": "regression" if item.kind == "baseline" else "expectation",
                },
            )
            failure.text = _details(case, item)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _details(case: CaseResult, item: CheckItem) -> str:
    s = case.settings
    opt = s.get("optimizer", {})
    label = opt.get("label", s.get("label", "")) if isinstance(opt, dict) else ""
    problem = s.get("problem", {})
    pname = problem.get("name", "") if isinstance(problem, dict) else str(problem)
    lines = [
        item.message,
        f"measured: {measured_text(item)}; expected: {expected_text(item)}"
        + (f"; delta: {item.delta}" if item.delta else ""),
        f"problem: {pname}; optimizer: {label}; steps: {s.get('steps')}; seeds: {s.get('seeds')}",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Markdown


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`").replace("\n", " ")


def _failures_html(fails: list[str]) -> list[str]:
    """The failure list, folded in ``<details>``, as HTML: Python-Markdown (MkDocs) leaves
    Markdown inside an HTML block as raw text, and GitHub renders an HTML block that has no
    blank line as it is, so an HTML list reads as a list in both."""
    if not fails:
        return []
    items = [f"<li>{html.escape(f, quote=False)}</li>" for f in fails]
    return ["", "<details open><summary>Failures</summary>", "<ul>", *items, "</ul>", "</details>"]


def markdown(result: CheckResult, verbose: bool = False) -> str:
    """The table as GitHub-flavoured Markdown, for a pull-request comment or a job summary."""
    icon = "✅" if result.passed else "❌"
    lines = [
        f"### {icon} adambench {result.kind}: {_md(result.name)}",
        "",
        f"**{_md(summary_line(result))}**",
        "",
        "| | case | check | measured | expected | Δ |",
        "|:--|:--|:--|--:|--:|--:|",
    ]
    for row in rows(result, verbose=verbose):
        seeds = f" ({row.case.seeds} seeds)" if row.case.seeds > 1 else ""
        mark = {None: "–", True: "✅ pass", False: "❌ **FAIL**"}[row.passed]
        measured = f"{row.measured} {row.gap}" if row.gap else row.measured
        cells = [mark, row.case.id + seeds, row.check, measured, row.expected, row.delta]
        lines.append("| " + " | ".join(_md(c) for c in cells) + " |")
    lines += _failures_html(failures(result))
    if result.notes:
        lines += [""] + [f"> {_md(n)}" for n in result.notes]
    return "\n".join(lines) + "\n"
