"""The `adambench` command line: parse -> one library call -> render -> exit code.

Library errors (:class:`~adambench.errors.AdambenchError`) are caught at one boundary and
printed as one line on stderr with the exit code their class carries; Ctrl-C exits 130; anything
else is a bug (exit 3). Data goes to stdout, progress and notes to stderr. Heavy modules (numpy,
numba, sympy) are imported inside the commands that need them, so `--help` and `list` are fast.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from adambench.errors import AdambenchError, ExitCode
from adambench.version import __version__

__all__ = [
    "CLUSTER_PANEL",
    "EXIT_CODES_HELP",
    "MAX_ERROR_CHARS",
    "PLOT_FORMATS",
    "AnimateOpt",
    "CheckJsonOpt",
    "CheckQuietOpt",
    "ChunkRunsOpt",
    "ContourOpt",
    "FpsOpt",
    "FramesOpt",
    "JunitOpt",
    "MarkdownOpt",
    "OptimizersOpt",
    "PlotOpt",
    "ProblemArg",
    "ResumeOpt",
    "SchedulerOpt",
    "VerboseOpt",
    "WorkersOpt",
    "app",
    "boundary",
    "cache_app",
    "cache_clear",
    "cache_info",
    "check",
    "compare",
    "err",
    "list_",
    "main",
    "one_line",
    "out",
    "partial_path",
    "plot_cmd",
    "run",
    "show",
    "sweep",
    "sweep_show",
]

EXIT_CODES_HELP = (
    "Exit codes: 0 success, 1 a failed gate (check/compare), 2 usage or input error, "
    "3 internal error, 130 interrupted."
)


class _OneLineErrors(TyperGroup):
    """The root command group: usage errors (a bad option value, a missing argument, an unknown
    option or command) print as one ``error:`` line on stderr with exit code 2, like every other
    input error, instead of click's usage box."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        click_errors = _click_exceptions()
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except click_errors.ClickException as exc:
            if type(exc).__name__ != "NoArgsIsHelpError":  # the help was printed already
                ctx = getattr(exc, "ctx", None)
                hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
                _print_error(exc.format_message().rstrip(".") + hint)
            sys.exit(exc.exit_code)
        except typer.Abort:  # end of input at a prompt (there are none yet)
            _print_error("aborted")
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


def _click_exceptions() -> Any:
    """click's exception module: vendored by typer >= 0.2x, the click package before."""
    try:
        from typer._click import exceptions
    except ImportError:  # pragma: no cover - older typer
        from click import exceptions  # type: ignore[no-redef]
    return exceptions


#: Error lines longer than this are cut in the middle (they echo user input: a 100 kB spec).
MAX_ERROR_CHARS = 2000


def one_line(message: str, limit: int = MAX_ERROR_CHARS) -> str:
    """``message`` as one printable line: control characters (a newline in a YAML key or an
    argument) escaped as in Python strings, and the middle cut when longer than ``limit``."""
    text = "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in message
    )
    if len(text) > limit:
        cut = len(text) - limit
        text = f"{text[: limit * 3 // 4]} … ({cut} characters cut) … {text[-limit // 4 :]}"
    return text


def _print_error(message: str) -> None:
    from rich.markup import escape

    # Escaped: messages may hold brackets ("pip install 'adambench[plot]'", numba types).
    err.print(
        f"[bold red]error:[/] {escape(one_line(message))}",
        highlight=False,
        markup=True,
        soft_wrap=True,
    )


