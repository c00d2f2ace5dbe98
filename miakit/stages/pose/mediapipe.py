"""Pose back ends: BODY_25 keypoints with scores, on a regular time grid, from a video or a file.

Every back end gives the same xarray layout (:func:`keypoints_dataset`):

- dims ``time`` (seconds from the video's first frame, on a ``rate_hz`` grid), ``keypoint`` (the 25
  BODY_25 names), ``space`` (x, y);
- ``keypoints(time, keypoint, space)`` float32, pixels of the displayed (rotated) image, NaN where
  missing; ``keypoint_score(time, keypoint)`` float32 in [0, 1], 0 where missing;
  ``frame_time(time)`` float64, the time of the source frame used (NaN where none);
- attrs ``width``, ``height``, ``rotation``, ``fps``, ``rate_hz``, ``estimator``,
  ``frames_with_person``, ``source``.

Back ends (:data:`BACKENDS`): ``mediapipe`` (BlazePose "full", bundled in the mediapipe 0.10.14
wheel; runs with no network) estimates from a video; ``openpose_json``, ``mia_joints2d`` and
``vibe`` read what another tool wrote. A source at another rate is put on the grid by taking the
frame nearest each grid time; no point is interpolated.

Several people in view: MediaPipe tracks one person from frame to frame (each frame's search
starts from the previous frame's landmarks); OpenPose folders are read following the person nearest
the previous frame's choice; of a VIBE file's tracks, the longest is kept unless one is named.

mediapipe, cv2 and joblib are imported inside the functions that use them.
"""

from __future__ import annotations

import os
import pickle
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import xarray as xr

from miakit.errors import InputError
from miakit.files import check_file
from miakit.layout import BODY_25, IMAGE_HEIGHT, IMAGE_WIDTH, RATE_HZ

N_KEYPOINTS = len(BODY_25)
MAX_KEYPOINT_FILE_BYTES = 1 << 30
"""Cap on a keypoint file another tool wrote (a joints2d.npy, a VIBE output), 1 GiB."""

BLAZEPOSE_TO_BODY25: tuple[tuple[int, ...], ...] = (
    (0,),
    (11, 12),
    (12,),
    (14,),
    (16,),
    (11,),
    (13,),
    (15,),
    (23, 24),
    (24,),
    (26,),
    (28,),
    (23,),
    (25,),
    (27,),
    (5,),
    (2,),
    (8,),
    (7,),
    (31,),
    (),
    (29,),
    (32,),
    (),
    (30,),
)
"""For each BODY_25 point, the BlazePose-33 landmarks it is made of (two: their mean; none: missing)."""


# -- the layout -----------------------------------------------------------------------------------


def time_grid(duration_s: float, *, rate_hz: float) -> np.ndarray:
    """Times ``k / rate_hz`` (k = 0, 1, ...) before ``duration_s``: the grid a source covering
    ``duration_s`` seconds from its first frame is put on."""
    if not rate_hz > 0:
        raise ValueError(f"rate_hz must be > 0, found {rate_hz}")
    count = int(np.ceil(duration_s * rate_hz - 1e-9)) if duration_s > 0 else 0
    return np.arange(max(count, 1), dtype=np.float64) / rate_hz


def nearest_frames(grid_s: np.ndarray, *, fps: float, frames: int) -> np.ndarray:
    """For a constant-rate source of ``frames`` frames, the frame number nearest each grid time
    (-1 where the nearest frame is more than one frame interval away)."""
    number = np.rint(np.asarray(grid_s) * fps).astype(np.int64)
    off = np.abs(number / fps - grid_s) > 1.0 / fps
    return np.where((number >= 0) & (number < frames) & ~off, number, -1)


