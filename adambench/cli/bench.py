"""`adambench bench`: a suite of problems, every optimizer tuned per problem under the same
budget and run from random starts, judged across the suite (ECDF, ERT, profiles, ranks)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from adambench.cli.boundary import boundary
from adambench.cli.cluster import ChunkRunsOpt, SchedulerOpt, WorkersOpt
from adambench.cli.consoles import err, out, print_table
from adambench.cli.feedback import SweepFeedback
from adambench.cli.options import (
    JsonOpt,
    NoiseOpt,
    QuietOpt,
    RotateOpt,
    StepsOpt,
    SweepSeedOpt,
    SweepThreadsOpt,
    complete_optimizer,
    say_wrote,
    whole_number,
)

__all__ = ["bench"]

PLOT_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


def bench(
    suite: Annotated[
        str,
        typer.Argument(
            help="A built-in suite (card, classic, multimodal, ill-conditioned, nd) or a suite "
            "file (.yaml).",
            show_default=False,
        ),
    ],
    optimizers: Annotated[
        list[str] | None,
        typer.Option(
            "--optimizers",
            "-O",
            help="Optimizers to compare: names or specs, as in `run` (default: the suite "
            "file's, else adam, adamw, rmsprop, sgd).",
            autocompletion=complete_optimizer,
        ),
    ] = None,
    seeds: Annotated[
        int | None,
        typer.Option(
            parser=whole_number, help="Random starts per optimizer and problem (default: 20)."
        ),
    ] = None,
    seed: SweepSeedOpt = None,
    steps: StepsOpt = None,
    tune: Annotated[
        str | None,
        typer.Option(help="The hyperparameters tuned per optimizer and problem (default: lr)."),
    ] = None,
    tune_count: Annotated[
        int | None,
        typer.Option(parser=whole_number, help="Values per tuned numeric axis (default: 9)."),
    ] = None,
    tune_budget: Annotated[
        int | None,
        typer.Option(parser=whole_number, help="At most this many tuning points per optimizer."),
    ] = None,
    tune_range: Annotated[
        str | None,
        typer.Option(
            help="LOW:HIGH of one tuned hyperparameter, or NAME=LOW:HIGH,... of several "
            "(default: lr 1e-4:1).",
        ),
    ] = None,
    threads: SweepThreadsOpt = None,
    noise: NoiseOpt = None,
    rotate: RotateOpt = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the bench result to FILE (.json)."),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(help="Draw the ECDF and the performance profile to FILE (.png/.svg/.pdf)."),
    ] = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    chunk_runs: ChunkRunsOpt = None,
) -> None:
    """Benchmark optimizers over a suite of problems, each tuned per problem, from many starts.

    Prints each problem's tuned optimizers (success, ERT, steps to target, final gap), their
    average rank by ERT with a bootstrap interval, the performance profile, the ECDF of targets
    reached and a verdict.

    Examples:

    \b
      adambench bench card -O adam,adamw,rmsprop,sgd --seeds 20 --tune lr
      adambench bench my_suite.yaml -o bench.json --plot bench.png
      adambench bench classic --scheduler local -o classic.json
      adambench bench ill-conditioned -O adam,sgd --rotate 1

    --noise and --rotate apply to every expression and vector problem of the suite (a suite
    file's noise: and rotate: keys set them per problem); data problems run as they are.

    The runs go in two passes over the whole suite (every tuning run, then every reported
    run), here or on a Dask cluster (--scheduler); the numbers are the same either way.
    """
    with boundary():
        from adambench.sweeps.bench import run_bench
        from adambench.sweeps.bench_suite import load_suite

        _check_paths(output, plot)
        spec = load_suite(suite)
        feedback = SweepFeedback(quiet or json_out)
        cluster = _cluster(scheduler, workers, chunk_runs, threads, quiet or json_out, feedback)
        try:
            result = run_bench(
                spec,
                optimizers,
                seeds=seeds,
                seed=seed,
                steps=steps,
                tune=tune,
                tune_count=tune_count,
                tune_budget=tune_budget,
                tune_range=tune_range,
                threads=threads,
                progress=feedback.phase,
                on_compile=feedback.compiling,
                scheduler=cluster,
                noise=noise,
                rotate=rotate,
            )
        finally:
            feedback.close()
        if output is not None:
            from adambench.files import write_atomic

            write_atomic(output, result.to_json())
        if json_out:
            sys.stdout.write(result.to_json())
        else:
            _print_bench(result, quiet)
        _plot_bench(result, plot, quiet)
        say_wrote(output, quiet)


def _cluster(
    scheduler: str | None,
    workers: int | None,
    chunk_runs: int | None,
    threads: int | None,
    quiet: bool,
    feedback: SweepFeedback,
) -> Any:
    """The Dask cluster of --scheduler (None: the runs go here). A bench keeps no partial
    output: its two passes are two distributed runs, and it has no --resume."""
    from adambench.cli.cluster import cluster_from_options
    from adambench.cli.feedback import chunk_feedback
    from adambench.errors import UsageError

    if scheduler is None and chunk_runs is not None:
        raise UsageError("--chunk-runs applies to runs on a Dask cluster; give --scheduler too")
    cluster = cluster_from_options(scheduler, workers, chunk_runs, threads, quiet=quiet)
    if cluster is not None:
        cluster.on_chunk = chunk_feedback(feedback)
    return cluster


def _check_paths(output: Path | None, plot: Path | None) -> None:
    """Refuse unusable output paths before anything runs."""
    from adambench.errors import UsageError
    from adambench.files import check_output_path

    if output is not None:
        if output.suffix.lower() != ".json":
            raise UsageError(f"{output}: a bench result is written as .json")
        check_output_path(output)
    if plot is not None:
        from adambench.report.plots import require_matplotlib

        check_output_path(plot, PLOT_FORMATS)
        require_matplotlib()  # before the runs, not after them


def _print_bench(result: Any, quiet: bool) -> None:
    """Heading, the two tables, the ECDF curve and the verdict on stdout; notes on stderr."""
    from rich.markup import escape

    from adambench.report import bench_tables as R

    out.print(escape(R.heading_text(result)), highlight=False)
    notes = [print_table(R.problems_table(result)), print_table(R.summary_table(result))]
    for key in R.column_keys():
        out.print(f"[dim]{escape(key)}[/dim]", highlight=False)
    for line in R.ecdf_lines(result):
        out.print(escape(line), highlight=False)
    out.print()
    out.print(escape(result.verdict()), highlight=False)
    if not quiet:
        for note in [n for n in notes if n] + result.notes + [R.timing_text(result)]:
            err.print(f"[dim]{escape(note)}[/dim]", highlight=False)


def _plot_bench(result: Any, plot: Path | None, quiet: bool) -> None:
    if plot is None:
        return
    from adambench.report.bench_plots import bench_plot

    bench_plot(result, plot)
    say_wrote(plot, quiet)
