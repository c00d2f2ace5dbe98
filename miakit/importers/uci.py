"""Import the UCI "EMG Physical Action Data Set" as an EMG-only miakit dataset.

Data set: Theo Theodoridis, "EMG Physical Action Data Set", University of Essex, 2011; UCI Machine
Learning Repository (donated 28 July 2011). Raw surface EMG from a Delsys system, 8 electrodes on the
same 8 muscles as Muscles in Action, 10 normal and 10 aggressive actions per subject, about 10,000
samples (about 10 s at about 1 kHz) per action.

Layout read: ``subNN/{Normal,Aggressive}/txt/<Action>.txt``: tab-separated numbers, no header,
8 columns in the order R-Bic, R-Tri, L-Bic, L-Tri, R-Thi, R-Ham, L-Thi, L-Ham (the one reader of a
file: :func:`miakit.record.uci_file.read_uci_file`). ``DIR`` may be the folder holding the ``subNN``
folders, any folder above it, or one ``subNN`` folder.

What is written (contract 2, :mod:`miakit.contracts.dataset`):

- one segment per (subject, action file): ``segment`` ``"sub01-running"``, subject ``"sub01"``,
  exercise the action in lower case, session ``"sub01/Normal/Running"``, split ``""``, source
  ``"uci-emg"``, image size 0 x 0 (there is no video), flags ``"clipped"`` where any raw sample sits
  at the recorder's +-4000 rails;
- ``emg``: the raw signal through :func:`miakit.stages.emg.condition_raw` (band-pass 20-450 Hz,
  rectify, 100 ms RMS envelope, anti-aliased resampling to 10 Hz), in microvolts, channels mapped to
  :data:`miakit.layout.MUSCLES` (R-Thi is the right quadriceps) and reordered to that layout;
- ``keypoints`` all NaN and ``keypoint_score`` all 0 (no video);
- ``attrs["modalities"] = ["emg"]``. For this EMG-only dataset ``valid`` concerns the EMG alone: a
  frame is valid when its envelope is finite in all 8 muscles (it does not, and cannot, say that
  keypoints are present);
- ``attrs["log"]``: the conditioning stages as run; ``attrs["provenance"]``: pipeline
  ``"import-uci-emg"``, a hash of the parameters, and ``inputs_sha256`` a SHA-256 over the relative
  path and the bytes of every imported file, in path order.

A file that cannot be read (not numbers, not 8 columns, shorter than one 10 Hz period) is reported
with its reason and left out; the others are imported.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict
from pathlib import Path

import numpy as np

from miakit.contracts.build import Segment, make_dataset
from miakit.errors import InputError
from miakit.files import read_capped
from miakit.importers.common import ImportReport, check_outputs, nothing_imported, provenance, write_and_register
from miakit.layout import MUSCLES, RATE_HZ
from miakit.progress import track
from miakit.record.uci_file import RAW_RATE_HZ, UCI_CHANNELS, UCI_TO_MUSCLE, read_uci_file
from miakit.stages.emg import RawEmgParams, condition_raw

MAX_UCI_BYTES = 256 << 20
"""Cap on one UCI EMG text file (the dataset's are about 1 MB)."""
CLIP_LEVEL = 4000.0
"""The recorder's rails (+-4 mV as microvolts); samples there were clipped."""
EMG_UNITS = "microvolts (RMS envelope)"
SOURCE = "uci-emg"
PIPELINE = "import-uci-emg"

_SUBJECT = re.compile(r"^sub\d+$")


def find_uci_files(root: str | Path) -> list[Path]:
    """The action files under ``root`` (``subNN/<category>/txt/<Action>.txt``), in path order."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(root, "no such folder", expected="a folder of the UCI EMG Physical Action set")
    files = [
        p
        for p in root.rglob("*.txt")
        if p.parent.name == "txt" and len(p.parents) >= 3 and _SUBJECT.match(p.parents[2].name)
    ]
    if not files:
        raise InputError(root, "no UCI EMG files", expected="subNN/{Normal,Aggressive}/txt/<Action>.txt", found="none")
    return sorted(files)


def condition_parameters(*, raw_rate_hz: float = RAW_RATE_HZ, emg: RawEmgParams = RawEmgParams()) -> dict:
    """The importer's parameters as one JSON-able dict (what ``pipeline_sha256`` hashes)."""
    return {
        "raw_rate_hz": raw_rate_hz,
        **asdict(emg),
        "rate_hz": RATE_HZ,
        "clip_level": CLIP_LEVEL,
    }


def load_uci(
    root: str | Path,
    *,
    raw_rate_hz: float = RAW_RATE_HZ,
    emg: RawEmgParams = RawEmgParams(),
    show_progress: bool = False,
):
    """Read and condition every action file under ``root`` (raw at ``raw_rate_hz``; ``emg``: the
    conditioning).

    Returns ``(dataset, report)``: a contract-2 :class:`xarray.Dataset` (validated) and an
    :class:`ImportReport` (its ``store`` empty) with per-subject rows and the skipped files.
    """
    import xarray as xr

    params = condition_parameters(raw_rate_hz=raw_rate_hz, emg=emg)
    root = Path(root)
    files = find_uci_files(root)
    report = ImportReport(store="")
    segments: list[Segment] = []
    digest = hashlib.sha256()
    channel_of = {muscle: channel for channel, muscle in UCI_TO_MUSCLE.items()}
    order = [UCI_CHANNELS.index(channel_of[muscle]) for muscle in MUSCLES]  # file columns in MUSCLES order
    log: list[str] = []
    min_rows = int(np.ceil(raw_rate_hz / RATE_HZ))
    for path in track(files, "UCI EMG files", enabled=show_progress):
        try:
            raw = read_capped(path, max_bytes=MAX_UCI_BYTES)
            samples = read_uci_file(path, raw)
            if samples.shape[0] < min_rows:
                raise InputError(
                    path, "too short", expected=f">= {min_rows} samples (one 10 Hz period)", found=samples.shape[0]
                )
        except InputError as exc:
            report.skipped.append((str(path), str(exc).removeprefix(f"{path}: ")))
            continue
        rel = path.relative_to(root).as_posix()
        digest.update(rel.encode() + b"\0" + hashlib.sha256(raw).digest())
        da = xr.DataArray(
            samples[:, order], dims=("time", "muscle"), coords={"muscle": list(MUSCLES)}, attrs={"rate_hz": raw_rate_hz}
        )
        env = condition_raw(da, emg, rate_hz=RATE_HZ)
        log = env.attrs["log"]
        subject, category, action = path.parents[2].name, path.parents[1].name, path.stem
        segments.append(
            Segment(
                id=f"{subject}-{action.lower()}",
                session=f"{subject}/{category}/{action}",
                subject=subject,
                exercise=action.lower(),
                split="",
                source=SOURCE,
                emg=env.transpose("time", "muscle").values,
                flags=("clipped",) if np.nanmax(np.abs(samples)) >= CLIP_LEVEL else (),
            )
        )
    if not segments:
        raise nothing_imported(root, report)
    ds = make_dataset(
        segments,
        muscles=MUSCLES,
        emg_units=EMG_UNITS if emg.envelope == "rms" else "microvolts (low-pass envelope)",
        modalities=["emg"],
        where=str(root),
        raw_rate_hz=raw_rate_hz,
        log=list(log),
        provenance=provenance(
            pipeline=PIPELINE,
            parameters=params,
            inputs_sha256=digest.hexdigest(),
            inputs_hashed="relative path and SHA-256 of the bytes of every imported file, in path order",
        ),
        citation="Theodoridis, T. (2011). EMG Physical Action Data Set. UCI Machine Learning Repository.",
    )
    _fill_report(report, segments)
    return ds, report


def import_uci(
    root: str | Path,
    out: str | Path,
    *,
    catalog: str | Path | None = None,
    name: str | None = None,
    show_progress: bool = False,
    raw_rate_hz: float = RAW_RATE_HZ,
    emg: RawEmgParams = RawEmgParams(),
) -> ImportReport:
    """Import the UCI set under ``root`` into a new store at ``out``; register it in ``catalog`` if given.

    ``raw_rate_hz`` and ``emg`` are :func:`load_uci`'s.
    """
    check_outputs(root, out, catalog)
    ds, report = load_uci(root, raw_rate_hz=raw_rate_hz, emg=emg, show_progress=show_progress)
    write_and_register(
        ds,
        out,
        report,
        catalog=catalog,
        name=name,
        description="UCI EMG Physical Action Data Set (Theodoridis 2011): raw sEMG as 10 Hz envelopes, no video",
    )
    return report


def _fill_report(report: ImportReport, segments: list[Segment]) -> None:
    by_subject: dict[str, dict] = {}
    for seg in segments:
        row = by_subject.setdefault(
            seg.subject, {"subject": seg.subject, "files": 0, "frames": 0, "valid": 0, "clipped": 0}
        )
        row["files"] += 1
        row["frames"] += seg.length
        row["valid"] += int(np.isfinite(seg.emg).all(axis=1).sum())
        row["clipped"] += int("clipped" in seg.flags)
    report.rows = [by_subject[k] for k in sorted(by_subject)]
    report.n_segments = len(segments)
    report.n_frames = sum(r["frames"] for r in report.rows)
    report.n_valid = sum(r["valid"] for r in report.rows)
