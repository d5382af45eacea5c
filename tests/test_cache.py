"""The on-disk cache: a second process compiles nothing and imports no sympy; edits never get
stale code; corrupted entries are rebuilt."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from adambench import codegen, files
from adambench.codegen import modules
from adambench.optimizers.registry import get
from adambench.problems import load_problem

PROBE = textwrap.dedent("""
    import json, sys
    import adambench
    from adambench import codegen
    r = adambench.run(sys.argv[1], sys.argv[2].split(","), steps=50)
    runners = [getattr(m, name) for m in codegen.modules._LOADED.values()
               for name in ("advance", "advance_fused", "advance_lockstep") if hasattr(m, name)]
    print(json.dumps({
        "hits": sum(sum(f.stats.cache_hits.values()) for f in runners),
        "misses": sum(sum(f.stats.cache_misses.values()) for f in runners),
        "sympy": "sympy" in sys.modules,
        "loss": r.runs[0].final_loss,
    }))
""")


def probe(problem: str, cache: str, optimizers: str = "adam,rmsprop") -> dict:
    env = {**os.environ, "ADAMBENCH_CACHE_DIR": cache}
    env.pop("NUMBA_CACHE_DIR", None)
    out = subprocess.run(
        [sys.executable, "-c", PROBE, problem, optimizers],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_second_process_loads_from_cache_without_sympy(tmp_path, write_yaml):
    path = write_yaml(
        "name: fresh\nvariables: [u, v]\nexpression: (u - 1)**2 + 3*(v + u)**4\nstart: [2, 2]\n"
    )
    cache = str(tmp_path / "cache")
    cold = probe(path, cache)
    assert cold["misses"] == 2 and cold["sympy"] is True
    warm = probe(path, cache)
    assert warm == {**warm, "hits": 2, "misses": 0, "sympy": False}
    assert warm["loss"] == cold["loss"]


def test_keys_change_with_every_input(write_yaml, monkeypatch):
    a = load_problem(
        write_yaml("name: a\nvariables: [x]\nexpression: x**2\nstart: [1]\n", "a.yaml")
    )
    b = load_problem(
        write_yaml("name: a\nvariables: [x]\nexpression: x**2 + 0\nstart: [1]\n", "b.yaml")
    )
    c = load_problem(
        write_yaml("name: other\nvariables: [y]\nexpression: y**2\nstart: [5]\n", "c.yaml")
    )
    assert codegen.problem_key(a) != codegen.problem_key(b)
    # Renaming variables or changing the start does not change the code: same kernels.
    assert codegen.problem_key(a) == codegen.problem_key(c)
    kernel = get("adam").kernel
    text = codegen.module_source(codegen.problem_source(a), kernel)
    key = codegen.module_key(text, kernel)
    assert key != codegen.module_key(text, get("rmsprop").kernel)
    real_read = files.package_text
    monkeypatch.setattr(
        modules,
        "package_text",
        lambda name: real_read(name) + ("#" if name == "kernels.py" else ""),
    )
    assert codegen.module_key(text, kernel) != key  # an edit of kernels.py means a new module


def test_corrupted_generated_files_are_rebuilt(tmp_path, monkeypatch, write_yaml):
    monkeypatch.setenv("ADAMBENCH_CACHE_DIR", str(tmp_path))
    p = load_problem(write_yaml("name: a\nvariables: [x]\nexpression: (x - 3)**2\nstart: [1]\n"))
    src = codegen.problem_source(p)
    (path,) = (tmp_path / "problems").glob("p_*.py")
    path.write_text(path.read_text()[:-20])  # truncated
    assert codegen.problem_source(p) == src
    assert files.read_verified(path) == src


def test_unwritable_cache_falls_back_with_a_note(tmp_path, monkeypatch):
    from adambench import cache

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("ADAMBENCH_CACHE_DIR", str(blocker / "sub"))
    monkeypatch.setattr(cache, "_FALLBACK", None)
    path = cache.cache_dir()
    assert path != blocker / "sub" and path.is_dir()
    assert any("not writable" in n for n in cache.pop_notes())


@pytest.mark.slow
def test_truncated_numba_cache_files_are_rebuilt_not_used(tmp_path, write_yaml):
    path = write_yaml(
        "name: trunc\nvariables: [u, v]\nexpression: (u - 2)**2 + (v*u - 1)**2\nstart: [0.5, 0.5]\n"
    )
    cache = str(tmp_path / "cache")
    first = probe(path, cache, "sgd")  # one cheap runner: the truncation is what is tested
    for f in (tmp_path / "cache" / "modules" / "__pycache__").glob("*.nb[ic]"):
        f.write_bytes(f.read_bytes()[: max(1, f.stat().st_size // 3)])
    again = probe(path, cache, "sgd")
    assert again["loss"] == first["loss"]
    assert again["misses"] >= 1  # compiled afresh
    warm = probe(path, cache, "sgd")
    assert warm["misses"] == 0 and warm["loss"] == first["loss"]


@pytest.mark.slow
def test_two_processes_compiling_the_same_new_expression_both_succeed(tmp_path, write_yaml):
    path = write_yaml(
        "name: race\nvariables: [a, b]\nexpression: (a + 2*b - 1)**2 + (b - 3)**4\nstart: [1, 1]\n"
    )
    env = {**os.environ, "ADAMBENCH_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("NUMBA_CACHE_DIR", None)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", PROBE, path, "adam,rmsprop"],
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    losses = {json.loads(o.strip().splitlines()[-1])["loss"] for o, _ in outs}
    assert len(losses) == 1
    modules = list((tmp_path / "cache" / "modules").glob("ab_*.py"))
    assert len(modules) == 2  # one per optimizer, each written once
    warm = probe(path, str(tmp_path / "cache"))
    assert warm["misses"] == 0 and warm["loss"] in losses
