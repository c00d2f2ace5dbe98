"""Session folders written by miakit's own SessionWriter, for tests (no mocks)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np


def standing_pose(t: float, *, width: int = 1080, height: int = 1920, clap_at: float | None = None) -> np.ndarray:
    """A simple upright BODY_25 pose (25, 3) whose right arm swings with time; with ``clap_at``,
    both wrists meet in front of the chest around that time (a fast, brief movement)."""
    from miakit.layout import KP

    cx, top = width / 2, height * 0.2
    pts = {
        "Nose": (cx, top),
        "Neck": (cx, top + 120),
        "RShoulder": (cx - 110, top + 130),
        "LShoulder": (cx + 110, top + 130),
        "RElbow": (cx - 130, top + 330),
        "LElbow": (cx + 130, top + 330),
        "LWrist": (cx + 140, top + 520),
        "MidHip": (cx, top + 560),
        "RHip": (cx - 80, top + 560),
        "LHip": (cx + 80, top + 560),
        "RKnee": (cx - 85, top + 860),
        "LKnee": (cx + 85, top + 860),
        "RAnkle": (cx - 90, top + 1150),
        "LAnkle": (cx + 90, top + 1150),
        "REye": (cx - 25, top - 20),
        "LEye": (cx + 25, top - 20),
        "REar": (cx - 55, top),
        "LEar": (cx + 55, top),
        "LBigToe": (cx + 120, top + 1200),
        "LSmallToe": (cx + 140, top + 1195),
        "LHeel": (cx + 85, top + 1170),
        "RBigToe": (cx - 120, top + 1200),
        "RSmallToe": (cx - 140, top + 1195),
        "RHeel": (cx - 85, top + 1170),
    }
    angle = 0.8 * np.sin(2 * np.pi * 0.5 * t)
    ex, ey = pts["RElbow"]
    pts["RWrist"] = (ex - 190 * np.sin(angle), ey + 190 * np.cos(angle))
    if clap_at is not None:
        w = float(np.exp(-(((t - clap_at) / 0.12) ** 2)))
        for side in ("RWrist", "LWrist"):
            x, y = pts[side]
            pts[side] = (x + w * (cx - x), y + w * (top + 250 - y))
    out = np.zeros((25, 3))
    for name, (x, y) in pts.items():
        out[KP[name]] = (x, y, 0.9)
    return out


def write_session(
    folder: Path,
    *,
    duration_s: float = 12.0,
    sensors: dict[str, str] | None = None,
    seed: int = 0,
    keypoint_start: float = 0.4,
    drop: tuple[float, float] | None = None,
    bad_payloads: int = 0,
    close: bool = True,
    keypoints: bool = True,
    exercise: str | None = "squat",
    subject: str = "subject01",
    clap_at: float | None = None,
    clock_error_s: float = 0.0,
    markers: list[tuple[float, str]] = (),
) -> Path:
    """A small but complete session written by SessionWriter: M40 packets with BLE-like jitter,
    OpenPose keypoints at 30 fps. ``drop`` = (start_s, stop_s) of a disconnect on the first sensor.
    ``markers``: (host time, detail) marker events such as (2.0, "start:squat").
    ``clap_at``: a sync clap at that host time (wrists meet; every muscle bursts 75 ms earlier) and a
    ``sync`` event. ``clock_error_s``: session.yaml states the keypoints' start this much too late."""
    from miakit.contracts.session import KeypointsInfo
    from miakit.devices.decoders import encode_m40_envelope_v1
    from miakit.devices.profiles import load_profile
    from miakit.record.session_writer import SessionWriter
    from miakit.stages.openpose import frame_filename, write_frame

    rng = np.random.default_rng(seed)
    profile = load_profile("m40")
    sensors = sensors or {"M40-01": "RightBicep", "M40-02": "LeftQuad"}
    writer = SessionWriter(
        folder,
        session_id=folder.name,
        subject=subject,
        exercise=exercise,
        profile=profile,
        profile_bytes=Path(profile.path).read_bytes(),
        sensors=sensors,
        start_time=datetime(2026, 1, 1, tzinfo=UTC),
        host_monotonic_at_start=0.0,
    )
    rows = []
    for i, sensor in enumerate(sensors):
        offset = rng.uniform(0, 0.1)
        for k in range(int(duration_s * 10)):
            t = offset + k / 10
            if drop and i == 0 and drop[0] <= t < drop[1]:
                continue
            value = 20 + 15 * np.sin(2 * np.pi * 0.5 * t + i)
            if clap_at is not None:
                value += 120 * np.exp(-(((t - clap_at + 0.075) / 0.1) ** 2))
            rows.append((t + rng.uniform(0.0075, 0.045), sensor, encode_m40_envelope_v1(k, value)))
    rows.sort(key=lambda r: r[0])
    writer.add_event(0.0, "start")
    for t, detail in markers:
        writer.add_event(t, "marker", detail=detail)
    for j, (t, sensor, payload) in enumerate(rows):
        writer.add_packet(t, sensor, payload if j >= bad_payloads else b"\xff")
    if keypoints:
        kp_dir = folder / "keypoints"
        kp_dir.mkdir()
        n = int((duration_s - keypoint_start - 0.5) * 30)
        for f in range(n):
            write_frame(kp_dir / frame_filename(f), [standing_pose(keypoint_start + f / 30, clap_at=clap_at)])
        writer.set_keypoints(
            KeypointsInfo(
                format="openpose_json",
                dir="keypoints",
                fps=30,
                width=1080,
                height=1920,
                start_host_time=keypoint_start + clock_error_s,
                estimator="openpose",
            )
        )
    if clap_at is not None:
        writer.add_event(clap_at - 0.3, "sync", detail="clap")  # the recorder's cue comes a little early
    if close:
        writer.add_event(duration_s, "stop")
        writer.close()
    else:
        writer.flush()
    return folder


def write_raw_session(folder: Path, *, seconds: float = 6.0, seed: int = 0) -> Path:
    """A session of one raw-sEMG sensor of the ``generic`` profile (int16 microvolts at 1 kHz, 20
    samples a notification) on LeftQuad, with OpenPose keypoints at 30 fps from 0.5 s."""
    from miakit.contracts.session import KeypointsInfo
    from miakit.devices.profiles import load_profile
    from miakit.record.session_writer import SessionWriter
    from miakit.stages.openpose import frame_filename, write_frame

    rng = np.random.default_rng(seed)
    generic = load_profile("generic")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    writer = SessionWriter(
        folder,
        session_id=folder.name,
        subject="s",
        exercise="squat",
        profile=generic,
        profile_bytes=Path(generic.path).read_bytes(),
        sensors={"EMG-1": "LeftQuad"},
        start_time=start,
        host_monotonic_at_start=0.0,
    )
    samples = (rng.normal(0, 300, (int(seconds * 50), 20))).astype("<i2")  # 50 notifications a second
    for k, block in enumerate(samples):
        writer.add_packet((k + 1) / 50 + 0.01, "EMG-1", block.tobytes())
    (folder / "keypoints").mkdir()
    for f in range(int((seconds - 1.0) * 30)):
        write_frame(folder / "keypoints" / frame_filename(f), [standing_pose(0.5 + f / 30)])
    writer.set_keypoints(
        KeypointsInfo(
            format="openpose_json",
            dir="keypoints",
            fps=30,
            width=1080,
            height=1920,
            start_host_time=0.5,
            estimator="openpose",
        )
    )
    writer.close()
    return folder
