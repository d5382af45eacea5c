"""Pictures of runs (`run --plot/--animate` and `plot`): the options, declared once, and
:class:`Pictures`, the validated request that draws them. matplotlib is imported only when a
picture is asked for."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from adambench.cli.consoles import err
from adambench.cli.options import whole_number

__all__ = [
    "DEFAULT_FPS",
    "DEFAULT_FRAMES",
    "AnimateOpt",
    "ContourOpt",
    "FpsOpt",
    "FramesOpt",
    "LrPlotOpt",
    "Pictures",
    "PlotOpt",
]

PICTURES_PANEL = "Pictures"

PlotOpt = Annotated[
    Path | None,
    typer.Option(
        "--plot",
        help="Draw the runs to FILE (.png, .svg or .pdf): paths on the contour (2 parameters), "
        "loss curves, and an ECDF of target hits with several seeds.",
        rich_help_panel=PICTURES_PANEL,
    ),
]
LrPlotOpt = Annotated[
    Path | None,
    typer.Option(
        "--lr-plot",
        help="Draw the learning rate each optimizer used, against the step, to FILE "
        "(.png, .svg or .pdf): schedules and warm-up made visible.",
        rich_help_panel=PICTURES_PANEL,
    ),
]
AnimateOpt = Annotated[
    Path | None,
    typer.Option(
        "--animate",
        help="Animate the paths step by step to FILE (.gif, or .mp4 where ffmpeg is installed).",
        rich_help_panel=PICTURES_PANEL,
    ),
]
FramesOpt = Annotated[
    int | None,
    typer.Option(
        parser=whole_number,
        help="Frames of the animation; steps are subsampled to fit (default: 120).",
        rich_help_panel=PICTURES_PANEL,
        show_default=False,
    ),
]
FpsOpt = Annotated[
    int | None,
    typer.Option(
        parser=whole_number,
        help="Frames per second of the animation (default: 20).",
        rich_help_panel=PICTURES_PANEL,
        show_default=False,
    ),
]
ContourOpt = Annotated[
    bool | None,
    typer.Option(
        "--contour/--no-contour",
        help="Require (or leave out) the contour panel (default: drawn for 2-parameter problems).",
        rich_help_panel=PICTURES_PANEL,
        show_default=False,
    ),
]
#: Animation defaults (the same as adambench.report.plots.DEFAULT_FRAMES / DEFAULT_FPS, tested),
#: kept here as literals so that `--help` does not import numpy.
DEFAULT_FRAMES, DEFAULT_FPS = 120, 20


class Pictures:
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
    ) -> Pictures | None:
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

    def load_problem(self, problem: Any, dim: int | None) -> Any:
        """The problem, loaded now (or as given), with an explicitly requested contour checked
        against it."""
        from adambench.problems import Problem, load_problem
        from adambench.report.plots import check_contour

        prob = problem if isinstance(problem, Problem) else load_problem(problem, dim=dim)
        check_contour(prob, self.contour)
        return prob

    def draw(self, data: Any, quiet: bool) -> None:
        """Write the picture and/or the animation, with a spinner on terminals and notes."""
        from rich.markup import escape

        seen: set[str] = set()
        for path in (self.figure, self.animation):
            if path is None:
                continue
            notes = self._write(path, data, quiet)
            if not quiet:
                for note in notes:
                    if note not in seen:
                        seen.add(note)
                        err.print(f"[dim]note: {escape(note)}[/dim]", highlight=False)
                err.print(f"wrote {escape(str(path))}", highlight=False)

    def _write(self, path: Path, data: Any, quiet: bool) -> list[str]:
        """Write one file (the figure or the animation) under a spinner; its notes."""
        from contextlib import nullcontext

        from rich.markup import escape

        from adambench.report import plots

        live = err.is_terminal and not quiet
        what = escape(str(path))
        with err.status(f"Drawing {what}…", spinner="dots") if live else nullcontext():
            if path is self.figure:
                return plots.write_figure(data, path, self.contour)
            return plots.write_animation(data, path, self.frames, self.fps, self.contour)
