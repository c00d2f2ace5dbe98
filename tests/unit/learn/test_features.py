"""Input features and mirror augmentation on small in-memory datasets with BODY_25 names."""

from __future__ import annotations

import numpy as np
import pytest

from dataset_builders import make_dataset
from miakit.errors import InputError
from miakit.layout import BODY_25, KP, MIRROR_MUSCLE, MUSCLES
from miakit.learn.features import frame_features, parse_features, prepare_inputs
from miakit.learn.train import TrainConfig
from miakit.learn.windows import load_frames, split_in_distribution


@pytest.fixture(scope="module")
def body_ds():
    """Two subjects x three exercises with BODY_25 keypoint names and the paper's muscle names."""
    ds = make_dataset(frames=240, missing_fraction=0.0)
    return ds.assign_coords(keypoint=list(BODY_25), muscle=list(MUSCLES)).assign_attrs(muscles=list(MUSCLES))


def test_paper_features_equal_load_frames(body_ds):
    np.testing.assert_allclose(frame_features(body_ds, "paper"), load_frames(body_ds).inputs, rtol=1e-6)


def test_body_features_do_not_move_with_the_subject(body_ds):
    """Shifting and scaling every keypoint about the image (a subject farther away) leaves them unchanged."""
    moved = body_ds.copy(deep=True)
    moved["keypoints"] = moved["keypoints"] * 0.5 + 100.0
    np.testing.assert_allclose(frame_features(moved, "body+vel"), frame_features(body_ds, "body+vel"), atol=1e-4)
    assert not np.allclose(frame_features(moved, "paper"), frame_features(body_ds, "paper"))


def test_body_features_are_in_torso_lengths(body_ds):
    f = frame_features(body_ds, "body").reshape(body_ds.sizes["frame"], len(BODY_25), 2)
    torso = np.linalg.norm(f[:, KP["Neck"]], axis=-1)
    assert np.median(torso) == pytest.approx(1.0, rel=0.05)


def test_velocity_is_the_change_per_second_and_zero_at_segment_starts(body_ds):
    f = frame_features(body_ds, "paper+vel")
    pos, vel = f[:, :50], f[:, 50:]
    np.testing.assert_allclose(vel[1:5], (pos[1:5] - pos[0:4]) * 10.0, rtol=1e-4, atol=1e-5)
    starts = np.asarray(body_ds["segment_start"].values)
    assert np.all(vel[starts] == 0)


def test_subject_one_hot(body_ds):
    f = frame_features(body_ds, "body+subject")
    onehot = f[:, -2:]
    assert np.all(onehot.sum(axis=1) == 1)
    assert onehot[0].tolist() == [1.0, 0.0] and onehot[-1].tolist() == [0.0, 1.0]
    unknown = frame_features(body_ds, "body+subject", subjects=["someone else"])
    assert np.all(unknown[:, -1] == 0)


def test_mirror_doubles_training_windows_and_swaps_sides(body_ds):
    frames = load_frames(body_ds)
    splits = split_in_distribution(body_ds, window=20)
    out, aug = prepare_inputs(body_ds, frames, splits, features="body", augment="mirror")
    n = body_ds.sizes["frame"]
    assert len(aug.train) == 2 * len(splits.train) and len(aug.test) == len(splits.test)
    assert out.inputs.shape == (2 * n, 50)
    left, right = MUSCLES.index("LeftBicep"), MUSCLES.index(MIRROR_MUSCLE["LeftBicep"])
    np.testing.assert_array_equal(out.emg[n:, left], frames.emg[:, right])
    pos = out.inputs.reshape(2 * n, 25, 2)
    np.testing.assert_allclose(pos[n:, KP["LWrist"], 0], -pos[:n, KP["RWrist"], 0], atol=1e-5)
    np.testing.assert_allclose(pos[n:, KP["LWrist"], 1], pos[:n, KP["RWrist"], 1], atol=1e-5)
    paper = frame_features(body_ds, "paper", mirrored=True).reshape(n, 25, 2)
    np.testing.assert_allclose(paper[:, KP["LWrist"], 0], 1.0 - frames.inputs.reshape(n, 25, 2)[:, KP["RWrist"], 0], atol=1e-5)


def test_other_layouts_are_refused_clearly():
    ds = make_dataset(frames=120)  # keypoints K0..K24, muscles M0..M7
    frames, splits = load_frames(ds), split_in_distribution(ds, window=20)
    with pytest.raises(InputError, match="MidHip"):
        frame_features(ds, "body")
    with pytest.raises(InputError, match="counterpart"):
        prepare_inputs(ds, frames, splits, features="paper", augment="mirror")
    assert frame_features(ds, "paper+vel+subject").shape == (ds.sizes["frame"], 102)


@pytest.mark.parametrize("spec", ["hips", "body+speed", "body+vel+vel", ""])
def test_bad_specs_are_refused(spec):
    with pytest.raises(InputError, match="feature spec"):
        parse_features(spec)
    with pytest.raises(InputError):
        TrainConfig(features=spec)
    with pytest.raises(InputError, match="augmentation"):
        TrainConfig(augment="flip")
