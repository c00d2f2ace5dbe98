"""The BLE recorder core, written against bleak's public API only.

:class:`BleRecorder` scans for the sensors of a device profile, connects them one at a time,
subscribes, then streams all at once. Every notification is stamped with the host's monotonic clock
on arrival and appended, raw, to the session (:class:`~miakit.record.session_writer.SessionWriter`).
On a disconnect it writes the event, listens for the sensor's advertisements and reconnects as soon
as it is back (then resubscribes) while the other sensors keep streaming, and on success writes
``reconnect`` and a ``gap`` event whose detail holds the gap's start and end. A stream that goes
quiet for longer than ``stall_s`` while connected is a ``gap`` too, written when it resumes.

Connecting, the first time and after a loss, is bleak-retry-connector's ``establish_connection``:
its retries and its back-off for each kind of error (a timeout, a transient BlueZ or proxy error,
an adapter out of connection slots), as Home Assistant connects its BLE devices.

The radio is injected: ``backend_kwargs`` pass straight to ``BleakScanner`` / ``BleakClient``
(``{}`` for the platform's own back end; ``{"backend": BumbleScanner/BumbleClient, "radio": r}``
for emulated sensors, see :class:`BleBackend`).

:func:`prepare_ble` hands the recorder (:mod:`miakit.record.recorder`) the sensors of a profile as a
:class:`BleSetup`, the protocol every source follows (:mod:`miakit.record.source`): it scans for them
when opened and makes the :class:`BleRecorder` that records them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from miakit.devices.decoders import DecodeError
from miakit.devices.profiles import Profile
from miakit.errors import DeviceError
from miakit.layout import MUSCLES
from miakit.record.session_writer import SessionWriter
from miakit.record.source import unless_stopped

if TYPE_CHECKING:
    from bleak import BleakClient


logger = logging.getLogger(__name__)

__all__ = ["BleBackend", "BleRecorder", "BleSetup", "SensorStats", "matches_profile", "prepare_ble", "scan"]

HOST_CLOCK_NOTES = "every host_time is time.monotonic() minus host_monotonic_at_start, stamped on arrival"
"""What a BLE session's host times are (its ``clock.notes``)."""


@dataclass
class BleBackend:
    """Which bleak back ends to use, and extra keyword arguments for them."""

    scanner: type | None = None
    client: type | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)

    def scanner_kwargs(self) -> dict[str, Any]:
        return {"backend": self.scanner, **self.kwargs} if self.scanner else dict(self.kwargs)

    def client_kwargs(self) -> dict[str, Any]:
        return {"backend": self.client, **self.kwargs} if self.client else dict(self.kwargs)

    @classmethod
    def emulated(cls, radio) -> BleBackend:
        """The bumble back end on ``radio`` (a :class:`~miakit.record.bumble_backend.BumbleRadio`)."""
        from miakit.record.bumble_backend import BumbleClient, BumbleScanner

        return cls(scanner=BumbleScanner, client=BumbleClient, kwargs={"radio": radio})


def matches_profile(profile: Profile, name: str | None, service_uuids: list[str]) -> bool:
    """Whether an advertisement looks like a sensor of ``profile`` (name prefix or service UUID)."""
    prefix = profile.match.name_prefix
    if prefix and name and name.startswith(prefix):
        return True
    wanted = {u.lower() for u in profile.match.service_uuids}
    return bool(wanted & {u.lower() for u in service_uuids})


async def scan(
    backend: BleBackend,
    *,
    timeout_s: float,
    profile: Profile | None = None,
    wanted: set[str] | None = None,
    until: asyncio.Event | None = None,
):
    """Scan for ``timeout_s`` seconds (less once every ``wanted`` name or address is seen, or once
    ``until`` is set: a recording stopping).

    Returns ``{address: (BLEDevice, AdvertisementData)}``, only sensors of ``profile`` where given.
    """
    from bleak import BleakScanner

    found: dict[str, tuple[Any, Any]] = {}
    done = asyncio.Event()

    def on_advert(device, adv) -> None:
        if profile is not None and not matches_profile(profile, adv.local_name or device.name, adv.service_uuids):
            return
        found[device.address] = (device, adv)
        if wanted and wanted <= {k for d, a in found.values() for k in (d.address, d.name, a.local_name) if k}:
            done.set()

    scanner = BleakScanner(on_advert, **backend.scanner_kwargs())
    try:
        await scanner.start()
    except Exception as exc:
        if backend.scanner is not None:  # an injected radio (the emulator): its own errors
            raise
        raise no_bluetooth(exc) from None
    try:
        await asyncio.wait_for(done.wait() if until is None else first_completed(done.wait(), until.wait()), timeout_s)
    except TimeoutError:
        pass
    finally:
        await scanner.stop()
    return found


