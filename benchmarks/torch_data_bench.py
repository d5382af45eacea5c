"""Time per epoch of a data problem's compiled loop against the same model in torch.

From the repository root (a benchmark, not a test; a minute or two on 2 cores)::

    python benchmarks/torch_data_bench.py               # both models, 5 pairs
    python benchmarks/torch_data_bench.py --pairs 9 --epochs 5

Two models on the shipped digits (1,438 training rows): softmax regression with a bias at
batch 128 (``digits_softmax``) and the 64-32-10 tanh MLP at batch 32 (``digits_mlp``); and the
sparse logistic regression at batch 32 on the generated bag-of-words corpus (2,000 documents,
vocabulary 10,000, about 63 words per document; ``sparse_bow`` below). Both
sides run SGD (lr 0.05) in float64 on one set of weights. adambench: ``adambench.run(...,
threads=1)`` with the loss measured only at the first and last iterate (``eval_every`` = the
steps), its ``timings["run_s"]`` (compile excluded). torch (CPU, ``torch.set_num_threads(2)``,
the tensors made once up front): a plain loop of forward, cross-entropy + l2, backward and
``optimizer.step()`` over each epoch's shuffled minibatches. The pairs alternate (A B A B) and
the ratio is taken pair by pair, so that it holds on a shared, noisy machine; the medians of
each side and of the ratios are printed (ratio > 1: adambench is faster).

The sparse row: adambench's side is ``adambench.run`` on a ``generator: bow`` problem (the
corpus stored sparse end to end: the compiled runner's minibatch gradient over the batch's
nonzeros, l2 on every weight, SGD), as for the dense models; torch's side is the same loop with
the same rows held both as a sparse COO tensor (``index_select`` of the batch's rows,
``torch.sparse.mm``) and as a dense tensor; both are timed and the faster one is torch's figure
(its name is printed).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import adambench  # noqa: E402
from adambench.problems import load_problem  # noqa: E402

LR = 0.05


def adambench_epochs(problem, epochs: int) -> float:
    """Seconds of the compiled loop for ``epochs`` epochs of SGD."""
    n, batch = problem.n_train(), problem.model["batch_size"]
    steps = epochs * -(-n // batch)
    timed = dataclasses.replace(problem, model={**problem.model, "eval_every": steps})
    result = adambench.run(timed, [f"sgd(lr={LR})"], steps=steps, threads=1)
    return result.timings["run_s"]


def torch_model(problem, torch):
    """The problem's model as a torch module, with its start as weights (float64)."""
    m = problem.model
    widths = m["widths"] if m["kind"] == "mlp" else [problem.data.shape[1] - 1, m["n_classes"]]
    layers = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(widths)):
        layers.append(torch.nn.Linear(n_in, n_out, bias=m["kind"] == "mlp", dtype=torch.float64))
        if i < len(widths) - 2:
            layers.append(torch.nn.Tanh() if m["activation"] == "tanh" else torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def torch_epochs(problem, epochs: int, torch) -> float:
    """Seconds of a plain torch training loop for ``epochs`` epochs of SGD."""
    x = torch.tensor(problem.data[:, :-1])
    y = torch.tensor(problem.data[:, -1]).long()
    model = torch_model(problem, torch)
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    l2, batch, n = problem.model["l2"], problem.model["batch_size"], len(y)
    generator = torch.Generator().manual_seed(0)
    began = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        for i in range(0, n, batch):
            rows = order[i : i + batch]
            loss = torch.nn.functional.cross_entropy(model(x[rows]), y[rows])
            loss = loss + 0.5 * l2 * sum((w * w).sum() for w in weights)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return time.perf_counter() - began


SPARSE_L2, SPARSE_BATCH = 1e-4, 32


def sparse_problem():
    """The corpus of ``generator: bow`` (its defaults) as a problem: no bias, no held-out rows."""
    from adambench.problems import problem_from_dict

    raw = {
        "name": "sparse_bow",
        "data": {"generator": "bow"},
        "model": {"kind": "logistic", "l2": SPARSE_L2, "batch_size": SPARSE_BATCH},
    }
    return problem_from_dict(raw, "sparse_bow")


def sparse_torch_epochs(corpus, epochs: int, torch, sparse: bool) -> float:
    """Seconds of a plain torch loop of SGD on the corpus (a COO tensor or a dense one)."""
    row_of = np.repeat(np.arange(corpus.n_rows), np.diff(corpus.indptr))
    where = torch.tensor(np.stack([row_of, corpus.indices]))
    x = torch.sparse_coo_tensor(
        where,
        torch.tensor(corpus.values),
        (corpus.n_rows, corpus.n_features),
        check_invariants=True,
    ).coalesce()
    if not sparse:
        x = x.to_dense()
    y = torch.tensor(corpus.labels)
    w = torch.zeros(corpus.n_features, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=LR)
    generator = torch.Generator().manual_seed(0)
    began = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(corpus.n_rows, generator=generator)
        for i in range(0, corpus.n_rows, SPARSE_BATCH):
            rows = order[i : i + SPARSE_BATCH]
            if sparse:
                z = torch.sparse.mm(x.index_select(0, rows), w[:, None])[:, 0]
            else:
                z = x[rows] @ w
            loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y[rows])
            loss = loss + 0.5 * SPARSE_L2 * (w * w).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return time.perf_counter() - began


