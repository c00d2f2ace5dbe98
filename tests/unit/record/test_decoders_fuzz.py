"""Decoders fed random bytes: every bad packet is counted and kept raw, never a crash."""

from __future__ import annotations

import csv

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from miakit.devices.decoders import DecodeError, encode_m40_envelope_v1
from miakit.devices.profiles import load_profile
from miakit.record.ble import BleRecorder
from miakit.record.session_writer import SessionWriter

PROFILES = {name: load_profile(name) for name in ("m40", "myoware", "generic")}


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(sorted(PROFILES)), payload=st.binary(max_size=64))
def test_decode_random_bytes_gives_samples_or_decode_error(name, payload):
    profile = PROFILES[name]
    try:
        decoded = profile.decode(payload)
    except DecodeError:
        return
    assert decoded.values.ndim == 2 and decoded.values.shape[1] == profile.channels
    assert np.all(np.isfinite(decoded.values))


@settings(max_examples=15, deadline=None)
@given(payloads=st.lists(st.binary(max_size=12), min_size=1, max_size=40), name=st.sampled_from(sorted(PROFILES)))
def test_recorder_counts_bad_packets_and_keeps_them_raw(tmp_path_factory, payloads, name):
    profile = PROFILES[name]
    folder = tmp_path_factory.mktemp("s") / "session"
    writer = SessionWriter(
        folder,
        session_id="fuzz",
        subject="S01",
        exercise=None,
        profile=profile,
        profile_bytes=open(profile.path, "rb").read(),
        sensors={"A": "LeftBicep"},
    )
    recorder = BleRecorder(profile, writer, {"A": "LeftBicep"})
    from miakit.record.ble import _Link

    link = recorder.links["A"] = _Link("A", "LeftBicep", device=None)
    for payload in payloads:
        recorder._on_notify(link, bytearray(payload))
    writer.close()
    expected_bad = 0
    for payload in payloads:
        try:
            profile.decode(payload)
        except DecodeError:
            expected_bad += 1
    assert link.stats.bad_packets == expected_bad
    assert link.stats.packets == len(payloads)
    with open(folder / "emg.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [bytes.fromhex(r["payload"]) for r in rows] == payloads
    assert [int(r["seq"]) for r in rows] == list(range(len(payloads)))


def test_m40_counter_gaps_are_counted_as_drops(tmp_path):
    profile = PROFILES["m40"]
    writer = SessionWriter(
        tmp_path / "s",
        session_id="d",
        subject="S01",
        exercise=None,
        profile=profile,
        profile_bytes=open(profile.path, "rb").read(),
        sensors={"A": "LeftBicep"},
    )
    recorder = BleRecorder(profile, writer, {"A": "LeftBicep"})
    from miakit.record.ble import _Link

    link = _Link("A", "LeftBicep", device=None)
    for counter in (65534, 65535, 0, 3, 4):  # wraps, then skips 1 and 2
        recorder._on_notify(link, bytearray(encode_m40_envelope_v1(counter, 100)))
    writer.close()
    assert link.stats.drops == 2 and link.stats.bad_packets == 0 and link.stats.last_value == 100.0
