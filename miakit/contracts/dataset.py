"""Contract 2: a built dataset, a Zarr store opened lazily with xarray.

Declared once here (dims, variables, attrs); :func:`validate_dataset` checks a Dataset against it.
Every writer calls it before writing and every reader after opening.

Store convention: Zarr format 2 with consolidated metadata (``.zmetadata``), chunked along
``frame`` only, strings as variable-length UTF-8 (dtype ``|O`` with the ``vlen-utf8`` filter, the string encoding
Zarr implementations share, not numpy's fixed-width UTF-32 ``<U``; tensorstore 0.1.86 reads neither,
google/tensorstore#103, but reads every numeric array), ``attrs["provenance"]`` as JSON
text (a nested mapping cannot go to netCDF; read it with :func:`provenance_of`), every root attribute
a string, a number or a list of strings (the store mark too: JSON text), so ``xr.open_zarr(store).to_netcdf()``
works without miakit, and the frame coordinates (:data:`FRAME_COORDS`) stored beside the segment
table, so plain xarray can ``groupby("exercise")``. Format 2 because
its consolidated metadata is specified and read by every Zarr implementation (and by
intake-xarray); in format 3 consolidated metadata and the ``string`` data type are still zarr-python
extensions outside the specification. Stores of older miakit (fixed-width strings, provenance a
mapping, the mark a mapping, no stored frame coordinates) still open. The writer, the reader and
the catalog all use :data:`ZARR_OPTIONS`. Every chunk is written (also one holding only fill
values), so a missing chunk file is damage: the reader (:func:`miakit.store.open_store`) refuses it
instead of reading fill values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

import numpy as np

from miakit.errors import DatasetError

SCHEMA = "miakit-dataset/1"


class ZarrOptions(TypedDict):
    """The keyword arguments every ``to_zarr`` and ``open_zarr`` of a dataset store takes."""

    zarr_format: int
    consolidated: bool


ZARR_OPTIONS: ZarrOptions = {"zarr_format": 2, "consolidated": True}
DEFAULT_CHUNK_FRAMES = 2048

UNKNOWN_EXERCISE = "unknown"
"""``segment_exercise`` of a segment whose exercise nobody stated: a session recorded without
``exercise`` in session.yaml and without ``start:``/``stop:`` markers becomes one segment of this
exercise. Splits by exercise and the benchmarks leave such segments out, or group them, and say so."""

DIMS = ("frame", "muscle", "keypoint", "space", "segment")
COORDS = {
    "muscle": "UT",
    "keypoint": "UT",
    "space": "UT",
    "segment": "UT",
}  # T: numpy StringDType (vlen-utf8 read back)


@dataclass(frozen=True)
class Var:
    dims: tuple[str, ...]
    kind: str  # numpy dtype kind(s): f float, i signed int, b bool, U/O/T string
    doc: str
    required: bool = True
    dtype: str | None = None  # the exact dtype, where the contract fixes it


VARIABLES: dict[str, Var] = {
    "emg": Var(("frame", "muscle"), "f", "muscle activation on the 10 Hz grid, in attrs['emg_units']", dtype="float32"),
    "keypoints": Var(("frame", "keypoint", "space"), "f", "BODY_25 keypoints in source-image pixels", dtype="float32"),
    "keypoint_score": Var(
        ("frame", "keypoint"), "f", "keypoint confidence in [0, 1]; 0 where missing", dtype="float32"
    ),
    "time": Var(("frame",), "f", "seconds from the start of the frame's segment"),
    "valid": Var(
        ("frame",),
        "b",
        "both modalities present and every check passed (pose alone in a segment whose muscle_present is all false)",
    ),
    "segment_session": Var(("segment",), "UOT", "the session (or release clip group) it came from"),
    "segment_subject": Var(("segment",), "UOT", "subject id"),
    "segment_exercise": Var(("segment",), "UOT", f"exercise id, or {UNKNOWN_EXERCISE!r} where the session named none"),
    "segment_split": Var(("segment",), "UOT", "a split the source defines (train, val), else ''"),
    "segment_start": Var(("segment",), "i", "index of the segment's first frame"),
    "segment_length": Var(("segment",), "i", "number of frames in the segment"),
    "segment_image_width": Var(("segment",), "i", "width of the source image, pixels"),
    "segment_image_height": Var(("segment",), "i", "height of the source image, pixels"),
    "segment_source": Var(("segment",), "UOT", "what produced it: synthetic, recording, mia-release, uci-emg"),
    "segment_flags": Var(("segment",), "UOT", "comma-separated flags, such as 'truncated', or ''"),
    "emg_clean": Var(
        ("frame", "muscle"), "f", "noise-free activation where known (synthetic data)", required=False, dtype="float32"
    ),
    # Optional, written by the lab importers (miakit import c3d / trc): one trial seen by several
    # virtual cameras, muscles a recording lacks, and gait events (an ``event`` dim of its own).
    "segment_view": Var(("segment",), "UOT", "the camera view: front, side, yawNN (virtual cameras)", required=False),
    "segment_yaw_deg": Var(
        ("segment",),
        "f",
        "the camera's yaw from the subject's front, degrees, positive toward the subject's right",
        required=False,
    ),
    "muscle_present": Var(
        ("segment", "muscle"), "b", "false where the recording has no such muscle (its emg is NaN)", required=False
    ),
    "event_segment": Var(("event",), "i", "index of the event's segment", required=False),
    "event_time": Var(("event",), "f", "seconds from the start of the event's segment", required=False),
    "event_kind": Var(("event",), "UOT", "foot_strike or foot_off", required=False),
    "event_side": Var(("event",), "UOT", "left, right or ''", required=False),
    "event_origin": Var(("event",), "UOT", "file (the recording's own) or zeni (detected)", required=False),
}
EVENT_VARS = ("event_segment", "event_time", "event_kind", "event_side", "event_origin")

ATTRS = {
    "schema": "the schema version, " + SCHEMA,
    "rate_hz": "the grid's rate, 10",
    "muscles": "the muscle layout (same as the muscle coordinate)",
    "keypoint_layout": "'BODY_25'",
    "emg_units": "units of emg",
    "provenance": "pipeline name and hash, input hashes, miakit version, build time",
}
OPTIONAL_ATTRS = {
    "modalities": "what the frames carry: ['emg', 'pose'] (default), or ['emg'] for an EMG-only dataset "
    "(keypoints all missing; valid then concerns the EMG alone)",
    "complete": "false while a build writes the store (readers refuse it), true after",
}
FRAME_COORDS = {
    "time": "seconds from the start of the frame's segment (a data variable on disk)",
    "frame_segment": "the id of the frame's segment (the segment dim keeps its own coordinate, segment)",
    "session": "segment_session of the frame's segment",
    "subject": "segment_subject of the frame's segment",
    "exercise": "segment_exercise of the frame's segment",
    "split": "segment_split of the frame's segment",
}
"""Non-index coordinates along ``frame``: ``ds.groupby("exercise")``, ``ds.where(ds.subject == "S01",
drop=True)``. Stored (strings as variable-length UTF-8), so any Zarr reader has them, plain xarray
included; :func:`miakit.store.open_store` derives them again from the segment table (the one truth)
and ``deep=True`` checks that the stored ones agree. ``time`` restarts at 0 in every segment: select
one segment first (:func:`segment_frames`, or in plain xarray
``ds.isel(frame=(ds.frame_segment == ID).values).set_xindex("time")``), then ``.sel(time=...)``."""
FRAME_LABELS = ("session", "subject", "exercise", "split")
"""The frame coordinates repeated from the segment table's ``segment_<name>`` columns."""
PROVENANCE_KEYS = ("pipeline", "pipeline_sha256", "inputs_sha256", "miakit_version", "built_at")


