"""adambench.fields: the one field reader of the YAML files, in each reader's wording."""

from __future__ import annotations

import pytest

from adambench.checks.suite import SUITE_WORDING as SUITE
from adambench.errors import ConfigError
from adambench.fields import Fields, number_like
from adambench.optimizers.spec import OPTIMIZER_WORDING
from adambench.sweeps.config import SWEEP_WORDING as SWEEP


def message(call) -> str:
    with pytest.raises(ConfigError) as info:
        call()
    return str(info.value)


def test_number_refuses_infinity_and_words():
    f = Fields({"a": "abc", "b": float("inf"), "c": 2, "d": True}, "f.yaml")
    assert f.number("c") == 2.0
    assert message(lambda: f.number("a")) == "f.yaml: 'a' must be a number, got str 'abc'"
    assert message(lambda: f.number("b")) == "f.yaml: 'b' must be a finite number, got inf"
    assert message(lambda: f.number("d")) == "f.yaml: 'd' must be a number, got bool True"


@pytest.mark.parametrize("wording", [None, SUITE, SWEEP, OPTIMIZER_WORDING])
@pytest.mark.parametrize("text", ["1e-6", "1e-16", "-2E+3", "7"])
def test_every_wording_reads_numbers_yaml_left_as_text(wording, text):
    # YAML 1.1 reads 1e-6 (no dot) as a string: every number field of every file kind takes it.
    f = Fields({"a": text}, "f.yaml", *([wording] if wording else []))
    assert f.number("a") == float(text)
    assert number_like(True) is None


@pytest.mark.parametrize("wording", [None, SUITE, SWEEP])
def test_every_wording_reads_whole_numbers_as_integers(wording):
    f = Fields({"n": "1e4", "m": 2.0e3, "x": "1.5e0"}, "f.yaml", *([wording] if wording else []))
    assert f.integer("n", 1, 10**9) == 10_000
    assert f.integer("m", 1, 10**9) == 2000
    assert "must be" in message(lambda: f.integer("x", 1, 10**9))


def test_integer_wordings():
    f = Fields({"n": 3.0, "m": 0}, "f.yaml")
    assert f.integer("n", 1, 5) == 3
    assert message(lambda: f.integer("m", 1, 5)) == "f.yaml: 'm' must be between 1 and 5, got 0"
    s = Fields({"n": 3.5, "m": 9}, "w.yaml", SWEEP)
    assert message(lambda: s.integer("n", 1, 5)) == "w.yaml: n: must be an integer >= 1, got 3.5"
    assert message(lambda: s.integer("m", 1, 5)) == "w.yaml: m: must be at most 5, got 9"


def test_unknown_keys_in_nested_blocks():
    f = Fields({"data": {"nosie": 1}}, "p.yaml")
    data = f.mapping("data", "must be a mapping")
    assert message(lambda: data.unknown_keys(["noise"])) == (
        "p.yaml: data: unknown key 'nosie' (did you mean 'noise'?)"
    )
    suite = Fields({"expect": {1: 2}}, "s.yaml", SUITE).mapping("expect", "must be a mapping")
    assert message(lambda: suite.unknown_keys(["a"])) == (
        "s.yaml: 'expect' keys must be strings, got int 1"
    )
    sweep = Fields({"stpes": 1}, "w.yaml", SWEEP)
    assert message(lambda: sweep.unknown_keys(["steps", "seeds"])) == (
        "w.yaml: unknown key 'stpes' (did you mean 'steps'?); known: steps, seeds"
    )


def test_choice_boolean_and_text():
    f = Fields({"c": "x", "b": 1, "t": 2}, "f.yaml")
    assert f.choice("d", ("auto", "log"), "auto") == "auto"
    assert message(lambda: f.choice("c", ("auto", "log", "linear"))) == (
        "f.yaml: 'c' must be auto, log or linear, got str 'x'"
    )
    assert message(lambda: f.boolean("b")) == "f.yaml: 'b' must be true or false, got int 1"
    assert message(lambda: f.text("t", got=True)) == "f.yaml: 't' must be a string, got int 2"
