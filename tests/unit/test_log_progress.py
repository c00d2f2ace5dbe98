"""Output for logs (issue 35): where standard error is not a terminal, progress comes as one line
every few seconds (steps, rate, time left, loss), not one bar drawn at the end; the build summary
fits the terminal with the full table in a CSV; bars go to standard error; the training bar's best
validation RMSE is the checkpoint's."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from miakit import progress
from miakit.report_tables import SUMMARY_COLUMNS, fitting_columns, print_build_summary

REPO = Path(__file__).resolve().parents[2]


def test_line_progress_writes_periodic_lines_with_rate_time_left_and_fields():
    out = io.StringIO()
    with progress.LineProgress(every_s=0.05, stream=out, unit="steps") as bar:
        task = bar.add_task("train", total=20)
        for step in range(1, 21):
            time.sleep(0.01)
            bar.update(task, completed=step, loss=lambda step=step: 1.0 / step)
    lines = out.getvalue().splitlines()
    assert 3 <= len(lines) <= 8  # the first, some periodic ones, the last: not one a step
    assert lines[0].startswith("train: 0/20 steps (0%)")
    middle = lines[1]
    assert " /s" in middle and "elapsed" in middle and "left" in middle and "loss " in middle
    assert lines[-1].startswith("train: 20/20 steps (100%)") and "left" not in lines[-1]


def test_progress_bar_is_line_progress_when_stderr_is_not_a_terminal():
    script = (
        "from miakit.progress import progress_bar, track\n"
        "print(type(progress_bar()).__name__)\n"
        "for _ in track(range(3), 'work'): pass\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "MIAKIT_PROGRESS_EVERY_S": "0"}
    env.pop("FORCE_COLOR", None)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert run.stdout.strip() == "LineProgress"  # nothing but the result on standard output
    assert run.stderr.splitlines()[-1].startswith("work: 3/3 (100%)")


def _result(store: Path, n: int = 3):
    report = SimpleNamespace(
        session="subject01/a-very-long-exercise-name-session",
        kept=True,
        frames=300,
        valid_fraction=0.97,
        emg_coverage=1.0,
        pose_coverage=0.99,
        mean_pose_score=0.91,
        packets=1200,
        bad_packets=0,
        dropped_samples=3,
        duplicate_packets=0,
        sync_confidence=0.93,
        sync_offset_s=-0.41,
        reason="",
        truncated=False,
        notes=["sync clap found at 0.53 s; the video's start corrected by -0.41 s"],
    )
    return SimpleNamespace(
        pipeline="mia",
        pipeline_why="given",
        up_to_date=False,
        store=store,
        reports=[report] * n,
        reused=0,
        segments=n,
        frames=300 * n,
    )


def test_the_build_summary_fits_80_columns_and_the_full_table_is_a_csv(tmp_path, capsys):
    store = tmp_path / "demo.zarr"
    store.mkdir()  # the store the build wrote: the full table goes inside it, nothing beside it
    path = print_build_summary(_result(store), width=80)
    printed = capsys.readouterr().out
    assert all(len(line) <= 80 for line in printed.splitlines())
    assert "sync" in printed and "-0.41 s (0.93)" in printed and "..." not in printed and "…" not in printed
    assert path == store / "build-summary.csv" and sorted(p.name for p in tmp_path.iterdir()) == ["demo.zarr"]
    assert f"the full table: {path}" in printed.replace("\n", "")
    rows = list(csv.DictReader(path.open()))
    assert list(rows[0]) == list(SUMMARY_COLUMNS) and rows[0]["dropped"] == "3" and len(rows) == 3
    wide = fitting_columns([dict.fromkeys(SUMMARY_COLUMNS, "1")], 200)
    assert wide == list(SUMMARY_COLUMNS)  # a wide terminal shows all 13


def test_the_training_progress_lines_end_on_the_checkpoints_best_validation_rmse(tmp_path, capsys, monkeypatch):
    import re

    from dataset_builders import make_dataset

    from miakit.learn.config import TrainConfig, apply_overrides
    from miakit.learn.train import train

    monkeypatch.setenv("MIAKIT_PROGRESS_EVERY_S", "0")
    config = apply_overrides(
        TrainConfig(), ["max_steps=12", "eval_every=4", "batch_size=8", "device=cpu", "amp=false", "model=cnn"]
    )
    result = train(make_dataset(frames=240), config, tmp_path / "run", progress=True)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("train")]
    assert len(lines) >= 12  # a line a step here (every 0 s): a log shows training as it goes
    assert any("loss " in line and " /s" in line and " left" in line for line in lines)
    best = re.findall(r"best val RMSE ([0-9.]+)", lines[-1])
    assert best and float(best[0]) == round(result.best_val_rmse, 2)
    assert lines[-1].startswith("train (best val RMSE") and "12/12" in lines[-1]
