"""Physics-grounded muscle labels: the 8 sensors' activation from a musculoskeletal model (OpenSim).

The hand-made model (:mod:`miakit.body.activation`) turns each hinge's torque demand into a
muscle's load with fixed shares and reference torques. Here the same demand is shared among the
real muscles of an OpenSim model by static optimization, so which muscle carries it, and how much
activation that costs, follows from their moment arms, strengths and lengths at each posture:

1. **Joint angles** from the 3D joint centres (:class:`miakit.body.motion.Kinematics`): elbow
   and knee flexion from shoulder-elbow-wrist and hip-knee-ankle; shoulder and hip flexion as the
   upper arm's and thigh's angle from the trunk's line in the body's sagittal plane.
2. **Net joint moments**: the hand model's inverse dynamics (:func:`miakit.body.activation.joint_demands`:
   Newton-Euler of the distal segments with Winter's masses, and the floor's push on a loaded foot,
   its share of the weight estimated from the feet), flexion positive.
3. **Muscles** (``opensim`` imported inside the functions, the ``physics`` extra): for the arm
   ``arm26.osim`` (biceps long and short, triceps long, lateral and medial, brachialis; coordinates
   ``r_shoulder_elev``, ``r_elbow_flex``), for the leg the scaled Rajagopal 2016 model
   ``subject_walk_scaled.osim`` (every right-leg muscle that crosses the hip or knee in flexion and
   not the ankle; ``hip_flexion_r``, ``knee_angle_r``), both from :mod:`miakit.sample_data`'s
   ``models/``. Musculotendon lengths are tabulated once on
   a 5-degree grid of the two coordinates (other coordinates at their defaults); moment arms are
   ``r = -dL/dq`` on that grid; the active force-length factor ``exp(-(l - 1)^2 / 0.45)`` of the
   normalized fibre length ``l = (L - tendon slack) / optimal fibre length`` (rigid tendon, no
   pennation), floored at 0.2. The models are right-sided: the left limb uses the same model (the
   sagittal conventions are mirror images).
4. **Static optimization** per frame and limb: minimise ``sum a_i^2 + sum (m_j / S_j)^2`` subject to
   ``sum_i a_i F_i fl_i r_ij + m_j = M_j`` for each of the two coordinates, ``0 <= a_i <= 1``, with a
   reserve moment ``m_j`` of strength ``S_j`` (:data:`RESERVE_NM`: the shoulder's is large, since
   arm26 has no deltoid or pectoralis; the others small, for what the muscles cannot do). Solved as
   a bounded least squares with the moment equations weighted heavily (:data:`MOMENT_WEIGHT`).
5. **Sensors**: biceps = mean of the two heads, triceps = of the three, quadriceps = of the vasti
   and rectus femoris, hamstrings = of biceps femoris long and short, semitendinosus and
   semimembranosus; smoothed as the hand model's envelope (a 50 ms Gaussian). No electromechanical
   delay (the caller adds it, as for the hand model) and no activation dynamics.

Not modelled: hip ab/adduction and rotation, the ankle (so the gastrocnemii, which also flex the
knee, are left out), force-velocity, tendon compliance, co-contraction beyond what the optimum gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from miakit.body.activation import _gaussian_smooth, joint_demands
from miakit.errors import InputError
from miakit.layout import KP, MUSCLES
from miakit.sample_data import fetch

ARM_MODEL, LEG_MODEL = "arm26.osim", "subject_walk_scaled.osim"
ARM_COORDS = ("r_shoulder_elev", "r_elbow_flex")
LEG_COORDS = ("hip_flexion_r", "knee_angle_r")
ARM_GRID_DEG = (np.arange(-30.0, 181.0, 5.0), np.arange(0.0, 131.0, 5.0))
LEG_GRID_DEG = (np.arange(-30.0, 121.0, 5.0), np.arange(0.0, 141.0, 5.0))
SENSOR_MUSCLES = {
    "Bicep": ("BIClong", "BICshort"),
    "Tricep": ("TRIlong", "TRIlat", "TRImed"),
    "Quad": ("vasint_r", "vaslat_r", "vasmed_r", "recfem_r"),
    "Hamstring": ("bflh_r", "bfsh_r", "semiten_r", "semimem_r"),
}
"""The model muscles each sensor's muscle averages."""
ANKLE_COORD = "ankle_angle_r"
RESERVE_NM = {"arm": (150.0, 5.0), "leg": (10.0, 10.0)}
"""Strength (N m) of the reserve moment of each coordinate: (shoulder, elbow), (hip, knee)."""
MOMENT_WEIGHT = 100.0
"""Weight of each N m of unmet moment against a muscle's squared activation."""
ENVELOPE_S = 0.05


