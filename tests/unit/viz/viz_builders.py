"""Builders for the plots and overlay video tests: small contract-2 datasets with known content
(made by miakit's own assemble + validate_dataset)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from miakit.layout import KP, MUSCLES

WIDTH, HEIGHT = 1080, 1920


def upright_pose() -> np.ndarray:
    """A still, upright BODY_25 pose (25, 2) in a 1080x1920 image, arms hanging, every point present."""
    cx = WIDTH / 2
    pts = {
        "Nose": (cx, 300),
        "Neck": (cx, 420),
        "RShoulder": (cx - 150, 430),
        "LShoulder": (cx + 150, 430),
        "RElbow": (cx - 190, 700),
        "LElbow": (cx + 190, 700),
        "RWrist": (cx - 210, 950),
        "LWrist": (cx + 210, 950),
        "MidHip": (cx, 960),
        "RHip": (cx - 100, 960),
        "LHip": (cx + 100, 960),
        "RKnee": (cx - 110, 1330),
        "LKnee": (cx + 110, 1330),
        "RAnkle": (cx - 115, 1700),
        "LAnkle": (cx + 115, 1700),
        "REye": (cx - 30, 280),
        "LEye": (cx + 30, 280),
        "REar": (cx - 65, 300),
        "LEar": (cx + 65, 300),
        "LBigToe": (cx + 150, 1760),
        "LSmallToe": (cx + 170, 1755),
        "LHeel": (cx + 110, 1730),
        "RBigToe": (cx - 150, 1760),
        "RSmallToe": (cx - 170, 1755),
        "RHeel": (cx - 110, 1730),
    }
    out = np.zeros((25, 2))
    for name, xy in pts.items():
        out[KP[name]] = xy
    return out


def make_dataset(parts: list[dict]) -> xarray.Dataset:  # noqa: F821
    """A validated contract-2 dataset from segment descriptions: each a dict with id, subject,
    exercise, emg (n, 8), and optionally score (n, 25), valid (n,)."""
    from miakit.contracts.build import Segment, assemble
    from miakit.contracts.dataset import SCHEMA, validate_dataset

    segments = []
    for p in parts:
        n = len(p["emg"])
        segments.append(
            Segment(
                id=p["id"],
                session=p["id"],
                subject=p["subject"],
                exercise=p["exercise"],
                split="",
                source="synthetic",
                emg=np.asarray(p["emg"], dtype=np.float32),
                keypoints=np.repeat(upright_pose()[None], n, axis=0).astype(np.float32),
                keypoint_score=np.asarray(p.get("score", np.full((n, 25), 0.9)), dtype=np.float32),
                valid=np.asarray(p.get("valid", np.ones(n, bool))),
                image_width=WIDTH,
                image_height=HEIGHT,
            )
        )
    attrs = {
        "schema": SCHEMA,
        "rate_hz": 10.0,
        "muscles": list(MUSCLES),
        "keypoint_layout": "BODY_25",
        "emg_units": "device units",
        "provenance": {
            "pipeline": "test",
            "pipeline_sha256": "0",
            "inputs_sha256": "0",
            "miakit_version": "0",
            "built_at": datetime.now(UTC).isoformat(),
        },
    }
    return validate_dataset(assemble(segments, muscles=list(MUSCLES), attrs=attrs), deep=True)
