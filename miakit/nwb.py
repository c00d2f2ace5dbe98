"""NWB in and out: ``miakit export nwb`` and ``miakit import nwb`` (the ``nwb`` extra: pynwb, ndx-pose).

**Export** (:func:`export_nwb`): one NWB file per session of a dataset (a store with several
sessions: a folder of ``SESSION.nwb`` files). Each file holds:

- the subject (``Subject``: its id, species Homo sapiens) and the session (``session_id``; the
  session start: ``--session-start``, else the dataset's build time, since contract 2 keeps no
  recording date; the notes say which);
- the EMG as one ``TimeSeries`` per muscle in the processing module ``emg`` (the 10 Hz grid:
  ``rate``, units ``attrs["emg_units"]``, NaN where a frame has none), the noise-free activation of
  synthetic data likewise in ``emg_clean``, and the frames' ``valid`` flag (``misc/valid``);
- the keypoints in ndx-pose: a ``Skeletons`` container with the ``BODY_25`` skeleton (nodes and
  bones) and a ``PoseEstimation`` of one ``PoseEstimationSeries`` per keypoint (pixels, the
  source image's top-left corner as origin, the keypoint scores as ``confidence``), in the
  processing module ``behavior`` (EMG-only datasets have none);
- the segments as ``trials``, one a row, laid one after another on the file's clock (contract 2
  keeps no time between segments: each starts where the last ended) with their id, exercise,
  split, source, flags, image size, and where the dataset has them view, camera yaw and the
  muscles present; gait events as the table ``behavior/gait_events`` (time, time in its trial, kind,
  side, origin, trial);
- provenance in the file's ``notes``: JSON ``{"miakit_export": {miakit_version, session,
  session_start, attrs, keypoints}}`` with the dataset's attrs (provenance included) and keypoint names.

Views of one trial (``import c3d --views front,side``) are segments of one session: they become
consecutive trials, each with its camera in ``view``, and one ``PoseEstimation`` holds them all.

**Import** (:func:`import_nwb`): files miakit wrote come back as they went out (a round trip
store -> NWB -> store keeps every frame variable, the segment table, the events and the attrs but
the provenance, which becomes the import's and keeps the exported one). Files of other tools (a
lab's, movement's): EMG from ``TimeSeries`` or ``ElectricalSeries`` whose name or description says
EMG, channels named by their series' names or by the electrodes' ``label`` / ``location`` (else
``NAME0``, ``NAME1``, ...: name them with ``--channel``), conditioned to 10 Hz envelopes as ``import
c3d`` does; keypoints from the first ``PoseEstimation`` whose series are named in BODY_25 or COCO words
(``RShoulder``, ``right_shoulder``; ``Neck`` and ``MidHip`` from the shoulders and hips where the
file lacks them), read on the same grid (the image size from the ``source_video``'s ``dimension``,
else the paper's 1080 x 1920, and the provenance says which); segments from ``trials`` (else ``epochs``) with an
``exercise`` column (else tags, else ``--exercise``), else one segment per file.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from miakit._version import __version__
from miakit.contracts.build import Event, Segment, make_dataset
from miakit.contracts.dataset import provenance_of
from miakit.errors import InputError
from miakit.importers.common import ImportReport, check_outputs, provenance, write_and_register
from miakit.importers.lab import MIN_KEYPOINTS, LabTrial, emg_envelopes
from miakit.layout import BODY_25, BODY_25_EDGES, IMAGE_HEIGHT, IMAGE_WIDTH, MUSCLES, RATE_HZ
from miakit.stages.emg import RawEmgParams

if TYPE_CHECKING:
    from miakit.contracts.build import Segment


NOTES_KEY = "miakit_export"
"""The key of the JSON object in an exported file's ``notes``."""
SOURCE_SCRIPT = "miakit export nwb"
REFERENCE_FRAME = "(0, 0) is the top-left corner of the source image; x to the right, y down, in pixels"
SOURCE = "nwb"
"""``segment_source`` of segments imported from files of other tools."""
GAIT_EVENTS = "gait_events"


def _need_pynwb():
    try:
        import ndx_pose  # noqa: F401  (registers the ndx-pose namespace; it ships in the wheel)
        import pynwb
    except ImportError as exc:
        raise InputError(
            "nwb", f"NWB needs the nwb extra: pip install 'miakit[nwb]' ({str(exc).splitlines()[0]})"
        ) from None
    return pynwb


