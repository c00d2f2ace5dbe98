"""3D kinematics of the 20 exercises (and of walking, stairs and sit-to-stand), projected by a
portrait camera into BODY_25 pixels; measured 3D motion as kinematics for the muscle model.

Each exercise is a cycle of keyframes: ``(move_s, hold_s, pose)``, written down as data in
``exercises.yaml`` (read by :mod:`miakit.body.exercises`). The body moves from the
previous keyframe to this one in ``move_s`` seconds along a minimum-jerk path (smooth velocity and
acceleration, as human reaching movements are) and then holds it for ``hold_s``. The cycle repeats
for the whole session; the subject's tempo scales every duration, the subject's range of motion
scales the excursion of trunk, shoulders and hips from the neutral stance (forearms and shanks turn
with them, so elbow and knee angles keep their shape), and each repetition varies a few percent.

A pose is a set of named parameters (degrees and metres, :data:`PARAMS`):

- ``px``, ``pz``: where the body stands (lateral, towards the camera), relative to its start;
- ``jump``: height of the soles above the ground; ``sup_l``, ``sup_r``: share of the body weight
  carried by each leg (0 to 1; both 0 in flight). The muscle model reads them;
- ``yaw`` (whole body), ``pitch`` (trunk forward lean), ``roll`` (trunk lean to the subject's
  left), ``twist`` (shoulders against hips);
- per limb, the direction of each segment as ``(flexion, abduction)``: flexion swings it forward
  in the body's sagittal plane (0 = hanging down, 90 = pointing forward, 180 = up), abduction
  swings it out to the side (negative: across the body). Upper arm ``ua``, forearm ``fa``,
  thigh ``th``, shank ``sh``; prefix ``l_`` or ``r_`` (the subject's left or right).

Keyframes name an ``anchor`` foot (``"both"``, ``"l"``, ``"r"`` or ``None``): the body is placed so
that this foot stays where it stood (plus ``px``, ``pz``), so a squat moves the hips back instead of
sliding the feet forward. The pelvis height puts the lowest sole at ``jump`` above the ground.

Walking, stair ascent and descent (:data:`miakit.layout.LOCOMOTION`) are continuous cycles instead: smooth
periodic curves of the sagittal hip and knee angles through published gait data, the weight
handed from foot to foot in double support, on a treadmill or a stair machine (the body stays in
front of the camera, the feet move under it). Sit-to-stand is keyframes; the seat carries the
weight while the subject sits.

World frame: metres, x towards the subject's left (image right, the subject faces the camera),
y up, z towards the camera. The camera is a pinhole at ``(0, camera_height, distance)`` looking
along -z, in portrait 1080x1920; a :class:`Camera` films from elsewhere (other views).

Measured motion (motion capture, 3D pose) becomes :class:`Kinematics` through
:func:`kinematics_from_points`, with the support read from the feet (:func:`foot_support`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from miakit.arrays import true_runs
from miakit.body.exercises import Exercise, load_exercises
from miakit.body.subjects import Subject, make_subject
from miakit.layout import ALL_EXERCISES, IMAGE_HEIGHT, IMAGE_WIDTH, KP

PARAMS: tuple[str, ...] = (
    "px",
    "pz",
    "jump",
    "sup_l",
    "sup_r",
    "yaw",
    "pitch",
    "roll",
    "twist",
    "l_ua_f",
    "l_ua_a",
    "l_fa_f",
    "l_fa_a",
    "r_ua_f",
    "r_ua_a",
    "r_fa_f",
    "r_fa_a",
    "l_th_f",
    "l_th_a",
    "l_sh_f",
    "l_sh_a",
    "r_th_f",
    "r_th_a",
    "r_sh_f",
    "r_sh_a",
)
P = {name: i for i, name in enumerate(PARAMS)}
SCALED = ("pitch", "roll", "twist", "l_ua_f", "l_ua_a", "r_ua_f", "r_ua_a", "l_th_f", "l_th_a", "r_th_f", "r_th_a")
"""Parameters scaled by the subject's range of motion: trunk, shoulders and hips. The forearm and
shank turn with their upper segment, so elbow and knee angles keep their shape."""
FOLLOWS = {
    "l_fa_f": "l_ua_f",
    "l_fa_a": "l_ua_a",
    "r_fa_f": "r_ua_f",
    "r_fa_a": "r_ua_a",
    "l_sh_f": "l_th_f",
    "l_sh_a": "l_th_a",
    "r_sh_f": "r_th_f",
    "r_sh_a": "r_th_a",
}
_SCALED_IDX = np.array([PARAMS.index(n) for n in SCALED])
_FOLLOW_IDX = np.array([[PARAMS.index(a), PARAMS.index(b)] for a, b in FOLLOWS.items()])


def scale_range(values: np.ndarray, neutral: np.ndarray, factor: np.ndarray | float) -> np.ndarray:
    """Scale the excursion of the trunk, shoulders and hips from neutral by ``factor``; the distal
    segments turn by the same amount as their upper segment. ``values`` is (..., len(PARAMS))."""
    out = values.copy()
    factor = np.asarray(factor, dtype=np.float64)
    if factor.ndim:
        factor = factor[:, None]
    out[..., _SCALED_IDX] = neutral[_SCALED_IDX] + factor * (values[..., _SCALED_IDX] - neutral[_SCALED_IDX])
    out[..., _FOLLOW_IDX[:, 0]] += out[..., _FOLLOW_IDX[:, 1]] - values[..., _FOLLOW_IDX[:, 1]]
    return out


NEUTRAL: dict[str, float] = {
    "px": 0.0,
    "pz": 0.0,
    "jump": 0.0,
    "sup_l": 0.5,
    "sup_r": 0.5,
    "yaw": 0.0,
    "pitch": 0.0,
    "roll": 0.0,
    "twist": 0.0,
    "l_ua_f": 0.0,
    "l_ua_a": 8.0,
    "l_fa_f": 12.0,
    "l_fa_a": 6.0,
    "r_ua_f": 0.0,
    "r_ua_a": 8.0,
    "r_fa_f": 12.0,
    "r_fa_a": 6.0,
    "l_th_f": 0.0,
    "l_th_a": 3.0,
    "l_sh_f": 0.0,
    "l_sh_a": 2.0,
    "r_th_f": 0.0,
    "r_th_a": 3.0,
    "r_sh_f": 0.0,
    "r_sh_a": 2.0,
}

SYNTH_EXERCISES: tuple[str, ...] = ALL_EXERCISES
"""Every exercise the generator can make: the paper's 20 (:data:`miakit.layout.EXERCISES`), then
:data:`miakit.layout.LOCOMOTION`. Seeds and session times use this order, so the first 20 are as before."""

EXERCISE_DEFS: dict[str, Exercise] = load_exercises(PARAMS, SYNTH_EXERCISES)
"""Every exercise, by id: the keyframes and gait cycles of ``exercises.yaml`` (:mod:`miakit.body.exercises`)."""

KICKING_LEG = {"leg_back": "Right", "front_kick": "Right"}
PUNCHING_ARM = {"hook_punch": "Right", "elbow_punch": "Right"}


# -- forward kinematics -----------------------------------------------------------------------------
def _rot_y(v: np.ndarray, yaw_rad: np.ndarray) -> np.ndarray:
    """Rotate (..., 3) vectors about the vertical axis by yaw (positive turns +x towards -z)."""
    c, s = np.cos(yaw_rad)[..., None], np.sin(yaw_rad)[..., None]
    x, y, z = v[..., 0:1], v[..., 1:2], v[..., 2:3]
    return np.concatenate([x * c + z * s, y, -x * s + z * c], axis=-1)


def segment_direction(flex_deg: np.ndarray, abd_deg: np.ndarray, side: float) -> np.ndarray:
    """Unit direction in the body frame from (flexion, abduction) degrees; side +1 left, -1 right."""
    f, a = np.radians(flex_deg), np.radians(abd_deg)
    return np.stack([side * np.sin(a), -np.cos(a) * np.cos(f), np.cos(a) * np.sin(f)], axis=-1)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def body_points(values: np.ndarray, subject: Subject) -> dict[str, np.ndarray]:
    """3D BODY_25 joints relative to the pelvis, from (T, len(PARAMS)) pose values.

    Returns ``joints`` (T, 25, 3), the body's ``lateral`` and ``forward`` unit vectors (T, 3) and
    the ``sole`` height of each foot relative to the pelvis (T, 2: left, right).
    """
    g = subject.segments_m
    H = subject.height_m
    v = {name: values[:, i] for i, name in enumerate(PARAMS)}
    yaw = np.radians(v["yaw"])
    shoulder_yaw = np.radians(v["yaw"] + v["twist"])
    T = values.shape[0]
    ex = np.tile([1.0, 0.0, 0.0], (T, 1))
    ez = np.tile([0.0, 0.0, 1.0], (T, 1))
    lateral, forward = _rot_y(ex, yaw), _rot_y(ez, yaw)
    s_lat, s_fwd = _rot_y(ex, shoulder_yaw), _rot_y(ez, shoulder_yaw)
    pitch, roll = np.radians(v["pitch"]), np.radians(v["roll"])
    trunk = _rot_y(np.stack([np.sin(roll), np.cos(roll) * np.cos(pitch), np.cos(roll) * np.sin(pitch)], -1), yaw)

    J = np.zeros((T, 25, 3))
    neck = g["trunk"] * trunk
    J[:, KP["Neck"]] = neck
    for side, sign in (("L", 1.0), ("R", -1.0)):
        s = side.lower()
        shoulder = neck + sign * g["shoulder_width"] / 2 * s_lat
        ua = _rot_y(segment_direction(v[f"{s}_ua_f"], v[f"{s}_ua_a"], sign), shoulder_yaw)
        fa = _rot_y(segment_direction(v[f"{s}_fa_f"], v[f"{s}_fa_a"], sign), shoulder_yaw)
        elbow = shoulder + g["upper_arm"] * ua
        J[:, KP[f"{side}Shoulder"]] = shoulder
        J[:, KP[f"{side}Elbow"]] = elbow
        J[:, KP[f"{side}Wrist"]] = elbow + g["forearm"] * fa
        hip = sign * g["hip_width"] / 2 * lateral
        th = _rot_y(segment_direction(v[f"{s}_th_f"], v[f"{s}_th_a"], sign), yaw)
        sh = _rot_y(segment_direction(v[f"{s}_sh_f"], v[f"{s}_sh_a"], sign), yaw)
        knee = hip + g["thigh"] * th
        ankle = knee + g["shank"] * sh
        J[:, KP[f"{side}Hip"]] = hip
        J[:, KP[f"{side}Knee"]] = knee
        J[:, KP[f"{side}Ankle"]] = ankle
        foot, up = 0.152 * H, np.array([0.0, 1.0, 0.0])
        sole = -0.8 * g["ankle"] * up
        J[:, KP[f"{side}Heel"]] = ankle - 0.25 * foot * forward + sole
        J[:, KP[f"{side}BigToe"]] = ankle + 0.75 * foot * forward - sign * 0.1 * foot * lateral + sole
        J[:, KP[f"{side}SmallToe"]] = ankle + 0.65 * foot * forward + sign * 0.2 * foot * lateral + sole
    head = g["head"]
    nose = neck + head * (0.8 * trunk + 0.45 * s_fwd)
    J[:, KP["Nose"]] = nose
    for side, sign in (("L", 1.0), ("R", -1.0)):
        J[:, KP[f"{side}Eye"]] = nose + head * (0.2 * trunk - 0.1 * s_fwd + sign * 0.25 * s_lat)
        J[:, KP[f"{side}Ear"]] = nose + head * (0.1 * trunk - 0.55 * s_fwd + sign * 0.6 * s_lat)
    soles = np.stack([J[:, KP["LAnkle"], 1], J[:, KP["RAnkle"], 1]], -1) - g["ankle"]
    return {"joints": J, "lateral": lateral, "forward": forward, "sole": soles}


@dataclass
class Kinematics:
    """The body in world coordinates at times ``t`` (host seconds)."""

    t: np.ndarray
    joints: np.ndarray
    """(T, 25, 3) metres, BODY_25 order."""
    lateral: np.ndarray
    """(T, 3) unit vector towards the subject's left, turned with the hips."""
    forward: np.ndarray
    """(T, 3) unit vector the hips face."""
    support: np.ndarray
    """(T, 2) share of body weight on the left and right leg (both 0 in flight)."""
    subject: Subject


