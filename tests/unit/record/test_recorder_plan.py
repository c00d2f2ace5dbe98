"""The recorder top to bottom (issue 36): the flag checks once, each kind of source prepared behind
the one protocol, the stop request passed in, no module state."""

from __future__ import annotations

import ast
import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

import miakit.record.recorder as recorder_module
from miakit.contracts.session import validate_session
from miakit.devices.profiles import load_profile
from miakit.errors import DeviceError, SessionError
from miakit.record.ble import prepare_ble
from miakit.record.emulator import Faults, prepare_emulated_ble
from miakit.record.lsl import prepare_emulated_lsl, prepare_lsl
from miakit.record.recorder import RecordPlan, check_plan, prepare_source, record_session, record_session_async
from miakit.record.replay import prepare_replay
from miakit.record.source import PreparedSource

QUIET = dict(keys=False, live_view=False)


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "miakit", "record", *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    "flags, library, message",
    [
        (
            ["--recorder", "m40", "--duration", "1", "--emulate-drop", "0.1"],
            dict(recorder="m40", duration_s=1.0, faults=Faults(drop_probability=0.1)),
            "--emulate-*: fault injection needs --emulate",
        ),
        (
            ["--recorder", "m40", "--emulate", "--duration", "0"],
            dict(recorder="m40", emulate=True, duration_s=0.0),
            "--duration: not a recording length",
        ),
        (
            ["--recorder", "m40", "--emulate", "--exercise", "squat", "--protocol", "squat:2"],
            dict(recorder="m40", emulate=True, exercise="squat", protocol=[("squat", 2.0)]),
            "--protocol: give either --exercise or --protocol, not both",
        ),
    ],
)
def test_a_bad_plan_is_the_same_line_from_the_command_and_the_library(tmp_path, flags, library, message):
    """check_plan is the one check: `miakit record` (exit 2, one line, nothing made) and
    record_session say the same thing, before any output folder exists."""
    result = _run_cli("--out", str(tmp_path / "cli"), *flags)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    cli_line = [ln for ln in result.stderr.splitlines() if ln.strip()][-1]
    assert message in cli_line
    with pytest.raises(SessionError) as info:
        record_session(RecordPlan(out=tmp_path / "lib", **QUIET, **library))
    assert message in str(info.value) and cli_line.endswith(str(info.value))
    assert not (tmp_path / "cli").exists() and not (tmp_path / "lib").exists()


def test_fault_flags_are_checked_and_become_the_plans_faults(tmp_path):
    plan = RecordPlan(recorder="m40", out=tmp_path, emulate=True)
    check_plan(plan, fault_flags=dict(drop=0.0, disconnect=["M40-03@2:0.5"], stall=(), missing=()))
    assert isinstance(plan.faults, Faults)
    assert [(d.sensor, d.at_s, d.down_s) for d in plan.faults.disconnects] == [("M40-03", 2.0, 0.5)]
    with pytest.raises(SessionError, match="no such emulated sensor"):
        check_plan(RecordPlan(recorder="m40", out=tmp_path, emulate=True), fault_flags=dict(missing=["M40-09"]))
    replay = RecordPlan(recorder=None, out=tmp_path, replay=tmp_path / "some-session")
    with pytest.raises(SessionError, match="not with --replay: fault injection"):
        check_plan(replay, fault_flags=dict(drop=0.1))
    check_plan(RecordPlan(recorder="m40", out=tmp_path), fault_flags=dict(drop=0.0, disconnect=()))  # none given


def test_every_kind_of_source_is_prepared_behind_the_one_protocol(tmp_path):
    """Preparing starts nothing (no radio, no outlet, no folder); each kind is a PreparedSource."""
    m40, lsl = load_profile("m40"), load_profile("lsl")
    folder = record_session(
        RecordPlan(recorder="m40", out=tmp_path / "rec", emulate=True, duration_s=1.0, sync_after_s=0.2, **QUIET)
    )
    prepared = {
        "ble": prepare_ble(m40, None),
        "emulated ble": prepare_emulated_ble(m40, None),
        "lsl": prepare_lsl(None, lsl, None),
        "emulated lsl": prepare_emulated_lsl("x", lsl, None),
        "replay": prepare_replay(folder),
    }
    for kind, source in prepared.items():
        assert isinstance(source, PreparedSource), kind
    assert [s.live for s in prepared.values()] == [True, True, True, True, False]
    assert prepared["emulated ble"].sensors == prepared["replay"].sensors  # M40-01..08 in muscle order, as recorded
    assert prepared["emulated ble"].emulator is None and prepared["emulated lsl"].outlet is None
    assert isinstance(prepare_source(RecordPlan(recorder=None, out=tmp_path, replay=folder)), PreparedSource)


def test_the_stop_event_passed_in_ends_the_recording_cleanly(tmp_path):
    """No duration: the caller's stop event ends it, as Ctrl-C does (the session complete, its stop
    event written); set while scanning, nothing is left behind."""

    async def record(plan: RecordPlan, after_s: float) -> Path:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(after_s, stop.set)
        return await record_session_async(plan, stop=stop)

    plan = RecordPlan(recorder="m40", out=tmp_path / "a", emulate=True, exercise="squat", sync_after_s=0.3, **QUIET)
    folder = asyncio.run(record(plan, 2.5))
    meta = validate_session(folder)
    assert meta.status == "complete" and (folder / "emg.csv").stat().st_size > 100
    assert (folder / "events.csv").read_text().strip().splitlines()[-1].split(",")[1] == "stop"

    missing = RecordPlan(
        recorder="m40", out=tmp_path / "b", emulate=True, faults=Faults(missing=["M40-02"]), scan_timeout_s=60, **QUIET
    )
    with pytest.raises(DeviceError, match="stopped while scanning for the sensors"):
        asyncio.run(record(missing, 1.0))
    assert not (tmp_path / "b").exists()


def test_the_recorder_keeps_no_module_state_and_no_other_modules_private_names():
    tree = ast.parse(Path(recorder_module.__file__).read_text())
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Global)]
    private = [
        f"{n.module}.{a.name}"
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom)
        for a in n.names
        if a.name.startswith("_")
    ]
    assert private == []
    assert not hasattr(recorder_module, "request_stop")