def keypoints_dataset(
    grid_s: np.ndarray,
    points: np.ndarray,
    frame_time: np.ndarray,
    *,
    width: int,
    height: int,
    rotation: int,
    fps: float,
    rate_hz: float,
    estimator: str,
    source: str,
) -> xr.Dataset:
    """Build the layout from ``points`` (time, 25, 3): x, y in pixels and a score.

    Points with a score of 0 or a non-finite coordinate become NaN with score 0; scores are clipped
    to [0, 1]. ``frames_with_person`` counts the times with at least one point.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.shape != (len(grid_s), N_KEYPOINTS, 3):
        raise ValueError(f"points must be ({len(grid_s)}, {N_KEYPOINTS}, 3), found {points.shape}")
    xy = points[:, :, :2].copy()
    score = np.clip(np.nan_to_num(points[:, :, 2], nan=0.0), 0.0, 1.0)
    missing = ~np.isfinite(xy).all(axis=2) | (score <= 0)
    xy[missing] = np.nan
    score[missing] = 0.0
    with_person = int((~missing).any(axis=1).sum())
    return xr.Dataset(
        {
            "keypoints": (("time", "keypoint", "space"), xy.astype(np.float32)),
            "keypoint_score": (("time", "keypoint"), score.astype(np.float32)),
            "frame_time": (("time",), np.asarray(frame_time, dtype=np.float64)),
        },
        coords={"time": np.asarray(grid_s, dtype=np.float64), "keypoint": list(BODY_25), "space": ["x", "y"]},
        attrs={
            "width": int(width),
            "height": int(height),
            "rotation": int(rotation),
            "fps": float(fps),
            "rate_hz": float(rate_hz),
            "estimator": estimator,
            "frames_with_person": with_person,
            "source": source,
        },
    )


def _empty_points(count: int) -> np.ndarray:
    points = np.full((count, N_KEYPOINTS, 3), np.nan)
    points[:, :, 2] = 0.0
    return points


# -- the interface --------------------------------------------------------------------------------


@runtime_checkable
class PoseBackend(Protocol):
    """A source of BODY_25 keypoints: turns a video or a keypoint file into the layout above."""

    name: str

    def keypoints(self, source: Path, *, rate_hz: float, progress: bool) -> xr.Dataset:
        """The keypoints of ``source`` on a ``rate_hz`` grid."""
        ...


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


def blazepose_to_body25(landmarks: np.ndarray) -> np.ndarray:
    """(33, 3) BlazePose landmarks (x, y, visibility) -> (25, 3) BODY_25 (x, y, score).

    An averaged point takes the lower of the two scores; a point BlazePose lacks is NaN, score 0.
    """
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if landmarks.shape != (33, 3):
        raise ValueError(f"expected (33, 3) BlazePose landmarks, found {landmarks.shape}")
    out = _empty_points(1)[0]
    for index, sources in enumerate(BLAZEPOSE_TO_BODY25):
        if sources:
            picked = landmarks[list(sources)]
            out[index, :2] = picked[:, :2].mean(axis=0)
            out[index, 2] = picked[:, 2].min()
    return out


PERSON_CHOICES = ("start", "left", "right", "center", "largest")
"""Which person a video back end follows: ``start``, the one MediaPipe finds first; or, of the
people in view when the first person appears, the ``left``-most, ``right``-most, the one nearest
the image's ``center``, or the ``largest`` (tallest on screen)."""

TRACK_OK, TRACK_UNCERTAIN, TRACK_LOST = 0, 1, 2
"""``track_flag`` values: the tracked person as expected; identity uncertain (the tracker's person
jumped beyond the gate, and the person was found again near their last place); lost (no person
within the gate: the frame has no keypoints)."""


@dataclass
class IdentityGate:
    """Keeps one identity through a clip: a detection is the same person only where its torso
    centre (mean of Neck and MidHip) lies within ``max_speed`` torso lengths per second of the last
    accepted one, counted over the time since then, at least ``min_jump`` and at most ``max_jump``
    torso lengths (the torso length: the median neck-to-mid-hip distance of the last 20 accepted
    frames). A track switching to another person jumps several torso lengths and is refused.
    """

    max_speed: float = 5.0
    min_jump: float = 0.25
    max_jump: float = 1.5
    centre: np.ndarray | None = None
    seen_at: float = 0.0
    lengths: list = field(default_factory=list)

    def radius(self, t: float) -> float:
        torso = float(np.median(self.lengths[-20:]))
        return float(np.clip(self.max_speed * (t - self.seen_at), self.min_jump, self.max_jump)) * torso

    def accepts(self, points: np.ndarray | None, t: float) -> bool:
        if points is None:
            return False
        if self.centre is None:
            return True
        return float(np.linalg.norm(torso(points)[0] - self.centre)) <= self.radius(t)

    def accept(self, points: np.ndarray, t: float) -> None:
        self.centre, length = torso(points)
        self.seen_at = t
        if length > 0:
            self.lengths.append(length)


