"""Every table at any terminal width: a number is never cut (issue 14).

Each table the command line prints is rendered through the CLI at 60, 80, 100 and 140 columns
and read back as a person would: no line is wider than the terminal, nothing is cut short
(rich marks a cut with ``…``; the quartile ranges ``q1…q3`` are told apart by parsing both
ends), and every number shown is the value of the same run's JSON within the precision shown.
Below 60 columns the table is shown whole, wider than the terminal, with a note.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from rich.table import Table
from typer.testing import CliRunner

from adambench.cli import app

ROOT = Path(__file__).resolve().parent.parent
WIDTHS = (60, 80, 100, 140)

NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[+-]\d+)?%?")
#: Punctuation around a number in running text: "(0.0012),", "[0.0001,".
AROUND = "()[],;:"


def invoke(tmp: Path, columns: int, *args: str, code: int = 0):
    result = CliRunner().invoke(
        app, list(args), env={"COLUMNS": str(columns)}, catch_exceptions=False
    )
    assert result.exit_code == code, result.output
    return result


# ---------------------------------------------------------------------------------------------
# Reading a table back


def tokens(text: str) -> list[str]:
    return [t.strip(AROUND) for t in text.split()]


def whole(token: str) -> list[str] | None:
    """The numbers a token shows, or None when it holds a cut (a ``…`` not between numbers)."""
    if token == "q1…q3":  # the header of the sweep table's quartile ranges
        return []
    if "…" not in token:
        return [token] if NUMBER.fullmatch(token) else []
    ends = token.split("…")
    if (
        len(ends) == 2
        and NUMBER.fullmatch(ends[0])
        and (NUMBER.fullmatch(ends[1]) or ends[1] == "∞")
    ):
        return [e for e in ends if e != "∞"]
    return None


def shown_value(token: str) -> tuple[float, float]:
    """(value, half a unit of the last digit shown)."""
    percent = token.endswith("%")
    text = token.rstrip("%")
    mantissa, _, exponent = text.partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    half = 0.5 * 10.0 ** (int(exponent or 0) - decimals)
    value = float(text)
    return (value / 100, half / 100) if percent else (value, half)


def leaves(data: object) -> tuple[list[float], set[str]]:
    """Every number of a JSON document, and every word of its text (numbers quoted in rules,
    messages and deltas are shown as written)."""
    numbers: list[float] = []
    words: set[str] = set()

    def walk(x: object) -> None:
        if isinstance(x, bool) or x is None:
            return
        if isinstance(x, (int, float)):
            numbers.append(float(x))
        elif isinstance(x, str):
            words.update(tokens(x))
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(data)
    return numbers, words


def run_statistics(data: object) -> list[float]:
    """Medians, quartiles and success rates of every group of runs (by label) in a result: what
    the run table summarises, computed from the runs themselves."""
    out: list[float] = []
    if isinstance(data, dict):
        for v in data.values():
            out += run_statistics(v)
        runs = data.get("runs")
        if isinstance(runs, list) and runs and isinstance(runs[0], dict) and "label" in runs[0]:
            groups: dict[str, list[dict]] = {}
            for r in runs:
                groups.setdefault(r["label"], []).append(r)
            for group in groups.values():
                out += _group_statistics(group)
    return out


def _group_statistics(group: list[dict]) -> list[float]:
    out = [sum(r["status"] == "reached_target" for r in group) / len(group)]
    for field, value in group[0].items():
        if isinstance(value, bool) or not isinstance(value, (int, float, type(None))):
            continue
        for keep in (lambda r: r["status"] != "diverged", lambda r: True):
            values = [r[field] for r in group if keep(r) and r[field] is not None]
            if values:
                out += [float(q) for q in np.quantile(np.array(values, float), [0.25, 0.5, 0.75])]
    return out


def assert_readable(text: str, width: int | None, data: object) -> None:
    """No line wider than ``width``, no number cut, every number a value of ``data`` within
    the precision shown (whole numbers, which are counts and step numbers, are only checked for
    being whole)."""
    numbers, words = leaves(data)
    numbers += run_statistics(data)
    pool = np.array([v for v in numbers if math.isfinite(v)], float)
    for line in text.splitlines():
        if width is not None:
            assert len(line.rstrip()) <= width, f"wider than {width}: {line!r}"
        for token in tokens(line):
            shown = whole(token)
            assert shown is not None, f"cut: {token!r} in {line!r}"
            for number in shown:
                if number in words or re.fullmatch(r"-?\d+", number):
                    continue
                value, half = shown_value(number)
                near = np.abs(pool - value) <= half * (1 + 1e-9) + 1e-300
                assert near.any(), f"{number} in {line!r} is no value of the result"


# ---------------------------------------------------------------------------------------------
# The tables, through the command line


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("widths")


RUNS = {
    "one seed": ["run", "beale", "-O", "adam(lr=0.05),rmsprop,momentum"],
    "seeds": [
        "run", "beale", "-O", "adam(lr=0.05),rmsprop,momentum", "--seeds", "5", "--start", "random"
    ],
    "tune": [
        "run", "beale", "-O", "adam,rmsprop", "--tune", "lr", "--tune-count", "5", "--seeds", "3",
        "--steps", "300", "--start", "random",
    ],
    "sparkline": ["run", "beale", "-O", "adam,rmsprop"],
}  # fmt: skip


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("kind", list(RUNS))
def test_run_tables_fit_and_show_whole_numbers(folder, kind, width):
    saved = folder / f"{kind.replace(' ', '_')}.json"
    result = invoke(folder, width, *RUNS[kind], "-o", str(saved))
    assert_readable(result.stdout, width, json.loads(saved.read_text()))
    if kind == "sparkline":
        assert ("loss curve" in result.stdout) is (width >= 100)  # 100 columns hold it
        assert "loss curve" not in result.stderr  # the optional column goes silently
    left_out = re.search(r"narrow terminal \((\d+) columns\): left out (.*?);", result.stderr)
    if left_out:  # the note names columns the table lacks
        for name in left_out.group(2).split(", "):
            assert name not in result.stdout


@pytest.fixture(scope="module")
def sweep_file(folder) -> Path:
    saved = folder / "sweep.json"
    invoke(
        folder, 140, "sweep", "beale", "-O", "adam", "--grid", "lr=1e-2:1:log3",
        "--grid", "beta1=0.5,0.9", "--seeds", "3", "--steps", "300", "--start", "random",
        "-o", str(saved), "-q",
    )  # fmt: skip
    return saved


@pytest.mark.parametrize("width", WIDTHS)
def test_sweep_ranked_and_heatmap_tables_fit(folder, sweep_file, width):
    result = invoke(folder, width, "sweep-show", str(sweep_file))
    assert "q1…q3" in result.stdout or "narrow terminal" in result.stderr
    assert "(lr x beta1)" in result.stdout  # the heatmap is there
    assert_readable(result.stdout, width, json.loads(sweep_file.read_text()))


@pytest.fixture(scope="module")
def check_report(folder) -> dict:
    result = invoke(folder, 140, "check", "sample_configs/ci_broken.yaml", "--json", code=1)
    return json.loads(result.stdout)


@pytest.mark.parametrize("width", WIDTHS)
def test_check_table_fits(folder, check_report, width):
    result = invoke(folder, width, "check", "sample_configs/ci_broken.yaml", "-v", code=1)
    assert "FAIL" in result.stdout
    assert_readable(result.stdout, width, check_report)


@pytest.mark.parametrize("width", WIDTHS)
def test_compare_table_fits(folder, width):
    old = folder / "old.json"
    if not old.exists():
        invoke(folder, 140, *RUNS["seeds"], "-o", str(old))
    report = json.loads(invoke(folder, 140, "compare", str(old), str(old), "--json").stdout)
    result = invoke(folder, width, "compare", str(old), str(old), "-v")
    assert "pass" in result.stdout
    assert_readable(result.stdout, width, report)


@pytest.mark.parametrize("width", WIDTHS)
def test_list_tables_fit(folder, width):
    data = json.loads(invoke(folder, 140, "list", "--json").stdout)
    assert_readable(invoke(folder, width, "list").stdout, width, data)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("problem", ["beale", "rosenbrock_nd", "noisy_logreg"])
def test_show_wraps_at_spaces_and_keeps_every_number(folder, problem, width):
    """show's lines wrap at spaces: at any width it shows the numbers it shows unwrapped."""
    wide = invoke(folder, 1000, "show", problem).stdout
    narrow = invoke(folder, width, "show", problem).stdout
    assert all(len(line.rstrip()) <= width for line in narrow.splitlines())
    assert tokens(narrow) == tokens(wide)


