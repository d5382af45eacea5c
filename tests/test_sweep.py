"""Sweeps: grid specs, expansion, aggregation, heatmaps, determinism and the tuning protocol."""

from __future__ import annotations

import json
import math
from importlib.resources import files
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import adambench
from adambench.engine import jobs as engine
from adambench.errors import ConfigError, UsageError
from adambench.sweeps.aggregate import Outcomes, _sorted_quantile, aggregate
from adambench.sweeps.config import load_sweep_file
from adambench.sweeps.execution import sweep
from adambench.sweeps.grid import MAX_RUNS, parse_axis
from adambench.sweeps.plan import plan
from adambench.sweeps.result import SweepResult
from adambench.sweeps.tuning import run_tuned

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((files("adambench.schema") / "result.schema.json").read_text())


def stable(d):
    d = dict(d)
    d.pop("volatile")
    return json.dumps(d, sort_keys=True)


# ---------------------------------------------------------------------------------------------
# Grid specs


@pytest.mark.parametrize(
    ("text", "key", "values", "scale"),
    [
        ("lr=1e-3:1:log7", "lr", (0.001, 0.00316, 0.01, 0.0316, 0.1, 0.316, 1.0), "log"),
        # 3 significant digits would merge neighbours here: as many as it takes
        ("lr=1:1.001:log4", "lr", (1.0, 1.0003, 1.0007, 1.001), "log"),
        # linspace gives 0.30000000000000004; values are rounded to 12 significant digits
        ("momentum=0:0.9:4", "momentum", (0.0, 0.3, 0.6, 0.9), "linear"),
        ("lr=1:1e-3:log4", "lr", (1.0, 0.1, 0.01, 0.001), "log"),
        ("beta1=0.5,0.9,0.99", "beta1", (0.5, 0.9, 0.99), "list"),
        ("adam.beta1=0.9", "adam.beta1", (0.9,), "list"),
        ("amsgrad=true,false", "amsgrad", (True, False), "list"),
        (" eps = 1e-8 , 1e-6 ", "eps", (1e-8, 1e-6), "list"),
    ],
)
def test_grid_specs(text, key, values, scale):
    ax = parse_axis(text)
    assert ax.key == key and ax.values == values and ax.scale == scale
    assert all(type(v) is type(w) for v, w in zip(ax.values, values, strict=True))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lr=1:1:log5", r"range '1:1:log5' is empty: it starts and ends at 1"),
        ("lr=1e-3:1:1", r"range '1e-3:1:1' is empty: it needs at least 2 points"),
        ("lr=1e-3:1:log0", r"is empty: it needs at least 2 points"),
        ("lr=0:1:log5", r"log range '0:1:log5' must have both ends > 0"),
        ("lr=-1:1:log5", r"log range '-1:1:log5' must have both ends > 0"),
        ("lr=a-b", r"'a-b' is not a number, true/false or a name"),
        ("lr=1e-3:x:log5", r"'x' is not a number"),
        ("lr=nan", r"'nan' is not a finite number"),
        ("lr=1:2:3:4", r"must be a:b:n or a:b:logn"),
        ("lr=1e-3:1:logx", r"the count 'logx' must be an integer"),
        ("lr", r"expected NAME=VALUES"),
        ("lr=", r"no values given"),
        ("lr=0.1,,0.2", r"empty value in the list"),
        ("lr=0.1,0.1", r"value 0.1 appears twice"),
        ("1lr=0.1", r"'1lr' is not a hyperparameter name"),
        ("lr=1e-3:1:log1000001", r"at most 100000"),
    ],
)
def test_bad_grid_specs_name_the_value(text, message):
    with pytest.raises(UsageError, match=message) as info:
        parse_axis(text)
    assert str(info.value).startswith(f"--grid {text}: ")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("optimizers", "grid", "message"),
    [
        (["adam"], ["beta11=0.9"], r"has a hyperparameter 'beta11' \(did you mean 'beta1'\?\)"),
        (["adam"], ["beta1=0.5,1"], r"--grid beta1=0.5,1: adam: beta1 must be in \[0, 1\), got 1"),
        (["adam"], ["lr=-1,0.1"], r"lr must be in \(0, inf\), got -1"),
        (["adam"], ["amsgrad=0.5"], r"amsgrad must be true or false, got 0.5"),
        (["adam"], ["lr=true"], r"lr must be a number, got True"),
        (["adam"], ["sgd.lr=0.1"], r"optimizer 'sgd' is not in this sweep \(adam\)"),
        (["adam"], ["adam.momentum=0.9"], r"adam has no hyperparameter 'momentum'"),
        (["adam(lr=0.1)"], ["lr=0.1,1"], r"sets lr, which --grid lr also sweeps"),
        (["adam"], ["lr=0.1", "lr=0.2"], r"grid 'lr' is given twice"),
        (["adam"], [], r"needs at least one --grid"),
        (["nesterov"], ["momentum=0,0.9"], r"grid point momentum=0: nesterov: nesterov requires"),
        (["adma"], ["lr=0.1"], r"did you mean 'adam'"),
        (
            ["adam"],
            ["lr=1e-3:1:log1000", "beta1=0:0.99:200"],
            r"200,000 runs \(200,000 configurations x 1 seeds\), more than the limit of 100,000",
        ),
    ],
)
def test_bad_grids_are_refused_before_anything_runs(monkeypatch, optimizers, grid, message):
    def boom(*a, **k):
        raise AssertionError("ran")

    monkeypatch.setattr(engine, "prepare", boom)
    monkeypatch.setattr(engine, "execute", boom)
    with pytest.raises(adambench.AdambenchError, match=message) as info:
        sweep("beale", optimizers, grid)
    assert info.value.exit_code == 2