def torso(points: np.ndarray) -> tuple[np.ndarray, float]:
    """(centre, length) of the torso of BODY_25 ``points`` (25, >=2): the mean of Neck and MidHip
    and their distance (the mean of the finite points, and 0, where either is missing)."""
    neck, hip = points[1, :2], points[8, :2]
    if np.isfinite(neck).all() and np.isfinite(hip).all():
        return (neck + hip) / 2, float(np.linalg.norm(neck - hip))
    finite = points[np.isfinite(points[:, :2]).all(axis=1), :2]
    return (finite.mean(axis=0) if len(finite) else np.full(2, np.nan)), 0.0


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
    tracked person's last box greyed out (the tracker is reset, so it starts again from that person);
    found there, it is kept and flagged uncertain, else the frame is lost (no keypoints): two people
    are never joined in one track. ``track_flag(time)`` and attrs ``frames_uncertain``,
    ``frames_lost``, ``person``, ``people_at_start`` say what happened.
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
        from miakit.stages.video import probe_video

        self.timings = PoseTimings()
        started = time.perf_counter()
        meta = probe_video(source)
        grid = time_grid(meta.duration_s, rate_hz=rate_hz)
        points = _empty_points(len(grid))
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


class Follower:
    """One frame at a time: the BODY_25 points (in full-image pixels) of the followed person and the
    frame's ``track_flag`` (see :class:`MediaPipeBackend`)."""

    def __init__(self, model: Any, backend: MediaPipeBackend, meta: Any):
        self.model, self.backend, self.meta = model, backend, meta
        self.gate = IdentityGate(max_speed=backend.max_torso_speed)
        self.box: tuple[int, int, int, int] | None = None  # (x0, y0, x1, y1) in inference pixels, enlarged
        self.people_at_start = 0
        self._restarted = False  # the graph's first call after a reset logs again: kept quiet

    def __call__(self, rgb: np.ndarray, t: float) -> tuple[np.ndarray | None, int]:
        found = self._run(rgb)
        if self.gate.centre is None:  # nobody followed yet
            if found is None:
                return None, TRACK_OK
            if self.backend.person != "start":
                found = self._choose(rgb, found)
            else:
                self.people_at_start = 1
            return self._keep(found, t), TRACK_OK
        if self.gate.accepts(found[0] if found else None, t):
            return self._keep(found, t), TRACK_OK
        self._reset()  # the tracker left the person (or lost them): look again where they were
        again = self._run(_only_inside(rgb, self.box))
        if self.gate.accepts(again[0] if again else None, t):
            return self._keep(again, t), TRACK_UNCERTAIN
        self._reset()  # so the next frame starts from a fresh detection, not from another person
        return None, TRACK_LOST

    def _reset(self) -> None:
        self.model.reset()
        self._restarted = True

    def _run(self, rgb: np.ndarray):
        if self._restarted:
            self._restarted = False
            with quiet_mediapipe():
                found = self.model.process(rgb).pose_landmarks
        else:
            found = self.model.process(rgb).pose_landmarks
        if found is None:
            return None
        landmarks = np.array([(p.x, p.y, p.visibility) for p in found.landmark])
        full = landmarks * np.array([self.meta.width, self.meta.height, 1.0])
        return blazepose_to_body25(full), landmarks[:, :2] * np.array([rgb.shape[1], rgb.shape[0]])

    def _keep(self, found, t: float) -> np.ndarray:
        points, pixels = found
        self.gate.accept(points, t)
        self.box = _box(pixels, margin=0.35)
        return points

    def _choose(self, rgb: np.ndarray, tracked):
        """Every person in view (each found with the ones before greyed out), then the one
        ``person`` names; the tracker is left following that one. ``tracked``: what the tracker
        found in this frame (kept where a fresh detection finds nobody)."""
        people, image = [], rgb.copy()
        for _ in range(6):
            self._reset()
            found = self._run(image)
            if found is None:
                break
            people.append(found)
            x0, y0, x1, y1 = _box(found[1], margin=0.05)
            image[y0:y1, x0:x1] = 128
        self.people_at_start = len(people)
        if not people:
            self.people_at_start = 1
            return tracked
        boxes = np.array([_box(p[1], margin=0.0) for p in people], dtype=np.float64)
        cx = (boxes[:, 0] + boxes[:, 2]) / 2
        choice = self.backend.person
        if choice == "left":
            k = int(np.argmin(cx))
        elif choice == "right":
            k = int(np.argmax(cx))
        elif choice == "center":
            k = int(np.argmin(np.hypot(cx - rgb.shape[1] / 2, (boxes[:, 1] + boxes[:, 3]) / 2 - rgb.shape[0] / 2)))
        else:  # largest
            k = int(np.argmax(boxes[:, 3] - boxes[:, 1]))
        self._reset()
        locked = self._run(_only_inside(rgb, _box(people[k][1], margin=0.35)))
        return locked if locked is not None else people[k]


