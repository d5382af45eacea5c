"""The reports `check` and `compare` write for other programs and pages: the JSON follows its
published schema (adambench/schema/check.schema.json, shipped with the package), and the
Markdown's failure list reads as a list both in Python-Markdown (MkDocs) and on GitHub."""

from __future__ import annotations

import json
import re
from importlib.resources import files
from pathlib import Path

import jsonschema
import markdown
import pytest
from markdown_it import MarkdownIt
from typer.testing import CliRunner

from adambench.cli import app

runner = CliRunner()
SCHEMA = json.loads((files("adambench.schema") / "check.schema.json").read_text())
ENV = {"COLUMNS": "120", "NO_COLOR": "1"}

PASSING = """\
name: quick
cases:
  - problem: beale
    optimizer: adam(lr=0.1)
    steps: 5
    expect: {final_loss_below: 1.0e+6}
  - problem: beale
    optimizer: [rmsprop, momentum]
    steps: 5
    seeds: 2
    start: random
  - problem: noisy_logreg
    optimizer: adam
    steps: 5
    expect: {accuracy_at_least: 0.1}
"""
FAILING = """\
name: strict
cases:
  - name: a<b> | c
    problem: beale
    optimizer: [adam, rmsprop]
    steps: 5
    seeds: 2
    expect: {final_loss_below: 1.0e-30, status: reached_target}
"""


def invoke(*args: object) -> tuple[int, str, str]:
    r = runner.invoke(app, [str(a) for a in args], env=ENV)
    return r.exit_code, r.stdout, r.stderr


def valid(text: str) -> dict:
    data = json.loads(text)
    jsonschema.Draft202012Validator(SCHEMA).validate(data)
    return data


def test_the_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_check_json_follows_the_schema(tmp_path):
    for name, text in (("pass.yaml", PASSING), ("fail.yaml", FAILING)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    base = tmp_path / "base.json"
    code, out, err = invoke("check", tmp_path / "pass.yaml", "--json", "--save-baseline", base)
    assert code == 0, err
    assert valid(out)["passed"] is True
    code, out, err = invoke("check", tmp_path / "pass.yaml", "--json", "--baseline", base)
    assert code == 0, err
    report = valid(out)
    assert report["baseline"] == str(base)
    assert any(c["kind"] == "baseline" for case in report["cases"] for c in case["checks"])
    code, out, err = invoke("check", tmp_path / "fail.yaml", "--json")
    assert code == 1, err
    report = valid(out)
    assert report["exit_code"] == 1 and report["summary"]["checks_failed"] == 4


def test_compare_json_follows_the_schema(tmp_path):
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    code, _, err = invoke("run", "beale", "-O", "adam,rmsprop", "--steps", "5", "-o", old)
    assert code == 0, err
    assert valid(invoke("compare", old, old, "--json")[1])["passed"] is True
    worse = json.loads(old.read_text())
    for run in worse["runs"]:
        run["final_loss"] *= 10
    new.write_text(json.dumps(worse), encoding="utf-8")
    code, out, err = invoke("compare", old, new, "--json")
    assert code == 1, err
    assert valid(out)["kind"] == "compare"


@pytest.fixture
def failing_markdown(tmp_path) -> tuple[str, list[str]]:
    """The Markdown report of a failing suite, and the failure lines the terminal shows."""
    (tmp_path / "fail.yaml").write_text(FAILING, encoding="utf-8")
    report = tmp_path / "report.md"
    code, out, err = invoke("check", tmp_path / "fail.yaml", "--markdown", report)
    assert code == 1, err
    fails = [line for line in out.splitlines() if line.startswith("FAILED ")]
    assert len(fails) == 4
    return Path(report).read_text(encoding="utf-8"), fails


def _items(html: str) -> list[str]:
    return re.findall(r"<li>(.*?)</li>", html, re.S)


def test_markdown_failures_are_a_list_in_python_markdown(failing_markdown):
    text, fails = failing_markdown
    html = markdown.markdown(text, extensions=["tables"])
    assert "<details open><summary>Failures</summary>" in html
    assert _items(html) == [f.replace("<", "&lt;").replace(">", "&gt;") for f in fails]
    assert "- FAILED" not in html  # no Markdown left raw inside the HTML block


def test_markdown_failures_are_a_list_on_github(failing_markdown):
    # GitHub renders CommonMark (+ tables): an HTML block runs to the next blank line.
    text, fails = failing_markdown
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(text)
    assert len(_items(html)) == len(fails)
    assert "a&lt;b&gt; | c" in _items(html)[0]
    assert "<table>" in html and html.count("<tr>") == 1 + 4  # the header, 2 cases x 2 checks
