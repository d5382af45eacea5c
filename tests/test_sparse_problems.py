"""Sparse data through the problem layer and the engine: ``generator: bow`` stored as CSR,
the compiled runner on the sparse kernels, and lazy Adam (``lazy_adam``) as an optimizer.

Compiles few modules: the sparse logistic problem with adam and lazy_adam, and the dense
logistic problem with adam (shared with the other data tests)."""

from __future__ import annotations

import numpy as np
import pytest

import adambench
from adambench import kernels
from adambench.errors import ConfigError
from adambench.problems import load_problem, problem_from_dict

_BOW = "{generator: bow, n_docs: 50, vocab: 40, doc_length: 6, informative: 10, test_fraction: 0.2}"
_MODEL = "{kind: logistic, bias: true, l2: 0.01, batch_size: 8, input_dropout: DROP}"


def _write(tmp_path, name: str, data: str, dropout: float = 0.0):
    text = f"name: {name}\ndata: {data}\nmodel: {_MODEL.replace('DROP', str(dropout))}\n"
    path = tmp_path / f"{name}.yaml"
    path.write_text(text + "target: 0.1\nsteps: 60\n")
    return load_problem(path)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """The small corpus as a sparse problem, and the same rows stored dense (an npz file)."""
    from adambench.corpus import bag_of_words

    tmp = tmp_path_factory.mktemp("bow")
    sparse = _write(tmp, "bow_small", _BOW)
    corpus = bag_of_words(n_docs=50, vocab=40, doc_length=6, informative=10)
    np.savez(tmp / "rows.npz", X=corpus.dense(), y=corpus.labels)
    dense = _write(tmp, "bow_dense", "{file: rows.npz, test_fraction: 0.2}")
    return sparse, dense, corpus


def test_bow_is_stored_sparse_and_split_like_the_dense_rows(pair):
    sparse, dense, corpus = pair
    assert sparse.sparse is not None and dense.sparse is None
    assert sparse.dim == dense.dim == corpus.n_features + 1
    # the same training and held-out rows, the bias last, as the dense design has them
    np.testing.assert_array_equal(sparse.sparse.dense(), dense.data[:, :-1])
    np.testing.assert_array_equal(sparse.sparse.labels, dense.data[:, -1])
    np.testing.assert_array_equal(sparse.sparse_test.dense(), dense.test_data[:, :-1])
    assert sparse.problem_state_width() == dense.problem_state_width() == 42
    assert "sparse data: no minimum computed" in " ".join(sparse.notes)


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_dense_optimizers_on_sparse_rows_follow_the_dense_trajectory_bit_for_bit(
    pair, tmp_path, dropout
):
    sparse, dense, _ = pair
    if dropout:
        folder = tmp_path
        np.savez(folder / "rows.npz", X=pair[2].dense(), y=pair[2].labels)
        sparse = _write(folder, "bow_small", _BOW, dropout)
        dense = _write(folder, "bow_dense", "{file: rows.npz, test_fraction: 0.2}", dropout)
    kw = {"steps": 60, "seeds": 2, "every": 1}
    a = adambench.run(sparse, ["adam(lr=0.05)"], **kw)
    if dropout:  # the masks change the run
        undropped = adambench.run(pair[0], ["adam(lr=0.05)"], **kw)
        assert not np.array_equal(a.runs[0].final_x, undropped.runs[0].final_x)
    b = adambench.run(dense, ["adam(lr=0.05)"], **kw)
    for x, y in zip(a.runs, b.runs, strict=True):
        # the sparse kernels add the same products in the same order: equal bits
        np.testing.assert_array_equal(x.final_x, y.final_x)
        np.testing.assert_array_equal(x.loss_trace, y.loss_trace)
        assert x.final_loss == y.final_loss and x.accuracy == y.accuracy
        assert x.test_accuracy == y.test_accuracy
        assert x.test_loss == pytest.approx(y.test_loss, rel=1e-12)  # numpy's sum vs the kernel
    assert not np.array_equal(a.runs[0].final_x, a.runs[1].final_x)