def validate_dataset(ds, *, where: str = "<dataset>", deep: bool = False):
    """Check ``ds`` against contract 2 and return it.

    Cheap checks always run, from the metadata alone (no frame is read): dims, coordinates,
    variables, exact dtypes (also the dtype stored on disk), attr types and values (``rate_hz`` a
    finite positive number, ``complete`` a boolean, ``muscles`` a list of names, ...), and the segment
    table. With ``deep=True`` the values are read and checked too: scores in [0, 1], times finite,
    starting at 0 and rising within each segment, no infinite EMG or keypoint, and every valid frame
    with finite EMG (and, with pose, a finite keypoint). :func:`miakit.store.open_store` adds the
    check that no chunk file is missing.
    """
    missing_dims = [d for d in DIMS if d not in ds.dims]
    if missing_dims:
        raise DatasetError(where, "missing dimension", expected=f"dims {list(DIMS)}", found=sorted(ds.dims))
    for name, kinds in COORDS.items():
        if name not in ds.coords:
            raise DatasetError(
                where, "missing coordinate", field=name, expected=f"a {name} coordinate", found=list(ds.coords)
            )
        if ds[name].dtype.kind not in kinds + "O":
            raise DatasetError(where, "wrong dtype", field=name, expected="strings", found=str(ds[name].dtype))
    if list(ds["space"].values) != ["x", "y"]:
        raise DatasetError(
            where, "wrong space coordinate", field="space", expected="['x', 'y']", found=list(ds["space"].values)
        )
    for name, var in VARIABLES.items():
        if name not in ds.data_vars and not (name in FRAME_COORDS and name in ds.coords):
            if var.required:
                raise DatasetError(
                    where, "missing variable", field=name, expected=f"{name}{var.dims}: {var.doc}", found="nothing"
                )
            continue
        da = ds[name]
        if da.dims != var.dims:
            raise DatasetError(where, "wrong dims", field=name, expected=str(var.dims), found=str(da.dims))
        if da.dtype.kind not in var.kind:
            raise DatasetError(where, "wrong dtype", field=name, expected=f"kind {var.kind!r}", found=str(da.dtype))
        stored = da.encoding.get("dtype")
        for dtype in (da.dtype, stored):
            if var.dtype and dtype is not None and np.dtype(dtype) != np.dtype(var.dtype):
                raise DatasetError(where, "wrong dtype", field=name, expected=var.dtype, found=str(np.dtype(dtype)))
    for name in FRAME_COORDS:
        if name != "time" and name in ds.variables:
            if ds[name].dims != ("frame",) or ds[name].dtype.kind not in "UOT":
                raise DatasetError(
                    where, "wrong frame label", field=name, expected="strings along frame", found=str(ds[name].dims)
                )
    _check_attrs(ds, where)
    _check_segments(ds, where)
    _check_events(ds, where)
    if deep:
        _check_values(ds, where)
        _check_frame_labels(ds, where)
    return ds