def test_max_runs_counts_seeds_and_can_be_lifted():
    grid = ["lr=0.01,0.1", "beta1=0.5,0.9"]
    with pytest.raises(UsageError, match=r"12 runs \(4 configurations x 3 seeds\)"):
        plan("beale", ["adam"], grid, seeds=3, max_runs=11)
    assert plan("beale", ["adam"], grid, seeds=3, max_runs=12).runs == 12
    assert plan("beale", ["adam"], grid, seeds=3, max_runs=None).runs == 12
    assert MAX_RUNS == 100_000


def test_unknown_metric_and_metric_without_target(write_yaml):
    with pytest.raises(UsageError, match=r"unknown metric 'final_los' \(did you mean 'final_loss'"):
        sweep("beale", ["adam"], ["lr=0.1"], metric="final_los", steps=5)
    path = write_yaml("name: bowl\nvariables: [x]\nexpression: x**2\nstart: [1]\n")
    with pytest.raises(UsageError, match="steps_to_target needs a problem with a target"):
        sweep(path, ["adam"], ["lr=0.1"], metric="steps_to_target", steps=5)


# ---------------------------------------------------------------------------------------------
# Expansion


def test_expansion_order_scopes_labels_and_sources():
    p = plan("beale", ["adam", "sgd"], ["lr=0.01,0.1", "beta1=0.5,0.9"])
    assert [b.label for b in p.bases] == ["adam", "sgd"]
    assert [c.label for c in p.configs] == [
        "adam(lr=0.01, beta1=0.5)",
        "adam(lr=0.01, beta1=0.9)",
        "adam(lr=0.1, beta1=0.5)",
        "adam(lr=0.1, beta1=0.9)",
        "sgd(lr=0.01)",
        "sgd(lr=0.1)",
    ]
    assert p.configs[0].sources["lr"] == "grid" and p.configs[0].sources["beta2"] == "default"
    assert p.points[5].values == {"lr": 0.1} and p.points[5].base == 1
    assert p.notes == ["sgd has no beta1: its runs do not vary it"]
    # A scoped axis replaces the unscoped one for its optimizer only.
    p = plan("beale", ["adam", "sgd"], ["lr=0.01,0.1", "sgd.lr=0.001"])
    assert [c.label for c in p.configs] == ["adam(lr=0.01)", "adam(lr=0.1)", "sgd(lr=0.001)"]


