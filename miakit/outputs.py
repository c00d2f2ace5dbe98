"""The one guard of every output that is not a store: run folders, report folders, single files.

Stores carry miakit's mark in their root attrs (:mod:`miakit.store`); every other output folder
miakit writes (a training run, ``predict``'s folder, each benchmark's report folder) carries a
small file, ``.miakit-output.json``, naming its kind and miakit's version. A command writes into
``--out`` only when it is new, an empty folder, or a folder of the same kind miakit made (marked,
or a run or predict folder of an older miakit, holding only the files it writes); it refuses, in
one line and before any work, a folder of other files, a Zarr store or a place inside one, a
session folder or a place inside one, a file, the working folder and the command's own inputs.

A run folder (``miakit train``) is replaced only by ``--resume`` (continue it) or ``--force``
(start afresh: its checkpoints and history are deleted first), and it is locked while training
(:func:`run_lock`): a second training into it is refused. A single-file output (``pose --out
x.csv``) replaces an existing file only when miakit wrote it (the caller says how to recognize
it) or with ``--force``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from fnmatch import fnmatch
from pathlib import Path

from miakit._version import __version__
from miakit.errors import InputError
from miakit.store import check_writable_folder, is_miakit_store, store_lock

MARK_FILE = ".miakit-output.json"
"""The file in every output folder miakit makes: ``{"kind": ..., "miakit_version": ...}``."""

KINDS = ("run", "predict", "bench", "bench-real", "bench-finetune", "bench-paper", "bench-ablation")
"""The output folders miakit marks (``run``: ``miakit train``; the others: the command of that name)."""

UNMARKED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "run": (("checkpoint.pt", "last.pt", "history.csv", ".*.tmp"), ("last.pt", "history.csv")),
    "predict": (
        ("activation.csv", "activation.zarr", "overlay.mp4", "activation.png", ".activation.zarr.miakit-*"),
        ("activation.csv", "activation.zarr"),  # and activation.zarr a store miakit wrote
    ),
}
"""A run or predict folder of an older miakit, which wrote no mark: (the names it may hold, the
names it must hold). Only these two: a report folder's names (report.md, *.csv) are also a user's."""

ZARR_FILES = (".zgroup", ".zattrs", ".zmetadata", "zarr.json")


def read_mark(folder: str | Path) -> dict | None:
    """The mark of ``folder`` (its ``.miakit-output.json``), else None."""
    try:
        mark = json.loads((Path(folder) / MARK_FILE).read_text())
    except (OSError, ValueError):
        return None
    return mark if isinstance(mark, dict) and isinstance(mark.get("kind"), str) else None


def write_mark(folder: str | Path, kind: str) -> None:
    """Mark ``folder`` (made if needed) as miakit's output of ``kind``."""

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if (read_mark(folder) or {}).get("kind") == kind:
        return
    tmp = folder / f".{MARK_FILE}.tmp"
    tmp.write_text(json.dumps({"kind": kind, "miakit_version": __version__}) + "\n")
    tmp.replace(folder / MARK_FILE)


def kind_of(folder: Path) -> str | None:
    """The kind of output ``folder`` holds: its mark's, or for an unmarked folder of an older miakit
    the kind whose names are all it holds (None: not miakit's, or empty)."""
    mark = read_mark(folder)
    if mark is not None:
        return mark["kind"]

    names = [p.name for p in folder.iterdir()]
    for kind, (may, must) in UNMARKED.items():
        if all(any(fnmatch(n, p) for p in may) for n in names) and all(n in names for n in must):
            if kind == "predict" and not is_miakit_store(folder / "activation.zarr"):
                continue  # a user's activation.csv alone is not miakit's
            return kind
    return None


def is_zarr_store(folder: Path) -> bool:
    return any((folder / name).is_file() for name in ZARR_FILES)


