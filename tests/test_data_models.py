"""The models of data problems (logistic, softmax, least squares): their hand-derived compiled
gradients against torch autograd, a run reaching the optimum a reference solver in this file
finds, and the same numbers on any number of threads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import adambench
from adambench import kernels as K
from adambench.problems import load_problem


def random_rows(n: int, d: int, label: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(5)
    return np.column_stack([rng.normal(size=(n, d)), label]).astype(np.float64)


def left_to_right_loss(model: str, w: np.ndarray, data: np.ndarray, l2: float, n_reg: int) -> float:
    """The linear models' loss in plain Python, every sum taken left to right: the order the
    compiled kernels promise (pinned numbers in the docs and goldens depend on it)."""
    import math

    n, d = data.shape[0], data.shape[1] - 1
    classes = w.shape[0] // d
    total = 0.0
    for k in range(n):
        z = []
        for c in range(classes):
            s = 0.0
            for j in range(d):
                s += w[c * d + j] * data[k, j]
            z.append(s)
        if model == "logistic":
            total += max(z[0], 0.0) + math.log1p(math.exp(-abs(z[0]))) - data[k, d] * z[0]
        elif model == "least_squares":
            r = z[0] - data[k, d]
            total += 0.5 * r * r
        else:
            top = max(z)
            e = 0.0
            for c in range(classes):
                e += math.exp(z[c] - top)
            total += top + math.log(e) - z[int(data[k, d])]
    reg = 0.0
    for c in range(classes):
        for j in range(n_reg):
            reg += w[c * d + j] * w[c * d + j]
    return total / n + 0.5 * l2 * reg


@pytest.mark.parametrize("model", ["logistic", "softmax", "least_squares"])
def test_linear_model_losses_sum_in_one_fixed_order(model):
    rng = np.random.default_rng(2)
    n, d, k = 23, 6, 4
    label = rng.integers(0, k if model == "softmax" else 2, n).astype(float)
    data = random_rows(n, d, label)
    w = rng.normal(size=d * (k if model == "softmax" else 1))
    loss = {
        "logistic": lambda: K.logreg_loss(w, data, 0.3, d - 1),
        "least_squares": lambda: K.lsq_loss(w, data, 0.3, d - 1),
        "softmax": lambda: K.softmax_loss(w, data, 0.3, d - 1, k),
    }[model]()
    assert loss == left_to_right_loss(model, w, data, 0.3, d - 1)  # bit for bit, not approx


@pytest.mark.torch
@pytest.mark.parametrize("model", ["logistic", "softmax", "least_squares"])
def test_gradient_and_loss_match_torch_autograd(model):
    torch = pytest.importorskip("torch")
    n, d, k, l2, n_reg = 9, 4, 3, 0.3, 3  # the last feature is unpenalised, as a bias
    rng = np.random.default_rng(11)
    label = {
        "logistic": rng.integers(0, 2, n),
        "softmax": rng.integers(0, k, n),
        "least_squares": rng.normal(size=n),
    }[model].astype(float)
    data = random_rows(n, d, label)
    size = d * (k if model == "softmax" else 1)
    w = rng.normal(size=size)
    rows = np.array([7, 1, 4, 4, 0])  # a minibatch (a row may be drawn twice in a batch)

    a, y = torch.tensor(data[rows, :d]), torch.tensor(data[rows, d])
    wt = torch.tensor(w, requires_grad=True)
    penalty = 0.5 * l2 * (wt.reshape(-1, d)[:, :n_reg] ** 2).sum()
    if model == "logistic":
        fit = torch.nn.functional.binary_cross_entropy_with_logits(a @ wt, y)
    elif model == "softmax":
        fit = torch.nn.functional.cross_entropy(a @ wt.reshape(k, d).T, y.long())
    else:
        fit = 0.5 * ((a @ wt - y) ** 2).mean()
    (fit + penalty).backward()

    g = np.zeros(size)
    extra = (k,) if model == "softmax" else ()
    grad, loss = {
        "logistic": (K.logreg_grad, K.logreg_loss),
        "softmax": (K.softmax_grad, K.softmax_loss),
        "least_squares": (K.lsq_grad, K.lsq_loss),
    }[model]
    grad(w, g, data, rows, l2, n_reg, *extra)
    np.testing.assert_allclose(g, wt.grad.numpy(), rtol=1e-10, atol=1e-12)
    # the compiled loss over these rows is torch's loss
    f = loss(w, data[rows], l2, n_reg, *extra)
    assert f == pytest.approx(float((fit + penalty).detach()), rel=1e-12)


def softmax_reference(a: np.ndarray, y: np.ndarray, k: int, l2: float) -> np.ndarray:
    """The minimiser of mean cross-entropy + (l2/2)|W|^2 (every weight penalised), by plain
    gradient descent in numpy: an independent solver (step 1/L for L = max eig(A^T A)/n + l2)."""
    n, d = a.shape
    onehot = np.eye(k)[y.astype(int)]
    lipschitz = np.linalg.eigvalsh(a.T @ a / n).max() + l2
    w = np.zeros((k, d))
    for _ in range(20_000):
        z = a @ w.T
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        grad = (p - onehot).T @ a / n + l2 * w
        w -= grad / lipschitz
        if np.abs(grad).max() < 1e-13:
            break
    return w.reshape(-1)


@pytest.fixture(scope="module")
def softmax_problem(tmp_path_factory):
    """A three-class softmax regression on a small CSV file (no bias: a unique minimiser)."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 3))
    y = np.argmax(x @ rng.normal(size=(3, 3)) + rng.normal(scale=0.8, size=(40, 3)), axis=1)
    folder = tmp_path_factory.mktemp("softmax")
    cells = [[*(repr(float(v)) for v in row), str(t)] for row, t in zip(x, y, strict=True)]
    lines = ["u,v,w,class"] + [",".join(row) for row in cells]
    (folder / "d.csv").write_text("\n".join(lines) + "\n")
    (folder / "p.yaml").write_text(
        "name: small_softmax\n"
        "data: {file: d.csv, target: class}\n"
        "model: {kind: softmax, l2: 0.1, batch_size: 8}\n"
        "steps: 1500\n"
    )
    return load_problem(folder / "p.yaml"), x, y


