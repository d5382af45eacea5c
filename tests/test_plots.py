"""Pictures rendered for real and checked: sizes, pixels, artists, axes limits, frames."""

from __future__ import annotations

import json
import os
import re
import stat
import sys

import numpy as np
import pytest
from PIL import Image  # matplotlib and pillow are dependencies

import adambench
from adambench.errors import ConfigError, OutputError, UsageError
from adambench.report import curves, plots

TAB_BLUE, TAB_ORANGE = (31, 119, 180), (255, 127, 14)
TAB10 = [TAB_BLUE, TAB_ORANGE, (44, 160, 44), (214, 39, 40)]  # the first four path colours


@pytest.fixture(scope="module")
def beale():
    return adambench.run("beale", ["adam(lr=0.1)", "rmsprop(lr=0.01)"], steps=300)


@pytest.fixture(scope="module")
def saddle_seeds():
    return adambench.run(
        "saddle_point", ["adam(lr=0.05)", "sgd(lr=0.05)"], steps=200, seeds=4, start="random"
    )


@pytest.fixture(scope="module")
def logreg():
    return adambench.run("noisy_logreg", ["adam(lr=0.05)", "sgd(lr=0.5)"], steps=200)


def pixels(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).astype(int)


def count_color(px: np.ndarray, rgb, tol: int = 12) -> int:
    return int(np.sum(np.all(np.abs(px - np.array(rgb)) <= tol, axis=-1)))


def test_png_of_a_two_parameter_problem_is_a_real_picture(beale, tmp_path):
    path = tmp_path / "beale.png"
    assert plots.write_figure(plots.from_result(beale), path) == []
    d = plots.draw(plots.from_result(beale))
    w, h = d.fig.get_size_inches() * 100
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size == (int(w), int(h))
    px = pixels(path)
    assert px.std() > 20  # not blank
    assert len(np.unique(px.reshape(-1, 3), axis=0)) > 100  # contours, not flat fills
    # Both paths (and loss curves) are on the picture in their colours.
    assert count_color(px, TAB_BLUE) > 100 and count_color(px, TAB_ORANGE) > 100


def test_one_path_per_run_inside_the_axes_and_one_loss_line_per_configuration(beale):
    pd = plots.from_result(beale)
    d = plots.draw(pd)
    assert len(d.paths) == len(beale.runs) == 2
    assert len(d.loss_lines) == len(beale.configs)
    for trace, line, _ in d.paths:
        xy = line.get_xydata()
        np.testing.assert_array_equal(xy[0], beale.problem.start)
        np.testing.assert_array_equal(xy[-1], trace.x[-1])
        (x0, x1), (y0, y1) = line.axes.get_xlim(), line.axes.get_ylim()
        assert np.all((xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1))
    texts = [t.get_text() for t in d.fig.legends[0].get_texts()]
    assert texts == ["adam(lr=0.1)", "rmsprop(lr=0.01)", "start", "minimum", "target (1e-06)"]
    loss_ax = d.loss_lines[0].axes
    assert loss_ax.get_yscale() == "log" and loss_ax.get_xlim() == (0, 300)
    np.testing.assert_allclose(d.loss_lines[0].get_ydata()[0], beale.runs[0].loss_trace[0])


def test_contour_levels_are_log_for_wide_ranges_and_linear_for_negative_losses(beale, saddle_seeds):
    pd = plots.from_result(beale)
    s = plots.surface(pd, pd.problem.domain)
    assert s.log and s.z.shape == (plots.GRID, plots.GRID)
    # Log-spaced bands (the basin's rings) among the equal-area ones.
    lo, hi = s.levels[0], s.levels[-1]
    assert np.log10(hi / lo) > 5
    steps = np.logspace(np.log10(lo), np.log10(hi), plots.SCALE_BANDS + 1)[1:-1]
    assert all(np.isclose(s.levels, v, rtol=1e-12).any() for v in steps)
    assert (np.diff(s.levels) > 0).all()
    # The grid is the objective: Beale at (x, y) = grid corners.
    loss, _ = adambench.engine.jobs.problem_functions(beale.problem)
    assert s.z[0, 0] == pytest.approx(loss(np.array([[-4.5, -4.5]]))[0])
    pd = plots.from_result(saddle_seeds)
    s = plots.surface(pd, pd.problem.domain)
    assert not s.log and s.levels[0] < 0 < s.levels[-1]
    assert (np.diff(s.levels) > 0).all()


