"""A data problem's held-out rows measured along the run: the compiled (loss, accuracy)
kernels against numpy, the evaluations every ``eval_every`` steps against the iterates they
were taken at, targets on the held-out metrics, and the evaluations through every path
(threads, chunks, JSON, a cluster worker's returned arrays)."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

import adambench
from adambench import kernels as K
from adambench import sparse_kernels as S
from adambench.datasets import mlp_accuracy, mlp_loss, model_accuracy, model_loss
from adambench.errors import AdambenchError, UsageError
from adambench.problems import load_problem, problem_from_dict


def _rows(n: int, d: int, label: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(11)
    return np.column_stack([rng.normal(size=(n, d)), label])


@pytest.mark.parametrize("model", ["logistic", "softmax", "least_squares"])
def test_linear_metrics_are_the_numpy_loss_and_accuracy(model):
    rng = np.random.default_rng(5)
    n, d, k = 37, 4, 3
    label = {
        "logistic": rng.integers(0, 2, n).astype(float),
        "softmax": rng.integers(0, k, n).astype(float),
        "least_squares": rng.normal(size=n),
    }[model]
    data = _rows(n, d, label)
    weights = d * k if model == "softmax" else d
    for trial in range(5):
        w = rng.normal(scale=2.0, size=weights)
        if trial == 0:
            w[:] = 0.0  # every score ties at 0: "z > 0" is false, argmax takes class 0
        if model == "logistic":
            got = K.logreg_metrics(w, data, 0.3, d - 1)
        elif model == "softmax":
            got = K.softmax_metrics(w, data, 0.3, d - 1, k)
        else:
            got = K.lsq_metrics(w, data, 0.3, d - 1)
        loss = model_loss(model, w, data, 0.3, d - 1, k)
        assert got[0] == pytest.approx(loss, rel=1e-12)
        accuracy = model_accuracy(model, w, data, k)
        if accuracy is None:
            assert math.isnan(got[1])
        else:
            assert got[1] == accuracy  # a count of rows: exact


def test_mlp_metrics_are_the_numpy_loss_and_accuracy():
    rng = np.random.default_rng(6)
    widths = [5, 7, 6, 4]
    data = _rows(29, 5, rng.integers(0, 4, 29).astype(float))
    # pd: [noise, l2, n_reg, batch, classes, eval_every, input dropout, dropout, activation,
    #      layers, widths...] as Problem.problem_params lays it out
    for activation in (0, 1):
        pd = np.array([0, 0.01, 0, 8, 4, 1, 0, 0, activation, 2, 7, 6, 29], float)
        size = sum(a * b + b for a, b in itertools.pairwise(widths))
        w = rng.normal(size=size)
        loss, accuracy = K.mlp_metrics(w, data, pd)
        name = ("tanh", "relu")[activation]
        assert loss == pytest.approx(mlp_loss(w, data, widths, name, 0.01), rel=1e-12)
        assert accuracy == mlp_accuracy(w, data, widths, name)


def test_the_sparse_metrics_are_the_dense_ones():
    from adambench.corpus import bag_of_words

    rows = bag_of_words(n_docs=60, vocab=30, doc_length=5, informative=8, data_seed=2)
    dense = np.zeros((rows.n_rows, rows.n_features + 1))
    for k in range(rows.n_rows):
        lo, hi = rows.indptr[k], rows.indptr[k + 1]
        dense[k, rows.indices[lo:hi]] = rows.values[lo:hi]
    dense[:, -1] = rows.labels
    w = np.random.default_rng(1).normal(size=rows.n_features)
    got = S.logreg_full_metrics(w, rows.indptr, rows.indices, rows.values, rows.labels, 0.2, 25)
    assert got == K.logreg_metrics(w, dense, 0.2, 25)  # the same sums in the same order


# ---------------------------------------------------------------------------------------------
# Evaluations along a run


def _write(folder: Path, name: str, model: str, extra: str = "") -> Path:
    """A small data problem over a CSV of 80 rows, a quarter held out."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(80, 3))
    y = np.argmax(x @ rng.normal(size=(3, 3)) + rng.normal(scale=0.8, size=(80, 3)), axis=1)
    if model == "logistic":
        y = (y > 0).astype(int)
    cells = [[*(repr(float(v)) for v in row), str(t)] for row, t in zip(x, y, strict=True)]
    (folder / "d.csv").write_text("\n".join(["u,v,w,c"] + [",".join(r) for r in cells]) + "\n")
    path = folder / f"{name}.yaml"
    path.write_text(
        f"name: {name}\n"
        "data: {file: d.csv, target: c, test_fraction: 0.25}\n"
        f"model: {{kind: {model}, l2: 0.01, batch_size: 8, eval_every: 5}}\n"
        f"steps: 60\n{extra}"
    )
    return path


