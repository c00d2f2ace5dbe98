"""Replay a recorded session through the recorder: ``miakit record --replay FOLDER``.

A third source beside real or emulated BLE sensors and Lab Streaming Layer streams, after
BrainFlow's playback board: a session folder written earlier (contract 1) is played back into a new
one, through the same recorder code path (:func:`miakit.record.recorder.record_session_async`: the
session writer, the events, the live monitor, the marker keys), at real speed or faster. No
hardware; for demos, and for tests of everything downstream of a recording.
:func:`prepare_replay` hands it to the recorder behind the protocol every source follows
(:mod:`miakit.record.source`).

- **EMG**: every packet of ``emg.csv``, in its recorded order, when the replay's clock reaches its
  recorded host time, and stamped with that time (BrainFlow's ``old_timestamps``): the replayed
  session's EMG is the recording's, so both build into the same dataset.
- **Events**: the recording's disconnects, reconnects, gaps, markers, sync marks, errors and notes,
  at their recorded host times. The recorder writes its own ``connect``, ``start`` and ``stop``
  (the recorded ones describe the original run), and a ``note`` naming what is replayed.
- **Clock**: ``speed`` times faster than the host's monotonic clock; every time the session shows
  (``now``, the monitor's rates, a marker key) is on the recording's clock. LSL sessions keep their
  clock data (``lsl_clock_at_start``, the stream map) and replay their clock offsets.
- **What else the recording holds**: its device profile (``profile.yaml``, the same bytes),
  sensor map, subject, exercise and whether it was emulated; its video (with its frame times),
  keypoints and truth are copied in when the replay closes, as recorded.

The replay ends at the recording's last row (or at ``duration_s`` of its clock, or a stop). A
recording cut short (``status: recording``) replays what it holds.
"""

from __future__ import annotations

import asyncio
import csv
import heapq
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from miakit.contracts.session import EMG_FILE, OFFSETS_FILE, PROFILE_FILE, SessionMeta, read_events, validate_session
from miakit.devices.profiles import Profile, parse_profile, read_profile_bytes
from miakit.errors import SessionError
from miakit.record.ble import SensorStats
from miakit.record.session_writer import SessionWriter

__all__ = ["ReplaySetup", "ReplaySource", "prepare_replay", "REPLAYED_EVENTS"]

REPLAYED_EVENTS = ("disconnect", "reconnect", "gap", "marker", "sync", "error", "note")
"""Event kinds copied from the recording; ``connect``, ``start`` and ``stop`` are the replay's own."""


@dataclass
class ReplaySetup:
    """A recorded session checked and ready to replay, prepared for the recorder
    (:mod:`miakit.record.source`): the recording's profile, sensors, subject and exercise; not
    ``live`` (it plays its own sync marks and ends at ``duration_s`` of its clock)."""

    folder: Path
    meta: SessionMeta
    profile: Profile
    profile_bytes: bytes
    speed: float = 1.0
    duration_s: float | None = None
    live = False

    @property
    def sensors(self) -> dict[str, str]:
        return dict(self.meta.sensors)

    @property
    def subject(self) -> str:
        return self.meta.subject

    @property
    def exercise(self) -> str | None:
        return self.meta.exercise

    @property
    def emulated(self) -> bool:
        return self.meta.recorder.emulated

    async def open(self, stop: asyncio.Event, say: Callable[[str], None]) -> None:
        """Nothing to start or find: the recording was checked when prepared."""

    async def release(self) -> None:
        """Nothing to stop."""

    def writer_kwargs(self, host_monotonic_at_start: float) -> dict:
        """The replayed session's clock data: the recording's LSL clock data, and notes saying what
        its host times are."""
        clock = self.meta.clock
        return dict(
            lsl_clock_at_start=clock.lsl_clock_at_start,
            streams=dict(clock.streams),
            clock_notes=(
                f"a replay of session {self.meta.session_id} at {self.speed:g}x: every host_time is the recording's "
                f"(its clock: {clock.notes or 'not stated'}); the replay ran on a clock {self.speed:g} times faster "
                "than time.monotonic() minus host_monotonic_at_start"
            ),
        )

    def recorder(self, writer: SessionWriter) -> ReplaySource:
        return ReplaySource(self, writer)


def prepare_replay(folder: str | Path, *, speed: float = 1.0, duration_s: float | None = None) -> ReplaySetup:
    """Check a recorded session (contract 1, one line naming what is wrong) and its profile."""
    folder = Path(folder)
    if not (math.isfinite(speed) and speed > 0):
        raise SessionError(
            "--replay-speed", "not a speed", expected="a factor > 0, e.g. 1 (real time) or 10", found=speed
        )
    meta = validate_session(folder)
    content = read_profile_bytes(folder / PROFILE_FILE, follow_symlinks=False)
    profile = parse_profile(content, where=folder / PROFILE_FILE)  # a session's profile names registered decoders only
    return ReplaySetup(folder, meta, profile, content, speed=speed, duration_s=duration_s)


