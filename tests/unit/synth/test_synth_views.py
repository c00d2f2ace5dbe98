"""Camera augmentation at synthesis time: the same motion and EMG filmed from other places."""

from __future__ import annotations

import numpy as np
import yaml

from miakit.body.motion import Camera, Motion, project
from miakit.body.subjects import make_subject
from miakit.layout import KP
from miakit.synth import generate_sessions, simulate


def test_view_zero_is_the_front_camera_and_other_views_share_the_emg():
    subject = make_subject(0)
    front = simulate(subject, "squat", seed=0, duration_s=6.0)
    np.testing.assert_array_equal(front.keypoints, simulate(subject, "squat", seed=0, duration_s=6.0, view=0).keypoints)
    other = simulate(subject, "squat", seed=0, duration_s=6.0, view=1)
    np.testing.assert_array_equal(front.truth, other.truth)
    assert other.camera is not None and not np.allclose(front.keypoints[..., :2], other.keypoints[..., :2], atol=20)
    assert (other.keypoints[..., 2] > 0).mean() > 0.9  # the person stays in the frame


def test_a_camera_straight_ahead_projects_as_the_subject_own_camera():
    subject = make_subject(1)
    kin = Motion("front_punch", subject, seed=0).kinematics(np.arange(0.0, 3.0, 0.1))
    own, _ = project(kin.joints, subject)
    same, _ = project(kin.joints, subject, Camera(0.0, 0.0, subject.distance_m, subject.focal_px))
    np.testing.assert_allclose(own, same, atol=1e-6)


def test_a_side_view_shows_walking_legs_swing_across_the_image():
    subject = make_subject(0)
    kin = Motion("walking", subject, seed=0, start_s=0.0).kinematics(np.arange(0.5, 4.0, 0.02))
    spread = {}
    for name, cam in (("front", None), ("side", Camera(90.0, 0.0, subject.distance_m, subject.focal_px))):
        xy, _ = project(kin.joints, subject, cam)
        ankles = xy[:, KP["RAnkle"], 0] - xy[:, KP["LAnkle"], 0]
        hips = np.abs(xy[:, KP["RHip"], 0] - xy[:, KP["LHip"], 0])
        spread[name] = (np.ptp(ankles), hips.mean())
    assert spread["side"][0] > 3 * spread["front"][0]  # the stride runs across a side view
    assert spread["side"][1] < 0.3 * spread["front"][1]  # the hips overlap seen from the side


def test_generate_sessions_writes_each_view_as_its_own_session(tmp_path):
    folders = generate_sessions(
        tmp_path, subjects=1, exercises=("squat",), duration_s=5.0, video="none", progress=False, views=2
    )
    assert [f.name for f in folders] == ["squat", "squat-view1"]
    meta = [yaml.safe_load((f / "session.yaml").read_text()) for f in folders]
    assert meta[0]["exercise"] == meta[1]["exercise"] == "squat"
    assert meta[0]["session_id"] != meta[1]["session_id"]


def test_extra_views_are_spread_round_the_subject():
    """Three subjects with two extra views see every exercise from both sides (or the back) and from
    near the front: no exercise is left without a view at 60 degrees or more off the front."""
    from miakit.body.motion import CAMERA_RANGE
    from miakit.layout import ALL_EXERCISES
    from miakit.synth.sessions import view_camera

    for exercise in ALL_EXERCISES:
        yaws = np.array([view_camera(0, s, exercise, v).yaw_deg for s in range(3) for v in (1, 2)])
        assert (np.abs(yaws) <= CAMERA_RANGE["yaw_deg"][1]).all()
        turns = np.sort(np.abs(yaws)) / 180.0
        assert np.diff(np.concatenate([[0.0], turns, [1.0]])).max() < 0.4, (exercise, yaws.round())
        assert (np.abs(yaws) >= 60).sum() >= 3, (exercise, yaws.round())
    assert view_camera(0, 1, "walking", 2) == view_camera(0, 1, "walking", 2)  # drawn from the seed


def test_synth_takes_exercise_groups(tmp_path):
    from typer.testing import CliRunner

    from miakit.cli import app
    from miakit.layout import LOCOMOTION

    run = CliRunner().invoke(
        app,
        [
            "synth",
            "--out",
            str(tmp_path / "s"),
            "--subjects",
            "1",
            "--duration",
            "5",
            "--video",
            "none",
            "--exercise",
            "locomotion",
            "--exercise",
            "walking",
        ],
    )
    assert run.exit_code == 0, run.output
    assert sorted(p.name for p in (tmp_path / "s" / "S01").iterdir()) == sorted(LOCOMOTION)  # a repeat is made once
    bad = CliRunner().invoke(app, ["synth", "--out", str(tmp_path / "t"), "--exercise", "everything"])
    assert bad.exit_code == 2 and "paper, locomotion, all" in bad.output
