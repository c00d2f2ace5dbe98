"""Align video (keypoints) with EMG on the host clock.

A phone films on its own clock, so the keypoints' start time in ``session.yaml`` is only a first
estimate (the container's creation time, or the recorder's host stamp). The sync event refines it:
the recorder cues the subject and marks the moment (a ``sync`` event, detail ``clap`` or ``jump``);
the subject claps (or jumps) within about a second, then pauses before exercising. That shows as
a movement in the keypoints and a burst in the muscles that make it:

1. the movement: for a clap, how close the wrists are (:func:`wrist_closeness`); for a jump, how
   fast the hips rise (:func:`hip_rise`); otherwise the whole body's speed (:func:`motion_energy`);
2. the burst: the EMG envelopes of the muscles that move (arms for a clap, legs for a jump, all
   otherwise), each scaled by its own spread and summed (:func:`emg_activity`);
3. :func:`estimate_offset`: over a short window of EMG after the cue, the shift of the video that
   best lines the two up (Pearson r, 10 ms steps, parabolic refinement of the peak), allowing for
   the electromechanical delay (EMG leads the motion it causes by ``emg_lead_s``).

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


def wrist_closeness(keypoints: np.ndarray, score: np.ndarray, *, min_score: float = 0.3) -> np.ndarray:
    """How close the wrists are, in torso lengths, negated (frames,): peaks when the hands meet."""
    pts = np.where((score >= min_score)[..., None], keypoints, np.nan).astype(np.float64)
    torso = np.nanmedian(np.linalg.norm(pts[:, KP["Neck"]] - pts[:, KP["MidHip"]], axis=-1))
    gap = np.linalg.norm(pts[:, KP["RWrist"]] - pts[:, KP["LWrist"]], axis=-1) / (torso if np.isfinite(torso) else 1.0)
    gap = np.where(np.isfinite(gap), gap, np.nanmax(gap) if np.isfinite(gap).any() else 0.0)
    return -gap


def hip_rise(keypoints: np.ndarray, score: np.ndarray, *, fps: float, min_score: float = 0.3) -> np.ndarray:
    """Upward speed of the mid-hip in torso lengths per second (image y grows downward) (frames,)."""
    pts = np.where((score >= min_score)[..., None], keypoints, np.nan).astype(np.float64)
    torso = np.nanmedian(np.linalg.norm(pts[:, KP["Neck"]] - pts[:, KP["MidHip"]], axis=-1))
    y = pts[:, KP["MidHip"], 1]
    rise = -np.gradient(np.nan_to_num(y, nan=np.nanmedian(y) if np.isfinite(y).any() else 0.0)) * fps
    return rise / (torso if np.isfinite(torso) else 1.0)


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
    transient_s: float = 0.5,
) -> Offset:
    """The shift d of the motion trace (its true times are ``motion_t + d``) that best matches the EMG.

    Both traces are first stripped of what changes slower than ``transient_s`` (a moving average
    is subtracted), so the brief sync movement, not the exercise's rhythm, drives the match. The
    EMG window is fixed; for each candidate d in [-max_offset_s, max_offset_s] the motion is read
    at ``emg_t + emg_lead_s - d`` (its stated clock) and correlated with the EMG (Pearson r).
    """
    motion_t, motion = np.asarray(motion_t, float), np.asarray(motion, float)
    emg_t, emg = np.asarray(emg_t, float), np.asarray(emg, float)
    keep = np.isfinite(emg)
    emg_t, emg = emg_t[keep], emg[keep]
    motion = _transient(motion, motion_t, transient_s)
    emg = _transient(emg, emg_t, transient_s)
    lags = np.arange(-max_offset_s, max_offset_s + step_s / 2, step_s)
    r = np.full(len(lags), -1.0)
    for i, d in enumerate(lags):
        at = emg_t + emg_lead_s - d
        inside = (at >= motion_t[0]) & (at <= motion_t[-1])
        if inside.sum() < 10:
            continue
        m = np.interp(at[inside], motion_t, motion)
        e = emg[inside]
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


def _transient(x: np.ndarray, t: np.ndarray, window_s: float) -> np.ndarray:
    """``x`` minus its moving average over ``window_s`` (``t`` evenly spaced)."""
    if len(x) < 3:
        return x
    width = max(1, int(round(window_s / float(np.median(np.diff(t))))))
    kernel = np.ones(width) / width
    padded = np.pad(x, width, mode="edge")
    return x - np.convolve(padded, kernel, mode="same")[width:-width]
