"""A trial's EMG: channels mapped to the 8 muscles, what each holds told apart (raw, rectified or an
envelope: :func:`emg_signal_kind`), conditioned once onto the 10 Hz grid (:func:`emg_envelopes`),
clipping counted, and why a trial imports as keypoints only (:func:`no_emg_note`)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from miakit.importers.emg_channels import match_channel, resolve_channel_map
from miakit.importers.lab.body_frame import _quiet
from miakit.importers.lab.lab_trial import LabTrial
from miakit.layout import MUSCLES, RATE_HZ
from miakit.stages.emg import RawEmgParams, condition_raw, envelope, resample

CLIP_RUN = 3
"""Without a stated ADC rail: this many equal samples at a channel's extreme count as clipped."""


def count_clipped(x: np.ndarray, rail: tuple[float, float] | None) -> int:
    """Samples at the ADC's rail (within 0.1 % of its range) where known, else on flat runs at the extreme."""
    x = np.asarray(x, dtype=np.float64)
    ok = np.isfinite(x)
    if not ok.any():
        return 0
    if rail is not None:
        lo, hi = rail
        tol = 1e-3 * (hi - lo)
        return int(((x <= lo + tol) | (x >= hi - tol))[ok].sum())
    count = 0
    for extreme in (np.nanmax(x), np.nanmin(x)):
        at = np.r_[False, x == extreme, False]
        edges = np.flatnonzero(np.diff(at.astype(int)))
        for start, stop in zip(edges[::2], edges[1::2]):
            if stop - start >= CLIP_RUN:
                count += int(stop - start)
    return count


EMG_KINDS = ("raw", "rectified", "envelope")
"""What an EMG channel may hold (``--emg-kind``; default: told apart per channel by :func:`emg_signal_kind`)."""
ENVELOPE_HF_FRACTION = 0.1
"""An envelope holds less than this fraction of its power (about its mean) above 20 Hz; raw and
rectified EMG hold most of it there."""
RECTIFIED_ASYMMETRY = 1.6
"""Rectified EMG piles up near its floor: (p99 - median) / (median - p1) above this; raw EMG on an
offset is symmetric about its median (about 1)."""


def emg_signal_kind(x: np.ndarray, rate_hz: float) -> str:
    """``raw`` (signed, broadband), ``rectified`` (non-negative, broadband) or ``envelope``
    (non-negative and smooth) for one channel, so that nothing is rectified or smoothed twice.

    Non-negative: at most 1 % of the samples below zero by more than 5 % of the channel's 1-99 %
    range (zero-phase filters ring slightly below 0). Smooth: less than :data:`ENVELOPE_HF_FRACTION`
    of the power above 20 Hz
    (a channel sampled below 100 Hz cannot hold raw EMG: an envelope). A non-negative broadband
    channel is rectified where it piles up near its floor (:data:`RECTIFIED_ASYMMETRY`), else it is
    raw EMG on an offset."""
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size < 8:
        return "raw"
    p1, p50, p99 = np.percentile(x, [1, 50, 99])
    span = max(p99 - p1, 1e-30)
    if np.mean(x < -0.05 * span) > 0.01:
        return "raw"
    if rate_hz < 100:
        return "envelope"
    power = np.abs(np.fft.rfft(x - x.mean())) ** 2
    freq = np.fft.rfftfreq(x.size, 1.0 / rate_hz)
    if power[freq > 20.0].sum() < ENVELOPE_HF_FRACTION * max(power.sum(), 1e-300):
        return "envelope"
    return "rectified" if (p99 - p50) > RECTIFIED_ASYMMETRY * max(p50 - p1, 1e-30) else "raw"