def _is_number(value) -> bool:
    import numbers

    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _check_attrs(ds, where: str) -> None:
    attrs = ds.attrs
    for key in ATTRS:
        if key not in attrs:
            raise DatasetError(where, "missing attribute", field=f"attrs.{key}", expected=ATTRS[key], found="nothing")
    if attrs["schema"] != SCHEMA:
        raise DatasetError(where, "unsupported schema", field="attrs.schema", expected=SCHEMA, found=attrs["schema"])
    rate = attrs["rate_hz"]
    if not _is_number(rate) or not np.isfinite(rate) or rate <= 0:
        raise DatasetError(
            where, "bad rate", field="attrs.rate_hz", expected="a finite positive number (10)", found=rate
        )
    if "complete" in attrs and not isinstance(attrs["complete"], (bool, np.bool_)):
        raise DatasetError(where, "bad flag", field="attrs.complete", expected="true or false", found=attrs["complete"])
    for key in ("keypoint_layout", "emg_units"):
        if not isinstance(attrs[key], str):
            raise DatasetError(where, "bad attribute", field=f"attrs.{key}", expected="a string", found=attrs[key])
    muscles = attrs["muscles"]
    coord = [str(m) for m in ds["muscle"].values]
    if not isinstance(muscles, (list, tuple)) or not all(isinstance(m, str) for m in muscles) or list(muscles) != coord:
        raise DatasetError(
            where,
            "muscle layout disagrees with the muscle coordinate",
            field="attrs.muscles",
            expected=coord,
            found=muscles,
        )
    modalities = attrs.get("modalities", ["emg", "pose"])
    if (
        not isinstance(modalities, (list, tuple))
        or not all(isinstance(m, str) for m in modalities)
        or not set(modalities) <= {"emg", "pose"}
        or "emg" not in modalities
    ):
        raise DatasetError(
            where,
            "unknown modalities",
            field="attrs.modalities",
            expected="['emg', 'pose'] or ['emg']",
            found=modalities,
        )
    prov = provenance_of(attrs, where=where)
    if any(k not in prov for k in PROVENANCE_KEYS):
        raise DatasetError(
            where, "incomplete provenance", field="attrs.provenance", expected=list(PROVENANCE_KEYS), found=prov
        )


