"""Pictures of runs: contours with optimizer paths, loss curves, ECDFs of target hits, GIFs.

Every figure is drawn from a :class:`PlotData`, built either from a fresh
:class:`~adambench.engine.results.Result` (:func:`from_result`) or from a saved JSON result with
traces (:func:`from_dict`), so ``adambench run --plot`` and ``adambench plot result.json`` draw the
same
picture. matplotlib is imported only inside the functions that draw (importing this module costs
nothing), and only its object-oriented API is used (``Figure`` + the Agg canvas, never
``pyplot``): no window can open, no global backend is switched under a notebook user's feet.

Request checks (:func:`check_figure_path`, :func:`check_animation_path`, :func:`check_contour`,
:func:`require_matplotlib`) raise before anything runs, so a picture that cannot be made never
costs an optimisation. Files are written atomically (:func:`save_figure`).
"""

from __future__ import annotations

import contextlib
import math
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from adambench.errors import AdambenchError, OutputError, UsageError
from adambench.files import atomic_output
from adambench.numbers import distinct_number, format_number
from adambench.report import curves

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from adambench.engine.results import Result
    from adambench.problems import Problem
    from adambench.report.sweep_tables import ColourScale
    from adambench.sweeps.aggregate import Heatmap, PointStat
    from adambench.sweeps.result import SweepResult

__all__ = [
    "ANIMATION_DPI",
    "ANIMATION_FORMATS",
    "AREA_BANDS",
    "DEFAULT_FPS",
    "DEFAULT_FRAMES",
    "FIGURE_FORMATS",
    "GRID",
    "LOSS_DECADES",
    "MAX_FRAMES",
    "MAX_POINTS",
    "MISSING_MATPLOTLIB",
    "PATH_MARKERS",
    "PATH_MARKS",
    "PATH_MARKS_EACH",
    "SCALE_BANDS",
    "Drawing",
    "Frames",
    "Plan",
    "PlotData",
    "Surface",
    "Trace",
    "check_animation_path",
    "check_contour",
    "check_figure_path",
    "check_frames",
    "contour_obstacle",
    "draw",
    "frame_records",
    "from_dict",
    "from_result",
    "have_matplotlib",
    "mark_indices",
    "path_marker",
    "path_widths",
    "plan",
    "render_frames",
    "require_matplotlib",
    "save_figure",
    "surface",
    "sweep_heatmap_figure",
    "sweep_line_figure",
    "sweep_metric_label",
    "sweep_plot",
    "target_legend",
    "target_text",
    "write_animation",
    "write_figure",
]

FIGURE_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
ANIMATION_FORMATS = {".gif": "gif", ".mp4": "mp4"}
DEFAULT_FRAMES = 120
DEFAULT_FPS = 20
#: At most this many frames (a GIF keeps them all in memory, 1 byte per pixel).
MAX_FRAMES = 600
#: Points drawn per path or curve at most (plus the first 200): long runs are subsampled.
MAX_POINTS = 3000
#: Decades of loss shown below the highest curve point on log axes.
LOSS_DECADES = 20
#: Grid resolution of contour plots (points per axis).
GRID = 240
MISSING_MATPLOTLIB = (
    "pictures need matplotlib, a dependency of adambench that this environment lacks: "
    "pip install matplotlib pillow"
)


# ---------------------------------------------------------------------------------------------
# Checks made before anything runs


def have_matplotlib() -> bool:
    """True when matplotlib can be imported (checked without importing it)."""
    import importlib.util

    try:
        return importlib.util.find_spec("matplotlib") is not None
    except (ImportError, ValueError):  # ValueError: sys.modules["matplotlib"] is None
        return False


def require_matplotlib() -> None:
    """Raise a one-line :class:`UsageError` (exit 2) when matplotlib is absent (a dependency, but
    an environment can lose it): the command to restore it, not a traceback."""
    if not have_matplotlib():
        raise UsageError(MISSING_MATPLOTLIB)


def check_figure_path(path: str | Path) -> str:
    """Refuse a figure path before running (format by extension: png, svg, pdf); the format."""
    from adambench.files import check_output_path

    return check_output_path(path, FIGURE_FORMATS)


def check_animation_path(path: str | Path) -> str:
    """Refuse an animation path before running: .gif, or .mp4 when ffmpeg is on PATH."""
    from adambench.files import check_output_path

    kind = check_output_path(path, ANIMATION_FORMATS)
    if kind == "mp4" and shutil.which("ffmpeg") is None:
        raise OutputError(f"{path}: .mp4 needs ffmpeg, which is not on PATH; write a .gif instead")
    return kind


def check_frames(frames: int, fps: int) -> None:
    """Frames and frame rate of an animation: 2..2000 frames, 1..100 frames per second."""
    if not 2 <= frames <= MAX_FRAMES:
        raise UsageError(f"frames must be between 2 and {MAX_FRAMES}, got {frames}")
    if not 1 <= fps <= 100:
        raise UsageError(f"fps must be between 1 and 100, got {fps}")


def contour_obstacle(dim: int, name: str) -> str | None:
    """Why a problem of ``dim`` parameters gets no contour (None: it can have one)."""
    if dim != 2:
        return f"{name} has {dim} parameter{'s' if dim != 1 else ''}, contours need 2"
    return None


def check_contour(problem: Problem, contour: bool | None) -> None:
    """An explicitly requested contour (``contour=True``) must be possible for ``problem``."""
    reason = contour_obstacle(problem.dim, problem.name)
    if contour and reason:
        raise UsageError(f"cannot draw a contour: {reason} (leave out --contour for loss curves)")


# ---------------------------------------------------------------------------------------------
# Plot data: what every picture is drawn from


@dataclass(frozen=True)
class Trace:
    """One run's recorded curve: loss (and x, (n, dim)) every ``every`` steps from step 0."""

    config: int
    seed: int
    status: str
    loss: np.ndarray
    x: np.ndarray | None
    final_x: np.ndarray | None
    start: np.ndarray | None
    #: A data problem's held-out evaluations: (steps, test losses); None without held-out rows.
    test_loss: tuple[np.ndarray, np.ndarray] | None = None


@dataclass(frozen=True)
class PlotData:
    """What a picture needs from a result; ``problem`` is None when it could not be reloaded
    (``problem_note`` says why), and then only loss curves can be drawn."""

    name: str
    kind: str
    dim: int
    variables: tuple[str, ...]
    labels: tuple[str, ...]
    steps: int
    every: int
    seeds: tuple[int, ...]
    min_value: float | None
    minimizers: tuple[np.ndarray, ...]
    target: float | None
    traces: tuple[Trace, ...]
    problem: Problem | None
    problem_note: str | None = None

    @property
    def n_records(self) -> int:
        return self.steps // self.every + 1

    def traces_of(self, k: int) -> list[Trace]:
        return [t for t in self.traces if t.config == k]

    def has_paths(self) -> bool:
        return all(t.x is not None and t.x.ndim == 2 for t in self.traces)


def from_result(result: Result) -> PlotData:
    """The plot data of a fresh result (it always has traces; x when ``record_x``)."""
    p = result.problem
    traces = tuple(
        Trace(
            config=r.config_index,
            seed=r.seed,
            status=r.status,
            loss=np.asarray(r.loss_trace if r.loss_trace is not None else [], float),
            x=r.x_trace,
            final_x=None if r.status in ("diverged", "invalid_start") else r.final_x,
            start=r.start,
            test_loss=None
            if r.evaluations is None
            else (r.evaluations.steps, r.evaluations.test_loss),
        )
        for r in result.runs
    )
    return PlotData(
        name=p.name,
        kind=p.kind,
        dim=p.dim,
        variables=p.variables or tuple(f"x[{i}]" for i in range(min(p.dim, 2))),
        labels=tuple(c.label for c in result.configs),
        steps=result.settings.steps,
        every=result.settings.every,
        seeds=result.settings.seeds,
        min_value=p.min_value,
        minimizers=tuple(p.minimizers),
        target=p.loss_target,
        traces=traces,
        problem=p,
    )


