"""`adambench report RESULT.json -o report.html`: the page's structure for run, sweep and check
results, escaping, same bytes for the same JSON, one-line refusals, and a real headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import pytest
from typer.testing import CliRunner

from adambench.cli import app

runner = CliRunner()
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HOSTILE = "<script>alert('x')</script>"
SUITE = """\
name: tiny
cases:
  - name: beale-adam
    problem: beale
    optimizer: adam(lr=0.1)
    steps: 5
    seeds: 2
    expect: {final_loss_below: 1.0e-30}
"""

BENCH_SUITE = """\
name: tiny-bench
problems:
  - {problem: beale, steps: 40, target: {gap: 0.5}}
  - {problem: beale, steps: 30, start: default, target: 1.0}
optimizers: [adam, adam(beta1=0.5)]
seeds: 2
tune: {count: 2}
"""


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


class Page(HTMLParser):
    """The elements of a page: tag counts, svg sizes, table rows' text, open-tag balance."""

    VOID: ClassVar[frozenset[str]] = frozenset({"meta", "br", "img", "hr", "input", "link"})

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.counts: dict[str, int] = {}
        self.svgs: list[tuple[str, str]] = []
        self.rows: list[list[str]] = []
        self.links: list[str] = []  # references out of the page (none: self-contained)
        self.text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.counts[tag] = self.counts.get(tag, 0) + 1
        a = dict(attrs)
        self.links += [
            v
            for k, v in attrs
            if k in ("src", "href", "xlink:href") and v[:1] != "#" and not v.startswith("data:")
        ]
        if tag == "svg" and "svg" not in self.stack:
            self.svgs.append((a.get("width", ""), a.get("height", "")))
        if tag == "tr":
            self.rows.append([])
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.counts[tag] = self.counts.get(tag, 0) + 1

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)
        if "td" in self.stack or "th" in self.stack:
            self.rows[-1].append(data)


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, Path]:
    """A run with traces, a two-axis sweep and a check report: cheap beale/adam runs."""
    d = tmp_path_factory.mktemp("results")
    run, sweep, check = d / "run.json", d / "sweep.json", d / "check.json"
    r = invoke("run", "beale", "-O", "adam", "--steps", "30", "--seeds", "2", "--trace",
               "-o", run, "-q")  # fmt: skip
    assert r.exit_code == 0, r.output
    r = invoke("sweep", "beale", "-O", "adam", "--grid", "lr=0.01,0.1", "--grid",
               "beta1=0.5,0.9", "--steps", "30", "--seeds", "2", "-o", sweep, "-q")  # fmt: skip
    assert r.exit_code == 0, r.output
    (d / "suite.yaml").write_text(SUITE)
    r = invoke("check", d / "suite.yaml", "--json")
    assert r.exit_code == 1, r.output  # the impossible check fails: a report with a FAIL row
    check.write_text(r.stdout)
    bench = d / "bench.json"
    (d / "bench.yaml").write_text(BENCH_SUITE)
    r = invoke("bench", d / "bench.yaml", "-o", bench, "-q")
    assert r.exit_code == 0, r.output
    return {"run": run, "sweep": sweep, "check": check, "bench": bench}


def report(src: Path, out: Path) -> Page:
    r = invoke("report", src, "-o", out)
    assert r.exit_code == 0, r.output
    text = out.read_text()
    assert text.startswith("<!DOCTYPE html>")
    page = Page(text)
    assert page.stack == [], f"unclosed {page.stack}"
    assert "script" not in page.counts and "<script" not in text  # no JavaScript
    assert page.links == [] and re.findall(r"url\((?!#)", text) == []  # nothing to fetch
    return page


def test_run_report_holds_the_figure_the_runs_the_settings_and_the_environment(results, tmp_path):
    page = report(results["run"], tmp_path / "run.html")
    data = json.loads(results["run"].read_text())
    assert len(page.svgs) == 1
    w, h = page.svgs[0]
    assert float(w.rstrip("pt")) > 0 and float(h.rstrip("pt")) > 0
    rows = [r for r in page.rows if r and r[0] == "adam"]
    summary, runs = rows[0], rows[1 : 1 + len(data["runs"])]  # then the optimizers table
    finals = sorted(r["final_loss"] for r in data["runs"])
    assert summary[:3] == ["adam", "2x max_steps", f"{(finals[0] + finals[1]) / 2:.4g}"]
    expected = [
        ("adam", str(r["seed"]), r["status"], f"{r['final_loss']:.4g}") for r in data["runs"]
    ]
    assert [tuple(r[:3] + r[4:5]) for r in runs] == expected
    text = "".join(page.text)
    for needle in (data["problem"]["formula"], data["environment"]["numba"], "float64"):
        assert needle in text
    assert data["volatile"]["date"] not in text  # nothing that differs between two runs


def test_sweep_report_has_the_heat_map_and_every_point_ranked(results, tmp_path):
    page = report(results["sweep"], tmp_path / "sweep.html")
    data = json.loads(results["sweep"].read_text())
    assert len(page.svgs) == 1 and all(float(v.rstrip("pt")) > 0 for v in page.svgs[0])
    labels = {p["label"]: p["rank"] for p in data["sweep"]["points"]}
    ranked = [r for r in page.rows if len(r) > 1 and r[1] in labels]
    assert [int(r[0]) for r in ranked] == sorted(labels.values())
    assert {r[1] for r in ranked} == set(labels)


