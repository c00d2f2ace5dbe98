"""The MIA release importer on a small release written in the exact layout, damaged clips included."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from mia_fixture import clip_emg, clip_joints2d, damage, write_clip, write_release

from miakit.contracts.dataset import provenance_of, validate_dataset
from miakit.errors import InputError
from miakit.importers.mia_release import RELEASE_MUSCLES, find_clips, import_mia_release, load_mia_release
from miakit.store import open_store

CLIPS = {
    ("train", "Subject0", "FrontKick"): [0, 1, 2, 5, 6],  # two runs: 0-2 and 5-6
    ("val", "Subject0", "FrontKick"): [3, 4],
    ("train", "Subject1", "Squat"): [10, 11, 12, 13],  # 11 damaged: runs 10 and 12-13
    ("train", "Subject10", "Squat"): [7],  # sorts after Subject1 (and Subject9), not before
    ("val", "Subject1", "HighKick"): [20, 21, 22, 23, 24],  # 21 and 23 damaged
}

_OPENED: list[str] = []


def _audit(event: str, args: tuple) -> None:
    if event == "open" and args and isinstance(args[0], (str, bytes, Path)):
        _OPENED.append(str(args[0]))


sys.addaudithook(_audit)  # records every file opened in this process (audit hooks cannot be removed)


@pytest.fixture
def release(tmp_path: Path) -> Path:
    root = write_release(tmp_path / "MIADatasetOfficial", CLIPS)
    damage(root / "train/Subject1/Squat/11", "truncated")
    damage(root / "val/Subject1/HighKick/21", "missing")
    damage(root / "val/Subject1/HighKick/23", "pickled")
    return root


def _segments(ds) -> dict[str, int]:
    return {str(s): int(n) for s, n in zip(ds["segment"].values, ds["segment_length"].values)}


def test_fixture_is_in_the_release_layout(tmp_path: Path):
    root = write_release(tmp_path, {("train", "Subject0", "Squat"): [0]})
    clip = root / "train/Subject0/Squat/0"
    shapes = {p.name: np.load(p, mmap_mode="r").shape for p in clip.glob("*.npy")}
    assert shapes == {
        "emgvalues.npy": (30, 8),
        "joints2d.npy": (30, 49, 2),
        "joints3d.npy": (30, 49, 3),
        "pose.npy": (30, 72),
        "betas.npy": (30, 10),
        "predcam.npy": (30, 3),
        "origcam.npy": (30, 4),
        "bboxes.npy": (30, 4),
        "verts.npy": (30, 6890, 3),
    }
    emg = np.load(clip / "emgvalues.npy")
    assert emg.dtype == np.float64 and np.array_equal(emg, np.round(emg))


def test_splits_segments_and_values(release: Path):
    ds, report = load_mia_release(release)
    validate_dataset(ds, deep=True)
    assert _segments(ds) == {
        "train-Subject0-FrontKick-0": 90,
        "train-Subject0-FrontKick-5": 60,
        "train-Subject1-Squat-10": 30,
        "train-Subject1-Squat-12": 60,
        "train-Subject10-Squat-7": 30,
        "val-Subject0-FrontKick-3": 60,
        "val-Subject1-HighKick-20": 30,
        "val-Subject1-HighKick-22": 30,
        "val-Subject1-HighKick-24": 30,
    }
    splits = dict(zip(ds["segment"].values.tolist(), ds["segment_split"].values.tolist()))
    assert splits["val-Subject0-FrontKick-3"] == "val" and splits["train-Subject0-FrontKick-0"] == "train"
    assert set(ds["segment_source"].values) == {"mia-release"} and ds.attrs["modalities"] == ["emg", "pose"]
    assert list(ds["muscle"].values) == list(RELEASE_MUSCLES) == ds.attrs["muscles"]
    assert set(ds["segment_image_width"].values) == {1080} and set(ds["segment_image_height"].values) == {1920}

    # the first segment is clips 0, 1, 2 in order, frame for frame
    start = int(ds["segment_start"].sel(segment="train-Subject0-FrontKick-0"))
    emg = ds["emg"].values[start : start + 90]
    np.testing.assert_array_equal(emg, np.concatenate([clip_emg(i) for i in (0, 1, 2)]).astype(np.float32))
    kp = ds["keypoints"].values[start : start + 90]
    np.testing.assert_array_equal(kp, np.concatenate([clip_joints2d(i)[:, :25] for i in (0, 1, 2)]))
    np.testing.assert_allclose(ds["time"].values[start : start + 90], np.arange(90) / 10)
    assert (ds["keypoint_score"].values == 1).all() and ds["valid"].values.all()
    assert report.n_frames == ds.sizes["frame"] == 420


def test_damaged_clips_are_reported_and_skipped(release: Path):
    _, report = load_mia_release(release)
    reasons = {Path(p).relative_to(release).as_posix(): r for p, r in report.skipped}
    assert set(reasons) == {"train/Subject1/Squat/11", "val/Subject1/HighKick/21", "val/Subject1/HighKick/23"}
    assert (
        "emgvalues.npy" in reasons["train/Subject1/Squat/11"]
        and "not a readable .npy" in reasons["train/Subject1/Squat/11"]
    )
    assert "joints2d.npy" in reasons["val/Subject1/HighKick/21"] and "missing" in reasons["val/Subject1/HighKick/21"]
    assert "emgvalues.npy" in reasons["val/Subject1/HighKick/23"]
    rows = {(r["split"], r["subject"]): r for r in report.rows}
    assert rows[("val", "Subject1")]["skipped"] == 2 and rows[("val", "Subject1")]["clips"] == 3
    assert rows[("train", "Subject10")]["segments"] == 1


def test_wrong_shape_is_reported(tmp_path: Path):
    root = write_release(tmp_path, {("train", "Subject0", "Squat"): [0, 1]})
    damage(root / "train/Subject0/Squat/1", "wrong_shape")
    ds, report = load_mia_release(root)
    assert ds.sizes["frame"] == 30
    assert "wrong shape" in report.skipped[0][1] and "(29, 8)" in report.skipped[0][1]


def test_verts_are_never_opened_unless_asked(release: Path):
    for clip in release.glob("*/*/*/*"):
        damage(clip, "bad_verts")
    _OPENED.clear()
    ds, report = load_mia_release(release)
    opened = [Path(p).name for p in _OPENED if str(release) in p]
    assert "emgvalues.npy" in opened and "joints2d.npy" in opened
    assert not any(name not in ("emgvalues.npy", "joints2d.npy") for name in opened), sorted(set(opened))
    assert len(report.skipped) == 3  # only the clips damaged before

    write_clip(release / "train/Subject0/FrontKick/0", 0)  # one clip with good verts again
    ds, report = load_mia_release(release, with_verts=True)
    assert list(ds["segment"].values) == ["train-Subject0-FrontKick-0"] and ds.sizes["frame"] == 30
    assert len(report.skipped) == len(list(release.glob("*/*/*/*"))) - 1
    assert sum("verts.npy: not a readable .npy" in r for _, r in report.skipped) == len(report.skipped) - 3


def test_with_verts_accepts_good_verts(tmp_path: Path):
    root = write_release(tmp_path, {("train", "Subject0", "Squat"): [0, 1]})
    ds, report = load_mia_release(root, with_verts=True)
    assert report.skipped == [] and ds.sizes["frame"] == 60


def test_missing_keypoints_get_score_zero_and_invalid_frames(tmp_path: Path):
    root = write_release(tmp_path, {("train", "Subject0", "Squat"): [0]})
    joints = clip_joints2d(0)
    joints[4, 3] = np.nan
    np.save(root / "train/Subject0/Squat/0/joints2d.npy", joints)
    ds, _ = load_mia_release(root)
    assert ds["keypoint_score"].values[4, 3] == 0 and np.isnan(ds["keypoints"].values[4, 3]).all()
    assert not ds["valid"].values[4] and ds["valid"].values[[3, 5]].all()


def test_written_store_opens_and_carries_provenance(release: Path, tmp_path: Path):
    pytest.importorskip("miakit.catalog")
    from miakit.catalog import open_catalog

    out = tmp_path / "mia.zarr"
    catalog = tmp_path / "catalog.yaml"
    report = import_mia_release(release, out, catalog=catalog, name="mia-small")
    ds = open_store(out)
    prov = provenance_of(ds)
    assert prov["pipeline"] == "import-mia-release" and len(prov["inputs_sha256"]) == 64
    assert ds.sizes["frame"] == report.n_frames == 420
    assert open_catalog(catalog)["mia-small"].open().sizes["segment"] == 9

    # same inputs, same hashes; a changed clip changes the input hash
    ds2, _ = load_mia_release(release)
    assert provenance_of(ds2)["inputs_sha256"] == prov["inputs_sha256"]
    assert provenance_of(ds2)["pipeline_sha256"] == prov["pipeline_sha256"]
    np.save(release / "train/Subject0/FrontKick/0/emgvalues.npy", clip_emg(0) + 1)
    ds3, _ = load_mia_release(release)
    assert provenance_of(ds3)["inputs_sha256"] != prov["inputs_sha256"]


def test_not_a_release(tmp_path: Path):
    (tmp_path / "something").mkdir()
    with pytest.raises(InputError, match="train/ and val/"):
        find_clips(tmp_path)
    with pytest.raises(InputError, match="no such folder"):
        find_clips(tmp_path / "nowhere")


def test_cli_prints_a_summary(release: Path, tmp_path: Path):
    from typer.testing import CliRunner

    from miakit.importers.cli import import_app

    out = tmp_path / "cli.zarr"
    result = CliRunner().invoke(import_app, ["mia-release", str(release.parent), "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "Subject10" in result.output and "skipped" in result.output
    assert "9 segments, 420 frames" in result.output
    assert result.output.strip().splitlines()[-1] == str(out)
    assert open_store(out).sizes["frame"] == 420


def test_a_release_with_only_damaged_clips_is_an_error(tmp_path: Path):
    root = write_release(tmp_path, {("val", "Subject2", "Squat"): [4]})
    damage(root / "val/Subject2/Squat/4", "missing")
    with pytest.raises(InputError, match="nothing could be imported"):
        load_mia_release(root)
