"""``miakit import c3d`` on the real trials in ../shared/data/mocap (a Plug-in Gait walk, a box lift)."""

from __future__ import annotations

import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from miakit.contracts.dataset import provenance_of
from miakit.errors import InputError
from miakit.importers.c3d import read_c3d
from miakit.importers.lab import (
    facing_direction,
    load_trials,
    parse_views,
    trial_joints,
    trial_segments,
    vertical_axis,
    zeni_events,
)
from miakit.layout import BODY_25, IMAGE_HEIGHT, IMAGE_WIDTH, MUSCLES
from miakit.stages.emg import RawEmgParams

pytest.importorskip("ezc3d")

WALK = "mocap/gaitalytics-walk.c3d"
LIFT = "mocap/pyomeca-box-lift.c3d"
PLUG_IN_GAIT_OUTPUTS = {  # the model's own joint centres in the walk: segment origins and proximal points
    "RHip": "RFEP",
    "LHip": "LFEP",
    "RKnee": "RFEO",
    "LKnee": "LFEO",
    "RAnkle": "RTIO",
    "LAnkle": "LTIO",
    "RShoulder": "RCLO",
    "LShoulder": "LCLO",
    "RElbow": "RHUO",
    "LElbow": "LHUO",
    "RWrist": "RRAO",
    "LWrist": "LRAO",
}


@cache
def _load(path: str, views: str = "front,side", side: str | None = None):
    return load_trials([Path(path)], read_c3d, pipeline="import-c3d", views=parse_views(views), side=side)


def cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "miakit.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def _segment(ds, i):
    s, n = int(ds["segment_start"][i]), int(ds["segment_length"][i])
    return slice(s, s + n)


def test_joint_centres_match_the_plug_in_gait_model(shared_data):
    """The markers alone (the file's model outputs ignored) give Plug-in Gait's joint centres; by
    default the model's own are used where the file holds them."""
    from miakit.importers.lab import anatomy_trial_joints

    trial = read_c3d(shared_data / WALK)
    default, mapping, _, _ = trial_joints(trial)
    assert mapping.name == "anatomy" and default.rules["RKnee"]["rule"] == "model"
    assert default.rules["RKnee"]["markers"] == ["RFEO"] and default.rules["RHip"]["rule"] == "harrington"
    joints, _, markers, _ = anatomy_trial_joints(trial, use_model=False)
    errors = {}
    for joint, output in PLUG_IN_GAIT_OUTPUTS.items():
        ref = trial.markers[output]
        errors[joint] = np.linalg.norm(joints.xyz[:, BODY_25.index(joint)] - ref, axis=1)
        assert np.isfinite(errors[joint]).mean() > 0.95, joint
    for joint in PLUG_IN_GAIT_OUTPUTS:  # hips, knees, ankles, shoulders, elbows, wrists
        assert np.nanmax(errors[joint]) < 15.0, (joint, float(np.nanmax(errors[joint])))
    assert joints.rules["RHip"]["rule"] == "harrington" and joints.rules["RKnee"]["rule"] == "chord"


def test_quadriceps_peak_in_loading_response_and_hamstrings_around_heel_strike(shared_data):
    ds, report = _load(str(shared_data / WALK), "front")
    assert report.skipped == []
    t = ds["time"].values
    ev = set(zip(ds["event_time"].values.tolist(), ds["event_kind"].values.tolist(), ds["event_side"].values.tolist()))
    assert set(ds["event_origin"].values) == {"file"}
    cycles = 0
    for side, prefix in (("right", "Right"), ("left", "Left")):
        strikes = sorted(t0 for t0, kind, s in ev if kind == "foot_strike" and s == side)
        assert len(strikes) >= 3
        for a, b in zip(strikes, strikes[1:]):
            inside = (t >= a - 1e-6) & (t < b - 1e-6)
            phase = (t[inside] - a) / (b - a)
            quad = ds["emg"].sel(muscle=f"{prefix}Quad").values[inside]
            ham = ds["emg"].sel(muscle=f"{prefix}Hamstring").values[inside]
            assert 0.0 <= phase[np.argmax(quad)] <= 0.20, (side, a, phase[np.argmax(quad)])
            p = phase[np.argmax(ham)]
            assert p >= 0.85 or p <= 0.10, (side, a, p)  # terminal swing to just after heel strike
            cycles += 1
    assert cycles == 4


