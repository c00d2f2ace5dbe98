"""Contract 2: a built dataset, a Zarr store opened lazily with xarray.

Declared once here (dims, variables, attrs); :func:`validate_dataset` checks a Dataset against it.
Every writer calls it before writing and every reader after opening.

Store convention: Zarr format 2 with consolidated metadata (``.zmetadata``), chunked along
``frame`` only. Format 2 because its string and bool types and its consolidated metadata are
specified and read by every Zarr implementation (and by intake-xarray); format 3 still marks both
as unstable. The writer, the reader and the catalog all use :data:`ZARR_OPTIONS`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from miakit.errors import DatasetError

SCHEMA = "miakit-dataset/1"
ZARR_OPTIONS = {"zarr_format": 2, "consolidated": True}
DEFAULT_CHUNK_FRAMES = 2048

UNKNOWN_EXERCISE = "unknown"
"""``segment_exercise`` of a segment whose exercise nobody stated: a session recorded without
``exercise`` in session.yaml and without ``start:``/``stop:`` markers becomes one segment of this
exercise. Splits by exercise and the benchmarks leave such segments out, or group them, and say so."""

DIMS = ("frame", "muscle", "keypoint", "space", "segment")
COORDS = {"muscle": "U", "keypoint": "U", "space": "U", "segment": "U"}


@dataclass(frozen=True)
class Var:
    dims: tuple[str, ...]
    kind: str  # numpy dtype kind(s): f float, i signed int, b bool, U/O string
    doc: str
    required: bool = True


VARIABLES: dict[str, Var] = {
    "emg": Var(("frame", "muscle"), "f", "muscle activation on the 10 Hz grid, in attrs['emg_units']"),
    "keypoints": Var(("frame", "keypoint", "space"), "f", "BODY_25 keypoints in source-image pixels"),
    "keypoint_score": Var(("frame", "keypoint"), "f", "keypoint confidence in [0, 1]; 0 where missing"),
    "time": Var(("frame",), "f", "seconds from the start of the frame's segment"),
    "valid": Var(("frame",), "b", "both modalities present and every check passed"),
    "segment_session": Var(("segment",), "UO", "the session (or release clip group) it came from"),
    "segment_subject": Var(("segment",), "UO", "subject id"),
    "segment_exercise": Var(("segment",), "UO", f"exercise id, or {UNKNOWN_EXERCISE!r} where the session named none"),
    "segment_split": Var(("segment",), "UO", "a split the source defines (train, val), else ''"),
    "segment_start": Var(("segment",), "i", "index of the segment's first frame"),
    "segment_length": Var(("segment",), "i", "number of frames in the segment"),
    "segment_image_width": Var(("segment",), "i", "width of the source image, pixels"),
    "segment_image_height": Var(("segment",), "i", "height of the source image, pixels"),
    "segment_source": Var(("segment",), "UO", "what produced it: synthetic, recording, mia-release, uci-emg"),
    "segment_flags": Var(("segment",), "UO", "comma-separated flags, such as 'truncated', or ''"),
    "emg_clean": Var(
        ("frame", "muscle"), "f", "noise-free activation where known (synthetic data)", required=False
    ),
}

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
PROVENANCE_KEYS = ("pipeline", "pipeline_sha256", "inputs_sha256", "miakit_version", "built_at")


def validate_dataset(ds, *, where: str = "<dataset>", deep: bool = False):
    """Check ``ds`` against contract 2 and return it.

    Cheap structural checks always run (dims, coordinates, variables, dtypes, attrs, the segment
    table). With ``deep=True`` the values are checked too (scores in [0, 1], times rising within
    each segment), which reads the data.
    """
    missing_dims = [d for d in DIMS if d not in ds.dims]
    if missing_dims:
        raise DatasetError(where, "missing dimension", expected=f"dims {list(DIMS)}", found=sorted(ds.dims))
    for name, kinds in COORDS.items():
        if name not in ds.coords:
            raise DatasetError(where, "missing coordinate", field=name, expected=f"a {name} coordinate", found=list(ds.coords))
        if ds[name].dtype.kind not in kinds + "O":
            raise DatasetError(where, "wrong dtype", field=name, expected="strings", found=str(ds[name].dtype))
    if list(ds["space"].values) != ["x", "y"]:
        raise DatasetError(where, "wrong space coordinate", field="space", expected="['x', 'y']", found=list(ds["space"].values))
    for name, var in VARIABLES.items():
        if name not in ds.data_vars:
            if var.required:
                raise DatasetError(where, "missing variable", field=name, expected=f"{name}{var.dims}: {var.doc}", found="nothing")
            continue
        da = ds[name]
        if da.dims != var.dims:
            raise DatasetError(where, "wrong dims", field=name, expected=str(var.dims), found=str(da.dims))
        if da.dtype.kind not in var.kind:
            raise DatasetError(where, "wrong dtype", field=name, expected=f"kind {var.kind!r}", found=str(da.dtype))
    for key in ATTRS:
        if key not in ds.attrs:
            raise DatasetError(where, "missing attribute", field=f"attrs.{key}", expected=ATTRS[key], found="nothing")
    if ds.attrs["schema"] != SCHEMA:
        raise DatasetError(where, "unsupported schema", field="attrs.schema", expected=SCHEMA, found=ds.attrs["schema"])
    if float(ds.attrs["rate_hz"]) <= 0:
        raise DatasetError(where, "bad rate", field="attrs.rate_hz", expected="a positive rate", found=ds.attrs["rate_hz"])
    if list(ds.attrs["muscles"]) != [str(m) for m in ds["muscle"].values]:
        raise DatasetError(
            where, "muscle layout disagrees with the muscle coordinate", field="attrs.muscles",
            expected=[str(m) for m in ds["muscle"].values], found=ds.attrs["muscles"],
        )  # fmt: skip
    modalities = ds.attrs.get("modalities", ["emg", "pose"])
    if not set(modalities) <= {"emg", "pose"} or "emg" not in modalities:
        raise DatasetError(where, "unknown modalities", field="attrs.modalities", expected="['emg', 'pose'] or ['emg']", found=modalities)
    prov = ds.attrs["provenance"]
    if not isinstance(prov, dict) or any(k not in prov for k in PROVENANCE_KEYS):
        raise DatasetError(where, "incomplete provenance", field="attrs.provenance", expected=list(PROVENANCE_KEYS), found=prov)
    _check_segments(ds, where)
    if deep:
        _check_values(ds, where)
    return ds


def _check_segments(ds, where: str) -> None:
    start = np.asarray(ds["segment_start"].values, dtype=np.int64)
    length = np.asarray(ds["segment_length"].values, dtype=np.int64)
    n_frames = ds.sizes["frame"]
    ids = [str(v) for v in ds["segment"].values]
    if len(set(ids)) != len(ids):
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        raise DatasetError(where, "segment ids are not unique (two sessions with the same session_id?)", field="segment", found=repeated[:5])
    if np.any(length < 0):
        raise DatasetError(where, "negative segment length", field="segment_length", found=length.tolist())
    expected_start = np.concatenate([[0], np.cumsum(length)[:-1]]) if len(length) else length
    if not np.array_equal(start, expected_start):
        raise DatasetError(
            where, "segments must tile the frames in order", field="segment_start",
            expected=expected_start.tolist()[:8], found=start.tolist()[:8],
        )  # fmt: skip
    if int(length.sum()) != n_frames:
        raise DatasetError(where, "segment lengths do not add up to the frames", field="segment_length", expected=n_frames, found=int(length.sum()))


def _check_values(ds, where: str) -> None:
    score = np.asarray(ds["keypoint_score"].values)
    if np.any((score < 0) | (score > 1)) or np.any(np.isnan(score)):
        raise DatasetError(where, "scores outside [0, 1]", field="keypoint_score", found=(float(np.nanmin(score)), float(np.nanmax(score))))
    time = np.asarray(ds["time"].values)
    for seg, s, n in zip(ds["segment"].values, ds["segment_start"].values, ds["segment_length"].values):
        t = time[s : s + n]
        if n and (np.any(np.diff(t) <= 0) or abs(t[0]) > 1e-6):
            raise DatasetError(where, "time must start at 0 and rise within a segment", field=f"time[{seg}]", found=t[:3].tolist())


def segment_of_frame(ds) -> np.ndarray:
    """For every frame, the index of its segment."""
    length = np.asarray(ds["segment_length"].values, dtype=np.int64)
    return np.repeat(np.arange(len(length)), length)
