"""miakit: record EMG and video, build 10 Hz Zarr datasets, train and benchmark models that predict
muscle activation from video (after "Muscles in Action", Chiquier and Vondrick, 2023).

Nothing heavy is imported here: ``import miakit`` is instant, and the entry points below import
what they need when called.
"""

from __future__ import annotations

from miakit._version import __version__

__all__ = ["__version__", "open_dataset", "open_catalog", "validate_dataset", "validate_session"]


def open_dataset(name_or_path, *, catalog=None, validate: bool = True, deep: bool = False):
    """Open a built dataset lazily (dask-backed xarray), by catalog name or store path. The checks
    read metadata and one listing of the store; ``deep=True`` also reads and checks the values."""
    from miakit.catalog import open_dataset as _open

    return _open(name_or_path, catalog=catalog, validate=validate, deep=deep)


def open_catalog(path=None):
    """Open a ``catalog.yaml`` (default: $MIAKIT_CATALOG, else ~/.local/share/miakit/catalog.yaml)."""
    from miakit.catalog import open_catalog as _open

    return _open(path)


def validate_dataset(ds, *, where: str = "<dataset>", deep: bool = False):
    """Check an xarray Dataset against contract 2; raises DatasetError naming what is wrong.
    ``deep=True`` also reads the values (finite data in valid frames, scores in [0, 1], times)."""
    from miakit.contracts.dataset import validate_dataset as _validate

    return _validate(ds, where=where, deep=deep)


def validate_session(folder):
    """Check a raw session folder against contract 1; returns its metadata."""
    from miakit.contracts.session import validate_session as _validate

    return _validate(folder)
