"""Conditioning of raw surface EMG (for example 1 kHz sEMG) into a 10 Hz activation envelope.

Stages are pure functions of an :class:`xarray.DataArray`. Each one reads the sampling rate from
``da.attrs["rate_hz"]``, works along the dimension it is given (``dim="time"`` by default), takes its
parameters as keyword-only physical units, never mutates its input, and appends one line to the
provenance log ``attrs["log"]`` (a JSON-able list of strings). A chain reads top to bottom::

    band_pass -> notch -> rectify -> envelope -> fill_gaps -> resample

(:func:`condition_raw` runs exactly that chain.)

Gaps: NaN samples are gaps. Every filter runs on each contiguous finite run of samples separately, so
nothing is smeared across a gap; gaps stay NaN, and a run shorter than a filter needs comes out NaN.
Only :func:`fill_gaps` closes gaps, by straight lines, and only those no longer than its stated
``max_gap_s``. After :func:`resample`, a 10 Hz sample is NaN unless its time lies inside a finite run.

The conditioning's defaults are set once, in :class:`RawEmgParams`: the stage ``raw_emg_envelope``
takes it as its parameters, the lab and UCI importers and ``miakit import``'s options read it.

Envelope devices (the M40 sends a 10 Hz envelope already) do not come through here: they are decoded
and put on the grid by :mod:`miakit.stages.decode` and :mod:`miakit.stages.grid`. xarray and scipy
are imported inside the functions that use them (the command line reads :class:`RawEmgParams`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from miakit.arrays import true_runs
from miakit.errors import InputError

if TYPE_CHECKING:
    import xarray as xr

#: Order of the Chebyshev type I anti-aliasing filter used by :func:`resample` (as scipy's decimate).
ANTI_ALIAS_ORDER = 8
#: Its pass-band ripple, dB.
ANTI_ALIAS_RIPPLE_DB = 0.05
#: Its cut-off as a fraction of the output's Nyquist frequency (as scipy's decimate).
ANTI_ALIAS_FRACTION = 0.8


@dataclass(frozen=True)
class RawEmgParams:
    """How raw sEMG becomes an envelope (:func:`condition_raw`): band-pass ``low_hz`` to ``high_hz``,
    a mains notch at ``notch_hz`` (none by default), rectify, then an envelope: ``"rms"`` over
    ``window_s`` or ``"lowpass"`` at ``cutoff_hz``. Its defaults are the only defaults: the stage
    ``raw_emg_envelope`` (whose parameters these are; a pipeline file overrides them), the stage
    functions here, the lab and UCI importers and ``miakit import uci-emg``'s options read them."""

    low_hz: float = 20.0
    high_hz: float = 450.0
    notch_hz: float | None = None  # 50 or 60 to remove mains hum
    envelope: str = "rms"  # or lowpass
    window_s: float = 0.1
    cutoff_hz: float = 5.0


# --------------------------------------------------------------------------------------------
# stages


def band_pass(
    da: xr.DataArray,
    *,
    low_hz: float = RawEmgParams.low_hz,
    high_hz: float = RawEmgParams.high_hz,
    order: int = 4,
    dim: str = "time",
) -> xr.DataArray:
    """Zero-phase Butterworth band-pass (``sosfiltfilt``), ``order`` per pass, on each finite run."""
    from scipy import signal

    rate = _rate(da, "band_pass")
    nyquist = rate / 2
    if not 0 < low_hz < high_hz < nyquist:
        raise InputError(
            "band_pass",
            "band edges out of range",
            field="low_hz, high_hz",
            expected=f"0 < low_hz < high_hz < Nyquist ({nyquist:g} Hz at {rate:g} Hz)",
            found=(low_hz, high_hz),
        )
    sos = signal.butter(order, [low_hz, high_hz], btype="bandpass", output="sos", fs=rate)
    out = _apply_runs(da, dim, _sosfiltfilt(sos), min_len=_sos_min_len(sos))
    return _logged(out, da, "band_pass", low_hz=low_hz, high_hz=high_hz, order=order)


def notch(da: xr.DataArray, *, freq_hz: float = 50.0, quality: float = 30.0, dim: str = "time") -> xr.DataArray:
    """Zero-phase IIR notch at ``freq_hz`` (mains hum: 50 or 60 Hz); bandwidth ``freq_hz / quality``."""
    from scipy import signal

    rate = _rate(da, "notch")
    if not 0 < freq_hz < rate / 2:
        raise InputError(
            "notch",
            "notch frequency out of range",
            field="freq_hz",
            expected=f"0 < freq_hz < {rate / 2:g} Hz",
            found=freq_hz,
        )
    b, a = signal.iirnotch(freq_hz, quality, fs=rate)
    sos = signal.tf2sos(b, a)
    out = _apply_runs(da, dim, _sosfiltfilt(sos), min_len=_sos_min_len(sos))
    return _logged(out, da, "notch", freq_hz=freq_hz, quality=quality)


