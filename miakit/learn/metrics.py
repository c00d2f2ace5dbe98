"""Metrics: small pure functions of predicted and true EMG windows, shape (windows, muscles, steps).

Everything is on the raw EMG scale (the paper's metric is RMSE over all values). Shapes are
checked: prediction and truth must match exactly and be 3-D.
"""

from __future__ import annotations

import numpy as np


def _check(pred: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, true = np.asarray(pred, dtype=np.float64), np.asarray(true, dtype=np.float64)
    if pred.shape != true.shape:
        raise ValueError(f"prediction and truth differ in shape: {pred.shape} vs {true.shape}")
    if pred.ndim != 3:
        raise ValueError(f"expected (windows, muscles, steps), got shape {pred.shape}")
    return pred, true


def rmse(pred: np.ndarray, true: np.ndarray) -> float:
    """Root mean squared error over all values (windows x muscles x steps) where the truth is finite
    (a muscle a recording lacks is NaN); NaN when there are none."""
    pred, true = _check(pred, true)
    ok = np.isfinite(true)
    return float(np.sqrt(np.mean((pred[ok] - true[ok]) ** 2))) if ok.any() else float("nan")


def rmse_per_muscle(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """RMSE of each muscle over windows and steps where the truth is finite, shape (muscles,); NaN
    for a muscle without any (a muscle the recordings lack)."""
    pred, true = _check(pred, true)
    ok = np.isfinite(true)
    n = ok.sum(axis=(0, 2))
    sq = np.where(ok, (pred - true) ** 2, 0.0).sum(axis=(0, 2))
    return np.where(n > 0, np.sqrt(sq / np.maximum(n, 1)), np.nan)


def pearson(pred: np.ndarray, true: np.ndarray) -> float:
    """Pearson correlation over all values; NaN when either side is constant or empty."""
    pred, true = _check(pred, true)
    return _corr(pred.ravel(), true.ravel())


def pearson_per_muscle(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Pearson correlation of each muscle over windows and steps, shape (muscles,)."""
    pred, true = _check(pred, true)
    return np.array([_corr(pred[:, m].ravel(), true[:, m].ravel()) for m in range(pred.shape[1])])


def noise_floor(emg: np.ndarray, emg_clean: np.ndarray) -> float:
    """The best RMSE any model can reach: RMSE of the recorded EMG against its noise-free truth."""
    return rmse(emg_clean, emg)


def rmse_by_group(pred: np.ndarray, true: np.ndarray, group: np.ndarray) -> dict[str, float]:
    """RMSE over the windows of each group (for example each exercise), in sorted group order."""
    pred, true = _check(pred, true)
    group = np.asarray(group).astype(str)
    if group.shape != (pred.shape[0],):
        raise ValueError(f"expected one group per window ({pred.shape[0]},), got {group.shape}")
    return {g: rmse(pred[group == g], true[group == g]) for g in np.unique(group).tolist()}


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)  # a muscle a recording lacks is NaN: left out
    a, b = a[ok], b[ok]
    if a.size < 2:
        return float("nan")
    a, b = a - a.mean(), b - b.mean()
    denom = np.sqrt(np.sum(a * a) * np.sum(b * b))
    return float(np.sum(a * b) / denom) if denom > 0 else float("nan")
