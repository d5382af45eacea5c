"""Where the shipped problem files are (stdlib only, so `list` and completion start fast)."""

from __future__ import annotations

from functools import cache
from itertools import pairwise
from pathlib import Path

from adambench.errors import ProblemError

__all__ = ["BUILTIN_DATA_SHAPES", "TAGS", "builtin_files", "mlp_size"]

#: The shipped data sets (``adambench/data``): name -> (features, classes), so that `list` can
#: tell a data problem's number of weights without reading the data (tests check the files).
BUILTIN_DATA_SHAPES = {"digits": (64, 10), "breast_cancer": (30, 2)}

#: The words a problem file's ``tags:`` may hold (a closed list, so that `list --tag` and the
#: suites built from tags find every problem that means the same thing).
TAGS = (
    "unimodal",
    "multimodal",
    "convex",
    "ill-conditioned",
    "separable",
    "non-separable",
    "nd",
    "plateau",
    "valley",
    "ridge",
    "saddle",
    "nonsmooth",
    "noisy",
    "data",
)


def mlp_size(widths: list[int]) -> int:
    """The weights of an mlp of layer widths [inputs, hidden..., classes] (W and b a layer);
    here, not in problems.py, so that `list` counts them without importing numpy."""
    return sum(n_in * n_out + n_out for n_in, n_out in pairwise(widths))


def _builtin_dir() -> Path:
    """The shipped problem files: ``adambench/problems`` once installed (package data), the
    repository's ``problems/`` in a checkout or an editable install."""
    here = Path(__file__).resolve().parent
    for folder in (here / "problems", here.parent / "problems"):
        if any(folder.glob("*.yaml")):
            return folder
    raise ProblemError(f"no problem files found next to {here} (a broken installation?)")


@cache
def builtin_files() -> dict[str, Path]:
    """Name -> YAML file of every shipped problem."""
    return {p.stem: p for p in sorted(_builtin_dir().glob("*.yaml"))}
