"""`adambench cache info` and `adambench cache clear`: the on-disk cache of compiled kernels."""

from __future__ import annotations

import os

import typer

from adambench.cli.boundary import boundary
from adambench.cli.consoles import out

__all__ = ["cache_app", "clear", "info"]

cache_app = typer.Typer(
    help="Inspect or clear the on-disk cache of compiled kernels.", no_args_is_help=True
)


@cache_app.command("info")
def info() -> None:
    """Where compiled kernels are cached, and how much is there."""
    with boundary():
        from adambench.cache import info as cache_info

        i = cache_info()
        out.print(
            f"cache directory: {i.path}{'' if i.exists else ' (empty, not created yet)'}",
            highlight=False,
            markup=False,
        )
        out.print(
            f"generated modules: {i.modules}; problem kernels: {i.problem_kernels}; "
            f"files: {i.files}; size: {i.bytes / 1e6:.1f} MB",
            highlight=False,
            markup=False,
        )
        numba_dir = os.environ.get("NUMBA_CACHE_DIR")
        if numba_dir:
            out.print(
                f"numba machine code: {numba_dir} (NUMBA_CACHE_DIR)", highlight=False, markup=False
            )


@cache_app.command("clear")
def clear() -> None:
    """Delete every cached kernel (they are rebuilt on the next run)."""
    with boundary():
        from adambench.cache import clear as clear_cache

        i = clear_cache()
        out.print(
            f"removed {i.files} files ({i.bytes / 1e6:.1f} MB) from {i.path}",
            highlight=False,
            markup=False,
        )