def _box(pixels: np.ndarray, *, margin: float) -> tuple[int, int, int, int]:
    """The box around landmark pixels (33, 2), grown by ``margin`` of its larger side on each side."""
    lo, hi = np.nanmin(pixels, axis=0), np.nanmax(pixels, axis=0)
    grow = margin * float(max(hi - lo))
    x0, y0 = np.floor(lo - grow).astype(int)
    x1, y1 = np.ceil(hi + grow).astype(int)
    return max(x0, 0), max(y0, 0), max(x1, 0), max(y1, 0)


def _only_inside(rgb: np.ndarray, box: tuple[int, int, int, int] | None) -> np.ndarray:
    """``rgb`` greyed out outside ``box`` (the same size, so landmarks keep their coordinates)."""
    if box is None:
        return rgb
    x0, y0, x1, y1 = box
    out = np.full_like(rgb, 128)
    out[y0:y1, x0:x1] = rgb[y0:y1, x0:x1]
    return out


_QUIET_ENV = {"GLOG_minloglevel": "2", "TF_CPP_MIN_LOG_LEVEL": "3", "ABSL_MIN_LOG_LEVEL": "2"}


class quiet_mediapipe:
    """Keep MediaPipe's start-up lines (TFLite's XNNPACK note, absl warnings, protobuf's
    deprecation warning) off the terminal: log levels set in the environment, and the C-level
    standard error (file descriptor 2) sent to /dev/null inside the block. Use it around importing
    mediapipe, building a graph and its first call; real errors still raise as exceptions."""

    def __enter__(self):
        import sys
        import warnings

        for key, value in _QUIET_ENV.items():
            os.environ.setdefault(key, value)
        # protobuf warns on every results conversion, long after the block: ignored for good
        warnings.filterwarnings("ignore", message="SymbolDatabase.GetPrototype", category=UserWarning)
        sys.stderr.flush()
        self._saved = os.dup(2)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)
        return self

    def __exit__(self, *exc) -> None:
        import sys

        sys.stderr.flush()
        os.dup2(self._saved, 2)
        os.close(self._saved)


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
    from miakit.stages.video import sampled_frames

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


def identity_summary(ds) -> str:
    """One line on whom the track followed and where it was unsure (attrs of a video back end)."""
    flags = ds["track_flag"].values if "track_flag" in ds else None
    times = ds["time"].values

    def at(value: int) -> str:
        if flags is None or not (flags == value).any():
            return ""
        shown = [f"{t:.1f}" for t in times[flags == value][:6]]
        return " (at " + ", ".join(shown) + (", ..." if (flags == value).sum() > 6 else "") + " s)"

    people = int(ds.attrs.get("people_at_start", 0))
    who = ds.attrs.get("person", "start") + (
        f" of {people} in view at the start" if ds.attrs.get("person") != "start" else ""
    )
    return (
        f"{who}; identity uncertain in {ds.attrs['frames_uncertain']} frames{at(1)}, "
        f"lost in {ds.attrs['frames_lost']}{at(2)} (gate: {ds.attrs.get('identity_gate', '')})"
    )


