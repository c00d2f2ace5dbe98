"""Every motion-capture file of the corpus imported with no flag: per file the joints resolved, each
joint's rule and estimated error, the body found, the vertical, the stretches kept, the import time.

    python benchmarks/mocap_corpus.py [--data ../shared/data/mocap] [--csv /tmp/mocap_corpus.csv]

The files: ``mocap/*.c3d``, ``mocap/*.trc`` and ``mocap/variety/*.c3d`` (see the data's README). Each
is imported as ``miakit import c3d|trc FILE`` would (``load_trials``, front and side views; no store
is written), timed from reading the file to the dataset. Where the file holds its own model's joint
centres (Plug-in Gait segment origins, CGM 2.4 joint centres), the joints computed from the markers
alone (``use_model=False``) are compared with them: the median distance (mm) is the ``vs model``
column. The table goes to stdout, one row per file and joint to the CSV.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

from miakit.errors import InputError
from miakit.layout import BODY_25

MODEL_POINTS = {  # joint -> the model outputs that hold it (the file's labels, after a subject prefix)
    "RHip": ("RHJC_CGM_2.4", "RFEP"),
    "LHip": ("LHJC_CGM_2.4", "LFEP"),
    "RKnee": ("RKJC_CGM_2.4", "RFEO"),
    "LKnee": ("LKJC_CGM_2.4", "LFEO"),
    "RAnkle": ("RAJC_CGM_2.4", "RTIO"),
    "LAnkle": ("LAJC_CGM_2.4", "LTIO"),
    "RShoulder": ("RCLO",),
    "LShoulder": ("LCLO",),
    "RElbow": ("RHUO",),
    "LElbow": ("LHUO",),
    "RWrist": ("RRAO",),
    "LWrist": ("LRAO",),
}
"""Plug-in Gait: the femur's proximal point is its hip centre, segment origins the distal joints'
centres (knee: femur, ankle: tibia, shoulder: clavicle, elbow: humerus, wrist: radius)."""


def corpus(folder: Path) -> list[Path]:
    return sorted([*folder.glob("*.c3d"), *folder.glob("*.trc"), *(folder / "variety").glob("*.c3d")])


def model_errors(trial) -> dict[str, float]:
    """Median distance (mm) of the markers' own joint centres from the file's model outputs."""
    from miakit.importers.lab import anatomy_trial_joints

    bare = {k.rsplit(":", 1)[-1]: v for k, v in trial.markers.items()}
    joints = anatomy_trial_joints(trial, use_model=False)[0]
    out = {}
    for joint, names in MODEL_POINTS.items():
        ref = next((bare[n] for n in names if n in bare), None)
        if ref is None or joint not in joints.rules:
            continue
        with np.errstate(invalid="ignore"):
            d = np.linalg.norm(joints.xyz[:, BODY_25.index(joint)] - ref, axis=1)
        if np.isfinite(d).any():
            out[joint] = float(np.nanmedian(d))
    return out


def run(path: Path) -> dict:
    from miakit.importers.c3d import read_c3d
    from miakit.importers.lab import load_trials, parse_views
    from miakit.importers.opensim import read_trial

    reader = read_trial if path.suffix == ".trc" else read_c3d
    start = time.perf_counter()
    try:
        ds, report = load_trials([path], reader, pipeline="benchmark", views=parse_views("front,side"))
    except InputError as exc:
        return {"file": path.name, "error": str(exc).replace(str(path), path.name)[:160]}
    seconds = time.perf_counter() - start
    from miakit.contracts.dataset import provenance_of

    info = provenance_of(ds)["trials"][0]
    try:
        versus = model_errors(reader(path))
    except InputError:
        versus = {}
    return {
        "file": path.name,
        "seconds": seconds,
        "info": info,
        "versus": versus,
        "frames": int(ds.sizes["frame"]),
        "segments": int(ds.sizes["segment"]),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mocap"))
    parser.add_argument("--csv", default="/tmp/mocap_corpus.csv")
    args = parser.parse_args(argv)
    rows = []
    print(f"{'file':42s} {'s':>5s} {'joints':>6s} {'mean err':>8s} {'vs model':>8s}  body / vertical / stretches")
    for path in corpus(Path(args.data)):
        result = run(path)
        if "error" in result:
            print(f"{path.name:42s} {'-':>5s} {'-':>6s} {'-':>8s} {'-':>8s}  REFUSED: {result['error']}")
            rows.append({"file": path.name, "joint": "", "rule": "refused", "error_mm": "", "note": result["error"]})
            continue
        info, versus = result["info"], result["versus"]
        rules = info["joint_rules"]
        mean_err = np.mean([r["error_mm"] for r in rules.values()]) if rules else float("nan")
        vs = f"{np.mean(list(versus.values())):.1f}" if versus else "-"
        stretches = info["stretches_s"]
        print(
            f"{path.name:42s} {result['seconds']:5.1f} {len(rules):6d} {mean_err:8.1f} {vs:>8s}  "
            f"{info['body']} / {info['vertical']['from']} / {len(stretches)} stretch(es), "
            f"{info['gaps_left_out_s']:g} s left out; {len(info['labels_not_understood'])} labels not understood"
        )
        print("    " + ", ".join(f"{j}={r['rule']}({r['error_mm']:g})" for j, r in rules.items()))
        if versus:
            print("    markers alone vs the file's model (mm): " + ", ".join(f"{j} {v:.1f}" for j, v in versus.items()))
        for joint in BODY_25:
            if joint in rules:
                r = rules[joint]
                rows.append(
                    {
                        "file": path.name,
                        "joint": joint,
                        "rule": r["rule"],
                        "error_mm": r["error_mm"],
                        "markers": " ".join(r["markers"]),
                        "vs_model_mm": round(versus[joint], 1) if joint in versus else "",
                        "import_s": round(result["seconds"], 2),
                    }
                )
    with open(args.csv, "w", newline="") as fh:
        fields = ["file", "joint", "rule", "error_mm", "markers", "vs_model_mm", "import_s", "note"]
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    print(f"CSV: {args.csv}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