def provenance_of(ds_or_attrs, *, where: str = "<dataset>") -> dict:
    """``attrs["provenance"]`` as a mapping: stored as JSON text (so ``ds.to_netcdf()`` works),
    a mapping in memory and in stores of older miakit; both are read here."""
    import json

    attrs = getattr(ds_or_attrs, "attrs", ds_or_attrs)
    prov = attrs.get("provenance")
    if isinstance(prov, str):
        try:
            prov = json.loads(prov)
        except ValueError:
            raise DatasetError(
                where,
                "provenance is not JSON",
                field="attrs.provenance",
                expected="JSON text of a mapping",
                found=prov[:80],
            ) from None
    if not isinstance(prov, dict):
        raise DatasetError(
            where, "incomplete provenance", field="attrs.provenance", expected=list(PROVENANCE_KEYS), found=prov
        )
    return prov


def _check_segments(ds, where: str) -> None:
    start = np.asarray(ds["segment_start"].values, dtype=np.int64)
    length = np.asarray(ds["segment_length"].values, dtype=np.int64)
    n_frames = ds.sizes["frame"]
    ids = [str(v) for v in ds["segment"].values]
    if len(set(ids)) != len(ids):
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        raise DatasetError(
            where,
            "segment ids are not unique (two sessions with the same session_id?)",
            field="segment",
            found=repeated[:5],
        )
    if np.any(length < 0):
        raise DatasetError(where, "negative segment length", field="segment_length", found=length.tolist())
    expected_start = np.concatenate([[0], np.cumsum(length)[:-1]]) if len(length) else length
    if not np.array_equal(start, expected_start):
        raise DatasetError(
            where,
            "segments must tile the frames in order",
            field="segment_start",
            expected=expected_start.tolist()[:8],
            found=start.tolist()[:8],
        )
    if int(length.sum()) != n_frames:
        raise DatasetError(
            where,
            "segment lengths do not add up to the frames",
            field="segment_length",
            expected=n_frames,
            found=int(length.sum()),
        )


def _check_events(ds, where: str) -> None:
    have = [v for v in EVENT_VARS if v in ds.data_vars]
    if not have:
        return
    if len(have) != len(EVENT_VARS):
        raise DatasetError(where, "incomplete event table", field="event_*", expected=list(EVENT_VARS), found=have)
    seg = np.asarray(ds["event_segment"].values, dtype=np.int64)
    if seg.size and (seg.min() < 0 or seg.max() >= ds.sizes["segment"]):
        raise DatasetError(
            where,
            "event of no segment",
            field="event_segment",
            expected=f"0..{ds.sizes['segment'] - 1}",
            found=(int(seg.min()), int(seg.max())),
        )


def _check_frame_labels(ds, where: str) -> None:
    """The per-frame labels a store holds agree with its segment table (reads them)."""
    seg = segment_of_frame(ds)
    for name, table in (("frame_segment", "segment"), *((n, f"segment_{n}") for n in FRAME_LABELS)):
        if name not in ds.variables:
            continue
        want = np.asarray([str(v) for v in np.asarray(ds[table].values).tolist()], dtype=object)[seg]
        have = np.asarray([str(v) for v in np.asarray(ds[name].values).tolist()], dtype=object)
        wrong = np.flatnonzero(have != want)
        if wrong.size:
            raise DatasetError(
                where,
                "frame labels disagree with the segment table",
                field=name,
                expected=f"{table}[segment of frame {int(wrong[0])}] = {want[wrong[0]]!r}",
                found=f"{have[wrong[0]]!r} ({wrong.size} frames)",
            )


