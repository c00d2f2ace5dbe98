"""Metrics over data where some muscles are missing (NaN), as lab imports store them."""

from __future__ import annotations

import numpy as np

from miakit.learn.metrics import pearson, pearson_per_muscle, rmse, rmse_per_muscle


def test_missing_muscles_are_left_out_not_scored_as_zero():
    rng = np.random.default_rng(0)
    true = rng.random((4, 3, 10))
    pred = true + 0.1
    with_gap = true.copy()
    with_gap[:, 2] = np.nan  # a muscle the recording lacks
    assert rmse(pred, with_gap) == np.float64(rmse(pred[:, :2], true[:, :2]))
    per = rmse_per_muscle(pred, with_gap)
    assert np.allclose(per[:2], 0.1) and np.isnan(per[2])
    assert np.isclose(pearson(pred, with_gap), pearson(pred[:, :2], true[:, :2]))
    r = pearson_per_muscle(pred, with_gap)
    assert np.allclose(r[:2], 1.0) and np.isnan(r[2])
    assert np.isnan(rmse(pred, np.full_like(true, np.nan)))