class ReplaySource:
    """Play a recorded session into ``writer``; the same shape as the BLE and LSL recorders
    (``connect_all``, ``stream``, ``stop``, ``close``, ``now``, ``stats``)."""

    def __init__(self, setup: ReplaySetup, writer: SessionWriter):
        self.setup, self.writer = setup, writer
        self.speed = setup.speed
        self.t0 = writer.meta.clock.host_monotonic_at_start
        self._stats = {sensor: SensorStats(sensor, muscle) for sensor, muscle in setup.sensors.items()}
        self._stopping = asyncio.Event()

    def now(self) -> float:
        """Seconds since the session's start on the recording's clock (``speed`` times the host's)."""
        return (time.monotonic() - self.t0) * self.speed

    @property
    def stats(self) -> list[SensorStats]:
        return list(self._stats.values())

    async def connect_all(self) -> None:
        for sensor, stats in self._stats.items():
            stats.state = "streaming"
            self.writer.add_event(self.now(), "connect", sensor, f"replay of {self.setup.meta.session_id}")

    async def stream(self) -> None:
        """Play every row when the clock reaches it; return at the end of the recording (or of
        ``duration_s``, or at :meth:`stop`)."""
        meta = self.setup.meta
        self.writer.add_event(self.now(), "start", "", f"{len(self._stats)} sensors")
        self.writer.add_event(
            self.now(), "note", "", f"replay of session {meta.session_id} ({self.setup.folder}) at {self.speed:g}x"
        )
        end = self.setup.duration_s if self.setup.duration_s is not None else math.inf
        for host_time, _, play in heapq.merge(self._packets(), self._events(), self._offsets()):
            if self._stopping.is_set() or host_time > end:
                break
            wait = (host_time - self.now()) / self.speed
            if wait > 1e-3:
                try:
                    await asyncio.wait_for(self._stopping.wait(), wait)
                    break  # stopped while waiting
                except TimeoutError:
                    pass
            play()

    def _packets(self):
        """(host time, order, play) of every packet of ``emg.csv``, in its recorded order."""
        with open(self.setup.folder / EMG_FILE, newline="") as fh:
            for k, row in enumerate(csv.DictReader(fh)):
                try:
                    t, payload = float(row["host_time"]), bytes.fromhex(row["payload"])
                except (TypeError, ValueError):  # a row cut by a crash ends the recording
                    return
                yield t, (0, k), lambda t=t, sensor=row["sensor"], payload=payload: self._packet(t, sensor, payload)

    def _packet(self, t: float, sensor: str, payload: bytes) -> None:
        self.writer.add_packet(t, sensor, payload)
        stats = self._stats.get(sensor)
        if stats is not None:
            stats.received(t, payload, self.setup.profile)

    def _events(self):
        events = read_events(self.setup.folder)
        rows = events[events["kind"].isin(REPLAYED_EVENTS)].sort_values("host_time", kind="stable")
        for k, (t, kind, sensor, detail) in enumerate(
            zip(rows["host_time"], rows["kind"], rows["sensor"].astype(str), rows["detail"].astype(str))
        ):
            yield (
                float(t),
                (1, k),
                lambda t=float(t), kind=kind, sensor=sensor, detail=detail: self.writer.add_event(
                    t, kind, sensor, detail
                ),
            )

    def _offsets(self):
        """The clock offsets an LSL recording measured, at their recorded host times."""
        if self.setup.meta.clock.offsets is None:
            return
        with open(self.setup.folder / OFFSETS_FILE, newline="") as fh:
            for k, row in enumerate(csv.DictReader(fh)):
                try:
                    t, local, offset = float(row["host_time"]), float(row["local_time"]), float(row["offset"])
                except (TypeError, ValueError):
                    return
                yield (
                    t,
                    (2, k),
                    lambda t=t, stream=row["stream"], local=local, offset=offset: self.writer.add_clock_offset(
                        t, stream, local, offset
                    ),
                )

    def stop(self) -> None:
        """Ask :meth:`stream` to return (safe from a signal handler on the loop)."""
        self._stopping.set()

    async def close(self) -> None:
        """Copy in the recording's video, keypoints and truth as recorded; write the ``stop`` event."""
        self._stopping.set()
        meta, source, target = self.setup.meta, self.setup.folder, self.writer.folder
        if meta.video is not None:
            shutil.copyfile(source / meta.video.file, target / meta.video.file)
            if meta.video.frame_times:
                shutil.copyfile(source / meta.video.frame_times, target / meta.video.frame_times)
            self.writer.set_video(meta.video)
        if meta.keypoints is not None:
            shutil.copytree(source / meta.keypoints.dir, target / meta.keypoints.dir)
            self.writer.set_keypoints(meta.keypoints)
        if meta.truth is not None:
            shutil.copyfile(source / meta.truth.file, target / meta.truth.file)
            self.writer.set_truth(meta.truth)
        for stats in self._stats.values():
            stats.state = "closed"
        self.writer.add_event(self.now(), "stop", "", "")
