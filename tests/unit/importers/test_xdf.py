"""`miakit import xdf`: XDF files written here (tests/lsl_support.py) from emulated LSL streams, read
by pyxdf on its synchronized clock, imported as sessions, built like recorded ones."""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from lsl_support import XdfStream, loopback_env, write_xdf

from miakit.contracts.session import validate_session
from miakit.layout import MUSCLES

ENV = loopback_env()  # before pylsl's first call in this process
CLOCK_A, CLOCK_B = 0.75, 4e-5
"""The emulated device's clock is behind the recorder's by CLOCK_A + CLOCK_B * t seconds."""
TOLERANCE_S = 1e-3
"""How close imported times must come to the recorder's clock (a sample is 1 ms at 1 kHz)."""


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "miakit.cli", *args], capture_output=True, text=True, timeout=120, env=ENV
    )


def _record_xdf(path: Path, seconds: float = 2.0) -> dict:
    """A tiny LabRecorder: pull the emulated EMG device, a marker outlet and a video frame-time outlet
    over real LSL, then write what came with the device's clock off by CLOCK_A + CLOCK_B t (and the
    clock offsets that say so), as a recording from a device on another host would look."""
    import pylsl

    from miakit.record.emulator import LslOutlet
    from miakit.record.signals import lsl_signals

    signal, labels, rate = lsl_signals(kind="raw", duration_s=10.0)
    markers = pylsl.StreamOutlet(
        pylsl.StreamInfo("xdf-test-markers", "Markers", 1, 0, pylsl.cf_string, "xdf-test-markers")
    )
    frames = pylsl.StreamOutlet(
        pylsl.StreamInfo("xdf-test-frames", "VideoFrames", 1, 30, pylsl.cf_int32, "xdf-test-frames")
    )
    pulled = {"emg": ([], []), "markers": ([], []), "frames": ([], [])}
    pushed = {"markers": [], "frames": []}
    with LslOutlet("xdf-test-emg", signal, rate_hz=rate, labels=labels):
        inlets = {
            key: pylsl.StreamInlet(pylsl.resolve_byprop("name", name, 1, 3.0)[0], recover=False)
            for key, name in (("emg", "xdf-test-emg"), ("markers", "xdf-test-markers"), ("frames", "xdf-test-frames"))
        }
        for inlet in inlets.values():
            inlet.open_stream(timeout=3.0)
        time.sleep(0.1)
        t0 = pylsl.local_clock()
        plan = [(0.2, "start:squat"), (0.6, "clap"), (seconds - 0.2, "stop:squat"), (seconds - 0.1, "battery low")]
        frame = 0
        while pylsl.local_clock() - t0 < seconds:
            now = pylsl.local_clock()
            while plan and now - t0 >= plan[0][0]:
                markers.push_sample([plan[0][1]], now)
                pushed["markers"].append((now, plan.pop(0)[1]))
            while now - t0 >= frame / 30:
                stamp = t0 + frame / 30
                frames.push_sample([frame], stamp)
                pushed["frames"].append((frame, stamp))
                frame += 1
            for key, inlet in inlets.items():
                data, stamps = inlet.pull_chunk(timeout=0.0)
                pulled[key][0].extend(data)
                pulled[key][1].extend(stamps)
            time.sleep(0.01)
        time.sleep(0.1)
        for key, inlet in inlets.items():
            data, stamps = inlet.pull_chunk(timeout=0.2)
            pulled[key][0].extend(data)
            pulled[key][1].extend(stamps)
        measured = inlets["emg"].time_correction(2.0)  # about 0 on one machine
    true = np.asarray(pulled["emg"][1])
    local_probe_times = np.arange(true[0] - 0.5, true[-1] + 1.0, 0.5)
    emg = XdfStream(
        "xdf-test-emg",
        "EMG",
        true - (CLOCK_A + CLOCK_B * true),
        np.asarray(pulled["emg"][0], dtype=np.float32),
        srate=rate,
        labels=labels,
        offsets=[(float(t), measured + CLOCK_A + CLOCK_B * t) for t in local_probe_times],
    )
    mk = XdfStream(
        "xdf-test-markers",
        "Markers",
        np.asarray(pulled["markers"][1]),
        pulled["markers"][0],
        fmt="string",
        offsets=[(float(true[0]), measured)],
    )
    fr = XdfStream(
        "xdf-test-frames",
        "VideoFrames",
        np.asarray(pulled["frames"][1]),
        np.asarray(pulled["frames"][0], dtype=np.int32),
        srate=30,
        fmt="int32",
        labels=["frame"],
        offsets=[(float(true[0]), measured)],
    )
    write_xdf(path, [emg, mk, fr])
    return {
        "true": true,
        "values": np.asarray(pulled["emg"][0]),
        "labels": labels,
        "markers": pushed["markers"],
        "frames": pushed["frames"],
    }


