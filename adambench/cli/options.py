"""The options several commands share, declared once each (typer ``Annotated`` aliases), and the
one function that handles each of them. Where commands word an option differently (`run` and
`sweep` take -O with different defaults), each wording is its own alias here, side by side.

Nothing here imports numpy, numba or sympy: `--help`, `list` and completion stay fast.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from adambench.cli.consoles import err

__all__ = [
    "RUN_PICTURES",
    "SWEEP_PICTURES",
    "CheckThreadsOpt",
    "DimOpt",
    "DtypeOpt",
    "JsonOpt",
    "NoiseOpt",
    "OptimizersOpt",
    "OutputOpt",
    "ProblemArg",
    "QuietOpt",
    "RotateOpt",
    "RunDimOpt",
    "RunThreadsOpt",
    "SeedOpt",
    "SeedsOpt",
    "StartOpt",
    "StepsOpt",
    "SweepOptimizersOpt",
    "SweepProblemArg",
    "SweepSeedOpt",
    "SweepSeedsOpt",
    "SweepThreadsOpt",
    "TopOpt",
    "check_output",
    "checked_dtype",
    "complete_optimizer",
    "complete_problem",
    "parse_start",
    "say_wrote",
    "whole_number",
]


# ---------------------------------------------------------------------------------------------
# Completion: names from the registries, imported only when completing.


def complete_problem(incomplete: str) -> list[str]:
    """Built-in problem names starting with ``incomplete``."""
    from adambench.problem_files import builtin_files

    return [n for n in builtin_files() if n.startswith(incomplete)]


def complete_optimizer(incomplete: str) -> list[str]:
    """Optimizer names completing the last item of a comma-separated -O list."""
    from adambench.optimizers.registry import registry

    head, _, last = incomplete.rpartition(",")
    prefix = head + "," if head else ""
    return [prefix + n for n in registry() if n.startswith(last)]


# ---------------------------------------------------------------------------------------------
# Integer options: --steps 1e4 is a whole number written as people write step counts.


def whole_number(text: str) -> int:
    """The value of an integer option: an integer, or a whole number in another notation
    (``1e4``, ``2.0``); anything else is refused saying why."""
    text = str(text).strip()
    try:
        return int(text)  # exact, even for seeds near 2**62 (a float would round them)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an integer") from None
    if not math.isfinite(number) or not number.is_integer():
        raise typer.BadParameter(f"{text} is not a whole number")
    return int(number)


# ---------------------------------------------------------------------------------------------
# The problem and the optimizers.

ProblemArg = Annotated[
    str,
    typer.Argument(
        help="A problem name (see `adambench list`) or the path of a problem YAML file.",
        autocompletion=complete_problem,
        show_default=False,
    ),
]
SweepProblemArg = Annotated[
    str | None,
    typer.Argument(
        help="A problem name or problem file (optional with --config).",
        autocompletion=complete_problem,
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
        autocompletion=complete_optimizer,
    ),
]
SweepOptimizersOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--optimizers",
        "-O",
        help="Optimizers to sweep: names or specs, as in `run` (default: adam).",
        autocompletion=complete_optimizer,
    ),
]
DimOpt = Annotated[
    int | None, typer.Option(parser=whole_number, help="Dimension of a vector problem.")
]
NoiseOpt = Annotated[
    float | None,
    typer.Option(
        metavar="SIGMA",
        help="Add Gaussian noise of this standard deviation to every gradient component "
        "(seeded by the run's seed; replaces the problem's gradient_noise).",
    ),
]
RotateOpt = Annotated[
    int | None,
    typer.Option(
        parser=whole_number,
        metavar="SEED",
        help="Rotate the problem's coordinates by a random rotation drawn from SEED, about its "
        "minimum, as BBOB does (expression and vector problems up to 2,000 variables).",
    ),
]
RunDimOpt = Annotated[
    int | None,
    typer.Option(parser=whole_number, help="Dimension of a vector problem (e.g. rosenbrock_nd)."),
]

# ---------------------------------------------------------------------------------------------
# Runs: steps, seeds, start point, threads.

StepsOpt = Annotated[
    int | None, typer.Option(parser=whole_number, help="Steps per run (default: the problem's).")
]
SeedsOpt = Annotated[
    int, typer.Option(parser=whole_number, help="Runs per configuration, seeds SEED..SEED+K-1.")
]
SweepSeedsOpt = Annotated[
    int | None,
    typer.Option(
        parser=whole_number, help="Runs per configuration, seeds SEED..SEED+K-1 (default: 1)."
    ),
]
SeedOpt = Annotated[int, typer.Option(parser=whole_number, help="The first seed.")]
SweepSeedOpt = Annotated[
    int | None, typer.Option(parser=whole_number, help="The first seed (default: 0).")
]
StartOpt = Annotated[
    str | None,
    typer.Option(help="Start point 'x,y,...' or 'random' (uniform in the domain, per seed)."),
]
RunThreadsOpt = Annotated[
    int | None, typer.Option(parser=whole_number, help="Threads to run on (default: all cores).")
]
SweepThreadsOpt = Annotated[
    int | None,
    typer.Option(
        parser=whole_number,
        help="Threads to run on (default: all cores; with --scheduler: per chunk).",
    ),
]
CheckThreadsOpt = Annotated[
    int | None,
    typer.Option(
        parser=whole_number,
        help="Threads to run on (default: all cores); results never depend on it.",
    ),
]


def parse_start(text: str | None) -> Any:
    """--start: None, 'random'/'default', or the start point as a list of floats."""
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


# ---------------------------------------------------------------------------------------------
# Outputs: the result file, JSON on stdout, quiet, ranked tables.

OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write the result to FILE (.json or .csv)."),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print the result as JSON on stdout (no table).")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No spinner, progress or notes.")]
TopOpt = Annotated[
    int,
    typer.Option(
        parser=whole_number, help="Rows of the ranked table (0: no table, -1: every row)."
    ),
]


#: The options that write pictures, by file suffix: `-o beale.png` is answered with them.
RUN_PICTURES = {
    ".png": "--plot",
    ".svg": "--plot",
    ".pdf": "--plot",
    ".gif": "--animate",
    ".mp4": "--animate",
}
SWEEP_PICTURES = {".png": "--plot", ".svg": "--plot", ".pdf": "--plot"}


def check_output(output: Path | None, pictures: dict[str, str] | None = None) -> str | None:
    """-o FILE: refuse an unusable path before anything runs; its format ('json' or 'csv').

    ``pictures`` maps the suffixes of pictures to the option that writes them: -o with one of
    them is refused pointing to that option (``-o`` writes the result, not a picture)."""
    if output is None:
        return None
    from adambench.errors import UsageError
    from adambench.files import check_output_path

    option = (pictures or {}).get(output.suffix.lower())
    if option is not None:
        raise UsageError(
            f"{output}: -o writes the result (.json or .csv); for a picture use {option} {output}"
        )
    return check_output_path(output)


def say_wrote(path: Path | None, quiet: bool) -> None:
    """The note on stderr that ``path`` was written (none with --quiet or without a path)."""
    if path is not None and not quiet:
        err.print(f"wrote {path}", highlight=False, markup=False)


# ---------------------------------------------------------------------------------------------
# --dtype: float64 (the default) or float32, for run, run --tune, sweep and check.

DtypeOpt = Annotated[
    str | None,
    typer.Option(
        help="float64 (default) or float32: the type of the parameters, optimizer state and "
        "gradient (float32 as torch's default; losses are computed in float64).",
    ),
]


def checked_dtype(value: str | None) -> str | None:
    """``--dtype`` as given (None when not), refused at once, naming the choices, when it is
    not one of them (exit code 2)."""
    from adambench.limits import check_dtype

    return None if value is None else check_dtype(value)
