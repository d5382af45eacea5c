"""The check gate as a library: suite validation, judging over seeds, baselines, compare."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import re
from pathlib import Path

import pytest

import adambench
from adambench import checks
from adambench.checks.compare import compare
from adambench.checks.expectations import Tolerance, measure
from adambench.checks.gate import check
from adambench.checks.judge import against_baseline
from adambench.errors import AdambenchError, ConfigError, ExitCode

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_configs" / "ci.yaml"

# Cases on pairs the rest of the test suite compiles anyway (beale x adam / rmsprop / sgd).
SMALL = """\
name: small
seeds: 2
cases:
  - name: adam-fast
    problem: beale
    optimizer: adam(lr=0.1)
    steps: 800
    expect:
      status: reached_target
      steps_to_target_at_most: 600
      final_loss_below: 1.0e-6
      success_rate_at_least: 1
  - problem: beale
    optimizer: [rmsprop(lr=0.03), momentum(lr=0.003)]
    steps: 800
    expect:
      best_loss_below: 1.0e-5
"""


def run_yaml(write_yaml, text: str, **kw) -> checks.CheckResult:
    return check(write_yaml(text, "suite.yaml"), **kw)


# ---------------------------------------------------------------------------------------------
# Measuring over seeds


def _run(status="max_steps", final=1.0, best=None, steps=None, dist=None, acc=None):
    return {
        "status": status,
        "final_loss": final,
        "best_loss": final if best is None else best,
        "steps_to_target": steps,
        "distance_to_minimum": dist,
        "grad_norm": None,
        "accuracy": acc,
    }


def test_medians_count_failed_runs_as_the_worst_value():
    runs = [
        _run("reached_target", 1e-8, steps=100, acc=0.9),
        _run("reached_target", 2e-8, steps=300, acc=0.8),
        _run("diverged", 5e-9, steps=50, acc=0.99),  # numbers of a diverged run never count
    ]
    m = measure(runs)
    assert m["runs"] == 3 and m["statuses"] == {"diverged": 1, "reached_target": 2}
    assert m["success_rate"] == pytest.approx(2 / 3) and m["diverged_rate"] == pytest.approx(1 / 3)
    assert m["final_loss"] == 2e-8  # median of (1e-8, 2e-8, +inf)
    assert m["steps_to_target"] == 300 and isinstance(m["steps_to_target"], int)
    assert m["accuracy"] == 0.8  # median of (0.9, 0.8, -inf)
    assert m["distance_to_minimum"] is None  # not available at all


def test_a_median_at_the_worst_value_is_none():
    m = measure([_run("diverged"), _run("diverged"), _run("reached_target", 1e-9, steps=10)])
    assert m["final_loss"] is None and m["steps_to_target"] is None
    m = measure([_run("max_steps", 0.5), _run("reached_target", 1e-9, steps=10)])
    assert m["steps_to_target"] is None  # median of (10, inf): half the runs never got there
    assert m["final_loss"] == pytest.approx((0.5 + 1e-9) / 2)


# ---------------------------------------------------------------------------------------------
# Baseline comparison semantics


@pytest.mark.parametrize(
    ("metric", "new", "old", "tol", "f_star", "passed"),
    [
        ("steps_to_target", 525, 500, Tolerance(rtol=0.05), None, True),  # exactly +5 %
        ("steps_to_target", 526, 500, Tolerance(rtol=0.05), None, False),
        ("steps_to_target", 100, 500, Tolerance(), None, True),  # better never fails
        ("steps_to_target", None, 500, Tolerance(rtol=1), None, False),  # no longer reached
        ("steps_to_target", 900, None, Tolerance(), None, True),  # was not reached before
        ("steps_to_target", None, None, Tolerance(), None, True),
        # Near zero, atol is the floor: a converged loss may move within it.
        ("final_loss", 1e-12, 1e-20, Tolerance(rtol=0.1, atol=1e-9), 0.0, True),
        ("final_loss", 2e-9, 1e-20, Tolerance(rtol=0.1, atol=1e-9), 0.0, False),
        # max(atol, rtol*|old|), not the sum: 0.1 * 1 = 0.1 wins over atol.
        ("final_loss", 1.1, 1.0, Tolerance(rtol=0.1, atol=1e-9), 0.0, True),
        ("final_loss", 1.11, 1.0, Tolerance(rtol=0.1, atol=0.05), 0.0, False),
        # Losses compare as the excess over f*: 10 % of a 1e-3 excess, not of the loss itself.
        ("final_loss", 0.31279, 0.3127, Tolerance(rtol=0.1), 0.3117, True),
        ("final_loss", 0.3130, 0.3127, Tolerance(rtol=0.1), 0.3117, False),
        ("final_loss", -0.249891, -0.2499, Tolerance(rtol=0.1), -0.25, True),
        ("final_loss", -0.2498, -0.2499, Tolerance(rtol=0.1), -0.25, False),
        ("final_loss", None, 1.0, Tolerance(rtol=100), 0.0, False),  # diverged now
        # Higher is better: may drop by the slack.
        ("success_rate", 0.8, 0.9, Tolerance(atol=0.1), None, True),
        ("success_rate", 0.7, 0.9, Tolerance(atol=0.1), None, False),
        ("accuracy", 0.86, 0.87, Tolerance(atol=0.01), None, True),
        ("accuracy", None, 0.87, Tolerance(atol=0.5), None, False),
        ("diverged_rate", 0.1, 0.0, Tolerance(), None, False),
    ],
)
def test_baseline_tolerance_semantics(metric, new, old, tol, f_star, passed):
    item = against_baseline(metric, new, old, tol, f_star)
    assert item.passed is passed, item
    assert bool(item.message) is not passed
    if not passed:
        assert metric in item.message


def test_a_baseline_bound_is_shown_with_the_digits_that_matter():
    item = against_baseline("final_loss", -0.2499, -0.25, Tolerance(atol=1e-9), -0.25)
    assert item.expected == "≤ -0.249999999" and not item.passed
    assert "excess over the minimum" in item.message


@pytest.mark.parametrize(
    ("new", "ref", "text"),
    [
        (550, 600, "-8.3%"),
        (1.58e-30, 1e-12, "×1.6e-18"),
        (-0.25, -0.2499, "-0.04%"),
        (5, 5, "0"),
        (1.0, -1.0, "+2"),
        (None, 1.0, ""),
    ],
)
def test_delta_text(new, ref, text):
    assert checks.delta_text(new, ref) == text


# ---------------------------------------------------------------------------------------------
# Running suites


def test_the_sample_suite_passes():
    result = check(SAMPLE)
    assert result.passed and result.exit_code == ExitCode.OK, [
        c.message for _, c in result.checks() if not c.passed
    ]
    ids = [c.id for c in result.cases]
    assert ids == [
        "beale-adam",
        "rosenbrock-adam",
        "long-valley[adam(lr=0.1)]",
        "long-valley[adagrad(lr=0.5)]",
        "saddle-escape",
        "logreg-adam",
    ]
    logreg = result.cases[-1]
    assert logreg.seeds == 10 and logreg.settings["seeds"] == list(range(10))
    assert logreg.metrics["runs"] == 10
    assert {c.name for c in logreg.checks} == {
        "success_rate_at_least",
        "steps_to_target_at_most",
        "accuracy_at_least",
    }
    assert result.timings["run_s"] >= 0 and result.threads >= 1


def test_a_broken_configuration_fails_with_messages(write_yaml):
    text = SMALL.replace("adam(lr=0.1)", "adam(lr=1.0e-5)").replace(
        "momentum(lr=0.003)", "sgd(lr=1)"
    )
    result = run_yaml(write_yaml, text)
    assert not result.passed and result.exit_code == ExitCode.GATE_FAILED
    (broken,) = [c for c in result.cases if c.id == "adam-fast"]
    failed = {c.name: c for c in broken.checks if not c.passed}
    assert set(failed) == {
        "status",
        "steps_to_target_at_most",
        "final_loss_below",
        "success_rate_at_least",
    }
    assert "2 ended max_steps (of 2 runs)" in failed["status"].message
    assert "did not reach the target" in failed["steps_to_target_at_most"].message
    assert re.search(
        r"median final_loss over 2 seeds is .*, not below 1\.00e-06",
        failed["final_loss_below"].message,
    )
    # The other case is judged on its own: rmsprop passes, sgd(lr=1) diverges and fails.
    by_id = {c.id: c for c in result.cases}
    assert by_id["beale[rmsprop(lr=0.03)]"].passed
    sgd = by_id["beale[sgd(lr=1)]"]
    assert not sgd.passed and sgd.metrics["diverged_rate"] == 1.0
    assert "the median run diverged" in sgd.checks[0].message


def test_a_stochastic_case_is_judged_on_the_median_and_success_rate(write_yaml):
    text = """\
