"""Schedules, warm-up and clipping as hyperparameters: parsed, validated, swept, shown, written
to JSON and drawn; one compiled kernel for every value; chunking never changes a number.
(Their numbers against torch.optim: tests/test_schedules.py.)"""

from __future__ import annotations

import json
import math
from importlib.resources import files

import jsonschema
import numpy as np
import pytest
from typer.testing import CliRunner

import adambench
from adambench.cli import app
from adambench.errors import OptimizerError
from adambench.optimizers.controls import CONTROLS, SCHEDULES
from adambench.optimizers.registry import configs_from_specs, get, resolve
from adambench.schedules import (
    ANCHOR,
    CONTROL_AT,
    SCHEDULE_CODES,
    chunk_controls,
    lr_trace,
    schedule_terms,
    scheduled_lr,
)

runner = CliRunner()
SCHEMA = json.loads((files("adambench.schema") / "result.schema.json").read_text())


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "120"})


def row(spec):
    return np.array(configs_from_specs([spec])[0].hp_vector())


def test_the_names_and_the_compiled_codes_agree():
    assert tuple(sorted(SCHEDULE_CODES, key=SCHEDULE_CODES.get)) == SCHEDULES
    assert [hp.name for hp in CONTROLS] == sorted(CONTROL_AT, key=CONTROL_AT.get)


def test_every_compiled_optimizer_takes_the_controls_after_its_own():
    for name in ("adam", "sgd", "rmsprop"):
        spec = get(name)
        assert spec.hyperparams[len(spec.own_hyperparams) :] == CONTROLS
    (cfg,) = configs_from_specs(["adam(lr=0.1, schedule=cosine, warmup=100, clip_norm=1)"])
    assert cfg.label == "adam(lr=0.1, schedule=cosine, warmup=100, clip_norm=1)"
    assert cfg.public_values()["schedule"] == "cosine"
    assert cfg.values["schedule"] == SCHEDULES.index("cosine")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("adam(schedule=cosin)", "did you mean 'cosine'"),
        (
            "adam(schedule=cosine, gamma=0.5)",
            "gamma is a parameter of schedule=step or exponential",
        ),
        ("adam(t_max=10)", "t_max is a parameter of schedule=cosine, and no schedule is given"),
        ("adam(schedule=step, step_size=10)", "schedule=step needs step_size and gamma"),
        ("adam(schedule=linear, warmup_start=0.5)", "warmup_start is the start of a warm-up"),
        ("adam(start_factor=0)", r"start_factor must be in \(0, 1\]"),
    ],
)
def test_bad_controls_are_refused_naming_them(spec, message):
    with pytest.raises(OptimizerError, match=message):
        configs_from_specs([spec])


def test_a_schedule_is_named_not_numbered(tmp_path):
    # The index is how the hyperparameter vector holds a choice; a user's 3 (a YAML sweep value,
    # a Python override) is refused as any other value that is not a name.
    for value in (3, 1.0, True):
        with pytest.raises(OptimizerError, match="schedule must be one of constant, step"):
            resolve(get("adam"), {"schedule": value})
    assert resolve(get("adam"), {"schedule": "cosine"}).values["schedule"] == 3.0
    sweep_file = tmp_path / "sweep.yaml"
    sweep_file.write_text("problem: beale\noptimizers: adam\ngrid: {schedule: [0, 3]}\n")
    r = CliRunner().invoke(app, ["sweep", "--config", str(sweep_file)])
    assert r.exit_code == 2 and "schedule must be one of" in r.stderr, r.output


def test_an_optimizer_without_lr_refuses_a_schedule(tmp_path):
    path = tmp_path / "nolr.yaml"
    path.write_text("name: nolr\nhyperparameters:\n  rate: 0.01\nupdate:\n  - p = p - rate*g\n")
    (cfg,) = configs_from_specs([f"{path}(clip_value=1)"])  # clipping needs no lr
    with pytest.raises(OptimizerError, match="nolr: it has no lr for a schedule or warmup"):
        configs_from_specs([f"{path}(warmup=10)"])
    assert cfg.spec.lr_index == -1


def test_a_non_schedulable_optimizer_refuses_a_schedule():
    from dataclasses import replace

    from adambench.optimizers.registry import resolve

    once = replace(get("sgd"), name="reads_lr_once", schedulable=False)
    resolve(once, {"clip_norm": 1.0})
    with pytest.raises(OptimizerError, match="reads lr only at its first step"):
        resolve(once, {"schedule": "cosine"})


