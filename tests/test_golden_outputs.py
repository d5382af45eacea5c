"""Every command's output, byte for byte, against outputs recorded before a reorganisation.

A reorganisation changes no behaviour: the same command gives the same bytes (tables, messages,
JSON outside its ``volatile`` block, CSV, JUnit, Markdown, pictures). Each row of ``COMMANDS``
runs the real command line in a subprocess, in a scratch folder, at a fixed terminal width, and
compares stdout, stderr, the exit code and every file the command wrote with
``tests/golden/<name>/``.

Pictures depend on the matplotlib (and Pillow) that drew them, so their bytes are compared only
under the versions recorded in ``tests/golden/versions.json``; elsewhere that comparison is
skipped with a reason (every text output is still compared).

Record again (only on purpose, when an output is meant to change) with::

    ADAMBENCH_RECORD_GOLDEN=1 python -m pytest tests/test_golden_outputs.py
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
RECORD = os.environ.get("ADAMBENCH_RECORD_GOLDEN") == "1"
PICTURES = {".png", ".gif", ".svg", ".pdf"}

# name -> (arguments, files the command writes, extras it needs). Paths in arguments are relative
# to a scratch folder that holds copies of `problems/` and `sample_configs/`; a command may read
# the files an earlier row wrote (rows run in order, one scratch folder per test session).
# fmt: off
COMMANDS: dict[str, tuple[list[str], list[str], set[str]]] = {
    "run_readme": (["run", "beale", "--optimizers", "adam,rmsprop"], [], set()),
    "run_specs": (
        [
            "run", "beale", "-O", "adam(lr=0.1),adam(lr=0.03)", "-O", "rmsprop(lr=0.03)",
            "-O", "momentum(lr=0.003)", "-o", "specs.json",
        ],
        ["specs.json"],
        set(),
    ),
    "run_csv": (
        ["run", "beale", "-O", "adam(lr=0.1),nesterov(lr=0.003)", "--steps", "400", "-o", "r.csv"],
        ["r.csv"],
        set(),
    ),
    "run_seeds_trace": (
        [
            "run", "rosenbrock", "-O", "adam(lr=0.01),sgd(lr=0.001)", "--seeds", "4",
            "--start", "random", "--steps", "600", "--every", "50", "--trace", "-o", "seeds.json",
        ],
        ["seeds.json"],
        set(),
    ),
    "run_seeds_old": (
        ["run", "rosenbrock", "-O", "adam(lr=0.02)", "--steps", "600", "--seeds", "2",
         "-o", "seeds_old.json"],
        ["seeds_old.json"],
        set(),
    ),
    "run_logreg_average": (
        ["run", "noisy_logreg", "-O", "adam(lr=0.05),adagrad(lr=0.1)", "--seeds", "3", "--average"],
        [],
        set(),
    ),
    "run_nd_json": (
        ["run", "rosenbrock_nd", "--dim", "20", "-O", "adam(lr=0.01),adamax", "--steps", "300",
         "--json"],
        [],
        set(),
    ),
    "run_options": (
        [
            "run", "saddle_point", "-O", "adam(amsgrad=true),sgd(momentum=0.9,nesterov=true)",
            "-O", "rmsprop(centered=true)", "--lr", "0.01", "--stop-at-target",
            "--start", "0.1,0.2",
        ],
        [],
        set(),
    ),
    "run_long_valley": (["run", "long_valley", "-O", "adam(lr=0.1),adagrad(lr=0.5)"], [], set()),
    "run_yaml_optimizers": (
        [
            "run", "beale", "-O", "sample_configs/optimizers/lion.yaml",
            "-O", "sample_configs/optimizers/adabelief.yaml(lr=0.05)",
            "-O", "sample_configs/optimizers/amsgrad.yaml", "--steps", "500",
        ],
        [],
        set(),
    ),
    "run_plugin": (
        ["run", "beale", "-O", "sample_configs/optimizers/sign_momentum.py(lr=0.01)",
         "--steps", "300"],
        [],
        set(),
    ),
    "run_problem_file": (["run", "sample_configs/wavy_bowl.yaml", "-O", "adam(lr=0.05),sgd"], [],
                         set()),
    "run_torch": (
        ["run", "beale", "-O", "torch:torch.optim.Adam(lr=0.05)", "-O", "adam(lr=0.05)",
         "--steps", "200"],
        [],
        {"torch"},
    ),
    "run_tune": (
        ["run", "beale", "-O", "adam,rmsprop", "--tune", "lr", "--tune-count", "5", "--seeds", "2",
         "--start", "random", "--steps", "500"],
        [],
        set(),
    ),
    "run_plot": (
        ["run", "beale", "-O", "adam(lr=0.1),rmsprop(lr=0.03)", "--steps", "300",
         "--plot", "beale.png"],
        ["beale.png"],
        {"matplotlib"},
    ),
    "run_animate": (
        ["run", "beale", "-O", "adam(lr=0.1)", "--steps", "200", "--animate", "beale.gif",
         "--frames", "10"],
        ["beale.gif"],
        {"matplotlib"},
    ),
    "plot_saved": (["plot", "seeds.json", "-o", "seeds.png"], ["seeds.png"], {"matplotlib"}),
    "sweep": (
        [
            "sweep", "beale", "-O", "adam", "-g", "lr=1e-3:1:log5", "-g", "beta1=0.5,0.9",
            "--seeds", "2", "--steps", "300", "-o", "sweep.json",
        ],
        ["sweep.json"],
        set(),
    ),
    "sweep_csv_metric": (
        [
            "sweep", "beale", "-O", "sgd,momentum", "-g", "lr=1e-4:1e-2:log3", "--metric",
            "best_loss", "--steps", "300", "-o", "sweep.csv",
        ],
        ["sweep.csv"],
        set(),
    ),
    "sweep_config_plot": (
        ["sweep", "--config", "sample_configs/sweep_beale.yaml", "--seeds", "2", "--steps", "300",
         "--plot", "sweep.png"],
        ["sweep.png"],
        {"matplotlib"},
    ),
    "sweep_show": (["sweep-show", "sweep.json"], [], set()),
    "sweep_dask": (
        ["sweep", "beale", "-O", "adam", "-g", "lr=1e-3:1:log4", "--steps", "200",
         "--scheduler", "local", "--workers", "1", "-q", "-o", "sweep_dask.json"],
        ["sweep_dask.json"],
        {"dask"},
    ),
    "check": (
        ["check", "sample_configs/ci.yaml", "--junit", "ci.xml", "--markdown", "ci.md",
         "--save-baseline", "baseline.json"],
        ["ci.xml", "ci.md", "baseline.json"],
        set(),
    ),
    "check_json_baseline": (
        ["check", "sample_configs/ci.yaml", "--baseline", "baseline.json", "--json"], [], set()
    ),
    "check_broken": (["check", "sample_configs/ci_broken.yaml", "-v"], [], set()),
    "compare": (["compare", "seeds_old.json", "specs.json", "--json"], [], set()),
    "compare_table": (
        ["compare", "seeds_old.json", "seeds_old.json", "--markdown", "cmp.md"],
        ["cmp.md"],
        set(),
    ),
    "list": (["list"], [], set()),
    "show_beale": (["show", "beale"], [], set()),
    "show_nd": (["show", "rosenbrock_nd"], [], set()),
    "help": (["--help"], [], set()),
    "help_run": (["run", "--help"], [], set()),
    "error_optimizer": (["run", "beale", "-O", "adamm"], [], set()),
    "error_hyper": (["run", "beale", "-O", "adam(lr=-1)"], [], set()),
    "error_problem": (["run", "bael"], [], set()),
    "error_grid": (["sweep", "beale", "-g", "lr=1:0:lin"], [], set()),
    "error_start": (["run", "beale", "--start", "1,2,3"], [], set()),
}
# fmt: on


def _available(extra: str) -> bool:
    return importlib.util.find_spec(extra) is not None


#: What a JSON document says of the machine that wrote it, masked: the ``volatile`` block
#: (times, threads) and the ``environment`` (versions, platform, CPU).
_MACHINE_KEYS = ("volatile", "environment")


def _strip_volatile(text: str) -> str:
    """A JSON document without what depends on the machine, re-serialised: the blocks of
    :data:`_MACHINE_KEYS`, and the last digits of floats (rounded to 12 significant digits:
    numpy's BLAS takes other paths on other CPUs, e.g. in a data problem's Newton optimum)."""

    def strip(obj: object) -> object:
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k not in _MACHINE_KEYS}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        if isinstance(obj, float):
            return float(f"{obj:.12g}")
        return obj

    return json.dumps(strip(json.loads(text)), indent=1, sort_keys=False)


#: Wall-clock times printed outside JSON's volatile block: the check summary ("6 passed in
#: 0.64s") and JUnit's time attributes. Masked on both sides of the comparison.
_TIMES = (
    (re.compile(rb"(passed|failed|errors?) in [0-9.]+s"), rb"\1 in <time>s"),
    (re.compile(rb'time="[0-9.]+"'), rb'time="<time>"'),
)


def _normalise(name: str, data: bytes) -> bytes:
    if name.endswith(".json") or (name == "stdout" and data.lstrip().startswith(b"{")):
        return _strip_volatile(data.decode()).encode()
    if Path(name).suffix in PICTURES:
        return data
    for pattern, replacement in _TIMES:
        data = pattern.sub(replacement, data)
    return data


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("golden")
    shutil.copytree(ROOT / "sample_configs", work / "sample_configs")
    return work


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FORCE_COLOR", "NO_COLOR"))}
    env.update(COLUMNS="100", LINES="40", TERM="dumb", PYTHONHASHSEED="0")
    env.pop("CI", None)
    return subprocess.run(
        [sys.executable, "-m", "adambench", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        timeout=600,
    )


def _outputs(name: str, cwd: Path) -> dict[str, bytes]:
    args, files, _ = COMMANDS[name]
    done = _run(args, cwd)
    outputs = {"stdout": done.stdout, "stderr": done.stderr, "exit": str(done.returncode).encode()}
    for f in files:
        path = cwd / f
        outputs[f] = path.read_bytes() if path.exists() else b"<missing>"
    return outputs


def _waves() -> list[list[str]]:
    """The commands in two waves: those that read no file another command writes, then the rest
    (each command writes files of its own, so a wave's commands may run side by side)."""
    written = {f for _, files, _ in COMMANDS.values() for f in files}
    later = [n for n, (args, _, _) in COMMANDS.items() if written & set(args) - set(COMMANDS[n][1])]
    return [[n for n in COMMANDS if n not in later], later]


@pytest.fixture(scope="module")
def outcomes(scratch: Path) -> dict[str, dict[str, bytes]]:
    """Every runnable command's outputs, two at a time (the machine's two cores)."""
    runnable = {n for n, (_, _, extras) in COMMANDS.items() if all(map(_available, extras))}
    found: dict[str, dict[str, bytes]] = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for wave in _waves():
            names = [n for n in wave if n in runnable]
            found.update(zip(names, pool.map(lambda n: _outputs(n, scratch), names), strict=True))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("name", list(COMMANDS))
def test_output_matches_recording(name: str, outcomes: dict[str, dict[str, bytes]]) -> None:
    _, files, extras = COMMANDS[name]
    missing = sorted(e for e in extras if not _available(e))
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")
    outputs = outcomes[name]
    folder = GOLDEN / name
    if RECORD:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for key, data in outputs.items():
            (folder / key).write_bytes(_normalise(key, data))
        _record_versions()
        return
    pictures_comparable = _picture_versions_match()
    for key, data in outputs.items():
        if Path(key).suffix in PICTURES and not pictures_comparable:
            continue
        expected = _normalise(key, (folder / key).read_bytes())
        got = _normalise(key, data)
        assert got == expected, (
            f"{name}: {key} differs from tests/golden/{name}/{key}\n"
            f"--- expected ---\n{expected[:3000]!r}\n--- got ---\n{got[:3000]!r}"
        )
    if not pictures_comparable and any(Path(f).suffix in PICTURES for f in files):
        pytest.skip("picture bytes recorded under other matplotlib/Pillow versions")


def _picture_stack() -> dict[str, str]:
    versions = {}
    for module in ("matplotlib", "PIL"):
        if _available(module):
            versions[module] = __import__(module).__version__
    return versions


def _record_versions() -> None:
    (GOLDEN / "versions.json").write_text(json.dumps(_picture_stack(), indent=1) + "\n")


def _picture_versions_match() -> bool:
    path = GOLDEN / "versions.json"
    return path.exists() and json.loads(path.read_text()) == _picture_stack()