def _check_values(ds, where: str) -> None:
    score = np.asarray(ds["keypoint_score"].values)
    if np.any((score < 0) | (score > 1)) or np.any(np.isnan(score)):
        raise DatasetError(
            where,
            "scores outside [0, 1]",
            field="keypoint_score",
            found=(float(np.nanmin(score)), float(np.nanmax(score))),
        )
    time = np.asarray(ds["time"].values)
    if not np.all(np.isfinite(time)):
        raise DatasetError(
            where,
            "times must be finite",
            field="time",
            found=f"{int((~np.isfinite(time)).sum())} frames NaN or infinite",
        )
    for seg, s, n in zip(ds["segment"].values, ds["segment_start"].values, ds["segment_length"].values):
        t = time[s : s + n]
        if n and (np.any(np.diff(t) <= 0) or abs(t[0]) > 1e-6):
            raise DatasetError(
                where, "time must start at 0 and rise within a segment", field=f"time[{seg}]", found=t[:3].tolist()
            )
    valid = np.asarray(ds["valid"].values, dtype=bool)
    emg = np.asarray(ds["emg"].values)
    if np.any(np.isinf(emg)):
        raise DatasetError(where, "infinite EMG", field="emg", found=f"{int(np.isinf(emg).any(axis=1).sum())} frames")
    no_emg = valid & ~np.isfinite(emg).any(axis=1)
    if "muscle_present" in ds.data_vars and no_emg.any():  # a segment with no muscle (motion capture
        # without EMG, imported as keypoints only): its valid frames are judged on the keypoints
        no_muscle = ~np.asarray(ds["muscle_present"].values, dtype=bool).any(axis=1)
        no_emg &= ~np.asarray(no_muscle)[segment_of_frame(ds)]
    if no_emg.any():
        raise DatasetError(
            where,
            "valid frames without EMG",
            field="emg",
            expected="finite EMG in every valid frame",
            found=f"{int(no_emg.sum())} frames, first {int(np.flatnonzero(no_emg)[0])}",
        )
    keypoints = np.asarray(ds["keypoints"].values)
    if np.any(np.isinf(keypoints)):
        raise DatasetError(
            where,
            "infinite keypoints",
            field="keypoints",
            found=f"{int(np.isinf(keypoints).any(axis=(1, 2)).sum())} frames",
        )
    if "pose" in ds.attrs.get("modalities", ["emg", "pose"]):
        seen = (np.isfinite(keypoints).all(axis=2) & (score > 0)).any(axis=1)
        no_pose = valid & ~seen
        if no_pose.any():
            raise DatasetError(
                where,
                "valid frames without keypoints",
                field="keypoints",
                expected="a finite, scored keypoint in every valid frame",
                found=f"{int(no_pose.sum())} frames, first {int(np.flatnonzero(no_pose)[0])}",
            )


# -- reading: segments, frame coordinates, keypoints as the models take them ----------------------


def segment_of_frame(ds) -> np.ndarray:
    """For every frame, the index of its segment."""
    length = np.asarray(ds["segment_length"].values, dtype=np.int64)
    return np.repeat(np.arange(len(length)), length)


@dataclass(frozen=True)
class SegmentFrames:
    """Where one segment lies in a dataset's frames, with its table row."""

    index: int
    id: str
    frames: slice
    subject: str
    exercise: str
    image_width: int
    image_height: int

    @property
    def length(self) -> int:
        return self.frames.stop - self.frames.start


