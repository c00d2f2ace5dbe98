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

One craft per file: the layout and the interface (``layout.py``), the MediaPipe back end
(``mediapipe.py``), whom it follows (``following.py``), its quiet start (``quiet.py``), the readers of
other tools' files (``readers.py``); here the back ends by name and the entry points
(:func:`estimate_pose`, :func:`load_keypoints`). mediapipe, cv2 and joblib are imported inside the
functions that use them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import xarray as xr

from miakit.errors import InputError
from miakit.layout import RATE_HZ
from miakit.stages.pose.following import (
    PERSON_CHOICES,
    TRACK_LOST,
    TRACK_OK,
    TRACK_UNCERTAIN,
    Follower,
    IdentityGate,
    identity_summary,
    torso,
)
from miakit.stages.pose.layout import (
    BLAZEPOSE_TO_BODY25,
    N_KEYPOINTS,
    PoseBackend,
    blazepose_to_body25,
    keypoints_dataset,
)
from miakit.stages.pose.mediapipe import MediaPipeBackend, PoseTimings, inference_image
from miakit.stages.pose.quiet import quiet_mediapipe
from miakit.stages.pose.readers import MAX_KEYPOINT_FILE_BYTES, MiaJoints2dBackend, OpenPoseJsonBackend, VibeBackend

__all__ = [
    "BACKENDS",
    "BLAZEPOSE_TO_BODY25",
    "MAX_KEYPOINT_FILE_BYTES",
    "N_KEYPOINTS",
    "PERSON_CHOICES",
    "TRACK_LOST",
    "TRACK_OK",
    "TRACK_UNCERTAIN",
    "VIDEO_BACKENDS",
    "Follower",
    "IdentityGate",
    "MediaPipeBackend",
    "MiaJoints2dBackend",
    "OpenPoseJsonBackend",
    "PoseBackend",
    "PoseTimings",
    "VibeBackend",
    "blazepose_to_body25",
    "estimate_pose",
    "identity_summary",
    "inference_image",
    "keypoints_dataset",
    "load_keypoints",
    "make_backend",
    "quiet_mediapipe",
    "torso",
]


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
