"""build-dataset on session folders: values on the grid, gaps, flags, idempotence, bad input."""

from __future__ import annotations

import hashlib
from datetime import UTC
from pathlib import Path

import numpy as np
import pytest

import miakit
from miakit.contracts.dataset import provenance_of
from miakit.errors import InputError, PipelineError
from miakit.layout import MUSCLES
from miakit.pipeline import build_dataset, load_pipeline


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            digest.update(str(p.relative_to(root)).encode() + p.read_bytes())
    return digest.hexdigest()


def test_emg_lands_on_the_grid_with_its_true_values(session_factory, tmp_path):
    session_factory("a", duration_s=20)
    out = tmp_path / "ds.zarr"
    build_dataset(tmp_path / "sessions", out, progress=False)
    ds = miakit.open_dataset(out).load()
    # write_session's sensor i sends 20 + 15 sin(pi t + i) sampled at its own (jittered) clock
    t0 = 0.4  # the grid starts with the first keypoint frame
    t = t0 + ds["time"].values
    for i, muscle in enumerate(["RightBicep", "LeftQuad"]):
        expected = 20 + 15 * np.sin(np.pi * t + i)
        got = ds["emg"].sel(muscle=muscle).values
        # integer packets (+-0.5) and linear interpolation of a 0.5 Hz sine at 10 Hz
        assert np.nanmax(np.abs(got - expected)) < 1.2
    assert np.isnan(ds["emg"].sel(muscle="LeftBicep")).all()  # not recorded
    assert ds["valid"].all()


def test_gaps_stay_gaps_truncated_flagged_bad_packets_counted(session_factory, tmp_path):
    session_factory("a", drop=(4.0, 6.0), bad_payloads=5, close=False)
    result = build_dataset(tmp_path / "sessions", tmp_path / "ds.zarr", progress=False)
    (report,) = result.reports
    assert report.truncated and report.bad_packets == 5
    assert report.dropped_samples >= 19
    ds = miakit.open_dataset(tmp_path / "ds.zarr").load()
    assert ds["segment_flags"].values[0] == "truncated"
    t = 0.4 + ds["time"].values
    gap = (t > 4.2) & (t < 5.8)
    assert np.isnan(ds["emg"].sel(muscle="RightBicep").values[gap]).all()
    assert not ds["valid"].values[gap].any() and ds["valid"].values[~gap].mean() > 0.85


def test_rebuild_is_a_no_op_and_force_gives_identical_data(session_factory, tmp_path):
    session_factory("a")
    session_factory("b", seed=3)
    out = tmp_path / "ds.zarr"
    build_dataset(tmp_path / "sessions", out, progress=False)
    before = _tree_digest(out)
    again = build_dataset(tmp_path / "sessions", out, progress=False)
    assert again.up_to_date and _tree_digest(out) == before
    first = miakit.open_dataset(out).load()
    build_dataset(tmp_path / "sessions", out, progress=False, force=True)
    second = miakit.open_dataset(out).load()
    assert first.drop_attrs().identical(second.drop_attrs())
    assert provenance_of(first)["inputs_sha256"] == provenance_of(second)["inputs_sha256"]


def test_changed_input_or_pipeline_rebuilds(session_factory, tmp_path):
    folder = session_factory("a")
    out = tmp_path / "ds.zarr"
    build_dataset(tmp_path / "sessions", out, progress=False)
    with (folder / "events.csv").open("a") as fh:
        fh.write("11.000000,marker,,start:squat\n")
    assert not build_dataset(tmp_path / "sessions", out, progress=False).up_to_date
    spec = Path(load_pipeline("mia").path).read_text().replace("max_gap_s: 0.35", "max_gap_s: 0.25")
    (tmp_path / "p.yaml").write_text(spec)
    result = build_dataset(tmp_path / "sessions", out, pipeline=tmp_path / "p.yaml", progress=False)
    assert not result.up_to_date
    assert provenance_of(miakit.open_dataset(out))["pipeline_definition"]["stages"][4] == {
        "emg_to_grid": {"max_gap_s": 0.25}
    }


def test_bad_sessions_are_left_out_with_reason(session_factory, tmp_path):
    session_factory("good")
    session_factory("nokp", keypoints=False)
    broken = session_factory("broken")
    (broken / "session.yaml").write_text("schema: [\n")
    result = build_dataset(tmp_path / "sessions", tmp_path / "ds.zarr", progress=False)
    reasons = {r.session: r.reason for r in result.reports}
    assert reasons["good"] == ""
    assert "the session has no keypoints" in reasons["nokp"]
    assert "not valid YAML" in reasons["broken"]
    assert result.segments == 1


def test_nothing_to_build_is_a_clear_error(tmp_path, session_factory):
    with pytest.raises(InputError, match="no session folders"):
        build_dataset(tmp_path, tmp_path / "ds.zarr", progress=False)
    session_factory("nokp", keypoints=False)
    with pytest.raises(InputError, match="no session passed the checks; first reason: .*no keypoints"):
        build_dataset(tmp_path / "sessions", tmp_path / "ds.zarr", pipeline="mia", progress=False)


