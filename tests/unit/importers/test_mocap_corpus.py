"""Every motion-capture file of the shared corpus imports with no flag, its joints where they belong.

``../shared/data/mocap/`` holds trials from other systems and labs (see its README). Each is imported
as ``miakit import c3d|trc FILE`` does (``load_trials``), keypoints only where no EMG channel names a
muscle. The joints the markers determine are checked against a reference:

- the file's own model outputs where it has them (Plug-in Gait segment origins and proximal points,
  CGM 2.4 joint centres): the markers' own centres (the outputs ignored) lie within twice the sum
  of the rule's estimated error and a model's own (:data:`RULE_ERROR_MM` ``model``), the median over
  frames: two estimates of one centre, each with its error, agree to about that;
- else anatomy: segment lengths (hip-knee, knee-ankle, shoulder-elbow, elbow-wrist, hip and shoulder
  widths) in adult ranges (widened by the two joints' estimated errors), and left and right lengths
  within :data:`SYMMETRY` of each other plus half the four joints' estimated errors.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from miakit.importers.joint_centres import RULE_ERROR_MM
from miakit.layout import BODY_25

pytest.importorskip("ezc3d")
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))

from mocap_corpus import MODEL_POINTS  # the benchmark's table of model outputs, one copy

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "mocap"
FILES = sorted([*DATA.glob("*.c3d"), *DATA.glob("*.trc"), *(DATA / "variety").glob("*.c3d")]) if DATA.is_dir() else []
LENGTHS_MM = {  # adult segment lengths between joint centres (Winter's proportions of 1.5-2.0 m)
    ("RHip", "RKnee"): (300, 520),
    ("LHip", "LKnee"): (300, 520),
    ("RKnee", "RAnkle"): (300, 500),
    ("LKnee", "LAnkle"): (300, 500),
    ("RShoulder", "RElbow"): (220, 380),
    ("LShoulder", "LElbow"): (220, 380),
    ("RElbow", "RWrist"): (180, 320),
    ("LElbow", "LWrist"): (180, 320),
    ("RHip", "LHip"): (120, 280),
    ("RShoulder", "LShoulder"): (220, 460),
}
SYMMETRY = 0.15
"""Left and right segment lengths differ by at most this fraction (markers placed by hand, skin)."""


def _read(path: Path):
    from miakit.importers.c3d import read_c3d
    from miakit.importers.opensim import read_trial

    return (read_trial if path.suffix == ".trc" else read_c3d)(path)


def _param(path: Path):
    return pytest.param(path, id=path.name)


def _length(xyz, a, b):
    with np.errstate(invalid="ignore"):
        d = np.linalg.norm(xyz[:, BODY_25.index(a)] - xyz[:, BODY_25.index(b)], axis=1)
    return float(np.nanmedian(d)) if np.isfinite(d).any() else None


@pytest.mark.skipif(not FILES, reason="../shared/data/mocap is not here")
@pytest.mark.parametrize("path", [_param(p) for p in FILES])
def test_every_file_imports_with_no_flag_and_its_joints_are_where_anatomy_puts_them(path):
    from miakit.contracts.dataset import provenance_of
    from miakit.importers.lab import anatomy_trial_joints, load_trials, parse_views

    ds, report = load_trials([path], _read, pipeline="test", views=parse_views("front"))
    info = provenance_of(ds)["trials"][0]
    rules = info["joint_rules"]
    resolved = [BODY_25.index(j) for j in rules]
    assert report.skipped == [] and ds.sizes["segment"] >= 1
    assert (ds["keypoint_score"].values[:, resolved] > 0).mean() > 0.5, "the joints found are in the picture"
    assert len(rules) >= 5 and all(r["error_mm"] > 0 and r["markers"] is not None for r in rules.values())
    assert info["vertical"]["from"] and info["body"] and info["stretches_s"]
    if not ds["muscle_present"].values.any():
        assert "keypoints only" in info["emg_note"]  # numbered or unnamed channels stay out
    trial = _read(path)
    own, _, _, _ = anatomy_trial_joints(trial, use_model=False)
    bare = {k.rsplit(":", 1)[-1]: v for k, v in trial.markers.items()}
    compared = 0
    for joint, names in MODEL_POINTS.items():
        ref = next((bare[n] for n in names if n in bare and np.isfinite(bare[n]).any()), None)
        if ref is None or joint not in own.rules:
            continue
        with np.errstate(invalid="ignore"):
            d = np.linalg.norm(own.xyz[:, BODY_25.index(joint)] - ref, axis=1)
        tolerance = 2 * (own.rules[joint]["error_mm"] + RULE_ERROR_MM["model"])
        assert np.nanmedian(d) <= tolerance, (joint, own.rules[joint]["rule"], float(np.nanmedian(d)), tolerance)
        compared += 1
    if compared:
        return
    xyz = own.xyz
    lengths = {}
    for (a, b), (lo, hi) in LENGTHS_MM.items():
        value = _length(xyz, a, b)
        if value is not None:  # the range, widened by the two joints' estimated errors
            slack = own.rules[a]["error_mm"] + own.rules[b]["error_mm"]
            assert lo - slack <= value <= hi + slack, (a, b, value, slack)
            lengths[(a, b)] = value
    for (a, b), value in lengths.items():
        if a.startswith("R") and b.startswith("R"):
            other = lengths.get(("L" + a[1:], "L" + b[1:]))
            if other is not None:  # beyond the rules' own estimated errors
                slack = sum(own.rules[j]["error_mm"] for j in (a, b, "L" + a[1:], "L" + b[1:])) / 2
                assert abs(value - other) <= SYMMETRY * (value + other) / 2 + slack, (a, b, value, other, slack)