app = typer.Typer(
    cls=_OneLineErrors,
    name="adambench",
    help="Benchmark Adam and other first-order optimizers on classic test surfaces.\n\n"
    "Example: adambench run beale --optimizers adam,rmsprop\n\n" + EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
cache_app = typer.Typer(
    help="Inspect or clear the on-disk cache of compiled kernels.", no_args_is_help=True
)
app.add_typer(cache_app, name="cache")


def _console(stderr: bool = False) -> Console:
    # Piped output gets 120 columns (rich would use 80) unless COLUMNS says otherwise.
    c = Console(stderr=stderr)
    if not c.is_terminal and "COLUMNS" not in os.environ:
        c = Console(stderr=stderr, width=120)
    return c


class _Lazy:
    """A console made when first used in a command, so COLUMNS/NO_COLOR are read then."""

    def __init__(self, stderr: bool) -> None:
        self.stderr = stderr

    def __getattr__(self, name: str) -> Any:
        return getattr(_console(self.stderr), name)


out: Any = _Lazy(stderr=False)
err: Any = _Lazy(stderr=True)


@contextmanager
def boundary() -> Iterator[None]:
    """Turn library errors (and running out of memory) into one line + exit code, and Ctrl-C
    into exit 130."""
    try:
        yield
    except AdambenchError as exc:
        _print_error(str(exc))
        raise typer.Exit(int(exc.exit_code)) from None
    except MemoryError as exc:
        # numpy says how much it could not allocate; asking for less is the user's fix.
        what = f" ({exc})" if str(exc) else ""
        _print_error(
            f"not enough memory for this request{what}; use fewer seeds, optimizers or grid "
            "points, or a smaller --dim"
        )
        raise typer.Exit(int(ExitCode.USAGE)) from None
    except KeyboardInterrupt:
        err.print("interrupted", highlight=False)
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def _version(value: bool) -> None:
    if value:
        out.print(f"adambench {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Benchmark first-order optimizers (Adam and its family) on test surfaces."""


# ---------------------------------------------------------------------------------------------
# Completion helpers: names from the registries.


def _complete_problem(incomplete: str) -> list[str]:
    from adambench.problem_files import builtin_files

    return [n for n in builtin_files() if n.startswith(incomplete)]


def _complete_optimizer(incomplete: str) -> list[str]:
    from adambench.optimizers.registry import registry

    head, _, last = incomplete.rpartition(",")
    prefix = head + "," if head else ""
    return [prefix + n for n in registry() if n.startswith(last)]


ProblemArg = Annotated[
    str,
    typer.Argument(
        help="A problem name (see `adambench list`) or the path of a problem YAML file.",
        autocompletion=_complete_problem,
        show_default=False,
    ),
]
OptimizersOpt = Annotated[
    list[str],
    typer.Option(
        "--optimizers",
        "-O",
        help="Optimizers to compare: names or specs with overrides, comma-separated and/or "
        "repeated, e.g. -O 'adam(lr=0.05,beta1=0.8),adam(lr=0.01)' -O rmsprop. A name may also "
        "be the path of an optimizer file (./my_adam.yaml, ./myopt.py) or torch:CLASS "
        "(e.g. torch:torch.optim.Adam).",
        autocompletion=_complete_optimizer,
    ),
]


def _parse_start(text: str | None) -> Any:
    if text is None:
        return None
    if text.strip().lower() in ("random", "default"):
        return text.strip().lower()
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise typer.BadParameter(
            f"expected comma-separated numbers or 'random', got {text!r}", param_hint="--start"
        ) from None


class _Feedback:
    """Spinner while compiling and a progress bar for slow runs, on stderr, terminals only."""

    def __init__(self, quiet: bool) -> None:
        self.live = err.is_terminal and not quiet
        self.started = time.perf_counter()
        self.bar: Any = None
        self.task: Any = None

    def compiling(self, name: str) -> Any:
        if not self.live:
            from contextlib import nullcontext

            return nullcontext()
        return err.status(f"Compiling {name} (first run only; cached afterwards)…", spinner="dots")

    def progress(self, done: int, total: int) -> None:
        if not self.live:
            return
        if self.bar is None:
            if time.perf_counter() - self.started < 0.5 or done >= total:
                return
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(
                TextColumn("steps"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                TimeRemainingColumn(),
                console=_console(stderr=True),
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task("run", total=total)
        self.bar.update(self.task, completed=done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


@app.command()
def run(
    problem: ProblemArg,
    optimizers: OptimizersOpt = ["adam"],  # noqa: B006 - typer needs a literal default
    steps: Annotated[
        int | None, typer.Option(help="Steps per run (default: the problem's).")
    ] = None,
    seeds: Annotated[int, typer.Option(help="Runs per configuration, seeds SEED..SEED+K-1.")] = 1,
    seed: Annotated[int, typer.Option(help="The first seed.")] = 0,
    lr: Annotated[
        float | None, typer.Option(help="Step size for every optimizer (a spec's lr wins).")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(help="Start point 'x,y,...' or 'random' (uniform in the domain, per seed)."),
    ] = None,
    every: Annotated[int, typer.Option(help="Record the loss (and x) every K steps.")] = 1,
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
    dim: Annotated[
        int | None, typer.Option(help="Dimension of a vector problem (e.g. rosenbrock_nd).")
    ] = None,
    threads: Annotated[
        int | None, typer.Option(help="Threads to run on (default: all cores).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the result to FILE (.json or .csv)."),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the result as JSON on stdout (no table).")
    ] = False,
    trace: Annotated[
        bool, typer.Option("--trace", help="Include the recorded loss and x arrays in JSON output.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No spinner, progress or notes.")
    ] = False,
    plot: PlotOpt = None,
    animate: AnimateOpt = None,
    frames: FramesOpt = None,
    fps: FpsOpt = None,
    contour: ContourOpt = None,
    tune: Annotated[
        str | None,
        typer.Option(
            help="Tune lr per optimizer first (a log-spaced sweep, the same budget for each) "
            "and compare every optimizer at its best lr.",
            rich_help_panel="Tuned comparison",
        ),
    ] = None,
    tune_range: Annotated[
        str | None,
        typer.Option(
            help="LOW:HIGH of the tuning grid (default: 1e-4:1).",
            rich_help_panel="Tuned comparison",
        ),
    ] = None,
    tune_count: Annotated[
        int | None,
        typer.Option(
            help="Values in the tuning grid (default: 9).", rich_help_panel="Tuned comparison"
        ),
    ] = None,
    tune_metric: Annotated[
        str | None,
        typer.Option(
            help="Choose by final_loss, best_loss, steps_to_target or success_rate "
            "(default: final_loss).",
            rich_help_panel="Tuned comparison",
        ),
    ] = None,
    tune_seeds: Annotated[
        int | None,
        typer.Option(
            help="Seeds per tuning point, after the reported ones (default: --seeds).",
            rich_help_panel="Tuned comparison",
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
      adambench run beale -O "./my_adam.yaml(lr=0.01)" -O "torch:torch.optim.Adam(lr=0.01)" -O adam
      adambench run beale -O 'adam(lr=0.1),rmsprop(lr=0.01)' --plot beale.png --animate beale.gif
    """
    with boundary():
        if tune is not None:
            if plot is not None or animate is not None:
                from adambench.errors import UsageError

                raise UsageError(
                    "--plot/--animate do not combine with --tune; save the tuned result with "
                    "--trace -o FILE.json and draw it with `adambench plot FILE.json`"
                )
            _run_tuned(dict(locals()))
            return
        for name, value in (("range", tune_range), ("count", tune_count),
                            ("metric", tune_metric), ("seeds", tune_seeds)):  # fmt: skip
            if value is not None:
                from adambench.errors import UsageError

                raise UsageError(f"--tune-{name} needs --tune lr")
        from adambench.engine.jobs import run as run_engine
        from adambench.files import check_output_path
        from adambench.report.tables import write_result

        if output is not None:
            check_output_path(output)
        pictures = _Pictures.check(plot, animate, frames, fps, contour)
        target: Any = problem
        if pictures:
            # Load the problem first so an impossible contour is refused before anything runs.
            target = pictures.load_problem(problem, dim)
            dim = None
        feedback = _Feedback(quiet)
        try:
            result = run_engine(
                target,
                optimizers,
                steps=steps,
                seeds=seeds,
                seed=seed,
                lr=lr,
                start=_parse_start(start),
                every=every,
                average=average,
                average_decay=average_decay,
                stop_at_target=stop_at_target,
                dim=dim,
                threads=threads,
                record_x=pictures.record_x(target) if pictures else None,
                progress=feedback.progress,
                on_compile=feedback.compiling,
            )
        finally:
            feedback.close()
        if output is not None:
            write_result(result, output, trace=trace)
        if json_out:
            sys.stdout.write(result.to_json(trace=trace))
        else:
            _print_result(result, quiet)
            if output is not None and not quiet:
                err.print(f"wrote {output}", highlight=False)
        if pictures:
            from adambench.report.plots import from_result

            pictures.draw(from_result(result), quiet)


def _print_result(result: Any, quiet: bool) -> None:
    from rich.markup import escape

    from adambench.report.tables import fitted_table, footnotes
    from adambench.report.verdict import verdict

    out.print(fitted_table(result, _console()))
    line = verdict(result)
    if line:
        out.print(escape(line), highlight=False)
    if not quiet:
        for note in footnotes(result):
            err.print(f"[dim]{escape(note)}[/dim]", highlight=False)


@app.command("list")
def list_(
    json_out: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List problems and optimizers with their defaults and conventions.

    Example:

    \b
      adambench list
    """
    with boundary():
        from adambench.report.catalog import catalog

        data = catalog()
        if json_out:
            import json

            sys.stdout.write(json.dumps(data, indent=2) + "\n")
            return
        from rich.table import Table

        t = Table(title="Problems", title_justify="left", header_style="bold")
        for col in ("name", "kind", "dim", "steps", "target", "description"):
            t.add_column(col)
        for p in data["problems"]:
            t.add_row(
                p["name"],
                p["kind"],
                str(p["dim"]),
                str(p["steps"]),
                "–" if p["target"] is None else str(p["target"]),
                p["description"],
            )
        out.print(t)
        t = Table(title="Optimizers", title_justify="left", header_style="bold")
        for col in ("name", "source", "defaults", "convention"):
            t.add_column(col)
        for o in data["optimizers"]:
            defaults = ", ".join(f"{k}={_show(v)}" for k, v in o["defaults"].items())
            t.add_row(o["name"], o["source"], defaults, o["convention"])
        out.print(t)
        t = Table(title="Your own optimizers (-O)", title_justify="left", header_style="bold")
        for col in ("-O", "source", "what"):
            t.add_column(col)
        for o in data["optimizer_sources"]:
            t.add_row(o["spec"], o["source"], o["what"])
        out.print(t)
        for note in data["notes"]:
            err.print(f"note: {note}", highlight=False)


def _show(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return f"{v:g}"


@app.command()
def show(
    problem: ProblemArg,
    dim: Annotated[int | None, typer.Option(help="Dimension of a vector problem.")] = None,
) -> None:
    """Show a problem: formula, derived gradient, start, minimum, target, domain.

    Example:

    \b
      adambench show beale
    """
    with boundary():
        from rich.markup import escape

        from adambench.report.catalog import describe

        for key, value in describe(problem, dim=dim):
            out.print(
                f"[bold]{escape(key)}:[/bold] {escape(value)}", highlight=False, soft_wrap=True
            )


# ---- plot commands (issue 4) ----


@app.command("plot")
def plot_cmd(
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
        pictures = _Pictures.check(output, animate, frames, fps, contour)
        assert pictures is not None
        from adambench.engine.results import read_result_file
        from adambench.report.plots import from_dict, plan

        data = from_dict(read_result_file(result_file), str(result_file))
        plan(data, contour)  # refuse an impossible contour before drawing anything
        pictures.draw(data, quiet)


PlotOpt = Annotated[
    Path | None,
    typer.Option(
        "--plot",
        help="Draw the runs to FILE (.png, .svg or .pdf): paths on the contour (2 parameters), "
        "loss curves, and an ECDF of target hits with several seeds.",
        rich_help_panel="Pictures",
    ),
]
AnimateOpt = Annotated[
    Path | None,
    typer.Option(
        "--animate",
        help="Animate the paths step by step to FILE (.gif, or .mp4 where ffmpeg is installed).",
        rich_help_panel="Pictures",
    ),
]
FramesOpt = Annotated[
    int | None,
    typer.Option(
        help="Frames of the animation; steps are subsampled to fit (default: 120).",
        rich_help_panel="Pictures",
        show_default=False,
    ),
]
FpsOpt = Annotated[
    int | None,
    typer.Option(
        help="Frames per second of the animation (default: 20).",
        rich_help_panel="Pictures",
        show_default=False,
    ),
]
ContourOpt = Annotated[
    bool | None,
    typer.Option(
        "--contour/--no-contour",
        help="Require (or leave out) the contour panel (default: drawn for 2-parameter problems).",
        rich_help_panel="Pictures",
        show_default=False,
    ),
]
#: Animation defaults (the same as adambench.report.plots.DEFAULT_FRAMES / DEFAULT_FPS, tested),
#: kept here as literals so that `--help` does not import numpy.
DEFAULT_FRAMES, DEFAULT_FPS = 120, 20


class _Pictures:
    """A validated picture request: the files, frames, fps and contour choice."""

    def __init__(
        self,
        figure: Path | None,
        animation: Path | None,
        frames: int,
        fps: int,
        contour: bool | None,
    ) -> None:
        self.figure, self.animation = figure, animation
        self.frames, self.fps, self.contour = frames, fps, contour

    @classmethod
    def check(
        cls,
        figure: Path | None,
        animation: Path | None,
        frames: int | None,
        fps: int | None,
        contour: bool | None,
    ) -> _Pictures | None:
        """Validate everything a picture needs before anything runs (None: no picture)."""
        from adambench.errors import UsageError

        if figure is None and animation is None:
            for name, value in (("--frames", frames), ("--fps", fps)):
                if value is not None:
                    raise UsageError(f"{name} applies to --animate")
            if contour is not None:
                raise UsageError("--contour/--no-contour apply to --plot or --animate")
            return None
        if animation is None and (frames is not None or fps is not None):
            raise UsageError(
                f"{'--frames' if frames is not None else '--fps'} applies to --animate"
            )
        from adambench.report import plots

        plots.require_matplotlib()
        if figure is not None:
            plots.check_figure_path(figure)
        if animation is not None:
            plots.check_animation_path(animation)
        frames = DEFAULT_FRAMES if frames is None else frames
        fps = DEFAULT_FPS if fps is None else fps
        plots.check_frames(frames, fps)
        return cls(figure, animation, frames, fps, contour)

    @staticmethod
    def record_x(problem: Any) -> bool | None:
        """Pictures need the parameter trajectories: on wherever they can be recorded."""
        from adambench.limits import MAX_TRACE_PARAMS

        return True if problem.dim <= MAX_TRACE_PARAMS else None

    def load_problem(self, problem: str, dim: int | None) -> Any:
        """The problem, loaded now, with an explicitly requested contour checked against it."""
        from adambench.problems import load_problem
        from adambench.report.plots import check_contour

        prob = load_problem(problem, dim=dim)
        check_contour(prob, self.contour)
        return prob

    def draw(self, data: Any, quiet: bool) -> None:
        """Write the picture and/or the animation, with a spinner on terminals and notes."""
        from contextlib import nullcontext

        from rich.markup import escape

        from adambench.report import plots

        live = err.is_terminal and not quiet
        seen: set[str] = set()
        for path in (self.figure, self.animation):
            if path is None:
                continue
            what = escape(str(path))
            ctx = err.status(f"Drawing {what}…", spinner="dots") if live else nullcontext()
            with ctx:
                if path is self.figure:
                    notes = plots.write_figure(data, path, self.contour)
                else:
                    notes = plots.write_animation(data, path, self.frames, self.fps, self.contour)
            if not quiet:
                for note in notes:
                    if note not in seen:
                        seen.add(note)
                        err.print(f"[dim]note: {escape(note)}[/dim]", highlight=False)
                err.print(f"wrote {what}", highlight=False)


# ---- Dask cluster options (issue 8) ----

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
        help="Worker processes of --scheduler local (default: one per core).",
        rich_help_panel=CLUSTER_PANEL,
        show_default=False,
    ),
]
ChunkRunsOpt = Annotated[
    int | None,
    typer.Option(
        help="Runs per chunk sent to a worker (default: about a second of work each).",
        rich_help_panel=CLUSTER_PANEL,
        show_default=False,
    ),
]
ResumeOpt = Annotated[
    Path | None,
    typer.Option(
        help="Continue an interrupted cluster sweep from its partial output (-o FILE keeps "
        "finished chunks in FILE.partial): its runs are not run again.",
        rich_help_panel=CLUSTER_PANEL,
        show_default=False,
    ),
]


def _cluster(
    scheduler: str | None,
    workers: int | None,
    chunk_runs: int | None,
    threads: int | None,
    *,
    quiet: bool,
    resume: Path | None = None,
    output: Path | None = None,
) -> Any:
    """The :class:`adambench.backends.dask.Cluster` of the options (None without --scheduler); its
    journal is ``--resume FILE``, else ``OUTPUT.partial`` next to ``-o OUTPUT``. The command
    removes the journal itself, once the output is written."""
    from adambench.errors import UsageError

    if scheduler is None:
        for flag, value in (("--workers", workers), ("--chunk-runs", chunk_runs),
                            ("--resume", resume)):  # fmt: skip
            if value is not None:
                raise UsageError(f"{flag} applies to runs on a Dask cluster; give --scheduler too")
        return None
    from rich.markup import escape

    from adambench.backends.dask import Cluster

    journal = resume if resume is not None else (partial_path(output) if output else None)

    def log(message: str) -> None:
        if not quiet:
            err.print(f"[dim]{escape(message)}[/dim]", highlight=False)

    return Cluster(
        scheduler=scheduler,
        workers=workers,
        chunk_runs=chunk_runs,
        threads=threads,
        journal=journal,
        resume=resume is not None,
        remove_journal=False,
        log=log,
    )


def partial_path(output: Path) -> Path:
    """Where a cluster sweep keeps its finished chunks until ``output`` is written."""
    return output.with_name(output.name + ".partial")


def _interrupted(cluster: Any) -> None:
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
            soft_wrap=True,
        )
    elif st.runs_done:
        err.print(
            f"{st.runs_done:,} of {st.runs_total:,} runs were done but not saved (give -o FILE "
            "to keep finished chunks for --resume)",
            highlight=False,
            soft_wrap=True,
        )


def _chunk_feedback(feedback: Any) -> Any:
    """An ``on_chunk`` callback showing chunks and workers as the progress bar's description."""

    def on_chunk(st: Any) -> None:
        text = (
            f"{st.chunks_done} chunks done · {st.chunks_running} running · "
            f"{st.workers} worker{'s' if st.workers != 1 else ''}"
        )
        feedback.label = text
        if feedback.bar is not None:
            feedback.bar.update(feedback.task, description=text)

    return on_chunk


# ---- sweep commands (issue 5) ----

PLOT_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


class _SweepFeedback(_Feedback):
    """The compile spinner of `run`, and a progress bar counted in runs (runs done, runs/s,
    time left) for sweeps that take more than half a second; stderr, terminals only."""

    def __init__(self, quiet: bool) -> None:
        super().__init__(quiet)
        self.label = "runs"

    def phase(self, label: str, steps: int) -> Any:
        """A progress callback for one pass (a tuned comparison has two)."""
        self.close()
        self.bar, self.label, self.started = None, label, time.perf_counter()

        def progress(done: int, total: int) -> None:
            self._update(done / steps, total / steps)

        return progress

    def _update(self, done: float, total: float) -> None:
        if not self.live:
            return
        if self.bar is None:
            if time.perf_counter() - self.started < 0.5 or done >= total:
                return
            from rich.progress import (
                BarColumn,
                Progress,
                ProgressColumn,
                TextColumn,
                TimeRemainingColumn,
            )
            from rich.text import Text

            class Rate(ProgressColumn):
                def render(self, task: Any) -> Text:
                    speed = task.finished_speed or task.speed
                    return Text(f"{speed:,.0f} runs/s" if speed else "", style="dim")

            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed:,.0f}/{task.total:,.0f} runs"),
                Rate(),
                TimeRemainingColumn(),
                console=_console(stderr=True),
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=total)
        self.bar.update(self.task, completed=done)

    def close(self) -> None:
        super().close()
        self.bar = None


def _sweep_problem_steps(problem: Any, steps: int | None, dim: int | None) -> tuple[Any, int]:
    """The loaded problem and the steps its runs take (for counting progress in runs)."""
    from adambench.problems import load_problem

    prob = load_problem(problem, dim=dim)
    return prob, steps if isinstance(steps, int) and steps >= 1 else prob.steps


def _check_plot_path(plot: Path | None) -> None:
    if plot is not None:
        from adambench.files import check_output_path

        check_output_path(plot, PLOT_FORMATS)


def _print_sweep(sw: Any, metric: str | None, top: int, quiet: bool) -> None:
    from rich.markup import escape

    from adambench.report import sweep_tables as R
    from adambench.sweeps.grid import MAX_HEATMAPS

    out.print(escape(R.heading(sw)), highlight=False)
    if top != 0:
        out.print(R.ranked_table(sw, metric, top=top))
    maps = sw.heatmaps(metric)
    for hm in maps[:MAX_HEATMAPS]:
        out.print(R.heatmap_table(sw, hm, metric))
    line = R.best_line(sw, metric)
    if line:
        out.print(escape(line), highlight=False)
    rule, *notes = R.footnotes(sw, metric)
    out.print(f"[dim]{escape(rule)}[/dim]", highlight=False)
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
    if not quiet:
        err.print(f"wrote {plot}", highlight=False)


@app.command()
def sweep(
    problem: Annotated[
        str | None,
        typer.Argument(
            help="A problem name or problem file (optional with --config).",
            autocompletion=_complete_problem,
            show_default=False,
        ),
    ] = None,
    optimizers: Annotated[
        list[str] | None,
        typer.Option(
            "--optimizers",
            "-O",
            help="Optimizers to sweep: names or specs, as in `run` (default: adam).",
            autocompletion=_complete_optimizer,
        ),
    ] = None,
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
    seeds: Annotated[
        int | None,
        typer.Option(help="Runs per configuration, seeds SEED..SEED+K-1 (default: 1)."),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="The first seed (default: 0).")] = None,
    steps: Annotated[
        int | None, typer.Option(help="Steps per run (default: the problem's).")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(help="Start point 'x,y,...' or 'random' (uniform in the domain, per seed)."),
    ] = None,
    metric: Annotated[
        str | None,
        typer.Option(
            help="Rank by final_loss, best_loss, steps_to_target or success_rate "
            "(median over seeds; default: final_loss)."
        ),
    ] = None,
    top: Annotated[
        int, typer.Option(help="Rows of the ranked table (0: no table, -1: every row).")
    ] = 10,
    dim: Annotated[int | None, typer.Option(help="Dimension of a vector problem.")] = None,
    threads: Annotated[
        int | None,
        typer.Option(help="Threads to run on (default: all cores; with --scheduler: per chunk)."),
    ] = None,
    max_runs: Annotated[
        int | None,
        typer.Option(help="Refuse sweeps of more runs, configurations x seeds (default: 100000)."),
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
            "value (one) to FILE (.png, .svg or .pdf; needs matplotlib)."
        ),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the result as JSON on stdout (no table).")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No spinner, progress or notes.")
    ] = False,
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

    On a Dask cluster (--scheduler), -o FILE keeps finished chunks in FILE.partial until FILE
    is written; after Ctrl-C, the same command with --resume FILE.partial continues it.
    """
    with boundary():
        from adambench.files import check_output_path
        from adambench.sweeps.config import load_sweep_file
        from adambench.sweeps.execution import sweep as run_sweep
        from adambench.sweeps.grid import MAX_RUNS

        spec = load_sweep_file(config) if config is not None else None

        def pick(value: Any, key: str, default: Any) -> Any:
            if value is not None:
                return value
            from_file = getattr(spec, key) if spec is not None else None
            return default if from_file is None else from_file

        problem = pick(problem, "problem", None)
        if problem is None:
            from adambench.errors import UsageError

            raise UsageError("give a PROBLEM (or a sweep file with --config)")
        grid_axes: Any = grid or (spec.grid if spec is not None and spec.grid else [])
        if output is not None:
            check_output_path(output)
        _check_plot_path(plot)
        limit = pick(max_runs, "max_runs", MAX_RUNS)
        dim_ = pick(dim, "dim", None)
        steps_ = pick(steps, "steps", None)
        start_ = _parse_start(start) if start is not None else pick(None, "start", None)
        prob, n_steps = _sweep_problem_steps(problem, steps_, dim_)
        feedback = _SweepFeedback(quiet or json_out)
        cluster = _cluster(
            scheduler, workers, chunk_runs, threads, quiet=quiet or json_out, resume=resume,
            output=output,
        )  # fmt: skip
        if cluster is not None:
            cluster.on_chunk = _chunk_feedback(feedback)
        try:
            sw = run_sweep(
                prob,
                optimizers or (list(spec.optimizers) if spec and spec.optimizers else ["adam"]),
                grid_axes,
                seeds=pick(seeds, "seeds", 1),
                seed=pick(seed, "seed", 0),
                steps=steps_,
                start=start_,
                metric=pick(metric, "metric", "final_loss"),
                max_runs=None if yes else limit,
                threads=threads,
                progress=feedback.phase("sweep", n_steps),
                on_compile=feedback.compiling,
                where=str(config) if config is not None and not grid else None,
                scheduler=cluster,
            )
        except BaseException:
            feedback.close()
            _interrupted(cluster)
            raise
        finally:
            feedback.close()
        if output is not None:
            from adambench.files import write_atomic

            kind = check_output_path(output)
            write_atomic(output, sw.to_json() if kind == "json" else sw.to_csv())
        if cluster is not None and cluster.journal is not None:
            Path(cluster.journal).unlink(missing_ok=True)  # the output is complete
        if json_out:
            sys.stdout.write(sw.to_json())
        else:
            _print_sweep(sw, None, top, quiet)
        _plot_sweep(sw, plot, None, quiet)
        if output is not None and not quiet:
            err.print(f"wrote {output}", highlight=False)


@app.command("sweep-show")
def sweep_show(
    file: Annotated[
        Path, typer.Argument(help="A sweep saved with `adambench sweep -o FILE.json`.")
    ],
    metric: Annotated[
        str | None,
        typer.Option(help="Rank by another metric (default: the one the sweep was run with)."),
    ] = None,
    top: Annotated[
        int, typer.Option(help="Rows of the ranked table (0: no table, -1: every row).")
    ] = 10,
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
            check_metric(metric, sw.target, sw.problem)
        _print_sweep(sw, metric, top, quiet)
        _plot_sweep(sw, plot, metric, quiet)


def _parse_tune_range(text: str) -> tuple[float, float]:
    from adambench.errors import UsageError

    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        low, high = float(parts[0]), float(parts[1])
    except ValueError:
        raise UsageError(
            f"expected LOW:HIGH, e.g. 1e-4:1, got '{text}'", where="--tune-range"
        ) from None
    return low, high


def _run_tuned(options: dict[str, Any]) -> None:
    """`run --tune lr`: the tuning sweep, then the comparison at each optimizer's best value."""
    from rich.markup import escape

    from adambench.files import check_output_path, write_atomic
    from adambench.report import sweep_tables as R
    from adambench.sweeps.tuning import run_tuned

    o = options
    output = o["output"]
    kind = check_output_path(output) if output is not None else None
    prob, n_steps = _sweep_problem_steps(o["problem"], o["steps"], o["dim"])
    feedback = _SweepFeedback(o["quiet"] or o["json_out"])
    try:
        tuned = run_tuned(
            prob,
            o["optimizers"],
            param=o["tune"],
            tune_range=_parse_tune_range(o["tune_range"] or "1e-4:1"),
            tune_count=o["tune_count"] if o["tune_count"] is not None else 9,
            tune_metric=o["tune_metric"] or "final_loss",
            tune_seeds=o["tune_seeds"],
            steps=o["steps"],
            seeds=o["seeds"],
            seed=o["seed"],
            lr=o["lr"],
            start=_parse_start(o["start"]),
            every=o["every"],
            average=o["average"],
            average_decay=o["average_decay"],
            stop_at_target=o["stop_at_target"],
            threads=o["threads"],
            progress=lambda phase: feedback.phase("tuning" if phase == "tune" else "runs", n_steps),
            on_compile=feedback.compiling,
        )
    finally:
        feedback.close()
    if output is not None:
        write_atomic(output, tuned.to_json(o["trace"]) if kind == "json" else tuned.to_csv())
    if o["json_out"]:
        sys.stdout.write(tuned.to_json(o["trace"]))
        return
    _print_result(tuned.result, o["quiet"])
    out.print(R.tuning_table(tuned.tuning))
    out.print(f"[dim]{escape(tuned.tuning.rule())}[/dim]", highlight=False)
    if output is not None and not o["quiet"]:
        err.print(f"wrote {output}", highlight=False)


# ---- check and compare commands (issue 7) ----

JunitOpt = Annotated[
    Path | None,
    typer.Option("--junit", help="Write JUnit XML (one testcase per check) to FILE, for CI."),
]
MarkdownOpt = Annotated[
    Path | None,
    typer.Option(
        "--markdown", help="Write the table as Markdown to FILE (PR comment, job summary)."
    ),
]
CheckJsonOpt = Annotated[
    bool, typer.Option("--json", help="Print a machine-readable report on stdout (no table).")
]
CheckQuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="Show only failed checks and the summary line.")
]
VerboseOpt = Annotated[
    bool,
    typer.Option(
        "--verbose", "-v", help="Show every baseline metric (passing ones are folded by default)."
    ),
]


def _check_outputs(
    outputs: dict[str, Path | None], inputs: tuple[Path | None, ...] = (), keep: Path | None = None
) -> None:
    """Refuse unusable output paths before anything runs; the flag fixes the format, so any
    extension goes (GitHub's $GITHUB_STEP_SUMMARY has none). ``outputs`` maps each flag to its
    path. Two outputs naming one file, or an output naming an input file (``--junit
    suite.yaml``), are refused too, except ``keep``: the baseline --save-baseline may refresh.
    """
    from adambench.errors import OutputError
    from adambench.files import check_output_path

    seen: dict[Path, str] = {}
    for flag, p in outputs.items():
        if p is None:
            continue
        check_output_path(p, {Path(p).suffix.lower(): "file"})
        real = Path(p).resolve()
        if real in seen:
            raise OutputError(f"{p}: named by both {seen[real]} and {flag}; give each its own file")
        seen[real] = flag
        refresh = flag == "--save-baseline" and keep is not None and real == Path(keep).resolve()
        if not refresh and any(q is not None and real == Path(q).resolve() for q in inputs):
            raise OutputError(f"{p}: {flag} would overwrite an input file; choose another name")


def _write_reports(
    result: Any, junit: Path | None, markdown: Path | None, verbose: bool = False
) -> None:
    from adambench.files import write_atomic
    from adambench.report.check_tables import junit_xml
    from adambench.report.check_tables import markdown as markdown_text

    if junit is not None:
        write_atomic(junit, junit_xml(result))
    if markdown is not None:
        write_atomic(markdown, markdown_text(result, verbose=verbose))


def _print_check(result: Any, quiet: bool, verbose: bool = False) -> None:
    from rich.markup import escape

    from adambench.report.check_tables import failures, summary_line, table

    if not (quiet and result.passed):
        out.print(table(result, failures_only=quiet, verbose=verbose))
    for line in failures(result):
        out.print(f"[red]{escape(line)}[/red]", highlight=False, soft_wrap=True)
    out.print(summary_line(result, markup=True), highlight=False)
    if not quiet:
        for note in result.notes:
            err.print(f"[dim]{escape(note)}[/dim]", highlight=False)


@app.command()
def check(
    suite: Annotated[
        Path, typer.Argument(help="A check suite (YAML), e.g. sample_configs/ci.yaml.")
    ],
    baseline: Annotated[
        Path | None,
        typer.Option(
            help="Also compare every case with this baseline, within the suite's tolerances."
        ),
    ] = None,
    save_baseline: Annotated[
        Path | None,
        typer.Option(help="Record the measured metrics (and their settings) as a baseline FILE."),
    ] = None,
    junit: JunitOpt = None,
    markdown: MarkdownOpt = None,
    json_out: CheckJsonOpt = False,
    threads: Annotated[
        int | None,
        typer.Option(help="Threads to run on (default: all cores); results never depend on it."),
    ] = None,
    quiet: CheckQuietOpt = False,
    verbose: VerboseOpt = False,
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    chunk_runs: ChunkRunsOpt = None,
) -> None:
    """Run a check suite: fail (exit 1) when a case misses an expectation or its baseline.

    Every case (problem x optimizer configuration x steps x seeds) runs in one compiled,
    parallel pass; the numbers never depend on --threads. Stochastic cases are judged over
    their seeds (medians and success rates).

    Examples:

    \b
      adambench check sample_configs/ci.yaml
      adambench check sample_configs/ci.yaml --save-baseline ci-baseline.json
      adambench check sample_configs/ci.yaml --baseline ci-baseline.json --junit report.xml
      adambench check sample_configs/ci.yaml --scheduler tcp://scheduler:8786

    Exit codes: 0 every check passed, 1 a check failed (a regression), 2 a bad suite,
    baseline or argument, 3 internal error.
    """
    with boundary():
        from adambench.checks.gate import check as run_check
        from adambench.files import write_atomic

        _check_outputs(
            {"--save-baseline": save_baseline, "--junit": junit, "--markdown": markdown},
            inputs=(suite, baseline),
            keep=baseline,
        )
        feedback = _Feedback(quiet or json_out)
        cluster = _cluster(scheduler, workers, chunk_runs, threads, quiet=quiet or json_out)
        try:
            result = run_check(
                suite,
                baseline=baseline,
                threads=threads,
                progress=feedback.progress,
                on_compile=feedback.compiling,
                scheduler=cluster,
            )
        finally:
            feedback.close()
        if save_baseline is not None:
            write_atomic(save_baseline, result.baseline_json())
        _write_reports(result, junit, markdown, verbose)
        if json_out:
            sys.stdout.write(result.to_json())
        else:
            _print_check(result, quiet, verbose)
        if save_baseline is not None and not quiet:
            err.print(
                f"wrote baseline {save_baseline} ({len(result.cases)} cases)", highlight=False
            )
    raise typer.Exit(int(result.exit_code))


@app.command()
def compare(
    old: Annotated[Path, typer.Argument(help="The reference result (JSON from run -o / --json).")],
    new: Annotated[Path, typer.Argument(help="The result to judge against it.")],
    metric: Annotated[
        list[str] | None,
        typer.Option(
            "--metric",
            "-m",
            help="A metric to compare (repeatable; default: final_loss, best_loss, "
            "steps_to_target, success_rate, diverged_rate, accuracy).",
        ),
    ] = None,
    rtol: Annotated[
        float | None, typer.Option(help="Relative tolerance for every compared metric.")
    ] = None,
    atol: Annotated[
        float | None, typer.Option(help="Absolute tolerance for every compared metric.")
    ] = None,
    suite: Annotated[
        Path | None, typer.Option(help="Take the tolerances from this check suite's tolerances.")
    ] = None,
    junit: JunitOpt = None,
    markdown: MarkdownOpt = None,
    json_out: CheckJsonOpt = False,
    quiet: CheckQuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Compare two saved results run by run (matched by label and seed); nothing is rerun.

    A value may get worse by at most max(atol, rtol x |old|); losses are compared as their
    excess over the problem's minimum. Runs found in only one file are an error (exit 2).

    Examples:

    \b
      adambench compare old.json new.json
      adambench compare old.json new.json --metric steps_to_target --rtol 0.05
      adambench compare old.json new.json --suite sample_configs/ci.yaml --junit report.xml
    Exit codes: 0 no regression, 1 a regression, 2 bad files or arguments, 3 internal error.
    """
    with boundary():
        from adambench.checks.compare import compare as run_compare

        _check_outputs({"--junit": junit, "--markdown": markdown}, inputs=(old, new, suite))
        result = run_compare(old, new, metrics=metric, rtol=rtol, atol=atol, suite=suite)
        _write_reports(result, junit, markdown, verbose)
        if json_out:
            sys.stdout.write(result.to_json())
        else:
            _print_check(result, quiet, verbose)
    raise typer.Exit(int(result.exit_code))


@cache_app.command("info")
def cache_info() -> None:
    """Where compiled kernels are cached, and how much is there."""
    with boundary():
        from adambench.cache import info

        i = info()
        out.print(
            f"cache directory: {i.path}{'' if i.exists else ' (empty, not created yet)'}",
            highlight=False,
        )
        out.print(
            f"generated modules: {i.modules}; problem kernels: {i.problem_kernels}; "
            f"files: {i.files}; size: {i.bytes / 1e6:.1f} MB",
            highlight=False,
        )
        numba_dir = os.environ.get("NUMBA_CACHE_DIR")
        if numba_dir:
            out.print(f"numba machine code: {numba_dir} (NUMBA_CACHE_DIR)", highlight=False)


@cache_app.command("clear")
def cache_clear() -> None:
    """Delete every cached kernel (they are rebuilt on the next run)."""
    with boundary():
        from adambench.cache import clear

        i = clear()
        out.print(
            f"removed {i.files} files ({i.bytes / 1e6:.1f} MB) from {i.path}", highlight=False
        )


def main() -> None:
    """Console entry point: the outermost wrapper sets exit code 3 for internal errors."""
    try:
        app()
    except SystemExit:
        raise
    except Exception:  # the outermost boundary: typer.Exit never reaches here (SystemExit)
        import traceback

        traceback.print_exc()
        err.print(
            "[bold red]internal error:[/] this is a bug in adambench; please report it "
            "with the traceback above",
            highlight=False,
        )
        sys.exit(int(ExitCode.INTERNAL))


if __name__ == "__main__":  # pragma: no cover
    main()