def check_folder(
    out: str | Path,
    kind: str,
    *,
    inputs: tuple | list = (),
    field: str = "--out",
    existing: Callable[[Path], None] | None = None,
) -> Path:
    """Refuse, in one line and before any work, an output folder miakit must not write ``kind`` into;
    return it as a Path. ``existing(folder)`` decides about a folder of this kind that holds files
    (default: it may be replaced, file by file)."""

    text = str(out)
    if not text.strip():
        raise InputError("--out", "no output named", expected="a new folder such as runs/r1", found=text)
    out = Path(out)
    real = Path(os.path.realpath(out))
    cwd = Path(os.path.realpath(os.getcwd()))
    if real == cwd or real in cwd.parents:
        raise InputError(text, "the output would be the working folder (or a folder above it)", field=field)
    if real.is_dir() and is_zarr_store(real):
        raise InputError(
            text, "is a Zarr store, not a folder for this output; choose a new folder such as runs/r1", field=field
        )
    for item in inputs:
        if item is None or "://" in str(item):
            continue
        held = Path(os.path.realpath(item))
        if held == real or real in held.parents:
            raise InputError(text, f"the output holds this command's input {item}; choose another folder", field=field)
    for parent in real.parents:
        if is_zarr_store(parent):
            raise InputError(text, f"lies inside the Zarr store {parent}; choose a folder outside it", field=field)
        if (parent / "session.yaml").is_file():
            raise InputError(
                text, f"lies inside the session folder {parent}; session folders are never modified", field=field
            )
    if (real / "session.yaml").is_file():
        raise InputError(text, "is a session folder; session folders are never modified", field=field)
    if real.exists() and not real.is_dir():
        raise InputError(text, "exists and is a file", field=field, expected="a new or empty folder", found="a file")
    if real.is_dir() and any(real.iterdir()):
        found = kind_of(real)
        if found is None:
            names = sorted(p.name for p in real.iterdir())
            shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
            raise InputError(
                text,
                f"holds other files ({shown}) and no {MARK_FILE}: not a folder miakit made; miakit writes only "
                "into a new or empty folder or its own: choose another folder",
                field=field,
            )
        if found != kind:
            raise InputError(
                text,
                f"holds miakit's {found} output, not a {kind} output; choose another folder",
                field=field,
            )
        if existing is not None:
            existing(real)
    check_writable_folder(real)
    return out


def prepare_folder(out: str | Path, kind: str, *, inputs: tuple | list = ()) -> Path:
    """:func:`check_folder`, then make and mark the folder: what a command writing ``kind`` calls first."""
    out = check_folder(out, kind, inputs=inputs)
    write_mark(out, kind)
    return out


# -- run folders (miakit train) -------------------------------------------------------------------


def check_run_folder(out: str | Path, *, resume: bool, force: bool, inputs: tuple | list = ()) -> Path:
    """Before a training: ``out`` is new, empty, or an earlier run that ``resume`` continues or
    ``force`` replaces (its checkpoints and history deleted here); anything else is refused."""

    def earlier_run(folder: Path) -> None:
        if resume:
            return
        if not force:
            raise InputError(
                out,
                "holds an earlier run (checkpoint.pt, last.pt, history.csv); --resume continues it, "
                "--force replaces it",
                field="--out",
            )
        for item in folder.iterdir():
            if item.is_file() and any(fnmatch(item.name, p) for p in UNMARKED["run"][0]):
                item.unlink()

    return check_folder(out, "run", inputs=inputs, existing=earlier_run)


@contextmanager
def run_lock(out: str | Path) -> Iterator[None]:
    """Hold ``out``'s lock while training (re-entrant in one thread): a second training into the
    same folder is refused at once, in one line."""

    with store_lock(out, what="another miakit train is writing this run folder"):
        yield


# -- single files -------------------------------------------------------------------------------


def check_file(out: str | Path, *, ours: Callable[[Path], bool], force: bool, inputs: tuple | list = ()) -> Path:
    """Before any work: a single-file output ``out`` is new, or a file miakit wrote (``ours``), or
    ``force`` is given; never a folder or one of ``inputs``."""

    out = Path(out)
    real = Path(os.path.realpath(out))
    for item in inputs:
        if item is not None and Path(os.path.realpath(item)) == real:
            raise InputError(out, f"the output would replace this command's input {item}", field="--out")
    if real.is_dir():
        raise InputError(out, "is a folder", field="--out", expected="a new file", found="a folder")
    if real.exists() and not force and not ours(real):
        raise InputError(
            out,
            "exists and is not a file miakit wrote; choose a new path, or pass --force to replace it",
            field="--out",
        )
    check_writable_folder(real.parent)
    return out