def test_event_times_count_from_the_trial_start_and_zeni_agrees(shared_data):
    trial = read_c3d(shared_data / WALK)
    joints, mapping, markers, _ = trial_joints(trial)
    up = vertical_axis(joints.xyz, trial.path)
    forward = facing_direction(markers, mapping, joints.xyz, up, trial.path)
    assert up.tolist() == [0.0, 0.0, 1.0] and forward[0] > 0.99  # walking along +x with z up
    detected = zeni_events(joints.xyz, trial.marker_rate_hz, up=up, forward=forward)
    assert len([e for e in trial.events if e[1] == "foot_strike"]) == 6 and len(trial.events) == 13
    # Toe off agrees within 30 ms: the file's time base is right. Zeni's heel strike comes up to about
    # 60 ms early overground (the heel's furthest reach precedes contact), within 70 ms here.
    tolerance = {"foot_strike": 0.07, "foot_off": 0.03}
    for t, kind, side in trial.events:
        near = [d for d, k, s in detected if k == kind and s == side and abs(d - t) < tolerance[kind]]
        assert near or t < 0.05, (t, kind, side, detected)  # an event at the first frame has no peak before it


def test_box_lift_gives_the_right_arm_and_leaves_the_legs_missing(shared_data):
    ds, report = _load(str(shared_data / LIFT), "front", "right")
    assert report.skipped == []
    info = provenance_of(ds)["trials"][0]
    assert info["channels"] == {"RightBicep": ["Biceps.EMG4"], "RightTricep": ["Triceps.EMG5"]}
    present = dict(zip(MUSCLES, ds["muscle_present"].values[0].tolist()))
    assert present == {m: m in ("RightBicep", "RightTricep") for m in MUSCLES}
    emg = ds["emg"]
    assert np.isfinite(emg.sel(muscle=["RightBicep", "RightTricep"]).values).all()
    assert np.isnan(emg.sel(muscle=[m for m in MUSCLES if not present[m]]).values).all()
    assert (emg.sel(muscle=["RightBicep", "RightTricep"]).values >= 0).all()
    # What the lift shows (../shared/data/README.md): the biceps bursts as the arm reaches up, the
    # triceps as the box is pushed onto the higher shelf (the wrist at its highest).
    wrist = IMAGE_HEIGHT - ds["keypoints"].values[:, BODY_25.index("RWrist"), 1]  # up in the picture
    biceps, triceps = emg.sel(muscle="RightBicep").values, emg.sel(muscle="RightTricep").values
    b, t = int(np.argmax(biceps)), int(np.argmax(triceps))
    assert wrist[b + 1] - wrist[b - 1] > 0, "biceps peak while the wrist rises"
    assert wrist[t] - np.nanmin(wrist) > 0.9 * (np.nanmax(wrist) - np.nanmin(wrist)), (
        "triceps peak with the wrist at its highest"
    )
    assert biceps.max() > 5 * np.median(biceps) and triceps.max() > 5 * np.median(triceps[:5])
    assert bool(ds["valid"].values.all())
    score = ds["keypoint_score"].values
    for joint in ("RShoulder", "RElbow", "MidHip"):
        assert score[:, BODY_25.index(joint)].mean() > 0.9, joint
    for joint in ("LAnkle", "RKnee", "Nose"):  # no such markers in this file
        assert (score[:, BODY_25.index(joint)] == 0).all() and np.isnan(
            ds["keypoints"].values[:, BODY_25.index(joint)]
        ).all()


def test_box_lift_without_a_side_imports_keypoints_and_says_why_no_emg(shared_data, tmp_path):
    """No EMG channel maps without --side: the trial imports as keypoints only (no muscle present, its
    frames judged on the keypoints), and the provenance says which channels and --side."""
    result = cli("import", "c3d", str(shared_data / LIFT), "--out", str(tmp_path / "x.zarr"), "--no-progress")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-2000:]
    from miakit.store import open_store

    ds = open_store(tmp_path / "x.zarr")
    note = provenance_of(ds)["trials"][0]["emg_note"]
    assert "Biceps.EMG4" in note and "--side" in note and not ds["muscle_present"].values.any()
    assert ds["valid"].values.any() and (ds["keypoint_score"].values > 0).mean() > 0.1