def test_an_svmlight_file_read_sparse_runs_as_the_dense_rows(pair, tmp_path):
    """``sparse: true`` keeps an svmlight file in CSR form; labels -1/1 read as 0/1; the run is
    the dense reading's, bit for bit."""
    _, _, corpus = pair
    lines = []
    for k in range(corpus.n_rows):
        lo, hi = corpus.indptr[k], corpus.indptr[k + 1]
        pairs = " ".join(
            f"{j + 1}:{float(v)!r}" for j, v in zip(corpus.indices[lo:hi], corpus.values[lo:hi])
        )
        lines.append(f"{2 * int(corpus.labels[k]) - 1} {pairs}")
    (tmp_path / "rows.svm").write_text("\n".join(lines) + "\n")
    sparse = _write(tmp_path, "svm_sparse", "{file: rows.svm, sparse: true, test_fraction: 0.2}")
    dense = _write(tmp_path, "svm_dense", "{file: rows.svm, test_fraction: 0.2}")
    assert sparse.sparse is not None and dense.sparse is None
    kw = {"steps": 30, "seeds": 2}
    a = adambench.run(sparse, ["adam(lr=0.05)"], **kw)
    b = adambench.run(dense, ["adam(lr=0.05)"], **kw)
    for x, y in zip(a.runs, b.runs, strict=True):
        np.testing.assert_array_equal(x.final_x, y.final_x)
        assert x.final_loss == y.final_loss
    with pytest.raises(ConfigError, match=r"'data.sparse' applies to an svmlight file, not a npz"):
        _write(tmp_path, "npz_sparse", "{file: rows.npz, sparse: true}")


def test_sparse_gradient_through_the_problem_layer_matches_torch_autograd(pair):
    torch = pytest.importorskip("torch")
    from adambench.engine import problem_functions

    sparse, _, _ = pair
    _, loss_and_grad = problem_functions(sparse)
    x = np.random.default_rng(1).standard_normal(sparse.dim) * 0.5
    loss, grad = loss_and_grad(x)
    a = torch.tensor(sparse.sparse.dense())
    y = torch.tensor(sparse.sparse.labels)
    w = torch.tensor(x, requires_grad=True)
    ref = torch.nn.functional.binary_cross_entropy_with_logits(a @ w, y)
    ref = ref + 0.5 * 0.01 * (w[:-1] ** 2).sum()  # the bias is not penalised
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(grad, w.grad.numpy(), rtol=1e-10, atol=1e-13)
    assert loss == pytest.approx(sparse.loss_numpy(x), rel=0)


