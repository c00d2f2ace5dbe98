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

The default catalog is the user's own file (:func:`default_catalog_path`): ``$MIAKIT_CATALOG``, else
``miakit/catalog.yaml`` in the user's data folder (``$XDG_DATA_HOME``, else ``~/.local/share``).
Never a file in the working folder: the ``catalog.yaml`` tracked at the top of the repository is an
example, written only where a command names it (``--catalog catalog.yaml``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from miakit.errors import CatalogError

CATALOG_DIR = "{{ CATALOG_DIR }}"
DEFAULT_CATALOG_HELP = "$MIAKIT_CATALOG, else ~/.local/share/miakit/catalog.yaml"
"""What every ``--catalog`` option says of its default (:func:`default_catalog_path`)."""


def default_catalog_path() -> Path:
    """$MIAKIT_CATALOG if set, else ``miakit/catalog.yaml`` in the user's data folder:
    ``$XDG_DATA_HOME``, else ``~/.local/share`` (the folder is made on the first write)."""
    if os.environ.get("MIAKIT_CATALOG"):
        return Path(os.environ["MIAKIT_CATALOG"])
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "miakit" / "catalog.yaml"


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    driver: str
    args: dict[str, Any]
    description: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    catalog_dir: str = "."
    catalog_file: Path | None = None

    @property
    def urlpath(self) -> str:
        """The store's location with ``{{ CATALOG_DIR }}`` filled in."""
        url = str(self.args.get("urlpath", ""))
        return url.replace(CATALOG_DIR, self.catalog_dir).replace("{{CATALOG_DIR}}", self.catalog_dir)

    def open(self, *, validate: bool = True, deep: bool = False):
        """The dataset, lazily (dask-backed xarray), checked against contract 2 (``deep``: the
        values too)."""
        from miakit.store import local_path, open_store

        options = self.args.get("storage_options")
        where = Path(self.catalog_dir) / "catalog.yaml" if self.catalog_file is None else self.catalog_file
        if options is not None and not isinstance(options, dict):
            raise CatalogError(
                where,
                "storage_options must be a mapping",
                field=f"sources.{self.name}.args.storage_options",
                found=options,
            )
        if options and local_path(self.urlpath) is not None:
            raise CatalogError(
                where,
                "storage_options are unused: they apply to fsspec URLs (s3://, gcs://, ...), not to a local store",
                field=f"sources.{self.name}.args.storage_options",
                found=options,
            )
        return open_store(self.urlpath, validate=validate, storage_options=options or None, deep=deep)

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
            raise CatalogError(
                self.path, "no such dataset", field=f"sources.{name}", expected=f"one of {self.names}", found=name
            )
        src = sources[name]
        if not isinstance(src, dict) or "args" not in src or "urlpath" not in (src.get("args") or {}):
            raise CatalogError(self.path, "an entry needs args.urlpath", field=f"sources.{name}", found=src)
        if src.get("driver", "zarr") != "zarr":
            raise CatalogError(
                self.path,
                "unsupported driver",
                field=f"sources.{name}.driver",
                expected="zarr",
                found=src.get("driver"),
            )
        return CatalogEntry(
            name=name,
            driver="zarr",
            args=dict(src["args"]),
            description=src.get("description", ""),
            metadata=dict(src.get("metadata") or {}),
            catalog_dir=str(self.path.parent.resolve()).replace(os.sep, "/"),
            catalog_file=self.path,
        )

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

    A local store inside the catalog's folder is written relative to ``{{ CATALOG_DIR }}``. The
    read, change and write happen under the catalog's lock (:func:`miakit.store.store_lock`), and
    the file is replaced atomically (a temporary file, then ``os.replace``): processes registering
    at the same time keep every entry, and a reader never sees half a file.
    """
    import yaml

    from miakit.store import store_lock

    catalog_path = Path(catalog_path)
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
    with store_lock(catalog_path, timeout_s=60.0, what="another process is updating this catalog"):
        data = _read_for_writing(catalog_path)
        if data["sources"].get(name) != entry:
            data["sources"][name] = entry
            _write(catalog_path, _header(catalog_path) + yaml.safe_dump(data, sort_keys=False))
    return Catalog(catalog_path, data)[name]


def register_store(
    catalog_path: str | Path,
    store: str | Path,
    ds,
    *,
    name: str | None = None,
    description: str = "",
    metadata: dict[str, Any] | None = None,
) -> CatalogEntry:
    """Register the built store ``store`` (holding ``ds``) in the catalog at ``catalog_path``: the
    entry ``name`` (default: the store's folder name without ``.zarr``) carries ``description`` and
    :func:`dataset_metadata` of ``ds`` with ``metadata`` on top (an importer's ``source``). The one
    registration of every command that builds a store (``build-dataset``, the importers, ``import
    nwb``, the demo); :func:`add_entry` writes it."""
    entry = name or Path(str(store)).name.removesuffix(".zarr")
    return add_entry(
        catalog_path, entry, store, description=description, metadata={**dataset_metadata(ds), **(metadata or {})}
    )


def _read_for_writing(path: Path) -> dict[str, Any]:
    """The catalog at ``path`` to add an entry to: a new one where there is no file (or an empty
    one); an existing file only when it is a catalog, a mapping with a ``sources`` mapping. A
    user's other YAML (settings.yaml) or text (notes.txt) is refused, never rewritten."""
    from miakit.safe_yaml import read_yaml

    if not path.exists() or (path.is_file() and not path.read_bytes().strip()):
        return {"metadata": {"version": 1}, "sources": {}}
    if not path.is_file():
        raise CatalogError(path, "is not a regular file, not a catalog file (catalog.yaml)")
    data = read_yaml(path, error=CatalogError, max_bytes=16 << 20)
    if not isinstance(data, dict) or "sources" not in data or not isinstance(data["sources"] or {}, dict):
        raise CatalogError(
            path,
            "is not a catalog (no 'sources:' mapping); miakit writes only its catalogs or a new file: "
            "choose another --catalog",
        )
    data["sources"] = data["sources"] or {}
    return data


def check_writable(catalog_path: str | Path) -> Path:
    """Refuse, before any work, a catalog miakit could not update (a read-only file or folder) or a
    file that is not a catalog (:func:`_read_for_writing`)."""
    import tempfile

    catalog_path = Path(catalog_path)
    folder = catalog_path.parent if str(catalog_path.parent) else Path(".")
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{catalog_path.name}.", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise CatalogError(
            catalog_path, f"cannot update the catalog: its folder {existing} is not writable ({exc.strerror or exc})"
        ) from None
    if catalog_path.is_dir():
        raise CatalogError(catalog_path, "is a folder, not a catalog file (catalog.yaml)")
    _read_for_writing(catalog_path)
    return catalog_path


def _write(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all: a temporary file beside it, then ``os.replace``."""
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise CatalogError(path, f"cannot update the catalog ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.is_file() else 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise CatalogError(path, f"cannot update the catalog ({exc.strerror or exc})") from None


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


def open_dataset(
    name_or_path: str | Path, *, catalog: str | Path | Catalog | None = None, validate: bool = True, deep: bool = False
):
    """A dataset lazily, by store path or URL, or by name in a catalog (``deep``: see
    :func:`miakit.store.open_store`)."""
    from miakit.store import open_store

    text = str(name_or_path)
    if "://" in text or text.endswith(".zarr") or Path(text).exists():
        ds = open_store(text, validate=validate, deep=deep)
    else:
        cat = catalog if isinstance(catalog, Catalog) else open_catalog(catalog)
        ds = cat[text].open(validate=validate, deep=deep)
    ds.encoding["source"] = text  # how errors about the data name it (miakit.learn.windows.dataset_where)
    return ds


def dataset_metadata(ds) -> dict[str, Any]:
    """The small, stable summary a catalog entry carries."""
    from miakit.contracts.dataset import provenance_of

    return {
        "schema": ds.attrs["schema"],
        "rate_hz": float(ds.attrs["rate_hz"]),
        "frames": int(ds.sizes["frame"]),
        "segments": int(ds.sizes["segment"]),
        "subjects": sorted({str(s) for s in ds["segment_subject"].values}),
        "exercises": len({str(s) for s in ds["segment_exercise"].values}),
        "muscles": list(ds.attrs["muscles"]),
        "pipeline": provenance_of(ds)["pipeline"],
        "pipeline_sha256": provenance_of(ds)["pipeline_sha256"],
        "inputs_sha256": provenance_of(ds)["inputs_sha256"],
    }
