"""``miakit record`` and ``miakit ble scan|inspect`` (registered by :mod:`miakit.cli`).

Only typer and the standard library at module level; the rest is imported inside the commands.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from miakit.errors import SessionError
from miakit.layout import ALL_EXERCISES

LIVE_PAGE: Callable[..., Any] | None = None
"""Makes ``--live-predict``'s page: ``LIVE_PAGE(checkpoint, port=..., say=...)``. The page is
:class:`miakit.live.record_view.RecordView`, a layer above record: :mod:`miakit.cli` sets this."""

ble_app = typer.Typer(
    help="Look at BLE sensors: scan for them, dump a device's GATT table and notifications.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


def record(
    recorder: str | None = typer.Option(
        None,
        "--recorder",
        help="Device profile name (recorders/NAME.yaml) or path; needed for BLE, 'lsl' by default for --source lsl.",
    ),
    out: Path = typer.Option(..., "--out", help="Folder to write the session folder into."),
    source: str = typer.Option(
        "ble",
        "--source",
        help="ble (BLE sensors), lsl (Lab Streaming Layer streams "
        "of type EMG) or lsl:NAME (the LSL stream named NAME).",
    ),
    emulate: bool = typer.Option(
        False,
        "--emulate",
        help="Record emulated sensors (bumble; with --source lsl: an "
        "emulated LSL outlet on this machine) instead of real ones.",
    ),
    duration: float | None = typer.Option(
        None, "--duration", help="Stop after this many seconds, at least 0.1 (else Ctrl-C, SIGTERM or the q key)."
    ),
    subject: str | None = typer.Option(
        None, "--subject", help="Subject id (default S01; with --replay, the recorded one)."
    ),
    exercise: str | None = typer.Option(
        None,
        "--exercise",
        help="The exercise recorded (marked start and stop). Without it or --protocol: "
        "asked for on a terminal, else the session builds as exercise 'unknown'.",
    ),
    protocol: str | None = typer.Option(
        None,
        "--protocol",
        help="Several exercises in one session, in order: 'squat:30,running:20' "
        "(seconds each); each is announced and marked.",
    ),
    rest: float = typer.Option(5.0, "--rest", min=0.0, help="Seconds of rest between the exercises of --protocol."),
    sensors: Path | None = typer.Option(
        None, "--sensors", help="YAML map: sensor name or address (LSL: channel label or number) -> muscle."
    ),
    video: str | None = typer.Option(
        None, "--video", help="A phone video to import, or camera:N, a stream URL, live:FILE."
    ),
    emulate_source: Path | None = typer.Option(
        None, "--emulate-source", help="With --emulate: a UCI EMG file to stream instead of synthetic EMG."
    ),
    emulate_kind: str = typer.Option(
        "raw",
        "--emulate-kind",
        help="With --source lsl --emulate: the emulated stream sends raw sEMG (1 kHz) or an envelope (10 Hz).",
    ),
    scan_timeout: float = typer.Option(
        10.0, "--scan-timeout", help="Seconds to scan for the sensors (or resolve the LSL streams) before giving up."
    ),
    no_sync: bool = typer.Option(False, "--no-sync", help="Skip the sync step (the clap marked after 1 s)."),
    emulate_drop: float = typer.Option(
        0.0, "--emulate-drop", metavar="RATE", help="With --emulate: the chance each notification is lost, e.g. 0.05."
    ),
    emulate_duplicate: float = typer.Option(
        0.0, "--emulate-duplicate", metavar="RATE", help="With --emulate: the chance each notification is sent twice."
    ),
    emulate_disconnect: list[str] | None = typer.Option(
        None,
        "--emulate-disconnect",
        metavar="SENSOR@SECONDS[:DOWN]",
        help="With --emulate: SENSOR drops its link SECONDS into streaming, "
        "away DOWN s (default 1); repeatable. Sensors are M40-01 ... M40-08.",
    ),
    emulate_stall: list[str] | None = typer.Option(
        None,
        "--emulate-stall",
        metavar="SENSOR@SECONDS:LENGTH",
        help="With --emulate: SENSOR stays connected but silent for LENGTH s; repeatable.",
    ),
    emulate_missing: list[str] | None = typer.Option(
        None,
        "--emulate-missing",
        metavar="SENSOR",
        help="With --emulate: SENSOR never advertises (the start fails: nothing is written); repeatable.",
    ),
    replay: Path | None = typer.Option(
        None,
        "--replay",
        metavar="SESSION",
        help="Play back a recorded session folder instead of recording sensors (no hardware): its EMG "
        "packets and events (markers, sync, disconnects) at their recorded host times, through the same "
        "recorder (session writer, live view, keys), with its profile, sensor map, video, keypoints "
        "and truth. The new session builds into the same dataset as the recorded one; for demos and "
        "tests. Not with --recorder, --source, --emulate, --exercise, --protocol, --sensors or --video.",
    ),
    live_predict: Path | None = typer.Option(
        None,
        "--live-predict",
        metavar="CKPT",
        help="Show a live page (miakit live's) with the muscles CKPT predicts from the --video camera "
        "or stream beside the sensors' measured EMG (emulated ones too). The recording is the same as without it.",
    ),
    live_port: int = typer.Option(8765, "--live-port", min=0, max=65535, help="Port of --live-predict's page."),
    replay_speed: float = typer.Option(
        1.0,
        "--replay-speed",
        metavar="FACTOR",
        help="With --replay: play FACTOR times faster than real time (10: a minute in 6 s); "
        "host times stay the recording's, and --duration counts the recording's seconds.",
    ),
) -> None:
    """Record a session: BLE EMG sensors, LSL EMG streams or a recorded session played back
    (+ video) into a session folder; prints the folder last.

    Emulated sensors (no hardware), then a dataset with no further flags:

    \b
        miakit record --recorder m40 --emulate --duration 20 --out sessions
        miakit build-dataset sessions --out rec.zarr

    Add --exercise squat to name what was recorded (else it builds as exercise 'unknown').
    Faults for the emulated sensors, for instance:

    \b
        miakit record --recorder m40 --emulate --duration 20 --out sessions \\
            --emulate-drop 0.05 --emulate-duplicate 0.01 --emulate-disconnect M40-03@5:2

    A Lab Streaming Layer stream (the lsl extra):

    \b
        miakit record --source lsl:MyAmp --out sessions --exercise squat

    A recorded session played back through the recorder, ten times faster (no hardware):

    \b
        miakit record --replay sessions/S01_squat_20240108T090000 --replay-speed 10 --out replays

    While recording on a terminal: m marks the exercise's start/stop, c the sync clap, q stops.
    Ctrl-C and SIGTERM stop cleanly too.
    """
    from miakit.record.monitor import interactive
    from miakit.record.recorder import RecordPlan, check_plan, parse_protocol, record_session

    plan = RecordPlan(
        recorder=recorder,
        out=out,
        source=source,
        emulate=emulate,
        emulate_kind=emulate_kind,
        duration_s=duration,
        subject=subject,
        exercise=exercise,
        protocol=parse_protocol(protocol) if protocol else None,
        rest_s=rest,
        sensors=sensors,
        video=video,
        emulate_source=emulate_source,
        scan_timeout_s=scan_timeout,
        sync_after_s=None if no_sync else 1.0,
        on_event=lambda text: typer.echo(text, err=True),
        replay=replay,
        replay_speed=replay_speed,
    )
    check_plan(
        plan,
        fault_flags=dict(
            drop=emulate_drop,
            duplicate=emulate_duplicate,
            disconnect=emulate_disconnect or (),
            stall=emulate_stall or (),
            missing=emulate_missing or (),
        ),
    )
    if exercise is None and protocol is None and replay is None:  # a replay plays the recorded exercise and markers
        if interactive():
            while True:
                answer = typer.prompt(
                    f"exercise recorded ({', '.join(ALL_EXERCISES)}; Enter: none, it builds as 'unknown')",
                    default="",
                    show_default=False,
                    err=True,
                ).strip()
                if not answer or answer in ALL_EXERCISES:
                    break
                typer.echo(f"not an exercise: {answer!r}", err=True)
            plan.exercise = answer or None
        else:
            typer.echo(
                "warning: no --exercise or --protocol: the session builds as one segment of exercise 'unknown' "
                "(name it with --exercise, or mark it with --protocol)",
                err=True,
            )
    if live_predict is not None:
        if LIVE_PAGE is None:
            raise SessionError("--live-predict", "the live page is not available in this command")
        plan.live_page = LIVE_PAGE(live_predict, port=live_port, say=plan.on_event)
    folder = record_session(plan)
    typer.echo(str(folder))


def _emulated(profile_name: str, count: int):
    """(backend, emulator) for --emulate: ``count`` sensors of the profile streaming a test ramp."""
    import numpy as np

    from miakit.devices.profiles import load_profile
    from miakit.record.ble import BleBackend
    from miakit.record.bumble_backend import BumbleRadio
    from miakit.record.emulator import Emulator, sensor_names

    profile = load_profile(profile_name)
    radio = BumbleRadio()
    names = sensor_names(profile, count)
    ramp = np.abs(np.sin(np.linspace(0, 6 * np.pi, 600))) * 400
    return profile, radio, Emulator(profile, {n: ramp for n in names}, link=radio.link), BleBackend.emulated(radio)


@ble_app.command("scan")
def ble_scan(
    timeout: float = typer.Option(5.0, "--timeout", help="Seconds to scan."),
    recorder: str | None = typer.Option(None, "--recorder", help="Only sensors of this profile."),
    emulate: bool = typer.Option(False, "--emulate", help="Scan emulated sensors (bumble) instead of the radio."),
) -> None:
    """List nearby BLE devices with their advertised names, services and signal strength.

    Example: miakit ble scan --recorder m40   (no radio here? miakit ble scan --emulate)
    """

    async def run() -> list[str]:
        from miakit.devices.profiles import load_profile
        from miakit.record.ble import BleBackend, scan

        profile = load_profile(recorder) if recorder else None
        emulator = None
        backend = BleBackend()
        if emulate:
            profile_e, radio, emulator, backend = _emulated(recorder or "m40", 8)
            await radio.start()
            await emulator.start()
        try:
            seen = await scan(backend, timeout_s=timeout, profile=profile)
        finally:
            if emulator is not None:
                await emulator.stop()
        return [
            f"{d.address}  {(a.local_name or d.name or '?'):<16} "
            f"rssi={a.rssi:<4} services={','.join(a.service_uuids) or '-'}"
            for d, a in sorted(seen.values(), key=lambda x: x[0].name or x[0].address)
        ]

    lines = asyncio.run(run())
    for line in lines:
        typer.echo(line)
    typer.echo(f"{len(lines)} devices")


@ble_app.command("inspect")
def ble_inspect(
    device: str = typer.Argument(..., help="The device's address or advertised name."),
    listen: float = typer.Option(
        5.0, "--listen", help="Seconds to log notifications from every notifying characteristic."
    ),
    timeout: float = typer.Option(10.0, "--timeout", help="Seconds to scan for the device."),
    emulate: bool = typer.Option(
        False, "--emulate", help="Inspect an emulated sensor (an m40 unless --recorder says)."
    ),
    recorder: str = typer.Option("m40", "--recorder", help="With --emulate: the profile the emulated sensors speak."),
) -> None:
    """Dump a device's whole GATT table, then log raw notifications with host times.

    What fills in a device profile (recorders/NAME.yaml) from one session with a real sensor.

    Example: miakit ble inspect M40-01 --listen 10   (try it with no sensor: add --emulate)
    """
    from miakit.record.ble import inspect_device

    make = (lambda: _emulated(recorder, 2)) if emulate else None
    asyncio.run(inspect_device(device, listen_s=listen, timeout_s=timeout, emulated=make, echo=typer.echo))
