"""Read and write built datasets (contract 2) as Zarr stores, local paths or any fsspec URL.

One convention everywhere: :data:`miakit.contracts.dataset.ZARR_OPTIONS` (Zarr format 2,
consolidated metadata; strings variable-length UTF-8, provenance JSON text: :func:`for_storage`),
chunks along ``frame`` only, every chunk written (also those that hold only fill values), so a
missing chunk file always means a damaged store.

**What miakit may replace.** Every store miakit writes carries a mark in its root attrs,
``miakit_store``: JSON text of ``{kind: dataset | keypoints, chunks: all, miakit_version}`` (text, so
that every root attribute is a string, number or list that netCDF and any Zarr reader take; stores of
older miakit hold a mapping there, and are read too), beside the contract-2
``schema`` attribute (an attribute, not a file: Zarr warns about files it does not know). A command replaces an
existing ``--out`` only when it is such a store (or an empty folder, or a dataset store of an older
miakit: root attrs with ``schema: miakit-dataset/1`` and ``provenance.miakit_version``); it refuses,
before any work, a folder of other files, a foreign Zarr store, the working folder, and a folder that
holds the command's own inputs (:func:`check_output`).

**Writing never shows a reader a half-written or mixed dataset.** :func:`write_dataset` writes the
new store beside the target (``.NAME.miakit-new``: template with final shapes, the per-frame
labels and ``complete: False``, chunk-aligned regions with ``valid`` last, then ``complete`` removed
(a finished store has no such attribute; netCDF has no boolean attributes) and consolidated
metadata) and swaps it in: on Linux with one atomic ``renameat2(RENAME_EXCHANGE)``, elsewhere
with two renames (a moment where the path is absent). The store it replaced stays as
``.NAME.miakit-previous`` until the next rebuild, so a reader that opened it can finish; delete it
to free the space. A reader holds a shared lock (flock) on the folder it opened, and a rebuild deletes
a previous store only when nobody holds it: one still read is moved aside
(``.NAME.miakit-previous.XXXXXXXX``) and deleted by a later rebuild once it is free. A build that
dies midway leaves the previous store untouched. On an fsspec URL (object stores have no rename) the
swap is a move, so readers may briefly find no store there.

**Reading.** :func:`open_store` opens lazily and checks the store against contract 2: structure,
dtypes and attrs from the metadata, and, for stores with the marker, that every chunk file is present
(one listing of the store, no chunk read). A local store is pinned on Linux (its folder is held open,
so a swap during a lazy read does not mix two builds) and a chunk that goes missing while reading is
an error, not fill values. The opened Dataset has the frame coordinates (``time``, ``frame_segment``,
``session``, ``subject``, ``exercise``, ``split`` along ``frame``): they are stored, so plain
``xr.open_zarr`` gets them, and miakit derives them again from the segment table on open
(:func:`as_read`; ``deep=True`` checks the stored ones agree). ``deep=True``
also reads the data and checks its values (finite EMG, times and keypoints in valid frames, scores
in [0, 1]).

Builds of one store are serialized by a lock keyed by the resolved store (a path and a
``file://`` URL of the same folder are one lock), kept in the user's cache folder
(:func:`store_lock`).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from glob import escape as glob_escape
from pathlib import Path
from typing import Any

from miakit._version import __version__
from miakit.contracts.dataset import (
    DEFAULT_CHUNK_FRAMES,
    SCHEMA,
    ZARR_OPTIONS,
    provenance_of,
    validate_dataset,
    with_frame_coords,
    without_frame_coords,
)
from miakit.errors import DatasetError, InputError, MiakitError
from miakit.progress import track

MARKER = "miakit_store"
"""The root attribute every store miakit writes carries (JSON text of a mapping; see the module docstring)."""
NEW, PREVIOUS = ".miakit-new", ".miakit-previous"
METADATA_KEYS = (".zarray", ".zattrs", ".zgroup", ".zmetadata", "zarr.json")


# -- locations: local paths, file:// URLs, other fsspec URLs -------------------------------------


def is_url(location: str | Path) -> bool:
    return "://" in str(location)


def local_path(location: str | Path) -> Path | None:
    """The local path of ``location`` (a path or a ``file://`` URL), else None."""
    text = str(location)
    if text.startswith("file://"):
        return Path(text[len("file://") :] or "/")
    return None if is_url(text) else Path(text)


def filesystem(url: str, storage_options: dict | None = None):
    """``(fs, path)`` for an fsspec URL; a missing extra or an unknown protocol is one line."""
    import fsspec

    protocol = url.split("://", 1)[0]
    if storage_options is not None and not isinstance(storage_options, dict):
        raise InputError(url, "storage_options must be a mapping", found=storage_options)
    try:
        return fsspec.core.url_to_fs(url, **(storage_options or {}))
    except ImportError as exc:
        raise InputError(
            url, f"{protocol}:// needs a package that is not installed: {str(exc).splitlines()[0]}"
        ) from None
    except ValueError as exc:
        raise InputError(
            url,
            "unknown URL protocol",
            expected="a path or an installed fsspec protocol (file, memory, s3, gcs, ...)",
            found=f"{protocol}:// ({exc})",
        ) from None
    except TypeError as exc:
        raise InputError(url, f"storage_options not accepted by {protocol}://: {exc}") from None


def exists(location: str | Path, storage_options: dict | None = None) -> bool:
    local = local_path(location)
    if local is not None:
        return local.exists()
    fs, path = filesystem(str(location), storage_options)
    try:
        return fs.exists(path)
    except Exception as exc:  # a server that does not answer, credentials refused, ...
        raise DatasetError(location, f"cannot reach the store ({exc.__class__.__name__}: {str(exc)[:120]})") from None


def _sibling(location: str | Path, suffix: str) -> str:
    """``.NAME<suffix>`` beside ``location`` (a local path or a URL)."""
    local = local_path(location)
    if local is not None:
        local = Path(os.path.realpath(local))
        return str(local.parent / f".{local.name}{suffix}")
    parent, _, name = str(location).rstrip("/").rpartition("/")
    return f"{parent}/.{name}{suffix}"


# -- the marker: which stores miakit made ------------------------------------------------------


def _read_json(location: str | Path, key: str, storage_options: dict | None = None) -> Any:
    local = local_path(location)
    try:
        if local is not None:
            text = (local / key).read_bytes()
        else:
            fs, path = filesystem(str(location), storage_options)
            text = fs.cat_file(path.rstrip("/") + "/" + key)
        return json.loads(text)
    except (OSError, ValueError, KeyError):
        return None


def read_marker(location: str | Path, storage_options: dict | None = None) -> dict | None:
    """The ``miakit_store`` mapping of the store's root attrs (``.zattrs``), else None: JSON text,
    or a mapping in stores of older miakit."""
    attrs = _read_json(location, ".zattrs", storage_options)
    mark = attrs.get(MARKER) if isinstance(attrs, dict) else None
    if isinstance(mark, str):
        try:
            mark = json.loads(mark)
        except ValueError:
            return None
    return mark if isinstance(mark, dict) else None


def marker(kind: str) -> str:
    """The mark a store of ``kind`` (``dataset`` or ``keypoints``) carries in its root attrs (JSON text)."""

    return json.dumps({"kind": kind, "chunks": "all", "miakit_version": __version__}, sort_keys=True)


def is_miakit_store(
    location: str | Path, kinds: tuple[str, ...] = ("dataset",), storage_options: dict | None = None
) -> bool:
    """Whether ``location`` is a store miakit wrote, of one of ``kinds`` (see the module docstring)."""
    mark = read_marker(location, storage_options)
    if mark is not None:
        return mark.get("kind") in kinds
    if "dataset" not in kinds:
        return False
    attrs = _read_json(location, ".zattrs", storage_options)  # a store of an older miakit
    if not isinstance(attrs, dict) or attrs.get("schema") != SCHEMA:
        return False
    prov = attrs.get("provenance")
    if isinstance(prov, str):
        try:
            prov = json.loads(prov)
        except ValueError:
            return False
    return isinstance(prov, dict) and "miakit_version" in prov


# -- the one check of every --out --------------------------------------------------------------


def check_output(
    out: str | Path,
    *,
    inputs: tuple[str | Path, ...] | list = (),
    kinds: tuple[str, ...] = ("dataset",),
    storage_options: dict | None = None,
) -> str:
    """Refuse, in one line and before any work, an output miakit must not replace; return ``out``.

    Allowed: a new path, an empty folder, or a store miakit wrote of one of ``kinds``. Refused: an
    empty name, the working folder or a folder above it, a folder that holds one of ``inputs`` (or
    is one), a place inside a session folder, anything else that exists (a folder of files, a
    foreign Zarr store, a file), a folder miakit cannot write to, an fsspec URL whose filesystem is
    not installed or cannot write (``http://``).
    """
    text = str(out)
    if not text.strip():
        raise InputError("--out", "no output named", expected="a path such as data/ds.zarr", found=text)
    local = local_path(text)
    if local is None:
        return _check_remote_output(text, kinds=kinds, storage_options=storage_options)
    real = Path(os.path.realpath(local))
    cwd = Path(os.path.realpath(os.getcwd()))
    if real == cwd or real in cwd.parents:
        raise InputError(
            text,
            "the output would replace the working folder (or a "
            "folder above it); choose a new path such as data/ds.zarr",
            field="--out",
        )
    for item in inputs:
        if item is None or (is_url(item) and local_path(item) is None):
            continue
        held = Path(os.path.realpath(local_path(item) or item))
        if held == real or real in held.parents:
            raise InputError(
                text,
                f"the output holds this command's input {item}; miakit "
                "never replaces its own inputs, choose a path outside them",
                field="--out",
            )
    for parent in real.parents:
        if (parent / "session.yaml").is_file():
            raise InputError(
                text,
                f"the output lies inside the session folder {parent}; session folders are never modified",
                field="--out",
            )
    if real.exists():
        if real.is_dir() and not any(real.iterdir()):
            pass  # an empty folder holds nothing to lose
        elif not (real.is_dir() and is_miakit_store(real, kinds)):
            what = "a file" if not real.is_dir() else "a folder that is not a store miakit wrote"
            raise InputError(
                text,
                f"exists and is {what} (no {MARKER} mark in its root attrs); miakit "
                "replaces only its own stores: choose a new path, or move it away yourself",
                field="--out",
            )
    check_writable_folder(real.parent)
    return text


def check_writable_folder(folder: Path) -> None:
    """Create and remove a file in the nearest existing folder of ``folder``: a read-only folder
    (or disk) is refused before any work (``os.access`` says yes to root on a read-only mount)."""
    import tempfile

    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        fd, probe = tempfile.mkstemp(prefix=".miakit-probe-", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise InputError(
            existing, f"cannot write here ({exc.strerror or exc}); choose a writable folder", field="--out"
        ) from None


def _check_remote_output(url: str, *, kinds: tuple[str, ...], storage_options: dict | None) -> str:
    protocol = url.split("://", 1)[0].lower()
    if protocol in ("http", "https"):
        raise InputError(
            url,
            "http:// is read-only",
            field="--out",
            expected="a local path or a writable fsspec URL (s3://, gcs://, ...)",
            found=url,
        )
    fs, path = filesystem(url, storage_options)
    try:
        present = fs.exists(path)
    except Exception as exc:
        raise InputError(
            url, f"cannot reach the output ({exc.__class__.__name__}: {str(exc)[:120]})", field="--out"
        ) from None
    if present and fs.isdir(path) and not fs.ls(path):
        return url
    if present and not is_miakit_store(url, kinds, storage_options):
        raise InputError(
            url,
            f"exists and is not a store miakit wrote (no {MARKER} mark "
            "in its root attrs); miakit replaces only its own stores",
            field="--out",
        )
    return url


# -- locks --------------------------------------------------------------------------------------


def store_identity(location: str | Path) -> str:
    """One name per store, however it is spelled: the resolved local path, or the URL."""
    local = local_path(location)
    if local is not None:
        return Path(os.path.realpath(local)).as_posix()
    protocol, _, rest = str(location).partition("://")
    return f"{protocol.lower()}://{rest.rstrip('/')}"


def lock_dir() -> Path:
    """Where locks live: $MIAKIT_LOCK_DIR, else ``miakit/locks`` in the user's cache folder (else
    the temporary folder). Not beside the stores: a lock file there would stay behind every store.
    Locks are per machine: two machines building one store on a shared disk are not serialized."""
    import tempfile

    candidates = [os.environ.get("MIAKIT_LOCK_DIR")]
    candidates.append(str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "miakit" / "locks"))
    candidates.append(
        str(Path(tempfile.gettempdir()) / f"miakit-locks-{os.getuid() if hasattr(os, 'getuid') else 'user'}")
    )
    for candidate in filter(None, candidates):
        try:
            Path(candidate).mkdir(parents=True, exist_ok=True)
            if os.access(candidate, os.W_OK):
                return Path(candidate)
        except OSError:
            continue
    raise MiakitError("no writable folder for miakit's locks: set MIAKIT_LOCK_DIR")


def lock_path(location: str | Path) -> Path:
    import hashlib

    identity = store_identity(location)
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in identity.rstrip("/").rsplit("/", 1)[-1])[:40]
    return lock_dir() / f"{name}-{hashlib.sha256(identity.encode()).hexdigest()[:16]}.lock"


