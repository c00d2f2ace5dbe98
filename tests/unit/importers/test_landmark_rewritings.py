"""The shared walk rewritten in the classes of variation other labs show, read by anatomy.

Built from ``gaitalytics-walk.c3d`` at run time (no file is tuned to): its markers relabelled into
each labelling convention, markers removed, clusters in place of anatomical markers, the body seen in
30-60 % of the capture, a label written twice (the model's joint centre under the marker's name).
Each is compared with the walk's own joints computed from its markers (the model outputs ignored).
"""

from __future__ import annotations

import numpy as np
import pytest

from miakit.importers.joint_centres import RULE_ERROR_MM
from miakit.importers.lab import anatomy_trial_joints, trial_joints, trial_segments
from miakit.layout import BODY_25

pytest.importorskip("ezc3d")

WALK = "mocap/gaitalytics-walk.c3d"
# The walk's anatomical and technical markers as words: (side, words)
WORDS = {
    "SACR": ("", ["Sacrum"]),
    "C7": ("", ["C7"]),
    "T10": ("", ["T10"]),
    "CLAV": ("", ["Clav"]),
    "STRN": ("", ["Sternum"]),
}
for _s in "RL":
    WORDS |= {
        f"{_s}ASI": (_s, ["ASIS"]),
        f"{_s}THI": (_s, ["Thigh"]),
        f"{_s}KNE": (_s, ["Knee"]),
        f"{_s}TIB": (_s, ["Shank"]),
        f"{_s}ANK": (_s, ["Ankle"]),
        f"{_s}HEE": (_s, ["Heel"]),
        f"{_s}TOE": (_s, ["Toe"]),
        f"{_s}SHO": (_s, ["Shoulder"]),
    }
SIDE = {"R": ("R", "Right", "Rt", "r", "right"), "L": ("L", "Left", "Lt", "l", "left"), "": ("",) * 5}
CONVENTIONS = {  # name -> (side, words) -> label
    "fused capitals (RKNEE)": lambda s, w: SIDE[s][0] * bool(s) + "".join(w).upper(),
    "R_ prefix (R_Knee)": lambda s, w: (SIDE[s][0] + "_") * bool(s) + "_".join(w),
    "_r suffix (knee_r)": lambda s, w: "_".join(w).lower() + ("_" + SIDE[s][3]) * bool(s),
    "lower case, spaces (r knee)": lambda s, w: (SIDE[s][3] + " ") * bool(s) + " ".join(w).lower(),
    "Right/Left words (Right_Knee)": lambda s, w: (SIDE[s][1] + "_") * bool(s) + "_".join(w),
    "Rt. abbreviation (Rt.Knee)": lambda s, w: (SIDE[s][2] + ".") * bool(s) + ".".join(w),
    "CamelCase, side last (KneeRight)": lambda s, w: "".join(w) + SIDE[s][1] * bool(s),
    "suffix after capitals (KNEEr)": lambda s, w: "".join(w).upper() + SIDE[s][3] * bool(s),
    "subject prefix (Subj:RKNEE)": lambda s, w: "Subj:" + SIDE[s][0] * bool(s) + "".join(w).upper(),
    "segment prefix (BodyR:KneeR)": lambda s, w: f"Body{SIDE[s][0] if s else ''}:" + "".join(w) + SIDE[s][0] * bool(s),
}
LEGS = ("RHip", "LHip", "MidHip", "RKnee", "LKnee", "RAnkle", "LAnkle", "RHeel", "LHeel", "RBigToe", "LBigToe")
COMPARED = (*LEGS, "RShoulder", "LShoulder", "Neck")


@pytest.fixture(scope="module")
def walk(shared_data):
    from miakit.importers.c3d import read_c3d

    trial = read_c3d(shared_data / WALK)
    trial.markers = {k: v for k, v in trial.markers.items() if k in WORDS}
    joints, _, _, _ = anatomy_trial_joints(trial, use_model=False)
    return trial, joints


def _copy(trial, markers):
    from dataclasses import replace

    return replace(trial, markers=markers)


def _joint(joints, name):
    return joints.xyz[:, BODY_25.index(name)]


