"""The UCI EMG importer on the real recordings in ../shared/data/emg/uci-physical-action."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from sample_files import sample_path

from miakit.contracts.dataset import provenance_of, validate_dataset
from miakit.errors import InputError
from miakit.importers.uci import find_uci_files, import_uci, load_uci, read_uci_file
from miakit.layout import MUSCLES
from miakit.stages.emg import condition_raw
from miakit.store import open_store

UCI = sample_path("emg", "uci-physical-action")
pytestmark = pytest.mark.skipif(
    not UCI.is_dir(), reason=f"the UCI EMG recordings are not at {UCI} (../shared/data is absent)"
)

LEG_ACTIONS = ("Jumping", "Running", "Frontkicking", "Kneeing", "Sidekicking")
THIGH = ["LeftQuad", "RightQuad", "LeftHamstring", "RightHamstring"]


def _link_subset(dest: Path, actions: tuple[str, ...]) -> Path:
    """A copy of the set's layout holding only ``actions``, as links to the real files."""
    for src in find_uci_files(UCI):
        if src.stem in actions:
            target = dest / src.relative_to(UCI)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(src.resolve())
    return dest


@pytest.fixture(scope="module")
def legs_and_standing(tmp_path_factory) -> xr.Dataset:
    root = _link_subset(tmp_path_factory.mktemp("uci"), ("Standing", *LEG_ACTIONS))
    ds, report = load_uci(root)
    assert report.skipped == [] and report.n_segments == 3 * (1 + len(LEG_ACTIONS))
    return ds


def test_envelopes_are_on_the_10_hz_grid(legs_and_standing: xr.Dataset):
    ds = legs_and_standing
    validate_dataset(ds, deep=True)
    assert ds.attrs["rate_hz"] == 10 and ds.attrs["raw_rate_hz"] == 1000 and ds.attrs["modalities"] == ["emg"]
    assert list(ds["muscle"].values) == list(MUSCLES)
    for seg, n in zip(ds["segment"].values, ds["segment_length"].values):
        subject, action = str(seg).split("-")
        rows = len(read_uci_file(next(UCI.glob(f"{subject}/*/txt/{action.capitalize()}.txt"))))
        assert n == (rows - 1) // 100 + 1  # one frame per 100 raw samples
    assert np.allclose(np.diff(ds["time"].values[: ds["segment_length"].values[0]]), 0.1)
    assert ds["valid"].values.all() and np.isfinite(ds["emg"].values).all()
    assert np.isnan(ds["keypoints"].values).all() and (ds["keypoint_score"].values == 0).all()
    assert set(ds["segment_source"].values) == {"uci-emg"} and set(ds["segment_split"].values) == {""}
    assert ds.attrs["log"][-1] == "resample(rate_hz=10)"


def test_leg_actions_show_more_thigh_activity_than_standing(legs_and_standing: xr.Dataset):
    ds = legs_and_standing
    thigh = ds["emg"].sel(muscle=THIGH).values.mean(axis=1)
    level = {}
    for _seg, subject, action, start, n in zip(
        ds["segment"].values,
        ds["segment_subject"].values,
        ds["segment_exercise"].values,
        ds["segment_start"].values,
        ds["segment_length"].values,
    ):
        level[(str(subject), str(action))] = float(thigh[start : start + n].mean())
    for subject in ("sub01", "sub02", "sub03"):
        standing = level[(subject, "standing")]
        for action in LEG_ACTIONS:
            assert level[(subject, action.lower())] > 3 * standing, (
                subject,
                action,
                level[(subject, action.lower())],
                standing,
            )


def test_channels_are_mapped_to_muscles(legs_and_standing: xr.Dataset):
    ds = legs_and_standing
    raw = read_uci_file(UCI / "sub01/Normal/txt/Running.txt")  # R-Bic R-Tri L-Bic L-Tri R-Thi R-Ham L-Thi L-Ham
    da = xr.DataArray(
        raw[:, [4, 6]], dims=("time", "muscle"), coords={"muscle": ["RightQuad", "LeftQuad"]}, attrs={"rate_hz": 1000.0}
    )
    expected = condition_raw(da)
    seg = ds.sel(segment="sub01-running")
    start, n = int(seg["segment_start"]), int(seg["segment_length"])
    got = ds["emg"].isel(frame=slice(start, start + n)).sel(muscle=["RightQuad", "LeftQuad"]).values
    np.testing.assert_allclose(got, expected.values, rtol=1e-5)


def test_bad_files_are_reported_and_skipped(tmp_path: Path):
    root = _link_subset(tmp_path / "uci", ("Standing",))
    txt = root / "sub01/Normal/txt"
    (txt / "Garbage.txt").write_text("this\tis\nnot\tnumbers\n")
    (txt / "Seven.txt").write_text("1\t2\t3\t4\t5\t6\t7\r\n" * 500)
    (txt / "Short.txt").write_text("1\t2\t3\t4\t5\t6\t7\t8\r\n" * 20)
    (txt / "Empty.txt").write_text("")
    ds, report = load_uci(root)
    reasons = {Path(p).name: r for p, r in report.skipped}
    assert set(reasons) == {"Garbage.txt", "Seven.txt", "Short.txt", "Empty.txt"}
    assert "not a table of numbers" in reasons["Garbage.txt"]
    assert "wrong number of columns" in reasons["Seven.txt"] and "found 7" in reasons["Seven.txt"]
    assert "too short" in reasons["Short.txt"]
    assert ds.sizes["segment"] == 3


def test_import_writes_a_store_and_the_cli_prints_a_summary(tmp_path: Path):
    from typer.testing import CliRunner

    from miakit.catalog import open_catalog
    from miakit.importers.cli import import_app

    root = _link_subset(tmp_path / "uci", ("Standing", "Running"))
    out = tmp_path / "uci.zarr"
    report = import_uci(root, out, catalog=tmp_path / "catalog.yaml", name="uci")
    ds = open_store(out)
    assert ds.sizes["segment"] == 6 == report.n_segments
    prov = provenance_of(ds)
    assert (
        prov["pipeline"] == "import-uci-emg" and len(prov["pipeline_sha256"]) == 64 and len(prov["inputs_sha256"]) == 64
    )
    assert ds.attrs["emg_units"] == "microvolts (RMS envelope)"
    assert open_catalog(tmp_path / "catalog.yaml")["uci"].open().sizes["frame"] == ds.sizes["frame"]

    result = CliRunner().invoke(
        import_app, ["uci-emg", str(root), "--out", str(tmp_path / "cli.zarr"), "--no-progress", "--window-s", "0.2"]
    )
    assert result.exit_code == 0, result.output
    assert "sub03" in result.output and "6 segments" in result.output
    other = open_store(tmp_path / "cli.zarr")
    assert provenance_of(other)["inputs_sha256"] == prov["inputs_sha256"]
    assert provenance_of(other)["pipeline_sha256"] != prov["pipeline_sha256"]  # other parameters


def test_not_the_uci_set(tmp_path: Path):
    with pytest.raises(InputError, match="no UCI EMG files"):
        find_uci_files(tmp_path)
