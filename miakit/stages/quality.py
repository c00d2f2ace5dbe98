"""Quality checks of one session on its grid: which frames are valid, and whether to keep it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from miakit.stages.grid import unwrap_counter


@dataclass
class QualityReport:
    """What the checks found for one session. ``reason`` is set when the session is left out."""

    session: str
    frames: int = 0
    valid_frames: int = 0
    emg_coverage: float = 0.0
    pose_coverage: float = 0.0
    mean_pose_score: float = 0.0
    packets: int = 0
    bad_packets: int = 0
    dropped_samples: int = 0
    duplicate_packets: int = 0  # packets received twice (same sensor, sequence number and payload)
    truncated: bool = False
    sync_offset_s: float | None = None  # the video shift the sync event gave, where it was applied
    sync_confidence: float | None = None  # 0..1, where a sync event was looked at
    reason: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def kept(self) -> bool:
        return not self.reason

    @property
    def valid_fraction(self) -> float:
        return self.valid_frames / self.frames if self.frames else 0.0


def frame_validity(emg: np.ndarray, score: np.ndarray, *, min_score: float, min_keypoints: int) -> np.ndarray:
    """A frame is valid when every recorded muscle (the columns of ``emg``) has EMG and at least
    ``min_keypoints`` keypoints are present."""
    emg_ok = np.isfinite(emg).all(axis=1)
    pose_ok = (score >= min_score).sum(axis=1) >= min_keypoints
    return emg_ok & pose_ok


def dropped_samples(counter: np.ndarray | None) -> int:
    """Samples missing from a device counter sequence (gaps in the unwrapped counter)."""

    if counter is None or len(counter) < 2:
        return 0
    k = np.unique(unwrap_counter(counter))
    return int(k[-1] - k[0] + 1 - len(k))


def duplicate_packets(seq: np.ndarray, payload: np.ndarray) -> int:
    """Packets of one sensor that repeat an earlier one: the same sequence number and payload.

    ``seq`` is the device's own counter, unwrapped (where its packets carry one: a packet the radio
    delivered twice carries the same counter), else the recorder's row ``seq`` (then only rows
    written twice count: without a counter a repeat cannot be told from a repeated value).
    """
    seq, payload = np.asarray(seq), np.asarray(payload)
    if len(seq) != len(payload):
        raise ValueError(f"seq and payload differ in length: {len(seq)} != {len(payload)}")
    if len(seq) < 2:
        return 0
    keys = {(int(k), str(p)) for k, p in zip(seq.tolist(), payload.tolist())}
    return int(len(seq) - len(keys))
