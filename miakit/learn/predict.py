"""Predict muscle activation with a trained checkpoint: over a dataset segment, or over a video's pose.

:func:`predict_segment` slides windows of the checkpoint's own length (``meta['window']``) over
each run of usable frames of one segment, one window every ``stride`` frames (the last window of a
run ends at the run's last frame; a model trained with ``context`` also reads that many frames on
either side, held at the run's edges), and averages, per frame, the predictions of every window that
covers it. A usable frame is one the dataset marks valid where at least one keypoint is present; a
run shorter than one window, and every unusable frame, gets NaN. Inputs are made as the trainer
made them (:func:`miakit.learn.windows.load_frames`: x / image width, y / image height, missing
points 0; or the config's ``features`` spec, :mod:`miakit.learn.features`); the model
standardizes them itself with the training mean and std it carries.

:func:`predict_symmetric` averages the prediction over a pose and the one over the pose found in
the mirror image (sides swapped back): a mirrored input then gives exactly the prediction with its
sides swapped, by construction.

:func:`video_dataset` makes a one-segment contract-2 dataset of a video's pose at 10 Hz, and
:func:`predicted_dataset` the same with the prediction as its EMG. The whole job for a video (pose,
prediction, the table, the store, the plot and the overlay) is
:func:`miakit.viz.predict_video.predict_video`: this module computes, :mod:`miakit.viz` draws.

torch is imported inside the functions that use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from miakit.arrays import true_runs
from miakit.contracts.build import Segment, make_dataset, provenance
from miakit.contracts.dataset import find_segment, normalized_keypoints, validate_dataset
from miakit.errors import InputError
from miakit.layout import MIRROR_MUSCLE
from miakit.learn.features import mirror_permutation, mirrored_dataset
from miakit.learn.inference import load_checkpoint, predict
from miakit.learn.windows import context_frames, run_bounds

if TYPE_CHECKING:
    import torch

    from miakit.learn.config import TrainConfig


PREDICTED_SOURCE = "predicted"
"""``segment_source`` and ``attrs['emg_source']`` of a store whose EMG is a model's prediction."""


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint: the model (eval mode), its config and its meta (see ``load_checkpoint``)."""

    path: Path
    model: torch.nn.Module
    config: TrainConfig
    meta: dict

    @property
    def window(self) -> int:
        return int(self.meta.get("window", self.config.window))

    @property
    def muscles(self) -> list[str]:
        return [str(m) for m in self.meta["muscles"]]


def load(checkpoint: str | Path | Checkpoint, *, device: str = "cpu") -> Checkpoint:
    """A :class:`Checkpoint` from a path (loaded once), or the one given."""
    if isinstance(checkpoint, Checkpoint):
        return checkpoint

    model, config, meta = load_checkpoint(checkpoint, device=device)
    return Checkpoint(path=Path(checkpoint), model=model, config=config, meta=meta)


def segment_inputs(ds, frames: slice, *, image_width: int, image_height: int) -> np.ndarray:
    """Model inputs (frames, 2 * keypoints) of ``ds``'s ``frames``, normalized exactly as
    :func:`miakit.learn.windows.load_frames` does, without reading the other segments."""

    kp = normalized_keypoints(ds["keypoints"][frames].values, image_width, image_height)
    kp = np.nan_to_num(kp, nan=0.0, posinf=0.0, neginf=0.0)
    return np.ascontiguousarray(kp.reshape(kp.shape[0], -1))


def window_starts(usable: np.ndarray, *, window: int, stride: int = 1) -> np.ndarray:
    """First frames of the windows over the runs of True in ``usable``: every ``stride`` frames
    from each run's start, plus one ending at the run's end; none in a run shorter than ``window``."""
    if window < 1 or stride < 1:
        raise ValueError(f"window and stride must be >= 1, got window={window}, stride={stride}")
    starts: list[np.ndarray] = []
    for begin, end in true_runs(usable):
        if end - begin < window:
            continue
        run = np.arange(begin, end - window + 1, stride)
        starts.append(np.union1d(run, [end - window]))
    return np.concatenate(starts).astype(np.int64) if starts else np.zeros(0, np.int64)


def average_windows(predictions: np.ndarray, starts: np.ndarray, n_frames: int) -> np.ndarray:
    """Per-frame mean (frames, muscles) of window predictions (N, muscles, T) starting at
    ``starts``; NaN where no window covers a frame."""
    n, muscles, steps = predictions.shape
    total = np.zeros((n_frames, muscles), dtype=np.float64)
    count = np.zeros(n_frames, dtype=np.int64)
    frames = (starts[:, None] + np.arange(steps)[None, :]).ravel()  # (N * T,)
    np.add.at(total, frames, predictions.transpose(0, 2, 1).reshape(-1, muscles))
    np.add.at(count, frames, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = total / count[:, None]
    out[count == 0] = np.nan
    return out


def predict_segment(
    checkpoint: str | Path | Checkpoint,
    ds,
    segment_id: str | int,
    *,
    stride: int = 1,
    device: str = "cpu",
    min_window: int | None = None,
) -> np.ndarray:
    """Predicted EMG (frames of the segment, muscles of the checkpoint), in the units the model was
    trained on; NaN on frames no window covers (see the module's description).

    ``min_window``: a run of usable frames shorter than the checkpoint's window but at least this
    long gets one window of its own length (:func:`short_runs`; the models are convolutions and
    attention over any number of steps, zero-padded at a window's ends as in training, and the
    context frames are held at the run's edges as in training). None: such runs get NaN.

    ``ds`` must carry the keypoints the checkpoint was trained on (names and number)."""

    ckpt = load(checkpoint, device=device)
    seg = find_segment(ds, segment_id)
    keypoints = [str(k) for k in ds["keypoint"].values]
    expected = ckpt.meta.get("keypoints")
    if expected is not None and list(expected) != keypoints:
        raise InputError(
            ckpt.path,
            "the dataset's keypoints differ from the checkpoint's",
            field="keypoint",
            expected=f"{ckpt.meta['n_features'] // 2} keypoints {list(expected or [])[:3]}...",
            found=f"{len(keypoints)} keypoints {keypoints[:3]}...",
        )
    x = _inputs(ckpt, ds, seg)
    valid = np.asarray(ds["valid"][seg.frames].values, dtype=bool)
    has_pose = (np.asarray(ds["keypoint_score"][seg.frames].values) > 0).any(axis=1)
    usable = valid & has_pose
    starts = window_starts(usable, window=ckpt.window, stride=stride)
    context = int(getattr(ckpt.config, "context", 0))
    first, last = run_bounds(
        np.where(usable, 0, -1 - np.arange(len(usable)))
    )  # context stays within each run of usable frames
    cols = context_frames(starts, ckpt.window, context, first[starts], last[starts])
    windows = x[cols] if len(starts) else np.zeros((0, ckpt.window + 2 * context, x.shape[1]), np.float32)
    emg_scale = float(ckpt.meta.get("emg_scale", ckpt.config.emg_scale))
    if len(starts):
        y = predict(ckpt.model, windows, emg_scale=emg_scale)
    else:
        y = np.zeros((0, len(ckpt.muscles), ckpt.window), np.float32)
    out = average_windows(y, starts, seg.length)
    for begin, length in short_runs(usable, window=ckpt.window, min_length=min_window) if min_window else ():
        cols = context_frames(np.array([begin]), length, context, first[[begin]], last[[begin]])
        out[begin : begin + length] = predict(ckpt.model, x[cols], emg_scale=emg_scale)[0].T
    return out


def predict_symmetric(
    checkpoint: str | Path | Checkpoint,
    ds,
    seen_mirrored,
    segment_id: str | int,
    *,
    stride: int = 1,
    device: str = "cpu",
    min_window: int | None = None,
) -> np.ndarray:
    """The mean of two predictions of the same frames (:func:`predict_segment`, same arguments): over
    ``ds``, the pose found in each frame, and over the mirror image of ``seen_mirrored``, the pose a
    pose estimator found in each frame's mirror image brought back to the frame's pixels and sides
    (:func:`miakit.viz.predict_video.mirror_pose`; the same frames and image size as ``ds``), its
    muscles' sides swapped back (:data:`miakit.layout.MIRROR_MUSCLE`). Where only one of the two
    has a prediction, that one.

    The two inputs trade places for a mirrored video (the pose of its frames is this video's
    mirror-image pose, mirrored, and the other way round), so a mirrored video's symmetric
    prediction is this one with its sides swapped: exactly, for any model, up to how exactly the
    mirrored video's pixels mirror these."""
    import warnings

    ckpt = load(checkpoint, device=device)
    swap = mirror_permutation(ckpt.muscles, MIRROR_MUSCLE, what="muscle")
    direct = predict_segment(ckpt, ds, segment_id, stride=stride, min_window=min_window)
    mirror = predict_segment(ckpt, mirrored_dataset(seen_mirrored), segment_id, stride=stride, min_window=min_window)
    with warnings.catch_warnings():  # a frame neither run predicts stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.stack([direct, mirror[:, swap]]), axis=0)


def short_runs(usable: np.ndarray, *, window: int, min_length: int = 1) -> list[tuple[int, int]]:
    """(first frame, length) of each run of True in ``usable`` shorter than ``window`` and at least
    ``min_length`` long: the runs :func:`window_starts` leaves out."""
    return [(begin, end - begin) for begin, end in true_runs(usable) if max(min_length, 1) <= end - begin < window]


def _inputs(ckpt: Checkpoint, ds, seg) -> np.ndarray:
    """The segment's model inputs as the checkpoint was trained on them: the paper's inputs
    (:func:`segment_inputs`), or the ``features`` spec of its config
    (:func:`miakit.learn.features.frame_features`, over this segment alone, or with ``+depth``
    over all of its subject's segments, whose frames give the subject's reference lengths)."""
    spec = getattr(ckpt.config, "features", "paper")
    if spec == "paper":
        x = segment_inputs(ds, seg.frames, image_width=seg.image_width, image_height=seg.image_height)
    else:
        from miakit.learn.features import frame_features, parse_features

        if "depth" in parse_features(spec)[1]:  # limbs measured against the subject's reference lengths, as in training
            segments = np.flatnonzero(np.asarray(ds["segment_subject"].values).astype(str) == seg.subject)
        else:
            segments = np.array([seg.index])
        part = _only_segments(ds, segments)
        first = int(part["segment_start"].values[segments.tolist().index(seg.index)])
        x = frame_features(part, spec, subjects=ckpt.meta.get("subjects"))[first : first + seg.length]
    if x.shape[1] != ckpt.meta["n_features"]:
        raise InputError(
            ckpt.path,
            "the dataset gives the model inputs of another size",
            field="n_features",
            expected=ckpt.meta["n_features"],
            found=x.shape[1],
        )
    return x


def _only_segments(ds, segments: np.ndarray):
    """The dataset cut to these segments (by index, in order): their frames, ``segment_start`` renumbered."""
    start = np.asarray(ds["segment_start"].values, dtype=np.int64)[segments]
    length = np.asarray(ds["segment_length"].values, dtype=np.int64)[segments]
    frames = np.concatenate([np.arange(a, a + n) for a, n in zip(start, length)])
    return ds.isel(frame=frames, segment=segments).assign(segment_start=(("segment",), np.cumsum(length) - length))


# -- a video --------------------------------------------------------------------------------------


def video_dataset(pose, *, muscles: list[str], video: str | Path, segment_id: str = "video"):
    """A one-segment contract-2 dataset of a pose estimate (:func:`estimate_pose`'s layout): the
    keypoints on their 10 Hz grid, no EMG (NaN), valid where a person was found."""
    import hashlib

    keypoints = np.asarray(pose["keypoints"].values, dtype=np.float32)
    score = np.asarray(pose["keypoint_score"].values, dtype=np.float32)
    n = keypoints.shape[0]
    segment = Segment(
        id=segment_id,
        session=segment_id,
        subject="",
        exercise="",
        split="",
        source="video",
        emg=np.full((n, len(muscles)), np.nan, np.float32),
        keypoints=keypoints,
        keypoint_score=score,
        valid=np.asarray((score > 0).any(axis=1)),
        image_width=int(pose.attrs["width"]),
        image_height=int(pose.attrs["height"]),
        rate_hz=float(pose.attrs["rate_hz"]),
    )
    digest = hashlib.sha256()
    with open(video, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return make_dataset(
        [segment],
        muscles=muscles,
        emg_units="",
        rate_hz=float(pose.attrs["rate_hz"]),
        where=str(video),
        provenance=provenance(
            pipeline="predict",
            pipeline_sha256="",
            inputs_sha256=digest.hexdigest(),
            inputs={"video": str(video)},
            pose_estimator=str(pose.attrs.get("estimator", "")),
        ),
    )


def predicted_dataset(ds, predicted: np.ndarray, checkpoint: Checkpoint, *, symmetric: bool = False):
    """A copy of the one-segment dataset ``ds`` whose ``emg`` is ``predicted``, valid where it is
    finite, marked as predicted in attrs and in ``segment_source``; validated (contract 2).
    ``attrs['prediction']`` names the checkpoint and says whether the prediction is
    ``symmetric`` (:func:`predict_symmetric`)."""

    out = ds.copy(deep=True)
    out["emg"] = (("frame", "muscle"), np.asarray(predicted, dtype=np.float32))
    units = str(checkpoint.meta.get("emg_units", ""))
    out["emg"].attrs["units"] = units
    out["valid"] = (("frame",), np.isfinite(predicted).all(axis=1) & np.asarray(ds["valid"].values, dtype=bool))
    out["segment_source"] = (("segment",), np.array([PREDICTED_SOURCE] * out.sizes["segment"]))
    out.attrs.update(
        emg_units=units,
        emg_source=PREDICTED_SOURCE,
        prediction={
            "checkpoint": str(checkpoint.path),
            "model": str(checkpoint.config.model),
            "step": int(checkpoint.meta.get("step", 0)),
            "window": checkpoint.window,
            "best_val_rmse": float(checkpoint.meta.get("best_val_rmse", float("nan"))),
            "symmetric": bool(symmetric),
        },
    )
    return validate_dataset(out, where="prediction", deep=True)


__all__ = [
    "predict_segment",
    "predict_symmetric",
    "Checkpoint",
    "load",
    "segment_inputs",
    "window_starts",
    "average_windows",
    "short_runs",
    "video_dataset",
    "predicted_dataset",
]
