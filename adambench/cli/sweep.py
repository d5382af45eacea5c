"""`adambench sweep` and `adambench sweep-show`: sweep hyperparameters in one compiled pass (on
this machine or a Dask cluster), rank the configurations, and show a saved sweep again."""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer

from adambench.cli.boundary import boundary
from adambench.cli.cluster import (
    ChunkRunsOpt,
    ResumeOpt,
    SchedulerOpt,
    WorkersOpt,
    cluster_from_options,
    drop_journal,
    say_what_is_saved,
)
from adambench.cli.consoles import err, out, print_table
from adambench.cli.feedback import SweepFeedback, chunk_feedback, problem_and_steps
from adambench.cli.options import (
    SWEEP_PICTURES,
    DimOpt,
    DtypeOpt,
    JsonOpt,
    NoiseOpt,
    QuietOpt,
    RotateOpt,
    StartOpt,
    StepsOpt,
    SweepOptimizersOpt,
    SweepProblemArg,
    SweepSeedOpt,
    SweepSeedsOpt,
    SweepThreadsOpt,
    TopOpt,
    check_output,
    checked_dtype,
    parse_start,
    say_wrote,
    whole_number,
)

__all__ = ["PLOT_FORMATS", "sweep", "sweep_show"]

PLOT_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


def sweep(
    problem: SweepProblemArg = None,
    optimizers: SweepOptimizersOpt = None,
    grid: Annotated[
        list[str] | None,
        typer.Option(
            "--grid",
            "-g",
            help="A swept hyperparameter, repeatable: lr=1e-3:1:log7 (log-spaced), "
            "momentum=0:0.9:4 (linear), beta1=0.5,0.9,0.99 (a list); adam.beta1=... applies "
            "to adam only. Ranges include both ends.",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="A sweep YAML file (see sample_configs/); options given here override it.",
        ),
    ] = None,
    seeds: SweepSeedsOpt = None,
    seed: SweepSeedOpt = None,
    steps: StepsOpt = None,
    start: StartOpt = None,
    metric: Annotated[
        str | None,
        typer.Option(
            help="Rank by final_loss, best_loss, steps_to_target, success_rate, "
            "test_loss or test_error (1 - held-out accuracy) "
            "(median over seeds; default: final_loss)."
        ),
    ] = None,
    top: TopOpt = 10,
    dim: DimOpt = None,
    noise: NoiseOpt = None,
    rotate: RotateOpt = None,
    threads: SweepThreadsOpt = None,
    dtype: DtypeOpt = None,
    max_runs: Annotated[
        int | None,
        typer.Option(
            parser=whole_number,
            help="Refuse sweeps of more runs, configurations x seeds (default: 100000).",
        ),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Run a sweep larger than --max-runs.")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write every run to FILE (.json or .csv)."),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            help="Draw the heatmap (two swept hyperparameters) or the metric against the swept "
            "value (one) to FILE (.png, .svg or .pdf)."
        ),
    ] = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    chunk_runs: ChunkRunsOpt = None,
    resume: ResumeOpt = None,
) -> None:
    """Sweep hyperparameters: every grid point x seeds in one compiled pass, ranked.

    Prints a ranked table (median and quartiles over seeds) and, for two swept
    hyperparameters, a heatmap with the best cell marked. Diverged runs count as the worst value.

    Examples:

    \b
      adambench sweep beale -O adam --grid lr=1e-3:1:log7 --grid beta1=0.5,0.9,0.99 --seeds 5
      adambench sweep beale -O sgd,momentum,adam --grid lr=1e-4:1:log9 --metric steps_to_target
      adambench sweep --config sample_configs/sweep_beale.yaml -o sweep.json --plot sweep.png
      adambench sweep beale -O adam -g lr=1e-4:1:log50 --seeds 200 --scheduler local -o big.json

    With -o FILE, finished chunks of runs are kept in FILE.partial until FILE is written (here
    or on a Dask cluster, --scheduler); after Ctrl-C, the same command with --resume
    FILE.partial continues it, and the result is the uninterrupted one, bit for bit.
    """
    with boundary():
        from adambench.sweeps.config import load_sweep_file
        from adambench.sweeps.grid import MAX_RUNS

        dtype = checked_dtype(dtype)
        spec = load_sweep_file(config) if config is not None else None
        problem = _pick(spec, "problem", problem)
        if problem is None:
            from adambench.errors import UsageError

            raise UsageError("give a PROBLEM (or a sweep file with --config)")
        grid_axes: Any = grid or (spec.grid if spec is not None and spec.grid else [])
        check_output(output, SWEEP_PICTURES)
        _check_plot_path(plot)
        limit = _pick(spec, "max_runs", max_runs, MAX_RUNS)
        steps = _pick(spec, "steps", steps)
        start_ = parse_start(start) if start is not None else _pick(spec, "start", None)
        prob, n_steps = problem_and_steps(problem, steps, _pick(spec, "dim", dim), noise, rotate)
        feedback = SweepFeedback(quiet or json_out)
        cluster = cluster_from_options(
            scheduler,
            workers,
            chunk_runs,
            threads,
            quiet=quiet or json_out,
            resume=resume,
            output=output,
        )
        if cluster is not None:
            cluster.on_chunk = chunk_feedback(feedback)
        arguments = dict(
            seeds=_pick(spec, "seeds", seeds, 1),
            seed=_pick(spec, "seed", seed, 0),
            steps=steps,
            start=start_,
            metric=_pick(spec, "metric", metric, "final_loss"),
            max_runs=None if yes else limit,
            threads=threads,
            where=str(config) if config is not None and not grid else None,
            scheduler=cluster,
            dtype=_pick(spec, "dtype", dtype, "float64"),
        )
        optimizers = optimizers or (list(spec.optimizers) if spec and spec.optimizers else ["adam"])
        if not json_out:
            arguments["on_plan"] = partial(_say_heading, dtype=arguments["dtype"])
        sw = _run_sweep(prob, optimizers, grid_axes, arguments, feedback, n_steps)
        _save_sweep(sw, output, cluster)
        if json_out:
            sys.stdout.write(sw.to_json())
        else:
            _print_sweep(sw, None, top, quiet, heading=False, hint="--json")
        _plot_sweep(sw, plot, None, quiet)
        say_wrote(output, quiet)


