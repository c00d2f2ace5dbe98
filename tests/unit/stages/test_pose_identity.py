"""One identity through a clip with two people: a clip made here from two real videos side by
side (pose2sim cam01 left, the mmhuman3d dribbler right), where the left person leaves the view
for a moment. The track keeps the chosen person, flags the frames it could not be sure of, and
never takes the other person's body into the track."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from sample_files import sample_path

from miakit.stages.pose import TRACK_LOST, TRACK_OK, IdentityGate, estimate_pose, torso

pytest.importorskip("mediapipe", reason="MediaPipe (the pose extra) is not installed")
av = pytest.importorskip("av", reason="PyAV writes the two-person clip")

GONE = (6, 7, 8)  # grid steps (10 Hz) where the left person is hidden
HALF = 540  # each person's panel is 540 x 960


def _frames_at_10hz(path: Path, count: int) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate)
        frames = [f.to_ndarray(format="rgb24", width=HALF, height=2 * HALF - 120) for f in container.decode(stream)]
    return [frames[min(round(k * fps / 10), len(frames) - 1)] for k in range(count)]


@pytest.fixture(scope="module")
def two_people(tmp_path_factory) -> Path:
    data = sample_path("video")
    if not (data / "pose2sim-single-cam01.mp4").is_file():
        pytest.skip(f"shared real data not found at {data}")
    left = _frames_at_10hz(data / "pose2sim-single-cam01.mp4", 16)
    right = _frames_at_10hz(data / "mmhuman3d-single-person.mp4", 16)
    path = tmp_path_factory.mktemp("two") / "two-people.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(10))
        stream.height, stream.width = left[0].shape[0], 2 * HALF
        stream.pix_fmt = "yuv420p"
        for k, (a, b) in enumerate(zip(left, right)):
            a = np.full_like(a, 90) if k in GONE else a
            container.mux(
                stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(np.hstack([a, b])), format="rgb24"))
            )
        container.mux(stream.encode(None))
    return path


def _centres(ds) -> np.ndarray:
    return np.array([torso(p)[0] for p in ds["keypoints"].values])


def test_the_left_person_is_kept_and_the_gap_is_flagged_not_filled(two_people):
    ds = estimate_pose(two_people, progress=False, person="left")
    x = _centres(ds)[:, 0]
    flags = ds["track_flag"].values
    assert ds.attrs["people_at_start"] == 2
    seen = np.isfinite(x)
    assert (x[seen] < HALF).all(), f"a frame of the track lies on the right person: {np.round(x, 0)}"
    assert (flags[list(GONE)] == TRACK_LOST).all() and not seen[list(GONE)].any()  # never the other person
    assert seen[[k for k in range(16) if k not in GONE]].all()  # found again when back
    assert ds.attrs["frames_lost"] == len(GONE) and (flags[:6] == TRACK_OK).all()


def test_the_right_person_by_position(two_people):
    ds = estimate_pose(two_people, progress=False, person="right")
    x = _centres(ds)[:, 0]
    assert np.isfinite(x).all() and (x > HALF).all()
    assert ds.attrs["frames_lost"] == 0


def test_the_gate_refuses_a_jump_of_several_torso_lengths():
    body = np.zeros((25, 3))
    body[1, :2], body[8, :2] = (100, 100), (100, 300)  # torso 200 px long, centre (100, 200)
    gate = IdentityGate()
    gate.accept(body, 0.0)
    moved = body.copy()
    moved[:, 0] += 60  # 0.3 torso lengths in one 10 Hz step: the same person
    assert gate.accepts(moved, 0.1)
    other = body.copy()
    other[:, 0] += 1000  # 5 torso lengths: someone else
    assert not gate.accepts(other, 0.1) and not gate.accepts(other, 30.0)  # nor after a long loss (at most 1.5)


def test_pose_command_stderr_holds_no_mediapipe_lines(two_people, tmp_path):
    out = tmp_path / "k.csv"
    result = subprocess.run(
        [sys.executable, "-m", "miakit.cli", "pose", str(two_people), "--out", str(out), "--person", "left"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for noise in ("W0000", "I0000", "INFO:", "absl", "XNNPACK", "GetPrototype", "WARNING"):
        assert noise not in result.stderr, result.stderr
    assert "lost" in result.stderr and "3" in result.stderr  # the summary says what happened


def test_the_person_choices_are_shown_as_choices_with_an_example():
    from typer.testing import CliRunner

    from miakit.cli import app
    from miakit.stages.pose import PERSON_CHOICES
    from miakit.stages.pose_cli import Person

    assert tuple(p.value for p in Person) == PERSON_CHOICES
    for command in ("pose", "predict"):
        text = " ".join(CliRunner().invoke(app, [command, "--help"], terminal_width=200).output.split())
        assert "start|left|right|center|largest" in text and "Example: miakit " + command in text


def test_a_grey_frame_makes_the_tracker_forget_as_a_restart_does():
    """The follower forgets its person with one grey frame instead of restarting MediaPipe's graph
    (whose first frame after a restart costs several tracked frames): on a real clip, the person
    moved between, the landmarks after a grey frame are those after a restart."""
    import cv2

    from miakit.stages.pose import MediaPipeBackend, inference_image

    video = sample_path("video") / "mmhuman3d-single-person.mp4"
    if not video.is_file():
        pytest.skip(f"shared real data not found at {video}")
    cap, frames = cv2.VideoCapture(str(video)), []
    while len(frames) < 26 and (read := cap.read())[0]:
        frames.append(inference_image(read[1], height=640))
    cap.release()
    moved = [np.roll(f, f.shape[1] // 6, axis=1) for f in frames[20:26]]  # somewhere the tracker did not expect
    after = {}
    for how in ("restart", "grey"):
        model = MediaPipeBackend().open_model()
        try:
            for f in frames[:20]:
                model.process(f)
            if how == "restart":
                model.reset()
            else:
                model.process(np.full_like(frames[0], 128))
            found = [model.process(f).pose_landmarks for f in moved]
            assert all(r is not None for r in found)
            after[how] = np.array([[(p.x, p.y) for p in r.landmark] for r in found])
        finally:
            model.close()
    assert np.abs(after["restart"] - after["grey"]).max() < 1e-4
