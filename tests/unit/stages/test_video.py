"""Video probing and frame decoding on the shared real videos and on videos written here (PyAV):
rotation metadata, variable frame rates, creation times, truncated and empty files."""

from __future__ import annotations

import fractions
from pathlib import Path

import numpy as np
import pytest
from sample_files import sample_path

from miakit.errors import InputError
from miakit.stages.video import VideoMeta, frames_at, probe_video

DATA = sample_path()
CAM01 = DATA / "video" / "pose2sim-single-cam01.mp4"
DRIBBLE = DATA / "video" / "mmhuman3d-single-person.mp4"
needs_data = pytest.mark.skipif(not CAM01.is_file(), reason=f"shared real data not found at {DATA}")


def write_video(
    path: Path, pts_ms: list[int], *, size=(320, 180), rotation: int = 0, options=None, metadata=None
) -> Path:
    """An H.264 video whose frame i is uniformly gray at level (10 + 12 * i) % 250, with a white block in
    the coded top-left corner, at the given presentation times (ms). ``rotation`` is PyAV's
    counter-clockwise display rotation."""
    av = pytest.importorskip("av", reason="PyAV is needed to write test videos with rotation and timestamps")
    container = av.open(str(path), "w", options=options or {})
    for key, value in (metadata or {}).items():
        container.metadata[key] = value
    stream = container.add_stream("libx264", rate=30)
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    stream.codec_context.time_base = fractions.Fraction(1, 1000)  # the muxer picks the stream's
    if rotation:
        stream.set_display_rotation(rotation)
    for i, pts in enumerate(pts_ms):
        image = np.full((size[1], size[0], 3), (10 + 12 * i) % 250, np.uint8)
        image[:40, :40] = 255
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts = pts
        frame.time_base = stream.codec_context.time_base
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    return path


