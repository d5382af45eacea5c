"""Every file adambench writes is complete or absent (issue 10), and gets a normal file's mode.

A process is stopped at the worst moment of writing, deterministically: the entry point runs
with ``os.replace`` wrapped so that the rename of the finished temporary file into the output
folder pauses (after the data is written, before the rename); the test then sends SIGKILL or
SIGINT. The output must be absent, or hold its previous content unchanged (an older complete
version), never a partial file. After SIGINT (exit 130) no temporary file is left either; after
SIGKILL a hidden ``.NAME.*`` temporary may remain (nothing can remove it), never the output.
A plain ``open(path, "w")`` writer fails these tests: it truncates the old content before the
pause. Killing a run while it computes leaves nothing at all.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from adambench.files import write_atomic

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and modes")

PAUSE_AT_RENAME = textwrap.dedent("""
    import os, sys, time
    out_dir, marker = os.path.realpath(sys.argv[1]), sys.argv[2]
    real_replace = os.replace

    def replace(src, dst, *args, **kwargs):
        if os.path.dirname(os.path.realpath(dst)) == out_dir:
            open(marker, "w").close()
            time.sleep(300)  # the test kills us here
        return real_replace(src, dst, *args, **kwargs)

    os.replace = replace
    sys.argv = ["adambench", *sys.argv[3:]]
    from adambench.cli import main
    main()
