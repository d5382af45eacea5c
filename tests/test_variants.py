"""--noise and --rotate on any problem: the rotation's matrix, the rotated loss and gradient
against the composition with the file's own, SGD's rotation equivariance (and Adam's lack of
it), noise reproducible by seed, the cluster reference, and the refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import adambench
from adambench.cli import app
from adambench.engine.jobs import problem_functions
from adambench.errors import AdambenchError
from adambench.problems import haar_rotation, load_problem, with_variant


def test_the_rotation_is_orthogonal_seeded_and_uniform_in_sign():
    for n in (1, 2, 5, 40):
        r = haar_rotation(n, 7)
        np.testing.assert_allclose(r @ r.T, np.eye(n), atol=1e-12)
        assert np.array_equal(r, haar_rotation(n, 7))
    assert not np.array_equal(haar_rotation(5, 7), haar_rotation(5, 8))
    # Haar: the determinant is +1 or -1 with equal odds (a QR without the sign fix is biased).
    dets = [np.linalg.det(haar_rotation(3, s)) for s in range(400)]
    assert 0.4 < np.mean(np.array(dets) > 0) < 0.6


@pytest.mark.parametrize("name,dim", [("beale", None), ("rosenbrock_nd", 5)])
def test_rotated_loss_and_gradient_are_the_file_s_at_the_rotated_point(name, dim):
    plain = load_problem(name, dim=dim)
    rotated = with_variant(plain, rotate=11)
    R, c = rotated.rotation, rotated.rotation_centre
    loss0, fg0 = problem_functions(plain)
    loss1, fg1 = problem_functions(rotated)
    # the minimum value at the mapped minimiser, and the same loss at the mapped start
    assert loss1(rotated.minimizers[0])[0] == pytest.approx(plain.min_value, abs=1e-12)
    assert loss1(rotated.start)[0] == pytest.approx(loss0(plain.start)[0], rel=1e-12)
    rng = np.random.default_rng(3)
    for _ in range(5):
        x = rng.uniform(-1.5, 1.5, plain.dim)
        y = c + R @ (x - c)
        f0, g0 = fg0(y)
        f1, g1 = fg1(x)
        assert f1 == pytest.approx(f0, rel=1e-12, abs=1e-14)
        np.testing.assert_allclose(g1, R.T @ g0, rtol=1e-10, atol=1e-10)
        h = 1e-6  # and central differences of the rotated loss itself
        fd = [(loss1(x + h * e)[0] - loss1(x - h * e)[0]) / (2 * h) for e in np.eye(plain.dim)]
        np.testing.assert_allclose(g1, fd, rtol=1e-5, atol=1e-5)


def test_sgd_is_rotation_equivariant_and_adam_is_not():
    plain = load_problem("beale")
    rotated = with_variant(plain, rotate=3)
    R, c = rotated.rotation, rotated.rotation_centre
    runs = {}
    for spec in ("sgd(lr=0.001)", "adam(lr=0.01)"):
        a = adambench.run(rotated, [spec], steps=200).runs[0].final_x
        b = adambench.run(plain, [spec], steps=200).runs[0].final_x
        runs[spec] = np.max(np.abs(c + R @ (a - c) - b))
    assert runs["sgd(lr=0.001)"] < 1e-12  # the same trajectory, seen through R
    assert runs["adam(lr=0.01)"] > 1e-3  # per-coordinate scaling sees the axes


def _json(*args: str) -> dict:
    result = CliRunner().invoke(app, ["run", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_noise_and_rotation_through_the_cli_are_reported_and_reproducible():
    a = _json("beale", "-O", "sgd(lr=0.001)", "--steps", "100", "--noise", "0.5", "--rotate", "3")
    b = _json("beale", "-O", "sgd(lr=0.001)", "--steps", "100", "--noise", "0.5", "--rotate", "3")
    quiet = _json("beale", "-O", "sgd(lr=0.001)", "--steps", "100", "--rotate", "3")
    assert a["problem"]["gradient_noise"] == 0.5 and a["problem"]["rotate"] == 3
    assert quiet["problem"]["gradient_noise"] == 0.0
    assert a["runs"][0]["final_x"] == b["runs"][0]["final_x"]  # the same seed, the same bits
    assert a["runs"][0]["final_x"] != quiet["runs"][0]["final_x"]
    table = CliRunner().invoke(app, ["run", "beale", "--steps", "10", "--rotate", "3", "-O", "sgd"])
    assert "beale rotated (seed 3): 10 steps" in table.stdout


@pytest.mark.parametrize(
    "args,message",
    [
        (["beale", "--rotate", "-1"], "--rotate takes a seed"),
        (["beale", "--noise", "-0.5"], "--noise must be a number >= 0"),
        (["beale", "--noise", "inf"], "--noise must be a number >= 0, got inf"),
        (["beale", "--noise", "nan"], "--noise must be a number >= 0, got nan"),
        (["noisy_logreg", "--rotate", "1"], "not to data problems"),
        (["rosenbrock_nd", "--dim", "2001", "--rotate", "1"], "at most 2000 variables"),
    ],
)
def test_bad_variants_are_refused_in_one_line(args, message):
    result = CliRunner().invoke(app, ["run", *args])
    assert result.exit_code == 2
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_a_rotated_problem_travels_to_a_cluster_worker_whole():
    from adambench.backends.tasks import _fingerprint, load_problem_ref, problem_ref

    for p in (load_problem("beale"), load_problem("rosenbrock_nd", dim=4)):
        q = with_variant(p, noise=0.25, rotate=5)
        again = load_problem_ref(problem_ref(q))
        assert _fingerprint(again) == _fingerprint(q)
        assert np.array_equal(again.rotation, q.rotation)
    with pytest.raises(AdambenchError):
        with_variant(with_variant(load_problem("beale"), rotate=1), rotate=2)


def test_a_file_s_rotate_key_is_the_problem_itself(write_yaml):
    """``rotate: SEED`` in a file rotates it at whatever dim it is loaded, as --rotate would;
    it travels to a worker in the file's text (not as a variant), and is refused twice."""
    from adambench.backends.tasks import _fingerprint, load_problem_ref, problem_ref

    text = "name: bowl\ndim: 4\nexpression: sum(i, 0, dim-1, (i+1)*x[i]**2)\nstart: {fill: 1}\n"
    plain = load_problem(write_yaml(text, "plain.yaml"), dim=6)
    rotated = load_problem(write_yaml(text + "rotate: 7\n", "turned.yaml"), dim=6)
    expected = with_variant(plain, rotate=7)
    assert rotated.file_rotation and rotated.rotation_seed == 7
    assert np.array_equal(rotated.rotation, expected.rotation)
    assert np.array_equal(rotated.start, expected.start)
    ref = problem_ref(rotated)
    assert ref.rotate is None and ref.text is not None
    assert _fingerprint(load_problem_ref(ref)) == _fingerprint(rotated)
    with pytest.raises(AdambenchError, match="rotated already"):
        with_variant(rotated, rotate=2)
    for bad, message in (
        ("rotate: -1", "a whole number >= 0, got -1"),
        ("rotate: yes", "got True"),
    ):
        path = write_yaml(text + bad + "\n", "bad.yaml")
        with pytest.raises(AdambenchError, match=message):
            load_problem(path)
    path = write_yaml(text + "rotate: 1\n", "big.yaml")
    with pytest.raises(AdambenchError, match="'rotate' takes problems of at most 2000"):
        load_problem(path, dim=2001)
