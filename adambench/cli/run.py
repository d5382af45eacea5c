"""`adambench run` (plain, or tuned with --tune) and `adambench plot`: run optimizers on one
problem, print the convergence table, and draw the runs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from adambench.cli.boundary import boundary
from adambench.cli.consoles import console, err, out, print_table
from adambench.cli.feedback import Feedback, SweepFeedback, problem_and_steps
from adambench.cli.options import (
    RUN_PICTURES,
    DtypeOpt,
    JsonOpt,
    NoiseOpt,
    OptimizersOpt,
    OutputOpt,
    ProblemArg,
    QuietOpt,
    RotateOpt,
    RunDimOpt,
    RunThreadsOpt,
    SeedOpt,
    SeedsOpt,
    StartOpt,
    StepsOpt,
    check_output,
    checked_dtype,
    parse_start,
    say_wrote,
    whole_number,
)
from adambench.cli.pictures import (
    AnimateOpt,
    ContourOpt,
    FpsOpt,
    FramesOpt,
    LrPlotOpt,
    Pictures,
    PlotOpt,
)

__all__ = ["plot", "print_result", "run"]

TUNED_PANEL = "Tuned comparison"


def run(
    problem: ProblemArg,
    optimizers: OptimizersOpt = ["adam"],  # noqa: B006 - typer needs a literal default
    steps: StepsOpt = None,
    seeds: SeedsOpt = 1,
    seed: SeedOpt = 0,
    lr: Annotated[
        float | None, typer.Option(help="Step size for every optimizer (a spec's lr wins).")
    ] = None,
    start: StartOpt = None,
    every: Annotated[
        int, typer.Option(parser=whole_number, help="Record the loss (and x) every K steps.")
    ] = 1,
    average: Annotated[
        bool,
        typer.Option(
            "--average",
            help="Also report the temporal average of the iterates (paper Section 7.2).",
        ),
    ] = False,
    average_decay: Annotated[float, typer.Option(help="Decay of the temporal average.")] = 0.999,
    stop_at_target: Annotated[
        bool,
        typer.Option("--stop-at-target", help="Stop each run when its loss reaches the target."),
    ] = False,
    dim: RunDimOpt = None,
    noise: NoiseOpt = None,
    rotate: RotateOpt = None,
    threads: RunThreadsOpt = None,
    dtype: DtypeOpt = None,
    output: OutputOpt = None,
    json_out: JsonOpt = False,
    trace: Annotated[
        bool, typer.Option("--trace", help="Include the recorded loss and x arrays in JSON output.")
    ] = False,
    quiet: QuietOpt = False,
    plot: PlotOpt = None,
    animate: AnimateOpt = None,
    frames: FramesOpt = None,
    fps: FpsOpt = None,
    contour: ContourOpt = None,
    lr_plot: LrPlotOpt = None,
    tune: Annotated[
        str | None,
        typer.Option(
            metavar="NAMES",
            help="Tune these hyperparameters per optimizer first (lr, or several: lr,beta1), "
            "every optimizer over the same grid, and compare each at its best point.",
            rich_help_panel=TUNED_PANEL,
        ),
    ] = None,
    tune_range: Annotated[
        str | None,
        typer.Option(
            metavar="RANGES",
            help="LOW:HIGH of one tuned hyperparameter, or NAME=LOW:HIGH,... of several "
            "(lr=1e-4:1,beta1=0.5:0.999; flags and categories list values: amsgrad=true|false). "
            "Default: lr 1e-4:1, betas 0.5:0.999, flags every value (docs/sweeps.md).",
            rich_help_panel=TUNED_PANEL,
        ),
    ] = None,
    tune_count: Annotated[
        int | None,
        typer.Option(
            parser=whole_number,
            help="Values per tuned numeric axis (default: 9); the grid is their product.",
            rich_help_panel=TUNED_PANEL,
        ),
    ] = None,
    tune_budget: Annotated[
        int | None,
        typer.Option(
            parser=whole_number,
            metavar="N",
            help="At most N tuning points per optimizer: every numeric axis gets as many values "
            "as fit, as evenly as possible (flags and categories whole); still one exhaustive "
            "compiled grid, not successive halving.",
            rich_help_panel=TUNED_PANEL,
        ),
    ] = None,
    tune_metric: Annotated[
        str | None,
        typer.Option(
            help="Choose by final_loss, best_loss, steps_to_target, success_rate, "
            "test_loss or test_error (1 - held-out accuracy) "
            "(default: final_loss).",
            rich_help_panel=TUNED_PANEL,
        ),
    ] = None,
    tune_seeds: Annotated[
        int | None,
        typer.Option(
            parser=whole_number,
            help="Seeds per tuning point, after the reported ones (default: --seeds).",
            rich_help_panel=TUNED_PANEL,
        ),
    ] = None,
) -> None:
    """Run optimizers on a problem and print a convergence table.

    Examples:

    \b
      adambench run beale --optimizers adam,rmsprop
      adambench run rosenbrock -O 'adam(lr=0.05),adam(lr=0.01)' -O rmsprop --seeds 5
      adambench run ./my_problem.yaml --steps 5000 --start random --seeds 10 -o result.json
      adambench run beale -O sgd,momentum,adam,rmsprop --tune lr --seeds 3
      adambench run beale -O adam,adamax --tune lr,beta1 --tune-range lr=1e-3:1,beta1=0.5:0.999
      adambench run beale -O adam --tune lr,amsgrad --tune-budget 20
      adambench run beale -O "./my_adam.yaml(lr=0.01)" -O "torch:torch.optim.Adam(lr=0.01)" -O adam
      adambench run beale -O 'adam(lr=0.1),rmsprop(lr=0.01)' --plot beale.png --animate beale.gif
      adambench run rosenbrock -O 'adam(lr=0.01)' --dtype float32
      adambench run ellipsoid -O adam,sgd --rotate 1 --noise 0.1
    """
    with boundary():
        if noise is not None or rotate is not None:  # a variant: the problem loaded here
            problem, _ = problem_and_steps(problem, None, dim, noise, rotate)
            dim = None
        # Everything a run takes besides the problem, the optimizers, --start and --dim.
        settings = dict(
            steps=steps,
            seeds=seeds,
            seed=seed,
            lr=lr,
            every=every,
            average=average,
            average_decay=average_decay,
            stop_at_target=stop_at_target,
            threads=threads,
            dtype=checked_dtype(dtype) or "float64",
        )
        tuning = {
            "range": tune_range,
            "count": tune_count,
            "budget": tune_budget,
            "metric": tune_metric,
            "seeds": tune_seeds,
        }
        if tune is not None:
            _refuse_pictures_when_tuning(plot, animate, lr_plot)
            kind = check_output(output, RUN_PICTURES)
            tuned = _run_tuned(
                problem, optimizers, tune, tuning, settings, start, dim, quiet or json_out
            )
            _show_tuned(tuned, output, kind, trace=trace, json_out=json_out, quiet=quiet)
            return
        _refuse_tuning_options(tuning)
        check_output(output, RUN_PICTURES)
        pictures = Pictures.check(plot, animate, frames, fps, contour)
        _check_lr_plot(lr_plot)
        result = _run_plain(problem, optimizers, settings, start, dim, pictures, quiet)
        _show_result(result, output, trace=trace, json_out=json_out, quiet=quiet)
        if pictures:
            from adambench.report.plots import from_result

            pictures.draw(from_result(result), quiet)
        if lr_plot is not None:
            _draw_lr_plot(result, lr_plot, quiet)


def _check_lr_plot(path: Path | None) -> None:
    """Refuse an unusable --lr-plot path (or a missing matplotlib) before anything runs."""
    if path is not None:
        from adambench.report.plots import check_figure_path, require_matplotlib

        require_matplotlib()
        check_figure_path(path)


def _draw_lr_plot(result: Any, path: Path, quiet: bool) -> None:
    from adambench.report.lr_plot import write_lr_plot

    notes = write_lr_plot(result, path)
    if not quiet:
        for note in notes:
            err.print(f"note: {note}", highlight=False, markup=False)
    say_wrote(path, quiet)


def _run_plain(
    problem: str,
    optimizers: list[str],
    settings: dict[str, Any],
    start: str | None,
    dim: int | None,
    pictures: Pictures | None,
    quiet: bool,
) -> Any:
    """One library run, with the spinner and progress bar; pictures record the trajectories."""
    from adambench.engine.jobs import run as run_engine

    target: Any = problem
    if pictures:
        # Load the problem first so an impossible contour is refused before anything runs.
        target = pictures.load_problem(problem, dim)
        dim = None
    feedback = Feedback(quiet)
    try:
        return run_engine(
            target,
            optimizers,
            **settings,
            start=parse_start(start),
            dim=dim,
            record_x=pictures.record_x(target) if pictures else None,
            progress=feedback.progress,
            on_compile=feedback.compiling,
        )
    finally:
        feedback.close()


def _show_result(
    result: Any, output: Path | None, *, trace: bool, json_out: bool, quiet: bool
) -> None:
    """Write -o FILE, then print the JSON or the table."""
    from adambench.report.tables import write_result

    if output is not None:
        write_result(result, output, trace=trace)
    if json_out:
        sys.stdout.write(result.to_json(trace=trace))
    else:
        print_result(result, quiet)
        say_wrote(output, quiet)


def print_result(result: Any, quiet: bool) -> None:
    """The convergence table and verdict on stdout, footnotes on stderr (unless quiet)."""
    from rich.markup import escape

    from adambench.report.tables import fitted_table, footnotes
    from adambench.report.verdict import verdict

    narrow = print_table(fitted_table(result, console()))
    line = verdict(result)
    if line:
        out.print(escape(line), highlight=False)
    if not quiet:
        for note in [narrow] * bool(narrow) + footnotes(result):
            err.print(f"[dim]{escape(note)}[/dim]", highlight=False)


# ---------------------------------------------------------------------------------------------
# The tuned comparison (run --tune lr,beta1): a tuning sweep, then the runs at each best point.


def _refuse_pictures_when_tuning(
    plot: Path | None, animate: Path | None, lr_plot: Path | None = None
) -> None:
    if plot is not None or animate is not None or lr_plot is not None:
        from adambench.errors import UsageError

        raise UsageError(
            "--plot/--animate/--lr-plot do not combine with --tune; save the tuned result with "
            "--trace -o FILE.json and draw it with `adambench plot FILE.json`"
        )


def _refuse_tuning_options(tuning: dict[str, Any]) -> None:
    """--tune-range/-count/-metric/-seeds without --tune."""
    for name, value in tuning.items():
        if value is not None:
            from adambench.errors import UsageError

            raise UsageError(f"--tune-{name} needs --tune NAMES (e.g. --tune lr)")


def _run_tuned(
    problem: str,
    optimizers: list[str],
    param: str,
    tuning: dict[str, Any],
    settings: dict[str, Any],
    start: str | None,
    dim: int | None,
    quiet: bool,
) -> Any:
    """The library's tuned comparison, with a progress bar per pass (tuning, then runs)."""
    from adambench.sweeps.tuning import run_tuned

    prob, n_steps = problem_and_steps(problem, settings["steps"], dim)
    feedback = SweepFeedback(quiet)
    try:
        return run_tuned(
            prob,
            optimizers,
            param=param,
            tune_range=tuning["range"],
            tune_count=tuning["count"],
            tune_budget=tuning["budget"],
            tune_metric=tuning["metric"] or "final_loss",
            tune_seeds=tuning["seeds"],
            **settings,
            start=parse_start(start),
            progress=lambda phase: feedback.phase("tuning" if phase == "tune" else "runs", n_steps),
            on_compile=feedback.compiling,
        )
    finally:
        feedback.close()


