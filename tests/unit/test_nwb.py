"""NWB out and in (issue 35): ``miakit export nwb`` / ``miakit import nwb`` on real stores and real
files: a synthetic build and a real motion-capture trial go store -> NWB -> store unchanged, nwbinspector
finds nothing above a suggestion in what miakit writes, and a file another tool wrote (pynwb and
ndx-pose, the way a lab or movement writes one) imports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from dataset_builders import make_dataset

pytest.importorskip("pynwb")
pytest.importorskip("ndx_pose")

import miakit
from miakit.contracts.dataset import provenance_of
from miakit.errors import InputError
from miakit.layout import BODY_25, KP, MUSCLES
from miakit.nwb import export_nwb, import_nwb
from miakit.store import write_dataset

REPO = Path(__file__).resolve().parents[2]


def _miakit(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "miakit", *args], cwd=cwd, capture_output=True, text=True, timeout=300, env=env
    )


def assert_same_dataset(a, b) -> None:
    """Every variable, coordinate and attribute the same, but the provenance (the import's own)."""
    assert dict(a.sizes) == dict(b.sizes)
    assert set(a.data_vars) == set(b.data_vars) and set(a.coords) == set(b.coords)
    for name in [*a.data_vars, *a.coords]:
        x, y = a[name].values, b[name].values
        assert x.dtype.kind == y.dtype.kind or {x.dtype.kind, y.dtype.kind} <= set("UOT"), name
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), name
    assert {k: v for k, v in a.attrs.items() if k != "provenance"} == {
        k: v for k, v in b.attrs.items() if k != "provenance"
    }


def _problems(path: Path) -> list[str]:
    """What nwbinspector reports above a best-practice suggestion."""
    from nwbinspector import Importance, inspect_nwbfile

    return [
        f"{m.importance.name} {m.check_function_name} {m.object_name}: {m.message}"
        for m in inspect_nwbfile(nwbfile_path=str(path))
        if m.importance.value > Importance.BEST_PRACTICE_SUGGESTION.value
    ]


@pytest.fixture(scope="module")
def synthetic_store(tmp_path_factory) -> Path:
    """Two subjects, two exercises; each subject's two segments one session (two trials in its file)."""
    ds = make_dataset(subjects=("S01", "S02"), exercises=("squat", "running"), frames=60, invalid_at=(3, 7))
    ds["segment_session"] = ("segment", np.array(["S01-day1", "S01-day1", "S02-day1", "S02-day1"]))
    path = tmp_path_factory.mktemp("nwb") / "synth.zarr"
    write_dataset(ds, path)
    return path


