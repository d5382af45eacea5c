"""Python plugins: by path, by entry point, the built-ins under the same contract, bad plugins."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest
import reference
from typer.testing import CliRunner

import adambench
from adambench import codegen
from adambench.cli import app
from adambench.optimizers.registry import get, registry
from adambench.problems import load_problem

runner = CliRunner()

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_configs" / "optimizers" / "sign_momentum.py"
SIGNSGD = SAMPLE.read_text(encoding="utf-8")
STEP_LINE = 1 + next(k for k, ln in enumerate(SIGNSGD.splitlines()) if "state[i] = hp[1]" in ln)


def signsgd_reference(p, steps, lr, momentum):
    p, buf = list(p), [0.0, 0.0]
    out = [list(p)]
    for _ in range(steps):
        g = reference.beale_grad(p)
        for i in range(2):
            buf[i] = momentum * buf[i] + g[i]
            p[i] -= lr * (1.0 if buf[i] >= 0 else -1.0)
        out.append(list(p))
    return np.array(out)


def write(tmp_path, text, name="plugin.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def test_a_plugin_by_path_runs_like_its_formula(tmp_path):
    path = write(tmp_path, SIGNSGD, "signsgd.py")
    spec = get(path)
    assert spec.name == "signsgd" and spec.source == path
    assert spec.summary.startswith("Sign momentum: buf = momentum buf + g")
    assert [h.name for h in spec.own_hyperparams] == ["lr", "momentum"]
    assert spec.param("momentum").range_text() == "[0, 1)"
    r = adambench.run("beale", [f"{path}(lr=0.002,momentum=0.5)", "adam"], steps=300)
    want = signsgd_reference([1.0, 1.5], 300, 0.002, 0.5)
    np.testing.assert_allclose(r.runs[0].x_trace, want, rtol=0, atol=1e-12)
    d = r.to_dict()
    assert d["optimizers"][0]["source"] == path and d["optimizers"][1]["source"] == "built-in"
    assert d["runs"][0]["optimizer"] == "signsgd"


BUILTIN_ADAM_AS_PLUGIN = """\
\"\"\"The built-in Adam through the plugin contract: its kernels and entry, re-exported.\"\"\"
from adambench.kernels import adam_init as init, adam_step as step
from adambench.optimizers.builtins import BUILTINS

NAME = "adam_plugin"
HYPERPARAMETERS = {
    hp.name: {"default": bool(hp.default) if hp.kind == "bool" else hp.default}
    for hp in BUILTINS["adam"].own_hyperparams
}


def state_size(n):
    return 3 * n + 2
