"""Local sweeps and checks in chunks of runs, kept in FILE.partial and resumed, without Dask.

With an output file a local sweep or check runs its chunks in this process (``IN_PROCESS``),
each finished chunk appended to the journal (``backends/journal.py``). The numbers are those of
one pass; a torn last line is dropped, a damaged one refused; an interrupt before the first
chunk keeps nothing; a partial file of other runs is refused. The Ctrl-C round trips through
real signals are in tests/test_interrupts.py, the same journal on Dask in tests/test_cluster.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner
from user_problems import NOISY_BOWL

import adambench
from adambench.backends.options import IN_PROCESS, Cluster
from adambench.cli import app
from adambench.cli.feedback import Feedback
from adambench.errors import AdambenchError, ExitCode

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def here(**options) -> Cluster:
    """Chunks run one after another in this process (what a local sweep with -o uses)."""
    return Cluster(IN_PROCESS, **options)


def sweep_dict(sw) -> dict:
    d = sw.to_dict()
    d.pop("volatile")
    return d


def test_a_sweep_in_chunks_here_is_the_one_pass_sweep_bit_for_bit(tmp_path):
    # A problem file, a YAML optimizer, random starts and gradient noise (each run's own random
    # stream); chunks of 5 runs cut across configurations and seeds.
    problem = tmp_path / "noisy_bowl.yaml"
    problem.write_text(NOISY_BOWL.replace("steps: 500", "steps: 300"), encoding="utf-8")
    lion = ROOT / "sample_configs" / "optimizers" / "lion.yaml"
    args = (str(problem), ["adam", f"{lion}(beta1=0.8)"], ["lr=1e-3:1e-1:log4"])
    kw = dict(seeds=3, start="random")
    seen = []
    chunked = adambench.sweep(*args, **kw, scheduler=here(chunk_runs=5, on_chunk=seen.append))
    assert sweep_dict(chunked) == sweep_dict(adambench.sweep(*args, **kw))
    assert [s.runs_done for s in seen] == [5, 10, 15, 20, 24]


def test_a_check_in_chunks_here_is_the_one_pass_check():
    suite = {
        "seeds": 3,
        "cases": [
            {"problem": "beale", "optimizer": ["adam(lr=0.1)", "rmsprop(lr=0.01)"],
             "steps": 300, "start": "random", "expect": {"status": "reached_target"}},
            {"problem": "rosenbrock", "optimizer": "sgd(lr=1e-3)", "seeds": 2, "steps": 200},
        ],
    }  # fmt: skip
    chunked = adambench.check(suite, scheduler=here(chunk_runs=4))
    whole = adambench.check(suite)
    a, b = chunked.to_dict(), whole.to_dict()
    a.pop("volatile"), b.pop("volatile")
    assert a == b and chunked.exit_code == whole.exit_code


def test_a_torn_last_line_is_dropped_and_resume_runs_each_missing_run_once(tmp_path):
    args = ("beale", ["adam", "rmsprop"], ["lr=1e-3:1:log5"])
    kw = dict(seeds=4, steps=500, start="random")  # 40 runs, chunks of 4
    journal = tmp_path / "sweep.json.partial"
    chunks = []

    def interrupt_after_three(status) -> None:
        chunks.append(status)
        if len(chunks) == 3:
            raise KeyboardInterrupt

    first = here(chunk_runs=4, journal=journal, on_chunk=interrupt_after_three)
    with pytest.raises(KeyboardInterrupt):
        adambench.sweep(*args, **kw, scheduler=first)
    assert first.status.runs_done == 12
    assert len(journal.read_text(encoding="utf-8").splitlines()) == 1 + 3
    with journal.open("a", encoding="utf-8") as fh:  # killed while writing a fourth chunk
        fh.write('{"chunk": 3, "blocks": [{"jo')

    seen = []
    again = here(chunk_runs=4, journal=journal, resume=True, on_chunk=seen.append)
    resumed = adambench.sweep(*args, **kw, scheduler=again)
    assert not journal.exists()  # removed once complete
    assert seen[0].runs_resumed == 12 and len(seen) == 7 and seen[-1].runs_done == 40
    keys = [(r.label, r.seed) for r in resumed.result.runs]
    assert len(keys) == len(set(keys)) == 40
    assert sweep_dict(resumed) == sweep_dict(adambench.sweep(*args, **kw))


def test_a_damaged_line_before_the_last_is_refused_not_guessed(tmp_path):
    args = ("beale", ["adam"], ["lr=0.01,0.1"])
    journal = tmp_path / "s.partial"
    keep = here(journal=journal, chunk_runs=1, remove_journal=False)
    adambench.sweep(*args, steps=50, seeds=2, scheduler=keep)
    lines = journal.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2][:40] + "\n"
    journal.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(AdambenchError, match="line 3 is damaged; cannot resume"):
        adambench.sweep(*args, steps=50, seeds=2, scheduler=here(journal=journal, resume=True))


def test_an_interrupt_before_the_first_chunk_leaves_no_partial_file(tmp_path, monkeypatch):
    # A journal of no runs keeps nothing worth resuming; left behind, it would only make the
    # next plain command refuse to start ("exists: the partial output of an interrupted run").
    from adambench.backends import dask as chunks

    def interrupted(*args, **kwargs):  # Ctrl-C while the first chunk runs (or compiles)
        raise KeyboardInterrupt

    monkeypatch.setattr(chunks, "run_chunk", interrupted)
    options = here(journal=tmp_path / "s.json.partial")
    with pytest.raises(KeyboardInterrupt):
        adambench.sweep("beale", ["adam"], ["lr=0.01,0.1"], steps=50, scheduler=options)
    assert options.status is None  # no chunk finished
    assert list(tmp_path.iterdir()) == []


SAME = {"-O": "adam", "-g": "lr=0.01,0.1", "--steps": "50", "--seeds": "2"}


@pytest.mark.parametrize(
    ("flag", "value"), [("--seeds", "3"), ("--steps", "60"), ("-O", "rmsprop")]
)
def test_resuming_the_partial_file_of_another_sweep_is_one_clear_error(tmp_path, flag, value):
    partial = tmp_path / "s.json.partial"
    keep = here(journal=partial, chunk_runs=1, remove_journal=False)
    adambench.sweep("beale", ["adam"], ["lr=0.01,0.1"], steps=50, seeds=2, scheduler=keep)
    options = [x for k, v in {**SAME, flag: value}.items() for x in (k, v)]
    out = str(tmp_path / "s.json")
    r = runner.invoke(app, ["sweep", "beale", *options, "-o", out, "--resume", str(partial)])
    assert r.exit_code == ExitCode.USAGE, r.output
    (line,) = r.stderr.strip().splitlines()
    assert "the partial output of other runs" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json.partial"]


def test_starting_over_on_top_of_a_partial_file_is_refused(tmp_path):
    partial = tmp_path / "s.json.partial"
    keep = here(journal=partial, chunk_runs=1, remove_journal=False)
    adambench.sweep("beale", ["adam"], ["lr=0.01,0.1"], steps=50, seeds=2, scheduler=keep)
    options = [x for kv in SAME.items() for x in kv]
    r = runner.invoke(app, ["sweep", "beale", *options, "-o", str(tmp_path / "s.json")])
    assert r.exit_code == ExitCode.USAGE, r.output
    assert "s.json.partial exists" in r.stderr and f"--resume {partial}" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json.partial"]  # kept, not lost


def test_resuming_the_partial_file_of_another_suite_is_refused(tmp_path):
    suite = tmp_path / "suite.yaml"
    suite.write_text("cases:\n  - {problem: beale, optimizer: adam, steps: 40, seeds: 3}\n")
    partial = tmp_path / "b.json.partial"
    adambench.check(suite, scheduler=here(journal=partial, remove_journal=False))
    suite.write_text("cases:\n  - {problem: beale, optimizer: adam, steps: 41, seeds: 3}\n")
    base = tmp_path / "b.json"
    r = runner.invoke(
        app, ["check", str(suite), "--save-baseline", str(base), "--resume", str(partial)]
    )
    assert r.exit_code == ExitCode.USAGE, r.output
    (line,) = r.stderr.strip().splitlines()
    assert "the partial output of other runs" in line
    assert not base.exists()


CHECK_SUITE = """\
name: kept
cases:
  - {problem: beale, optimizer: ["adam(lr=0.05)", "rmsprop(lr=0.01)"], steps: 400, seeds: 4,
     start: random, expect: {final_loss_below: 1.0}}
