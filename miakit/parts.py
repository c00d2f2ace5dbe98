"""Part files: one session's processed result, kept until the store is written.

A build (:func:`miakit.pipeline.build_dataset`) processes each session into a part, then writes the
store from the parts and removes them; a build that was interrupted finds the parts it had made and
does not process those sessions again. A part is a folder ``KEY-SESSIONHASH-PIPELINEHASH`` in
:func:`parts_dir_for` holding ``report.json`` (the session's :class:`~miakit.stages.quality.QualityReport`)
and, per segment, ``segmentNNN.npz`` (its arrays) and ``segmentNNN.json`` (its other fields). It is
written under a temporary name and renamed, so it exists whole or not at all.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from miakit.contracts.build import Segment
from miakit.stages.quality import QualityReport
from miakit.store import local_path


def parts_dir_for(out: str | Path) -> Path:
    """Where per-session results wait for the store: ``STORE.zarr.parts`` beside a local store,
    a folder in the user's cache for a store at a URL."""

    local = local_path(out)
    if local is not None:
        return Path(f"{os.path.realpath(local)}.parts")
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "miakit" / "parts"
    return cache / hashlib.sha256(str(out).encode()).hexdigest()[:16]


def is_done(part: Path) -> bool:
    """Whether ``part`` was written whole (its report is the last file renamed into place)."""
    return (part / "report.json").is_file()


def write_part(part: str | Path, report: QualityReport, segments: list[Segment]) -> dict:
    """Save one session's report and segments as ``part`` (replacing it); returns the report as a mapping."""
    import shutil

    part = Path(part)
    record = asdict(report)
    tmp = part.with_name(part.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for i, segment in enumerate(segments):
        seg = asdict(segment)
        arrays = {k: v for k, v in seg.items() if isinstance(v, np.ndarray)}
        np.savez(tmp / f"segment{i:03d}.npz", **arrays)  # type: ignore[arg-type]  # numpy's stubs: **kwds as allow_pickle
        (tmp / f"segment{i:03d}.json").write_text(
            json.dumps({k: v for k, v in seg.items() if k not in arrays and v is not None})
        )
    (tmp / "report.json").write_text(json.dumps(record))
    shutil.rmtree(part, ignore_errors=True)
    os.replace(tmp, part)
    return record


def read_part(part: Path) -> tuple[QualityReport, list[Segment]]:
    """A part's report and segments, as :func:`write_part` saved them."""
    report = QualityReport(**json.loads((part / "report.json").read_text()))
    segments = []
    for npz_path in sorted(part.glob("segment*.npz")):
        with np.load(npz_path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        fields = json.loads(npz_path.with_suffix(".json").read_text())
        fields["flags"] = tuple(fields.get("flags", ()))
        segments.append(Segment(**fields, **arrays))
    return report, segments
