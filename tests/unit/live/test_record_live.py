"""``miakit record --emulate --live-predict CKPT``: the page, open in a real headless browser, shows
the emulated sensors' measured EMG (and, with a live video, the predicted muscles beside it), and
the recording builds with build-dataset as one recorded without the page: the same files, fields
and dataset layout. Two recordings never hold the same samples, so "exactly" is checked on a
replay: the same recording played back with the page and without it builds into identical datasets."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from live_support import read_page

import miakit
from miakit.layout import MUSCLES
from miakit.pipeline import build_dataset

REPO = Path(__file__).resolve().parents[3]


def record(out: Path, *extra: str, duration: float = 4.0, browser=None, replay: Path | None = None):
    """Record emulated M40 sensors (or replay a recording) with the command; with ``browser``, open
    the live page and read it until the recording ends. Returns (session folder, what the page showed)."""
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    if replay is None:
        args = ["record", "--recorder", "m40", "--emulate", "--exercise", "squat", "--subject", "S03"]
        args += ["--duration", str(duration)]
    else:
        args = ["record", "--replay", str(replay)]
    args += ["--out", str(out), *extra]
    proc = subprocess.Popen(
        [sys.executable, "-m", "miakit", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    shown: list[dict] = []
    err: list[str] = []
    if browser is not None:
        for line in proc.stderr:
            err.append(line)
            if line.startswith("live page: "):
                browser.get(line.split()[2])
                break
        while proc.poll() is None:
            page = read_page(browser)
            if page["index"] not in (None, ""):
                shown.append(page)
            time.sleep(0.1)
    stdout, rest = proc.communicate(timeout=300)
    assert proc.returncode == 0, "".join(err) + rest
    return Path(stdout.strip().splitlines()[-1]), shown


def assert_builds_alike(with_page: Path, without: Path, tmp_path: Path) -> None:
    """The same session files and session.yaml fields; the same dataset layout from build-dataset."""
    assert sorted(p.name for p in with_page.iterdir()) == sorted(p.name for p in without.iterdir())
    a, b = (yaml.safe_load((f / "session.yaml").read_text()) for f in (with_page, without))
    assert sorted(a) == sorted(b) and a["sensors"] == b["sensors"] and a["recorder"] == b["recorder"]
    stores = []
    for name, folder in (("with", with_page), ("without", without)):
        build_dataset(folder, tmp_path / f"{name}.zarr", pipeline="emg-only", progress=False)
        stores.append(miakit.open_dataset(tmp_path / f"{name}.zarr"))
    ds_with, ds_without = stores
    assert set(ds_with.data_vars) == set(ds_without.data_vars)
    assert set(ds_with.dims) == set(ds_without.dims) and ds_with.sizes["segment"] == ds_without.sizes["segment"]
    # (their lengths differ: what two recordings keep of their seconds varies, most on a loaded machine)
    assert list(ds_with["segment_exercise"].values) == list(ds_without["segment_exercise"].values) == ["squat"]
    for name in ("emg_units", "modalities", "muscles", "rate_hz"):
        assert ds_with.attrs.get(name) == ds_without.attrs.get(name), name
    valid = np.asarray(ds_with["valid"].values, dtype=bool)
    assert valid.mean() > 0.5 and np.isfinite(ds_with["emg"].values[valid]).all()


def test_record_with_the_live_page_shows_the_sensors_and_builds_as_without(checkpoint, browser, tmp_path):
    folder, shown = record(tmp_path / "a", "--live-predict", str(checkpoint), "--live-port", "0", browser=browser)
    plain, _ = record(tmp_path / "b")
    measured = [p for p in shown if all(p["rows"][m][1] is not None for m in MUSCLES)]
    assert len(measured) >= 5, shown[-1:] or "the page showed nothing"
    assert all(all(v[0] is None for v in p["rows"].values()) for p in shown)  # no video: no prediction
    values = np.array([[p["rows"][m][1] for m in MUSCLES] for p in measured])
    assert np.ptp(values, axis=0).max() > 0  # the measured EMG moves
    assert_builds_alike(folder, plain, tmp_path)


@pytest.mark.slow  # about a minute here: a recording, then two replays of it and their builds
def test_a_replay_with_the_live_page_builds_exactly_as_without(checkpoint, browser, tmp_path):
    folder, _ = record(tmp_path / "a")
    page = ["--live-predict", str(checkpoint), "--live-port", "0"]
    replayed_with, shown = record(tmp_path / "c", *page, replay=folder, browser=browser)
    replayed_without, _ = record(tmp_path / "d", replay=folder)
    assert shown, "the page showed nothing during the replay"
    stores = []
    for name, f in (("c", replayed_with), ("d", replayed_without)):
        build_dataset(f, tmp_path / f"{name}.zarr", pipeline="emg-only", progress=False)
        stores.append(miakit.open_dataset(tmp_path / f"{name}.zarr"))
    a, b = stores
    assert dict(a.sizes) == dict(b.sizes)
    for name in [*a.data_vars, *a.coords]:
        if name not in ("segment", "segment_session", "session", "frame_segment"):
            np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)


@pytest.mark.slow  # a minute or more: MediaPipe and the model beside the emulated sensors for 25 s
def test_record_with_a_live_video_shows_predicted_beside_measured(checkpoint, browser, shared_data, tmp_path):
    import cv2

    clip = shared_data / "video" / "mmhuman3d-single-person.mp4"  # 3.3 s: played 8 times into one 26 s file
    cap, frames = cv2.VideoCapture(str(clip)), []
    while (ok := cap.read())[0]:
        frames.append(ok[1])
    long = tmp_path / "long.mp4"
    writer = cv2.VideoWriter(str(long), cv2.VideoWriter_fourcc(*"mp4v"), 12.0, frames[0].shape[1::-1])
    for _ in range(8):
        for frame in frames:
            writer.write(frame)
    writer.release()
    video = ["--video", f"live:{long}"]
    folder, shown = record(
        tmp_path / "a", *video, "--live-predict", str(checkpoint), "--live-port", "0", duration=25, browser=browser
    )
    plain, _ = record(tmp_path / "b", *video, duration=25)
    both = [p for p in shown if all(p["rows"][m][0] is not None and p["rows"][m][1] is not None for m in MUSCLES)]
    assert len(both) >= 3, shown[-1:]
    assert "ms median" in both[-1]["latency"]
    assert_builds_alike(folder, plain, tmp_path)
