"""The documentation site (mkdocs, docs/) builds with no broken link, the README stays short and
its links land, and the examples on the docs pages are true: the sample files they show are the
shipped ones, their commands print what they show, their Python runs, their field lists are the
JSON the tool writes. (The console blocks of every page are run by tests/test_readme.py.)"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from adambench.cli import app

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README_LIMIT = 20_000  # bytes: the reference lives in docs/, the README is the front page
PAGES = ["README.md", *(f"docs/{p.name}" for p in sorted(DOCS.glob("*.md")))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def text(page: str) -> str:
    return (ROOT / page).read_text(encoding="utf-8")


def blocks(lang: str, page: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text(page), flags=re.S)


def section(page: str, title: str) -> str:
    """A `## title` section of a page, up to the next `## ` heading."""
    return text(page).split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def invoke(*args: str, columns: str = "120"):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": columns})


# ---------------------------------------------------------------------------------------------
# The README and the site


def test_readme_is_at_most_20_kb():
    size = (ROOT / "README.md").stat().st_size
    assert size <= README_LIMIT, f"README.md is {size:,} bytes; move reference text to docs/"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site, built by `mkdocs build --strict`: a broken link or anchor, or a page missing
    from the nav, is a warning, and --strict makes a warning fail the build."""
    if importlib.util.find_spec("mkdocs") is None:
        pytest.skip("mkdocs is not installed (it is in the test extra: pip install -e '.[test]')")
    out = tmp_path_factory.mktemp("site")
    r = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return out


def built_page(site: Path, doc: str) -> Path:
    """The HTML file mkdocs makes of docs/NAME.md (directory URLs: NAME/index.html)."""
    stem = Path(doc).stem
    return site / "index.html" if stem == "index" else site / stem / "index.html"


def test_mkdocs_builds_the_site_strictly_with_every_page(site):
    for page in PAGES[1:]:
        assert built_page(site, page).exists(), page
    assert (site / "beale.png").exists()  # the pictures stay in docs/ and are served from there


def test_architecture_page_maps_every_module_and_the_floors_of_the_contract():
    page = text("docs/architecture.md")
    assert "architecture.md" in text("mkdocs.yml")
    tree = page.split("<!-- package-map -->", 1)[1].split("```", 2)[1]
    package = ROOT / "adambench"
    shown = set(re.findall(r"[├└]── (\S+)", tree))
    present = {p.name + "/" for p in package.iterdir() if (p / "__init__.py").exists()}
    present |= {p.name for p in package.glob("*.py")}
    assert shown == present
    layers = re.search(r"layers = \[(.*?)\]", text("pyproject.toml"), flags=re.S).group(1)
    floors = [f.split(" | ") for f in re.findall(r'"([^"]+)"', layers)]
    rows = re.findall(r"^\| (\d+) \| (.*?) \|", page, flags=re.M)
    table = {int(k): re.findall(r"`(\w+)`", names) for k, names in rows}
    assert [table[k] for k in sorted(table, reverse=True)] == floors


