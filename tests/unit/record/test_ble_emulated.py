"""The recorder core and the bumble back end against emulated sensors (real BLE stack, no radio)."""

from __future__ import annotations

import asyncio
import csv

import numpy as np
import pytest
from typer.testing import CliRunner

from miakit.devices.profiles import load_profile
from miakit.errors import DeviceError
from miakit.record.ble import BleBackend, BleRecorder, find_sensors
from miakit.record.bumble_backend import BumbleRadio
from miakit.record.cli import ble_app
from miakit.record.emulator import Disconnect, Emulator, Faults, Stall, sensor_names
from miakit.record.session_writer import SessionWriter
from miakit.record.signals import uci_signals


def _rows(folder, name):
    with open(folder / name, newline="") as fh:
        return list(csv.DictReader(fh))


async def _record(tmp_path, profile, signals, sensors, *, faults=None, seconds=2.0, rate_hz=None):
    radio = BumbleRadio()
    emulator = Emulator(profile, signals, link=radio.link, faults=faults, rate_hz=rate_hz)
    await radio.start()
    await emulator.start()
    writer = SessionWriter(
        tmp_path / "session",
        session_id="t",
        subject="S01",
        exercise=None,
        profile=profile,
        profile_bytes=open(profile.path, "rb").read(),
        sensors=sensors,
        emulated=True,
    )
    recorder = BleRecorder(
        profile, writer, sensors, backend=BleBackend.emulated(radio), scan_timeout_s=2.0, backoff_s=(0.05, 0.5)
    )
    await recorder.find()
    await recorder.connect_all()
    task = asyncio.create_task(recorder.stream())
    await asyncio.sleep(seconds)
    recorder.stop()
    await task
    await recorder.close()
    writer.close()
    await emulator.stop()
    return emulator, recorder, writer.folder


def test_myoware_ascii_from_real_emg_with_a_disconnect_and_a_stall(tmp_path, uci_file):
    profile = load_profile("myoware")
    names = sensor_names(profile, 2)
    signals = uci_signals(uci_file, names, muscles=["RightBicep", "LeftBicep"])
    faults = Faults(disconnects=[Disconnect(names[0], 0.6, 0.3)], stalls=[Stall(names[1], 0.5, 1.2)])
    sensors = {names[0]: "RightBicep", names[1]: "LeftBicep"}
    emulator, recorder, folder = asyncio.run(_record(tmp_path, profile, signals, sensors, faults=faults, seconds=2.5))
    rows = _rows(folder, "emg.csv")
    for name in names:
        got = [bytes.fromhex(r["payload"]) for r in rows if r["sensor"] == name]
        assert got == [payload for _, payload in emulator[name].sent]
        assert all(float(p) >= 0 for p in got)  # ASCII envelope values, as the MyoWare sends them
    events = _rows(folder, "events.csv")
    kinds = [(e["kind"], e["sensor"]) for e in events]
    assert ("disconnect", names[0]) in kinds and ("reconnect", names[0]) in kinds
    gaps = {e["sensor"]: e["detail"] for e in events if e["kind"] == "gap"}
    assert gaps[names[0]].startswith("disconnected start=") and gaps[names[1]].startswith("stalled start=")
    stats = {s.sensor: s for s in recorder.stats}
    assert stats[names[0]].disconnects == 1 and stats[names[1]].bad_packets == 0
    assert np.isclose(stats[names[1]].last_value, signals[names[1]][-1]) or stats[names[1]].last_value > 0


def test_dropped_notifications_show_as_m40_counter_drops(tmp_path):
    profile = load_profile("m40")
    names = sensor_names(profile, 1)
    emulator, recorder, folder = asyncio.run(
        _record(
            tmp_path,
            profile,
            {names[0]: np.full(100, 50.0)},
            {names[0]: "LeftQuad"},
            faults=Faults(drop_probability=0.3, seed=1),
            seconds=1.5,
            rate_hz=40,
        )
    )
    stats = recorder.stats[0]
    counters = [int.from_bytes(p[:2], "little") for _, p in emulator[names[0]].sent]
    expected_drops = sum(b - a - 1 for a, b in zip(counters, counters[1:]))
    assert expected_drops > 0 and stats.drops == expected_drops
    assert stats.packets == len(counters)


def test_closing_a_recording_loses_no_packet_in_flight(tmp_path):
    """At 2 kHz some notifications are always on the link when the recording stops; the recorder
    unsubscribes before it disconnects, so it still records every one the sensor sent."""
    profile = load_profile("m40")
    names = sensor_names(profile, 1)
    emulator, recorder, folder = asyncio.run(
        _record(tmp_path, profile, {names[0]: np.arange(100.0)}, {names[0]: "LeftQuad"}, seconds=0.3, rate_hz=2000)
    )
    sent = [payload for _, payload in emulator[names[0]].sent]
    got = [bytes.fromhex(r["payload"]) for r in _rows(folder, "emg.csv")]
    assert len(sent) > 100 and got == sent
    assert recorder.stats[0].packets == len(sent) and recorder.stats[0].drops == 0


def test_missing_sensor_is_one_clear_error():
    profile = load_profile("m40")
    names = sensor_names(profile, 3)

    async def run():
        radio = BumbleRadio()
        emulator = Emulator(
            profile, {n: np.ones(10) for n in names}, link=radio.link, faults=Faults(missing=[names[2]])
        )
        await radio.start()
        await emulator.start()
        try:
            await find_sensors(
                profile,
                dict(zip(names, ["LeftBicep", "RightBicep", "LeftQuad"])),
                backend=BleBackend.emulated(radio),
                timeout_s=0.5,
            )
        finally:
            await emulator.stop()

    with pytest.raises(DeviceError) as info:
        asyncio.run(run())
    message = str(info.value)
    assert "\n" not in message and names[2] in message and names[0] not in message.split("(seen")[0]


def test_ble_scan_and_inspect_against_emulated_sensors():
    runner = CliRunner()
    scan = runner.invoke(ble_app, ["scan", "--emulate", "--timeout", "0.4", "--recorder", "myoware"])
    assert scan.exit_code == 0, scan.output
    assert "MyoWare-08" in scan.output and "ec3af789-2154-49f4-a9fc-bc6c88e9e930" in scan.output
    assert scan.output.strip().splitlines()[-1] == "8 devices"
    inspect = runner.invoke(ble_app, ["inspect", "M40-02", "--emulate", "--listen", "0.45"])
    assert inspect.exit_code == 0, inspect.output
    out = inspect.output
    assert "service 6d343000-8e1a-4c5b-9a4b-6d7573636c65" in out
    assert "characteristic 6d343001-8e1a-4c5b-9a4b-6d7573636c65" in out and "[read,notify]" in out
    assert "descriptor 00002902" in out
    notes = [line.split() for line in out.splitlines() if line.startswith("notify ")]
    assert len(notes) >= 3
    times = [float(n[1]) for n in notes]
    assert times == sorted(times) and all(len(bytes.fromhex(n[3])) == 4 for n in notes)
