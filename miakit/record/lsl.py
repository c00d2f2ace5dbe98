"""Record EMG from Lab Streaming Layer streams: ``miakit record --source lsl[:NAME]``.

Any EMG system with an LSL outlet (Delsys, Noraxon, OpenBCI, BrainFlow boards) records a contract-1
session the pipeline builds like a BLE one:

- **Streams** are resolved by name (``lsl:NAME``) or by type ``EMG`` (``lsl``), within a bounded
  timeout; none found is one line naming what was looked for and what streams were seen.
- **emg.csv**: one row per channel per pulled chunk, with the host's arrival time, the channel as
  the sensor (its label, ``STREAM/LABEL`` where several streams are recorded), the session's
  sequence number, and the payload: per sample the LSL time stamp (float64, the stream's source
  clock, as LSL stamped it) and the value (float32) (decoder ``lsl_float32_v1``). Every channel is
  kept; the sensor map says which ones are muscles.
- **clock_offsets.csv**: the clock offsets LSL measures (``inlet.time_correction()``, probed every
  ``clock_every_s``), stored raw with the local LSL time they were measured at, so that offset and
  drift are fitted when building (:func:`miakit.stages.decode.lsl_to_host`), as pyxdf does.
- **Events**: ``connect`` per stream, ``disconnect`` when a stream is lost, ``reconnect`` and a
  ``gap`` (its start and end) when it is back (re-resolved by its source id, with back-off), a
  ``gap`` for a stream that went quiet while connected; markers and sync as the BLE recorder writes.
- **Sensor map**: channel labels (``desc/channels/channel/label``) that name muscles, else
  ``--sensors`` (keys: a label, ``STREAM/LABEL`` or the 1-based channel number), else channel order.
- **Profile**: ``recorders/lsl.yaml`` (or the user's own ``transport: lsl`` profile); the session's
  copy gets the stream's rate and, for ``kind: auto``, raw from :data:`LSL_RAW_MIN_HZ` up, else
  envelope.

On this machine or in tests, :func:`use_loopback` keeps LSL on the loopback interface (resolve
scope ``machine``) in a session id of its own, so emulated streams never meet a lab's real ones.
"""

from __future__ import annotations

import asyncio
import functools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from miakit.devices.decoders import encode_lsl_float32_v1
from miakit.devices.profiles import Profile, parse_profile
from miakit.errors import DeviceError, SessionError
from miakit.layout import EXERCISES, MUSCLES
from miakit.record.ble import SensorStats, first_completed
from miakit.record.emulator import LslOutlet
from miakit.record.session_writer import SessionWriter
from miakit.record.signals import lsl_signals
from miakit.record.source import unless_stopped

__all__ = [
    "LSL_RAW_MIN_HZ",
    "EMG_TYPE",
    "LslChannel",
    "LslRecorder",
    "LslSetup",
    "channel_map",
    "loopback_config",
    "parse_source",
    "prepare_emulated_lsl",
    "prepare_lsl",
    "resolve_emg_streams",
    "session_profile",
    "use_loopback",
]

LSL_RAW_MIN_HZ = 500.0
"""A stream at this rate or faster is raw sEMG (for profiles of ``kind: auto``); slower is an envelope."""
EMG_TYPE = "EMG"


def loopback_config(session_id: str = "miakit-emulated", log_level: int = -2) -> str:
    """An ``lsl_api.cfg`` that keeps LSL on this machine: IPv4 loopback, resolve scope ``machine``,
    its own session id (streams of other session ids are invisible). ``LSLAPICFG=FILE`` selects it."""
    return (
        f"[ports]\nIPv6 = disable\n[multicast]\nResolveScope = machine\n[lab]\nSessionID = {session_id}\n"
        f"[log]\nlevel = {log_level}\n"
    )


def use_loopback(session_id: str = "miakit-emulated") -> bool:
    """Configure this process's liblsl with :func:`loopback_config` (only before its first LSL call,
    and only where the user has not chosen a config with ``LSLAPICFG``); True if it was applied."""
    import os

    import pylsl

    if os.environ.get("LSLAPICFG"):
        return False
    try:
        pylsl.set_config_content(loopback_config(session_id))
    except NotImplementedError:
        return False
    return True


def require_pylsl() -> None:
    """One line, not a traceback, where pylsl (or the liblsl it carries) is missing."""
    try:
        import pylsl  # noqa: F401
    except (ImportError, RuntimeError) as exc:
        raise DeviceError(
            f"recording from LSL needs pylsl ({exc.__class__.__name__}: "
            f"{exc}); install it with: pip install 'miakit[lsl]'"
        ) from None


