"""Decode a session's raw BLE notifications by its device profile.

Reads ``emg.csv`` (one row per notification, contract 1) and turns each payload into samples with
the profile's decoder. A payload the decoder cannot read is counted and skipped; it stays in
``emg.csv`` untouched, so a decoder fix later recovers it.

Payloads that carry the source's own time stamps (Lab Streaming Layer) give each sample that time,
mapped to the host clock by the session's clock offsets (:func:`lsl_to_host`), instead of the
arrival time of its row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from miakit.contracts.session import EMG_FILE, MAX_META_BYTES, OFFSETS_FILE, PROFILE_FILE, SESSION_FILE, SessionMeta
from miakit.devices.profiles import DecodeError, Profile, parse_profile
from miakit.errors import ProfileError, SessionError
from miakit.safe_yaml import read_capped
from miakit.stages.grid import unwrap_counter
from miakit.stages.quality import duplicate_packets


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
    timed: bool = False
    """the times are the source's own time stamps (mapped to host time), not arrival times"""
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


def session_profile(folder: str | Path, meta: SessionMeta | None = None) -> Profile:
    """The device profile the session was recorded with (its own copy, ``profile.yaml``).

    Never trusted: its decoder must be one of miakit's or an installed plugin's, or an import path
    the user allowed on the command line (see :mod:`miakit.devices.decoders`). With ``meta``, the
    copy must hash to ``recorder.profile_sha256`` (a profile edited after recording is refused)."""

    path = Path(folder) / PROFILE_FILE
    content = read_capped(path, error=ProfileError, max_bytes=MAX_META_BYTES, follow_symlinks=False)
    profile = parse_profile(content, where=path, trusted=False)
    if meta is not None and profile.sha256 != meta.recorder.profile_sha256:
        raise SessionError(
            path,
            "edited after recording: its sha256 differs from the one session.yaml recorded",
            expected=f"{meta.recorder.profile_sha256[:16]}... ({SESSION_FILE} recorder.profile_sha256)",
            found=f"{profile.sha256[:16]}...",
        )
    return profile


def read_packets(folder: str | Path) -> pd.DataFrame:
    """``emg.csv`` as a DataFrame; rows a crash cut in half are dropped."""
    path = Path(folder) / EMG_FILE
    try:
        df = pd.read_csv(
            path,
            dtype={"sensor": str, "payload": str},
            keep_default_na=False,
            on_bad_lines="skip",
            engine="c",
        )
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise SessionError(path, f"unreadable EMG file ({exc.__class__.__name__})") from None
    df["host_time"] = pd.to_numeric(df["host_time"], errors="coerce")
    df["seq"] = pd.to_numeric(df["seq"], errors="coerce")
    ok = df["host_time"].notna() & np.isfinite(df["host_time"]) & df["seq"].notna() & (df["payload"].str.len() % 2 == 0)
    # Only the last row may be damaged: a crash cuts the file mid-row. Anything else is corruption.
    bad = np.flatnonzero(~ok.to_numpy())
    if len(bad) and bad[0] != len(df) - 1:
        raise SessionError(
            path,
            "unreadable row",
            field=f"line {bad[0] + 2}",
            expected="host_time,sensor,seq,payload-hex",
            found=",".join(str(v) for v in df.iloc[bad[0]].tolist()),
        )
    df = df[ok].reset_index(drop=True)
    backwards = np.flatnonzero(np.diff(df["host_time"].to_numpy()) < 0)
    if len(backwards):
        row = backwards[0] + 1
        raise SessionError(
            path,
            "host times go backwards (rows are appended as notifications arrive)",
            field=f"line {row + 2}",
            expected=f">= {float(df['host_time'].iloc[row - 1])}",
            found=float(df["host_time"].iloc[row]),
        )
    return df


