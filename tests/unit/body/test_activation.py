"""The muscle model: the paper's three contrasts, and activation that pose alone cannot explain."""

from __future__ import annotations

import numpy as np
import pytest

from miakit.body.activation import activation, emg_curve, sample_curve
from miakit.body.motion import KICKING_LEG, PUNCHING_ARM, Motion, project
from miakit.body.subjects import make_subject
from miakit.layout import MUSCLES
from miakit.synth import simulate

SUBJECTS = 3
DURATION_S = 20.0


def _means(exercise: str, muscle: str) -> tuple[float, float]:
    """Mean truth and mean noisy EMG of one muscle, averaged over the subjects."""
    j = MUSCLES.index(muscle)
    truth, noisy = [], []
    for i in range(SUBJECTS):
        sim = simulate(make_subject(i), exercise, seed=0, duration_s=DURATION_S)
        truth.append(sim.truth[:, j].mean())
        noisy.append(sim.packets[j].value.mean())
    return float(np.mean(truth)), float(np.mean(noisy))


def _assert_contrast(high: str, low: str, muscle: str, ratio: float = 1.2) -> None:
    (t_hi, n_hi), (t_lo, n_lo) = _means(high, muscle), _means(low, muscle)
    assert t_hi > ratio * t_lo, f"truth {muscle}: {high} {t_hi:.1f} vs {low} {t_lo:.1f}"
    assert n_hi > ratio * n_lo, f"noisy {muscle}: {high} {n_hi:.1f} vs {low} {n_lo:.1f}"


def test_side_lunge_loads_the_left_quad_more_than_skater():
    _assert_contrast("side_lunge", "skater", "LeftQuad", ratio=1.4)


def test_back_kick_works_the_kicking_hamstring_more_than_front_kick():
    assert KICKING_LEG["leg_back"] == KICKING_LEG["front_kick"]
    _assert_contrast("leg_back", "front_kick", f"{KICKING_LEG['leg_back']}Hamstring")


def test_hook_punch_works_the_punching_tricep_more_than_elbow_punch():
    assert PUNCHING_ARM["hook_punch"] == PUNCHING_ARM["elbow_punch"]
    _assert_contrast("hook_punch", "elbow_punch", f"{PUNCHING_ARM['hook_punch']}Tricep")


def _pose_and_activation(exercise: str, subject: int = 0):
    motion = Motion(exercise, make_subject(subject), seed=0, start_s=0.5)
    t = np.arange(0.0, 16.0, 0.01)
    kin = motion.kinematics(t)
    xy, _ = project(kin.joints, kin.subject)
    return t, xy, activation(kin)


def test_same_pose_different_direction_gives_different_activation():
    """Going down and coming up through the same squat pose: eccentric vs concentric quads."""
    t, xy, act = _pose_and_activation("squat")
    q = MUSCLES.index("LeftQuad")
    hip_y = xy[:, 8, 1]
    speed = np.gradient(hip_y, t)  # pixels/s, positive going down
    down = np.flatnonzero(speed > 150)
    up = np.flatnonzero(speed < -150)
    dist = np.linalg.norm(xy[down][:, None] - xy[up][None], axis=-1).mean(axis=-1)
    i, k = np.unravel_index(np.argmin(dist), dist.shape)
    assert dist[i, k] < 3.0, "found the same pose (within 3 px) going down and coming up"
    a_down, a_up = act[down[i], q], act[up[k]]
    assert a_up[q] > 1.25 * a_down, f"concentric {a_up[q]:.3f} vs eccentric {a_down:.3f}"


def test_same_pose_held_longer_gives_different_activation():
    """A held squat: onset peak, decay, then a fatigue rise, with the pose unchanged."""
    t, xy, act = _pose_and_activation("squat")
    q = MUSCLES.index("LeftQuad")
    still = np.linalg.norm(np.gradient(xy, t, axis=0), axis=-1).max(axis=1) < 1.0
    starts = np.flatnonzero(np.diff(still.astype(int)) == 1) + 1
    first = next(s for s in starts if xy[s, 8, 1] > xy[0, 8, 1] + 100)  # the first hold at the bottom
    end = first + np.argmax(~still[first:])
    assert end - first > 50, "a hold of more than half a second"
    held = act[first:end, q]
    assert np.abs(xy[first] - xy[end - 1]).max() < 0.5, "the pose is the same throughout the hold"
    assert held[0] > 1.1 * held.min(), f"onset {held[0]:.3f} vs settled {held.min():.3f}"


def test_hold_factor_peaks_at_onset_then_rises_with_fatigue():
    from miakit.body.activation import DEFAULT, _hold_factor

    rate = np.zeros(2000)  # 20 s still at 100 Hz
    rate[:10] = 2.0  # moving before the hold
    f = _hold_factor(rate, 0.01, DEFAULT)
    assert f[9] == 1.0 and f[10] > 1.5
    low = int(np.argmin(f[10:])) + 10
    assert 10 < low < 300 and f[-1] > f[low] + 0.5


def test_emg_leads_the_motion_by_the_electromechanical_delay():
    subject = make_subject(0)
    motion = Motion("squat", subject, seed=0, start_s=0.5)
    grid, emg = emg_curve(motion, 0.0, 16.0)
    kin = motion.kinematics(grid)
    undelayed = activation(kin)[:, MUSCLES.index("LeftQuad")]
    delayed = emg[:, MUSCLES.index("LeftQuad")]
    lags = np.arange(0, 20)  # grid steps of 10 ms
    corr = [np.corrcoef(delayed[: len(delayed) - L], undelayed[L:])[0, 1] for L in lags]
    assert lags[int(np.argmax(corr))] * 0.01 == pytest.approx(subject.emd_s, abs=0.011)
    assert 0.05 <= subject.emd_s <= 0.1
    np.testing.assert_allclose(sample_curve((grid, emg), grid[:5]), emg[:5])


def test_a_marker_gap_stays_a_gap_and_the_rest_is_filtered():
    """Motion capture loses markers: the low-pass filters each run of a column on its own, so one
    gap does not take the whole column (the muscle model then has the frames around it)."""
    from scipy.signal import butter, sosfiltfilt

    from miakit.body.motion import lowpass

    rng = np.random.default_rng(0)
    x = np.cumsum(rng.normal(size=(400, 2)), axis=0)
    sos = butter(4, 6.0, fs=100.0, output="sos")
    assert np.allclose(lowpass(x, 100.0), sosfiltfilt(sos, x, axis=0))  # no gap: as before
    gapped = x.copy()
    gapped[150:170, 0] = np.nan  # a marker out of sight for 0.2 s
    gapped[390:, 0] = np.nan  # and a run too short to filter before it: 380..389 stays as it is
    gapped[380:390, 0] = x[380:390, 0]
    gapped[370:380, 0] = np.nan
    out = lowpass(gapped, 100.0)
    assert np.isnan(out[150:170, 0]).all() and np.isnan(out[370:380, 0]).all()
    assert np.allclose(out[:150, 0], sosfiltfilt(sos, x[:150, 0]))
    assert np.allclose(out[170:370, 0], sosfiltfilt(sos, x[170:370, 0]))
    assert np.array_equal(out[380:390, 0], x[380:390, 0])
    assert np.allclose(out[:, 1], sosfiltfilt(sos, x[:, 1]))  # the other column untouched by the gap
