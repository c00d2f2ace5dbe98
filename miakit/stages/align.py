"""Align video (keypoints) with EMG on the host clock.

A phone films on its own clock, so the keypoints' start time in ``session.yaml`` is only a first
estimate (the container's creation time, or the recorder's host stamp). The sync event refines it:
the subject claps or jumps while the recorder marks the moment (a ``sync`` event), which shows as a
spike in keypoint motion and a burst in the EMG. Around that event:

1. ``motion_energy``: keypoint speed summed over the body, scaled by torso length (per second);
2. ``emg_activity``: the EMG envelopes, each scaled by its own spread, summed over muscles;
3. ``estimate_offset``: the shift of the video that best lines the two up, by cross-correlation
   (Pearson r over the window, 10 ms steps, parabolic refinement of the peak), allowing for the
   electromechanical delay (EMG leads the motion it causes by ``emg_lead_s``).

The result is an offset (seconds to add to the video's times) and a confidence: the peak correlation
and how far it stands above the best other lag.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from miakit.layout import KP


@dataclass(frozen=True)
class Offset:
    offset_s: float
    """seconds to add to the video's (keypoints') times"""
    correlation: float
    """Pearson r at the chosen offset"""
    margin: float
    """r at the chosen offset minus the best r at least ``min_separation_s`` away"""

    @property
    def confidence(self) -> float:
        """0 (no evidence) to 1: the peak correlation, discounted where another lag nearly ties."""
        return float(np.clip(self.correlation, 0, 1) * np.clip(self.margin / 0.2, 0, 1))


def motion_energy(keypoints: np.ndarray, score: np.ndarray, *, fps: float, min_score: float = 0.3) -> np.ndarray:
    """Body motion per frame: the mean keypoint speed in torso lengths per second (frames,).

    Missing or low-confidence points are left out; the first frame repeats the second.
    """
    pts = np.where((score >= min_score)[..., None], keypoints, np.nan).astype(np.float64)
    torso = np.linalg.norm(pts[:, KP["Neck"]] - pts[:, KP["MidHip"]], axis=-1)
    scale = np.nanmedian(torso) if np.isfinite(torso).any() else 1.0
    speed = np.linalg.norm(np.diff(pts, axis=0), axis=-1) * fps / scale
    with np.errstate(all="ignore"):
        energy = np.nanmean(speed, axis=1)
    energy = np.nan_to_num(energy, nan=0.0)
    return np.concatenate([energy[:1], energy]) if len(energy) else np.zeros(len(keypoints))


def emg_activity(values: np.ndarray) -> np.ndarray:
    """EMG envelopes (samples, muscles) -> one activity trace: each muscle scaled by its spread, summed."""
    values = np.asarray(values, dtype=np.float64)
    spread = np.nanstd(values, axis=0)
    spread[~np.isfinite(spread) | (spread == 0)] = 1.0
    return np.nansum((values - np.nanmedian(values, axis=0)) / spread, axis=1)


def estimate_offset(
    motion_t: np.ndarray,
    motion: np.ndarray,
    emg_t: np.ndarray,
    emg: np.ndarray,
    *,
    max_offset_s: float = 1.0,
    emg_lead_s: float = 0.075,
    step_s: float = 0.01,
    min_separation_s: float = 0.25,
) -> Offset:
    """The shift d of the motion trace (its true times are ``motion_t + d``) that best matches the EMG.

    For each candidate d in [-max_offset_s, max_offset_s], the EMG is read at
    ``motion_t + d - emg_lead_s`` and correlated with the motion (Pearson r).
    """
    motion_t, motion = np.asarray(motion_t, float), np.asarray(motion, float)
    order = np.argsort(emg_t)
    emg_t, emg = np.asarray(emg_t, float)[order], np.asarray(emg, float)[order]
    finite = np.isfinite(emg)
    emg_t, emg = emg_t[finite], emg[finite]
    lags = np.arange(-max_offset_s, max_offset_s + step_s / 2, step_s)
    r = np.full(len(lags), -1.0)
    for i, d in enumerate(lags):
        at = motion_t + d - emg_lead_s
        inside = (at >= emg_t[0]) & (at <= emg_t[-1])
        if inside.sum() < 10:
            continue
        e = np.interp(at[inside], emg_t, emg)
        m = motion[inside]
        if e.std() == 0 or m.std() == 0:
            continue
        r[i] = float(np.corrcoef(m, e)[0, 1])
    best = int(np.argmax(r))
    offset = float(lags[best])
    if 0 < best < len(r) - 1:  # parabolic refinement between the 10 ms steps
        a, b, c = r[best - 1], r[best], r[best + 1]
        denom = a - 2 * b + c
        if denom < 0:
            offset += float(np.clip(0.5 * (a - c) / denom, -0.5, 0.5)) * step_s
    far = np.abs(lags - lags[best]) >= min_separation_s
    second = float(r[far].max()) if far.any() else -1.0
    return Offset(offset_s=offset, correlation=float(r[best]), margin=float(r[best] - second))
