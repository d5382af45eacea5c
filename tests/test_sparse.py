"""Sparse rows end to end: the bag-of-words corpus, the CSR logistic kernels against the dense
ones (bit for bit) and torch autograd, and lazy Adam against torch.optim.SparseAdam."""

from __future__ import annotations

import math

import numpy as np
import pytest

from adambench import corpus as corpus_module
from adambench import kernels, sparse_kernels
from adambench.corpus import SparseRows, bag_of_words


@pytest.fixture(scope="module")
def corpus():
    """A small corpus with a bias column (present in every row) appended as the last column."""
    rows = bag_of_words(n_docs=40, vocab=60, doc_length=12, informative=10, data_seed=3)
    dense = np.hstack([rows.dense(), np.ones((rows.n_rows, 1)), rows.labels[:, None]])
    lengths = np.diff(rows.indptr) + 1
    indptr = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    indices = np.empty(indptr[-1], dtype=np.int64)
    values = np.empty(indptr[-1])
    for k in range(rows.n_rows):
        lo, hi = rows.indptr[k], rows.indptr[k + 1]
        indices[indptr[k] : indptr[k + 1]] = [*rows.indices[lo:hi], rows.n_features]
        values[indptr[k] : indptr[k + 1]] = [*rows.values[lo:hi], 1.0]
    return (indptr, indices, values, rows.labels), dense


def test_corpus_is_seeded_sparse_zipf_and_balanced():
    first, again = bag_of_words(n_docs=300, data_seed=5), bag_of_words(n_docs=300, data_seed=5)
    other = bag_of_words(n_docs=300, data_seed=6)
    for name in ("indptr", "indices", "values", "labels"):
        assert np.array_equal(getattr(first, name), getattr(again, name))
    assert not np.array_equal(first.labels, other.labels)
    for k in range(first.n_rows):
        row = first.indices[first.indptr[k] : first.indptr[k + 1]]
        assert np.all(np.diff(row) > 0)  # ascending, each word once
    counts = np.expm1(first.values)  # log term frequencies of whole counts
    assert np.allclose(counts, np.round(counts)) and counts.min() >= 1
    # Zipf: word 0 is in (nearly) every document, and most of the vocabulary in none
    assert np.count_nonzero(first.indices == 0) > 0.9 * first.n_rows
    assert np.unique(first.indices).shape[0] < 0.5 * first.n_features
    assert 0.35 < first.labels.mean() < 0.65


def _loop_bag_of_words(n_docs, vocab, doc_length, zipf, informative, signal, data_seed):
    """bag_of_words as it was written before it drew its documents at once: one
    ``rng.choice`` and ``np.unique`` per document, one ``math.fsum`` per score."""
    rng = np.random.default_rng(data_seed)
    weights = 1.0 / np.arange(1, vocab + 1, dtype=np.float64) ** zipf
    probabilities = weights / weights.sum()
    lengths = 1 + rng.poisson(doc_length - 1, size=n_docs)
    indptr, indices, values = [0], [], []
    for length in lengths:
        words, counts = np.unique(
            rng.choice(vocab, size=length, p=probabilities), return_counts=True
        )
        indices.append(words)
        values.append(np.log1p(counts.astype(np.float64)))
        indptr.append(indptr[-1] + words.shape[0])
    truth = np.zeros(vocab)
    chosen = rng.choice(vocab, size=min(informative, vocab), replace=False)
    truth[chosen] = rng.standard_normal(chosen.shape[0])
    indptr = np.asarray(indptr, dtype=np.int64)
    indices = np.concatenate(indices).astype(np.int64)
    values = np.concatenate(values)
    scores = np.array(
        [
            math.fsum(values[indptr[k] : indptr[k + 1]] * truth[indices[indptr[k] : indptr[k + 1]]])
            for k in range(n_docs)
        ]
    )
    scores -= np.median(scores)
    spread = scores.std()
    scores *= signal / spread if spread > 0 else 0.0
    chance = 1.0 / (1.0 + np.exp(-scores))
    labels = (rng.random(n_docs) < chance).astype(np.float64)
    return SparseRows(indptr, indices, values, labels, vocab)