"""


@pytest.mark.parametrize("flag", ["--junit", "--markdown"])
def test_a_check_writing_only_a_report_keeps_its_runs_and_resumes(tmp_path, monkeypatch, flag):
    suite = tmp_path / "suite.yaml"
    suite.write_text(CHECK_SUITE, encoding="utf-8")
    report, partial = tmp_path / "report.out", tmp_path / "report.out.partial"
    command = ["check", str(suite), flag, str(report), "--chunk-runs", "2"]

    def interrupt(self, done: int, total: int) -> None:  # after the first chunk is journaled
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(Feedback, "progress", interrupt)
        r = runner.invoke(app, command)
    assert r.exit_code == ExitCode.INTERRUPTED, r.output
    assert f"--resume {partial}" in r.stderr and r.stderr.strip().endswith("interrupted")
    assert sorted(p.name for p in tmp_path.iterdir()) == [partial.name, suite.name]
    assert partial.read_text(encoding="utf-8").count("\n") == 2  # the header and one chunk

    r = runner.invoke(app, [*command, "--resume", str(partial)])
    assert r.exit_code in (0, 1), r.output  # the verdict, whatever it is
    assert "resuming: 2 of 8 runs are in" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [report.name, suite.name]
    resumed = report.read_text(encoding="utf-8")
    whole = runner.invoke(app, ["check", str(suite), flag, str(report)])
    assert whole.exit_code == r.exit_code, whole.output
    assert without_times(resumed) == without_times(report.read_text(encoding="utf-8"))


def without_times(report: str) -> str:
    """A check report less the time it took (JUnit's time attributes, Markdown's summary)."""
    report = re.sub(r' time="[^"]*"', "", report)
    return re.sub(r" in \d+\.\d+s( \(\+ [^)]*\))?", "", report)
