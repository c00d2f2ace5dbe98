"""catalog.yaml: written by miakit, read by miakit without intake, and by intake 2 itself."""

from __future__ import annotations

import pytest
import yaml

import miakit
from miakit.catalog import add_entry, dataset_metadata, open_catalog
from miakit.errors import CatalogError
from miakit.pipeline import build_dataset


@pytest.fixture
def built(session_factory, tmp_path):
    session_factory("a")
    store = tmp_path / "data" / "ds.zarr"
    build_dataset(tmp_path / "sessions", store, progress=False)
    return store


def test_entries_are_relative_and_open_lazily(built, tmp_path):
    cat_path = tmp_path / "catalog.yaml"
    ds = miakit.open_dataset(built)
    add_entry(cat_path, "mine", built, description="test", metadata=dataset_metadata(ds))
    raw = yaml.safe_load(cat_path.read_text())
    assert raw["sources"]["mine"]["args"]["urlpath"] == "{{ CATALOG_DIR }}/data/ds.zarr"
    assert raw["sources"]["mine"]["driver"] == "zarr"
    cat = open_catalog(cat_path)
    assert cat.names == ["mine"]
    opened = cat["mine"].open()
    assert opened["emg"].chunks is not None
    assert miakit.open_dataset("mine", catalog=cat_path).sizes == opened.sizes
    # the catalog moves with its stores
    moved = tmp_path / "moved"
    import shutil

    shutil.copytree(tmp_path / "data", moved / "data")
    shutil.copy(cat_path, moved / "catalog.yaml")
    assert miakit.open_dataset("mine", catalog=moved / "catalog.yaml").sizes == opened.sizes


def test_adding_keeps_other_entries_and_is_stable(built, tmp_path):
    cat_path = tmp_path / "catalog.yaml"
    add_entry(cat_path, "one", built)
    add_entry(cat_path, "two", built)
    text = cat_path.read_text()
    add_entry(cat_path, "two", built)
    assert cat_path.read_text() == text  # same entry: the file is not rewritten differently
    assert open_catalog(cat_path).names == ["one", "two"]


def test_intake_reads_the_catalog(built, tmp_path):
    intake = pytest.importorskip("intake")
    pytest.importorskip("intake_xarray")
    cat_path = tmp_path / "catalog.yaml"
    add_entry(cat_path, "mine", built)
    ds = intake.open_catalog(str(cat_path))["mine"].to_dask()
    miakit.validate_dataset(ds)
    assert ds.sizes == miakit.open_dataset(built).sizes


def test_catalog_errors(tmp_path, built):
    with pytest.raises(CatalogError, match="no such catalog file"):
        open_catalog(tmp_path / "none.yaml")
    cat_path = tmp_path / "catalog.yaml"
    add_entry(cat_path, "mine", built)
    with pytest.raises(CatalogError, match=r"sources\.other: no such dataset \(expected one of \['mine'\]"):
        miakit.open_dataset("other", catalog=cat_path)
    (tmp_path / "bad.yaml").write_text("sources: [1, 2]\n")
    with pytest.raises(CatalogError, match="not a catalog"):
        open_catalog(tmp_path / "bad.yaml")


def test_repository_catalog_is_valid():
    from pathlib import Path

    cat = open_catalog(Path(__file__).resolve().parents[2] / "catalog.yaml")
    assert "demo" in cat
    assert cat["demo"].args["urlpath"].startswith("{{ CATALOG_DIR }}/")