def rectify(da: xr.DataArray) -> xr.DataArray:
    """Full-wave rectification: the absolute value. NaN stays NaN."""
    return _logged(da.copy(data=np.abs(da.values)), da, "rectify")


def envelope(
    da: xr.DataArray,
    *,
    method: str = RawEmgParams.envelope,
    window_s: float = RawEmgParams.window_s,
    cutoff_hz: float = RawEmgParams.cutoff_hz,
    order: int = 4,
    dim: str = "time",
) -> xr.DataArray:
    """Amplitude envelope, on each finite run.

    ``method="rms"``: the root mean square over a centred window of ``window_s`` seconds (shortened
    at the ends of a run; a run shorter than the window is NaN). ``method="lowpass"``: a zero-phase
    Butterworth low-pass at ``cutoff_hz`` of the (rectified) signal, clipped at 0 since a zero-phase
    filter can ring slightly below zero next to sharp bursts.
    """
    rate = _rate(da, "envelope")
    if method == "rms":
        width = int(round(window_s * rate))
        if width < 1:
            raise InputError(
                "envelope",
                "window shorter than one sample",
                field="window_s",
                expected=f">= {1 / rate:g} s",
                found=window_s,
            )
        out = _apply_runs(da, dim, lambda x: _moving_rms(x, width), min_len=width)
        return _logged(out, da, "envelope", method="rms", window_s=window_s)
    if method == "lowpass":
        from scipy import signal

        if not 0 < cutoff_hz < rate / 2:
            raise InputError(
                "envelope",
                "cut-off out of range",
                field="cutoff_hz",
                expected=f"0 < cutoff_hz < {rate / 2:g} Hz",
                found=cutoff_hz,
            )
        sos = signal.butter(order, cutoff_hz, btype="lowpass", output="sos", fs=rate)
        filt = _sosfiltfilt(sos)
        out = _apply_runs(da, dim, lambda x: np.maximum(filt(x), 0.0), min_len=_sos_min_len(sos))
        return _logged(out, da, "envelope", method="lowpass", cutoff_hz=cutoff_hz, order=order)
    raise InputError("envelope", "unknown envelope method", field="method", expected="'rms' or 'lowpass'", found=method)


def fill_gaps(da: xr.DataArray, *, max_gap_s: float, dim: str = "time") -> xr.DataArray:
    """Close interior NaN gaps of at most ``max_gap_s`` seconds by straight lines; longer gaps stay.

    Gaps at the start or end of the signal are never filled (there is nothing to join).
    """
    rate = _rate(da, "fill_gaps")
    _check_dim(da, dim)
    max_len = int(np.floor(max_gap_s * rate + 1e-9))
    x = np.moveaxis(np.array(da.values, dtype=np.float64), da.get_axis_num(dim), -1)
    lanes = x.reshape(-1, x.shape[-1])
    for lane in lanes:
        _fill_lane(lane, max_len)
    out = da.copy(data=np.moveaxis(lanes.reshape(x.shape), -1, da.get_axis_num(dim)))
    return _logged(out, da, "fill_gaps", max_gap_s=max_gap_s)


