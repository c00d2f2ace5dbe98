"""The command line: instant help, one-line errors, exit status 2 for bad input."""

from __future__ import annotations

import subprocess
import sys


def run(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "miakit.cli", *args], capture_output=True, text=True, **kwargs)


def test_help_imports_nothing_heavy():
    code = (
        "import sys; from miakit.cli import app; "
        "heavy = [m for m in ('torch', 'cv2', 'mediapipe', 'bleak', 'bumble', "
        "'matplotlib', 'xarray', 'zarr', 'dask', 'scipy') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_version_and_help_of_every_command():
    assert run("--version").stdout.startswith("miakit ")
    top = run("--help")
    assert top.returncode == 0
    for command in ("demo", "synth", "build-dataset", "train", "bench", "info"):
        assert command in top.stdout
        result = run(command, "--help")
        assert result.returncode == 0 and "Usage" in result.stdout, command


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    result = run("build-dataset", str(tmp_path), "--out", str(tmp_path / "x.zarr"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {tmp_path}: no session folders (no session.yaml found below it)"
    result = run("info", str(tmp_path / "none.zarr"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().endswith("none.zarr: no such dataset store")


def test_build_dataset_command_registers_in_catalog(session_factory, tmp_path):
    session_factory("a")
    store = tmp_path / "ds.zarr"
    cat = tmp_path / "catalog.yaml"
    result = run(
        "build-dataset", str(tmp_path / "sessions"), "--out", str(store), "--catalog", str(cat), "--name", "mine"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(store)
    assert "kept" in result.stdout
    info = run("info", "mine", "--catalog", str(cat))
    assert info.returncode == 0 and "miakit-dataset/1" in info.stdout and "squat" in info.stdout


def test_dry_run_shows_the_plan_and_builds_nothing(session_factory, tmp_path):
    session_factory("a")
    store = tmp_path / "ds.zarr"
    result = run("build-dataset", str(tmp_path / "sessions"), "--out", str(store), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert (
        "decode_emg" in result.stdout and "to build" in result.stdout and "1 of 1 sessions to process" in result.stdout
    )
    assert not store.exists()


def test_bench_sessions_that_are_not_a_folder_are_one_line_and_nothing_is_written(tmp_path):
    """``miakit bench --sessions`` names the session folders whose sync events are left out of the
    scores; a path that is not a folder is refused before any work."""
    import subprocess
    import sys

    out = tmp_path / "bench"
    result = subprocess.run(
        [sys.executable, "-m", "miakit.cli", "bench", "--dataset", str(tmp_path / "d.zarr"), "--out", str(out)]
        + ["--sessions", str(tmp_path / "nowhere")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    expected = "the session folders the dataset was built from"
    assert result.stderr.strip().splitlines() == [
        f"error: --sessions: no such folder (expected {expected}, found '{tmp_path / 'nowhere'}')"
    ]
    assert not out.exists()
