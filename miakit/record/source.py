"""The one protocol of a recording's EMG source: what :mod:`miakit.record.recorder` asks of each kind.

Each kind is prepared in its own module, and the recorder never asks which kind it holds:

- :func:`miakit.record.ble.prepare_ble`: real BLE sensors of a device profile;
- :func:`miakit.record.emulator.prepare_emulated_ble`: emulated BLE sensors, bumble peripherals on an
  in-memory radio, reached through the same bleak code;
- :func:`miakit.record.lsl.prepare_lsl` (and :func:`~miakit.record.lsl.prepare_emulated_lsl`): Lab
  Streaming Layer streams;
- :func:`miakit.record.replay.prepare_replay`: a recorded session played back.

A prepared source (:class:`PreparedSource`) is checked but has touched nothing yet; :meth:`open`
starts what it needs (an emulator) and finds the sensors or streams; then it says what the session
records (profile, sensors, clock data) and makes the :class:`SourceRecorder` that streams into the
session writer (``connect_all``, ``stream``, ``stop``, ``close``, ``now``, ``stats``);
:meth:`release` stops what :meth:`open` started, whether or not the recording ran.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from miakit.errors import DeviceError

if TYPE_CHECKING:
    from miakit.devices.profiles import Profile
    from miakit.record.ble import SensorStats
    from miakit.record.session_writer import SessionWriter

__all__ = ["PreparedSource", "SourceRecorder", "unless_stopped"]

T = TypeVar("T")


@runtime_checkable
class SourceRecorder(Protocol):
    """Streams a source into a session writer (:class:`~miakit.record.ble.BleRecorder`,
    :class:`~miakit.record.lsl.LslRecorder`, :class:`~miakit.record.replay.ReplaySource`)."""

    async def connect_all(self) -> None:
        """Connect every sensor or stream (writes a ``connect`` event each)."""

    async def stream(self) -> None:
        """Stream until :meth:`stop` (writes the ``start`` event); a source that runs out returns by itself."""

    def stop(self) -> None:
        """Ask :meth:`stream` to return (safe from a signal handler on the loop)."""

    async def close(self) -> None:
        """Let go of the sensors or streams; write the ``stop`` event."""

    def now(self) -> float:
        """Seconds since the session's start, on the session's clock."""
        ...

    @property
    def stats(self) -> list[SensorStats]:
        """What the monitor and the live page show of each sensor."""
        ...


@runtime_checkable
class PreparedSource(Protocol):
    """A source of EMG, checked and ready to open (see the module's docstring)."""

    @property
    def profile(self) -> Profile:
        """The session's device profile (for LSL, derived from the streams by :meth:`open`)."""
        ...

    @property
    def profile_bytes(self) -> bytes:
        """The profile's file, as the session keeps it."""
        ...

    @property
    def sensors(self) -> dict[str, str] | None:
        """Sensor -> muscle; after :meth:`open`, the session's map."""
        ...

    @property
    def emulated(self) -> bool:
        """Whether the sensors or streams are emulated ones (or were, for a replay)."""
        ...

    @property
    def subject(self) -> str | None:
        """The recorded subject where the source is a recording (else None: the plan's, or S01)."""
        ...

    @property
    def exercise(self) -> str | None:
        """The recorded exercise where the source is a recording (else None: the plan's)."""
        ...

    @property
    def live(self) -> bool:
        """True for sensors and streams recorded now: the recorder marks the sync step and ends the
        recording at the plan's duration. False for a replay: it plays the recorded sync marks and
        ends at the duration of its own clock."""
        ...

    async def open(self, stop: asyncio.Event, say: Callable[[str], None]) -> None:
        """Start what the source needs and find its sensors or streams; a ``stop`` set meanwhile
        raises :class:`~miakit.errors.DeviceError` (see :func:`unless_stopped`)."""

    def writer_kwargs(self, host_monotonic_at_start: float) -> dict[str, Any]:
        """The session's clock data for :class:`~miakit.record.session_writer.SessionWriter`."""
        ...

    def recorder(self, writer: SessionWriter) -> SourceRecorder:
        """The recorder streaming this source into ``writer``."""
        ...

    async def release(self) -> None:
        """Stop what :meth:`open` started (an emulator); safe after a failed or no open."""


async def unless_stopped(aw: Awaitable[T], stop: asyncio.Event, what: str) -> T:
    """Await ``aw``; a stop request (Ctrl-C, SIGTERM) before it finishes cancels it and raises."""
    task = asyncio.ensure_future(aw)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([task, stopper], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise DeviceError(f"stopped while {what}, before the recording started; nothing was written")
    return task.result()