def _show_tuned(
    tuned: Any, output: Path | None, kind: str | None, *, trace: bool, json_out: bool, quiet: bool
) -> None:
    """Write -o FILE, then print the JSON, or the table, the tuning table and its rule."""
    from rich.markup import escape

    from adambench.files import write_atomic
    from adambench.report.tuning_tables import tuning_tables

    if output is not None:
        write_atomic(output, tuned.to_json(trace) if kind == "json" else tuned.to_csv())
    if json_out:
        sys.stdout.write(tuned.to_json(trace))
        return
    print_result(tuned.result, quiet)
    narrow = [print_table(table) for table in tuning_tables(tuned.tuning)]
    out.print(f"[dim]{escape(tuned.tuning.rule())}[/dim]", highlight=False)
    note = next((n for n in narrow if n), "")
    if note and not quiet:
        err.print(f"[dim]{escape(note)}[/dim]", highlight=False)
    say_wrote(output, quiet)


# ---------------------------------------------------------------------------------------------
# plot: draw a saved result.


def plot(
    result_file: Annotated[
        Path,
        typer.Argument(
            help="A saved result with traces (adambench run ... --trace -o FILE).",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the picture to FILE (.png, .svg or .pdf)."),
    ] = None,
    animate: AnimateOpt = None,
    frames: FramesOpt = None,
    fps: FpsOpt = None,
    contour: ContourOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No spinner or notes.")] = False,
) -> None:
    """Draw a saved result: paths on the contour, loss curves, ECDF; or animate it.

    Examples:

    \b
      adambench run beale -O adam,rmsprop --trace -o result.json
      adambench plot result.json -o beale.png
      adambench plot result.json --animate beale.gif --frames 80 --fps 16
    """
    with boundary():
        from adambench.errors import UsageError

        if output is None and animate is None:
            raise UsageError(
                "nothing to draw: give -o FILE (.png, .svg, .pdf) and/or --animate FILE"
            )
        pictures = Pictures.check(output, animate, frames, fps, contour)
        assert pictures is not None
        from adambench.engine.results import read_result_file
        from adambench.report.plots import from_dict, plan

        data = from_dict(read_result_file(result_file), str(result_file))
        plan(data, contour)  # refuse an impossible contour before drawing anything
        pictures.draw(data, quiet)
