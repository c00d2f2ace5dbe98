"""Segments: continuous pieces on the 10 Hz grid, and their concatenation into a contract-2 Dataset.

Every producer of datasets (the pipeline, the importers) hands :func:`assemble` a list of
:class:`Segment`; the result is validated by the writer (:func:`miakit.store.write_dataset`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from miakit.layout import BODY_25, RATE_HZ


@dataclass
class Segment:
    """One continuous piece on the 10 Hz grid, ready to be concatenated into a dataset."""

    id: str
    session: str
    subject: str
    exercise: str
    split: str
    source: str
    emg: np.ndarray  # (n, muscle) float
    keypoints: np.ndarray | None = None  # (n, 25, 2) pixels; None: all NaN
    keypoint_score: np.ndarray | None = None  # (n, 25) in [0, 1]; None: all 0
    valid: np.ndarray | None = None  # (n,) bool; None: EMG finite in every muscle
    image_width: int = 0
    image_height: int = 0
    flags: tuple[str, ...] = ()
    emg_clean: np.ndarray | None = None  # (n, muscle) noise-free activation where known (synthetic)
    rate_hz: float = RATE_HZ

    @property
    def length(self) -> int:
        return int(self.emg.shape[0])



def assemble(segments: list[Segment], *, muscles: list[str], attrs: dict):
    """Concatenate ``segments`` into one contract-2 :class:`xarray.Dataset` (not yet validated)."""
    import xarray as xr

    n_kp = len(BODY_25)
    lengths = np.array([s.length for s in segments], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64) if len(segments) else lengths

    def cat(parts: list[np.ndarray], tail: tuple[int, ...], dtype) -> np.ndarray:
        return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros((0, *tail), dtype=dtype)

    emg = cat([s.emg for s in segments], (len(muscles),), np.float32)
    keypoints = cat(
        [s.keypoints if s.keypoints is not None else np.full((s.length, n_kp, 2), np.nan) for s in segments],
        (n_kp, 2), np.float32,
    )  # fmt: skip
    score = cat(
        [s.keypoint_score if s.keypoint_score is not None else np.zeros((s.length, n_kp)) for s in segments],
        (n_kp,), np.float32,
    )  # fmt: skip
    valid = cat(
        [s.valid if s.valid is not None else np.isfinite(s.emg).all(axis=1) for s in segments], (), bool
    )
    time = cat([np.arange(s.length) / s.rate_hz for s in segments], (), np.float64)

    def text(values) -> np.ndarray:
        return np.array(list(values), dtype=str) if len(segments) else np.array([], dtype="<U1")

    seg = ("segment",)
    ds = xr.Dataset(
        {
            "emg": (("frame", "muscle"), emg),
            "keypoints": (("frame", "keypoint", "space"), keypoints),
            "keypoint_score": (("frame", "keypoint"), score),
            "time": (("frame",), time),
            "valid": (("frame",), valid),
            "segment_session": (seg, text(s.session for s in segments)),
            "segment_subject": (seg, text(s.subject for s in segments)),
            "segment_exercise": (seg, text(s.exercise for s in segments)),
            "segment_split": (seg, text(s.split for s in segments)),
            "segment_start": (seg, starts),
            "segment_length": (seg, lengths),
            "segment_image_width": (seg, np.array([s.image_width for s in segments], dtype=np.int64)),
            "segment_image_height": (seg, np.array([s.image_height for s in segments], dtype=np.int64)),
            "segment_source": (seg, text(s.source for s in segments)),
            "segment_flags": (seg, text(",".join(s.flags) for s in segments)),
        },
        coords={
            "muscle": np.array(muscles, dtype=str),
            "keypoint": np.array(BODY_25, dtype=str),
            "space": np.array(["x", "y"], dtype=str),
            "segment": text(s.id for s in segments),
        },
        attrs=attrs,
    )
    if any(s.emg_clean is not None for s in segments):
        clean = cat([s.emg_clean if s.emg_clean is not None else np.full_like(s.emg, np.nan) for s in segments], (len(muscles),), np.float32)
        ds["emg_clean"] = (("frame", "muscle"), clean, {"units": attrs.get("emg_units", "")})
    ds["emg"].attrs["units"] = attrs.get("emg_units", "")
    ds["time"].attrs["units"] = "s"
    ds["keypoints"].attrs["units"] = "pixels"
    return ds


def with_frame_coords(ds):
    """``ds`` with :data:`miakit.contracts.dataset.FRAME_COORDS` along ``frame``: ``time`` as a
    coordinate, and each frame's segment id, session, subject, exercise and split, repeated from the
    segment table over the segment lengths (in memory, 8 bytes per frame and coordinate: object
    arrays that share the segment table's strings; no frame read). Then
    ``ds.groupby("exercise")`` and ``ds.where(ds.subject == "S01", drop=True)`` work."""
    length = np.asarray(ds["segment_length"].values, dtype=np.int64)

    def per_frame(values) -> np.ndarray:  # object: one reference per frame to the segment's str (8 bytes)
        return np.repeat(np.array([str(v) for v in np.asarray(values).tolist()], dtype=object), length)

    coords = {"frame_segment": ("frame", per_frame(ds["segment"].values))}
    for name in ("session", "subject", "exercise", "split"):
        coords[name] = ("frame", per_frame(ds[f"segment_{name}"].values))
    return ds.assign_coords(coords).set_coords("time")


def without_frame_coords(ds):
    """``ds`` as it is stored: the derived frame coordinates dropped, ``time`` a data variable."""
    from miakit.contracts.dataset import FRAME_COORDS

    ds = ds.drop_vars([n for n in FRAME_COORDS if n != "time" and n in ds.coords])
    return ds.reset_coords("time") if "time" in ds.coords else ds


def segment_frames(ds, segment: str | int):
    """The frames of one segment (by id or index), with ``time`` as its index: within a segment
    time is unique and rising, so ``segment_frames(ds, "S01-squat").sel(time=slice(2, 4))`` selects
    seconds 2 to 4 of that segment."""
    ids = [str(s) for s in ds["segment"].values]
    if isinstance(segment, str):
        if segment not in ids:
            from miakit.errors import DatasetError

            raise DatasetError("<dataset>", "no such segment", field="segment", expected=ids[:5], found=segment)
        segment = ids.index(segment)
    start, n = int(ds["segment_start"].values[segment]), int(ds["segment_length"].values[segment])
    part = ds.isel(frame=slice(start, start + n))
    if "time" not in part.coords:
        part = part.set_coords("time")
    part = part.assign_coords(time=("frame", np.asarray(part["time"].values), part["time"].attrs))
    return part.set_xindex("time")
