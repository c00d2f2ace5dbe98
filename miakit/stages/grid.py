"""Put each modality on the session's 10 Hz grid (host clock).

- EMG of an envelope device: each sample's host time is reconstructed from the device's own counter
  where the packets carry one (a line fitted through the arrival times removes BLE latency jitter
  and clock drift), then the envelope is interpolated linearly onto the grid. A grid point whose
  neighbouring samples are more than ``max_gap_s`` apart (a disconnect, dropped packets) stays NaN:
  gaps stay gaps.
- Keypoints at the camera's rate: each grid point takes the nearest frame within half a frame
  period (no interpolation of poses), and only those frames are read.

The grids themselves and the nearest frame live here only: :func:`make_grid` (from a start to a stop,
both included), :func:`time_grid` (a source's duration from its first frame, the pose back ends'),
:func:`grid_times` (the 10 Hz grid over a lab trial's samples, read there by :func:`sample_at`) and
:func:`nearest_frames` (with the tolerance each caller needs).
"""

from __future__ import annotations

import numpy as np

from miakit.layout import RATE_HZ

COUNTER_MODULUS = 1 << 16


def unwrap_counter(seq: np.ndarray, modulus: int = COUNTER_MODULUS) -> np.ndarray:
    """Unwrap a wrapping packet counter into a rising sample index (a reset starts a new run)."""
    seq = np.asarray(seq, dtype=np.int64)
    if len(seq) == 0:
        return seq
    step = np.diff(seq) % modulus
    # A step of more than half the modulus is a counter that went backwards (a device reset):
    # treat it as a jump forward of one, so runs stay ordered and the fit below restarts.
    step[step > modulus // 2] = 1
    return np.concatenate([[0], np.cumsum(step)])


def sample_times(arrival: np.ndarray, counter: np.ndarray | None, rate_hz: float | None) -> np.ndarray:
    """Host time of each sample: from the device counter where there is one, else arrival time.

    Arrival = sample time + latency, latency >= 0 and jittery; so fit arrival = a + b * k over each
    run of the counter and shift the line down to the 5th percentile of the residuals.
    """
    arrival = np.asarray(arrival, dtype=np.float64)
    if counter is None or not rate_hz or len(arrival) < 5:
        return arrival
    k = unwrap_counter(counter).astype(np.float64)
    times = arrival.copy()
    # runs: split where the gap in arrival time disagrees with the counter by more than 2 s
    # (a device that restarted its counter after a reconnect)
    expected = np.diff(k) / rate_hz
    breaks = np.flatnonzero(np.abs(np.diff(arrival) - expected) > 2.0) + 1
    for run in np.split(np.arange(len(k)), breaks):
        if len(run) < 5:
            continue
        slope, intercept = np.polyfit(k[run], arrival[run], 1)
        if not (0.5 / rate_hz < slope < 2.0 / rate_hz):
            continue  # a counter that does not tick at the nominal rate: trust arrival times
        fitted = intercept + slope * k[run]
        times[run] = fitted + np.quantile(arrival[run] - fitted, 0.05)
    return times


def regular_samples(times: np.ndarray, values: np.ndarray, rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Time-stamped samples of a regular source (LSL) -> (times, values) on its ``rate_hz`` grid, NaN
    where a sample is missing (a dropout stays a gap, as the raw-EMG filters expect)."""
    times = np.asarray(times, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if len(times) == 0:
        return times, values
    k = np.rint((times - times[0]) * rate_hz).astype(np.int64)
    k -= k.min()
    t0 = float(np.median(times - k / rate_hz))
    out = np.full(int(k.max()) + 1, np.nan)
    out[k] = values
    return t0 + np.arange(len(out)) / rate_hz, out


def to_grid(times: np.ndarray, values: np.ndarray, grid: np.ndarray, *, max_gap_s: float) -> np.ndarray:
    """Linear interpolation of (times, values[, channels]) onto ``grid``; NaN across gaps > max_gap_s."""
    times = np.asarray(times, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    squeeze = values.ndim == 1
    if squeeze:
        values = values[:, None]
    out = np.full((len(grid), values.shape[1]), np.nan)
    if len(times) == 0:
        return out[:, 0] if squeeze else out
    order = np.argsort(times, kind="stable")
    times, values = times[order], values[order]
    keep = np.concatenate([[True], np.diff(times) > 0])
    times, values = times[keep], values[keep]
    right = np.searchsorted(times, grid, side="left")
    inside = (right > 0) & (right < len(times))
    exact = (right < len(times)) & (times[np.minimum(right, len(times) - 1)] == grid)
    left = np.clip(right - 1, 0, len(times) - 1)
    r = np.clip(right, 0, len(times) - 1)
    gap = times[r] - times[left]
    usable = inside & (gap <= max_gap_s)
    for c in range(values.shape[1]):
        interp = np.interp(grid, times, values[:, c])
        out[usable | exact, c] = interp[usable | exact]
    return out[:, 0] if squeeze else out


def nearest_frames(
    grid: np.ndarray, *, fps: float, n_frames: int, start: float = 0.0, tolerance: float = 0.5
) -> np.ndarray:
    """For each grid time, the index of the nearest frame of a constant-rate source of ``n_frames``
    frames (frame k at ``start + k / fps``), or -1 where none is within ``tolerance`` frame periods.

    The session grid passes half a period, the pose back ends one period (as each did before they
    shared this function). Inside the source's span the nearest frame is never more than half a period
    away, so any tolerance from 0.5 up gives -1 only before the first frame and after the last."""
    position = (np.asarray(grid) - start) * fps
    index = np.rint(position).astype(np.int64)
    ok = (index >= 0) & (index < n_frames) & (np.abs(position - index) <= tolerance + 1e-9)
    return np.where(ok, index, -1)


def make_grid(start: float, stop: float, *, rate_hz: float) -> np.ndarray:
    """Grid points ``start, start + 1/rate, ...`` up to and including ``stop``."""
    if stop < start:
        return np.zeros(0)
    n = int(np.floor((stop - start) * rate_hz + 1e-9)) + 1
    return start + np.arange(n) / rate_hz


def time_grid(duration_s: float, *, rate_hz: float) -> np.ndarray:
    """Times ``k / rate_hz`` (k = 0, 1, ...) before ``duration_s``: the grid a source covering
    ``duration_s`` seconds from its first frame is put on."""
    if not rate_hz > 0:
        raise ValueError(f"rate_hz must be > 0, found {rate_hz}")
    count = int(np.ceil(duration_s * rate_hz - 1e-9)) if duration_s > 0 else 0
    return np.arange(max(count, 1), dtype=np.float64) / rate_hz


def grid_times(n_samples: int, rate_hz: float) -> np.ndarray:
    """The 10 Hz grid over ``n_samples`` at ``rate_hz`` (times from the first sample)."""
    n = int(np.floor((n_samples - 1) * RATE_HZ / rate_hz + 1e-9)) + 1 if n_samples else 0
    return np.arange(n) / RATE_HZ


def sample_at(x: np.ndarray, rate_hz: float, times: np.ndarray) -> np.ndarray:
    """``x`` (samples, ...) read at ``times`` by linear interpolation; NaN where a neighbour is NaN."""
    pos = times * rate_hz
    lo = np.clip(np.floor(pos + 1e-9).astype(int), 0, len(x) - 1)
    hi = np.minimum(lo + 1, len(x) - 1)
    frac = np.clip(pos - lo, 0.0, 1.0).reshape(-1, *([1] * (x.ndim - 1)))
    return np.where(frac < 1e-9, x[lo], x[lo] * (1 - frac) + x[hi] * frac)
