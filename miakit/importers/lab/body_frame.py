"""The body's frame in the lab: which lab axis points up (:func:`find_vertical`) and which way the
subject faces, frame by frame (:func:`facing_path`), smoothed so that the cameras turn with a subject
who turns (:func:`smooth`)."""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np

from miakit.errors import InputError
from miakit.importers.lab.lab_trial import LabTrial
from miakit.importers.markerset import Mapping, normalize_label
from miakit.layout import BODY_25

FACING_WINDOW_S = 1.0
"""The cameras turn with the subject's facing smoothed over this long (about one stride)."""
_UPPER = ("Nose", "REye", "LEye", "REar", "LEar", "Neck", "RShoulder", "LShoulder")
_FEET = ("RAnkle", "LAnkle", "RHeel", "LHeel", "RBigToe", "LBigToe", "RSmallToe", "LSmallToe")
_HIPS = ("MidHip", "RHip", "LHip")


def _joint_mean(xyz: np.ndarray, names) -> np.ndarray:
    idx = [BODY_25.index(n) for n in names]
    with np.errstate(invalid="ignore"), _quiet():
        return np.nanmean(xyz[:, idx], axis=1)


@contextmanager
def _quiet():
    """Silence numpy's all-NaN warnings (an all-missing joint is expected here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


_KNEES = ("RKnee", "LKnee")
_ANKLES = ("RAnkle", "LAnkle", "RHeel", "LHeel")
_HEAD_JOINTS = ("Nose", "REye", "LEye", "REar", "LEar")
_ARM_JOINTS = ("RShoulder", "LShoulder", "RElbow", "LElbow")
VERTICAL_PAIRS = (
    ("upper body above the feet", _UPPER, _FEET),
    ("upper body above the hips", _UPPER, _HIPS),
    ("hips above the feet", _HIPS, _FEET),
    ("knees above the ankles", _KNEES, _ANKLES),
    ("head above the shoulders and elbows", _HEAD_JOINTS, _ARM_JOINTS),
)
"""Joints that lie above others in any posture a trial shows, in the order :func:`find_vertical`
tries them (a handstand is not a trial)."""
MIN_VERTICAL_SHARE = 0.6
"""The axis found must hold at least this share of the upper-lower distance (else the body is
lying, or the joints say nothing about the vertical)."""


def vertical_axis(xyz: np.ndarray, where, trial: LabTrial | None = None) -> np.ndarray:
    """The lab axis (a signed unit vector) pointing up: :func:`find_vertical`."""
    return find_vertical(xyz, where, trial)[0]


def find_vertical(xyz: np.ndarray, where, trial: LabTrial | None = None) -> tuple[np.ndarray, str]:
    """The lab axis pointing up (a signed unit vector) and how it was found, from what is there:

    1. joints that lie above others (:data:`VERTICAL_PAIRS`: the upper body above the feet or the
       hips, the hips above the feet, the knees above the ankles, the head above the shoulders),
       the median over the frames where both are seen;
    2. the file's own axes (C3D ``POINT:Y_SCREEN``, the axis a viewer shows upward);
    3. the force plates' plane (``FORCE_PLATFORM:CORNERS``), its normal toward the body;
    4. the floor: the plane the feet rest on while still, its normal toward the body.
    """
    for how, upper, lower in VERTICAL_PAIRS:
        with _quiet():
            d = np.nanmedian(_joint_mean(xyz, upper) - _joint_mean(xyz, lower), axis=0)
        if np.isfinite(d).all() and np.max(np.abs(d)) >= MIN_VERTICAL_SHARE * np.linalg.norm(d) > 0:
            return _signed_axis(d), how
    body = np.nanmedian(xyz.reshape(-1, 3), axis=0) if np.isfinite(xyz).any() else None
    if trial is not None:
        screen = str(trial.axes.get("Y_SCREEN", "")).strip().upper()
        if len(screen) == 2 and screen[0] in "+-" and screen[1] in "XYZ":
            up = np.zeros(3)
            up["XYZ".index(screen[1])] = 1.0 if screen[0] == "+" else -1.0
            return up, f"the file's POINT:Y_SCREEN ({screen})"
        for corners in trial.plate_corners:
            normal = np.cross(corners[1] - corners[0], corners[2] - corners[0])
            if body is not None and np.linalg.norm(normal) > 0:
                normal = normal * np.sign((body - corners.mean(axis=0)) @ normal)
                return _signed_axis(normal), "the force plates' plane"
    floor = _floor_normal(xyz)
    if floor is not None:
        return floor, "the plane the feet rest on"
    raise InputError(
        where,
        "cannot find the vertical",
        expected="joints of the upper body and of the feet or hips, the hips and the feet, the knees and "
        "ankles, or the head and the shoulders, in the same frames (or POINT:Y_SCREEN, or force plates)",
        found="none",
    )


def _signed_axis(d: np.ndarray) -> np.ndarray:
    axis = int(np.argmax(np.abs(d)))
    up = np.zeros(3)
    up[axis] = np.sign(d[axis])
    return up


FLOOR_STILL_FRACTION = 0.2
"""A foot rests where it moves at less than this fraction of its top speed."""


def _floor_normal(xyz: np.ndarray) -> np.ndarray | None:
    """The lab axis nearest the normal of the plane the feet rest on (their still frames span it),
    pointing toward the rest of the body; None where the feet do not span a plane."""
    idx = [BODY_25.index(j) for j in _FEET]
    still = []
    for i in idx:
        p = xyz[:, i]
        v = np.linalg.norm(np.diff(p, axis=0), axis=1)
        if np.isfinite(v).sum() < 10:
            continue
        top = np.nanpercentile(v, 95)
        still.append(p[1:][v < FLOOR_STILL_FRACTION * top])
    if not still:
        return None
    pts = np.concatenate(still)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts) < 10:
        return None
    centred = pts - pts.mean(axis=0)
    _, sv, vt = np.linalg.svd(centred, full_matrices=False)
    if sv[1] < 3 * sv[2]:  # the still feet do not lie on a plane (they span a line, or a volume)
        return None
    normal = vt[2]
    with _quiet():
        body = np.nanmean(xyz.reshape(-1, 3), axis=0)
    if not np.isfinite(body).all():
        return None
    return _signed_axis(normal * np.sign((body - pts.mean(axis=0)) @ normal))


def _facing_frames(
    markers: dict[str, np.ndarray], mapping: Mapping, xyz: np.ndarray, up: np.ndarray, where
) -> np.ndarray:
    """The subject's horizontal facing per frame (unit vectors, NaN where unknown): from the back of
    the pelvis to its front, else (in those frames) square to the hips' or shoulders' left-right axis."""

    def mean_of(spec):
        options = spec if spec and isinstance(spec[0], list) else [spec]
        for names in options:
            keys = [normalize_label(n) for n in names or []]
            if keys and all(k in markers for k in keys):
                return np.mean([markers[k] for k in keys], axis=0)
        return None

    d = np.full((len(xyz), 3), np.nan)
    front, back = mean_of(mapping.facing.get("front")), mean_of(mapping.facing.get("back"))
    if front is not None and back is not None:
        d = front - back
    for front_names, back_names in mapping.facing.get("pairs", []):  # the anatomy's: pelvis, trunk, head
        front, back = mean_of(front_names), mean_of(back_names)
        if front is not None and back is not None:
            missing = ~np.isfinite(d).all(axis=1)
            d[missing] = (front - back)[missing]
    for right, left in (("RHip", "LHip"), ("RShoulder", "LShoulder")):
        missing = ~np.isfinite(d).all(axis=1)
        d[missing] = np.cross(up, xyz[missing, BODY_25.index(right)] - xyz[missing, BODY_25.index(left)])
    d = d - (d @ up)[:, None] * up
    with np.errstate(invalid="ignore", divide="ignore"):
        d = d / np.linalg.norm(d, axis=1, keepdims=True)
    if not np.isfinite(d).all(axis=1).any():
        raise InputError(
            where,
            "cannot find which way the subject faces",
            expected="pelvis markers, or both hips or both shoulders",
            found="none",
        )
    return d


def facing_direction(
    markers: dict[str, np.ndarray], mapping: Mapping, xyz: np.ndarray, up: np.ndarray, where
) -> np.ndarray:
    """The subject's median horizontal facing (unit vector), from the pelvis markers, else the hips or shoulders."""
    with _quiet():
        f = np.nanmedian(_facing_frames(markers, mapping, xyz, up, where), axis=0)
    f = f - (f @ up) * up
    return f / np.linalg.norm(f)