@pytest.mark.parametrize("convention", list(CONVENTIONS))
def test_labels_in_any_convention_give_the_same_joints(walk, convention):
    trial, reference = walk
    rename = CONVENTIONS[convention]
    relabelled = {rename(*WORDS[k]): v for k, v in trial.markers.items()}
    assert len(relabelled) == len(trial.markers)
    joints, mapping, _, _ = trial_joints(_copy(trial, relabelled))
    assert mapping.name == "anatomy" and joints.unknown == [], joints.unknown
    for name in COMPARED:
        assert reference.rules[name]["rule"] == joints.rules[name]["rule"], name
        np.testing.assert_allclose(_joint(joints, name), _joint(reference, name), atol=1e-6, err_msg=name)


def test_removed_markers_fall_to_the_next_rule_or_are_missing_with_a_reason(walk):
    trial, reference = walk
    no_wands = {k: v for k, v in trial.markers.items() if k not in ("RTHI", "LTHI", "RTIB", "LTIB")}
    joints, _, _, _ = trial_joints(_copy(trial, no_wands))
    for name in ("RKnee", "LKnee", "RAnkle", "LAnkle"):
        assert joints.rules[name]["rule"] == "medial offset" and joints.rules[name]["error_mm"] > 15
        err = np.nanmedian(np.linalg.norm(_joint(joints, name) - _joint(reference, name), axis=1))
        assert err <= RULE_ERROR_MM["medial offset"] + RULE_ERROR_MM["chord"], (name, err)
    legs_only = {k: v for k, v in trial.markers.items() if not k.endswith(("SHO", "C7", "CLAV", "STRN", "T10"))}
    result = trial_segments(_copy(trial, legs_only), views=[("front", 0.0)], emg_params=_emg())
    assert result.info["body"] == "legs only (no arms, no head)"
    assert "acromion" in result.info["joints_missing"]["RShoulder"]
    assert np.isnan(result.segments[0].keypoints[:, BODY_25.index("RShoulder")]).all()
    assert result.present.sum() == 4, "the walk's EMG (quadriceps and hamstrings) still imports"
    unknown = {f"M{i}": v for i, v in enumerate(trial.markers.values())}
    from miakit.errors import InputError

    with pytest.raises(InputError, match="labels not understood: M0, M1") as err:
        trial_joints(_copy(trial, unknown))
    assert "\n" not in str(err.value) and "--mapping" in str(err.value)


def _frame_of(a, b, c):
    e1 = (b - a) / np.linalg.norm(b - a, axis=1, keepdims=True)
    e3 = np.cross(b - a, c - a)
    e3 /= np.linalg.norm(e3, axis=1, keepdims=True)
    return np.stack([e1, np.cross(e3, e1), e3], axis=-1)


def _cluster(origin, rot, offsets):
    return [origin + np.einsum("fij,j->fi", rot, np.asarray(o, float)) for o in offsets]


def test_clusters_carry_landmarks_and_locate_joints_without_them(walk):
    """A cluster of four on each thigh (fixed in the frame of hip, knee centre and knee marker) and on
    each shank: the knee marker seen only in the first 30 % of frames is carried rigidly through the
    rest; with no knee or ankle markers at all, the functional centre of thigh and shank clusters."""
    trial, reference = walk
    offsets = [(80, 60, 0), (200, 70, 10), (140, 90, 60), (250, 50, 50)]
    markers = dict(trial.markers)
    for s in "RL":
        hip, knee, ankle = (_joint(reference, f"{s}{j}") for j in ("Hip", "Knee", "Ankle"))
        thigh = _cluster(knee, _frame_of(knee, hip, trial.markers[f"{s}KNE"]), offsets)
        shank = _cluster(ankle, _frame_of(ankle, knee, trial.markers[f"{s}ANK"]), offsets)
        for i, (a, b) in enumerate(zip(thigh, shank)):
            markers[f"{s}_THIGH_{i + 1}"], markers[f"{s}_SHANK_{i + 1}"] = a, b
    seen = {k: v.copy() for k, v in markers.items() if not k.endswith(("THI", "TIB"))}
    n = len(seen["RKNE"])
    for s in "RL":
        seen[f"{s}KNE"][int(0.3 * n) :] = np.nan
    joints, _, _, _ = trial_joints(_copy(trial, seen))
    assert joints.filled["RKNE"] >= 0.6 * n
    for name in ("RKnee", "LKnee"):
        err = np.nanmax(np.linalg.norm(_joint(joints, name) - _joint(reference, name), axis=1))
        assert err < 25.0, (name, err)  # the chord was the reference; a medial offset now
    clusters_only = {k: v for k, v in markers.items() if not k.endswith(("KNE", "ANK", "THI", "TIB"))}
    joints, _, _, _ = trial_joints(_copy(trial, clusters_only))
    for name in ("RKnee", "LKnee"):
        rule = joints.rules[name]
        assert rule["rule"] == "functional", rule
        err = np.nanmedian(np.linalg.norm(_joint(joints, name) - _joint(reference, name), axis=1))
        assert err <= 2 * rule["error_mm"], (name, err, rule["error_mm"])