def _progress(items: Iterable, *, total: int, show: bool, label: str) -> Iterable:
    if not show:
        yield from items
        return
    from miakit.progress import progress_bar

    with progress_bar(transient=True) as bar:  # on standard error (standard output is for results)
        task = bar.add_task(label, total=total)
        for item in items:
            yield item
            bar.advance(task)


@dataclass
class OpenPoseJsonBackend:
    """An OpenPose BODY_25 JSON folder, one file per video frame (frame n at ``n / fps`` s).

    Only the files of the frames nearest the grid times are opened. ``width`` and ``height`` are
    the image size the keypoints are in (OpenPose does not write it).
    """

    fps: float | None = None
    width: int = IMAGE_WIDTH
    height: int = IMAGE_HEIGHT
    name: str = "openpose_json"

    def keypoints(self, source: Path, *, rate_hz: float = RATE_HZ, progress: bool = False) -> xr.Dataset:
        from miakit.stages import openpose

        fps = _need_fps(self.fps, source, "an OpenPose folder")
        numbers = np.array(sorted(openpose.frame_index(p) for p in openpose.list_frames(source)), dtype=np.int64)
        first = int(numbers[0])
        grid = time_grid((numbers[-1] - first + 1) / fps, rate_hz=rate_hz)
        wanted = nearest_frames(grid, fps=fps, frames=int(numbers[-1] - first + 1)) + first
        read, people = openpose.read_folder(source, frames=wanted)
        row_of = {int(n): i for i, n in enumerate(read)}
        points = _empty_points(len(grid))
        frame_time = np.full(len(grid), np.nan)
        for j, number in enumerate(wanted):
            if number >= first and int(number) in row_of:
                points[j] = people[row_of[int(number)]]
                frame_time[j] = (number - first) / fps
        return keypoints_dataset(
            grid,
            points,
            frame_time,
            width=self.width,
            height=self.height,
            rotation=0,
            fps=fps,
            rate_hz=rate_hz,
            estimator="openpose-json",
            source=str(source),
        )


@dataclass
class MiaJoints2dBackend:
    """A clip of the public Muscles in Action release: ``joints2d.npy`` (frames, 49, 2) of VIBE
    joints in pixels, already at 10 Hz; the first 25 are BODY_25. VIBE gives no scores: a finite
    point scores 1. ``source`` is the file or the clip folder holding it. Never unpickles."""

    fps: float = RATE_HZ
    width: int = IMAGE_WIDTH
    height: int = IMAGE_HEIGHT
    name: str = "mia_joints2d"

    def keypoints(self, source: Path, *, rate_hz: float = RATE_HZ, progress: bool = False) -> xr.Dataset:
        path = Path(source)
        path = path / "joints2d.npy" if path.is_dir() else path
        check_file(path, max_bytes=MAX_KEYPOINT_FILE_BYTES)
        try:
            joints = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise InputError(path, f"not a readable numpy array ({exc.__class__.__name__})") from None
        if joints.ndim != 3 or joints.shape[1] < N_KEYPOINTS or joints.shape[2] != 2 or joints.shape[0] == 0:
            raise InputError(path, "wrong joints2d shape", expected=f"(frames, >={N_KEYPOINTS}, 2)", found=joints.shape)
        xy = joints[:, :N_KEYPOINTS].astype(np.float64)
        score = np.isfinite(xy).all(axis=2).astype(np.float64)
        return _resampled(
            np.concatenate([xy, score[:, :, None]], axis=2),
            fps=self.fps,
            rate_hz=rate_hz,
            width=self.width,
            height=self.height,
            estimator="vibe (mia release joints2d)",
            source=str(path),
        )


