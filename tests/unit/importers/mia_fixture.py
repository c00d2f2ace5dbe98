"""Write small copies of the public Muscles in Action release, in its exact layout, for tests.

``{train,val}/Subject{N}/{Exercise}/{clip_id}/`` with every file of a real clip, in the release's
shapes and dtypes (../shared/reference/mia-paper.md): emgvalues (30, 8) float64 holding integers,
joints2d (30, 49, 2), joints3d (30, 49, 3), pose (30, 72), betas (30, 10), predcam (30, 3),
origcam (30, 4), bboxes (30, 4), verts (30, 6890, 3) (VIBE's outputs are float32). ``verts.npy`` is
written full size but sparse, so a fixture stays cheap on disk.

Values are a known function of (clip id, frame), so a test can tell which clip a frame came from.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

FRAMES = 30
N_MUSCLES = 8
N_JOINTS = 49


def clip_emg(clip_id: int) -> np.ndarray:
    """The (30, 8) EMG a fixture clip holds: integer values, unique per (clip, frame, muscle)."""
    frame = np.arange(FRAMES)[:, None]
    muscle = np.arange(N_MUSCLES)[None, :]
    return ((clip_id * FRAMES + frame) % 400 + 10 * muscle).astype(np.float64)


def clip_joints2d(clip_id: int) -> np.ndarray:
    """The (30, 49, 2) float32 joints a fixture clip holds, inside a 1080 x 1920 portrait frame."""
    t = (clip_id * FRAMES + np.arange(FRAMES))[:, None] * 0.1
    j = np.arange(N_JOINTS)[None, :]
    x = 540 + 300 * np.sin(0.3 * j + 0.05 * t)
    y = 200 + 30 * j + 20 * np.cos(0.07 * t + j)
    return np.stack([x, y], axis=-1).astype(np.float32)


def write_clip(folder: Path, clip_id: int) -> Path:
    """Write one complete clip folder."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(clip_id)
    f32 = np.float32
    np.save(folder / "emgvalues.npy", clip_emg(clip_id))
    np.save(folder / "joints2d.npy", clip_joints2d(clip_id))
    np.save(folder / "joints3d.npy", rng.normal(size=(FRAMES, N_JOINTS, 3)).astype(f32))
    np.save(folder / "pose.npy", rng.normal(size=(FRAMES, 72)).astype(f32))
    np.save(folder / "betas.npy", rng.normal(size=(FRAMES, 10)).astype(f32))
    np.save(folder / "predcam.npy", rng.normal(size=(FRAMES, 3)).astype(f32))
    np.save(folder / "origcam.npy", rng.normal(size=(FRAMES, 4)).astype(f32))
    np.save(folder / "bboxes.npy", np.tile(np.array([540, 960, 900, 900], f32), (FRAMES, 1)))
    verts = np.lib.format.open_memmap(folder / "verts.npy", mode="w+", dtype=f32, shape=(FRAMES, 6890, 3))
    verts[0, 0] = 1.0
    verts.flush()
    del verts
    return folder


def write_release(root: Path, clips: dict[tuple[str, str, str], list[int]]) -> Path:
    """Write ``{(split, subject, exercise): [clip ids]}`` under ``root``; returns ``root``."""
    for (split, subject, exercise), ids in clips.items():
        for clip_id in ids:
            write_clip(root / split / subject / exercise / str(clip_id), clip_id)
    return root


def damage(folder: Path, how: str) -> None:
    """Damage a clip the ways a copied release gets damaged.

    ``missing``: joints2d.npy deleted; ``truncated``: emgvalues.npy cut in half; ``wrong_shape``:
    emgvalues.npy with 29 frames; ``pickled``: emgvalues.npy an object array (needs unpickling);
    ``bad_verts``: verts.npy replaced by garbage bytes.
    """
    if how == "missing":
        (folder / "joints2d.npy").unlink()
    elif how == "truncated":
        data = (folder / "emgvalues.npy").read_bytes()
        (folder / "emgvalues.npy").write_bytes(data[: len(data) // 2])
    elif how == "wrong_shape":
        np.save(folder / "emgvalues.npy", np.zeros((FRAMES - 1, N_MUSCLES)))
    elif how == "pickled":
        np.save(folder / "emgvalues.npy", np.array([{"emg": 1}] * FRAMES, dtype=object), allow_pickle=True)
    elif how == "bad_verts":
        (folder / "verts.npy").write_bytes(b"this is not a numpy file")
    else:
        raise ValueError(f"unknown damage {how!r}")
