"""The synthetic muscle model: from 3D kinematics to the EMG envelope of 8 muscles.

The model asks, at every instant, what torque each joint's muscles must produce to move the body
the way it moves, and how much activation that torque costs given how the muscle is moving. It is
inverse dynamics with a few well-known properties of muscle on top. None of it is a linear
function of the current pose: the same posture costs different activation depending on velocity,
on which leg carries the weight, on how long it has been held, and on the person.

**1. Joint torque demand** (newton metres, per side, for four hinges: elbow, shoulder flexion,
hip flexion, knee). For a hinge with flexion axis ``n`` the muscles must supply

    M = I * alpha  -  tau_gravity  -  tau_support

- ``I * alpha``: the distal segment's moment of inertia times its angular acceleration in space
  about ``n`` (a fast punch needs an agonist burst to start it and an antagonist burst to stop it);
- ``tau_gravity``: the moment of the weight of everything distal to the joint (forearm and hand
  about the elbow, the whole arm about the shoulder, shank and foot about the knee, the whole leg
  about the hip), projected on ``n``. It depends on where the segments are relative to the vertical,
  so the same motion in an arm and in a leg, or upright versus overhead, means different muscles;
- ``tau_support`` (legs only): the floor's push on a loaded foot, held by the leg's muscles. A leg
  carries a share ``w`` of the body weight (the exercise script says which leg, ``sup_l``,
  ``sup_r``, or, for measured motion, :func:`miakit.body.motion.foot_support` reads it from the
  feet; a foot lifted off the floor carries nothing). The push acts at the foot's centre of
  pressure (:func:`centre_of_pressure`: the point of its sole, heel to big toe, nearest to the
  body's zero-moment point, so in walking it rolls from the heel to the toes) with vertical part
  ``w * m * (g + a_y)`` (``a_y``: the vertical acceleration of the body's centre of mass,
  :func:`centre_of_mass`; landing costs more than standing) and a direction that is the mean of
  Newton's (what accelerates the centre of mass) and the inverted pendulum's (towards the centre
  of mass). Its moment about the knee and the hip is what the muscles must hold: in the loading
  response of walking the push passes behind the flexing knee (quadriceps, eccentric) and in
  front of the hip (hip extensors, the hamstrings among them); deep in a squat or lunge, the bent
  knee sits far from its line. A planted foot (``w >= 1/3``) carries its own leg, so the swing
  terms fade out with ``1 - min(1, 3 w)``. An extended hip (thigh 15 degrees or more behind the
  trunk) carries half a flexion moment in its stretched ligaments (:data:`HIP_PASSIVE`), as in
  the late stance of walking.

Segment masses and centres of mass follow Winter's anthropometric table (forearm and hand 2.2%
of body mass, upper arm 2.8%, thigh 10%, shank and foot 6.1%, head-arms-trunk 67.8%). A positive
``M`` is work for the flexors, a negative one for the extensors; each is divided by a reference
torque (``ref_torque_nm``: elbow 8, shoulder 20, knee 150, hip 100 N m) to give a load. A
straight elbow or knee is locked: its passive structures carry the load, so the elbow and knee
terms fade in over the first 20 degrees of flexion.

**2. Direction of motion** (force-velocity relation). A muscle that shortens (concentric) needs
more activation for the same force, one that is stretched while active (eccentric) needs less:
``load *= 1 + c_con * v`` for shortening velocity ``v > 0`` (rad/s of joint angle, capped) and
``load /= 1 + c_ecc * |v|`` for slow lengthening, levelling off at ``ecc_max`` (1.5: a stretched
muscle holds at most about 1.5 times its isometric force) (``c_con`` 0.3 s/rad, ``c_ecc`` 0.6
s/rad). Besides, rotating a segment in space costs a drive proportional to its angular speed
(``k_speed`` 0.07 per rad/s), paid by the muscle that both shortens and turns the segment that
way, and only while the torque demand points that way too (a shank that hangs still while the
thigh rises is not driven by the knee flexors, a shank swinging forward on its momentum in
walking not by the quadriceps): a back kick works the hamstring, the same path reversed (a front
kick) works the quadriceps.

**3. Holds** (time since onset). When a joint comes to rest (angular speed under
``still_rad_s``) the static load is multiplied by ``1 + P * exp(-h / tau_onset) + F * h`` where
``h`` is the time held: activity peaks at the onset of a pose (``P`` 0.6, ``tau_onset`` 0.35 s),
decays, and rises again as the hold tires the muscle (``F`` 0.05 per second).

**4. Muscles.** Each sensor's muscle takes the load of the hinges it crosses:
biceps = elbow flexors + 0.15 shoulder flexors; triceps = elbow extensors + 0.15 shoulder
extensors; quadriceps = knee extensors + 0.3 hip flexors (rectus femoris); hamstrings = knee
flexors + 0.6 hip extensors (:data:`HAMSTRING_HIP_SHARE`; the gluteus maximus does the rest).
Antagonists co-contract (0.1 of the opponent's excitation, joint
stiffness), and there is a resting tone (0.03). Excitation ``e`` becomes activation through a
saturation ``1 - exp(-e)`` and the sensor's envelope (a zero-phase Gaussian of ``envelope_s``
50 ms).

**5. Electromechanical delay.** Muscle activity precedes the force and motion it causes by 50 to
100 ms (the subject's ``emd_s``): the EMG at time ``t`` is the activation computed from the motion
at ``t + emd_s``.

**6. Sensors.** Device units are ``scale`` (120 units per unit activation) times the subject's
per-muscle gain (skin, fat, placement), mixed with ``crosstalk`` (2 to 12%) of the neighbouring
antagonist's signal. That is the noise-free truth. The sensor adds a log-normal multiplicative
noise that is correlated over a few samples (the envelope of a random signal fluctuates in
proportion to its size), a small positive baseline (its noise floor) and white additive noise,
rounds to integers and never goes below zero (:func:`add_sensor_noise`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from miakit.body.motion import FOOT_LIFT_M, Kinematics, Motion
from miakit.body.subjects import Subject
from miakit.layout import KP, MUSCLES

G = 9.81


@dataclass(frozen=True)
class MuscleParams:
    """Parameters of the muscle model, with their physical meaning (see the module docstring)."""

    ref_torque_nm: tuple[float, float, float, float] = (8.0, 20.0, 150.0, 100.0)
    """Reference torques of elbow, shoulder, knee and hip: the torque that costs activation 1."""
    c_con: float = 0.3
    """Extra activation per rad/s of shortening (concentric) velocity, s/rad."""
    c_ecc: float = 0.6
    """Activation saved per rad/s of lengthening (eccentric) velocity, s/rad, at slow lengthening."""
    ecc_max: float = 1.5
    """A lengthening muscle holds at most this many times its isometric force (Hill, Katz: 1.5-1.8),
    so faster stretching saves no more activation than that."""
    k_speed: float = 0.07
    """Drive to rotate a segment in space, per rad/s."""
    still_rad_s: float = 0.35
    """A joint slower than this is holding a pose."""
    onset_peak: float = 0.6
    tau_onset_s: float = 0.35
    fatigue_per_s: float = 0.05
    co_contraction: float = 0.1
    tone: float = 0.03
    envelope_s: float = 0.05
    """Standard deviation of the sensor's (zero-phase Gaussian) envelope smoothing, seconds."""
    scale: float = 120.0
    """Device units per unit of activation."""
    rate_hz: float = 100.0
    """Rate of the internal grid the model runs on."""