@contextmanager
def store_lock(
    location: str | Path, *, timeout_s: float = 0.0, what: str = "another build is writing this store"
) -> Iterator[None]:
    """Hold the lock of ``location`` (re-entrant in one thread); a second holder fails clearly
    after ``timeout_s``."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(lock_path(location)), is_singleton=True)
    try:
        lock.acquire(timeout=timeout_s)
    except Timeout:
        raise MiakitError(f"{location}: {what} (lock {lock.lock_file}); wait for it to finish") from None
    try:
        yield
    finally:
        lock.release()


# -- writing ------------------------------------------------------------------------------------


def encoding_for(ds, *, chunk_frames: int = DEFAULT_CHUNK_FRAMES) -> dict:
    """Zarr chunks: ``chunk_frames`` along frame, whole along every other dim."""
    encoding = {}
    for name, var in ds.variables.items():
        if "frame" in var.dims:
            chunks = tuple(
                min(chunk_frames, max(n, 1)) if d == "frame" else max(n, 1) for d, n in zip(var.dims, var.shape)
            )
            encoding[name] = {"chunks": chunks}
    return encoding


def frame_regions(n_frames: int, chunk_frames: int, *, chunks_per_region: int = 64) -> list[slice]:
    """Chunk-aligned slices covering ``n_frames``, up to ``chunks_per_region`` chunks each: every
    region write costs ~20 ms of metadata work, so writing chunk by chunk made the store write of a
    96-session build take 2.5 s."""
    step = chunk_frames * chunks_per_region
    return [slice(i, min(i + step, n_frames)) for i in range(0, n_frames, step)]


def write_template(
    ds, url: str | Path, *, chunk_frames: int = DEFAULT_CHUNK_FRAMES, storage_options: dict | None = None
) -> None:
    """Write shapes, chunks, coordinates (the per-frame labels in full), the segment table and
    attrs, with ``complete: False`` and the miakit mark (attrs ``miakit_store``)."""
    import dask.array as da

    # Coordinates along frame (time, the frame labels) are written here, whole (write_frames skips them).
    template = ds.assign_coords({name: c.compute() for name, c in ds.coords.items() if "frame" in c.dims})
    for name, var in ds.data_vars.items():
        if "frame" in var.dims:
            template[name] = var.copy(
                data=da.zeros(
                    var.shape, dtype=var.dtype, chunks=encoding_for(ds, chunk_frames=chunk_frames)[name]["chunks"]
                )
            )
    template.attrs = {**ds.attrs, "complete": False, MARKER: marker("dataset")}
    template.to_zarr(
        str(url),
        mode="w",
        compute=False,
        encoding=encoding_for(ds, chunk_frames=chunk_frames),
        storage_options=storage_options,
        write_empty_chunks=True,
        **ZARR_OPTIONS,
    )


def write_frames(
    ds,
    url: str | Path,
    *,
    chunk_frames: int = DEFAULT_CHUNK_FRAMES,
    storage_options: dict | None = None,
    progress: bool = False,
) -> None:
    """Fill every frame variable region by region (chunk-aligned); ``valid`` last. Every chunk is
    written, also one that holds only fill values, so a missing chunk file means damage."""

    frame_vars = [n for n, v in ds.data_vars.items() if "frame" in v.dims]
    ordered = [n for n in frame_vars if n != "valid"] + ["valid"]
    regions = frame_regions(ds.sizes["frame"], chunk_frames)
    jobs = [(names, region) for names in (ordered[:-1], ordered[-1:]) for region in regions]
    for names, region in track(jobs, "writing chunks", enabled=progress):
        part = ds[names].isel(frame=region)
        part = part.drop_vars(list(part.coords))  # the template wrote every coordinate
        part.attrs = {}
        part.to_zarr(
            str(url),
            region={"frame": region},
            storage_options=storage_options,
            consolidated=False,
            zarr_format=2,
            write_empty_chunks=True,
        )


def finalize(url: str | Path, *, storage_options: dict | None = None) -> None:
    """Mark the store complete (remove ``complete: False``) and consolidate its metadata."""
    import zarr

    group = zarr.open_group(str(url), mode="r+", storage_options=storage_options, zarr_format=2)
    del group.attrs["complete"]
    zarr.consolidate_metadata(group.store)


def for_storage(ds):
    """``ds`` as a store holds it: the frame coordinates (``time``, ``frame_segment``, ``session``,
    ``subject``, ``exercise``, ``split``) made again from the segment table, so that plain xarray can
    group and select by them; strings as variable-length UTF-8 (object dtype: Zarr's ``vlen-utf8``);
    provenance as JSON text."""

    ds = with_frame_coords(without_frame_coords(ds))
    strings = {name: var.astype(object) for name, var in ds.variables.items() if var.dtype.kind in "UT"}
    ds = ds.assign_coords({n: v for n, v in strings.items() if n in ds.coords}).assign(
        {n: v for n, v in strings.items() if n not in ds.coords}
    )
    ds.attrs = {**ds.attrs, "provenance": json.dumps(provenance_of(ds), sort_keys=True)}
    return ds


def write_dataset(
    ds,
    url: str | Path,
    *,
    chunk_frames: int = DEFAULT_CHUNK_FRAMES,
    storage_options: dict | None = None,
    progress: bool = False,
) -> None:
    """Validate ``ds`` and write it as a new store at ``url``: built beside (template, regions,
    finalize), then swapped in (see the module docstring). ``url`` must be new, empty or a store
    miakit wrote (:func:`check_output`). A full disk or another write error leaves the previous
    store as it was and is one line."""
    ds = for_storage(validate_dataset(ds, where=str(url), deep=True))

    def write(staging: str) -> None:
        write_template(ds, staging, chunk_frames=chunk_frames, storage_options=storage_options)
        write_frames(ds, staging, chunk_frames=chunk_frames, storage_options=storage_options, progress=progress)
        finalize(staging, storage_options=storage_options)

    replace_store(url, write, kind="dataset", storage_options=storage_options)


def replace_store(url: str | Path, write, *, kind: str, storage_options: dict | None = None) -> None:
    """``write(staging)`` a store beside ``url``, then swap it in, under the store's lock; ``url``
    must pass :func:`check_output` for ``kind``. On a write error nothing is replaced."""
    check_output(url, kinds=(kind,), storage_options=storage_options)
    with store_lock(url, what="another command is writing this store"):
        staging = _sibling(url, NEW)
        _remove(staging, storage_options)
        try:
            write(staging)
            swap_in(staging, url, storage_options=storage_options)
        except (OSError, RuntimeError) as exc:
            _remove(staging, storage_options, missing_ok=True)
            raise write_error(url, exc) from None


def write_zarr(ds, url: str | Path, *, kind: str) -> None:
    """Write any xarray Dataset (such as ``miakit pose``'s keypoints) as a marked store of ``kind``
    at ``url``, built beside and swapped in like :func:`write_dataset`."""

    def write(staging: str) -> None:
        marked = ds.copy()
        marked.attrs = {**ds.attrs, MARKER: marker(kind)}
        marked.to_zarr(staging, mode="w", write_empty_chunks=True, **ZARR_OPTIONS)

    replace_store(url, write, kind=kind)


def write_error(url: str | Path, exc: BaseException) -> MiakitError:
    """One line for an error while writing a store (full disk, read-only folder, a write pool
    that shut down after one): the previous store, if any, is unchanged."""
    import errno

    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        why = "no space left on device"
    elif isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        why = f"cannot write ({exc.strerror})"
    elif isinstance(exc, RuntimeError) and "cannot schedule new futures" in str(exc):
        why = "the writer stopped after an earlier write error (a full disk?)"
    elif isinstance(exc, OSError):
        why = f"write failed ({exc.strerror or exc})"
    else:
        raise exc
    return MiakitError(
        f"{url}: {why} while writing the store; nothing was replaced (the previous store, if any, is as it was)"
    )


def _remove(location: str, storage_options: dict | None = None, *, missing_ok: bool = True) -> None:
    local = local_path(location)
    if local is not None:
        shutil.rmtree(local, ignore_errors=missing_ok)
        return
    fs, path = filesystem(location, storage_options)
    try:
        if fs.exists(path):
            fs.rm(path, recursive=True)
    except Exception:
        if not missing_ok:
            raise


def swap_in(staging: str, url: str | Path, *, storage_options: dict | None = None) -> None:
    """Put the finished store ``staging`` at ``url``; the store it replaces becomes
    ``.NAME.miakit-previous``. The one there before is deleted, unless a reader still holds it open
    (local stores: :func:`_retire`)."""
    previous = _sibling(url, PREVIOUS)
    local = local_path(url)
    if local is None:
        fs, path = filesystem(str(url), storage_options)
        _, new_path = filesystem(staging, storage_options)
        _, old_path = filesystem(previous, storage_options)
        if fs.exists(path):
            _remove(previous, storage_options)
            fs.mv(path, old_path, recursive=True)
        fs.mv(new_path, path, recursive=True)
        return
    target = Path(os.path.realpath(local))
    target.parent.mkdir(parents=True, exist_ok=True)
    _retire(Path(previous))
    if not target.exists():
        os.rename(staging, target)
    elif _exchange(staging, target):
        os.rename(staging, previous)  # staging now holds the old store
    else:
        os.rename(target, previous)
        os.rename(staging, target)


def _retire(previous: Path) -> None:
    """Make room for a new ``.NAME.miakit-previous``: delete the one there, or, while a reader
    still holds it open (the shared lock :func:`pinned_store_class` takes), move it aside to
    ``.NAME.miakit-previous.XXXXXXXX``, to be deleted by a later rebuild once nobody reads it.
    Those moved aside earlier and now free go too."""
    import uuid

    for old in previous.parent.glob(glob_escape(previous.name) + ".*"):
        _delete_unless_read(old)
    if previous.exists() and not _delete_unless_read(previous):
        os.rename(previous, previous.with_name(f"{previous.name}.{uuid.uuid4().hex[:8]}"))


def _delete_unless_read(folder: Path) -> bool:
    """Delete ``folder`` unless a reader holds its shared lock; True when it is gone."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except FileNotFoundError:
        return True
    except OSError:  # not a folder, no permission: leave it to rmtree's own verdict
        shutil.rmtree(folder, ignore_errors=True)
        return not folder.exists()
    try:
        if not _lock(fd, shared=False):
            return False
        shutil.rmtree(folder, ignore_errors=True)  # under the exclusive lock: no reader can take it now
        return not folder.exists()
    finally:
        os.close(fd)


def _lock(fd: int, *, shared: bool) -> bool:
    """Take a non-blocking flock on ``fd``; False when another process or open holds a conflicting
    one. Where flock does not exist (Windows) it always succeeds."""
    try:
        import fcntl
    except ImportError:
        return True
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:  # a filesystem without flock: nothing to protect readers with
        return True
    return True


def _exchange(a: str | Path, b: str | Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    import sys

    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(libc, "renameat2"):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if libc.renameat2(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    import errno

    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


# -- reading ------------------------------------------------------------------------------------


def _is_chunk_key(key: str) -> bool:
    last = key.rsplit("/", 1)[-1]
    return bool(last) and last not in METADATA_KEYS and all(c.isdigit() or c == "." for c in last)


def _missing(where: str, key: str) -> DatasetError:
    return DatasetError(
        where,
        f"chunk {key} is missing: the store is damaged or was replaced while it was read; open it again or rebuild it",
    )


def _read_store(location: str | Path, *, strict: bool, storage_options: dict | None):
    """A read-only Zarr store on which (``strict``) a missing chunk raises instead of reading as fill
    values; a local one is pinned to the folder it had when opened (Linux: /proc/self/fd)."""
    from zarr.storage import FsspecStore, WrapperStore

    local = local_path(location)
    if local is None:
        base = FsspecStore.from_url(str(location), storage_options=storage_options, read_only=True)
        if not strict:
            return base

        class Strict(WrapperStore):
            async def get(self, key, prototype=None, byte_range=None):
                value = await self._store.get(key, prototype, byte_range)
                if value is None and _is_chunk_key(key):
                    raise _missing(str(location), key)
                return value

        return Strict(base)
    return _pinned(local, strict=strict)


def _pinned(path: str | Path, strict: bool = True):
    """:func:`pinned_store_class` ``(path, strict=strict)``; also how a pickled one is rebuilt."""
    return pinned_store_class()(path, strict=strict)


@functools.cache
def pinned_store_class():
    """``PinnedLocalStore``: a read-only local Zarr store that reads the folder it opened, even
    after a swap renamed it (Linux; elsewhere, and once pickled to another process, it reads by
    path), and (``strict``) raises :class:`DatasetError` for a missing chunk. Defined on first use,
    so importing this module does not import zarr."""
    from zarr.storage import LocalStore

    class PinnedLocalStore(LocalStore):
        def __init__(self, path: str | Path, *, strict: bool = True, read_only: bool = True):
            self._path, self._strict = Path(os.path.realpath(path)), strict
            root = self._path
            try:
                fd = os.open(self._path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
                pinned = Path(f"/proc/self/fd/{fd}")
                if pinned.is_dir():
                    root = pinned
                    _lock(fd, shared=True)  # a rebuild keeps this folder while the lock is held
                    weakref.finalize(self, os.close, fd)
                else:
                    os.close(fd)
            except OSError:
                pass
            super().__init__(root, read_only=True)

        def with_read_only(self, read_only: bool = False):
            return self

        def __reduce__(self):
            return (_pinned, (str(self._path), self._strict))

        def __str__(self) -> str:
            return f"file://{self._path.as_posix()}"

        def _check(self, key: str, value):
            if value is None and self._strict and _is_chunk_key(key):
                raise _missing(str(self._path), key)
            return value

        async def get(self, key, prototype=None, byte_range=None):
            return self._check(key, await super().get(key, prototype, byte_range))

        def get_sync(self, key, *, prototype=None, byte_range=None):
            return self._check(key, super().get_sync(key, prototype=prototype, byte_range=byte_range))

    return PinnedLocalStore


def _present_chunks(location: str | Path, root: Path | None, storage_options: dict | None) -> set[str]:
    """Every file key of the store, from one listing (no file is read)."""
    if root is not None:
        keys: set[str] = set()
        for dirpath, _, names in os.walk(root):
            rel = os.path.relpath(dirpath, root)
            prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
            keys.update(prefix + n for n in names)
        return keys
    fs, path = filesystem(str(location), storage_options)
    base = path.rstrip("/") + "/"
    return {
        p[len(base) :] if p.startswith(base) else p.split(path.rstrip("/"), 1)[-1].lstrip("/") for p in fs.find(path)
    }


def check_chunks(location: str | Path, *, storage_options: dict | None = None, root: Path | None = None) -> None:
    """Every chunk file the consolidated metadata implies is present (one listing)."""
    import math

    meta = _read_json(root if root is not None else location, ".zmetadata", storage_options)
    if not isinstance(meta, dict) or not isinstance(meta.get("metadata"), dict):
        raise DatasetError(location, "no consolidated metadata (.zmetadata)")
    present = _present_chunks(location, root, storage_options)
    for key, array in meta["metadata"].items():
        if not key.endswith("/.zarray") or not isinstance(array, dict):
            continue
        name = key[: -len("/.zarray")]
        try:
            grid = [math.ceil(int(s) / int(c)) for s, c in zip(array["shape"], array["chunks"])]
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            raise DatasetError(location, "unreadable array metadata", field=name, found=array) from None
        sep = array.get("dimension_separator") or "."
        total = math.prod(grid)
        if not total:
            continue
        have = sum(1 for k in present if k.startswith(name + "/") and _is_chunk_key(k))
        if have >= total:
            continue
        import itertools

        first = next(
            f"{name}/{sep.join(map(str, index)) if index else '0'}"
            for index in itertools.product(*map(range, grid))
            if f"{name}/{sep.join(map(str, index)) if index else '0'}" not in present
        )
        raise DatasetError(
            location,
            f"{total - have} of {total} chunk files missing (first {first}): the store is damaged; rebuild it",
            field=name,
        )


def open_store(url: str | Path, *, validate: bool = True, storage_options: dict | None = None, deep: bool = False):
    """Open a store lazily (dask-backed) and check it against contract 2.

    The checks read only metadata and one listing of the store (cheap, done on every open):
    structure, dtypes, attr types and values, the segment table, and that no chunk file is missing.
    ``deep=True`` also reads the frames and checks the values (finite EMG, times and keypoints of
    valid frames, scores in [0, 1]).
    """
    import xarray as xr

    url = str(url)
    local = local_path(url)
    if not exists(url, storage_options):
        raise DatasetError(url, "no such dataset store")
    if local is not None and storage_options:
        raise DatasetError(
            url,
            "storage_options given for a local store (they apply to fsspec URLs only)",
            field="storage_options",
            found=storage_options,
        )
    mark = read_marker(url, storage_options)
    strict = mark is not None and mark.get("chunks") == "all"
    try:
        store = _read_store(url, strict=strict, storage_options=storage_options)
        ds = xr.open_zarr(store, **ZARR_OPTIONS)
    except MiakitError:
        raise
    except Exception as exc:  # not Zarr, unreadable metadata, a server that fails, ...
        raise DatasetError(url, f"not a readable Zarr store ({exc.__class__.__name__}: {str(exc)[:120]})") from None
    complete = ds.attrs.get("complete", True)
    if not isinstance(complete, bool):
        raise DatasetError(url, "complete must be true or false", field="attrs.complete", found=complete)
    if complete is False:
        raise DatasetError(url, "incomplete store: a build is writing it or was interrupted; run build-dataset again")
    if validate:
        validate_dataset(ds, where=url, deep=deep)
        if strict:
            check_chunks(url, storage_options=storage_options, root=getattr(store, "root", None))
    # The segment table is tiny and read constantly: hold it in memory, keep the frames lazy.
    table = [name for name, var in ds.data_vars.items() if var.dims == ("segment",)]
    ds = ds.assign({name: ds[name].load() for name in table})
    return as_read(ds)


def as_read(ds):
    """An opened store as readers see it: strings (variable-length on disk, read as numpy
    StringDType) as fixed-width numpy strings in memory, as older stores gave them; attrs that
    netCDF can hold (``complete`` dropped: an opened store is complete; the mark of an older store as
    JSON text); and the frame coordinates, derived from the segment table
    (:func:`miakit.contracts.dataset.with_frame_coords`; they replace the stored ones, which a
    deep check compares with them)."""
    import numpy as np

    small = {name: var for name, var in ds.variables.items() if var.dtype.kind == "T" and "frame" not in var.dims}
    fixed = {
        name: (var.dims, np.array(var.values.tolist(), dtype=str).reshape(var.shape), var.attrs)
        for name, var in small.items()
    }
    ds = ds.assign_coords({n: v for n, v in fixed.items() if n in ds.coords}).assign(
        {n: v for n, v in fixed.items() if n not in ds.coords}
    )
    attrs = {k: v for k, v in ds.attrs.items() if k != "complete"}
    if isinstance(attrs.get(MARKER), dict):
        attrs[MARKER] = json.dumps(attrs[MARKER], sort_keys=True)
    ds.attrs = attrs
    try:
        return with_frame_coords(ds)
    except (KeyError, ValueError):  # validate=False on a store whose segment table does not tile the frames
        return ds