def test_spec_overrides_and_problem_suggestions_are_kept():
    wavy = str(ROOT / "sample_configs" / "wavy_bowl.yaml")  # suggests sgd lr 0.01
    p = plan(wavy, ["sgd(nesterov=true)"], ["momentum=0.5,0.9"])
    c = p.configs[1]
    assert c.values["lr"] == 0.01 and c.sources["lr"] == "problem"
    assert c.values["nesterov"] == 1.0 and c.sources["nesterov"] == "spec"
    assert c.values["momentum"] == 0.9 and c.sources["momentum"] == "grid"


def test_a_sweeps_runs_are_the_runs_of_run():
    sw = sweep(
        "noisy_logreg", ["adam", "sgd"], ["lr=0.01,0.1"], seeds=2, seed=3, steps=60, threads=2
    )
    assert sw.seeds == (3, 4)
    alone = adambench.run("noisy_logreg", ["sgd(lr=0.1)"], steps=60, seeds=1, seed=4)
    (twin,) = [r for r in sw.result.runs if r.label == "sgd(lr=0.1)" and r.seed == 4]
    np.testing.assert_array_equal(twin.final_x, alone.runs[0].final_x)
    assert twin.final_loss == alone.runs[0].final_loss


# ---------------------------------------------------------------------------------------------
# Aggregation


def outcomes(final, failed=None, reached=None, stt=None):
    final = np.array(final, float)
    o = Outcomes.empty(*final.shape)
    o.failed[:] = np.zeros(final.shape, bool) if failed is None else np.array(failed)
    o.diverged[:] = o.failed
    o.reached[:] = np.zeros(final.shape, bool) if reached is None else np.array(reached)
    o.final[:] = final
    o.best[:] = final
    o.steps_to_target[:] = np.nan if stt is None else np.array(stt, float)
    return o


def test_failed_runs_count_as_the_worst_value():
    o = outcomes(
        [[1, 2, 3, 4], [1, 2, 3, np.nan], [1, 2, np.nan, np.nan], [5, 5, 5, 5]],
        failed=[[0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 1], [0, 0, 0, 0]],
    )
    a, b, c, d = aggregate(o, "final_loss")
    assert (a.value, a.q1, a.q3) == (2.5, 1.75, 3.25)
    assert (b.value, b.q1, b.q3) == (2.5, 1.75, math.inf) and b.state == "ok"
    assert c.value == math.inf and c.state == "diverged" and c.failed == 2
    # fewer failed runs first, whatever the median: d (none failed) above b (one failed)
    assert [s.rank for s in (a, b, c, d)] == [1, 3, 4, 2]
    assert [s.fragile for s in (a, b, c, d)] == [False, True, False, False]


def test_a_fragile_configuration_cannot_win_by_its_median():
    # The case: 7 of 20 seeds diverged, a tiny median; another diverged on 1 of 20.
    fragile = [1e-29] * 13 + [np.nan] * 7
    sturdier = [0.5] * 19 + [np.nan]
    sturdy = [9.0] * 20
    o = outcomes(
        [fragile, sturdier, sturdy],
        failed=[[v != v for v in row] for row in (fragile, sturdier, sturdy)],
    )
    for metric in ("final_loss", "best_loss"):
        stats = aggregate(o, metric)
        assert [s.rank for s in stats] == [3, 2, 1]
        assert [s.misses for s in stats] == [7, 1, 0]


def test_ties_in_failures_and_median_go_to_the_upper_quartile_then_grid_order():
    o = outcomes([[1, 2, 3, 9], [1, 2, 3, 4], [1, 2, 3, 4]])
    assert [s.rank for s in aggregate(o, "final_loss")] == [3, 1, 2]


def test_steps_to_target_ranks_fewer_misses_first():
    o = outcomes(
        [[1e-9] * 4, [1e-9] * 4],
        reached=[[1, 1, 1, 0], [1, 1, 1, 1]],
        stt=[[10, 10, 10, np.nan], [500, 500, 500, 500]],
    )
    s = aggregate(o, "steps_to_target")
    assert s[0].value == 10 and [x.rank for x in s] == [2, 1] and s[0].fragile