def parse_source(text: str) -> tuple[str, str | None]:
    """``"ble"`` -> ("ble", None); ``"lsl"`` -> ("lsl", None); ``"lsl:NAME"`` -> ("lsl", "NAME")."""
    kind, sep, name = text.strip().partition(":")
    if kind == "ble" and not sep:
        return "ble", None
    if kind == "lsl" and (not sep or name.strip()):
        return "lsl", name.strip() or None
    raise SessionError("--source", "unknown source", expected="ble, lsl or lsl:STREAM_NAME", found=text)


def channel_labels(info) -> list[str]:
    """The stream's channel labels (desc/channels/channel/label), ``ch1``, ``ch2``... where missing."""
    labels: list[str] = []
    if hasattr(info, "desc"):
        ch = info.desc().child("channels").child("channel")
        while not ch.empty() and len(labels) < info.channel_count():
            labels.append(ch.child_value("label").strip())
            ch = ch.next_sibling("channel")
    else:  # an XDF stream header (miakit.importers.xdf)
        labels = list(getattr(info, "labels", None) or [])[: info.channel_count()]
    labels += [""] * (info.channel_count() - len(labels))
    out = []
    for i, label in enumerate(labels):
        out.append(label if label and label not in out else f"ch{i + 1}")
    return out


def channel_unit(info) -> str | None:
    if not hasattr(info, "desc"):
        return getattr(info, "unit", None)
    ch = info.desc().child("channels").child("channel")
    unit = "" if ch.empty() else ch.child_value("unit").strip()
    return unit or None


def describe(info) -> str:
    rate = f"{info.nominal_srate():g} Hz" if info.nominal_srate() else "irregular"
    return f"{info.name()!r} (type {info.type()!r}, {info.channel_count()} ch, {rate}, on {info.hostname()})"


def resolve_emg_streams(name: str | None, *, timeout_s: float) -> list:
    """The EMG streams to record: those named ``name``, else those of type ``EMG``.

    Raises :class:`DeviceError` (one line: what was looked for, what streams were seen) where none is
    found within ``timeout_s``, or where a stream's samples are strings rather than numbers.
    """
    import pylsl

    found = (
        pylsl.resolve_byprop("name", name, 1, timeout_s)
        if name
        else pylsl.resolve_byprop("type", EMG_TYPE, 1, timeout_s)
    )
    if not found:
        seen = pylsl.resolve_streams(wait_time=min(1.0, timeout_s))
        what = f"named {name!r}" if name else f"of type {EMG_TYPE!r}"
        raise DeviceError(
            f"no LSL stream {what} found after {timeout_s:g} s (seen: {', '.join(describe(i) for i in seen) or 'none'})"
        )
    unique = {info.uid(): info for info in found}
    infos = sorted(
        (full_info(i, timeout_s=timeout_s) for i in unique.values()), key=lambda i: (i.name(), i.source_id(), i.uid())
    )
    for info in infos:
        if info.channel_format() in (pylsl.cf_string, pylsl.cf_undefined):
            raise DeviceError(f"LSL stream {describe(info)} sends strings, not EMG samples")
    return infos


class Resolved:
    """A resolved stream: ``info`` (what an inlet connects with) and its whole ``header`` (with the
    description a resolve leaves out); reads like a ``pylsl.StreamInfo`` of the header."""

    def __init__(self, info, header):
        self.info, self.header = info, header

    def __getattr__(self, name):
        return getattr(self.header, name)


def full_info(info, *, timeout_s: float) -> Resolved:
    """The stream with its whole header (channel labels and units live in its ``desc``)."""
    import pylsl

    inlet = pylsl.StreamInlet(info, max_buflen=1, recover=False)
    try:
        return Resolved(info, inlet.info(timeout=timeout_s))
    except pylsl.util.TimeoutError:
        raise DeviceError(f"LSL stream {describe(info)} did not send its header within {timeout_s:g} s") from None
    finally:
        del inlet