DEFAULT = MuscleParams()

MASS = {"forearm": 0.022, "upper_arm": 0.028, "thigh": 0.100, "shank": 0.061, "hat": 0.678}
"""Fractions of body mass (Winter): forearm with hand, upper arm, thigh, shank with foot, head-arms-trunk."""
COM = {"forearm": 0.682, "upper_arm": 0.436, "thigh": 0.433, "shank": 0.6}
"""Centre of mass along each segment from its proximal joint, fraction of its length."""

HIP_PASSIVE = 0.5
"""Share of a hip flexion moment that an extended hip (15 degrees or more behind the trunk) carries
in its stretched ligaments and capsule, not its muscles (late stance of walking)."""

HAMSTRING_HIP_SHARE = 0.6
"""Share of a hip extension demand the hamstrings take (the gluteus maximus, no sensor of ours,
takes the rest)."""

PARTNER = {
    m: m.replace("Bicep", "Tricep")
    if "Bicep" in m
    else m.replace("Tricep", "Bicep")
    if "Tricep" in m
    else m.replace("Quad", "Hamstring")
    if "Quad" in m
    else m.replace("Hamstring", "Quad")
    for m in MUSCLES
}
"""Each muscle's antagonist on the same limb (its crosstalk and co-contraction partner)."""


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("...i,...i->...", a, b)


