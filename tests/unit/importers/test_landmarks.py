"""Labels read by anatomy: the spellings the issue lists, each in a convention of its own."""

from __future__ import annotations

import pytest

from miakit.importers.landmarks import parse_label, read_landmarks

CASES = [  # label, side, landmark, index
    ("Matt:RSHO", "R", "acromion", None),
    ("BodyL:AcromionL", "L", "acromion", None),
    ("R.Shoulder", "R", "acromion", None),
    ("L_SH", "L", "acromion", None),
    ("R_FLE", "R", "knee_lateral", None),
    ("Right_Knee_Medial", "R", "knee_medial", None),
    ("R_lateral_femoral_epicondyle", "R", "knee_lateral", None),
    ("L_HME", "L", "elbow_medial", None),
    ("r_elbow_lateral", "R", "elbow_lateral", None),
    ("R_RSP", "R", "wrist_radial", None),
    ("L_UHE", "L", "wrist_ulnar", None),
    ("RWRI", "R", "wrist", None),
    ("Lt.Wrist", "L", "wrist", None),
    ("ASISr", "R", "asis", None),
    ("left_ASIS", "L", "asis", None),
    ("L_IAS", "L", "asis", None),
    ("RPSI", "R", "psis", None),
    ("VSAC", "", "sacrum", None),
    ("S1", "", "sacrum", None),
    ("SACR", "", "sacrum", None),
    ("R.Ankle", "R", "ankle_lateral", None),
    ("RMED", "R", "ankle_medial", None),
    ("l medial malleolus", "L", "ankle_medial", None),
    ("R_FCC", "R", "heel", None),
    ("Rt.Heel", "R", "heel", None),
    ("R_MT_1", "R", "mt1", None),
    ("LMT5", "L", "mt5", None),
    ("RP1MT", "R", "mt1", None),
    ("L.Toe", "L", "toe", None),
    ("LTRO", "L", "trochanter", None),
    ("CV7", "", "c7", None),
    ("STRN", "", "sternum_bottom", None),
    ("R_THIGH_1", "R", "thigh_cluster", 1),
    ("R.SH3", "R", "shank_cluster", 3),
    ("L.Ant.Fem.", "L", "thigh_cluster", None),
    ("ArmL:Marker2", "L", "arm_cluster", 2),
    ("r knee 1", "R", "knee_lateral", 1),
    ("RKneeJC", "R", "knee_jc", None),
    ("LHJC_CGM_2.4", "L", "hip_jc", None),
    ("LFEMUR_CGM_2.4O", "L", "knee_jc", None),
    ("RFEO", "R", "knee_jc", None),
]


@pytest.mark.parametrize("label,side,landmark,index", CASES, ids=[c[0] for c in CASES])
def test_a_label_is_read_as_side_landmark_and_index(label, side, landmark, index):
    read = parse_label(label)
    assert (read.side, read.landmark, read.index) == (side, landmark, index)


def test_unknown_labels_are_reported_not_fatal():
    import numpy as np

    x = np.zeros((3, 3))
    lm = read_landmarks({"RASI": x, "boite:gauche_ext": x, "Sync": x, "LFEMUR_CGM_2.4A": x})
    assert lm.unknown == ["boite:gauche_ext", "Sync", "LFEMUR_CGM_2.4A"] and lm.get("R", "asis") is not None
