"""Physiology conformance: miakit's muscle model driven by REAL motion capture.

The two shared C3D trials (overground walking with Plug-in Gait markers, a box lift with the right
arm) are imported as ``miakit import c3d`` does (10 Hz, their EMG conditioned as for any lab
trial); :func:`miakit.bench.real.muscle_model_predictions` drives
:func:`miakit.body.activation.activation` with each trial's 3D joint centres
(:func:`miakit.importers.lab.world_joints`), and :func:`miakit.bench.real.score_segments` scores
it as ``miakit bench real`` scores a model. The timing must be what physiology and the trials' own
EMG show (``../shared/data/README.md``): quadriceps in the loading response (peak in 0-20% of each
gait cycle from the file's heel strikes), hamstrings from terminal swing to heel strike (about
88-100% and 0-10%), and the synthetic envelopes must follow the measured ones.
"""

from __future__ import annotations

import numpy as np
import pytest

from miakit.layout import MUSCLES

FILES = ("gaitalytics-walk.c3d", "pyomeca-box-lift.c3d")


@pytest.fixture(scope="module")
def scored(shared_data, tmp_path_factory):
    """(store, units, cycles, model predictions per segment) of the two trials, front view."""
    import miakit
    from miakit.bench.real import muscle_model_predictions, score_segments
    from miakit.importers.c3d import import_c3d
    from miakit.importers.lab import parse_views

    out = tmp_path_factory.mktemp("physiology")
    files = [shared_data / "mocap" / f for f in FILES]
    import_c3d(files, out / "real.zarr", catalog=out / "catalog.yaml", views=parse_views("front"), side="right")
    ds = miakit.open_dataset(out / "real.zarr", catalog=out / "catalog.yaml")
    predictions = muscle_model_predictions(ds, files)
    units, cycles, _ = score_segments(ds, None, predictions=predictions, surrogates=20)
    return ds, units.set_index("muscle"), cycles, predictions


def _places(cycles, muscle: str, column: str) -> list[float]:
    return cycles[cycles["muscle"] == muscle][column].tolist()


def _in_terminal_swing_or_heel_strike(place: float) -> bool:
    return place >= 88.0 or place <= 10.0


def test_the_trial_itself_shows_the_physiology(scored):
    """The import, the cycles and the envelopes are right: the measured EMG peaks where the README says."""
    _, _, cycles, _ = scored
    for side in ("Left", "Right"):
        quads = _places(cycles, f"{side}Quad", "measured_peak_pct")
        assert len(quads) == 2 and all(0 <= p <= 20 for p in quads), quads
        assert all(map(_in_terminal_swing_or_heel_strike, _places(cycles, f"{side}Hamstring", "measured_peak_pct")))


@pytest.mark.parametrize("side", ["Left", "Right"])
def test_quadriceps_peak_in_the_loading_response(scored, side):
    places = _places(scored[2], f"{side}Quad", "predicted_peak_pct")
    assert places and all(0 <= p <= 20 for p in places), places


@pytest.mark.parametrize("side", ["Left", "Right"])
def test_hamstrings_peak_from_terminal_swing_to_heel_strike(scored, side):
    places = _places(scored[2], f"{side}Hamstring", "predicted_peak_pct")
    assert places and all(map(_in_terminal_swing_or_heel_strike, places)), places


def test_walking_envelopes_follow_the_measured_emg(scored):
    """Pearson r of each synthetic leg muscle with the measured envelope of the same muscle
    (quadriceps: rectus femoris and vastus lateralis; hamstrings: semitendinosus and biceps
    femoris), and against the other side's. Measured: 0.51, 0.72, 0.46, 0.75 (L/R quad, L/R ham)."""
    units = scored[1]
    legs = units.loc[["LeftQuad", "RightQuad", "LeftHamstring", "RightHamstring"]]
    assert legs["r"].min() > 0.15 and legs["r"].median() > 0.4, legs["r"].to_dict()
    assert legs["own_beats_other_side"].all(), legs[["r", "r_other_side"]]


def test_the_quadriceps_burst_is_not_in_late_swing(scored):
    """The failure the conformance tests were written for: driven by real walking, the model put
    the quadriceps burst at 77-81% of the cycle (late swing, the shank swinging forward on its own)."""
    from miakit.bench.real import strikes_of

    ds, _, _, predictions = scored
    walk = int(np.flatnonzero(np.asarray(ds["segment_session"].values).astype(str) == "gaitalytics-walk")[0])
    start, n = int(ds["segment_start"].values[walk]), int(ds["segment_length"].values[walk])
    t = np.asarray(ds["time"].values[start : start + n], dtype=np.float64)
    for side in ("Left", "Right"):
        q = predictions[walk][:, MUSCLES.index(f"{side}Quad")]
        strikes = strikes_of(ds, walk, side.lower())
        assert len(strikes) >= 2
        for a, b in zip(strikes[:-1], strikes[1:]):
            phase = (t - a) / (b - a)
            loading, late_swing = (phase >= 0) & (phase < 0.2), (phase >= 0.7) & (phase < 0.9)
            assert q[loading].max() > 1.5 * q[late_swing].max()


def test_biceps_bursts_while_the_arm_lifts(scored):
    """Box lift: the synthetic right biceps follows the measured biceps (r > 0.2; measured 0.31) and
    is higher while the elbow flexes to lift (the measured burst at 0.4-0.7 s) than at rest."""
    ds, units, _, predictions = scored
    assert units.loc["RightBicep", "r"] > 0.2
    lift = int(np.flatnonzero(np.asarray(ds["segment_session"].values).astype(str) == "pyomeca-box-lift")[0])
    start, n = int(ds["segment_start"].values[lift]), int(ds["segment_length"].values[lift])
    t = np.asarray(ds["time"].values[start : start + n], dtype=np.float64)
    bic = predictions[lift][:, MUSCLES.index("RightBicep")]
    rest, reach = t < 0.3, (t > 0.35) & (t < 0.75)
    assert bic[reach].mean() > 1.5 * bic[rest].mean()


# -- the same model on miakit's own locomotion exercises -----------------------------------------
def _peaks_per_cycle(exercise: str, muscle: str, subject: int = 1) -> list[float]:
    """Where ``muscle`` peaks in each cycle of a synthetic exercise (percent from the right heel
    strike), the electromechanical delay applied, cycles after the first second."""
    from miakit.body.activation import activation
    from miakit.body.motion import Motion
    from miakit.body.subjects import make_subject

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
    from miakit.body.activation import activation
    from miakit.body.motion import Motion
    from miakit.body.subjects import make_subject

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
    from miakit.body.subjects import make_subject
    from miakit.synth import simulate

    sim = simulate(make_subject(0), exercise, seed=0, duration_s=8.0)
    assert (sim.keypoints[..., 2] > 0).mean() > 0.99
    assert np.isfinite(sim.truth).all() and sim.truth.mean() > 5