@dataclass
class Motion:
    """One subject performing one exercise; ``kinematics(t)`` evaluates it at any host times."""

    exercise: str
    subject: Subject
    seed: int = 0
    start_s: float = 0.5
    """Host time the first repetition starts; before it the subject stands still."""
    tempo: float = field(init=False)
    _amp: np.ndarray = field(init=False, repr=False)
    _pace: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.exercise not in EXERCISE_DEFS:
            raise ValueError(f"unknown exercise {self.exercise!r}; expected one of {list(SYNTH_EXERCISES)}")
        rng = np.random.default_rng([self.seed, self.subject.index, SYNTH_EXERCISES.index(self.exercise), 11])
        self.tempo = self.subject.tempo * float(rng.uniform(0.93, 1.07))
        self._amp = np.clip(1.0 + 0.05 * rng.standard_normal(4096), 0.85, 1.15)
        # People do not repeat like metronomes: each repetition takes its own time (about +-8%).
        self._pace = np.clip(1.0 + 0.08 * rng.standard_normal(4096), 0.8, 1.25)

    @property
    def definition(self) -> Exercise:
        return EXERCISE_DEFS[self.exercise]

    @cached_property
    def _neutral(self) -> np.ndarray:
        return np.array([NEUTRAL[n] for n in PARAMS])

    @cached_property
    def _keys(self) -> np.ndarray:
        """(keys, params) keyframe values for this subject: range of motion applied, feet anchored."""
        neutral = self._neutral
        rows = []
        for key in self.definition.keys:
            row = neutral.copy()
            for name, value in key.pose.items():
                row[P[name]] = value
            rows.append(row)
        keys = scale_range(np.array(rows), neutral, self.subject.rom)
        base = body_points(neutral[None], self.subject)["joints"][0]
        pts = body_points(keys, self.subject)["joints"]
        for i, key in enumerate(self.definition.keys):
            ids = {"both": [KP["LAnkle"], KP["RAnkle"]], "l": [KP["LAnkle"]], "r": [KP["RAnkle"]]}.get(
                key.anchor or "", []
            )
            if ids:
                shift = base[ids].mean(0) - pts[i, ids].mean(0)
                keys[i, P["px"]] += shift[0]
                keys[i, P["pz"]] += shift[2]
        return keys

    @cached_property
    def period_s(self) -> float:
        return sum(k.move_s + k.hold_s for k in self.definition.keys) / self.tempo

    def position(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(repetition, time within it on the exercise's canonical period, before the first) at host ``t``."""
        period = sum(k.move_s + k.hold_s for k in self.definition.keys)
        u = (np.asarray(t, dtype=np.float64) - self.start_s) * self.tempo
        before = u < 0
        u = np.maximum(u, 0.0)
        if self.definition.cycle is not None:  # a gait keeps its cadence (a pace that jumped would jerk every joint)
            cycle = np.minimum(np.floor(u / period).astype(np.int64), len(self._amp) - 2)
            return cycle, u - cycle * period, before
        # repetition k lasts period * pace[k] (in the subject's tempo); r is the time within it,
        # mapped back onto the exercise's canonical period
        cycle_ends = np.cumsum(period * self._pace)
        cycle = np.minimum(np.searchsorted(cycle_ends, u, side="right"), len(self._amp) - 1)
        cycle_start = np.where(cycle > 0, cycle_ends[np.maximum(cycle - 1, 0)], 0.0)
        return cycle, np.minimum((u - cycle_start) / self._pace[cycle], period), before

    def pose(self, t: np.ndarray) -> np.ndarray:
        """(T, len(PARAMS)) pose values at host times ``t``."""
        t = np.asarray(t, dtype=np.float64)
        keys, neutral = self._keys, self._neutral
        moves = np.array([k.move_s for k in self.definition.keys])
        holds = np.array([k.hold_s for k in self.definition.keys])
        starts = np.concatenate([[0.0], np.cumsum(moves + holds)[:-1]])
        ends = starts + moves + holds
        period = float(ends[-1])
        cycle, r, before = self.position(t)
        if self.definition.cycle is not None:
            return self._cycle_pose(cycle, r / period, before)
        idx = np.minimum(np.searchsorted(ends, r, side="right"), len(keys) - 1)
        frac = np.clip((r - starts[idx]) / moves[idx], 0.0, 1.0)
        s = frac**3 * (10 - 15 * frac + 6 * frac**2)  # minimum jerk

        prev_cycle = np.where(idx == 0, cycle - 1, cycle)
        prev = keys[idx - 1].copy()  # idx - 1 == -1 wraps to the last key of the previous cycle
        prev[(idx == 0) & (cycle == 0)] = neutral
        cur = keys[idx].copy()
        yaw_step = self.definition.yaw_per_cycle
        cur[:, P["yaw"]] += cycle * yaw_step
        prev[:, P["yaw"]] += np.maximum(prev_cycle, 0) * yaw_step
        cur = scale_range(cur, neutral, self._amp[cycle])
        prev = scale_range(prev, neutral, self._amp[np.maximum(prev_cycle, 0)])
        out = prev + (cur - prev) * s[:, None]
        out[before] = neutral
        return out

    def _cycle_pose(self, cycle: np.ndarray, phase: np.ndarray, before: np.ndarray) -> np.ndarray:
        """Pose values of a continuous-cycle exercise (walking, stairs) at ``phase`` of each ``cycle``."""
        neutral = self._neutral
        out = np.tile(neutral, (len(phase), 1))
        cycle_of = self.definition.cycle
        assert cycle_of is not None, "a continuous-cycle exercise has a cycle"
        for name, value in cycle_of(np.where(before, 0.0, phase)).items():
            out[:, P[name]] = value
        # each cycle has its own range of motion, blended smoothly into the next one's
        blend = phase * phase * (3 - 2 * phase)
        amp = self._amp[cycle] * (1 - blend) + self._amp[cycle + 1] * blend
        return scale_range(out, neutral, self.subject.rom * amp)

    def kinematics(self, t: np.ndarray) -> Kinematics:
        """World joint positions and support at host times ``t``."""
        t = np.asarray(t, dtype=np.float64)
        values = self.pose(t)
        body = body_points(values, self.subject)
        J = body["joints"]
        lowest = body["sole"].min(axis=1)
        if self.definition.step_m:
            lowest = _stairs(t, body["sole"], values, self)
        elif self.definition.cycle is not None:  # walking: a soft minimum, no kink where the lowest foot changes
            tau = 0.02
            lowest = lowest - tau * np.log(np.exp(-(body["sole"] - lowest[:, None]) / tau).sum(axis=1))
        pelvis = np.stack(
            [self.subject.x_m + values[:, P["px"]], values[:, P["jump"]] - lowest, values[:, P["pz"]]], axis=-1
        )
        J = J + pelvis[:, None, :]
        support = np.clip(values[:, [P["sup_l"], P["sup_r"]]], 0.0, 1.0)
        return Kinematics(
            t=t, joints=J, lateral=body["lateral"], forward=body["forward"], support=support, subject=self.subject
        )


def _stairs(t: np.ndarray, sole: np.ndarray, values: np.ndarray, motion: Motion) -> np.ndarray:
    """(T,) the pelvis's height below the floor level, for a cycle on a stair machine: the step
    under a loaded foot moves down (ascent, ``step_m`` > 0) or up (descent) by one step per half
    cycle, so the body climbs (or descends) while staying in front of the camera. The pelvis sits
    where the loaded feet put it on their steps (their mean by load, a smooth hand-over in double
    support)."""
    d = motion.definition
    cycle, r, _ = motion.position(t)
    u = cycle + r / sum(k.move_s + k.hold_s for k in d.keys)
    w = np.clip(values[:, [P["sup_l"], P["sup_r"]]], 1e-3, None)
    floor = np.empty_like(sole)
    for col, shift in ((0, 0.5), (1, 0.0)):  # the left foot strikes half a cycle after the right
        p = np.mod(u - shift, 1.0)
        floor[:, col] = d.step_m * (0.5 - 2.0 * p)  # the step under the foot: one step per half cycle
    return -((w * (floor - sole)).sum(axis=1) / w.sum(axis=1))


# -- camera and pose estimation ---------------------------------------------------------------------
@dataclass(frozen=True)
class Camera:
    """A phone camera placed around the subject: ``yaw_deg`` round the vertical from straight in
    front (positive: towards the subject's left; 90 is a side view), ``elevation_deg`` above the
    subject's camera height (looking down at the body), ``distance_m`` from the body and
    ``focal_px``. It aims at the point the subject's own front camera aims at."""

    yaw_deg: float = 0.0
    elevation_deg: float = 0.0
    distance_m: float = 3.0
    focal_px: float = 1500.0


CAMERA_RANGE = {
    "yaw_deg": (-180.0, 180.0),
    "elevation_deg": (-5.0, 25.0),
    "distance_m": (1.8, 4.5),
    "focal_px": (1100.0, 1800.0),
}
"""Where :func:`random_camera` puts extra views: all round the subject (front, sides, back), level
to looking down from a shelf, near to far, wide to normal lenses (a phone's 0.5x to 1x, in portrait
1080x1920). The nearest, 1.8 m, is where a phone's main camera (65.5 degrees vertically) just takes
in a standing adult whole, as ``miakit import c3d``'s virtual cameras do
(:data:`miakit.importers.lab.FILL`)."""

GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0
"""Step of the golden-ratio (Weyl) sequence: k * GOLDEN mod 1 spreads any number of points evenly."""


def random_camera(rng: np.random.Generator, *, turn: float | None = None) -> Camera:
    """A camera drawn uniformly from :data:`CAMERA_RANGE`; ``turn`` in [0, 1) places it round the
    subject instead (0 in front, 0.5 behind, either side at random), so that the views of a set of
    sessions can be spread evenly rather than drawn (:func:`miakit.synth.sessions.view_camera`)."""
    values = {k: float(rng.uniform(lo, hi)) for k, (lo, hi) in CAMERA_RANGE.items()}
    if turn is not None:
        side = 1.0 if rng.random() < 0.5 else -1.0
        lo, hi = CAMERA_RANGE["yaw_deg"]
        values["yaw_deg"] = side * float(turn) * (hi - lo) / 2.0
    return Camera(**values)


def project(joints: np.ndarray, subject: Subject, camera: Camera | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pinhole projection of (..., 3) world points into portrait pixels; returns (xy, depth).

    Without a ``camera``, the subject's own: in front at ``subject.distance_m``, level, looking
    along -z (the view of the paper's recordings)."""
    if camera is not None:
        return _project_view(joints, subject, camera)
    depth = subject.distance_m - joints[..., 2]
    f = subject.focal_px
    cx, cy = subject.principal_px
    x = cx + f * joints[..., 0] / depth
    y = cy - f * (joints[..., 1] - subject.camera_height_m) / depth
    return np.stack([x, y], axis=-1), depth


def _project_view(joints: np.ndarray, subject: Subject, camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    target = np.array([0.0, subject.camera_height_m, 0.0])
    yaw, el = np.radians(camera.yaw_deg), np.radians(camera.elevation_deg)
    centre = target + camera.distance_m * np.array([np.sin(yaw) * np.cos(el), np.sin(el), np.cos(yaw) * np.cos(el)])
    fwd = (target - centre) / np.linalg.norm(target - centre)
    right = np.cross(fwd, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, fwd)
    rel = joints - centre
    depth = rel @ fwd
    cx, cy = subject.principal_px
    x = cx + camera.focal_px * (rel @ right) / depth
    y = cy - camera.focal_px * (rel @ up) / depth
    return np.stack([x, y], axis=-1), depth


BASE_SCORE = np.array(
    [
        0.92,
        0.93,
        0.9,
        0.86,
        0.8,
        0.9,
        0.86,
        0.8,
        0.9,
        0.86,
        0.87,
        0.84,
        0.86,
        0.87,
        0.84,
        0.9,
        0.9,
        0.78,
        0.78,
        0.76,
        0.72,
        0.76,
        0.76,
        0.72,
        0.76,
    ]
)
"""Typical detection confidence of each BODY_25 point (face and trunk high, ears and feet lower)."""


def estimate_keypoints(
    kin: Kinematics,
    rng: np.random.Generator,
    *,
    noise_px: float = 2.0,
    width: int = IMAGE_WIDTH,
    height: int = IMAGE_HEIGHT,
    camera: Camera | None = None,
) -> np.ndarray:
    """What a pose estimator would report: (T, 25, 3) x, y, score in pixels.

    Pixel noise is Gaussian, ``noise_px`` for a confident point and up to three times that for an
    uncertain one. A point hidden behind the torso (farther from the camera than the trunk and
    inside its outline in the image) has a lower score (about 0.45 to 0.7). A point outside the
    frame is missing: x = y = 0, score 0.
    """
    xy, depth = project(kin.joints, kin.subject, camera)
    T = xy.shape[0]
    trunk_ids = [KP["Neck"], KP["MidHip"], KP["LShoulder"], KP["RShoulder"], KP["LHip"], KP["RHip"]]
    trunk_depth = depth[:, trunk_ids].mean(axis=1, keepdims=True)
    x_lo = xy[:, trunk_ids, 0].min(axis=1, keepdims=True) - 15
    x_hi = xy[:, trunk_ids, 0].max(axis=1, keepdims=True) + 15
    y_lo = xy[:, KP["Neck"], 1][:, None] - 20
    y_hi = xy[:, KP["MidHip"], 1][:, None] + 40
    hidden = (
        (depth > trunk_depth + 0.06)
        & (xy[..., 0] > x_lo)
        & (xy[..., 0] < x_hi)
        & (xy[..., 1] > y_lo)
        & (xy[..., 1] < y_hi)
    )
    score = BASE_SCORE[None, :] + 0.04 * rng.standard_normal((T, 25))
    score = np.where(hidden, score * rng.uniform(0.55, 0.8, (T, 25)), score)
    score = np.clip(score, 0.3, 1.0)
    sigma = noise_px * (1.0 + 2.0 * (1.0 - score))
    out = np.empty((T, 25, 3))
    out[..., :2] = xy + sigma[..., None] * rng.standard_normal((T, 25, 2))
    out[..., 2] = score
    outside = (out[..., 0] < 0) | (out[..., 0] > width - 1) | (out[..., 1] < 0) | (out[..., 1] > height - 1)
    out[outside] = 0.0
    return out


# -- measured motion --------------------------------------------------------------------------------
FOOT_STILL_M_S = (0.35, 0.9)
"""A foot point slower than the first speed (m/s) is on the ground, faster than the second in the
air, in between partly: the stance foot rolls over the heel and then the toes, so the slower of
the two points is the one to ask. Swing feet move at 2 to 5 m/s in walking, stance feet near 0."""
FOOT_LIFT_M = (0.04, 0.12)
"""A foot whose lowest point is less than the first height (m) above the lowest foot point of the
moment can carry weight, more than the second cannot (a foot held still in the air)."""


def lowpass(x: np.ndarray, rate_hz: float, cutoff_hz: float = 6.0) -> np.ndarray:
    """Zero-phase 4th-order Butterworth low-pass along axis 0 (Winter's 6 Hz for gait markers).

    A gap (NaN: a marker out of sight) stays a gap: each run of finite samples of a column is
    filtered on its own, a run under 16 samples (too short for the filter's padding) left as it is."""
    from scipy.signal import butter, sosfiltfilt

    if cutoff_hz >= 0.45 * rate_hz or len(x) < 16:
        return x
    sos = butter(4, cutoff_hz, fs=rate_hz, output="sos")
    if np.isfinite(x).all():
        return sosfiltfilt(sos, x, axis=0)
    flat = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    out = flat.copy()
    for k in range(flat.shape[1]):
        for start, stop in true_runs(np.isfinite(flat[:, k])):
            if stop - start >= 16:
                out[start:stop, k] = sosfiltfilt(sos, flat[start:stop, k])
    return out.reshape(np.shape(x))


def foot_support(t: np.ndarray, joints: np.ndarray) -> np.ndarray:
    """(T, 2) share of the body weight on the left and right foot, from the feet's motion alone.

    A foot carries weight when one of its points (heel or big toe) is still and low (see
    :data:`FOOT_STILL_M_S`, :data:`FOOT_LIFT_M`). Two loaded feet share the weight by how near each
    is to the ground point below the body's centre (the pelvis): in double support the weight
    passes from the trailing foot to the leading one as the body moves over it.
    """
    dt = float(np.median(np.diff(t)))
    contact, dist = [], []
    lowest = np.nanmin(joints[:, [KP[n] for n in ("LHeel", "LBigToe", "RHeel", "RBigToe")], 1], axis=1)
    pelvis = joints[:, KP["MidHip"]]
    for side in "LR":
        pts = joints[:, [KP[f"{side}Heel"], KP[f"{side}BigToe"]]]
        speed = np.linalg.norm(np.gradient(pts, dt, axis=0), axis=-1).min(axis=1)
        lo, hi = FOOT_STILL_M_S
        still = np.clip((hi - speed) / (hi - lo), 0.0, 1.0)
        lift = pts[..., 1].min(axis=1) - lowest
        low = np.clip((FOOT_LIFT_M[1] - lift) / (FOOT_LIFT_M[1] - FOOT_LIFT_M[0]), 0.0, 1.0)
        contact.append(still * low)
        centre = pts.mean(axis=1)
        dist.append(np.hypot(centre[:, 0] - pelvis[:, 0], centre[:, 2] - pelvis[:, 2]))
    c, d = np.stack(contact, -1), np.stack(dist, -1)
    weight = c / (d + 0.1)
    total = weight.sum(axis=1, keepdims=True)
    share = np.where(total > 0, weight / np.maximum(total, 1e-9), 0.0)
    return share * np.clip(c.max(axis=1, keepdims=True) * 2.0, 0.0, 1.0)


def kinematics_from_points(
    t: np.ndarray, joints: np.ndarray, *, mass_kg: float = 70.0, subject: Subject | None = None, cutoff_hz: float = 6.0
) -> Kinematics:
    """Kinematics of measured 3D joint centres (motion capture, or 3D pose), for the muscle model.

    ``joints`` is (T, 25, 3) metres in BODY_25 order in a y-up frame (x, z horizontal), at times
    ``t`` (a uniform grid). Markers are low-passed (``cutoff_hz``), the body's lateral axis runs
    from the right hip to the left (horizontal), forward is lateral x up, the support comes from
    the feet (:func:`foot_support`) and the segment lengths of the subject are the measured ones
    (medians), its mass ``mass_kg`` (or a given ``subject``'s).
    """
    from dataclasses import replace

    t = np.asarray(t, dtype=np.float64)
    rate = 1.0 / float(np.median(np.diff(t)))
    J = lowpass(np.asarray(joints, dtype=np.float64), rate, cutoff_hz)
    lat = J[:, KP["LHip"]] - J[:, KP["RHip"]]
    lat[:, 1] = 0.0
    lat = _unit(lat)
    forward = np.cross(lat, np.array([0.0, 1.0, 0.0]))
    if subject is None:
        base = make_subject(0)
        seg = dict(base.segments_m)

        def length(name: str, a: str, b: str) -> float:  # the drawn subject's where the markers lack it
            d = np.linalg.norm(J[:, KP[a]] - J[:, KP[b]], axis=-1)
            return float(np.nanmedian(d)) if np.isfinite(d).any() else seg[name]

        seg.update(
            upper_arm=length("upper_arm", "RShoulder", "RElbow"),
            forearm=length("forearm", "RElbow", "RWrist"),
            thigh=length("thigh", "RHip", "RKnee"),
            shank=length("shank", "RKnee", "RAnkle"),
        )
        subject = replace(
            base, mass_kg=mass_kg, segments_m=seg, height_m=round((seg["thigh"] + seg["shank"]) / 0.53, 3)
        )
    return Kinematics(t=t, joints=J, lateral=lat, forward=forward, support=foot_support(t, J), subject=subject)
