"""Physiology conformance: miakit's muscle model driven by REAL motion capture.

The two shared C3D trials (overground walking with Plug-in Gait joint centres, a box lift with
the right arm) drive :func:`miakit.synth.activation.activation` through
:func:`miakit.synth.motion.kinematics_from_points`; the timing must be what physiology and the
trials' own EMG show (``../shared/data/README.md``): quadriceps in the loading response (peak in
0-20% of each gait cycle from the file's heel strikes), hamstrings from terminal swing to heel
strike (about 88-100% and 0-10%), and the synthetic envelopes must follow the measured ones.
"""

from __future__ import annotations

import numpy as np
import pytest
from mocap_reader import cycles, measured, peak_places, pearson, read_trial, synthetic

from miakit.layout import MUSCLES


@pytest.fixture(scope="module")
def walk(shared_data):
    trial = read_trial(shared_data / "mocap" / "gaitalytics-walk.c3d")
    return trial, synthetic(trial)


@pytest.fixture(scope="module")
def lift(shared_data):
    trial = read_trial(shared_data / "mocap" / "pyomeca-box-lift.c3d")
    return trial, synthetic(trial)


def _in_terminal_swing_or_heel_strike(place: float) -> bool:
    return place >= 88.0 or place <= 10.0


def test_the_trial_itself_shows_the_physiology(walk):
    """The reader, the cycles and the envelopes are right: the measured EMG peaks where the README says."""
    trial, _ = walk
    for side in "LR":
        assert len(cycles(trial, side)) == 2
        assert all(0 <= p <= 20 for p in peak_places(trial, measured(trial, side, "Quad"), side))
        assert all(map(_in_terminal_swing_or_heel_strike, peak_places(trial, measured(trial, side, "Hamstring"), side)))


@pytest.mark.parametrize("side", ["L", "R"])
def test_quadriceps_peak_in_the_loading_response(walk, side):
    trial, act = walk
    name = {"L": "Left", "R": "Right"}[side]
    places = peak_places(trial, act[:, MUSCLES.index(f"{name}Quad")], side)
    assert places and all(0 <= p <= 20 for p in places), places


@pytest.mark.parametrize("side", ["L", "R"])
def test_hamstrings_peak_from_terminal_swing_to_heel_strike(walk, side):
    trial, act = walk
    name = {"L": "Left", "R": "Right"}[side]
    places = peak_places(trial, act[:, MUSCLES.index(f"{name}Hamstring")], side)
    assert places and all(map(_in_terminal_swing_or_heel_strike, places)), places


def test_walking_envelopes_follow_the_measured_emg(walk):
    """Pearson r of each synthetic leg muscle with the measured envelope of the same muscle
    (quadriceps: rectus femoris and vastus lateralis; hamstrings: semitendinosus and biceps
    femoris) over the full gait cycles. Measured: 0.29, 0.45, 0.72, 0.69 (L/R quad, L/R ham)."""
    trial, act = walk
    rs = {}
    for side, name in (("L", "Left"), ("R", "Right")):
        first, last = cycles(trial, side)[0][0], cycles(trial, side)[-1][1]
        span = (trial.t >= first) & (trial.t <= last)
        for muscle in ("Quad", "Hamstring"):
            rs[name + muscle] = pearson(act[span, MUSCLES.index(name + muscle)], measured(trial, side, muscle)[span])
    assert min(rs.values()) > 0.15 and float(np.median(list(rs.values()))) > 0.4, rs


def test_the_quadriceps_burst_is_not_in_late_swing(walk):
    """The failure the conformance tests were written for: driven by real walking, the model put
    the quadriceps burst at 77-81% of the cycle (late swing, the shank swinging forward on its own)."""
    trial, act = walk
    for side, name in (("L", "Left"), ("R", "Right")):
        q = act[:, MUSCLES.index(f"{name}Quad")]
        for a, b in cycles(trial, side):
            phase = (trial.t - a) / (b - a)
            loading, late_swing = (phase >= 0) & (phase < 0.2), (phase >= 0.7) & (phase < 0.9)
            assert q[loading].max() > 1.5 * q[late_swing].max()