def resample(da: xr.DataArray, *, rate_hz: float = 10.0, dim: str = "time") -> xr.DataArray:
    """Anti-aliased resampling of each finite run onto the grid ``t0 + k / rate_hz``.

    The anti-aliasing filter is scipy's ``decimate`` default (Chebyshev I, order 8, 0.05 dB ripple,
    cut-off at 0.8 of the output's Nyquist frequency) scaled to unit gain at 0 Hz, run forwards and
    backwards, so means are kept and a tone above the output's Nyquist frequency is removed (a 7 Hz
    tone at 10 Hz output is attenuated by more than 100 dB rather than folded to 3 Hz); the filtered
    signal is then read at the grid times by linear interpolation (exact to well under 0.1 % since it
    holds nothing above a few hertz while samples are milliseconds apart). Works for any input rate,
    including ones that are not a whole multiple of ``rate_hz``.

    ``t0`` is the first value of the ``dim`` coordinate when there is one, else 0. The output's
    ``dim`` coordinate holds the grid times in seconds and its ``attrs["rate_hz"]`` is ``rate_hz``.
    A grid time outside every finite run (in a gap, or in a run shorter than one output period) is NaN.
    Within about a second of a run's ends the filter's start-up leaves small transients (about 1 % of
    a tone's amplitude right at the end, decaying to nothing).
    """

    rate = _rate(da, "resample")
    _check_dim(da, dim)
    if not 0 < rate_hz <= rate:
        raise InputError(
            "resample",
            "output rate out of range",
            field="rate_hz",
            expected=f"0 < rate_hz <= input rate {rate:g} Hz",
            found=rate_hz,
        )
    axis = da.get_axis_num(dim)
    n_in = da.sizes[dim]
    if n_in == 0:
        raise InputError("resample", "empty signal", field=dim, expected="at least one sample", found=0)
    t0 = float(da[dim].values[0]) if dim in da.coords else 0.0
    n_out = int(np.floor((n_in - 1) * rate_hz / rate + 1e-9)) + 1
    grid_in = np.arange(n_out) * (rate / rate_hz)  # the grid times, in input samples
    if rate_hz == rate:
        filt = None
    else:
        sos = _anti_alias_sos(rate, rate_hz)
        filt = _sosfiltfilt(sos, padlen=int(np.ceil(3 * rate / rate_hz)))
    min_len = max(int(np.ceil(rate / rate_hz)), 2 if filt is None else _sos_min_len(sos))

    x = np.moveaxis(np.asarray(da.values, dtype=np.float64), axis, -1)
    lanes = x.reshape(-1, n_in)
    out = np.full((lanes.shape[0], n_out), np.nan)
    for rows, start, stop in _runs(lanes, min_len):
        block = lanes[rows, start:stop]
        smooth = block if filt is None else filt(block)
        inside = (grid_in >= start - 1e-9) & (grid_in <= stop - 1 + 1e-9)
        pos = grid_in[inside] - start
        lo = np.minimum(np.floor(pos).astype(int), stop - start - 1)
        hi = np.minimum(lo + 1, stop - start - 1)
        frac = pos - lo
        out[rows[:, None], np.flatnonzero(inside)[None, :]] = smooth[:, lo] * (1 - frac) + smooth[:, hi] * frac
    data = np.moveaxis(out.reshape(*x.shape[:-1], n_out), -1, axis)

    coords = {name: c for name, c in da.coords.items() if dim not in c.dims}
    coords[dim] = t0 + np.arange(n_out) / rate_hz
    import xarray as xr

    result = xr.DataArray(
        data.astype(da.dtype if da.dtype.kind == "f" else np.float64),
        dims=da.dims,
        coords=coords,
        name=da.name,
        attrs=dict(da.attrs),
    )
    result.attrs["rate_hz"] = float(rate_hz)
    return _logged(result, da, "resample", rate_hz=rate_hz)


def condition_raw(
    da: xr.DataArray,
    params: RawEmgParams = RawEmgParams(),
    *,
    max_gap_s: float = 0.0,
    rate_hz: float = 10.0,
    dim: str = "time",
) -> xr.DataArray:
    """Raw sEMG to an activation envelope on a ``rate_hz`` grid.

    ``band_pass -> notch (if notch_hz) -> rectify -> envelope -> fill_gaps (if max_gap_s) -> resample``,
    with ``params`` (:class:`RawEmgParams`): the envelope is ``"rms"`` (over ``window_s``) or
    ``"lowpass"`` (at ``cutoff_hz``). Gaps up to
    ``max_gap_s`` in the envelope are bridged by straight lines (default 0: none are); longer ones stay
    NaN on the output grid.
    """
    out = band_pass(da, low_hz=params.low_hz, high_hz=params.high_hz, dim=dim)
    if params.notch_hz:
        out = notch(out, freq_hz=params.notch_hz, dim=dim)
    out = rectify(out)
    out = envelope(out, method=params.envelope, window_s=params.window_s, cutoff_hz=params.cutoff_hz, dim=dim)
    if max_gap_s > 0:
        out = fill_gaps(out, max_gap_s=max_gap_s, dim=dim)
    return resample(out, rate_hz=rate_hz, dim=dim)


# --------------------------------------------------------------------------------------------
# helpers


def _rate(da: xr.DataArray, stage: str) -> float:
    try:
        rate = float(da.attrs["rate_hz"])
    except (KeyError, TypeError, ValueError):
        rate = float("nan")
    if not np.isfinite(rate) or rate <= 0:
        raise InputError(
            stage,
            "no sampling rate",
            field="attrs.rate_hz",
            expected="a positive rate in Hz",
            found=da.attrs.get("rate_hz"),
        )
    return rate


def _check_dim(da: xr.DataArray, dim: str) -> None:
    if dim not in da.dims:
        raise InputError("emg stage", "no such dimension", field="dim", expected=f"one of {list(da.dims)}", found=dim)