# -- export ------------------------------------------------------------------------------------


def _safe_name(session: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", session).strip("._") or "session"


def export_paths(sessions: list[str], out: str | Path) -> dict[str, Path]:
    """Where each session's file goes: ``out`` itself for one session, else ``out/SESSION.nwb``;
    one line for an ``out`` that cannot be that."""
    out = Path(out)
    if len(sessions) == 1 and out.suffix.lower() == ".nwb":
        paths = {sessions[0]: out}
    elif out.suffix.lower() == ".nwb":
        raise InputError(
            "--out",
            f"the dataset holds {len(sessions)} sessions, one NWB file each",
            expected="a folder for the files (SESSION.nwb)",
            found=str(out),
        )
    else:
        names = [_safe_name(s) for s in sessions]
        for name in set(names):  # two sessions whose names differ only in odd characters
            if names.count(name) > 1:
                names = [f"{n}-{i}" for i, n in enumerate(names)]
                break
        paths = {s: out / f"{n}.nwb" for s, n in zip(sessions, names)}
    for path in paths.values():
        if path.exists() and not _is_miakit_nwb(path):
            raise InputError(
                path, "exists and is not an NWB file miakit wrote; miakit replaces only its own", field="--out"
            )
    return paths


def _is_miakit_nwb(path: Path) -> bool:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            script = f["general/source_script"][()] if "general/source_script" in f else b""
    except (OSError, KeyError):
        return False
    return (script.decode() if isinstance(script, bytes) else str(script)).startswith(SOURCE_SCRIPT)


def export_nwb(ds, out: str | Path, *, session_start: str | None = None, where: str = "<dataset>") -> list[Path]:
    """Write each session of contract-2 dataset ``ds`` as an NWB file (see the module docstring);
    returns the files written. ``session_start``: ISO 8601 date and time for every file (a time
    without a zone is UTC) [default: the dataset's build time]."""

    _need_pynwb()
    sessions = list(dict.fromkeys(str(s) for s in ds["segment_session"].values))
    if not sessions:
        raise InputError(where, "the dataset has no segment to export")
    paths = export_paths(sessions, out)
    start, start_from = _session_start(session_start, provenance_of(ds))
    ds = ds.compute()  # read once (a lazy store would be read again for every session)
    for session, path in paths.items():
        rows = [i for i, s in enumerate(ds["segment_session"].values) if str(s) == session]
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.miakit-new.nwb")
        try:
            _write_session(ds, rows, session, tmp, start=start, start_from=start_from)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return list(paths.values())


def _session_start(text: str | None, prov: dict):
    from datetime import UTC, datetime

    if text is None:
        text, origin = str(prov.get("built_at", "")), "the dataset's build time (the dataset keeps no recording date)"
    else:
        origin = "given with --session-start"
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            "--session-start", "not a date and time", expected="ISO 8601, e.g. 2024-05-01T10:30:00+02:00", found=text
        ) from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)), origin


def _frames(ds, rows: list[int]) -> tuple[np.ndarray, list[slice], list[slice]]:
    """The dataset's frame indices of ``rows`` (segments), each segment's slice in the dataset and in the file."""
    start = np.asarray(ds["segment_start"].values, dtype=np.int64)
    length = np.asarray(ds["segment_length"].values, dtype=np.int64)
    src = [slice(int(start[i]), int(start[i] + length[i])) for i in rows]
    ends = np.cumsum([length[i] for i in rows])
    dst = [slice(int(e - length[i]), int(e)) for e, i in zip(ends, rows)]
    return np.concatenate([np.arange(s.start, s.stop) for s in src]), src, dst


