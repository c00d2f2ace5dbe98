"""Pose back ends: real MediaPipe on the shared real videos (geometry of the body, the 10 Hz grid,
rotation), the BlazePose -> BODY_25 mapping, and the readers of OpenPose, MIA and VIBE files
written here in their tools' layouts."""

from __future__ import annotations

import fractions
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from sample_files import sample_path

from miakit.errors import InputError
from miakit.layout import BODY_25, KP
from miakit.stages import openpose
from miakit.stages.pose import (
    BACKENDS,
    PoseBackend,
    blazepose_to_body25,
    estimate_pose,
    load_keypoints,
    make_backend,
)

DATA = sample_path()
CAM01 = DATA / "video" / "pose2sim-single-cam01.mp4"
needs_data = pytest.mark.skipif(not CAM01.is_file(), reason=f"shared real data not found at {DATA}")
pytest.importorskip("mediapipe", reason="MediaPipe (the pose extra) is not installed")
pytestmark = pytest.mark.filterwarnings("ignore:SymbolDatabase.GetPrototype:UserWarning")  # mediapipe's protobuf use


@pytest.fixture(scope="module")
def cam01() -> tuple[xr.Dataset, dict]:
    if not CAM01.is_file():
        pytest.skip(f"shared real data not found at {DATA}")
    timings: dict = {}
    return estimate_pose(CAM01, rate_hz=10.0, progress=False, timings=timings), timings


def point(ds: xr.Dataset, name: str) -> np.ndarray:
    return ds["keypoints"].sel(keypoint=name).values


# -- MediaPipe on real video ------------------------------------------------------------------------


@needs_data
def test_layout_and_grid(cam01):
    ds, _ = cam01
    assert dict(ds.sizes) == {"time": 17, "keypoint": 25, "space": 2}
    assert list(ds["keypoint"].values) == list(BODY_25)
    assert list(ds["space"].values) == ["x", "y"]
    np.testing.assert_allclose(ds["time"].values, np.arange(17) / 10.0)
    np.testing.assert_allclose(ds["frame_time"].values, ds["time"].values, atol=1e-6)
    assert ds["keypoints"].dtype == np.float32 and ds["keypoint_score"].dtype == np.float32
    assert (ds.attrs["width"], ds.attrs["height"], ds.attrs["rotation"]) == (1080, 1920, 0)
    assert ds.attrs["fps"] == pytest.approx(60.0) and ds.attrs["rate_hz"] == 10.0
    assert ds.attrs["estimator"].startswith("mediapipe")


@needs_data
def test_every_frame_has_a_person(cam01):
    ds, _ = cam01
    assert ds.attrs["frames_with_person"] == 17
    score = ds["keypoint_score"].values
    assert ((score >= 0) & (score <= 1)).all()
    body = [KP[n] for n in ("Nose", "Neck", "RShoulder", "LShoulder", "RHip", "LHip", "MidHip")]
    assert (score[:, body] > 0.5).all()
    assert float(score[:, body].mean()) > 0.9


@needs_data
def test_keypoints_land_on_the_body(cam01):
    ds, _ = cam01
    nose, mid_hip = point(ds, "Nose"), point(ds, "MidHip")
    assert (nose[:, 1] < mid_hip[:, 1]).all(), "the nose is above the hips"
    assert (point(ds, "Neck")[:, 1] < mid_hip[:, 1]).all()
    for side in "RL":
        hip, knee, ankle = point(ds, f"{side}Hip"), point(ds, f"{side}Knee"), point(ds, f"{side}Ankle")
        assert (hip[:, 1] < knee[:, 1]).all() and (knee[:, 1] < ankle[:, 1]).all(), "hips above knees above ankles"
        shoulder, elbow, wrist = point(ds, f"{side}Shoulder"), point(ds, f"{side}Elbow"), point(ds, f"{side}Wrist")
        upper_arm = np.linalg.norm(shoulder - elbow, axis=1)
        forearm = np.linalg.norm(wrist - elbow, axis=1)
        torso = np.linalg.norm(point(ds, "Neck") - mid_hip, axis=1)
        assert (forearm < 0.8 * torso).all(), "wrists are near their elbows"
        assert (upper_arm < 0.8 * torso).all()
    # Left and right are the subject's own: the subject faces the camera, so the right shoulder is
    # on the image's left.
    assert (point(ds, "RShoulder")[:, 0] < point(ds, "LShoulder")[:, 0]).all()
    xy = ds["keypoints"].values
    inside = np.isnan(xy) | ((xy >= 0) & (xy <= np.array([1080, 1920])))
    assert inside.all()
    neck = (point(ds, "RShoulder") + point(ds, "LShoulder")) / 2
    np.testing.assert_allclose(point(ds, "Neck"), neck, atol=1e-3)