def _logged(out: xr.DataArray, source: xr.DataArray, stage: str, **params) -> xr.DataArray:
    """``out`` with ``source``'s attrs (plus any ``out`` sets) and one more log line."""
    attrs = {**source.attrs, **out.attrs}
    args = ", ".join(f"{k}={_fmt(v)}" for k, v in params.items())
    attrs["log"] = [*source.attrs.get("log", []), f"{stage}({args})"]
    out.attrs = attrs
    return out


def _fmt(value) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    return str(value)


def _anti_alias_sos(rate: float, rate_hz: float) -> np.ndarray:
    """The anti-aliasing low-pass, scaled to unit gain at 0 Hz (an even-order Chebyshev I filter
    sits at the bottom of its ripple there, which would shrink every mean by the ripple)."""
    from scipy import signal

    sos = signal.cheby1(
        ANTI_ALIAS_ORDER, ANTI_ALIAS_RIPPLE_DB, ANTI_ALIAS_FRACTION * rate_hz / 2, output="sos", fs=rate
    )
    dc_gain = np.prod(sos[:, :3].sum(axis=1) / sos[:, 3:].sum(axis=1))
    sos = sos.copy()
    sos[0, :3] /= dc_gain
    return sos


def _sos_min_len(sos: np.ndarray) -> int:
    """The shortest input ``sosfiltfilt`` takes with its default padding (it needs len > padlen)."""
    n_zeros = min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    return 3 * (2 * len(sos) + 1 - n_zeros) + 1


def _sosfiltfilt(sos: np.ndarray, *, padlen: int | None = None) -> Callable[[np.ndarray], np.ndarray]:
    from scipy import signal

    def run(x: np.ndarray) -> np.ndarray:
        pad = None if padlen is None else min(padlen, x.shape[-1] - 1)
        return signal.sosfiltfilt(sos, x, axis=-1, padlen=pad)

    return run


def _moving_rms(x: np.ndarray, width: int) -> np.ndarray:
    """Centred moving RMS along the last axis, windows shortened at the ends."""
    n = x.shape[-1]
    csum = np.concatenate([np.zeros(x.shape[:-1] + (1,)), np.cumsum(x * x, axis=-1)], axis=-1)
    idx = np.arange(n)
    lo = np.clip(idx - width // 2, 0, n)
    hi = np.clip(idx - width // 2 + width, 0, n)
    mean_sq = (csum[..., hi] - csum[..., lo]) / (hi - lo)
    return np.sqrt(np.maximum(mean_sq, 0.0))


def _runs(lanes: np.ndarray, min_len: int):
    """Yield ``(rows, start, stop)``: finite runs of at least ``min_len`` samples in 2-D ``lanes``.

    Lanes whose gaps fall at the same samples (the usual case: a dropped packet loses every channel)
    are handled as one block.
    """
    finite = np.isfinite(lanes)
    groups: dict[bytes, list[int]] = {}
    for i, packed in enumerate(np.packbits(finite, axis=-1)):
        groups.setdefault(packed.tobytes(), []).append(i)
    for members in groups.values():
        rows = np.asarray(members)
        mask = finite[rows[0]]
        for start, stop in true_runs(mask):
            if stop - start >= min_len:
                yield rows, int(start), int(stop)


def _apply_runs(da: xr.DataArray, dim: str, func: Callable[[np.ndarray], np.ndarray], *, min_len: int) -> xr.DataArray:
    """Apply ``func`` (along the last axis of a 2-D block) to each finite run; the rest is NaN."""
    _check_dim(da, dim)
    axis = da.get_axis_num(dim)
    x = np.moveaxis(np.asarray(da.values, dtype=np.float64), axis, -1)
    lanes = x.reshape(-1, x.shape[-1])
    out = np.full(lanes.shape, np.nan)
    for rows, start, stop in _runs(lanes, min_len):
        out[rows, start:stop] = func(lanes[rows, start:stop])
    data = np.moveaxis(out.reshape(x.shape), -1, axis)
    return da.copy(data=data.astype(da.dtype if da.dtype.kind == "f" else np.float64))


def _fill_lane(lane: np.ndarray, max_len: int) -> None:
    """In place: join interior NaN runs of at most ``max_len`` samples by straight lines."""
    if max_len < 1:
        return
    bad = ~np.isfinite(lane)
    for start, stop in true_runs(bad):
        if start == 0 or stop == len(lane) or stop - start > max_len:
            continue
        left, right = lane[start - 1], lane[stop]
        lane[start:stop] = left + (right - left) * np.arange(1, stop - start + 1) / (stop - start + 1)
