"""The README's flow from synthetic sessions to real EMG, through the command line: synth (every
exercise, extra camera views) -> build-dataset -> train --model miakit -> import c3d (the shared
walk and box lift) -> bench real. Slow: it trains a model.

The goals of issue 20 are measured on the README's full flow (numbers in ``benchmarks/real_motion.py``
and the README); here a smaller flow (2 subjects, 20 s, 1200 steps) must still get the front view
of the real walk right: each leg's own quadriceps and hamstrings prediction follows the measured
muscle better than the other leg's, and the quadriceps peaks in the loading response.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def miakit_cli(*args, cwd=None):
    result = subprocess.run(
        [sys.executable, "-m", "miakit.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=3000
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.slow
def test_synthetic_training_holds_on_the_real_walk(shared_data, tmp_path):
    pytest.importorskip("ezc3d")
    catalog = str(tmp_path / "catalog.yaml")
    sessions = miakit_cli(
        "synth",
        "--out",
        str(tmp_path / "sessions"),
        "--subjects",
        "2",
        "--duration",
        "20",
        "--video",
        "none",
        "--exercise",
        "all",
        "--views",
        "3",
    )
    miakit_cli(
        "build-dataset", sessions, "--out", str(tmp_path / "synth.zarr"), "--catalog", catalog, "--name", "synth"
    )
    checkpoint = miakit_cli(
        "train",
        "--dataset",
        "synth",
        "--catalog",
        catalog,
        "--out",
        str(tmp_path / "run"),
        "--model",
        "miakit",
        "--set",
        "max_steps=1200",
        "--set",
        "eval_every=100",
    )
    mocap = shared_data / "mocap"
    miakit_cli(
        "import",
        "c3d",
        str(mocap / "gaitalytics-walk.c3d"),
        str(mocap / "pyomeca-box-lift.c3d"),
        "--out",
        str(tmp_path / "real.zarr"),
        "--catalog",
        catalog,
        "--name",
        "real",
        "--side",
        "right",
    )
    report = Path(
        miakit_cli(
            "bench",
            "real",
            "--checkpoint",
            checkpoint,
            "--dataset",
            "real",
            "--catalog",
            catalog,
            "--out",
            str(tmp_path / "bench"),
        )
    )
    assert report.is_file() and "Goals (issue 20)" in report.read_text()
    goals = json.loads((report.parent / "goals.json").read_text())
    assert len(goals) == 3 and all(g["n"] > 0 for g in goals)
    units = pd.read_csv(report.parent / "units.csv")
    walk = units[(units["segment"] == "gaitalytics-walk-front")]
    assert len(walk) == 4 and walk["own_beats_other_side"].all(), walk
    assert walk["r"].median() > 0.4, walk
    cycles = pd.read_csv(report.parent / "cycles.csv")
    quads = cycles[(cycles["segment"] == "gaitalytics-walk-front") & cycles["muscle"].str.contains("Quad")]
    assert np.mean((quads["predicted_peak_pct"] >= 0) & (quads["predicted_peak_pct"] <= 20)) >= 0.75, quads