def frame_number(image: np.ndarray) -> int:
    """The index of a frame written by :func:`write_video`, from its gray level away from the block."""
    level = float(np.median(image[image.shape[0] // 2 :, image.shape[1] // 2 :]))
    return int(round((level - 10) / 12))


def all_frames(path: Path) -> tuple[np.ndarray, list[np.ndarray]]:
    """Every frame, decoded the plain way, with its time from the first frame."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    stamps, images = [], []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        stamps.append(cap.get(cv2.CAP_PROP_POS_MSEC) / 1000)
        images.append(image)
    cap.release()
    stamps = np.array(stamps)
    return stamps - stamps[0], images


@needs_data
def test_probe_real_portrait_video():
    meta = probe_video(CAM01)
    assert isinstance(meta, VideoMeta)
    assert (meta.width, meta.height, meta.rotation) == (1080, 1920, 0)
    assert meta.fps == pytest.approx(60.0)
    assert meta.frames == 100
    assert meta.duration_s == pytest.approx(100 / 60)
    assert meta.variable_frame_rate is False


@needs_data
@pytest.mark.parametrize("video", [CAM01, DRIBBLE], ids=["60fps", "12fps"])
def test_frames_at_gives_the_nearest_frame(video):
    stamps, images = all_frames(video)
    meta = probe_video(video)
    times = np.sort(np.random.default_rng(0).uniform(0, meta.duration_s - 1 / meta.fps, 12))
    times = np.concatenate([np.arange(0, meta.duration_s, 0.1), times])
    times.sort()
    got = list(frames_at(video, times, meta=meta))
    assert [j for j, _, _ in got] == list(range(len(times)))
    for j, stamp, image in got:
        nearest = int(np.argmin(np.abs(stamps - times[j])))
        assert abs(stamp - times[j]) == pytest.approx(abs(stamps[nearest] - times[j]), abs=1e-6)
        chosen = int(np.argmin(np.abs(stamps - stamp)))
        assert np.array_equal(image, images[chosen])


@needs_data
def test_frames_at_skips_times_past_the_end():
    times = np.array([0.0, 1.0, 1.65, 1.66, 1.7, 5.0])
    got = [(j, stamp) for j, stamp, _ in frames_at(CAM01, times)]
    assert [j for j, _ in got] == [0, 1, 2, 3]
    assert got[-1][1] == pytest.approx(1.65)


def test_frames_at_rejects_unordered_times(tmp_path):
    path = write_video(tmp_path / "v.mp4", [0, 33, 67])
    with pytest.raises(ValueError, match="ascending"):
        list(frames_at(path, np.array([0.1, 0.0])))


def test_rotation_metadata_is_applied(tmp_path):
    # Coded landscape 320x180, displayed portrait like an iPhone: rotate 90 degrees clockwise.
    path = write_video(tmp_path / "portrait.mp4", [0, 33, 67, 100], rotation=-90)
    meta = probe_video(path)
    assert (meta.width, meta.height, meta.rotation) == (180, 320, 90)
    _, _, image = next(frames_at(path, np.array([0.0]), meta=meta))
    assert image.shape == (320, 180, 3)
    # The block in the coded top-left corner is in the displayed top-right corner.
    assert image[:30, -30:].mean() > 200
    assert image[:30, :30].mean() < 100


def test_variable_frame_rate_uses_presentation_times(tmp_path):
    pts = [0, 33, 67, 100, 200, 233, 500, 533, 567, 600]
    path = write_video(tmp_path / "vfr.mp4", pts)
    meta = probe_video(path)
    assert meta.variable_frame_rate is True
    assert meta.frames == len(pts)
    times = np.round(np.arange(0.004, 0.65, 0.05), 3)  # no ties between two frames
    got = {j: (stamp, frame_number(image)) for j, stamp, image in frames_at(path, times, meta=meta, max_offset_s=0.05)}
    stamps = np.array(pts) / 1000
    for j, t in enumerate(times):
        nearest = int(np.argmin(np.abs(stamps - t)))
        if abs(stamps[nearest] - t) > 0.05:
            assert j not in got, f"time {t} is in a gap and must be skipped"
        else:
            assert got[j][0] == pytest.approx(stamps[nearest], abs=1e-3)
            assert got[j][1] == nearest


def test_constant_frame_rate_is_not_variable(tmp_path):
    path = write_video(tmp_path / "cfr.mp4", [round(i * 1000 / 30) for i in range(12)])
    meta = probe_video(path)
    assert meta.variable_frame_rate is False
    assert meta.duration_s == pytest.approx(12 / 30, abs=0.005)


def test_creation_time_from_the_container(tmp_path):
    plain = write_video(tmp_path / "a.mp4", [0, 33], metadata={"creation_time": "2023-05-01T10:00:00.000000Z"})
    assert probe_video(plain).creation_time == "2023-05-01T10:00:00Z"
    apple = write_video(
        tmp_path / "b.mov",
        [0, 33],
        options={"movflags": "use_metadata_tags"},
        metadata={"com.apple.quicktime.creationdate": "2023-05-01T12:00:00+0200"},
    )
    assert probe_video(apple).creation_time == "2023-05-01T12:00:00+0200"
    assert probe_video(write_video(tmp_path / "c.mp4", [0, 33])).creation_time is None


def test_zero_byte_video(tmp_path):
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.mp4: empty video file") as info:
        probe_video(path)
    assert "\n" not in str(info.value)


@needs_data
def test_truncated_video_without_moov(tmp_path):
    path = tmp_path / "cut.mp4"
    path.write_bytes(CAM01.read_bytes()[: CAM01.stat().st_size // 2])
    with pytest.raises(InputError, match=r"cut\.mp4: truncated video") as info:
        probe_video(path)
    assert "\n" not in str(info.value)


def test_truncated_faststart_video(tmp_path):
    whole = write_video(tmp_path / "whole.mp4", list(range(0, 2000, 33)), options={"movflags": "faststart"})
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    with pytest.raises(InputError, match=r"truncated video: box 'mdat' runs past the end"):
        probe_video(cut)
    assert probe_video(whole).frames == len(range(0, 2000, 33))


def test_not_a_video(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("these are not frames\n" * 50)
    with pytest.raises(InputError, match=r"notes\.mp4"):
        probe_video(path)


def test_missing_video(tmp_path):
    with pytest.raises(InputError, match="nowhere.mp4: missing file"):
        probe_video(tmp_path / "nowhere.mp4")