@needs_data
def test_points_blazepose_lacks_are_missing(cam01):
    ds, _ = cam01
    for name in ("LSmallToe", "RSmallToe"):
        assert np.isnan(point(ds, name)).all()
        assert (ds["keypoint_score"].sel(keypoint=name).values == 0).all()


@needs_data
def test_timings_are_reported(cam01):
    _, timings = cam01
    assert timings["frames"] == 17
    assert timings["decode_s"] > 0 and timings["inference_s"] > 0 and timings["wall_s"] > 0
    assert timings["overall_fps"] == pytest.approx(17 / timings["wall_s"])


@needs_data
def test_rotated_phone_video_gives_the_same_keypoints(cam01, tmp_path):
    """The real frames, stored landscape with a display rotation (as an iPhone stores portrait
    video): keypoints come out in the displayed portrait image, where they were before."""
    import cv2

    av = pytest.importorskip("av", reason="PyAV is needed to write a video with rotation metadata")
    from miakit.stages.video import frames_at

    times = np.arange(5) / 10.0
    path = tmp_path / "portrait.mp4"
    container = av.open(str(path), "w")
    stream = container.add_stream("libx264", rate=10)
    stream.width, stream.height = 1920, 1080
    stream.pix_fmt = "yuv420p"
    stream.options = {"crf": "12"}
    stream.codec_context.time_base = fractions.Fraction(1, 1000)
    stream.set_display_rotation(-90)  # shown turned 90 degrees clockwise
    for _, stamp, image in frames_at(CAM01, times):
        coded = cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE)
        frame = av.VideoFrame.from_ndarray(coded, format="bgr24")
        frame.pts = round(stamp * 1000)
        frame.time_base = stream.codec_context.time_base
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()

    rotated = estimate_pose(path, rate_hz=10.0, progress=False)
    assert (rotated.attrs["width"], rotated.attrs["height"], rotated.attrs["rotation"]) == (1080, 1920, 90)
    assert rotated.sizes["time"] == 5 and rotated.attrs["frames_with_person"] == 5
    original, _ = cam01
    a = rotated["keypoints"].values
    b = original["keypoints"].isel(time=slice(0, 5)).values
    sure = (rotated["keypoint_score"].values > 0.8) & (original["keypoint_score"].isel(time=slice(0, 5)).values > 0.8)
    error = np.linalg.norm(a - b, axis=2)[sure]
    assert sure.sum() > 50
    assert np.median(error) < 10, f"median distance {np.median(error):.1f} px"


@pytest.mark.slow
@needs_data
def test_every_video_frame_has_a_person():
    ds = estimate_pose(CAM01, rate_hz=60.0, progress=False)
    assert ds.sizes["time"] == 100 and ds.attrs["frames_with_person"] == 100


# -- bad input -------------------------------------------------------------------------------------


def test_no_person_in_view(tmp_path):
    import cv2

    path = tmp_path / "empty-room.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (360, 640))
    wall = np.tile(np.linspace(60, 200, 360, dtype=np.uint8)[None, :, None], (640, 1, 3))
    for _ in range(8):
        writer.write(wall)
    writer.release()
    with pytest.raises(InputError, match=r"empty-room\.mp4: no person in view") as info:
        estimate_pose(path, progress=False)
    assert "\n" not in str(info.value)


def test_zero_byte_video(tmp_path):
    path = tmp_path / "zero.mp4"
    path.write_bytes(b"")
    with pytest.raises(InputError, match=r"zero\.mp4: empty video file"):
        estimate_pose(path, progress=False)


@needs_data
def test_truncated_video(tmp_path):
    path = tmp_path / "cut.mp4"
    path.write_bytes(CAM01.read_bytes()[:100_000])
    with pytest.raises(InputError, match=r"cut\.mp4: truncated video"):
        estimate_pose(path, progress=False)


