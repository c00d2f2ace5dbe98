"""Alignment: a known clock error injected into a session is recovered within 50 ms by the sync stage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import miakit
from miakit.pipeline import build_dataset, load_pipeline, process_session
from miakit.stages.align import estimate_offset


def test_estimate_offset_on_a_known_shift():
    t = np.arange(0, 6, 1 / 30)
    motion = np.exp(-(((t - 3.0) / 0.1) ** 2)) + 0.05 * np.sin(2 * np.pi * 0.7 * t)
    emg_t = np.arange(-2, 8, 0.01)
    true_shift = 0.37  # the motion really happened 0.37 s later than its stamps say
    emg = np.exp(-(((emg_t - (3.0 + true_shift - 0.075)) / 0.1) ** 2))
    found = estimate_offset(t, motion, emg_t, emg, max_offset_s=1.0, emg_lead_s=0.075)
    assert found.offset_s == pytest.approx(true_shift, abs=0.01)
    assert found.confidence > 0.8


def _clock_pipeline(tmp_path: Path) -> Path:
    text = Path(load_pipeline("mia").path).read_text()
    assert "method: sync" in text
    path = tmp_path / "clock.yaml"
    path.write_text(text.replace("method: sync", "method: clock"))
    return path


@pytest.mark.parametrize("error_s", [-0.6, -0.2, 0.0, 0.3, 0.8])
def test_injected_clock_error_is_recovered(session_factory, tmp_path, error_s):
    folder = session_factory("s", duration_s=10, clap_at=3.0, clock_error_s=error_s)
    result = process_session(folder, load_pipeline("mia"))
    assert result.report.sync_offset_s == pytest.approx(-error_s, abs=0.05)
    assert result.report.sync_confidence > 0.5
    assert process_session(folder, load_pipeline(_clock_pipeline(tmp_path))).report.sync_offset_s is None


def test_no_sync_event_keeps_the_clock_and_says_so(session_factory, tmp_path):
    folder = session_factory("s", duration_s=8)
    result = process_session(folder, load_pipeline("mia"))
    assert result.report.kept and result.report.sync_offset_s is None
    assert "no sync event: clock alignment kept" in result.report.notes


def test_alignment_changes_what_lands_on_the_grid(session_factory, tmp_path):
    session_factory("s", duration_s=10, clap_at=3.0, clock_error_s=0.5)
    build_dataset(tmp_path / "sessions", tmp_path / "ds.zarr", progress=False)
    ds = miakit.open_dataset(tmp_path / "ds.zarr").load()
    # with the error removed, the wrists meet at host time 3.0: grid time 3.0 - 0.4 - 0 from the first frame
    wrist_gap = np.abs(ds.keypoints.sel(keypoint="RWrist", space="x") - ds.keypoints.sel(keypoint="LWrist", space="x"))
    host = 0.4 + ds["time"].values
    assert host[int(np.argmin(wrist_gap.values))] == pytest.approx(3.0, abs=0.1)


@pytest.mark.parametrize(
    "exercise, error_s",
    [("squat", 0.4), ("running", -0.7), ("hook_punch", 0.15), ("jumping_jack", -0.3), ("woodchop", 0.9)],
)
def test_synthetic_session_clock_error_is_recovered(tmp_path, exercise, error_s):
    """A synthetic session (physical muscle model, pose-estimator noise, BLE jitter) whose video
    clock is off by a known amount: the sync stage finds the error within 50 ms."""
    from miakit.body.subjects import make_subject
    from miakit.synth.sessions import simulate, write_session

    sim = simulate(make_subject(1, seed=3), exercise, seed=3, duration_s=12, clock_error_s=error_s)
    folder = write_session(tmp_path / exercise, sim, seed=3)
    report = process_session(folder, load_pipeline("mia")).report
    assert report.sync_offset_s == pytest.approx(-error_s, abs=0.05), report
    honest = write_session(
        tmp_path / "honest", simulate(make_subject(1, seed=3), exercise, seed=3, duration_s=12), seed=3
    )
    assert abs(process_session(honest, load_pipeline("mia")).report.sync_offset_s) < 0.05
