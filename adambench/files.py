"""Files no reader ever sees half of: atomic writes, verified text files, content hashes.

- :func:`atomic_output`: the one atomic writer (temp file, fsync, rename), so an interrupted
  command leaves a file complete or absent; :func:`write_atomic` writes text or bytes with it
  and the pictures are saved through it; :func:`check_output_path` refuses an
  unwritable path before any work starts.
- :func:`read_verified` / :func:`write_verified`: generated text whose first line carries the
  sha256 of the rest, so a truncated or edited file is detected and regenerated, not used.
- :func:`sha256_of`: the content hash of cache keys and fingerprints.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from adambench.errors import OutputError

__all__ = [
    "FORMATS",
    "PACKAGE_DIR",
    "VERIFIED_HEADER",
    "atomic_output",
    "check_output_path",
    "digest",
    "new_file_mode",
    "package_text",
    "read_verified",
    "sha256_of",
    "write_atomic",
    "write_verified",
]

#: The package's own folder: cache keys hash the source files the generated code depends on.
PACKAGE_DIR = Path(__file__).resolve().parent


def package_text(relative: str) -> str:
    """The text of one of this package's files, e.g. ``"kernels.py"``."""
    return (PACKAGE_DIR / relative).read_text(encoding="utf-8")


VERIFIED_HEADER = "# adambench generated module; sha256 of the rest: "


def sha256_of(*parts: str) -> str:
    """The sha256 (hex) of the parts, each followed by a NUL byte so that boundaries count."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def digest(data: str | bytes) -> str:
    """The sha256 (hex) of one text (UTF-8) or byte string."""
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def read_verified(path: Path) -> str | None:
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    head, sep, body = raw.partition("\n")
    if not sep or not head.startswith(VERIFIED_HEADER):
        return None
    if head[len(VERIFIED_HEADER) :] != hashlib.sha256(body.encode("utf-8")).hexdigest():
        return None
    return body


def write_verified(path: Path, text: str) -> None:
    """Create ``path`` atomically; a missing file is created only if still absent (a concurrent
    creator wins cleanly), a corrupt one is replaced."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    path.parent.mkdir(parents=True, exist_ok=True)
    replace = path.exists()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".py")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"{VERIFIED_HEADER}{digest}\n{text}")
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            except OSError:  # file systems without hard links
                os.replace(tmp, path)
                return
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


FORMATS = {".json": "json", ".csv": "csv"}


def check_output_path(path: str | Path, formats: dict[str, str] = FORMATS) -> str:
    """Refuse an output path before anything runs; return its format."""
    p = Path(path)
    if p.is_dir():
        raise OutputError(f"{path}: is a directory")
    fmt_ = formats.get(p.suffix.lower())
    if fmt_ is None:
        raise OutputError(
            f"{path}: unknown output format '{p.suffix or '(none)'}'; use {', '.join(formats)}"
        )
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        if parent.exists():
            raise OutputError(f"{path}: {parent} is not a folder")
        raise OutputError(f"{path}: folder {parent} does not exist")
    if p.exists() and not p.is_file():
        raise OutputError(f"{path}: not a regular file")
    if p.exists() and not os.access(p, os.W_OK):
        raise OutputError(f"{path}: not writable")
    # Try it: os.access says yes to root everywhere, and knows nothing of read-only mounts or
    # of folders such as /proc. The probe file is removed at once.
    try:
        fd, probe = tempfile.mkstemp(dir=parent, prefix=f".{p.name}.", suffix=".probe")
    except OSError as exc:
        raise OutputError(f"{path}: cannot write in {parent} ({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(probe)
    return fmt_


def new_file_mode(path: Path) -> int:
    """The mode a plain ``open(path, "w")`` gives: the existing file's, else 0666 less the
    umask (``mkstemp`` would leave 0600)."""
    with contextlib.suppress(OSError):
        return stat.S_IMODE(path.stat().st_mode)
    umask = os.umask(0)  # the only portable way to read it
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_output(path: str | Path, suffix: str = ".tmp") -> Iterator[str]:
    """A temporary file next to ``path``, yielded by name, that replaces ``path`` when the
    ``with`` block ends normally and is removed when it raises: the one atomic writer.

    The temp file gets the mode a normal write would give ``path`` (see :func:`new_file_mode`);
    a symlink is written through (its target is replaced, not the link). Whatever the block
    wrote by name is fsynced before the rename, so the rename never reaches the disk before the
    data. OS errors (a full disk, a folder removed meanwhile) become :class:`OutputError`, one
    line, exit 2; other exceptions pass through unchanged.
    """
    p = Path(path)
    if p.is_symlink():  # replace the file it points to, not the link
        p = p.resolve()
    try:
        fd, tmp = tempfile.mkstemp(
            dir=p.parent if str(p.parent) else ".", prefix=f".{p.name}.", suffix=suffix
        )
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror})") from None
    try:
        try:
            os.fchmod(fd, new_file_mode(p))  # mkstemp would leave 0600
        finally:
            os.close(fd)
        yield tmp
        with open(tmp, "rb+") as fh:  # the writer may have closed it; fsync reaches it by name
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None
        raise


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write a file so that it is either complete or absent (:func:`atomic_output`).

    The file gets the mode a normal write would give it (see :func:`new_file_mode`). Errors
    (a full disk, a folder removed meanwhile) are :class:`OutputError`, one line, exit 2.
    """
    with atomic_output(path) as tmp:
        if isinstance(data, bytes):
            Path(tmp).write_bytes(data)
        else:
            Path(tmp).write_text(data, encoding="utf-8")
