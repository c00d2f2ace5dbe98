"""Input features and mirror augmentation on small in-memory datasets with BODY_25 names."""

from __future__ import annotations

import numpy as np
import pytest
from dataset_builders import make_dataset

from miakit.contracts.dataset import segment_of_frame
from miakit.errors import InputError
from miakit.layout import BODY_25, KP, MIRROR_MUSCLE, MUSCLES
from miakit.learn.config import TrainConfig
from miakit.learn.features import frame_features, mirror_map, parse_features, prepare_inputs
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


def test_depth_is_a_segments_foreshortening_against_the_subjects_reference(body_ds):
    """A forearm drawn at its full length reads 0 wherever it points in the image; one drawn at
    half its length (turned 60 degrees out of the image plane) reads sin(60 degrees). The
    reference length is the subject's own: another subject's longer forearms change nothing."""
    ds = body_ds.copy(deep=True)
    kp = ds["keypoints"].values
    subject = np.asarray(ds["segment_subject"].values).astype(str)[segment_of_frame(ds)]
    mine = np.flatnonzero(subject == subject[0])
    kp[mine, KP["Neck"]] = kp[mine, KP["MidHip"]] - [0.0, 200.0]  # a torso of 200 px in every set
    kp[mine, KP["RWrist"]] = kp[mine, KP["RElbow"]] + [0.0, 100.0]  # forearms of 100 px: half a torso
    kp[mine[5], KP["RWrist"]] = kp[mine[5], KP["RElbow"]] + [60.0, 80.0]  # full length, pointing elsewhere
    kp[mine[7], KP["RWrist"]] = kp[mine[7], KP["RElbow"]] + [0.0, 50.0]  # half length
    others = np.flatnonzero(subject != subject[0])
    kp[others, KP["RWrist"]] = kp[others, KP["RElbow"]] + 3.0 * (kp[others, KP["RWrist"]] - kp[others, KP["RElbow"]])
    ds["keypoints"] = (ds["keypoints"].dims, kp)
    forearm = 50 + 2  # after the 25 x 2 body coordinates, the right forearm is the third segment
    depth = frame_features(ds, "body+depth")[:, forearm]
    assert depth[mine[5]] == pytest.approx(0.0, abs=1e-6) and depth[mine[7]] == pytest.approx(
        np.sin(np.radians(60)), abs=1e-3
    )
    np.testing.assert_allclose(np.delete(depth[mine], 7), 0.0, atol=1e-6)
    assert frame_features(ds, "body+depth").shape[1] == 50 + 9


def test_subject_one_hot_gives_the_mirror_image_its_own_columns(body_ds):
    """Two subjects: columns 0-1 the subject, 2-3 its mirror image (whose left sensors are the right's)."""
    f = frame_features(body_ds, "body+subject")
    onehot = f[:, -4:]
    assert np.all(onehot.sum(axis=1) == 1)
    assert onehot[0].tolist() == [1.0, 0.0, 0.0, 0.0] and onehot[-1].tolist() == [0.0, 1.0, 0.0, 0.0]
    mirrored = frame_features(body_ds, "body+subject", mirrored=True)[:, -4:]
    assert mirrored[0].tolist() == [0.0, 0.0, 1.0, 0.0] and mirrored[-1].tolist() == [0.0, 0.0, 0.0, 1.0]
    unknown = frame_features(body_ds, "body+subject", subjects=["someone else"])
    assert np.all(unknown[:, -2:] == 0)


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
    np.testing.assert_allclose(
        paper[:, KP["LWrist"], 0], 1.0 - frames.inputs.reshape(n, 25, 2)[:, KP["RWrist"], 0], atol=1e-5
    )


