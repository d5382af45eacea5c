"""Pictures from the command line: run --plot/--animate, adambench plot, and refusals."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image  # matplotlib and pillow are dependencies
from typer.testing import CliRunner

from adambench.cli import app
from adambench.report.plots import MISSING_MATPLOTLIB

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent


def invoke(*args, **kw):
    return runner.invoke(app, [str(a) for a in args], **kw)


def pixels(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).astype(int)


def test_run_plot_writes_a_png_and_says_so(tmp_path):
    png = tmp_path / "b.png"
    r = invoke(
        "run", "beale", "-O", "adam(lr=0.1),rmsprop(lr=0.01)", "--steps", "300", "--plot", png
    )
    assert r.exit_code == 0, r.output
    assert "rmsprop" in r.stdout  # the table is still printed
    assert f"wrote {png}" in r.stderr.replace("\n", "")
    assert pixels(png).std() > 20


def test_run_plot_and_a_saved_result_give_the_same_picture(tmp_path):
    a, b, res = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "r.json"
    args = ["run", "long_valley", "-O", "adam(lr=0.1),sgd(lr=0.1)", "--steps", "200"]
    assert invoke(*args, "--plot", a, "--trace", "-o", res).exit_code == 0
    r = invoke("plot", res, "-o", b)
    assert r.exit_code == 0, r.output
    np.testing.assert_array_equal(pixels(a), pixels(b))


def test_run_animate_writes_a_gif_with_the_requested_frames(tmp_path):
    gif = tmp_path / "a.gif"
    r = invoke(
        "run", "saddle_point", "-O", "adam(lr=0.05),sgd(lr=0.05)", "--steps", "200",
        "--animate", gif, "--frames", "10", "--fps", "5", "-q",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert r.stderr == ""  # --quiet: no notes, no "wrote"
    with Image.open(gif) as im:
        assert im.n_frames == 10 and im.info["duration"] == 200


def test_plot_command_animates_a_saved_result(tmp_path):
    res, gif = tmp_path / "r.json", tmp_path / "r.gif"
    assert invoke("run", "beale", "--steps", "100", "--trace", "-o", res).exit_code == 0
    r = invoke("plot", res, "--animate", gif, "--frames", "6")
    assert r.exit_code == 0, r.output
    with Image.open(gif) as im:
        assert im.n_frames == 6


def test_more_than_two_parameters_notes_loss_curves_only(tmp_path):
    png = tmp_path / "nd.png"
    r = invoke("run", "rosenbrock_nd", "--dim", "4", "--steps", "50", "--plot", png)
    assert r.exit_code == 0, r.output
    assert "rosenbrock_nd has 4 parameters, contours need 2: drawing loss curves only" in (
        " ".join(r.stderr.split())
    )
    assert png.exists()


def test_json_on_stdout_stays_clean_with_a_picture(tmp_path):
    png = tmp_path / "b.png"
    r = invoke("run", "beale", "--steps", "50", "--json", "--plot", png)
    assert r.exit_code == 0
    assert json.loads(r.stdout)["problem"]["name"] == "beale" and png.exists()


@pytest.fixture
def no_runs(monkeypatch):
    """Fail the test if an optimisation starts."""
    import adambench.engine.jobs

    calls = []
    monkeypatch.setattr(adambench.engine.jobs, "run", lambda *a, **k: calls.append(a))
    return calls


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "beale", "--plot", "{tmp}/x.jpg"], r"unknown output format '\.jpg'; use \.png"),
        (["run", "beale", "--plot", "{tmp}/no/x.png"], r"folder .* does not exist"),
        (["run", "beale", "--plot", "{tmp}"], r"is a directory"),
        (["run", "beale", "--animate", "{tmp}/x.png"], r"unknown output format '\.png'; use \.gif"),
        (["run", "rosenbrock_nd", "--plot", "{tmp}/x.png", "--contour"], r"contours need 2"),
        (["run", "beale", "--animate", "{tmp}/x.gif", "--frames", "1"], r"frames must be between"),
        (["run", "beale", "--animate", "{tmp}/x.gif", "--fps", "0"], r"fps must be between"),
        (["run", "beale", "--frames", "10"], r"--frames applies to --animate"),
        (["run", "beale", "--plot", "{tmp}/x.png", "--fps", "10"], r"--fps applies to --animate"),
        (["run", "beale", "--contour"], r"apply to --plot or --animate"),
        (["run", "beale", "--plot", "{tmp}/x.png", "--animate", "{tmp}/x.png"], r"\.gif"),
        (["plot", "{tmp}/r.json"], r"nothing to draw"),
        (["plot", "{tmp}/missing.json", "-o", "{tmp}/x.png"], r"missing.json: no such file"),
    ],
)
def test_bad_picture_requests_exit_2_before_anything_runs(args, message, tmp_path, no_runs):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args] + ["-o", str(tmp_path / "out.json")]
    if args[0] == "plot":
        args = args[:-2]
    r = invoke(*args)
    assert r.exit_code == 2, r.output
    assert re.search(message, " ".join(r.stderr.split())), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.output
    assert no_runs == [] and not (tmp_path / "out.json").exists()


def test_plot_refuses_results_without_traces_or_an_impossible_contour(tmp_path):
    res = tmp_path / "r.json"
    assert invoke("run", "beale", "--steps", "20", "-o", res).exit_code == 0
    r = invoke("plot", res, "-o", tmp_path / "x.png")
    assert r.exit_code == 2 and "has no traces to draw" in r.stderr
    assert invoke("run", "rosenbrock_nd", "--steps", "20", "--trace", "-o", res).exit_code == 0
    r = invoke("plot", res, "-o", tmp_path / "x.png", "--contour")
    assert r.exit_code == 2 and "contours need 2" in r.stderr
    assert not (tmp_path / "x.png").exists()


def test_missing_matplotlib_names_the_extra(monkeypatch, tmp_path, no_runs):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    r = invoke("run", "beale", "--plot", tmp_path / "x.png")
    assert r.exit_code == 2 and no_runs == []
    assert r.stderr.strip() == f"error: {MISSING_MATPLOTLIB}"


def test_mp4_without_ffmpeg_is_refused(monkeypatch, tmp_path, no_runs):
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: None)
    r = invoke("run", "beale", "--animate", tmp_path / "x.mp4")
    assert r.exit_code == 2 and "needs ffmpeg" in r.stderr and no_runs == []


CHECK_IMPORTS = """
import sys
from adambench.cli import app
try:
    app(sys.argv[1:])
except SystemExit as exc:
    assert not exc.code, exc.code
print("matplotlib" in sys.modules, "PIL" in sys.modules)
"""


def test_run_without_pictures_does_not_import_matplotlib(tmp_path):
    def loaded(*args):
        out = subprocess.run(
            [sys.executable, "-c", CHECK_IMPORTS, "run", "beale", "--steps", "20", *args],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip().splitlines()[-1]

    assert loaded() == "False False"
    assert loaded("--plot", str(tmp_path / "x.png")) == "True True"  # the check can see it


def test_cli_defaults_match_the_library():
    from adambench.cli import pictures as cli
    from adambench.report import plots

    assert (cli.DEFAULT_FRAMES, cli.DEFAULT_FPS) == (plots.DEFAULT_FRAMES, plots.DEFAULT_FPS)


def test_plot_help_has_an_example():
    r = invoke("plot", "--help")
    assert r.exit_code == 0 and "Example" in r.stdout and "adambench plot" in r.stdout
    assert "--animate" in invoke("run", "--help").stdout
