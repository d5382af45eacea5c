"""What a running command shows on a terminal's stderr: a spinner while kernels compile and a
progress bar for slow work (in steps for `run` and `check`, in runs for sweeps). Nothing is
shown when stderr is not a terminal or with --quiet, so piped output stays clean."""

from __future__ import annotations

import time
from typing import Any

from adambench.cli.consoles import console, err

__all__ = ["Feedback", "SweepFeedback", "chunk_feedback", "fitted_progress", "problem_and_steps"]


class Feedback:
    """Spinner while compiling and a progress bar for slow runs, on stderr, terminals only."""

    def __init__(self, quiet: bool) -> None:
        self.live = err.is_terminal and not quiet
        self.started = time.perf_counter()
        self.bar: Any = None
        self.task: Any = None

    def compiling(self, name: str) -> Any:
        """A context manager showing a spinner while ``name`` compiles."""
        if not self.live:
            from contextlib import nullcontext

            return nullcontext()
        return err.status(f"Compiling {name} (first run only; cached afterwards)…", spinner="dots")

    def progress(self, done: int, total: int) -> None:
        """The ``progress`` callback of the library: steps done out of ``total``."""
        if not self.live:
            return
        if self.bar is None:
            if time.perf_counter() - self.started < 0.5 or done >= total:
                return
            from rich.progress import TextColumn

            self.bar = fitted_progress(
                TextColumn("steps"),
                _count_column("{task.completed}/{task.total}"),
                _time_left_column(),
            )
            self.bar.start()
            self.task = self.bar.add_task("run", total=total)
        self.bar.update(self.task, completed=done)

    def close(self) -> None:
        """Remove the progress bar (it is transient)."""
        if self.bar is not None:
            self.bar.stop()


class SweepFeedback(Feedback):
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
            self.bar = _runs_bar()
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=total)
        self.bar.update(self.task, completed=done)

    def close(self) -> None:
        super().close()
        self.bar = None


def _runs_bar() -> Any:
    """A transient progress bar on stderr counting runs, with their rate and the time left."""
    from rich.progress import ProgressColumn, TextColumn
    from rich.table import Column
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:,.0f} runs/s" if speed else "", style="dim")

    return fitted_progress(
        TextColumn("{task.description}"),
        _count_column("{task.completed:,.0f}/{task.total:,.0f} runs"),
        Rate(table_column=Column("rate", no_wrap=True)),
        _time_left_column(),
    )


def fitted_progress(label: Any, *columns: Any) -> Any:
    """A transient progress bar on stderr: ``label``, a bar, then ``columns``. The bar gives way
    first; on a narrow terminal the rate, then the time left, are left out
    (:func:`adambench.report.fitting.fit`), so a count is never cut."""
    from rich.progress import BarColumn, Progress
    from rich.table import Column

    from adambench.report.fitting import fit

    class Fitted(Progress):
        def get_renderables(self) -> Any:
            table = self.make_tasks_table(self.tasks)
            live = getattr(self, "live", None)  # None while Progress.__init__ runs
            yield table if live is None else fit(table, live.console, ("rate", "time left"))

    bar = BarColumn(bar_width=None, table_column=Column("bar", min_width=4))
    return Fitted(label, bar, *columns, console=console(stderr=True), transient=True)


def _count_column(template: str) -> Any:
    from rich.progress import TextColumn
    from rich.table import Column

    return TextColumn(template, table_column=Column("count", no_wrap=True))


def _time_left_column() -> Any:
    from rich.progress import TimeRemainingColumn
    from rich.table import Column

    return TimeRemainingColumn(table_column=Column("time left", no_wrap=True))


def chunk_feedback(feedback: SweepFeedback) -> Any:
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


def problem_and_steps(
    problem: Any,
    steps: int | None,
    dim: int | None,
    noise: float | None = None,
    rotate: int | None = None,
) -> tuple[Any, int]:
    """The loaded problem (with --noise/--rotate applied) and the steps its runs take, which
    :meth:`SweepFeedback.phase` needs to count progress in runs (an invalid --steps is left for
    the library to refuse)."""
    from adambench.problems import Problem, load_problem, with_variant

    prob = problem if isinstance(problem, Problem) else load_problem(problem, dim=dim)
    prob = with_variant(prob, noise=noise, rotate=rotate)
    return prob, steps if isinstance(steps, int) and steps >= 1 else prob.steps