def github_slug(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_readme_links_land_on_files_and_anchors_that_exist(site):
    readme = text("README.md")
    own = {github_slug(h) for h in re.findall(r"^#+ (.*)$", readme, flags=re.M)}
    links = [t for t in LINK.findall(readme) if not t.startswith(("http://", "https://"))]
    assert any(t.startswith("docs/") for t in links)
    for target in links:
        path, _, anchor = target.partition("#")
        if not path:
            assert anchor in own, target
            continue
        assert (ROOT / path).is_file(), target
        if anchor:
            assert path.startswith("docs/") and path.endswith(".md"), target
            assert f'id="{anchor}"' in built_page(site, path).read_text(), target


def test_pages_link_nowhere_outside_the_repository():
    for page in PAGES:
        for target in LINK.findall(text(page)):
            assert not target.startswith(("/", "../", "file:")), (page, target)


# ---------------------------------------------------------------------------------------------
# Outputs shown as ```text (the check examples carry times; the sparkline needs 120 columns)


def norm(line: str) -> str:
    line = re.sub(r" \(\+ [\d.]+s compiling .*?\)$", "", line.rstrip())
    line = re.sub(r"\bin \d+\.\d+s\b", "in <t>s", line)
    return " ".join(line.split())


def text_blocks() -> list:
    """Each distinct ```text block with `$ adambench ...` commands: the commands in order, with
    the lines printed under each (a block's commands may depend on each other)."""
    seen: dict[str, tuple[str, list[tuple[str, list[str]]]]] = {}
    for page in PAGES:
        for block in blocks("text", page):
            commands: list[tuple[str, list[str]]] = []
            for line in block.splitlines():
                if line.startswith("$ adambench "):
                    commands.append((line[2:], []))
                elif commands:
                    commands[-1][1].append(line)
            if commands:
                seen.setdefault(block, (page, commands))
    return [pytest.param(page, c, id=f"{page}: {c[0][0][:50]}") for page, c in seen.values()]


@pytest.mark.parametrize(("page", "block"), text_blocks())
def test_text_examples_print_what_the_pages_show(page, block, tmp_path, monkeypatch):
    shutil.copytree(ROOT / "sample_configs", tmp_path / "sample_configs")
    monkeypatch.chdir(tmp_path)  # --save-baseline writes here, not into the repository
    for command, printed in block:
        r = invoke(*shlex.split(command)[1:])
        want = 1 if any(line.startswith("FAILED") for line in printed) else 0
        assert r.exit_code == want, r.output
        got = {norm(line) for line in r.stdout.splitlines()}
        for line in printed:
            if line.strip():
                assert norm(line) in got, f"{page} line not in output: {line!r}\n{r.stdout}"


def test_the_sparkline_example_is_on_the_pictures_page():
    pattern = r"<!-- sparkline-example -->\n```text\n\$ adambench run .*?loss curve"
    assert re.search(pattern, text("docs/pictures.md"), flags=re.S)


# ---------------------------------------------------------------------------------------------
# The CI gate page


def test_ci_gate_suite_is_the_sample_and_its_error_example_is_true(tmp_path, monkeypatch):
    sample = (ROOT / "sample_configs" / "ci.yaml").read_text(encoding="utf-8")
    assert sample in blocks("yaml", "docs/ci-gate.md")
    pattern = r"^error: ci\.yaml: .*final_loss_under.*$"
    (example,) = re.findall(pattern, text("docs/ci-gate.md"), flags=re.M)
    bad = sample.replace("final_loss_below", "final_loss_under", 1)
    (tmp_path / "ci.yaml").write_text(bad, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    r = invoke("check", "ci.yaml")
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.strip().splitlines() == [example]


def test_ci_gate_python_example_runs(monkeypatch, capsys):
    (code,) = [b for b in blocks("python", "docs/ci-gate.md") if "check(" in b]
    monkeypatch.chdir(ROOT)
    exec(compile(code, "docs/ci-gate.md", "exec"), {})
    assert capsys.readouterr().out.startswith("True [('beale-adam', 550)")


# ---------------------------------------------------------------------------------------------
# The pictures page


def test_picture_commands_are_the_script_and_make_the_committed_files():
    """Every picture command on the page is a line of docs/make_pictures.sh, names files that
    are committed (small enough) and shown on the page, and parses: options exist and optimizer
    specs resolve."""
    import typer.main

    from adambench.optimizers import configs_from_specs

    page = text("docs/pictures.md")
    commands = [
        line
        for block in blocks("sh", "docs/pictures.md")
        for line in block.splitlines()
        if line.startswith("adambench run") and "docs/" in line
    ]
    script = (DOCS / "make_pictures.sh").read_text(encoding="utf-8")
    assert commands and [c for c in script.splitlines() if c.startswith("adambench")] == commands
    group = typer.main.get_command(app)
    for command in commands:
        args = shlex.split(command)[1:]
        ctx = group.make_context("adambench", list(args), resilient_parsing=False)
        sub = group.get_command(ctx, args[0])
        params = sub.make_context(args[0], args[1:]).params
        configs_from_specs(params["optimizers"])
        for name in ("plot", "animate"):
            if params[name] is not None:
                path = ROOT / params[name]
                limit = 2_000_000 if path.suffix == ".gif" else 300_000
                assert path.exists() and 10_000 < path.stat().st_size < limit, path
                assert f"]({path.relative_to(DOCS)})" in page  # shown, relative to docs/


def test_pictures_python_example_runs(tmp_path, monkeypatch):
    from PIL import Image

    (code,) = [b for b in blocks("python", "docs/pictures.md") if "write_figure" in b]
    monkeypatch.chdir(tmp_path)
    exec(compile(code.replace("frames=60", "frames=5"), "docs/pictures.md", "exec"), {})
    with Image.open(tmp_path / "valley.png") as im:
        assert np.asarray(im.convert("RGB")).astype(int).std() > 20
    with Image.open(tmp_path / "valley.gif") as im:
        assert im.n_frames == 5


# ---------------------------------------------------------------------------------------------
# The sweeps page


def test_sweep_file_is_the_sample_and_the_python_example_runs():
    sample = (ROOT / "sample_configs" / "sweep_beale.yaml").read_text(encoding="utf-8")
    assert sample in blocks("yaml", "docs/sweeps.md")
    (code,) = [b for b in blocks("python", "docs/sweeps.md") if "sweep(" in b]
    printed = []
    scope: dict = {"print": lambda *a: printed.append(a)}
    exec(compile(code, "docs/sweeps.md", "exec"), scope)
    assert printed == [("adam(lr=1, beta1=0.9)", scope["best"].value)]
    assert scope["best"].rank == 1 and scope["sw"].runs == 105


# ---------------------------------------------------------------------------------------------
# The JSON page: the documented fields are the ones the tool writes


def table_rows(md: str) -> list[tuple[set[str], set[str]]]:
    """(backticked names of the first column, of the second) for each row of the tables in md."""
    rows = []
    for line in md.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) >= 2 and not set(cells[0]) <= set("-: "):
            names = [set(re.findall(r"`([^`]+)`", c)) for c in cells[:2]]
            rows.append((names[0], names[1]))
    return rows


def tables(md: str) -> list[list[tuple[set[str], set[str]]]]:
    """The rows of each Markdown table of md, header row left out."""
    return [table_rows(t)[1:] for t in re.findall(r"(?:^\|.*\|\n)+", md, flags=re.M)]


def test_json_page_lists_the_fields_of_a_result():
    r = invoke("run", "beale", "-O", "adam", "--steps", "10", "--json")
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)
    (fields,) = tables(section("docs/json.md", "The JSON result (schema version 1)"))
    assert set().union(*(first for first, _ in fields)) == set(result)


def test_json_page_lists_the_fields_of_the_check_report(monkeypatch):
    monkeypatch.chdir(ROOT)
    r = invoke("check", "sample_configs/ci.yaml", "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    case, check = report["cases"][0], report["cases"][0]["checks"][0]
    top, case_rows, check_rows = tables(
        section("docs/json.md", "The check report (`check --json`, `compare --json`)")
    )

    def documented(rows):
        return set().union(*(first for first, _ in rows))

    def content(rows, name):
        (second,) = [second for first, second in rows if name in first]
        return second

    assert documented(top) == set(report)
    assert set(report["summary"]) == content(top, "summary")
    assert set(report["volatile"]) <= content(top, "volatile")
    assert documented(case_rows) == set(case)
    assert set(case["metrics"]) == content(case_rows, "metrics") - {"null"}
    settings = content(case_rows, "settings")
    assert set(case["settings"]) | set(case["settings"]["problem"]) <= settings
    assert set(case["settings"]["optimizer"]) <= settings
    assert documented(check_rows) == set(check)
