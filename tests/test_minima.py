"""The minimum:/target: grammar: minimisers and values that follow --dim, checked against
independent numpy formulas; what cannot follow is dropped with a note; bad formulas refused."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from adambench.cli import app
from adambench.errors import AdambenchError
from adambench.problems import load_problem, problem_from_dict

# Independent forms (Surjanovic & Bingham): the loss, and the minimiser and value in closed form.
LOSSES = {
    "styblinski_tang": lambda v: np.sum(v**4 - 16 * v**2 + 5 * v) / 2,
    "trid": lambda v: np.sum((v - 1) ** 2) - np.sum(v[1:] * v[:-1]),
    "dixon_price": lambda v: (
        (v[0] - 1) ** 2 + np.sum(np.arange(2, v.size + 1) * (2 * v[1:] ** 2 - v[:-1]) ** 2)
    ),
}
MINIMISERS = {
    "styblinski_tang": lambda d: np.full(d, -2.903534027771177),
    "trid": lambda d: np.array([j * (d + 1 - j) for j in range(1, d + 1)], float),
    "dixon_price": lambda d: np.array([2.0 ** (-(2.0**j - 2) / 2.0**j) for j in range(1, d + 1)]),
}
VALUES = {
    "styblinski_tang": lambda d: -39.16616570377142 * d,
    "trid": lambda d: -d * (d + 4) * (d - 1) / 6,
    "dixon_price": lambda d: 0.0,
}


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("dim", [2, 3, 10, 100])
def test_the_minimum_follows_the_dimension(name, dim):
    p = load_problem(name, dim=dim)
    (x,) = p.minimizers
    np.testing.assert_allclose(x, MINIMISERS[name](dim), rtol=1e-15)
    assert p.min_value == pytest.approx(VALUES[name](dim), rel=1e-13, abs=0)
    assert LOSSES[name](x) == pytest.approx(p.min_value, rel=1e-12, abs=1e-12)
    assert p.target == pytest.approx(p.min_value + 1e-6, rel=1e-15, abs=1e-9)  # {gap: 1e-6}
    assert not p.notes


def _vector(**over):
    raw = {
        "name": "v",
        "dim": 3,
        "expression": "sum(i, 0, dim-1, (x[i] - 2)**2) + 5",
        "start": {"fill": 0},
        "minimum": {"x": {"fill": 2}, "value": 5},
    }
    raw.update(over)
    return raw


def test_a_written_out_minimum_at_another_dim_is_dropped_with_a_note():
    raw = _vector(minimum={"x": [2, 2, 2], "value": 5}, target={"gap": 1e-3})
    same = problem_from_dict(raw, "v.yaml")
    assert same.min_value == 5 and same.target == pytest.approx(5.001)
    other = problem_from_dict(raw, "v.yaml", dim=4)
    assert other.minimizers == () and other.min_value is None and other.target is None
    assert any("written for dim = 3" in note for note in other.notes)
    absolute = problem_from_dict({**raw, "target": 5.5}, "v.yaml", dim=4)
    assert absolute.target == 5.5  # an absolute loss stays


def test_value_and_target_forms():
    raw = _vector(
        expression="sum(i, 0, dim-1, (x[i] - 2)**2 + 5)",
        minimum={"x": {"formula": "2 + 0*i"}, "value": {"per_coordinate": 5}},
    )
    p = problem_from_dict(raw, "v.yaml", dim=7)
    assert p.min_value == 35 and p.target == pytest.approx(35 + 1e-6)
    q = problem_from_dict({**raw, "target": {"formula": "5*dim + 0.5"}}, "v.yaml", dim=7)
    assert q.target == 35.5
    r = problem_from_dict({**raw, "target": {"per_coordinate": 5.1}}, "v.yaml", dim=10)
    assert r.target == pytest.approx(51.0)
    s = problem_from_dict(
        {**raw, "minimum": {"x": {"fill": 2}, "value": {"formula": "5*dim"}}}, "v.yaml", dim=9
    )
    assert s.min_value == 45


@pytest.mark.parametrize(
    "minimum,message",
    [
        ({"x": {"formula": "__import__('os')"}, "value": 5}, "not allowed"),
        ({"x": {"formula": "1/(i - 1)"}, "value": 5}, "is not a finite number at i = 1"),
        ({"x": {"formula": "x[i]"}, "value": 5}, "minimum.x.formula"),
        ({"x": {"fill": 2}, "value": {"formula": "i"}}, "value.formula"),
        ({"x": {"fill": 2}, "value": {"per_coordinate": "a"}}, "per_coordinate"),
        ({"x": {"fill": 2}, "value": {"per_coordinate": 1, "formula": "1"}}, "value"),
        ({"x": {"formula": "2", "fill": 2}, "value": 5}, "minimum.x"),
    ],
)
def test_bad_formulas_are_refused_naming_the_key(minimum, message):
    with pytest.raises(AdambenchError) as exc:
        problem_from_dict(_vector(minimum=minimum), "v.yaml")
    text = str(exc.value)
    assert message in text and "v.yaml" in text and "\n" not in text


def test_bad_formula_through_the_cli_is_one_line_and_exit_2(tmp_path):
    import yaml

    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(_vector(minimum={"x": {"formula": "sqrt(-1 - i)"}})))
    result = CliRunner().invoke(app, ["run", str(path), "--steps", "5"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "is not a finite number at i = 0" in result.stderr


def test_a_large_dim_styblinski_tang_run_does_not_reach_the_target_at_step_0():
    # Before: the file's 2-D value (-78.33) stayed at every dim, below the loss of any start.
    result = CliRunner().invoke(
        app, ["run", "styblinski_tang", "--dim", "1000", "--steps", "10", "-O", "sgd", "--json"]
    )
    assert result.exit_code == 0, result.output
    import json

    data = json.loads(result.stdout)
    assert data["problem"]["target"] == pytest.approx(-39166.16570277142, rel=1e-12)
    (run,) = data["runs"]
    assert run["steps_to_target"] is None and run["final_loss"] > data["problem"]["target"]
