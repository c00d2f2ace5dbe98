"""``miakit synth --from-mocap``: real motion capture as training sessions, EMG from the muscle model.

Run through the real command in a subprocess on a real corpus file (the tennis serve of the variety
corpus: a Vicon full-body capture from another lab, 22 s), then built into a real Zarr store. The
labels must be what the muscle model gives on that motion (computed here along the path ``miakit
bench real`` takes: :func:`miakit.importers.lab.world_joints`, then
:func:`miakit.body.activation.activation` of :func:`miakit.body.motion.kinematics_from_points`),
and every record of the session must say the EMG is modelled, not measured. A gait lab's
lower-body capture (the CGM 2.4 walk of the same corpus) labels the legs alone.
"""

from __future__ import annotations

import csv
import functools
import warnings

import numpy as np
import pytest
from cli_helpers import assert_refused, run

from miakit.layout import MUSCLES

TENNIS = "mocap/variety/vicon-tennis-serve-full-body.c3d"
SHORT = "mocap/variety/qualisys-walking-clusters.c3d"  # legs only, 1.9 s of them: too short
LOWER_BODY = "mocap/variety/vicon-cgm24-walking01.c3d"  # a gait lab's lower-body marker set (CGM 2.4), 4.9 s


@pytest.fixture(scope="module")
def made(shared_data, tmp_path_factory):
    """(sessions folder, result of synth) for the tennis serve, 2 views (and a short capture, skipped)."""
    work = tmp_path_factory.mktemp("from-mocap")
    env = {"MIAKIT_CATALOG": str(work / "catalog.yaml")}
    synth = run(
        "synth", "--out", work / "s", "--from-mocap", shared_data / SHORT, "--from-mocap", shared_data / TENNIS,
        "--views", "2", "--video", "none", env=env,
    )  # fmt: skip
    assert synth.returncode == 0, synth.stderr[-2000:]
    return work / "s", synth


@pytest.fixture(scope="module")
def store(made, tmp_path_factory):
    """The sessions built into a Zarr store by the real command."""
    out = tmp_path_factory.mktemp("from-mocap-store")
    build = run("build-dataset", made[0], "--out", out / "d.zarr", env={"MIAKIT_CATALOG": str(out / "c.yaml")})
    assert build.returncode == 0, build.stderr[-2000:]
    return out / "d.zarr"


@functools.cache
def model_activation(file):
    """(times, activation) the muscle model gives for the capture, computed here as bench real's
    path does, without miakit.synth.mocap."""
    from miakit.body.activation import activation
    from miakit.body.motion import kinematics_from_points
    from miakit.importers.c3d import read_c3d
    from miakit.importers.lab import world_joints

    t, joints = world_joints(read_c3d(file))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        act = activation(kinematics_from_points(t, joints))
    assert np.isfinite(act).all()  # a full-body capture: every muscle defined throughout
    return t, act


def model_truth(file, times_s, lead_s):
    """The muscle model's device units at host ``times_s`` of a session whose capture starts at
    ``lead_s``: the delay and the drawn subject's gain and crosstalk applied."""
    import zlib

    from miakit.body.activation import device_units
    from miakit.body.subjects import make_subject

    t, act = model_activation(file)
    subject = make_subject(zlib.crc32(b"vicon-tennis-serve-full-body") % 100_000, seed=0)
    at = np.clip(np.asarray(times_s) + subject.emd_s - lead_s, 0.0, t[-1])
    return device_units(np.stack([np.interp(at, t, act[:, k]) for k in range(len(MUSCLES))], axis=-1), subject)


def read_truth(folder):
    with (folder / "truth.csv").open() as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["time", *MUSCLES]
    values = np.array(rows[1:], dtype=np.float64)
    return values[:, 0], values[:, 1:]