def test_steps_to_target_and_success_rate_ranking():
    o = outcomes(
        [[1e-3, 1e-3], [1e-7, 1e-7], [1e-8, 1e-9], [2.0, 3.0]],
        reached=[[1, 1], [1, 0], [1, 1], [0, 0]],
        stt=[[100, 120], [50, np.nan], [300, 300], [np.nan, np.nan]],
    )
    s = aggregate(o, "steps_to_target")
    assert s[0].value == 110 and s[1].value == math.inf and s[1].state == "not_reached"
    assert [x.rank for x in s] == [1, 3, 2, 4]  # not reached: ties by median final loss
    r = aggregate(o, "success_rate")
    assert [x.value for x in r] == [1.0, 0.5, 1.0, 0.0]
    assert [x.rank for x in r] == [1, 3, 2, 4]  # ties: fewer steps to target first


@given(st.lists(st.lists(st.floats(-1e6, 1e6), min_size=5, max_size=5), min_size=1, max_size=6))
def test_quantiles_match_numpy_where_finite(rows):
    m = np.sort(np.array(rows), axis=1)
    for q in (0.25, 0.5, 0.75):
        np.testing.assert_array_equal(_sorted_quantile(m, q), np.quantile(m, q, axis=1))


# ---------------------------------------------------------------------------------------------
# Heatmaps, determinism and reloading


def test_heatmap_cells_and_best_cell():
    sw = sweep("beale", ["adam"], ["lr=0.01,0.1,1", "beta1=0.5,0.9"], steps=300)
    (hm,) = sw.heatmaps()
    stats = sw.stats()
    assert (hm.row_name, hm.col_name) == ("lr", "beta1")
    assert hm.row_labels == ("0.01", "0.1", "1") and hm.col_labels == ("0.5", "0.9")
    for r, lr in enumerate((0.01, 0.1, 1.0)):
        for c, b1 in enumerate((0.5, 0.9)):
            assert sw.points[hm.cells[r][c]].values == {"lr": lr, "beta1": b1}
    best = min(range(len(stats)), key=lambda k: stats[k].rank)
    (cell,) = hm.marked
    assert hm.cells[cell[0]][cell[1]] == best == sw.best().point


def test_more_axes_give_a_heatmap_per_combination_and_one_axis_a_table_of_bases():
    sw = sweep("beale", ["adam"], ["beta2=0.99,0.999", "lr=0.01,0.1", "amsgrad=true,false"],
               steps=50)  # fmt: skip
    assert [h.title for h in sw.heatmaps()] == ["adam, amsgrad=true", "adam, amsgrad=false"]
    assert sw.heatmaps()[1].fixed == {"amsgrad": False}
    sw = sweep("beale", ["sgd", "adam"], ["lr=0.001,0.01,0.1"], steps=50)
    (hm,) = sw.heatmaps()
    assert hm.col_name == "optimizer" and hm.col_labels == ("sgd", "adam")
    assert sw.points[hm.cells[2][1]].label == "adam(lr=0.1)"
    assert sweep("beale", ["adam"], ["lr=0.01,0.1"], steps=50).heatmaps() == []


@pytest.mark.parametrize("problem", ["noisy_logreg", "beale"])
def test_same_seed_same_numbers_serial_parallel_and_rerun(problem):
    kw = dict(seeds=3, steps=150, start="random")
    grid = ["lr=1e-3:1:log4", "beta1=0.5,0.9"]
    serial = sweep(problem, ["adam", "rmsprop"], grid, threads=1, **kw)
    parallel = sweep(problem, ["adam", "rmsprop"], grid, threads=2, **kw)
    chunked = sweep(problem, ["adam", "rmsprop"], grid, threads=2, chunk_steps=7, **kw)
    again = sweep(problem, ["adam", "rmsprop"], grid, threads=2, **kw)
    a = stable(serial.to_dict())
    assert a == stable(parallel.to_dict()) == stable(chunked.to_dict()) == stable(again.to_dict())
    assert serial.result.threads == 1 and parallel.result.threads == 2


