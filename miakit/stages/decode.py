"""Decode a session's raw BLE notifications by its device profile.

Reads ``emg.csv`` (one row per notification, contract 1) and turns each payload into samples with
the profile's decoder. A payload the decoder cannot read is counted and skipped; it stays in
``emg.csv`` untouched, so a decoder fix later recovers it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from miakit.contracts.session import EMG_FILE, PROFILE_FILE, SessionMeta
from miakit.errors import SessionError
from miakit.record.profiles import DecodeError, Profile, parse_profile


@dataclass
class SensorSamples:
    """The decoded samples of one sensor, in arrival order."""

    sensor: str
    arrival: np.ndarray
    """host time (s) each sample's notification arrived"""
    values: np.ndarray
    """(samples, channels) in the profile's units"""
    device_seq: np.ndarray | None
    """the device's packet counter per sample, where the packets carry one"""
    packets: int = 0
    bad_packets: int = 0
    duplicate_packets: int = 0
    """packets received twice (:func:`miakit.stages.quality.duplicate_packets`)"""


@dataclass
class DecodedEMG:
    profile: Profile
    sensors: dict[str, SensorSamples] = field(default_factory=dict)

    @property
    def bad_packets(self) -> int:
        return sum(s.bad_packets for s in self.sensors.values())

    @property
    def packets(self) -> int:
        return sum(s.packets for s in self.sensors.values())


def session_profile(folder: str | Path) -> Profile:
    """The device profile the session was recorded with (its own copy, ``profile.yaml``)."""
    path = Path(folder) / PROFILE_FILE
    return parse_profile(path.read_bytes(), where=path)


def read_packets(folder: str | Path) -> pd.DataFrame:
    """``emg.csv`` as a DataFrame; rows a crash cut in half are dropped."""
    path = Path(folder) / EMG_FILE
    try:
        df = pd.read_csv(
            path, dtype={"sensor": str, "payload": str}, keep_default_na=False, on_bad_lines="skip",
            engine="c",
        )  # fmt: skip
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise SessionError(path, f"unreadable EMG file ({exc.__class__.__name__})") from None
    df["host_time"] = pd.to_numeric(df["host_time"], errors="coerce")
    df["seq"] = pd.to_numeric(df["seq"], errors="coerce")
    ok = df["host_time"].notna() & np.isfinite(df["host_time"]) & df["seq"].notna() & (df["payload"].str.len() % 2 == 0)
    # Only the last row may be damaged: a crash cuts the file mid-row. Anything else is corruption.
    bad = np.flatnonzero(~ok.to_numpy())
    if len(bad) and bad[0] != len(df) - 1:
        raise SessionError(path, "unreadable row", field=f"line {bad[0] + 2}", expected="host_time,sensor,seq,payload-hex", found=",".join(str(v) for v in df.iloc[bad[0]].tolist()))
    df = df[ok].reset_index(drop=True)
    backwards = np.flatnonzero(np.diff(df["host_time"].to_numpy()) < 0)
    if len(backwards):
        row = backwards[0] + 1
        raise SessionError(
            path, "host times go backwards (rows are appended as notifications arrive)", field=f"line {row + 2}",
            expected=f">= {float(df['host_time'].iloc[row - 1])}", found=float(df["host_time"].iloc[row]),
        )  # fmt: skip
    return df


def decode_emg(folder: str | Path, meta: SessionMeta, *, profile: Profile | None = None) -> DecodedEMG:
    """Decode every notification of every mapped sensor."""
    from miakit.stages.grid import unwrap_counter
    from miakit.stages.quality import duplicate_packets

    profile = profile or session_profile(folder)
    packets = read_packets(folder)
    out = DecodedEMG(profile=profile)
    for sensor in meta.sensors:
        rows = packets[packets["sensor"] == sensor]
        arrival, values, seqs = [], [], []
        good_payloads, packet_seqs = [], []
        bad = 0
        for host_time, payload in zip(rows["host_time"].to_numpy(), rows["payload"].to_numpy()):
            try:
                decoded = profile.decode(bytes.fromhex(payload))
            except (DecodeError, ValueError):
                bad += 1
                continue
            good_payloads.append(payload)
            packet_seqs.append(decoded.seq)
            n = len(decoded.values)
            # Samples of one notification were taken before it was sent, spaced by the nominal rate.
            dt = 1.0 / profile.rate_hz if profile.rate_hz else 0.0
            arrival.extend(host_time - dt * np.arange(n - 1, -1, -1))
            values.append(decoded.values)
            seqs.extend([decoded.seq] * n if decoded.seq is not None else [None] * n)
        has_seq = bool(seqs) and all(s is not None for s in seqs)
        if packet_seqs and all(s is not None for s in packet_seqs):  # the device's counter
            duplicates = duplicate_packets(unwrap_counter(np.asarray(packet_seqs)), np.asarray(good_payloads))
        else:  # no counter: only rows written twice
            duplicates = duplicate_packets(rows["seq"].to_numpy(), rows["payload"].to_numpy())
        out.sensors[sensor] = SensorSamples(
            sensor=sensor,
            arrival=np.asarray(arrival, dtype=np.float64),
            values=np.concatenate(values) if values else np.zeros((0, profile.channels)),
            device_seq=np.asarray(seqs, dtype=np.int64) if has_seq else None,
            packets=len(rows),
            bad_packets=bad,
            duplicate_packets=duplicates,
        )
    return out
