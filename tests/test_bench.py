"""`adambench bench`: suites, suite files, and the suite-level statistics (ECDF, ERT, Dolan-More
profiles, average ranks with a bootstrap interval) recomputed from the JSON's runs here by an
independent few-line implementation. One tiny end-to-end bench (beale and rosenbrock x adam and
sgd x 3 seeds, a 3-point lr tune, 300 steps) is shared by the tests that need runs."""

from __future__ import annotations

import json
import math
from importlib.resources import files

import jsonschema
import numpy as np
import pytest
from typer.testing import CliRunner

from adambench.cli import app
from adambench.errors import AdambenchError
from adambench.sweeps import bench_stats
from adambench.sweeps.bench_suite import builtin_suite, load_suite_file

SCHEMA = json.loads((files("adambench.schema") / "result.schema.json").read_text())
runner = CliRunner()

SUITE = """\
name: two
problems:
  - {problem: beale, steps: 300, target: {gap: 1.0e-2}}
  - {problem: rosenbrock, steps: 300, target: 0.1}
optimizers: [adam, sgd]
seeds: 3
tune: {count: 3}
"""


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "80"})


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory):
    """The CLI's output and JSON of the tiny bench, with a plot."""
    tmp = tmp_path_factory.mktemp("bench")
    suite = tmp / "two.yaml"
    suite.write_text(SUITE)
    out, png = tmp / "bench.json", tmp / "bench.png"
    r = invoke("bench", suite, "-o", out, "--plot", png)
    assert r.exit_code == 0, r.output
    return r, json.loads(out.read_text()), png


# -- the independent implementation the tests hold the JSON to ---------------------------------
def ert_of(runs):
    wins = [r for r in runs if r["steps_to_target"] is not None]
    spent = sum(r["steps_to_target"] if r in wins else r["steps"] for r in runs)
    return spent / len(wins) if wins else math.inf


def ranks_of(row):
    return [sum(v < x for v in row) + (sum(v == x for v in row) + 1) / 2 for x in row]


def test_the_json_follows_the_schema_and_its_statistics_recompute(bench_run):
    _, data, _ = bench_run
    jsonschema.validate(data, SCHEMA)
    b = data["bench"]
    names = b["optimizers"]
    assert names == ["adam", "sgd"] and b["seeds"] == [0, 1, 2]
    gaps = b["target_gaps"]
    assert len(gaps) == 51 and gaps[0] == pytest.approx(100) and gaps[-1] == pytest.approx(1e-8)
    erts = [[ert_of(o["runs"]) for o in p["optimizers"]] for p in b["problems"]]
    for p, row in zip(b["problems"], erts):
        for o, e in zip(p["optimizers"], row):
            assert o["ert"] == (None if math.isinf(e) else pytest.approx(e))
            won = sum(r["steps_to_target"] is not None for r in o["runs"])
            assert o["success_rate"] == won / len(o["runs"])
    assert any(math.isfinite(e) for row in erts for e in row)  # the bench has successes
    # ECDF: of all (problem, target, seed) triples, the share reached by each step.
    for j, name in enumerate(names):
        at = [s for p in b["problems"] for r in p["optimizers"][j]["runs"] for s in r["reach"]]
        want = [sum(s is not None and s <= t for s in at) / len(at) for t in b["ecdf"]["steps"]]
        assert b["ecdf"]["fractions"][name] == pytest.approx(want)
    # Performance profile: share of problems with ERT <= tau * the problem's best.
    for j, name in enumerate(names):
        want = [
            sum(math.isfinite(row[j]) and row[j] <= tau * min(row) for row in erts) / len(erts)
            for tau in b["profile"]["taus"]
        ]
        assert b["profile"]["fractions"][name] == pytest.approx(want)
    # Average rank by ERT, ties averaged; the bootstrap interval contains it.
    ranks = np.array([ranks_of(row) for row in erts])
    for j, name in enumerate(names):
        got = b["ranks"][name]
        assert got["mean"] == pytest.approx(ranks[:, j].mean())
        assert got["low"] <= got["mean"] <= got["high"]
    assert b["bootstrap"] == {"resamples": 1000, "seed": 0, "level": 0.95}


