"""A serial build and a 2-worker dask build give identical stores."""

from __future__ import annotations

import miakit
from miakit.contracts.dataset import provenance_of
from miakit.pipeline import build_dataset


def test_serial_and_two_workers_identical(session_factory, tmp_path):
    for i, name in enumerate(["a", "b", "c", "d"]):
        session_factory(name, seed=i, duration_s=8)
    build_dataset(tmp_path / "sessions", tmp_path / "serial.zarr", progress=False)
    result = build_dataset(tmp_path / "sessions", tmp_path / "two.zarr", workers=2, progress=False)
    assert result.segments == 4
    serial = miakit.open_dataset(tmp_path / "serial.zarr").load()
    two = miakit.open_dataset(tmp_path / "two.zarr").load()
    assert serial.drop_attrs().identical(two.drop_attrs())
    assert provenance_of(serial)["inputs_sha256"] == provenance_of(two)["inputs_sha256"]


def test_build_on_an_existing_dask_cluster(session_factory, tmp_path):
    """--scheduler ADDRESS: the sessions run on a cluster someone else started."""
    from distributed import LocalCluster

    for i, name in enumerate(["a", "b", "c"]):
        session_factory(name, seed=i, duration_s=8)
    build_dataset(tmp_path / "sessions", tmp_path / "serial.zarr", progress=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        build_dataset(
            tmp_path / "sessions", tmp_path / "cluster.zarr", scheduler=cluster.scheduler_address, progress=False
        )
    serial = miakit.open_dataset(tmp_path / "serial.zarr").load()
    assert serial.drop_attrs().identical(miakit.open_dataset(tmp_path / "cluster.zarr").load().drop_attrs())