@pytest.fixture(scope="module")
def softmax_file(tmp_path_factory) -> Path:
    return _write(tmp_path_factory.mktemp("held_out"), "held_softmax", "softmax")


def test_evaluations_are_the_held_out_metrics_at_iterates_0_k_2k_and_the_last(softmax_file):
    problem = load_problem(softmax_file)
    result = adambench.run(problem, ["sgd(lr=0.5)"], steps=23, record_x=True)
    (run,) = result.runs
    ev = run.evaluations
    assert ev.steps.tolist() == [0, 5, 10, 15, 20, 23]
    for k, step in enumerate(ev.steps):
        x = run.x_trace[step] if step < 23 else run.final_x
        assert ev.test_loss[k] == pytest.approx(problem.loss_numpy(x, test=True), rel=1e-12)
        assert ev.test_accuracy[k] == problem.accuracy(x, test=True)
        assert ev.train_loss[k] == (run.loss_trace[step] if step < 23 else run.final_loss)
    assert (ev.test_loss[-1], ev.test_accuracy[-1]) == (run.test_loss, run.test_accuracy)
    saved = json.loads(result.to_json())["runs"][0]["evaluations"]
    assert saved["steps"] == [0, 5, 10, 15, 20, 23]
    assert saved["test_accuracy"] == ev.test_accuracy.tolist()
    assert json.loads(result.to_json())["problem"]["target_metric"] == "loss"


def test_an_mlp_and_sparse_rows_are_evaluated_too(tmp_path):
    mlp = tmp_path / "mlp.yaml"
    _write(tmp_path, "base", "softmax")
    mlp.write_text(
        "name: held_mlp\n"
        "data: {file: d.csv, target: c, test_fraction: 0.25}\n"
        "model: {kind: mlp, hidden: [4], l2: 0.01, batch_size: 8, eval_every: 4}\n"
    )
    bow = tmp_path / "bow.yaml"
    bow.write_text(
        "name: held_bow\n"
        "data: {generator: bow, n_docs: 60, vocab: 30, doc_length: 5, test_fraction: 0.25}\n"
        "model: {kind: logistic, l2: 0.01, batch_size: 8, eval_every: 4}\n"
    )
    for path, optimizer in ((mlp, "adam(lr=0.05)"), (bow, "lazy_adam(lr=0.1)")):
        problem = load_problem(path)
        result = adambench.run(problem, [optimizer], steps=10, every=1, record_x=True)
        ev = result.runs[0].evaluations
        assert ev.steps.tolist() == [0, 4, 8, 10]
        for k, step in enumerate(ev.steps[:-1]):
            x = result.runs[0].x_trace[step] if problem.dim <= 256 else None
            if x is not None:
                assert ev.test_accuracy[k] == problem.accuracy(x, test=True)
                assert ev.test_loss[k] == pytest.approx(problem.loss_numpy(x, test=True))
        assert ev.test_loss[-1] == result.runs[0].test_loss


def test_evaluations_are_the_same_on_any_threads_chunks_and_a_worker(softmax_file):
    from adambench.backends import tasks as T
    from adambench.backends import worker as W
    from adambench.engine import jobs as engine
    from adambench.engine.batches import Batch

    problem = load_problem(softmax_file)
    kw = {"steps": 47, "seeds": 3}
    optimizers = ["sgd(lr=0.5)", "adam(lr=0.05)"]
    serial = adambench.run(problem, optimizers, threads=1, **kw)
    parallel = adambench.run(problem, optimizers, threads=2, chunk_steps=3, **kw)
    # A worker returns the evaluations without the minibatch permutation around them; the
    # client collects them as a cluster does (adambench.backends.dask attaches its blocks).
    job = engine.prepare(problem, optimizers, allocate=False, **kw)
    part = T.part_of(T.plan_job(job), 0, [0, 1], 0, 3)
    out = W.run_chunk(T.Task(0, (part,), 1, T.code_digest()))
    assert out.error is None
    for block in out.blocks:
        assert "PS" not in block.arrays and block.arrays["EV"].shape[0] == len(block.runs)
        runs = [(int(a), int(c)) for a, c in block.runs.tolist()]
        empty = (np.zeros(0), np.zeros((0, 0)))
        job.batches.append(Batch(None, lambda *a: None, True, "w", runs, block.arrays, *empty))
    remote = engine.collect(job)
    for a, b, c in zip(serial.runs, parallel.runs, remote.runs, strict=True):
        for field in ("steps", "train_loss", "test_loss", "test_accuracy"):
            mine = getattr(a.evaluations, field)
            assert np.array_equal(mine, getattr(b.evaluations, field))
            assert np.array_equal(mine, getattr(c.evaluations, field))
        assert a.evaluations.steps[-1] == 47