@dataclass(frozen=True)
class LslChannel:
    sensor: str
    """the sensor id in the session: the label, or STREAM/LABEL where several streams are recorded"""
    stream: str
    index: int
    label: str


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def channel_map(infos: list, sensors: dict[str, str] | None) -> tuple[list[LslChannel], dict[str, str], str]:
    """Every channel of ``infos`` as a sensor, the sensor map (sensor -> muscle) and how it was made.

    ``sensors`` (from ``--sensors``, keys: a label, ``STREAM/LABEL`` or the 1-based channel number
    counted over all streams) wins; else labels that name a muscle (case, spaces, ``_`` and ``-``
    ignored); else the channels in order, onto MUSCLES in order.
    """
    several = len({i.name() for i in infos}) > 1 or len(infos) > 1
    channels = []
    for info in infos:
        for k, label in enumerate(channel_labels(info)):
            sensor = f"{info.name()}/{label}" if several else label
            channels.append(LslChannel(sensor, info.name(), k, label))
    if sensors:
        keys: dict[str, str] = {}
        for n, ch in enumerate(channels, start=1):
            for key in (ch.sensor, f"{ch.stream}/{ch.label}", ch.label, str(n)):
                keys.setdefault(key, ch.sensor)
        unknown = [k for k in sensors if k not in keys]
        if unknown:
            raise SessionError(
                "--sensors",
                "no such channel in the LSL stream(s)",
                field=unknown[0],
                expected=f"one of {[c.sensor for c in channels]} or a channel number",
                found=unknown[0],
            )
        mapping = {keys[k]: m for k, m in sensors.items()}
        if len(mapping) != len(sensors):
            raise SessionError("--sensors", "two keys name the same channel", found=sorted(sensors))
        return channels, mapping, "the sensor map"
    by_name = {_norm(m): m for m in MUSCLES}
    mapping = {ch.sensor: by_name[_norm(ch.label)] for ch in channels if _norm(ch.label) in by_name}
    if mapping and len(set(mapping.values())) == len(mapping):
        return channels, mapping, "channel labels"
    return channels, {ch.sensor: m for ch, m in zip(channels, MUSCLES)}, "channel order"


def session_profile(template: Profile, infos: list) -> tuple[Profile, bytes]:
    """The session's own profile: ``template`` with the streams' rate, kind (for ``auto``) and units."""
    if template.transport != "lsl":
        raise SessionError(
            template.path, "not an LSL profile", field="transport", expected="lsl", found=template.transport
        )
    rates = sorted({float(i.nominal_srate()) for i in infos})
    if len(rates) > 1:
        raise DeviceError(
            f"LSL streams at different rates ({', '.join(describe(i) for i in infos)}): "
            "record one at a time with --source lsl:NAME"
        )
    rate = template.rate_hz or (rates[0] or None)
    kind = template.kind
    if kind == "auto":
        kind = "raw" if rate and rate >= LSL_RAW_MIN_HZ else "envelope"
    if kind == "raw" and not rate:
        raise DeviceError(
            f"LSL stream {describe(infos[0])} has no regular rate; raw sEMG needs one (a profile with rate_hz)"
        )
    data = template.model_dump(mode="json")
    data.update(
        rate_hz=rate,
        kind=kind,
        description=f"{template.description} - recorded from {', '.join(describe(i) for i in infos)}",
    )
    if template.units == "stream units":
        data["units"] = channel_unit(infos[0]) or template.units
    content = (
        f"# {Path(template.path).name or 'the LSL profile'} as this session "
        "was recorded with it: the stream's rate and kind filled in\n" + yaml.safe_dump(data, sort_keys=False)
    ).encode()
    return parse_profile(content, where=template.path or "<lsl profile>"), content


@dataclass
class _Stream:
    info: Any
    channels: list[LslChannel]
    stats: list[SensorStats]
    name: str = ""
    source_id: str = ""
    stream_type: str = ""
    inlet: Any = None
    lost_at: float | None = None
    last_time: float | None = None
    probing: bool = False
    samples: int = 0
    offsets: list[float] = field(default_factory=list)


