"""Same command, same bytes (issue 10): run, sweep and check, each invoked serially
(``--threads 1``), in parallel (``--threads 2``) and in parallel again, print byte-identical JSON
apart from the ``volatile`` block (date, threads, timings), and write byte-identical files.

The cases use what could break it: minibatch noise (noisy_logreg), gradient noise, random
starts, several seeds and optimizers in one batch (runs split across threads), a diverging
configuration, averaging and recorded traces.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from adambench.cli import app

runner = CliRunner()

NOISY = "name: noisy_bowl\nvariables: [x, y]\nexpression: x**2 + 5*y**2\nstart: [2, 1]\n"
NOISY += "gradient_noise: 0.5\ndomain: [-3, 3]\n"
SUITE = """\
cases:
  - {name: logreg, problem: noisy_logreg, optimizer: [adam(lr=0.05), sgd(lr=0.5)], seeds: 5,
     steps: 150, expect: {success_rate_at_least: 0}}
  - {name: noisy, problem: noisy.yaml, optimizer: rmsprop(lr=0.01), seeds: 4, start: random,
     steps: 100}
  - {name: diverges, problem: rosenbrock, optimizer: sgd(lr=1), steps: 50}
"""

COMMANDS = {
    "run": ["run", "noisy_logreg", "-O", "adam(lr=0.05),sgd(lr=0.5),rmsprop", "--seeds", "5",
            "--steps", "150", "--start", "random", "--average", "--trace"],
    "run-noise": ["run", "noisy.yaml", "-O", "adam(lr=0.1),sgd(lr=2)", "--seeds", "4",
                  "--steps", "100", "--trace"],
    "sweep": ["sweep", "noisy_logreg", "-O", "adam,sgd", "--grid", "lr=1e-3:1:log4",
              "--seeds", "3", "--steps", "100"],
    "check": ["check", "suite.yaml", "--save-baseline", "baseline.json"],
}  # fmt: skip


def without_volatile(text: str) -> str:
    """The JSON text with the lines of its top-level ``"volatile"`` block removed (the text is
    compared byte for byte, not re-serialized)."""
    out, skipping = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith('  "volatile": {'):
            skipping = True
        elif skipping and line.startswith("  }"):
            skipping = False
        elif not skipping:
            out.append(line)
    assert not skipping
    return "".join(out)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_serial_and_parallel_give_the_same_bytes(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "suite.yaml").write_text(SUITE)
    (tmp_path / "noisy.yaml").write_text(NOISY)
    outputs, files, first = [], [], ""
    for threads in ("1", "2", "2"):
        r = runner.invoke(app, [*COMMANDS[command], "--threads", threads, "--json"])
        assert r.exit_code == 0, r.output
        assert '"volatile": {' in r.stdout
        outputs.append(without_volatile(r.stdout))
        first = first or r.stdout
        assert json.loads(r.stdout)["volatile"]["threads"] == int(threads)
        if command == "check":
            files.append((tmp_path / "baseline.json").read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
    assert len(outputs[0]) > 1000
    if files:
        assert files[0] == files[1] == files[2]
    if command.startswith("run"):  # the runs did differ between seeds (noise is seeded)
        runs = json.loads(first)["runs"]
        assert len({r["final_loss"] for r in runs if r["final_loss"] is not None}) > 3
