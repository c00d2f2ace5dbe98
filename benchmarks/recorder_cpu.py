"""CPU share of the recorder itself: 8 emulated sensors at 100 Hz notifications.

The emulated sensors, their BLE stack and the central's stack (bumble, pure Python) all run in this
process, and on real hardware that work is the sensors' and the OS's (BlueZ), not the recorder's. So
the recorder's own share is measured as a difference, each run ``--seconds`` long, same process:

A. baseline: the emulator streams 8 x 100 Hz to a bumble central that subscribes directly (bumble
   ``Peer.subscribe``) with a callback that only counts; no bleak, no recorder.
B. recorder: the same emulator and radio, recorded by :class:`miakit.record.ble.BleRecorder` through
   bleak's API and the bumble back end, into a real session folder (SessionWriter, flushed every
   second), with per-sensor statistics (decode, counter drops) as the live view uses them.

Process CPU time (``time.process_time``: user + system of all threads) is read around each run;
``(cpu_B - cpu_A) / wall`` is the recorder's share of one core (bleak wrapper + back-end shim +
miakit's code). As a cross-check the time spent inside the recorder's notification callback is
summed with ``time.perf_counter`` (its lower bound: callback only). Run:

    python benchmarks/recorder_cpu.py --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import numpy as np


async def _emulator(profile, rate_hz: float):
    from miakit.layout import MUSCLES
    from miakit.record.bumble_backend import BumbleRadio
    from miakit.record.emulator import Emulator, sensor_names

    radio = BumbleRadio()
    names = sensor_names(profile, len(MUSCLES))
    rng = np.random.default_rng(0)
    emulator = Emulator(profile, {n: rng.uniform(0, 500, 1000) for n in names}, link=radio.link, rate_hz=rate_hz)
    await radio.start()
    await emulator.start()
    return radio, emulator, dict(zip(names, MUSCLES))


async def baseline(seconds: float, rate_hz: float) -> tuple[float, float, int]:
    """(cpu seconds, wall seconds, notifications) with a bare bumble central."""
    from bumble.device import Peer

    from miakit.devices.profiles import load_profile
    from miakit.record.ble import BleBackend, scan

    profile = load_profile("m40")
    radio, emulator, sensors = await _emulator(profile, rate_hz)
    seen = await scan(BleBackend.emulated(radio), timeout_s=2.0, profile=profile, wanted=set(sensors))
    count = 0

    def on_value(value: bytes) -> None:
        nonlocal count
        count += 1

    peers = []
    for device, _adv in seen.values():
        connection = await radio.device.connect(device.details, timeout=5.0)
        peer = Peer(connection)
        await peer.discover_services()
        for service in peer.services:
            await service.discover_characteristics()
        char = peer.get_characteristics_by_uuid(
            __import__("bumble.core", fromlist=["UUID"]).UUID(profile.characteristic_uuid)
        )[0]
        await peer.subscribe(char, on_value)
        peers.append(peer)
    await asyncio.sleep(1.0)  # settle
    count = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    n = count
    for peer in peers:
        await peer.connection.disconnect()
    await emulator.stop()
    return cpu, wall, n


async def recorder_run(seconds: float, rate_hz: float, folder: Path) -> tuple[float, float, int, float]:
    """(cpu seconds, wall seconds, notifications, seconds inside the notification callback)."""
    from miakit.devices.profiles import load_profile
    from miakit.record.ble import BleBackend, BleRecorder
    from miakit.record.session_writer import SessionWriter

    profile = load_profile("m40")
    radio, emulator, sensors = await _emulator(profile, rate_hz)
    writer = SessionWriter(
        folder / "bench",
        session_id="bench",
        subject="S01",
        exercise=None,
        profile=profile,
        profile_bytes=Path(profile.path).read_bytes(),
        sensors=sensors,
        emulated=True,
    )
    recorder = BleRecorder(profile, writer, sensors, backend=BleBackend.emulated(radio))
    inside = 0.0
    original = recorder._on_notify

    def timed(link, data) -> None:
        nonlocal inside
        t = time.perf_counter()
        original(link, data)
        inside += time.perf_counter() - t

    recorder._on_notify = timed
    await recorder.find()
    await recorder.connect_all()
    task = asyncio.create_task(recorder.stream())
    await asyncio.sleep(1.0)
    packets0, inside = sum(s.packets for s in recorder.stats), 0.0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    n, spent = sum(s.packets for s in recorder.stats) - packets0, inside
    recorder.stop()
    await task
    await recorder.close()
    writer.close()
    await emulator.stop()
    return cpu, wall, n, spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate-hz", type=float, default=100.0)
    args = parser.parse_args()
    cpu_a, wall_a, n_a = asyncio.run(baseline(args.seconds, args.rate_hz))
    with tempfile.TemporaryDirectory() as tmp:
        cpu_b, wall_b, n_b, inside = asyncio.run(recorder_run(args.seconds, args.rate_hz, Path(tmp)))
    share_a, share_b = cpu_a / wall_a, cpu_b / wall_b
    print(f"baseline (emulator + bumble central): {n_a / wall_a:7.1f} notifications/s, {100 * share_a:5.1f}% of a core")
    print(
        f"with the recorder (bleak + back end + miakit): {n_b / wall_b:7.1f} "
        f"notifications/s, {100 * share_b:5.1f}% of a core"
    )
    print(f"recorder's own share (difference): {100 * (share_b - share_a):5.1f}% of one core")
    print(
        f"inside the notification callback: {100 * inside / wall_b:5.2f}% "
        f"of one core, {1e6 * inside / max(n_b, 1):.1f} us per notification"
    )


if __name__ == "__main__":
    main()