def test_full_batch_descent_reaches_the_reference_optimum(softmax_problem):
    problem, x, y = softmax_problem
    reference = softmax_reference(x, y, 3, 0.1)
    # the problem's own optimum (Newton) is the reference solver's
    np.testing.assert_allclose(problem.minimizers[0], reference, atol=1e-9)
    # plain gradient descent on the full batch, compiled, gets there too
    exact = _full_batch(problem)
    result = adambench.run(exact, ["sgd(lr=1)"], steps=1500)
    run = result.runs[0]
    np.testing.assert_allclose(run.final_x, reference, atol=1e-8)
    assert run.final_loss == pytest.approx(problem.min_value, abs=1e-12)
    assert run.accuracy == pytest.approx(np.mean(np.argmax(x @ reference.reshape(3, 3).T, 1) == y))


def _full_batch(problem):
    """The same problem with every minibatch the whole training set."""
    import dataclasses

    return dataclasses.replace(problem, model={**problem.model, "batch_size": 40})


def test_minibatch_runs_are_the_same_on_any_threads_and_chunks(softmax_problem):
    problem = softmax_problem[0]
    kw = {"steps": 120, "seeds": 3}  # one start: seeds differ only in their minibatches
    serial = adambench.run(problem, ["sgd(lr=0.5)", "sgd(lr=0.1)"], threads=1, **kw)
    parallel = adambench.run(
        problem, ["sgd(lr=0.5)", "sgd(lr=0.1)"], threads=2, chunk_steps=7, **kw
    )
    for a, b in zip(serial.runs, parallel.runs, strict=True):
        assert np.array_equal(a.final_x, b.final_x)
        assert np.array_equal(a.loss_trace, b.loss_trace)
    # minibatches make the run differ from the full-batch one, and seeds from each other
    assert not np.array_equal(serial.runs[0].final_x, serial.runs[1].final_x)


def test_held_out_rows_give_test_loss_and_accuracy(softmax_problem, tmp_path):
    import json
    from importlib.resources import files
    from unittest.mock import ANY

    import jsonschema
    from rich.console import Console

    from adambench.report.tables import table

    folder = Path(softmax_problem[0].source).parent
    text = (folder / "p.yaml").read_text().replace("class}", "class, test_fraction: 0.25}")
    (tmp_path / "d.csv").write_text((folder / "d.csv").read_text())
    (tmp_path / "p.yaml").write_text(text)
    problem = load_problem(tmp_path / "p.yaml")
    assert (problem.data.shape[0], problem.test_data.shape[0]) == (30, 10)
    result = adambench.run(problem, ["sgd(lr=0.5)"], steps=200, seeds=2)
    for run in result.runs:
        # the held-out loss and accuracy, recomputed here from the held-out rows
        a, y = problem.test_data[:, :-1], problem.test_data[:, -1].astype(int)
        z = a @ run.final_x.reshape(3, 3).T
        lse = np.log(np.exp(z).sum(axis=1))
        loss = np.mean(lse - z[np.arange(10), y]) + 0.05 * np.sum(run.final_x**2)
        assert run.test_loss == pytest.approx(loss, rel=1e-12)
        assert run.test_accuracy == np.mean(np.argmax(z, axis=1) == y)
    saved = json.loads(json.dumps(result.to_dict()))
    assert saved["runs"][0]["test_loss"] == result.runs[0].test_loss
    schema = json.loads((files("adambench.schema") / "result.schema.json").read_text())
    jsonschema.validate(saved, schema)
    run_schema = schema["$defs"]["run"]["properties"]
    assert run_schema["test_accuracy"] == {"$ref": "#/$defs/num", "description": ANY}
    console = Console(width=200, record=True)
    console.print(table(result))
    header = console.export_text()
    assert "test loss" in header and "test acc." in header


