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
    labels = {"frame_segment", "session", "subject", "exercise", "split"}
    assert labels <= strings and all(arrays[n]["chunks"] == arrays["emg"]["chunks"][:1] for n in labels)
    attrs = json.loads((store / ".zattrs").read_text())
    assert isinstance(attrs["provenance"], str) and json.loads(attrs["provenance"])["pipeline"] == "test"
    assert json.loads(attrs["miakit_store"])["kind"] == "dataset" and "complete" not in attrs
    for key, value in attrs.items():  # what netCDF and every Zarr reader take: no mapping, no boolean
        assert isinstance(value, (str, int, float, list)) and not isinstance(value, bool), key
        assert not isinstance(value, list) or all(isinstance(v, str) for v in value), key


PLAIN_XARRAY = """
import sys
import numpy as np
import xarray as xr

store, out, segment = sys.argv[1:4]
ds = xr.open_zarr(store)
ds.to_netcdf(out)
back = xr.open_dataset(out)
assert back["exercise"].values.tolist() == ds["exercise"].values.tolist()
# groupby needs its labels known: open without dask (data still read on demand), or compute them
means = xr.open_zarr(store, chunks=None).emg.groupby("exercise").mean()
also = ds.emg.groupby(ds.exercise.compute()).mean().compute()
assert np.allclose(means.values, also.values)
one = ds.isel(frame=(ds.frame_segment == segment).values).set_xindex("time").sel(time=slice(1.0, 2.0))
print(sorted(means["exercise"].values.tolist()), ds["subject"].values[0])
print(one.sizes["frame"], sorted(set(one["exercise"].values.tolist())), float(one["emg"].values[0, 0]))
print(sorted(k for k in sys.modules if k.split(".")[0] == "miakit"))
"""


def test_plain_xarray_reads_everything_without_miakit(store, source, tmp_path):
    """Any reader gets the store without miakit (issue 35): netCDF, groupby, one segment by time."""
    result = subprocess.run(
        [sys.executable, "-c", PLAIN_XARRAY, str(store), str(tmp_path / "x.nc"), "S02-squat-0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    groups, segment, imported = result.stdout.splitlines()
    assert groups == "['running', 'squat'] S01"
    start = int(source["segment_start"].values[2])
    assert segment == f"11 ['squat'] {float(source['emg'].values[start + 10, 0])}"
    assert imported == "[]"  # miakit never imported


def test_stored_frame_labels_must_agree_with_the_segment_table(store, tmp_path):
    import shutil

    import zarr

    bad = tmp_path / "bad.zarr"
    shutil.copytree(store, bad)
    labels = zarr.open_array(str(bad / "exercise"), mode="r+", zarr_format=2)
    labels[5] = "running"
    assert miakit.open_dataset(bad)["exercise"].values[5] == "squat"  # derived from the table on open
    with pytest.raises(DatasetError, match=r"exercise: frame labels disagree with the segment table"):
        open_store(bad, deep=True)


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
    assert "frame_segment" not in xr.open_zarr(old).variables  # older stores hold no frame labels
    write_dataset(ds, old)  # rewritten in the new format
    assert json.loads((old / "segment_subject" / ".zarray").read_text())["dtype"] == "|O"
    assert provenance_of(open_store(old)) == provenance_of(source)


def test_a_store_with_the_mark_of_before_still_opens_and_is_replaced(store, tmp_path):
    """Stores miakit wrote before issue 35: the mark a mapping, ``complete: true`` in the root attrs."""
    import shutil

    from miakit.store import is_miakit_store

    old = tmp_path / "marked.zarr"
    shutil.copytree(store, old)
    mark = {"kind": "dataset", "chunks": "all", "miakit_version": "0.0.9"}
    for name, get in ((".zattrs", lambda d: d), (".zmetadata", lambda d: d["metadata"][".zattrs"])):
        doc = json.loads((old / name).read_text())
        get(doc).update({"miakit_store": mark, "complete": True})
        (old / name).write_text(json.dumps(doc))
    assert is_miakit_store(old) and not is_miakit_store(old, ("keypoints",))
    ds = miakit.open_dataset(old, deep=True)
    assert json.loads(ds.attrs["miakit_store"]) == mark and "complete" not in ds.attrs
    ds.to_netcdf(tmp_path / "old.nc")  # the mark as JSON text: netCDF takes it
    write_dataset(ds, old)  # still a store miakit replaces, now with the new mark
    attrs = json.loads((old / ".zattrs").read_text())
    assert json.loads(attrs["miakit_store"])["kind"] == "dataset" and "complete" not in attrs


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