# ---------------------------------------------------------------------------------------------
# Targets on the held-out rows


def test_a_test_accuracy_target_is_met_at_the_first_evaluation_that_reaches_it(tmp_path):
    from rich.console import Console

    from adambench.report.tables import table
    from adambench.report.verdict import verdict

    free = load_problem(_write(tmp_path, "free", "softmax"))
    first = adambench.run(free, ["sgd(lr=0.5)"], seeds=2).runs
    accuracies = np.concatenate([r.evaluations.test_accuracy for r in first])
    aim = float(np.median(accuracies))  # reached by some evaluations, not by the first
    path = _write(tmp_path, "aimed", "softmax", f"target: {{test_accuracy: {aim!r}}}\n")
    problem = load_problem(path)
    assert (problem.target_metric, problem.target, problem.loss_target) == (
        "test_accuracy",
        aim,
        None,
    )
    result = adambench.run(problem, ["sgd(lr=0.5)"], seeds=2)
    for run, before in zip(result.runs, first, strict=True):
        assert np.array_equal(run.final_x, before.final_x)  # the target changes no step
        ev = run.evaluations
        hit = ev.steps[np.flatnonzero(ev.test_accuracy >= aim)[0]]
        assert run.steps_to_target == hit and run.status == "reached_target"
        assert run.steps == 60  # not stopped: evaluations are not every step
    console = Console(width=160, record=True)
    console.print(table(result))
    assert f"target test accuracy >= {aim:.4g}" in console.export_text()
    assert "reached the target (test accuracy >= " in verdict(result)
    with pytest.raises(UsageError, match="training-loss target; aimed's target is on its test"):
        adambench.run(problem, ["sgd(lr=0.5)"], stop_at_target=True)


def test_an_unreached_test_loss_target_leaves_the_runs_at_max_steps(tmp_path):
    problem = load_problem(_write(tmp_path, "low", "softmax", "target: {test_loss: 1.0e-9}\n"))
    result = adambench.run(problem, ["sgd(lr=0.5)"])
    (run,) = result.runs
    assert run.steps_to_target is None and run.status in ("max_steps", "stalled")
    saved = json.loads(result.to_json())
    assert saved["problem"]["target_metric"] == "test_loss"


_HELD_OUT_REFUSALS = [
    ("beale", "target: {test_loss: 0.1}", r"'target\.test_loss' is a target for data problems"),
    ("softmax", "target: {test_accuracy: 1.5}", r"must be a fraction between 0 and 1, got 1\.5"),
    ("softmax", "target: {test_accuracy: 0.5, gap: 1}", r"takes no other key"),
    ("least_squares", "target: {test_accuracy: 0.5}", r"least squares is not a classifier"),
    ("no_split", "target: {test_loss: 0.5}", r"needs held-out rows: give data: \{test_fraction"),
    ("softmax", "target: {test_acc: 0.9}", r"'test_acc' \(did you mean 'test_accuracy'"),
]


@pytest.mark.parametrize(("kind", "line", "message"), _HELD_OUT_REFUSALS)
def test_held_out_targets_that_cannot_work_are_refused_in_one_line(tmp_path, kind, line, message):
    if kind == "beale":
        raw = {"name": "b", "variables": ["x"], "expression": "x**2", "start": [1.0]}
        raw["target"] = {"test_loss": 0.1}
        with pytest.raises(AdambenchError, match=message):
            problem_from_dict(raw, "b.yaml")
        return
    path = _write(tmp_path, "p", "softmax" if kind == "no_split" else kind, line + "\n")
    if kind == "no_split":
        path.write_text(path.read_text().replace(", test_fraction: 0.25", ""))
    with pytest.raises(AdambenchError, match=message) as caught:
        load_problem(path)
    assert "\n" not in str(caught.value) and "p.yaml" in str(caught.value)


# ---------------------------------------------------------------------------------------------
# The CI gate on the held-out rows


