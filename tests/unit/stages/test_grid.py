"""Clock recovery and gridding: jittery BLE arrivals become the device's true sample times."""

from __future__ import annotations

import numpy as np

from miakit.stages.grid import make_grid, nearest_frames, sample_times, to_grid, unwrap_counter


def test_unwrap_counter_across_the_16_bit_wrap():
    seq = np.array([65533, 65534, 65535, 0, 1, 3])
    np.testing.assert_array_equal(unwrap_counter(seq), [0, 1, 2, 3, 4, 6])


def test_sample_times_remove_latency_jitter_and_drift():
    rng = np.random.default_rng(0)
    k = np.arange(600)
    true = 0.05 + k * 0.1 * (1 + 40e-6)  # 40 ppm drift
    arrival = true + rng.uniform(0.0075, 0.045, len(k))
    keep = np.ones(len(k), bool)
    keep[200:230] = False  # a disconnect
    est = sample_times(arrival[keep], (k[keep] + 65500) % 65536, 10.0)
    err = est - true[keep]
    assert np.abs(err).max() < 0.012  # jitter was up to 45 ms
    assert np.abs(arrival[keep] - true[keep]).mean() > 0.02


def test_to_grid_interpolates_and_keeps_gaps():
    t = np.concatenate([np.arange(0, 3, 0.1), np.arange(5, 8, 0.1)])
    v = 2 * t
    grid = make_grid(0.05, 7.9, rate_hz=10)
    out = to_grid(t, v, grid, max_gap_s=0.35)
    inside = (grid < 2.9) | (grid > 5.0)
    np.testing.assert_allclose(out[inside], 2 * grid[inside], atol=1e-9)
    assert np.isnan(out[(grid > 3.0) & (grid < 5.0)]).all()


def test_nearest_frames_only_within_half_a_period():
    grid = np.array([-1.0, 0.0, 0.1, 0.2, 3.4])
    idx = nearest_frames(grid, start=0.0, fps=30, n_frames=100)
    np.testing.assert_array_equal(idx, [-1, 0, 3, 6, -1])


def test_nearest_frames_tolerance_in_frame_periods():
    """The pose back ends' tolerance (one period) and the session's (half) pick the same frames; a
    tighter one leaves out the grid times that fall between frames."""
    grid = np.arange(0, 2.0, 0.1)  # 10 Hz over 2 s of a 12 fps source (frames 0.083 s apart)
    half = nearest_frames(grid, fps=12, n_frames=24)
    np.testing.assert_array_equal(half, nearest_frames(grid, fps=12, n_frames=24, tolerance=1.0))
    np.testing.assert_array_equal(half, np.rint(grid * 12).astype(int))
    tight = nearest_frames(grid, fps=12, n_frames=24, tolerance=0.1)
    off = np.abs(grid * 12 - np.rint(grid * 12)) > 0.1 + 1e-9
    assert off.any() and (~off).any()
    np.testing.assert_array_equal(tight, np.where(off, -1, half))
