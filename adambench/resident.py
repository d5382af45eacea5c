"""The opt-in resident worker: a per-user process that has numpy, numba and the command line
imported and numba's registries installed, and forks one child per command, so a warm
`adambench run` skips the ~0.5 s every new Python process pays before its first kernel call.

Opt in with ``ADAMBENCH_WORKER=1``. The contract:

- **On demand.** The first command with the variable set finds no worker, starts one in the
  background and runs as usual itself (a first run is not slower); later commands go to it.
- **Private, per user.** The socket lives in ``$XDG_RUNTIME_DIR/adambench`` (else
  ``/tmp/adambench-UID``), a directory that must be the user's own with mode 0700, and the worker
  serves only connections from its own user id (``SO_PEERCRED``).
- **Identical output.** The client passes its own stdin, stdout and stderr (``SCM_RIGHTS``), its
  arguments, working directory, environment and umask; the forked child runs the same `main` as
  a plain process on those file descriptors, so terminals, pipes, colours, widths and exit codes
  are the same. Ctrl-C and SIGTERM at the client are forwarded to the child.
- **Exits** after ``ADAMBENCH_WORKER_IDLE`` seconds without a command (default 900), and as soon
  as the installed package changes (its version, any of its ``.py`` files or shipped YAML
  files): the socket's name is a hash of those, of the interpreter, ``sys.path`` and the
  ``NUMBA_*``/``PYTHON*`` variables, so a client never reaches a worker that would behave
  differently from a plain run.
- Anything that goes wrong before the command starts (no socket, a stale one, a refused
  connection) falls back to the plain path without a word.

Standard library only: the client runs before anything else is imported.
"""

from __future__ import annotations

import array
import contextlib
import errno
import fcntl
import hashlib
import json
import os
import signal
import socket
import struct
import sys
import time
from collections.abc import Callable, Iterator

from adambench.version import __version__

__all__ = [
    "IDLE_SECONDS",
    "client_run",
    "package_fingerprint",
    "request_control",
    "serve",
    "socket_dir",
    "wanted",
    "worker_key",
    "worker_sockets",
]

#: Seconds a worker waits for a command before it exits (``ADAMBENCH_WORKER_IDLE`` overrides).
IDLE_SECONDS = 900.0
#: How often a waiting worker checks its package for changes and its idle time, seconds.
_TICK = 2.0
_ON = ("1", "on", "yes", "true")
_ENV_PREFIXES = ("NUMBA_", "PYTHON")
_PACKAGE = os.path.dirname(os.path.abspath(__file__))
_HEADER = struct.Struct("!I")


def wanted(env: dict[str, str] | os._Environ[str]) -> bool:
    """Whether the user opted in (``ADAMBENCH_WORKER=1``) on a system that can fork."""
    return env.get("ADAMBENCH_WORKER", "").lower() in _ON and hasattr(socket, "AF_UNIX")


def package_fingerprint(package: str = _PACKAGE) -> str:
    """The version and every ``.py`` and ``.yaml`` file's path, size and modification time
    under ``package`` (adambench's own folder) and the shipped problems beside it (a checkout's
    ``problems/``): a change in any means a worker holds old code or an old library (the
    worker reads the shipped problem and optimizer files before it forks)."""
    parts = [__version__]
    beside = os.path.join(os.path.dirname(package), "problems")
    for folder in (package, beside):
        for root, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if name.endswith((".py", ".yaml")):
                    st = os.stat(os.path.join(root, name))
                    parts.append(f"{root}/{name}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def worker_key(fingerprint: str, env: dict[str, str] | os._Environ[str]) -> str:
    """The name of the worker that behaves exactly as this process would: the package, the
    interpreter, its import path and the variables read when numba and Python start."""
    settings = sorted((k, v) for k, v in env.items() if k.startswith(_ENV_PREFIXES))
    blob = json.dumps([fingerprint, sys.executable, sys.path, settings])
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def socket_dir() -> str | None:
    """The user's private directory for worker sockets, made if missing; None if it exists but
    is not private (another user's, a link, or open to others): then no worker is used."""
    import stat

    base = os.environ.get("XDG_RUNTIME_DIR")
    path = os.path.join(base, "adambench") if base else ""
    if not path or len(path) > 70:  # a socket's path is limited to 107 bytes; names take 30
        path = f"/tmp/adambench-{os.getuid()}"
    try:
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o700)
        st = os.lstat(path)
    except OSError:
        return None
    private = st.st_uid == os.getuid() and (st.st_mode & 0o077) == 0
    return path if private and stat.S_ISDIR(st.st_mode) else None


