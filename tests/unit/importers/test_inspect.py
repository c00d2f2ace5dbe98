"""``miakit import c3d|trc --inspect`` (writes nothing) and trials without EMG (keypoints only), by the real CLI."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest

from miakit.contracts.dataset import provenance_of
from miakit.importers.inspect import axis_name, runs
from miakit.store import open_store

pytest.importorskip("ezc3d")

WALK = "mocap/gaitalytics-walk.c3d"
TENNIS = "mocap/variety/vicon-tennis-serve-full-body.c3d"  # full-body markers, no analog channels at all


def cli(*args, cwd=None):
    env = {**os.environ, "COLUMNS": "200"}  # rich tables as wide as their rows: nothing cut with '…'
    return subprocess.run(
        [sys.executable, "-m", "miakit.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=300, env=env
    )


def _tree(folder) -> dict:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else ""
        for p in sorted(folder.rglob("*"))
    }


def _row(out: str, first: str) -> list[str]:
    """The cells of the table row that starts with ``first``."""
    line = next(x for x in out.splitlines() if x.strip("│ ").startswith(first + " "))
    return [c.strip() for c in line.strip().strip("│").split("│")]


def test_inspect_shows_joints_channels_axes_events_and_stretches_and_writes_nothing(shared_data, tmp_path):
    before = _tree(tmp_path)
    result = cli("import", "c3d", str(shared_data / WALK), "--inspect", "--out", str(tmp_path / "o.zarr"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert _tree(tmp_path) == before  # no store, no catalog, nothing
    assert "joints (mapping anatomy)" in out  # labels read by anatomy
    rhip = _row(out, "RHip")
    assert rhip[1].startswith("Harrington 2007") and rhip[2:] == ["15 mm", "100%"], rhip
    assert _row(out, "RKnee")[1].startswith("the file's own knee centre")  # Plug-in Gait's output, used
    assert _row(out, "RSmallToe")[1] == "missing: needs a fifth-metatarsal marker"  # why a joint is missing
    assert "labels not understood (65): CentreOfMass, CentreOfMassFloor" in out  # model outputs, not markers
    assert _row(out, "Voltage.RVL") == ["Voltage.RVL", "RightQuad", "raw", ""]
    assert _row(out, "Voltage.LBF") == ["Voltage.LBF", "LeftHamstring", "raw", ""]
    assert _row(out, "Voltage.RTA")[3] == "'ta' is not one of the 8 muscles"
    assert "channels names no muscle (only the hardware) (2): Voltage.15, Voltage.16" in out
    assert "body: whole body" in out
    assert "vertical: +Z (from upper body above the feet); facing: +X" in out  # the walk goes along +X, Z up
    assert "events (file): 3 foot_off left, 4 foot_off right, 3 foot_strike left, 3 foot_strike right" in out
    assert "stretches that would be imported (1): 0.0-3.4 s" in out
    assert "would import: 2 segments, 34 of 34 frames valid per view" in out
    assert out.strip().splitlines()[-1] == "inspected only: nothing written"


def test_inspect_names_what_to_fix(shared_data, tmp_path):
    """The OpenSim walk's EMG labels do not say the side: --inspect shows it, then --side right maps them."""
    trc, sto = shared_data / "mocap/opensim-walk-markers.trc", shared_data / "mocap/opensim-walk-emg.sto"
    plain = cli("import", "trc", str(trc), "--emg", str(sto), "--inspect", cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr[-2000:]
    assert _row(plain.stdout, "vastus_lateralis")[3] == "does not say the side (pass --side right or --side left)"
    assert _row(plain.stdout, "soleus")[3] == "'soleus' is not one of the 8 muscles"
    sided = cli("import", "trc", str(trc), "--emg", str(sto), "--inspect", "--side", "right", cwd=tmp_path)
    assert sided.returncode == 0, sided.stderr[-2000:]
    assert _row(sided.stdout, "vastus_lateralis")[1:3] == ["RightQuad", "envelope"]
    assert _row(sided.stdout, "medial_hamstrings")[1:3] == ["RightHamstring", "envelope"]
    assert "R.ASIS" not in sided.stdout.split("labels not understood")[1].splitlines()[0]  # a pelvis marker, read
    assert list(tmp_path.iterdir()) == []


def test_inspect_of_an_unreadable_file_and_a_missing_out(shared_data, tmp_path):
    junk = tmp_path / "junk.c3d"
    junk.write_bytes(b"not a c3d file")
    result = cli("import", "c3d", str(junk), str(shared_data / WALK), "--inspect")
    assert result.returncode == 0 and "cannot read" in result.stdout and "would import" in result.stdout
    missing = cli("import", "c3d", str(shared_data / WALK))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert (
        missing.stderr.strip()
        == "error: --out: missing (expected the store to write (STORE.zarr), or --inspect, found 'none')"
    )


def test_a_c3d_without_emg_imports_as_keypoints_only(shared_data, tmp_path):
    result = cli("import", "c3d", str(shared_data / TENNIS), "--out", str(tmp_path / "k.zarr"), "--no-progress")
    assert result.returncode == 0, result.stderr[-2000:]
    note = next(x for x in result.stdout.splitlines() if x.startswith("note"))
    assert note == "note vicon-tennis-serve-full-body.c3d: keypoints only, no EMG: the file has no analog channels"
    assert "0/8 (no EMG)" in result.stdout and "0 skipped" in result.stdout
    ds = open_store(tmp_path / "k.zarr")  # contract 2's validator accepts valid frames without EMG here
    assert np.isnan(ds["emg"].values).all() and not ds["muscle_present"].values.any()
    assert ds["valid"].values.sum() > 100  # judged on the keypoints alone
    assert (ds["keypoint_score"].values[ds["valid"].values].sum(axis=1) >= 5).all()
    info = provenance_of(ds)["trials"][0]
    assert info["emg_note"] == "keypoints only, no EMG: the file has no analog channels"


def test_channels_left_out_by_the_user_leave_keypoints_only(shared_data, tmp_path):
    labels = ["RRF", "RVL", "LRF", "LVL", "RST", "RBF", "LST", "LBF"]
    args = [a for label in labels for a in ("--channel", f"Voltage.{label}=-")]
    result = cli("import", "c3d", str(shared_data / WALK), *args, "--out", str(tmp_path / "k.zarr"), "--no-progress")
    assert result.returncode == 0, result.stderr[-2000:]
    note = next(x for x in result.stdout.splitlines() if x.startswith("note"))
    assert "keypoints only, no EMG: none of its 42 analog channels names" in note and "8 left out by --channel" in note
    ds = open_store(tmp_path / "k.zarr")
    assert not ds["muscle_present"].values.any() and ds["valid"].values.all()


def test_a_nan_muscle_is_skipped_by_the_loss():
    torch = pytest.importorskip("torch")
    from miakit.learn.train import _masked_mse

    pred = torch.zeros(2, 5, 8, requires_grad=True)
    target = torch.full((2, 5, 8), float("nan"))
    target[..., 5] = 1.0  # one muscle recorded, seven missing
    loss = _masked_mse(pred, target)
    loss.backward()
    assert float(loss.detach()) == pytest.approx(1.0) and torch.isfinite(pred.grad).all()
    assert float(pred.grad[..., :5].abs().sum()) == 0.0
    none = _masked_mse(pred, torch.full((2, 5, 8), float("nan")))  # a keypoints-only window: nothing to learn
    assert float(none.detach()) == 0.0


def test_helpers():
    assert axis_name([0, 0, 1]) == "+Z" and axis_name([-0.99, 0.1, 0]) == "-X" and axis_name([np.nan, 0, 1]) == "?"
    assert axis_name([0.7, 0.7, 0]) == "(+0.71, +0.71, +0.00)"
    assert runs(np.array([0, 1, 1, 0, 1], bool)) == [(1, 3), (4, 5)] and runs(np.zeros(3, bool)) == []


@pytest.mark.slow
def test_a_store_with_and_without_emg_trains_and_its_keypoints_only_trial_is_predicted(shared_data, tmp_path):
    """The lab with EMG on one trial and motion capture alone on another: one store, a few training
    steps (the keypoints-only trial's NaN muscles skipped), and a prediction over the trial without EMG."""
    from miakit.learn.predict import predict_segment

    store = tmp_path / "mixed.zarr"
    result = cli("import", "c3d", str(shared_data / WALK), str(shared_data / TENNIS), "--out", str(store))
    assert result.returncode == 0, result.stderr[-2000:]
    ds = open_store(store)
    assert ds["muscle_present"].values.any(axis=1).tolist() == [True, True, False, False]
    train = cli(
        "train",
        "--dataset",
        str(store),
        "--out",
        str(tmp_path / "run"),
        *("--set", "max_steps=3", "--set", "eval_every=1", "--set", "batch_size=4", "--set", "window=10"),
    )
    assert train.returncode == 0, train.stderr[-2000:]
    assert np.isfinite(float(train.stdout.split("best validation RMSE")[1].split()[0]))
    checkpoint = tmp_path / "run" / "checkpoint.pt"
    tennis = str(ds["segment"].values[2])
    predicted = predict_segment(checkpoint, ds, tennis, min_window=5)
    assert predicted.shape[1] == 8 and np.isfinite(predicted).all(axis=1).mean() > 0.8