def test_bench_report_has_the_verdict_figure_ranks_and_every_tuned_optimizer(results, tmp_path):
    page = report(results["bench"], tmp_path / "bench.html")
    data = json.loads(results["bench"].read_text())["bench"]
    text = " ".join(page.text)
    assert data["verdict"] in text
    assert len(page.svgs) == 1  # the ECDF and the performance profile, side by side
    rows = [" ".join(r).split() for r in page.rows]
    for name, r in data["ranks"].items():
        assert [name, f"{r['mean']:.2f}", f"{r['low']:.2f}-{r['high']:.2f}"] in [
            row[:3] for row in rows
        ]
    tuned = [row for row in rows if row[0] == "beale"]
    want = [[p["steps"], o["label"], o["tuned"]["lr"]] for p in data["problems"] for o in
            p["optimizers"]]  # fmt: skip
    assert [[int(row[1]), row[3], float(row[4].split("=")[1])] for row in tuned] == [
        [s, label, pytest.approx(lr, rel=1e-3)] for s, label, lr in want
    ]
    assert "1000 resamples, seed 0" in text and "Environment" in text


def test_check_report_has_the_verdict_and_each_check(results, tmp_path):
    page = report(results["check"], tmp_path / "check.html")
    text = "".join(page.text)
    assert "check failed" in text
    rows = [r for r in page.rows if r and r[0] == "beale-adam"]
    assert rows[0][:2] == ["beale-adam", "FAIL"]  # the case
    assert any(r[1] == "final_loss_below" and r[2] == "FAIL" for r in rows[1:])  # the check


def test_user_strings_are_escaped_and_the_same_json_gives_the_same_bytes(results, tmp_path):
    run = json.loads(results["run"].read_text())
    for r in run["runs"]:
        del r["trace"]  # no figure: the hostile name is not a problem to reload
        r["label"] = HOSTILE
    run["problem"]["name"] = run["problem"]["formula"] = HOSTILE
    run["notes"] = [HOSTILE]
    check = json.loads(results["check"].read_text())
    check["name"] = check["cases"][0]["id"] = check["cases"][0]["description"] = HOSTILE
    for kind, data in (("run", run), ("check", check)):
        src = tmp_path / f"{kind}<&>.json"
        src.write_text(json.dumps(data))
        page = report(src, tmp_path / f"{kind}.html")  # asserts no <script> element
        assert HOSTILE in "".join(page.text)  # shown, as text
        first = (tmp_path / f"{kind}.html").read_bytes()
        report(src, tmp_path / f"{kind}-again.html")
        assert (tmp_path / f"{kind}-again.html").read_bytes() == first


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("not json", "not valid JSON"),
        ('{"a": 1}', "not an adambench result"),
        ('{"tool": {"name": "adambench"}, "schema_version": 99}', "schema_version 99"),
        ('{"tool": {"name": "adambench"}, "schema_version": 1}', "not a complete"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, content, message):
    src = tmp_path / "in.json"
    if content is not None:
        src.write_text(content)
    out = tmp_path / "out.html"
    r = invoke("report", src, "-o", out)
    assert r.exit_code == 2, r.output
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "Traceback" not in r.output
    assert list(tmp_path.iterdir()) == ([src] if content is not None else [])


def test_an_output_that_is_not_html_is_refused(results, tmp_path):
    r = invoke("report", results["run"], "-o", tmp_path / "report.png")
    assert r.exit_code == 2 and "name it FILE.html" in r.stderr
    assert list(tmp_path.iterdir()) == []


# --- a real browser ---------------------------------------------------------------------------

PROBE = """<script>
var sizes = Array.from(document.querySelectorAll('figure svg')).map(function (e) {
  var r = e.getBoundingClientRect(); return Math.round(r.width) + 'x' + Math.round(r.height);
});
document.title = 'figures:' + sizes.join(',');
</script>"""


def need_chromium() -> str:
    if CHROMIUM:
        return CHROMIUM
    if os.environ.get("ADAMBENCH_CI"):
        pytest.fail("chromium is missing in CI (.ci/run installs it with apt-get)")
    pytest.skip("chromium is not installed (apt-get install -y chromium); CI runs this test")


@pytest.mark.parametrize("kind", ["run", "sweep", "check", "bench"])
def test_the_report_renders_in_headless_chromium(results, tmp_path, kind):
    browser = need_chromium()
    page = tmp_path / "page.html"
    report(results[kind], page)
    # The report has no script; a copy gets a probe that writes the figures' sizes in the title.
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    shot = tmp_path / "shot.png"
    p = subprocess.run(
        [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
         "--v=0", "--window-size=1200,900", f"--user-data-dir={tmp_path / 'profile'}",
         f"--screenshot={shot}", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr[-2000:]
    console = [line for line in p.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []  # no console errors (nor any message)
    sizes = p.stdout.split("<title>figures:")[1].split("</title>")[0]
    figures = [s for s in sizes.split(",") if s]
    assert len(figures) == (0 if kind == "check" else 1)
    assert all(int(w) > 0 and int(h) > 0 for w, h in (s.split("x") for s in figures))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 1000