def worker_sockets(folder: str) -> list[str]:
    """The sockets of the workers in ``folder`` (running or stale)."""
    names = sorted(n for n in os.listdir(folder) if n.endswith(".sock"))
    return [os.path.join(folder, n) for n in names]


# ---------------------------------------------------------------------------------- messages


def _send(conn: socket.socket, payload: dict, fds: tuple[int, ...] = ()) -> None:
    data = json.dumps(payload).encode()
    message = _HEADER.pack(len(data)) + data
    if fds:
        rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds).tobytes())]
        sent = conn.sendmsg([message], rights)
        conn.sendall(message[sent:])
    else:
        conn.sendall(message)


def _receive(conn: socket.socket) -> tuple[dict, list[int]]:
    """One message and the file descriptors that came with it."""
    fds = array.array("i")
    data, ancillary, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(3 * fds.itemsize))
    for level, kind, blob in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(blob[: len(blob) - len(blob) % fds.itemsize])
    if len(data) < _HEADER.size:
        raise ConnectionError("short message")
    (size,) = _HEADER.unpack_from(data)
    while len(data) < _HEADER.size + size:
        more = conn.recv(65536)
        if not more:
            raise ConnectionError("message cut short")
        data += more
    return json.loads(data[_HEADER.size : _HEADER.size + size]), list(fds)


def _lines(conn: socket.socket) -> Iterator[str]:
    """The text lines the worker's child sends back (``pid N``, then ``exit N``)."""
    buffer = b""
    while True:
        try:
            chunk = conn.recv(256)
        except InterruptedError:  # pragma: no cover - PEP 475 retries; kept for old kernels
            continue
        if not chunk:
            return
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield line.decode()


# ------------------------------------------------------------------------------------ client


def _program_name() -> str:
    """What click would print as the program's name in usage lines, seen from this process."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name in ("adambench", "adambench.__main__"):
        return "python -m adambench"
    return os.path.basename(sys.argv[0]) or "adambench"


def client_run(argv: list[str]) -> int | None:
    """Run ``adambench ARGV`` in the resident worker and return its exit code; None when there
    is no worker to use (one is then started for next time) and the caller runs it itself."""
    folder = socket_dir()
    if folder is None:
        return None
    key = worker_key(package_fingerprint(), os.environ)
    path = os.path.join(folder, f"{key}.sock")
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
        _send(conn, _request(argv), fds=(0, 1, 2))
    except OSError:
        conn.close()
        _start_worker(folder, key)
        return None
    with conn:
        return _follow(conn)


def _request(argv: list[str]) -> dict:
    umask = os.umask(0o022)
    os.umask(umask)
    return {
        "op": "run",
        "argv": argv,
        "prog": _program_name(),
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        "umask": umask,
        "streams": [
            [getattr(s, "encoding", None) or "utf-8", getattr(s, "errors", None) or "strict"]
            for s in (sys.stdin, sys.stdout, sys.stderr)
        ],
    }


def _follow(conn: socket.socket) -> int:
    """Forward signals to the worker's child until it reports its exit code."""
    child = 0

    def forward(signum: int, _frame: object) -> None:
        if child:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    for line in _lines(conn):
        word, _, value = line.partition(" ")
        if word == "pid":
            child = int(value)
        elif word == "exit":
            return int(value)
    print(
        "error: the resident worker's process ended without an exit code; "
        "run again without ADAMBENCH_WORKER to see why",
        file=sys.stderr,
    )
    return 3


def _start_worker(folder: str, key: str) -> None:
    """Start a worker in the background for the next command, with this process's import path
    (the worker takes the lock; a second one started meanwhile sees it and exits)."""
    code = (
        "import sys, json; sys.path[:] = json.loads(sys.argv[1]); "
        "from adambench.__main__ import serve_forever; serve_forever(sys.argv[2], sys.argv[3])"
    )
    import subprocess  # here: ~4 ms that a command sent to a running worker does not need

    env = {k: v for k, v in os.environ.items() if k != "ADAMBENCH_WORKER"}
    with contextlib.suppress(OSError):
        subprocess.Popen(
            [sys.executable, "-c", code, json.dumps(sys.path), folder, key],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd="/",
            start_new_session=True,
        )


# ------------------------------------------------------------------------------------ worker