def _write_session(ds, rows: list[int], session: str, path: Path, *, start, start_from: str) -> None:
    import uuid

    from ndx_pose import PoseEstimation, PoseEstimationSeries, Skeleton, Skeletons
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries
    from pynwb.file import Subject

    rate = float(ds.attrs["rate_hz"])
    frames, src, dst = _frames(ds, rows)
    time = np.asarray(ds["time"].values, dtype=np.float64)
    offsets = [d.start / rate for d in dst]
    exact = all(np.array_equal(time[s], np.arange(s.stop - s.start) / rate) for s in src)
    timestamps = None if exact else np.concatenate([o + time[s] for o, s in zip(offsets, src)])
    subjects = list(dict.fromkeys(str(ds["segment_subject"].values[i]) for i in rows))
    if len(subjects) != 1:
        raise InputError(session, "one session, several subjects: an NWB file holds one", found=subjects)
    exercises = list(dict.fromkeys(str(ds["segment_exercise"].values[i]) for i in rows))
    attrs = {k: v for k, v in ds.attrs.items() if k not in ("complete", "miakit_store")}
    attrs["provenance"] = provenance_of(ds)
    prov = attrs["provenance"]
    notes = {
        NOTES_KEY: {
            "miakit_version": __version__,
            "session": session,
            "session_start": start_from,
            "segments_on_the_clock": "one after another, each starting where the last ended",
            "attrs": attrs,
            "keypoints": [str(k) for k in ds["keypoint"].values],
        }
    }
    nwb = NWBFile(
        session_description=(
            f"miakit dataset session {session}: {len(rows)} segment(s) ({', '.join(exercises)}), "
            f"EMG envelopes and BODY_25 keypoints on a {rate:g} Hz grid"
        ),
        identifier=str(uuid.uuid5(uuid.NAMESPACE_URL, f"miakit:{prov.get('inputs_sha256', '')}:{session}")),
        session_start_time=start,
        session_id=session,
        notes=json.dumps(notes, sort_keys=True, default=str),
        source_script=f"{SOURCE_SCRIPT} (miakit {__version__})",
        source_script_file_name="miakit/nwb.py",
        keywords=["EMG", "pose estimation", "BODY_25", "miakit"],
        experiment_description=f"built by miakit pipeline {prov.get('pipeline', '')!r}",
        subject=Subject(
            subject_id=subjects[0],
            species="Homo sapiens",
            sex="U",
            age="P0D/",  # an open range: the dataset does not record the age (nwbinspector wants one)
            description="a subject of a miakit dataset (sex and age not recorded)",
        ),
    )

    def timing() -> dict:
        return {"rate": rate, "starting_time": 0.0} if timestamps is None else {"timestamps": timestamps}

    units = str(ds.attrs["emg_units"])
    for module_name, var, what in (
        ("emg", "emg", "EMG envelopes (muscle activation), one series per muscle"),
        ("emg_clean", "emg_clean", "noise-free activation where known (synthetic data), one series per muscle"),
    ):
        if var not in ds.data_vars:
            continue
        values = np.asarray(ds[var].values, dtype=np.float32)[frames]
        module = nwb.create_processing_module(module_name, f"{what}, on the {rate:g} Hz grid (miakit)")
        for m, muscle in enumerate(str(x) for x in ds["muscle"].values):
            module.add(
                TimeSeries(
                    name=muscle,
                    data=values[:, m],
                    unit=units,
                    description=f"{muscle}: {var} in {units}; NaN where the frame has none",
                    **timing(),
                )
            )
    flags = nwb.create_processing_module("misc", "per-frame flags of the miakit dataset")
    flags.add(
        TimeSeries(
            name="valid",
            data=np.asarray(ds["valid"].values, dtype=np.uint8)[frames],
            unit="n.a.",
            description="1 where both modalities are present and every check passed, else 0",
            **timing(),
        )
    )
    if "pose" in ds.attrs.get("modalities", ["emg", "pose"]):
        names = [str(k) for k in ds["keypoint"].values]
        keypoints = np.asarray(ds["keypoints"].values, dtype=np.float32)[frames]
        score = np.asarray(ds["keypoint_score"].values, dtype=np.float32)[frames]
        body25 = ds.attrs.get("keypoint_layout") == "BODY_25" and len(names) == len(BODY_25)
        edges = list(BODY_25_EDGES) if body25 else []  # BODY_25 bones, by position
        skeleton = Skeleton(
            name=str(ds.attrs.get("keypoint_layout", "BODY_25")),
            nodes=names,
            edges=np.array(edges, dtype=np.uint8).reshape(-1, 2),
            subject=nwb.subject,
        )
        camera = nwb.create_device(
            name="camera",
            description="the camera each trial was filmed with (a virtual one for motion capture: "
            "see the trials' view and yaw_deg); image size per trial in image_width, image_height",
        )
        behavior = nwb.create_processing_module("behavior", "BODY_25 keypoints on the miakit grid (ndx-pose)")
        behavior.add(Skeletons(skeletons=[skeleton]))
        series: list[Any] = []
        for k, name in enumerate(names):
            series.append(
                PoseEstimationSeries(
                    name=name,
                    description=f"{name}: position in the source image",
                    data=keypoints[:, k, :],
                    unit="pixels",
                    reference_frame=REFERENCE_FRAME,
                    confidence=score[:, k],
                    confidence_definition="keypoint score in [0, 1]; 0 where the keypoint is missing (NaN)",
                    **(timing() if not series or timestamps is None else {"timestamps": series[0]}),
                )
            )
        behavior.add(
            PoseEstimation(
                name="PoseEstimation",
                pose_estimation_series=series,
                description="BODY_25 keypoints of the subject, one series per keypoint",
                skeleton=skeleton,
                device=camera,
                source_software="miakit",
                source_software_version=__version__,
            )
        )
    _add_trials(nwb, ds, rows, dst, rate)
    _add_events(nwb, ds, rows, offsets)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


