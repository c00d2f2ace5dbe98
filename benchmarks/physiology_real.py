"""The synthetic muscle model driven by real motion capture, against physiology and the trials' EMG.

Reads the two shared C3D trials (``../shared/data/mocap``: overground walking, a box lift) with the
tests' small reader, drives :func:`miakit.synth.activation.activation` with their 3D joint centres
(:func:`miakit.synth.motion.kinematics_from_points`) and prints, per gait cycle (from the file's
heel-strike events), where the synthetic and the measured quadriceps and hamstrings peak, and the
Pearson r of each synthetic muscle with the measured envelope of the same muscle.

    python benchmarks/physiology_real.py            # about 5 s
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from mocap_reader import (
    MEASURED,
    Trial,
    cycles,
    measured,
    peak_places,
    pearson,
    read_trial,
    synthetic,
)

from miakit.layout import MUSCLES

DATA = ROOT.parent / "shared" / "data" / "mocap"


def walking_report(trial: Trial, act: np.ndarray) -> dict:
    """Per side and muscle: the synthetic and measured peak places and the r between them."""
    rows = {}
    for side, name in (("L", "Left"), ("R", "Right")):
        span = (trial.t >= cycles(trial, side)[0][0]) & (trial.t <= cycles(trial, side)[-1][1]) if cycles(trial, side) else slice(None)
        for muscle in MEASURED:
            syn = act[:, MUSCLES.index(f"{name}{muscle}")]
            meas = measured(trial, side, muscle)
            rows[f"{name}{muscle}"] = {
                "synthetic_peaks_%": [round(p) for p in peak_places(trial, syn, side)],
                "measured_peaks_%": [round(p) for p in peak_places(trial, meas, side)],
                "r": round(pearson(syn[span], meas[span]), 2),
            }
    return rows


def lift_report(trial: Trial, act: np.ndarray) -> dict:
    return {
        m: {"r": round(pearson(act[:, MUSCLES.index(f"Right{m}")], trial.emg[ch]), 2)}
        for m, ch in (("Bicep", "Biceps.EMG4"), ("Tricep", "Triceps.EMG5"))
    }


def main() -> None:
    walk = read_trial(DATA / "gaitalytics-walk.c3d")
    lift = read_trial(DATA / "pyomeca-box-lift.c3d")
    print("walking (peak place per gait cycle, % from heel strike; r with the measured envelope)")
    for muscle, row in walking_report(walk, synthetic(walk)).items():
        print(f"  {muscle:15s} synthetic {row['synthetic_peaks_%']}  measured {row['measured_peaks_%']}  r {row['r']:+.2f}")
    print("box lift (r with the measured envelope)")
    for muscle, row in lift_report(lift, synthetic(lift)).items():
        print(f"  Right{muscle:10s} r {row['r']:+.2f}")


if __name__ == "__main__":
    main()