def request_control(path: str, op: str, timeout: float = 2.0) -> dict | None:
    """Send ``status`` or ``stop`` to the worker at ``path``; its answer (pid, key, commands
    served, uptime and idle seconds), or None if none is listening there (a stale socket is
    removed)."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(timeout)
    try:
        conn.connect(path)
        _send(conn, {"op": op})
        answer, _ = _receive(conn)
    except (OSError, ConnectionError, ValueError) as exc:
        if isinstance(exc, ConnectionRefusedError) or getattr(exc, "errno", None) == errno.ENOENT:
            with contextlib.suppress(OSError):
                os.unlink(path)
        return None
    finally:
        conn.close()
    return answer


def serve(folder: str, key: str, run: Callable[[list[str], str], int]) -> None:
    """Serve commands on ``FOLDER/KEY.sock`` until idle or the package changes. ``run(argv,
    prog)`` runs one command in a forked child and returns its exit code. Returns at once if
    another worker holds the key's lock."""
    lock = open(os.path.join(folder, f"{key}.lock"), "w")  # noqa: SIM115 - held for the worker's lifetime
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        return
    path = os.path.join(folder, f"{key}.sock")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    listener.settimeout(_TICK)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        _accept_loop(listener, path, key, run)
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()
        with contextlib.suppress(OSError):
            os.unlink(path)  # still ours: the lock is held until the next line
        lock.close()


def _accept_loop(
    listener: socket.socket, path: str, key: str, run: Callable[[list[str], str], int]
) -> None:
    idle = float(os.environ.get("ADAMBENCH_WORKER_IDLE", IDLE_SECONDS))
    fingerprint = package_fingerprint()
    state = {"pid": os.getpid(), "key": key, "started": time.time(), "commands": 0}
    state["last"] = state["started"]
    while True:
        _reap()
        if package_fingerprint() != fingerprint or not os.path.exists(path):
            return
        if time.time() - state["last"] > idle:
            return
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        with conn:
            if not _same_user(conn):
                continue
            if _handle(conn, state, run, listener) == "stop":
                return


def _same_user(conn: socket.socket) -> bool:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _, uid, _ = struct.unpack("3i", creds)
    return uid == os.getuid()


def _handle(
    conn: socket.socket, state: dict, run: Callable[[list[str], str], int], listener: socket.socket
) -> str:
    """Answer one connection: a control request here, a command in a forked child."""
    conn.settimeout(10.0)
    try:
        request, fds = _receive(conn)
    except (OSError, ConnectionError, ValueError):
        return "bad"
    op = request.get("op")
    if op in ("status", "stop"):
        _close_all(fds)
        now = time.time()
        answer = {"pid": state["pid"], "key": state["key"], "commands": state["commands"]}
        answer.update(uptime=round(now - state["started"], 1), idle=round(now - state["last"], 1))
        with contextlib.suppress(OSError):
            _send(conn, answer)
        return op
    if op != "run" or len(fds) != 3:
        _close_all(fds)
        return "bad"
    state["commands"] += 1
    state["last"] = time.time()
    if os.fork() == 0:  # the child: never returns
        listener.close()
        _run_child(conn, request, fds, run)
    _close_all(fds)
    return "run"


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _run_child(
    conn: socket.socket, request: dict, fds: list[int], run: Callable[[list[str], str], int]
) -> None:
    """Become the client's process (its streams, directory, environment, umask and signals),
    run the command and send its exit code."""
    code = 3
    try:
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        _close_all(fds)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.umask(int(request["umask"]))
        _reopen_streams(request["streams"])
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        conn.settimeout(None)
        conn.sendall(f"pid {os.getpid()}\n".encode())
        sys.argv = [request["prog"], *request["argv"]]
        code = run(request["argv"], request["prog"])
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        with contextlib.suppress(OSError):
            conn.sendall(f"exit {code}\n".encode())
        os._exit(code)


def _reopen_streams(streams: list[list[str]]) -> None:
    """sys.stdin/stdout/stderr on the client's descriptors, with the client's encodings and
    buffering (line-buffered on a terminal, as Python starts them)."""
    import io

    names = ("stdin", "stdout", "stderr")
    for fd, (name, (encoding, errors)) in enumerate(zip(names, streams, strict=True)):
        binary = open(fd, "rb" if fd == 0 else "wb", closefd=False)  # noqa: SIM115 - sys keeps it
        # stderr is line-buffered, stdout only on a terminal: as Python (>= 3.9) starts them.
        text = io.TextIOWrapper(
            binary, encoding=encoding, errors=errors, line_buffering=fd == 2 or os.isatty(fd)
        )
        setattr(sys, name, text)
        setattr(sys, f"__{name}__", text)


def _reap() -> None:
    """Collect finished children so they do not linger as zombies."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