def _add_trials(nwb, ds, rows: list[int], dst: list[slice], rate: float) -> None:
    columns = {
        "segment": ("the miakit segment id", "segment"),
        "exercise": ("the exercise done", "segment_exercise"),
        "split": ("a split the source defines (train, val), else ''", "segment_split"),
        "source": ("what produced the segment: synthetic, recording, mocap, ...", "segment_source"),
        "flags": ("comma-separated flags, such as 'truncated', or ''", "segment_flags"),
        "image_width": ("width of the source image, pixels", "segment_image_width"),
        "image_height": ("height of the source image, pixels", "segment_image_height"),
        "view": ("the camera view: front, side, yawNN (virtual cameras)", "segment_view"),
        "yaw_deg": ("the camera's yaw from the subject's front, degrees", "segment_yaw_deg"),
    }
    columns = {k: v for k, v in columns.items() if v[1] in ds.variables}
    for name, (description, _) in columns.items():
        nwb.add_trial_column(name=name, description=description)
    present = "muscle_present" in ds.data_vars
    if present:
        nwb.add_trial_column(name="muscles_present", description="comma-separated muscles the recording has")
    muscles = [str(m) for m in ds["muscle"].values]
    for i, d in zip(rows, dst):
        row = {}
        for name, (_, var) in columns.items():
            kind = ds[var].dtype.kind
            value = ds[var].values[i]
            row[name] = int(value) if kind in "iu" else float(value) if kind == "f" else str(value)
        if present:
            have = np.asarray(ds["muscle_present"].values[i], dtype=bool)
            row["muscles_present"] = ",".join(m for m, h in zip(muscles, have) if h)
        nwb.add_trial(start_time=d.start / rate, stop_time=d.stop / rate, **row)


def _add_events(nwb, ds, rows: list[int], offsets: list[float]) -> None:
    if "event_segment" not in ds.data_vars:
        return
    where = {seg: k for k, seg in enumerate(rows)}
    picked = [e for e, seg in enumerate(ds["event_segment"].values) if int(seg) in where]
    if not picked:
        return
    from pynwb.core import DynamicTable

    table = DynamicTable(name=GAIT_EVENTS, description="gait events, moments in their trial")
    for name, description in (
        ("time", "seconds on the file's clock"),
        ("time_in_trial", "seconds from the start of its trial"),
        ("kind", "foot_strike or foot_off"),
        ("side", "left, right or ''"),
        ("origin", "file (the recording's own) or zeni (detected)"),
        ("trial", "index of the event's trial in this file's trials table"),
    ):
        table.add_column(name=name, description=description)
    for e in picked:
        k = where[int(ds["event_segment"].values[e])]
        t = float(ds["event_time"].values[e])
        table.add_row(
            time=offsets[k] + t,
            time_in_trial=t,
            kind=str(ds["event_kind"].values[e]),
            side=str(ds["event_side"].values[e]),
            origin=str(ds["event_origin"].values[e]),
            trial=k,
        )
    behavior = nwb.processing["behavior"] if "behavior" in nwb.processing else None
    if behavior is None:
        behavior = nwb.create_processing_module("behavior", "gait events (miakit)")
    behavior.add(table)


# -- import ------------------------------------------------------------------------------------


@dataclass
class _Read:
    segments: list
    events: list
    attrs: dict  # the dataset attrs a miakit file carried, else {}
    info: dict  # what the provenance keeps of the file
    muscles: list[str]
    units: str
    pose: bool
    times: list  # per segment: its frames' times where they are not the exact grid, else None
    keypoints: list[str] | None = None  # the skeleton's node names, where a miakit file has them