def _array(value: Any) -> np.ndarray | None:
    return None if value is None else np.array(value, dtype=float)


def from_dict(data: dict[str, Any], where: str) -> PlotData:
    """The plot data of a saved result (:func:`adambench.engine.results.read_result_file`).

    The problem is reloaded from ``problem.source`` (a built-in by name, else the file path) for
    contours and data; if that fails or the problem changed since (formula, dimension or minimum
    differ), ``problem`` is None and ``problem_note`` says why. A result without traces raises
    :class:`UsageError`.
    """
    from adambench.errors import ConfigError

    try:
        return _from_dict(data, where)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        # A hand-edited or truncated file: one line naming it, not a traceback.
        what = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ConfigError(f"not a complete adambench result ({what})", where=where) from None


def _from_dict(data: dict[str, Any], where: str) -> PlotData:
    runs = data.get("runs") or []
    if not runs or any(not isinstance(r.get("trace"), dict) for r in runs):
        raise UsageError(
            f"{where}: has no traces to draw; save a result with them: "
            "adambench run PROBLEM --trace -o result.json"
        )
    info, settings = data["problem"], data["settings"]
    labels = tuple(o["label"] for o in data["optimizers"])
    index = {label: k for k, label in enumerate(labels)}
    traces = tuple(
        Trace(
            config=index[r["label"]],
            seed=int(r["seed"]),
            status=r["status"],
            loss=np.array(r["trace"]["loss"], dtype=float),
            x=_array(r["trace"].get("x")),
            final_x=None if r["status"] in ("diverged", "invalid_start") else _array(r["final_x"]),
            start=_array(r.get("start")),
            test_loss=_saved_test_loss(r.get("evaluations")),
        )
        for r in runs
    )
    minimum = info.get("minimum") or {}
    variables = info.get("variables")
    dim = int(info["dim"])
    problem, note = _reload(info, where)
    return PlotData(
        name=info["name"],
        kind=info["kind"],
        dim=dim,
        variables=tuple(variables)
        if isinstance(variables, list)
        else tuple(f"x[{i}]" for i in range(min(dim, 2))),
        labels=labels,
        steps=int(settings["steps"]),
        every=int(settings["every"]),
        seeds=tuple(settings["seeds"]),
        min_value=minimum.get("value"),
        minimizers=tuple(np.array(m, float) for m in (minimum.get("x") or [])),
        target=info.get("target") if info.get("target_metric", "loss") == "loss" else None,
        traces=traces,
        problem=problem,
        problem_note=note,
    )


def _saved_test_loss(evaluations: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """A saved run's held-out evaluations as (steps, test losses); None if it has none."""
    if not isinstance(evaluations, dict):
        return None
    steps = np.array(evaluations["steps"], dtype=float)
    return steps, np.array(evaluations["test_loss"], dtype=float)


def _reload(info: dict[str, Any], where: str) -> tuple[Problem | None, str | None]:
    """Reload a saved result's problem, or say why it cannot be used for contours."""
    from adambench.problems import load_problem

    name, source, kind = info["name"], info.get("source"), info.get("kind")
    dim = int(info["dim"]) if kind == "vector" else None
    # A relative path was relative to where `run` ran; try there, then next to the result file.
    found = None
    if source and source != "built-in":
        given = Path(source)
        tries = [given] if given.is_absolute() else [given, Path(where).parent / given]
        found = next((p for p in tries if p.is_file()), None)
    try:
        if source == "built-in":
            problem = load_problem(name, dim=dim)
        elif found is not None:
            problem = load_problem(str(found), dim=dim)
        else:
            return None, f"the problem file {source} of {where} is gone"
    except AdambenchError as exc:
        return None, f"the problem of {where} cannot be reloaded ({exc})"
    same = problem.formula() == info.get("formula") and problem.dim == int(info["dim"])
    saved_min = (info.get("minimum") or {}).get("value")
    if saved_min is not None and problem.min_value is not None:
        same = same and math.isclose(saved_min, problem.min_value, rel_tol=1e-9, abs_tol=1e-12)
    if not same:
        return None, f"problem {name} ({source}) changed since {where} was saved"
    return problem, None


# ---------------------------------------------------------------------------------------------
# Figure plan: which panels, and what to tell the user


@dataclass(frozen=True)
class Plan:
    """The panels of a picture and the notes explaining what was left out."""

    surface: bool
    data: bool
    loss: bool
    ecdf: bool
    notes: tuple[str, ...]


def plan(pd: PlotData, contour: bool | None = None, animation: bool = False) -> Plan:
    """Decide the panels: a contour for 2-parameter problems (``contour`` None = when possible,
    True = required, else :class:`UsageError`, False = never), the data and decision boundaries
    for logistic regression on two features, the loss curves always, and the ECDF of target
    hits with several seeds (not in animations)."""
    notes: list[str] = []
    reason = contour_obstacle(pd.dim, pd.name)
    if reason is None and pd.problem is None:
        reason = pd.problem_note or "the problem is not available"
    if reason is None and not pd.has_paths():
        reason = "the result has no parameter trajectories (x)"
    if contour and reason:
        raise UsageError(f"cannot draw a contour: {reason}")
    if reason and contour is None:
        notes.append(f"{reason}: drawing loss curves only")
    surface = reason is None and contour is not False
    data = (
        pd.kind == "logreg"
        and pd.problem is not None
        and pd.problem.data is not None
        and _n_features(pd.problem) == 2
    )
    ecdf = len(pd.seeds) > 1 and not animation
    return Plan(surface, data, True, ecdf, tuple(notes))


def _n_features(problem: Problem) -> int:
    assert problem.data is not None
    return problem.data.shape[1] - 1 - (1 if problem.model.get("bias") else 0)


# ---------------------------------------------------------------------------------------------
# Drawing helpers


def _colors(n: int) -> list[Any]:
    import matplotlib

    if n <= 10:
        cmap = matplotlib.colormaps["tab10"]
        return [cmap(i) for i in range(n)]
    if n <= 20:
        cmap = matplotlib.colormaps["tab20"]
        return [cmap(i) for i in range(n)]
    cmap = matplotlib.colormaps["turbo"]
    return [cmap(v) for v in np.linspace(0.05, 0.95, n)]


def _view_box(domain: np.ndarray, paths: Sequence[np.ndarray]) -> np.ndarray:
    """The plotted box: the problem's domain, grown to hold the paths, by at most half its size
    on each side (a path that runs off further, e.g. a diverging one, is clipped)."""
    lo, hi = domain[:, 0].astype(float), domain[:, 1].astype(float)
    size = hi - lo
    pts = [p[np.all(np.isfinite(p), axis=1)] for p in paths if p is not None and p.size]
    pts = [p for p in pts if p.size]
    if pts:
        allp = np.vstack(pts)
        lo = np.maximum(np.minimum(lo, allp.min(axis=0) - 0.03 * size), lo - 0.5 * size)
        hi = np.minimum(np.maximum(hi, allp.max(axis=0) + 0.03 * size), hi + 0.5 * size)
    return np.column_stack([lo, hi])


#: Contour bands at equal shares of the drawn box's area (quantiles of the sampled loss), so
#: every surface shows its structure wherever the box is, however its values are spread ...
AREA_BANDS = 16
#: ... and bands on the loss's own scale (log or linear), so the basin of the minimum, a small
#: share of the area, keeps its rings.
SCALE_BANDS = 16


@dataclass
class Surface:
    """A contour grid and how its levels are drawn: ``levels`` bound the filled bands (equal
    area and equal scale steps, merged), ``lines`` the drawn contour lines (equal area)."""

    xs: np.ndarray
    ys: np.ndarray
    z: np.ndarray  # what is coloured: loss, or loss - shift on log levels
    levels: np.ndarray
    lines: np.ndarray
    log: bool
    label: str


def surface(pd: PlotData, box: np.ndarray) -> Surface:
    """Evaluate the objective on a GRID x GRID grid over ``box`` (compiled, full batch) and
    choose its levels: on a log scale (of the loss, or of its gap to the minimum) where the range
    is wide, linear where the loss goes negative and no minimum is known to shift by (the
    problem's ``contour: auto|log|linear`` overrides); see :data:`AREA_BANDS`."""
    from adambench.engine.jobs import problem_functions

    assert pd.problem is not None
    loss, _ = problem_functions(pd.problem)
    xs = np.linspace(box[0, 0], box[0, 1], GRID)
    ys = np.linspace(box[1, 0], box[1, 1], GRID)
    xx, yy = np.meshgrid(xs, ys)
    z = loss(np.column_stack([xx.ravel(), yy.ravel()])).reshape(xx.shape)
    finite = z[np.isfinite(z)]
    zmin, zmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if _contour_mode(pd, finite, zmin, zmax) == "linear" or zmax <= zmin:
        from matplotlib.ticker import MaxNLocator

        steps = MaxNLocator(SCALE_BANDS).tick_values(zmin, zmax if zmax > zmin else zmin + 1)
        return Surface(xs, ys, z, *_levels(z, steps), False, "loss")
    shift = pd.min_value if pd.min_value is not None else min(zmin, 0.0)
    g = z - shift
    pos = g[np.isfinite(g) & (g > 0)]
    hi = float(pos.max()) if pos.size else 1.0
    # The lowest level: the lowest point of the grid, so the basin around the minimum keeps
    # its rings, but no more than 10 decades below the top (a minimum of 0 would ask for -inf).
    lo = max(float(pos.min()) if pos.size else hi * 1e-6, hi * 1e-10)
    g = np.where(np.isfinite(g), np.maximum(g, lo), np.nan)
    steps = np.logspace(math.log10(lo), math.log10(hi), SCALE_BANDS + 1)
    if shift == 0:
        label = "loss"
    elif pd.min_value is not None:
        label = "loss − minimum"
    else:
        label = f"loss − ({format_number(shift, 'label')})"
    return Surface(xs, ys, g, *_levels(g, steps), True, label)


def _contour_mode(pd: PlotData, finite: np.ndarray, zmin: float, zmax: float) -> str:
    """The problem's ``contour`` setting, with ``auto`` decided: log for a range of more than
    two decades above the minimum (or 0), linear for a negative loss with no minimum known."""
    assert pd.problem is not None
    mode = pd.problem.contour
    if mode != "auto":
        return mode
    if zmin < 0 and pd.min_value is None:
        return "linear"
    base = pd.min_value if pd.min_value is not None else 0.0
    spread = (zmax - base) / max(float(np.percentile(finite - base, 10)), 1e-300)
    return "log" if spread > 100 else "linear"


def _levels(z: np.ndarray, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(band bounds, line levels): the quantiles of ``z`` at equal area shares merged with the
    scale's ``steps`` inside the range of ``z``; lines at the area quantiles."""
    finite = z[np.isfinite(z)]
    if finite.size == 0:
        return steps, steps
    lo, hi = float(finite.min()), float(finite.max())
    by_area = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, AREA_BANDS + 1)))
    inside = steps[(steps > lo) & (steps < hi)]
    levels = np.unique(np.concatenate([by_area, inside]))
    if levels.size < 2:
        return steps, steps
    return levels, by_area[1:-1]