def test_json_follows_the_schema_and_reloads_to_the_same_tables():
    sw = sweep("beale", ["adam", "sgd"], ["lr=0.01,0.1,1"], seeds=2, steps=200, start="random")
    data = json.loads(sw.to_json())
    jsonschema.validate(data, SCHEMA)
    assert data["sweep"]["grid"][0] == {
        "name": "lr", "optimizer": None, "spec": "0.01,0.1,1", "scale": "list",
        "values": [0.01, 0.1, 1.0],
    }  # fmt: skip
    assert data["optimizers"][0]["sources"]["lr"] == "grid"
    assert len(data["runs"]) == 12 and len(data["sweep"]["points"]) == 6
    back = SweepResult.from_dict(data)
    for metric in ("final_loss", "best_loss", "steps_to_target", "success_rate"):
        assert back.stats(metric) == sw.stats(metric)
    assert back.heatmaps() == sw.heatmaps()


def test_sweep_files_load_and_bad_ones_name_file_and_key(write_yaml):
    spec = load_sweep_file(ROOT / "sample_configs" / "sweep_beale.yaml")
    assert spec.problem == "beale" and spec.grid["beta1"] == [0.5, 0.9, 0.99]
    bc = load_sweep_file(ROOT / "sample_configs" / "bias_correction.yaml")
    p = plan(bc.problem, bc.optimizers, bc.grid, seeds=bc.seeds)
    assert len(p.configs) == 3 * 5 * 2 * 2
    assert {c.values["bias_correction"] for c in p.configs} == {0.0, 1.0}
    for text, message in [
        ("problem: beale\ngrd: {lr: 0.1}\n", r"unknown key 'grd' \(did you mean 'grid'\?\)"),
        ("problem: beale\ngrid: {lr: '0:1:log3'}\n", r"grid.lr: log range '0:1:log3'"),
        ("problem: beale\ngrid: {lr: [0.1, x y]}\n", r"grid.lr: 'x y' is not a number"),
        ("problem: beale\ngrid: []\n", r"grid: must be a mapping"),
        ("problem: beale\ngrid: {lr: 0.1}\nseeds: 0\n", r"seeds: must be an integer >= 1"),
        ("problem: beale\ngrid: {lr: 0.1}\nmetric: loss\n", r"metric: must be one of"),
        ("- 1\n", r"a sweep file is a mapping"),
    ]:
        path = write_yaml(text, "sweep.yaml")
        with pytest.raises(ConfigError, match=message) as info:
            load_sweep_file(path)
        assert str(info.value).startswith(path)
    # A name is a value of a choice (schedule: [constant, cosine]); for a number, it is refused
    # where the grid meets the optimizer.
    path = write_yaml("problem: beale\ngrid: {lr: [0.1, x]}\n", "sweep.yaml")
    spec = load_sweep_file(path)
    with pytest.raises(UsageError, match=r"adam: lr must be a number, got 'x'"):
        plan(spec.problem, ["adam"], spec.grid, where=path)
    path = write_yaml("problem: beale\ngrid: {beta9: [0.9]}\n", "sweep.yaml")
    spec = load_sweep_file(path)
    with pytest.raises(UsageError, match=rf"{path}: grid.beta9: no optimizer"):
        plan(spec.problem, ["adam"], spec.grid, where=path)


# ---------------------------------------------------------------------------------------------
# The tuning protocol