def import_nwb(
    paths: Sequence[str | Path],
    out: str | Path,
    *,
    exercise: str | None = None,
    side: str | None = None,
    channels: dict[str, str | None] | None = None,
    emg_kind: str | None = None,
    catalog: str | Path | None = None,
    name: str | None = None,
):
    """Import NWB files (see the module docstring) into one contract-2 store at ``out``; returns the
    :class:`~miakit.importers.common.ImportReport`."""
    import hashlib

    _need_pynwb()
    files = [Path(p) for p in paths]
    for p in files:
        if not p.is_file():
            raise InputError(p, "no such NWB file")
    check_outputs(files[0].parent, out, catalog)
    if any(Path(os.path.realpath(out)) == Path(os.path.realpath(p)) for p in files):
        raise InputError("--out", "the output is one of the inputs", found=str(out))
    report = ImportReport(store="")
    reads = []
    digest = hashlib.sha256()
    for path in files:
        reads.append(_read_file(path, exercise=exercise, side=side, channels=channels, emg_kind=emg_kind))
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    muscles = reads[0].muscles
    for path, r in zip(files, reads):
        if r.muscles != muscles:
            raise InputError(path, "muscles differ from the first file's", expected=muscles, found=r.muscles)
    segments: list[Segment] = []
    events, times = [], []
    for path, r in zip(files, reads):
        seen = {s.id for s in segments}
        for seg in r.segments:
            if seg.id in seen:
                raise InputError(path, "a segment id another file has too", field="trials.segment", found=seg.id)
        events += [e._replace(segment=e.segment + len(segments)) for e in r.events]
        segments += r.segments
        times += r.times
        report.rows.append(
            {
                "file": path.name,
                "subject": r.segments[0].subject,
                "segments": len(r.segments),
                "frames": sum(s.length for s in r.segments),
                "valid": int(sum(int(s.valid.sum()) for s in r.segments)),
                "events": len(r.events),
            }
        )
    first = reads[0].attrs
    extra = {k: v for k, v in first.items() if k not in _CONTRACT_ATTRS}
    units = list(dict.fromkeys(r.units for r in reads))
    ds = make_dataset(
        segments,
        muscles=muscles,
        emg_units=units[0] if len(units) == 1 else "mixed: " + ", ".join(units),
        modalities=first.get("modalities") if first else (["emg", "pose"] if any(r.pose for r in reads) else ["emg"]),
        rate_hz=float(first.get("rate_hz", RATE_HZ)),
        events=events,
        where=str(files[0]),
        provenance=provenance(
            pipeline="import-nwb",
            parameters={"exercise": exercise, "side": side, "channels": channels, "emg_kind": emg_kind},
            inputs_sha256=digest.hexdigest(),
            inputs_hashed="file name and SHA-256 of the bytes of every imported file, in order",
            files=[{"file": p.name, **r.info} for p, r in zip(files, reads)],
        ),
        **extra,
    )
    names = reads[0].keypoints
    if names and len(names) == ds.sizes["keypoint"] and names != list(BODY_25):  # as the exported dataset named them
        ds = ds.assign_coords(keypoint=np.array(names, dtype=str))
    if any(t is not None for t in times):  # a file whose frames were not on the exact grid
        rate = float(ds.attrs["rate_hz"])
        exact = [t if t is not None else np.arange(s.length) / rate for t, s in zip(times, segments)]
        ds["time"] = ("frame", np.concatenate(exact), {"units": "s"})
    report.n_segments = len(segments)
    report.n_frames = int(sum(s.length for s in segments))
    report.n_valid = int(sum(s.n_valid for s in segments))
    write_and_register(
        ds, out, report, catalog=catalog, name=name, description=f"imported from {len(paths)} NWB file(s)"
    )
    return report


_CONTRACT_ATTRS = ("schema", "rate_hz", "muscles", "keypoint_layout", "emg_units", "provenance", "modalities")


def _read_file(path: Path, **options) -> _Read:
    from pynwb import NWBHDF5IO

    try:
        io = NWBHDF5IO(str(path), "r")
        nwb = io.read()
    except Exception as exc:  # noqa: BLE001  not HDF5, not NWB, an extension it cannot resolve
        raise InputError(path, f"not a readable NWB file ({exc.__class__.__name__}: {str(exc)[:160]})") from None
    try:
        notes = _notes(nwb)
        info = {
            "identifier": str(nwb.identifier),
            "session_start_time": nwb.session_start_time.isoformat(),
            "session_id": nwb.session_id,
        }
        if notes is not None:
            info["exported"] = {
                "provenance": notes["attrs"].get("provenance"),
                "miakit_version": notes.get("miakit_version"),
            }
            return _read_miakit(nwb, notes, path, info)
        return _read_foreign(nwb, path, info, **options)
    finally:
        io.close()


