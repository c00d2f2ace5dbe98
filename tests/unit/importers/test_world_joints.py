"""A lab trial's joint centres in miakit's world frame, as the synthetic muscle model reads them."""

from __future__ import annotations

import numpy as np
import pytest

from miakit.importers.c3d import read_c3d
from miakit.importers.lab import world_joints
from miakit.layout import KP

pytest.importorskip("ezc3d")


def test_the_walk_is_upright_faces_forward_and_has_its_left_on_plus_x(shared_data):
    trial = read_c3d(shared_data / "mocap" / "gaitalytics-walk.c3d")
    t, J = world_joints(trial)
    assert J.shape == (len(t), 25, 3) and np.isclose(t[1] - t[0], 1 / trial.marker_rate_hz)
    assert np.nanmin(J[:, KP["Neck"], 1] - J[:, KP["MidHip"], 1]) > 0.3  # y up, metres
    assert np.nanmin(J[:, KP["LHip"], 0] - J[:, KP["RHip"], 0]) > 0.1  # x to the subject's left
    pelvis = J[:, KP["MidHip"]]
    assert pelvis[-1, 2] - pelvis[0, 2] > 1.5 * abs(pelvis[-1, 0] - pelvis[0, 0])  # walking along +z, the way it faces
    heel_above_floor = J[:, KP["LHeel"], 1] - np.nanmin(J[:, [KP["LHeel"], KP["RHeel"]], 1])
    assert np.nanmax(heel_above_floor) < 0.4


def test_joints_the_markers_do_not_give_stay_missing(shared_data):
    _, J = world_joints(read_c3d(shared_data / "mocap" / "pyomeca-box-lift.c3d"))
    assert np.isfinite(J[:, [KP["RShoulder"], KP["RElbow"], KP["RWrist"]]]).all()
    assert np.isnan(J[:, [KP["LKnee"], KP["RAnkle"]]]).all()
