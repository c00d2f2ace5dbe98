"""`miakit record --emulate`: a whole session from the command line, the session folder printed last."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import typer
from sample_files import sample_path
from typer.testing import CliRunner

from miakit.contracts.session import validate_session
from miakit.record.cli import ble_app, record

UCI_FILE = sample_path("emg", "uci-physical-action", "sub03", "Aggressive", "txt", "Punching.txt")


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
        _app(),
        [
            "record",
            "--recorder",
            "myoware",
            "--out",
            str(tmp_path),
            "--emulate",
            "--duration",
            "2.5",
            "--subject",
            "S07",
            "--exercise",
            "squat",
            "--emulate-source",
            str(UCI_FILE),
        ],
    )
    assert result.exit_code == 0, result.output
    folder = _check_session(result.output, exercise="squat")
    assert folder.parent == tmp_path and folder.name.startswith("S07_squat_")


def test_record_emulated_synthetic_emg(tmp_path):
    """--emulate with no other source streams miakit's synthetic EMG (miakit.body.signal.emg_signal)."""
    result = CliRunner().invoke(
        _app(), ["record", "--recorder", "m40", "--out", str(tmp_path), "--emulate", "--duration", "2.5"]
    )
    assert result.exit_code == 0, result.output
    _check_session(result.output, exercise=None)


def test_protocol_of_several_exercises_becomes_one_segment_each(tmp_path):
    """`--protocol` announces and marks each exercise; build-dataset cuts the session at the markers."""
    import subprocess
    import sys

    import miakit

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "miakit.cli",
            "record",
            "--recorder",
            "m40",
            "--emulate",
            "--out",
            str(tmp_path),
            "--protocol",
            "squat:2,running:2",
            "--rest",
            "0.5",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    folder = Path(result.stdout.strip().splitlines()[-1])
    assert "NOW: squat" in result.stderr and "NOW: running" in result.stderr
    with open(folder / "events.csv", newline="") as fh:
        markers = [(float(e["host_time"]), e["detail"]) for e in csv.DictReader(fh) if e["kind"] == "marker"]
    assert [d for _, d in markers] == ["start:squat", "stop:squat", "start:running", "stop:running"]
    assert markers[1][0] - markers[0][0] == pytest.approx(2.0, abs=0.2)
    store = tmp_path / "s.zarr"
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "miakit.cli",
            "build-dataset",
            str(folder),
            "--out",
            str(store),
            "--pipeline",
            "emg-only",
            "--catalog",
            str(tmp_path / "catalog.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    ds = miakit.open_dataset(store)
    assert list(ds["segment_exercise"].values) == ["squat", "running"]
    assert all(abs(n - 20) <= 2 for n in ds["segment_length"].values)


def test_bad_protocol_is_one_line(tmp_path):
    result = CliRunner().invoke(
        _app(), ["record", "--recorder", "m40", "--emulate", "--out", str(tmp_path), "--protocol", "squat:30,flying"]
    )
    assert result.exit_code != 0
    assert "--protocol: unknown exercise" in str(result.exception) or "--protocol" in result.output