def test_limbs_put_another_exercises_arms_and_their_emg_on_the_trunk_and_legs(body_ds):
    """``augment="limbs"``: in the copy, each training frame's elbows and wrists are another training
    frame's (same subject, another exercise), placed on the frame's own shoulders, with that frame's
    biceps and triceps EMG; everything else is the frame's own; no frame outside training is read."""
    from miakit.learn.features import LIMB_MIX_ARMS, limb_mix

    frames = load_frames(body_ds)
    splits = split_in_distribution(body_ds, window=20)
    seen = np.unique(splits.train.frames())
    hidden = np.setdiff1d(np.arange(body_ds.sizes["frame"]), seen)
    blind = body_ds.copy(deep=True)  # what the mix must never read: NaN outside the training frames
    blind["keypoints"][dict(frame=hidden)] = np.nan
    blind_frames = load_frames(blind)
    blind_frames.emg[hidden] = np.nan
    kp, emg, _ = limb_mix(blind, blind_frames, splits.train)
    original = np.asarray(body_ds["keypoints"].values)
    arm_muscles = [MUSCLES.index(m) for m in ("LeftBicep", "RightBicep", "LeftTricep", "RightTricep")]
    legs = [i for i in range(len(MUSCLES)) if i not in arm_muscles]
    arms = [KP[a] for a in LIMB_MIX_ARMS]
    rest = [i for i in range(len(BODY_25)) if i not in arms]
    np.testing.assert_array_equal(kp[seen][:, rest], original[seen][:, rest])
    np.testing.assert_array_equal(emg[seen][:, legs], frames.emg[seen][:, legs])
    assert np.isfinite(kp[seen]).all() and np.isfinite(emg[seen]).all()  # nothing came from a hidden frame
    # each training frame's arm EMG is that of one training frame of the same subject and another exercise
    seg = segment_of_frame(body_ds)
    subject = np.asarray(body_ds["segment_subject"].values)[seg]
    exercise = np.asarray(body_ds["segment_exercise"].values)[seg]
    rows = {tuple(frames.emg[f, arm_muscles]): f for f in seen}
    source = np.array([rows[tuple(emg[f, arm_muscles])] for f in seen])
    assert (subject[source] == subject[seen]).all() and (exercise[source] != exercise[seen]).all()
    # the elbow hangs off the frame's own shoulder as it hung off the source frame's, in torso
    # lengths (each segment's median over its training frames)
    torso = np.linalg.norm(original[:, KP["Neck"]] - original[:, KP["MidHip"]], axis=-1)
    seg_torso = np.zeros(seg.max() + 1)
    for s in np.unique(seg[seen]):
        seg_torso[s] = np.median(torso[seen[seg[seen] == s]])
    mine = (kp[seen, KP["LElbow"]] - kp[seen, KP["LShoulder"]]) / seg_torso[seg[seen]][:, None]
    theirs = (original[source, KP["LElbow"]] - original[source, KP["LShoulder"]]) / seg_torso[seg[source]][:, None]
    np.testing.assert_allclose(mine, theirs, atol=1e-4)
    assert not np.allclose(kp[seen, KP["LElbow"]], original[seen, KP["LElbow"]], atol=1e-2)
    # prepare_inputs: the mixed copy and its mirror image come after the mirrored originals
    out, aug = prepare_inputs(body_ds, frames, splits, features="body", augment="mirror+limbs")
    n = body_ds.sizes["frame"]
    assert len(aug.train) == 4 * len(splits.train) and out.inputs.shape[0] == 4 * n
    np.testing.assert_array_equal(out.emg[2 * n :][seen][:, legs], frames.emg[seen][:, legs])
    left, right = MUSCLES.index("LeftBicep"), MUSCLES.index("RightBicep")
    np.testing.assert_array_equal(out.emg[3 * n :, left], out.emg[2 * n : 3 * n, right])
    with pytest.raises(InputError, match="augment"):
        TrainConfig(augment="limbs+limbs")


def test_other_layouts_are_refused_clearly():
    ds = make_dataset(frames=120)  # keypoints K0..K24, muscles M0..M7
    frames, splits = load_frames(ds), split_in_distribution(ds, window=20)
    with pytest.raises(InputError, match="MidHip"):
        frame_features(ds, "body")
    with pytest.raises(InputError, match="counterpart"):
        prepare_inputs(ds, frames, splits, features="paper", augment="mirror")
    assert frame_features(ds, "paper+vel+subject").shape == (
        ds.sizes["frame"],
        100 + 2 * 2,
    )  # 2 subjects and their mirror images


@pytest.mark.parametrize("spec", ["hips", "body+speed", "body+vel+vel", ""])
def test_bad_specs_are_refused(spec):
    with pytest.raises(InputError, match="feature spec"):
        parse_features(spec)
    with pytest.raises(InputError):
        TrainConfig(features=spec)
    with pytest.raises(InputError, match="augmentation"):
        TrainConfig(augment="flip")


def _posed(ds, frame_points: dict[str, tuple[float, float]]):
    """``ds`` with every frame's named keypoints set to the given pixel positions."""
    out = ds.copy(deep=True)
    kp = out["keypoints"].values
    for name, xy in frame_points.items():
        kp[:, KP[name]] = xy
    out["keypoints"] = (out["keypoints"].dims, kp)
    return out


