"""`adambench check` and `adambench compare` on the command line: exit codes and report files.

The check examples of README.md and docs/ are run by tests/test_docs.py, with every other page's."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adambench.cli import app

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_configs" / "ci.yaml"
BROKEN = ROOT / "sample_configs" / "ci_broken.yaml"
runner = CliRunner()

SUITE = """\
name: small
seeds: 2
cases:
  - name: adam-fast
    problem: beale
    optimizer: adam(lr=0.1)
    steps: 800
    expect: {status: reached_target, steps_to_target_at_most: 600}
  - problem: beale
    optimizer: [rmsprop(lr=0.03), momentum(lr=0.003)]
    steps: 800
    expect: {best_loss_below: 1.0e-5}
"""


def invoke(*args, **kw):
    kw.setdefault("env", {"COLUMNS": "120"})
    return runner.invoke(app, [str(a) for a in args], **kw)


def error_line(r) -> str:
    """The one line a usage error prints (and nothing on stdout)."""
    assert r.exit_code == 2, r.output
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


def test_a_passing_suite_exits_0(write_yaml):
    r = invoke("check", write_yaml(SUITE, "suite.yaml"))
    assert r.exit_code == 0, r.output
    assert "small: 3 cases" in r.stdout
    assert re.search(r"^3 passed in \d+\.\d\ds", r.stdout, flags=re.M)
    for cid in ("adam-fast", "beale[rmsprop(lr=0.03)]", "beale[momentum(lr=0.003)]"):
        assert cid in r.stdout
    assert "FAIL" not in r.stdout


def test_a_broken_configuration_exits_1_and_says_why():
    r = invoke("check", BROKEN)
    assert r.exit_code == 1, r.output
    assert re.search(r"^1 passed, 1 failed in \d+\.\d\ds", r.stdout, flags=re.M)
    assert (
        "FAILED beale-adam-default-lr :: final_loss_below - final_loss is 4.203, "
        "not below 1.00e-06" in r.stdout
    )
    q = invoke("check", BROKEN, "--quiet")
    assert q.exit_code == 1 and "beale-rmsprop" not in q.stdout and "FAILED" in q.stdout


BAD = [
    (["check", "{tmp}/nope.yaml"], r"^error: .*nope\.yaml: no such file$"),
    (
        ["check", "{suite_typo}"],
        r"^error: .*typo\.yaml: case 'adam-fast' \(cases\[0\]\): unknown key",
    ),
    (
        ["check", "{suite}", "--junit", "{tmp}/missing/dir/report.xml"],
        r"^error: .*report\.xml: folder .*missing/dir does not exist$",
    ),
    (["check", "{suite}", "--markdown", "{tmp}"], r"^error: .*: is a directory$"),
    (
        ["check", "{suite}", "--baseline", "{tmp}/base.json"],
        r"^error: .*base\.json: no such baseline file; create it with: adambench check "
        r".*suite\.yaml --save-baseline .*base\.json$",
    ),
    (["check", "{suite}", "--threads", "0"], r"^error: threads must be between 1 and"),
    (["compare", "{tmp}/a.json", "{tmp}/b.json"], r"^error: .*a\.json: no such file$"),
    (["compare", "{suite}", "{suite}"], r"^error: .*suite\.yaml: not valid JSON"),
]


@pytest.mark.parametrize(("args", "pattern"), BAD, ids=[p for _, p in BAD])
def test_bad_input_is_one_line_and_exit_2(tmp_path, write_yaml, monkeypatch, args, pattern):
    from adambench.engine import jobs as engine

    monkeypatch.setattr(engine, "execute", lambda *a, **k: pytest.fail("ran despite bad input"))
    names = {
        "tmp": str(tmp_path),
        "suite": write_yaml(SUITE, "suite.yaml"),
        "suite_typo": write_yaml(SUITE.replace("expect: {status", "expct: {status"), "typo.yaml"),
    }
    r = invoke(*[a.format(**names) for a in args])
    assert re.search(pattern, error_line(r)), r.stderr


def test_save_baseline_then_baseline_round_trip(tmp_path, write_yaml, monkeypatch):
    from adambench.optimizers.builtins import BUILTINS

    suite = write_yaml(SUITE, "suite.yaml")
    base = tmp_path / "base.json"
    r = invoke("check", suite, "--save-baseline", base)
    assert r.exit_code == 0, r.output
    assert f"wrote baseline {base} (3 cases)" in r.stderr
    data = json.loads(base.read_text())
    assert sorted(data["cases"]) == [
        "adam-fast",
        "beale[momentum(lr=0.003)]",
        "beale[rmsprop(lr=0.03)]",
    ]
    r = invoke("check", suite, "--baseline", base)
    assert r.exit_code == 0, r.output
    assert "baseline: 5 metrics" in r.stdout and "within tolerance" in r.stdout
    r = invoke("check", suite, "--baseline", base, "-v")
    assert "baseline: steps_to_target" in r.stdout

    # The same suite against a better past: a regression, exit 1.
    better = json.loads(base.read_text())
    better["cases"]["adam-fast"]["metrics"]["steps_to_target"] = 400
    worse_base = tmp_path / "better.json"
    worse_base.write_text(json.dumps(better))
    r = invoke("check", suite, "--baseline", worse_base)
    assert r.exit_code == 1, r.output
    assert "FAILED adam-fast :: baseline: steps_to_target - steps_to_target got worse: 550 vs " in (
        r.stdout
    )

    # A worsened optimizer (a bug in Adam's step, hyperparameters unchanged) fails against it.
    from test_check import _broken_adam

    monkeypatch.setitem(BUILTINS, "adam", _broken_adam())
    r = invoke("check", suite, "--baseline", base)
    assert r.exit_code == 1, r.output
    assert "FAILED adam-fast :: baseline: steps_to_target" in r.stdout
    monkeypatch.undo()

    # A changed configuration no longer matches the baseline: exit 2, saying what differs.
    changed = write_yaml(SUITE.replace("adam(lr=0.1)", "adam(lr=0.1, beta1=0.8)"), "suite.yaml")
    line = error_line(invoke("check", changed, "--baseline", base))
    assert line.startswith(f"error: {base}: the baseline does not match the suite: ")
    assert (
        "case 'adam-fast': optimizer.label is 'adam(lr=0.1, beta1=0.8)' in the suite, "
        "'adam(lr=0.1)' in the baseline; case 'adam-fast': optimizer.hyperparameters.beta1 is "
        "0.8 in the suite, 0.9 in the baseline" in line
    )
    assert "re-create the baseline with --save-baseline" in line


def test_junit_file_parses_back_with_the_right_counts(tmp_path):
    path = tmp_path / "report.xml"
    r = invoke("check", BROKEN, "--junit", path)
    assert r.exit_code == 1
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [
        "beale-adam-default-lr :: status",
        "beale-adam-default-lr :: final_loss_below",
        "beale-rmsprop :: status",
    ]
    for node in (root, suite):
        assert (node.get("tests"), node.get("failures"), node.get("errors")) == ("3", "2", "0")
    failures = [c.find("failure") for c in cases]
    assert failures[2] is None
    assert failures[1].get("message") == "final_loss is 4.203, not below 1.00e-06"
    assert failures[1].get("type") == "expectation"
    assert "problem: beale; optimizer: adam; steps: 2000; seeds: [0]" in failures[1].text
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["source"] == str(BROKEN)


def test_junit_counts_baseline_checks_and_regressions(tmp_path, write_yaml):
    suite = write_yaml(SUITE, "suite.yaml")
    base = tmp_path / "base.json"
    assert invoke("check", suite, "--save-baseline", base).exit_code == 0
    data = json.loads(base.read_text())
    data["cases"]["adam-fast"]["metrics"]["final_loss"] = 0.0
    data["cases"]["adam-fast"]["metrics"]["steps_to_target"] = 10
    base.write_text(json.dumps(data))
    r = invoke("check", suite, "--baseline", base, "--junit", tmp_path / "j.xml")
    assert r.exit_code == 1
    root = ET.parse(tmp_path / "j.xml").getroot()
    # 2 + 1 + 1 expectations, 5 baseline metrics per case (no accuracy on beale).
    assert root.get("tests") == str(4 + 3 * 5) and root.get("failures") == "1"
    (failed,) = [c for c in root.iter("testcase") if c.find("failure") is not None]
    assert failed.get("name") == "adam-fast :: baseline: steps_to_target"
    assert failed.find("failure").get("type") == "regression"


def test_a_case_without_checks_is_counted_apart_and_a_lone_stochastic_seed_noted(
    write_yaml, tmp_path
):
    text = (
        SUITE + "  - {name: lone, problem: noisy_logreg, optimizer: adam(lr=0.05), steps: 100,"
        " seeds: 1}\n"
    )
    r = invoke("check", write_yaml(text, "suite.yaml"), "--junit", tmp_path / "j.xml")
    assert r.exit_code == 0, r.output
    assert re.search(r"^3 passed, 1 without checks in ", r.stdout, flags=re.M)
    assert "case 'lone' (cases[2]) is stochastic but runs from one seed" in r.stderr
    root = ET.parse(tmp_path / "j.xml").getroot()
    assert root.get("skipped") == "1" and root.get("failures") == "0"
    (lone,) = [c for c in root.iter("testcase") if c.get("name") == "lone"]
    assert lone.find("skipped") is not None


def test_markdown_file(tmp_path):
    path = tmp_path / "summary.md"
    r = invoke("check", BROKEN, "--markdown", path)
    assert r.exit_code == 1
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == "### ❌ adambench check: ci-broken"
    assert re.fullmatch(r"\*\*1 passed, 1 failed in \d+\.\d\ds\*\*", lines[2])
    assert "| | case | check | measured | expected | Δ |" in lines
    assert (
        "| ❌ **FAIL** | beale-adam-default-lr | status | max_steps | reached_target |  |" in lines
    )
    assert (
        "| ❌ **FAIL** | beale-adam-default-lr | final_loss_below | 4.203 | < 1.00e-06 "
        "| ×4.2e+06 |" in lines
    )
    assert "| ✅ pass | beale-rmsprop | status | reached_target | reached_target |  |" in lines
    assert (
        "<li>FAILED beale-adam-default-lr :: final_loss_below - final_loss is 4.203, "
        "not below 1.00e-06</li>" in lines
    )
    # A path without an extension (GitHub's $GITHUB_STEP_SUMMARY) is fine: the flag sets the format.
    assert invoke("check", BROKEN, "--markdown", tmp_path / "step_summary").exit_code == 1
    assert (tmp_path / "step_summary").read_text(encoding="utf-8").startswith(lines[0])


def test_json_report_on_stdout():
    r = invoke("check", BROKEN, "--json")
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    assert data["format"] == "adambench-check-report" and data["exit_code"] == 1
    assert data["summary"] == {
        "cases": 2,
        "passed": 1,
        "failed": 1,
        "without_checks": 0,
        "checks": 3,
        "checks_failed": 2,
    }
    case = data["cases"][0]
    assert case["id"] == "beale-adam-default-lr" and not case["passed"]
    assert case["metrics"]["statuses"] == {"max_steps": 1}
    assert case["checks"][1]["measured"] == pytest.approx(4.203, rel=1e-3)
    assert set(data["volatile"]) == {"threads", "compiled", "timings"}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare")
    old = folder / "old.json"
    r = invoke(
        "run",
        "beale",
        "-O",
        "adam(lr=0.1),rmsprop(lr=0.03)",
        "--steps",
        "800",
        "--seeds",
        "2",
        "-o",
        old,
        "-q",
    )
    assert r.exit_code == 0, r.output
    return folder, old


def test_compare_two_saved_results(saved, tmp_path):
    _, old = saved
    same = tmp_path / "same.json"
    r = invoke(
        "run",
        "beale",
        "-O",
        "adam(lr=0.1),rmsprop(lr=0.03)",
        "--steps",
        "800",
        "--seeds",
        "2",
        "-o",
        same,
        "-q",
    )
    assert r.exit_code == 0
    r = invoke("compare", old, same)
    assert r.exit_code == 0, r.output
    assert "old.json vs same.json: 4 runs compared" in r.stdout and r.stdout.strip().endswith(
        "4 passed"
    )

    data = json.loads(same.read_text())
    slow = next(x for x in data["runs"] if x["label"] == "adam(lr=0.1)" and x["seed"] == 1)
    slow["steps_to_target"] = int(slow["steps_to_target"] * 1.2)
    worse = tmp_path / "worse.json"
    worse.write_text(json.dumps(data))
    r = invoke(
        "compare", old, worse, "--junit", tmp_path / "c.xml", "--markdown", tmp_path / "c.md"
    )
    assert r.exit_code == 1, r.output
    assert "FAILED adam(lr=0.1) seed=1 :: old: steps_to_target - steps_to_target got worse" in (
        r.stdout
    )
    root = ET.parse(tmp_path / "c.xml").getroot()
    assert root.get("failures") == "1" and root.get("tests") == str(4 * 5)
    assert "❌ adambench compare: old.json vs worse.json" in (tmp_path / "c.md").read_text()
    assert invoke("compare", old, worse, "--rtol", "0.25").exit_code == 0
    assert invoke("compare", old, worse, "-m", "final_loss", "-m", "best_loss").exit_code == 0
    assert json.loads(invoke("compare", old, worse, "--json").stdout)["passed"] is False

    data["runs"] = data["runs"][:-1]
    fewer = tmp_path / "fewer.json"
    fewer.write_text(json.dumps(data))
    line = error_line(invoke("compare", old, fewer))
    assert line == (
        "error: the results do not hold the same runs (matched by label and seed): "
        f"only in {old}: 'rmsprop(lr=0.03) seed=1'"
    )
    line = error_line(invoke("compare", old, worse, "--metric", "loss"))
    assert "unknown metric 'loss'" in line
    line = error_line(invoke("compare", old, worse, "--rtol", "-1"))
    assert line == "error: --rtol must be a finite number >= 0, got -1"


@pytest.mark.parametrize("command", ["check", "compare"])
def test_help_has_examples_and_exit_codes(command):
    r = invoke(command, "--help", env={"COLUMNS": "200"})
    assert r.exit_code == 0
    assert "Examples" in r.stdout and f"adambench {command} " in r.stdout
    assert "Exit codes: 0" in r.stdout


# ---------------------------------------------------------------------------------------------
def test_the_gate_modules_import_no_numerics():
    """`adambench compare --help` and the report writers stay light: numba/numpy/rich load only
    where a command needs them."""
    import subprocess
    import sys

    code = (
        "import sys, adambench.checks, adambench.report.check_tables\n"
        "print(sorted(m for m in ('numba', 'numpy', 'sympy', 'rich') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