class LslRecorder:
    """Record LSL streams into ``writer``; the same shape as :class:`~miakit.record.ble.BleRecorder`
    (``connect_all``, ``stream``, ``stop``, ``close``, ``now``, ``stats``), so the session around it
    (markers, sync, protocol, live view) is the same code."""

    def __init__(
        self,
        infos: list,
        channels: list[LslChannel],
        writer: SessionWriter,
        sensors: dict[str, str],
        *,
        poll_s: float = 0.02,
        clock_every_s: float = 2.0,
        stall_s: float = 1.0,
        resolve_s: float = 0.5,
        backoff_s: tuple[float, float] = (0.1, 1.0),
        open_timeout_s: float = 5.0,
    ):
        self.writer, self.sensors = writer, dict(sensors)
        self.poll_s, self.clock_every_s, self.stall_s, self.resolve_s = poll_s, clock_every_s, stall_s, resolve_s
        self.backoff_s, self.open_timeout_s = backoff_s, open_timeout_s
        self.t0 = writer.meta.clock.host_monotonic_at_start
        self.streams = []
        for info in infos:
            own = [c for c in channels if c.stream == info.name()]
            stats = [SensorStats(c.sensor, self.sensors.get(c.sensor, "-")) for c in own]
            self.streams.append(_Stream(info, own, stats, info.name(), info.source_id(), info.type()))
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    def now(self) -> float:
        """Seconds since the session's start, on the host's monotonic clock."""
        return time.monotonic() - self.t0

    @property
    def stats(self) -> list[SensorStats]:
        return [s for st in self.streams for s in st.stats if s.muscle != "-"]

    # -- connect ---------------------------------------------------------------------------------
    async def connect_all(self) -> None:
        for st in self.streams:
            try:
                await self._open(st)
            except Exception as exc:
                raise DeviceError(f"LSL stream {describe(st.info)}: could not open it ({exc})") from None
            self.writer.add_event(self.now(), "connect", st.name, f"source_id={st.source_id} host={st.info.hostname()}")
            await self._probe_clock(st)

    async def _open(self, st: _Stream, *, timeout_s: float | None = None) -> None:
        import pylsl

        def make():
            inlet = pylsl.StreamInlet(getattr(st.info, "info", st.info), max_buflen=60, recover=False)
            inlet.open_stream(timeout=timeout_s or self.open_timeout_s)
            return inlet

        st.inlet = await asyncio.to_thread(make)
        st.last_time = None
        for s in st.stats:
            s.state = "streaming"

    async def _probe_clock(self, st: _Stream) -> None:
        """One clock offset (remote + offset = local LSL clock), written raw with its local time."""
        import pylsl

        if st.inlet is None or st.probing:
            return
        st.probing = True

        def correction() -> float:  # holds the inlet in the worker thread only (see _on_lost)
            inlet = st.inlet
            if inlet is None:
                raise pylsl.util.LostError("the stream has been lost")
            return inlet.time_correction(2.0)

        try:
            offset = await asyncio.to_thread(correction)
        except (pylsl.util.TimeoutError, pylsl.util.LostError, RuntimeError, ValueError):
            return
        finally:
            st.probing = False
        if self.writer.closed:
            return
        local = pylsl.local_clock()
        st.offsets.append(offset)
        self.writer.add_clock_offset(self.now(), st.name, local, offset)

    # -- stream ----------------------------------------------------------------------------------
    async def stream(self) -> None:
        """Pull every stream until :meth:`stop`; reconnect lost ones."""
        self.writer.add_event(
            self.now(), "start", "", f"{len(self.streams)} LSL stream(s), {len(self.sensors)} sensors"
        )
        self._tasks = [asyncio.create_task(self._pump(st)) for st in self.streams]

        await self._stopping.wait()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _pump(self, st: _Stream) -> None:
        next_probe = self.now() + self.clock_every_s
        while not self._stopping.is_set():
            if st.inlet is None:
                await self._reconnect(st)
                next_probe = self.now() + self.clock_every_s
                continue
            self._pull(st)
            if st.inlet is not None and self.now() >= next_probe:
                asyncio.ensure_future(self._probe_clock(st))
                next_probe = self.now() + self.clock_every_s
            await asyncio.sleep(self.poll_s)

    def _pull(self, st: _Stream) -> int:
        import pylsl

        try:
            data, stamps = st.inlet.pull_chunk(timeout=0.0, max_samples=8192)
        except pylsl.util.LostError:
            self._on_lost(st)
            return 0
        if not stamps:
            return 0
        t = self.now()
        if st.last_time is not None and t - st.last_time > self.stall_s:
            self.writer.add_event(t, "gap", st.name, f"stalled start={st.last_time:.6f} end={t:.6f}")
        data, stamps = np.asarray(data, dtype=np.float64), np.asarray(stamps, dtype=np.float64)
        for ch, stats in zip(st.channels, st.stats):
            self.writer.add_packet(t, ch.sensor, encode_lsl_float32_v1(stamps, data[:, ch.index]))
            stats.packets += 1
            stats.last_value = float(data[-1, ch.index])
            stats.last_time = t
            stats.recent.append(t)
            stats.state = "streaming"
        st.last_time = t
        st.samples += len(stamps)
        return len(stamps)

    def _on_lost(self, st: _Stream) -> None:
        t = self.now()
        _dispose(st.inlet)
        st.inlet, st.lost_at = None, t  # (the loop's reference goes first; the timer's last)
        for s in st.stats:
            s.disconnects += 1
            s.state = "reconnecting"
        self.writer.add_event(t, "disconnect", st.name, "stream lost")

    def _predicate(self, st: _Stream) -> str:
        if st.source_id:
            return f"source_id='{st.source_id}'"
        return f"name='{st.name}' and type='{st.stream_type}'"

    async def _reconnect(self, st: _Stream) -> None:
        """Watch for the lost stream to come back (by its source id, else name and type) with a
        continuous resolver, and reopen it. (A one-shot resolve can block for seconds right after a
        stream was lost; the continuous one answers at once from what it has heard.)"""
        import pylsl

        dead = st.info.uid()
        resolver = await asyncio.to_thread(pylsl.ContinuousResolver, pred=self._predicate(st), forget_after=2.0)
        try:
            while not self._stopping.is_set():
                found = [i for i in resolver.results() if i.uid() != dead]  # it may still list the lost outlet
                if found:
                    st.info = found[0]
                    try:
                        await self._open(st, timeout_s=1.0)
                    except Exception:
                        st.inlet = None
                    else:
                        t = self.now()
                        start = st.lost_at if st.lost_at is not None else t
                        self.writer.add_event(
                            t, "reconnect", st.name, f"source_id={st.source_id} host={st.info.hostname()}"
                        )
                        self.writer.add_event(t, "gap", st.name, f"disconnected start={start:.6f} end={t:.6f}")
                        st.lost_at = None
                        await self._probe_clock(st)
                        return
                await first_completed(asyncio.sleep(self.backoff_s[0]), self._stopping.wait())
        finally:
            _dispose(resolver)
            del resolver

    def stop(self) -> None:
        """Ask :meth:`stream` to return (safe from a signal handler on the loop)."""
        self._stopping.set()

    async def close(self) -> None:
        """Pull what is left, one last clock offset, close the inlets, write the ``stop`` event."""
        self._stopping.set()
        for st in self.streams:
            if st.inlet is None:
                continue
            self._pull(st)
            await self._probe_clock(st)
            if st.inlet is not None:
                try:
                    st.inlet.close_stream()
                except Exception:
                    pass
            st.inlet = None
            for s in st.stats:
                s.state = "closed"
        self.writer.add_event(self.now(), "stop", "", "")


