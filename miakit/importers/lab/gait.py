"""Gait events where the file has none: Zeni et al. (2008) for level walking (:func:`zeni_events`)."""

from __future__ import annotations

import numpy as np

from miakit.importers.lab.body_frame import _HIPS, _joint_mean
from miakit.layout import BODY_25

ZENI_MIN_STEP_S = 0.35
"""Zeni: two events of one kind on one foot are at least this far apart."""
ZENI_MIN_RANGE_MM = 150.0
"""Zeni: the heel must swing at least this far fore and aft of the pelvis (else it is not walking)."""
ZENI_MAX_HEEL_CORRELATION = -0.3
"""Zeni: walking feet alternate, so the two heels' signals must correlate below this."""


def zeni_events(
    joints: np.ndarray, rate_hz: float, *, up: np.ndarray, forward: np.ndarray
) -> list[tuple[float, str, str]]:
    """Zeni et al. (2008): heel strike where the heel is furthest ahead of the pelvis (the hips'
    centre stands in for the sacrum), toe off where the toe is furthest behind it, along the
    direction of progression. Only for walking: [] unless both heels swing at least
    :data:`ZENI_MIN_RANGE_MM` fore and aft of the pelvis and in antiphase (correlation below
    :data:`ZENI_MAX_HEEL_CORRELATION`; in a squat or a lift they move together), or where the
    markers are not there. ``forward``: one unit vector or one per frame (a turning walk).
    Times in s from the first frame."""
    from scipy.signal import find_peaks

    pelvis = _joint_mean(joints, _HIPS)
    t = np.arange(len(joints))
    signals: dict[str, np.ndarray] = {}
    for name in ("RHeel", "LHeel", "RBigToe", "LBigToe"):
        s = np.einsum("fk,fk->f", joints[:, BODY_25.index(name)] - pelvis, np.broadcast_to(forward, pelvis.shape))
        ok = np.isfinite(s)
        if ok.sum() < rate_hz or np.ptp(s[ok]) < ZENI_MIN_RANGE_MM:
            return []
        signals[name] = np.interp(t, t[ok], s[ok])
    if np.corrcoef(signals["RHeel"], signals["LHeel"])[0, 1] > ZENI_MAX_HEEL_CORRELATION:
        return []  # the feet do not alternate: not walking
    events: list[tuple[float, str, str]] = []
    for side, heel, toe in (("right", "RHeel", "RBigToe"), ("left", "LHeel", "LBigToe")):
        for name, kind, sign in ((heel, "foot_strike", 1.0), (toe, "foot_off", -1.0)):
            peaks, _ = find_peaks(
                sign * signals[name],
                distance=max(1, int(ZENI_MIN_STEP_S * 2 * rate_hz)),
                prominence=ZENI_MIN_RANGE_MM / 2,
            )
            events += [(float(p / rate_hz), kind, side) for p in peaks if 0 < p < len(t) - 1]
    return sorted(events)