def _gravity_moment(points: list[tuple[np.ndarray, float]], joint: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Moment of the weights ``(centre, mass)`` about ``joint``, projected on ``axis`` (N m)."""
    weight = np.array([0.0, -G, 0.0])
    return sum((_dot(np.cross(c - joint, m * weight), axis) for c, m in points), np.zeros(()))


def _spin(direction: np.ndarray, axis: np.ndarray, dt: float) -> np.ndarray:
    """Angular velocity (rad/s) about ``axis`` of a segment pointing along unit ``direction``."""
    return _dot(np.cross(direction, np.gradient(direction, dt, axis=0)), axis)


def _bent(angle: np.ndarray) -> np.ndarray:
    """0 for a straight (locked) hinge, whose passive structures carry the load, to 1 from 20 degrees."""
    return np.clip(angle / np.radians(20.0), 0.0, 1.0)


def _hold_factor(angle_rate: np.ndarray, dt: float, p: MuscleParams) -> np.ndarray:
    """``1 + P exp(-h/tau) + F h`` while a joint is still (h: time held), 1 while it moves."""
    still = np.abs(angle_rate) < p.still_rad_s
    index = np.arange(still.size)
    last_moving = np.maximum.accumulate(np.where(still, -1, index))
    held = (index - last_moving) * dt * still
    return 1.0 + still * (p.onset_peak * np.exp(-held / p.tau_onset_s) + p.fatigue_per_s * held)


def _force_velocity(load: np.ndarray, shortening: np.ndarray, p: MuscleParams) -> np.ndarray:
    con = 1.0 + p.c_con * np.clip(shortening, 0.0, 6.0)
    v = p.c_ecc * np.clip(-shortening, 0.0, None)
    ecc = 1.0 / (1.0 + v / (1.0 + v / (p.ecc_max - 1.0)))  # the eccentric force levels off at ecc_max
    return load * np.where(shortening >= 0, con, ecc)


def centre_of_mass(J: np.ndarray, seg: dict[str, float]) -> np.ndarray:
    """(T, 3) the body's centre of mass from its joints (Winter's segment masses and centres)."""
    pelvis, neck = J[:, KP["MidHip"]], J[:, KP["Neck"]]
    com = MASS["hat"] * (pelvis + 0.626 * (neck - pelvis))  # HAT centre: 62.6% up from the hips (Winter)
    for side in "LR":
        hip, kn, an = J[:, KP[f"{side}Hip"]], J[:, KP[f"{side}Knee"]], J[:, KP[f"{side}Ankle"]]
        com = com + MASS["thigh"] * (hip + COM["thigh"] * (kn - hip)) + MASS["shank"] * (kn + COM["shank"] * (an - kn))
    return com / (MASS["hat"] + 2 * (MASS["thigh"] + MASS["shank"]))


def _ground(J: np.ndarray) -> np.ndarray:
    """(T,) height of the lowest foot point: the floor under a standing or walking body."""
    return J[:, [KP[n] for n in ("LHeel", "LBigToe", "RHeel", "RBigToe")], 1].min(axis=1)


def _on_floor(J: np.ndarray, side: str) -> np.ndarray:
    """(T,) 1 for a foot on the floor, 0 for one lifted above it: only a foot down carries weight."""

    lift = J[:, [KP[f"{side}Heel"], KP[f"{side}BigToe"]], 1].min(axis=1) - _ground(J)
    lo, hi = FOOT_LIFT_M
    return np.clip((hi - lift) / (hi - lo), 0.0, 1.0)


def centre_of_pressure(J: np.ndarray, side: str, zmp: np.ndarray) -> np.ndarray:
    """(T, 3) where the floor pushes on one foot: the point of its sole (heel to big toe) nearest
    to the body's zero-moment point (the centre of mass's ground point, shifted against its
    horizontal acceleration). Walking, it rolls from the heel at heel strike to the toes at push-off."""
    heel, toe = J[:, KP[f"{side}Heel"]], J[:, KP[f"{side}BigToe"]]
    d = (toe - heel)[:, [0, 2]]
    along = _dot((zmp - heel)[:, [0, 2]], d) / np.maximum(_dot(d, d), 1e-9)
    return heel + np.clip(along, 0.0, 1.0)[:, None] * (toe - heel)


@dataclass
class Hinge:
    """One joint's demand: flexion-positive muscle torque, joint angle rate, segment spin."""

    torque_nm: np.ndarray
    angle_rate: np.ndarray
    spin: np.ndarray