def _dispose(obj) -> None:
    """Let go of a liblsl object (a lost inlet, a resolver) in a thread of its own: a destructor
    that waits on liblsl's network threads must not stall the recording's loop."""
    import threading

    box = [obj]
    del obj
    timer = threading.Timer(0.2, box.clear)  # by then the caller has dropped its own reference
    timer.daemon = True
    timer.start()


# -- what `miakit record --source lsl` hands the recorder (see miakit.record.recorder) ---------------
@dataclass
class LslSetup:
    """LSL streams, prepared for the recorder (:mod:`miakit.record.source`): :meth:`open` resolves
    them (after starting the emulated outlet, where there is one), maps their channels to muscles
    and derives the session's profile; :meth:`recorder` records them with an :class:`LslRecorder`."""

    stream_name: str | None
    """The stream's name; None: every stream of type EMG."""
    profile: Profile
    """The profile the session's is derived from (``recorders/lsl.yaml`` or the user's); after
    :meth:`open`, the session's own (the streams' rate and kind)."""
    profile_bytes: bytes
    sensors: dict[str, str] | None
    """The given map (label, ``STREAM/LABEL`` or channel number -> muscle) or None; after
    :meth:`open`, the session's (sensor -> muscle)."""
    timeout_s: float = 10.0
    emulator: Callable[[], Any] | None = None
    """Starts an emulated outlet (:func:`start_emulator`) when the setup opens; None: real streams."""
    emulated: bool = False
    subject: str | None = field(default=None, init=False)
    exercise: str | None = field(default=None, init=False)
    live: bool = field(default=True, init=False)
    infos: list = field(default_factory=list, init=False)
    channels: list[LslChannel] = field(default_factory=list, init=False)
    outlet: Any = field(default=None, init=False)
    """The emulated outlet, while it runs."""

    async def open(self, stop: asyncio.Event, say: Callable[[str], None]) -> None:
        if self.emulator is not None:
            self.outlet = self.emulator()
        say(f"resolving LSL {'stream ' + repr(self.stream_name) if self.stream_name else 'EMG streams'}")
        self.infos, self.channels, self.sensors, self.profile, self.profile_bytes = await unless_stopped(
            asyncio.to_thread(self._resolve, say), stop, "resolving the LSL streams"
        )

    def _resolve(self, say: Callable[[str], None]) -> tuple:
        """Resolve the streams, map their channels to muscles, derive the session's profile."""
        infos = resolve_emg_streams(self.stream_name, timeout_s=self.timeout_s)
        channels, mapping, how = channel_map(infos, self.sensors)
        profile, content = session_profile(self.profile, infos)
        say(f"LSL: {', '.join(describe(i) for i in infos)}; {len(mapping)} muscles mapped by {how}; {profile.kind} EMG")
        return infos, channels, mapping, profile, content

    def writer_kwargs(self, host_monotonic_at_start: float) -> dict[str, Any]:
        """The session's clock data: the LSL clock at host_time 0, sensor -> stream, notes."""
        import pylsl

        lsl_now, mono = pylsl.local_clock(), time.monotonic()
        return dict(
            lsl_clock_at_start=lsl_now - (mono - host_monotonic_at_start),
            streams={c.sensor: c.stream for c in self.channels},
            clock_notes=(
                "every host_time is time.monotonic() minus host_monotonic_at_start, stamped on arrival; EMG payloads "
                "carry LSL time stamps on each stream's source clock; clock_offsets.csv holds the offsets LSL measured "
                "(source + offset = local LSL clock); host time = stamp + fitted offset - lsl_clock_at_start"
            ),
        )

    def recorder(self, writer: SessionWriter, **options) -> LslRecorder:
        assert self.sensors is not None, "open() first"
        return LslRecorder(self.infos, self.channels, writer, self.sensors, **options)

    async def release(self) -> None:
        """Stop the emulated outlet, where there is one."""
        if self.outlet is not None:
            self.outlet.stop()
            self.outlet = None


