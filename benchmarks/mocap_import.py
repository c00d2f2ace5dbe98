"""The C3D importer on the shared motion-capture trials: joint-centre errors, EMG timing, channels.

    python benchmarks/mocap_import.py [--data ../shared/data/mocap]

For each file: the mapping chosen, each joint's error (mean and max, mm) against the Plug-in Gait
model's own joint centres where the file holds them (segment origins and proximal points: RFEP hip,
RFEO knee, RTIO ankle, RCLO shoulder, RHUO elbow, RRAO wrist), the channels mapped to each muscle,
and where each muscle's 10 Hz envelope peaks in every gait cycle (from the file's heel strikes).
The box lift is imported with ``--side right`` (its labels do not say the side).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from miakit.contracts.dataset import provenance_of
from miakit.importers.c3d import read_c3d
from miakit.importers.lab import load_trials, parse_views, trial_joints
from miakit.layout import BODY_25

OUTPUTS = {
    "RHip": "RFEP",
    "LHip": "LFEP",
    "RKnee": "RFEO",
    "LKnee": "LFEO",
    "RAnkle": "RTIO",
    "LAnkle": "LTIO",
    "RShoulder": "RCLO",
    "LShoulder": "LCLO",
    "RElbow": "RHUO",
    "LElbow": "LHUO",
    "RWrist": "RRAO",
    "LWrist": "LRAO",
}
FILES = {"gaitalytics-walk.c3d": None, "pyomeca-box-lift.c3d": "right"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="a folder of the trials [default: miakit sample data]")
    args = parser.parse_args()
    if args.data is None:
        from miakit.sample_data import fetch_all  # ../shared/data's copy, or the public originals, hash checked

        args.data = fetch_all([f"mocap/{name}" for name in FILES]) / "mocap"
    for name, side in FILES.items():
        path = args.data / name
        trial = read_c3d(path)
        joints, mapping, markers, _ = trial_joints(trial)
        print(f"## {name}: mapping {mapping.name}, {len(joints.used)} joints")
        for joint, output in OUTPUTS.items():
            if output in markers and joint in joints.used:
                err = np.linalg.norm(joints.xyz[:, BODY_25.index(joint)] - markers[output], axis=1)
                print(
                    f"  {joint:10s} vs {output}: mean {np.nanmean(err):5.1f} "
                    f"mm, max {np.nanmax(err):5.1f} mm  ({joints.used[joint]})"
                )
        if not any(o in markers for o in OUTPUTS.values()):
            print("  (no model joint centres in this file to compare with)")
        ds, _ = load_trials([path], read_c3d, pipeline="import-c3d", views=parse_views("front"), side=side)
        info = provenance_of(ds)["trials"][0]
        for muscle, labels in info["channels"].items():
            print(f"  {muscle:15s} <- {' + '.join(labels)} (mean of envelopes)")
        print(f"  clipped samples: {info['clipped_samples'] or 'none'}; events: {info['events']}")
        if "event_time" not in ds:
            continue
        t = ds["time"].values
        events = list(zip(ds["event_time"].values, ds["event_kind"].values, ds["event_side"].values))
        for muscle in info["channels"]:
            side_of = "right" if muscle.startswith("Right") else "left"
            strikes = sorted(float(a) for a, k, s in events if k == "foot_strike" and s == side_of)
            peaks = []
            for a, b in zip(strikes, strikes[1:]):
                inside = (t >= a - 1e-6) & (t < b - 1e-6)
                env = ds["emg"].sel(muscle=muscle).values[inside]
                peaks.append(f"{max(0.0, 100 * (t[inside][np.argmax(env)] - a) / (b - a)):.0f}%")
            print(f"  {muscle:15s} peaks at {', '.join(peaks)} of its gait cycles")


if __name__ == "__main__":
    main()
