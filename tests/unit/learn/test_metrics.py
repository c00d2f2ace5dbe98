"""Metrics: known values and shape checks."""

from __future__ import annotations

import numpy as np
import pytest

from miakit.learn.metrics import noise_floor, pearson, pearson_per_muscle, rmse, rmse_by_group, rmse_per_muscle


def test_rmse_known_values():
    true = np.zeros((2, 3, 4))
    pred = np.full((2, 3, 4), 2.0)
    assert rmse(pred, true) == pytest.approx(2.0)
    pred[:, 1] = 4.0
    np.testing.assert_allclose(rmse_per_muscle(pred, true), [2.0, 4.0, 2.0])
    assert rmse(pred, true) == pytest.approx(np.sqrt((4 + 16 + 4) / 3))


def test_pearson_is_one_for_a_scaled_copy_and_nan_for_a_constant():
    rng = np.random.default_rng(0)
    true = rng.normal(size=(5, 2, 30))
    assert pearson(3 * true + 1, true) == pytest.approx(1.0)
    assert pearson(-true, true) == pytest.approx(-1.0)
    assert np.isnan(pearson(np.zeros_like(true), true))
    np.testing.assert_allclose(pearson_per_muscle(true, true), [1.0, 1.0])


def test_noise_floor_and_groups():
    clean = np.ones((4, 2, 3))
    noisy = clean + np.array([1.0, -1.0, 1.0, -1.0])[:, None, None]
    assert noise_floor(noisy, clean) == pytest.approx(1.0)
    groups = rmse_by_group(noisy * np.array([1, 1, 2, 2])[:, None, None], clean, np.array(["a", "a", "b", "b"]))
    assert groups["a"] == pytest.approx(1.0) and groups["b"] == pytest.approx(np.sqrt((9 + 1) / 2))


@pytest.mark.parametrize("fn", [rmse, rmse_per_muscle, pearson, pearson_per_muscle])
def test_shape_mismatch_is_refused(fn):
    with pytest.raises(ValueError, match="shape"):
        fn(np.zeros((2, 8, 30)), np.zeros((2, 30, 8)))
    with pytest.raises(ValueError, match="windows, muscles, steps"):
        fn(np.zeros((8, 30)), np.zeros((8, 30)))
