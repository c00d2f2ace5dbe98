"""`miakit record --emulate`: a whole session from the command line, the session folder printed last."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from miakit.contracts.session import validate_session
from miakit.record.cli import ble_app, record

UCI_FILE = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "emg" / "uci-physical-action" / "sub03" / "Aggressive" / "txt" / "Punching.txt"


def _app() -> typer.Typer:
    """The commands registered as miakit/cli.py registers them."""
    app = typer.Typer()
    app.command("record")(record)
    app.add_typer(ble_app, name="ble")
    return app


def _check_session(output: str, *, exercise: str | None) -> Path:
    folder = Path(output.strip().splitlines()[-1])
    meta = validate_session(folder)
    assert meta.status == "complete" and meta.recorder.emulated and len(meta.sensors) == 8
    with open(folder / "emg.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len({r["sensor"] for r in rows}) == 8 and len(rows) >= 8 * 15
    with open(folder / "events.csv", newline="") as fh:
        kinds = [(e["kind"], e["detail"]) for e in csv.DictReader(fh)]
    assert ("sync", "clap") in kinds and kinds[-1][0] == "stop"
    if exercise:
        assert ("marker", f"start:{exercise}") in kinds and ("marker", f"stop:{exercise}") in kinds
    return folder


def test_record_emulated_real_emg(tmp_path):
    if not UCI_FILE.is_file():
        pytest.skip(f"real EMG not found at {UCI_FILE}")
    result = CliRunner().invoke(
        _app(), ["record", "--recorder", "myoware", "--out", str(tmp_path), "--emulate", "--duration", "2.5",
                 "--subject", "S07", "--exercise", "squat", "--emulate-source", str(UCI_FILE)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    folder = _check_session(result.output, exercise="squat")
    assert folder.parent == tmp_path and folder.name.startswith("S07_squat_")


def test_record_emulated_synthetic_emg(tmp_path):
    """--emulate with no other source streams miakit's synthetic EMG (miakit.synth.emg_signal)."""
    result = CliRunner().invoke(_app(), ["record", "--recorder", "m40", "--out", str(tmp_path), "--emulate", "--duration", "2.5"])
    assert result.exit_code == 0, result.output
    _check_session(result.output, exercise=None)
