"""The layout every pose back end gives (:func:`keypoints_dataset`; described in :mod:`miakit.stages.pose`),
the interface that gives it (:class:`PoseBackend`), and BlazePose's 33 landmarks as BODY_25 points
(:func:`blazepose_to_body25`)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import xarray as xr

from miakit.layout import BODY_25

N_KEYPOINTS = len(BODY_25)
BLAZEPOSE_TO_BODY25: tuple[tuple[int, ...], ...] = (
    (0,),
    (11, 12),
    (12,),
    (14,),
    (16,),
    (11,),
    (13,),
    (15,),
    (23, 24),
    (24,),
    (26,),
    (28,),
    (23,),
    (25,),
    (27,),
    (5,),
    (2,),
    (8,),
    (7,),
    (31,),
    (),
    (29,),
    (32,),
    (),
    (30,),
)
"""For each BODY_25 point, the BlazePose-33 landmarks it is made of (two: their mean; none: missing)."""


def keypoints_dataset(
    grid_s: np.ndarray,
    points: np.ndarray,
    frame_time: np.ndarray,
    *,
    width: int,
    height: int,
    rotation: int,
    fps: float,
    rate_hz: float,
    estimator: str,
    source: str,
) -> xr.Dataset:
    """Build the layout from ``points`` (time, 25, 3): x, y in pixels and a score.

    Points with a score of 0 or a non-finite coordinate become NaN with score 0; scores are clipped
    to [0, 1]. ``frames_with_person`` counts the times with at least one point.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.shape != (len(grid_s), N_KEYPOINTS, 3):
        raise ValueError(f"points must be ({len(grid_s)}, {N_KEYPOINTS}, 3), found {points.shape}")
    xy = points[:, :, :2].copy()
    score = np.clip(np.nan_to_num(points[:, :, 2], nan=0.0), 0.0, 1.0)
    missing = ~np.isfinite(xy).all(axis=2) | (score <= 0)
    xy[missing] = np.nan
    score[missing] = 0.0
    with_person = int((~missing).any(axis=1).sum())
    return xr.Dataset(
        {
            "keypoints": (("time", "keypoint", "space"), xy.astype(np.float32)),
            "keypoint_score": (("time", "keypoint"), score.astype(np.float32)),
            "frame_time": (("time",), np.asarray(frame_time, dtype=np.float64)),
        },
        coords={"time": np.asarray(grid_s, dtype=np.float64), "keypoint": list(BODY_25), "space": ["x", "y"]},
        attrs={
            "width": int(width),
            "height": int(height),
            "rotation": int(rotation),
            "fps": float(fps),
            "rate_hz": float(rate_hz),
            "estimator": estimator,
            "frames_with_person": with_person,
            "source": source,
        },
    )


def empty_points(count: int) -> np.ndarray:
    points = np.full((count, N_KEYPOINTS, 3), np.nan)
    points[:, :, 2] = 0.0
    return points


@runtime_checkable
class PoseBackend(Protocol):
    """A source of BODY_25 keypoints: turns a video or a keypoint file into the layout above."""

    name: str

    def keypoints(self, source: Path, *, rate_hz: float, progress: bool) -> xr.Dataset:
        """The keypoints of ``source`` on a ``rate_hz`` grid."""
        ...


def blazepose_to_body25(landmarks: np.ndarray) -> np.ndarray:
    """(33, 3) BlazePose landmarks (x, y, visibility) -> (25, 3) BODY_25 (x, y, score).

    An averaged point takes the lower of the two scores; a point BlazePose lacks is NaN, score 0.
    """
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if landmarks.shape != (33, 3):
        raise ValueError(f"expected (33, 3) BlazePose landmarks, found {landmarks.shape}")
    out = empty_points(1)[0]
    for index, sources in enumerate(BLAZEPOSE_TO_BODY25):
        if sources:
            picked = landmarks[list(sources)]
            out[index, :2] = picked[:, :2].mean(axis=0)
            out[index, 2] = picked[:, 2].min()
    return out