def test_tuned_comparison_picks_each_optimizers_best_on_held_out_seeds():
    tuned = run_tuned(
        "noisy_logreg",
        ["sgd", "adam"],
        tune_range=(1e-3, 1.0),
        tune_count=4,
        tune_seeds=3,
        seeds=2,
        steps=80,
    )
    t = tuned.tuning
    runs = t.sweep.result.runs
    # The same budget for every optimizer: the same grid, steps and seeds.
    for opt in ("sgd", "adam"):
        mine = [r for r in runs if r.optimizer == opt]
        assert sorted({r.hyperparameters["lr"] for r in mine}) == sorted(t.values)
        assert sorted(r.seed for r in mine) == sorted([2, 3, 4] * 4)
        assert {r.steps for r in mine} == {80}
    assert set(t.sweep.seeds).isdisjoint(tuned.result.settings.seeds)
    # The choice is the lr with the fewest failed runs, then the lowest median final loss
    # (the sweep's ranking), recomputed here from the runs.
    for choice in t.choices:
        opt = t.sweep.bases[choice.base].optimizer
        losses = {
            lr: [
                r.final_loss if r.status not in ("diverged", "invalid_start") else np.inf
                for r in runs
                if r.optimizer == opt and r.hyperparameters["lr"] == lr
            ]
            for lr in t.values
        }
        medians = {lr: np.median(v) for lr, v in losses.items()}
        key = {lr: (int(np.isinf(v).sum()), medians[lr]) for lr, v in losses.items()}
        assert choice.value == min(key, key=key.get)
        assert choice.stat.value == medians[choice.value]
    # The comparison is a plain run at the chosen values: nothing else changed.
    for cfg, choice in zip(tuned.result.configs, t.choices, strict=True):
        assert cfg.values["lr"] == choice.value and cfg.sources["lr"] == "tuned"
        plain = adambench.run(
            "noisy_logreg", [f"{cfg.name}(lr={choice.value!r})"], steps=80, seeds=2
        )
        mine = tuned.result.runs_of(tuned.result.configs.index(cfg))
        for a, b in zip(mine, plain.runs, strict=True):
            np.testing.assert_array_equal(a.final_x, b.final_x)
    data = json.loads(tuned.to_json())
    jsonschema.validate(data, SCHEMA)
    assert data["tuning"]["seeds"] == [2, 3, 4] and len(data["tuning"]["runs"]) == 24
    assert (
        "held out" in data["tuning"]["rule"] and data["optimizers"][0]["sources"]["lr"] == "tuned"
    )
    assert "chosen: the fewest failed runs, then the lowest median" in data["tuning"]["rule"]
    assert data["tuning"]["ranking"].startswith("fewest failed runs; then lowest median")
    csv_rows = tuned.to_csv().splitlines()
    assert csv_rows[0].endswith(",phase") and len(csv_rows) == 1 + 24 + 4


def test_tuning_refuses_what_it_cannot_do_fairly():
    with pytest.raises(UsageError, match="sgd has no hyperparameter 'beta1'"):
        run_tuned("beale", ["adam", "sgd"], param="beta1", steps=10)
    with pytest.raises(UsageError, match=r"adam\(lr=0.1\) sets lr, which --tune lr chooses"):
        run_tuned("beale", ["adam(lr=0.1)"], steps=10)
    with pytest.raises(UsageError, match="--lr and --tune lr"):
        run_tuned("beale", ["adam"], steps=10, lr=0.1)
    with pytest.raises(UsageError, match="log axis, which must have both ends > 0"):
        run_tuned("beale", ["adam"], steps=10, tune_range=(0.0, 1.0))


def test_tuning_notes_a_choice_at_the_edge_of_the_range():
    tuned = run_tuned("beale", ["adam"], tune_range=(1e-4, 1e-3), tune_count=2, steps=100)
    assert tuned.tuning.choices[0].value == 1e-3 and tuned.tuning.choices[0].at_edge
    assert any("edge of the tuning range" in n for n in tuned.result.notes)


def test_the_library_imports_no_cli_or_plotting_modules():
    import subprocess
    import sys

    code = (
        "import sys, adambench.sweeps, adambench.report.sweep_tables, adambench.report.plots\n"
        "print(sorted(m for m in ('typer', 'rich', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_adambench_sweep_stays_the_function_after_the_module_is_imported():
    import adambench.sweeps  # importing a submodule sets an attribute of the package

    assert callable(adambench.sweep) and adambench.sweep is sweep
