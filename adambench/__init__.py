"""adambench: benchmark Adam and other first-order optimizers on classic test surfaces.

The Python API is what the command line calls::

    import adambench
    result = adambench.run("beale", ["adam", "rmsprop"], steps=2000, seeds=3)
    print(result.to_json())

Names are imported lazily so that ``import adambench`` (and ``adambench --help``) stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adambench.version import __version__

__all__ = [
    "AdambenchError",
    "Result",
    "__version__",
    "bench",
    "check",
    "compare",
    "list_optimizers",
    "list_problems",
    "load_problem",
    "plots",
    "run",
    "sweep",
]

_LAZY = {
    "run": ("adambench.engine", "run"),
    "sweep": ("adambench.sweeps", "sweep"),
    "bench": ("adambench.sweeps", "run_bench"),
    "check": ("adambench.checks", "check"),
    "compare": ("adambench.checks", "compare"),
    "load_problem": ("adambench.problems", "load_problem"),
    "list_problems": ("adambench.problems", "list_problems"),
    "list_optimizers": ("adambench.optimizers", "registry"),
    "Result": ("adambench.engine.results", "Result"),
    "AdambenchError": ("adambench.errors", "AdambenchError"),
    "plots": ("adambench.report.plots", None),  # the pictures' Python API, a module
}

if TYPE_CHECKING:
    from adambench.checks import check, compare
    from adambench.engine import run
    from adambench.engine.results import Result
    from adambench.errors import AdambenchError
    from adambench.optimizers import registry as list_optimizers
    from adambench.problems import list_problems, load_problem
    from adambench.report import plots
    from adambench.sweeps import run_bench as bench
    from adambench.sweeps import sweep


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        found = importlib.import_module(module)
        value = found if attr is None else getattr(found, attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'adambench' has no attribute {name!r}")
