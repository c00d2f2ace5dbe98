"""The session stages as their own layer: one frozen parameters dataclass each, overridden by the
pipeline file; each stage returns a new state and leaves the one it was given."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from pathlib import Path

import numpy as np
import pytest

from miakit.errors import PipelineError
from miakit.pipeline import load_pipeline, process_session
from miakit.stages.emg import RawEmgParams
from miakit.stages.session import STAGES, run_stages
from miakit.viz.common import session_state


@pytest.mark.filterwarnings("ignore:.*slice:RuntimeWarning")  # the tight trace is all gaps
def test_the_pipeline_files_max_gap_reaches_the_sync_refinement(session_factory, tmp_path):
    """emg_to_grid's max_gap_s in the file is the gap the sync refinement bridges too (it was
    hard-coded there): envelope samples come 0.1 s apart, so 0.05 leaves the 100 Hz trace empty."""
    folder = session_factory("s", duration_s=10, clap_at=3.0, clock_error_s=0.3)
    text = Path(load_pipeline("mia").path).read_text()
    assert "max_gap_s: 0.35" in text
    (tmp_path / "tight.yaml").write_text(text.replace("max_gap_s: 0.35", "max_gap_s: 0.05"))
    assert dict(load_pipeline(tmp_path / "tight.yaml").configured())["align"].max_gap_s == 0.05
    assert dict(load_pipeline("mia").configured())["align"].max_gap_s == 0.35
    default = session_state(folder, until="align").sync.match
    tight = session_state(folder, pipeline=tmp_path / "tight.yaml", until="align").sync.match
    assert default.applied and default.offset_s == pytest.approx(-0.3, abs=0.05)
    assert np.count_nonzero(tight.emg) < np.count_nonzero(default.emg) / 4 and not tight.applied


def test_a_bad_parameter_is_refused_when_the_pipeline_loads(tmp_path):
    for text, words in [
        (
            "name: x\nstages:\n  - align: {method: sink}\n",
            "stages: bad parameter for stage 'align': unknown alignment method 'sink'",
        ),
        (
            "name: x\nstages:\n  - quality: {min_scor: 0.2}\n",
            "stages: bad parameter for stage 'quality': unknown ['min_scor']",
        ),
    ]:
        (tmp_path / "p.yaml").write_text(text)
        with pytest.raises(PipelineError, match="p.yaml") as info:
            load_pipeline(tmp_path / "p.yaml")
        assert words in str(info.value)


def test_a_stage_returns_a_new_state_and_leaves_its_input(tmp_path):
    from session_builders import write_raw_session

    folder = write_raw_session(tmp_path / "raw")
    spec = load_pipeline("mia")
    decoded = run_stages(folder, spec.configured(), rate_hz=spec.rate_hz, until="decode_emg")
    arrival = decoded.decoded.sensors["EMG-1"].arrival.copy()
    enveloped = STAGES["raw_emg_envelope"].run(decoded, RawEmgParams())
    assert enveloped.decoded.profile.kind == "envelope" and enveloped.decoded.profile.rate_hz == spec.rate_hz
    assert decoded.decoded.profile.kind == "raw" and decoded.decoded.sensors["EMG-1"].values.dtype.kind in "if"
    np.testing.assert_array_equal(decoded.decoded.sensors["EMG-1"].arrival, arrival)
    assert len(enveloped.decoded.sensors["EMG-1"].arrival) < len(arrival)
    with pytest.raises(FrozenInstanceError):
        enveloped.grid = np.zeros(3)


def test_a_session_left_out_by_a_stage_keeps_what_it_counted(session_factory):
    folder = session_factory("dead", bad_payloads=10**6)  # every payload unreadable
    report = process_session(folder, load_pipeline("mia")).report
    assert "no EMG from any mapped sensor" in report.reason
    assert report.packets > 0 and report.bad_packets == report.packets


def test_stages_out_of_order_name_the_stage_that_must_come_first(session_factory, tmp_path):
    """A stage that needs what an earlier one finds says which stage that is, in one line (it was an
    AttributeError on None)."""
    folder = session_factory("s", duration_s=5)
    for stages, words in [
        (["grid", "decode_emg"], "no decoded EMG yet: stage decode_emg must come earlier in the pipeline"),
        (["decode_emg", "grid", "keypoints_to_grid"], "no camera clock yet: stage align must come earlier"),
        (["decode_emg", "align", "grid", "keypoints_to_grid", "quality"], "no EMG on the grid yet: stage emg_to_grid"),
    ]:
        (tmp_path / "p.yaml").write_text("name: x\nstages:\n" + "".join(f"  - {s}: {{}}\n" for s in stages))
        report = process_session(folder, load_pipeline(tmp_path / "p.yaml")).report
        assert report.reason.startswith(f"{folder}: {words}") and "\n" not in report.reason