def test_xdf_of_emulated_streams_imports_on_the_synchronized_clock_and_builds(tmp_path):
    import pyxdf

    from miakit.pipeline import build_dataset
    from miakit.stages.decode import decode_emg
    from miakit.store import open_store

    rec = _record_xdf(tmp_path / "sub-07_squat.xdf")
    assert len(rec["true"]) > 1500 and len(rec["markers"]) == 4

    # pyxdf undoes the device's clock error from the offsets (the file holds the device's stamps)
    streams, _ = pyxdf.load_xdf(str(tmp_path / "sub-07_squat.xdf"))
    emg = next(s for s in streams if s["info"]["type"][0] == "EMG")
    assert np.abs(emg["time_stamps"] - rec["true"]).max() < TOLERANCE_S

    result = _cli("import", "xdf", str(tmp_path / "sub-07_squat.xdf"), "--out", str(tmp_path / "sessions"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert Path(result.stdout.strip().splitlines()[-1]) == tmp_path / "sessions"
    folder = tmp_path / "sessions" / "sub-07_squat"
    meta = validate_session(folder)
    assert meta.subject == "07" and meta.sensors == {m: m for m in MUSCLES} and meta.status == "complete"
    origin = meta.clock.lsl_clock_at_start
    assert abs(origin - rec["true"][0]) < TOLERANCE_S

    # EMG on the recorder's clock: the stamps as the recorder saw them, within a millisecond
    decoded = decode_emg(folder, meta)
    quad = decoded.sensors["LeftQuad"]
    assert decoded.profile.kind == "raw" and decoded.profile.rate_hz == 1000
    assert len(quad.arrival) == len(rec["true"])
    assert np.abs(quad.arrival + origin - rec["true"]).max() < TOLERANCE_S
    np.testing.assert_allclose(quad.values[:, 0], rec["values"][:, rec["labels"].index("LeftQuad")], rtol=1e-6)

    # markers: exercise start/stop, the sync clap, and a note for the rest, at their times
    with open(folder / "events.csv", newline="") as fh:
        events = [(float(e["host_time"]), e["kind"], e["detail"]) for e in csv.DictReader(fh)]
    want = {"start:squat": "marker", "stop:squat": "marker", "clap": "sync", "battery low": "note"}
    for stamp, text in rec["markers"]:
        kind = want[text]
        detail = text if kind != "note" else f"marker: {text}"
        match = [t for t, k, d in events if k == kind and d == detail]
        assert match and abs(match[0] - (stamp - origin)) < TOLERANCE_S, (text, events)

    # video frame times on the same clock
    with open(folder / "video_frames.csv", newline="") as fh:
        frames = [(int(r["frame"]), float(r["host_time"])) for r in csv.DictReader(fh)]
    sent = dict(rec["frames"])
    assert len(frames) >= 50 and all(abs(t - (sent[n] - origin)) < TOLERANCE_S for n, t in frames)

    build_dataset(tmp_path / "sessions", tmp_path / "s.zarr", pipeline="emg-only")
    ds = open_store(tmp_path / "s.zarr")
    assert list(ds["segment_exercise"].values) == ["squat"]
    assert ds.sizes["muscle"] == 8 and np.allclose(np.diff(ds["time"].values), 0.1)
    marked = sorted(stamp for stamp, _ in rec["markers"])
    assert abs(ds.sizes["frame"] - (marked[2] - marked[0]) * 10) <= 2  # start:squat to stop:squat at 10 Hz
    assert np.isfinite(ds["emg"].values).mean() > 0.9


def _synthetic_emg(n: int = 3000, rate: float = 1000.0) -> XdfStream:
    t = 100.0 + np.arange(n) / rate
    rng = np.random.default_rng(1)
    return XdfStream(
        "Amp",
        "EMG",
        t,
        rng.standard_normal((n, 8)).astype(np.float32),
        srate=rate,
        labels=list(MUSCLES),
        offsets=[(100.0, 0.0), (103.0, 0.0)],
    )


def test_xdf_without_an_emg_stream_is_one_line(tmp_path):
    path = write_xdf(
        tmp_path / "markers-only.xdf",
        [XdfStream("Markers", "Markers", np.array([1.0, 2.0]), [["start:squat"], ["stop:squat"]], fmt="string")],
    )
    result = _cli("import", "xdf", str(path), "--out", str(tmp_path / "sessions"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert str(path) in line and "no EMG stream" in line and "Markers (Markers)" in line
    assert not (tmp_path / "sessions").exists() or not any((tmp_path / "sessions").iterdir())


def test_not_an_xdf_file_is_one_line_and_the_other_files_are_imported(tmp_path):
    bad = tmp_path / "notes.xdf"
    bad.write_text("hello")
    good = write_xdf(tmp_path / "good.xdf", [_synthetic_emg()])
    result = _cli("import", "xdf", str(bad), str(good), "--out", str(tmp_path / "sessions"), "--exercise", "squat")
    assert result.returncode == 0, result.stderr
    assert f"skipped {bad}: not an XDF file" in result.stderr
    assert validate_session(tmp_path / "sessions" / "good").exercise == "squat"
    alone = _cli("import", "xdf", str(bad), "--out", str(tmp_path / "sessions"))
    assert alone.returncode == 2 and f"{bad}: not an XDF file" in alone.stderr.strip().splitlines()[-1]


def test_truncated_xdf_imports_what_was_recovered(tmp_path):
    """A recording cut short (no footers, the last chunk half written): pyxdf recovers the chunks
    before the cut; the import says so and the session builds."""
    from miakit.pipeline import build_dataset
    from miakit.stages.decode import decode_emg
    from miakit.store import open_store

    full = write_xdf(tmp_path / "full.xdf", [_synthetic_emg()])
    cut = tmp_path / "cut.xdf"
    cut.write_bytes(full.read_bytes()[: int(full.stat().st_size * 0.6)])
    result = _cli("import", "xdf", str(cut), "--out", str(tmp_path / "sessions"), "--exercise", "squat")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "the file was cut short: recovered Amp:" in result.stderr
    recovered = int(result.stderr.split("recovered Amp:")[1].split()[0])
    assert 1000 <= recovered < 3000
    folder = tmp_path / "sessions" / "cut"
    meta = validate_session(folder)
    with open(folder / "events.csv", newline="") as fh:
        assert any(e["kind"] == "note" and "cut short" in e["detail"] for e in csv.DictReader(fh))
    assert len(decode_emg(folder, meta).sensors["LeftQuad"].arrival) == recovered
    build_dataset(tmp_path / "sessions", tmp_path / "s.zarr", pipeline="emg-only")
    assert open_store(tmp_path / "s.zarr").sizes["frame"] >= (recovered / 1000 - 0.5) * 10


@pytest.mark.parametrize(
    "text,expected",
    [
        ("start:squat", ("marker", "start:squat")),
        ("Squat Start", ("marker", "start:squat")),
        ("stop running", ("marker", "stop:running")),
        ("sync", ("sync", "clap")),
        ("jump", ("sync", "jump")),
        ("start:flying", ("note", "marker: start:flying")),
    ],
)
def test_marker_texts(text, expected):
    from miakit.importers.xdf import parse_marker

    assert parse_marker(text) == expected


def test_video_frame_times_and_the_video(tmp_path, shared_data):
    """A VideoFrames stream becomes video_frames.csv; with --video the video comes in, frame 0 at that
    stream's time on the synchronized clock."""
    video = shared_data / "video" / "mmhuman3d-single-person.mp4"
    frames = XdfStream(
        "Camera",
        "VideoFrames",
        100.5 + np.arange(60) / 30,
        np.arange(5, 65, dtype=np.int32)[:, None],
        srate=30,
        fmt="int32",
        labels=["frame"],
        offsets=[(100.0, 0.0), (103.0, 0.0)],
    )
    path = write_xdf(tmp_path / "with-video.xdf", [_synthetic_emg(), frames])
    result = _cli(
        "import", "xdf", str(path), "--out", str(tmp_path / "sessions"), "--exercise", "squat", "--video", str(video)
    )
    assert result.returncode == 0, result.stderr[-2000:]
    meta = validate_session(tmp_path / "sessions" / "with-video")
    assert meta.video is not None and meta.video.frame_times == "video_frames.csv"
    assert (tmp_path / "sessions" / "with-video" / meta.video.file).stat().st_size == video.stat().st_size
    assert abs(meta.video.start_host_time - (0.5 - 5 / 30)) < TOLERANCE_S  # frame 5 came at 0.5 s
    with open(tmp_path / "sessions" / "with-video" / "video_frames.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert (
        len(rows) == 60
        and rows[0]["frame"] == "5"
        and abs(float(rows[-1]["host_time"]) - (0.5 + 59 / 30)) < TOLERANCE_S
    )
