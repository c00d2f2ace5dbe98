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
and how far it stands above the best other lag. :func:`refine_by_sync` does all of it for one
session (the ``align`` stage with ``method: sync``, :mod:`miakit.stages.session`) and returns what it
compared (:class:`SyncMatch`, for plots) and why it kept the clock where it did (:class:`SyncResult`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from miakit.contracts.session import read_events
from miakit.layout import KP
from miakit.stages.grid import make_grid, sample_times, to_grid
from miakit.stages.openpose import read_folder

if TYPE_CHECKING:
    from miakit.contracts.session import SessionMeta
    from miakit.stages.decode import DecodedEMG


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


# -- one session: the sync refinement ------------------------------------------------------------


@dataclass(frozen=True)
class SyncMatch:
    """What the sync refinement compared and found: the traces around the sync event, for plots.

    Times are host seconds. ``motion_t`` are the keypoint frames' times on the stated clock (before
    the offset); ``emg_t`` is the 100 Hz grid of ``emg``, the activity of the muscles the movement
    uses (:func:`emg_activity`). ``applied`` is whether the offset was kept.
    """

    cue: float
    kind: str
    muscles: tuple[str, ...]
    motion_t: np.ndarray
    motion: np.ndarray
    emg_t: np.ndarray
    emg: np.ndarray
    offset_s: float
    confidence: float
    emg_lead_s: float
    applied: bool


@dataclass(frozen=True)
class SyncResult:
    """The sync refinement of one session: what it compared (None where there was nothing to
    compare) and, where it kept the clock alignment, why (``note``, as the build report says it)."""

    match: SyncMatch | None
    note: str = ""


def refine_by_sync(
    folder: Path,
    meta: SessionMeta,
    decoded: DecodedEMG,
    *,
    start: float,
    fps: float,
    frames: int,
    window_s: float,
    max_offset_s: float,
    emg_lead_s: float,
    min_confidence: float,
    max_gap_s: float,
) -> SyncResult:
    """The offset of a session's keypoint frames (frame 0 stated at host time ``start``, ``frames``
    of them at ``fps``) found around its sync event, applied where confident.

    The subject moves within ``window_s`` of the cue; the stated clock may be off by
    ``max_offset_s``. The EMG of the muscles the movement uses is put on a 100 Hz grid, never
    bridging a gap longer than ``max_gap_s``."""

    if meta.keypoints is None:
        return SyncResult(match=None, note="no keypoints to match: clock alignment kept")
    events = read_events(folder)
    sync = events[events["kind"] == "sync"]
    if sync.empty:
        return SyncResult(match=None, note="no sync event: clock alignment kept")
    cue, what = float(sync["host_time"].iloc[0]), str(sync["detail"].iloc[0]).strip().lower()
    lo, hi = cue - 0.3, cue + window_s
    first = max(0, int(np.floor((lo - max_offset_s - 0.5 - start) * fps)))
    last = min(frames - 1, int(np.ceil((hi + max_offset_s + 0.5 - start) * fps)))
    if last - first < 10:
        return SyncResult(match=None, note="sync event outside the video: clock alignment kept")
    numbers, points = read_folder(Path(folder) / meta.keypoints.dir, frames=np.arange(first, last + 1))
    xy, score = points[:, :, :2], points[:, :, 2]
    muscles: tuple[str, ...]
    if what == "clap":
        motion, muscles = wrist_closeness(xy, score), ("Bicep", "Tricep")
    elif what == "jump":
        motion, muscles = hip_rise(xy, score, fps=fps), ("Quad", "Hamstring")
    else:
        motion, muscles = motion_energy(xy, score, fps=fps), ("",)
    fine = make_grid(lo, hi, rate_hz=100.0)
    rate = decoded.profile.rate_hz
    columns = [
        to_grid(sample_times(s.arrival, s.device_seq, rate), s.values[:, 0], fine, max_gap_s=max_gap_s)
        for sensor, s in decoded.sensors.items()
        if meta.sensors[sensor].endswith(muscles)
    ]
    if not columns:
        return SyncResult(match=None, note=f"no sensor on the muscles a {what or 'sync'} moves: clock alignment kept")
    motion_t, activity = start + numbers / fps, emg_activity(np.column_stack(columns))
    found = estimate_offset(motion_t, motion, fine, activity, max_offset_s=max_offset_s, emg_lead_s=emg_lead_s)
    applied = found.confidence >= min_confidence
    match = SyncMatch(
        cue=cue,
        kind=what,
        muscles=muscles,
        motion_t=motion_t,
        motion=motion,
        emg_t=fine,
        emg=activity,
        offset_s=found.offset_s,
        confidence=found.confidence,
        emg_lead_s=emg_lead_s,
        applied=applied,
    )
    if not applied:
        return SyncResult(
            match=match,
            note=f"sync match not confident ({found.confidence:.2f} < {min_confidence}): clock alignment kept",
        )
    return SyncResult(match=match)
