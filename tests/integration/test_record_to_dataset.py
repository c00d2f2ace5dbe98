"""Record, then build, as `miakit record --help` shows: no flag beyond the help's, no guessing.

Every test runs the real command (`python -m miakit.cli ...`) in a subprocess and checks the files
it leaves: the session folder, the store, the events.
"""

from __future__ import annotations

import csv
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import miakit
from miakit.contracts.dataset import UNKNOWN_EXERCISE
from miakit.contracts.session import validate_session

CLI = [sys.executable, "-m", "miakit.cli"]
SECONDS = 4


def _run(args: list[str], cwd: Path, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, **kw)


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _help_example(command: str) -> list[str]:
    """The arguments of the first line of `miakit record --help` that runs ``miakit COMMAND``."""
    shown = subprocess.run([*CLI, "record", "--help"], capture_output=True, text=True, check=True).stdout
    line = next(line.strip() for line in shown.splitlines() if line.strip().startswith(f"miakit {command} "))
    return line.split()[1:]


def test_record_as_help_shows_then_build_with_no_flags(tmp_path):
    args = _help_example("record")
    assert args == ["record", "--recorder", "m40", "--emulate", "--duration", "20", "--out", "sessions"]
    args[args.index("--duration") + 1] = str(SECONDS)  # the same flags, a shorter recording
    recorded = _run(args, tmp_path)
    assert recorded.returncode == 0, recorded.stderr[-2000:]
    # no --exercise and no terminal: a warning line before the recording, not a question
    assert "warning: no --exercise or --protocol" in recorded.stderr
    assert recorded.stderr.index("warning:") < recorded.stderr.index("recording into")
    folder = tmp_path / recorded.stdout.strip().splitlines()[-1]
    assert validate_session(folder).status == "complete"

    build = _help_example("build-dataset")
    assert build == ["build-dataset", "sessions", "--out", "rec.zarr"]  # no flags
    built = _run(build, tmp_path, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:] + built.stdout[-2000:]
    assert "pipeline emg-only (chosen:" in built.stdout
    ds = miakit.open_dataset(tmp_path / "rec.zarr")
    assert ds.sizes["muscle"] == 8 and float(ds.attrs["rate_hz"]) == 10.0
    assert list(ds["segment_exercise"].values) == [UNKNOWN_EXERCISE]
    # about 10 Hz for the recorded seconds: the grid spans the EMG all 8 sensors share (connects
    # are staggered by tens of ms, so a few frames less than SECONDS * 10, never more)
    frames = ds.sizes["frame"]
    assert SECONDS * 10 - 10 <= frames <= SECONDS * 10 + 1, frames
    assert np.allclose(np.diff(ds["time"].values), 0.1)
    assert float(ds["valid"].mean()) > 0.9
    assert np.isfinite(ds["emg"].values[ds["valid"].values]).all()


def test_fault_flags_reach_the_session_and_duplicates_are_counted(tmp_path):
    recorded = _run(
        [
            "record",
            "--recorder",
            "m40",
            "--emulate",
            "--duration",
            str(SECONDS),
            "--exercise",
            "squat",
            "--emulate-duplicate",
            "0.2",
            "--emulate-disconnect",
            "M40-03@1.5:0.5",
            "--out",
            "sessions",
        ],
        tmp_path,
    )
    assert recorded.returncode == 0, recorded.stderr[-2000:]
    folder = tmp_path / recorded.stdout.strip().splitlines()[-1]
    events = [(e["kind"], e["sensor"]) for e in _rows(folder / "events.csv")]
    assert ("disconnect", "M40-03") in events and ("reconnect", "M40-03") in events
    rows = _rows(folder / "emg.csv")
    seen, truth = set(), 0  # m40 payloads carry the device counter: a repeat within 4 s is a duplicate
    for r in rows:
        key = (r["sensor"], r["payload"])
        truth += key in seen
        seen.add(key)
    assert truth > 0.1 * len(rows) / 1.2  # about 20% of the packets were sent twice

    built = _run(["build-dataset", "sessions", "--out", "rec.zarr"], tmp_path, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:] + built.stdout[-2000:]
    said = re.search(r"(\d+) duplicated packets", built.stdout)
    assert said and int(said.group(1)) == truth, built.stdout[-1500:]
    ds = miakit.open_dataset(tmp_path / "rec.zarr")
    assert list(ds["segment_exercise"].values) == ["squat"]