def _draw_surface(ax: Axes, fig: Figure, s: Surface) -> None:
    import matplotlib
    from matplotlib.colors import BoundaryNorm, ListedColormap

    # A grey ramp, white at the bottom: the coloured paths stay the loudest thing. Each band
    # gets its own step of the ramp (BoundaryNorm), so the whole ramp is used on any surface.
    cmap = ListedColormap(matplotlib.colormaps["Greys"](np.linspace(0.0, 0.6, 256)))
    norm = BoundaryNorm(s.levels, cmap.N, extend="min" if s.log else "neither")
    cs = ax.contourf(
        s.xs, s.ys, s.z, levels=s.levels, cmap=cmap, norm=norm, extend="min" if s.log else None
    )
    if s.lines.size:
        ax.contour(s.xs, s.ys, s.z, levels=s.lines, colors="k", linewidths=0.5, alpha=0.45)
    cb = fig.colorbar(cs, ax=ax, shrink=0.9, pad=0.02)
    # Above the bar, not beside it: there it read as the next panel's axis label ("loss loss").
    cb.ax.set_title(s.label, fontsize=9, loc="left")
    every = max(1, math.ceil(s.levels.size / 8))
    ticks = s.levels[::every]
    cb.set_ticks(ticks, labels=[format_number(float(v), "colorbar") for v in ticks])


def _path_xy(t: Trace) -> np.ndarray:
    assert t.x is not None
    idx = curves.subsample(t.x.shape[0], MAX_POINTS)
    return t.x[idx]


def _mark_points(
    ax: Axes, pd: PlotData, starts: Sequence[np.ndarray]
) -> tuple[list[Any], list[Any]]:
    """Start(s) and known minimum(s); returns their artists and legend handles."""
    from matplotlib.lines import Line2D

    handles, artists = [], []
    seen: set[tuple[float, ...]] = set()
    for s in starts:
        key = tuple(np.round(s, 12))
        if key in seen:
            continue
        seen.add(key)
        artists += ax.plot(*s[:2], "o", ms=8, mfc="white", mec="k", mew=1.5, zorder=6)
    handles.append(Line2D([], [], ls="", marker="o", ms=8, mfc="white", mec="k", label="start"))
    if pd.minimizers:
        for m in pd.minimizers:
            artists += ax.plot(*m[:2], "*", ms=16, mfc="gold", mec="k", mew=1.0, zorder=6)
        handles.append(
            Line2D([], [], ls="", marker="*", ms=14, mfc="gold", mec="k", label="minimum")
        )
    return artists, handles