def test_the_table_holds_the_value_of_each_epoch_wherever_a_chunk_begins():
    """Anchored recurrences (cosine, exponential) and the step schedule give each epoch one value
    whatever the chunk: the run loop, the per-step fallback and the lr plot agree bit for bit."""
    total = 1000
    for spec in [
        "adam(schedule=cosine, t_max=333, eta_min=1e-4, warmup=70, warmup_start=0.2)",
        "adam(schedule=exponential, gamma=0.99)",
        "adam(schedule=step, step_size=7, gamma=0.5, warmup=3)",
        "adam(schedule=linear, start_factor=0.25, total_iters=90)",
        "adam(schedule=inverse_sqrt)",
    ]:
        hp = row(spec)
        whole = np.empty((2, total))
        schedule_terms(whole, hp, 0, total)
        for e0, length in [(0, 5), (1, 200), (ANCHOR - 1, 3), (ANCHOR, 130), (517, 483)]:
            part = np.empty((2, length))
            schedule_terms(part, hp, e0, total)
            assert np.array_equal(part, whole[:, e0 : e0 + length]), (spec, e0)
        lrs = lr_trace(hp, total)
        assert np.array_equal(lrs, hp[0] * whole[0] + whole[1])
        assert all(scheduled_lr(hp, e, total) == lrs[e] for e in (0, 63, 64, 65, 999))