def test_the_gate_checks_held_out_accuracy_and_loss_and_a_held_out_target(softmax_file, tmp_path):
    aimed = _write(tmp_path, "gate_aimed", "softmax", "target: {test_accuracy: 0.5}\n")
    suite = {
        "name": "held",
        "seeds": 2,
        "cases": [
            {"name": "good", "problem": str(softmax_file), "optimizer": "sgd(lr=0.5)",
             "expect": {"test_accuracy_at_least": 0.5, "test_loss_below": 5.0}},
            {"name": "greedy", "problem": str(softmax_file), "optimizer": "sgd(lr=0.5)",
             "expect": {"test_accuracy_at_least": 0.999}},
            {"name": "aimed", "problem": str(aimed), "optimizer": "sgd(lr=0.5)",
             "expect": {"status": "reached_target", "steps_to_target_at_most": 60}},
        ],
    }  # fmt: skip
    result = adambench.check(suite)
    verdicts = {c.id: {k.name: k.passed for k in c.checks} for c in result.cases}
    assert verdicts["good"] == {"test_accuracy_at_least": True, "test_loss_below": True}
    assert verdicts["greedy"] == {"test_accuracy_at_least": False}
    assert verdicts["aimed"] == {"status": True, "steps_to_target_at_most": True}
    good = result.cases[0]
    runs = adambench.run(load_problem(softmax_file), ["sgd(lr=0.5)"], seeds=2).runs
    assert good.metrics["test_accuracy"] == np.median([r.test_accuracy for r in runs])
    bad = {"cases": [{"name": "a", "problem": "noisy_logreg", "optimizer": "adam",
                      "expect": {"test_accuracy_at_least": 0.5}}]}  # fmt: skip
    with pytest.raises(AdambenchError, match="'noisy_logreg' holds out no rows"):
        adambench.check(bad)


def test_the_loss_panel_draws_the_held_out_loss_and_a_legend_inside_the_figure(softmax_file):
    import matplotlib

    matplotlib.use("Agg")
    from adambench.report import plots

    long = "sgd(lr=0.5, momentum=0.9, nesterov=true, schedule=inverse_sqrt)"
    result = adambench.run(load_problem(softmax_file), ["sgd(lr=0.5)", long], steps=30)
    pd = plots.from_result(result)
    drawing = plots.draw(pd)
    ax = drawing.loss_lines[0].axes
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == 2  # one per configuration, at its evaluations
    for line, run in zip(dashed, result.runs, strict=True):
        np.testing.assert_array_equal(line.get_xdata(), run.evaluations.steps)
    legend = drawing.fig.legends[0]
    assert "test loss (held-out rows)" in [t.get_text() for t in legend.get_texts()]
    drawing.fig.canvas.draw()
    box = legend.get_window_extent()
    assert box.x0 >= 0 and box.x1 <= drawing.fig.bbox.width  # the long label is not cut
    saved = plots.from_dict(json.loads(result.to_json(trace=True)), "r.json")
    assert np.array_equal(saved.traces[1].test_loss[1], result.runs[1].evaluations.test_loss)


# ---------------------------------------------------------------------------------------------
# Sweeps and tuning ranked on the held-out rows


def test_a_sweep_ranks_by_held_out_error_and_loss_and_reloads_the_same(softmax_file, tmp_path):
    from adambench.sweeps.result import load_sweep_result

    sw = adambench.sweep(
        softmax_file, ["sgd"], ["lr=0.01:1:log3"], seeds=2, steps=40, metric="test_error"
    )
    runs = sw.result.runs
    for stat in sw.stats():
        mine = [1.0 - r.test_accuracy for r in runs if r.config_index == stat.point]
        assert stat.value == pytest.approx(np.median(mine), abs=1e-15)
    ranked = [s.value for s in sw.ranked()]
    assert ranked == sorted(ranked)
    losses = sw.ranked("test_loss")
    assert losses[0].value == min(
        np.median([r.test_loss for r in runs if r.config_index == k]) for k in range(3)
    )
    path = tmp_path / "sweep.json"
    path.write_text(sw.to_json())
    again = load_sweep_result(path)
    assert [(s.point, s.value) for s in again.ranked()] == [(s.point, s.value) for s in sw.ranked()]
    with pytest.raises(UsageError, match="test_loss needs held-out rows"):
        adambench.sweep("noisy_logreg", ["adam"], ["lr=0.1"], steps=5, metric="test_loss")
    # Every run diverged: nothing was measured on the held-out rows, but they are there.
    lost = adambench.sweep(softmax_file, ["sgd"], ["lr=1e6"], steps=20, metric="test_error")
    assert lost.held_out and lost.stats()[0].state == "diverged"
    path.write_text(lost.to_json())
    assert load_sweep_result(path).ranked()[0].state == "diverged"


def test_a_bench_needs_a_training_loss_target_for_a_problem_aimed_at_held_out_rows(tmp_path):
    from adambench.sweeps.bench import run_bench
    from adambench.sweeps.bench_suite import Suite, SuiteProblem

    aimed = str(_write(tmp_path, "bench_aimed", "softmax", "target: {test_accuracy: 0.5}\n"))
    bare = Suite("s", (SuiteProblem(aimed, steps=20),), optimizers=("sgd",), seeds=1)
    with pytest.raises(UsageError, match="target is on its test accuracy; a bench compares"):
        run_bench(bare)
    given = Suite("s", (SuiteProblem(aimed, steps=20, target=5.0),), optimizers=("sgd",), seeds=1)
    entry = json.loads(run_bench(given).to_json())["bench"]["problems"][0]
    assert entry["target"] == 5.0  # the suite's training-loss target, judged on the loss
