"""`miakit record --source lsl:NAME` in a subprocess, from an emulated LSL device (this process) that
drops out and comes back; then `miakit build-dataset` and the store: 8 muscles at 10 Hz, the gap a gap."""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from lsl_support import loopback_env

from miakit.contracts.session import validate_session
from miakit.layout import MUSCLES
from miakit.record.emulator import LslOutlet
from miakit.record.signals import lsl_signals

ENV = loopback_env()  # before pylsl's first call in this process
DURATION_S = 7.0
DROPOUT = (0.5, 1.5)  # soon after streaming starts the device goes away for 1.5 s


def _wait_for_streaming(sessions: Path, proc, timeout_s: float = 60.0) -> None:
    """Until the recorder writes its ``start`` event (streaming began)."""
    t = time.monotonic()
    while time.monotonic() - t < timeout_s and proc.poll() is None:
        for events in sessions.glob("*/events.csv"):
            if ",start," in events.read_text():
                return
        time.sleep(0.05)
    raise AssertionError(f"the recorder did not start streaming (exit {proc.poll()})")


def _events(folder: Path) -> list[tuple[float, str, str, str]]:
    with open(folder / "events.csv", newline="") as fh:
        return [(float(e["host_time"]), e["kind"], e["sensor"], e["detail"]) for e in csv.DictReader(fh)]


def test_record_raw_lsl_stream_with_dropout_then_build(tmp_path):
    from miakit.stages.decode import decode_emg
    from miakit.store import open_store

    signal, labels, rate = lsl_signals(kind="raw", duration_s=20.0)
    with LslOutlet("lsl-it-amp", signal, rate_hz=rate, labels=labels) as device:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "miakit.cli",
                "record",
                "--source",
                "lsl:lsl-it-amp",
                "--out",
                str(tmp_path / "sessions"),
                "--duration",
                str(DURATION_S),
                "--exercise",
                "squat",
                "--scan-timeout",
                "5",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        try:
            _wait_for_streaming(tmp_path / "sessions", proc)
            device.drop(DROPOUT[1], after_s=DROPOUT[0])  # mid-recording: gone, then back
            stdout, stderr = proc.communicate(timeout=90)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, stderr[-3000:]
    assert device.error is None and len(device.gaps) == 1
    folder = Path(stdout.strip().splitlines()[-1])
    meta = validate_session(folder)
    assert meta.status == "complete" and meta.recorder.profile == "lsl"
    assert meta.sensors == {m: m for m in MUSCLES}  # the stream's channel labels name the muscles

    # events: connected, lost, back, and the gap between, as the recorder saw it
    events = _events(folder)
    kinds = [e[1] for e in events]
    assert kinds[0] == "connect" and kinds[-1] == "stop"
    assert kinds.count("disconnect") == 1 and kinds.count("reconnect") == 1
    assert ("marker", "start:squat") in [(e[1], e[3]) for e in events] and ("marker", "stop:squat") in [
        (e[1], e[3]) for e in events
    ]
    lost = next(e for e in events if e[1] == "disconnect")[0]
    back = next(e for e in events if e[1] == "reconnect")[0]
    assert 1.2 <= back - lost <= 4.0
    gap = next(e for e in events if e[1] == "gap" and e[3].startswith("disconnected"))
    assert f"start={lost:.6f}" in gap[3]

    # the clock offsets LSL measured, stored raw: one machine, so about 0
    with open(folder / meta.clock.offsets, newline="") as fh:
        offsets = [float(r["offset"]) for r in csv.DictReader(fh)]
    assert len(offsets) >= 3 and max(abs(o) for o in offsets) < 0.005

    # the samples: LSL's stamps, a hole where the device was away, every value as sent
    decoded = decode_emg(folder, meta)
    assert decoded.profile.kind == "raw" and decoded.profile.rate_hz == 1000
    quad = decoded.sensors["LeftQuad"]
    steps = np.diff(quad.arrival)
    assert abs(np.median(steps) - 0.001) < 1e-6  # the device's own 1 kHz stamps
    hole = steps.max()
    assert DROPOUT[1] - 0.05 <= hole <= DROPOUT[1] + 3.0  # the samples due while it was away were never sent
    t_hole = quad.arrival[np.argmax(steps)]
    device_gap_start = device.gaps[0][0] - meta.clock.lsl_clock_at_start
    assert abs(t_hole - device_gap_start) < 0.05  # on the host clock where the device stopped
    stamps = quad.arrival + meta.clock.lsl_clock_at_start
    k = np.rint((stamps - device.t0) * rate).astype(int) - 1
    np.testing.assert_allclose(
        quad.values[:, 0], signal[k % len(signal), labels.index("LeftQuad")].astype(np.float32), rtol=1e-6
    )

    # build (raw 1 kHz through the raw-EMG conditioning) and open the store
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "miakit.cli",
            "build-dataset",
            str(tmp_path / "sessions"),
            "--out",
            str(tmp_path / "s.zarr"),
            "--pipeline",
            "emg-only",
            "--catalog",
            str(tmp_path / "catalog.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=ENV,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    ds = open_store(tmp_path / "s.zarr")
    assert list(ds["muscle"].values) == list(MUSCLES)
    assert np.allclose(np.diff(ds["time"].values), 0.1)  # 10 Hz
    span = quad.arrival.max() - quad.arrival.min()
    assert abs(ds.sizes["frame"] - span * 10) <= 3 and span >= DURATION_S - 0.5
    emg = ds["emg"].values
    missing = ~np.isfinite(emg).any(axis=1)
    t_host = ds["time"].values + quad.arrival.min()  # one segment (the session is one exercise), from the first sample
    in_hole = (t_host > t_hole + 0.25) & (t_host < t_hole + hole - 0.25)
    assert in_hole.sum() >= 8 and missing[in_hole].all()  # the gap stays a gap
    assert np.isfinite(emg[~missing]).all() and (~missing).sum() >= (span - hole - 1.0) * 10
