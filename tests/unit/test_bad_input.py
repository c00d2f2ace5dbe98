"""Bad input to build-dataset: each case is one clear line in the report, and the rest is built."""

from __future__ import annotations

import pytest

from miakit.pipeline import build_dataset


def _build_with_bad(tmp_path, session_factory, damage) -> str:
    session_factory("good")
    bad = session_factory("bad", seed=5)
    damage(bad)
    result = build_dataset(tmp_path / "sessions", tmp_path / "ds.zarr", progress=False)
    reasons = {r.session: r.reason for r in result.reports}
    assert reasons["good"] == "" and result.segments == 1
    reason = next(v for k, v in reasons.items() if k != "good")
    assert reason and "\n" not in reason
    return reason


def _edit(path, old, new):
    path.write_text(path.read_text().replace(old, new, 1))


def test_emg_times_going_backwards(tmp_path, session_factory):
    def damage(folder):
        lines = (folder / "emg.csv").read_text().splitlines()
        lines[50], lines[60] = lines[60], lines[50]
        (folder / "emg.csv").write_text("\n".join(lines) + "\n")

    reason = _build_with_bad(tmp_path, session_factory, damage)
    assert "emg.csv: line 52: host times go backwards" in reason


def test_emg_with_nan_times(tmp_path, session_factory):
    def damage(folder):
        lines = (folder / "emg.csv").read_text().splitlines()
        lines[20] = "nan," + lines[20].split(",", 1)[1]
        (folder / "emg.csv").write_text("\n".join(lines) + "\n")

    assert "emg.csv: line 21: unreadable row" in _build_with_bad(tmp_path, session_factory, damage)


def test_a_crash_cut_last_row_is_fine(tmp_path, session_factory):
    folder = session_factory("cut", close=False)
    with (folder / "emg.csv").open("a") as fh:
        fh.write("12.3456,M40-0")  # the process died mid-row
    result = build_dataset(tmp_path / "sessions", tmp_path / "ds.zarr", progress=False)
    assert result.reports[0].kept and result.reports[0].truncated


def test_missing_sensor(tmp_path, session_factory):
    """One dead sensor does not discard the session: its muscle is missing (NaN), the rest is kept."""
    import numpy as np
    import xarray as xr

    session_factory("good")
    bad = session_factory("bad", seed=5)
    lines = (bad / "emg.csv").read_text().splitlines()
    (bad / "emg.csv").write_text("\n".join(line for line in lines if ",M40-02," not in line) + "\n")
    result = build_dataset(tmp_path / "sessions", tmp_path / "ds.zarr", progress=False)
    report = next(r for r in result.reports if r.session == "bad")
    assert report.kept and "no EMG from sensor M40-02: LeftQuad left missing (NaN)" in report.notes
    ds = xr.open_zarr(tmp_path / "ds.zarr")
    k = list(ds["segment"].values).index("bad")
    start, length = int(ds["segment_start"][k]), int(ds["segment_length"][k])
    emg = ds["emg"].sel(muscle=["RightBicep", "LeftQuad"]).values[start : start + length]
    assert result.segments == 2 and np.isfinite(emg[:, 0]).mean() > 0.9 and np.isnan(emg[:, 1]).all()
    assert ds["valid"].values[start : start + length].mean() > 0.5


def test_no_sensor_at_all(tmp_path, session_factory):
    def damage(folder):
        lines = (folder / "emg.csv").read_text().splitlines()
        (folder / "emg.csv").write_text(lines[0] + "\n")

    reason = _build_with_bad(tmp_path, session_factory, damage)
    assert "sensors: no EMG from any mapped sensor" in reason and "M40-02" in reason


def test_unknown_profile(tmp_path, session_factory):
    reason = _build_with_bad(
        tmp_path, session_factory, lambda f: _edit(f / "profile.yaml", "decoder: m40_envelope_v1", "decoder: m41_magic")
    )
    assert "profile.yaml: decoder: unknown decoder 'm41_magic'" in reason


def test_malformed_session_yaml(tmp_path, session_factory):
    reason = _build_with_bad(
        tmp_path, session_factory, lambda f: _edit(f / "session.yaml", "subject: subject01", "subject: [oops")
    )
    assert "session.yaml: not valid YAML at line" in reason


@pytest.mark.parametrize("bad_value", ["sensors: {}", "status: finished"])
def test_session_yaml_with_wrong_fields(tmp_path, session_factory, bad_value):
    key = bad_value.split(":")[0]

    def damage(folder):
        import yaml

        data = yaml.safe_load((folder / "session.yaml").read_text())
        data[key] = yaml.safe_load(bad_value)[key]
        (folder / "session.yaml").write_text(yaml.safe_dump(data))

    assert f"session.yaml: {key}:" in _build_with_bad(tmp_path, session_factory, damage)


def _with_video(folder, video_bytes: bytes | None = None, *, source=None, start_host_time=1.0):
    """Replace a session's keypoints with a video (so the pipeline must estimate the pose)."""
    import shutil

    import yaml

    shutil.rmtree(folder / "keypoints")
    target = folder / "video.mp4"
    if source is not None:
        shutil.copy(source, target)
    else:
        target.write_bytes(video_bytes)
    meta = yaml.safe_load((folder / "session.yaml").read_text())
    meta["keypoints"] = None
    meta["video"] = {
        "file": "video.mp4",
        "source": "phone",
        "fps": 60.0,
        "width": 1080,
        "height": 1920,
        "rotation": 0,
        "frames": 100,
        "start_host_time": start_host_time,
        "frame_times": None,
        "creation_time": None,
    }
    (folder / "session.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))


def test_zero_byte_video(tmp_path, session_factory):
    reason = _build_with_bad(tmp_path, session_factory, lambda f: _with_video(f, b""))
    assert "video.mp4" in reason


def test_truncated_video(tmp_path, session_factory, shared_data):
    source = (shared_data / "video" / "pose2sim-single-cam01.mp4").read_bytes()
    reason = _build_with_bad(tmp_path, session_factory, lambda f: _with_video(f, source[: len(source) // 3]))
    assert "video.mp4" in reason


def test_no_person_in_view(tmp_path, session_factory):
    import cv2
    import numpy as np

    def damage(folder):
        _with_video(folder, b"")
        writer = cv2.VideoWriter(str(folder / "video.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 30, (270, 480))
        for i in range(90):  # 3 s of an empty room
            writer.write(np.full((480, 270, 3), 40 + i % 5, np.uint8))
        writer.release()

    assert "no person in view" in _build_with_bad(tmp_path, session_factory, damage)


def test_video_shorter_than_the_emg_is_built_with_a_note(tmp_path, session_factory, shared_data):
    folder = session_factory("short", duration_s=12)
    _with_video(
        folder, source=shared_data / "video" / "pose2sim-single-cam01.mp4", start_host_time=2.0
    )  # 1.7 s of video
    result = build_dataset(tmp_path / "sessions", tmp_path / "ds.zarr", progress=False)
    (report,) = result.reports
    assert report.kept and any(n.startswith("video covers 1.6 of") for n in report.notes), report.notes
    assert 15 <= result.frames <= 18  # only where both are present
