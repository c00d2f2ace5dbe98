"""Physics-grounded muscle labels (OpenSim static optimization): a known load, synthetic and real motion."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from miakit.layout import MUSCLES

pytest.importorskip("opensim")

from miakit.body import physics

G = 9.81


@pytest.fixture(scope="module")
def arm(shared_data):  # the models come with the real recordings (miakit.sample_data's models/)
    return physics.load_limb("arm")


def test_a_missing_model_is_a_one_line_input_error(tmp_path):
    from miakit.errors import InputError

    with pytest.raises(InputError, match="no such OpenSim model"):
        physics.load_limb("leg", str(tmp_path))


def test_a_weight_held_in_the_hand_works_the_biceps_with_its_moment_and_not_the_triceps(arm):
    # upper arm hanging, the elbow flexing 0 -> 120 degrees with 5 kg in the hand 0.3 m from the elbow
    elbow = np.linspace(0.0, 120.0, 61)
    q = np.stack([np.zeros_like(elbow), elbow], axis=-1)
    moment = (1.5 * 0.15 + 5.0 * 0.3) * G * np.sin(np.radians(elbow))
    act = physics.static_optimization(arm, q, np.stack([np.zeros_like(moment), moment], axis=-1))
    biceps = act[:, [arm.names.index(n) for n in physics.SENSOR_MUSCLES["Bicep"]]].mean(axis=1)
    triceps = act[:, [arm.names.index(n) for n in physics.SENSOR_MUSCLES["Tricep"]]].mean(axis=1)
    assert np.all(np.isfinite(act)) and act.min() >= 0.0 and act.max() <= 1.0
    assert np.corrcoef(biceps, moment)[0, 1] > 0.9
    assert biceps[elbow == 90.0][0] > 0.1 > biceps[0] + 0.05  # 15 N m needs real work, none at a straight arm
    assert triceps.max() < 0.02


def test_labels_of_synthetic_motion_are_finite_and_in_unit_range(arm):
    from miakit.body.motion import Motion
    from miakit.body.subjects import make_subject

    t = np.arange(0.0, 6.0, 1 / 30)
    act = physics.physics_activation(Motion("squat", make_subject(0)).kinematics(t))
    assert act.shape == (len(t), len(MUSCLES))
    assert np.all(np.isfinite(act)) and act.min() >= 0.0 and act.max() <= 1.0
    quad, ham = MUSCLES.index("RightQuad"), MUSCLES.index("RightHamstring")
    assert act[:, quad].max() > 0.05  # a squat lowers and lifts the body on the knee extensors
    assert act[:, quad].mean() > act[:, ham].mean()


def test_the_real_box_lift_works_the_biceps_while_the_arm_reaches_up(arm, shared_data):
    from miakit.body.motion import kinematics_from_points
    from miakit.importers.lab import world_joints
    from miakit.synth.mocap import read_lab_trial

    t, joints = world_joints(read_lab_trial(shared_data / "mocap" / "pyomeca-box-lift.c3d"))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the legs and left arm have no markers
        act = physics.physics_activation(kinematics_from_points(t, joints))
    biceps, triceps = act[:, MUSCLES.index("RightBicep")], act[:, MUSCLES.index("RightTricep")]
    assert np.all(np.isfinite(biceps)) and np.all((biceps >= 0) & (biceps <= 1))
    reach = (t >= 1.2) & (t <= 1.8)  # the arm raised to the upper shelf (shoulder about 90 degrees)
    assert biceps[reach].mean() > 0.02
    assert biceps[reach].mean() > triceps[reach].mean()
