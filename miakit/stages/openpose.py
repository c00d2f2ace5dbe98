"""OpenPose BODY_25 JSON folders: one ``<name>_<frame:012d>_keypoints.json`` per video frame.

Each file holds ``{"version": 1.3, "people": [{"pose_keypoints_2d": [x0, y0, c0, x1, ...]}]}``
(75 numbers for BODY_25). A missing point is written as ``0, 0, 0``, as OpenPose does.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from miakit.errors import InputError

N_KEYPOINTS = 25


def frame_filename(frame: int, prefix: str = "frame") -> str:
    return f"{prefix}_{frame:012d}_keypoints.json"


def write_frame(path: str | Path, people: list[np.ndarray]) -> None:
    """Write one frame. ``people`` holds a (25, 3) array (x, y, score) per person."""
    body = {
        "version": 1.3,
        "people": [
            {"person_id": [-1], "pose_keypoints_2d": [round(float(v), 3) for v in _to_openpose(p).ravel()]}
            for p in people
        ],
    }
    Path(path).write_text(json.dumps(body, separators=(",", ":")))


def _to_openpose(person: np.ndarray) -> np.ndarray:
    person = np.asarray(person, dtype=np.float64).copy()
    missing = ~np.isfinite(person[:, :2]).all(axis=1) | (person[:, 2] <= 0)
    person[missing] = 0.0
    return person


def read_frame(path: str | Path) -> list[np.ndarray]:
    """Read one frame: a (25, 3) array (x, y, score) per person, missing points as NaN, score 0."""
    try:
        body = json.loads(Path(path).read_text())
        people = body["people"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(path, f"not an OpenPose JSON frame ({exc.__class__.__name__})") from None
    out = []
    for i, person in enumerate(people):
        flat = np.asarray(person.get("pose_keypoints_2d", []), dtype=np.float64)
        if flat.size != N_KEYPOINTS * 3:
            raise InputError(
                path,
                "wrong keypoint count",
                field=f"people[{i}].pose_keypoints_2d",
                expected=N_KEYPOINTS * 3,
                found=flat.size,
            )
        arr = flat.reshape(N_KEYPOINTS, 3)
        missing = arr[:, 2] <= 0
        arr[missing, :2] = np.nan
        arr[missing, 2] = 0.0
        out.append(arr)
    return out


def list_frames(folder: str | Path) -> list[Path]:
    """The frame files of a folder, in frame order."""
    files = sorted(Path(folder).glob("*_keypoints.json"), key=lambda p: p.name)  # one folder: names order them
    if not files:
        raise InputError(folder, "no OpenPose *_keypoints.json files")
    return files


def frame_index(path: Path) -> int:
    """The frame number in an OpenPose file name (``..._000000000042_keypoints.json`` -> 42)."""
    stem = path.name.removesuffix("_keypoints.json")
    digits = stem.rsplit("_", 1)[-1]
    if not digits.isdigit():
        raise InputError(
            path, "no frame number in the file name", expected="<name>_<frame>_keypoints.json", found=path.name
        )
    return int(digits)


def read_folder(folder: str | Path, *, frames: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read a folder as one person per frame.

    Returns ``(frame_numbers, keypoints)`` where keypoints is (frames, 25, 3) with x, y, score.
    Where several people are in view, the one closest to the previous frame's choice is kept
    (the most confident one first), so the same person is followed. ``frames`` restricts reading
    to those frame numbers (the rest are never opened).
    """
    files = {frame_index(p): p for p in list_frames(folder)}
    numbers = np.array(sorted(files), dtype=np.int64)
    if frames is not None:
        numbers = numbers[np.isin(numbers, np.asarray(frames))]
    out = np.full((len(numbers), N_KEYPOINTS, 3), np.nan)
    out[:, :, 2] = 0.0
    previous: np.ndarray | None = None
    for row, number in enumerate(numbers):
        people = read_frame(files[number])
        if not people:
            continue
        person = _follow(people, previous)
        out[row] = person
        previous = person
    return numbers, out


def _follow(people: list[np.ndarray], previous: np.ndarray | None) -> np.ndarray:
    if len(people) == 1:
        return people[0]
    if previous is None:
        return max(people, key=lambda p: float(p[:, 2].sum()))

    def distance(p: np.ndarray) -> float:
        both = np.isfinite(p[:, 0]) & np.isfinite(previous[:, 0])
        if not both.any():
            return np.inf
        return float(np.nanmean(np.linalg.norm(p[both, :2] - previous[both, :2], axis=1)))

    return min(people, key=distance)
