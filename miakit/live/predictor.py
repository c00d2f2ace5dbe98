"""One 10 Hz step of the live view: pose on the frame, then the model on the latest window.

The pose is ``miakit predict``'s: MediaPipe BlazePose through
:class:`miakit.stages.pose.MediaPipeBackend` (the same settings, the frame shrunk by
:func:`~miakit.stages.pose.inference_image`) and its person following (the follower and identity
gate of the pose stage, one frame at a time). The model is ``miakit predict``'s too:
:func:`miakit.learn.predict.predict_segment` over a one-segment dataset of the frames kept
(:attr:`LivePredictor.history`), with ``min_window=1``; the newest frame's value is the last row.

Causal: for the paper's inputs the history is the model's window plus its context frames, and the
only window covering the newest frame is the one ending there (its right context held at the newest
frame, as at the end of any run of frames), so the value equals what ``miakit predict`` gives the
last frame of the video cut at this frame. Inputs with whole-segment statistics (``body``'s torso
length, ``+depth``'s reference lengths, ``+elapsed``) are computed over the last
:data:`STATS_HISTORY_S` seconds instead of the whole video.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from miakit.contracts.build import Segment, make_dataset, provenance
from miakit.errors import InputError
from miakit.layout import BODY_25, RATE_HZ
from miakit.learn.predict import load, predict_segment
from miakit.stages.pose import TRACK_OK, Follower, MediaPipeBackend, inference_image, keypoints_dataset

STATS_HISTORY_S = 30.0
"""Seconds of frames kept for inputs with whole-segment statistics (any ``features`` but ``paper``)."""


@dataclass
class Step:
    """What one step found: the followed person's BODY_25 points (25, 3: x, y in pixels of the full
    frame, score; NaN and 0 where missing), the pose stage's ``track_flag`` and the predicted
    activation per muscle (NaN where none: no person, or the frame is not usable)."""

    index: int
    time_s: float
    points: np.ndarray
    flag: int
    activation: np.ndarray


def check_checkpoint(ckpt) -> None:
    """Refuse, in one line, a checkpoint the live pose cannot feed: trained on other keypoints."""
    expected = ckpt.meta.get("keypoints")
    if expected is not None and list(expected) != list(BODY_25):
        raise InputError(
            ckpt.path,
            "the checkpoint does not fit the live pose: it was trained on other keypoints",
            field="keypoints",
            expected=f"the {len(BODY_25)} BODY_25 keypoints the pose stage gives",
            found=f"{len(expected)} keypoints {list(expected)[:3]}...",
        )


class LivePredictor:
    """Pose and prediction for a stream of frames of one size (``width`` x ``height``), one 10 Hz step
    at a time (:meth:`step`). Close it (:meth:`close`) to free MediaPipe's graph."""

    def __init__(
        self, checkpoint, *, width: int, height: int, person: str = "start", inference_height: int = 640
    ) -> None:
        import torch

        self.ckpt = load(checkpoint)
        check_checkpoint(self.ckpt)
        torch.set_num_threads(1)  # a small model: one thread; a second fights MediaPipe's threads for 2 cores
        self.width, self.height = int(width), int(height)
        self.backend = MediaPipeBackend(person=person, inference_height=inference_height)
        self.muscles = self.ckpt.muscles
        context = int(getattr(self.ckpt.config, "context", 0))
        self.history = self.ckpt.window + context
        if getattr(self.ckpt.config, "features", "paper") != "paper":
            self.history = max(self.history, int(round(STATS_HISTORY_S * RATE_HZ)))
        self._points: deque = deque(maxlen=self.history)
        self._model = self.backend.open_model()
        self._follow = Follower(self._model, self.backend, SimpleNamespace(width=self.width, height=self.height))

    @property
    def person(self) -> str:
        """Whom the pose follows, in words."""
        people = self._follow.people_at_start
        choice = self.backend.person
        return choice + (f" of {people} in view at the start" if choice != "start" and people else "")

    def missed(self) -> None:
        """A step that was dropped: no pose in it (the run of frames breaks there, as in a gap)."""
        self._points.append(np.full((len(BODY_25), 3), np.nan))

    def shrink(self, bgr: np.ndarray) -> np.ndarray:
        """A full frame (BGR) shrunk as the pose takes it (``inference_height`` high, never enlarged), still BGR."""
        import cv2

        height = self.backend.inference_height
        if bgr.shape[0] <= height:
            return bgr
        size = (max(1, round(bgr.shape[1] * height / bgr.shape[0])), height)
        return cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)

    def step(self, index: int, time_s: float, bgr: np.ndarray) -> Step:
        """Pose on ``bgr`` (a frame, BGR: full size or already :meth:`shrink`-ed; the points are in
        pixels of the full frame either way), then the activation of the newest frame."""
        step = self.pose(index, time_s, bgr)
        step.activation = self.predict(step.points)
        return step

    def pose(self, index: int, time_s: float, bgr: np.ndarray) -> Step:
        """The pose part of :meth:`step` (the activation left NaN); steps in order, one at a time."""

        rgb = inference_image(bgr, height=self.backend.inference_height)
        found, flag = self._follow(rgb, float(time_s))
        points = np.full((len(BODY_25), 3), np.nan) if found is None else np.asarray(found, dtype=np.float64)
        nothing = np.full(len(self.muscles), np.nan)
        return Step(index=index, time_s=float(time_s), points=points, flag=int(flag or TRACK_OK), activation=nothing)

    def predict(self, points: np.ndarray) -> np.ndarray:
        """The model part of :meth:`step`: ``points`` (the newest frame's pose) join the history
        and the newest frame's activation comes out; steps in order (:meth:`missed` for those without pose)."""
        self._points.append(points)
        return self._predict()

    def _predict(self) -> np.ndarray:

        ds = window_dataset(np.stack(self._points), muscles=self.muscles, width=self.width, height=self.height)
        if not bool(ds["valid"].values[-1]):
            return np.full(len(self.muscles), np.nan)
        n = ds.sizes["frame"]
        return np.asarray(predict_segment(self.ckpt, ds, 0, stride=n, min_window=1)[-1], dtype=np.float64)

    def close(self) -> None:
        self._model.close()


