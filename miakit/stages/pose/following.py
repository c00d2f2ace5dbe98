"""Whom a video back end follows: one identity through a clip (:class:`IdentityGate`), the person
chosen at the start (:data:`PERSON_CHOICES`), frame by frame (:class:`Follower`), and a line on how
it went (:func:`identity_summary`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from miakit.stages.pose.layout import blazepose_to_body25

if TYPE_CHECKING:
    from miakit.stages.pose.mediapipe import MediaPipeBackend


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


class Follower:
    """One frame at a time: the BODY_25 points (in full-image pixels) of the followed person and the
    frame's ``track_flag`` (see :class:`MediaPipeBackend`)."""

    def __init__(self, model: Any, backend: MediaPipeBackend, meta: Any):
        self.model, self.backend, self.meta = model, backend, meta
        self.gate = IdentityGate(max_speed=backend.max_torso_speed)
        self.box: tuple[int, int, int, int] | None = None  # (x0, y0, x1, y1) in inference pixels, enlarged
        self.people_at_start = 0

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
        self._reset(rgb)  # the tracker left the person (or lost them): look again where they were
        again = self._run(_only_inside(rgb, self.box))
        if self.gate.accepts(again[0] if again else None, t):
            return self._keep(again, t), TRACK_UNCERTAIN
        self._reset(rgb)  # so the next frame starts from a fresh detection, not from another person
        return None, TRACK_LOST

    def _reset(self, like: np.ndarray) -> None:
        """Make the tracker forget its person, so its next frame starts from a fresh detection: one
        grey frame of ``like``'s size, with nobody in it, ends the track and its smoothing. The same
        landmarks follow as after a restart of MediaPipe's graph (``model.reset()``), at a third of the
        cost: the first frame after a restart builds the graph's models again (170 ms against 45 ms
        for a tracked frame and 35 ms for the grey one, on this project's 2-core machine), which was
        the long tail of the live view's pose step."""
        self.model.process(np.full_like(like, 128))

    def _run(self, rgb: np.ndarray):
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
            self._reset(rgb)
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
        self._reset(rgb)
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
