"""``catalog.yaml``: an intake-v1-style catalog of built datasets.

The file looks like this, and is read by miakit without intake, and by intake 2 with
intake-xarray (driver ``zarr``) where a user has them::

    metadata:
      version: 1
    sources:
      demo:
        description: Synthetic sessions built by `miakit demo`
        driver: zarr
        args:
          urlpath: "{{ CATALOG_DIR }}/miakit-demo/demo.zarr"
          consolidated: true
        metadata: {schema: miakit-dataset/1, rate_hz: 10, ...}

``{{ CATALOG_DIR }}`` is the folder holding the catalog file, so a catalog and its stores can move
together.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from miakit.errors import CatalogError

CATALOG_DIR = "{{ CATALOG_DIR }}"
DEFAULT_CATALOG = "catalog.yaml"


def default_catalog_path() -> Path:
    """$MIAKIT_CATALOG if set, else ``catalog.yaml`` in the current folder."""
    return Path(os.environ.get("MIAKIT_CATALOG", DEFAULT_CATALOG))


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    driver: str
    args: dict[str, Any]
    description: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    catalog_dir: str = "."

    @property
    def urlpath(self) -> str:
        """The store's location with ``{{ CATALOG_DIR }}`` filled in."""
        url = str(self.args.get("urlpath", ""))
        return url.replace(CATALOG_DIR, self.catalog_dir).replace("{{CATALOG_DIR}}", self.catalog_dir)

    def open(self, *, validate: bool = True):
        """The dataset, lazily (dask-backed xarray), checked against contract 2."""
        from miakit.store import open_store

        return open_store(self.urlpath, validate=validate, storage_options=self.args.get("storage_options"))

    to_dask = open  # intake's name for the same thing


class Catalog:
    """A catalog file: ``catalog.names``, ``catalog[name]`` -> :class:`CatalogEntry`."""

    def __init__(self, path: str | Path, data: dict[str, Any]):
        self.path = Path(path)
        self.data = data

    @property
    def names(self) -> list[str]:
        return sorted(self.data.get("sources", {}))

    def __contains__(self, name: str) -> bool:
        return name in self.data.get("sources", {})

    def __iter__(self):
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, name: str) -> CatalogEntry:
        sources = self.data.get("sources", {})
        if name not in sources:
            raise CatalogError(self.path, "no such dataset", field=f"sources.{name}", expected=f"one of {self.names}", found=name)
        src = sources[name]
        if not isinstance(src, dict) or "args" not in src or "urlpath" not in (src.get("args") or {}):
            raise CatalogError(self.path, "an entry needs args.urlpath", field=f"sources.{name}", found=src)
        if src.get("driver", "zarr") != "zarr":
            raise CatalogError(self.path, "unsupported driver", field=f"sources.{name}.driver", expected="zarr", found=src.get("driver"))
        return CatalogEntry(
            name=name, driver="zarr", args=dict(src["args"]), description=src.get("description", ""),
            metadata=dict(src.get("metadata") or {}), catalog_dir=str(self.path.parent.resolve()).replace(os.sep, "/"),
        )  # fmt: skip

    def __repr__(self) -> str:
        return f"Catalog({str(self.path)!r}, datasets={self.names})"


def _read(path: Path) -> dict[str, Any]:
    from miakit.safe_yaml import read_yaml

    data = read_yaml(path, error=CatalogError, max_bytes=16 << 20) or {}  # 16 MiB: thousands of entries
    if not isinstance(data, dict) or not isinstance(data.get("sources", {}) or {}, dict):
        raise CatalogError(path, "not a catalog", expected="a mapping with 'sources'", found=type(data).__name__)
    data["sources"] = data.get("sources") or {}
    return data


def open_catalog(path: str | Path | None = None) -> Catalog:
    """Open a catalog file (default: :func:`default_catalog_path`)."""
    path = Path(path) if path is not None else default_catalog_path()
    if not path.is_file():
        raise CatalogError(path, "no such catalog file")
    return Catalog(path, _read(path))


def add_entry(
    catalog_path: str | Path,
    name: str,
    store_url: str | Path,
    *,
    description: str = "",
    metadata: dict[str, Any] | None = None,
) -> CatalogEntry:
    """Add or replace the entry ``name`` (the file is created if needed, other entries kept).

    A local store inside the catalog's folder is written relative to ``{{ CATALOG_DIR }}``.
    """
    catalog_path = Path(catalog_path)
    data = _read(catalog_path) if catalog_path.is_file() else {"metadata": {"version": 1}, "sources": {}}
    url = str(store_url)
    if "://" not in url:
        store = Path(url).resolve()
        base = catalog_path.parent.resolve()
        try:
            url = f"{CATALOG_DIR}/{store.relative_to(base).as_posix()}"
        except ValueError:
            url = store.as_posix()
    entry = {
        "description": description,
        "driver": "zarr",
        "args": {"urlpath": url, "consolidated": True},
        "metadata": dict(metadata or {}),
    }
    if data["sources"].get(name) != entry:
        data["sources"][name] = entry
        catalog_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = catalog_path.with_name(catalog_path.name + ".tmp")
        tmp.write_text(_header(catalog_path) + yaml.safe_dump(data, sort_keys=False))
        os.replace(tmp, catalog_path)
    return Catalog(catalog_path, data)[name]


def _header(path: Path) -> str:
    """The comment lines at the top of an existing catalog file, kept when it is rewritten."""
    if not path.is_file():
        return ""
    lines = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        lines.append(line + "\n")
    return "".join(lines)


def open_dataset(name_or_path: str | Path, *, catalog: str | Path | Catalog | None = None, validate: bool = True):
    """A dataset lazily, by store path or URL, or by name in a catalog."""
    from miakit.store import open_store

    text = str(name_or_path)
    if "://" in text or text.endswith(".zarr") or Path(text).exists():
        return open_store(text, validate=validate)
    cat = catalog if isinstance(catalog, Catalog) else open_catalog(catalog)
    return cat[text].open(validate=validate)


def dataset_metadata(ds) -> dict[str, Any]:
    """The small, stable summary a catalog entry carries."""
    return {
        "schema": ds.attrs["schema"],
        "rate_hz": float(ds.attrs["rate_hz"]),
        "frames": int(ds.sizes["frame"]),
        "segments": int(ds.sizes["segment"]),
        "subjects": sorted({str(s) for s in ds["segment_subject"].values}),
        "exercises": len({str(s) for s in ds["segment_exercise"].values}),
        "muscles": list(ds.attrs["muscles"]),
        "pipeline": ds.attrs["provenance"]["pipeline"],
        "pipeline_sha256": ds.attrs["provenance"]["pipeline_sha256"],
        "inputs_sha256": ds.attrs["provenance"]["inputs_sha256"],
    }
