"""Keypoints another tool wrote, as back ends: an OpenPose JSON folder (:class:`OpenPoseJsonBackend`),
the MIA release's ``joints2d.npy`` (:class:`MiaJoints2dBackend`) and VIBE's pickle
(:class:`VibeBackend`, only when trusted); a source at another rate put on the grid by the frame
nearest each grid time. joblib is imported inside the function that uses it."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from miakit.errors import InputError
from miakit.files import check_file
from miakit.layout import IMAGE_HEIGHT, IMAGE_WIDTH, RATE_HZ
from miakit.stages import openpose
from miakit.stages.grid import nearest_frames, time_grid
from miakit.stages.pose.layout import N_KEYPOINTS, empty_points, keypoints_dataset

MAX_KEYPOINT_FILE_BYTES = 1 << 30
"""Cap on a keypoint file another tool wrote (a joints2d.npy, a VIBE output), 1 GiB."""


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

        fps = _need_fps(self.fps, source, "an OpenPose folder")
        numbers = np.array(sorted(openpose.frame_index(p) for p in openpose.list_frames(source)), dtype=np.int64)
        first = int(numbers[0])
        grid = time_grid((numbers[-1] - first + 1) / fps, rate_hz=rate_hz)
        wanted = nearest_frames(grid, fps=fps, n_frames=int(numbers[-1] - first + 1), tolerance=1.0) + first
        read, people = openpose.read_folder(source, frames=wanted)
        row_of = {int(n): i for i, n in enumerate(read)}
        points = empty_points(len(grid))
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
        points = empty_points(span)
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
    wanted = nearest_frames(grid, fps=fps, n_frames=points.shape[0], tolerance=1.0)
    out = np.where((wanted >= 0)[:, None, None], points[np.maximum(wanted, 0)], empty_points(len(grid)))
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
