"""Raw sEMG conditioning stages on synthetic signals with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from miakit.errors import InputError
from miakit.stages.emg import RawEmgParams, band_pass, condition_raw, envelope, fill_gaps, notch, rectify, resample

FS = 1000.0


def signal(*columns: np.ndarray, rate_hz: float = FS) -> xr.DataArray:
    data = np.stack(columns, axis=1)
    t = np.arange(data.shape[0]) / rate_hz
    return xr.DataArray(data, dims=("time", "channel"), coords={"time": t}, attrs={"rate_hz": rate_hz})


def tone(freq_hz: float, seconds: float = 4.0, amplitude: float = 1.0, rate_hz: float = FS) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * freq_hz * np.arange(int(seconds * rate_hz)) / rate_hz)


def rms(x: np.ndarray) -> np.ndarray:
    return np.sqrt(np.mean(np.square(x), axis=0))


def middle(x, trim: int):
    return np.asarray(x)[trim:-trim]


def test_band_pass_keeps_100_hz_and_removes_5_hz():
    out = band_pass(signal(tone(100), tone(5)), low_hz=20, high_hz=450)
    kept, removed = rms(middle(out.values, 500))
    assert kept == pytest.approx(1 / np.sqrt(2), rel=0.01)
    assert removed < 0.01 / np.sqrt(2)


def test_notch_removes_mains_and_keeps_the_rest():
    out = notch(signal(tone(50), tone(100), tone(30)), freq_hz=50, quality=30)
    hum, keep100, keep30 = rms(middle(out.values, 1000)) * np.sqrt(2)
    assert hum < 0.02
    assert keep100 == pytest.approx(1, abs=0.02) and keep30 == pytest.approx(1, abs=0.02)


def test_rectify_and_rms_envelope_give_the_bursts_rms():
    x = np.zeros(4000)
    x[1000:3000] = tone(80, seconds=2.0, amplitude=300.0)
    env = envelope(rectify(signal(x)), method="rms", window_s=0.1)
    inside = env.values[1200:2800, 0]
    assert inside == pytest.approx(300 / np.sqrt(2), rel=0.01)
    assert np.abs(env.values[:900, 0]).max() == 0 and np.abs(env.values[3100:, 0]).max() == 0


def test_lowpass_envelope_gives_the_rectified_mean():
    x = tone(80, seconds=4.0, amplitude=2.0)
    env = envelope(rectify(signal(x)), method="lowpass", cutoff_hz=5)
    assert middle(env.values[:, 0], 1000) == pytest.approx(2 * 2 / np.pi, rel=0.01)
    assert (env.values >= 0).all()


def test_resample_keeps_the_mean_and_does_not_alias():
    rng = np.random.default_rng(0)
    noise = 5 + rng.normal(size=10000)
    out = resample(signal(3 + tone(7, seconds=10), np.full(10000, 2.5), noise), rate_hz=10)
    assert out.sizes["time"] == 100 and out.attrs["rate_hz"] == 10
    np.testing.assert_allclose(out["time"].values, np.arange(100) / 10, atol=1e-12)
    seven, const, noisy = out.values.T
    # a 7 Hz tone sampled at 10 Hz without filtering folds to 3 Hz at full amplitude
    naive = (3 + tone(7, seconds=10))[::100]
    assert np.std(naive) > 0.5
    assert np.abs(middle(seven, 20) - 3).max() < 1e-3
    np.testing.assert_allclose(const, 2.5, rtol=1e-9)
    assert np.mean(noisy) == pytest.approx(5, abs=0.02)


def test_resample_keeps_slow_signals():
    out = resample(signal(tone(2, seconds=10)), rate_hz=10)
    expected = tone(2, seconds=10)[::100]
    np.testing.assert_allclose(middle(out.values[:, 0], 20), middle(expected, 20), atol=0.01)


def test_nan_gaps_stay_gaps():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(10000, 2)) * 50
    x[3000:3500] = np.nan  # a 0.5 s dropout on both channels
    x[7000:7020, 1] = np.nan  # a 20 ms dropout on one channel
    x[9850:9895, 0] = np.nan  # leaves a 10-sample run around t = 9.9 s on channel 0 ...
    x[9905:, 0] = np.nan
    da = signal(x[:, 0], x[:, 1])
    out = condition_raw(da)
    t = out["time"].values
    gap = (t >= 3.0) & (t < 3.5)
    assert np.isnan(out.values[gap]).all()
    assert np.isfinite(out.values[(t < 2.9) | ((t > 3.6) & (t < 6.9))]).all()
    at = lambda s: np.flatnonzero(np.isclose(t, s))[0]  # noqa: E731
    assert np.isnan(out.values[at(7.0), 1]) and np.isfinite(out.values[at(7.0), 0])
    assert np.isnan(out.values[at(9.9), 0])  # ... too short for the filters
    assert np.isfinite(out.values[at(9.9), 1])
    # nothing crosses a gap: changing what lies after it leaves everything before it unchanged
    y = x.copy()
    y[3500:] *= 10
    other = condition_raw(signal(y[:, 0], y[:, 1]))
    before = t < 3.0
    np.testing.assert_array_equal(out.values[before], other.values[before])
    assert not np.allclose(out.values[t > 4], other.values[t > 4], equal_nan=True)


def test_band_pass_filters_runs_separately():
    x = np.concatenate([tone(100, 1.0), np.full(200, np.nan), tone(100, 1.0)])
    out = band_pass(signal(x))
    assert np.isnan(out.values[1000:1200]).all()
    assert np.isfinite(out.values[:1000]).all() and np.isfinite(out.values[1200:]).all()


def test_fill_gaps_closes_only_short_gaps():
    x = np.arange(100, dtype=float)
    x[10:13] = np.nan  # 3 samples: filled
    x[50:60] = np.nan  # 10 samples: kept
    x[:2] = np.nan  # leading: never filled
    out = fill_gaps(signal(x, rate_hz=100), max_gap_s=0.05)
    np.testing.assert_allclose(out.values[10:13, 0], [10, 11, 12])
    assert np.isnan(out.values[50:60, 0]).all() and np.isnan(out.values[:2, 0]).all()
    assert out.attrs["log"] == ["fill_gaps(max_gap_s=0.05)"]


def test_stages_log_and_never_mutate_their_input():
    da = signal(tone(100, 2.0), tone(60, 2.0))
    da.attrs["log"] = ["decode()"]
    before = da.values.copy()
    out = condition_raw(da, RawEmgParams(notch_hz=50, envelope="lowpass", cutoff_hz=4))
    assert out.attrs["log"] == [
        "decode()",
        "band_pass(low_hz=20, high_hz=450, order=4)",
        "notch(freq_hz=50, quality=30)",
        "rectify()",
        "envelope(method='lowpass', cutoff_hz=4, order=4)",
        "resample(rate_hz=10)",
    ]
    assert da.attrs["log"] == ["decode()"] and da.attrs["rate_hz"] == FS
    np.testing.assert_array_equal(da.values, before)
    assert out.dims == ("time", "channel") and out.sizes["time"] == 20


def test_stages_work_along_the_named_dim():
    da = signal(tone(100, 2.0), tone(5, 2.0)).transpose("channel", "time").rename(time="t")
    out = band_pass(da, dim="t")
    assert out.dims == ("channel", "t")
    assert rms(middle(out.values[0], 300)) == pytest.approx(1 / np.sqrt(2), rel=0.01)


def test_bad_parameters_are_clear():
    da = signal(tone(100, 1.0))
    with pytest.raises(InputError, match="Nyquist"):
        band_pass(da, low_hz=20, high_hz=600)
    with pytest.raises(InputError, match="rate_hz"):
        rectify(da).pipe(lambda d: band_pass(d.assign_attrs(rate_hz=None)))
    with pytest.raises(InputError, match="'rms' or 'lowpass'"):
        envelope(da, method="hilbert")
    with pytest.raises(InputError, match="no such dimension"):
        band_pass(da, dim="frame")
