"""Text holding square brackets is printed as it is: rich reads ``[torch]`` or ``[x, y]`` as a
style and drops it, so every line and table cell that may hold a name, a path or a message is
printed as plain text (issue 14: `list` printed ``pip install 'adambench'``)."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from typer.testing import CliRunner

from adambench.cli import app

runner = CliRunner()
WIDE = {"COLUMNS": "200", "NO_COLOR": "1"}

PROBLEM = (
    "name: bowl[x]\ndescription: a bowl over [x, y]\nvariables: [x, y]\n"
    "expression: x**2 + 3*y**2\nstart: [1, -2]\n"
)
SUITE = (
    "name: ci[nightly]\ncases:\n  - name: '[slow] bowl'\n    problem: p[1].yaml\n"
    "    optimizer: adam\n    steps: 3\n"
)


def test_list_names_the_torch_extra_when_torch_is_missing(monkeypatch):
    real = importlib.metadata.version

    def version(name: str) -> str:
        if name == "torch":
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    r = runner.invoke(app, ["list"], env=WIDE)
    assert r.exit_code == 0, r.stderr
    assert "pip install 'adambench[torch]'" in r.stdout


def test_run_check_and_compare_print_bracketed_names_and_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("p[1].yaml").write_text(PROBLEM, encoding="utf-8")
    Path("s[1].yaml").write_text(SUITE, encoding="utf-8")
    r = runner.invoke(app, ["run", "p[1].yaml", "--steps", "3", "-o", "r[adam].json"], env=WIDE)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.lstrip().startswith("bowl[x]: 3 steps")
    assert "wrote r[adam].json" in r.stderr
    c = runner.invoke(app, ["check", "s[1].yaml", "--save-baseline", "b[x].json"], env=WIDE)
    assert c.exit_code == 0, c.stderr
    assert c.stdout.lstrip().startswith("ci[nightly]: 1 case")
    assert "[slow] bowl" in c.stdout
    assert "wrote baseline b[x].json (1 cases)" in c.stderr
    m = runner.invoke(app, ["compare", "r[adam].json", "r[adam].json"], env=WIDE)
    assert m.exit_code == 0, m.stderr
    assert m.stdout.lstrip().startswith("r[adam].json vs r[adam].json: 1 run compared")
    s = runner.invoke(app, ["show", "p[1].yaml"], env=WIDE)
    assert "description: a bowl over [x, y]" in s.stdout


def test_show_points_to_a_page_that_exists():
    r = runner.invoke(app, ["show", "beale"], env=WIDE)
    assert r.exit_code == 0, r.stderr
    pages = [w.strip("().,;:") for w in r.stdout.split() if w.strip("().,;:").endswith(".md")]
    assert pages, r.stdout
    root = Path(__file__).resolve().parent.parent
    for page in pages:
        assert (root / page).is_file(), page