"""


def test_the_builtins_follow_the_plugin_contract(tmp_path):
    # The built-in Adam's own kernels, loaded as a plugin, give the built-in's numbers bit for bit.
    path = write(tmp_path, BUILTIN_ADAM_AS_PLUGIN, "adam_plugin.py")
    spec = get(path)
    assert spec.state_size(4) == get("adam").state_size(4) == 14
    r = adambench.run("beale", [f"{path}(lr=0.05,amsgrad=true)", "adam(lr=0.05,amsgrad=true)"])
    np.testing.assert_array_equal(r.runs[0].x_trace, r.runs[1].x_trace)
    # A plugin takes the training controls too, through the same run loop.
    controls = "lr=0.05,schedule=cosine,warmup=50,clip_norm=0.5"
    r = adambench.run("beale", [f"{path}({controls})", f"adam({controls})"])
    np.testing.assert_array_equal(r.runs[0].x_trace, r.runs[1].x_trace)


def test_plugin_text_is_part_of_the_cache_key(tmp_path):
    path = write(tmp_path, SIGNSGD, "signsgd.py")
    before = get(path)
    assert before is get(path)  # loaded once
    (tmp_path / "signsgd.py").write_text(SIGNSGD.replace("hp[0] *", "1.0 * hp[0] *"))
    after = get(path)
    assert after.kernel != before.kernel
    problem = load_problem("beale")
    keys = []
    for spec in (before, after):
        text = codegen.module_source(codegen.problem_source(problem), spec.kernel)
        keys.append(codegen.module_key(text, spec.kernel))
    assert keys[0] != keys[1]


# ---------------------------------------------------------------------------------------------
# Entry points: an installed package adds optimizers


@pytest.fixture
def installed_package(tmp_path, monkeypatch):
    """A tiny installed distribution: a module and a dist-info with entry_points.txt."""
    pkg = tmp_path / "site" / "adambench_demo_plugin"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(SIGNSGD.replace("Sign momentum", "Demo sign momentum"))
    info = tmp_path / "site" / "adambench_demo_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: adambench-demo-plugin\nVersion: 0.1\n"
    )
    (info / "entry_points.txt").write_text(
        "[adambench.optimizers]\n"
        "demo_sign = adambench_demo_plugin\n"
        "broken_one = adambench_no_such_module_xyz\n"
        "adam = adambench_demo_plugin\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    return "demo_sign"


def test_an_installed_package_adds_optimizers_by_entry_point(installed_package):
    reg = registry()
    assert "demo_sign" in reg and "broken_one" not in reg
    assert reg["adam"].source == "built-in"  # a package cannot replace a built-in
    assert reg["demo_sign"].source == "entry point adambench-demo-plugin"
    r = runner.invoke(app, ["run", "beale", "-O", "demo_sign(lr=0.002,momentum=0.5)", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["optimizers"][0]["source"] == "entry point adambench-demo-plugin"
    want = signsgd_reference([1.0, 1.5], 2000, 0.002, 0.5)
    np.testing.assert_allclose(d["runs"][0]["final_x"], want[-1], rtol=0, atol=1e-11)

    listing = runner.invoke(app, ["list"], env={"COLUMNS": "200"})
    assert listing.exit_code == 0
    row = next(line for line in listing.stdout.splitlines() if "demo_sign" in line)
    assert "entry point adambench-demo-plugin" in row and "lr=0.01" in row
    assert "broken_one" in listing.stderr and "does not import" in listing.stderr
    assert "entry point 'adam' of adambench-demo-plugin ignored" in listing.stderr
    data = json.loads(runner.invoke(app, ["list", "--json"]).stdout)
    sources = {o["name"]: o["source"] for o in data["optimizers"]}
    assert sources["adam"] == "built-in" and sources["demo_sign"].startswith("entry point")

    bad = runner.invoke(app, ["run", "beale", "-O", "broken_one"])
    assert bad.exit_code == 2 and bad.stdout == ""
    assert re.search(
        r"^error: entry point adambench-demo-plugin \(broken_one = adambench_no_such_module_xyz\)"
        r": does not import: ModuleNotFoundError",
        bad.stderr,
    )
    typo = runner.invoke(app, ["run", "beale", "-O", "demo_sing"])
    assert typo.exit_code == 2 and "did you mean 'demo_sign'" in typo.stderr


def test_list_shows_where_optimizers_come_from():
    r = runner.invoke(app, ["list"], env={"COLUMNS": "200"})
    assert r.exit_code == 0
    assert "built-in" in r.stdout
    for text in ["PATH.yaml(k=v,...)", "PATH.py(k=v,...)", "torch:CLASS(k=v,...)", "entry point"]:
        assert text in r.stdout


# ---------------------------------------------------------------------------------------------
# Bad plugins: one line naming the file, exit code 2, nothing run

BAD = [
    ("syntax", "def step(p, g, state, t, hp)\n    pass\n",
     r"the plugin does not import: SyntaxError: .* \(line 1\)"),
    ("import", "import adambench_no_such_module_xyz\n",
     r"the plugin does not import: ModuleNotFoundError: No module named "
     r"'adambench_no_such_module_xyz' \(line 1\)"),
    ("raises", "x = 1\nraise ValueError('nope')\n",
     r"the plugin does not import: ValueError: nope \(line 2\)"),
    ("no-step", SIGNSGD.split("def step")[0],
     r"a plugin must define init\(p, hp, state\) and step\(p, g, state, t, hp\); missing: step"),
    ("no-kernels", "HYPERPARAMETERS = {}\n", r"missing: init, step"),
    ("signature", SIGNSGD.replace("def step(p, g, state, t, hp)", "def step(p, g)"),
     r"step must take \(p, g, state, t, hp\), takes \(p, g\)"),
    ("no-default", SIGNSGD.replace('"default": 0.01, ', ""), r"hyperparameters.lr: has no default"),
    ("hp-not-dict", SIGNSGD.replace("HYPERPARAMETERS = {", "HYPERPARAMETERS = [{"
                                    ).replace("},\n}", "}}]"),
     r"HYPERPARAMETERS must be a dict"),
    ("state", SIGNSGD.replace("STATE_PER_PARAM = 1", "STATE_PER_PARAM = -1"),
     r"STATE_PER_PARAM must be an integer >= 0, got -1"),
    ("builtin-name", SIGNSGD + "NAME = 'adam'\n", r"the name 'adam' is a built-in optimizer's"),
    ("name-error", SIGNSGD.replace("math.copysign", "copysign"),
     r"does not compile with numba \(in step\): NameError: name 'copysign' is not defined"),
    ("attribute", SIGNSGD.replace("math.copysign", "math.nosuch"),
     r"does not compile with numba: AttributeError: module 'math' has no attribute 'nosuch'"),
    ("typing", SIGNSGD.replace("state[i] = hp[1]", "state[i] = 'x' + hp[1]"),
     rf"does not compile with numba \(in step, line {STEP_LINE}\): No implementation of function "
     r"Function\(<built-in function add>\) found for signature: "
     r">>> add\(Literal\[str\]\(x\), float64\)"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "text", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_plugins_are_one_line_exit_2_naming_the_file(tmp_path, case, text, message):
    path = write(tmp_path, text, f"bad_{case.replace('-', '_')}.py")
    out = tmp_path / "x.json"
    r = runner.invoke(app, ["run", "beale", "-O", "adam", "-O", f"{path}(lr=0.1)", "-o", str(out)])
    assert r.exit_code == 2, r.output
    assert r.stdout == "" and not out.exists()
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: "), r.stderr
    assert re.search(message, lines[0]), lines[0]


def test_a_missing_plugin_file():
    r = runner.invoke(app, ["run", "beale", "-O", "./no/such/plugin.py"])
    assert r.exit_code == 2 and "error: ./no/such/plugin.py: no such file" in r.stderr
