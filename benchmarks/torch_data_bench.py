"""Time per epoch of a data problem's compiled loop against the same model in torch.

From the repository root (a benchmark, not a test; a minute or two on 2 cores)::

    python benchmarks/torch_data_bench.py               # both models, 5 pairs
    python benchmarks/torch_data_bench.py --pairs 9 --epochs 5

Two models on the shipped digits (1,438 training rows): softmax regression with a bias at
batch 128 (``digits_softmax``) and the 64-32-10 tanh MLP at batch 32 (``digits_mlp``). Both
sides run SGD (lr 0.05) in float64 on one set of weights. adambench: ``adambench.run(...,
threads=1)`` with the loss measured only at the first and last iterate (``eval_every`` = the
steps), its ``timings["run_s"]`` (compile excluded). torch (CPU, ``torch.set_num_threads(2)``,
the tensors made once up front): a plain loop of forward, cross-entropy + l2, backward and
``optimizer.step()`` over each epoch's shuffled minibatches. The pairs alternate (A B A B) and
the ratio is taken pair by pair, so that it holds on a shared, noisy machine; the medians of
each side and of the ratios are printed (ratio > 1: adambench is faster).
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

import adambench  # noqa: E402
from adambench.problems import load_problem  # noqa: E402

LR = 0.05


def adambench_epochs(problem, epochs: int) -> float:
    """Seconds of the compiled loop for ``epochs`` epochs of SGD."""
    n, batch = problem.data.shape[0], problem.model["batch_size"]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(2)
    for name in ("digits_softmax", "digits_mlp"):
        problem = load_problem(name)
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
