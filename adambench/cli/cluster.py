"""Runs on a Dask cluster (`sweep` and `check` --scheduler): the options, declared once, the
:class:`~adambench.backends.dask.Cluster` they describe, and what to say after an interruption.
Dask is imported only when --scheduler is given."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from adambench.cli.consoles import err
from adambench.cli.options import whole_number

__all__ = [
    "CLUSTER_PANEL",
    "ChunkRunsOpt",
    "ResumeOpt",
    "SchedulerOpt",
    "WorkersOpt",
    "cluster_from_options",
    "drop_journal",
    "partial_path",
    "say_what_is_saved",
]

CLUSTER_PANEL = "Dask cluster"
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        help="Run on Dask, in chunks of runs: 'local' (a cluster of worker processes on this "
        "machine) or a scheduler's address, e.g. tcp://host:8786 (needs "
        "pip install 'adambench[dask]'). The numbers are the same as without it.",
        rich_help_panel=CLUSTER_PANEL,
        show_default=False,
    ),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        parser=whole_number,
        help="Worker processes of --scheduler local (default: one per core).",
        rich_help_panel=CLUSTER_PANEL,
        show_default=False,
    ),
]
ChunkRunsOpt = Annotated[
    int | None,
    typer.Option(
        parser=whole_number,
        help="Runs per chunk, sent to a worker or saved to FILE.partial (default: about a "
        "second of work each).",
        rich_help_panel=CLUSTER_PANEL,
        show_default=False,
    ),
]
ResumeOpt = Annotated[
    Path | None,
    typer.Option(
        help="Continue an interrupted sweep or check from its partial output (sweep -o FILE and "
        "check --save-baseline, --junit or --markdown FILE keep finished chunks of runs in "
        "FILE.partial, here or on a cluster): its runs are not run again.",
        show_default=False,
    ),
]


def cluster_from_options(
    scheduler: str | None,
    workers: int | None,
    chunk_runs: int | None,
    threads: int | None,
    *,
    quiet: bool,
    resume: Path | None = None,
    output: Path | None = None,
) -> Any:
    """The :class:`adambench.backends.dask.Cluster` of the options: on Dask with --scheduler;
    without it, chunks run in this process when there is a journal to keep (``-o`` or
    ``--resume``), else None (the one-pass local path). The journal is ``--resume FILE``, else
    ``OUTPUT.partial`` next to ``-o OUTPUT``. The command removes the journal itself, once the
    output is written."""
    from adambench.errors import UsageError

    if scheduler is None:
        if workers is not None:
            raise UsageError("--workers applies to runs on a Dask cluster; give --scheduler too")
        if output is None and resume is None:
            if chunk_runs is not None:
                raise UsageError("--chunk-runs needs an output file or --scheduler")
            return None
    from rich.markup import escape

    from adambench.backends.options import IN_PROCESS, Cluster

    journal = resume if resume is not None else (partial_path(output) if output else None)

    def log(message: str) -> None:
        if not quiet:
            err.print(f"[dim]{escape(message)}[/dim]", highlight=False)

    return Cluster(
        scheduler=scheduler if scheduler is not None else IN_PROCESS,
        workers=workers,
        chunk_runs=chunk_runs,
        threads=threads,
        journal=journal,
        resume=resume is not None,
        remove_journal=False,
        log=log,
    )


def drop_journal(cluster: Any) -> None:
    """Remove the journal of finished chunks, once the output it stood in for is written."""
    if cluster is not None and cluster.journal is not None:
        Path(cluster.journal).unlink(missing_ok=True)


def partial_path(output: Path) -> Path:
    """Where a cluster sweep keeps its finished chunks until ``output`` is written."""
    return output.with_name(output.name + ".partial")


def say_what_is_saved(cluster: Any) -> None:
    """After Ctrl-C or an error mid-way: say what is saved and how to continue."""
    if cluster is None or cluster.status is None:
        return
    st = cluster.status
    journal = cluster.journal
    if journal is not None and Path(journal).exists():
        err.print(
            f"{st.runs_done:,} of {st.runs_total:,} runs are saved in {journal}; continue with "
            f"the same command and --resume {journal}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    elif st.runs_done:
        err.print(
            f"{st.runs_done:,} of {st.runs_total:,} runs were done but not saved (give -o FILE "
            "to keep finished chunks for --resume)",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