def _sparse_adam_reference(
    problem, lr: float, steps: int, seed: int, torch, every_word: bool = False
) -> np.ndarray:
    """torch.optim.SparseAdam on the engine's minibatches (its permutation of each epoch),
    fed torch's autograd gradient of the batch's mean loss at the batch's words (``every_word``:
    at every column, as dense rows give it), plus the l2 term there (the bias unpenalised)."""
    rows_csr = problem.sparse
    a, labels = rows_csr.dense(), rows_csr.labels
    n, bs, l2, n_reg = a.shape[0], problem.model["batch_size"], problem.model["l2"], a.shape[1] - 1
    w = torch.zeros(a.shape[1], dtype=torch.float64, requires_grad=True)
    adam = torch.optim.SparseAdam([w], lr=lr)
    perm = np.empty(n, np.int64)
    n_batches = -(-n // bs)
    for t in range(1, steps + 1):
        if (t - 1) % n_batches == 0:
            kernels.permutation(seed, (t - 1) // n_batches, perm)
        b = (t - 1) % n_batches
        rows = perm[b * bs : min(b * bs + bs, n)]
        z = torch.tensor(a[rows]) @ w
        data_loss = torch.nn.functional.binary_cross_entropy_with_logits(
            z, torch.tensor(labels[rows])
        )
        (grad,) = torch.autograd.grad(data_loss, w)
        words = np.unique(
            np.concatenate(
                [rows_csr.indices[rows_csr.indptr[k] : rows_csr.indptr[k + 1]] for k in rows]
            )
        )
        if every_word:
            words = np.arange(a.shape[1])
        at = torch.tensor(words)
        values = grad[at] + l2 * w.detach()[at] * (at < n_reg)
        w.grad = torch.sparse_coo_tensor(at[None, :], values, w.shape, check_invariants=True)
        adam.step()
    return w.detach().numpy()


def test_lazy_adam_run_follows_torch_sparse_adam(pair):
    torch = pytest.importorskip("torch")
    sparse, dense, _ = pair
    result = adambench.run(sparse, ["lazy_adam(lr=0.05)"], steps=60, seeds=2)
    for run, seed in zip(result.runs, (0, 1), strict=True):
        ref = _sparse_adam_reference(sparse, 0.05, 60, seed, torch)
        np.testing.assert_allclose(run.final_x, ref, rtol=1e-10, atol=1e-12)
    # a word in no training document keeps its start (0); Adam's l2 term would move it
    x = result.runs[0].final_x
    never = np.setdiff1d(np.arange(sparse.dim - 1), sparse.sparse.indices)
    assert never.shape[0] > 0 and np.all(x[never] == 0.0)
    assert result.runs[0].final_loss < sparse.loss_numpy(np.zeros(sparse.dim))
    # on dense rows every coordinate is present: SparseAdam given every index
    on_dense = adambench.run(dense, ["lazy_adam(lr=0.05)"], steps=60)
    ref = _sparse_adam_reference(sparse, 0.05, 60, 0, torch, every_word=True)
    np.testing.assert_allclose(on_dense.runs[0].final_x, ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    ("block", "pattern"),
    [
        ("{generator: bow, n_docs: 1}", r"data\.n_docs' must be between 2 and"),
        ("{generator: bow, vocab: 0}", r"data\.vocab' must be between 1 and"),
        (
            "{generator: bow, n_docs: 100000, doc_length: 1000}",
            r"x doc_length is 100,000,000 words",
        ),
        ("{generator: bow, zipf: -1}", r"data\.zipf' must be between 0 and 100"),
        ("{generator: bow, noise: 0.1}", r"data\.noise' applies to generator: two_moons"),
        ("{generator: bow, standardize: true}", r"data\.standardize' would make sparse data"),
        ("{generator: bow, max_rows: 5}", r"data\.max_rows' applies to a data file"),
        ("{generator: two_moons, vocab: 50}", r"data\.vocab' applies to generator: bow"),
        ("{generator: bag}", r"data\.generator' must be two_moons or bow, got str 'bag'"),
        ("{builtin: digits, n_docs: 5}", r"data\.n_docs' applies to generator: bow"),
    ],
)
def test_bad_bow_keys_are_refused_in_one_line(block, pattern):
    raw = {"name": "b", "data": __import__("yaml").safe_load(block), "model": {"kind": "logistic"}}
    with pytest.raises(ConfigError) as caught:
        problem_from_dict(raw, "p.yaml")
    message = str(caught.value)
    assert "\n" not in message
    assert __import__("re").search(pattern, message), message


def test_bow_needs_a_logistic_model():
    raw = {"name": "b", "data": {"generator": "bow"}, "model": {"kind": "softmax"}}
    with pytest.raises(ConfigError, match=r"data\.generator' bow needs model\.kind: logistic"):
        problem_from_dict(raw, "p.yaml")


def test_lazy_adam_on_sparse_rows_is_the_same_in_every_layout_and_thread_count(pair):
    """The absent marks (-0.0) survive the wide runner's parallel clipping and update: the
    generic loop's bytes on 1 and 2 threads, in chunks."""
    import json

    sparse = pair[0]
    specs = ["lazy_adam(lr=0.05)", "lazy_adam(lr=0.05, clip_norm=0.05)"]
    kw = {"steps": 40, "seeds": 2, "every": 5}

    def stable(result):
        d = result.to_dict(trace=True)
        d.pop("volatile")
        return json.dumps(d, sort_keys=True)

    generic = stable(adambench.run(sparse, specs, layout="generic", threads=1, **kw))
    for threads in (1, 2):
        wide = adambench.run(sparse, specs, layout="wide", threads=threads, chunk_steps=7, **kw)
        assert stable(wide) == generic
    clipped = adambench.run(sparse, specs, layout="generic", **kw).runs[2].final_x
    never = np.setdiff1d(np.arange(sparse.dim - 1), sparse.sparse.indices)
    assert np.all(clipped[never] == 0.0)


def test_the_shipped_bow_problem_and_what_list_tells_of_it():
    from adambench.report.catalog import catalog

    problem = load_problem("bow_logistic")
    assert problem.sparse is not None and problem.sparse.n_rows == 1600
    assert problem.model["eval_every"] == 500  # the default rule: 10 x 1,600 / 32
    listed = {row["name"]: row["dim"] for row in catalog()["problems"]}
    assert listed["bow_logistic"] == problem.dim == 10_001