def test_reach_steps_are_those_of_the_best_loss_curve(bench_run):
    """A reported run, run again with its trace: each threshold is first beaten where the
    running minimum of its loss gap first drops below it."""
    from dataclasses import replace

    from adambench.engine.jobs import run
    from adambench.problems import load_problem

    _, data, _ = bench_run
    beale = data["bench"]["problems"][0]
    adam = beale["optimizers"][0]
    lr = adam["tuned"]["lr"]
    prob = replace(load_problem("beale"), target=beale["target"])
    again = run(prob, [f"adam(lr={lr})"], steps=300, seeds=3, start="random")
    for mine, theirs in zip(again.runs, adam["runs"]):
        best = np.minimum.accumulate(mine.loss_trace - beale["min_value"])
        want = []
        for g in data["bench"]["target_gaps"]:
            hit = np.flatnonzero(best < g)
            want.append(int(hit[0]) if hit.size else None)
        assert theirs["reach"] == want
        assert theirs["steps_to_target"] == mine.steps_to_target


def test_the_terminal_shows_tables_the_ecdf_and_the_verdict(bench_run):
    r, data, png = bench_run
    out = r.stdout.splitlines()
    assert out[0] == "bench two: 2 problems x 2 optimizers x 3 seeds, tuned: lr over 3 values"
    assert all(len(line) <= 80 for line in out)
    text = " ".join(" ".join(r.stdout.split()).split())
    assert "across 2 problems, ranked by ERT" in text
    assert "ECDF of (problem, target, seed) triples reached" in text
    assert data["bench"]["verdict"] in text
    assert "Suite two: 2 problems (beale, rosenbrock), optimizers adam, sgd" in text
    assert png.stat().st_size > 0


def test_the_bench_runs_in_two_passes_with_the_per_problem_numbers(bench_run, monkeypatch):
    """Every problem's tuning runs go to run_jobs together, then every reported run: the
    numbers are those of tuning and running each problem on its own (``run --tune``)."""
    from dataclasses import replace

    import adambench.backends as backends
    from adambench.problems import load_problem
    from adambench.sweeps.bench import run_bench
    from adambench.sweeps.bench_suite import load_suite
    from adambench.sweeps.tuning import run_tuned

    _, data, _ = bench_run
    calls = []

    def counting(jobs, *args, **kw):
        calls.append([j.problem.name for j in jobs])
        return run_jobs(jobs, *args, **kw)

    run_jobs = backends.run_jobs
    monkeypatch.setattr(backends, "run_jobs", counting)
    suite = data["bench"]
    spec = load_suite(str(bench_run[2].parent / "two.yaml"))
    again = run_bench(spec, threads=1)
    assert calls == [["beale", "rosenbrock"], ["beale", "rosenbrock"]]
    assert json.loads(again.to_json())["bench"] == suite  # threads never change a number
    monkeypatch.setattr(backends, "run_jobs", run_jobs)
    for entry in suite["problems"]:
        prob = replace(load_problem(entry["problem"]), target=entry["target"])
        alone = run_tuned(prob, ["adam", "sgd"], tune_count=3, steps=300, seeds=3, start="random")
        for k, o in enumerate(entry["optimizers"]):
            assert o["tuned"] == dict(alone.tuning.choices[k].values)
            runs = alone.result.runs_of(k)
            assert [r["steps_to_target"] for r in o["runs"]] == [r.steps_to_target for r in runs]
            gaps = [r.final_loss - entry["min_value"] for r in runs]
            assert [r["final_gap"] for r in o["runs"]] == gaps


def test_the_compile_time_is_reported_apart_from_the_runs(bench_run):
    r, data, _ = bench_run
    v = data["volatile"]
    t = v["timings"]
    assert set(t) == {"compile_s", "run_s", "total_s"}
    assert t["compile_s"] + t["run_s"] == pytest.approx(t["total_s"], abs=1e-5)
    assert v["runs"] == 2 * 2 * 3 * (3 + 1)  # problems x optimizers x seeds x (tune points + 1)
    assert (t["compile_s"] > 0) == (v["compiled"] > 0)
    line = f"took {t['total_s']:.1f} s: {t['run_s']:.1f} s running 48 runs (tuning and reported)"
    assert line in r.stderr