def _notes(nwb) -> dict | None:
    try:
        notes = json.loads(nwb.notes or "")
    except (ValueError, TypeError):
        return None
    return notes.get(NOTES_KEY) if isinstance(notes, dict) and isinstance(notes.get(NOTES_KEY), dict) else None


def _series_frames(series) -> tuple[np.ndarray | None, float, int]:
    """(timestamps or None where the series has a rate, its start, its sample count)."""
    n = int(series.data.shape[0])
    if series.timestamps is not None:  # pynwb follows a link to another series' timestamps
        ts = np.asarray(series.timestamps[:], dtype=np.float64)
        return ts, float(ts[0]) if n else 0.0, n
    return None, float(series.starting_time or 0.0), n


def _read_miakit(nwb, notes: dict, path: Path, info: dict) -> _Read:

    attrs = notes["attrs"]
    rate = float(attrs["rate_hz"])
    muscles = [str(m) for m in attrs["muscles"]]
    emg_module = nwb.processing["emg"]
    emg = np.stack([np.asarray(emg_module[m].data[:], dtype=np.float32) for m in muscles], axis=1)
    timestamps, _, n = _series_frames(emg_module[muscles[0]])
    clean = None
    if "emg_clean" in nwb.processing:
        clean = np.stack(
            [np.asarray(nwb.processing["emg_clean"][m].data[:], dtype=np.float32) for m in muscles], axis=1
        )
    valid = np.asarray(nwb.processing["misc"]["valid"].data[:]).astype(bool)
    pose = "behavior" in nwb.processing and "PoseEstimation" in nwb.processing["behavior"].data_interfaces
    keypoints = score = None
    names = notes.get("keypoints")
    if pose:
        estimation = nwb.processing["behavior"]["PoseEstimation"]
        names = list(estimation.skeleton.nodes[:])
        keypoints = np.stack(
            [np.asarray(estimation.pose_estimation_series[k].data[:], dtype=np.float32) for k in names], axis=1
        )
        score = np.stack(
            [np.asarray(estimation.pose_estimation_series[k].confidence[:], dtype=np.float32) for k in names], axis=1
        )
    trials = nwb.trials.to_dataframe()
    starts = [
        int(round(t * rate)) if timestamps is None else int(np.searchsorted(timestamps, t - 1e-9))
        for t in trials["start_time"]
    ]
    stops = [*starts[1:], n]
    segments, events, times = [], [], []
    for row, a, b in zip(trials.itertuples(), starts, stops):
        present = None
        if "muscles_present" in trials.columns:
            have = set(str(row.muscles_present).split(",")) - {""}
            present = np.array([m in have for m in muscles])
        segments.append(
            Segment(
                id=str(row.segment),
                session=str(nwb.session_id),
                subject=str(nwb.subject.subject_id),
                exercise=str(row.exercise),
                split=str(row.split),
                source=str(row.source),
                emg=emg[a:b],
                keypoints=None if keypoints is None else keypoints[a:b],
                keypoint_score=None if score is None else score[a:b],
                valid=valid[a:b],
                image_width=int(row.image_width),
                image_height=int(row.image_height),
                flags=tuple(f for f in str(row.flags).split(",") if f),
                emg_clean=None if clean is None else clean[a:b],
                rate_hz=rate,
                view=str(row.view) if "view" in trials.columns else None,
                yaw_deg=float(row.yaw_deg) if "yaw_deg" in trials.columns else None,
                muscle_present=present,
            )
        )
        times.append(None if timestamps is None else timestamps[a:b] - row.start_time)
    if "behavior" in nwb.processing and GAIT_EVENTS in nwb.processing["behavior"].data_interfaces:
        for row in nwb.processing["behavior"][GAIT_EVENTS].to_dataframe().itertuples():
            events.append(
                Event(int(row.trial), float(row.time_in_trial), str(row.kind), str(row.side), str(row.origin))
            )
    return _Read(segments, events, attrs, info, muscles, str(attrs["emg_units"]), pose, times, names)


# -- files of other tools ------------------------------------------------------------------------


