"""The one builder of contract-2 datasets: segments in, a validated :class:`xarray.Dataset` out.

Every producer of datasets hands :func:`make_dataset` a list of :class:`Segment` (continuous pieces
on the 10 Hz grid) with what it knows about them, and gets the dataset back checked against
contract 2 (:func:`miakit.contracts.dataset.validate_dataset`):

- the pipeline (:mod:`miakit.pipeline`: one segment per session, or per marked exercise),
- the importers (:mod:`miakit.importers`: the MIA release, the UCI EMG set, C3D and TRC trials),
- a video's pose estimate (:func:`miakit.learn.predict.video_dataset`),
- one session drawn as it was built (:func:`miakit.viz.render.session_dataset`).

The attrs are made here and nowhere else (:func:`dataset_attrs`), with their provenance
(:func:`provenance`); the EMG's units come with the segments (from the device profile, for a
session) or from the importer that read them. Writing the dataset to a store is
:func:`miakit.store.write_dataset`'s job.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any, NamedTuple

import numpy as np

from miakit._version import __version__
from miakit.contracts.dataset import SCHEMA, validate_dataset
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
    emg_units: str = ""  # what its EMG is measured in, where the segment knows (a session: its device profile's units)
    view: str | None = None  # the camera view, where the source has several (segment_view; the lab importers)
    yaw_deg: float | None = None  # that camera's yaw from the subject's front (segment_yaw_deg)
    muscle_present: np.ndarray | None = None  # (muscle,) bool: false where the recording has no such muscle

    @property
    def length(self) -> int:
        return int(self.emg.shape[0])

    @property
    def n_valid(self) -> int:
        """Frames whose EMG is valid (every frame where ``valid`` is None)."""
        return self.length if self.valid is None else int(self.valid.sum())


class Event(NamedTuple):
    """A moment in a segment (a gait event of the lab importers): a row of the ``event_*`` table."""

    segment: int  # index of its segment in the list handed to make_dataset
    time: float  # seconds from the segment's start
    kind: str  # foot_strike or foot_off
    side: str  # left, right or ''
    origin: str  # file (the recording's own) or zeni (detected)


def provenance(*, pipeline: str, pipeline_sha256: str, inputs_sha256: str, **details: Any) -> dict[str, Any]:
    """The contract-2 provenance block (:data:`~miakit.contracts.dataset.PROVENANCE_KEYS`): what
    made the dataset and a hash of its definition, a hash of its inputs, miakit's version and the
    build time; ``details`` are what the producer adds (the pipeline's definition, the inputs by
    name, an importer's parameters)."""
    from datetime import datetime

    return {
        "pipeline": pipeline,
        "pipeline_sha256": pipeline_sha256,
        "inputs_sha256": inputs_sha256,
        **details,
        "miakit_version": __version__,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def dataset_attrs(
    *,
    muscles: Sequence[str],
    emg_units: str,
    provenance: dict[str, Any],
    rate_hz: float = RATE_HZ,
    modalities: Sequence[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The attrs of a contract-2 dataset (:data:`~miakit.contracts.dataset.ATTRS`); ``modalities``
    where the producer states them (None: not written, read as ``['emg', 'pose']``); ``extra``: a
    producer's own attrs (``citation``, ``log``, ...)."""
    attrs: dict[str, Any] = {
        "schema": SCHEMA,
        "rate_hz": rate_hz,
        "muscles": list(muscles),
        "keypoint_layout": "BODY_25",
        "emg_units": emg_units,
    }
    if modalities is not None:
        attrs["modalities"] = list(modalities)
    return {**attrs, **extra, "provenance": provenance}


def emg_units_of(segments: Iterable[Segment]) -> str:
    """The units the segments' EMG shares; ``mixed: A, B`` where they differ (sessions recorded with
    devices of other units in one build)."""
    units = list(dict.fromkeys(s.emg_units for s in segments))
    return units[0] if len(units) == 1 else "mixed: " + ", ".join(units)


def make_dataset(
    segments: list[Segment],
    *,
    muscles: Sequence[str],
    provenance: dict[str, Any],
    emg_units: str | None = None,
    rate_hz: float = RATE_HZ,
    modalities: Sequence[str] | None = None,
    events: Sequence[Event] = (),
    where: str = "<dataset>",
    **extra_attrs: Any,
):
    """``segments`` concatenated into one contract-2 dataset with its attrs (:func:`dataset_attrs`),
    validated (cheap checks: :func:`~miakit.contracts.dataset.validate_dataset`, errors naming
    ``where``). ``emg_units``: None takes them from the segments (:func:`emg_units_of`)."""

    units = emg_units_of(segments) if emg_units is None else emg_units
    attrs = dataset_attrs(
        muscles=muscles, emg_units=units, provenance=provenance, rate_hz=rate_hz, modalities=modalities, **extra_attrs
    )
    ds = assemble(segments, muscles=list(muscles), attrs=attrs)
    if events:
        ds["event_segment"] = (("event",), np.array([e.segment for e in events], dtype=np.int64))
        ds["event_time"] = (("event",), np.array([e.time for e in events], dtype=np.float64), {"units": "s"})
        ds["event_kind"] = (("event",), np.array([e.kind for e in events], dtype=str))
        ds["event_side"] = (("event",), np.array([e.side for e in events], dtype=str))
        ds["event_origin"] = (("event",), np.array([e.origin for e in events], dtype=str))
    return validate_dataset(ds, where=where)


def assemble(segments: list[Segment], *, muscles: list[str], attrs: dict):
    """Concatenate ``segments`` into one contract-2 :class:`xarray.Dataset` (not yet validated;
    :func:`make_dataset` also makes the attrs and validates)."""
    import xarray as xr

    n_kp = len(BODY_25)
    lengths = np.array([s.length for s in segments], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64) if len(segments) else lengths

    def cat(parts: list[np.ndarray], tail: tuple[int, ...], dtype) -> np.ndarray:
        return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros((0, *tail), dtype=dtype)

    emg = cat([s.emg for s in segments], (len(muscles),), np.float32)
    keypoints = cat(
        [s.keypoints if s.keypoints is not None else np.full((s.length, n_kp, 2), np.nan) for s in segments],
        (n_kp, 2),
        np.float32,
    )
    score = cat(
        [s.keypoint_score if s.keypoint_score is not None else np.zeros((s.length, n_kp)) for s in segments],
        (n_kp,),
        np.float32,
    )
    valid = cat([s.valid if s.valid is not None else np.isfinite(s.emg).all(axis=1) for s in segments], (), bool)
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
        clean = cat(
            [s.emg_clean if s.emg_clean is not None else np.full_like(s.emg, np.nan) for s in segments],
            (len(muscles),),
            np.float32,
        )
        ds["emg_clean"] = (("frame", "muscle"), clean, {"units": attrs.get("emg_units", "")})
    ds["emg"].attrs["units"] = attrs.get("emg_units", "")
    ds["time"].attrs["units"] = "s"
    ds["keypoints"].attrs["units"] = "pixels"
    if segments and all(s.view is not None for s in segments):  # several camera views of one recording
        ds["segment_view"] = (seg, text(s.view for s in segments))
        ds["segment_yaw_deg"] = (seg, np.array([s.yaw_deg for s in segments], dtype=np.float64))
    present = [s.muscle_present for s in segments if s.muscle_present is not None]
    if segments and len(present) == len(segments):
        ds["muscle_present"] = (("segment", "muscle"), np.stack(present).astype(bool))
    return ds
