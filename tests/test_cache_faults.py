"""The compile cache under faults (issue 10), through the command line in fresh processes:

- an edited problem or optimizer file under the same path is never served from a stale entry
  (the cache key is the code, not the path): the next run computes with the edit;
- a cache directory that cannot be created or written degrades to a temporary cache, removed at
  exit, with a note: the run succeeds and gives the same numbers.

The problem (x - c)^2 from x = 0 with a gradient step of size 1/2 lands exactly on c, so each
edit shows in the final x exactly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROBLEM = "name: shifted\nvariables: [x]\nexpression: (x - {c})**2\nstart: [0]\nsteps: 1\n"
OPTIMIZER = (
    "name: my_step\nhyperparameters:\n  lr: {{default: 0.25, above: 0}}\n"
    "update:\n  - p = p - {k}*lr*g\n"
)


def adambench(
    args: list[str], cwd: Path, cache: Path | str, tmp: Path | None = None
) -> subprocess.CompletedProcess:
    env = {**os.environ, "ADAMBENCH_CACHE_DIR": str(cache), "NO_COLOR": "1", "COLUMNS": "200"}
    if tmp is not None:
        env["TMPDIR"] = str(tmp)  # where a fallback cache would go
    env.pop("NUMBA_CACHE_DIR", None)
    return subprocess.run(
        [sys.executable, "-m", "adambench", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def final_x(args: list[str], cwd: Path, cache: Path | str) -> list[float]:
    p = adambench([*args, "--json"], cwd, cache)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)["runs"][0]["final_x"]


@pytest.mark.slow
def test_an_edited_problem_file_is_never_served_stale(tmp_path):
    cache = tmp_path / "cache"
    problem = tmp_path / "p.yaml"
    args = ["run", "p.yaml", "-O", "sgd(lr=0.5)"]
    problem.write_text(PROBLEM.format(c=1))
    assert final_x(args, tmp_path, cache) == [1.0]
    problem.write_text(PROBLEM.format(c=2))  # same path, same size, new expression
    assert final_x(args, tmp_path, cache) == [2.0]
    problem.write_text(PROBLEM.format(c=1))  # back: the first entry is still good
    assert final_x(args, tmp_path, cache) == [1.0]


@pytest.mark.slow
def test_an_edited_optimizer_file_is_never_served_stale(tmp_path):
    cache = tmp_path / "cache"
    (tmp_path / "p.yaml").write_text(PROBLEM.format(c=1))
    opt = tmp_path / "o.yaml"
    args = ["run", "p.yaml", "-O", "./o.yaml"]
    opt.write_text(OPTIMIZER.format(k=1))  # x1 = 0 - 0.25 * 2(0 - 1) = 0.5
    assert final_x(args, tmp_path, cache) == [0.5]
    opt.write_text(OPTIMIZER.format(k=2))  # x1 = 0 - 2 * 0.25 * 2(0 - 1) = 1
    assert final_x(args, tmp_path, cache) == [1.0]


IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _unusable(case: str, tmp_path: Path) -> Path:
    if case == "parent-is-a-file":
        blocker = tmp_path / "a-file"
        blocker.write_text("not a folder")
        return blocker / "cache"
    if case == "parent-cannot-be-created":
        return Path("/proc/adambench-nope/cache")  # no one creates folders in /proc, not root
    ro = tmp_path / "read-only"
    ro.mkdir()
    ro.chmod(0o500)
    return ro


@pytest.mark.slow
@pytest.mark.parametrize(
    "case",
    [
        "parent-is-a-file",
        pytest.param(
            "parent-cannot-be-created",
            marks=pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc"),
        ),
        pytest.param(
            "read-only",
            marks=pytest.mark.skipif(IS_ROOT, reason="root writes anywhere: chmod is no test"),
        ),
    ],
)
def test_an_unusable_cache_directory_degrades_with_a_note(case, tmp_path):
    cache = _unusable(case, tmp_path)
    (tmp_path / "p.yaml").write_text(PROBLEM.format(c=3))
    args = ["run", "p.yaml", "-O", "sgd(lr=0.5)", "-o", "out.json"]
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    p = adambench(args, tmp_path, cache, tmp)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    note = f"cache directory {cache} is not writable; compiling into a temporary cache"
    assert note in p.stderr
    assert "shifted" in p.stdout  # the table
    assert json.loads((tmp_path / "out.json").read_text())["runs"][0]["final_x"] == [3.0]
    assert not cache.exists() or not any(cache.iterdir())
    # The temporary cache was made under TMPDIR and removed when the process ended.
    assert list(tmp.iterdir()) == []
