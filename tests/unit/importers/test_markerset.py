"""Marker-set mappings: data in a fixed vocabulary, shipped or the user's own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from miakit.contracts.dataset import provenance_of
from miakit.errors import InputError
from miakit.importers.c3d import read_c3d
from miakit.importers.lab import load_trials, parse_views, trial_joints
from miakit.importers.markerset import load_mapping, normalize_label, shipped_mappings
from miakit.layout import BODY_25


def test_labels_are_normalized():
    assert normalize_label("Subject:LASI") == "LASI"
    assert normalize_label(" r asi ") == "RASI"
    assert normalize_label("Daphnee:ACRO_tip") == "ACROTIP"


def test_shipped_mappings_load():
    names = [m.name for m in shipped_mappings()]
    assert {"plug-in-gait", "isb-anatomical", "helen-hayes", "opensim-rajagopal", "qualisys-sports"} <= set(names)
    pig = next(m for m in shipped_mappings() if m.name == "plug-in-gait")
    assert {"RASI", "LASI", "SACR", "RKNE", "RANK", "RTHI"} <= pig.markers()
    hh = next(m for m in shipped_mappings() if m.name == "helen-hayes")
    assert (
        hh.extends == "plug-in-gait"
        and list(hh.joints) == list(pig.joints)
        and hh.joints["RKnee"] == pig.joints["RKnee"]
    )
    assert (
        hh.aliases["RASI"][0] == "RASIS" and hh.joints["RShoulder"] != pig.joints["RShoulder"]
    )  # its own shoulder (no thorax markers)
    assert all(m.description for m in shipped_mappings())


def test_normalized_labels_of_other_systems():
    assert normalize_label("R.Knee.Lat") == "RKNEELAT" and normalize_label("V.Sacral") == "VSACRAL"
    assert normalize_label("Q_WaistRFront") == "QWAISTRFRONT"


def test_a_users_mapping_may_extend_a_shipped_one_with_aliases(shared_data, tmp_path):
    """A lab's own spelling of Plug-in Gait: ``extends`` and ``aliases`` only, the formulas shipped."""
    mapping = load_mapping(
        _write(
            tmp_path / "ours.yaml",
            "name: ours\nextends: plug-in-gait\naliases: {RKNE: [KNEE_RIGHT], LKNE: [Knee Left]}\n",
        )
    )
    trial = read_c3d(shared_data / "mocap" / "gaitalytics-walk.c3d")
    pig = next(m for m in shipped_mappings() if m.name == "plug-in-gait")
    reference, _, _, _ = trial_joints(trial, mapping=pig)
    trial.markers["KNEE_RIGHT"] = trial.markers.pop("RKNE")
    trial.markers["Knee Left"] = trial.markers.pop("LKNE")
    joints, used, _, _ = trial_joints(trial, mapping=mapping)
    assert used.name == "ours" and joints.aliases == {"RKNE": "KNEERIGHT", "LKNE": "KNEELEFT"}
    np.testing.assert_allclose(joints.xyz, reference.xyz, atol=1e-9)
    with pytest.raises(InputError, match="extends a mapping miakit does not ship") as err:
        load_mapping(_write(tmp_path / "bad.yaml", "extends: no-such-set\n"))
    assert "\n" not in str(err.value)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_users_mapping_is_used_and_recorded(shared_data, tmp_path):
    mapping = load_mapping(
        _write(
            tmp_path / "lab.yaml",
            """
name: our-lab
parameters: {}
joints:
  RHip: {midpoint: [RASI, SACR]}
  LHip: {midpoint: [LASI, SACR]}
  MidHip: {midpoint: [RHip, LHip]}
  RKnee: {marker: RKNE}
  LKnee: {marker: LKNE}
  RAnkle: {marker: RANK}
  LAnkle: {marker: LANK}
  Neck: {midpoint: [C7, CLAV]}
  Nose: {weighted: {RFHD: 0.5, LFHD: 0.5}}
""",
        )
    )
    walk = shared_data / "mocap" / "gaitalytics-walk.c3d"
    joints, used, markers, _ = trial_joints(read_c3d(walk), mapping=mapping)
    assert used.name == "our-lab"
    assert np.allclose(joints.xyz[:, BODY_25.index("RKnee")], markers["RKNE"], equal_nan=True)
    assert np.isnan(joints.xyz[:, BODY_25.index("RWrist")]).all()
    ds, _ = load_trials([walk], read_c3d, pipeline="import-c3d", views=parse_views("front"), mapping=mapping)
    trial = provenance_of(ds)["trials"][0]
    assert (
        trial["mapping"] == "our-lab"
        and trial["mapping_source"] == str(tmp_path / "lab.yaml")
        and len(trial["mapping_sha256"]) == 64
    )
    assert provenance_of(ds)["parameters"]["mapping"]["sha256"] == trial["mapping_sha256"]


