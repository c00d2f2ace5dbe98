"""Replaying a recorded session through the recorder (`miakit record --replay`): the replayed session
holds the recording's EMG and events, and both build into datasets that agree."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

import miakit
from miakit.contracts.session import validate_session
from miakit.errors import SessionError
from miakit.pipeline import build_dataset
from miakit.record.cli import record
from miakit.record.emulator import Disconnect, Faults
from miakit.record.recorder import RecordPlan, record_session
from miakit.record.replay import REPLAYED_EVENTS

QUIET = dict(keys=False, live_view=False)


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _replay(folder: Path, out: Path, *, speed: float, **options) -> Path:
    return record_session(RecordPlan(recorder=None, out=out, replay=folder, replay_speed=speed, **QUIET, **options))


def _build(folder: Path, store: Path, pipeline: str):
    build_dataset(folder, store, pipeline=pipeline, progress=False)
    return miakit.open_dataset(store)


def _assert_datasets_agree(recorded, replayed) -> None:
    """The same frames, values and segment table; only the session ids and provenance differ."""
    assert dict(recorded.sizes) == dict(replayed.sizes)
    compared = [
        n
        for n in [*recorded.data_vars, *recorded.coords]
        if n not in ("segment", "segment_session", "session", "frame_segment")
    ]
    assert {"emg", "keypoints", "keypoint_score", "valid", "time", "segment_exercise", "segment_length"} <= set(
        compared
    )
    for name in compared:
        np.testing.assert_array_equal(recorded[name].values, replayed[name].values, err_msg=name)
    for name in ("emg_units", "modalities", "muscles", "rate_hz"):
        assert recorded.attrs.get(name) == replayed.attrs.get(name), name


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    """3 s of 8 emulated M40 sensors, one of them dropping its link for 0.4 s, with a sync mark."""
    out = tmp_path_factory.mktemp("recorded")
    faults = Faults(disconnects=[Disconnect("M40-02", 1.0, 0.4)])
    return record_session(
        RecordPlan(
            recorder="m40",
            out=out,
            emulate=True,
            duration_s=3.0,
            exercise="squat",
            subject="S07",
            faults=faults,
            sync_after_s=0.5,
            **QUIET,
        )
    )


def test_a_replay_holds_the_recordings_emg_and_events(recording, tmp_path):
    replayed = _replay(recording, tmp_path / "replays", speed=10.0)
    meta, original = validate_session(replayed), validate_session(recording)
    assert meta.status == "complete" and replayed.parent == tmp_path / "replays"
    assert (meta.subject, meta.exercise, meta.sensors) == (original.subject, original.exercise, original.sensors)
    assert meta.recorder == original.recorder  # the recording's own profile (same bytes) and emulated flag
    assert (replayed / "profile.yaml").read_bytes() == (recording / "profile.yaml").read_bytes()
    assert f"replay of session {original.session_id} at 10x" in meta.clock.notes

    assert _rows(replayed / "emg.csv") == _rows(recording / "emg.csv")  # host times, sensors, counts, payloads

    def played(rows):  # the events a replay plays, less the note naming the replay
        return [
            (r["host_time"], r["kind"], r["sensor"], r["detail"])
            for r in rows
            if r["kind"] in REPLAYED_EVENTS and not r["detail"].startswith("replay of")
        ]

    events = _rows(replayed / "events.csv")
    recorded_events = _rows(recording / "events.csv")
    assert played(events) == played(recorded_events)
    kinds = {e["kind"] for e in recorded_events}
    assert {"marker", "sync", "disconnect", "reconnect", "gap"} <= kinds  # the replay had all of these to play
    own = [(e["kind"], e["sensor"]) for e in events if e["kind"] in ("connect", "start", "stop")]
    assert own[-1] == ("stop", "") and ("start", "") in own and sum(k == "connect" for k, _ in own) == 8


def test_a_recording_and_its_replay_build_into_datasets_that_agree(recording, tmp_path):
    replayed = _replay(recording, tmp_path / "replays", speed=20.0)
    recorded_ds = _build(recording, tmp_path / "recorded.zarr", "emg-only")
    replayed_ds = _build(replayed, tmp_path / "replayed.zarr", "emg-only")
    assert list(recorded_ds["segment_exercise"].values) == ["squat"] and int(recorded_ds["valid"].sum()) > 15
    _assert_datasets_agree(recorded_ds, replayed_ds)


def test_a_synthetic_session_replays_with_its_keypoints_and_truth(tmp_path):
    """A session with keypoints, truth and a sync clap, built by the mia pipeline (pose, alignment)."""
    from miakit.body.subjects import make_subject
    from miakit.synth import simulate, write_session

    recorded = write_session(
        tmp_path / "synth" / "S01" / "squat", simulate(make_subject(0), "squat", duration_s=6.0), seed=0
    )
    replayed = _replay(recorded, tmp_path / "replays", speed=50.0)
    assert sorted(p.name for p in (replayed / "keypoints").iterdir()) == sorted(
        p.name for p in (recorded / "keypoints").iterdir()
    )
    recorded_ds = _build(recorded, tmp_path / "recorded.zarr", "mia")
    replayed_ds = _build(replayed, tmp_path / "replayed.zarr", "mia")
    assert "emg_clean" in replayed_ds and np.isfinite(replayed_ds["keypoints"].values).any()
    _assert_datasets_agree(recorded_ds, replayed_ds)


def test_replay_from_the_command_line_and_what_it_refuses(recording, tmp_path):
    app = typer.Typer()
    app.command("record")(record)
    app.command("other")(lambda: None)
    result = CliRunner().invoke(
        app, ["record", "--replay", str(recording), "--replay-speed", "20", "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 0, result.output
    folder = Path(result.output.strip().splitlines()[-1])
    assert folder.parent == tmp_path / "r" and validate_session(folder).status == "complete"
    assert "replaying" in result.output

    with pytest.raises(SessionError, match="--emulate: not with --replay"):
        _replay(recording, tmp_path / "x", speed=1.0, emulate=True)
    with pytest.raises(SessionError, match="--replay-speed: not a speed"):
        _replay(recording, tmp_path / "x", speed=0.0)
    with pytest.raises(SessionError, match="not a session folder"):
        _replay(tmp_path, tmp_path / "x", speed=1.0)
    assert not (tmp_path / "x").exists()


def test_a_replay_stops_at_duration_on_the_recordings_clock(recording, tmp_path):
    replayed = _replay(recording, tmp_path / "replays", speed=10.0, duration_s=1.5)
    times = [float(r["host_time"]) for r in _rows(replayed / "emg.csv")]
    recorded = [float(r["host_time"]) for r in _rows(recording / "emg.csv")]
    assert times == [t for t in recorded if t <= 1.5]