def test_the_build_picks_emg_only_where_no_session_has_video_or_keypoints(session_factory, tmp_path):
    session_factory("nokp1", keypoints=False)
    session_factory("nokp2", keypoints=False)
    result = build_dataset(tmp_path / "sessions", tmp_path / "emg.zarr", progress=False)
    assert result.pipeline == "emg-only" and "no video or keypoints" in result.pipeline_why
    ds = miakit.open_dataset(tmp_path / "emg.zarr")
    assert ds.attrs["modalities"] == ["emg"] and ds.sizes["segment"] == 2
    # mixed: one store by one pipeline (mia); the sessions without pose are left out with their reason
    session_factory("good")
    mixed = build_dataset(tmp_path / "sessions", tmp_path / "mixed.zarr", progress=False)
    assert (
        mixed.pipeline == "mia"
        and "1 of 3 sessions" in mixed.pipeline_why
        and "--pipeline emg-only" in mixed.pipeline_why
    )
    assert {r.session for r in mixed.reports if r.kept} == {"good"}
    # --pipeline still decides where given
    given = build_dataset(tmp_path / "sessions", tmp_path / "given.zarr", pipeline="emg-only", progress=False)
    assert given.pipeline == "emg-only" and given.pipeline_why == "given" and given.segments == 3


@pytest.mark.parametrize(
    "text, words",
    [
        ("name: x\nstages:\n  - fly: {}\n", "stages: unknown stage 'fly'"),
        ("name: x\nstages: []\nrate_hz: -1\n", "rate_hz"),
        ("stages: []\n", "name: Field required"),
        ("name: x\nstages:\n  - grid: {a: 1}\n  - decode_emg: {}\n", None),
    ],
)
def test_bad_pipeline_definitions(tmp_path, text, words, session_factory):
    (tmp_path / "p.yaml").write_text(text)
    if words:
        with pytest.raises(PipelineError) as info:
            load_pipeline(tmp_path / "p.yaml")
        assert words in str(info.value)
    else:  # loads, but the bad parameter is reported per session when it runs
        session_factory("a")
        with pytest.raises(InputError, match="bad parameter for stage 'grid'"):
            build_dataset(tmp_path / "sessions", tmp_path / "ds.zarr", pipeline=tmp_path / "p.yaml", progress=False)
    with pytest.raises(PipelineError, match="unknown pipeline"):
        load_pipeline("nonexistent")


def test_muscle_layout_is_the_default(session_factory, tmp_path):
    session_factory("a")
    build_dataset(tmp_path / "sessions", tmp_path / "ds.zarr", progress=False)
    ds = miakit.open_dataset(tmp_path / "ds.zarr")
    assert list(ds.muscle.values) == list(MUSCLES) == ds.attrs["muscles"]


def test_interrupted_build_resumes_and_store_is_never_half_valid(session_factory, tmp_path):
    from miakit.errors import DatasetError
    from miakit.pipeline import plan_build, run_part
    from miakit.store import write_template

    for name in ("a", "b", "c"):
        session_factory(name, seed=ord(name))
    out = tmp_path / "ds.zarr"
    plan = plan_build(tmp_path / "sessions", out)
    run_part(plan.sessions[0].folder, plan.sessions[0].part, plan.spec)  # the build died after one session
    assert [s.done for s in plan_build(tmp_path / "sessions", out).sessions] == [True, False, False]
    # a store whose writing was interrupted after its template is refused by readers
    serial = tmp_path / "serial.zarr"
    build_dataset(tmp_path / "sessions", serial, progress=False, keep_parts=False)
    write_template(miakit.open_dataset(serial).load(), out)
    with pytest.raises(DatasetError, match="incomplete store"):
        miakit.open_dataset(out)
    result = build_dataset(tmp_path / "sessions", out, progress=False)
    assert result.reused == 1 and result.segments == 3
    assert miakit.open_dataset(out).load().drop_attrs().identical(miakit.open_dataset(serial).load().drop_attrs())
    assert not Path(f"{out}.parts").exists()  # parts are removed once the store is written


def test_a_second_build_into_the_same_store_fails_clearly(session_factory, tmp_path):
    from filelock import FileLock

    from miakit.errors import MiakitError
    from miakit.store import lock_path

    session_factory("a")
    out = tmp_path / "ds.zarr"
    with FileLock(str(lock_path(out))):  # the lock of the resolved store, also for a file:// URL of it
        for spelled in (out, f"file://{out}"):
            with pytest.raises(MiakitError, match="another build is writing this store"):
                build_dataset(tmp_path / "sessions", spelled, progress=False)
    assert not list(tmp_path.glob("*.lock"))  # no lock file beside the store


def test_sessions_and_store_on_a_non_local_filesystem(session_factory, tmp_path):
    import fsspec

    session_factory("a")
    session_factory("b", seed=2)
    fs = fsspec.filesystem("memory")
    fs.put(str(tmp_path / "sessions"), "/lab/sessions", recursive=True)
    url = "memory://lab/out.zarr"
    result = build_dataset("memory://lab/sessions", url, progress=False)
    assert result.segments == 2
    remote = miakit.open_dataset(url).load()
    build_dataset(tmp_path / "sessions", tmp_path / "local.zarr", progress=False)
    local = miakit.open_dataset(tmp_path / "local.zarr").load()
    assert remote.drop_attrs().identical(local.drop_attrs())
    assert build_dataset("memory://lab/sessions", url, progress=False).up_to_date