def emg_envelopes(
    trial: LabTrial,
    n_frames: int,
    *,
    side: str | None,
    params: RawEmgParams,
    channels: dict[str, str | None] | None = None,
    kind: str | None = None,
) -> tuple[np.ndarray, dict]:
    """(n_frames, 8) envelopes in MUSCLES order, NaN for muscles without a channel; and what was done.

    ``channels``: the user's map (label -> muscle, or None to leave a channel out;
    :func:`miakit.importers.emg_channels.parse_channel_map`), before the channel table. ``kind``:
    what every channel holds (:data:`EMG_KINDS`), else told apart per channel."""
    import xarray as xr

    user = resolve_channel_map(channels, list(trial.analogs), trial.path) if channels else {}
    mapped: dict[str, list[str]] = {}
    refused: dict[str, str] = {}
    for label in trial.analogs:
        if label in user:
            muscle = user[label]
            if muscle is not None:
                mapped.setdefault(muscle, []).append(label)
            continue
        m = match_channel(label, side=side)
        if m.muscle:
            mapped.setdefault(m.muscle, []).append(label)
        elif m.group:  # a muscle of ours without a side: say so
            refused[label] = m.reason
    if not mapped:  # motion capture without EMG of our muscles: keypoints only, with a note that
        # says what would name them (--channel, or --side where the labels name a muscle but no side)
        return np.full((n_frames, len(MUSCLES)), np.nan), {
            "channels": {},
            "emg_kind": {},
            "refused": refused,
            "channel_map": dict(user),
            "units": {},
            "clipped_samples": {},
            "log": [],
            "emg_note": no_emg_note(trial, user, refused),
        }
    rate = trial.analog_rate_hz
    emg = np.full((n_frames, len(MUSCLES)), np.nan)
    clipped: dict[str, int] = {}
    kinds: dict[str, str] = {}
    log: list[str] = []
    raw_params = replace(params, high_hz=min(params.high_hz, 0.9 * rate / 2))  # held below 0.9 Nyquist
    for muscle, labels in mapped.items():
        columns = []
        for lab in labels:
            x = np.asarray(trial.analogs[lab], dtype=np.float64)
            clipped[lab] = count_clipped(x, trial.analog_rails.get(lab))
            kinds[lab] = kind or ("envelope" if trial.emg_is_envelope else emg_signal_kind(x, rate))
            da = xr.DataArray(
                x[:, None] * trial.emg_scale_to_uv,
                dims=("time", "channel"),
                coords={"channel": [lab]},
                attrs={"rate_hz": rate},
            )
            if kinds[lab] == "raw":
                env = condition_raw(da, raw_params, rate_hz=RATE_HZ)
            elif kinds[lab] == "rectified":  # band-passed and rectified already: only the envelope
                env = resample(
                    envelope(
                        np.abs(da),  # type: ignore[arg-type]  # numpy's stubs: a ufunc of a DataArray is one
                        method=params.envelope,
                        window_s=params.window_s,
                        cutoff_hz=params.cutoff_hz,
                    ),
                    rate_hz=RATE_HZ,
                )
            else:  # an envelope already: only put on the grid
                env = resample(da, rate_hz=RATE_HZ)
            log = list(env.attrs["log"]) if kinds[lab] == "raw" or not log else log
            columns.append(
                np.maximum(env.values[:, 0], 0.0)
            )  # the anti-aliasing filter rings slightly below 0 next to bursts
        n = min(n_frames, min(len(c) for c in columns))
        with _quiet():
            emg[:n, MUSCLES.index(muscle)] = np.nanmean(np.stack([c[:n] for c in columns], axis=1), axis=1)
    info = {
        "channels": {m: mapped[m] for m in MUSCLES if m in mapped},
        "emg_kind": kinds,
        "refused": refused,
        "channel_map": {k: v for k, v in user.items()},
        "units": {lab: trial.analog_units.get(lab, "V") for m in mapped.values() for lab in m},
        "clipped_samples": {k: v for k, v in clipped.items() if v},
        "log": log,
        "emg_note": "",
    }
    return emg, info


def no_emg_note(
    trial: LabTrial, user: dict[str, str | None] | None = None, refused: dict[str, str] | None = None
) -> str:
    """Why a trial imports as keypoints only (no channel maps to one of the 8 muscles), and what names
    them; ``refused``: channels that name one of our muscles but that the table could not place
    (no side: ``--side`` maps them)."""

    user = user or {}
    if refused:
        shown = "; ".join(f"{k} {v}" for k, v in list(refused.items())[:3])
        more = f" and {len(refused) - 3} more" if len(refused) > 3 else ""
        why = f"its channels of our muscles could not be placed: {shown}{more}"
    elif trial.emg_note:
        why = trial.emg_note
    elif not trial.analogs:
        why = "the file has no analog channels"
    else:
        why = f"none of its {len(trial.analogs)} analog channels names a biceps, triceps, quadriceps or hamstring"
        left_out = [x for x in trial.analogs if x in user]
        unnamed = [x for x in trial.analogs if x not in user and "hardware" in match_channel(x).reason]
        if left_out:
            why += f" ({len(left_out)} left out by --channel)"
        if unnamed:
            shown = ", ".join(unnamed[:8]) + (f" and {len(unnamed) - 8} more" if len(unnamed) > 8 else "")
            why += f"; named only by the hardware: {shown} (--channel {unnamed[0]}=RightQuad names one)"
    return f"keypoints only, no EMG: {why}"