@pytest.mark.parametrize(
    "text, problem",
    [
        ("joints:\n  RHip: {python: os.system}\n", "unknown formula"),
        ("joints:\n  Knee: {marker: RKNE}\n", "unknown joint"),
        ("joints:\n  MidHip: {midpoint: [RHip, LHip]}\n", "a joint used before it is defined"),
        ("joints: [1, 2]\n", "not a marker-set mapping"),
        ("joints: {RHip: {marker: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_mappings_are_refused_with_one_line(tmp_path, text, problem):
    with pytest.raises(InputError, match=problem) as err:
        load_mapping(_write(tmp_path / "m.yaml", text))
    assert str(err.value).startswith(str(tmp_path / "m.yaml")) and "\n" not in str(err.value)


def test_weights_must_sum_to_one(shared_data, tmp_path):
    mapping = load_mapping(
        _write(
            tmp_path / "w.yaml",
            "joints:\n  Nose: {weighted: {RFHD: 0.7, LFHD: 0.7}}\n  RKnee: {marker: RKNE}\n "
            " LKnee: {marker: LKNE}\n  RAnkle: {marker: RANK}\n  LAnkle: {marker: LANK}\n",
        )
    )
    with pytest.raises(InputError, match="weights must sum to 1"):
        trial_joints(read_c3d(shared_data / "mocap" / "gaitalytics-walk.c3d"), mapping=mapping)


def test_isb_cast_labels_give_the_same_joint_centres(shared_data):
    """The walk relabelled as an ISB / CAST lab would mark it: the medial landmarks are the lateral
    markers mirrored through Plug-in Gait's own joint centres, so the midpoints must be those."""
    trial = read_c3d(shared_data / "mocap" / "gaitalytics-walk.c3d")
    m = trial.markers
    cast = {"Lab:R_ASIS": m["RASI"], "Lab:L_ASIS": m["LASI"], "Lab:R_PSIS": m["SACR"], "Lab:L_PSIS": m["SACR"]}
    for s in ("R", "L"):
        cast[f"Lab:{s}_FLE"], cast[f"Lab:{s}_FME"] = m[f"{s}KNE"], 2 * m[f"{s}FEO"] - m[f"{s}KNE"]
        cast[f"Lab:{s}_FAL"], cast[f"Lab:{s}_TAM"] = m[f"{s}ANK"], 2 * m[f"{s}TIO"] - m[f"{s}ANK"]
        cast[f"Lab:{s}_FCC"], cast[f"Lab:{s}_FM1"] = m[f"{s}HEE"], m[f"{s}TOE"]
    pig, _, _, _ = trial_joints(trial)
    trial.markers = cast
    joints, mapping, markers, _ = trial_joints(trial)
    assert mapping.name == "anatomy"  # read by anatomy: no table of ISB spellings needed
    for joint, ref in (("RKnee", "RFEO"), ("LKnee", "LFEO"), ("RAnkle", "RTIO"), ("LAnkle", "LTIO")):
        assert np.allclose(joints.xyz[:, BODY_25.index(joint)], m[ref], atol=1e-6, equal_nan=True), joint
    for joint in ("RHip", "LHip", "RHeel", "LBigToe"):
        assert np.allclose(joints.xyz[:, BODY_25.index(joint)], pig.xyz[:, BODY_25.index(joint)], atol=1e-6), joint
