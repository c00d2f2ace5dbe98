"""Record one session: device profile + sensor map + sources -> a session folder (contract 1).

:func:`record_session` is what ``miakit record`` runs. Everything that can be wrong with the input
(a wrong profile, a bad sensor map, an unwritable output folder, a missing sensor) is raised as one
clear line before any recording starts. Then it connects the sensors one at a time, marks the
exercise and the sync moment, streams until ``duration_s`` passes or :func:`request_stop` (Ctrl-C),
and closes the session. With ``emulate=True`` the sensors are bumble peripherals on an in-memory
link, streaming synthetic EMG (or a UCI file given as ``emulate_source``), reached through the same
bleak code as real ones. With ``replay`` a recorded session is played back instead
(:mod:`miakit.record.replay`), through the same code.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from miakit.contracts.dataset import UNKNOWN_EXERCISE
from miakit.devices.profiles import Profile, load_profile
from miakit.errors import DeviceError, SessionError
from miakit.layout import ALL_EXERCISES, EXERCISES, MUSCLES

__all__ = [
    "RecordPlan",
    "check_duration",
    "load_sensor_map",
    "parse_faults",
    "parse_protocol",
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
    faults: object | None = None
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
    from miakit.record.emulator import Disconnect, Faults, Stall

    for flag, rate in (("--emulate-drop", drop), ("--emulate-duplicate", duplicate)):
        if not (math.isfinite(rate) and 0.0 <= rate < 1.0):
            raise SessionError(flag, "not a probability", expected="a rate in [0, 1), e.g. 0.05", found=rate)
    disconnects = [
        Disconnect(s, at, down if down is not None else 1.0)
        for s, at, down in (_fault_spec(t, "--emulate-disconnect", names, needs_length=False) for t in disconnect)
    ]
    stalls = [
        Stall(s, at, length)
        for s, at, length in (_fault_spec(t, "--emulate-stall", names, needs_length=True) for t in stall)
    ]
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


def _check_out(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SessionError(out, f"cannot create the output folder ({exc.strerror})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise SessionError(out, "the output folder is not writable")


def _emulated_signals(plan: RecordPlan, profile: Profile, names: list[str], rate_hz: float) -> dict:
    from miakit.devices.signals import synthetic_signals, uci_signals

    if plan.emulate_source is not None:
        return uci_signals(plan.emulate_source, names, muscles=list(MUSCLES[: len(names)]), rate_hz=rate_hz)
    try:
        from miakit.body.signal import emg_signal  # noqa: F401
    except ImportError:
        raise DeviceError(
            "synthetic EMG for --emulate needs miakit.body.signal.emg_signal, which this install lacks; "
            "pass --emulate-source FILE (a UCI EMG file) instead"
        ) from None
    duration = max(plan.duration_s or 60.0, 10.0) + 10.0
    return synthetic_signals(names, exercise=plan.exercise or EXERCISES[0], duration_s=duration, rate_hz=rate_hz)


_STOP: asyncio.Event | None = None
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""Signals that stop a recording cleanly: Ctrl-C, and what ``kill``, systemd and container runtimes send."""


def request_stop() -> None:
    """Stop the recording in progress cleanly (what Ctrl-C and SIGTERM do)."""
    if _STOP is not None:
        _STOP.set()


async def _unless_stopped(aw, stop: asyncio.Event, what: str):
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