def test_unknown_backend(tmp_path):
    with pytest.raises(InputError, match="unknown back end"):
        make_backend("openpifpaf")
    with pytest.raises(InputError, match="not a video pose back end"):
        estimate_pose(tmp_path / "v.mp4", backend="vibe")


# -- the BlazePose mapping ---------------------------------------------------------------------------


def test_blazepose_to_body25():
    landmarks = np.zeros((33, 3))
    landmarks[:, 0] = np.arange(33)  # x = the landmark's index
    landmarks[:, 1] = 100 + np.arange(33)
    landmarks[:, 2] = 0.9
    landmarks[11, 2], landmarks[12, 2] = 0.4, 0.8
    body = blazepose_to_body25(landmarks)
    assert body.shape == (25, 3)
    assert body[KP["Nose"], 0] == 0 and body[KP["RShoulder"], 0] == 12 and body[KP["LShoulder"], 0] == 11
    assert body[KP["RWrist"], 0] == 16 and body[KP["LAnkle"], 0] == 27 and body[KP["REye"], 0] == 5
    assert body[KP["LBigToe"], 0] == 31 and body[KP["RHeel"], 0] == 30
    assert body[KP["Neck"], 0] == pytest.approx(11.5) and body[KP["Neck"], 2] == pytest.approx(0.4)
    assert body[KP["MidHip"], 0] == pytest.approx(23.5)
    assert np.isnan(body[KP["LSmallToe"], :2]).all() and body[KP["LSmallToe"], 2] == 0


def test_every_backend_meets_the_protocol():
    for name in BACKENDS:
        assert isinstance(make_backend(name), PoseBackend)


# -- readers of other tools' files -------------------------------------------------------------------


def person(x: float, y: float, score: float = 0.9) -> np.ndarray:
    body = np.zeros((25, 3))
    body[:, 0] = x + np.arange(25)
    body[:, 1] = y + 2 * np.arange(25)
    body[:, 2] = score
    return body


def test_openpose_folder_on_the_grid_following_one_person(tmp_path):
    folder = tmp_path / "openpose"
    folder.mkdir()
    for n in range(60):  # 2 s at 30 fps; a second, more confident person enters at frame 30
        people = [person(100 + n, 500)]
        if n >= 30:
            people.insert(0, person(800, 300, score=0.99))
        openpose.write_frame(folder / openpose.frame_filename(n), people)
    ds = load_keypoints(folder, kind="openpose_json", fps=30.0)
    assert ds.sizes["time"] == 20
    np.testing.assert_allclose(ds["time"].values, np.arange(20) / 10)
    np.testing.assert_allclose(ds["frame_time"].values, np.arange(20) / 10, atol=1e-9)
    nose_x = ds["keypoints"].sel(keypoint="Nose", space="x").values
    np.testing.assert_allclose(nose_x, 100 + 3 * np.arange(20), atol=1e-3)
    assert ds.attrs["frames_with_person"] == 20 and ds.attrs["estimator"] == "openpose-json"


def test_openpose_folder_needs_the_frame_rate(tmp_path):
    openpose.write_frame(tmp_path / openpose.frame_filename(0), [person(1, 1)])
    with pytest.raises(InputError, match="fps"):
        load_keypoints(tmp_path, kind="openpose_json")


def test_mia_joints2d(tmp_path):
    joints = np.random.default_rng(1).uniform(0, 1000, (30, 49, 2))
    joints[4, 7] = np.nan
    clip = tmp_path / "train" / "Subject0" / "Squat" / "17"
    clip.mkdir(parents=True)
    np.save(clip / "joints2d.npy", joints)
    ds = load_keypoints(clip, kind="mia_joints2d")
    assert ds.sizes["time"] == 30
    np.testing.assert_allclose(ds["time"].values, np.arange(30) / 10)
    np.testing.assert_allclose(ds["keypoints"].values[5], joints[5, :25], rtol=1e-6)
    assert ds["keypoint_score"].values[4, 7] == 0 and np.isnan(ds["keypoints"].values[4, 7]).all()
    assert ds["keypoint_score"].values[5, 7] == 1
    assert (ds.attrs["width"], ds.attrs["height"]) == (1080, 1920)
    slower = load_keypoints(clip / "joints2d.npy", kind="mia_joints2d", rate_hz=5.0)
    np.testing.assert_allclose(slower["keypoints"].values[3], joints[6, :25], rtol=1e-6)


