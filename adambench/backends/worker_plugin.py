"""The worker plugin of local Dask clusters (imported only when adambench starts one).

Ctrl-C in a terminal sends SIGINT to the whole foreground process group, which includes the
worker processes of a :class:`distributed.LocalCluster`. The client handles the interrupt (it
keeps the finished chunks and closes the cluster); the workers should not also print
tracebacks, so they ignore SIGINT. The plugin is passed to every worker the cluster starts,
including one a nanny restarts after it died.
"""

from __future__ import annotations

import signal
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

__all__ = ["IgnoreInterrupt"]


class IgnoreInterrupt(WorkerPlugin):
    """Make a local worker process ignore SIGINT (its cluster's client handles Ctrl-C)."""

    name = "adambench-ignore-interrupt"

    def setup(self, worker: Any) -> None:
        # Runs in the worker process's event loop, on its main thread (signal needs that).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