def test_angles_are_limb_directions_against_the_vertical_and_hinge_angles(body_ds):
    """A right arm hanging straight down: upper arm and forearm point down (sine 0, cosine 1), the
    elbow is straight (sine 0, cosine -1); bent at a right angle forward: cosine 0."""
    from miakit.learn.features import HINGES, SEGMENTS

    straight = _posed(body_ds, {"RShoulder": (500, 500), "RElbow": (500, 700), "RWrist": (500, 900)})
    f = frame_features(straight, "paper+angles")[:, 50:]
    seg = {s: 2 * i for i, s in enumerate(SEGMENTS)}
    hinge = {h[1] + ("-" + h[0] if h[1] == "MidHip" else ""): 2 * len(SEGMENTS) + 2 * i for i, h in enumerate(HINGES)}
    for s in (("RShoulder", "RElbow"), ("RElbow", "RWrist")):
        np.testing.assert_allclose(f[:, seg[s] : seg[s] + 2], [[0.0, 1.0]] * len(f), atol=1e-6)
    np.testing.assert_allclose(f[:, hinge["RElbow"] : hinge["RElbow"] + 2], [[0.0, -1.0]] * len(f), atol=1e-6)
    bent = _posed(body_ds, {"RShoulder": (500, 500), "RElbow": (500, 700), "RWrist": (700, 700)})
    g = frame_features(bent, "paper+angles")[:, 50:]
    assert np.allclose(g[:, hinge["RElbow"] + 1], 0.0, atol=1e-6) and np.allclose(np.abs(g[:, hinge["RElbow"]]), 1.0)
    assert g.shape[1] == 2 * (len(SEGMENTS) + len(HINGES))


def test_hold_counts_seconds_still_and_restarts_with_each_segment(body_ds):
    """Every hinge of a body frozen in one pose holds still: the count rises 0.1 s per frame at
    10 Hz and starts again at 0 where a segment starts; a moving body counts less."""
    frozen = _posed(body_ds, {name: (400 + 10 * i, 300 + 40 * i) for i, name in enumerate(BODY_25)})
    held = frame_features(frozen, "paper+hold")[:, 50:]
    starts = np.asarray(body_ds["segment_start"].values)
    assert np.all(held[starts] == 0)
    np.testing.assert_allclose(held[starts[0] + 1 : starts[0] + 6, 0], [0.1, 0.2, 0.3, 0.4, 0.5], atol=1e-5)
    moving = frame_features(body_ds, "paper+hold")[:, 50:]
    assert moving.mean() < held.mean()


def test_acceleration_is_the_change_of_velocity_and_zero_where_it_has_no_history(body_ds):
    f = frame_features(body_ds, "paper+vel+acc")
    vel, acc = f[:, 50:100], f[:, 100:]
    np.testing.assert_allclose(acc[3:6], (vel[3:6] - vel[2:5]) * 10.0, rtol=1e-4, atol=1e-4)
    starts = np.asarray(body_ds["segment_start"].values)
    assert np.all(acc[starts] == 0) and np.all(acc[starts + 1] == 0)


def test_elapsed_is_seconds_into_the_segment(body_ds):
    f = frame_features(body_ds, "paper+elapsed")[:, -1]
    starts = np.asarray(body_ds["segment_start"].values)
    lengths = np.asarray(body_ds["segment_length"].values)
    for s, n in zip(starts, lengths):
        np.testing.assert_allclose(f[s : s + n], np.arange(n) / 10.0, atol=1e-5)


def test_angle_and_hold_features_mirror_with_the_body(body_ds):
    """Mirrored inputs of a left-right symmetric feature set are the same features with sides swapped."""
    frames = load_frames(body_ds)
    splits = split_in_distribution(body_ds, window=20)
    out, _ = prepare_inputs(body_ds, frames, splits, features="body+angles+hold", augment="mirror")
    assert out.inputs.shape[0] == 2 * body_ds.sizes["frame"] and np.isfinite(out.inputs).all()


def test_mirror_map_is_the_mirrored_body_in_feature_space(body_ds):
    """The features of the mirrored body are a signed permutation of the body's features, for every
    addition; the paper's base (x -> 1 - x) has none."""
    spec = "body+angles+depth+vel+acc+hold+elapsed+subject"
    f, m = frame_features(body_ds, spec), frame_features(body_ds, spec, mirrored=True)
    perm, sign = mirror_map(spec, [str(k) for k in body_ds["keypoint"].values], f.shape[1])
    np.testing.assert_allclose(m, sign * f[:, perm], atol=1e-3, rtol=1e-4)  # float32: x -> width - x rounds
    assert not np.allclose(m, f, atol=1e-3) and sorted(perm) == list(range(f.shape[1]))
    assert mirror_map("paper+vel", list(BODY_25), 100) is None
