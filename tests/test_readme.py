"""The README is true: its commands run, its output is what the tool prints, its examples load."""

from __future__ import annotations

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


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def console_commands() -> list[tuple[str, str, str]]:
    """(command, printed output, columns) for every `$ adambench ...` in console blocks.

    Output is printed 80 columns wide, or N for a block preceded by `<!-- columns: N -->`.
    """
    out = []
    pattern = r"(?:<!-- columns: (\d+) -->\n)?```console\n(.*?)```"
    for columns, block in re.findall(pattern, README, flags=re.S):
        lines = block.splitlines()
        for k, line in enumerate(lines):
            if line.startswith("$ adambench "):
                rest = []
                for nxt in lines[k + 1 :]:
                    if nxt.startswith("$ "):
                        break
                    rest.append(nxt)
                out.append((line[2:], "\n".join(rest), columns or "80"))
    return out


@pytest.mark.parametrize(
    ("command", "printed", "columns"), console_commands(), ids=lambda v: v[:60]
)
def test_readme_console_commands_run_and_print_what_the_readme_shows(
    command, printed, columns, monkeypatch
):
    monkeypatch.chdir(ROOT)  # README paths (sample_configs/...) are relative to the repository
    args = shlex.split(command)[1:]
    r = CliRunner().invoke(app, args, env={"COLUMNS": columns})
    assert r.exit_code == 0, r.output
    got = {" ".join(line.split()) for line in r.stdout.splitlines()}
    for line in printed.splitlines():
        if line.strip():
            assert " ".join(line.split()) in got, f"README line not in output: {line!r}"


def test_readme_setup_commands_are_the_ones_ci_runs():
    (setup,) = [b for b in blocks("bash") if b.startswith("pip install . &&")]
    assert setup.strip() == "pip install . && adambench run beale --optimizers adam,rmsprop"
    marker = README.split("<!-- test-command -->", 1)[1]
    test_cmd = re.search(r"```bash\n(.*?)\n```", marker, flags=re.S).group(1)
    assert test_cmd == 'pip install -e ".[test]" && python -m pytest'
    assert "test-command" in (ROOT / ".ci" / "run").read_text()


def test_readme_problem_example_is_the_sample_file_and_loads():
    from adambench.problems import load_problem

    (annotated,) = [b for b in blocks("yaml") if b.startswith("name: wavy_bowl")]
    sample = ROOT / "sample_configs" / "wavy_bowl.yaml"
    assert annotated == sample.read_text(encoding="utf-8")
    p = load_problem(str(sample))
    keys = set(re.findall(r"^(\w+):", annotated, flags=re.M))
    from adambench.problems import _EXPRESSION_KEYS

    assert keys == set(_EXPRESSION_KEYS) - {"dim"}  # every key of an expression problem
    assert p.loss_numpy if p.kind == "logreg" else True
    assert "rosenbrock_nd" in next(b for b in blocks("yaml") if "dim:" in b)


def test_readme_python_example_runs():
    (code,) = [b for b in blocks("python") if "adambench.run" in b]
    exec(compile(code.replace("print(result.to_json())", "result.to_json()"), "README", "exec"), {})


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


def test_readme_optimizer_examples_are_the_sample_files_and_cover_every_key():
    from adambench.optimizers.rules import TOP_KEYS
    from adambench.optimizers.spec import HYPERPARAM_KEYS

    folder = ROOT / "sample_configs" / "optimizers"
    (annotated,) = [b for b in blocks("yaml") if "name: yaml_adam" in b]
    assert annotated == (folder / "adam.yaml").read_text(encoding="utf-8")
    (plugin,) = [b for b in blocks("python") if "def step(p, g, state, t, hp)" in b]
    assert plugin == (folder / "sign_momentum.py").read_text(encoding="utf-8")
    section = README.split("## Your own optimizer", 1)[1].split("\n## ", 1)[0]
    for key in [*TOP_KEYS, *HYPERPARAM_KEYS]:
        assert f"`{key}`" in section, key