def _boundary_xy(w: np.ndarray, bias: bool, box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The decision boundary w1 a1 + w2 a2 (+ b) = 0 across ``box`` (nan for w ~ 0)."""
    b = float(w[2]) if bias and w.size > 2 else 0.0
    w1, w2 = float(w[0]), float(w[1])
    if not (np.isfinite(w1) and np.isfinite(w2)) or abs(w1) + abs(w2) < 1e-12:
        return np.array([np.nan, np.nan]), np.array([np.nan, np.nan])
    if abs(w2) >= abs(w1):
        a1 = np.array(box[0], float)
        return a1, -(w1 * a1 + b) / w2
    a2 = np.array(box[1], float)
    return -(w2 * a2 + b) / w1, a2


def _data_box(data: np.ndarray) -> np.ndarray:
    pts = data[:, :2]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    pad = 0.08 * (hi - lo)
    return np.column_stack([lo - pad, hi + pad])


def _draw_data(ax: Axes, pd: PlotData) -> np.ndarray:
    """The data points by class, the optimum's decision boundary; returns the data box."""
    assert pd.problem is not None and pd.problem.data is not None
    data = pd.problem.data
    box = _data_box(data)
    labels = data[:, -1] > 0.5
    ax.scatter(*data[~labels, :2].T, s=14, marker="o", c="#9a9a9a", lw=0, label="class 0")
    ax.scatter(*data[labels, :2].T, s=16, marker="^", c="#4a4a4a", lw=0, label="class 1")
    bias = bool(pd.problem.model.get("bias"))
    for m in pd.minimizers:
        ax.plot(*_boundary_xy(m, bias, box), color="k", ls="--", lw=1.2)
    ax.set_xlim(*box[0])
    ax.set_ylim(*box[1])
    ax.set_xlabel("feature 1")
    ax.set_ylabel("feature 2")
    ax.set_title("data and decision boundaries", fontsize=10)
    return box


def _loss_ylabel(scale: str, pd: PlotData) -> str:
    if scale == "gap":
        return f"loss − minimum ({format_number(pd.min_value, 'label')})"
    return "loss"


def _curve_of(pd: PlotData, k: int) -> tuple[np.ndarray, np.ndarray | None]:
    """A configuration's curve: the single run's loss, or the median and quartiles over seeds."""
    ts = pd.traces_of(k)
    aligned = curves.align([t.loss for t in ts], [t.status for t in ts], pd.n_records)
    if len(ts) == 1:
        n = ts[0].loss.shape[0]
        return aligned[0, :n], None
    q = curves.quantiles(aligned)
    return q[1], q[[0, 2]]


def _finite_or_nan(a: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(a), a, np.nan)


def _draw_loss(ax: Axes, pd: PlotData, colors: Sequence[Any]) -> tuple[str, list[Any]]:
    """Loss against step per configuration (median and quartile band over seeds)."""
    scale = curves.loss_scale([t.loss for t in pd.traces], pd.min_value)
    lines = []
    top = first = -np.inf  # the highest point, and the highest start
    for k in range(len(pd.labels)):
        med, band = _curve_of(pd, k)
        steps = np.arange(med.shape[0]) * pd.every
        idx = curves.subsample(med.shape[0], MAX_POINTS)
        y = _finite_or_nan(curves.transform(med, scale, pd.min_value))
        if np.isfinite(y).any():
            top = max(top, float(np.nanmax(y)))
        if y.size and np.isfinite(y[0]):
            first = max(first, float(y[0]))
        (line,) = ax.plot(steps[idx], y[idx], color=colors[k], lw=1.5, label=pd.labels[k])
        lines.append(line)
        if band is not None:
            lo = _finite_or_nan(curves.transform(band[0], scale, pd.min_value))
            hi = _finite_or_nan(curves.transform(band[1], scale, pd.min_value))
            ax.fill_between(steps[idx], lo[idx], hi[idx], color=colors[k], alpha=0.2, lw=0)
        # A cross where the curve ends in divergence: the run's, or the median's over seeds
        # (whose tail is inf once more than half of the seeds diverged).
        finite = np.flatnonzero(np.isfinite(y))
        single_diverged = band is None and pd.traces_of(k)[0].status == "diverged"
        if finite.size and (single_diverged or finite[-1] < y.size - 1):
            ax.plot(steps[finite[-1]], y[finite[-1]], "x", color=colors[k], ms=9, mew=2)
    if scale != "linear":
        ax.set_yscale("log")
    if pd.target is not None:
        tgt = float(curves.transform(np.array([pd.target]), scale, pd.min_value)[0])
        if np.isfinite(tgt):
            ax.axhline(tgt, color="k", ls=":", lw=1)
            ax.update_datalim([[0.0, tgt]], updatex=False)  # keep the target in view
            ax.autoscale_view(scalex=False)
            top = max(top, tgt)
    if scale != "linear" and np.isfinite(top):
        # At most 3 decades above the highest start (a diverging run would stretch the axis to
        # 1e16 for its last few steps) and LOSS_DECADES below the top (a run that hits 1e-80
        # would flatten every other curve); what lies beyond sits past the edges.
        if np.isfinite(first):
            top = min(top, first * 1e3)
        low, high = ax.get_ylim()
        ax.set_ylim(max(low, top * 10.0**-LOSS_DECADES), min(high, top * 2.0))
    ax.set_xlabel("step")
    ax.set_ylabel(_loss_ylabel(scale, pd))
    many = len(pd.seeds) > 1
    ax.set_title(
        f"median and quartiles over {len(pd.seeds)} seeds" if many else "loss", fontsize=10
    )
    ax.set_xlim(0, pd.steps)
    ax.grid(True, which="major", alpha=0.3)
    return scale, lines


def _draw_test_loss(ax: Axes, pd: PlotData, colors: Sequence[Any], scale: str) -> bool:
    """Each configuration's test loss at its evaluations, dashed (the median over seeds of
    the runs evaluated at the same steps as the first): whether any was drawn."""
    drawn = False
    for k in range(len(pd.labels)):
        evaluated = [t.test_loss for t in pd.traces_of(k) if t.test_loss is not None]
        if not evaluated:
            continue
        steps = evaluated[0][0]
        same = [v for s, v in evaluated if s.shape == steps.shape and np.array_equal(s, steps)]
        with np.errstate(all="ignore"):
            med = np.nanmedian(np.array(same), axis=0) if len(same) > 1 else same[0]
            y = _finite_or_nan(curves.transform(med, scale, pd.min_value))
        if np.isfinite(y).any():
            ax.plot(steps, y, color=colors[k], lw=1.2, ls="--")
            drawn = True
    return drawn


def _draw_ecdf(ax: Axes, pd: PlotData, colors: Sequence[Any]) -> None:
    """COCO-style ECDF: the fraction of (seed, target) pairs reached against the step (log),
    targets = minimum + 1e-1 .. 1e-8 (the best loss found by any run if no minimum is known)."""
    best = [float(np.nanmin(t.loss)) for t in pd.traces if np.isfinite(t.loss).any()]
    _, targets = curves.ecdf_targets(pd.min_value, min(best) if best else 0.0)
    grid = np.unique(np.geomspace(1, max(pd.steps, 1), 400).round())
    for k in range(len(pd.labels)):
        hits = np.array([curves.first_hits(t.loss, pd.every, targets) for t in pd.traces_of(k)])
        # Hits at step 0 (a start already at a target) show from the first plotted step.
        hits = np.where(hits == 0, 1, hits)
        ax.step(grid, curves.ecdf(hits, grid), where="post", color=colors[k], lw=1.5)
    ax.set_xscale("log")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(1, max(pd.steps, 2))
    ax.set_xlabel("step")
    ax.set_ylabel("fraction of (seed, target) pairs reached")
    what = "minimum" if pd.min_value is not None else "best loss found"
    ax.set_title(f"targets: {what} + 1e-1 … 1e-8", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)


def target_text(target: float, min_value: float | None) -> str:
    """The target as a legend shows it: four significant digits, or as many as tell it apart
    from the minimum (-0.2499 is not the minimum -0.25)."""
    text = format_number(target, "legend")
    if min_value is not None and text == format_number(min_value, "legend"):
        return distinct_number(target, min_value)
    return text


def target_legend(target: float, min_value: float | None, gap: bool) -> str:
    """The target as the legend names it: :func:`target_text`, and where the loss panel shows
    the gap to the minimum (its dotted line at that gap, not at the target), the gap too:
    ``-0.2499, gap 0.0001``."""
    text = target_text(target, min_value)
    if gap and min_value is not None:
        text += f", gap {format_number(target - min_value, 'legend')}"
    return text


@dataclass
class Drawing:
    """The figure and the artists an animation updates."""

    fig: Figure
    notes: list[str]
    paths: list[tuple[Trace, Any, Any]]  # (trace, path line, head marker)
    loss_lines: list[Any]
    boundaries: list[tuple[Trace, Any, np.ndarray]]
    markers: list[Any]  # start and minimum, drawn over the paths
    title: Any
    # (trace, its interval markers, their record indices): an animation shows those passed
    path_marks: list[tuple[Trace, Any, np.ndarray]] = field(default_factory=list)


def draw(pd: PlotData, contour: bool | None = None, animation: bool = False) -> Drawing:
    """Build the figure of :func:`plan` (raises :class:`UsageError` for an impossible contour)."""
    require_matplotlib()
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    p = plan(pd, contour, animation)
    n_panels = int(p.surface) + int(p.data) + int(p.loss) + int(p.ecdf)
    widths = [1.22] * int(p.surface) + [1.0] * (n_panels - int(p.surface))
    # Wide enough for the legend's longest entry, each on a line of its own at worst.
    inches = max(4.3 * sum(widths), (max(map(len, pd.labels), default=0) + 5) / 12 + 0.2)
    fig = Figure(figsize=(inches, 4.7), layout="constrained", dpi=100)
    axes = list(fig.subplots(1, n_panels, width_ratios=widths, squeeze=False)[0])
    colors = _colors(len(pd.labels))
    d = Drawing(fig, list(p.notes), [], [], [], [], None)
    many = len(pd.seeds) > 1
    alpha = 1.0 if not many else max(0.25, 0.8 / math.sqrt(len(pd.seeds)))
    extra: list[Any] = []  # legend entries after the configurations'
    if p.surface:
        extra += _draw_paths(axes.pop(0), d, pd, colors, alpha)
    if p.data:
        extra += _draw_boundaries(axes.pop(0), d, pd, colors, alpha, animation)
    loss_axes = axes.pop(0)
    scale, d.loss_lines = _draw_loss(loss_axes, pd, colors)
    if _draw_test_loss(loss_axes, pd, colors, scale):
        extra.append(Line2D([], [], color="k", ls="--", lw=1, label="test loss (held-out rows)"))
    if pd.target is not None:
        label = f"target ({target_legend(pd.target, pd.min_value, scale == 'gap')})"
        extra.append(Line2D([], [], color="k", ls=":", lw=1, label=label))
    if p.ecdf:
        _draw_ecdf(axes.pop(0), pd, colors)
    # With paths drawn, each configuration's entry shows its path's marker shape too.
    shapes = [path_marker(k) if p.surface else "" for k in range(len(pd.labels))]
    handles = [
        Line2D([], [], color=c, lw=2, marker=m, ms=6.5, mec="white", mew=0.8, label=label)
        for c, m, label in zip(colors, shapes, pd.labels, strict=True)
    ]
    handles += extra
    ncols = _legend_columns([h.get_label() for h in handles], inches)
    fig.legend(handles=handles, loc="outside lower center", ncols=ncols, frameon=False)
    seeds = f", {len(pd.seeds)} seeds" if many else ""
    d.title = fig.suptitle(f"{pd.name}: {pd.steps} steps{seeds}", fontsize=12)
    return d


def _legend_columns(labels: Sequence[str], inches: float) -> int:
    """As many legend columns (at most 5) as entries of the longest label fit side by side in
    a figure ``inches`` wide (about 12 characters an inch at the legend's 10 points, and 5 for
    an entry's line): a legend wider than the figure would be cut at its edges."""
    longest = max((len(label) for label in labels), default=1)
    return max(1, min(len(labels), 5, int(inches * 12 // (longest + 5))))


def _draw_paths(
    ax: Axes, d: Drawing, pd: PlotData, colors: Sequence[Any], alpha: float
) -> list[Any]:
    """The contour panel: the loss surface, each run's path (with the moving head an animation
    updates), start and minimum markers. Fills ``d``; returns legend entries."""
    drawn = [_path_xy(t) for t in pd.traces]
    assert pd.problem is not None
    # The box follows the runs that stayed finite; diverging paths are clipped to it.
    kept = [xy for t, xy in zip(pd.traces, drawn, strict=True) if t.status != "diverged"]
    box = _view_box(pd.problem.domain, kept)
    _draw_surface(ax, d.fig, surface(pd, box))
    left = 0
    widths = path_widths(len(pd.labels))
    marked: set[int] = set()
    for t, xy in zip(pd.traces, drawn, strict=True):
        c, lw = colors[t.config], widths[t.config]
        (line,) = ax.plot(xy[:, 0], xy[:, 1], color=c, lw=lw, alpha=alpha, zorder=4)
        if t.config not in marked:  # one set of markers per configuration: its first seed's
            marked.add(t.config)
            _mark_path(ax, d, t, box, c, len(pd.labels))
        inside = np.all((xy >= box[:, 0]) & (xy <= box[:, 1]), axis=1)
        left += int(not inside.all())
        if t.status == "diverged":
            ax.plot(*xy[-1], "x", color=c, ms=9, mew=2, zorder=5)
        head = ax.plot([], [], "o", color=c, ms=6, mec="k", mew=0.6, zorder=7)[0]
        d.paths.append((t, line, head))
    if left:
        d.notes.append(f"{left} path(s) leave the plotted box and are clipped")
    starts = [t.x[0] for t in pd.traces if t.x is not None and t.x.shape[0]]
    marks, handles = _mark_points(ax, pd, starts)
    d.markers += marks
    ax.set_xlim(*box[0])
    ax.set_ylim(*box[1])
    ax.set_xlabel(pd.variables[0])
    ax.set_ylabel(pd.variables[1])
    batch = " (full batch)" if pd.kind == "logreg" else ""
    ax.set_title(f"paths on the loss surface{batch}", fontsize=10)
    return handles


#: Markers along each configuration's path (one shape per configuration, as in the legend),
#: spaced evenly by distance along the path and staggered between configurations, drawn over
#: every path line: where paths share a valley, each still shows its colour and shape.
PATH_MARKERS = ("s", "^", "D", "v", "P", "X", "p", "h", "<", ">")
#: Markers on the paths of all configurations together (fewer per path when there are many
#: paths, which then crowd), and the fewest and most on one path.
PATH_MARKS = 24
PATH_MARKS_EACH = (3, 8)


def path_marker(config: int) -> str:
    """The marker shape of configuration ``config``'s path and legend entry."""
    return PATH_MARKERS[config % len(PATH_MARKERS)]


def mark_indices(xy: np.ndarray, box: np.ndarray, config: int, n_configs: int) -> np.ndarray:
    """Indices of the points of path ``xy`` to mark: :data:`PATH_MARKS` / ``n_configs`` points
    (within :data:`PATH_MARKS_EACH`) evenly spaced by distance along the path (measured in
    fractions of ``box``, up to its first non-finite point), shifted by ``config / n_configs`` of
    a spacing so that configurations whose paths coincide mark different places. A path shorter
    than 2% of the box gets none (its markers would pile up on the start)."""
    finite = np.all(np.isfinite(xy), axis=1)
    end = int(np.argmin(finite)) if not finite.all() else xy.shape[0]
    steps = np.diff(xy[:end] / (box[:, 1] - box[:, 0]), axis=0)
    along = np.concatenate([[0.0], np.cumsum(np.hypot(steps[:, 0], steps[:, 1]))])
    if end < 2 or along[-1] < 0.02:
        return np.zeros(0, dtype=int)
    n_configs = max(n_configs, 1)
    fewest, most = PATH_MARKS_EACH
    marks = min(most, max(fewest, PATH_MARKS // n_configs))
    at = (np.arange(marks) + (config + 0.5) / n_configs) * (along[-1] / marks)
    return np.unique(np.minimum(np.searchsorted(along, at), end - 1))


def _mark_path(ax: Axes, d: Drawing, t: Trace, box: np.ndarray, color: Any, n: int) -> None:
    assert t.x is not None
    records = curves.subsample(t.x.shape[0], MAX_POINTS)  # the points the path line draws
    xy = t.x[records]
    idx = mark_indices(xy, box, t.config, n)
    (marks,) = ax.plot(
        xy[idx, 0], xy[idx, 1], ls="", marker=path_marker(t.config), ms=6.5, color=color,
        mec="white", mew=0.8, zorder=5,
    )  # fmt: skip
    d.path_marks.append((t, marks, records[idx]))


#: The narrowest path line (the last configuration's), and the most the widest may add.
PATH_WIDTH = 1.4
PATH_WIDTH_SPREAD = 4.5


def path_widths(n: int) -> list[float]:
    """Line widths of ``n`` configurations' paths, in drawing order: the first drawn is the
    widest, each later one narrower, so paths that run along the same valley show as nested
    stripes (every colour stays visible) instead of the last one hiding the others."""
    if n <= 1:
        return [PATH_WIDTH + 0.2] * n
    step = min(2.0, PATH_WIDTH_SPREAD / (n - 1))
    return [PATH_WIDTH + step * (n - 1 - k) for k in range(n)]


def _draw_boundaries(
    ax: Axes, d: Drawing, pd: PlotData, colors: Sequence[Any], alpha: float, animation: bool
) -> list[Any]:
    """The data panel: the two classes and each run's decision boundary (its final one, or
    none yet in an animation). Fills ``d``; returns legend entries."""
    from matplotlib.lines import Line2D

    box = _draw_data(ax, pd)
    assert pd.problem is not None
    bias = bool(pd.problem.model.get("bias"))
    for t in pd.traces:
        line = ax.plot([], [], color=colors[t.config], lw=1.5, alpha=alpha)[0]
        if t.final_x is not None and not animation:
            line.set_data(*_boundary_xy(t.final_x, bias, box))
        d.boundaries.append((t, line, box))
    handles = [Line2D([], [], color="k", ls="--", lw=1.2, label="optimum's boundary")]
    for marker, color, label in (("o", "#9a9a9a", "class 0"), ("^", "#4a4a4a", "class 1")):
        handles.append(Line2D([], [], ls="", marker=marker, color=color, label=label))
    return handles


# ---------------------------------------------------------------------------------------------
# Files


# Leave creation dates out so the same picture gives the same bytes (svg, pdf).
_METADATA: dict[str, dict[str, Any]] = {
    "png": {},
    "svg": {"Date": None},
    "pdf": {"CreationDate": None, "ModDate": None},
}


def save_figure(fig: Figure, path: str | Path, dpi: int = 100) -> None:
    """Save a matplotlib figure atomically; the format follows the extension (png, svg, pdf).

    A helper for every picture adambench writes (sweep heatmaps too).
    """
    kind = FIGURE_FORMATS.get(Path(path).suffix.lower())
    if kind is None:
        raise OutputError(
            f"{path}: unknown picture format '{Path(path).suffix or '(none)'}'; "
            f"use {', '.join(FIGURE_FORMATS)}"
        )
    import matplotlib

    # A fixed salt makes the SVG element ids, and so the file, the same for the same picture.
    salt = matplotlib.rc_context({"svg.hashsalt": "adambench"})
    with atomic_output(path, f".{kind}") as tmp, salt:
        fig.savefig(tmp, format=kind, dpi=dpi, metadata=_METADATA[kind])


def write_figure(pd: PlotData, path: str | Path, contour: bool | None = None) -> list[str]:
    """Draw the static picture of ``pd`` to ``path``; returns notes for the user."""
    check_figure_path(path)
    d = draw(pd, contour)
    save_figure(d.fig, path)
    return d.notes


def frame_records(pd: PlotData, frames: int) -> np.ndarray:
    """The record index shown by each frame: spaced quadratically in the step (more frames at
    the start, where paths move fastest), distinct, first 0 and last the final record."""
    n = pd.n_records
    u = np.linspace(0.0, 1.0, frames) ** 2
    return np.unique(np.round(u * (n - 1)).astype(np.int64))


def write_animation(
    pd: PlotData,
    path: str | Path,
    frames: int = DEFAULT_FRAMES,
    fps: int = DEFAULT_FPS,
    contour: bool | None = None,
    on_frame: Callable[[int, int], None] | None = None,
) -> list[str]:
    """Animate the paths (and loss curves) step by step, all configurations at once.

    The static part (contours, axes, legend) is drawn once and each frame redraws only the
    moving artists (blitting on the Agg canvas): matplotlib's ``PillowWriter`` redraws the whole
    figure per frame (about 0.4 s each on Beale, 60 s for 140 frames; blitting takes 2 s). GIF
    frames share one palette, taken from the last frame (rendered first), so the encoder stores
    only the pixels that change and each frame is kept as 1 byte per pixel; the last frame is
    held a second. mp4 frames stream to ffmpeg's stdin. Returns notes for the user.
    """
    kind = check_animation_path(path)
    check_frames(frames, fps)
    anim = _Animator(pd, frames, contour)
    with atomic_output(path, f".{kind}") as tmp:
        if kind == "gif":
            _write_gif(anim, tmp, fps, on_frame)
        else:
            _write_mp4(anim, tmp, fps, on_frame, name=str(path))
    return anim.notes


ANIMATION_DPI = 80


@dataclass
class Frames:
    """Rendered animation frames (RGB arrays of one size), their steps and the drawing's notes."""

    images: list[np.ndarray]
    steps: list[int]
    notes: list[str]


def render_frames(
    pd: PlotData, frames: int = DEFAULT_FRAMES, contour: bool | None = None
) -> Frames:
    """The frames of :func:`write_animation` as RGB arrays (one per shown record)."""
    anim = _Animator(pd, frames, contour)
    return Frames([anim.render(k) for k in range(len(anim.steps))], anim.steps, anim.notes)


class _Animator:
    """The animation figure, drawn once; ``render(k)`` gives frame k as an RGB array."""

    def __init__(self, pd: PlotData, frames: int, contour: bool | None) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.pd = pd
        self.d = d = draw(pd, contour, animation=True)
        self.notes = d.notes
        self.records = frame_records(pd, frames)
        self.steps = [int(i) * pd.every for i in self.records]
        scale = curves.loss_scale([t.loss for t in pd.traces], pd.min_value)
        self.shown = [
            _finite_or_nan(curves.transform(_curve_of(pd, k)[0], scale, pd.min_value))
            for k in range(len(pd.labels))
        ]
        self.bias = bool(pd.problem is not None and pd.problem.model.get("bias"))
        moving: list[Any] = [d.title, *d.loss_lines]
        moving += [a for _, line, head in d.paths for a in (line, head)]
        moving += [line for _, line, _ in d.boundaries]
        moving += [marks for _, marks, _ in d.path_marks]
        moving += d.markers  # after the paths, so a path never hides the start or the minimum
        for a in moving:
            a.set_animated(True)
        self.moving = moving
        d.fig.set_dpi(ANIMATION_DPI)
        self.canvas = FigureCanvasAgg(d.fig)
        self.canvas.draw()  # everything that does not move, once
        self.background = self.canvas.copy_from_bbox(d.fig.bbox)

    def _update(self, i: int) -> None:
        d, pd = self.d, self.pd
        for t, line, head in d.paths:
            assert t.x is not None
            upto = min(i + 1, t.x.shape[0])
            idx = curves.subsample(upto, MAX_POINTS)
            line.set_data(t.x[idx, 0], t.x[idx, 1])
            if upto:
                head.set_data([t.x[upto - 1, 0]], [t.x[upto - 1, 1]])
        for t, marks, records in d.path_marks:
            assert t.x is not None
            passed = records[records <= i]
            marks.set_data(t.x[passed, 0], t.x[passed, 1])
        for line, y in zip(d.loss_lines, self.shown, strict=True):
            upto = min(i + 1, y.shape[0])
            idx = curves.subsample(upto, MAX_POINTS)
            line.set_data(np.arange(upto)[idx] * pd.every, y[idx])
        for t, line, box in d.boundaries:
            if t.x is not None and t.x.shape[0]:
                line.set_data(*_boundary_xy(t.x[min(i, t.x.shape[0] - 1)], self.bias, box))
        d.title.set_text(f"{pd.name}: step {int(i) * pd.every} of {pd.steps}")

    def render(self, k: int) -> np.ndarray:
        self.canvas.restore_region(self.background)
        self._update(int(self.records[k]))
        for a in self.moving:
            self.d.fig.draw_artist(a)
        return np.asarray(self.canvas.buffer_rgba())[..., :3].copy()


def _write_gif(
    anim: _Animator, path: str, fps: int, on_frame: Callable[[int, int], None] | None
) -> None:
    from PIL import Image

    n = len(anim.steps)
    # One palette for all frames, from the last (it shows every path): unchanged pixels keep
    # their index, so the encoder stores only what changed. 255 colours leave one index free
    # for the encoder's "unchanged pixel" transparency (optimize=True).
    palette = Image.fromarray(anim.render(n - 1)).quantize(
        colors=255, method=Image.Quantize.MEDIANCUT, kmeans=3, dither=Image.Dither.NONE
    )
    frames = []
    for k in range(n):
        rgb = Image.fromarray(anim.render(k))
        frames.append(rgb.quantize(palette=palette, dither=Image.Dither.NONE))
        if on_frame is not None:
            on_frame(k + 1, n)
    ms = round(1000 / fps)
    durations = [ms] * n
    durations[-1] += 1000  # hold the end for a second
    frames[0].save(
        path,
        format="GIF",
        save_all=True,
        append_images=frames[1:],
        duration=durations,
        loop=0,
        optimize=True,
    )


def _write_mp4(
    anim: _Animator,
    path: str,
    fps: int,
    on_frame: Callable[[int, int], None] | None,
    name: str,
) -> None:
    """Stream the frames to ffmpeg writing ``path``; errors name the user's file, ``name``."""
    import subprocess

    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise OutputError(f"{name}: .mp4 needs ffmpeg, which is not on PATH")
    n = len(anim.steps)
    first = anim.render(0)
    h, w = first.shape[:2]
    cmd = [ffmpeg, "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24"]
    cmd += ["-s", f"{w}x{h}", "-r", str(fps), "-i", "-", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"]
    cmd += ["-pix_fmt", "yuv420p", "-f", "mp4", path]
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        raise OutputError(f"{name}: cannot run ffmpeg ({exc})") from None
    with proc:  # closes the pipes
        assert proc.stdin is not None and proc.stderr is not None
        try:
            for k in range(n):
                proc.stdin.write((first if k == 0 else anim.render(k)).tobytes())
                if on_frame is not None:
                    on_frame(k + 1, n)
        except BrokenPipeError:
            pass  # ffmpeg stopped early: its message and exit code say why, below
        finally:
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.close()
        message = proc.stderr.read().decode(errors="replace").strip().splitlines()
        code = proc.wait()
    if code != 0:
        raise OutputError(f"{name}: ffmpeg failed ({message[-1] if message else code})")


# ---- sweep plots (issue 5) ----
# Pictures of a sweep (`adambench sweep --plot`, `sweep-show --plot`). matplotlib is imported
# inside each function (Agg backend, no display needed), so importing this module costs nothing;
# figures are written atomically (:func:`adambench.files.atomic_output`).


def sweep_plot(sw: SweepResult, path: str | Path, metric: str | None = None) -> str:
    """Draw a sweep to ``path`` (.png, .svg or .pdf) and return what was drawn.

    One swept hyperparameter (shared by every optimizer): the metric against its value, a line
    per optimizer with the quartile band; failed configurations are marked x at the top. Two
    or more: the heatmaps of :meth:`adambench.sweeps.SweepResult.heatmaps`, one panel each.
    """
    from adambench.errors import UsageError

    m = metric or sw.metric
    swept = [[i for i in b.axes if len(sw.axes[i].values) > 1] for b in sw.bases]
    names = {sw.axes[i].name for mine in swept for i in mine}
    if not names:
        raise UsageError("nothing to plot: no hyperparameter takes more than one value")
    if all(len(mine) <= 1 for mine in swept) and len(names) == 1:
        fig = sweep_line_figure(sw, m)
        kind = "line"
    else:
        fig = sweep_heatmap_figure(sw, m)
        kind = "heatmap"
    save_figure(fig, path, dpi=120)
    return kind


def sweep_metric_label(sw: SweepResult, metric: str, log: bool) -> str:
    from adambench.sweeps.grid import METRIC_NAMES

    what = METRIC_NAMES[metric]
    if metric != "success_rate":
        what = f"median {what}"
    if len(sw.seeds) > 1:
        what += f" over {len(sw.seeds)} seeds"
    return f"log10 {what}" if log else what


def _axis_positions(axis: Any, points: Sequence[Any]) -> tuple[np.ndarray, list[str]]:
    """Where the points of a line figure sit on the swept axis: their values, or for a choice
    such as ``schedule`` their positions, with the names as tick labels."""
    if any(isinstance(v, str) for v in axis.values):
        ticks = [str(v) for v in axis.values]
        return np.array([float(ticks.index(str(p.values[axis.name]))) for p in points]), ticks
    return np.array([float(p.values[axis.name]) for p in points]), []


def sweep_line_figure(sw: SweepResult, metric: str) -> Figure:
    """The metric against the one swept value, a line (and quartile band) per optimizer.

    Losses are drawn as the tables show them: as the gap to a known non-zero minimum (on
    ``noisy_logreg`` every good configuration ends at 0.3117, one flat row on a loss axis)."""
    from matplotlib.figure import Figure

    from adambench.report.sweep_tables import gap_offset

    stats = sw.stats(metric)
    offset = gap_offset(sw, metric)
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    finite_all = [s.value - offset for s in stats if math.isfinite(s.value)]
    log_y = bool(metric in ("final_loss", "best_loss") and finite_all and min(finite_all) > 0)
    ticks: list[str] = []
    top = max(finite_all) if finite_all else 1.0
    name, log_x = "", False
    bands = len(sw.seeds) > 1 and metric != "success_rate"  # quartiles over seeds
    for b, base in enumerate(sw.bases):
        pts = [i for i, p in enumerate(sw.points) if p.base == b]
        axis = next((sw.axes[i] for i in base.axes if len(sw.axes[i].values) > 1), None)
        if axis is None or not pts:
            continue
        name = axis.name
        log_x = log_x or axis.scale == "log"
        x, ticks = _axis_positions(axis, [sw.points[i] for i in pts])
        # Failed configurations in a strip above the data, one row per optimizer, so they
        # neither look like values nor hide each other.
        lift = (1.25 ** (b + 1)) * top if log_y else top + 0.05 * (b + 1) * max(abs(top), 1e-12)
        _sweep_line(ax, base.label, x, [stats[i] for i in pts], offset, lift, bands)
    if log_x:
        ax.set_xscale("log")
    if ticks:
        ax.set_xticks(range(len(ticks)), ticks)
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel(name)
    ax.set_ylabel(_sweep_line_label(sw, metric, offset))
    ax.set_title(
        f"{sw.problem}: {sw.steps} steps (★ best; above the data: x diverged, o not reached)",
        fontsize=10,
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def _sweep_line(
    ax: Axes,
    label: str,
    x: np.ndarray,
    st: Sequence[PointStat],
    offset: float,
    lift: float,
    band: bool,
) -> None:
    """One optimizer's line: its values less ``offset``, the quartile band (with ``band``), its
    failures at height ``lift`` (x diverged, o never reached the target), its best as a star."""
    y = np.array([s.value for s in st]) - offset
    ok = np.isfinite(y)
    (line,) = ax.plot(x[ok], y[ok], "o-", label=label, ms=4)
    if band:
        q1 = np.array([s.q1 for s in st]) - offset
        q3 = np.array([s.q3 for s in st]) - offset
        shown = ok & np.isfinite(q3)
        ax.fill_between(x[shown], q1[shown], q3[shown], color=line.get_color(), alpha=0.2)
    for state, marker in (("diverged", "x"), ("not_reached", "o")):
        sel = np.array([s.state == state for s in st])
        if sel.any():
            ax.plot(x[sel], np.full(sel.sum(), lift), marker, color=line.get_color(),
                    ms=7, mew=2, mfc="none")  # fmt: skip
    if ok.any():
        j = min(np.flatnonzero(ok), key=lambda i: st[i].rank)
        ax.plot([x[j]], [y[j]], "*", color=line.get_color(), ms=14, mec="black")


def _sweep_line_label(sw: SweepResult, metric: str, offset: float) -> str:
    """The line plot's y label: what is drawn (``median final gap over 3 seeds``), and the
    minimum subtracted when it is the gap."""
    from adambench.report.sweep_tables import shown_name
    from adambench.sweeps.grid import METRIC_NAMES

    label = sweep_metric_label(sw, metric, False)
    if not offset:
        return label
    label = label.replace(METRIC_NAMES[metric], shown_name(sw, metric))
    return f"{label}\n(loss − minimum {format_number(offset, 'label')})"


def sweep_heatmap_figure(sw: SweepResult, metric: str) -> Figure:
    """One panel per heatmap: viridis, bright = best; failed cells grey and written out.

    The panels share the colour scale of the terminal heatmap
    (:func:`adambench.report.sweep_tables.colour_scale`: log10 of losses, capped at
    ``COLOUR_DECADES`` below the worst, stated on the colour bar); they show the gap to the
    minimum where the tables do. Cell labels are sized to their cells, in black or white
    against the cell's colour."""
    import matplotlib
    from matplotlib.figure import Figure

    from adambench.report.sweep_tables import gap_offset
    from adambench.sweeps.grid import MAX_HEATMAPS

    stats = sw.stats(metric)
    maps = sw.heatmaps(metric)[:MAX_HEATMAPS]
    offset = gap_offset(sw, metric)
    scale = _heatmap_scale(maps, stats, metric, offset)
    ncols = min(len(maps), 2)
    nrows = math.ceil(len(maps) / ncols)
    w = max(len(hm.col_labels) for hm in maps)
    h = max(len(hm.row_labels) for hm in maps)
    size = (ncols * (1.8 + _CELL_INCHES[0] * w), nrows * (1.4 + _CELL_INCHES[1] * h))
    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    cmap = matplotlib.colormaps["viridis" if metric == "success_rate" else "viridis_r"]
    cmap = cmap.with_extremes(bad="0.85")
    image = None
    for k, hm in enumerate(maps):
        ax = axes[k // ncols][k % ncols]
        image = _heatmap_panel(ax, hm, stats, metric, cmap, scale, sw.problem, offset)
    for k in range(len(maps), nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    if image is not None:
        label = _colour_bar_label(sw, metric, scale)
        fig.colorbar(
            image, ax=axes, shrink=0.8, label=label, extend="min" if scale.capped else "neither"
        )
    fig.suptitle(f"{sw.problem}: {sw.steps} steps (red box: best; grey: failed)", fontsize=10)
    return fig


#: The nominal size of a heatmap picture's cell (width, height), in inches.
_CELL_INCHES = (1.0, 0.5)


def _colour_bar_label(sw: SweepResult, metric: str, scale: ColourScale) -> str:
    """The colour bar's label: what is shown, and the cap of a log scale."""
    from adambench.report.sweep_tables import COLOUR_DECADES, gap_offset, shown_name
    from adambench.sweeps.grid import METRIC_NAMES

    label = sweep_metric_label(sw, metric, scale.log)
    if gap_offset(sw, metric):
        label = label.replace(METRIC_NAMES[metric], shown_name(sw, metric))
    if scale.capped:
        label += f"\n(capped at {COLOUR_DECADES} decades below the worst)"
    return label


def _heatmap_scale(
    maps: Sequence[Heatmap], stats: Sequence[PointStat], metric: str, offset: float
) -> ColourScale:
    """The colour scale shared by a sweep's heatmap panels (the terminal's: see
    :func:`adambench.report.sweep_tables.colour_scale`)."""
    from adambench.report.sweep_tables import colour_scale

    shown = [
        stats[p].value - offset for hm in maps for row in hm.cells for p in row if p is not None
    ]
    return colour_scale(shown, metric)


#: How a metric's value is written in a heatmap picture's cell, when not in the "cell" style.
_CELL_STYLE = {"success_rate": "percent", "steps_to_target": "steps"}


def _heatmap_panel(
    ax: Axes,
    hm: Heatmap,
    stats: Sequence[PointStat],
    metric: str,
    cmap: Any,
    scale: ColourScale,
    problem: str,
    offset: float = 0.0,
) -> Any:
    """Draw one heatmap on ``ax``: the coloured grid, its cells' values (when there are at most
    150) or failures, the best cell boxed in red. Returns the image, for the colour bar."""
    from matplotlib.patches import Rectangle

    grid = np.full((len(hm.row_labels), len(hm.col_labels)), np.nan)
    for r, row in enumerate(hm.cells):
        for c, p in enumerate(row):
            if p is not None and math.isfinite(stats[p].value):
                grid[r, c] = scale.position(stats[p].value - offset)
    lo, hi = sorted((scale.position(scale.worst), scale.position(scale.best)))
    image = ax.imshow(grid, cmap=cmap, vmin=lo, vmax=hi, aspect="auto", origin="upper")
    ax.set_xticks(range(len(hm.col_labels)), hm.col_labels, rotation=45, ha="right")
    ax.set_yticks(range(len(hm.row_labels)), hm.row_labels)
    ax.set_xlabel(hm.col_name)
    ax.set_ylabel(hm.row_name)
    ax.set_title(hm.title or problem, fontsize=9)
    if grid.size <= 150:
        _cell_labels(ax, hm, stats, metric, lambda r, c: cmap(image.norm(grid[r, c])), offset)
    for r, c in hm.marked:
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, ec="red", lw=2.5))
    return image


def _cell_labels(
    ax: Axes,
    hm: Heatmap,
    stats: Sequence[PointStat],
    metric: str,
    colour_at: Callable[[int, int], Any],
    offset: float,
) -> None:
    """Write each cell's value (or its failure) in a font sized to the cell, black on the
    bright end of the map and white on the dark end."""
    texts = {}
    for r, row in enumerate(hm.cells):
        for c, p in enumerate(row):
            st = None if p is None else stats[p]
            if st is not None and st.state != "ok":
                texts[r, c] = ("div." if st.state == "diverged" else "–", "crimson")
            elif st is not None:
                text = format_number(st.value - offset, _CELL_STYLE.get(metric, "cell"))
                red, green, blue, _ = colour_at(r, c)
                ink = "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.5 else "white"
                texts[r, c] = (text, ink)
    longest = max((len(t) for t, _ in texts.values()), default=1)
    width_pt, height_pt = 72 * _CELL_INCHES[0], 72 * _CELL_INCHES[1]
    # A digit is about 0.6 em wide: fill about 80% of the cell's width, at most half its height.
    size = max(7.0, min(12.0, 0.8 * width_pt / (0.6 * longest), 0.5 * height_pt))
    for (r, c), (text, ink) in texts.items():
        ax.text(c, r, text, ha="center", va="center", fontsize=size, color=ink)