def _words(name: str) -> str:
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", str(name)).lower()
    text = re.sub(r"^(right|r)[_ .-]+", "r", text)
    text = re.sub(r"^(left|l)[_ .-]+", "l", text)
    return re.sub(r"[^a-z]", "", text)


_KEYPOINT_WORDS = {_words(k): i for i, k in enumerate(BODY_25)}
_KEYPOINT_WORDS.update({"rightshoulder": 2, "leftshoulder": 5, "pelvis": 8, "midhip": 8})


def body25_index(name: str) -> int | None:
    """The BODY_25 slot of a keypoint named in BODY_25 (``RShoulder``) or COCO / movement words
    (``right_shoulder``, ``left_big_toe``), else None."""
    return _KEYPOINT_WORDS.get(_words(name))


def _is_emg(series) -> bool:
    text = f"{series.name} {getattr(series, 'description', '')}".lower()
    return bool(re.search(r"\bemg\b|electromyo", text)) or type(series).__name__ == "ElectricalSeries" and "emg" in text


def _all_series(nwb):
    from pynwb import TimeSeries

    for obj in nwb.objects.values():
        if isinstance(obj, TimeSeries) and type(obj).__name__ != "PoseEstimationSeries":
            yield obj


def _channels(series) -> dict[str, np.ndarray]:
    data = np.asarray(series.data[:], dtype=np.float64)
    if data.ndim == 1:
        return {str(series.name): data}
    labels = None
    electrodes = getattr(series, "electrodes", None)
    if electrodes is not None:
        table = electrodes.table
        rows = list(electrodes.data[:])
        for column in ("label", "location"):
            if column in table.colnames:
                labels = [str(table[column][r]) for r in rows]
                break
    if labels is None or len(set(labels)) != data.shape[1]:
        labels = [f"{series.name}{i}" for i in range(data.shape[1])]
    return {lab: data[:, i] for i, lab in enumerate(labels)}


def _scale_to_uv(unit: str, conversion: float) -> float:
    u = unit.strip().lower()
    scale = {"v": 1e6, "volt": 1e6, "volts": 1e6, "mv": 1e3, "millivolts": 1e3, "uv": 1.0, "µv": 1.0, "microvolts": 1.0}
    return scale.get(u, 1.0) * float(conversion or 1.0)