@dataclass
class VibeBackend:
    """VIBE's ``vibe_output.pkl`` (a joblib pickle: a dict per tracked person with
    ``joints2d_img_coord`` (frames, 49, 2) and ``frame_ids``). Loading a pickle runs code from the
    file, so it is refused unless ``trust_pickle`` is True. ``person`` picks a track by its key;
    by default the track present in most frames is kept."""

    fps: float | None = None
    trust_pickle: bool = False
    person: Any = None
    width: int = IMAGE_WIDTH
    height: int = IMAGE_HEIGHT
    name: str = "vibe"

    def keypoints(self, source: Path, *, rate_hz: float = RATE_HZ, progress: bool = False) -> xr.Dataset:
        path = Path(source)
        if not self.trust_pickle:
            raise InputError(
                path,
                "refusing to load a VIBE pickle: unpickling runs code stored in the file; "
                "pass trust_pickle=True only for a file you made or trust",
            )
        fps = _need_fps(self.fps, path, "a VIBE output")
        tracks = _load_pickle(path)
        if not isinstance(tracks, dict) or not tracks:
            raise InputError(
                path, "not a VIBE output", expected="a dict of tracked people", found=type(tracks).__name__
            )
        key = (
            self.person
            if self.person is not None
            else max(tracks, key=lambda k: len(_field(path, tracks[k], k, "frame_ids")))
        )
        if key not in tracks:
            raise InputError(
                path,
                "no such person in the VIBE output",
                field="person",
                expected=f"one of {sorted(tracks)}",
                found=key,
            )
        frame_ids = np.asarray(_field(path, tracks[key], key, "frame_ids"), dtype=np.int64)
        joints = np.asarray(_field(path, tracks[key], key, "joints2d_img_coord"), dtype=np.float64)
        if (
            joints.ndim != 3
            or joints.shape[0] != frame_ids.size
            or joints.shape[1] < N_KEYPOINTS
            or joints.shape[2] != 2
        ):
            raise InputError(
                path,
                "wrong joints2d_img_coord shape",
                field=f"{key}.joints2d_img_coord",
                expected=f"({frame_ids.size}, 49, 2)",
                found=joints.shape,
            )
        span = int(frame_ids.max()) + 1
        points = _empty_points(span)
        points[frame_ids, :, :2] = joints[:, :N_KEYPOINTS]
        points[frame_ids, :, 2] = np.isfinite(joints[:, :N_KEYPOINTS]).all(axis=2)
        return _resampled(
            points,
            fps=fps,
            rate_hz=rate_hz,
            width=self.width,
            height=self.height,
            estimator=f"vibe (person {key})",
            source=str(path),
        )


def _load_pickle(path: Path) -> Any:
    check_file(path, max_bytes=MAX_KEYPOINT_FILE_BYTES)
    try:
        import joblib
    except ImportError:
        joblib = None
    try:
        if joblib is not None:
            return joblib.load(path)
        with path.open("rb") as f:
            return pickle.load(f)  # noqa: S301 -- only reached with trust_pickle=True
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except Exception as exc:  # a pickle can fail in any way
        hint = "; install joblib to read joblib pickles" if joblib is None else ""
        raise InputError(path, f"not a readable pickle ({exc.__class__.__name__}: {exc}){hint}") from None


def _field(path: Path, track: Any, key: Any, name: str) -> Any:
    if not isinstance(track, dict) or name not in track:
        raise InputError(path, "not a VIBE output", field=f"{key}.{name}", expected="present", found="missing")
    return track[name]


def _need_fps(fps: float | None, source: Path, what: str) -> float:
    if fps is None or not fps > 0:
        raise InputError(
            source,
            f"the frame rate of {what} is needed",
            field="fps",
            expected="> 0 (the video's frames per second)",
            found=fps,
        )
    return float(fps)


def _resampled(
    points: np.ndarray, *, fps: float, rate_hz: float, width: int, height: int, estimator: str, source: str
) -> xr.Dataset:
    """Frames 0..n-1 at ``fps`` -> the ``rate_hz`` grid, by the frame nearest each grid time."""
    grid = time_grid(points.shape[0] / fps, rate_hz=rate_hz)
    wanted = nearest_frames(grid, fps=fps, frames=points.shape[0])
    out = np.where((wanted >= 0)[:, None, None], points[np.maximum(wanted, 0)], _empty_points(len(grid)))
    frame_time = np.where(wanted >= 0, wanted / fps, np.nan)
    return keypoints_dataset(
        grid,
        out,
        frame_time,
        width=width,
        height=height,
        rotation=0,
        fps=fps,
        rate_hz=rate_hz,
        estimator=estimator,
        source=source,
    )


