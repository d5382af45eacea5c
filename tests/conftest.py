"""Shared fixtures: one compile cache for the whole session, hypothesis profiles, helpers."""

from __future__ import annotations

import os
import tempfile

# One cache for the session, set before adambench is imported: every test (and every subprocess
# a test starts) reuses the kernels compiled so far. CI may point it somewhere else.
if not os.environ.get("ADAMBENCH_CACHE_DIR"):
    os.environ["ADAMBENCH_CACHE_DIR"] = tempfile.mkdtemp(prefix="adambench-test-cache-")

# pytest-xdist's workers inherit COLUMNS=80; a serial run has none. Tests that need a width pass
# it; the rest see piped output's default width (120) however the suite is run.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.pop("COLUMNS", None)

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    deadline=None,
    max_examples=60,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

BUILTIN_OPTIMIZERS = (
    "adam",
    "lazy_adam",
    "adamw",
    "nadam",
    "radam",
    "adamax",
    "sgd",
    "momentum",
    "nesterov",
    "adagrad",
    "adadelta",
    "rmsprop",
    "rprop",
)
BUILTIN_PROBLEMS = (
    "beale",
    "rosenbrock",
    "rosenbrock_nd",
    "long_valley",
    "saddle_point",
    "noisy_logreg",
    "digits_softmax",
    "breast_cancer_logistic",
    "digits_mlp",
)


#: The files that take longest (worker-seconds, measured), started first. pytest-xdist hands out
#: whole files (``--dist loadfile``) as workers free up: a long file handed out last keeps one
#: worker busy while the other idles. The rest follow in collection order.
SLOWEST_FILES_FIRST = (
    "test_layouts.py",
    "test_golden_outputs.py",
    "test_torch_reference.py",
    "test_library.py",
    "test_atomic_outputs.py",
    "test_plots.py",
    "test_schedules.py",
    "test_optimizer_files.py",
    "test_bad_inputs.py",
    "test_float32.py",
    "test_cluster.py",
    "test_cache.py",
    "test_engine.py",
    "test_vector_grammar.py",
    "test_terminal.py",
    "test_interrupts.py",
)


def pytest_configure(config):
    # xdist would order the files by their number of tests (its --loadscope-reorder default),
    # which puts the long files of few tests last.
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(SLOWEST_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable within a file


@pytest.fixture
def write_yaml(tmp_path):
    """Write a YAML text to a file in tmp_path and return its path."""

    def write(text: str, name: str = "problem.yaml") -> str:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    return write


def central_difference(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """The gradient of f at x by central differences (scipy's check_grad idea)."""
    g = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g
