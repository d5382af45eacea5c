"""Ctrl-C: a short message, exit code 130, and no output file (complete or absent)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_exits_130_and_leaves_no_file(tmp_path):
    out = tmp_path / "result.json"
    env = {**os.environ, "NO_COLOR": "1"}
    # Compile first so the interrupt lands in the run, not in the compiler; then time a short
    # run, start-up and all, so that the interrupt waits for the start-up on a loaded machine
    # (an interrupt during the imports is Python's own, before adambench can catch it).
    short = [sys.executable, "-m", "adambench", "run", "rosenbrock_nd", "--dim", "20000"]
    short += ["--steps", "2"]
    subprocess.run(short, env=env, check=True, capture_output=True)
    began = time.monotonic()
    subprocess.run(short, env=env, check=True, capture_output=True)
    startup = time.monotonic() - began
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "adambench",
            "run",
            "rosenbrock_nd",
            "--dim",
            "20000",
            "--steps",
            "1000000",
            "-o",
            str(out),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(max(3.0, 2 * startup))
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "interrupted"
    assert "Traceback" not in stderr and stdout == ""
    assert list(tmp_path.iterdir()) == []


def _sweep_command(*extra: str) -> list[str]:
    """A local sweep of a few seconds: 2,400 runs of 100,000 steps, in chunks of about a second
    (20,000 steps finished before the first chunk was journalled once sweeps were vectorised)."""
    return [
        sys.executable, "-m", "adambench", "sweep", "beale", "-O", "adam",
        "-g", "lr=1e-4:1:log12", "--seeds", "200", "--start", "random", "--steps", "100000",
        "--top", "3", *extra,
    ]  # fmt: skip


def _interrupt_once_journalled(command: list[str], env: dict, partial, wait: float) -> str:
    """Start ``command``, send SIGINT once ``partial`` holds its header and a finished chunk (or
    after ``wait`` seconds), and return its stderr; it must exit 130."""
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if partial.exists() and partial.read_text().count("\n") >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    return stderr


def _without_volatile(data):
    if isinstance(data, dict):
        return {k: _without_volatile(v) for k, v in data.items() if k != "volatile"}
    if isinstance(data, list):
        return [_without_volatile(v) for v in data]
    return data


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_in_a_local_sweep_keeps_finished_runs_and_resume_completes_it(tmp_path):
    import json

    out, partial = tmp_path / "sweep.json", tmp_path / "sweep.json.partial"
    env = {**os.environ, "NO_COLOR": "1"}
    subprocess.run(
        _sweep_command("--steps", "2", "--seeds", "1"), env=env, check=True, capture_output=True
    )  # fmt: skip  (compile first)
    stderr = _interrupt_once_journalled(_sweep_command("-o", str(out)), env, partial, wait=60)
    assert "Traceback" not in stderr and not out.exists()
    kept = partial.read_text().count("\n") - 1
    assert kept >= 1 and f"--resume {partial}" in stderr
    resumed = subprocess.run(_sweep_command("-o", str(out), "--resume", str(partial)), env=env,
                             capture_output=True, text=True)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming:" in resumed.stderr and not partial.exists()
    whole = subprocess.run(_sweep_command("--json"), env=env, capture_output=True, text=True)
    assert _without_volatile(json.loads(out.read_text())) == _without_volatile(
        json.loads(whole.stdout)
    )


def test_a_local_resume_of_another_sweep_is_refused(tmp_path):
    from typer.testing import CliRunner

    import adambench
    from adambench.backends.options import IN_PROCESS, Cluster
    from adambench.cli import app

    partial = tmp_path / "s.json.partial"
    # A journal of one grid, kept (as an interrupted run keeps it) ...
    kept = Cluster(IN_PROCESS, chunk_runs=1, journal=partial, remove_journal=False)
    adambench.sweep("beale", ["adam"], ["lr=0.01,0.1"], steps=50, scheduler=kept)
    assert partial.read_text().count("\n") == 3  # the header and two chunks of one run
    # ... resumed with another grid: refused, nothing written.
    args = ["sweep", "beale", "-O", "adam", "-g", "lr=0.01,0.2", "--steps", "50"]
    r = CliRunner().invoke(app, [*args, "-o", str(tmp_path / "s.json"), "--resume", str(partial)])
    assert r.exit_code == 2 and "partial output of other runs" in r.stderr
    assert "Traceback" not in r.output and not (tmp_path / "s.json").exists()


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_in_a_local_check_keeps_finished_runs_and_resume_completes_it(tmp_path):
    import json

    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "name: long\ncases:\n  - problem: beale\n    optimizer: adam(lr=0.01)\n"
        "    seeds: 2000\n    start: random\n    steps: 20000\n"
        "    expect: {success_rate_at_least: 0.0}\n"
    )
    base, partial = tmp_path / "base.json", tmp_path / "base.json.partial"
    command = [sys.executable, "-m", "adambench", "check", str(suite)]
    env = {**os.environ, "NO_COLOR": "1"}
    stderr = _interrupt_once_journalled(
        [*command, "--save-baseline", str(base)], env, partial, wait=90
    )
    assert not base.exists() and f"--resume {partial}" in stderr
    resumed = subprocess.run([*command, "--save-baseline", str(base), "--resume", str(partial)],
                             env=env, capture_output=True, text=True)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming:" in resumed.stderr and not partial.exists()
    whole = tmp_path / "whole.json"
    done = subprocess.run([*command, "--save-baseline", str(whole)], env=env, capture_output=True)
    assert done.returncode == 0
    a, b = json.loads(base.read_text()), json.loads(whole.read_text())
    assert _without_volatile(a["cases"]) == _without_volatile(b["cases"])
