"""Datasets as xarray users expect them (issue 21): frame coordinates, netCDF, the store format, old
stores, and the README's training example, all on real Zarr stores written by miakit's writer."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from dataset_builders import make_dataset

import miakit
from miakit.contracts.dataset import ZARR_OPTIONS, provenance_of, segment_frames, validate_dataset
from miakit.errors import DatasetError
from miakit.store import check_output, open_store, write_dataset

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module")
def source():
    return make_dataset(subjects=("S01", "S02"), exercises=("squat", "running"), frames=50, invalid_at=(3,))


@pytest.fixture(scope="module")
def store(source, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("xr") / "ds.zarr"
    write_dataset(source, path)
    return path


def test_every_frame_has_its_segment_subject_exercise_split_and_time(store, source):
    ds = miakit.open_dataset(store)
    for name in ("time", "frame_segment", "session", "subject", "exercise", "split"):
        assert name in ds.coords and ds[name].dims == ("frame",), name
    assert "time" not in ds.data_vars  # a coordinate now, still lazy
    lengths = source["segment_length"].values
    assert ds["subject"].values.tolist() == np.repeat(source["segment_subject"].values, lengths).tolist()
    assert ds["frame_segment"].values[50] == "S01-running-0" and ds["exercise"].values[50] == "running"
    np.testing.assert_array_equal(ds["time"].values, source["time"].values)


def test_groupby_exercise_and_selection_by_subject(store, source):
    ds = miakit.open_dataset(store)
    means = ds.emg.groupby("exercise").mean().compute()
    assert sorted(means["exercise"].values.tolist()) == ["running", "squat"]
    squat = np.repeat(source["segment_exercise"].values, source["segment_length"].values) == "squat"
    np.testing.assert_allclose(means.sel(exercise="squat").values, source["emg"].values[squat].mean(axis=0), rtol=1e-5)

    s01 = ds.where(ds.subject == "S01", drop=True)
    assert s01.sizes["frame"] == 100 and set(s01["frame_segment"].values.tolist()) == {"S01-squat-0", "S01-running-0"}
    kept = ds.isel(frame=(ds.subject == "S02").values)  # keeps dtypes (where turns bool to float)
    assert kept.sizes["frame"] == 100 and kept["valid"].dtype == bool and int((~kept["valid"]).sum()) == 2


def test_one_segment_then_select_by_time(store, source):
    ds = miakit.open_dataset(store)
    part = segment_frames(ds, "S02-squat-0").sel(time=slice(1.0, 2.0))
    assert part["time"].values.tolist() == pytest.approx([1.0 + 0.1 * i for i in range(11)])
    start = int(source["segment_start"].values[2])
    np.testing.assert_array_equal(part["emg"].values, source["emg"].values[start + 10 : start + 21])
    assert segment_frames(ds, 2)["frame_segment"].values[0] == "S02-squat-0"
    with pytest.raises(DatasetError, match="no such segment"):
        segment_frames(ds, "nobody")


def test_to_netcdf_round_trip(store, source, tmp_path):
    ds = miakit.open_dataset(store)
    ds.to_netcdf(tmp_path / "ds.nc")
    back = xr.open_dataset(tmp_path / "ds.nc")
    try:
        assert provenance_of(back) == provenance_of(source)
        np.testing.assert_array_equal(back["emg"].values, source["emg"].values)
        assert back["segment_subject"].values.tolist() == source["segment_subject"].values.tolist()
        validate_dataset(back, deep=True)  # still contract 2, frame coordinates and all
    finally:
        back.close()


def test_the_store_holds_variable_length_strings_and_json_provenance(store):
    arrays = {p.parent.name: json.loads(p.read_text()) for p in store.glob("*/.zarray")}
    strings = {n for n, a in arrays.items() if a["dtype"] == "|O"}
    assert {"segment", "muscle", "keypoint", "space", "segment_subject", "segment_exercise"} <= strings
    assert all(arrays[n]["filters"] == [{"id": "vlen-utf8"}] for n in strings)
    assert not [n for n, a in arrays.items() if "U" in a["dtype"]]  # no fixed-width UTF-32 left
    assert not {"subject", "exercise", "frame_segment"} & set(arrays)  # derived on open, never stored
    attrs = json.loads((store / ".zattrs").read_text())
    assert isinstance(attrs["provenance"], str) and json.loads(attrs["provenance"])["pipeline"] == "test"


def test_a_store_of_older_miakit_still_opens(source, tmp_path):
    """Written as miakit wrote stores before: fixed-width strings, provenance a mapping, no mark."""
    old = tmp_path / "old.zarr"
    source.to_zarr(old, **ZARR_OPTIONS)
    meta = json.loads((old / "segment_subject" / ".zarray").read_text())
    assert meta["dtype"].startswith("<U") and isinstance(json.loads((old / ".zattrs").read_text())["provenance"], dict)
    ds = miakit.open_dataset(old)
    assert provenance_of(ds)["pipeline"] == "test"
    assert ds.emg.groupby("subject").mean().sizes["subject"] == 2
    assert check_output(old) == str(old)  # still a store miakit may replace
    write_dataset(ds, old)  # rewritten in the new format
    assert json.loads((old / "segment_subject" / ".zarray").read_text())["dtype"] == "|O"
    assert provenance_of(open_store(old)) == provenance_of(source)


def test_provenance_that_is_not_json_is_one_line(source):
    bad = source.assign_attrs(provenance="{not json")
    with pytest.raises(DatasetError, match=r"attrs.provenance: provenance is not JSON"):
        validate_dataset(bad)


def test_the_readme_training_example_runs(tmp_path):
    text = README.read_text()
    found = re.search(r"<!-- readme-example: training -->\s*```python\n(.*?)```", text, re.S)
    assert found, "README.md lost its training example (marker readme-example: training)"
    write_dataset(
        make_dataset(subjects=("S01", "S02"), exercises=("squat", "running"), frames=160),
        tmp_path / "data" / "mine.zarr",
    )
    result = subprocess.run(
        [sys.executable, "-c", found.group(1)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.search(r"epoch 1: loss \d+\.\d+", result.stdout) and "'train':" in result.stdout
    assert (tmp_path / "mine.nc").stat().st_size > 0