def no_bluetooth(exc: BaseException) -> DeviceError:
    """The one line for a host whose Bluetooth stack cannot be reached (no BlueZ or D-Bus, no adapter:
    containers, WSL, servers), naming what failed and pointing to ``--emulate``."""
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return DeviceError(
        "no Bluetooth on this host: the BLE scanner could not start "
        f"({exc.__class__.__name__}{': ' + detail[:120] if detail else ''}); "
        "containers, WSL and servers often have no Bluetooth stack (BlueZ and D-Bus on Linux) or adapter. "
        "Without hardware, use emulated sensors: add --emulate"
    )


@dataclass
class SensorStats:
    """What the live view shows about one sensor."""

    sensor: str
    muscle: str
    state: str = "waiting"
    packets: int = 0
    bad_packets: int = 0
    drops: int = 0
    """Packets missing according to the device's own counter (where the packet carries one)."""
    disconnects: int = 0
    last_value: float = float("nan")
    last_time: float | None = None
    last_device_seq: int | None = None
    recent: deque = field(default_factory=lambda: deque(maxlen=256))

    def rate_hz(self, now: float, window_s: float = 2.0) -> float:
        """Notifications per second over the last ``window_s`` seconds."""
        n = sum(1 for t in self.recent if t > now - window_s)
        return n / window_s

    def received(self, t: float, payload: bytes, profile: Profile) -> None:
        """Count one notification that arrived at host time ``t``: its last value and, where the
        packet carries the device's counter, the packets the counter says were lost (a packet the
        profile cannot decode counts as bad)."""
        self.packets += 1
        self.last_time = t
        self.recent.append(t)
        if self.state == "stalled":
            self.state = "streaming"
        try:
            decoded = profile.decode(payload)
        except DecodeError:
            self.bad_packets += 1
            return
        self.last_value = float(decoded.values[-1, 0])
        if decoded.seq is not None:
            if self.last_device_seq is not None:
                self.drops += (decoded.seq - self.last_device_seq - 1) % 65536
            self.last_device_seq = decoded.seq


class _Link:
    def __init__(self, sensor: str, muscle: str, device):
        self.sensor = sensor
        self.device = device
        self.client: BleakClient | None = None
        self.stats = SensorStats(sensor, muscle)
        self.lost = asyncio.Event()
        self.lost_at: float | None = None