def find_segment(ds, segment: str | int, *, where: str = "<dataset>") -> SegmentFrames:
    """A segment by id, or by position (an int, or a string of digits that is not an id);
    DatasetError naming the known ids otherwise."""
    ids = [str(s) for s in ds["segment"].values]
    if isinstance(segment, str) and segment not in ids and segment.isdigit():
        segment = int(segment)
    if isinstance(segment, (int, np.integer)) and not isinstance(segment, bool):
        if not 0 <= int(segment) < len(ids):
            raise DatasetError(
                where, "no such segment", field="segment", expected=f"0 to {len(ids) - 1}", found=int(segment)
            )
        index = int(segment)
    elif str(segment) in ids:
        index = ids.index(str(segment))
    else:
        shown = ids[:5] + (["..."] if len(ids) > 5 else [])
        raise DatasetError(where, "no such segment", field="segment", expected=f"one of {shown}", found=str(segment))
    start = int(ds["segment_start"].values[index])
    length = int(ds["segment_length"].values[index])
    return SegmentFrames(
        index=index,
        id=ids[index],
        frames=slice(start, start + length),
        subject=str(ds["segment_subject"].values[index]),
        exercise=str(ds["segment_exercise"].values[index]),
        image_width=int(ds["segment_image_width"].values[index]),
        image_height=int(ds["segment_image_height"].values[index]),
    )


def segment_frames(ds, segment: str | int):
    """The frames of one segment (by id or index, :func:`find_segment`), with ``time`` as its index:
    within a segment time is unique and rising, so ``segment_frames(ds, "S01-squat").sel(time=slice(2, 4))``
    selects seconds 2 to 4 of that segment."""
    part = ds.isel(frame=find_segment(ds, segment).frames)
    if "time" not in part.coords:
        part = part.set_coords("time")
    part = part.assign_coords(time=("frame", np.asarray(part["time"].values), part["time"].attrs))
    return part.set_xindex("time")


def with_frame_coords(ds):
    """``ds`` with :data:`FRAME_COORDS` along ``frame``: ``time`` as a coordinate, and each frame's
    segment id, session, subject, exercise and split, repeated from the segment table over the
    segment lengths (in memory, 8 bytes per frame and coordinate: object arrays that share the
    segment table's strings; no frame read). Then ``ds.groupby("exercise")`` and
    ``ds.where(ds.subject == "S01", drop=True)`` work."""
    length = np.asarray(ds["segment_length"].values, dtype=np.int64)

    def per_frame(values) -> np.ndarray:  # object: one reference per frame to the segment's str (8 bytes)
        return np.repeat(np.array([str(v) for v in np.asarray(values).tolist()], dtype=object), length)

    coords = {"frame_segment": ("frame", per_frame(ds["segment"].values))}
    for name in FRAME_LABELS:
        coords[name] = ("frame", per_frame(ds[f"segment_{name}"].values))
    return ds.assign_coords(coords).set_coords("time")


def without_frame_coords(ds):
    """``ds`` as it is stored: the derived frame coordinates dropped, ``time`` a data variable."""
    ds = ds.drop_vars([n for n in FRAME_COORDS if n != "time" and n in ds.coords])
    return ds.reset_coords("time") if "time" in ds.coords else ds


def frame_image_size(ds) -> tuple[np.ndarray, np.ndarray]:
    """Each frame's source image (width, height) in pixels, float32 (frame,), from the segment table;
    DatasetError where a size is not positive."""
    seg = segment_of_frame(ds)
    width = np.asarray(ds["segment_image_width"].values, dtype=np.float32)[seg]
    height = np.asarray(ds["segment_image_height"].values, dtype=np.float32)[seg]
    _check_image_size(width, height)
    return width, height


def normalized_keypoints(keypoints: np.ndarray, width, height) -> np.ndarray:
    """Keypoints (frame, keypoint, 2) in pixels as fractions of their image: x / width, y / height,
    float32, NaN where missing. ``width``, ``height``: one image's size, or per frame
    (:func:`frame_image_size`). The models' inputs (the paper's: these, missing points 0)."""
    width, height = np.asarray(width, dtype=np.float32), np.asarray(height, dtype=np.float32)
    _check_image_size(width, height)
    return np.asarray(keypoints, dtype=np.float32) / np.stack([width, height], axis=-1)[..., None, :]


def _check_image_size(width: np.ndarray, height: np.ndarray) -> None:
    bad = (width <= 0) | (height <= 0)
    if np.any(bad):
        first = np.flatnonzero(np.atleast_1d(bad))[0]
        found = (float(np.atleast_1d(width)[first]), float(np.atleast_1d(height)[first]))
        raise DatasetError("<dataset>", "image size must be positive", field="segment_image_width/height", found=found)