def test_synthetic_build_round_trips_through_the_cli_and_nwbinspector_is_clean(synthetic_store, tmp_path):
    out = tmp_path / "nwb"
    done = _miakit("export", "nwb", str(synthetic_store), "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[-1] == str(out)
    files = sorted(out.glob("*.nwb"))
    assert [f.name for f in files] == ["S01-day1.nwb", "S02-day1.nwb"]  # one file per session
    for f in files:
        assert _problems(f) == []
    back = tmp_path / "back.zarr"
    done = _miakit("import", "nwb", *map(str, files), "--out", str(back), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[-1] == str(back)
    source, result = miakit.open_dataset(synthetic_store), miakit.open_dataset(back, deep=True)
    assert_same_dataset(source, result)
    prov = provenance_of(result)
    assert prov["pipeline"] == "import-nwb" and prov["files"][0]["exported"]["provenance"] == provenance_of(source)


def test_what_an_exported_file_holds(synthetic_store, tmp_path):
    from pynwb import NWBHDF5IO

    ds = miakit.open_dataset(synthetic_store)
    (path,) = [
        p for p in export_nwb(ds, tmp_path / "nwb", session_start="2024-05-01T10:30:00+02:00") if "S02" in p.name
    ]
    with NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        assert nwb.subject.subject_id == "S02" and nwb.session_id == "S02-day1"
        assert nwb.session_start_time.isoformat() == "2024-05-01T10:30:00+02:00"
        emg = nwb.processing["emg"]
        assert sorted(emg.data_interfaces) == sorted(str(m) for m in ds["muscle"].values)
        series = emg["M3"]
        assert series.rate == 10.0 and series.unit == ds.attrs["emg_units"] and series.data.shape == (120,)
        pose = nwb.processing["behavior"]["PoseEstimation"]
        skeleton = nwb.processing["behavior"]["Skeletons"].skeletons["BODY_25"]
        assert pose.skeleton is skeleton and list(skeleton.nodes[:]) == [str(k) for k in ds["keypoint"].values]
        assert len(skeleton.edges[:]) == 24
        assert pose.pose_estimation_series["K4"].confidence.shape == (120,)
        trials = nwb.trials.to_dataframe()
        assert trials["exercise"].tolist() == ["squat", "running"]
        assert trials["start_time"].tolist() == [0.0, 6.0] and trials["stop_time"].tolist() == [6.0, 12.0]
        assert '"pipeline": "test"' in nwb.notes and "miakit_export" in nwb.notes


def test_a_real_motion_capture_trial_round_trips(shared_data, tmp_path):
    from miakit.importers.c3d import import_c3d
    from miakit.importers.lab import parse_views

    store = tmp_path / "walk.zarr"
    import_c3d([shared_data / "mocap" / "gaitalytics-walk.c3d"], store, views=parse_views("front,side"))
    source = miakit.open_dataset(store)
    assert {"segment_view", "muscle_present", "event_time"} <= set(source.data_vars)
    (path,) = export_nwb(source, tmp_path / "walk.nwb")
    assert _problems(path) == []
    import_nwb([path], tmp_path / "back.zarr")
    assert_same_dataset(source, miakit.open_dataset(tmp_path / "back.zarr", deep=True))


def _lab_file(path: Path) -> dict:
    """An NWB file as a lab writes one with pynwb and ndx-pose: 1 kHz raw EMG as one TimeSeries of four
    columns, COCO keypoints at 30 Hz, one PoseEstimationSeries each, and two trials with an exercise."""
    from datetime import UTC, datetime

    from ndx_pose import PoseEstimation, PoseEstimationSeries, Skeleton, Skeletons
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries
    from pynwb.file import Subject

    rng = np.random.default_rng(0)
    nwb = NWBFile(
        session_description="squats then lunges",
        identifier="lab-0001",
        session_start_time=datetime(2025, 3, 4, 9, 0, tzinfo=UTC),
        session_id="ses-01",
        subject=Subject(subject_id="sub-07", species="Homo sapiens", age="P30Y", sex="F"),
    )
    t = np.arange(8000) / 1000.0
    burst = np.where(t < 4.0, 1.0, 0.2)  # strong in the first trial, weak in the second
    emg = rng.normal(0.0, 1.0, (t.size, 4)) * 1e-4 * burst[:, None] * np.array([1.0, 0.5, 1.0, 0.5])
    nwb.add_acquisition(TimeSeries(name="EMG", description="surface EMG", data=emg, unit="volts", rate=1000.0))
    names = ["nose", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_hip", "right_hip"]
    frames = np.arange(240) / 30.0
    xy = {
        n: np.stack([300 + 10 * i + 5 * np.sin(frames), 400 + 20 * i + 0 * frames], axis=1) for i, n in enumerate(names)
    }
    skeleton = Skeleton(name="coco_upper", nodes=names, edges=np.array([[1, 2], [1, 3], [2, 4]], dtype="uint8"))
    behavior = nwb.create_processing_module("behavior", "pose")
    behavior.add(Skeletons(skeletons=[skeleton]))
    series = [
        PoseEstimationSeries(
            name=n,
            data=xy[n],
            confidence=np.full(frames.size, 0.9),
            reference_frame="top-left corner",
            rate=30.0,
            starting_time=0.0,
        )
        for n in names
    ]
    behavior.add(
        PoseEstimation(name="pose", pose_estimation_series=series, skeleton=skeleton, source_software="movement")
    )
    nwb.add_trial_column(name="exercise", description="what was done")
    nwb.add_trial(start_time=0.0, stop_time=4.0, exercise="squat")
    nwb.add_trial(start_time=4.0, stop_time=8.0, exercise="side_lunge")
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return xy


def test_a_file_another_tool_wrote_imports(tmp_path):
    path = tmp_path / "sub-07_ses-01.nwb"
    xy = _lab_file(path)
    channels = {"EMG0": "RightQuad", "EMG1": "LeftQuad", "EMG2": "RightHamstring", "EMG3": None}
    report = import_nwb([path], tmp_path / "lab.zarr", channels=channels)
    assert report.n_segments == 2 and report.n_frames == 80
    ds = miakit.open_dataset(tmp_path / "lab.zarr", deep=True)
    assert ds["segment_exercise"].values.tolist() == ["squat", "side_lunge"]
    assert set(ds["subject"].values.tolist()) == {"sub-07"} and set(ds["session"].values.tolist()) == {"ses-01"}
    present = dict(zip(MUSCLES, ds["muscle_present"].values[0].tolist()))
    assert [m for m, p in present.items() if p] == ["LeftQuad", "RightQuad", "RightHamstring"]
    emg = ds["emg"].values
    quad = MUSCLES.index("RightQuad")
    first, second = np.nanmean(emg[5:35, quad]), np.nanmean(emg[45:75, quad])  # microvolts envelope
    assert 60 < first < 140 and first > 3 * second
    assert np.isnan(emg[:, MUSCLES.index("LeftBicep")]).all()
    keypoints, score = ds["keypoints"].values, ds["keypoint_score"].values
    grid, frames = np.arange(80) / 10.0, np.arange(240) / 30.0  # read on the 10 Hz grid
    right = xy["right_shoulder"]
    np.testing.assert_allclose(keypoints[:, KP["RShoulder"], 0], np.interp(grid, frames, right[:, 0]), rtol=1e-5)
    np.testing.assert_allclose(keypoints[:, KP["RShoulder"], 1], right[0, 1])
    np.testing.assert_allclose(  # Neck: the middle of the shoulders
        keypoints[:, KP["Neck"]], (keypoints[:, KP["RShoulder"]] + keypoints[:, KP["LShoulder"]]) / 2, rtol=1e-6
    )
    assert np.allclose(score[:, KP["Nose"]], 0.9) and (score[:, KP["LAnkle"]] == 0).all()
    assert np.isnan(keypoints[:, KP["LAnkle"]]).all()
    assert ds["valid"].values.mean() > 0.9  # EMG of the present muscles and 9 keypoints in every frame
    assert ds.attrs["modalities"] == ["emg", "pose"] and len(BODY_25) == ds.sizes["keypoint"]


def test_what_cannot_be_exported_or_imported_is_one_line(synthetic_store, tmp_path):
    ds = miakit.open_dataset(synthetic_store)
    with pytest.raises(InputError, match="holds 2 sessions, one NWB file each"):
        export_nwb(ds, tmp_path / "one.nwb")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "S01-day1.nwb").write_text("a file of mine")
    with pytest.raises(InputError, match="exists and is not an NWB file miakit wrote"):
        export_nwb(ds, tmp_path / "mine")
    assert (tmp_path / "mine" / "S01-day1.nwb").read_text() == "a file of mine"
    with pytest.raises(InputError, match="--session-start: not a date and time"):
        export_nwb(ds, tmp_path / "x", session_start="yesterday")
    with pytest.raises(InputError, match="not a readable NWB file"):
        import_nwb([tmp_path / "mine" / "S01-day1.nwb"], tmp_path / "back.zarr")
    done = _miakit("import", "nwb", str(tmp_path / "mine" / "S01-day1.nwb"), "--out", "b.zarr", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_an_emg_only_dataset_off_the_exact_grid_round_trips(tmp_path):
    """No keypoints (no PoseEstimation written), and frame times that are not k / 10 (timestamps)."""
    ds = make_dataset(subjects=("S01",), exercises=("squat",), frames=40)
    ds["keypoints"][:] = np.nan
    ds["keypoint_score"][:] = 0
    ds["time"] = ds["time"] + np.r_[0.0, np.full(39, 0.003)]
    ds.attrs["modalities"] = ["emg"]
    write_dataset(ds, tmp_path / "emg.zarr")
    source = miakit.open_dataset(tmp_path / "emg.zarr")
    (path,) = export_nwb(source, tmp_path / "emg.nwb")
    assert _problems(path) == []
    import_nwb([path], tmp_path / "back.zarr")
    back = miakit.open_dataset(tmp_path / "back.zarr", deep=True)
    assert_same_dataset(source, back)
    assert back["time"].values[1] == pytest.approx(0.103)