# -- the entry points -----------------------------------------------------------------------------

BACKENDS: dict[str, Callable[..., PoseBackend]] = {
    "mediapipe": MediaPipeBackend,
    "openpose_json": OpenPoseJsonBackend,
    "mia_joints2d": MiaJoints2dBackend,
    "vibe": VibeBackend,
}
"""Back end name -> constructor (keyword arguments: the back end's settings)."""

VIDEO_BACKENDS = ("mediapipe",)
"""Back ends that estimate from a video; the others read a keypoint file."""


def make_backend(name: str, **settings: Any) -> PoseBackend:
    """A back end by name, with its settings (for example ``fps``, ``trust_pickle``)."""
    if name not in BACKENDS:
        raise InputError("pose back end", "unknown back end", expected=f"one of {', '.join(BACKENDS)}", found=name)
    return BACKENDS[name](**settings)


def estimate_pose(
    video: str | Path,
    *,
    rate_hz: float = RATE_HZ,
    backend: str = "mediapipe",
    progress: bool = True,
    timings: dict | None = None,
    **settings: Any,
) -> xr.Dataset:
    """Estimate BODY_25 keypoints of the person in ``video`` on a ``rate_hz`` grid.

    Only the frames nearest the grid times are decoded. ``settings`` go to the back end (for
    MediaPipe: ``inference_height``, ``smooth_landmarks``, ...). Where ``timings`` is a dict, it is
    filled with frames, setup_s, decode_s, inference_s, wall_s and frames per second: decode_fps,
    inference_fps, overall_fps (all of wall_s) and running_fps (wall_s less setup_s). Raises
    InputError for an unreadable video, and "no person in view" when no frame has a person.
    """
    if backend not in VIDEO_BACKENDS:
        raise InputError(
            video,
            "not a video pose back end",
            field="backend",
            expected=f"one of {', '.join(VIDEO_BACKENDS)}",
            found=backend,
        )
    model = make_backend(backend, **settings)
    ds = model.keypoints(Path(video), rate_hz=rate_hz, progress=progress)
    if timings is not None and hasattr(model, "timings"):
        timings.update(model.timings.as_dict())
    if ds.attrs["frames_with_person"] == 0:
        bad = int(ds.attrs.get("frames_undecodable", 0))
        skipped = f"; {bad} undecodable frames skipped (damaged video data)" if bad else ""
        raise InputError(video, f"no person in view (none in {ds.sizes['time']} frames at {rate_hz:g} Hz{skipped})")
    return ds


def load_keypoints(
    source: str | Path,
    *,
    kind: str,
    rate_hz: float = RATE_HZ,
    fps: float | None = None,
    trust_pickle: bool = False,
    **settings: Any,
) -> xr.Dataset:
    """Read keypoints another tool wrote, on a ``rate_hz`` grid.

    ``kind``: ``openpose_json`` (a folder; ``fps`` of its video needed), ``mia_joints2d`` (a
    ``joints2d.npy`` or its clip folder; 10 Hz unless ``fps`` says otherwise) or ``vibe`` (a
    ``vibe_output.pkl``; ``fps`` needed; loaded only with ``trust_pickle=True``).
    """
    source = Path(source)
    if kind not in BACKENDS or kind in VIDEO_BACKENDS:
        readers = [k for k in BACKENDS if k not in VIDEO_BACKENDS]
        raise InputError(
            source, "unknown keypoint file kind", field="kind", expected=f"one of {', '.join(readers)}", found=kind
        )
    if not source.exists():
        raise InputError(source, "no such file or folder")
    if kind == "vibe":
        settings["trust_pickle"] = trust_pickle
    if fps is not None:
        settings["fps"] = fps
    return make_backend(kind, **settings).keypoints(source, rate_hz=rate_hz, progress=False)
