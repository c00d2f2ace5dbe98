"""catalog.yaml: written by miakit, read by miakit without intake, and by intake 2 itself. The
default one is the user's file; the repository's is an example nothing rewrites."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import miakit
from miakit.catalog import add_entry, dataset_metadata, default_catalog_path, open_catalog
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


REPO = Path(__file__).resolve().parents[2]


def test_repository_catalog_is_valid():
    cat = open_catalog(Path(__file__).resolve().parents[2] / "catalog.yaml")
    assert "demo" in cat
    assert cat["demo"].args["urlpath"].startswith("{{ CATALOG_DIR }}/")


def test_the_default_catalog_is_the_users_file(monkeypatch, tmp_path):
    monkeypatch.delenv("MIAKIT_CATALOG")  # set for the test run by conftest.py
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_catalog_path() == tmp_path / "home" / ".local" / "share" / "miakit" / "catalog.yaml"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_catalog_path() == tmp_path / "data" / "miakit" / "catalog.yaml"
    monkeypatch.setenv("MIAKIT_CATALOG", str(tmp_path / "mine.yaml"))
    assert default_catalog_path() == tmp_path / "mine.yaml"


def test_a_build_in_the_clone_leaves_the_clone_as_it_was(session_factory, tmp_path):
    """Run from the repository's root, build-dataset registers in the user's catalog, not in the
    tracked catalog.yaml, and leaves no lock or temporary file beside the store or the catalog."""
    session_factory("a")
    tracked, listing = (REPO / "catalog.yaml").read_bytes(), sorted(os.listdir(REPO))
    env = {k: v for k, v in os.environ.items() if k not in ("MIAKIT_CATALOG", "XDG_DATA_HOME")}
    env["HOME"] = str(tmp_path / "home")
    store = tmp_path / "out" / "mine.zarr"
    proc = subprocess.run(
        [sys.executable, "-m", "miakit.cli", "build-dataset", str(tmp_path / "sessions"), "--out", str(store)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    user = tmp_path / "home" / ".local" / "share" / "miakit" / "catalog.yaml"
    assert f"registered as mine in {user}" in proc.stdout
    assert open_catalog(user)["mine"].urlpath == store.resolve().as_posix()
    assert (REPO / "catalog.yaml").read_bytes() == tracked and sorted(os.listdir(REPO)) == listing
    assert os.listdir(store.parent) == ["mine.zarr"] and os.listdir(user.parent) == ["catalog.yaml"]


def test_build_dataset_the_importers_and_the_library_register_alike(built, tmp_path):
    """One registration (catalog.register_store): ``miakit build-dataset`` writes the same entry as
    the library for the same store, an importer's the same with its source on top, and the default
    name is the store's folder name without ``.zarr`` (a dot elsewhere stays)."""
    from typer.testing import CliRunner

    from miakit.catalog import register_store
    from miakit.cli import app
    from miakit.importers.common import ImportReport, write_and_register

    cli_cat, lib_cat = tmp_path / "cli.yaml", tmp_path / "lib.yaml"
    store = tmp_path / "out" / "run.v2"
    args = ["build-dataset", str(tmp_path / "sessions"), "--out", str(store), "--catalog", str(cli_cat)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"registered as run.v2 in {cli_cat}" in result.output
    ds = miakit.open_dataset(store)
    entry = register_store(lib_cat, store, ds, description=open_catalog(cli_cat)["run.v2"].description)
    assert entry.name == "run.v2"
    assert yaml.safe_load(cli_cat.read_text()) == yaml.safe_load(lib_cat.read_text())

    report = ImportReport(store="")
    write_and_register(ds.load(), tmp_path / "imported.zarr", report, catalog=lib_cat, name=None, description="x")
    assert report.catalog_entry == "imported"
    imported = open_catalog(lib_cat)["imported"].metadata
    assert imported == {**dataset_metadata(ds), "source": str(ds["segment_source"].values[0])}