def _stderr_lines(proc: subprocess.Popen) -> queue.Queue:
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in iter(proc.stderr.readline, b""):
            lines.put(line.decode(errors="replace"))

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _wait_for(lines: queue.Queue, text: str, timeout: float = 30.0) -> list[str]:
    got, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        got.append(line)
        if text in line:
            return got
    raise AssertionError(f"{text!r} never appeared on stderr; got {got}")


def test_sigterm_during_record_closes_the_session_like_ctrl_c(tmp_path):
    proc = subprocess.Popen(
        [
            *CLI,
            "record",
            "--recorder",
            "m40",
            "--emulate",
            "--duration",
            "60",
            "--exercise",
            "squat",
            "--out",
            "sessions",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        lines = _stderr_lines(proc)
        _wait_for(lines, "recording into")
        time.sleep(2.0)
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
        out = proc.stdout.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    folder = tmp_path / out.strip().splitlines()[-1]
    assert validate_session(folder).status == "complete"
    events = [(e["kind"], e["detail"]) for e in _rows(folder / "events.csv")]
    assert events[-1] == ("stop", "") and ("marker", "stop:squat") in events  # as Ctrl-C leaves it
    assert len({r["sensor"] for r in _rows(folder / "emg.csv")}) == 8


def test_marker_keys_on_a_terminal(tmp_path):
    """On a terminal: the missing --exercise is asked for, the keys are shown, m/c/q mark and stop."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [*CLI, "record", "--recorder", "m40", "--emulate", "--duration", "60", "--no-sync", "--out", "sessions"],
        cwd=tmp_path,
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    os.close(slave)
    try:
        lines = _stderr_lines(proc)
        os.write(master, b"squat\n")  # the terminal holds the answer until the prompt reads it
        got = _wait_for(lines, "keys: [m]")
        assert any("exercise recorded (" in line for line in got)  # the question came first
        assert any("mark start/stop of squat" in line for line in got)
        time.sleep(1.0)
        for key in (b"m", b"c", b"m", b"q"):
            os.write(master, key)
            time.sleep(0.4)
        proc.wait(20)
        out = proc.stdout.read().decode()
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    folder = tmp_path / out.strip().splitlines()[-1]
    meta = validate_session(folder)
    assert meta.exercise == "squat" and meta.status == "complete"
    marks = [(e["kind"], e["detail"]) for e in _rows(folder / "events.csv") if e["kind"] in ("marker", "sync")]
    assert marks == [
        ("marker", "start:squat"),
        ("marker", "stop:squat"),
        ("sync", "clap"),
        ("marker", "start:squat"),
        ("marker", "stop:squat"),
    ]


@pytest.mark.parametrize("duration", ["inf", "nan", "-1", "0"])
def test_a_duration_that_is_no_length_is_one_line(tmp_path, duration):
    result = _run(["record", "--recorder", "m40", "--emulate", "--duration", duration, "--out", "sessions"], tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--duration" in lines[0] and "Traceback" not in result.stderr
    assert not (tmp_path / "sessions").exists()


@pytest.mark.skipif(
    Path("/run/dbus/system_bus_socket").exists(), reason="this host has a D-Bus system bus (maybe Bluetooth)"
)
@pytest.mark.parametrize(
    "args",
    [
        ["record", "--recorder", "m40", "--duration", "2", "--exercise", "squat", "--out", "sessions"],
        ["ble", "scan", "--timeout", "1"],
    ],
)
def test_no_bluetooth_stack_is_one_line_pointing_to_emulate(tmp_path, args):
    result = _run(args, tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no Bluetooth on this host" in lines[0] and "--emulate" in lines[0]
    assert not (tmp_path / "sessions").exists()


def test_sigterm_before_the_recording_starts_leaves_nothing(tmp_path):
    """Stopped while scanning (a sensor that never appears, a long scan): one line, no folder left."""
    proc = subprocess.Popen(
        [
            *CLI,
            "record",
            "--recorder",
            "m40",
            "--emulate",
            "--exercise",
            "squat",
            "--emulate-missing",
            "M40-03",
            "--scan-timeout",
            "60",
            "--out",
            "sessions",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        lines = _stderr_lines(proc)
        _wait_for(lines, "scanning for 8 sensors")
        time.sleep(0.5)
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
        took = time.monotonic() - sent
        time.sleep(0.2)
        rest = []
        while not lines.empty():
            rest.append(lines.get())
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2 and took < 10  # not the 60 s scan
    assert any("stopped while scanning" in line and "nothing was written" in line for line in rest), rest
    assert not any("Traceback" in line for line in rest)
    assert not (tmp_path / "sessions").exists()
