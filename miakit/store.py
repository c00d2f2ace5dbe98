"""Read and write built datasets (contract 2) as Zarr stores, local paths or any fsspec URL.

One convention everywhere: :data:`miakit.contracts.dataset.ZARR_OPTIONS` (Zarr format 2,
consolidated metadata), chunks along ``frame`` only. Writers validate before writing, readers
after opening.
"""

from __future__ import annotations

from pathlib import Path

from miakit.contracts.dataset import DEFAULT_CHUNK_FRAMES, ZARR_OPTIONS, validate_dataset
from miakit.errors import DatasetError


def encoding_for(ds, *, chunk_frames: int = DEFAULT_CHUNK_FRAMES) -> dict:
    """Zarr chunks: ``chunk_frames`` along frame, whole along every other dim."""
    encoding = {}
    for name, var in ds.variables.items():
        if "frame" in var.dims:
            encoding[name] = {"chunks": tuple(min(chunk_frames, max(n, 1)) if d == "frame" else max(n, 1) for d, n in zip(var.dims, var.shape))}
    return encoding


def write_dataset(ds, url: str | Path, *, chunk_frames: int = DEFAULT_CHUNK_FRAMES, storage_options: dict | None = None) -> None:
    """Validate ``ds`` and write it as a new store at ``url`` (an existing store is replaced)."""
    validate_dataset(ds, where=str(url), deep=True)
    ds = ds.chunk({d: -1 for d in ds.dims}).chunk({"frame": chunk_frames}) if ds.sizes["frame"] else ds
    ds.to_zarr(
        str(url), mode="w", encoding=encoding_for(ds, chunk_frames=chunk_frames),
        storage_options=storage_options, **ZARR_OPTIONS,
    )  # fmt: skip


def open_store(url: str | Path, *, validate: bool = True, storage_options: dict | None = None):
    """Open a store lazily (dask-backed) and check it against contract 2."""
    import xarray as xr

    url = str(url)
    if "://" not in url and not Path(url).exists():
        raise DatasetError(url, "no such dataset store")
    try:
        ds = xr.open_zarr(url, storage_options=storage_options, **ZARR_OPTIONS)
    except (FileNotFoundError, KeyError, ValueError, OSError) as exc:
        raise DatasetError(url, f"not a readable Zarr store ({exc.__class__.__name__}: {str(exc)[:120]})") from None
    if validate:
        validate_dataset(ds, where=url)
    # The segment table is tiny and read constantly: hold it in memory, keep the frames lazy.
    table = [name for name, var in ds.data_vars.items() if var.dims == ("segment",)]
    return ds.assign({name: ds[name].load() for name in table})
