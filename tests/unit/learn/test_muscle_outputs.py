"""Outputs a muscle can have (issue 32), on the real videos in ../shared/data/video (pose by
MediaPipe, as ``miakit predict`` makes it), on the same clips flipped left to right (every frame
mirrored and put through the pose back end again) and on real walking motion capture: no negative
value anywhere, a mirrored clip gives the same muscles with the sides swapped, and a bilateral
movement gives both sides' muscles about the same peaks.

The checkpoint: the miakit recipe (softplus read-out, mirror augmentation, test-time mirroring)
trained briefly on synthetic squats, walking and jumping jacks made in memory."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "benchmarks"))

import video_symmetry as vs  # noqa: E402

from miakit.layout import MIRROR_MUSCLE, MUSCLES  # noqa: E402
from miakit.learn.features import mirror_permutation, mirrored_dataset  # noqa: E402

pytestmark = pytest.mark.slow  # MediaPipe on three clips and their flipped copies, and a short training

SWAP = mirror_permutation(list(MUSCLES), MIRROR_MUSCLE, what="muscle")


@pytest.fixture(scope="module")
def recipe_ckpt(tmp_path_factory):
    import real_motion

    from miakit.learn.config import TrainConfig
    from miakit.learn.predict import load
    from miakit.learn.recipes import MIAKIT
    from miakit.learn.train import train

    data = real_motion.synthetic_dataset(("squat", "walking", "jumping_jack"), subjects=1, views=2, duration_s=12)
    config = TrainConfig(**MIAKIT, max_steps=40, eval_every=20, window=20, device="cpu")
    return load(train(data, config, tmp_path_factory.mktemp("recipe"), progress=False).checkpoint)


@pytest.fixture(scope="module")
def clips(shared_data, tmp_path_factory):
    """(name, pose dataset of the clip, pose dataset of the flipped clip) for every shared video."""
    pytest.importorskip("mediapipe")
    tmp = tmp_path_factory.mktemp("flipped")
    out = []
    for video in sorted((shared_data / "video").glob("*.mp4")):
        flipped = vs.flip_video(video, tmp / video.name)
        out.append(
            (video.name, vs.video_pose_dataset(video, list(MUSCLES)), vs.video_pose_dataset(flipped, list(MUSCLES)))
        )
    assert len(out) >= 3
    return out


def test_no_prediction_is_negative_on_real_clips_their_flips_and_their_mirror_images(recipe_ckpt, clips):
    assert recipe_ckpt.config.readout == "softplus" and bool(recipe_ckpt.model.mirror.enabled)
    for name, ds, flipped in clips:
        for what, data in (("clip", ds), ("flipped clip", flipped), ("mirrored pose", mirrored_dataset(ds))):
            y = vs.predict_clip(recipe_ckpt, data)
            assert np.isfinite(y).any(), (name, what)
            assert np.nanmin(y) >= 0.0, (name, what, float(np.nanmin(y)))


def test_a_mirrored_clip_swaps_left_and_right(recipe_ckpt, clips):
    """The mirror image of the pose gives exactly the prediction with the sides swapped (the model
    averages the body and its mirror image). The flipped video, whose pose MediaPipe finds anew,
    matches it with r >= 0.9 for every muscle wherever MediaPipe sees the flipped person as the
    mirror image of the person (no frame's keypoints more than 0.2 torso lengths from it): the
    mmhuman3d clip and the Pose2Sim front camera. In the Pose2Sim side camera MediaPipe confuses
    left and right in a frame of one of the two (0.5 torso lengths), and no model reading its
    keypoints can undo that."""
    agreeing = 0
    for name, ds, flipped in clips:
        y = vs.predict_clip(recipe_ckpt, ds)
        exact = vs.predict_clip(recipe_ckpt, mirrored_dataset(ds))
        np.testing.assert_allclose(exact, y[:, SWAP], rtol=1e-3, atol=1e-3, err_msg=name)
        if vs.pose_gap(ds, flipped)[1] > 0.2:
            continue
        agreeing += 1
        rs = vs.mirror_r(y, vs.predict_clip(recipe_ckpt, flipped), list(MUSCLES))
        assert min(rs.values()) >= 0.9, (name, rs)
    assert agreeing >= 2


def test_a_bilateral_movement_gives_both_sides_about_the_same_peaks(recipe_ckpt, shared_data, tmp_path):
    """Real walking (the shared Plug-in Gait walk, seen from the front as ``miakit import c3d``
    projects it; both legs take two strides): each left/right pair's peaks within a factor 1.5."""
    pytest.importorskip("ezc3d")
    import miakit
    from miakit.importers.c3d import import_c3d
    from miakit.importers.lab import parse_views
    from miakit.learn.predict import predict_segment

    store = tmp_path / "walk.zarr"
    import_c3d([shared_data / "mocap" / "gaitalytics-walk.c3d"], store, views=parse_views("front"), side="right")
    ds = miakit.open_dataset(store)
    y = predict_segment(recipe_ckpt, ds, 0, min_window=1)
    assert np.nanmin(y) >= 0.0
    ratios = vs.peak_ratios(y, list(MUSCLES))
    assert set(ratios) == {"Bicep", "Tricep", "Quad", "Hamstring"}
    assert max(ratios.values()) <= 1.5, ratios