def _read_foreign(nwb, path: Path, info: dict, *, exercise, side, channels, emg_kind) -> _Read:

    emg_series = [s for s in _all_series(nwb) if _is_emg(s)]
    if not emg_series:
        raise InputError(
            path, "no EMG in the file", expected="a TimeSeries or ElectricalSeries whose name or description says EMG"
        )
    rates = {
        s.name: (s.rate if s.rate else 1.0 / float(np.median(np.diff(np.asarray(_series_frames(s)[0])))))
        for s in emg_series
    }
    if len({round(r, 6) for r in rates.values()}) != 1:
        raise InputError(path, "EMG series at different rates", found=rates)
    rate = next(iter(rates.values()))
    analogs: dict[str, np.ndarray] = {}
    for s in emg_series:
        analogs.update(_channels(s))
    n_samples = min(len(x) for x in analogs.values())
    analogs = {k: v[:n_samples] for k, v in analogs.items()}
    first = emg_series[0]
    t0 = _series_frames(first)[1]
    unit = str(first.unit)
    trial = LabTrial(
        path=path,
        markers={},
        marker_rate_hz=rate,
        analogs=analogs,
        analog_rate_hz=float(rate),
        analog_units={k: unit for k in analogs},
        emg_scale_to_uv=_scale_to_uv(unit, first.conversion),
    )
    n_frames = int(np.floor(n_samples / rate * RATE_HZ))
    emg, emg_info = emg_envelopes(trial, n_frames, side=side, params=RawEmgParams(), channels=channels, kind=emg_kind)
    grid = t0 + np.arange(n_frames) / RATE_HZ
    keypoints = np.full((n_frames, len(BODY_25), 2), np.nan, dtype=np.float32)
    score = np.zeros((n_frames, len(BODY_25)), dtype=np.float32)
    estimations = [o for o in nwb.objects.values() if type(o).__name__ == "PoseEstimation"]
    used: list[str] = []
    for estimation in estimations[:1]:
        for name, series in estimation.pose_estimation_series.items():
            k = body25_index(name)
            if k is None:
                continue
            used.append(name)
            ts, start, n = _series_frames(series)
            times = ts if ts is not None else start + np.arange(n) / float(series.rate)
            xy = np.asarray(series.data[:], dtype=np.float64)[:, :2]
            conf = np.asarray(series.confidence[:], dtype=np.float64) if series.confidence is not None else np.ones(n)
            inside = (grid >= times[0]) & (grid <= times[-1])
            for d in range(2):
                keypoints[inside, k, d] = np.interp(grid[inside], times, xy[:, d])
            score[inside, k] = np.interp(grid[inside], times, np.nan_to_num(conf, nan=0.0))
    for k, (a, b) in ((1, (2, 5)), (8, (9, 12))):  # Neck, MidHip from the shoulders, the hips
        fill = ~np.isfinite(keypoints[:, k]).all(axis=1) & (score[:, a] > 0) & (score[:, b] > 0)
        keypoints[fill, k] = (keypoints[fill, a] + keypoints[fill, b]) / 2
        score[fill, k] = np.minimum(score[fill, a], score[fill, b])
    missing = ~np.isfinite(keypoints).all(axis=2) | (score <= 0)
    keypoints[missing] = np.nan
    score[missing] = 0.0
    score = np.clip(score, 0.0, 1.0)
    pose = bool(used)
    if estimations and not pose:
        raise InputError(
            path,
            "no keypoint of its PoseEstimation is one miakit knows",
            expected="BODY_25 or COCO names (RShoulder, right_shoulder, ...)",
            found=list(estimations[0].pose_estimation_series)[:6],
        )
    present = np.isfinite(emg).any(axis=0)
    valid = np.isfinite(emg[:, present]).all(axis=1)
    if pose:
        valid &= (score > 0).sum(axis=1) >= MIN_KEYPOINTS
    subject = str(nwb.subject.subject_id) if nwb.subject is not None and nwb.subject.subject_id else path.stem
    session = str(nwb.session_id or path.stem)
    width, height, size_from = 0, 0, "no keypoints"
    if pose:
        video = getattr(estimations[0], "source_video", None)
        dimension = getattr(video, "dimension", None)
        if dimension is not None and len(dimension) >= 2 and min(int(d) for d in dimension[:2]) > 0:
            width, height, size_from = int(dimension[0]), int(dimension[1]), "the source video's dimension"
        else:
            width, height, size_from = IMAGE_WIDTH, IMAGE_HEIGHT, "assumed: the paper's portrait frame"
    intervals = _intervals(nwb, exercise)
    if not intervals:
        intervals = [(t0, t0 + n_frames / RATE_HZ, exercise or "unknown")]
    segments = []
    for i, (a_t, b_t, ex) in enumerate(intervals):
        a, b = (int(np.clip(np.ceil((t - t0) * RATE_HZ - 1e-6), 0, n_frames)) for t in (a_t, b_t))
        if b <= a:
            continue
        segments.append(
            Segment(
                id=f"{session}-{ex}-{i}",
                session=session,
                subject=subject,
                exercise=ex,
                split="",
                source=SOURCE,
                emg=emg[a:b],
                keypoints=keypoints[a:b] if pose else None,
                keypoint_score=score[a:b] if pose else None,
                valid=valid[a:b],
                image_width=width,
                image_height=height,
                muscle_present=present,
            )
        )
    if not segments:
        raise InputError(path, "no trial or epoch holds a frame of the EMG")
    info.update(
        {
            "channels": emg_info["channels"],
            "emg_kind": emg_info["emg_kind"],
            "keypoints": used,
            "image_size": [width, height],
            "image_size_from": size_from,
        }
    )
    units = (
        "microvolts (envelopes as the files hold them, resampled)"
        if "envelope" in emg_info["emg_kind"].values()
        else "microvolts (RMS envelope)"
    )
    return _Read(segments, [], {}, info, list(MUSCLES), units, pose, [None] * len(segments))


def _intervals(nwb, exercise: str | None) -> list[tuple[float, float, str]]:
    for table in (nwb.trials, nwb.epochs):
        if table is None or len(table) == 0:
            continue
        df = table.to_dataframe()
        out = []
        for row in df.itertuples():
            if "exercise" in df.columns:
                ex = str(row.exercise)
            elif "tags" in df.columns and len(row.tags):
                ex = str(row.tags[0])
            else:
                ex = exercise or "unknown"
            out.append((float(row.start_time), float(row.stop_time), ex))
        return out
    return []
