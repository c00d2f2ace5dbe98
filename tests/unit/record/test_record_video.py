"""Phone video import, live capture of a real video file, the sync mark."""

from __future__ import annotations

import csv
import struct
from datetime import UTC, datetime

from miakit.contracts.session import validate_session
from miakit.devices.profiles import load_profile
from miakit.record.session_writer import SessionWriter
from miakit.record.video import LiveCapture, import_video, mark_sync, probe_video


def _writer(tmp_path):
    profile = load_profile("m40")
    return SessionWriter(
        tmp_path / "session",
        session_id="v",
        subject="S01",
        exercise=None,
        profile=profile,
        profile_bytes=open(profile.path, "rb").read(),
        sensors={"A": "LeftBicep"},
        start_time=datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC),
    )


def _as_phone_video(src, dst, *, created: datetime, rotation_matrix=(0, 1, -1, 0)):
    """A copy of a real MP4 with the creation time and track rotation a phone would write."""
    data = bytearray(src.read_bytes())
    mvhd = data.index(b"mvhd")
    secs = int((created - datetime(1904, 1, 1, tzinfo=UTC)).total_seconds())
    assert data[mvhd + 4] == 0  # version 0: 32-bit times
    struct.pack_into(">I", data, mvhd + 8, secs)
    tkhd = data.index(b"tkhd")
    assert data[tkhd + 4] == 0
    # tkhd v0: type, version+flags, 20 bytes of times/ids/duration, 8 reserved, layer, group,
    # volume, reserved (8), then the 3x3 matrix row by row: a b u / c d v / x y w (16.16 fixed)
    matrix = tkhd + 4 + 4 + 20 + 8 + 8
    a, b, c, d = (v * 65536 for v in rotation_matrix)
    struct.pack_into(">2i", data, matrix, a, b)
    struct.pack_into(">2i", data, matrix + 12, c, d)
    dst.write_bytes(bytes(data))
    return dst


def test_probe_real_video(video_dir):
    probe = probe_video(video_dir / "pose2sim-single-cam01.mp4")
    assert (probe.fps, probe.width, probe.height, probe.frames, probe.rotation) == (60.0, 1080, 1920, 100, 0)


def test_import_phone_video_with_rotation_and_creation_time(tmp_path, video_dir):
    created = datetime(2024, 5, 1, 12, 0, 7, tzinfo=UTC)
    phone = _as_phone_video(video_dir / "mmhuman3d-single-person.mp4", tmp_path / "IMG_0001.mov", created=created)
    writer = _writer(tmp_path)
    info = import_video(writer, phone)
    writer.close()
    assert info.rotation == 90 and (info.width, info.height) == (1920, 1080)
    assert info.fps == 12.0 and info.frames == 40
    assert info.start_host_time == 7.0 and info.creation_time.startswith("2024-05-01T12:00:07")
    meta = validate_session(writer.folder)
    assert meta.video.file == "video.mov" and (writer.folder / "video.mov").read_bytes() == phone.read_bytes()


def test_live_capture_of_a_real_file_stamps_every_frame(tmp_path, video_dir):
    writer = _writer(tmp_path)
    capture = LiveCapture(writer, str(video_dir / "mmhuman3d-single-person.mp4"), pace=True)
    capture.start()
    capture.wait(10)
    sync_time = mark_sync(writer, what="clap")
    info = capture.stop()
    writer.close()
    assert info.frames == 40 and info.frame_times == "video_frames.csv" and info.fps == 12.0
    with open(writer.folder / "video_frames.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    times = [float(r["host_time"]) for r in rows]
    assert [int(r["frame"]) for r in rows] == list(range(40))
    assert all(b > a for a, b in zip(times, times[1:]))
    assert 3.1 < times[-1] - times[0] < 6.0  # paced at 12 fps: 39/12 = 3.25 s, not as fast as decoding
    import cv2

    cap = cv2.VideoCapture(str(writer.folder / "video.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 40
    cap.release()
    meta = validate_session(writer.folder)
    assert meta.video.source == "camera"
    with open(writer.folder / "events.csv", newline="") as fh:
        events = list(csv.DictReader(fh))
    assert [(e["kind"], e["detail"]) for e in events] == [("sync", "clap")]
    assert float(events[0]["host_time"]) == round(sync_time, 6)
