"""Emulated EMG sensors: bumble peripherals that speak a device profile's protocol.

Each :class:`EmulatedSensor` is a bumble Device on a shared :class:`bumble.link.LocalLink`. It
advertises the profile's name prefix and service UUID (every 20 ms, so connects take tens of ms),
serves the profile's GATT service, and once a central subscribes it notifies one sample per tick of
a given signal, encoded as the profile's decoder expects (m40 counter+envelope packets, MyoWare
ASCII, plain arrays). Ticks follow the wall clock: a sensor that is disconnected or stalled loses
those samples, as a real one does.

Faults (:class:`Faults`) make it misbehave on purpose: disconnects (the sensor drops the link and
stays silent for a while), dropped notifications, duplicated notifications (the same packet sent
twice), a sensor that never appears, a stalled stream.
Every notification actually handed to a subscribed connection is logged in
:attr:`EmulatedSensor.sent`, which is what the reliability tests compare a session against.

What they stream comes from :mod:`miakit.record.signals` (miakit's synthetic EMG, a UCI EMG file),
encoded by :data:`miakit.devices.decoders.ENCODERS`.

:class:`LslOutlet` is an emulated Lab Streaming Layer EMG device instead: one multi-channel outlet
(type ``EMG``, channel labels = muscle names) streaming raw sEMG at 1 kHz or an envelope at its own
rate (:func:`miakit.record.signals.lsl_signals`), with dropouts (the outlet goes away and comes
back with the same source id, as a device whose app restarts).

:func:`prepare_emulated_ble` hands the recorder (:mod:`miakit.record.recorder`) a set of emulated
sensors and their radio behind the protocol every source follows (:mod:`miakit.record.source`):
``miakit record --emulate``. The emulated LSL device is :func:`miakit.record.lsl.prepare_emulated_lsl`'s.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from miakit.devices.decoders import ENCODERS
from miakit.devices.profiles import Profile
from miakit.errors import DeviceError
from miakit.layout import EXERCISES, MUSCLES
from miakit.record.ble import BleBackend, BleSetup
from miakit.record.signals import synthetic_signals, uci_signals

logger = logging.getLogger(__name__)

__all__ = [
    "Disconnect",
    "EmulatedBleSetup",
    "EmulatedSensor",
    "Emulator",
    "Faults",
    "LslOutlet",
    "emulated_signals",
    "prepare_emulated_ble",
    "sensor_names",
]

ADVERTISING_INTERVAL_MS = 20.0
LINK_DRAIN_S = 0.02
"""How long a sensor that drops its link on purpose stays silent first, so nothing is in flight."""


@dataclass(frozen=True)
class Disconnect:
    """At ``at_s`` seconds after streaming starts, ``sensor`` drops the link and stays away ``down_s``."""

    sensor: str
    at_s: float
    down_s: float


@dataclass(frozen=True)
class Stall:
    """From ``at_s`` for ``duration_s`` seconds, ``sensor`` stays connected but sends nothing."""

    sensor: str
    at_s: float
    duration_s: float


@dataclass
class Faults:
    """What the emulator does wrong, on purpose."""

    disconnects: list[Disconnect] = field(default_factory=list)
    stalls: list[Stall] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    """Sensors that never advertise."""
    drop_probability: float = 0.0
    """Chance that a notification is silently not sent (the radio lost it)."""
    duplicate_probability: float = 0.0
    """Chance that a notification is sent twice, the same bytes (a link-layer retransmission)."""
    seed: int = 0

    @classmethod
    def random_disconnects(
        cls,
        sensors: list[str],
        *,
        count: int,
        duration_s: float,
        down_s: tuple[float, float] = (0.3, 1.5),
        seed: int = 0,
    ) -> Faults:
        """``count`` disconnects of random sensors at random times in the middle of ``duration_s``."""
        rng = random.Random(seed)
        events = [
            Disconnect(rng.choice(sensors), rng.uniform(0.15, 0.75) * duration_s, rng.uniform(*down_s))
            for _ in range(count)
        ]
        return cls(disconnects=sorted(events, key=lambda d: d.at_s), seed=seed)


def sensor_names(profile: Profile, count: int = len(MUSCLES)) -> list[str]:
    """Advertised names of ``count`` emulated sensors of a profile: ``M40-01``, ``M40-02``, ..."""
    prefix = profile.match.name_prefix or profile.name
    return [f"{prefix}-{i + 1:02d}" for i in range(count)]


class EmulatedSensor:
    """One bumble peripheral streaming ``signal`` (device units) at ``rate_hz`` notifications/s."""

    def __init__(
        self, name: str, address: str, profile: Profile, signal: np.ndarray, *, rate_hz: float, link, faults: Faults
    ):
        from bumble.controller import Controller
        from bumble.core import UUID, AdvertisingData
        from bumble.device import Device
        from bumble.gatt import Characteristic, Service
        from bumble.hci import Address
        from bumble.host import Host
        from bumble.transport.common import AsyncPipeSink

        if profile.decoder not in ENCODERS:
            raise ValueError(f"the emulator cannot speak decoder {profile.decoder!r}; it knows {sorted(ENCODERS)}")
        self.name = name
        self.address = address
        self.profile = profile
        self.signal = np.asarray(signal, dtype=float).ravel()
        self.rate_hz = rate_hz
        self.faults = faults
        self.encode = ENCODERS[profile.decoder]
        self.sent: list[tuple[float, bytes]] = []
        """(emulator loop time, payload) of every notification handed to a subscribed connection."""
        self.commands: list[bytes] = []
        """Bytes the central wrote to the command characteristic (start and stop commands)."""
        self.connection = None
        self.subscribed = False
        self._down_until = 0.0
        self._leaving = False
        self._rng = random.Random(zlib.crc32(f"{faults.seed}:{name}".encode()))

        controller = Controller(f"emu-{name}", link=link, public_address=address)
        self.device = Device(name=name, address=Address(address), host=Host(controller, AsyncPipeSink(controller)))
        if profile.characteristic_uuid is None or profile.service_uuid is None:
            raise ValueError(f"profile {profile.name} names no BLE service and characteristic to emulate")
        self.characteristic = Characteristic(
            UUID(profile.characteristic_uuid),
            Characteristic.Properties.READ | Characteristic.Properties.NOTIFY,
            Characteristic.READABLE,
            self.encode(0, 0.0),
        )
        characteristics = [self.characteristic]
        command_uuids = {c.characteristic_uuid for c in (profile.start_command, profile.stop_command) if c}
        for uuid in command_uuids - {profile.characteristic_uuid}:
            characteristics.append(
                Characteristic(
                    UUID(uuid),
                    Characteristic.Properties.WRITE | Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
                    Characteristic.WRITEABLE,
                    CommandValue(self.commands),  # type: ignore[arg-type]  # bumble calls its read and write
                )
            )
        self.device.add_service(Service(UUID(profile.service_uuid), characteristics))
        self.device.advertising_data = bytes(
            AdvertisingData(
                [
                    (AdvertisingData.FLAGS, bytes([0x06])),
                    (AdvertisingData.COMPLETE_LOCAL_NAME, name.encode("utf-8")),
                    (
                        AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
                        UUID(profile.service_uuid).to_bytes(),
                    ),
                ]
            )
        )
        self.device.on(Device.EVENT_CONNECTION, self._on_connection)
        self.characteristic.on("subscription", self._on_subscription)

    # -- link ------------------------------------------------------------------------------------
    async def power_on(self) -> None:
        await self.device.power_on()

    async def advertise(self) -> None:
        if not self.device.is_advertising:
            await self.device.start_advertising(
                advertising_interval_min=ADVERTISING_INTERVAL_MS, advertising_interval_max=ADVERTISING_INTERVAL_MS
            )

    def _on_connection(self, connection) -> None:
        self.connection = connection
        self.subscribed = False
        connection.on("disconnection", self._on_disconnection)

    def _on_subscription(self, bearer, notify_enabled: bool, indicate_enabled: bool) -> None:
        if bearer is self.connection:
            self.subscribed = notify_enabled

    def _on_disconnection(self, reason: int) -> None:
        self.connection = None
        self.subscribed = False
        delay = max(0.0, self._down_until - asyncio.get_running_loop().time())
        asyncio.get_running_loop().call_later(delay, lambda: asyncio.ensure_future(self._readvertise()))

    async def _readvertise(self) -> None:
        try:
            await self.advertise()
        except Exception as exc:  # the emulator is shutting down
            logger.debug("%s: advertising not restarted: %r", self.name, exc)

    async def drop_link(self, down_s: float) -> None:
        """Fault: drop the connection and stay silent (not advertising) for ``down_s`` seconds."""
        loop = asyncio.get_running_loop()
        self._down_until = loop.time() + down_s
        if self.connection is not None:
            # Stop sending first and let packets already on the link arrive, then drop it: a
            # notification is either delivered or never sent, so tests can compare exactly.
            self._leaving = True
            await asyncio.sleep(LINK_DRAIN_S)
            if self.connection is not None:
                await self.connection.disconnect()
            self._leaving = False

    # -- streaming -------------------------------------------------------------------------------
    async def stream(self, t0: float) -> None:
        """Notify one sample per tick from loop time ``t0``, forever (the signal loops)."""
        loop = asyncio.get_running_loop()
        stalls = [s for s in self.faults.stalls if s.sensor == self.name]
        period = 1.0 / self.rate_hz
        tick = 0
        while True:
            delay = t0 + tick * period - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elapsed = tick * period
            if self.connection is not None and self.subscribed and not self._leaving:
                stalled = any(s.at_s <= elapsed < s.at_s + s.duration_s for s in stalls)
                dropped = self.faults.drop_probability and self._rng.random() < self.faults.drop_probability
                if not stalled and not dropped:
                    payload = self.encode(tick, float(self.signal[tick % len(self.signal)]))
                    self.sent.append((loop.time(), payload))
                    await self.device.notify_subscriber(self.connection, self.characteristic, payload)
                    if self.faults.duplicate_probability and self._rng.random() < self.faults.duplicate_probability:
                        self.sent.append((loop.time(), payload))
                        await self.device.notify_subscriber(self.connection, self.characteristic, payload)
            tick += 1


class CommandValue:
    """A writable characteristic value that records what the central wrote."""

    def __init__(self, log: list[bytes]):
        self.log = log

    def read(self, connection) -> bytes:
        return self.log[-1] if self.log else b""

    def write(self, connection, value: bytes) -> None:
        self.log.append(bytes(value))


class Emulator:
    """A set of emulated sensors of one profile, on one link, with faults.

    ``signals`` maps each sensor's advertised name to its signal in device units (one value per
    notification). Use ``async with Emulator(...)`` or :meth:`start` / :meth:`stop`.
    """

    def __init__(
        self,
        profile: Profile,
        signals: dict[str, np.ndarray],
        *,
        link=None,
        rate_hz: float | None = None,
        faults: Faults | None = None,
    ):
        from bumble.link import LocalLink

        self.profile = profile
        self.link = link or LocalLink()
        self.rate_hz = rate_hz or profile.rate_hz or 10.0
        self.faults = faults or Faults()
        unknown = {f.sensor for f in self.faults.disconnects} | {f.sensor for f in self.faults.stalls}
        unknown |= set(self.faults.missing)
        unknown -= set(signals)
        if unknown:
            raise ValueError(f"faults name sensors the emulator does not have: {sorted(unknown)}")
        self.sensors = [
            EmulatedSensor(
                name,
                f"E0:00:00:00:{i // 256:02X}:{i % 256 + 1:02X}",
                profile,
                sig,
                rate_hz=self.rate_hz,
                link=self.link,
                faults=self.faults,
            )
            for i, (name, sig) in enumerate(signals.items())
        ]
        self._tasks: list[asyncio.Task] = []
        self.t0: float | None = None

    def __getitem__(self, name: str) -> EmulatedSensor:
        for sensor in self.sensors:
            if sensor.name == name:
                return sensor
        raise KeyError(name)

    async def start(self) -> None:
        """Power on, advertise (all but the missing sensors), start streaming and the fault schedule."""
        loop = asyncio.get_running_loop()
        for sensor in self.sensors:
            await sensor.power_on()
            if sensor.name not in self.faults.missing:
                await sensor.advertise()
        self.t0 = loop.time()
        self._tasks = [asyncio.create_task(s.stream(self.t0), name=f"emu-{s.name}") for s in self.sensors]
        self._tasks += [asyncio.create_task(self._disconnect_later(d)) for d in self.faults.disconnects]

    async def _disconnect_later(self, fault: Disconnect) -> None:
        assert self.t0 is not None
        await asyncio.sleep(max(0.0, self.t0 + fault.at_s - asyncio.get_running_loop().time()))
        await self[fault.sensor].drop_link(fault.down_s)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        for sensor in self.sensors:
            try:
                if sensor.device.is_advertising:
                    await sensor.device.stop_advertising()
            except Exception as exc:  # the link may already be torn down
                logger.debug("%s: %r", sensor.name, exc)

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()


# -- what `miakit record --emulate` records (see miakit.record.recorder) ----------------------------
def emulated_signals(
    names: list[str], rate_hz: float, *, source: Path | None, exercise: str | None, duration_s: float | None
) -> dict[str, np.ndarray]:
    """What the emulated sensors ``names`` stream: the UCI EMG file ``source``, else miakit's
    synthetic EMG of ``exercise`` (the first exercise where None) for ``duration_s`` (60 s where
    None) and 10 s more."""

    if source is not None:
        return uci_signals(source, names, muscles=list(MUSCLES[: len(names)]), rate_hz=rate_hz)
    try:
        from miakit.body.signal import emg_signal  # noqa: F401
    except ImportError:
        raise DeviceError(
            "synthetic EMG for --emulate needs miakit.body.signal.emg_signal, which this install lacks; "
            "pass --emulate-source FILE (a UCI EMG file) instead"
        ) from None
    duration = max(duration_s or 60.0, 10.0) + 10.0
    return synthetic_signals(names, exercise=exercise or EXERCISES[0], duration_s=duration, rate_hz=rate_hz)


@dataclass
class EmulatedBleSetup(BleSetup):
    """Emulated sensors, prepared for the recorder as real ones are (:class:`~miakit.record.ble.BleSetup`):
    :meth:`open` makes the central's radio (bumble's, in memory) and the sensors on its link, powers
    them on, then scans for the sensors through bleak; :meth:`release` powers the sensors off."""

    make_emulator: Callable[[Any], Emulator] | None = None
    """The sensors on a given link (the radio's)."""
    emulator: Emulator | None = field(default=None, init=False)

    async def open(self, stop: asyncio.Event, say: Callable[[str], None]) -> None:
        from miakit.record.bumble_backend import BumbleRadio

        assert self.make_emulator is not None
        radio = BumbleRadio()
        self.backend = BleBackend.emulated(radio)
        self.emulator = self.make_emulator(radio.link)
        await radio.start()
        await self.emulator.start()
        await super().open(stop, say)

    async def release(self) -> None:
        if self.emulator is not None:
            await self.emulator.stop()


def prepare_emulated_ble(
    profile: Profile,
    sensors: dict[str, str] | None,
    *,
    rate_hz: float | None = None,
    faults: Faults | None = None,
    source: Path | None = None,
    exercise: str | None = None,
    duration_s: float | None = None,
    scan_timeout_s: float = 10.0,
) -> EmulatedBleSetup:
    """One emulated sensor of ``profile`` per muscle on bumble's in-memory radio, streaming
    :func:`emulated_signals` at ``rate_hz`` (the profile's rate where None) with ``faults``, from
    when the setup opens. ``sensors``: the map (sensor name -> muscle); None: the emulated sensors
    in muscle order."""
    names = sensor_names(profile, len(MUSCLES))
    rate = rate_hz or profile.rate_hz or 10.0

    def make_emulator(link: Any) -> Emulator:
        signals = emulated_signals(names, rate, source=source, exercise=exercise, duration_s=duration_s)
        return Emulator(profile, signals, link=link, rate_hz=rate, faults=faults)

    return EmulatedBleSetup(
        profile,
        Path(profile.path).read_bytes(),
        sensors if sensors is not None else dict(zip(names, MUSCLES)),
        scan_timeout_s=scan_timeout_s,
        emulated=True,
        make_emulator=make_emulator,
    )


# -- a Lab Streaming Layer EMG device --------------------------------------------------------------
class LslOutlet:
    """An emulated EMG device with a Lab Streaming Layer outlet, streaming from a thread.

    Pushes ``signal`` ((samples, channels), looping) at ``rate_hz`` in chunks of ``chunk_s``, each
    stamped on the LSL clock as a device would (the last sample of a chunk at its due time, the
    others spaced by the nominal rate). ``dropouts`` are ``(at_s, down_s)`` seconds after start:
    the outlet is destroyed (an inlet sees the stream lost), the samples due meanwhile are never
    sent, and a new outlet with the same source id comes back. :attr:`sent` holds the LSL time
    stamps of every sample pushed; :attr:`gaps` the LSL times each dropout began and ended.
    Use ``with LslOutlet(...)`` or :meth:`start` / :meth:`stop`.
    """

    def __init__(
        self,
        name: str,
        signal: np.ndarray,
        *,
        rate_hz: float,
        labels: list[str],
        stream_type: str = "EMG",
        source_id: str | None = None,
        units: str = "microvolts",
        dropouts: list[tuple[float, float]] | None = None,
        chunk_s: float = 0.02,
    ):
        self.name, self.rate_hz, self.labels, self.stream_type = name, float(rate_hz), list(labels), stream_type
        self.signal = np.asarray(signal, dtype=np.float32)
        if self.signal.ndim != 2 or self.signal.shape[1] != len(self.labels):
            raise ValueError(f"signal must be (samples, {len(self.labels)}), found {self.signal.shape}")
        self.source_id = source_id or f"miakit-emulator-{name}"
        self.units, self.dropouts, self.chunk_s = units, sorted(dropouts or []), chunk_s
        self._first = None
        self.sent: list[np.ndarray] = []
        self.gaps: list[tuple[float, float]] = []
        self.t0: float = 0.0
        """the LSL clock when the device started"""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def _make_outlet(self):
        import pylsl

        info = pylsl.StreamInfo(
            self.name, self.stream_type, len(self.labels), self.rate_hz, pylsl.cf_float32, self.source_id
        )
        channels = info.desc().append_child("channels")
        for label in self.labels:
            ch = channels.append_child("channel")
            ch.append_child_value("label", label)
            ch.append_child_value("unit", self.units)
            ch.append_child_value("type", self.stream_type)
        info.desc().append_child("acquisition").append_child_value("manufacturer", "miakit emulator")
        return pylsl.StreamOutlet(info, chunk_size=max(1, int(self.chunk_s * self.rate_hz)))

    def start(self) -> LslOutlet:
        import pylsl

        self._stop = threading.Event()
        self._first = self._make_outlet()  # in this thread, so a resolve right after start finds it
        self.t0 = pylsl.local_clock()
        self._thread = threading.Thread(target=self._run, name=f"lsl-emu-{self.name}", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        import pylsl

        outlet, self._first = self._first, None  # the only reference: dropping it destroys the outlet
        try:
            period, k, n = 1.0 / self.rate_hz, 0, len(self.signal)
            while not self._stop.is_set():
                elapsed = pylsl.local_clock() - self.t0
                due = int(elapsed * self.rate_hz)
                down = [d for d in self.dropouts if d[0] <= elapsed < d[0] + d[1]]
                if down and outlet is not None:
                    outlet = None  # the stream goes away: inlets see it lost
                    self.gaps.append((self.t0 + down[0][0], self.t0 + down[0][0] + down[0][1]))
                if down:
                    k = due
                elif outlet is None:
                    outlet, k = self._make_outlet(), due
                elif due > k:
                    idx = np.arange(k, due)
                    stamps = self.t0 + (idx + 1) * period
                    outlet.push_chunk(self.signal[idx % n], timestamp=float(stamps[-1]))
                    self.sent.append(stamps)
                    k = due
                self._stop.wait(self.chunk_s)
        except BaseException as exc:  # seen by the test or the recorder, not lost in a thread
            self.error = exc
            logger.exception("LSL emulator %s stopped", self.name)

    def drop(self, down_s: float, *, after_s: float = 0.0) -> None:
        """Schedule one more dropout: in ``after_s`` seconds, for ``down_s`` seconds."""
        import pylsl

        self.dropouts = sorted([*self.dropouts, (pylsl.local_clock() - self.t0 + after_s, down_s)])

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> LslOutlet:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