def facing_path(
    markers: dict[str, np.ndarray],
    mapping: Mapping,
    xyz: np.ndarray,
    up: np.ndarray,
    rate_hz: float,
    where,
    *,
    window_s: float = FACING_WINDOW_S,
) -> np.ndarray:
    """The subject's horizontal facing per frame (frames, 3), its angle smoothed over ``window_s``:
    a turn is followed, the pelvis' own swing within a stride is averaged out."""
    d = _facing_frames(markers, mapping, xyz, up, where)
    e1 = facing_direction(markers, mapping, xyz, up, where)
    e2 = np.cross(up, e1)
    angle = np.arctan2(d @ e2, d @ e1)
    ok = np.isfinite(angle)
    angle[ok] = np.unwrap(angle[ok])
    angle = smooth(angle[:, None], int(round(window_s * rate_hz)))[:, 0]
    return np.cos(angle)[:, None] * e1 + np.sin(angle)[:, None] * e2


def smooth(x: np.ndarray, window: int, order: int = 1) -> np.ndarray:
    """A (frames, k) series with NaN frames bridged by straight lines, then smoothed by a centred
    polynomial fit of ``order`` over ``window`` frames (Savitzky-Golay; order 1 is a moving average
    inside and a fitted line at the ends), so that steady motion passes unchanged: a constant rate
    with order 1 (a steady turn's angle), a steady walk along a straight line or an arc with order 2."""
    from scipy.signal import savgol_filter

    out = np.array(x, dtype=np.float64)
    t = np.arange(len(out))
    for k in range(out.shape[1]):
        ok = np.isfinite(out[:, k])
        out[:, k] = np.interp(t, t[ok], out[ok, k]) if ok.any() else 0.0
    window = window | 1  # odd
    if window < 3 or len(out) < 2:
        return out
    if len(out) < window:  # shorter than the window: one fit
        return np.stack(
            [np.polyval(np.polyfit(t, out[:, k], min(order, len(out) - 1)), t) for k in range(out.shape[1])], axis=1
        )
    return savgol_filter(out, window, order, axis=0, mode="interp")


def _mean_direction(forward: np.ndarray) -> np.ndarray:
    """The mean of a facing path's unit vectors, unit length (0 where they cancel or none is known)."""
    with _quiet():
        mean = np.nanmean(np.asarray(forward, dtype=np.float64).reshape(-1, 3), axis=0)
    norm = float(np.linalg.norm(mean)) if np.isfinite(mean).all() else 0.0
    return mean / norm if norm > 1e-9 else np.zeros(3)
