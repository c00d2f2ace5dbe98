"""Record one session: device profile + sensor map + a source -> a session folder (contract 1).

:func:`record_session` is what ``miakit record`` runs, top to bottom:

1. :func:`check_plan`: every flag a user can get wrong (duration, exercise or protocol, fault rules,
   a replay given alone), one clear line each; ``miakit record`` calls it too, before it asks anything.
2. :func:`prepare_source`: the source of EMG, prepared by its own module behind the one protocol
   (:mod:`miakit.record.source`): real BLE sensors (:mod:`~miakit.record.ble`), emulated ones on
   bumble's in-memory radio streaming synthetic EMG or a UCI file (:mod:`~miakit.record.emulator`),
   Lab Streaming Layer streams (:mod:`~miakit.record.lsl`), or a recorded session played back
   (:mod:`~miakit.record.replay`). Its profile and sensor map are read and checked here; the recorder
   never asks which kind it holds after this.
3. The output folder; then the source opens (an emulator starts, the sensors are found or the
   streams resolved) and the session writer is made.
4. The session runs: connect, mark the exercise and the sync moment, stream until ``duration_s``
   passes or the ``stop`` event is set (Ctrl-C, SIGTERM, the q key), close.

A failure before streaming leaves nothing behind. Nothing here is module state: the stop request is
the ``stop`` event passed to :func:`record_session_async`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from miakit.contracts.dataset import UNKNOWN_EXERCISE
from miakit.devices.profiles import load_profile
from miakit.errors import SessionError
from miakit.layout import ALL_EXERCISES, MUSCLES
from miakit.record.emulator import Disconnect, Faults, Stall, prepare_emulated_ble
from miakit.record.lsl import parse_source
from miakit.record.monitor import KeyReader, keys_line, run_monitor
from miakit.record.session_writer import SessionWriter
from miakit.record.source import PreparedSource, unless_stopped
from miakit.record.video import LiveCapture, import_video, mark_sync, parse_video_source

if TYPE_CHECKING:
    from miakit.record.emulator import Faults
    from miakit.record.monitor import KeyReader
    from miakit.record.video import LiveCapture

__all__ = [
    "STOP_SIGNALS",
    "RecordPlan",
    "check_duration",
    "check_plan",
    "load_sensor_map",
    "parse_faults",
    "parse_protocol",
    "prepare_source",
    "protocol_schedule",
    "record_session",
    "record_session_async",
    "session_id_for",
]


@dataclass
class RecordPlan:
    """What to record. Sizes are in physical units (seconds)."""

    recorder: str | Path | None
    """The device profile (name or path); None for a replay (it plays the recording's own)."""
    out: Path
    source: str = "ble"
    """Where the EMG comes from: ``ble`` (BLE sensors of ``recorder``), ``lsl`` (Lab Streaming Layer
    streams of type EMG) or ``lsl:NAME`` (the LSL stream(s) named NAME); see :mod:`miakit.record.lsl`."""
    emulate: bool = False
    duration_s: float | None = None
    subject: str | None = None
    """None: S01, or for a replay the recorded subject."""
    exercise: str | None = None
    protocol: list[tuple[str, float]] | None = None
    """Several exercises in one session: (exercise, seconds) in order, each marked start and stop,
    with ``rest_s`` between them; they begin after the sync step. Excludes ``exercise``."""
    rest_s: float = 5.0
    sensors: Path | dict[str, str] | None = None
    video: str | None = None
    emulate_source: Path | None = None
    """A UCI EMG file streamed by the emulated sensors instead of synthetic EMG."""
    faults: Faults | None = None
    """An :class:`~miakit.record.emulator.Faults` for the emulated sensors."""
    emulate_rate_hz: float | None = None
    emulate_kind: str = "raw"
    """With ``source`` lsl and ``emulate``: the emulated stream sends ``raw`` sEMG (1 kHz) or an ``envelope``."""
    lsl_dropouts: list[tuple[float, float]] = field(default_factory=list)
    """With ``source`` lsl and ``emulate``: (at_s, down_s) when the emulated stream goes away and for how long."""
    scan_timeout_s: float = 10.0
    sync_after_s: float | None = 1.0
    """Mark the sync moment (the subject claps) this long after streaming starts; None: no sync step
    (a replay plays the recorded sync marks instead)."""
    live_view: bool | None = None
    live_page: Any = None
    """The live page of ``--live-predict`` (:class:`miakit.live.record_view.RecordView`, made by the
    command: live sits above record): ``start(stats, video=...)`` once the sensors are connected,
    ``frame(image, host_time)`` for each frame of a live video, ``stop()`` at the end. It only reads."""
    monitor_every_s: float = 5.0
    keys: bool | None = None
    """Marker keys (m, c, q) read from standard input; None: only when it is a terminal."""
    on_event: Callable[[str], None] | None = field(default=None, repr=False)
    replay: Path | None = None
    """A recorded session folder to play back instead of recording sensors (:mod:`miakit.record.replay`)."""
    replay_speed: float = 1.0
    """With ``replay``: how many times faster than real time it plays."""


def parse_protocol(text: str) -> list[tuple[str, float]]:
    """``"squat:30,running:20"`` -> [("squat", 30.0), ("running", 20.0)], checked against the exercises."""
    steps = []
    for item in (part.strip() for part in text.split(",") if part.strip()):
        name, sep, secs = item.partition(":")
        try:
            seconds = float(secs) if sep else float("nan")
        except ValueError:
            seconds = float("nan")
        if name not in ALL_EXERCISES:
            raise SessionError("--protocol", "unknown exercise", expected=f"one of {list(ALL_EXERCISES)}", found=name)
        if not seconds > 0:
            raise SessionError(
                "--protocol", "each step needs its seconds", expected="exercise:seconds, e.g. squat:30", found=item
            )
        steps.append((name, seconds))
    if not steps:
        raise SessionError(
            "--protocol", "empty protocol", expected="exercise:seconds[,exercise:seconds...]", found=text
        )
    return steps


def check_duration(duration_s: float | None, *, where: str = "--duration") -> None:
    """A recording length is a finite number of seconds, at least 0.1 (or None: until Ctrl-C)."""
    if duration_s is not None and not (math.isfinite(duration_s) and duration_s >= 0.1):
        raise SessionError(
            where,
            "not a recording length",
            expected="a finite number of seconds >= 0.1 (or no --duration: until Ctrl-C)",
            found=duration_s,
        )


def _fault_spec(text: str, flag: str, names: list[str], *, needs_length: bool) -> tuple[str, float, float | None]:
    """``SENSOR@SECONDS[:LENGTH]`` -> (sensor, seconds, length or None), checked."""
    sensor, sep, when = text.partition("@")
    at, _, length = when.partition(":")
    example = f"{names[0] if names else 'M40-01'}@5" + (":1.5" if needs_length else "[:1.5]")
    try:
        at_s, length_s = float(at), (float(length) if length else None)
    except ValueError:
        at_s, length_s = float("nan"), None
    if (
        not sep
        or not (math.isfinite(at_s) and at_s >= 0)
        or (length_s is not None and not (math.isfinite(length_s) and length_s > 0))
        or (needs_length and length_s is None)
    ):
        raise SessionError(
            flag,
            "bad fault",
            expected=f"SENSOR@SECONDS{':SECONDS' if needs_length else '[:SECONDS]'}, e.g. {example}",
            found=text,
        )
    if sensor not in names:
        raise SessionError(flag, "no such emulated sensor", expected=f"one of {names}", found=sensor)
    return sensor, at_s, length_s


def parse_faults(
    names: list[str],
    *,
    drop: float = 0.0,
    duplicate: float = 0.0,
    disconnect: list[str] | tuple[str, ...] = (),
    stall: list[str] | tuple[str, ...] = (),
    missing: list[str] | tuple[str, ...] = (),
    seed: int = 0,
):
    """The ``--emulate-*`` flags -> an emulator :class:`~miakit.record.emulator.Faults` (None where
    there is no fault). ``names``: the emulated sensors (M40-01, ...)."""

    for flag, rate in (("--emulate-drop", drop), ("--emulate-duplicate", duplicate)):
        if not (math.isfinite(rate) and 0.0 <= rate < 1.0):
            raise SessionError(flag, "not a probability", expected="a rate in [0, 1), e.g. 0.05", found=rate)
    disconnects = [
        Disconnect(s, at, down if down is not None else 1.0)
        for s, at, down in (_fault_spec(t, "--emulate-disconnect", names, needs_length=False) for t in disconnect)
    ]
    stalls = []
    for t in stall:
        s, at, length = _fault_spec(t, "--emulate-stall", names, needs_length=True)
        assert length is not None  # needs_length
        stalls.append(Stall(s, at, length))
    for sensor in missing:
        if sensor not in names:
            raise SessionError("--emulate-missing", "no such emulated sensor", expected=f"one of {names}", found=sensor)
    if not (drop or duplicate or disconnects or stalls or missing):
        return None
    return Faults(
        disconnects=sorted(disconnects, key=lambda d: d.at_s),
        stalls=stalls,
        missing=list(missing),
        drop_probability=drop,
        duplicate_probability=duplicate,
        seed=seed,
    )


def protocol_schedule(protocol: list[tuple[str, float]], *, begin_s: float, rest_s: float) -> list[tuple[float, str]]:
    """Marker times relative to the start of streaming: [(t, "start:squat"), (t, "stop:squat"), ...]."""
    out, t = [], begin_s
    for exercise, seconds in protocol:
        out += [(t, f"start:{exercise}"), (t + seconds, f"stop:{exercise}")]
        t += seconds + rest_s
    return out


def session_id_for(subject: str, exercise: str | None, when: datetime) -> str:
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", f"{subject}_{exercise or 'session'}")
    return f"{safe}_{when.strftime('%Y%m%dT%H%M%S')}"


def load_sensor_map(source: Path | dict[str, str]) -> dict[str, str]:
    """A sensor map (sensor name or address -> muscle), from a YAML file or a dict; checked."""
    where = str(source) if isinstance(source, Path) else "<sensor map>"
    if isinstance(source, Path):
        if not source.is_file():
            raise SessionError(source, "no such sensor map file")
        from miakit.safe_yaml import read_yaml

        source = read_yaml(source, error=SessionError)
    if not isinstance(source, dict) or not source:
        raise SessionError(where, expected="a mapping of sensor name -> muscle", found=source)
    mapping = {str(k): str(v) for k, v in source.items()}
    for sensor, muscle in mapping.items():
        if muscle not in MUSCLES:
            raise SessionError(where, "unknown muscle", field=sensor, expected=f"one of {list(MUSCLES)}", found=muscle)
    muscles = list(mapping.values())
    dupes = sorted({m for m in muscles if muscles.count(m) > 1})
    if dupes:
        raise SessionError(where, "a muscle is mapped twice", field=dupes[0])
    return mapping


def check_plan(plan: RecordPlan, *, fault_flags: dict[str, Any] | None = None) -> None:
    """Everything in ``plan`` a user can get wrong by a flag, each one clear line, before anything
    starts: the duration, the source and the emulated stream's kind, a replay given alone, a BLE
    recording's profile, the exercise or the protocol, and the fault rules (faults need ``--emulate``
    and are not for a replay). ``miakit record`` calls it before it asks for anything, and
    :func:`record_session_async` again.

    ``fault_flags``: the ``--emulate-*`` flags (:func:`parse_faults`'s keywords); where any is set,
    they are checked and become ``plan.faults``.
    """

    check_duration(plan.duration_s)
    if plan.emulate_kind not in ("raw", "envelope"):
        raise SessionError("--emulate-kind", expected="raw or envelope", found=plan.emulate_kind)
    kind, _ = parse_source(plan.source)
    if plan.replay is not None:
        _check_replay(plan)
    elif plan.recorder is None and kind != "lsl":
        raise SessionError(
            "--recorder",
            "a BLE recording needs its device profile",
            expected="a profile name such as m40, or a path",
            found=None,
        )
    if plan.exercise is not None and plan.exercise not in ALL_EXERCISES:
        raise SessionError(
            "--exercise", "unknown exercise", expected=f"one of {list(ALL_EXERCISES)}", found=plan.exercise
        )
    if plan.exercise is not None and plan.protocol:
        raise SessionError("--protocol", "give either --exercise or --protocol, not both")
    flags = {name: value for name, value in (fault_flags or {}).items() if value}
    if plan.faults is not None or flags:
        if plan.replay is not None:
            raise SessionError(
                "--emulate-*",
                "not with --replay: fault injection is for emulated sensors",
                expected="--emulate",
                found="--replay",
            )
        if not plan.emulate:
            raise SessionError("--emulate-*", "fault injection needs --emulate")
    if flags:
        from miakit.record.emulator import sensor_names

        plan.faults = parse_faults(sensor_names(load_profile(_profile_name(plan))), **flags)


def _check_replay(plan: RecordPlan) -> None:
    """A replay plays the recording's own profile, sensors, markers and video: nothing of a live source."""
    given = [
        flag
        for flag, on in (
            ("--recorder", plan.recorder is not None),
            ("--source", plan.source != "ble"),
            ("--emulate", plan.emulate),
            ("--exercise", plan.exercise is not None),
            ("--protocol", bool(plan.protocol)),
            ("--sensors", plan.sensors is not None),
            ("--video", plan.video is not None),
        )
        if on
    ]
    if given:
        raise SessionError(
            given[0],
            "not with --replay: a replay plays the recorded session's own profile, sensors, markers and video",
            expected=f"--replay {plan.replay} alone, or {given[0]} without --replay",
            found=given[0],
        )


def _profile_name(plan: RecordPlan) -> str | Path:
    """The device profile of a live source: the plan's, or ``lsl`` for an LSL source."""
    return plan.recorder if plan.recorder is not None else "lsl"


def prepare_source(plan: RecordPlan, say: Callable[[str], None] = lambda text: None) -> PreparedSource:
    """The source ``plan`` records, checked and ready to open (:mod:`miakit.record.source`): its
    profile and sensor map read and checked, nothing started yet. The one place the recorder names
    the kinds of source; each is prepared in its own module."""
    if plan.replay is not None:
        from miakit.record.replay import prepare_replay

        replay = prepare_replay(plan.replay, speed=plan.replay_speed, duration_s=plan.duration_s)
        say(f"replaying {replay.meta.session_id} at {replay.speed:g}x")
        return replay

    kind, stream_name = parse_source(plan.source)
    profile = load_profile(_profile_name(plan))
    if (profile.transport == "lsl") != (kind == "lsl"):
        raise SessionError(
            "--recorder",
            f"profile {profile.name!r} is for {profile.transport.upper()}, the source is {plan.source!r}",
            expected="an LSL profile (transport: lsl, e.g. lsl) for --source lsl, a BLE one otherwise",
            found=profile.transport,
        )
    sensors = load_sensor_map(plan.sensors) if plan.sensors is not None else None
    if kind == "lsl":
        from miakit.record.lsl import prepare_emulated_lsl, prepare_lsl

        if not plan.emulate:
            return prepare_lsl(stream_name, profile, sensors, timeout_s=plan.scan_timeout_s)
        return prepare_emulated_lsl(
            stream_name,
            profile,
            sensors,
            timeout_s=plan.scan_timeout_s,
            source=plan.emulate_source,
            kind=plan.emulate_kind,
            rate_hz=plan.emulate_rate_hz,
            duration_s=plan.duration_s,
            exercise=plan.exercise,
            dropouts=plan.lsl_dropouts,
        )
    if not plan.emulate:
        from miakit.record.ble import prepare_ble

        return prepare_ble(profile, sensors, scan_timeout_s=plan.scan_timeout_s)

    assert plan.faults is None or isinstance(plan.faults, Faults)
    return prepare_emulated_ble(
        profile,
        sensors,
        rate_hz=plan.emulate_rate_hz,
        faults=plan.faults,
        source=plan.emulate_source,
        exercise=plan.exercise,
        duration_s=plan.duration_s,
        scan_timeout_s=plan.scan_timeout_s,
    )


def _check_video(text: str | None) -> tuple[str, str | int, bool] | None:
    """``--video``: (kind, path or camera, live); a file to import must exist."""

    video = parse_video_source(text) if text else None
    if video and not video[2] and not Path(str(video[1])).is_file():
        raise SessionError(str(video[1]), "no such video file")
    return video


def _make_out(out: Path) -> list[Path]:
    """Create the output folder; returns the folders this made, deepest first (removed again where
    the start fails)."""
    made = [d for d in (out, *out.parents) if not d.exists()]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SessionError(out, f"cannot create the output folder ({exc.strerror})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise SessionError(out, "the output folder is not writable")
    return made


def _remove_made(made: list[Path], session_folder: Path | None) -> None:
    """Remove what a failed start made: the session folder, then the output folders, deepest first,
    while they are empty."""
    if session_folder is not None and session_folder in made:
        shutil.rmtree(session_folder, ignore_errors=True)
    for d in made:
        try:
            d.rmdir()  # only where still empty
        except OSError:
            break


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""Signals that stop a recording cleanly: Ctrl-C, and what ``kill``, systemd and container runtimes send."""


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    """While recording, :data:`STOP_SIGNALS` set ``stop`` (where this thread can handle signals)."""
    loop = asyncio.get_running_loop()
    handled = []
    for sig in STOP_SIGNALS:
        try:
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
            pass
    try:
        yield
    finally:
        for sig in handled:
            try:
                loop.remove_signal_handler(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass


async def record_session_async(plan: RecordPlan, *, stop: asyncio.Event | None = None) -> Path:
    """Record one session per ``plan``; returns the session folder.

    Check the plan, prepare the source, make the output folder; then open the source, make the
    session writer, connect, stream until ``stop``, close. Ctrl-C and SIGTERM set ``stop`` (the
    caller may pass its own, and set it to stop the recording cleanly: the ``stop`` event written,
    the session closed). A start that fails (a sensor not found, a connect refused, a stop request
    before streaming) leaves nothing behind: the session folder, and the output folder where this
    call made it, are removed.
    """
    say = plan.on_event or (lambda text: None)
    check_plan(plan)
    source = prepare_source(plan, say)
    video = _check_video(plan.video)
    made = _make_out(plan.out)
    stop = stop if stop is not None else asyncio.Event()
    writer = None
    started = False
    try:
        with _stop_on_signals(stop):
            await source.open(stop, say)
            writer = _make_writer(plan, source, made)
            session = _Session(plan, source, writer, video, stop, say)
            try:
                await session.start()
                started = True
                await session.run()
            finally:
                await session.close()
            return writer.folder
    except BaseException:
        if not started:  # a failed start: leave nothing behind, and only what this call made
            _remove_made(made, writer.folder if writer is not None else None)
        raise
    finally:
        await source.release()


def _make_writer(plan: RecordPlan, source: PreparedSource, made: list[Path]) -> SessionWriter:
    """The session writer of an opened source: what it records, named by subject, exercise and start."""
    subject = plan.subject or source.subject or "S01"
    exercise = plan.exercise if plan.exercise is not None else source.exercise
    start = datetime.now(UTC)
    t0 = time.monotonic()
    clock = source.writer_kwargs(t0)
    session_id = session_id_for(subject, exercise, start)
    folder = plan.out / session_id
    if not folder.exists():
        made.insert(0, folder)
    assert source.sensors is not None
    return SessionWriter(
        folder,
        session_id=session_id,
        subject=subject,
        exercise=exercise,
        profile=source.profile,
        profile_bytes=source.profile_bytes,
        sensors=source.sensors,
        start_time=start,
        host_monotonic_at_start=t0,
        emulated=source.emulated,
        **clock,
    )


class _Session:
    """The session around a source's recorder: the live page and video, the marker keys, the sync
    step, a protocol's markers, the monitor and the stop."""

    def __init__(
        self,
        plan: RecordPlan,
        source: PreparedSource,
        writer: SessionWriter,
        video: tuple[str, str | int, bool] | None,
        stop: asyncio.Event,
        say: Callable[[str], None],
    ):
        self.plan, self.source, self.writer, self.video, self.stop, self.say = plan, source, writer, video, stop, say
        self.recorder = source.recorder(writer)
        self.marked = writer.meta.exercise or UNKNOWN_EXERCISE
        self.marking = bool(plan.exercise)  # a start marker is open
        self.last_marker = ""
        self.capture: LiveCapture | None = None
        self.keys: KeyReader | None = None
        self.help_line = ""

    async def start(self) -> None:
        """Connect the sensors or streams, start the live page and the video, mark the exercise's start,
        listen to the marker keys; nothing streams yet."""

        plan, writer, recorder, video = self.plan, self.writer, self.recorder, self.video
        self.say(f"recording into {writer.folder}")
        await unless_stopped(recorder.connect_all(), self.stop, "connecting the sensors")
        page = plan.live_page
        if page is not None:
            page.start(lambda: recorder.stats, video=bool(video and video[2]))
        if video and not video[2]:
            import_video(writer, str(video[1]))
        elif video:
            self.capture = LiveCapture(writer, video[1], kind=video[0], on_frame=page.frame if page else None)
            self.capture.start()
        if plan.exercise:
            writer.add_event(recorder.now(), "marker", "", f"start:{plan.exercise}")
        self.keys = KeyReader(self._on_key) if plan.keys is not False else None
        if self.keys is not None and not self.keys.start(asyncio.get_running_loop(), force=bool(plan.keys)):
            self.keys = None
        self.help_line = keys_line(None if plan.protocol else self.marked) if self.keys is not None else ""
        if self.help_line:
            self.say(self.help_line)

    def _on_key(self, key: str) -> None:

        writer, recorder = self.writer, self.recorder
        if key == "m" and not self.plan.protocol:  # a protocol marks its exercises itself
            self.marking = not self.marking
            detail = f"{'start' if self.marking else 'stop'}:{self.marked}"
            writer.add_event(recorder.now(), "marker", "", detail)
            self.last_marker = f"{detail} at {recorder.now():.1f} s"
            self.say(f"marker {detail}")
        elif key == "c":
            t = mark_sync(writer, what="clap", host_time=recorder.now())
            self.last_marker = f"sync clap at {t:.1f} s"
            self.say("marker sync (clap)")
        elif key == "q":
            self.stop.set()

    async def run(self) -> None:
        """Stream, with the monitor, the sync step and a protocol's markers, until the stop (the
        duration, a key, a signal, or a source that runs out); then mark the exercise's stop."""

        plan, writer, recorder, stop, say = self.plan, self.writer, self.recorder, self.stop, self.say
        loop = asyncio.get_running_loop()
        streaming = asyncio.create_task(recorder.stream())
        streaming.add_done_callback(lambda _: stop.set())  # a source that runs out (a replay's end) ends the recording
        help_line = self.help_line
        monitor = asyncio.create_task(
            run_monitor(
                lambda: recorder.stats,
                recorder.now,
                stop,
                live=plan.live_view,
                every_s=plan.monitor_every_s,
                title=f"miakit record: {writer.folder.name}",
                caption=(lambda: help_line + (f"   last: {self.last_marker}" if self.last_marker else ""))
                if help_line
                else None,
            )
        )
        sync = None
        if plan.sync_after_s is not None and self.source.live:
            sync = loop.call_later(
                plan.sync_after_s,
                lambda: (say("SYNC: clap now"), mark_sync(writer, what="clap", host_time=recorder.now())),
            )
        duration_s = plan.duration_s
        if plan.protocol:
            schedule = protocol_schedule(plan.protocol, begin_s=(plan.sync_after_s or 0.0) + 2.0, rest_s=plan.rest_s)

            def _marker(detail: str, words: str) -> None:
                say(words)
                writer.add_event(recorder.now(), "marker", "", detail)

            for at, detail in schedule:
                action, _, exercise = detail.partition(":")
                words = f"NOW: {exercise}" if action == "start" else f"stop {exercise}, rest"
                loop.call_later(at, _marker, detail, words)
            if duration_s is None:
                duration_s = schedule[-1][0] + 1.0
        if duration_s is not None and self.source.live:  # a replay ends at duration_s of its own clock
            loop.call_later(duration_s, stop.set)
        await stop.wait()
        if sync is not None:
            sync.cancel()
        if self.keys is not None:
            self.keys.close()
        recorder.stop()
        await asyncio.gather(streaming, monitor, return_exceptions=True)
        if self.marking:
            writer.add_event(recorder.now(), "marker", "", f"stop:{self.marked}")

    async def close(self) -> None:
        """Stop the keys, close the source's recorder (its ``stop`` event), the video, the live page
        and the session."""
        if self.keys is not None:
            self.keys.close()
        await self.recorder.close()
        if self.capture is not None:
            self.capture.stop()
        if self.plan.live_page is not None:
            self.plan.live_page.stop()
        self.writer.close()


def record_session(plan: RecordPlan, *, stop: asyncio.Event | None = None) -> Path:
    """Synchronous :func:`record_session_async`."""
    return asyncio.run(record_session_async(plan, stop=stop))
