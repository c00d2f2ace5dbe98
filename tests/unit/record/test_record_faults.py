"""The --emulate-* fault flags, the duplicate count, the marker keys in the live view."""

from __future__ import annotations

import numpy as np
import pytest

from miakit.errors import SessionError
from miakit.record.recorder import check_duration, parse_faults
from miakit.stages.quality import duplicate_packets

NAMES = [f"M40-{i:02d}" for i in range(1, 9)]


def test_fault_flags_become_emulator_faults():
    faults = parse_faults(
        NAMES,
        drop=0.05,
        duplicate=0.01,
        disconnect=["M40-03@5:2", "M40-01@1"],
        stall=["M40-02@3:1.5"],
        missing=["M40-08"],
    )
    assert faults.drop_probability == 0.05 and faults.duplicate_probability == 0.01
    assert [(d.sensor, d.at_s, d.down_s) for d in faults.disconnects] == [("M40-01", 1.0, 1.0), ("M40-03", 5.0, 2.0)]
    assert [(s.sensor, s.at_s, s.duration_s) for s in faults.stalls] == [("M40-02", 3.0, 1.5)]
    assert faults.missing == ["M40-08"]
    assert parse_faults(NAMES) is None


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"drop": 1.5}, "--emulate-drop"),
        ({"duplicate": float("nan")}, "--emulate-duplicate"),
        ({"disconnect": ["M40-03"]}, "SENSOR@SECONDS"),
        ({"disconnect": ["M40-03@x"]}, "SENSOR@SECONDS"),
        ({"disconnect": ["M40-03@inf"]}, "SENSOR@SECONDS"),
        ({"disconnect": ["M40-09@1"]}, "no such emulated sensor"),
        ({"stall": ["M40-02@3"]}, "SENSOR@SECONDS:SECONDS"),
        ({"missing": ["M41-01"]}, "no such emulated sensor"),
    ],
)
def test_bad_fault_flags_are_one_line(kwargs, words):
    with pytest.raises(SessionError) as info:
        parse_faults(NAMES, **kwargs)
    assert words in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("value", [float("inf"), float("nan"), -1.0, 0.0, 0.05])
def test_duration_must_be_a_finite_length(value):
    with pytest.raises(SessionError, match="--duration"):
        check_duration(value)
    check_duration(None)
    check_duration(0.1)


def test_duplicate_packets_count_repeats_of_sequence_and_payload():
    seq = np.array([0, 1, 1, 2, 3, 3, 3])
    payload = np.array(["00", "01", "01", "02", "03", "03", "ff"])
    assert duplicate_packets(seq, payload) == 2  # (1, 01) once more, (3, 03) once more; (3, ff) differs
    assert duplicate_packets(np.arange(5), np.array(["00"] * 5)) == 0  # the same value under new counters
    assert duplicate_packets(np.array([]), np.array([])) == 0


def test_live_view_shows_the_marker_keys():
    from rich.console import Console

    from miakit.record.ble import SensorStats
    from miakit.record.monitor import keys_line, sensor_table

    console = Console(record=True, width=160)
    stats = [SensorStats(sensor="M40-01", muscle="LeftBicep")]
    console.print(sensor_table(stats, 1.0, caption=keys_line("squat")))
    text = console.export_text()
    assert (
        "[m] mark start/stop of squat" in text and "[c] mark the sync clap now" in text and "[q] stop recording" in text
    )


def test_a_protocol_offers_no_mark_key():
    from miakit.record.monitor import keys_line

    assert "[m]" in keys_line("unknown") and "[m]" not in keys_line(None) and "[q] stop recording" in keys_line(None)