def _pick(spec: Any, key: str, value: Any, default: Any = None) -> Any:
    """An option given on the command line wins over the sweep file's ``key``, then ``default``."""
    if value is not None:
        return value
    from_file = getattr(spec, key) if spec is not None else None
    return default if from_file is None else from_file


def _say_heading(plan: Any, steps: int, dtype: str = "float64") -> None:
    """The sweep's size, first on stdout, before any run starts (a long sweep says what it is
    doing while it does it; the tables follow when it is done)."""
    from rich.markup import escape

    from adambench.report.sweep_tables import heading_text

    labels = [b.label for b in plan.bases]
    line = heading_text(plan.problem.name, labels, len(plan.points), plan.seeds, steps, dtype)
    out.print(escape(line), highlight=False)


def _run_sweep(
    prob: Any,
    optimizers: list[str],
    grid: Any,
    arguments: dict[str, Any],
    feedback: SweepFeedback,
    n_steps: int,
) -> Any:
    """The library's sweep with its progress bar; after an interruption, what is saved."""
    from adambench.sweeps.execution import sweep as run_sweep

    try:
        return run_sweep(
            prob,
            optimizers,
            grid,
            **arguments,
            progress=feedback.phase("sweep", n_steps),
            on_compile=feedback.compiling,
        )
    except BaseException:
        feedback.close()
        say_what_is_saved(arguments["scheduler"])
        raise
    finally:
        feedback.close()


def _save_sweep(sw: Any, output: Path | None, cluster: Any) -> None:
    """Write -o FILE; only then drop the cluster's journal of finished chunks."""
    if output is not None:
        from adambench.files import write_atomic

        kind = check_output(output)
        write_atomic(output, sw.to_json() if kind == "json" else sw.to_csv())
    drop_journal(cluster)  # the output is complete


def _check_plot_path(plot: Path | None) -> None:
    if plot is not None:
        from adambench.files import check_output_path

        check_output_path(plot, PLOT_FORMATS)


def _print_sweep(
    sw: Any, metric: str | None, top: int, quiet: bool, heading: bool = True, hint: str = ""
) -> None:
    """The heading (unless already shown), the ranked table and heatmaps (fitted to the
    terminal), the best line, the rule and the keys on stdout; notes, a narrow terminal's among
    them, on stderr unless ``quiet``. ``hint`` is the option that shows every number (--json),
    for the narrow-terminal note."""
    from rich.markup import escape

    from adambench.report import sweep_tables as R
    from adambench.sweeps.grid import MAX_HEATMAPS

    if heading:
        out.print(escape(R.heading(sw)), highlight=False)
    narrow = []
    if top != 0:
        narrow.append(print_table(R.ranked_table(sw, metric, top=top), R.RANKED_DROP_ORDER, hint))
    maps = sw.heatmaps(metric)
    for hm in maps[:MAX_HEATMAPS]:
        narrow.append(print_table(R.heatmap_table(sw, hm, metric), hint=hint))
    line = R.best_line(sw, metric)
    if line:
        out.print(escape(line), highlight=False)
    rule, *notes = R.footnotes(sw, metric)
    out.print(f"[dim]{escape(rule)}[/dim]", highlight=False)
    for key in R.keys(sw, metric):
        out.print(f"[dim]{escape(key)}[/dim]", highlight=False)
    notes = list(dict.fromkeys(n for n in narrow if n)) + notes
    if len(maps) > MAX_HEATMAPS:
        notes.append(f"{len(maps)} heatmaps; the first {MAX_HEATMAPS} are shown")
    if not quiet:
        for note in notes:
            err.print(f"[dim]{escape(note)}[/dim]", highlight=False)


def _plot_sweep(sw: Any, plot: Path | None, metric: str | None, quiet: bool) -> None:
    if plot is None:
        return
    from adambench.report.plots import sweep_plot

    sweep_plot(sw, plot, metric)
    say_wrote(plot, quiet)


def sweep_show(
    file: Annotated[
        Path, typer.Argument(help="A sweep saved with `adambench sweep -o FILE.json`.")
    ],
    metric: Annotated[
        str | None,
        typer.Option(help="Rank by another metric (default: the one the sweep was run with)."),
    ] = None,
    top: TopOpt = 10,
    plot: Annotated[
        Path | None, typer.Option(help="Draw the heatmap or line plot to FILE (.png/.svg/.pdf).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No notes.")] = False,
) -> None:
    """Show a saved sweep again (tables, heatmaps, plots) without rerunning it.

    Examples:

    \b
      adambench sweep-show sweep.json
      adambench sweep-show sweep.json --metric best_loss --plot heatmap.png
    """
    with boundary():
        from adambench.sweeps.result import check_metric, load_sweep_result

        _check_plot_path(plot)
        sw = load_sweep_result(file)
        if metric is not None:
            check_metric(metric, sw.target, sw.problem, sw.held_out)
        _print_sweep(sw, metric, top, quiet)
        _plot_sweep(sw, plot, metric, quiet)