def test_below_the_narrowest_width_a_note_and_the_whole_table(folder):
    saved = folder / "narrow.json"
    result = invoke(folder, 40, *RUNS["seeds"], "-o", str(saved))
    assert "narrow terminal (40 columns): the table needs" in " ".join(result.stderr.split())
    assert_readable(result.stdout, None, json.loads(saved.read_text()))
    assert max(len(line.rstrip()) for line in result.stdout.splitlines()) > 40  # shown whole


def test_failure_lines_wrap_at_spaces(folder):
    result = invoke(folder, 60, "check", "sample_configs/ci_broken.yaml", code=1)
    assert all(len(line.rstrip()) <= 60 for line in result.stdout.splitlines())
    assert "1.00e-06" in result.stdout  # the bound, whole, in the failure line


# ---------------------------------------------------------------------------------------------
# The mechanism


def _table() -> Table:
    t = Table(title="a title that wraps at spaces")
    t.add_column("name", no_wrap=True)
    t.add_column("steps to target", justify="right")
    t.add_column("a long header", justify="right")
    t.add_column("least", justify="right")
    t.add_row("adam(lr=0.05)", "1598", "5.24e-18", "0.9725")
    return t


@pytest.mark.parametrize("width", range(30, 90, 3))
def test_fit_leaves_out_columns_in_order_and_only_as_needed(width):
    from adambench.report.fitting import fit

    table = _table()
    console = Console(width=width, record=True, no_color=True)
    fitted = fit(table, console, drop=("least", "a long header", "not a column"))
    console.print(fitted, crop=False)
    text = console.export_text()
    assert "…" not in text
    for cell in ("adam(lr=0.05)", "1598"):
        assert cell in text
    assert fitted.dropped in ((), ("least",), ("least", "a long header"))
    assert ("0.9725" in text) is ("least" not in fitted.dropped)
    if fitted.dropped:  # only as needed: with one column fewer left out, it would not fit
        assert fit(table, console, drop=fitted.dropped[:-1]).too_wide
    assert fitted.too_wide is any(len(line) > width for line in text.splitlines())
    assert [c.header for c in table.columns] == [
        "name",
        "steps to target",
        "a long header",
        "least",
    ]


def test_headers_wrap_between_words_never_inside_one():
    from adambench.report.fitting import fit

    console = Console(width=46, record=True, no_color=True)
    console.print(fit(_table(), console), crop=False)
    lines = console.export_text().splitlines()
    words = {w for line in lines for w in line.split()}
    assert {"steps", "target", "long", "header"} <= words
    assert all(len(line) <= 46 for line in lines)


@pytest.mark.parametrize("width", (40, 60, 80))
def test_progress_bars_keep_their_counts_whole(monkeypatch, width):
    """The bar gives way first, then the rate and the time left: a count is never cut."""
    from rich.progress import TextColumn

    from adambench.cli import feedback

    monkeypatch.setenv("COLUMNS", str(width))
    runs = feedback.fitted_progress(
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f} runs"),
    )
    runs.add_task("sweep: 12 chunks on 2 workers", total=1_234_567, completed=654_321)
    console = Console(width=width, record=True, no_color=True)
    for renderable in runs.get_renderables():
        console.print(renderable, crop=False)
    text = console.export_text()
    assert "654,321/1,234,567 runs" in text
    assert "…" not in text
    if width >= 60:  # below, the line is whole and wider than the terminal
        assert all(len(line.rstrip()) <= width for line in text.splitlines())