def joint_demands(kin: Kinematics) -> dict[str, Hinge]:
    """Torque demands of the 8 hinges (``L_elbow``, ``R_knee``, ...) on a uniform time grid."""
    dt = float(kin.t[1] - kin.t[0])
    s = kin.subject
    M, seg = s.mass_kg, s.segments_m
    J = kin.joints
    fwd, lat = kin.forward, kin.lateral
    pelvis = J[:, KP["MidHip"]]
    com = centre_of_mass(J, seg)
    a_com = np.gradient(np.gradient(com, dt, axis=0), dt, axis=0)
    load_g = np.clip(G + a_com[:, 1], 0.0, None)  # landing costs more than standing
    zmp = com - (com[:, 1:2] - _ground(J)[:, None]) / np.maximum(load_g[:, None], 1.0) * a_com
    zmp[:, 1] = com[:, 1]
    newton = (a_com + np.array([0.0, G, 0.0])) / np.maximum(load_g, 1.0)[:, None]  # vertical part 1
    newton[:, [0, 2]] = np.clip(newton[:, [0, 2]], -1.0, 1.0)
    flex_axis = -lat  # rotating about -lateral swings a limb forward and up
    out: dict[str, Hinge] = {}
    for side, col in (("L", 0), ("R", 1)):
        w = kin.support[:, col] * _on_floor(J, side)
        planted = np.clip(3.0 * w, 0.0, 1.0)
        sh, el, wr = J[:, KP[f"{side}Shoulder"]], J[:, KP[f"{side}Elbow"]], J[:, KP[f"{side}Wrist"]]
        hip, kn, an = J[:, KP[f"{side}Hip"]], J[:, KP[f"{side}Knee"]], J[:, KP[f"{side}Ankle"]]
        # elbow
        u, f = _unit(el - sh), _unit(wr - el)
        angle = np.arccos(np.clip(_dot(u, f), -1.0, 1.0))
        axis = _unit(np.cross(u, f) + 0.05 * np.cross(u, fwd))
        m_fa = MASS["forearm"] * M
        c_fa = el + COM["forearm"] * seg["forearm"] * f
        bent = _bent(angle)
        spin = _spin(f, axis, dt) * bent
        inertia: float | np.ndarray = m_fa * seg["forearm"] ** 2 * (COM["forearm"] ** 2 + 0.09)
        torque = (inertia * np.gradient(spin, dt) - _gravity_moment([(c_fa, m_fa)], el, axis)) * bent
        out[f"{side}_elbow"] = Hinge(torque, np.gradient(angle, dt), spin)
        # shoulder flexion
        m_ua = MASS["upper_arm"] * M
        c_ua = sh + COM["upper_arm"] * seg["upper_arm"] * u
        spin = _spin(u, flex_axis, dt)
        inertia = m_ua * (COM["upper_arm"] * seg["upper_arm"]) ** 2 + m_fa * _dot(c_fa - sh, c_fa - sh)
        torque = inertia * np.gradient(spin, dt) - _gravity_moment([(c_ua, m_ua), (c_fa, m_fa)], sh, flex_axis)
        out[f"{side}_shoulder"] = Hinge(torque, spin, spin)
        # knee
        u, f = _unit(kn - hip), _unit(an - kn)
        angle = np.arccos(np.clip(_dot(u, f), -1.0, 1.0))
        axis = _unit(np.cross(u, f) - 0.05 * np.cross(u, fwd))
        m_sh = MASS["shank"] * M
        c_sh = kn + COM["shank"] * seg["shank"] * f
        bent = _bent(angle)
        spin = _spin(f, axis, dt) * bent
        inertia = m_sh * seg["shank"] ** 2 * (COM["shank"] ** 2 + 0.09)
        swing = (inertia * np.gradient(spin, dt) - _gravity_moment([(c_sh, m_sh)], kn, axis)) * bent
        cop = centre_of_pressure(J, side, zmp)
        # the floor's push on a loaded foot, its vertical part the foot's share of the weight: the mean
        # of two estimates of its direction, Newton's (what moves the centre of mass the way it
        # moves) and the inverted pendulum's (from the centre of pressure to the centre of mass),
        # which holds for a pose whose centre of mass the kinematics leave off its feet
        line = _unit(com - cop)
        line = 0.5 * (line / np.maximum(line[:, 1:2], 0.5) + newton)
        force = (w * M * load_g)[:, None] * line
        stance = -_dot(np.cross(cop - kn, force), axis)  # what the muscles must hold against the floor's push
        stance = np.where(stance > 0, stance * bent, stance)  # a straight knee is locked against extension
        torque = (1.0 - planted) * swing + stance
        out[f"{side}_knee"] = Hinge(torque, np.gradient(angle, dt), spin)
        # hip flexion
        m_th = MASS["thigh"] * M
        c_th = hip + COM["thigh"] * seg["thigh"] * u
        spin = _spin(u, flex_axis, dt)
        inertia = m_th * (COM["thigh"] * seg["thigh"]) ** 2 + m_sh * _dot(c_sh - hip, c_sh - hip)
        swing = inertia * np.gradient(spin, dt) - _gravity_moment([(c_th, m_th), (c_sh, m_sh)], hip, flex_axis)
        stance = -_dot(np.cross(cop - hip, force), flex_axis)
        torque = (1.0 - planted) * swing + stance
        trunk_down = _unit(pelvis - J[:, KP["Neck"]])
        extended = -np.arctan2(_dot(u, fwd), _dot(u, trunk_down))  # thigh behind the trunk's line, rad
        torque = np.where(
            torque > 0, torque * (1.0 - HIP_PASSIVE * np.clip(extended / np.radians(15.0), 0.0, 1.0)), torque
        )
        trunk_spin = _spin(_unit(J[:, KP["Neck"]] - pelvis), flex_axis, dt)
        out[f"{side}_hip"] = Hinge(torque, spin - trunk_spin, spin)
    return out