def test_eval_every_changes_what_is_measured_not_the_run(softmax_problem, tmp_path):
    problem = softmax_problem[0]
    folder = Path(problem.source).parent
    text = (folder / "p.yaml").read_text().replace("batch_size: 8", "batch_size: 8, eval_every: 7")
    (tmp_path / "d.csv").write_text((folder / "d.csv").read_text())
    (tmp_path / "p.yaml").write_text(text)
    sparse = load_problem(tmp_path / "p.yaml")
    assert "evaluated every 7 steps" in " ".join(sparse.notes)
    (tmp_path / "every.yaml").write_text(text.replace("eval_every: 7", "eval_every: 1"))
    problem = load_problem(tmp_path / "every.yaml")  # the default is no longer every step
    kw = {"steps": 100, "seeds": 2, "every": 1}
    one, seven = (adambench.run(p, ["sgd(lr=0.5)"], **kw) for p in (problem, sparse))
    for a, b in zip(one.runs, seven.runs, strict=True):
        assert np.array_equal(a.final_x, b.final_x)  # the same steps, bit for bit
        assert a.final_loss == b.final_loss  # the last iterate is always evaluated
        # losses at iterates 0, 7, 14, ... are the full ones; between them, the last one held
        held = a.loss_trace[(np.arange(100) // 7) * 7]
        np.testing.assert_array_equal(b.loss_trace[:100], held)
        assert b.best_loss == np.min([*a.loss_trace[:100:7], a.final_loss])


@pytest.mark.parametrize(
    ("n_train", "batch", "steps", "expected"),
    [
        (200, 16, 2000, 200),  # 10 x 200 / 16 = 125, rounded up to 200 (noisy_logreg)
        (1438, 32, 2000, 500),  # 449.4 -> 500 (digits in batches of 32)
        (1438, 128, 1000, 200),  # 112.3 -> 200
        (100, 100, 500, 10),  # full batch: the loss is a second pass, measured every 10
        (200, 16, 50, 50),  # capped by the problem's steps
        (10, 1, 5000, 100),
    ],
)
def test_default_eval_every_keeps_measuring_near_a_tenth_of_the_run(
    n_train, batch, steps, expected
):
    from adambench.problems import MAX_STEPS, default_eval_every

    every = default_eval_every(n_train, batch, steps)
    assert every == expected
    # One measurement (n_train rows) per `every` steps (batch rows each): at most ~10 % extra.
    assert every == steps or n_train / (every * batch) <= 0.1
    # Held out rows fewer than the training rows change nothing; more set the pace.
    assert default_eval_every(n_train, batch, steps, n_train // 4) == every
    more = default_eval_every(n_train, batch, MAX_STEPS, 3 * n_train)
    assert (3 * n_train) / (more * batch) <= 0.1 < (3 * n_train) / (more * batch / 5)


def test_a_data_problem_without_eval_every_gets_the_default():
    assert load_problem("noisy_logreg").model["eval_every"] == 200


def test_the_paper_sweep_files_load_as_the_paper_set_them():
    from adambench.safeyaml import load_file
    from adambench.sweeps.config import load_sweep_file

    root = Path(adambench.__file__).resolve().parent.parent
    logreg = load_sweep_file(root / "sample_configs" / "paper_logreg_digits.yaml")
    assert [o.split("(")[0] for o in logreg.optimizers] == ["adam", "sgd", "adagrad"]
    assert all("schedule=inverse_sqrt" in o for o in logreg.optimizers)  # alpha / sqrt(t)
    assert load_file(logreg.problem)["model"]["batch_size"] == 128
    timed = load_sweep_file(root / "benchmarks" / "mlp_sweep.yaml")
    assert (timed.problem, timed.steps, timed.grid) == (
        "digits_mlp",
        2000,
        {"lr": timed.grid["lr"]},
    )
    assert timed.grid["lr"].endswith("log100")  # 100 configurations
