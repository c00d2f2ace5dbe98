"""Contract 1: valid folders pass; each kind of damage gets one line naming file and field."""

from __future__ import annotations

import pytest
import yaml

from miakit.contracts.session import find_sessions, validate_session
from miakit.errors import SessionError


def test_written_session_validates(session_factory):
    folder = session_factory("s1")
    meta = validate_session(folder)
    assert meta.session_id == "s1"
    assert meta.status == "complete" and not meta.truncated
    assert meta.sensors == {"M40-01": "RightBicep", "M40-02": "LeftQuad"}
    assert find_sessions(folder.parent) == [folder]


def test_unclosed_session_is_valid_but_truncated(session_factory):
    meta = validate_session(session_factory("s1", close=False))
    assert meta.truncated


def _edit_yaml(folder, edit):
    path = folder / "session.yaml"
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data))


@pytest.mark.parametrize(
    "edit, field, words",
    [
        (lambda d: d.pop("subject"), "subject", "missing field"),
        (lambda d: d.update(schema="other/9"), "schema", "miakit-session/1"),
        (lambda d: d["sensors"].update({"M40-01": "LeftEar"}), "sensors.M40-01", "unknown muscle"),
        (lambda d: d["sensors"].update({"M40-01": "LeftQuad"}), "sensors", "mapped twice"),
        (lambda d: d.update(start_time="yesterday"), "start_time", "datetime"),
        (lambda d: d.update(status="done"), "status", "recording"),
        (lambda d: d.update(extra_field=1), "extra_field", "not permitted"),
        (lambda d: d["keypoints"].update(dir="nowhere"), "keypoints.dir", "not found"),
    ],
)
def test_bad_session_yaml_is_one_clear_line(session_factory, edit, field, words):
    folder = session_factory("s1")
    _edit_yaml(folder, edit)
    with pytest.raises(SessionError) as info:
        validate_session(folder)
    message = str(info.value)
    assert "\n" not in message
    assert "session.yaml" in message and field in message and words.lower() in message.lower()


def test_malformed_yaml_names_the_file(session_factory):
    folder = session_factory("s1")
    (folder / "session.yaml").write_text("session_id: [unclosed\n")
    with pytest.raises(SessionError, match=r"session\.yaml: not valid YAML at line"):
        validate_session(folder)


def test_wrong_emg_header(session_factory):
    folder = session_factory("s1")
    text = (folder / "emg.csv").read_text().replace("host_time,sensor,seq,payload", "time,sensor,payload")
    (folder / "emg.csv").write_text(text)
    with pytest.raises(
        SessionError,
        match=r"emg\.csv: wrong header \(expected host_time,sensor,seq,payload, found 'time,sensor,payload'\)",
    ):
        validate_session(folder)


def test_missing_files(session_factory, tmp_path):
    folder = session_factory("s1")
    (folder / "events.csv").unlink()
    with pytest.raises(SessionError, match=r"events\.csv: missing file"):
        validate_session(folder)
    with pytest.raises(SessionError, match="not a session folder"):
        validate_session(tmp_path)
    with pytest.raises(SessionError, match="no such session folder"):
        validate_session(tmp_path / "nope")


def test_writer_refuses_to_overwrite_and_unwritable_folder(session_factory, tmp_path):
    import os
    from pathlib import Path

    from miakit.devices.profiles import load_profile
    from miakit.record.session_writer import SessionWriter

    folder = session_factory("s1")
    profile = load_profile("m40")
    kwargs = dict(
        session_id="x",
        subject="a",
        exercise="squat",
        profile=profile,
        profile_bytes=Path(profile.path).read_bytes(),
        sensors={"A": "LeftQuad"},
    )
    with pytest.raises(SessionError, match="already exists"):
        SessionWriter(folder, **kwargs)
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(SessionError, match="not writable|cannot create"):
            SessionWriter(locked / "s", **kwargs)
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SessionError, match="cannot create the session folder"):
        SessionWriter(blocker / "s", **kwargs)