def _excitations(h: Hinge, ref: float, dt: float, p: MuscleParams) -> tuple[np.ndarray, np.ndarray]:
    """(flexor, extensor) excitation of one hinge."""
    hold = _hold_factor(h.angle_rate, dt, p)
    flex = _force_velocity(np.clip(h.torque_nm, 0.0, None) / ref, h.angle_rate, p) * hold
    ext = _force_velocity(np.clip(-h.torque_nm, 0.0, None) / ref, -h.angle_rate, p) * hold
    # the drive to turn a segment is paid only while the torque demand points the same way (a limb
    # swinging on its momentum, as a shank in the swing phase of walking, costs no drive)
    flex_on = np.clip(h.torque_nm / (0.05 * ref), 0.0, 1.0)
    ext_on = np.clip(-h.torque_nm / (0.05 * ref), 0.0, 1.0)
    flex = flex + p.k_speed * np.clip(np.minimum(h.spin, h.angle_rate), 0.0, None) * flex_on
    ext = ext + p.k_speed * np.clip(np.minimum(-h.spin, -h.angle_rate), 0.0, None) * ext_on
    return flex, ext


def activation(kin: Kinematics, params: MuscleParams = DEFAULT) -> np.ndarray:
    """(T, 8) activation in [0, 1], MUSCLES order, at the kinematics' own times (no delay yet)."""
    p = params
    dt = float(kin.t[1] - kin.t[0])
    d = joint_demands(kin)
    r_el, r_sh, r_kn, r_hip = p.ref_torque_nm
    exc: dict[str, np.ndarray] = {}
    for side, name in (("L", "Left"), ("R", "Right")):
        el_f, el_e = _excitations(d[f"{side}_elbow"], r_el, dt, p)
        sh_f, sh_e = _excitations(d[f"{side}_shoulder"], r_sh, dt, p)
        kn_f, kn_e = _excitations(d[f"{side}_knee"], r_kn, dt, p)
        hip_f, hip_e = _excitations(d[f"{side}_hip"], r_hip, dt, p)
        exc[f"{name}Bicep"] = el_f + 0.15 * sh_f
        exc[f"{name}Tricep"] = el_e + 0.15 * sh_e
        exc[f"{name}Quad"] = kn_e + 0.3 * hip_f
        exc[f"{name}Hamstring"] = kn_f + HAMSTRING_HIP_SHARE * hip_e
    e = np.stack([exc[m] + p.co_contraction * exc[PARTNER[m]] + p.tone for m in MUSCLES], axis=-1)
    act = 1.0 - np.exp(-e)
    return _gaussian_smooth(act, p.envelope_s * p.rate_hz)


