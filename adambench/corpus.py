"""Sparse data in CSR form, and the generated bag-of-words corpus (plain numpy, run once per load).

A :class:`SparseRows` holds a design matrix the way the compiled kernels of
:mod:`adambench.sparse_kernels` read it: row ``k``'s nonzeros are ``values[indptr[k]:indptr[k+1]]``
at the columns ``indices[...]`` (ascending within a row), and ``labels[k]`` its target.

The bag-of-words corpus (``generator: bow``), the small-scale stand-in for the IMDB experiment of
Kingma & Ba (Section 6.1), from ``numpy.random.default_rng(data_seed)``:

- every document has ``1 + Poisson(doc_length - 1)`` words, each drawn from the vocabulary with
  Zipf probabilities ``p(r) ~ 1 / r**zipf`` (rank ``r = 1 .. vocab``, word ``r - 1``);
- the features are **log term frequencies**, ``log(1 + count)`` of each word present (0 for the
  words absent, which are not stored);
- the labels come from a sparse ground-truth weight vector: ``informative`` words drawn at random
  carry a weight ``N(0, 1)``, the others 0; a document's score ``s = w* . x`` is centred on its
  median over the corpus and scaled to standard deviation ``signal``, and its label is 1 with
  probability ``sigmoid(s)`` (so the classes are balanced and not separable).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["BOW_DEFAULTS", "SparseRows", "bag_of_words", "pack"]

#: The generator's settings and their defaults (``generator: bow`` in a problem's ``data:``).
BOW_DEFAULTS: dict[str, float | int] = {
    "n_docs": 2000,
    "vocab": 10000,
    "doc_length": 100,
    "zipf": 1.1,
    "informative": 200,
    "signal": 3.0,
    "data_seed": 0,
}


@dataclass(frozen=True)
class SparseRows:
    """A design matrix in CSR form plus one label per row (see the module docstring)."""

    indptr: np.ndarray  # int64, n_rows + 1
    indices: np.ndarray  # int64, nnz, ascending within each row
    values: np.ndarray  # float64, nnz
    labels: np.ndarray  # float64, n_rows
    n_features: int

    @property
    def n_rows(self) -> int:
        return int(self.labels.shape[0])

    def dense(self) -> np.ndarray:
        """The rows as a dense (n_rows, n_features) matrix (tests and small data only)."""
        out = np.zeros((self.n_rows, self.n_features))
        for k in range(self.n_rows):
            lo, hi = self.indptr[k], self.indptr[k + 1]
            out[k, self.indices[lo:hi]] = self.values[lo:hi]
        return out

    @property
    def nnz(self) -> int:
        return int(self.indices.shape[0])

    def with_bias(self) -> SparseRows:
        """The rows with a constant feature 1 appended as column ``n_features`` (the bias)."""
        lengths = np.diff(self.indptr) + 1
        indptr = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
        ends = indptr[1:] - 1  # the last slot of each row: its bias
        keep = np.ones(indptr[-1], bool)
        keep[ends] = False
        indices = np.full(indptr[-1], self.n_features, dtype=np.int64)
        values = np.ones(indptr[-1])
        indices[keep], values[keep] = self.indices, self.values
        return SparseRows(indptr, indices, values, self.labels, self.n_features + 1)

    def scores(self, w: np.ndarray) -> np.ndarray:
        """``w . a_k`` of every row (numpy; for accuracies, not for the compiled losses)."""
        owners = np.repeat(np.arange(self.n_rows), np.diff(self.indptr))
        products = self.values * w[self.indices]
        return np.bincount(owners, weights=products, minlength=self.n_rows)

    def take(self, rows: np.ndarray) -> SparseRows:
        """The rows ``rows`` (in that order), e.g. a train/test split."""
        lengths = np.diff(self.indptr)[rows]
        indptr = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
        picks = [np.arange(self.indptr[k], self.indptr[k + 1]) for k in rows]
        flat = np.concatenate(picks) if picks else np.zeros(0, dtype=np.int64)
        return SparseRows(
            indptr, self.indices[flat], self.values[flat], self.labels[rows], self.n_features
        )


def _zipf_probabilities(vocab: int, zipf: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, vocab + 1, dtype=np.float64) ** zipf
    return weights / weights.sum()


#: Documents are drawn in batches of about this many words (one batch for the default corpus),
#: so the largest corpus (50M words) never holds all its draws at once.
_BATCH_WORDS = 1 << 20


def bag_of_words(
    n_docs: int = 2000,
    vocab: int = 10000,
    doc_length: int = 100,
    zipf: float = 1.1,
    informative: int = 200,
    signal: float = 3.0,
    data_seed: int = 0,
) -> SparseRows:
    """The seeded bag-of-words corpus of the module docstring: same arguments, same arrays."""
    rng = np.random.default_rng(data_seed)
    probabilities = _zipf_probabilities(vocab, zipf)
    lengths = 1 + rng.poisson(doc_length - 1, size=n_docs)
    indptr, indices, values = _documents(rng, lengths, probabilities)
    truth = np.zeros(vocab)
    chosen = rng.choice(vocab, size=min(informative, vocab), replace=False)
    truth[chosen] = rng.standard_normal(chosen.shape[0])
    scores = _row_sums(indptr, values * truth[indices])
    scores -= np.median(scores)
    spread = scores.std()
    scores *= signal / spread if spread > 0 else 0.0
    chance = 1.0 / (1.0 + np.exp(-scores))
    labels = (rng.random(n_docs) < chance).astype(np.float64)
    return SparseRows(indptr, indices, values, labels, vocab)


def _documents(
    rng: np.random.Generator, lengths: np.ndarray, probabilities: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every document's words, drawn as ``rng.choice(vocab, size=length, p=probabilities)``
    one document after the other would draw them, as CSR arrays: the words of a row ascending,
    each once, valued ``log(1 + count)``.

    ``Generator.choice`` with ``p`` maps ``random(length)`` through the normalised cumulative
    probabilities (``searchsorted(..., side="right")``), and consecutive ``random`` calls
    continue one stream, so a batch of documents takes one ``random`` call; its (document,
    word) keys sorted give each row's distinct words and their counts.
    """
    vocab = probabilities.shape[0]
    cdf = probabilities.cumsum()
    cdf /= cdf[-1]
    n_docs = lengths.shape[0]
    per_batch = max(1, _BATCH_WORDS * n_docs // max(1, int(lengths.sum())))
    row_sizes, indices, counts = [], [], []
    for first in range(0, n_docs, per_batch):
        sizes = lengths[first : first + per_batch]
        words = cdf.searchsorted(rng.random(int(sizes.sum())), side="right")
        owners = np.repeat(np.arange(sizes.shape[0], dtype=np.int64), sizes)
        keys, key_counts = np.unique(owners * vocab + words, return_counts=True)
        rows = keys // vocab
        row_sizes.append(np.bincount(rows, minlength=sizes.shape[0]))
        indices.append(keys - rows * vocab)
        counts.append(key_counts)
    indptr = np.concatenate(([0], np.cumsum(np.concatenate(row_sizes)))).astype(np.int64)
    values = np.log1p(np.concatenate(counts).astype(np.float64))
    return indptr, np.concatenate(indices).astype(np.int64), values


def _row_sums(indptr: np.ndarray, products: np.ndarray) -> np.ndarray:
    """Each row's sum of ``products``, exactly rounded (``math.fsum``: the scores do not depend
    on the order of a row's terms)."""
    terms = products.tolist()
    bounds = indptr.tolist()
    return np.array(
        [math.fsum(terms[lo:hi]) for lo, hi in itertools.pairwise(bounds)],
        dtype=np.float64,
    )


def pack(rows: SparseRows) -> np.ndarray:
    """The rows as the one float64 array (1, L) a compiled runner takes as its ``data``:
    ``[n_rows, nnz, n_features]``, indptr and indices as int64 bits, values, labels (read back
    by :func:`adambench.sparse_kernels.unpack`)."""
    header = np.array([rows.n_rows, rows.nnz, rows.n_features], dtype=np.float64)
    parts = [
        header,
        rows.indptr.astype(np.int64).view(np.float64),
        rows.indices.astype(np.int64).view(np.float64),
        rows.values.astype(np.float64),
        rows.labels.astype(np.float64),
    ]
    return np.concatenate(parts).reshape(1, -1)
