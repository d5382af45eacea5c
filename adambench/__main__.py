"""`python -m adambench` and the `adambench` console script: the command line, or, when the
user opted in with ``ADAMBENCH_WORKER=1``, the same command run by the resident worker
(:mod:`adambench.resident`)."""

import os
import sys

__all__ = ["main", "serve_forever"]


def main() -> None:
    """Run the command line: in the resident worker if opted in and one is ready, else here."""
    if os.environ.get("ADAMBENCH_WORKER"):
        from adambench.resident import client_run, wanted

        code = client_run(sys.argv[1:]) if wanted(os.environ) else None
        if code is not None:
            sys.exit(code)
    from adambench.cli import main as cli_main

    cli_main()


def _warm() -> None:
    """Import what commands use and install numba's registries (what the first cached kernel
    call does in a fresh process, ~0.25 s); no threads are started, so forking stays safe."""
    import importlib.metadata  # noqa: F401  (list: the entry-point scan)

    import numba  # noqa: F401
    import numpy  # noqa: F401
    import rich.console
    import rich.table  # noqa: F401
    import yaml  # noqa: F401
    from numba.core.registry import cpu_target

    import adambench.engine
    import adambench.optimizers.plugins
    import adambench.optimizers.rules
    import adambench.problems
    import adambench.report.catalog
    import adambench.report.tables  # noqa: F401
    from adambench.cli.app import prebuild

    cpu_target.target_context.refresh()
    cpu_target.typing_context.refresh()
    prebuild()
    _rehearse(["list"])


def _rehearse(argv: list[str]) -> None:
    """Run a command once in the worker with its output thrown away, so that every child starts
    with what it reads and caches: ``list`` reads the shipped problem and optimizer files (the
    worker's key covers them, see ``resident.package_fingerprint``) and fills rich's caches of
    styles and cell widths (~90 ms of a child's ``list`` otherwise). Consoles are made per use,
    so nothing of the rehearsal's output streams stays behind."""
    import contextlib

    saved = sys.argv
    sys.argv = ["adambench", *argv]
    try:
        with (
            open(os.devnull, "w") as sink,
            contextlib.redirect_stdout(sink),
            contextlib.redirect_stderr(sink),
        ):
            _run_command(argv, "adambench")
    finally:
        sys.argv = saved


def _run_command(argv: list[str], prog: str) -> int:
    """One command, as `main` runs it in a plain process; its exit code."""
    from adambench.cli import main as cli_main

    try:
        cli_main(prog_name=prog)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


def serve_forever(folder: str, key: str) -> None:
    """The worker process: warm up, then serve until idle (see :func:`adambench.resident.serve`)."""
    from adambench.resident import serve

    _warm()
    serve(folder, key, _run_command)


# Guarded: Dask's worker processes (spawned) import the parent's main module again.
if __name__ == "__main__":
    main()
