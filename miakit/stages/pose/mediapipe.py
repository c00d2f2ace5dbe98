"""The MediaPipe back end: BlazePose "full" on a video's frames (:class:`MediaPipeBackend`), decoded in a
second thread beside inference, one person followed (:mod:`miakit.stages.pose.following`), where the
time went (:class:`PoseTimings`). mediapipe and cv2 are imported inside the functions that use them;
the imports here are absolute, so ``mediapipe`` is always the library, never this module."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from miakit.errors import InputError
from miakit.layout import RATE_HZ
from miakit.progress import progress_bar
from miakit.stages.grid import time_grid
from miakit.stages.pose.following import PERSON_CHOICES, TRACK_LOST, TRACK_UNCERTAIN, Follower
from miakit.stages.pose.layout import empty_points, keypoints_dataset
from miakit.stages.pose.quiet import quiet_mediapipe
from miakit.stages.video import probe_video, sampled_frames


@dataclass
class PoseTimings:
    """Where the time of a video back end went, in seconds. ``setup_s``: probing the video and
    starting the model; decode and inference then overlap within ``wall_s - setup_s``."""

    frames: int = 0
    setup_s: float = 0.0
    decode_s: float = 0.0
    inference_s: float = 0.0
    wall_s: float = 0.0
    undecodable: list[int] = field(default_factory=list)  # packets (pts) that damaged data kept from decoding

    def as_dict(self) -> dict[str, float]:
        per = lambda s: self.frames / s if s > 0 else float("inf")  # noqa: E731
        return {
            "frames": self.frames,
            "setup_s": self.setup_s,
            "decode_s": self.decode_s,
            "inference_s": self.inference_s,
            "wall_s": self.wall_s,
            "decode_fps": per(self.decode_s),
            "inference_fps": per(self.inference_s),
            "overall_fps": per(self.wall_s),
            "running_fps": per(self.wall_s - self.setup_s),
        }


@dataclass
class MediaPipeBackend:
    """MediaPipe BlazePose "full" (``model_complexity=1``, the model inside the wheel), in video
    (tracking) mode so one person is followed.

    Frames are shrunk to ``inference_height`` pixels high before inference (BlazePose itself works
    on 256x256 crops); keypoints are returned in pixels of the full displayed image. Decoding runs
    in a second thread beside inference (:func:`miakit.stages.video.sampled_frames`: only the
    frames the grid needs are converted). ``timings`` holds the last run's numbers.

    One identity (:class:`IdentityGate`): MediaPipe's tracker follows one person from frame to frame
    but may move to another when it loses the first. ``person`` (:data:`PERSON_CHOICES`) says whom to
    follow. A frame whose detection jumps beyond the gate is re-detected with the image outside the
    tracked person's last box greyed out (the tracker made to forget its person first, so it starts
    again from that person: ``Follower._reset``); found there, it is kept and flagged uncertain, else
    the frame is lost (no keypoints): two people are never joined in one track. ``track_flag(time)``
    and attrs ``frames_uncertain``, ``frames_lost``, ``person``, ``people_at_start`` say what happened.
    """

    inference_height: int = 640
    smooth_landmarks: bool = True
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    person: str = "start"
    max_torso_speed: float = 5.0
    name: str = "mediapipe"
    timings: PoseTimings = field(default_factory=PoseTimings)

    def __post_init__(self) -> None:
        if self.person not in PERSON_CHOICES:
            raise InputError(
                "pose back end",
                "unknown person choice",
                field="person",
                expected=f"one of {', '.join(PERSON_CHOICES)}",
                found=self.person,
            )

    def keypoints(self, source: Path, *, rate_hz: float = RATE_HZ, progress: bool = True) -> xr.Dataset:

        self.timings = PoseTimings()
        started = time.perf_counter()
        meta = probe_video(source)
        grid = time_grid(meta.duration_s, rate_hz=rate_hz)
        points = empty_points(len(grid))
        frame_time = np.full(len(grid), np.nan)
        flags = np.zeros(len(grid), np.int8)
        model = self.open_model()
        self.timings.setup_s = time.perf_counter() - started
        frames = _decoded(meta, grid, self.inference_height, self.timings)
        follow = Follower(model, self, meta)
        try:
            for j, stamp, rgb in _progress(frames, total=len(grid), show=progress, label=f"pose {Path(source).name}"):
                tick = time.perf_counter()
                found, flags[j] = follow(rgb, float(grid[j]))
                self.timings.inference_s += time.perf_counter() - tick
                self.timings.frames += 1
                frame_time[j] = stamp
                if found is not None:
                    points[j] = found
        finally:
            frames.close()  # stops the decoding thread, also when inference failed
            model.close()
        self.timings.wall_s = time.perf_counter() - started
        ds = keypoints_dataset(
            grid,
            points,
            frame_time,
            width=meta.width,
            height=meta.height,
            rotation=meta.rotation,
            fps=meta.fps,
            rate_hz=rate_hz,
            estimator="mediapipe-blazepose-full-0.10.14",
            source=str(source),
        )
        ds["track_flag"] = (("time",), flags)
        ds["track_flag"].attrs["meaning"] = (
            "0: tracked person; 1: identity uncertain (a jump beyond the gate, re-found near the last place); 2: lost"
        )
        ds.attrs.update(
            frames_undecodable=len(self.timings.undecodable),
            person=self.person,
            people_at_start=follow.people_at_start,
            frames_uncertain=int((flags == TRACK_UNCERTAIN).sum()),
            frames_lost=int((flags == TRACK_LOST).sum()),
            identity_gate=f"{self.max_torso_speed:g} torso lengths/s, 0.25 to 1.5 torso lengths",
        )
        return ds

    def open_model(self) -> Any:
        """A fresh MediaPipe Pose graph with these settings (close it after use), started quietly
        (:func:`quiet_mediapipe`: its start-up log lines never reach the terminal)."""
        with quiet_mediapipe():
            from mediapipe.python.solutions import pose as mp_pose

            model = mp_pose.Pose(
                static_image_mode=False,
                model_complexity=1,
                smooth_landmarks=self.smooth_landmarks,
                min_detection_confidence=self.min_detection_confidence,
                min_tracking_confidence=self.min_tracking_confidence,
            )
            model.process(
                np.zeros((64, 64, 3), np.uint8)
            )  # the first call logs (TFLite, absl, protobuf); no person: no state
        return model


def inference_image(image: np.ndarray, *, height: int) -> np.ndarray:
    """A decoded BGR frame as the model gets it: shrunk to ``height`` pixels high (never enlarged),
    aspect ratio kept, in RGB."""
    import cv2

    if image.shape[0] > height:
        size = (max(1, round(image.shape[1] * height / image.shape[0])), height)
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _decoded(
    meta: Any, grid: np.ndarray, height: int, timings: PoseTimings
) -> Generator[tuple[int, float, np.ndarray], None, None]:
    """Frames for the grid, shrunk and in RGB (:func:`miakit.stages.video.sampled_frames`), decoded
    in a second thread ahead of inference (FFmpeg and MediaPipe both release the GIL, so decoding
    overlaps inference). Errors in the thread are raised here."""

    out: queue.Queue = queue.Queue(maxsize=8)
    stop = threading.Event()
    done = object()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            tick = time.perf_counter()
            for item in sampled_frames(meta.path, grid, meta=meta, height=height, undecodable=timings.undecodable):
                timings.decode_s += time.perf_counter() - tick
                if not put(item):
                    return
                tick = time.perf_counter()
            timings.decode_s += time.perf_counter() - tick
            put(done)
        except BaseException as exc:  # handed to the consuming thread
            put(exc)

    thread = threading.Thread(target=work, name="miakit-decode", daemon=True)
    thread.start()
    try:
        while True:
            item = out.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def _progress(items: Iterable, *, total: int, show: bool, label: str) -> Iterable:
    if not show:
        yield from items
        return

    with progress_bar(transient=True) as bar:  # on standard error (standard output is for results)
        task = bar.add_task(label, total=total)
        for item in items:
            yield item
            bar.advance(task)