def test_labels_are_the_muscle_models_on_that_motion(made, shared_data):
    import yaml

    sessions, synth = made
    folders = sorted(p.parent for p in sessions.rglob("session.yaml"))
    assert [f.name for f in folders] == ["vicon-tennis-serve-full-body", "vicon-tennis-serve-full-body-view1"]
    assert "2 sessions written from 1 captures (1 skipped)" in synth.stdout
    assert "skipped:" in synth.stderr and "qualisys-walking-clusters.c3d" in synth.stderr  # its one-line reason
    for folder in folders:
        meta = yaml.safe_load((folder / "session.yaml").read_text())
        times, truth = read_truth(folder)
        expected = model_truth(shared_data / TENNIS, times, meta["keypoints"]["start_host_time"])
        assert np.abs(truth - expected).max() < 2e-3  # truth.csv keeps 3 decimals
        assert truth[:, MUSCLES.index("RightTricep")].max() > 5 * truth[:, MUSCLES.index("RightTricep")].min()
    # the same motion and EMG, other keypoints: a second camera
    first, second = (read_truth(f)[1] for f in folders)
    assert np.array_equal(first, second)


def test_provenance_says_the_emg_is_modelled(made, shared_data):
    import hashlib

    import yaml

    sessions, _ = made
    sha = hashlib.sha256((shared_data / TENNIS).read_bytes()).hexdigest()
    for folder in sorted(p.parent for p in sessions.rglob("session.yaml")):
        meta = yaml.safe_load((folder / "session.yaml").read_text())
        for text in (meta["truth"]["description"], meta["clock"]["notes"], (folder / "events.csv").read_text()):
            assert "EMG modelled by the muscle model" in text and "not measured" in text
            assert f"vicon-tennis-serve-full-body.c3d (sha256 {sha})" in text
        assert meta["recorder"]["emulated"] is True
        assert meta["session_id"].startswith("mocap-vicon-tennis-serve-full-body-seed0")


@pytest.mark.slow
def test_the_store_says_the_emg_is_not_measured(store):
    import miakit

    ds = miakit.open_dataset(store)
    assert set(ds["segment_source"].values.astype(str)) == {"synthetic"}  # never counted as measured EMG
    assert set(ds["segment_subject"].values.astype(str)) == {"mocap-vicon-tennis-serve-full-body"}
    from miakit.bench.real import check_real_emg
    from miakit.errors import DatasetError

    with pytest.raises(DatasetError, match="synthetic, not measured EMG"):
        check_real_emg(ds)


@pytest.mark.slow
def test_store_holds_the_models_emg_and_keypoints_in_frame(store, shared_data):
    import miakit

    ds = miakit.open_dataset(store)
    assert ds.sizes["segment"] == 2 and float(ds["valid"].mean()) > 0.95
    for s in range(2):
        a, n = int(ds["segment_start"][s]), int(ds["segment_length"][s])
        assert n >= 200  # 22 s at 10 Hz
        emg = np.asarray(ds["emg"].values[a : a + n], dtype=np.float64)
        model = model_truth(shared_data / TENNIS, np.asarray(ds["time"].values[a : a + n]), 0.0)
        # the store's time 0 is the first 10 Hz frame of the filmed part: within 0.1 s of the capture's start
        best = max(
            np.median([np.corrcoef(emg[:, k], np.roll(model, shift, axis=0)[:, k])[0, 1] for k in range(8)])
            for shift in (0, 1, 2)
        )
        assert best > 0.8  # the sensor noise of a synthetic subject on top
        kp = np.asarray(ds["keypoints"].values[a : a + n])
        score = np.asarray(ds["keypoint_score"].values[a : a + n])
        seen = score > 0
        assert seen.mean() > 0.8  # the small toes the markers lack are missed, the rest in frame
        assert (kp[seen][:, 0] >= 0).all() and (kp[seen][:, 0] <= 1080).all() and (kp[seen][:, 1] <= 1920).all()