def decode_emg(folder: str | Path, meta: SessionMeta, *, profile: Profile | None = None) -> DecodedEMG:
    """Decode every notification of every mapped sensor."""

    profile = profile or session_profile(folder, meta)
    packets = read_packets(folder)
    out = DecodedEMG(profile=profile)
    for sensor in meta.sensors:
        rows = packets[packets["sensor"] == sensor]
        arrival: list[float] = []
        values: list[np.ndarray] = []
        seqs: list[int | None] = []
        stamps: list[np.ndarray] = []
        good_payloads: list[str] = []
        packet_seqs: list[int | None] = []
        bad = 0
        for host_time, payload in zip(rows["host_time"].to_numpy(), rows["payload"].to_numpy()):
            try:
                decoded = profile.decode(bytes.fromhex(payload))
            except (DecodeError, ValueError):
                bad += 1
                continue
            except Exception as exc:  # noqa: BLE001 - a decoder (a plugin's) that breaks, not a bad packet
                detail = " ".join(str(exc).split())[:120]
                raise SessionError(
                    profile.path,
                    f"decoder {profile.decoder!r} failed on a packet of "
                    f"sensor {sensor} ({exc.__class__.__name__}: {detail})",
                    field="decoder",
                ) from None
            good_payloads.append(payload)
            packet_seqs.append(decoded.seq)
            n = len(decoded.values)
            # Samples of one notification were taken before it was sent, spaced by the nominal rate.
            dt = 1.0 / profile.rate_hz if profile.rate_hz else 0.0
            arrival.extend(host_time - dt * np.arange(n - 1, -1, -1))
            values.append(decoded.values)
            if decoded.times is not None:
                stamps.append(decoded.times)
            seqs.extend([decoded.seq] * n if decoded.seq is not None else [None] * n)
        has_seq = bool(seqs) and all(s is not None for s in seqs)
        timed = bool(stamps) and sum(len(t) for t in stamps) == len(arrival)
        times = (
            lsl_to_host(np.concatenate(stamps), folder, meta, meta.clock.streams.get(sensor, ""))
            if timed
            else np.asarray(arrival)
        )
        if packet_seqs and all(s is not None for s in packet_seqs):  # the device's counter
            duplicates = duplicate_packets(unwrap_counter(np.asarray(packet_seqs)), np.asarray(good_payloads))
        else:  # no counter: only rows written twice
            duplicates = duplicate_packets(rows["seq"].to_numpy(), rows["payload"].to_numpy())
        out.sensors[sensor] = SensorSamples(
            sensor=sensor,
            timed=timed,
            arrival=np.asarray(times, dtype=np.float64),
            values=np.concatenate(values) if values else np.zeros((0, profile.channels)),
            device_seq=np.asarray(seqs, dtype=np.int64) if has_seq else None,
            packets=len(rows),
            bad_packets=bad,
            duplicate_packets=duplicates,
        )
    return out


def lsl_to_host(stamps: np.ndarray, folder: str | Path, meta: SessionMeta, stream: str) -> np.ndarray:
    """LSL time stamps of ``stream`` (its source clock) -> host times of the session.

    As pyxdf synchronizes: the clock offsets measured for the stream (``clock_offsets.csv``) are
    fitted as ``offset = a + b * local_time`` (a line through the offsets left after dropping those
    more than 5 median deviations from the median, which probes with a slow round trip give), and
    the stamp's host time is ``stamp + a + b * stamp - lsl_clock_at_start``. No offsets: offset 0
    (the stamps are on the local clock already, as in an imported XDF file).
    """

    stamps = np.asarray(stamps, dtype=np.float64)
    start = meta.clock.lsl_clock_at_start
    if start is None:
        raise SessionError(
            Path(folder) / "session.yaml",
            "time-stamped EMG needs the LSL clock at the start",
            field="clock.lsl_clock_at_start",
            found=None,
        )
    a = b = 0.0
    if meta.clock.offsets:
        path = Path(folder) / (meta.clock.offsets or OFFSETS_FILE)
        table = pd.read_csv(path, dtype={"stream": str}, keep_default_na=False, on_bad_lines="skip")
        table = table[table["stream"] == stream]
        local = pd.to_numeric(table["local_time"], errors="coerce").to_numpy()
        offset = pd.to_numeric(table["offset"], errors="coerce").to_numpy()
        ok = np.isfinite(local) & np.isfinite(offset)
        local, offset = local[ok], offset[ok]
        if len(offset):
            dev = np.abs(offset - np.median(offset))
            keep = dev <= 5 * max(np.median(dev), 1e-6)
            local, offset = local[keep], offset[keep]
            if len(offset) >= 2 and np.ptp(local) > 1.0:
                b, a = np.polyfit(local, offset, 1)
            else:
                a = float(np.median(offset))
    return stamps + a + b * stamps - start