cases:
  - problem: noisy_logreg
    optimizer: adam(lr=0.05)
    steps: 600
    seeds: 6
    seed: 100
    expect: {success_rate_at_least: 0.8, steps_to_target_at_most: 500}
"""
    result = run_yaml(write_yaml, text)
    (case,) = result.cases
    assert case.settings["seeds"] == list(range(100, 106))
    runs = adambench.run("noisy_logreg", ["adam(lr=0.05)"], steps=600, seeds=6, seed=100).runs
    steps = sorted(r.steps_to_target if r.steps_to_target is not None else math.inf for r in runs)
    assert case.metrics["steps_to_target"] == pytest.approx((steps[2] + steps[3]) / 2)
    reached = sum(r.status == "reached_target" for r in runs)
    assert case.metrics["success_rate"] == reached / 6
    assert case.passed is (reached / 6 >= 0.8 and case.metrics["steps_to_target"] <= 500)


def test_a_case_s_noise_and_rotate_are_those_of_run(write_yaml):
    """``rotate:``/``noise:`` vary a case's problem as --rotate/--noise vary run's, and the
    settings (so a baseline) record the rotation."""
    from adambench.problems import load_problem, with_variant

    text = "cases:\n  - problem: beale\n    optimizer: sgd(lr=0.01)\n    steps: 50\n    rotate: 3\n"
    (case,) = run_yaml(write_yaml, text + "    noise: 0.25\n").cases
    assert case.settings["problem"]["rotate"] == 3
    assert case.settings["problem"]["gradient_noise"] == 0.25
    varied = with_variant(load_problem("beale"), noise=0.25, rotate=3)
    (run,) = adambench.run(varied, ["sgd(lr=0.01)"], steps=50).runs
    assert case.metrics["final_loss"] == run.final_loss
    (plain,) = run_yaml(write_yaml, text.replace("    rotate: 3\n", "")).cases
    assert "rotate" not in plain.settings["problem"]


def test_same_numbers_every_run_and_any_thread_count(write_yaml):
    text = (
        SMALL
        + """\
  - problem: noisy_logreg
    optimizer: adam(lr=0.05)
    steps: 300
    seeds: 5