def _gaussian_smooth(x: np.ndarray, sigma_samples: float) -> np.ndarray:
    half = max(1, int(round(3 * sigma_samples)))
    k = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma_samples) ** 2)
    k /= k.sum()
    padded = np.pad(x, ((half, half), (0, 0)), mode="edge")
    return np.stack([np.convolve(padded[:, j], k, mode="valid") for j in range(x.shape[1])], axis=-1)


def device_units(act: np.ndarray, subject: Subject, params: MuscleParams = DEFAULT) -> np.ndarray:
    """Noise-free sensor readings (device units) from (T, 8) activation: gain and crosstalk."""
    partner = act[:, [MUSCLES.index(PARTNER[m]) for m in MUSCLES]]
    mixed = (1.0 - subject.crosstalk) * act + subject.crosstalk * partner
    return params.scale * subject.gain * mixed


def emg_curve(
    motion: Motion, start_s: float, end_s: float, params: MuscleParams = DEFAULT
) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free EMG (device units) on a fine grid of host times covering ``[start_s, end_s]``.

    Returns ``(times, emg)`` with emg (len(times), 8), the electromechanical delay applied: the EMG
    at host time ``t`` comes from the motion at ``t + emd_s``. Interpolate it at any host times.
    """
    emd = motion.subject.emd_s
    lo, hi = start_s - 0.5, end_s + 0.5
    grid = lo + np.arange(int(np.ceil((hi - lo) * params.rate_hz)) + 1) / params.rate_hz
    act = activation(motion.kinematics(grid + emd), params)
    return grid, device_units(act, motion.subject, params)


def sample_curve(curve: tuple[np.ndarray, np.ndarray], times: np.ndarray) -> np.ndarray:
    """(len(times), 8) values of an :func:`emg_curve` at host ``times`` (linear interpolation)."""
    grid, emg = curve
    return np.stack([np.interp(times, grid, emg[:, j]) for j in range(emg.shape[1])], axis=-1)


def truth_emg(motion: Motion, times: np.ndarray, params: MuscleParams = DEFAULT) -> np.ndarray:
    """(len(times), 8) noise-free EMG in device units at host ``times`` (delay applied)."""
    times = np.asarray(times, dtype=np.float64)
    return sample_curve(emg_curve(motion, float(times.min()), float(times.max()), params), times)


def add_sensor_noise(truth: np.ndarray, subject: Subject, muscle: int, rng: np.random.Generator) -> np.ndarray:
    """One sensor's readings: ``truth`` (samples,) with the subject's noise, as non-negative integers.

    ``round(max(0, truth * exp(z - s^2/2) + baseline + noise_add * n))`` where ``z`` is an AR(1)
    process (correlation 0.5 between 10 Hz samples, standard deviation ``s = noise_mult``) and
    ``n`` white standard normal noise.
    """
    n = truth.shape[0]
    s = subject.noise_mult
    eps = np.asarray(rng.standard_normal(n))
    z = np.empty(n)
    level = eps[0] * s
    rho = 0.5
    for i in range(n):
        level = rho * level + np.sqrt(1 - rho**2) * s * eps[i] if i else level
        z[i] = level
    noisy = truth * np.exp(z - s**2 / 2) + subject.baseline[muscle] + subject.noise_add * rng.standard_normal(n)
    return np.round(np.clip(noisy, 0.0, None))