def test_the_bootstrap_is_deterministic_and_seeded():
    rng = np.random.default_rng(7)
    erts = rng.integers(10, 100, size=(12, 4)).astype(float)
    erts[3, 1] = math.inf
    a = bench_stats.bootstrap_rank_interval(erts)
    b = bench_stats.bootstrap_rank_interval(erts)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    other = bench_stats.bootstrap_rank_interval(erts, seed=1)
    assert not all(np.array_equal(x, y) for x, y in zip(a, other))
    # The percentile interval, recomputed from the same resamples of the problems.
    ranks = np.array([ranks_of(row) for row in erts])
    picks = np.random.default_rng(0).integers(0, 12, size=(1000, 12))
    means = ranks[picks].mean(axis=1)
    assert np.allclose(a[0], np.percentile(means, 2.5, axis=0))
    assert np.allclose(a[1], np.percentile(means, 97.5, axis=0))


def test_ties_share_their_ranks_and_infinite_erts_tie():
    erts = np.array([[5.0, 5.0, 9.0, math.inf], [math.inf, math.inf, 1.0, 2.0]])
    assert bench_stats.rank_rows(erts).tolist() == [[1.5, 1.5, 3, 4], [3.5, 3.5, 1, 2]]


def test_reach_steps_ignore_a_diverged_tail_and_count_every():
    losses = np.array([50.0, 0.5, np.nan, 1e-9])
    reach = bench_stats.reach_steps(losses, 0.0, every=10, gaps=(100, 1, 1e-3, 1e-8))
    assert reach == [0, 10, 30, 30]


SUITE_MISTAKES = [
    ("problems: [beale, nosuch]", "'problems[1]': unknown problem 'nosuch'"),
    ("problems: [beale]\noptimizers: [adam, nosuchopt]", "'optimizers': unknown optimizer"),
    ("problems: [{problem: beale, stepz: 3}]", "problems[0]: unknown key 'stepz'"),
    ("problems: [{problem: beale, steps: -3}]", "'problems[0].steps' must be between 1"),
    ("problems: [beale]\ntune: {count: 1}", "'tune.count' must be between 2"),
    ("problems: [{problem: beale, start: [1, a]}]", "'problems[0].start' must be random"),
    ("problems: [{problem: beale, target: {gap: -1}}]", "'problems[0].target' gap must be"),
    ("problem: [beale]", "unknown key 'problem' (did you mean 'problems'?)"),
    ("problems: []", "'problems' must be a non-empty list"),
    ("problems: [beale]\nseeds: 0", "'seeds' must be between 1"),
    ("problems: [beale, beale]\noptimizers: [adam, adam]", "optimizer 'adam' is listed twice"),
    ("- beale", "a suite file must be a mapping"),
    ("problems: [{problem: beale, noise: -1}]", "'problems[0].noise' must be a number >= 0"),
    ("problems: [{problem: beale, rotate: 1.5}]", "'problems[0].rotate' must be"),
    ("problems: [{problem: noisy_logreg, rotate: 1}]", "not to data problems"),
    ("problems: [{problem: ellipsoid_rotated, rotate: 2}]", "is rotated already"),
]


@pytest.mark.parametrize(("text", "message"), SUITE_MISTAKES)
def test_suite_file_mistakes_are_one_line_naming_the_file(tmp_path, text, message):
    suite = tmp_path / "bad.yaml"
    suite.write_text(text + "\n")
    out = tmp_path / "out.json"
    r = invoke("bench", suite, "-o", out)
    assert r.exit_code == 2
    assert r.output.count("\n") == 1 and "Traceback" not in r.output
    assert r.output.startswith(f"error: {suite}: ") and message in r.output
    assert not out.exists()


