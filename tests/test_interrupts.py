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
    # Compile first so the interrupt lands in the run, not in the compiler.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "adambench",
            "run",
            "rosenbrock_nd",
            "--dim",
            "20000",
            "--steps",
            "2",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
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
    time.sleep(3.0)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "interrupted"
    assert "Traceback" not in stderr and stdout == ""
    assert list(tmp_path.iterdir()) == []
