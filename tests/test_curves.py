"""Loss curves as arrays (adambench.report.curves) against plain loops over the same definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

from adambench.report import curves


def test_align_keeps_a_stopped_run_at_its_last_loss_and_a_diverged_one_at_inf():
    losses = [np.array([4.0, 2.0, 1.0, 0.5]), np.array([4.0, 1.0]), np.array([4.0, 9.0]), []]
    statuses = ["max_steps", "reached_target", "diverged", "invalid_start"]
    a = curves.align(losses, statuses, 4)
    assert_array_equal(a[0], [4, 2, 1, 0.5])
    assert_array_equal(a[1], [4, 1, 1, 1])
    assert_array_equal(a[2], [4, 9, np.inf, np.inf])
    assert_array_equal(a[3], [np.inf] * 4)


def test_quantiles_treat_diverged_runs_as_the_largest_values():
    a = np.array([[1.0, 1.0], [2.0, np.inf], [3.0, np.inf]])
    q1, med, q3 = curves.quantiles(a)
    assert_array_equal(med, [2.0, np.inf])  # 2 of 3 runs diverged at the second step
    assert q1[0] == pytest.approx(1.5) and q3[0] == pytest.approx(2.5)
    assert math.isinf(q3[1]) and np.isfinite(curves.quantiles(a, (0.0,))[0]).all()


def test_gap_floors_rounding_below_the_minimum_at_the_smallest_positive_gap():
    g = curves.gap(np.array([-0.25, -0.25 + 1e-3, -0.25 - 1e-17, np.inf]), -0.25)
    assert g[1] == pytest.approx(1e-3)
    assert g[0] == g[2] > 0 and g[0] <= 1e-3
    assert math.isinf(g[3])


@pytest.mark.parametrize(
    ("values", "minimum", "scale"),
    [
        ([np.array([3.0, 1e-9])], 0.0, "log"),
        ([np.array([3.0, 1e-9])], None, "log"),
        ([np.array([0.5, -0.2])], None, "linear"),
        ([np.array([0.5, -0.2])], -0.25, "gap"),
        ([np.array([0.5, 0.32])], 0.3117, "gap"),
    ],
)
def test_loss_scale(values, minimum, scale):
    assert curves.loss_scale(values, minimum) == scale


def naive_first_hits(loss, every, targets):
    out = []
    for t in targets:
        hit = -1
        for k, v in enumerate(loss):
            if v <= t:
                hit = k * every
                break
        out.append(hit)
    return out


@given(
    st.lists(st.floats(-10, 10) | st.just(float("nan")) | st.just(float("inf")), max_size=40),
    st.integers(1, 5),
    st.lists(st.floats(-10, 10), min_size=1, max_size=6),
)
def test_first_hits_match_a_plain_loop(loss, every, targets):
    arr = np.array(loss, float)
    assert curves.first_hits(arr, every, targets).tolist() == naive_first_hits(arr, every, targets)


def test_ecdf_counts_pairs_reached_by_each_step():
    hits = np.array([[0, 5, -1], [2, -1, -1]])
    steps = np.array([0, 1, 2, 5, 100])
    naive = [sum(1 for h in hits.ravel() if 0 <= h <= s) / hits.size for s in steps]
    assert curves.ecdf(hits, steps).tolist() == naive


def test_ecdf_targets_use_the_minimum_or_the_best_seen():
    ref, t = curves.ecdf_targets(-0.25, 3.0)
    assert ref == -0.25 and t[0] == pytest.approx(-0.15) and len(t) == 8
    ref, t = curves.ecdf_targets(None, 0.5)
    assert ref == 0.5 and t[-1] == pytest.approx(0.5 + 1e-8)


@pytest.mark.parametrize("n", [0, 1, 50, 10_001])
def test_subsample_keeps_the_ends_and_the_cap(n):
    idx = curves.subsample(n, cap=300, head=20)
    assert len(idx) <= 320
    assert np.all(np.diff(idx) > 0)
    if n:
        assert idx[0] == 0 and idx[-1] == n - 1
        assert_array_equal(idx[: min(n, 20)], np.arange(min(n, 20)))
