"""Reliability of `miakit record` with emulated sensors (issue 3): random disconnects, SIGKILL."""

from __future__ import annotations

import asyncio
import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sample_files import sample_path

import miakit
from miakit.contracts.session import validate_session
from miakit.devices.profiles import load_profile
from miakit.layout import MUSCLES
from miakit.record.ble import BleBackend, BleRecorder
from miakit.record.bumble_backend import BumbleRadio
from miakit.record.emulator import Emulator, Faults, sensor_names
from miakit.record.session_writer import SessionWriter

REPO = Path(__file__).resolve().parents[2]
UCI_FILE = sample_path("emg", "uci-physical-action", "sub02", "Normal", "txt", "Jumping.txt")


def _rows(path: Path) -> list[dict]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_eight_sensors_20s_random_disconnects_nothing_lost_or_doubled(tmp_path):
    profile = load_profile("m40")
    names = sensor_names(profile, 8)
    duration = 21.0
    faults = Faults.random_disconnects(names, count=6, duration_s=duration, down_s=(0.3, 1.5), seed=3)
    sensors = dict(zip(names, MUSCLES))
    rng = np.random.default_rng(0)
    signals = {n: rng.uniform(0, 500, 400) for n in names}

    async def run():
        radio = BumbleRadio()
        emulator = Emulator(profile, signals, link=radio.link, faults=faults, rate_hz=10.0)
        await radio.start()
        await emulator.start()
        writer = SessionWriter(
            tmp_path / "s",
            session_id="rel",
            subject="S01",
            exercise=None,
            profile=profile,
            profile_bytes=open(profile.path, "rb").read(),
            sensors=sensors,
            emulated=True,
        )
        recorder = BleRecorder(profile, writer, sensors, backend=BleBackend.emulated(radio), backoff_s=(0.1, 1.0))
        await recorder.find()
        await recorder.connect_all()
        task = asyncio.create_task(recorder.stream())
        await asyncio.sleep(duration)
        stopped_at = asyncio.get_running_loop().time()
        recorder.stop()
        await task
        await recorder.close()
        writer.close()
        await emulator.stop()
        return emulator, writer.folder, stopped_at

    emulator, folder, stopped_at = asyncio.run(run())
    validate_session(folder)
    rows = _rows(folder / "emg.csv")
    events = _rows(folder / "events.csv")
    for name in names:
        got = [bytes.fromhex(r["payload"]) for r in rows if r["sensor"] == name]
        sent = [payload for _, payload in emulator[name].sent]
        # the sensors keep streaming while the recorder stops: what was sent while it recorded
        # (up to 0.2 s before the stop) must all be there; anything later may or may not be
        recorded_span = sum(1 for t, _ in emulator[name].sent if t < stopped_at - 0.2)
        assert recorded_span > 100
        assert got == sent[: len(got)] and len(got) >= recorded_span, (
            f"{name}: {len(got)} recorded, {recorded_span} sent while recording"
        )
        times = [float(r["host_time"]) for r in rows if r["sensor"] == name]
        assert times == sorted(times)
    planned = sorted(d.sensor for d in faults.disconnects)
    assert sorted(e["sensor"] for e in events if e["kind"] == "disconnect") == planned
    gaps = [e for e in events if e["kind"] == "gap" and e["detail"].startswith("disconnected")]
    assert sorted(e["sensor"] for e in gaps) == planned
    for gap in gaps:
        fields = dict(part.split("=") for part in gap["detail"].split()[1:])
        start, end = float(fields["start"]), float(fields["end"])
        assert 0 < start < end <= float(gap["host_time"]) + 1e-6
        # no packet of that sensor inside the gap
        inside = [r for r in rows if r["sensor"] == gap["sensor"] and start < float(r["host_time"]) < end]
        assert not inside


def test_sigkill_mid_session_leaves_a_valid_truncated_session_that_builds(tmp_path):
    if not UCI_FILE.is_file():
        pytest.skip(f"real EMG not found at {UCI_FILE}")
    out = tmp_path / "sessions"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "miakit.cli",
            "record",
            "--recorder",
            "m40",
            "--out",
            str(out),
            "--emulate",
            "--duration",
            "60",
            "--exercise",
            "squat",
            "--emulate-source",
            str(UCI_FILE),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    try:
        deadline = time.monotonic() + 30
        emg = None
        while time.monotonic() < deadline:
            found = list(out.glob("*/emg.csv"))
            if found and found[0].stat().st_size > 2000:
                emg = found[0]
                break
            time.sleep(0.2)
        assert emg is not None, "the recorder never started writing"
        time.sleep(2.5)
        killed_at = time.monotonic()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    folder = emg.parent
    meta = validate_session(folder)
    assert meta.status == "recording"
    rows = _rows(folder / "emg.csv")
    last = max(float(r["host_time"]) for r in rows)
    killed_host_time = killed_at - meta.clock.host_monotonic_at_start
    assert killed_host_time - last <= 1.0 + 0.25  # at most the last second (plus one 10 Hz tick) lost
    assert len({r["sensor"] for r in rows}) == 8
    store = tmp_path / "store.zarr"
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "miakit.cli",
            "build-dataset",
            str(out),
            "--out",
            str(store),
            "--pipeline",
            "emg-only",
            "--catalog",
            str(tmp_path / "catalog.yaml"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-2000:]

    ds = miakit.open_dataset(store)
    assert ds.attrs["modalities"] == ["emg"] and bool(ds["valid"].any())
    flags = [str(f) for f in ds["segment_flags"].values]
    assert any("truncated" in f for f in flags), flags