def test_a_capture_the_model_cannot_read_is_refused(shared_data, tmp_path):
    env = {"MIAKIT_CATALOG": str(tmp_path / "catalog.yaml")}
    refused = run("synth", "--out", tmp_path / "s", "--from-mocap", shared_data / SHORT, env=env)
    assert_refused(
        refused, "qualisys-walking-clusters.c3d", "the muscle model cannot read this motion", "legs: 1.9 s", "RShoulder"
    )
    assert not (tmp_path / "s").exists()
    mixed = run("synth", "--out", tmp_path / "u", "--from-mocap", shared_data / TENNIS, "--exercise", "squat", env=env)
    assert_refused(mixed, "--exercise")
    empty = run("synth", "--out", tmp_path / "v", "--from-mocap", tmp_path, env=env)
    assert_refused(empty, "no motion capture in this folder")


def test_a_lower_body_capture_labels_the_legs_and_wears_no_arm_sensors(shared_data, tmp_path):
    """A gait lab's lower-body marker set (no trunk, no arms): sessions with the four leg sensors
    alone, their EMG the muscle model's with the trunk upright over the pelvis (computed here
    from the joints, not by miakit.synth.mocap); built, the arms are missing and the frames valid."""
    import zlib

    import yaml

    from miakit.body.activation import activation, device_units
    from miakit.body.motion import kinematics_from_points
    from miakit.body.subjects import make_subject
    from miakit.importers.c3d import read_c3d
    from miakit.importers.lab import world_joints
    from miakit.layout import KP

    env = {"MIAKIT_CATALOG": str(tmp_path / "catalog.yaml")}
    synth = run("synth", "--out", tmp_path / "s", "--from-mocap", shared_data / LOWER_BODY, "--video", "none", env=env)
    assert synth.returncode == 0, synth.stderr[-2000:]
    (folder,) = (p.parent for p in (tmp_path / "s").rglob("session.yaml"))
    meta = yaml.safe_load((folder / "session.yaml").read_text())
    legs = ["LeftQuad", "RightQuad", "LeftHamstring", "RightHamstring"]
    assert sorted(meta["sensors"].values()) == sorted(legs)
    assert "trunk upright over the pelvis" in meta["truth"]["description"]

    t, joints = world_joints(read_c3d(shared_data / LOWER_BODY))
    assert not np.isfinite(joints[:, KP["Neck"]]).any() and not np.isfinite(joints[:, KP["LWrist"]]).any()
    leg = np.nanmedian([np.linalg.norm(joints[:, KP[f"{s}Hip"]] - joints[:, KP[f"{s}Ankle"]], axis=-1) for s in "LR"])
    joints[:, KP["Neck"]] = joints[:, KP["MidHip"]] + [0.0, 0.288 / 0.530 * leg, 0.0]  # Winter's trunk, upright
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        act = activation(kinematics_from_points(t, joints))
    columns = [MUSCLES.index(m) for m in legs]
    assert np.isfinite(act[:, columns]).all() and not np.isfinite(act[:, :4]).any()
    with (folder / "truth.csv").open() as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["time", *legs]
    times, truth = np.array(rows[1:], dtype=np.float64)[:, 0], np.array(rows[1:], dtype=np.float64)[:, 1:]
    subject = make_subject(zlib.crc32(b"vicon-cgm24-walking01") % 100_000, seed=0)
    at = np.clip(times + subject.emd_s - meta["keypoints"]["start_host_time"], 0.0, t[-1] - t[0])
    expected = device_units(np.stack([np.interp(at, t - t[0], act[:, k]) for k in range(8)], axis=-1), subject)
    assert np.abs(truth - expected[:, columns]).max() < 2e-3

    build = run("build-dataset", tmp_path / "s", "--out", tmp_path / "d.zarr", env=env)
    assert build.returncode == 0, build.stderr[-2000:]
    import miakit

    ds = miakit.open_dataset(tmp_path / "d.zarr")
    emg = np.asarray(ds["emg"].values, dtype=np.float64)
    assert ds.sizes["frame"] >= 40 and float(ds["valid"].mean()) > 0.9  # 4.9 s at 10 Hz, no arms needed
    assert np.isnan(emg[:, :4]).all() and np.isfinite(emg[:, 4:]).all()
    score = np.asarray(ds["keypoint_score"].values)
    assert (score[:, [KP[j] for j in ("LWrist", "RElbow", "Neck", "Nose")]] == 0).all()  # arms and head missed
