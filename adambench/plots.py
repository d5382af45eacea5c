# ---- sweep plots (issue 5) ----
# Pictures of a sweep (`adambench sweep --plot`, `sweep-show --plot`). matplotlib is imported
# inside each function (Agg backend, no display needed), so importing this module costs nothing;
# figures are written atomically (temp file in the same folder, then os.replace).

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from matplotlib.figure import Figure

    from adambench.sweeps import SweepResult


def sweep_plot(sw: "SweepResult", path: "str | Path", metric: "str | None" = None) -> str:
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
    sweep_save_figure(fig, path)
    return kind


def sweep_metric_label(sw: "SweepResult", metric: str, log: bool) -> str:
    from adambench.sweeps import METRIC_NAMES

    what = METRIC_NAMES[metric]
    if metric != "success_rate":
        what = f"median {what}"
    if len(sw.seeds) > 1:
        what += f" over {len(sw.seeds)} seeds"
    return f"log10 {what}" if log else what


def sweep_line_figure(sw: "SweepResult", metric: str) -> "Figure":
    """The metric against the one swept value, a line (and quartile band) per optimizer."""
    import math

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    stats = sw.stats(metric)
    fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    name = ""
    finite_all = [s.value for s in stats if math.isfinite(s.value)]
    log_y = metric in ("final_loss", "best_loss") and finite_all and min(finite_all) > 0
    top = max(finite_all) if finite_all else 1.0
    log_y = bool(log_y)
    log_x = False
    for b, base in enumerate(sw.bases):
        pts = [(i, p) for i, p in enumerate(sw.points) if p.base == b]
        axis = next((sw.axes[i] for i in base.axes if len(sw.axes[i].values) > 1), None)
        if axis is None or not pts:
            continue
        name = axis.name
        log_x = log_x or axis.scale == "log"
        x = np.array([float(p.values[axis.name]) for _, p in pts])
        st = [stats[i] for i, _ in pts]
        y = np.array([s.value for s in st])
        ok = np.isfinite(y)
        (line,) = ax.plot(x[ok], y[ok], "o-", label=base.label, ms=4)
        if len(sw.seeds) > 1 and metric != "success_rate":
            q1 = np.array([s.q1 for s in st])
            q3 = np.array([s.q3 for s in st])
            band = ok & np.isfinite(q3)
            ax.fill_between(x[band], q1[band], q3[band], color=line.get_color(), alpha=0.2)
        # Failed configurations in a strip above the data, one row per optimizer, so they
        # neither look like values nor hide each other: x diverged, o never reached the target.
        lift = (1.25 ** (b + 1)) * top if log_y else top + 0.05 * (b + 1) * max(abs(top), 1e-12)
        for state, marker in (("diverged", "x"), ("not_reached", "o")):
            sel = np.array([s.state == state for s in st])
            if sel.any():
                ax.plot(x[sel], np.full(sel.sum(), lift), marker, color=line.get_color(),
                        ms=7, mew=2, mfc="none")  # fmt: skip
        if ok.any():
            j = min(np.flatnonzero(ok), key=lambda i: st[i].rank)
            ax.plot([x[j]], [y[j]], "*", color=line.get_color(), ms=14, mec="black")
    if log_x:
        ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel(name)
    ax.set_ylabel(sweep_metric_label(sw, metric, False))
    ax.set_title(
        f"{sw.problem}: {sw.steps} steps (★ best; above the data: x diverged, o not reached)",
        fontsize=10,
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def sweep_heatmap_figure(sw: "SweepResult", metric: str) -> "Figure":
    """One panel per heatmap: viridis, bright = best; failed cells grey and written out."""
    import math

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from adambench.sweeps import MAX_HEATMAPS

    stats = sw.stats(metric)
    maps = sw.heatmaps(metric)[:MAX_HEATMAPS]
    finite = [
        stats[p].value
        for hm in maps
        for row in hm.cells
        for p in row
        if p is not None and math.isfinite(stats[p].value)
    ]
    log = metric in ("final_loss", "best_loss") and bool(finite) and min(finite) > 0
    vals = [math.log10(v) for v in finite] if log else finite
    lo, hi = (min(vals), max(vals)) if vals else (0.0, 1.0)
    ncols = min(len(maps), 2)
    nrows = math.ceil(len(maps) / ncols)
    w = max(len(hm.col_labels) for hm in maps)
    h = max(len(hm.row_labels) for hm in maps)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(ncols * (1.6 + 0.75 * w), nrows * (1.2 + 0.45 * h)),
        layout="constrained",
        squeeze=False,
    )
    cmap = plt.get_cmap("viridis" if metric == "success_rate" else "viridis_r")
    cmap = cmap.with_extremes(bad="0.85")
    image = None
    for k, hm in enumerate(maps):
        ax = axes[k // ncols][k % ncols]
        grid = np.full((len(hm.row_labels), len(hm.col_labels)), np.nan)
        for r, row in enumerate(hm.cells):
            for c, p in enumerate(row):
                if p is not None and math.isfinite(stats[p].value):
                    v = stats[p].value
                    grid[r, c] = math.log10(v) if log else v
        image = ax.imshow(grid, cmap=cmap, vmin=lo, vmax=hi, aspect="auto", origin="upper")
        ax.set_xticks(range(len(hm.col_labels)), hm.col_labels, rotation=45, ha="right")
        ax.set_yticks(range(len(hm.row_labels)), hm.row_labels)
        ax.set_xlabel(hm.col_name)
        ax.set_ylabel(hm.row_name)
        ax.set_title(hm.title or sw.problem, fontsize=9)
        small = grid.size <= 150
        for r, row in enumerate(hm.cells):
            for c, p in enumerate(row):
                if p is None:
                    continue
                st = stats[p]
                if st.state != "ok":
                    text = "div." if st.state == "diverged" else "–"
                    ax.text(c, r, text, ha="center", va="center", fontsize=7, color="crimson")
                elif small:
                    v = st.value
                    text = (
                        f"{100 * v:.0f}%"
                        if metric == "success_rate"
                        else f"{v:.0f}"
                        if metric == "steps_to_target"
                        else f"{v:.2g}"
                    )
                    # Dark text on the bright (good) end of the map, white on the dark end.
                    red, green, blue, _ = cmap((grid[r, c] - lo) / (hi - lo) if hi > lo else 0.5)
                    ink = "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.5 else "white"
                    ax.text(c, r, text, ha="center", va="center", fontsize=6, color=ink)
        for r, c in hm.marked:
            ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, ec="red", lw=2.5))
    for k in range(len(maps), nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.8, label=sweep_metric_label(sw, metric, log))
    fig.suptitle(f"{sw.problem}: {sw.steps} steps (red box: best; grey: failed)", fontsize=10)
    return fig


def sweep_save_figure(fig: "Figure", path: "str | Path") -> None:
    """Save a figure so the file is either complete or absent (temp file + os.replace)."""
    import contextlib
    import os
    import tempfile
    from pathlib import Path

    import matplotlib.pyplot as plt

    from adambench.errors import OutputError

    p = Path(path)
    try:
        folder = p.parent if str(p.parent) else Path(".")
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{p.name}.", suffix=p.suffix)
    except OSError as exc:
        plt.close(fig)
        raise OutputError(f"{path}: cannot write ({exc.strerror})") from None
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=120)
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    finally:
        plt.close(fig)