@pytest.mark.parametrize(
    "settings",
    [
        {},  # the shipped bow problem's corpus
        {"n_docs": 300, "vocab": 500, "doc_length": 40},
        {"n_docs": 50, "vocab": 1, "informative": 1},
        {"n_docs": 50, "vocab": 2, "doc_length": 30, "informative": 2},
        {"n_docs": 200, "zipf": 0.0},
        {"n_docs": 200, "doc_length": 1},
        {"n_docs": 100, "vocab": 3, "doc_length": 1, "informative": 3},
        {"n_docs": 100, "vocab": 50, "zipf": 100.0, "informative": 5},
        {"n_docs": 2, "vocab": 5, "doc_length": 3, "informative": 2},
        {"n_docs": 100, "informative": 0},
        {"n_docs": 100, "signal": 0.0},
        {"n_docs": 40, "vocab": 1_000_000, "doc_length": 50},
    ],
)
@pytest.mark.parametrize("data_seed", [0, 7, 2**63 - 1])
@pytest.mark.parametrize("batch_words", [None, 37])
def test_corpus_is_the_one_the_per_document_loop_drew(
    settings, data_seed, batch_words, monkeypatch
):
    # Bit for bit: the shipped problems, the golden outputs and the docs depend on the corpus.
    # batch_words 37 draws the documents in many small batches (one stream all the same).
    if batch_words is not None:
        monkeypatch.setattr(corpus_module, "_BATCH_WORDS", batch_words)
    args = {**corpus_module.BOW_DEFAULTS, **settings, "data_seed": data_seed}
    new, old = bag_of_words(**args), _loop_bag_of_words(**args)
    for name in ("indptr", "indices", "values", "labels"):
        mine, theirs = getattr(new, name), getattr(old, name)
        assert mine.dtype == theirs.dtype and np.array_equal(mine, theirs), name
    assert new.n_features == old.n_features


def test_sparse_logistic_equals_the_dense_kernels_bit_for_bit(corpus):
    (indptr, indices, values, labels), dense = corpus
    d = dense.shape[1] - 1
    w = np.random.default_rng(0).standard_normal(d) * 0.3
    rows = np.array([5, 0, 17, 33, 8, 21, 2], dtype=np.int64)
    for l2, n_reg in ((0.0, d - 1), (0.05, d - 1)):
        sparse_g, dense_g = np.full(d, np.nan), np.full(d, np.nan)
        sparse_kernels.logreg_batch_grad(
            w, sparse_g, indptr, indices, values, labels, rows, l2, n_reg
        )
        kernels.logreg_grad(w, dense_g, dense, rows, l2, n_reg)
        assert np.array_equal(sparse_g, dense_g)
        loss = sparse_kernels.logreg_full_loss(w, indptr, indices, values, labels, l2, n_reg)
        assert loss == kernels.logreg_loss(w, dense, l2, n_reg)
        # the touched columns only: the same numbers there, and nothing written elsewhere
        g, seen = np.zeros(d), np.zeros(d, dtype=np.bool_)
        touched = np.empty(d, dtype=np.int64)
        m = sparse_kernels.logreg_batch_touched(
            w, g, touched, seen, indptr, indices, values, labels, rows, l2, n_reg
        )
        columns = np.unique(np.concatenate([indices[indptr[k] : indptr[k + 1]] for k in rows]))
        assert sorted(touched[:m]) == list(columns) and not seen.any()
        assert np.array_equal(g[columns], dense_g[columns])
        outside = np.setdiff1d(np.arange(d), columns)
        assert np.all(g[outside] == 0.0)
        assert np.all(dense_g[outside] == l2 * np.where(outside < n_reg, w[outside], 0.0))


