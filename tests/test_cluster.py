"""Sweeps and checks on a real Dask cluster: the local numbers bit for bit, worker deaths, resume.

Every cluster here is a real ``distributed.LocalCluster`` of worker processes (no mocks of
Dask). Skipped where dask.distributed is not installed; CI installs the ``dask`` extra.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from user_problems import NOISY_BOWL

import adambench
from adambench.backends import dask as C
from adambench.backends import journal as J
from adambench.backends import tasks as T
from adambench.backends import worker as W
from adambench.errors import AdambenchError, ExitCode

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parent.parent
OPTIMIZERS = ROOT / "sample_configs" / "optimizers"


def local_cluster(workers: int = 2) -> tuple[object, object]:
    cluster = distributed.LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address="127.0.0.1:0",  # no dashboard on a fixed port
        silence_logs=logging.ERROR,
    )
    return cluster, distributed.Client(cluster, set_as_default=False)


@pytest.fixture(scope="module")
def client():
    cluster, c = local_cluster()
    yield c
    c.close()
    cluster.close()


def without_volatile(d: dict) -> dict:
    d = dict(d)
    d.pop("volatile")
    return d


def sweep_json(sw) -> dict:
    return without_volatile(sw.to_dict())


# ---------------------------------------------------------------------------------------------
# The same numbers as the local path


def test_a_sweep_on_the_cluster_is_the_local_sweep_bit_for_bit(client, tmp_path):
    # A user problem file and a YAML optimizer travel as text; random starts and gradient
    # noise exercise each run's own random stream; 5-run chunks cut configurations and seeds.
    problem = tmp_path / "noisy_bowl.yaml"
    problem.write_text(NOISY_BOWL, encoding="utf-8")
    lion = tmp_path / "lion.yaml"
    lion.write_text((OPTIMIZERS / "lion.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    args = (str(problem), ["adam", f"{lion}(beta1=0.8)"], ["lr=1e-3:1e-1:log4"])
    kw = dict(seeds=3, start="random", steps=300)
    local = adambench.sweep(*args, **kw)
    seen: list[C.ChunkStatus] = []
    remote = adambench.sweep(
        *args, **kw, scheduler=C.Cluster(client, chunk_runs=5, on_chunk=seen.append)
    )
    assert sweep_json(remote) == sweep_json(local)
    assert remote.runs == 24 and len(seen) == 5  # ceil(24 / 5) chunks
    assert seen[-1].runs_done == seen[-1].runs_total == 24
    assert [s.chunks_done for s in seen] == [1, 2, 3, 4, 5]


def test_a_check_suite_on_the_cluster_is_the_local_check(client, tmp_path):
    problem = tmp_path / "noisy_bowl.yaml"
    problem.write_text(NOISY_BOWL, encoding="utf-8")
    plugin = OPTIMIZERS / "sign_momentum.py"  # a plugin, sent by its text
    suite = {
        "name": "cluster",
        "seeds": 3,
        "cases": [
            {"name": "beale-adam", "problem": "beale", "optimizer": "adam(lr=0.1)",
             "steps": 600, "expect": {"status": "reached_target"}},
            {"problem": str(problem), "optimizer": ["adam(lr=0.05)", "rmsprop(lr=0.01)"],
             "start": "random", "expect": {"success_rate_at_least": 0.5}},
            {"name": "beale-sign", "problem": "beale", "seeds": 2,
             "optimizer": f"{plugin}(lr=0.001, momentum=0.9)", "steps": 400},
        ],
    }  # fmt: skip
    local = adambench.check(suite)
    remote = adambench.check(suite, scheduler=C.Cluster(client, chunk_runs=2))
    assert without_volatile(remote.to_dict()) == without_volatile(local.to_dict())
    assert remote.exit_code == local.exit_code
    assert len(remote.cases) == 4


def test_a_bench_on_the_cluster_is_the_local_bench_bit_for_bit(client):
    # Both passes (every problem's tuning runs, then the reported runs) go in 5-run chunks;
    # beale twice (two starts and lengths) with the kernels the sweeps here compile anyway.
    from adambench.sweeps.bench import run_bench
    from adambench.sweeps.bench_suite import Suite, SuiteProblem

    problems = (SuiteProblem("beale", steps=200), SuiteProblem("beale", 150, "default", 0.1))
    suite = Suite("two", problems, optimizers=("adam", "rmsprop"), seeds=2, tune={"count": 3})
    local = json.loads(run_bench(suite).to_json())
    remote = json.loads(run_bench(suite, scheduler=C.Cluster(client, chunk_runs=5)).to_json())
    assert remote["bench"] == local["bench"] and remote["notes"] == local["notes"]
    assert remote["volatile"]["runs"] == 2 * 2 * 2 * 4


def test_a_problem_travels_to_a_worker_with_the_target_the_client_gave_it(tmp_path):
    # No cluster needed: the reference a task carries, rebuilt as a worker rebuilds it.
    from dataclasses import replace

    from adambench.problems import load_problem

    problem = tmp_path / "noisy_bowl.yaml"
    problem.write_text(NOISY_BOWL, encoding="utf-8")
    for p in (load_problem("beale"), load_problem(str(problem))):
        for target in (0.25, None, p.target):
            mine = replace(p, target=target)
            assert T.load_problem_ref(T.problem_ref(mine)).target == target


def test_a_worker_killed_mid_sweep_has_its_chunks_run_again(tmp_path):
    cluster, client = local_cluster()
    try:
        pids = client.run(os.getpid)
        args = ("beale", ["adam"], ["lr=1e-3:1e-1:log40"])
        kw = dict(seeds=3, steps=30_000)  # 120 runs in 20 chunks of 6 runs
        killed: dict[str, int] = {}

        def kill_one(st: C.ChunkStatus) -> None:
            if killed or st.chunks_done < 3:
                return
            busy = {w: keys for w, keys in client.processing().items() if keys and w in pids}
            if busy:  # a worker with chunks in hand: kill it, without warning
                worker = sorted(busy)[0]
                os.kill(pids[worker], signal.SIGKILL)
                killed[worker] = len(busy[worker])

        seen: list[C.ChunkStatus] = []

        def on_chunk(st: C.ChunkStatus) -> None:
            seen.append(st)
            kill_one(st)

        remote = adambench.sweep(
            *args, **kw, scheduler=C.Cluster(client, chunk_runs=6, on_chunk=on_chunk)
        )
    finally:
        client.close()
        cluster.close()
    assert killed, "no worker was busy when the sweep was past its third chunk"
    assert min(killed.values()) >= 1  # it died holding chunks: they ran again elsewhere
    assert seen[-1].runs_done == 120 and seen[-1].chunks_done == 20
    keys = [(r.label, r.seed) for r in remote.result.runs]
    assert len(keys) == len(set(keys)) == 120  # every run exactly once
    local = adambench.sweep(*args, **kw)
    assert sweep_json(remote) == sweep_json(local)


def test_an_interrupted_sweep_resumes_without_losing_or_repeating_runs(client, tmp_path):
    args = ("beale", ["adam", "rmsprop"], ["lr=1e-3:1:log5"])
    kw = dict(seeds=4, steps=2000, start="random")  # 40 runs, 10 chunks of 4
    journal = tmp_path / "sweep.json.partial"
    calls = []

    def interrupt_after_three(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 3:
            raise KeyboardInterrupt

    first = C.Cluster(client, chunk_runs=4, journal=journal)
    with pytest.raises(KeyboardInterrupt):
        adambench.sweep(*args, **kw, progress=interrupt_after_three, scheduler=first)
    lines = journal.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    assert header["format"] == J.JOURNAL_FORMAT and header["runs"] == 40
    assert len(lines) == 1 + 3 and first.status.runs_done == 12
    # A torn last record (the process died while writing it) is ignored, not an error.
    with journal.open("a", encoding="utf-8") as fh:
        fh.write('{"chunk": 99, "blocks": [{"jo')

    # Resuming a different sweep, or starting over on top of the journal, is refused.
    with pytest.raises(AdambenchError, match="the partial output of other runs"):
        adambench.sweep(
            *args, **{**kw, "seeds": 5},
            scheduler=C.Cluster(client, journal=journal, resume=True),
        )  # fmt: skip
    with pytest.raises(AdambenchError, match="exists: the partial output of an interrupted"):
        adambench.sweep(*args, **kw, scheduler=C.Cluster(client, journal=journal))

    seen: list[C.ChunkStatus] = []
    again = C.Cluster(client, chunk_runs=4, journal=journal, resume=True, on_chunk=seen.append)
    resumed = adambench.sweep(*args, **kw, scheduler=again)
    assert not journal.exists()  # removed once complete
    assert seen[0].runs_resumed == 12 and seen[-1].runs_done == 40
    assert len(seen) == 7  # the 28 runs not in the journal, in chunks of 4: none twice
    keys = [(r.label, r.seed) for r in resumed.result.runs]
    assert len(keys) == len(set(keys)) == 40
    assert sweep_json(resumed) == sweep_json(adambench.sweep(*args, **kw))


# ---------------------------------------------------------------------------------------------
# The command line


def test_cli_sweep_on_a_local_cluster_writes_the_local_result(tmp_path):
    env = {**os.environ, "NO_COLOR": "1"}
    common = ["sweep", "beale", "-O", "adam", "-g", "lr=1e-2:1:log6", "--seeds", "2", "-q"]
    remote, local = tmp_path / "remote.json", tmp_path / "local.json"
    r = subprocess.run(
        [sys.executable, "-m", "adambench", *common, "-o", str(remote), "--scheduler", "local",
         "--workers", "2", "--chunk-runs", "3"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    r2 = subprocess.run(
        [sys.executable, "-m", "adambench", *common, "-o", str(local)],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert r2.returncode == 0, r2.stderr
    assert r.stdout == r2.stdout  # the same table
    a, b = (json.loads(p.read_text(encoding="utf-8")) for p in (remote, local))
    assert without_volatile(a) == without_volatile(b)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["local.json", "remote.json"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "2"], "--workers applies to runs on a Dask cluster; give --scheduler"),
        (["--chunk-runs", "5"], "--chunk-runs needs an output file or --scheduler"),
        (["--resume", "x.partial"], "no such partial file"),
        (["--scheduler", "local", "--chunk-runs", "0"], "chunk runs must be between 1 and"),
        (["--scheduler", "tcp://h:1", "--workers", "2"], "workers applies to the local cluster"),
        (["--scheduler", "local", "--resume", "nope.partial"], "no such partial file"),
    ],
)
def test_cluster_options_are_checked_before_anything_runs(tmp_path, monkeypatch, args, message):
    from typer.testing import CliRunner

    from adambench.cli import app

    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(app, ["sweep", "beale", "-g", "lr=0.1,0.2", "--steps", "5", *args])
    assert r.exit_code == ExitCode.USAGE, r.output
    assert message in r.stderr and "Traceback" not in r.output
    assert list(tmp_path.iterdir()) == []


def test_an_unreachable_scheduler_is_one_clear_error():
    cl = C.Cluster("tcp://127.0.0.1:9", timeout=1.0)
    with pytest.raises(C.ClusterError, match=r"cannot reach the Dask scheduler at tcp://127"):
        adambench.sweep("beale", ["adam"], ["lr=0.1,0.2"], steps=5, scheduler=cl)


def test_without_dask_the_option_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    with pytest.raises(C.ClusterError, match=r"pip install 'adambench\[dask\]'"):
        adambench.sweep("beale", ["adam"], ["lr=0.1,0.2"], steps=5, scheduler="local")


def test_dask_is_imported_only_with_a_scheduler(tmp_path):
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "import adambench\n"
        "from adambench.cli import app\n"
        "adambench.sweep('beale', ['adam'], ['lr=0.1,0.2'], steps=10)\n"
        "adambench.check({'cases': [{'problem': 'beale', 'optimizer': 'adam', 'steps': 10}]})\n"
        "r = CliRunner().invoke(app, ['sweep', 'beale', '-g', 'lr=0.1,0.2', '--steps', '10'])\n"
        "assert r.exit_code == 0, r.output\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')]\n"
        "assert not bad, bad\n"
        "import adambench.backends.dask\n"  # the module itself imports no Dask either
        "assert 'distributed' not in sys.modules\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


# ---------------------------------------------------------------------------------------------
# Pieces


@given(st.lists(st.booleans(), min_size=1, max_size=60), st.integers(1, 7))
def test_rectangles_cover_each_run_once(mask, n_seeds):
    n = len(mask) - len(mask) % n_seeds or n_seeds
    flat = np.flatnonzero(np.resize(np.array(mask), n))
    covered = []
    for ks, s0, s1 in T.rectangles(flat, n_seeds):
        assert 0 <= s0 < s1 <= n_seeds and ks == sorted(ks)
        covered += [k * n_seeds + s for k in ks for s in range(s0, s1)]
    assert sorted(covered) == flat.tolist()


def test_journal_arrays_round_trip_exactly():
    a = np.array([[0.1, -0.0, np.nan], [np.inf, -np.inf, 5e-324]])
    b = np.arange(6, dtype=np.int64).reshape(3, 2) - 3
    for x in (a, b, np.zeros((4, 0, 0))):
        y = J._decode(json.loads(json.dumps(J._encode(x))))
        assert y.dtype == x.dtype and y.shape == x.shape
        assert y.tobytes() == x.tobytes()


def test_an_optimizer_made_in_python_cannot_be_sent():
    from dataclasses import replace

    from adambench.optimizers.builtins import BUILTINS

    made = replace(BUILTINS["adam"], name="my_adam", source="made in Python")
    with pytest.raises(AdambenchError, match="cannot be sent to a cluster"):
        T.spec_ref(made)


def test_a_worker_without_the_files_rebuilds_them_from_their_text(tmp_path, monkeypatch):
    # What a worker on another machine does: the client's paths do not exist there.
    from adambench.optimizers.registry import get
    from adambench.problems import load_problem

    monkeypatch.setenv("ADAMBENCH_CACHE_DIR", str(tmp_path / "worker-cache"))
    plugin = OPTIMIZERS / "sign_momentum.py"
    ref = T.SpecRef("plugin", "elsewhere/sign_momentum.py", plugin.read_bytes(),
                    "/nonexistent/elsewhere/sign_momentum.py")  # fmt: skip
    spec = T._load_plugin(ref)
    copy = tmp_path / "worker-cache" / "plugins"
    (saved,) = copy.glob("*/sign_momentum.py")
    assert saved.read_bytes() == plugin.read_bytes()
    local = get(str(plugin))
    assert spec.hyperparams == local.hyperparams and spec.name == local.name
    assert spec.source == "elsewhere/sign_momentum.py"  # errors name the user's file

    yaml_text = (OPTIMIZERS / "lion.yaml").read_text(encoding="utf-8")
    spec = T.load_spec(T.SpecRef("yaml", "far/lion.yaml", yaml_text))
    assert spec.kernel.inline == get(str(OPTIMIZERS / "lion.yaml")).kernel.inline

    problem = tmp_path / "noisy_bowl.yaml"
    problem.write_text(NOISY_BOWL, encoding="utf-8")
    loaded = load_problem(str(problem))
    ref_p = T.problem_ref(loaded)
    assert ref_p.text == NOISY_BOWL
    problem.unlink()
    rebuilt = T.load_problem_ref(ref_p)
    assert T._fingerprint(rebuilt) == T._fingerprint(loaded)
    assert rebuilt.source == str(problem) and rebuilt.gradient_noise == 0.05


def test_a_file_edited_after_loading_is_refused_not_sent(tmp_path):
    from adambench.optimizers.registry import get
    from adambench.problems import load_problem

    lion = tmp_path / "lion.yaml"
    lion.write_text((OPTIMIZERS / "lion.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    spec = get(str(lion))
    edited = lion.read_text(encoding="utf-8").replace("(1 - beta2)*g", "(1 - beta2)*g*g")
    lion.write_text(edited, encoding="utf-8")  # another update rule
    with pytest.raises(AdambenchError, match="changed after it was loaded"):
        T.spec_ref(spec)
    problem = tmp_path / "bowl.yaml"
    problem.write_text(NOISY_BOWL, encoding="utf-8")
    loaded = load_problem(str(problem))
    problem.write_text(NOISY_BOWL.replace("0.05", "0.5"), encoding="utf-8")
    with pytest.raises(AdambenchError, match="changed after it was loaded"):
        T.problem_ref(loaded)


def test_a_worker_of_another_build_refuses_the_task():
    from adambench.engine import jobs as engine

    job = engine.prepare("beale", ["adam(lr=0.1)", "rmsprop"], steps=50, seeds=3, allocate=False)
    assert job.batches == []  # validated and resolved only: no arrays, no modules
    plan = T.plan_job(job)
    part = T.part_of(plan, 0, [1], 1, 3)  # rmsprop, seeds 1..2
    bad = W.run_chunk(T.Task(0, (part,), 1, "another build"))
    assert isinstance(bad.error, C.ClusterError) and "different adambench" in str(bad.error)
    out = W.run_chunk(T.Task(0, (part,), 1, T.code_digest()))
    assert out.error is None
    (block,) = out.blocks
    assert block.runs.tolist() == [[1, 1], [1, 2]]
    full = engine.run("beale", ["adam(lr=0.1)", "rmsprop"], steps=50, seeds=3)
    local = [r.final_x for r in full.runs if r.config_index == 1 and r.seed > 0]
    assert np.array_equal(block.arrays["X"], np.array(local))