@dataclass
class Limb:
    """A limb's muscles tabulated over two coordinates (degrees grids)."""

    names: list[str]
    grid_deg: tuple[np.ndarray, np.ndarray]
    length: np.ndarray
    """(n0, n1, muscles) musculotendon length, m."""
    max_force: np.ndarray
    slack: np.ndarray
    optimal: np.ndarray
    reserve_nm: tuple[float, float]

    def at(self, q_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Moment arms (T, 2, muscles) in m and force-length factors (T, muscles) at angles (T, 2) deg."""
        g0, g1 = self.grid_deg
        q0 = np.clip(q_deg[:, 0], g0[0], g0[-1])
        q1 = np.clip(q_deg[:, 1], g1[0], g1[-1])
        arm0 = -np.gradient(self.length, np.radians(g0), axis=0)
        arm1 = -np.gradient(self.length, np.radians(g1), axis=1)
        r0, r1, L = (_bilinear(tab, g0, g1, q0, q1) for tab in (arm0, arm1, self.length))
        fibre = (L - self.slack) / self.optimal
        fl = np.maximum(np.exp(-((fibre - 1.0) ** 2) / 0.45), 0.2)
        return np.stack([r0, r1], axis=1), fl


def _bilinear(tab: np.ndarray, g0: np.ndarray, g1: np.ndarray, q0: np.ndarray, q1: np.ndarray) -> np.ndarray:
    """(T, muscles) of ``tab`` (n0, n1, muscles) at (q0, q1), bilinear on the grid."""
    i = np.clip(np.searchsorted(g0, q0) - 1, 0, len(g0) - 2)
    j = np.clip(np.searchsorted(g1, q1) - 1, 0, len(g1) - 2)
    u = ((q0 - g0[i]) / (g0[i + 1] - g0[i]))[:, None]
    v = ((q1 - g1[j]) / (g1[j + 1] - g1[j]))[:, None]
    low = tab[i, j] * (1 - u) + tab[i + 1, j] * u
    high = tab[i, j + 1] * (1 - u) + tab[i + 1, j + 1] * u
    return low * (1 - v) + high * v


def model_path(name: str) -> Path:
    """One of the shared OpenSim models (``models/`` of :mod:`miakit.sample_data`: ../shared/data
    where it is beside the repository, else the public original, SHA-256 checked)."""

    return fetch(f"models/{name}")


@lru_cache(maxsize=4)
def load_limb(kind: str, models: str | None = None) -> Limb:
    """Tabulate the ``arm`` or ``leg`` model (OpenSim; seconds, once per process) from the folder
    ``models`` (default: :func:`model_path`)."""
    try:
        import opensim as osim
    except ImportError as exc:  # pragma: no cover - the optional extra
        raise ImportError("physics labels need OpenSim: pip install 'miakit[physics]'") from exc
    osim.Logger.removeFileSink()  # else it writes opensim.log in the working folder
    osim.Logger.setLevelString("error")
    name = ARM_MODEL if kind == "arm" else LEG_MODEL
    path = Path(models) / name if models else model_path(name)
    if not path.is_file():
        raise InputError(path, "no such OpenSim model", expected=f"{name} in the folder given")
    coords, grid = (ARM_COORDS, ARM_GRID_DEG) if kind == "arm" else (LEG_COORDS, LEG_GRID_DEG)
    model = osim.Model(str(path))
    state = model.initSystem()
    cs = model.getCoordinateSet()
    c0, c1 = cs.get(coords[0]), cs.get(coords[1])
    for c in (c0, c1):
        c.set_clamped(False)
    muscles = model.getMuscles()
    chosen = []
    for i in range(muscles.getSize()):
        mu = muscles.get(i)
        if kind == "leg" and not mu.getName().endswith("_r"):
            continue
        crosses = [abs(mu.computeMomentArm(state, c)) > 1e-3 for c in (c0, c1)]
        if kind == "leg" and abs(mu.computeMomentArm(state, cs.get(ANKLE_COORD))) > 1e-3:
            continue
        if any(crosses):
            chosen.append(mu)
    length = np.zeros((len(grid[0]), len(grid[1]), len(chosen)))
    for a, q0 in enumerate(grid[0]):
        c0.setValue(state, np.radians(q0), False)
        for b, q1 in enumerate(grid[1]):
            c1.setValue(state, np.radians(q1), False)
            model.realizePosition(state)
            length[a, b] = [mu.getLength(state) for mu in chosen]
    return Limb(
        names=[mu.getName() for mu in chosen],
        grid_deg=grid,
        length=length,
        max_force=np.array([mu.getMaxIsometricForce() for mu in chosen]),
        slack=np.array([mu.getTendonSlackLength() for mu in chosen]),
        optimal=np.array([mu.getOptimalFiberLength() for mu in chosen]),
        reserve_nm=RESERVE_NM[kind],
    )


def static_optimization(limb: Limb, q_deg: np.ndarray, moment_nm: np.ndarray) -> np.ndarray:
    """(T, muscles) activations in [0, 1] that meet the two coordinates' moments (T, 2) N m at the
    angles (T, 2) deg at least squared activation (reserves take what the muscles cannot)."""
    from scipy.optimize import lsq_linear

    arms, fl = limb.at(q_deg)
    n = len(limb.names)
    strength = np.asarray(limb.reserve_nm)
    w = np.sqrt(MOMENT_WEIGHT)
    lower = np.concatenate([np.zeros(n), np.full(2, -np.inf)])
    upper = np.concatenate([np.ones(n), np.full(2, np.inf)])
    out = np.zeros((len(q_deg), n))
    for t in range(len(q_deg)):
        if not np.all(np.isfinite(moment_nm[t])) or not np.all(np.isfinite(q_deg[t])):
            out[t] = np.nan
            continue
        A = arms[t] * (limb.max_force * fl[t])[None, :]  # (2, muscles) N m per unit activation
        rows = np.hstack([w * A, w * np.diag(strength)])  # reserve variables are m_j / S_j
        design = np.vstack([rows, np.eye(n + 2)])
        target = np.concatenate([w * moment_nm[t], np.zeros(n + 2)])
        out[t] = lsq_linear(design, target, bounds=(lower, upper), method="bvls").x[:n]
    return out


def joint_angles(kin) -> dict[str, np.ndarray]:
    """Degrees per side (``L``/``R``): ``shoulder``, ``elbow``, ``hip``, ``knee`` flexion."""
    J, fwd = kin.joints, kin.forward

    def unit(v: np.ndarray) -> np.ndarray:
        return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)

    def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.sum(a * b, axis=-1)

    trunk_down = unit(J[:, KP["MidHip"]] - J[:, KP["Neck"]])
    out = {}
    for s in "LR":
        sh, el, wr = J[:, KP[f"{s}Shoulder"]], J[:, KP[f"{s}Elbow"]], J[:, KP[f"{s}Wrist"]]
        hip, kn, an = J[:, KP[f"{s}Hip"]], J[:, KP[f"{s}Knee"]], J[:, KP[f"{s}Ankle"]]
        ua, fa, th, sk = unit(el - sh), unit(wr - el), unit(kn - hip), unit(an - kn)
        out[f"{s}_elbow"] = np.degrees(np.arccos(np.clip(dot(ua, fa), -1.0, 1.0)))
        out[f"{s}_knee"] = np.degrees(np.arccos(np.clip(dot(th, sk), -1.0, 1.0)))
        out[f"{s}_shoulder"] = np.degrees(np.arctan2(dot(ua, fwd), dot(ua, trunk_down)))
        out[f"{s}_hip"] = np.degrees(np.arctan2(dot(th, fwd), dot(th, trunk_down)))
    return out


def muscle_activations(kin, *, models: str | Path | None = None) -> dict[str, np.ndarray]:
    """Per side and limb (``L_arm``, ``R_leg``, ...): (T, muscles) activations of the model's
    muscles (names: :func:`load_limb` ``.names``), by static optimization."""

    demands = joint_demands(kin)
    angles = joint_angles(kin)
    out = {}
    for kind, (j0, j1) in (("arm", ("shoulder", "elbow")), ("leg", ("hip", "knee"))):
        limb = load_limb(kind, None if models is None else str(models))
        for s in "LR":
            q = np.stack([angles[f"{s}_{j0}"], angles[f"{s}_{j1}"]], axis=-1)
            m = np.stack([demands[f"{s}_{j0}"].torque_nm, demands[f"{s}_{j1}"].torque_nm], axis=-1)
            out[f"{s}_{kind}"] = static_optimization(limb, q, m)
    return out


def physics_activation(kin, *, models: str | Path | None = None) -> np.ndarray:
    """(T, 8) activation in [0, 1], MUSCLES order, at the kinematics' own times (no delay): what
    :func:`miakit.body.activation.activation` gives, from the musculoskeletal model instead."""

    acts = muscle_activations(kin, models=models)
    names = {kind: load_limb(kind, None if models is None else str(models)).names for kind in ("arm", "leg")}
    cols = []
    for muscle in MUSCLES:
        s, group = muscle[0], muscle[4:] if muscle.startswith("Left") else muscle[5:]
        kind = "arm" if group in ("Bicep", "Tricep") else "leg"
        idx = [names[kind].index(n) for n in SENSOR_MUSCLES[group]]
        cols.append(acts[f"{s}_{kind}"][:, idx].mean(axis=1))
    act = np.stack(cols, axis=-1)
    rate = 1.0 / float(np.median(np.diff(kin.t)))
    smooth = _gaussian_smooth(np.nan_to_num(act), ENVELOPE_S * rate)
    return np.clip(np.where(np.isnan(act), np.nan, smooth), 0.0, 1.0)
