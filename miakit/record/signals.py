"""What emulated sensors stream: one signal per sensor, in device units.

- :func:`synthetic_signals`: miakit's synthetic EMG (:func:`miakit.body.signal.emg_signal`), one
  muscle per sensor;
- :func:`uci_signals`: real EMG from the UCI "EMG Physical Action" set, reduced to a moving-RMS
  envelope;
- :func:`lsl_signals`: (samples, channels) raw sEMG or an envelope for an emulated Lab Streaming
  Layer device.

The emulated devices themselves (bumble peripherals, an LSL outlet) are in
:mod:`miakit.record.emulator`; they stream these arrays, encoded as the profile's decoder expects
(:data:`miakit.devices.decoders.ENCODERS`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from miakit.body.signal import emg_signal
from miakit.errors import InputError
from miakit.layout import MUSCLES
from miakit.record.uci_file import RAW_RATE_HZ, UCI_MUSCLES, read_uci_file

__all__ = ["synthetic_signals", "uci_signals", "lsl_signals"]


def synthetic_signals(
    names: list[str], *, exercise: str, duration_s: float, rate_hz: float = 10.0, seed: int = 0, subject: int = 0
) -> dict[str, np.ndarray]:
    """Synthetic EMG (``miakit.body.signal.emg_signal``), one muscle per sensor in MUSCLES order."""

    emg = np.asarray(emg_signal(exercise, duration_s=duration_s, rate_hz=rate_hz, seed=seed, subject=subject))
    return {name: emg[:, i % emg.shape[1]] for i, name in enumerate(names)}


def uci_signals(
    path: str | Path,
    names: list[str],
    *,
    muscles: list[str] | None = None,
    rate_hz: float = 10.0,
    source_rate_hz: float = RAW_RATE_HZ,
) -> dict[str, np.ndarray]:
    """Real EMG from one UCI "EMG Physical Action" file as a ``rate_hz`` envelope per sensor.

    The file holds 8 tab-separated columns of raw sEMG at about 1 kHz
    (:func:`miakit.record.uci_file.read_uci_file`). Each column is centred,
    rectified and reduced to the RMS of consecutive windows of ``1 / rate_hz`` seconds; sensor ``i``
    streams column ``i``.
    """
    raw = _read_uci(path)
    window = max(1, int(round(source_rate_hz / rate_hz)))
    n = raw.shape[0] // window
    centred = raw[: n * window] - raw.mean(axis=0)
    rms = np.sqrt((centred.reshape(n, window, -1) ** 2).mean(axis=1))
    columns = [UCI_MUSCLES.index(m) for m in muscles] if muscles is not None else range(len(names))
    return {name: rms[:, c % rms.shape[1]] for name, c in zip(names, columns)}


def lsl_signals(
    *,
    kind: str = "raw",
    rate_hz: float | None = None,
    duration_s: float = 60.0,
    source: str | Path | None = None,
    exercise: str = "squat",
    seed: int = 0,
) -> tuple[np.ndarray, list[str], float]:
    """(samples, 8) EMG for an emulated LSL device, its channel labels (MUSCLES names) and rate.

    ``kind="raw"``: sEMG at ``rate_hz`` (1000 by default): a UCI file's 8 raw columns as they are
    (``source``), else Gaussian noise shaped by miakit's synthetic envelope. ``kind="envelope"``:
    the 10 Hz (or ``rate_hz``) envelope of either.
    """
    if kind not in ("raw", "envelope"):
        raise ValueError(f"kind must be raw or envelope, found {kind!r}")
    rate = float(rate_hz or (1000.0 if kind == "raw" else 10.0))
    labels = list(UCI_MUSCLES) if source is not None else list(MUSCLES)
    if source is not None and kind == "envelope":
        sig = uci_signals(source, labels, muscles=labels, rate_hz=rate)
        return np.column_stack([sig[m] for m in labels]), labels, rate
    if source is not None:
        raw = _read_uci(source)
        return raw - raw.mean(axis=0), labels, rate

    if kind == "envelope":
        return (
            np.asarray(emg_signal(exercise, duration_s=duration_s, rate_hz=rate, seed=seed), dtype=float),
            labels,
            rate,
        )
    env = np.asarray(emg_signal(exercise, duration_s=duration_s, rate_hz=10.0, seed=seed), dtype=float)
    t = np.arange(int(duration_s * rate)) / rate
    shaped = np.column_stack([np.interp(t, np.arange(len(env)) / 10.0, env[:, j]) for j in range(env.shape[1])])
    return shaped * np.random.default_rng(seed).standard_normal(shaped.shape), labels, rate


def _read_uci(path: str | Path) -> np.ndarray:
    """A UCI file's (samples, 8) raw sEMG (:func:`miakit.record.uci_file.read_uci_file`), finite, or
    one line saying why not. A line of empty fields (some files end with one) is no sample here."""
    try:
        raw = read_uci_file(path)
    except OSError as exc:
        raise InputError(path, f"unreadable ({exc.strerror or exc.__class__.__name__})") from None
    raw = raw[~np.isnan(raw).all(axis=1)]
    if not np.isfinite(raw).all():
        raise InputError(path, "non-finite values", expected="a UCI EMG text file of numbers", found="empty fields")
    return raw
