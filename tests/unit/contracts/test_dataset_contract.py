"""Contract 2: a built dataset validates; a store another tool wrote wrongly gets a clear error."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import miakit
from miakit.contracts.dataset import ZARR_OPTIONS, validate_dataset
from miakit.errors import DatasetError
from miakit.pipeline import build_dataset


@pytest.fixture
def store(session_factory, tmp_path):
    session_factory("a")
    session_factory("b", seed=1)
    out = tmp_path / "ds.zarr"
    build_dataset(tmp_path / "sessions", out, progress=False)
    return out


def test_built_store_is_lazy_and_valid(store):
    ds = miakit.open_dataset(store)
    assert ds["emg"].chunks is not None and ds["keypoints"].chunks is not None  # dask-backed
    validate_dataset(ds, deep=True)
    assert ds.sizes["segment"] == 2 and ds.sizes["muscle"] == 8 and ds.sizes["keypoint"] == 25
    assert ds.attrs["rate_hz"] == 10
    np.testing.assert_allclose(np.diff(ds["time"].values[: int(ds.segment_length[0])]), 0.1, atol=1e-9)


@pytest.mark.parametrize(
    "damage, words",
    [
        (lambda ds: ds.drop_vars("valid"), "valid: missing variable"),
        (lambda ds: ds.assign(emg=ds.emg.fillna(0).astype("int32")), "emg: wrong dtype"),
        (lambda ds: ds.assign(emg=ds.emg.transpose("muscle", "frame")), "emg: wrong dims"),
        (lambda ds: ds.rename_dims(keypoint="joint"), "missing dimension"),
        (lambda ds: ds.assign_attrs(schema="miakit-dataset/0"), "attrs.schema: unsupported schema"),
        (lambda ds: ds.assign_attrs(rate_hz=0), "attrs.rate_hz"),
        (lambda ds: ds.assign_attrs(provenance={"pipeline": "x"}), "attrs.provenance: incomplete provenance"),
        (
            lambda ds: ds.assign(segment_length=ds.segment_length + [0, 1]),
            "segment_length: segment lengths do not add up",
        ),
        (lambda ds: ds.assign(segment_start=ds.segment_start * 0 + [0, 5]), "segments must tile"),
    ],
)
def test_damage_is_named(store, damage, words):
    ds = xr.open_zarr(store, **ZARR_OPTIONS).load()
    with pytest.raises(DatasetError) as info:
        validate_dataset(damage(ds))
    assert words in str(info.value) and "\n" not in str(info.value)


def test_store_written_wrongly_by_another_tool(store, tmp_path):
    ds = xr.open_zarr(store, **ZARR_OPTIONS).load()
    other = tmp_path / "other.zarr"
    # drop_encoding: xarray (>= 2026.4, pydata/xarray#11466) writes the StringDType it reads from
    # vlen-utf8 arrays back as fixed-width strings but keeps the vlen-utf8 filter: an unreadable store
    ds.drop_encoding().drop_vars("keypoint_score").to_zarr(other, **ZARR_OPTIONS)
    with pytest.raises(DatasetError, match=r"other\.zarr: keypoint_score: missing variable"):
        miakit.open_dataset(other)
    (tmp_path / "junk.zarr").mkdir()
    with pytest.raises(DatasetError, match="not a readable Zarr store"):
        miakit.open_dataset(tmp_path / "junk.zarr")
    with pytest.raises(DatasetError, match="no such dataset store"):
        miakit.open_dataset(tmp_path / "missing.zarr")


def test_deep_check_catches_bad_values(store):
    ds = xr.open_zarr(store, **ZARR_OPTIONS).load()
    bad = ds.copy(deep=True)
    bad["keypoint_score"][0, 0] = 1.5
    validate_dataset(bad)  # structure is fine
    with pytest.raises(DatasetError, match="scores outside"):
        validate_dataset(bad, deep=True)