def test_auto_contour_without_a_minimum_is_linear_where_the_loss_goes_negative(write_yaml):
    path = write_yaml(
        "name: tilted\nvariables: [x, y]\nexpression: x**2 + y**2 - 1\nstart: [1, 1]\n"
    )
    r = adambench.run(path, ["adam(lr=0.1)"], steps=20)
    pd = plots.from_result(r)
    assert not plots.surface(pd, pd.problem.domain).log


def test_more_than_two_parameters_gives_loss_curves_only_and_says_so(tmp_path):
    r = adambench.run("rosenbrock_nd", ["adam(lr=0.01)"], steps=50, dim=4)
    pd = plots.from_result(r)
    p = plots.plan(pd)
    assert not p.surface and p.loss and not p.ecdf
    assert p.notes == ("rosenbrock_nd has 4 parameters, contours need 2: drawing loss curves only",)
    d = plots.draw(pd)
    assert len(d.fig.axes) == 1 and d.paths == []
    notes = plots.write_figure(pd, tmp_path / "nd.png")
    assert notes == list(p.notes) and pixels(tmp_path / "nd.png").std() > 10
    with pytest.raises(UsageError, match="contours need 2"):
        plots.plan(pd, contour=True)
    with pytest.raises(UsageError, match="cannot draw a contour"):
        plots.check_contour(r.problem, True)
    plots.check_contour(r.problem, None)  # no error without an explicit request