def test_biceps_bursts_while_the_arm_lifts(lift):
    """Box lift: the synthetic right biceps follows the measured biceps (r > 0.2; measured 0.32) and
    is higher while the elbow flexes to lift (the measured burst at 0.4-0.7 s) than at rest."""
    trial, act = lift
    bic = act[:, MUSCLES.index("RightBicep")]
    assert pearson(bic, trial.emg["Biceps.EMG4"]) > 0.2
    rest, reach = trial.t < 0.3, (trial.t > 0.4) & (trial.t < 0.7)
    assert bic[reach].mean() > 1.5 * bic[rest].mean()


# -- the same model on miakit's own locomotion exercises -----------------------------------------
def _peaks_per_cycle(exercise: str, muscle: str, subject: int = 1) -> list[float]:
    """Where ``muscle`` peaks in each cycle of a synthetic exercise (percent from the right heel
    strike), the electromechanical delay applied, cycles after the first second."""
    from miakit.synth import make_subject
    from miakit.synth.activation import activation
    from miakit.synth.motion import Motion

    motion = Motion(exercise, make_subject(subject), seed=0, start_s=0.5)
    t = np.arange(0.0, 14.0, 0.01)
    act = activation(motion.kinematics(t))[:, MUSCLES.index(muscle)]
    act = np.interp(t + motion.subject.emd_s, t, act)
    cycle, r, before = motion.position(t)
    places = []
    for c in np.unique(cycle[~before & (t > 1.5) & (t < 13.0)]):
        inside = (cycle == c) & ~before
        if inside.sum() > 50:
            places.append(100.0 * r[inside][np.argmax(act[inside])] / motion.period_s / motion.tempo)
    return places


def test_synthetic_walking_has_the_hamstrings_at_heel_strike_and_the_quadriceps_in_stance():
    hams = _peaks_per_cycle("walking", "RightHamstring")
    quads = _peaks_per_cycle("walking", "RightQuad")
    assert np.mean([_in_terminal_swing_or_heel_strike(p) for p in hams]) >= 0.75, hams
    assert quads and all(p <= 20 for p in quads), quads  # the loading response, every cycle


def test_synthetic_stair_ascent_pulls_up_with_the_quadriceps_early_in_stance():
    quads = _peaks_per_cycle("stair_ascent", "RightQuad")
    assert quads and all(p <= 30 for p in quads), quads


def test_sit_to_stand_works_the_quadriceps_while_rising_not_while_seated():
    from miakit.synth import make_subject
    from miakit.synth.activation import activation
    from miakit.synth.motion import Motion

    motion = Motion("sit_to_stand", make_subject(0), seed=0, start_s=0.5)
    t = np.arange(0.0, 12.0, 0.01)
    q = activation(motion.kinematics(t))[:, MUSCLES.index("LeftQuad")]
    _, r, before = motion.position(t)
    keys = motion.definition.keys
    sit_end = keys[0].move_s + keys[0].hold_s
    seated = ~before & (r > keys[0].move_s + 0.2) & (r < sit_end)
    rising = ~before & (r > sit_end) & (r < sit_end + keys[1].move_s + keys[2].move_s)
    assert q[rising].max() > 2.0 * q[seated].mean()


@pytest.mark.parametrize("exercise", ["walking", "stair_ascent", "stair_descent", "sit_to_stand"])
def test_locomotion_sessions_simulate_in_frame(exercise):
    from miakit.synth import make_subject, simulate

    sim = simulate(make_subject(0), exercise, seed=0, duration_s=8.0)
    assert (sim.keypoints[..., 2] > 0).mean() > 0.99
    assert np.isfinite(sim.truth).all() and sim.truth.mean() > 5