def test_built_in_suites_and_tags(tmp_path, monkeypatch):
    assert [p.problem for p in builtin_suite("card").problems] == [
        "beale", "rosenbrock", "long_valley", "saddle_point", "noisy_logreg"
    ]  # fmt: skip
    classic = [p.problem for p in builtin_suite("classic").problems]
    assert "beale" in classic and "noisy_logreg" not in classic
    (tmp_path / "a.yaml").write_text("expression: x**2\ntags: [multimodal, nd]\n")
    (tmp_path / "b.yaml").write_text("expression: x**2\ntags: [nd]\n")
    import adambench.problem_files

    monkeypatch.setattr(
        adambench.problem_files, "builtin_files", lambda: {p.stem: p for p in tmp_path.glob("*")}
    )
    assert [p.problem for p in builtin_suite("multimodal").problems] == ["a"]
    assert sorted(p.problem for p in builtin_suite("nd").problems) == ["a", "b"]
    with pytest.raises(AdambenchError, match="no shipped problem has the tag 'ill-conditioned'"):
        builtin_suite("ill-conditioned")


def test_unknown_suites_and_bad_outputs_are_usage_errors(tmp_path):
    r = invoke("bench", "cardd")
    assert r.exit_code == 2 and "unknown suite 'cardd' (did you mean 'card'?)" in r.output
    r = invoke("bench", "card", "-o", tmp_path / "x.csv")
    assert r.exit_code == 2 and "a bench result is written as .json" in r.output
    r = invoke("bench", "card", "--chunk-runs", "5")
    assert r.exit_code == 2 and "--chunk-runs applies to runs on a Dask cluster" in r.output
    r = invoke("bench", "card", "--workers", "2")
    assert r.exit_code == 2 and "--workers applies to runs on a Dask cluster" in r.output


def test_a_suite_file_reads_its_settings(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(SUITE + "seed: 4\nsteps: 100\n")
    s = load_suite_file(f)
    assert s.name == "two" and s.optimizers == ("adam", "sgd") and (s.seeds, s.seed) == (3, 4)
    assert s.problems[0].gap == 1e-2 and s.problems[1].target == 0.1
    assert s.tune == {"count": 3} and s.steps == 100 and s.where == str(f)


def test_a_bench_without_known_minima_or_successes_still_writes_valid_json():
    """No compiled code: hand-made outcomes of a problem with no known minimum, no success."""
    from adambench.sweeps.bench import BenchEntry, BenchResult, BenchRun, OptimizerOutcome

    def outcome(name):
        runs = (BenchRun(0, "max_steps", 10, None, None, None, None),)
        return OptimizerOutcome(name, name, {"lr": 0.1}, False, runs)

    entry = BenchEntry("p", 10, "random", None, None, "rule", (outcome("a"), outcome("b")))
    b = BenchResult("x", ("a", "b"), (0,), {"params": "lr"}, [entry], date="d")
    data = json.loads(b.to_json())
    jsonschema.validate(data, SCHEMA)
    assert set(map(tuple, data["bench"]["ecdf"]["fractions"].values())) == {(None,) * 7}
    assert data["bench"]["problems"][0]["optimizers"][0]["ert"] is None
    assert data["bench"]["verdict"].endswith("No optimizer reached a target on any problem, "
                                             "so none ranks ahead.")  # fmt: skip


def test_noise_and_rotate_vary_the_suite_and_are_recorded(tmp_path):
    """--noise applies to every problem that takes it, a suite entry's rotate: to its problem;
    a data problem runs as it is, with a note; the JSON and the table name the variant."""
    suite = tmp_path / "v.yaml"
    suite.write_text(
        "problems:\n  - {problem: beale, steps: 30, rotate: 3}\n  - {problem: noisy_logreg, "
        "steps: 30}\noptimizers: [sgd]\nseeds: 2\ntune: {count: 2}\n"
    )
    out = tmp_path / "v.json"
    r = invoke("bench", suite, "--noise", "0.5", "-o", out)
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text())
    jsonschema.validate(data, SCHEMA)
    beale, logreg = data["bench"]["problems"]
    assert (beale["rotate"], beale["gradient_noise"]) == (3, 0.5)
    assert logreg["rotate"] is None and logreg["gradient_noise"] == 0.0
    assert "beale (rotated 3, noise 0.5)" in r.stdout
    assert "noisy_logreg: a data problem, run without --noise/--rotate" in r.stderr
    r = invoke("bench", suite, "--noise", "-1")
    assert r.exit_code == 2 and "--noise must be a number >= 0" in r.output