def test_sparse_logistic_gradient_matches_torch_autograd(corpus):
    torch = pytest.importorskip("torch")
    (indptr, indices, values, labels), dense = corpus
    d = dense.shape[1] - 1
    w = np.random.default_rng(1).standard_normal(d)
    rows = np.arange(3, 29, dtype=np.int64)
    g = np.empty(d)
    sparse_kernels.logreg_batch_grad(w, g, indptr, indices, values, labels, rows, 0.01, d - 1)
    row_of = np.repeat(np.arange(40), np.diff(indptr))
    picked = np.isin(row_of, rows)
    position = np.searchsorted(rows, row_of[picked])
    where = torch.tensor(np.stack([position, indices[picked]]))
    a = torch.sparse_coo_tensor(
        where, torch.tensor(values[picked]), (rows.shape[0], d), check_invariants=True
    )
    wt = torch.tensor(w, requires_grad=True)
    z = torch.sparse.mm(a, wt[:, None])[:, 0]
    y = torch.tensor(labels[rows])
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y) + 0.005 * (wt[:-1] ** 2).sum()
    loss.backward()
    assert np.allclose(g, wt.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_lazy_adam_follows_torch_sparse_adam(corpus):
    torch = pytest.importorskip("torch")
    (indptr, indices, values, labels), dense = corpus
    d, l2, n_reg, lr = dense.shape[1] - 1, 0.01, dense.shape[1] - 2, 0.05
    start = np.random.default_rng(2).standard_normal(d) * 0.1
    p, m1, m2, g = start.copy(), np.zeros(d), np.zeros(d), np.zeros(d)
    seen, touched = np.zeros(d, dtype=np.bool_), np.empty(d, dtype=np.int64)
    wt = torch.tensor(start, requires_grad=True)
    adam = torch.optim.SparseAdam([wt], lr=lr, betas=(0.9, 0.999), eps=1e-8)
    order = np.random.default_rng(4).permutation(40)
    full = torch.tensor(dense[:, :d])
    for t in range(1, 41):
        rows = order[(t - 1) % 5 * 8 : (t - 1) % 5 * 8 + 8].astype(np.int64)
        m = sparse_kernels.logreg_batch_touched(
            p, g, touched, seen, indptr, indices, values, labels, rows, l2, n_reg
        )
        sparse_kernels.lazy_adam_step(p, g, m1, m2, touched, m, t, lr, 0.9, 0.999, 1e-8)
        assert np.all(g == 0.0)
        # torch: the autograd gradient of the batch's loss, kept at the touched columns
        z = full[torch.tensor(rows)] @ wt
        y = torch.tensor(labels[rows])
        (grad,) = torch.autograd.grad(
            torch.nn.functional.binary_cross_entropy_with_logits(z, y), wt
        )
        at = torch.tensor(np.sort(touched[:m]))
        penalty = l2 * wt.detach()[at] * (at < n_reg)
        wt.grad = torch.sparse_coo_tensor(
            at[None, :], grad[at] + penalty, (d,), check_invariants=True
        )
        adam.step()
        assert np.allclose(p, wt.detach().numpy(), rtol=1e-10, atol=1e-12)
    # the words in no document keep their start (their l2 term alone would move them)
    never = np.setdiff1d(np.arange(d), indices)
    assert never.shape[0] > 0 and np.array_equal(p[never], start[never])


@pytest.mark.parametrize(
    ("name", "init", "step", "sparse_is_dense"),
    [
        ("sgd", "zeros_init", "sgd_step", True),
        ("adagrad", "adagrad_init", "adagrad_step", True),
        ("momentum", "zeros_init", "sgd_step", False),
        ("adam", "adam_init", "adam_step", False),
    ],
)
def test_which_optimizers_leave_a_zero_gradient_coordinate_alone(name, init, step, sparse_is_dense):
    """docs/data.md's table: with a gradient exactly 0 at a coordinate (l2 = 0), SGD and
    AdaGrad leave that weight as it is, so updating only the touched coordinates is the same
    algorithm; momentum and Adam keep moving it through their state, so theirs is dense."""
    from adambench.optimizers import get

    spec = get(name)
    defaults = spec.defaults
    hp = np.array([defaults[h.name] for h in spec.hyperparams])
    p = np.linspace(-1.0, 1.0, 8)
    state = np.zeros(spec.state_size(8))
    getattr(kernels, init)(p, hp, state)
    grads = np.random.default_rng(7).standard_normal((5, 8))
    grads[1:, :3] = 0.0  # the first three coordinates are absent from every later batch
    getattr(kernels, step)(p, grads[0], state, 1, hp)
    after_first = p.copy()
    for t in range(2, 6):
        getattr(kernels, step)(p, grads[t - 1], state, t, hp)
    assert np.array_equal(p[:3], after_first[:3]) == sparse_is_dense
    assert not np.array_equal(p[3:], after_first[3:])


def test_svmlight_read_sparse_matches_the_dense_reader(tmp_path):
    """The CSR reader gives the dense reader's matrix (unsorted and repeated columns, blank and
    comment lines, a row with no features), and refuses what it refuses."""
    from pathlib import Path

    from adambench.data_files import read_svmlight_csr, read_table
    from adambench.errors import ConfigError

    path = Path(tmp_path) / "d.svm"
    path.write_text("1 7:0.5 2:1.5 # a comment\n\n-1\n1 3:2 3:-4 1:1e-3\n-1 12:1\n")
    indptr, indices, values, labels, width = read_svmlight_csr(path)
    dense = read_table(path, "svmlight", "d.svm")
    assert width == dense.features.shape[1] == 12
    assert np.array_equal(labels, dense.target)
    rebuilt = np.zeros((labels.shape[0], width))
    for k in range(labels.shape[0]):
        row = indices[indptr[k] : indptr[k + 1]]
        assert np.all(np.diff(row) > 0)
        rebuilt[k, row] = values[indptr[k] : indptr[k + 1]]
    assert np.array_equal(rebuilt, dense.features)
    assert read_svmlight_csr(path, max_rows=2)[3].shape[0] == 2
    path.write_text("1 3\n")
    with pytest.raises(ConfigError, match="line 1: '3' is not index:value"):
        read_svmlight_csr(path)
    with pytest.raises(ConfigError, match="no such data file"):
        read_svmlight_csr(Path(tmp_path) / "missing.svm")