class BleRecorder:
    """Record the sensors of ``sensors`` (sensor name or address -> muscle) into ``writer``."""

    def __init__(
        self,
        profile: Profile,
        writer: SessionWriter,
        sensors: dict[str, str],
        *,
        backend: BleBackend | None = None,
        scan_timeout_s: float = 10.0,
        connect_timeout_s: float = 10.0,
        backoff_s: tuple[float, float] = (0.1, 5.0),
        stall_s: float | None = None,
        connect_attempts: int = 4,
        devices: dict[str, Any] | None = None,
    ):
        """``backoff_s``: (first, longest) seconds one scan for a lost sensor listens; the scan ends
        at the sensor's first advertisement, and each unsuccessful one listens twice as long as the
        one before, up to the longest (fewer scanner restarts for a sensor gone long).
        ``connect_attempts``: tries of one connect (``establish_connection``'s ``max_attempts``).
        ``devices``: each sensor's BLEDevice, as :func:`find_sensors` found them (else :meth:`find` scans)."""
        self.profile = profile
        self.writer = writer
        self.sensors = dict(sensors)
        self.backend = backend or BleBackend()
        self.scan_timeout_s = scan_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.backoff_s = backoff_s
        self.connect_attempts = connect_attempts
        self.stall_s = stall_s if stall_s is not None else max(1.0, 5.0 / (profile.rate_hz or 10.0))
        self.t0 = writer.meta.clock.host_monotonic_at_start
        self.links: dict[str, _Link] = {}
        if devices is not None:
            self.links = {s: _Link(s, self.sensors[s], devices[s]) for s in self.sensors}
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    def now(self) -> float:
        """Seconds since the session's start, on the host's monotonic clock."""
        return time.monotonic() - self.t0

    @property
    def stats(self) -> list[SensorStats]:
        return [link.stats for link in self.links.values()]

    # -- find ------------------------------------------------------------------------------------
    async def find(self) -> None:
        """Scan until every mapped sensor is seen; :class:`DeviceError` names the missing ones."""
        found = await find_sensors(self.profile, self.sensors, backend=self.backend, timeout_s=self.scan_timeout_s)
        self.links = {s: _Link(s, self.sensors[s], device) for s, device in found.items()}

    # -- connect and stream ----------------------------------------------------------------------
    async def connect_all(self) -> None:
        """Connect and subscribe each sensor in turn (one at a time, as adapters prefer)."""
        for link in self.links.values():
            try:
                await self._connect(link)
            except Exception as exc:
                raise DeviceError(f"{link.sensor}: could not connect and subscribe ({exc})") from None
            self.writer.add_event(self.now(), "connect", link.sensor, link.device.address)

    async def _connect(self, link: _Link) -> None:
        from bleak import BleakClient
        from bleak_retry_connector import establish_connection

        uuid = self.profile.characteristic_uuid
        assert uuid is not None, "a BLE profile names its characteristic"
        link.stats.state = "connecting"
        client = await establish_connection(
            BleakClient,
            link.device,
            link.sensor,
            disconnected_callback=lambda _client: self._on_disconnect(link),
            max_attempts=self.connect_attempts,
            timeout=self.connect_timeout_s,
            **self.backend.client_kwargs(),
        )
        try:
            if self.profile.start_command:
                cmd = self.profile.start_command
                await client.write_gatt_char(cmd.characteristic_uuid, bytes.fromhex(cmd.hex), response=True)
            await client.start_notify(uuid, lambda _c, data: self._on_notify(link, data))
        except Exception:
            await client.disconnect()
            raise
        link.client = client
        link.lost.clear()
        link.stats.state = "streaming"

    def _on_notify(self, link: _Link, data: bytearray) -> None:
        t = time.monotonic() - self.t0
        stats = link.stats
        if stats.last_time is not None and t - stats.last_time > self.stall_s and link.lost_at is None:
            self.writer.add_event(t, "gap", link.sensor, f"stalled start={stats.last_time:.6f} end={t:.6f}")
        payload = bytes(data)
        self.writer.add_packet(t, link.sensor, payload)
        stats.received(t, payload, self.profile)

    def _on_disconnect(self, link: _Link) -> None:
        t = self.now()
        link.lost_at = t
        link.client = None
        link.stats.disconnects += 1
        link.stats.state = "reconnecting"
        link.stats.last_device_seq = None
        self.writer.add_event(t, "disconnect", link.sensor, "")
        link.lost.set()

    async def _keep_connected(self, link: _Link) -> None:
        """Wait for a loss; then listen for the sensor and reconnect until it works or the recording stops."""
        while not self._stopping.is_set():
            await first_completed(link.lost.wait(), self._stopping.wait())
            if self._stopping.is_set():
                return
            listen_s = self.backoff_s[0]
            while not self._stopping.is_set():
                if await self._try_reconnect(link, listen_s=listen_s):
                    break
                listen_s = min(listen_s * 2, self.backoff_s[1])

    async def _try_reconnect(self, link: _Link, *, listen_s: float) -> bool:
        """Scan up to ``listen_s`` for the sensor (a stop ends the scan); once seen, connect."""
        seen = await scan(
            self.backend, timeout_s=max(0.5, listen_s), wanted={link.device.address}, until=self._stopping
        )
        if link.device.address not in seen or self._stopping.is_set():
            return False
        link.device = seen[link.device.address][0]
        try:
            await self._connect(link)
        except Exception as exc:
            logger.info("%s: reconnect failed: %r", link.sensor, exc)
            link.stats.state = "reconnecting"
            return False
        t = self.now()
        start = link.lost_at if link.lost_at is not None else t
        self.writer.add_event(t, "reconnect", link.sensor, link.device.address)
        self.writer.add_event(t, "gap", link.sensor, f"disconnected start={start:.6f} end={t:.6f}")
        link.lost_at = None
        link.stats.last_time = None
        return True

    async def stream(self) -> None:
        """Keep every sensor connected until :meth:`stop` is called."""
        self._tasks = [asyncio.create_task(self._keep_connected(link)) for link in self.links.values()]
        self.writer.add_event(self.now(), "start", "", f"{len(self.links)} sensors")
        stall_watch = asyncio.create_task(self._watch_stalls())
        await self._stopping.wait()
        stall_watch.cancel()
        await asyncio.gather(*self._tasks, stall_watch, return_exceptions=True)

    async def _watch_stalls(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            now = self.now()
            for link in self.links.values():
                s = link.stats
                if s.state == "streaming" and s.last_time is not None and now - s.last_time > self.stall_s:
                    s.state = "stalled"

    def stop(self) -> None:
        """Ask :meth:`stream` to return (safe to call from a signal handler on the loop)."""
        self._stopping.set()

    async def close(self) -> None:
        """Stop streaming, unsubscribe, send the stop command, disconnect, and write the ``stop`` event.

        Unsubscribing first tells the sensor to stop sending and waits for its answer, which comes
        over the same link after any notification it sent before: so every packet the sensor sent
        is recorded, none is lost in flight when the link goes down.
        """
        self._stopping.set()
        for link in self.links.values():
            client = link.client
            link.client = None
            if client is None:
                continue
            try:
                uuid = self.profile.characteristic_uuid
                assert uuid is not None, "a BLE profile names its characteristic"
                await client.stop_notify(uuid)
                if self.profile.stop_command:
                    cmd = self.profile.stop_command
                    await client.write_gatt_char(cmd.characteristic_uuid, bytes.fromhex(cmd.hex), response=True)
            except Exception as exc:
                logger.info("%s: stopping the stream failed: %r", link.sensor, exc)
            try:
                await client.disconnect()
            except Exception as exc:
                logger.info("%s: disconnect failed: %r", link.sensor, exc)
            link.stats.state = "closed"
        self.writer.add_event(self.now(), "stop", "", "")


@dataclass
class BleSetup:
    """BLE sensors of a device profile, prepared for the recorder (:mod:`miakit.record.source`):
    :meth:`open` scans for them, :meth:`recorder` records them with a :class:`BleRecorder`."""

    profile: Profile
    profile_bytes: bytes
    sensors: dict[str, str] | None
    """Sensor name or address -> muscle; None: every sensor of the profile a scan finds, in name order."""
    backend: BleBackend = field(default_factory=BleBackend)
    scan_timeout_s: float = 10.0
    emulated: bool = False
    subject: str | None = field(default=None, init=False)
    exercise: str | None = field(default=None, init=False)
    live: bool = field(default=True, init=False)
    devices: dict[str, Any] = field(default_factory=dict, init=False)
    """Each sensor's BLEDevice, found by :meth:`open`."""

    async def open(self, stop: asyncio.Event, say: Callable[[str], None]) -> None:
        """Scan until every mapped sensor is seen (with no map: take the sensors a scan finds)."""
        if self.sensors is None:
            seen = await unless_stopped(
                scan(self.backend, timeout_s=self.scan_timeout_s, profile=self.profile), stop, "scanning"
            )
            found = sorted((d.name or d.address) for d, _ in seen.values())
            self.sensors = dict(zip(found, MUSCLES))
            if not self.sensors:
                raise DeviceError(
                    f"no sensor of profile {self.profile.name!r} found after a {self.scan_timeout_s:g} s scan"
                )
        say(f"scanning for {len(self.sensors)} sensors ({self.profile.name})")
        self.devices = await unless_stopped(
            find_sensors(self.profile, self.sensors, backend=self.backend, timeout_s=self.scan_timeout_s),
            stop,
            "scanning for the sensors",
        )

    def writer_kwargs(self, host_monotonic_at_start: float) -> dict[str, Any]:
        return {"clock_notes": HOST_CLOCK_NOTES}

    def recorder(self, writer: SessionWriter) -> BleRecorder:
        assert self.sensors is not None, "open() first"
        return BleRecorder(
            self.profile,
            writer,
            self.sensors,
            backend=self.backend,
            scan_timeout_s=self.scan_timeout_s,
            devices=self.devices,
        )

    async def release(self) -> None:
        """Nothing to stop: the sensors are the user's."""


def prepare_ble(profile: Profile, sensors: dict[str, str] | None, *, scan_timeout_s: float = 10.0) -> BleSetup:
    """The sensors of ``profile`` (``sensors``: name or address -> muscle, None: whatever a scan
    finds) on this host's Bluetooth, through bleak."""
    return BleSetup(profile, Path(profile.path).read_bytes(), sensors, scan_timeout_s=scan_timeout_s)


async def find_sensors(profile: Profile, sensors: dict[str, str], *, backend: BleBackend, timeout_s: float) -> dict:
    """Scan for the sensors named in ``sensors`` (advertised name or address) -> ``{sensor: BLEDevice}``.

    Raises :class:`DeviceError` naming the ones not seen within ``timeout_s``.
    """
    seen = await scan(backend, timeout_s=timeout_s, profile=profile, wanted=set(sensors))
    by_key: dict[str, Any] = {}
    for device, adv in seen.values():
        for key in (device.address, device.name, adv.local_name):
            if key:
                by_key[key] = device
    missing = [s for s in sensors if s not in by_key]
    if missing:
        names = sorted({d.name or d.address for d, _ in seen.values()})
        raise DeviceError(
            f"sensor(s) {', '.join(missing)} not found after a {timeout_s:g} s scan for profile "
            f"{profile.name!r} (seen: {', '.join(names) or 'none'})"
        )
    return {s: by_key[s] for s in sensors}


async def first_completed(*aws) -> None:
    """Wait until the first of ``aws`` finishes; cancel the rest."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()


async def inspect_device(
    device: str, *, listen_s: float, timeout_s: float, emulated=None, echo=print
) -> list[tuple[float, str, bytes]]:
    """Dump the GATT table of ``device`` (address or name), then log notifications for ``listen_s``.

    Every characteristic that can notify or indicate is subscribed; each notification is printed
    with its host monotonic time (seconds since the listening started), characteristic and raw hex.
    Readable characteristics show their value. ``emulated`` is ``(profile, radio, emulator, backend)``
    from the CLI's ``--emulate``. Returns the notifications logged.
    """
    from bleak import BleakClient

    backend = BleBackend()
    emulator = None
    if emulated is not None:
        _profile, radio, emulator, backend = emulated()
        await radio.start()
        await emulator.start()
    log: list[tuple[float, str, bytes]] = []
    try:
        seen = await scan(backend, timeout_s=timeout_s, wanted={device})
        match = [d for d, a in seen.values() if device in (d.address, d.name, a.local_name)]
        if not match:
            raise DeviceError(f"device {device!r} not found after a {timeout_s:g} s scan")
        async with BleakClient(match[0], timeout=timeout_s, **backend.client_kwargs()) as client:
            echo(f"device {match[0].address} name={match[0].name!r} mtu={client.mtu_size}")
            notifying = []
            for service in client.services:
                echo(f"service {service.uuid} handle={service.handle} ({service.description})")
                for char in service.characteristics:
                    value = ""
                    if "read" in char.properties:
                        try:
                            value = f" value={bytes(await client.read_gatt_char(char)).hex()}"
                        except Exception as exc:
                            value = f" value=<unreadable: {exc.__class__.__name__}>"
                    echo(f"  characteristic {char.uuid} handle={char.handle} [{','.join(char.properties)}]{value}")
                    for desc in char.descriptors:
                        echo(f"    descriptor {desc.uuid} handle={desc.handle}")
                    if {"notify", "indicate"} & set(char.properties) and not char.uuid.startswith("00002a05"):
                        notifying.append(char)
            t0 = time.monotonic()
            for char in notifying:

                def on_data(sender, data, uuid=char.uuid) -> None:
                    t = time.monotonic() - t0
                    log.append((t, uuid, bytes(data)))
                    echo(f"notify {t:10.6f} {uuid} {bytes(data).hex()}")

                await client.start_notify(char, on_data)
            await asyncio.sleep(listen_s)
    finally:
        if emulator is not None:
            await emulator.stop()
    echo(f"{len(log)} notifications in {listen_s:g} s")
    return log