def test_raw_semg_device_becomes_an_envelope_on_the_grid(tmp_path):
    """A generic raw-sEMG sensor (int16 at 1 kHz, 20 samples a notification) through the mia pipeline."""
    from datetime import datetime

    from session_builders import standing_pose

    from miakit.contracts.session import KeypointsInfo
    from miakit.devices.profiles import load_profile
    from miakit.record.session_writer import SessionWriter
    from miakit.stages.openpose import frame_filename, write_frame

    rng = np.random.default_rng(0)
    profile = load_profile("generic")
    folder = tmp_path / "sessions" / "raw"
    writer = SessionWriter(
        folder,
        session_id="raw",
        subject="s",
        exercise="squat",
        profile=profile,
        profile_bytes=Path(profile.path).read_bytes(),
        sensors={"EMG-1": "LeftQuad"},
        start_time=datetime(2026, 1, 1, tzinfo=UTC),
        host_monotonic_at_start=0.0,
    )
    t = np.arange(12_000) / 1000.0
    bursts = (np.sin(2 * np.pi * 0.25 * t) > 0).astype(float)  # 2 s on, 2 s off
    raw = (rng.normal(0, 1, t.size) * (50 + 800 * bursts)).clip(-32000, 32000).astype("<i2")
    sent = t[19::20]
    arrival = np.maximum.accumulate(sent + rng.uniform(0.0075, 0.03, sent.size))  # a link delivers in order
    for k, host_time in enumerate(arrival):
        writer.add_packet(host_time, "EMG-1", raw[20 * k : 20 * k + 20].tobytes())
    (folder / "keypoints").mkdir()
    for f in range(300):
        write_frame(folder / "keypoints" / frame_filename(f), [standing_pose(0.5 + f / 30)])
    writer.set_keypoints(
        KeypointsInfo(
            format="openpose_json",
            dir="keypoints",
            fps=30,
            width=1080,
            height=1920,
            start_host_time=0.5,
            estimator="openpose",
        )
    )
    writer.close()

    build_dataset(tmp_path / "sessions", tmp_path / "ds.zarr", progress=False)
    ds = miakit.open_dataset(tmp_path / "ds.zarr").load()
    env = ds["emg"].sel(muscle="LeftQuad").values
    on = np.sin(2 * np.pi * 0.25 * (0.5 + ds["time"].values)) > 0
    inner = np.abs(np.sin(2 * np.pi * 0.25 * (0.5 + ds["time"].values))) > 0.5  # away from the edges
    assert np.nanmean(env[on & inner]) > 8 * np.nanmean(env[~on & inner])
    assert np.nanmean(env[on & inner]) == pytest.approx(850, rel=0.2)  # the RMS of the burst


def test_markers_split_a_session_into_exercise_segments(session_factory, tmp_path):
    markers = [
        (1.0, "start:squat"),
        (4.0, "stop:squat"),
        (5.0, "start:running"),
        (9.0, "stop:running"),
        (10.0, "start:twist"),
    ]
    session_factory("multi", exercise=None, markers=markers, duration_s=12)
    result = build_dataset(tmp_path / "sessions", tmp_path / "ds.zarr", progress=False)
    assert result.segments == 3
    ds = miakit.open_dataset(tmp_path / "ds.zarr")
    assert list(ds["segment_exercise"].values) == ["squat", "running", "twist"]
    assert list(ds["segment"].values) == ["multi-00-squat", "multi-01-running", "multi-02-twist"]
    assert set(ds["segment_session"].values) == {"multi"}
    lengths = ds["segment_length"].values
    assert abs(lengths[0] - 31) <= 1 and abs(lengths[1] - 41) <= 1  # 1.0-4.0 s and 5.0-9.0 s at 10 Hz
    assert lengths[2] >= 10  # twist was never stopped: it runs to the end of the grid


def test_a_session_without_exercise_or_markers_is_one_segment_of_unknown_exercise(session_factory, tmp_path):
    from miakit.contracts.dataset import UNKNOWN_EXERCISE

    session_factory("good")
    session_factory("nomark", exercise=None)
    result = build_dataset(tmp_path / "sessions", tmp_path / "ds.zarr", progress=False)
    reports = {r.session: r for r in result.reports}
    assert reports["nomark"].kept and any(UNKNOWN_EXERCISE in n for n in reports["nomark"].notes)
    ds = miakit.open_dataset(tmp_path / "ds.zarr")
    exercises = dict(zip(ds["segment_session"].values.tolist(), ds["segment_exercise"].values.tolist()))
    assert exercises["nomark"] == UNKNOWN_EXERCISE and exercises["good"] != UNKNOWN_EXERCISE
    assert list(ds["segment"].values).count("nomark") == 1  # one segment covering the whole session