def test_mia_joints2d_bad_files(tmp_path):
    np.save(tmp_path / "joints2d.npy", np.zeros((30, 10, 2)))
    with pytest.raises(InputError, match="wrong joints2d shape"):
        load_keypoints(tmp_path / "joints2d.npy", kind="mia_joints2d")
    np.save(tmp_path / "pickled.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="not a readable numpy array"):
        load_keypoints(tmp_path / "pickled.npy", kind="mia_joints2d")


def vibe_output(path: Path) -> Path:
    joblib = pytest.importorskip("joblib", reason="joblib writes VIBE's output format")
    rng = np.random.default_rng(2)
    short = {"frame_ids": np.arange(10, 20), "joints2d_img_coord": rng.uniform(0, 500, (10, 49, 2))}
    long = {"frame_ids": np.arange(0, 45), "joints2d_img_coord": rng.uniform(0, 500, (45, 49, 2))}
    joblib.dump({1: short, 2: long}, path)
    return path


def test_vibe_pickle_is_refused_without_trust(tmp_path):
    path = vibe_output(tmp_path / "vibe_output.pkl")
    with pytest.raises(InputError, match="trust_pickle=True") as info:
        load_keypoints(path, kind="vibe", fps=30.0)
    assert "runs code" in str(info.value)


def test_vibe_pickle_when_trusted(tmp_path):
    path = vibe_output(tmp_path / "vibe_output.pkl")
    import joblib

    tracks = joblib.load(path)
    ds = load_keypoints(path, kind="vibe", fps=30.0, trust_pickle=True)
    assert ds.sizes["time"] == 15  # 45 frames at 30 fps = 1.5 s
    np.testing.assert_allclose(ds["keypoints"].values[2], tracks[2]["joints2d_img_coord"][6, :25], rtol=1e-6)
    assert "person 2" in ds.attrs["estimator"]
    chosen = load_keypoints(path, kind="vibe", fps=30.0, trust_pickle=True, person=1)
    assert chosen.attrs["frames_with_person"] == 3  # frames 12, 15, 18 of 10..19
    with pytest.raises(InputError, match="no such person"):
        load_keypoints(path, kind="vibe", fps=30.0, trust_pickle=True, person=7)


def test_unknown_kind(tmp_path):
    with pytest.raises(InputError, match="unknown keypoint file kind"):
        load_keypoints(tmp_path, kind="mediapipe")


# -- the command -----------------------------------------------------------------------------------


def pose_app():
    import typer

    from miakit.stages.pose_cli import pose

    app = typer.Typer()
    app.command()(pose)
    return app


@needs_data
def test_pose_command_writes_csv_and_a_summary(tmp_path):
    from typer.testing import CliRunner

    out = tmp_path / "cam01.csv"
    result = CliRunner().invoke(pose_app(), [str(CAM01), "--out", str(out), "--rate-hz", "2"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == str(out)
    assert "with a person" in result.output and "4 of 4" in result.output
    lines = out.read_text().splitlines()
    header = lines[0].split(",")
    assert header[:5] == ["time", "frame_time", "Nose_x", "Nose_y", "Nose_score"] and len(header) == 2 + 75
    table = np.loadtxt(out, delimiter=",", skiprows=1)
    np.testing.assert_allclose(table[:, 0], [0.0, 0.5, 1.0, 1.5])
    assert (table[:, 4] > 0.5).all()  # the nose is seen


@needs_data
def test_pose_command_writes_zarr(tmp_path):
    from typer.testing import CliRunner

    out = tmp_path / "cam01.zarr"
    result = CliRunner().invoke(pose_app(), [str(CAM01), "--out", str(out), "--rate-hz", "2"])
    assert result.exit_code == 0, result.output
    ds = xr.open_zarr(out, consolidated=True)
    assert ds.sizes["time"] == 4 and ds.attrs["frames_with_person"] == 4


def test_pose_command_bad_input_is_one_line(tmp_path):
    from typer.testing import CliRunner

    video = tmp_path / "zero.mp4"
    video.write_bytes(b"")
    result = CliRunner().invoke(pose_app(), [str(video), "--out", str(tmp_path / "k.csv")])
    assert isinstance(result.exception, InputError)
    assert "zero.mp4: empty video file" in str(result.exception)
    result = CliRunner().invoke(pose_app(), [str(video), "--out", str(tmp_path / "k.parquet")])
    assert isinstance(result.exception, InputError) and "--out" in str(result.exception)