def test_several_seeds_give_a_quartile_band_and_an_ecdf(saddle_seeds):
    from matplotlib.collections import PolyCollection

    pd = plots.from_result(saddle_seeds)
    d = plots.draw(pd)
    loss_ax = d.loss_lines[0].axes
    bands = [c for c in loss_ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2  # one per configuration
    (ecdf_ax,) = [ax for ax in d.fig.axes if ax.get_title().startswith("targets:")]
    assert ecdf_ax.get_xscale() == "log" and "1e-8" in ecdf_ax.get_title()
    lines = ecdf_ax.get_lines()
    assert len(lines) == 2
    # The last ECDF value: the fraction of (seed, target) pairs any recorded loss reached.
    targets = saddle_seeds.problem.min_value + np.array(curves.ECDF_GAPS)
    for k, line in enumerate(lines):
        runs = saddle_seeds.runs_of(k)
        reached = sum(bool(np.any(r.loss_trace <= t)) for r in runs for t in targets) / (
            len(runs) * len(targets)
        )
        assert line.get_ydata()[-1] == pytest.approx(reached)
    # Every seed's path is drawn, from its own random start.
    starts = {tuple(t.x[0]) for t, _, _ in d.paths}
    assert len(d.paths) == 8 and len(starts) == 4


def test_logistic_regression_shows_data_and_decision_boundaries(logreg, tmp_path):
    pd = plots.from_result(logreg)
    d = plots.draw(pd)
    titles = [ax.get_title() for ax in d.fig.axes]
    assert "paths on the loss surface (full batch)" in titles
    assert "data and decision boundaries" in titles
    data_ax = d.fig.axes[titles.index("data and decision boundaries")]
    assert sum(len(c.get_offsets()) for c in data_ax.collections) == 200
    assert len(d.boundaries) == 2
    for trace, line, _ in d.boundaries:
        a = line.get_xydata()
        np.testing.assert_allclose(a @ trace.final_x, 0, atol=1e-9)  # w . a = 0
    plots.write_figure(pd, tmp_path / "logreg.png")
    assert pixels(tmp_path / "logreg.png").std() > 20


def test_diverging_paths_are_clipped_to_a_bounded_box_with_a_note():
    r = adambench.run("beale", ["sgd(lr=1)", "adam(lr=0.1)"], steps=100)
    assert r.runs[0].status == "diverged"
    d = plots.draw(plots.from_result(r))
    assert d.notes == ["1 path(s) leave the plotted box and are clipped"]
    ax = d.paths[0][1].axes
    assert ax.get_xlim() == (-4.5, 4.5)  # the box follows the finite run only
    loss_ax = d.loss_lines[0].axes
    crosses = [ln for ln in loss_ax.get_lines() if ln.get_marker() == "x"]
    assert len(crosses) == 1 and crosses[0].get_color() == d.loss_lines[0].get_color()
    start = r.runs[0].loss_trace[0]
    assert loss_ax.get_ylim()[1] <= 2e3 * start  # the blow-up does not stretch the axis


def test_svg_and_pdf_by_extension_and_byte_for_byte_repeatable(beale, tmp_path):
    pd = plots.from_result(beale)
    for ext, head in (("svg", b"<?xml"), ("pdf", b"%PDF")):
        a, b = tmp_path / f"a.{ext}", tmp_path / f"b.{ext}"
        plots.write_figure(pd, a)
        plots.write_figure(pd, b)
        assert a.read_bytes().startswith(head) and a.read_bytes() == b.read_bytes()


def test_a_saved_result_draws_the_same_picture(beale, tmp_path):
    data = json.loads(beale.to_json(trace=True))
    pd = plots.from_dict(data, "r.json")
    fresh = plots.from_result(beale)
    assert pd.labels == fresh.labels and pd.problem is not None and pd.problem_note is None
    for a, b in zip(pd.traces, fresh.traces, strict=True):
        np.testing.assert_array_equal(a.loss, b.loss)
        np.testing.assert_array_equal(a.x, b.x)
    plots.write_figure(pd, tmp_path / "saved.png")
    plots.write_figure(fresh, tmp_path / "fresh.png")
    np.testing.assert_array_equal(pixels(tmp_path / "saved.png"), pixels(tmp_path / "fresh.png"))


def test_a_result_without_traces_or_with_missing_keys_is_refused(beale):
    with pytest.raises(UsageError, match=r"r\.json: has no traces to draw"):
        plots.from_dict(json.loads(beale.to_json(trace=False)), "r.json")
    data = json.loads(beale.to_json(trace=True))
    del data["settings"]
    with pytest.raises(ConfigError, match=r"r\.json: not a complete adambench result \(missing"):
        plots.from_dict(data, "r.json")
    data = json.loads(beale.to_json(trace=True))
    data["runs"][0]["trace"]["loss"] = "oops"
    with pytest.raises(ConfigError, match="not a complete adambench result"):
        plots.from_dict(data, "r.json")


def test_a_gone_or_changed_problem_file_leaves_loss_curves_only(write_yaml, tmp_path):
    text = "name: bowl\nvariables: [a, b]\nexpression: a**2 + 3*b**2\nstart: [1, -2]\n"
    path = write_yaml(text, "bowl.yaml")
    data = json.loads(adambench.run(path, ["adam(lr=0.1)"], steps=30).to_json(trace=True))
    assert plots.from_dict(data, "r.json").problem is not None
    with open(path, "w") as fh:
        fh.write(text.replace("3*b**2", "4*b**2"))
    pd = plots.from_dict(data, "r.json")
    assert pd.problem is None and "changed since r.json was saved" in pd.problem_note
    os.remove(path)
    pd = plots.from_dict(data, "r.json")
    assert pd.problem is None and "is gone" in pd.problem_note
    assert plots.plan(pd).notes[0].endswith("is gone: drawing loss curves only")
    with pytest.raises(UsageError, match="cannot draw a contour: the problem file"):
        plots.plan(pd, contour=True)
    notes = plots.write_figure(pd, tmp_path / "gone.png")
    assert "drawing loss curves only" in notes[0]


def test_frames_are_denser_at_the_start_and_end_on_the_last_record(beale):
    pd = plots.from_result(beale)
    rec = plots.frame_records(pd, 40)
    assert rec[0] == 0 and rec[-1] == pd.n_records - 1 and len(rec) <= 40
    gaps = np.diff(rec)
    assert np.all(gaps > 0) and gaps[:5].mean() < gaps[-5:].mean()
    assert len(plots.frame_records(pd, 1000)) == pd.n_records  # never more than the records


def test_gif_has_the_expected_frames_and_holds_the_end(beale, tmp_path):
    pd = plots.from_result(beale)
    path = tmp_path / "a.gif"
    seen = []
    plots.write_animation(pd, path, frames=12, fps=10, on_frame=lambda n, m: seen.append(n))
    n = len(plots.frame_records(pd, 12))
    durations, firsts = [], []
    with Image.open(path) as im:
        assert im.format == "GIF" and im.n_frames == n == len(seen)
        for k in range(n):
            im.seek(k)
            durations.append(im.info["duration"])
            if k in (0, n - 1):
                firsts.append(np.asarray(im.convert("RGB")).astype(int))
        size = im.size
    assert durations[0] == 100 and durations[-1] == 1100
    w, h = plots.draw(pd).fig.get_size_inches() * plots.ANIMATION_DPI
    assert size == (int(w), int(h))
    first, last = firsts
    assert np.abs(first - last).sum() > 0  # the paths grew
    assert count_color(last, TAB_BLUE, tol=30) > count_color(first, TAB_BLUE, tol=30)


def test_animation_of_logistic_regression_moves_the_boundaries(logreg, tmp_path):
    pd = plots.from_result(logreg)
    frames = plots.render_frames(pd, frames=5)
    assert len(frames.images) == 5 and frames.steps[0] == 0 and frames.steps[-1] == 200
    assert np.abs(frames.images[0].astype(int) - frames.images[-1].astype(int)).sum() > 0


def fake_ffmpeg(tmp_path, monkeypatch, body: str) -> None:
    """Put a stand-in `ffmpeg` (a Python script with ``body``) first on PATH."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "ffmpeg"
    fake.write_text(f"#!{sys.executable}\nimport sys\n{body}")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")


def test_mp4_goes_through_ffmpeg_as_raw_frames(beale, tmp_path, monkeypatch):
    # The stand-in writes its arguments and copies the raw frames to the output file.
    fake_ffmpeg(
        tmp_path,
        monkeypatch,
        "open(sys.argv[-1] + '.args', 'w').write(' '.join(sys.argv[1:]))\n"
        "open(sys.argv[-1], 'wb').write(sys.stdin.buffer.read())\n",
    )
    pd = plots.from_result(beale)
    out = tmp_path / "a.mp4"
    seen = []
    plots.write_animation(pd, out, frames=4, fps=8, on_frame=lambda n, m: seen.append((n, m)))
    w, h = (plots.draw(pd).fig.get_size_inches() * plots.ANIMATION_DPI).astype(int)
    assert out.stat().st_size == 4 * w * h * 3 and seen[-1] == (4, 4)
    args = next(tmp_path.glob(".a.mp4.*.args")).read_text()
    assert f"-s {w}x{h}" in args and "-r 8" in args and "rgb24" in args


def test_a_failing_ffmpeg_is_one_line_and_leaves_no_file(beale, tmp_path, monkeypatch):
    fake_ffmpeg(
        tmp_path, monkeypatch, "sys.stderr.write('Unknown encoder libx264\\n')\nsys.exit(1)\n"
    )
    out = tmp_path / "a.mp4"
    with pytest.raises(OutputError, match=r"a\.mp4: ffmpeg failed \(Unknown encoder libx264\)"):
        plots.write_animation(plots.from_result(beale), out, frames=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin"]


def test_save_figure_is_atomic(beale, tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    d = plots.draw(plots.from_result(beale))

    def broken(self, fname, **kw):
        with open(fname, "wb") as fh:
            fh.write(b"half a picture")
        raise RuntimeError("disk on fire")

    plots.save_figure(d.fig, tmp_path / "ok.png")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "ok.png").stat().st_mode) == 0o666 & ~umask  # not 0600
    monkeypatch.setattr(Figure, "savefig", broken)
    with pytest.raises(RuntimeError):
        plots.save_figure(d.fig, tmp_path / "x.png")
    assert [p.name for p in tmp_path.iterdir()] == ["ok.png"]  # no half file, no temp file


def test_picture_paths_are_checked_by_extension(tmp_path, monkeypatch):
    assert plots.check_figure_path(tmp_path / "a.PNG") == "png"
    with pytest.raises(
        OutputError, match=re.escape("unknown output format '.jpg'; use .png, .svg, .pdf")
    ):
        plots.check_figure_path(tmp_path / "a.jpg")
    with pytest.raises(OutputError, match="does not exist"):
        plots.check_figure_path(tmp_path / "no" / "a.png")
    assert plots.check_animation_path(tmp_path / "a.gif") == "gif"
    monkeypatch.setattr(plots.shutil, "which", lambda name: None)
    with pytest.raises(OutputError, match="needs ffmpeg"):
        plots.check_animation_path(tmp_path / "a.mp4")
    with pytest.raises(UsageError, match="frames must be between 2 and 600"):
        plots.check_frames(1, 20)
    with pytest.raises(UsageError, match="fps must be between 1 and 100"):
        plots.check_frames(10, 0)


def test_missing_matplotlib_is_one_clear_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert not plots.have_matplotlib()
    with pytest.raises(UsageError, match=r"pip install matplotlib pillow"):
        plots.require_matplotlib()


def test_importing_plots_does_not_import_matplotlib():
    import subprocess

    code = "import sys, adambench.report.plots; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_relative_problem_path_is_also_found_next_to_the_result(tmp_path, monkeypatch):
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "bowl.yaml").write_text(
        "name: bowl\nvariables: [a, b]\nexpression: a**2 + 3*b**2\nstart: [1, -2]\n"
    )
    monkeypatch.chdir(folder)
    result = adambench.run("bowl.yaml", ["adam(lr=0.1)"], steps=20)
    data = json.loads(result.to_json(trace=True))
    assert data["problem"]["source"] == "bowl.yaml"
    monkeypatch.chdir(tmp_path)  # elsewhere: the relative path no longer resolves from here
    pd = plots.from_dict(data, str(folder / "r.json"))
    assert pd.problem is not None and plots.plan(pd).surface


# ---- issue 14: pictures a person can trust ----

HIMMELBLAU = """name: himmelblau
variables: [x, y]
expression: (x**2 + y - 11)**2 + (x + y**2 - 7)**2
start: [0, 0]
domain: [[-5, 5], [-5, 5]]
minimum: {x: [[3, 2]], value: 0}
"""


# A quadratic bowl (the issue names Booth's or Matyas's; each new expression costs compiles).
BOOTH = """name: booth
variables: [x, y]
expression: (x + 2*y - 7)**2 + (2*x + y - 5)**2
start: [-8, 8]
domain: [[-10, 10], [-10, 10]]
minimum: {x: [[1, 3]], value: 0}
"""


def surface_problems(write_yaml):
    """Results on every shipped 2-parameter problem, Himmelblau's (four basins) and Booth's."""
    names = ["beale", "rosenbrock", "saddle_point", "long_valley", "noisy_logreg"]
    for text in (HIMMELBLAU, BOOTH):
        names.append(write_yaml(text, name=f"{text.split()[1]}.yaml"))
    # Short, slow runs: the paths cover a few pixels, the surface the rest.
    return [adambench.run(n, ["adam(lr=0.0001)"], steps=5) for n in names]


def test_contour_bands_show_the_structure_of_any_surface(write_yaml):
    # Measured on the rendered contour panel: a shade is a step of 12 in grey (of 255), seen
    # when it covers at least 1% of the box; no shade may cover half of it.
    for result in surface_problems(write_yaml):
        d = plots.draw(plots.from_result(result))
        px = axes_pixels(d.fig, d.paths[0][1].axes)
        grey = px[(px[..., 0] == px[..., 1]) & (px[..., 1] == px[..., 2])][:, 0]
        shares = np.bincount(grey // 12) / (px.shape[0] * px.shape[1])
        name = result.problem.name
        assert (shares >= 0.01).sum() >= 8, f"{name}: {(shares >= 0.01).sum()} shades visible"
        assert shares.max() <= 0.5, f"{name}: one shade covers {shares.max():.0%} of the box"


def axes_pixels(fig, ax) -> np.ndarray:
    """The RGB pixels of one axes of a figure, rendered as the PNG writer renders it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    px = np.asarray(canvas.buffer_rgba())[..., :3].astype(int)
    box = ax.get_window_extent()
    h = px.shape[0]
    return px[int(h - box.y1) + 2 : int(h - box.y0) - 2, int(box.x0) + 2 : int(box.x1) - 2]


def test_paths_along_the_same_valley_all_stay_visible():
    # Two spellings of one optimizer: identical paths, one drawn over the other.
    r = adambench.run("rosenbrock", ["momentum(lr=0.001)", "sgd(lr=0.001,momentum=0.9)"])
    assert np.array_equal(r.runs[0].x_trace, r.runs[1].x_trace)
    d = plots.draw(plots.from_result(r))
    px = axes_pixels(d.fig, d.paths[0][1].axes)
    assert count_color(px, TAB_BLUE) > 300 and count_color(px, TAB_ORANGE) > 300


def test_path_widths_narrow_in_drawing_order():
    for n in (1, 2, 4, 12):
        w = plots.path_widths(n)
        assert len(w) == n and all(np.diff(w) < 0)
        assert min(w) >= 1.4 and max(w) <= 6.0


def test_the_legend_target_is_told_apart_from_the_minimum():
    r = adambench.run("saddle_point", ["adam"], steps=20)
    d = plots.draw(plots.from_result(r))
    texts = [t.get_text() for t in d.fig.legends[0].get_texts()]
    # The loss panel shows the gap to the minimum, so its dotted line is at the target's gap.
    assert "target (-0.2499, gap 0.0001)" in texts
    assert plots.target_legend(0.3127, 0.3117, gap=True) == "0.3127, gap 0.001"
    assert plots.target_legend(1e-6, None, gap=False) == "1e-06"
    assert plots.target_text(-0.24999, -0.25) == "-0.24999"
    assert plots.target_text(0.3127, 0.3117) == "0.3127"
    assert plots.target_text(1e-6, 0.0) == "1e-06"


def test_every_path_of_the_rosenbrock_example_shows_its_colour():
    # The example: adam (lr 1e-3) creeps from the start along the valley under momentum's
    # and Nesterov's paths, and rmsprop's runs the same way; each must show its colour in a fair
    # number of pixels of the contour panel, not a hairline along the others' edges.
    names = ["adam", "rmsprop", "momentum", "nesterov"]
    d = plots.draw(plots.from_result(adambench.run("rosenbrock", names)))
    px = axes_pixels(d.fig, d.paths[0][1].axes)
    for name, rgb in zip(names, TAB10[:4], strict=True):
        assert count_color(px, rgb) >= 150, f"{name}: {count_color(px, rgb)} pixels"


def test_the_colour_bar_label_sits_above_the_bar_not_beside_the_next_panel(logreg):
    # Beside the bar, "loss - minimum" read as the data panel's second y label (and "loss" as
    # the loss panel's, next to its own "loss").
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    for result in (logreg, adambench.run("rosenbrock", ["adam"], steps=50)):
        pd = plots.from_result(result)
        d = plots.draw(pd)
        renderer = FigureCanvasAgg(d.fig).get_renderer()
        d.fig.draw(renderer)
        (bar,) = [ax for ax in d.fig.axes if ax.get_label() == "<colorbar>"]
        label = plots.surface(pd, pd.problem.domain).label
        own = {ax.yaxis.label for ax in d.fig.axes if ax is not bar}  # other panels' y labels
        texts = [t for t in d.fig.findobj(Text) if t.get_text() == label and t not in own]
        assert texts, f"no colour bar label {label!r}"
        top = bar.get_window_extent(renderer).y1
        assert all(t.get_window_extent(renderer).y0 >= top for t in texts if t.get_visible())


def test_a_sweep_line_plot_near_a_non_zero_minimum_shows_the_gap_to_it():
    # On noisy_logreg every good learning rate ends at a loss of 0.3117: drawn as the loss, the
    # lines lie on one flat row; the gap to the minimum (as the tables show it) separates them.
    sw = adambench.sweep("noisy_logreg", ["adam", "momentum"], ["lr=1e-3:1:log7"], seeds=2)
    fig = plots.sweep_line_figure(sw, "final_loss")
    ax = fig.axes[0]
    stats = sw.stats("final_loss")
    for b, base in enumerate(sw.bases):
        (line,) = [ln for ln in ax.get_lines() if ln.get_label() == base.label]
        values = [stats[i].value for i, p in enumerate(sw.points) if p.base == b]
        np.testing.assert_array_equal(line.get_ydata(), np.array(values) - sw.minimum)
    assert ax.get_yscale() == "log"
    label = ax.get_ylabel()
    assert label.startswith("median final gap over 2 seeds") and "0.3117" in label
    # Where the minimum is 0, the loss is the gap: drawn as it is, named as it is.
    sw = adambench.sweep("beale", ["adam"], ["lr=0.01,0.1"], steps=50)
    ax = plots.sweep_line_figure(sw, "final_loss").axes[0]
    assert ax.get_ylabel() == "median final loss"
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == sw.bases[0].label]
    np.testing.assert_array_equal(line.get_ydata(), [s.value for s in sw.stats("final_loss")])


def test_path_markers_are_evenly_spaced_along_a_path_and_staggered_between_paths():
    box = np.array([[0.0, 1.0], [0.0, 1.0]])
    xy = np.column_stack([np.linspace(0, 1, 1001), np.zeros(1001)])  # one straight path
    at = [plots.mark_indices(xy, box, k, 3) for k in range(3)]
    assert all(len(a) == plots.PATH_MARKS // 3 for a in at)
    assert all(np.ptp(np.diff(a)) <= 1 for a in at)  # even spacing (to one point)
    assert len(set(np.concatenate(at))) == sum(len(a) for a in at)  # no place marked twice
    assert np.all(np.diff(np.sort(np.concatenate(at))) > 30)
    # Up to the first non-finite point only; none on a path that barely leaves its start.
    gone = xy.copy()
    gone[500:] = np.inf
    assert plots.mark_indices(gone, box, 0, 1).max() < 500
    assert plots.mark_indices(xy * 0.01, box, 0, 1).size == 0
