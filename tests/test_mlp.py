"""The ``mlp`` model and dropout: the hand-derived compiled gradient against torch autograd (with
and without dropout, the masks the kernel draws), a digits run that learns, the same bits on any
threads, and bad model blocks refused in one line."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import adambench
from adambench import kernels as K
from adambench.datasets import glorot_start, mlp_loss
from adambench.errors import ConfigError
from adambench.problems import load_problem, mlp_size, problem_from_dict


def _pd(hidden, activation, n_classes, l2, dropout=0.0, input_dropout=0.0):
    """The kernels' settings vector of an mlp (the layout Problem.problem_params builds)."""
    code = ("tanh", "relu").index(activation)
    return np.array(
        [0.0, l2, 0, 8, n_classes, 1, input_dropout, dropout, code, len(hidden), *hidden], float
    )


def _masks(widths, rows, seed, t, p_in, p_hidden):
    """The dropout factors the kernel uses for each row of the batch and each unit below the
    output (inputs first), from its public K.dropout_scale."""
    units = sum(widths[:-1])
    return np.array(
        [
            [
                K.dropout_scale(seed, t, r, j, p_in if j < widths[0] else p_hidden)
                for j in range(units)
            ]
            for r in range(len(rows))
        ]
    )


@pytest.mark.torch
@pytest.mark.parametrize(
    ("hidden", "activation"), [([5], "tanh"), ([5], "relu"), ([6, 4], "tanh"), ([6, 4], "relu")]
)
def test_gradient_matches_torch_autograd_with_and_without_dropout(hidden, activation):
    torch = pytest.importorskip("torch")
    n, d, k, l2 = 11, 4, 3, 0.3
    rng = np.random.default_rng(7)
    data = np.column_stack([rng.normal(size=(n, d)), rng.integers(0, k, n)]).astype(float)
    widths = [d, *hidden, k]
    w = rng.normal(size=mlp_size(widths))
    rows = np.array([7, 1, 4, 4, 0, 10])
    act = torch.tanh if activation == "tanh" else torch.relu

    def torch_grad(masks):
        wt = torch.tensor(w, requires_grad=True)
        a = torch.tensor(data[rows, :d])
        at, penalty, unit = 0, 0.0, 0
        for layer, (n_in, n_out) in enumerate(itertools.pairwise(widths)):
            a = a * torch.tensor(masks[:, unit : unit + n_in])
            unit += n_in
            weights = wt[at : at + n_in * n_out].reshape(n_out, n_in)
            bias = wt[at + n_in * n_out : at + n_in * n_out + n_out]
            at += n_in * n_out + n_out
            penalty = penalty + 0.5 * l2 * (weights**2).sum()
            a = a @ weights.T + bias
            if layer < len(widths) - 2:
                a = act(a)
        y = torch.tensor(data[rows, d]).long()
        loss = torch.nn.functional.cross_entropy(a, y) + penalty
        loss.backward()
        return wt.grad.numpy(), float(loss.detach())

    pd = _pd(hidden, activation, k, l2)
    g = np.zeros(w.size)
    K.mlp_grad(w, g, data, rows, pd, 0, 0)  # t = 0: no dropout
    expected, loss = torch_grad(np.ones((len(rows), sum(widths[:-1]))))
    np.testing.assert_allclose(g, expected, rtol=1e-10, atol=1e-12)
    assert K.mlp_loss(w, data[rows], pd) == pytest.approx(loss, rel=1e-12)
    assert mlp_loss(w, data[rows], widths, activation, l2) == pytest.approx(loss, rel=1e-12)

    # with dropout (inputs and hidden units) at step 5 of seed 3: torch with the same masks
    pd = _pd(hidden, activation, k, l2, dropout=0.4, input_dropout=0.25)
    masks = _masks(widths, rows, 3, 5, 0.25, 0.4)
    hidden_masks = masks[:, d:]
    assert set(np.unique(hidden_masks)) == {0.0, 1 / 0.6}  # inverted dropout: kept units x 1/(1-p)
    K.mlp_grad(w, g, data, rows, pd, 3, 5)
    np.testing.assert_allclose(g, torch_grad(masks)[0], rtol=1e-10, atol=1e-12)
    # evaluation has no dropout: the loss is the same with p set
    assert K.mlp_loss(w, data[rows], pd) == pytest.approx(loss, rel=1e-12)


def test_input_dropout_of_linear_models_scales_features_not_the_bias_column():
    rng = np.random.default_rng(2)
    data = np.column_stack([rng.normal(size=(9, 6)), np.ones(9), rng.integers(0, 2, 9)])
    rows = np.array([3, 8, 0])
    batch = K.drop_inputs(data, rows, 6, 0.5, 11, 4)
    factors = _masks([6, 0], rows, 11, 4, 0.5, 0.0)
    np.testing.assert_array_equal(batch[:, :6], data[rows, :6] * factors)
    np.testing.assert_array_equal(batch[:, 6:], data[rows, 6:])  # bias column and label kept
    assert 0 < np.count_nonzero(factors == 0.0) < factors.size