@pytest.mark.parametrize("present", [0.3, 0.45, 0.6])
def test_a_body_seen_in_part_of_the_capture_imports_its_stretches(walk, present):
    from dataclasses import replace

    trial, reference = walk
    trial = replace(  # three times the walk (10 s), so that several stretches fit
        trial,
        markers={k: np.concatenate([v] * 3) for k, v in trial.markers.items()},
        analogs={k: np.concatenate([v] * 3) for k, v in trial.analogs.items()},
        events=[],
    )
    n = len(trial.markers["RKNE"])
    block = int(1.2 * trial.marker_rate_hz)  # seen and unseen in turns, the seen share ``present``
    seen = np.zeros(n, bool)
    period = int(block / present)
    for start in range(0, n, period):
        seen[start : start + block] = True
    markers = {k: np.where(seen[:, None], v, np.nan) for k, v in trial.markers.items()}
    result = trial_segments(_copy(trial, markers), views=[("front", 0.0)], emg_params=_emg())
    stretches = result.info["stretches_s"]
    assert len(result.segments) == len(stretches) >= 2 and result.info["gaps_left_out_s"] > 0
    kept = sum(s.length for s in result.segments) / 10.0
    assert abs(kept - seen.sum() / trial.marker_rate_hz) < 0.3 * len(stretches) + 0.2
    for seg in result.segments:
        assert (seg.keypoint_score.sum(axis=1) >= 5).mean() > 0.9


def test_a_repeated_label_holding_the_models_joint_centre_is_used_as_it(shared_data, tmp_path):
    """A C3D whose knee centre (Plug-in Gait's RFEO) is stored as a second ``RKNE``."""
    import ezc3d

    from miakit.importers.c3d import read_c3d

    c3d = ezc3d.c3d(str(shared_data / WALK))
    labels = list(c3d["parameters"]["POINT"]["LABELS"]["value"])
    labels[labels.index("RFEO")] = "RKNE"
    c3d["parameters"]["POINT"]["LABELS"]["value"] = labels
    c3d.write(str(tmp_path / "repeated.c3d"))
    trial = read_c3d(tmp_path / "repeated.c3d")
    assert "RKNE" in trial.markers and "RKNE#2" in trial.markers
    joints, _, _, _ = trial_joints(trial)
    original = read_c3d(shared_data / WALK)
    assert joints.rules["RKnee"]["rule"] == "model"
    np.testing.assert_allclose(_joint(joints, "RKnee"), original.markers["RFEO"], atol=1e-3)
    assert joints.rules["LKnee"]["markers"] == ["LFEO"]


def _emg():
    from miakit.stages.emg import RawEmgParams

    return RawEmgParams()


def test_the_vertical_from_what_is_there(walk):
    """Feet alone say nothing by their order: the file's POINT:Y_SCREEN, else its force plates, else
    the floor plane the feet rest on, each pointing toward the body."""
    from dataclasses import replace

    from miakit.errors import InputError
    from miakit.importers.lab import find_vertical

    trial, reference = walk
    xyz = np.full_like(reference.xyz, np.nan)
    feet = [BODY_25.index(j) for j in ("RHeel", "LHeel", "RBigToe", "LBigToe")]
    xyz[:, feet] = reference.xyz[:, feet]
    up, how = find_vertical(xyz, "walk", replace(trial, axes={"Y_SCREEN": "+Z"}))
    assert up.tolist() == [0, 0, 1] and "Y_SCREEN" in how
    plate = np.array([[0, 0, 0], [600, 0, 0], [600, 400, 0], [0, 400, 0]], float)
    up, how = find_vertical(xyz, "walk", replace(trial, axes={}, plate_corners=[plate[::-1]]))
    assert up.tolist() == [0, 0, 1] and "plates" in how  # the corners' order says nothing of the sign
    up, how = find_vertical(xyz, "walk", replace(trial, axes={}, plate_corners=[]))
    assert up.tolist() == [0, 0, 1] and "feet rest" in how
    with pytest.raises(InputError, match="cannot find the vertical"):
        find_vertical(np.full_like(xyz, np.nan), "walk", replace(trial, axes={}, plate_corners=[]))
