"""Recording from Lab Streaming Layer (miakit.record.lsl): real LSL on this machine only.

Every stream here is a real pylsl outlet (miakit's emulated LSL device, :class:`LslOutlet`) in a
session id of this test process's own, on the loopback interface (tests/lsl_support.py)."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest
from lsl_support import loopback_env

from miakit.contracts.session import validate_session
from miakit.devices.decoders import DecodeError, encode_lsl_float32_v1, lsl_float32_v1
from miakit.devices.profiles import load_profile
from miakit.errors import SessionError
from miakit.layout import MUSCLES
from miakit.record.emulator import LslOutlet
from miakit.record.lsl import channel_map, parse_source, resolve_emg_streams, session_profile
from miakit.record.signals import lsl_signals

ENV = loopback_env()  # before pylsl's first call in this process


def test_parse_source():
    assert parse_source("ble") == ("ble", None)
    assert parse_source("lsl") == ("lsl", None)
    assert parse_source("lsl:My Amp") == ("lsl", "My Amp")
    for bad in ("lsl:", "bluetooth", "ble:x"):
        with pytest.raises(SessionError, match="--source"):
            parse_source(bad)


def test_decoder_round_trip_keeps_stamps_and_values():
    stamps = 1000.0 + np.arange(5) / 1000.0
    values = np.array([1.5, -2.25, 3.0, 0.0, 7.125])
    decoded = lsl_float32_v1(encode_lsl_float32_v1(stamps, values))
    np.testing.assert_array_equal(decoded.times, stamps)
    np.testing.assert_array_equal(decoded.values[:, 0], values)
    with pytest.raises(DecodeError):
        lsl_float32_v1(b"\x00" * 13)
    with pytest.raises(DecodeError):
        lsl_float32_v1(encode_lsl_float32_v1(stamps[:1], np.array([np.nan])))


def test_stamps_map_to_host_time_with_fitted_offset_and_drift(tmp_path):
    """decode_emg fits the stored clock offsets (offset = a + b t) as pyxdf does and maps each stamp."""
    from miakit.record.session_writer import SessionWriter
    from miakit.stages.decode import decode_emg

    profile = load_profile("lsl")
    lsl0 = 5000.0  # the host's LSL clock at host_time 0
    a, b = 0.25, 2e-5  # the device's clock is behind by a + b t
    true = lsl0 + 1.0 + np.arange(3000) / 1000.0  # local LSL times of the samples
    src = true - (a + b * true)
    session, content = session_profile(profile, [_Info(1000.0)])
    with SessionWriter(
        tmp_path / "s",
        session_id="s",
        subject="S01",
        exercise=None,
        profile=session,
        profile_bytes=content,
        sensors={"LeftQuad": "LeftQuad"},
        host_monotonic_at_start=0.0,
        lsl_clock_at_start=lsl0,
        streams={"LeftQuad": "Amp"},
    ) as w:
        rng = np.random.default_rng(0)
        for t in np.arange(0.0, 4.5, 0.5):
            w.add_clock_offset(t, "Amp", lsl0 + t, a + b * (lsl0 + t) + rng.normal(0, 1e-5))
        w.add_clock_offset(2.2, "Amp", lsl0 + 2.2, a + 0.05)  # one probe with a slow round trip: dropped
        for i in range(0, len(src), 50):
            w.add_packet(true[i + 49] - lsl0, "LeftQuad", encode_lsl_float32_v1(src[i : i + 50], np.ones(50)))
    meta = validate_session(tmp_path / "s")
    got = decode_emg(tmp_path / "s", meta).sensors["LeftQuad"]
    assert got.timed and len(got.arrival) == len(true)
    assert np.abs(got.arrival - (true - lsl0)).max() < 1e-4  # well under a sample at 1 kHz


def test_channel_labels_name_muscles_else_sensor_map_else_order():
    """Labels that name muscles map them (case and spacing ignored); other channels are kept unmapped."""
    labels = ["right quad", "Trigger", "left_hamstring", "LeftBicep"]
    with LslOutlet("lsl-test-labels", np.zeros((100, 4)), rate_hz=100, labels=labels):
        infos = resolve_emg_streams("lsl-test-labels", timeout_s=3.0)
        channels, mapping, how = channel_map(infos, None)
        assert [c.sensor for c in channels] == labels
        assert how == "channel labels"
        assert mapping == {"right quad": "RightQuad", "left_hamstring": "LeftHamstring", "LeftBicep": "LeftBicep"}
        _, mapping, how = channel_map(infos, {"2": "LeftQuad", "right quad": "RightTricep"})
        assert how == "the sensor map" and mapping == {"Trigger": "LeftQuad", "right quad": "RightTricep"}
        with pytest.raises(SessionError, match="no such channel"):
            channel_map(infos, {"EMG9": "LeftQuad"})
        profile, _ = session_profile(load_profile("lsl"), infos)
        assert profile.kind == "envelope" and profile.rate_hz == 100 and profile.units == "microvolts"
    with LslOutlet("lsl-test-nolabels", np.zeros((100, 3)), rate_hz=1000, labels=["", "", ""]):
        infos = resolve_emg_streams("lsl-test-nolabels", timeout_s=3.0)
        channels, mapping, how = channel_map(infos, None)
        assert how == "channel order" and mapping == dict(zip(["ch1", "ch2", "ch3"], MUSCLES[:3]))
        assert session_profile(load_profile("lsl"), infos)[0].kind == "raw"


def test_no_stream_found_is_one_line_naming_what_was_seen(tmp_path):
    """Exit status 2, one line: the stream looked for and the streams that were there."""
    with LslOutlet("lsl-test-eeg", np.zeros((100, 2)), rate_hz=100, labels=["Fz", "Cz"], stream_type="EEG"):
        time.sleep(0.2)
        t = time.monotonic()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "miakit.cli",
                "record",
                "--source",
                "lsl:NoSuchAmp",
                "--out",
                str(tmp_path),
                "--scan-timeout",
                "0.5",
                "--duration",
                "1",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env=ENV,
        )
        took = time.monotonic() - t
    assert result.returncode == 2, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert "Traceback" not in result.stderr
    assert "no LSL stream named 'NoSuchAmp' found after 0.5 s" in lines[-1]
    assert "'lsl-test-eeg' (type 'EEG'" in lines[-1]
    assert took < 20


def test_record_envelope_stream_in_process(tmp_path):
    """An envelope stream (10 Hz) records every sample with its LSL stamp, maps to muscles by label,
    and builds at its own rate: the store holds what the device sent."""
    from miakit.pipeline import build_dataset
    from miakit.record.recorder import RecordPlan, record_session
    from miakit.stages.decode import decode_emg, read_packets
    from miakit.store import open_store

    signal, labels, rate = lsl_signals(kind="envelope", duration_s=20.0)
    with LslOutlet("lsl-test-envelope", signal, rate_hz=rate, labels=labels) as device:
        folder = record_session(
            RecordPlan(
                recorder="lsl",
                out=tmp_path / "sessions",
                source="lsl:lsl-test-envelope",
                duration_s=3.0,
                exercise="squat",
                scan_timeout_s=3.0,
                sync_after_s=None,
                live_view=False,
            )
        )
    meta = validate_session(folder)
    assert meta.status == "complete" and meta.sensors == {m: m for m in MUSCLES}
    assert meta.clock.offsets == "clock_offsets.csv" and meta.clock.lsl_clock_at_start is not None
    decoded = decode_emg(folder, meta)
    assert decoded.profile.kind == "envelope" and decoded.profile.rate_hz == 10
    sent = np.concatenate(device.sent)
    got = decoded.sensors["LeftQuad"]
    stamps = got.arrival + meta.clock.lsl_clock_at_start  # offsets on one machine are about 0
    k = np.rint((stamps - device.t0) * rate).astype(int) - 1
    assert len(got.arrival) >= 25 and np.abs(stamps - (device.t0 + (k + 1) / rate)).max() < 2e-3
    np.testing.assert_allclose(got.values[:, 0], signal[k % len(signal), MUSCLES.index("LeftQuad")], rtol=1e-6)
    rows = read_packets(folder)
    raw = np.concatenate(
        [lsl_float32_v1(bytes.fromhex(h)).times for h in rows[rows["sensor"] == "LeftQuad"]["payload"]]
    )
    assert set(raw.tolist()) <= set(sent.tolist())  # the stamps as LSL gave them, stored exactly
    build_dataset(tmp_path / "sessions", tmp_path / "s.zarr", pipeline="emg-only")
    ds = open_store(tmp_path / "s.zarr")
    span = min(s.arrival.max() for s in decoded.sensors.values()) - max(
        s.arrival.min() for s in decoded.sensors.values()
    )
    assert span >= 3.0  # the recorded seconds (streaming starts once the inlet is open and the clock probed)
    assert ds.sizes["muscle"] == 8 and abs(ds.sizes["frame"] - (span * 10 + 1)) <= 1.5
    assert np.isfinite(ds["emg"].values).mean() > 0.9


class _Info:
    """The few StreamInfo fields session_profile reads."""

    def __init__(self, rate: float):
        self.rate = rate
        self.labels, self.unit = ["LeftQuad"], "microvolts"

    def nominal_srate(self) -> float:
        return self.rate

    def name(self) -> str:
        return "Amp"

    def type(self) -> str:
        return "EMG"

    def channel_count(self) -> int:
        return 1

    def hostname(self) -> str:
        return "here"


def test_cli_emulated_lsl_device_streams_real_uci_emg(tmp_path, uci_file):
    """`--source lsl --emulate --emulate-source FILE`: real raw sEMG (UCI, 1 kHz) from an emulated LSL
    outlet on this machine, recorded by the real CLI, built through the raw-EMG conditioning."""
    from miakit.pipeline import build_dataset
    from miakit.record.uci_file import UCI_MUSCLES
    from miakit.stages.decode import decode_emg
    from miakit.store import open_store

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "miakit.cli",
            "record",
            "--source",
            "lsl",
            "--emulate",
            "--emulate-source",
            str(uci_file),
            "--out",
            str(tmp_path / "sessions"),
            "--duration",
            "2.5",
            "--exercise",
            "squat",
            "--no-sync",
        ],
        capture_output=True,
        text=True,
        timeout=90,
        env=ENV,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    meta = validate_session(result.stdout.strip().splitlines()[-1])
    assert meta.recorder.emulated and meta.sensors == {m: m for m in UCI_MUSCLES}
    build_dataset(tmp_path / "sessions", tmp_path / "s.zarr", pipeline="emg-only")
    ds = open_store(tmp_path / "s.zarr")
    emg = ds["emg"].values
    assert ds.sizes["frame"] >= 25 and np.isfinite(emg).mean() > 0.8
    # the samples recorded are the file's own, in order (centred, float32), from wherever the device was
    raw = np.loadtxt(uci_file)
    folder = result.stdout.strip().splitlines()[-1]
    decoded = decode_emg(folder, meta)
    got = decoded.sensors["LeftQuad"].values[:, 0]
    column = (raw[:, UCI_MUSCLES.index("LeftQuad")] - raw[:, UCI_MUSCLES.index("LeftQuad")].mean()).astype(np.float32)
    starts = [
        i
        for i in np.flatnonzero(column == np.float32(got[0]))
        if np.array_equal(np.take(column, np.arange(i, i + 50), mode="wrap"), got[:50].astype(np.float32))
    ]
    assert len(starts) == 1
    assert np.array_equal(
        np.take(column, np.arange(starts[0], starts[0] + len(got)), mode="wrap"), got.astype(np.float32)
    )
    # and the envelope keeps the muscles apart: the store's mean envelopes rank the muscles as the
    # band-passed (20-450 Hz, as the conditioning) power of the channels recorded does
    from scipy.signal import butter, sosfiltfilt
    from scipy.stats import spearmanr

    sos = butter(4, [20, 450], btype="bandpass", fs=1000, output="sos")
    power = [
        np.sqrt(np.mean(sosfiltfilt(sos, decoded.sensors[s].values[:, 0].astype(float)) ** 2))
        for s in sorted(decoded.sensors, key=lambda s: MUSCLES.index(meta.sensors[s]))
    ]
    assert spearmanr(power, np.nanmean(emg, axis=0)).statistic > 0.85


def test_a_ble_profile_for_an_lsl_source_is_one_line(tmp_path):
    from miakit.record.recorder import RecordPlan, record_session

    with pytest.raises(SessionError, match="profile 'm40' is for BLE"):
        record_session(RecordPlan(recorder="m40", out=tmp_path, source="lsl", duration_s=1.0))
    with pytest.raises(SessionError, match="profile 'lsl' is for LSL"):
        record_session(RecordPlan(recorder="lsl", out=tmp_path, source="ble", duration_s=1.0))
