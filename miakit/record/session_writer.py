"""Write a raw session folder (contract 1, :mod:`miakit.contracts.session`).

Used by the live recorder and by the synthetic session generator, so that the pipeline cannot
tell them apart. Rows are appended as they arrive and flushed to the OS at least every
``flush_interval_s`` (1 s by default): a crash, even SIGKILL, loses at most that much.
``session.yaml`` says ``status: recording`` until :meth:`SessionWriter.close` marks it complete.
"""

from __future__ import annotations

import csv
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from miakit._version import __version__
from miakit.contracts.session import (
    EMG_COLUMNS,
    EMG_FILE,
    EVENT_COLUMNS,
    EVENT_KINDS,
    EVENTS_FILE,
    OFFSET_COLUMNS,
    OFFSETS_FILE,
    PROFILE_FILE,
    SESSION_FILE,
    ClockInfo,
    KeypointsInfo,
    RecorderInfo,
    SessionMeta,
    TruthInfo,
    VideoInfo,
)
from miakit.devices.profiles import Profile
from miakit.errors import SessionError

if TYPE_CHECKING:
    from _csv import Writer


class SessionWriter:
    """Append-only writer of one session folder. Use as a context manager."""

    def __init__(
        self,
        folder: str | Path,
        *,
        session_id: str,
        subject: str,
        exercise: str | None,
        profile: Profile,
        profile_bytes: bytes,
        sensors: dict[str, str],
        start_time: datetime | None = None,
        host_monotonic_at_start: float | None = None,
        emulated: bool = False,
        clock_notes: str = "",
        flush_interval_s: float = 1.0,
        lsl_clock_at_start: float | None = None,
        streams: dict[str, str] | None = None,
    ):
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SessionError(self.folder, f"cannot create the session folder ({exc.strerror})") from None
        if (self.folder / SESSION_FILE).exists():
            raise SessionError(self.folder, "a session already exists here; sessions are written once")
        if not os.access(self.folder, os.W_OK):
            raise SessionError(self.folder, "the session folder is not writable")
        self.meta = SessionMeta(  # type: ignore[call-arg]  # the mypy plugin misses the alias "schema"
            schema="miakit-session/1",
            session_id=session_id,
            subject=subject,
            exercise=exercise,
            start_time=start_time or datetime.now(UTC),
            status="recording",
            recorder=RecorderInfo(profile=profile.name, profile_sha256=profile.sha256, emulated=emulated),
            sensors=dict(sensors),
            clock=ClockInfo(
                host_monotonic_at_start=time.monotonic()
                if host_monotonic_at_start is None
                else host_monotonic_at_start,
                notes=clock_notes,
                lsl_clock_at_start=lsl_clock_at_start,
                streams=dict(streams or {}),
            ),
            software={"miakit": __version__},
        )
        (self.folder / PROFILE_FILE).write_bytes(profile_bytes)
        self._write_meta()
        self._emg_fh = (self.folder / EMG_FILE).open("w", newline="", buffering=1 << 16)
        self._events_fh = (self.folder / EVENTS_FILE).open("w", newline="", buffering=1 << 14)
        self._emg = csv.writer(self._emg_fh, lineterminator="\n")
        self._events = csv.writer(self._events_fh, lineterminator="\n")
        self._emg.writerow(EMG_COLUMNS)
        self._events.writerow(EVENT_COLUMNS)
        self._offsets_fh: TextIO | None = None
        self._offsets: Writer | None = None
        self._seq: dict[str, int] = {}
        self.flush_interval_s = flush_interval_s
        self._last_flush = time.monotonic()
        self.flush()
        self.closed = False

    # -- writing -------------------------------------------------------------------------------
    def add_packet(self, host_time: float, sensor: str, payload: bytes) -> int:
        """Append one notification as received; returns its per-sensor sequence number."""
        seq = self._seq.get(sensor, 0)
        self._seq[sensor] = seq + 1
        self._emg.writerow((f"{host_time:.6f}", sensor, seq, bytes(payload).hex()))
        self.flush_if_due()
        return seq

    def add_event(self, host_time: float, kind: str, sensor: str = "", detail: str = "") -> None:
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {kind!r}; expected one of {EVENT_KINDS}")
        self._events.writerow((f"{host_time:.6f}", kind, sensor, detail))
        self.flush_if_due()

    def add_clock_offset(self, host_time: float, stream: str, local_time: float, offset: float) -> None:
        """Append one clock offset LSL measured for ``stream`` (remote clock + offset = local LSL
        clock, measured at ``local_time`` on the local LSL clock); starts clock_offsets.csv."""
        if self._offsets is None:
            self._offsets_fh = (self.folder / OFFSETS_FILE).open("w", newline="", buffering=1 << 12)
            self._offsets = offsets = csv.writer(self._offsets_fh, lineterminator="\n")
            offsets.writerow(OFFSET_COLUMNS)
        else:
            offsets = self._offsets
            self.meta = self.meta.model_copy(
                update={"clock": self.meta.clock.model_copy(update={"offsets": OFFSETS_FILE})}
            )
            self._write_meta()
        offsets.writerow((f"{host_time:.6f}", stream, f"{local_time:.9f}", f"{offset:.9f}"))
        self.flush_if_due()

    def set_video(self, video: VideoInfo) -> None:
        self.meta = self.meta.model_copy(update={"video": video})
        self._write_meta()

    def set_keypoints(self, keypoints: KeypointsInfo) -> None:
        self.meta = self.meta.model_copy(update={"keypoints": keypoints})
        self._write_meta()

    def set_truth(self, truth: TruthInfo) -> None:
        self.meta = self.meta.model_copy(update={"truth": truth})
        self._write_meta()

    def flush_if_due(self) -> None:
        if time.monotonic() - self._last_flush >= self.flush_interval_s:
            self.flush()

    def flush(self) -> None:
        self._emg_fh.flush()
        self._events_fh.flush()
        if self._offsets_fh is not None:
            self._offsets_fh.flush()
        self._last_flush = time.monotonic()

    def close(self) -> None:
        """Flush everything and mark the session complete."""
        if self.closed:
            return
        self.flush()
        for fh in (self._emg_fh, self._events_fh, *([self._offsets_fh] if self._offsets_fh else [])):
            os.fsync(fh.fileno())
            fh.close()
        self.meta = self.meta.model_copy(update={"status": "complete"})
        self._write_meta()
        self.closed = True

    def __enter__(self) -> SessionWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _write_meta(self) -> None:
        path = self.folder / SESSION_FILE
        tmp = path.with_suffix(".yaml.tmp")
        tmp.write_text(self.meta.to_yaml())
        os.replace(tmp, path)