def sparse_row(pairs: int, epochs: int, torch) -> None:
    """The sparse logistic regression: adambench against torch's faster storage."""
    problem = sparse_problem()
    corpus = problem.sparse
    adambench_epochs(problem, 1)  # compile and warm every side
    best = {}
    for sparse in (True, False):
        sparse_torch_epochs(corpus, 1, torch, sparse)
        best[sparse] = min(sparse_torch_epochs(corpus, 1, torch, sparse) for _ in range(2))
    storage = min(best, key=best.get)
    ours, theirs = [], []
    for _ in range(pairs):
        ours.append(adambench_epochs(problem, epochs) / epochs)
        theirs.append(sparse_torch_epochs(corpus, epochs, torch, storage) / epochs)
    ratio = statistics.median(t / o for o, t in zip(ours, theirs, strict=True))
    kind = "sparse COO" if storage else "dense"
    print(f"sparse_bow logistic (batch {SPARSE_BATCH}), per epoch, {pairs} pairs:")
    print(
        f"  torch one epoch: sparse COO {best[True] * 1e3:.2f} ms, dense {best[False] * 1e3:.2f} ms"
    )
    print(f"  adambench {statistics.median(ours) * 1e3:8.2f} ms")
    print(f"  torch     {statistics.median(theirs) * 1e3:8.2f} ms ({kind}, the faster)")
    print(f"  torch / adambench: median {ratio:.2f}x")


#: The wider network the issue reports without a target: 64-256-256-10 ReLU at batch 128, where
#: torch's BLAS matrix products may win over adambench's loops.
WIDE_MLP = """\
name: digits_mlp_wide
data: {builtin: digits, standardize: true, test_fraction: 0.2}
model: {kind: mlp, hidden: [256, 256], activation: relu, l2: 1.0e-4, batch_size: 128}
"""


def wide_mlp_problem():
    """The 64-256-256-10 ReLU MLP on the digits (a problem file written to a scratch folder)."""
    import tempfile

    path = Path(tempfile.mkdtemp()) / "digits_mlp_wide.yaml"
    path.write_text(WIDE_MLP, encoding="utf-8")
    return load_problem(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--only-sparse", action="store_true", help="the sparse row only")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(2)
    sparse_row(args.pairs, args.epochs, torch)
    names = () if args.only_sparse else ("digits_softmax", "digits_mlp", "digits_mlp_wide")
    for name in names:
        problem = wide_mlp_problem() if name == "digits_mlp_wide" else load_problem(name)
        if name == "digits_softmax":
            problem = dataclasses.replace(problem, model={**problem.model, "batch_size": 128})
        adambench_epochs(problem, 1)  # compile and warm both sides
        torch_epochs(problem, 1, torch)
        ours, theirs = [], []
        for _ in range(args.pairs):
            ours.append(adambench_epochs(problem, args.epochs) / args.epochs)
            theirs.append(torch_epochs(problem, args.epochs, torch) / args.epochs)
        ratio = statistics.median(t / o for o, t in zip(ours, theirs, strict=True))
        batch = problem.model["batch_size"]
        print(f"{name} (batch {batch}), per epoch, {args.pairs} pairs:")
        print(f"  adambench {statistics.median(ours) * 1e3:8.2f} ms")
        print(f"  torch     {statistics.median(theirs) * 1e3:8.2f} ms")
        print(f"  torch / adambench: median {ratio:.2f}x")


if __name__ == "__main__":
    main()