def prepare_lsl(
    stream_name: str | None,
    template: Profile,
    sensors: dict[str, str] | None,
    *,
    timeout_s: float = 10.0,
) -> LslSetup:
    """The LSL stream(s) named ``stream_name`` (None: of type EMG), recorded with a profile derived
    from ``template``; ``sensors``: the map, or None (channel labels, else channel order)."""
    require_pylsl()
    return LslSetup(stream_name, template, Path(template.path).read_bytes(), sensors, timeout_s=timeout_s)


def prepare_emulated_lsl(
    stream_name: str | None,
    template: Profile,
    sensors: dict[str, str] | None,
    *,
    timeout_s: float = 10.0,
    source: Path | None = None,
    kind: str = "raw",
    rate_hz: float | None = None,
    duration_s: float | None = None,
    exercise: str | None = None,
    dropouts: list[tuple[float, float]] | None = None,
) -> LslSetup:
    """:func:`prepare_lsl` for an emulated LSL EMG device on this machine (:func:`start_emulator`,
    started when the setup opens): ``miakit record --source lsl --emulate``."""
    setup = prepare_lsl(stream_name, template, sensors, timeout_s=timeout_s)
    setup.emulated = True
    setup.emulator = functools.partial(
        start_emulator,
        stream_name,
        source=source,
        kind=kind,
        rate_hz=rate_hz,
        duration_s=duration_s or 60.0,
        exercise=exercise,
        dropouts=list(dropouts or []),
    )
    return setup


def start_emulator(
    name: str | None,
    *,
    source: Path | None,
    kind: str,
    rate_hz: float | None,
    duration_s: float,
    exercise: str | None,
    dropouts: list[tuple[float, float]],
):
    """An emulated LSL EMG device (:class:`~miakit.record.emulator.LslOutlet`) for ``--emulate``,
    kept on this machine (:func:`use_loopback`) unless LSLAPICFG says otherwise."""
    import os

    use_loopback(f"miakit-emulated-{os.getpid()}")
    signal, labels, rate = lsl_signals(
        kind=kind,
        rate_hz=rate_hz,
        duration_s=max(duration_s, 10.0) + 10.0,
        source=source,
        exercise=exercise or EXERCISES[0],
    )
    return LslOutlet(name or "miakit-emulated-emg", signal, rate_hz=rate, labels=labels, dropouts=dropouts).start()