"""
    )
    path = write_yaml(text, "suite.yaml")
    a = check(path, threads=1)
    b = check(path, threads=2)
    c = check(path, threads=2)
    assert a.baseline_json() == b.baseline_json() == c.baseline_json()
    assert [x.to_dict() for x in a.cases] == [x.to_dict() for x in b.cases]


def test_check_is_exported_lazily():
    import adambench.checks  # the submodule must not shadow the function

    assert adambench.check is checks.check and adambench.compare is checks.compare


# ---------------------------------------------------------------------------------------------
# Bad suites: exit 2, one message naming the file, the case and the field.

BAD_SUITES = [
    ("cases: [", r"suite\.yaml: line \d+: invalid YAML"),
    (
        "cases:\n  - problem: beale\n    optimizer: adam\n    noise: -1\n",
        r"case 'beale' \(cases\[0\]\): 'noise' must be a number >= 0",
    ),
    ("cases:\n  - problem: noisy_logreg\n    optimizer: adam\n    rotate: 1\n", r"not to data"),
    ("- 1\n- 2\n", r"suite\.yaml: a suite must be a mapping with a 'cases' list"),
    ("name: x\n", r"suite\.yaml: 'cases' is required"),
    ("cases: []\n", r"'cases' is required: a non-empty list"),
    ("case: []\n", r"unknown key 'case' \(did you mean 'cases'\?\)"),
    ("cases:\n  - 3\n", r"cases\[0\] must be a mapping"),
    (
        "cases:\n  - problem: beale\n    optimizer: adam\n    expct: {}\n",
        r"case 'beale' \(cases\[0\]\): unknown key 'expct' \(did you mean 'expect'\?\)",
    ),
    (
        "cases:\n  - name: a\n    problem: beale\n",
        r"case 'a' \(cases\[0\]\): 'optimizer' is required",
    ),
    (
        "cases:\n  - name: a\n    problem: beale\n    optimizer: 3\n",
        r"case 'a' \(cases\[0\]\): 'optimizer' must be a spec string or a list",
    ),
    ("cases:\n  - optimizer: adam\n", r"cases\[0\]: 'problem' is required"),
    (
        "cases:\n  - {name: a, problem: beale, optimizer: adam, steps: 0}\n",
        r"case 'a' \(cases\[0\]\): 'steps' must be between 1 and",
    ),
    (
        "cases:\n  - {name: a, problem: beale, optimizer: adam, seeds: two}\n",
        r"case 'a' \(cases\[0\]\): 'seeds' must be an integer, got str 'two'",
    ),
    (
        "cases:\n  - {name: a, problem: beale, optimizer: adam, start: [1, 2, 3]}\n",
        r"case 'a' \(cases\[0\]\): 'start': start must have 2 numbers",
    ),
    (
        "cases:\n  - {name: a, problem: beal, optimizer: adam}\n",
        r"case 'a' \(cases\[0\]\): 'problem': unknown problem 'beal' \(did you mean 'beale'\?\)",
    ),
    (
        "cases:\n  - {name: a, problem: beale, optimizer: adma}\n",
        r"case 'a' \(cases\[0\]\): 'optimizer': unknown optimizer 'adma' \(did you mean 'adam'\?\)",
    ),
    (
        "cases:\n  - {name: a, problem: beale, optimizer: 'adam(lr=-1)'}\n",
        r"case 'a' \(cases\[0\]\): 'optimizer': adam: lr must be in \(0, inf\), got -1",
    ),
    (
        "cases:\n  - {name: a, problem: beale, optimizer: adam, expect: {final_loss_under: 1}}\n",
        r"case 'a' \(cases\[0\]\): unknown key 'expect.final_loss_under' "
        r"\(did you mean 'final_loss_below'\?\)",
    ),
    (
        "cases:\n  - {name: a, problem: beale, optimizer: adam,"
        " expect: {final_loss_below: 1e-6x}}\n",
        r"'expect.final_loss_below' must be a number, got str '1e-6x'",
    ),
    (
        "cases:\n  - {name: a, problem: beale, optimizer: adam, expect: {status: reached}}\n",
        r"'expect.status' unknown status 'reached' \(did you mean 'reached_target'\?\)",
    ),
    (
        "cases:\n  - {name: a, problem: beale, optimizer: adam, "
        "expect: {success_rate_at_least: 1.5}}\n",
        r"'expect.success_rate_at_least' must be between 0 and 1, got 1.5",
    ),
    (
        "cases:\n  - {name: a, problem: beale, optimizer: adam, "
        "expect: {steps_to_target_at_most: 10.5}}\n",
        r"'expect.steps_to_target_at_most' must be an integer",
    ),
    (
        "cases:\n  - {name: a, problem: beale, optimizer: adam,"
        " expect: {accuracy_at_least: 0.9}}\n",
        r"case 'a' \(cases\[0\]\): 'expect.accuracy_at_least' cannot be checked: 'beale' is "
        r"not a data problem",
    ),
    (
        "cases:\n  - {name: a, problem: beale, optimizer: adam, expect: {grad_norm_below: -1}}\n",
        r"'expect.grad_norm_below' must be > 0",
    ),
    (
        "tolerances: {final_loss: {rtol: -1}}\ncases:\n  - {problem: beale, optimizer: adam}\n",
        r"suite\.yaml: 'tolerances.final_loss.rtol' must be >= 0",
    ),
    (
        "tolerances: {steps: {rtol: 1}}\ncases:\n  - {problem: beale, optimizer: adam}\n",
        r"unknown key 'tolerances.steps'",
    ),
    (
        "cases:\n  - {problem: beale, optimizer: adam, tolerances: {final_loss: {rtool: 1}}}\n",
        r"case 'beale' \(cases\[0\]\): unknown key 'tolerances.final_loss.rtool' "
        r"\(did you mean 'rtol'\?\)",
    ),
    (
        "cases:\n  - {name: a, problem: beale, optimizer: adam}\n"
        "  - {name: a, problem: beale, optimizer: sgd}\n",
        r"cases\[0\] and cases\[1\] are both named 'a'",
    ),
    (
        "cases:\n  - {problem: beale, optimizer: adam}\n  - {problem: beale, optimizer: adam}\n",
        r"case 'beale' \(cases\[1\]\): its id 'beale\[adam\]' is also the id of case 'beale' "
        r"\(cases\[0\]\)",
    ),
    ("cases:\n  - {problem: beale, optimizer: !!python/object:os.system adam}\n", r"YAML tag"),
]


@pytest.mark.parametrize(("text", "pattern"), BAD_SUITES, ids=[p for _, p in BAD_SUITES])
def test_bad_suites_are_refused_before_running(write_yaml, monkeypatch, text, pattern):
    from adambench.engine import jobs as engine

    monkeypatch.setattr(engine, "execute", lambda *a, **k: pytest.fail("ran a bad suite"))
    with pytest.raises(ConfigError) as info:
        run_yaml(write_yaml, text)
    assert info.value.exit_code == ExitCode.USAGE
    assert re.search(pattern, str(info.value)), str(info.value)
    assert str(info.value).startswith(str(Path(write_yaml("", "x")).parent / "suite.yaml"))


# ---------------------------------------------------------------------------------------------
# Baselines


@pytest.fixture
def small_suite(write_yaml):
    return write_yaml(SMALL, "suite.yaml")


def save(result: checks.CheckResult, path: Path) -> Path:
    path.write_text(result.baseline_json(), encoding="utf-8")
    return path


def test_baseline_round_trip_passes_and_is_diff_friendly(small_suite, tmp_path):
    first = check(small_suite)
    base = save(first, tmp_path / "base.json")
    text = base.read_text()
    data = json.loads(text)
    assert data["format"] == "adambench-check-baseline" and data["format_version"] == 1
    assert data["tool"] == {"name": "adambench", "version": adambench.__version__}
    assert list(data["cases"]) == sorted(data["cases"])
    keys: set[str] = set()

    def walk(v):
        if isinstance(v, dict):
            keys.update(v)
            for x in v.values():
                walk(x)

    walk(data)
    assert not keys & {"date", "timings", "volatile", "threads", "environment"}
    assert text.count("\n") > 20 and text.startswith('{\n  "cases": {\n')  # indented, sorted
    entry = data["cases"]["adam-fast"]
    assert entry["settings"]["steps"] == 800 and entry["settings"]["seeds"] == [0, 1]
    assert entry["settings"]["optimizer"]["hyperparameters"]["lr"] == 0.1
    assert entry["metrics"]["steps_to_target"] == first.cases[0].metrics["steps_to_target"]
    again = check(small_suite, baseline=base)
    assert again.passed, [c.message for _, c in again.checks() if not c.passed]
    kinds = {c.kind for _, c in again.checks()}
    assert kinds == {"expect", "baseline"}
    assert again.baseline_json() == text  # re-saving gives the same bytes


def test_a_better_baseline_makes_the_same_suite_fail(small_suite, tmp_path):
    data = json.loads(check(small_suite).baseline_json())
    old = data["cases"]["adam-fast"]["metrics"]["steps_to_target"]
    data["cases"]["adam-fast"]["metrics"]["steps_to_target"] = int(old / 1.2)
    result = check(small_suite, baseline=data)
    assert result.exit_code == ExitCode.GATE_FAILED
    (bad,) = [(case.id, c) for case, c in result.checks() if not c.passed]
    assert bad[0] == "adam-fast" and bad[1].name == "baseline: steps_to_target"
    assert "rtol 0.05" in bad[1].message


def _broken_adam():
    """Adam with a bug that leaves its hyperparameters alone: it skips every other step."""
    from adambench.optimizers.builtins import BUILTINS
    from adambench.optimizers.spec import KernelRef

    inline = (
        "from adambench.kernels import jit\n"
        "from adambench.kernels import adam_init as opt_init\n"
        "from adambench.kernels import adam_step as _adam_step\n"
        "@jit\n"
        "def opt_step(p, g, state, t, hp):\n"
        "    if t % 2 == 0:\n"
        "        _adam_step(p, g, state, t // 2, hp)\n"
    )
    return dataclasses.replace(BUILTINS["adam"], kernel=KernelRef(inline=inline))


def test_a_code_regression_fails_against_the_baseline(small_suite, tmp_path, monkeypatch):
    from adambench.optimizers.builtins import BUILTINS

    base = save(check(small_suite), tmp_path / "base.json")
    monkeypatch.setitem(BUILTINS, "adam", _broken_adam())
    result = check(small_suite, baseline=base)  # same settings: the baseline still matches
    assert result.exit_code == ExitCode.GATE_FAILED
    failed = {c.name for case, c in result.checks() if not c.passed and case.id == "adam-fast"}
    assert "baseline: steps_to_target" in failed
    assert all(c.passed for case, c in result.checks() if case.id != "adam-fast")


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (lambda d: d["cases"].pop("adam-fast"), r"cases not in the baseline: 'adam-fast'"),
        (
            lambda d: d["cases"].__setitem__("old-case", d["cases"]["adam-fast"]),
            r"cases not in the suite: 'old-case'",
        ),
        (
            lambda d: d["cases"]["adam-fast"]["settings"].__setitem__("steps", 500),
            r"case 'adam-fast': steps is 800 in the suite, 500 in the baseline",
        ),
        (
            lambda d: d["cases"]["adam-fast"]["settings"].__setitem__("seeds", [0, 1, 2]),
            r"case 'adam-fast': seeds is \[0, 1\] in the suite, \[0, 1, 2\] in the baseline",
        ),
        (
            lambda d: d["cases"]["adam-fast"]["settings"]["optimizer"][
                "hyperparameters"
            ].__setitem__("beta2", 0.99),
            r"optimizer.hyperparameters.beta2 is 0.999 in the suite, 0.99 in the baseline",
        ),
        (
            lambda d: d["cases"]["adam-fast"]["settings"]["optimizer"][
                "hyperparameters"
            ].__setitem__("amsgrad", 0),
            r"optimizer.hyperparameters.amsgrad is false in the suite, 0 in the baseline",
        ),
        (lambda d: d.__setitem__("format_version", 9), r"'format_version' is 9"),
        (lambda d: d.__setitem__("format", "x"), r"not an adambench baseline"),
        (
            lambda d: d["cases"]["adam-fast"]["metrics"].__setitem__("final_loss", "small"),
            r"case 'adam-fast': 'metrics.final_loss' must be a number or null",
        ),
        (
            lambda d: d["cases"]["adam-fast"]["metrics"].pop("best_loss"),
            r"case 'adam-fast': 'metrics.best_loss' is missing",
        ),
    ],
)
def test_a_baseline_that_does_not_match_is_an_error(
    small_suite, tmp_path, monkeypatch, edit, pattern
):
    from adambench.engine import jobs as engine

    data = json.loads(check(small_suite).baseline_json())
    edit(data)
    path = tmp_path / "base.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setattr(engine, "execute", lambda *a, **k: pytest.fail("ran with a bad baseline"))
    with pytest.raises(ConfigError) as info:
        check(small_suite, baseline=path)
    assert info.value.exit_code == ExitCode.USAGE
    assert str(info.value).startswith(f"{path}: ")
    assert re.search(pattern, str(info.value)), str(info.value)


def test_a_missing_baseline_says_how_to_create_one(small_suite, tmp_path):
    with pytest.raises(
        ConfigError,
        match=r"no such baseline file; create it with: adambench "
        r"check .*suite\.yaml --save-baseline .*nope\.json",
    ):
        check(small_suite, baseline=tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.json: not valid JSON"):
        check(small_suite, baseline=tmp_path / "bad.json")


# ---------------------------------------------------------------------------------------------
# compare: two saved results


@pytest.fixture(scope="module")
def saved_run():
    return adambench.run(
        "beale", ["adam(lr=0.1)", "rmsprop(lr=0.03)"], steps=800, seeds=2
    ).to_dict()


def test_compare_identical_results_passes(saved_run):
    result = compare(saved_run, copy.deepcopy(saved_run))
    assert result.passed and result.kind == "compare"
    assert [c.id for c in result.cases] == [
        "adam(lr=0.1) seed=0",
        "adam(lr=0.1) seed=1",
        "rmsprop(lr=0.03) seed=0",
        "rmsprop(lr=0.03) seed=1",
    ]
    names = {c.name for _, c in result.checks()}
    assert names == {
        f"old: {m}"
        for m in ("final_loss", "best_loss", "steps_to_target", "success_rate", "diverged_rate")
    }


def test_compare_finds_a_regression_and_respects_tolerances(saved_run):
    new = copy.deepcopy(saved_run)
    run = next(r for r in new["runs"] if r["label"] == "rmsprop(lr=0.03)" and r["seed"] == 1)
    run["steps_to_target"] = int(run["steps_to_target"] * 1.08)
    result = compare(saved_run, new)
    assert result.exit_code == ExitCode.GATE_FAILED
    ((case, item),) = [(c, i) for c, i in result.checks() if not i.passed]
    assert case.id == "rmsprop(lr=0.03) seed=1" and item.metric == "steps_to_target"
    assert compare(saved_run, new, rtol=0.1).passed
    assert compare(saved_run, new, metrics=["final_loss"]).passed
    assert not compare(saved_run, new, metrics=["steps_to_target"], rtol=0.05).passed


def test_compare_takes_tolerances_from_a_suite(saved_run, write_yaml):
    new = copy.deepcopy(saved_run)
    new["runs"][0]["steps_to_target"] = int(new["runs"][0]["steps_to_target"] * 1.08)
    suite = write_yaml(
        "tolerances: {steps_to_target: {rtol: 0.1}}\ncases: [{problem: beale, optimizer: adam}]\n",
        "suite.yaml",
    )
    assert not compare(saved_run, new).passed
    assert compare(saved_run, new, suite=suite).passed


def test_compare_refuses_results_that_do_not_match(saved_run):
    fewer = copy.deepcopy(saved_run)
    fewer["runs"] = fewer["runs"][1:]
    with pytest.raises(ConfigError, match=r"only in OLD: 'adam\(lr=0\.1\) seed=0'"):
        compare(saved_run, fewer)
    other = copy.deepcopy(saved_run)
    other["settings"]["steps"] = 100
    with pytest.raises(ConfigError, match=r"different steps: 800 in OLD, 100 in NEW"):
        compare(saved_run, other)
    other = copy.deepcopy(saved_run)
    other["problem"]["name"] = "rosenbrock"
    with pytest.raises(ConfigError, match=r"different problems"):
        compare(saved_run, other)
    with pytest.raises(AdambenchError, match=r"unknown metric 'final' \(did you mean"):
        compare(saved_run, saved_run, metrics=["final"])
