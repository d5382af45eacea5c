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

from adambench import __version__
from adambench.errors import AdambenchError, ExitCode

EXIT_CODES_HELP = (
    "Exit codes: 0 success, 1 a failed gate (check/compare), 2 usage or input error, "
    "3 internal error, 130 interrupted."
)

app = typer.Typer(
    name="adambench",
    help="Benchmark Adam and other first-order optimizers on classic test surfaces.\n\n"
    "Example: adambench run beale --optimizers adam,rmsprop\n\n" + EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="rich",
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
    """Turn library errors into one line + exit code, and Ctrl-C into exit 130."""
    try:
        yield
    except AdambenchError as exc:
        from rich.markup import escape

        # Escaped: messages may hold brackets ("pip install 'adambench[plot]'", YAML lists).
        err.print(
            f"[bold red]error:[/] {escape(str(exc))}", highlight=False, markup=True, soft_wrap=True
        )
        raise typer.Exit(int(exc.exit_code)) from None
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
    from adambench.problems import builtin_files

    return [n for n in builtin_files() if n.startswith(incomplete)]


def _complete_optimizer(incomplete: str) -> list[str]:
    from adambench.optimizers import registry

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
        "repeated, e.g. -O 'adam(lr=0.05,beta1=0.8),adam(lr=0.01)' -O rmsprop.",
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
        int | None, typer.Option(help="Steps per run [default: the problem's].")
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
        int | None, typer.Option(help="Threads to run on [default: all cores].")
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
) -> None:
    """Run optimizers on a problem and print a convergence table.

    [bold]Examples[/bold]

      adambench run beale --optimizers adam,rmsprop

      adambench run rosenbrock -O 'adam(lr=0.05),adam(lr=0.01)' -O rmsprop --seeds 5

      adambench run ./my_problem.yaml --steps 5000 --start random --seeds 10 -o result.json

      adambench run beale -O 'adam(lr=0.1),rmsprop(lr=0.01)' --plot beale.png --animate beale.gif
    """
    with boundary():
        from adambench.engine import run as run_engine
        from adambench.report import check_output_path, write_result

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
            from adambench.plots import from_result

            pictures.draw(from_result(result), quiet)


def _print_result(result: Any, quiet: bool) -> None:
    from rich.markup import escape

    from adambench.metrics import verdict
    from adambench.report import fitted_table, footnotes

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

    [bold]Example[/bold]

      adambench list
    """
    with boundary():
        from adambench.catalog import catalog

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

    [bold]Example[/bold]

      adambench show beale
    """
    with boundary():
        from rich.markup import escape

        from adambench.catalog import describe

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

    [bold]Examples[/bold]

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
        from adambench.plots import from_dict, plan
        from adambench.results import read_result_file

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
        help="Frames of the animation; steps are subsampled to fit \\[default: 120].",
        rich_help_panel="Pictures",
        show_default=False,
    ),
]
FpsOpt = Annotated[
    int | None,
    typer.Option(
        help="Frames per second of the animation \\[default: 20].",
        rich_help_panel="Pictures",
        show_default=False,
    ),
]
ContourOpt = Annotated[
    bool | None,
    typer.Option(
        "--contour/--no-contour",
        help="Require (or leave out) the contour panel "
        "\\[default: drawn for 2-parameter problems].",
        rich_help_panel="Pictures",
        show_default=False,
    ),
]
#: Animation defaults (the same as adambench.plots.DEFAULT_FRAMES / DEFAULT_FPS, tested), kept
#: here as literals so that `--help` does not import numpy.
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
        from adambench import plots

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
        from adambench.engine import MAX_TRACE_PARAMS

        return True if problem.dim <= MAX_TRACE_PARAMS else None

    def load_problem(self, problem: str, dim: int | None) -> Any:
        """The problem, loaded now, with an explicitly requested contour checked against it."""
        from adambench.plots import check_contour
        from adambench.problems import load_problem

        prob = load_problem(problem, dim=dim)
        check_contour(prob, self.contour)
        return prob

    def draw(self, data: Any, quiet: bool) -> None:
        """Write the picture and/or the animation, with a spinner on terminals and notes."""
        from contextlib import nullcontext

        from rich.markup import escape

        from adambench import plots

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


# ---- sweep commands (issue 5) ----


# ---- check and compare commands (issue 7) ----


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