""")

SUITE = "cases:\n  - {name: b, problem: beale, optimizer: adam(lr=0.1), steps: 20}\n"

# (id, arguments run in the output folder, the output file). Inputs: suite.yaml, r.json (a run
# with traces), s.json (a sweep), made once by the `inputs` fixture.
WRITERS = [
    ("run-json", ["run", "beale", "--steps", "20", "-o", "out.json"], "out.json"),
    ("run-csv", ["run", "beale", "--steps", "20", "-o", "out.csv"], "out.csv"),
    ("run-tune", ["run", "beale", "--steps", "20", "--tune", "lr", "--tune-count", "2",
                  "-o", "out.json"], "out.json"),
    ("run-plot", ["run", "beale", "--steps", "20", "--plot", "out.png"], "out.png"),
    ("sweep-json", ["sweep", "beale", "--grid", "lr=0.1,0.2", "--steps", "20", "-o", "out.json"],
     "out.json"),
    ("sweep-plot", ["sweep", "beale", "--grid", "lr=0.1,0.2", "--steps", "20", "--plot",
                    "out.svg"], "out.svg"),
    ("sweep-show-plot", ["sweep-show", "s.json", "--plot", "out.pdf"], "out.pdf"),
    ("check-baseline", ["check", "suite.yaml", "--save-baseline", "out.json"], "out.json"),
    ("check-junit", ["check", "suite.yaml", "--junit", "out.xml"], "out.xml"),
    ("check-markdown", ["check", "suite.yaml", "--markdown", "out.md"], "out.md"),
    ("compare-junit", ["compare", "r.json", "r.json", "--junit", "out.xml"], "out.xml"),
    ("compare-markdown", ["compare", "r.json", "r.json", "--markdown", "out.md"], "out.md"),
    ("plot-png", ["plot", "r.json", "-o", "out.png"], "out.png"),
    ("plot-gif", ["plot", "r.json", "--animate", "out.gif", "--frames", "4"], "out.gif"),
]  # fmt: skip
SIGINT_TOO = {"run-json", "check-baseline", "plot-gif"}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("inputs")
    env = {**os.environ, "NO_COLOR": "1"}
    for args in (
        ["run", "beale", "--steps", "20", "--trace", "-o", "r.json"],
        ["sweep", "beale", "--grid", "lr=0.1,0.2", "--steps", "20", "-o", "s.json"],
    ):
        subprocess.run([sys.executable, "-m", "adambench", *args], cwd=d, env=env, check=True,
                       capture_output=True, timeout=300)  # fmt: skip
    (d / "suite.yaml").write_text(SUITE)
    return d


def _stop_while_renaming(args: list[str], folder: Path, marker: Path, sig: int):
    proc = subprocess.Popen(
        [sys.executable, "-c", PAUSE_AT_RENAME, str(folder), str(marker), *args],
        cwd=folder,
        env={**os.environ, "NO_COLOR": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 240
    while not marker.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"never reached the rename of an output (exit {proc.returncode}): {err}")
        time.sleep(0.02)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def _cases():
    """SIGKILL over an older file for every writer; SIGINT on a new file for a few."""
    for id_, args, output in WRITERS:
        yield pytest.param(args, output, signal.SIGKILL, True, id=f"{id_}-SIGKILL-over-old")
        if id_ in SIGINT_TOO:
            yield pytest.param(args, output, signal.SIGINT, False, id=f"{id_}-SIGINT-new")


@pytest.mark.slow
@pytest.mark.parametrize(("args", "output", "sig", "existing"), list(_cases()))
def test_a_stopped_writer_leaves_the_output_complete_or_absent(
    args, output, sig, existing, inputs, tmp_path
):
    folder = tmp_path / "out"
    folder.mkdir()
    for name in ("suite.yaml", "r.json", "s.json"):
        (folder / name).write_bytes((inputs / name).read_bytes())
    old = b"an older complete version\n"
    if existing:
        (folder / output).write_bytes(old)
    code, _, err = _stop_while_renaming(args, folder, tmp_path / "marker", sig)
    target = folder / output
    if existing:
        assert target.read_bytes() == old  # untouched: the new one never half-replaced it
    else:
        assert not target.exists()
    leftovers = [p.name for p in folder.iterdir() if p.name.startswith(f".{output}.")]
    if sig == signal.SIGINT:
        assert code == 130, err
        assert err.strip().splitlines()[-1] == "interrupted" and "Traceback" not in err
        assert leftovers == []  # the temporary file was removed on the way out
    else:
        assert code == -signal.SIGKILL
        assert all(n.endswith((".tmp", Path(output).suffix)) for n in leftovers)


@pytest.mark.slow
def test_sigkill_while_running_leaves_no_file(tmp_path):
    env = {**os.environ, "NO_COLOR": "1"}
    args = [sys.executable, "-m", "adambench", "run", "rosenbrock_nd", "--dim", "20000"]
    subprocess.run([*args, "--steps", "2"], env=env, check=True, capture_output=True)  # compile
    proc = subprocess.Popen([*args, "--steps", "1000000", "-o", "out.json", "--plot", "p.png"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip
    time.sleep(3.0)
    assert proc.poll() is None, proc.communicate()
    proc.kill()
    proc.communicate(timeout=60)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# Modes: a written file gets what open(path, "w") would give it


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_new_files_honour_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        write_atomic(tmp_path / "a.json", "{}\n")
        write_atomic(tmp_path / "b.bin", b"\x00\x01")
        with open(tmp_path / "plain", "w") as fh:
            fh.write("x")
    finally:
        os.umask(old)
    want = stat.S_IMODE((tmp_path / "plain").stat().st_mode)
    assert want == 0o666 & ~umask
    for name in ("a.json", "b.bin"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == want


def test_rewriting_keeps_the_mode_and_writes_through_links(tmp_path):
    target = tmp_path / "result.json"
    target.write_text("old")
    target.chmod(0o640)
    write_atomic(target, "new")
    assert target.read_text() == "new" and stat.S_IMODE(target.stat().st_mode) == 0o640
    link = tmp_path / "link.json"
    link.symlink_to(target)
    write_atomic(link, "newer")
    assert link.is_symlink() and target.read_text() == "newer"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "result.json"]


def test_cli_outputs_get_the_umask_mode(tmp_path):
    env = {**os.environ, "NO_COLOR": "1"}
    script = "import os, sys; os.umask(0o027); from adambench.cli import main; main()"
    subprocess.run(
        [sys.executable, "-c", script, "run", "beale", "--steps", "5", "-o", "r.json"],
        cwd=tmp_path, env=env, check=True, capture_output=True,
    )  # fmt: skip
    assert stat.S_IMODE((tmp_path / "r.json").stat().st_mode) == 0o640
    assert json.loads((tmp_path / "r.json").read_text())["tool"]["name"] == "adambench"
