"""Errors before recording: each one clear line, and no session folder left behind."""

from __future__ import annotations

import pytest

from miakit.errors import DeviceError, ProfileError, SessionError
from miakit.record.emulator import Faults
from miakit.record.recorder import RecordPlan, record_session


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and text
    return text


def test_wrong_profile_names_the_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        (__import__("miakit.devices.profiles", fromlist=["x"]).find_profile_file("m40"))
        .read_text()
        .replace("decoder: m40_envelope_v1", "decoder: no_such_decoder")
    )
    with pytest.raises(ProfileError) as info:
        record_session(RecordPlan(recorder=bad, out=tmp_path / "out", emulate=True, duration_s=1))
    assert "decoder" in _one_line(info.value) and "no_such_decoder" in str(info.value)
    assert not (tmp_path / "out").exists()


def test_unknown_profile_name(tmp_path):
    with pytest.raises(ProfileError) as info:
        record_session(RecordPlan(recorder="m41", out=tmp_path / "out", emulate=True, duration_s=1))
    assert "m40" in _one_line(info.value)


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(SessionError) as info:
        record_session(RecordPlan(recorder="m40", out=blocker / "sessions", emulate=True, duration_s=1))
    assert "output folder" in _one_line(info.value)


def test_missing_sensor_before_any_recording(tmp_path, uci_file):
    out = tmp_path / "out"
    plan = RecordPlan(
        recorder="m40",
        out=out,
        emulate=True,
        duration_s=1,
        emulate_source=uci_file,
        faults=Faults(missing=["M40-05"]),
        scan_timeout_s=0.5,
    )
    with pytest.raises(DeviceError) as info:
        record_session(plan)
    assert "M40-05" in _one_line(info.value)
    assert not out.exists()  # the failed start removed the output folder it had made


def test_failed_start_keeps_an_existing_output_folder_as_it_was(tmp_path, uci_file):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    plan = RecordPlan(
        recorder="m40",
        out=out,
        emulate=True,
        duration_s=1,
        emulate_source=uci_file,
        faults=Faults(missing=["M40-05"]),
        scan_timeout_s=0.5,
    )
    with pytest.raises(DeviceError):
        record_session(plan)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"] and (out / "notes.txt").read_text() == "mine"


def test_bad_sensor_map(tmp_path):
    sensors = tmp_path / "map.yaml"
    sensors.write_text("M40-01: LeftBicep\nM40-02: Elbow\n")
    with pytest.raises(SessionError) as info:
        record_session(RecordPlan(recorder="m40", out=tmp_path / "out", emulate=True, sensors=sensors, duration_s=1))
    assert "M40-02" in _one_line(info.value) and "Elbow" in str(info.value)
