"""Where compiled code lives on disk, and `adambench cache info|clear`.

The cache directory holds generated problem kernels (``problems/``), generated modules
(``modules/``) and numba's compiled machine code for them (``modules/__pycache__``, unless
``NUMBA_CACHE_DIR`` says otherwise). Its location: ``$ADAMBENCH_CACHE_DIR``, else
``$XDG_CACHE_HOME/adambench``, else ``~/.cache/adambench``. When that directory cannot be
written, adambench falls back to a private temporary directory for this process (compiling
in memory, in effect) and says so once.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CacheInfo", "cache_dir", "clear", "configured_dir", "info", "pop_notes"]

_FALLBACK: Path | None = None
_NOTES: list[str] = []


def configured_dir() -> Path:
    """The cache directory as configured by the environment (it may not exist yet)."""
    env = os.environ.get("ADAMBENCH_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "adambench"


def _writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            return True
    except OSError:
        return False


def cache_dir() -> Path:
    """The directory to use now: the configured one, or a temporary fallback if unwritable."""
    global _FALLBACK
    path = configured_dir()
    if _FALLBACK is None and _writable(path):
        return path
    if _FALLBACK is None:
        _FALLBACK = Path(tempfile.mkdtemp(prefix="adambench-cache-"))
        # "Not kept": removed when the process ends, as a compilation in memory would be.
        atexit.register(shutil.rmtree, _FALLBACK, ignore_errors=True)
        _NOTES.append(
            f"cache directory {path} is not writable; compiling into a temporary cache "
            f"({_FALLBACK}) that is not kept"
        )
    return _FALLBACK


def pop_notes() -> list[str]:
    """Notes about the cache (e.g. the fallback) not yet shown to the user."""
    out = list(_NOTES)
    _NOTES.clear()
    return out


@dataclass(frozen=True)
class CacheInfo:
    path: Path
    exists: bool
    modules: int
    problem_kernels: int
    files: int
    bytes: int


def info() -> CacheInfo:
    """Size and contents of the configured cache directory."""
    path = configured_dir()
    files, size = _count_files(path) if path.is_dir() else (0, 0)
    modules = len(list((path / "modules").glob("ab_*.py"))) if path.is_dir() else 0
    problems = len(list((path / "problems").glob("p_*.py"))) if path.is_dir() else 0
    return CacheInfo(path, path.is_dir(), modules, problems, files, size)


def _count_files(directory: Path) -> tuple[int, int]:
    """Files under ``directory`` and their bytes, as ``rglob("*")`` and ``is_file()`` count them
    (symbolic links to directories not followed), with one stat per file: the cache holds
    thousands and `cache info` should take no longer than Python's start."""
    files = size = 0
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                more_files, more_bytes = _count_files(Path(entry.path))
                files, size = files + more_files, size + more_bytes
            elif entry.is_file():
                files, size = files + 1, size + entry.stat().st_size
    return files, size


def clear() -> CacheInfo:
    """Delete the configured cache directory; returns what it held."""
    before = info()
    if before.exists:
        shutil.rmtree(before.path, ignore_errors=True)
    return before