def test_views_are_segments_inside_the_portrait_frame(shared_data):
    ds, _ = _load(str(shared_data / WALK), "front,side,45,-120")
    assert ds.sizes["segment"] == 4
    assert ds["segment_view"].values.tolist() == ["front", "side", "yaw+45", "yaw-120"]
    assert ds["segment_yaw_deg"].values.tolist() == [0.0, 90.0, 45.0, -120.0]
    assert set(ds["segment_image_width"].values) == {IMAGE_WIDTH} and set(ds["segment_image_height"].values) == {
        IMAGE_HEIGHT
    }
    kp, score = ds["keypoints"].values, ds["keypoint_score"].values
    seen = np.isfinite(kp).all(axis=2)
    assert np.array_equal(seen, score == 1) and set(np.unique(score)) <= {0.0, 1.0}
    x, y = kp[..., 0][seen], kp[..., 1][seen]
    assert x.min() >= 0 and x.max() < IMAGE_WIDTH and y.min() >= 0 and y.max() < IMAGE_HEIGHT
    assert seen.mean() > 0.9  # all but the small toes (no such markers)
    parts = [kp[_segment(ds, i)] for i in range(4)]
    for i in range(4):
        for j in range(i + 1, 4):
            assert np.nanmean(np.abs(parts[i] - parts[j])) > 20, (i, j)  # each camera sees a different picture
    front = parts[0]
    head, ankles = (
        front[:, BODY_25.index("Nose"), 1],
        front[:, [BODY_25.index("RAnkle"), BODY_25.index("LAnkle")], 1].mean(axis=1),
    )
    assert (ankles - head).mean() > 0.5 * IMAGE_HEIGHT  # upright and filling much of the frame
    rs, ls = front[:, BODY_25.index("RShoulder"), 0], front[:, BODY_25.index("LShoulder"), 0]
    assert (rs < ls).all()  # facing the camera: the subject's right on the picture's left
    hips = front[:, BODY_25.index("MidHip"), 0]
    assert np.ptp(hips) < 0.1 * IMAGE_WIDTH  # progression removed: the camera pans with the walker
    same = [
        np.array_equal(ds["emg"].values[_segment(ds, 0)], ds["emg"].values[_segment(ds, i)], equal_nan=True)
        for i in range(4)
    ]
    assert all(same)
    n_events = ds["event_segment"].values
    assert [int((n_events == i).sum()) for i in range(4)] == [13] * 4