def test_glorot_start_is_seeded_and_scaled():
    widths = [64, 32, 10]
    a, b = glorot_start(widths, 0), glorot_start(widths, 1)
    assert a.size == mlp_size(widths) == 64 * 32 + 32 + 32 * 10 + 10
    assert np.array_equal(a, glorot_start(widths, 0)) and not np.array_equal(a, b)
    w1, b1 = a[: 64 * 32], a[64 * 32 : 64 * 32 + 32]
    assert np.all(b1 == 0.0) and np.abs(w1).max() <= np.sqrt(6 / 96)
    assert np.abs(w1).max() > 0.9 * np.sqrt(6 / 96)


def _digits_mlp(tmp_path, dropout):
    text = (
        "name: small_digits_mlp\n"
        "data: {builtin: digits, standardize: true, test_fraction: 0.2}\n"
        "model: {kind: mlp, hidden: [16], activation: tanh, batch_size: 32, eval_every: 25,\n"
        f"        dropout: {dropout}, input_dropout: {dropout / 2}}}\n"
        "target: 0.01\n"
    )
    (tmp_path / f"p{dropout}.yaml").write_text(text)
    return load_problem(tmp_path / f"p{dropout}.yaml")


def test_digits_run_learns_and_is_the_same_on_any_threads(tmp_path):
    dropped, plain = _digits_mlp(tmp_path, 0.2), _digits_mlp(tmp_path, 0.0)
    kw = {"steps": 300, "seeds": 2}
    serial = adambench.run(dropped, ["adam(lr=0.01)"], threads=1, **kw)
    parallel = adambench.run(dropped, ["adam(lr=0.01)"], threads=2, chunk_steps=7, **kw)
    for a, b in zip(serial.runs, parallel.runs, strict=True):
        assert np.array_equal(a.final_x, b.final_x)
        assert np.array_equal(a.loss_trace, b.loss_trace)
        assert a.final_loss < 0.5 * a.loss_trace[0]
        assert a.test_accuracy > 0.9  # 300 steps = under 7 epochs of 1,438 images
    # one Glorot start, seeds differ in their batches and masks; dropout changes the run
    assert np.array_equal(serial.runs[0].start, serial.runs[1].start)
    assert not np.array_equal(serial.runs[0].final_x, serial.runs[1].final_x)
    undropped = adambench.run(plain, ["adam(lr=0.01)"], steps=300)
    assert not np.array_equal(undropped.runs[0].final_x, serial.runs[0].final_x)
    assert undropped.runs[0].test_accuracy > 0.9


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("{kind: mlp, hidden: [0]}", "'model.hidden' must be one or two layer widths"),
        ("{kind: mlp, hidden: [8, 8, 8]}", "'model.hidden' must be one or two layer widths"),
        ("{kind: mlp, hidden: wide}", "'model.hidden' must be one or two layer widths"),
        ("{kind: mlp, activation: sigmoid}", "'model.activation'"),
        ("{kind: mlp, dropout: 1}", "'model.dropout' must be in [0, 1)"),
        ("{kind: mlp, dropout: -0.1}", "'model.dropout' must be in [0, 1)"),
        ("{kind: softmax, input_dropout: 1.5}", "'model.input_dropout' must be in [0, 1)"),
        ("{kind: softmax, hidden: [8]}", "'model.hidden' applies to kind: mlp"),
        ("{kind: logistic, dropout: 0.5}", "'model.dropout' applies to kind: mlp"),
        ("{kind: mlp, bias: true}", "'model.bias' applies to a linear model"),
    ],
)
def test_bad_model_blocks_are_refused_in_one_line(model, message):
    import yaml

    raw = yaml.safe_load(f"name: bad\ndata: {{builtin: digits, max_rows: 50}}\nmodel: {model}\n")
    with pytest.raises(ConfigError) as info:
        problem_from_dict(raw, "bad.yaml")
    text = str(info.value)
    assert message in text and "\n" not in text


def test_shipped_digits_mlp_and_its_listed_weights():
    from adambench.report.catalog import catalog

    p = load_problem("digits_mlp")
    assert p.model["widths"] == [64, 32, 10] and p.dim == 64 * 32 + 32 + 32 * 10 + 10
    np.testing.assert_array_equal(p.start, glorot_start([64, 32, 10], 0))
    assert p.min_value is None and not p.minimizers and p.target == 0.05
    # no dropout, tanh, one hidden layer of 32; the training rows last
    assert p.problem_params()[6:].tolist() == [0.0, 0.0, 0.0, 1.0, 32.0, p.n_train()]
    listed = {row["name"]: row["dim"] for row in catalog()["problems"]}
    assert listed["digits_mlp"] == p.dim
