"""A portrait preview video of a moving BODY_25 skeleton, so people can look at a session.

The video is 1/4 of the keypoint frame (270x480 for 1080x1920) at 15 fps (every second frame of
30 fps keypoints), MPEG-4 in an .mp4 file. ``cv2`` is imported only when a video is written.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from miakit.layout import BODY_25, BODY_25_EDGES, IMAGE_HEIGHT, IMAGE_WIDTH

FOURCCS = ("mp4v", "avc1")
"""Codecs tried in order; pip wheels of OpenCV write 'mp4v' (MPEG-4 part 2), 'avc1' needs H.264."""

_LEFT, _RIGHT, _MID = (255, 160, 60), (60, 80, 255), (90, 220, 90)  # BGR: left blue, right red


def _side(name: str) -> str:
    """The side, "L" or "R", of a sided BODY_25 name (LElbow, RHeel), "" for a midline one (Nose, Neck)."""
    return name[0] if name[0] in "LR" and name[1].isupper() else ""


def _colour(i: int, j: int) -> tuple[int, int, int]:
    side = _side(BODY_25[j]) or _side(BODY_25[i])
    return {"L": _LEFT, "R": _RIGHT}.get(side, _MID)


@lru_cache(maxsize=1)
def video_fourcc() -> str:
    """The first codec of :data:`FOURCCS` that this cv2 can write and read back."""
    import tempfile

    import cv2

    for code in FOURCCS:
        with tempfile.TemporaryDirectory() as tmp:
            path = str(Path(tmp) / "probe.mp4")
            fourcc = cv2.VideoWriter_fourcc(*code)  # type: ignore[attr-defined]  # missing from cv2's stubs
            writer = cv2.VideoWriter(path, fourcc, 15.0, (64, 64))
            if not writer.isOpened():
                continue
            for _ in range(2):
                writer.write(np.zeros((64, 64, 3), np.uint8))
            writer.release()
            reader = cv2.VideoCapture(path)
            ok, _frame = reader.read()
            reader.release()
            if ok:
                return code
    raise RuntimeError(f"this OpenCV build can write none of the codecs {FOURCCS} to .mp4")


def render_skeleton_video(
    path: str | Path,
    keypoints: np.ndarray,
    *,
    keypoint_fps: float = 30.0,
    fps: float = 15.0,
    scale: float = 0.25,
    width: int = IMAGE_WIDTH,
    height: int = IMAGE_HEIGHT,
    title: str = "",
) -> int:
    """Draw ``keypoints`` (frames, 25, 3: x, y, score in source pixels) as a skeleton video.

    Every ``keypoint_fps / fps``-th keypoint frame becomes a video frame of ``scale`` times the
    source size; points with score 0 are not drawn. Returns the number of frames written.
    """
    import cv2

    step = keypoint_fps / fps
    if abs(step - round(step)) > 1e-9 or step < 1:
        raise ValueError(f"keypoint_fps / fps must be a whole number >= 1, found {step}")
    frames = keypoints[:: int(round(step))]
    size = (int(round(width * scale)), int(round(height * scale)))
    fourcc = cv2.VideoWriter_fourcc(*video_fourcc())  # type: ignore[attr-defined]  # missing from cv2's stubs
    writer = cv2.VideoWriter(str(path), fourcc, fps, size)
    if not writer.isOpened():
        raise RuntimeError(f"{path}: cv2 could not open a video writer")
    colours = [_colour(i, j) for i, j in BODY_25_EDGES]
    ground = int(size[1] * 0.97)
    try:
        for n, person in enumerate(frames):
            img = np.full((size[1], size[0], 3), 32, np.uint8)
            cv2.line(img, (0, ground), (size[0], ground), (70, 70, 70), 1)
            pts = np.round(person[:, :2] * scale).astype(np.int32)
            seen = person[:, 2] > 0
            for (i, j), colour in zip(BODY_25_EDGES, colours):
                if seen[i] and seen[j]:
                    cv2.line(
                        img, (int(pts[i, 0]), int(pts[i, 1])), (int(pts[j, 0]), int(pts[j, 1])), colour, 2, cv2.LINE_AA
                    )
            for k in np.flatnonzero(seen):
                cv2.circle(img, (int(pts[k, 0]), int(pts[k, 1])), 2, (235, 235, 235), -1, cv2.LINE_AA)
            if title:
                cv2.putText(img, title, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (220, 220, 220), 1, cv2.LINE_AA)
            cv2.putText(
                img,
                f"{n / fps:5.1f} s",
                (6, size[1] - 8),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.35,
                (180, 180, 180),
                1,
                cv2.LINE_AA,
            )
            writer.write(img)
    finally:
        writer.release()
    return len(frames)
