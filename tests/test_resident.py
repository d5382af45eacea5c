"""The opt-in resident worker (ADAMBENCH_WORKER=1): real processes, a private socket folder per
test, the same bytes and exit codes as a plain process, Ctrl-C forwarded, idle exit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adambench import resident

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the worker needs fork")


@pytest.fixture
def runtime(tmp_path: Path):
    """A private XDG_RUNTIME_DIR; every worker started in it is stopped afterwards."""
    import shutil
    import tempfile

    # short: a socket's path is limited to 107 bytes, and xdist's tmp_path is long
    folder = Path(tempfile.mkdtemp(prefix="ab-", dir="/tmp"))
    yield folder
    sockets = folder / "adambench"
    if sockets.is_dir():
        for path in resident.worker_sockets(str(sockets)):
            resident.request_control(path, "stop")
    shutil.rmtree(folder, ignore_errors=True)


def _env(runtime: Path, worker: bool, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FORCE_COLOR", "NO_COLOR"))}
    env.update(XDG_RUNTIME_DIR=str(runtime), COLUMNS="100", TERM="dumb", **extra)
    env.pop("ADAMBENCH_WORKER", None)
    if worker:
        env["ADAMBENCH_WORKER"] = "1"
    return env


def _adambench(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "adambench", *args], capture_output=True, env=env, cwd=cwd
    )


def _status(runtime: Path) -> list[dict]:
    sockets = runtime / "adambench"
    if not sockets.is_dir():
        return []
    answers = (resident.request_control(p, "status") for p in resident.worker_sockets(str(sockets)))
    return [a for a in answers if a is not None]


def _wait_for_worker(runtime: Path, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers = _status(runtime)
        if workers:
            return workers[0]
        time.sleep(0.2)
    raise AssertionError("no worker came up")


COMMANDS = [
    ["--help"],
    ["run", "beale", "--optimizers", "adam,rmsprop", "--steps", "300"],
    ["show", "beale"],
    ["run", "beale", "--steps", "many"],  # a usage error: exit 2, one line on stderr
    ["run", "no_such_problem"],
]


def test_the_worker_gives_a_plain_process_s_bytes_and_exit_codes(
    runtime: Path, tmp_path: Path
) -> None:
    plain = [_adambench(c, _env(runtime, worker=False), tmp_path) for c in COMMANDS]
    # The first opted-in command finds no worker: it runs itself, and starts one.
    first = _adambench(COMMANDS[0], _env(runtime, worker=True), tmp_path)
    assert (first.returncode, first.stdout, first.stderr) == (0, plain[0].stdout, plain[0].stderr)
    before = _wait_for_worker(runtime)["commands"]
    served = [_adambench(c, _env(runtime, worker=True), tmp_path) for c in COMMANDS]
    assert _status(runtime)[0]["commands"] == before + len(COMMANDS)
    for command, a, b in zip(COMMANDS, plain, served, strict=True):
        assert (b.returncode, b.stdout, b.stderr) == (a.returncode, a.stdout, a.stderr), command
    assert [p.returncode for p in plain] == [0, 0, 0, 2, 2]


def test_ctrl_c_at_the_client_interrupts_the_command_in_the_worker(
    runtime: Path, tmp_path: Path
) -> None:
    env = _env(runtime, worker=True)
    _adambench(["--version"], env, tmp_path)
    _wait_for_worker(runtime)
    long_run = [
        "run",
        "beale",
        "--optimizers",
        "adam",
        "--steps",
        "1000000000",
        "--every",
        "1000000",
    ]
    client = subprocess.Popen(
        [sys.executable, "-m", "adambench", *long_run],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )
    time.sleep(2.0)
    client.send_signal(signal.SIGINT)
    _, stderr = client.communicate(timeout=60)
    assert client.returncode == 130
    assert stderr.decode().strip().endswith("interrupted")


def test_an_idle_worker_exits_and_removes_its_socket(runtime: Path, tmp_path: Path) -> None:
    env = _env(runtime, worker=True, ADAMBENCH_WORKER_IDLE="0.5")
    _adambench(["--version"], env, tmp_path)
    pid = _wait_for_worker(runtime)["pid"]
    deadline = time.monotonic() + 30
    while _status(runtime) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _status(runtime) == []
    assert not list((runtime / "adambench").glob("*.sock"))
    with pytest.raises(ProcessLookupError):
        for _ in range(50):  # the worker is our grandchild: wait until it is gone
            os.kill(pid, 0)
            time.sleep(0.1)


def test_worker_stop_and_status_commands(runtime: Path, tmp_path: Path) -> None:
    env = _env(runtime, worker=False)
    assert _adambench(["worker", "status"], env, tmp_path).stdout == (
        b"no resident worker is running\n"
    )
    _adambench(["--version"], _env(runtime, worker=True), tmp_path)
    pid = _wait_for_worker(runtime)["pid"]
    status = _adambench(["worker", "status"], env, tmp_path).stdout.decode()
    assert f"pid {pid}, 0 commands" in status
    assert _adambench(["worker", "stop"], env, tmp_path).stdout == b"stopped 1 resident worker\n"
    assert _status(runtime) == []


def test_the_key_changes_with_the_package_and_numba_settings(tmp_path: Path) -> None:
    fingerprint = resident.package_fingerprint()
    env = {"HOME": "/x"}
    key = resident.worker_key(fingerprint, env)
    assert resident.worker_key(fingerprint, {**env, "UNRELATED": "1"}) == key
    assert resident.worker_key(fingerprint, {**env, "NUMBA_NUM_THREADS": "1"}) != key
    assert resident.worker_key(fingerprint, {**env, "PYTHONHASHSEED": "0"}) != key
    assert resident.worker_key(fingerprint + "x", env) != key
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "sub" / "m.py").write_text("x = 1\n")
    before = resident.package_fingerprint(str(package))
    os.utime(package / "sub" / "m.py", ns=(1, 1))
    assert resident.package_fingerprint(str(package)) != before
    # The worker reads the shipped problem and optimizer files before it forks: a change in
    # one, in the package or in a checkout's problems/ beside it, is a new worker too.
    for yaml_file in (package / "sub" / "rule.yaml", tmp_path / "problems" / "p.yaml"):
        yaml_file.parent.mkdir(exist_ok=True)
        yaml_file.write_text("name: p\n")
        before = resident.package_fingerprint(str(package))
        os.utime(yaml_file, ns=(1, 1))
        assert resident.package_fingerprint(str(package)) != before


def test_a_socket_folder_open_to_others_is_not_used(runtime: Path, monkeypatch) -> None:
    tmp_path = runtime
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    (tmp_path / "adambench").mkdir(mode=0o755)
    os.chmod(tmp_path / "adambench", 0o755)
    assert resident.socket_dir() is None
    assert resident.client_run(["--version"]) is None  # the plain path, no worker started
    os.chmod(tmp_path / "adambench", 0o700)
    assert resident.socket_dir() == str(tmp_path / "adambench")


def test_wanted_needs_the_variable() -> None:
    assert resident.wanted({"ADAMBENCH_WORKER": "1"})
    assert resident.wanted({"ADAMBENCH_WORKER": "yes"})
    assert not resident.wanted({"ADAMBENCH_WORKER": "0"})
    assert not resident.wanted({})
