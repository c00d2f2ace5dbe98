"""Small contract-2 datasets, built in memory, with a learnable relation between motion and EMG.

Every segment is one exercise done by one subject: each keypoint swings on a cycle whose
frequency and shape depend on the exercise, and each muscle's activation is a rectified copy of
the cycle at a muscle- and exercise-specific phase plus a level that grows with the speed of one
joint. So EMG is a function of the keypoint window (learnable), differs between exercises (Random
is poor) and between phases (Nearest Neighbour is good but not exact). ``emg_clean`` is the
noise-free activation; ``emg`` adds Gaussian noise of ``noise`` units.
"""

from __future__ import annotations

import numpy as np

from miakit.contracts.dataset import SCHEMA, validate_dataset


def make_dataset(
    *,
    subjects: tuple[str, ...] = ("s0", "s1"),
    exercises: tuple[str, ...] = ("squat", "running", "twist"),
    segments_per_pair: int = 1,
    frames: int = 240,
    n_keypoints: int = 25,
    n_muscles: int = 8,
    noise: float = 3.0,
    invalid_at: tuple[int, ...] = (),
    missing_fraction: float = 0.01,
    seed: int = 0,
    width: int = 1080,
    height: int = 1920,
):
    """A validated contract-2 ``xarray.Dataset``; frames at ``invalid_at`` (within each segment) are invalid."""
    import xarray as xr

    rng = np.random.default_rng(seed)
    muscles = [f"M{m}" for m in range(n_muscles)]
    keypoints = [f"K{k}" for k in range(n_keypoints)]
    base = rng.uniform([0.3 * width, 0.2 * height], [0.7 * width, 0.8 * height], size=(n_keypoints, 2))
    per_ex = {
        e: dict(
            freq=0.25 + 0.15 * i,
            amp=rng.uniform(10, 120, size=(n_keypoints, 2)),
            kp_phase=rng.uniform(0, 2 * np.pi, (n_keypoints, 2)),
            m_phase=rng.uniform(0, 2 * np.pi, n_muscles),
            m_gain=rng.uniform(10, 60, n_muscles),
            joint=rng.integers(0, n_keypoints, n_muscles),
        )
        for i, e in enumerate(exercises)
    }
    seg_rows, kp_all, emg_all, clean_all, t_all = [], [], [], [], []
    for s_i, subject in enumerate(subjects):
        for exercise in exercises:
            p = per_ex[exercise]
            for rep in range(segments_per_pair):
                t = np.arange(frames) / 10.0
                phase = 2 * np.pi * p["freq"] * (1 + 0.1 * s_i) * t + rng.uniform(0, 2 * np.pi)
                kp = base[None] * (1 + 0.03 * s_i) + p["amp"][None] * np.sin(phase[:, None, None] + p["kp_phase"][None])
                kp = kp + rng.normal(0, 1.0, kp.shape)
                speed = np.abs(np.gradient(kp, axis=0)).sum(-1)  # (frame, keypoint)
                clean = (
                    5
                    + p["m_gain"][None] * np.maximum(np.sin(phase[:, None] + p["m_phase"][None]), 0)
                    + 0.3 * speed[:, p["joint"]]
                )
                kp_all.append(kp)
                clean_all.append(clean)
                emg_all.append(np.maximum(clean + rng.normal(0, noise, clean.shape), 0))
                t_all.append(t)
                seg_rows.append((f"{subject}-{exercise}-{rep}", subject, exercise))
    kp = np.concatenate(kp_all).astype(np.float32)
    score = np.ones(kp.shape[:2], dtype=np.float32)
    missing = rng.random(score.shape) < missing_fraction
    kp[missing] = np.nan
    score[missing] = 0.0
    n = len(kp)
    valid = np.ones(n, dtype=bool)
    n_seg = len(seg_rows)
    for at in invalid_at:
        valid[np.arange(n_seg) * frames + at] = False
    ds = xr.Dataset(
        {
            "emg": (("frame", "muscle"), np.concatenate(emg_all).astype(np.float32)),
            "emg_clean": (("frame", "muscle"), np.concatenate(clean_all).astype(np.float32)),
            "keypoints": (("frame", "keypoint", "space"), kp),
            "keypoint_score": (("frame", "keypoint"), score),
            "time": (("frame",), np.concatenate(t_all)),
            "valid": (("frame",), valid),
            "segment_session": (("segment",), np.array([r[0] for r in seg_rows])),
            "segment_subject": (("segment",), np.array([r[1] for r in seg_rows])),
            "segment_exercise": (("segment",), np.array([r[2] for r in seg_rows])),
            "segment_split": (("segment",), np.array([""] * n_seg)),
            "segment_start": (("segment",), np.arange(n_seg, dtype=np.int64) * frames),
            "segment_length": (("segment",), np.full(n_seg, frames, dtype=np.int64)),
            "segment_image_width": (("segment",), np.full(n_seg, width, dtype=np.int64)),
            "segment_image_height": (("segment",), np.full(n_seg, height, dtype=np.int64)),
            "segment_source": (("segment",), np.array(["synthetic"] * n_seg)),
            "segment_flags": (("segment",), np.array([""] * n_seg)),
        },
        coords={"muscle": muscles, "keypoint": keypoints, "space": ["x", "y"], "segment": [r[0] for r in seg_rows]},
        attrs={
            "schema": SCHEMA,
            "rate_hz": 10.0,
            "muscles": muscles,
            "keypoint_layout": "BODY_25",
            "emg_units": "device units",
            "provenance": {
                "pipeline": "test",
                "pipeline_sha256": "0" * 64,
                "inputs_sha256": [],
                "miakit_version": "test",
                "built_at": "2024-01-01T00:00:00Z",
            },
        },
    )
    return validate_dataset(ds, deep=True)


def body25_checkpoint(folder):
    """A Transformer trained for 4 steps on a tiny synthetic store with the BODY_25 keypoints and
    the 8 muscles (so its inputs fit an imported lab store); window 10 (1 s). Returns its path."""
    from miakit.layout import BODY_25, MUSCLES
    from miakit.learn.config import TrainConfig
    from miakit.learn.train import train

    ds = make_dataset(frames=200, subjects=("s0",), exercises=("squat", "running"))
    ds = ds.assign_coords(keypoint=list(BODY_25), muscle=list(MUSCLES))
    ds.attrs["muscles"] = list(MUSCLES)
    config = TrainConfig(window=10, batch_size=8, max_steps=4, eval_every=2, warmup_steps=1, patience=100)
    return train(ds, config, folder, progress=False).checkpoint