def test_store_passes_the_contract_and_trains(shared_data, tmp_path):
    import miakit

    catalog = tmp_path / "catalog.yaml"
    result = cli(
        "import",
        "c3d",
        str(shared_data / WALK),
        str(shared_data / LIFT),
        "--out",
        str(tmp_path / "lab.zarr"),
        "--side",
        "right",
        "--views",
        "front,side",
        "--catalog",
        str(catalog),
        "--name",
        "lab",
        "--no-progress",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == str(tmp_path / "lab.zarr")
    ds = miakit.open_dataset("lab", catalog=catalog)
    assert ds.sizes["segment"] == 4 and provenance_of(ds)["pipeline"] == "import-c3d"
    assert [t["mapping"] for t in provenance_of(ds)["trials"]] == ["anatomy", "anatomy"]
    assert ds["muscle_present"].values.sum(axis=1).tolist() == [4, 4, 2, 2]
    train = cli(
        "train",
        "--dataset",
        "lab",
        "--catalog",
        str(catalog),
        "--out",
        str(tmp_path / "run"),
        "--set",
        "max_steps=3",
        "--set",
        "eval_every=1",
        "--set",
        "batch_size=4",
        "--set",
        "window=10",
    )
    assert train.returncode == 0, train.stderr[-2000:]
    assert Path(train.stdout.strip().splitlines()[-1]).is_file()
    rmse = float(train.stdout.split("best validation RMSE")[1].split()[0])
    assert np.isfinite(rmse)  # the missing muscles (NaN) are left out of loss and RMSE, not learned as zero


def _rewritten(source: Path, dest: Path, change) -> Path:
    import ezc3d

    c3d = ezc3d.c3d(str(source))
    change(c3d)
    c3d.write(str(dest))
    return dest


def test_bad_files_are_named_and_the_others_imported(shared_data, tmp_path):
    walk = shared_data / WALK

    def no_markers(c):
        points = c["data"]["points"]
        points[:3] = 0.0
        c["data"]["points"] = points

    def unknown_set(c):
        n = len(c["parameters"]["POINT"]["LABELS"]["value"])
        c["parameters"]["POINT"]["LABELS"]["value"] = [f"M{i:03d}" for i in range(n)]

    def no_emg(c):
        n = len(c["parameters"]["ANALOG"]["LABELS"]["value"])
        c["parameters"]["ANALOG"]["LABELS"]["value"] = [f"Voltage.{i}" for i in range(n)]

    bad = {
        "empty.c3d": (no_markers, "no usable markers"),
        "unknown.c3d": (unknown_set, "unknown marker set"),
    }
    files = [_rewritten(walk, tmp_path / name, change) for name, (change, _) in bad.items()]
    files.append(_rewritten(walk, tmp_path / "noemg.c3d", no_emg))  # no channel names a muscle: keypoints only
    (tmp_path / "junk.c3d").write_bytes(b"not a c3d file at all")
    result = cli(
        "import",
        "c3d",
        *map(str, files),
        str(tmp_path / "junk.c3d"),
        str(walk),
        "--out",
        str(tmp_path / "s.zarr"),
        "--no-progress",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    for name, (_, reason) in bad.items():
        line = next(x for x in out.splitlines() if x.startswith("skipped") and name in x)
        assert reason in line, line
    assert any("junk.c3d" in x and "not a readable C3D file" in x for x in out.splitlines())
    assert "4 segments" in out and "3 skipped" in out
    note = next(x for x in out.splitlines() if x.startswith("note") and "noemg.c3d" in x)
    assert "keypoints only, no EMG" in note and "named only by the hardware: Voltage.0" in note, note
    for name, (_, reason) in bad.items():  # alone: the file's own error
        with pytest.raises(InputError, match=reason) as err:
            load_trials([tmp_path / name], read_c3d, pipeline="import-c3d", views=parse_views("front"))
        assert str(err.value).startswith(str(tmp_path / name)) and "\n" not in str(err.value)
    alone = cli("import", "c3d", str(tmp_path / "unknown.c3d"), "--out", str(tmp_path / "u.zarr"), "--no-progress")
    assert alone.returncode == 2 and "Traceback" not in alone.stderr and "unknown marker set" in alone.stderr
    assert len(alone.stderr.strip().splitlines()) == 1 and "--mapping" in alone.stderr
    assert not (tmp_path / "u.zarr").exists()


def test_gaps_filled_up_to_the_limit_and_missing_beyond(shared_data):
    trial = read_c3d(shared_data / WALK)
    trial.markers["RKNE"][100:110] = 0.0  # 0.1 s of (0, 0, 0): filled
    trial.markers["LKNE"][100:160] = np.nan  # 0.6 s: beyond the 0.2 s limit
    trial.markers["Subject:RKNE"] = trial.markers["RKNE"][:].copy() * np.nan  # a repeated label, worse: dropped
    for output in ("RFEO", "LFEO"):  # the model's knee centres: the knees from the markers
        del trial.markers[output]
    result = trial_segments(trial, views=parse_views("front"), emg_params=RawEmgParams())
    seg = result.segments[0]
    assert result.info["repeated_labels"] == ["Subject:RKNE"]
    rk, lk = BODY_25.index("RKnee"), BODY_25.index("LKnee")
    assert (seg.keypoint_score[:, rk] == 1).all()
    lost = seg.keypoint_score[:, lk] == 0
    assert lost.sum() >= 4 and lost[11:15].all() and np.isnan(seg.keypoints[lost, lk]).all()
    assert not lost[:10].any()


def test_clipping_is_counted_and_flagged(shared_data):
    trial = read_c3d(shared_data / WALK)
    clean = trial_segments(trial, views=parse_views("front"), emg_params=RawEmgParams())
    assert clean.info["clipped_samples"] == {} and clean.segments[0].flags == ()
    raw = trial.analogs["Voltage.RVL"]
    rail = 0.4 * np.abs(raw).max()
    trial.analogs["Voltage.RVL"] = np.clip(raw, -rail, rail)  # an amplifier saturating at +-rail
    at_rail = int((np.abs(raw) >= rail).sum())
    flat = trial_segments(
        trial, views=parse_views("front"), emg_params=RawEmgParams()
    )  # no rail stated: flat runs at the extremes
    assert 0.5 * at_rail <= flat.info["clipped_samples"]["Voltage.RVL"] <= at_rail
    assert flat.segments[0].flags == ("clipped",)
    trial.analog_rails = {"Voltage.RVL": (-rail, rail)}  # the ADC's rail, as ANALOG:BITS and SCALE state it
    stated = trial_segments(trial, views=parse_views("front"), emg_params=RawEmgParams())
    near = int((np.abs(raw) >= rail - 1e-3 * 2 * rail).sum())  # within 0.1 % of the ADC's range of the rail
    assert stated.info["clipped_samples"] == {"Voltage.RVL": near} and near >= at_rail


def test_the_event_table_is_checked_by_the_contract(shared_data):
    from miakit.contracts.dataset import validate_dataset
    from miakit.errors import DatasetError

    ds, _ = _load(str(shared_data / WALK), "front")
    validate_dataset(ds, deep=True)
    with pytest.raises(DatasetError, match="incomplete event table"):
        validate_dataset(ds.drop_vars("event_kind"))
    with pytest.raises(DatasetError, match="event of no segment"):
        validate_dataset(ds.assign(event_segment=ds["event_segment"] + 5))
    older = ds.drop_vars(
        [
            v
            for v in ds.data_vars
            if v.startswith("event_") or v in ("segment_view", "segment_yaw_deg", "muscle_present")
        ]
    )
    validate_dataset(older, deep=True)  # stores without these optional variables stay valid


def test_help_has_an_example():
    for command in ("c3d", "trc"):
        result = cli("import", command, "--help")
        assert result.returncode == 0 and f"Example: miakit import {command}" in result.stdout


def test_zeni_fills_in_for_walking_only(shared_data):
    trial = read_c3d(shared_data / WALK)
    trial.events = []  # as if the file had none
    walking = trial_segments(trial, views=parse_views("front"), emg_params=RawEmgParams())
    assert walking.info["events"] == "zeni"
    assert sum(1 for e in walking.events if e[2] == "foot_strike") == 6
    for left, right in (("LHEE", "RHEE"), ("LTOE", "RTOE")):  # both feet moving together: no gait
        trial.markers[left] = trial.markers[right] - [0.0, 200.0, 0.0]
    together = trial_segments(trial, views=parse_views("front"), emg_params=RawEmgParams())
    assert together.info["events"] == "none" and together.events == []


def test_trials_of_one_name_in_two_folders_stay_apart(shared_data, tmp_path):
    for folder in ("day1", "day2"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "walk.c3d").symlink_to(shared_data / WALK)
    ds, report = load_trials(
        [tmp_path / "day1" / "walk.c3d", tmp_path / "day2" / "walk.c3d"],
        read_c3d,
        pipeline="import-c3d",
        views=parse_views("front"),
    )
    assert ds["segment"].values.tolist() == ["walk-front", "day2-walk-front"] and report.n_segments == 2


def test_without_the_wands_knees_and_ankles_are_offset_medially(shared_data):
    trial = read_c3d(shared_data / WALK)
    for wand in ("RTHI", "LTHI", "RTIB", "LTIB"):
        del trial.markers[wand]
    from miakit.importers.lab import anatomy_trial_joints

    joints, _, markers, _ = anatomy_trial_joints(trial, use_model=False)
    for joint in ("RKnee", "LKnee", "RAnkle", "LAnkle"):
        assert joints.rules[joint]["rule"] == "medial offset"
        err = np.linalg.norm(joints.xyz[:, BODY_25.index(joint)] - trial.markers[PLUG_IN_GAIT_OUTPUTS[joint]], axis=1)
        assert np.nanmean(err) < 15.0 and np.nanmax(err) < 30.0, (joint, np.nanmean(err), np.nanmax(err))
