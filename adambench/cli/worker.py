"""`adambench worker status|stop`: the opt-in resident worker's processes (started on demand
by :func:`adambench.__main__.main`; the contract is in :mod:`adambench.resident`)."""

from __future__ import annotations

import typer

from adambench.cli.boundary import boundary
from adambench.cli.consoles import out

__all__ = ["status", "stop", "worker_app"]

worker_app = typer.Typer(
    help="The opt-in resident worker (ADAMBENCH_WORKER=1): see what runs, or stop it.",
    no_args_is_help=True,
)


def _workers() -> list[dict]:
    from adambench.resident import request_control, socket_dir, worker_sockets

    folder = socket_dir()
    if folder is None:
        return []
    answers = (request_control(p, "status") for p in worker_sockets(folder))
    return [a for a in answers if a is not None]


@worker_app.command("status")
def status() -> None:
    """List the running workers: process id, commands served, uptime and idle seconds."""
    with boundary():
        workers = _workers()
        if not workers:
            out.print("no resident worker is running", highlight=False)
        for w in workers:
            out.print(
                f"worker {w['key']}: pid {w['pid']}, {w['commands']} commands, "
                f"up {w['uptime']:.0f} s, idle {w['idle']:.0f} s",
                highlight=False,
            )


@worker_app.command("stop")
def stop() -> None:
    """Stop every running worker of this user (commands in progress finish)."""
    with boundary():
        from adambench.resident import request_control, socket_dir, worker_sockets

        folder = socket_dir()
        paths = worker_sockets(folder) if folder else []
        stopped = sum(request_control(p, "stop") is not None for p in paths)
        out.print(f"stopped {stopped} resident worker{'s' * (stopped != 1)}", highlight=False)