def test_the_closed_forms():
    total = 400
    e = np.arange(total)
    cases = {
        "adam(lr=0.1, schedule=step, step_size=30, gamma=0.5)": 0.1 * 0.5 ** (e // 30),
        "adam(lr=0.1, schedule=exponential, gamma=0.99)": 0.1 * 0.99**e,
        "adam(lr=0.1, schedule=cosine, eta_min=0.01)": 0.01
        + 0.09 * (1 + np.cos(np.pi * e / total)) / 2,
        "adam(lr=0.1, schedule=inverse_sqrt)": 0.1 / np.sqrt(e + 1),
        "adam(lr=0.1, schedule=linear)": 0.1 * (1 / 3 + (2 / 3) * np.minimum(e, 5) / 5),
        "adam(lr=0.1, warmup=50, warmup_start=0.1)": 0.1 * (0.1 + 0.9 * np.minimum(e + 1, 50) / 50),
    }
    for spec, want in cases.items():
        np.testing.assert_allclose(lr_trace(row(spec), total), want, rtol=1e-13, err_msg=spec)


def test_runs_sharing_a_schedule_share_one_table():
    specs = [f"adam(lr={lr}, schedule=cosine, warmup=10)" for lr in (0.1, 0.2, 0.3)]
    specs += ["adam(lr=0.1, schedule=cosine, warmup=20)", "adam(lr=0.1, clip_norm=2)"]
    HP = np.array([c.hp_vector() for c in configs_from_specs(specs)])
    HPS, FT, FI, CLIP, LI = chunk_controls(HP, 100, 150, 1000)
    assert FT.shape == (2, 2, 50) and list(FI) == [0, 0, 0, 1, -1] and LI == 0
    assert list(CLIP[:, 3]) == [0, 0, 0, 0, 1] and CLIP[4, 1] == 2.0
    assert np.array_equal(HPS, HP) and HPS is not HP


def test_chunks_and_threads_never_change_a_number():
    specs = [
        "adam(lr=0.05, schedule=cosine, t_max=150, warmup=40, clip_norm=0.5)",
        "rmsprop(lr=0.01, schedule=step, step_size=33, gamma=0.7, clip_value=0.3)",
    ]
    kw = dict(steps=300, seeds=3, start="random")
    whole = adambench.run("noisy_logreg", specs, chunk_steps=300, threads=1, **kw)
    chunked = adambench.run("noisy_logreg", specs, chunk_steps=37, threads=2, **kw)
    for a, b in zip(whole.runs, chunked.runs, strict=True):
        assert np.array_equal(a.x_trace, b.x_trace) and np.array_equal(a.loss_trace, b.loss_trace)
        assert a.best_loss == b.best_loss


def test_a_schedule_changes_the_run_and_constant_is_the_plain_run():
    plain, constant, cosine, clipped = adambench.run(
        "beale",
        ["adam(lr=0.05)", "adam(lr=0.05, schedule=constant)", "adam(lr=0.05, schedule=cosine)",
         "adam(lr=0.05, clip_value=0.1)"],
        steps=300,
    ).runs  # fmt: skip
    assert np.array_equal(plain.x_trace, constant.x_trace)
    assert not np.array_equal(plain.x_trace, cosine.x_trace)
    assert not np.array_equal(plain.x_trace, clipped.x_trace)


def test_grid_over_schedule_and_warmup_labels_tables_and_json(tmp_path):
    out = tmp_path / "sweep.json"
    r = invoke(
        "sweep", "beale", "-O", "adam(lr=0.05)", "--grid", "schedule=constant,cosine",
        "--grid", "warmup=0,100", "--steps", "300", "-o", out,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    rows = [" ".join(line.split()) for line in r.stdout.splitlines()]
    assert any(line.startswith("1 constant 0 ") for line in rows), r.stdout
    assert any(line.startswith("4 cosine 100 ") for line in rows), r.stdout
    data = json.loads(out.read_text())
    labels = [o["label"] for o in data["optimizers"]]
    assert "adam(lr=0.05, schedule=cosine, warmup=100)" in labels
    values = [(o["hyperparameters"]["schedule"], o["hyperparameters"]["warmup"])
              for o in data["optimizers"]]  # fmt: skip
    assert values == [("constant", 0), ("constant", 100), ("cosine", 0), ("cosine", 100)]


def test_run_json_names_the_schedule_and_follows_the_schema(tmp_path):
    out = tmp_path / "r.json"
    spec = "adam(lr=0.1, schedule=cosine, t_max=200, eta_min=0.0001, warmup=100, clip_norm=1)"
    r = invoke("run", "beale", "-O", spec, "--steps", "50", "-o", out)
    assert r.exit_code == 0, r.output
    assert spec in r.stdout  # the label in the table
    data = json.loads(out.read_text())
    jsonschema.validate(data, SCHEMA)
    hps = data["runs"][0]["hyperparameters"]
    assert hps["schedule"] == "cosine" and hps["t_max"] == 200 and hps["clip_norm"] == 1
    assert hps["clip_value"] == 0 and hps["gamma"] == 0


def test_lr_plot_draws_the_rates_the_runs_used(tmp_path, monkeypatch):
    from adambench.report import lr_plot

    drawn = {}
    real = lr_plot.lr_of_steps

    def spy(config, steps):
        drawn[config.label] = real(config, steps)
        return drawn[config.label]

    monkeypatch.setattr(lr_plot, "lr_of_steps", spy)
    out = tmp_path / "lr.png"
    specs = (
        "adam(lr=0.1, schedule=cosine, warmup=20),"
        "sgd(lr=0.01, schedule=step, step_size=9, gamma=0.5)"
    )
    r = invoke("run", "beale", "-O", specs, "--steps", "60", "--lr-plot", out)
    assert r.exit_code == 0, r.output
    assert out.read_bytes().startswith(b"\x89PNG")
    cosine = drawn["adam(lr=0.1, schedule=cosine, warmup=20)"]
    assert cosine[0] == pytest.approx(0.1 / 20)  # warm-up from 0: (e + 1) / 20
    assert cosine[19] == pytest.approx(0.1 * (1 + math.cos(math.pi * 19 / 60)) / 2)
    assert cosine[59] == pytest.approx(0.1 * (1 + math.cos(math.pi * 59 / 60)) / 2)
    step = drawn["sgd(lr=0.01, schedule=step, step_size=9, gamma=0.5)"]
    assert step[8] == 0.01 and step[9] == 0.005


def test_lr_plot_is_refused_before_running(tmp_path):
    r = invoke("run", "beale", "--lr-plot", tmp_path / "nowhere" / "lr.png")
    assert r.exit_code == 2 and "Traceback" not in r.output
    r = invoke("run", "beale", "--tune", "lr", "--lr-plot", tmp_path / "lr.png")
    assert r.exit_code == 2 and "--lr-plot do not combine with --tune" in r.output


def test_list_shows_the_controls_once():
    r = invoke("list")
    assert r.exit_code == 0, r.output
    assert "Schedules and clipping" in r.stdout
    assert r.stdout.count("warmup_start") == 1
    data = json.loads(invoke("list", "--json").stdout)
    assert "schedule" not in data["optimizers"][0]["defaults"]
    assert [c["name"] for c in data["controls"]][:2] == ["schedule", "step_size"]


def test_a_swept_schedule_is_drawn_and_read_back(tmp_path):
    out, png = tmp_path / "s.json", tmp_path / "s.png"
    r = invoke(
        "sweep", "beale", "-O", "adam(lr=0.05)", "--grid", "schedule=constant,cosine,linear",
        "--steps", "100", "-o", out, "--plot", png,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert png.read_bytes().startswith(b"\x89PNG")
    shown = invoke("sweep-show", out)
    assert shown.exit_code == 0, shown.output
    assert "cosine" in shown.stdout and "linear" in shown.stdout
