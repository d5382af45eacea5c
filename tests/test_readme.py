"""The README and the documentation pages are true: their commands run, their output is what the
tool prints, their examples load."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adambench.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
# Every page: the README and the documentation site's pages (docs/*.md), by repository path.
PAGES = {
    "README.md": README,
    **{
        f"docs/{p.name}": p.read_text(encoding="utf-8")
        for p in sorted((ROOT / "docs").glob("*.md"))
    },
}


def blocks(lang: str, page: str = "README.md") -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", PAGES[page], flags=re.S)


def section(page: str, title: str) -> str:
    """A `## title` section of a page, up to the next `## ` heading."""
    return PAGES[page].split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def console_commands() -> list[tuple[str, str, str, str]]:
    """(command, printed output, columns, page) for every `$ adambench ...` in console blocks of
    the README and of every docs page.

    Output is printed 80 columns wide, or N for a block preceded by `<!-- columns: N -->`.
    """
    out = []
    pattern = r"(?:<!-- columns: (\d+) -->\n)?```console\n(.*?)```"
    for page, text in PAGES.items():
        for columns, block in re.findall(pattern, text, flags=re.S):
            lines = block.splitlines()
            for k, line in enumerate(lines):
                if line.startswith("$ adambench "):
                    rest = []
                    for nxt in lines[k + 1 :]:
                        if nxt.startswith("$ "):
                            break
                        rest.append(nxt)
                    out.append((line[2:], "\n".join(rest), columns or "80", page))
    return out


def distinct_console_commands() -> list:
    """Each distinct (command, columns) once, with the lines every page shows under it."""
    merged: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for command, printed, columns, page in console_commands():
        merged.setdefault((command, columns), []).extend(
            (page, line) for line in printed.splitlines() if line.strip()
        )
    params = []
    for (command, columns), lines in merged.items():
        marks = []
        if "--scheduler" in command and importlib.util.find_spec("distributed") is None:
            reason = "needs the dask extra (pip install -e '.[dask]') for --scheduler"
            marks.append(pytest.mark.skip(reason=reason))
        params.append(pytest.param(command, lines, columns, id=command[:60], marks=marks))
    return params


def test_console_blocks_come_from_the_readme_and_the_docs_and_can_run_in_a_test():
    pages = {page for *_, page in console_commands()}
    assert {"README.md", "docs/index.md", "docs/sweeps.md", "docs/optimizers.md"} <= pages
    for command, *_ in console_commands():
        # No cluster address, and no output file written into the repository.
        assert "tcp://" not in command and " -o " not in command, command


@pytest.mark.parametrize(("command", "printed", "columns"), distinct_console_commands())
def test_console_commands_run_and_print_what_the_pages_show(command, printed, columns, monkeypatch):
    # Paths in the pages (sample_configs/...) are relative to the repository.
    monkeypatch.chdir(ROOT)
    args = shlex.split(command)[1:]
    r = CliRunner().invoke(app, args, env={"COLUMNS": columns})
    assert r.exit_code == 0, r.output
    got = {" ".join(line.split()) for line in r.stdout.splitlines()}
    for page, line in printed:
        assert " ".join(line.split()) in got, f"{page} line not in output: {line!r}"


def test_readme_setup_commands_are_the_ones_ci_runs():
    (setup,) = [b for b in blocks("bash") if b.startswith("pip install . &&")]
    assert setup.strip() == "pip install . && adambench run beale --optimizers adam,rmsprop"
    marker = README.split("<!-- test-command -->", 1)[1]
    test_cmd = re.search(r"```bash\n(.*?)\n```", marker, flags=re.S).group(1)
    assert test_cmd == 'pip install -e ".[test]" && python -m pytest -n 2 --dist loadfile'
    # `-n` is pytest-xdist's option: the `test` extra that the command installs must bring it.
    pyproject = (ROOT / "pyproject.toml").read_text()
    test_extra = re.search(r"^test = \[(.*?)^\]", pyproject, re.M | re.S)
    assert '"pytest-xdist' in test_extra.group(1)
    assert "test-command" in (ROOT / ".ci" / "run").read_text()


def test_problem_example_is_the_sample_file_and_loads():
    from adambench.problems import load_problem

    (annotated,) = [
        b for b in blocks("yaml", "docs/problems.md") if b.startswith("name: wavy_bowl")
    ]
    sample = ROOT / "sample_configs" / "wavy_bowl.yaml"
    assert annotated == sample.read_text(encoding="utf-8")
    p = load_problem(str(sample))
    keys = set(re.findall(r"^(\w+):", annotated, flags=re.M))
    from adambench.problems import _EXPRESSION_KEYS

    # every key of an expression problem; rotate (a seeded rotation) in its own paragraph
    assert keys == set(_EXPRESSION_KEYS) - {"dim", "rotate"}
    assert "`rotate: SEED`" in (ROOT / "docs" / "problems.md").read_text(encoding="utf-8")
    assert p.loss_numpy if p.kind == "logreg" else True
    assert "rosenbrock_nd" in next(b for b in blocks("yaml", "docs/problems.md") if "dim:" in b)


def test_python_run_example_runs():
    (code,) = [b for b in blocks("python", "docs/index.md") if "adambench.run" in b]
    code = code.replace("print(result.to_json())", "result.to_json()")
    exec(compile(code, "docs/index.md", "exec"), {})


def test_console_script_end_to_end(tmp_path):
    env = {**os.environ, "NO_COLOR": "1"}
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "adambench",
            "run",
            "beale",
            "--optimizers",
            "adam,rmsprop",
            "-o",
            str(tmp_path / "r.json"),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert ok.returncode == 0, ok.stderr
    assert "rmsprop" in ok.stdout and "\x1b[" not in ok.stdout
    assert (tmp_path / "r.json").exists()
    bad = subprocess.run(
        [sys.executable, "-m", "adambench", "run", "beale", "-O", "adam(lr=-1)"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.strip().splitlines() == ["error: adam: lr must be in (0, inf), got -1"]


def test_optimizer_examples_are_the_sample_files_and_cover_every_key():
    from adambench.optimizers.rules import TOP_KEYS
    from adambench.optimizers.spec import HYPERPARAM_KEYS

    folder = ROOT / "sample_configs" / "optimizers"
    page = "docs/optimizers.md"
    (annotated,) = [b for b in blocks("yaml", page) if "name: yaml_adam" in b]
    assert annotated == (folder / "adam.yaml").read_text(encoding="utf-8")
    (plugin,) = [b for b in blocks("python", page) if "def step(p, g, state, t, hp)" in b]
    assert plugin == (folder / "sign_momentum.py").read_text(encoding="utf-8")
    own = section(page, "Your own optimizer")
    for key in [*TOP_KEYS, *HYPERPARAM_KEYS]:
        assert f"`{key}`" in own, key
