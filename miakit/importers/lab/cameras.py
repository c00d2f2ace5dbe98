"""The virtual cameras: the 10 Hz joint centres projected into a phone's portrait frame, one
camera per view (:func:`project_views`), panning with the subject; views named or given as yaw
angles (:func:`parse_views`)."""

from __future__ import annotations

import numpy as np

from miakit.errors import InputError
from miakit.importers.lab.body_frame import _HIPS, _joint_mean, _quiet, smooth
from miakit.layout import BODY_25, IMAGE_HEIGHT, IMAGE_WIDTH, RATE_HZ

PAN_WINDOW_S = 1.0
"""The panning camera follows the pelvis' path smoothed over this long (about one stride) by a
quadratic fit, so that it follows a straight walk, a treadmill (none) and a steady turn exactly."""
VERTICAL_FOV_DEG = 65.5
"""A phone's main camera (28 mm equivalent) along the long side: portrait, so vertical."""
FILL = 0.9
"""The subject's height (and reach to either side) fills at most this fraction of the frame, at the
nearest depth a point comes to; the body's middle plane is further, so it fills less (about 0.7)."""
VIEWS = {"front": 0.0, "side": 90.0, "right": 90.0, "back": 180.0, "left": -90.0}
"""Named views, as yaw angles (degrees from the front, positive toward the subject's right)."""


def parse_views(text: str) -> list[tuple[str, float]]:
    """``front,side`` or ``0,45,90`` -> [(name, yaw_deg)]."""
    out = []
    for item in [t.strip() for t in str(text).split(",") if t.strip()]:
        if item.lower() in VIEWS:
            out.append((item.lower(), VIEWS[item.lower()]))
            continue
        try:
            yaw = float(item)
        except ValueError:
            raise InputError(
                "--views", "unknown view", expected=f"{', '.join(VIEWS)} or yaw angles in degrees", found=item
            ) from None
        out.append((f"yaw{yaw:+g}", yaw))
    if not out:
        raise InputError("--views", "no views", expected="front,side or a list of yaw angles", found=text)
    return out


HEAD_ABOVE_SHOULDERS = 0.55
"""Where a marker set has no head markers, the head's joints lie above the shoulders by this
fraction of the shoulders' height above the hips (anthropometric proportions of the body's height
H after Drillis and Contini, as Winter tables them: shoulder joint about 0.79 H, hip joint 0.50 H,
eyes and forehead about 0.95 H)."""
_HEAD = ("Nose", "REye", "LEye", "REar", "LEar")
_SHOULDERS = ("Neck", "RShoulder", "LShoulder")


def _head_height(height: np.ndarray) -> float:
    """The head's height (frames, 25 joints): its highest joint, else estimated from the shoulders
    and hips; -inf where neither is there."""
    head = height[:, [BODY_25.index(j) for j in _HEAD]]
    if np.isfinite(head).any():
        return float(np.nanmax(head))
    with _quiet():
        shoulders = np.nanmedian(height[:, [BODY_25.index(j) for j in _SHOULDERS]])
        hips = np.nanmedian(height[:, [BODY_25.index(j) for j in _HIPS]])
    if not (np.isfinite(shoulders) and np.isfinite(hips)):
        return -np.inf
    return float(shoulders + HEAD_ABOVE_SHOULDERS * (shoulders - hips))


def project_views(
    xyz: np.ndarray,
    *,
    up: np.ndarray,
    forward: np.ndarray,
    views: list[tuple[str, float]],
    pan_window_s: float = PAN_WINDOW_S,
) -> tuple[list[np.ndarray], dict]:
    """Project 10 Hz joint centres (frames, 25, 3) mm into a portrait frame per view: (frames, 25, 2)
    px, NaN out of frame.

    ``forward``: the subject's facing, one unit vector or one per frame (:func:`facing_path`)."""
    forward = np.broadcast_to(np.asarray(forward, dtype=np.float64), (len(xyz), 3))
    right = np.cross(forward, up)
    centre = _joint_mean(xyz, _HIPS)
    if not np.isfinite(centre).any():
        with _quiet():
            centre = np.nanmean(xyz, axis=1)
    path = smooth(centre, int(round(pan_window_s * RATE_HZ)), order=2)
    rel = xyz - path[:, None, :]
    height = rel @ up  # the vertical coordinate of every point, relative to the pelvis' path
    rel = rel - height[..., None] * up  # horizontal part
    with _quiet():
        low, high = float(np.nanmin(height)), float(np.nanmax(height))
        reach = float(np.nanpercentile(np.linalg.norm(rel, axis=-1), 99))  # how far points stray from the pelvis' path
    # The person spans from the lowest joint to the head (the highest head joint; a set without
    # head markers: the shoulders' height plus HEAD_ABOVE_SHOULDERS of the trunk), or any joint
    # above; 10 % more (head top and soles lie beyond the joints), framed about its middle.
    high = max(high, _head_height(height))
    span, mid = 1.1 * (high - low), (low + high) / 2
    focal = (IMAGE_HEIGHT / 2) / np.tan(np.radians(VERTICAL_FOV_DEG / 2))
    # Far enough that the whole height, and the whole reach to either side, fit FILL of the frame
    # even at the nearest depth a point comes to (reach in front of the subject's plane).
    distance = max(focal * span / (FILL * IMAGE_HEIGHT), focal * 2 * reach / (FILL * IMAGE_WIDTH)) + reach
    out = []
    for _, yaw in views:
        a = np.radians(yaw)
        towards_camera = np.cos(a) * forward + np.sin(a) * right  # (frames, 3)
        image_right = np.cross(-towards_camera, up)
        x_cam = np.einsum("fjk,fk->fj", rel, image_right)
        z_cam = distance - np.einsum("fjk,fk->fj", rel, towards_camera)
        y_cam = height - mid
        with np.errstate(invalid="ignore", divide="ignore"):
            px = IMAGE_WIDTH / 2 + focal * x_cam / z_cam
            py = IMAGE_HEIGHT / 2 - focal * y_cam / z_cam
        kp = np.stack([px, py], axis=-1)
        inside = (z_cam > 0) & (px >= 0) & (px < IMAGE_WIDTH) & (py >= 0) & (py < IMAGE_HEIGHT)
        kp[~inside] = np.nan
        out.append(kp)
    with _quiet():
        median = np.nanmedian(forward, axis=0)
    turn = np.degrees(np.unwrap(np.arctan2(forward @ np.cross(up, median), forward @ median)))
    return out, {
        "up": up.tolist(),
        "forward": [round(float(v), 4) for v in median / np.linalg.norm(median)],
        "turn_deg": round(float(np.ptp(turn)), 1),
        "camera_distance_mm": round(float(distance), 1),
        "focal_px": round(float(focal), 1),
        "subject_span_mm": round(span, 1),
    }