async def record_session_async(plan: RecordPlan) -> Path:
    """Record one session per ``plan``; returns the session folder.

    Ctrl-C and SIGTERM stop it cleanly (the ``stop`` event written, the session closed). A start
    that fails (a sensor not found, a connect refused, a stop request before streaming) leaves
    nothing behind: the session folder, and the output folder where this call made it, are removed.
    """
    global _STOP
    from miakit.record.ble import BleBackend, BleRecorder, find_sensors, scan
    from miakit.record.lsl import parse_source
    from miakit.record.monitor import KeyReader, keys_line, run_monitor
    from miakit.record.session_writer import SessionWriter
    from miakit.record.video import LiveCapture, import_video, mark_sync, parse_video_source

    say = plan.on_event or (lambda text: None)
    check_duration(plan.duration_s)
    source, stream_name = parse_source(plan.source)
    replay = None
    if plan.replay is not None:
        from miakit.record.replay import prepare_replay

        _check_replay(plan)
        replay = prepare_replay(plan.replay, speed=plan.replay_speed, duration_s=plan.duration_s)
        profile, profile_bytes = replay.profile, replay.profile_bytes
        say(f"replaying {replay.meta.session_id} at {replay.speed:g}x")
    else:
        profile = load_profile(plan.recorder)
        profile_bytes = Path(profile.path).read_bytes()
    if source == "lsl":
        from miakit.record.lsl import require_pylsl

        require_pylsl()
    if replay is None and (profile.transport == "lsl") != (source == "lsl"):
        raise SessionError(
            "--recorder",
            f"profile {profile.name!r} is for {profile.transport.upper()}, the source is {plan.source!r}",
            expected="an LSL profile (transport: lsl, e.g. lsl) for --source lsl, a BLE one otherwise",
            found=profile.transport,
        )
    if plan.exercise is not None and plan.exercise not in ALL_EXERCISES:
        raise SessionError(
            "--exercise", "unknown exercise", expected=f"one of {list(ALL_EXERCISES)}", found=plan.exercise
        )
    if plan.exercise is not None and plan.protocol:
        raise SessionError("--protocol", "give either --exercise or --protocol, not both")
    if plan.faults is not None and not plan.emulate:
        raise SessionError("--emulate-*", "fault injection needs --emulate")
    sensors = load_sensor_map(plan.sensors) if plan.sensors is not None else None
    subject, exercise, emulated = plan.subject or "S01", plan.exercise, plan.emulate
    if replay is not None:
        sensors, subject, exercise = replay.sensors, plan.subject or replay.meta.subject, replay.meta.exercise
        emulated = replay.meta.recorder.emulated
    video = parse_video_source(plan.video) if plan.video else None
    if video and not video[2] and not Path(video[1]).is_file():
        raise SessionError(video[1], "no such video file")
    made = [d for d in (plan.out, *plan.out.parents) if not d.exists()]  # what _check_out creates, deepest first
    _check_out(plan.out)

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    _STOP = stop
    handled = []
    for sig in STOP_SIGNALS:
        try:
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
            pass
    emulator = None
    writer = None
    started = False
    try:
        if replay is not None:
            backend = None
        elif source == "lsl":
            backend = None
            if plan.emulate:
                from miakit.record.lsl import start_emulator

                emulator = start_emulator(
                    stream_name,
                    source=plan.emulate_source,
                    kind=plan.emulate_kind,
                    rate_hz=plan.emulate_rate_hz,
                    duration_s=plan.duration_s or 60.0,
                    exercise=plan.exercise,
                    dropouts=plan.lsl_dropouts,
                )
        elif plan.emulate:
            from miakit.record.bumble_backend import BumbleRadio
            from miakit.record.emulator import Emulator, sensor_names

            radio = BumbleRadio()
            names = sensor_names(profile, len(MUSCLES))
            rate = plan.emulate_rate_hz or profile.rate_hz or 10.0
            emulator = Emulator(
                profile,
                _emulated_signals(plan, profile, names, rate),
                link=radio.link,
                rate_hz=rate,
                faults=plan.faults,
            )
            await radio.start()
            await emulator.start()
            backend = BleBackend.emulated(radio)
            if sensors is None:
                sensors = dict(zip(names, MUSCLES))
        else:
            backend = BleBackend()
        lsl = None
        clock = {"clock_notes": "every host_time is time.monotonic() minus host_monotonic_at_start, stamped on arrival"}
        if source == "lsl":
            from miakit.record.lsl import prepare

            say(f"resolving LSL {'stream ' + repr(stream_name) if stream_name else 'EMG streams'}")
            lsl = await _unless_stopped(
                asyncio.to_thread(prepare, stream_name, profile, sensors, timeout_s=plan.scan_timeout_s, say=say),
                stop,
                "resolving the LSL streams",
            )
            profile, profile_bytes, sensors = lsl.profile, lsl.profile_bytes, lsl.sensors
        elif replay is None:
            if sensors is None:
                seen = await _unless_stopped(
                    scan(backend, timeout_s=plan.scan_timeout_s, profile=profile), stop, "scanning"
                )
                found = sorted((d.name or d.address) for d, _ in seen.values())
                sensors = dict(zip(found, MUSCLES))
                if not sensors:
                    raise DeviceError(
                        f"no sensor of profile {profile.name!r} found after a {plan.scan_timeout_s:g} s scan"
                    )
            say(f"scanning for {len(sensors)} sensors ({profile.name})")
            devices = await _unless_stopped(
                find_sensors(profile, sensors, backend=backend, timeout_s=plan.scan_timeout_s),
                stop,
                "scanning for the sensors",
            )

        start = datetime.now(UTC)
        t0 = time.monotonic()
        prepared = lsl or replay  # a source set up before the session: LSL streams, or a recording to replay
        if prepared is not None:
            clock = prepared.writer_kwargs(t0)
        folder = plan.out / session_id_for(subject, exercise, start)
        if not folder.exists():
            made.insert(0, folder)
        writer = SessionWriter(
            folder,
            session_id=session_id_for(subject, exercise, start),
            subject=subject,
            exercise=exercise,
            profile=profile,
            profile_bytes=profile_bytes,
            sensors=sensors,
            start_time=start,
            host_monotonic_at_start=t0,
            emulated=emulated,
            **clock,
        )
        if prepared is not None:
            recorder = prepared.recorder(writer)
        else:
            recorder = BleRecorder(profile, writer, sensors, backend=backend, scan_timeout_s=plan.scan_timeout_s)
            from miakit.record.ble import _Link

            recorder.links = {s: _Link(s, sensors[s], devices[s]) for s in sensors}
        capture = None
        keys = None
        try:
            say(f"recording into {writer.folder}")
            await _unless_stopped(recorder.connect_all(), stop, "connecting the sensors")
            page = plan.live_page
            if page is not None:
                page.start(lambda: recorder.stats, video=bool(video and video[2]))
            if video and not video[2]:
                import_video(writer, video[1])
            elif video:
                capture = LiveCapture(writer, video[1], kind=video[0], on_frame=page.frame if page else None)
                capture.start()
            marked = exercise or UNKNOWN_EXERCISE
            marking = bool(plan.exercise)  # a start marker is open
            last = {"marker": ""}
            if plan.exercise:
                writer.add_event(recorder.now(), "marker", "", f"start:{plan.exercise}")

            def on_key(key: str) -> None:
                nonlocal marking
                if key == "m" and not plan.protocol:  # a protocol marks its exercises itself
                    marking = not marking
                    detail = f"{'start' if marking else 'stop'}:{marked}"
                    writer.add_event(recorder.now(), "marker", "", detail)
                    last["marker"] = f"{detail} at {recorder.now():.1f} s"
                    say(f"marker {detail}")
                elif key == "c":
                    t = mark_sync(writer, what="clap", host_time=recorder.now())
                    last["marker"] = f"sync clap at {t:.1f} s"
                    say("marker sync (clap)")
                elif key == "q":
                    stop.set()

            keys = KeyReader(on_key) if plan.keys is not False else None
            if keys is not None and not keys.start(loop, force=bool(plan.keys)):
                keys = None
            help_line = keys_line(None if plan.protocol else marked) if keys is not None else ""
            if help_line:
                say(help_line)
            started = True
            streaming = asyncio.create_task(recorder.stream())
            streaming.add_done_callback(
                lambda _: stop.set()
            )  # a source that runs out (a replay's end) ends the recording
            monitor = asyncio.create_task(
                run_monitor(
                    lambda: recorder.stats,
                    recorder.now,
                    stop,
                    live=plan.live_view,
                    every_s=plan.monitor_every_s,
                    title=f"miakit record: {writer.folder.name}",
                    caption=(lambda: help_line + (f"   last: {last['marker']}" if last["marker"] else ""))
                    if help_line
                    else None,
                )
            )
            sync = None
            if plan.sync_after_s is not None and replay is None:
                sync = loop.call_later(
                    plan.sync_after_s,
                    lambda: (say("SYNC: clap now"), mark_sync(writer, what="clap", host_time=recorder.now())),
                )
            duration_s = plan.duration_s
            if plan.protocol:
                begin = (plan.sync_after_s or 0.0) + 2.0
                schedule = protocol_schedule(plan.protocol, begin_s=begin, rest_s=plan.rest_s)
                for at, detail in schedule:
                    action, _, exercise = detail.partition(":")
                    words = f"NOW: {exercise}" if action == "start" else f"stop {exercise}, rest"
                    loop.call_later(
                        at, lambda d=detail, w=words: (say(w), writer.add_event(recorder.now(), "marker", "", d))
                    )
                if duration_s is None:
                    duration_s = schedule[-1][0] + 1.0
            if duration_s is not None and replay is None:  # a replay ends at duration_s of the recording's clock itself
                loop.call_later(duration_s, stop.set)
            await stop.wait()
            if sync is not None:
                sync.cancel()
            if keys is not None:
                keys.close()
            recorder.stop()
            await asyncio.gather(streaming, monitor, return_exceptions=True)
            if marking:
                writer.add_event(recorder.now(), "marker", "", f"stop:{marked}")
        finally:
            if keys is not None:
                keys.close()
            await recorder.close()
            if capture is not None:
                capture.stop()
            if plan.live_page is not None:
                plan.live_page.stop()
            writer.close()
        return writer.folder
    except BaseException:
        if not started:  # a failed start: leave nothing behind, and only what this call made
            if writer is not None and writer.folder in made:
                shutil.rmtree(writer.folder, ignore_errors=True)
            for d in made:
                try:
                    d.rmdir()  # only where still empty
                except OSError:
                    break
        raise
    finally:
        _STOP = None
        for sig in handled:
            try:
                loop.remove_signal_handler(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        if emulator is not None:
            stopped = emulator.stop()
            if asyncio.iscoroutine(stopped):
                await stopped


def record_session(plan: RecordPlan) -> Path:
    """Synchronous :func:`record_session_async`."""
    return asyncio.run(record_session_async(plan))