def window_dataset(points: np.ndarray, *, muscles: list[str], width: int, height: int, source: str = "live"):
    """A one-segment contract-2 dataset of pose points (frames, 25, 3) on the 10 Hz grid, no EMG,
    valid where a person was found: what :func:`miakit.learn.predict.video_dataset` makes of a
    video's pose, for frames that have no file behind them."""

    grid = np.arange(len(points), dtype=np.float64) / RATE_HZ
    pose = keypoints_dataset(
        grid,
        points,
        grid,
        width=width,
        height=height,
        rotation=0,
        fps=RATE_HZ,
        rate_hz=RATE_HZ,
        estimator="mediapipe-blazepose-full-0.10.14",
        source=source,
    )
    keypoints = np.asarray(pose["keypoints"].values, dtype=np.float32)
    score = np.asarray(pose["keypoint_score"].values, dtype=np.float32)
    segment = Segment(
        id=source,
        session=source,
        subject="",
        exercise="",
        split="",
        source="video",
        emg=np.full((len(points), len(muscles)), np.nan, np.float32),
        keypoints=keypoints,
        keypoint_score=score,
        valid=np.asarray((score > 0).any(axis=1)),
        image_width=int(width),
        image_height=int(height),
        rate_hz=RATE_HZ,
    )
    return make_dataset(
        [segment],
        muscles=muscles,
        emg_units="",
        rate_hz=RATE_HZ,
        where=source,
        provenance=provenance(
            pipeline="live",
            pipeline_sha256="",
            inputs_sha256="",
            inputs={"source": source},
            pose_estimator="mediapipe-blazepose-full-0.10.14",
        ),
    )


def load_checkpoint(path: str | Path):
    """The checkpoint (:func:`miakit.learn.predict.load`), refused in one line where it does not fit."""

    ckpt = load(path)
    check_checkpoint(ckpt)
    return ckpt
