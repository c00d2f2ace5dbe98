"""3D kinematics of the 20 exercises (and of walking, stairs and sit-to-stand), projected by a
portrait camera into BODY_25 pixels; measured 3D motion as kinematics for the muscle model.

Each exercise is a cycle of keyframes: ``(move_s, hold_s, pose)``. The body moves from the
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

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from miakit.body.subjects import Subject
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
MIRRORED_SIGN = ("px", "yaw", "roll", "twist")


def mirror(pose: dict[str, float]) -> dict[str, float]:
    """The same pose with left and right swapped (lateral quantities change sign)."""
    out = {}
    for name, value in pose.items():
        if name in MIRRORED_SIGN:
            out[name] = -value
        elif name.startswith(("l_", "r_")):
            out[("r_" if name[0] == "l" else "l_") + name[2:]] = value
        elif name == "sup_l":
            out["sup_r"] = value
        elif name == "sup_r":
            out["sup_l"] = value
        else:
            out[name] = value
    return out


def arms(side: str, ua: tuple[float, float], fa: tuple[float, float]) -> dict[str, float]:
    return {f"{side}_ua_f": ua[0], f"{side}_ua_a": ua[1], f"{side}_fa_f": fa[0], f"{side}_fa_a": fa[1]}


def legs(side: str, th: tuple[float, float], sh: tuple[float, float]) -> dict[str, float]:
    return {f"{side}_th_f": th[0], f"{side}_th_a": th[1], f"{side}_sh_f": sh[0], f"{side}_sh_a": sh[1]}


def both(fn, *args) -> dict[str, float]:
    """The same limb setting on both sides."""
    return {**fn("l", *args), **fn("r", *args)}


def on(side: str) -> dict[str, float]:
    """All the body weight on one leg."""
    return {"sup_l": 1.0, "sup_r": 0.0} if side == "l" else {"sup_l": 0.0, "sup_r": 1.0}


AIR = {"sup_l": 0.0, "sup_r": 0.0}


@dataclass(frozen=True)
class Key:
    """One keyframe: move there in ``move_s``, then hold for ``hold_s``."""

    move_s: float
    hold_s: float
    pose: dict[str, float]
    anchor: str | None = "both"


@dataclass(frozen=True)
class Exercise:
    name: str
    keys: tuple[Key, ...]
    description: str
    yaw_per_cycle: float = 0.0
    """Degrees the body turns per cycle (a pirouette turns a full circle and keeps turning)."""
    cycle: Callable[[np.ndarray], dict[str, np.ndarray]] | None = None
    """A continuous cycle instead of keyframes (walking, stairs): pose values at phases in [0, 1);
    the keys then only give the cycle's duration."""
    step_m: float = 0.0
    """Height of a stair step: the cycle's feet stand on a stair machine's steps (see :func:`_stairs`)."""


def _k(move_s: float, hold_s: float, *parts: dict[str, float], anchor: str | None = "both") -> Key:
    pose: dict[str, float] = {}
    for part in parts:
        pose.update(part)
    return Key(move_s, hold_s, pose, anchor)


def _mk(move_s: float, hold_s: float, key: Key) -> Key:
    """The mirror image of a keyframe, with new timing."""
    anchor = {"l": "r", "r": "l"}.get(key.anchor, key.anchor)  # type: ignore[arg-type]
    return Key(move_s, hold_s, mirror(key.pose), anchor)


GUARD = both(arms, (30, 15), (160, -15))
"""Fists up by the chin, elbows down: the boxing guard."""


def _exercises() -> dict[str, Exercise]:
    ex: list[Exercise] = []
    # -- whole body ---------------------------------------------------------------------------
    half = _k(0.2, 0.0, both(arms, (0, 90), (0, 95)), both(legs, (0, 8), (0, 8)), {"jump": 0.08}, AIR)
    ex.append(
        Exercise(
            "jumping_jack",
            (
                _k(0.22, 0.05, {}),
                half,
                _k(0.2, 0.08, both(arms, (0, 165), (0, 172)), both(legs, (0, 15), (0, 15))),
                half,
            ),
            "jump to arms up and feet apart, jump back",
        )
    )
    r_run = _k(
        0.2,
        0.0,
        legs("r", (60, 3), (-40, 2)),
        legs("l", (-12, 3), (-45, 2)),
        arms("r", (-30, 10), (60, 5)),
        arms("l", (40, 10), (125, -5)),
        on("l"),
        {"pitch": 8},
        anchor="l",
    )
    fly = _k(
        0.1,
        0.0,
        legs("r", (20, 3), (-30, 2)),
        legs("l", (20, 3), (-30, 2)),
        {"jump": 0.06, "pitch": 8},
        AIR,
        anchor=None,
    )
    ex.append(Exercise("running", (r_run, fly, _mk(0.2, 0.0, r_run), fly), "running on the spot"))
    sh_out = _k(0.35, 0.1, {"px": -0.2, "pitch": 20}, both(legs, (30, 16), (-22, 14)), both(arms, (40, 20), (100, 0)))
    sh_in = _k(
        0.3,
        0.05,
        {"px": 0.0, "pitch": 20, "jump": 0.03},
        both(legs, (25, 4), (-20, 3)),
        both(arms, (40, 20), (100, 0)),
        AIR,
    )
    sh_far = _k(0.35, 0.1, {"px": 0.2, "pitch": 20}, both(legs, (30, 16), (-22, 14)), both(arms, (40, 20), (100, 0)))
    ex.append(
        Exercise(
            "side_shuffle",
            (
                sh_out,
                sh_in,
                sh_far,
                _k(0.3, 0.05, {**sh_in.pose, "px": 0.0}),
            ),
            "shuffle sideways with bent knees, out and back",
        )
    )
    cross = _k(
        0.22, 0.1, legs("l", (8, -10), (8, -12)), legs("r", (-4, -8), (-4, -10)), both(arms, (60, -30), (70, -40))
    )
    ex.append(
        Exercise(
            "feet_cross",
            (
                cross,
                _k(
                    0.15,
                    0.0,
                    both(legs, (0, 10), (0, 10)),
                    both(arms, (40, 40), (40, 40)),
                    {"jump": 0.07},
                    AIR,
                    anchor=None,
                ),
                _mk(0.15, 0.1, cross),
                _k(
                    0.15,
                    0.0,
                    both(legs, (0, 10), (0, 10)),
                    both(arms, (40, 40), (40, 40)),
                    {"jump": 0.07},
                    AIR,
                    anchor=None,
                ),
            ),
            "small jumps crossing the feet, left in front then right in front",
        )
    )
    # -- legs ---------------------------------------------------------------------------------
    ex.append(
        Exercise(
            "squat",
            (
                _k(1.0, 0.8, {"pitch": 35}, both(legs, (88, 12), (-18, 8)), both(arms, (90, 5), (90, 5))),
                _k(0.9, 0.6, {}),
            ),
            "squat to thighs level, hold, stand",
        )
    )
    lunge = _k(
        0.9,
        1.2,
        {"pitch": 28, "px": 0.15},
        legs("l", (70, 40), (-10, 25)),
        legs("r", (0, 55), (0, 55)),
        both(arms, (70, 10), (80, 0)),
        {"sup_l": 0.85, "sup_r": 0.15},
    )
    ex.append(Exercise("side_lunge", (lunge, _k(0.8, 0.6, {})), "lunge to the left on a bent left knee, hold, return"))
    skate = _k(
        0.35,
        0.45,
        {"px": -0.35, "pitch": 30},
        legs("r", (14, 2), (-2, 2)),
        legs("l", (-25, -15), (-85, -5)),
        arms("l", (60, 10), (70, 0)),
        arms("r", (-40, 10), (-30, 5)),
        on("r"),
        anchor="r",
    )
    skate_air = _k(0.2, 0.0, {"px": 0.0, "pitch": 25, "jump": 0.1}, both(legs, (10, 4), (-20, 3)), AIR, anchor=None)
    ex.append(
        Exercise(
            "skater",
            (skate, skate_air, _mk(0.35, 0.45, skate), skate_air),
            "hop from leg to leg, the free leg swung behind with a bent knee",
        )
    )
    kick = _k(
        0.45,
        0.05,
        legs("r", (95, 4), (95, 4)),
        arms("l", (70, 10), (75, 5)),
        arms("r", (20, 40), (25, 40)),
        on("l"),
        anchor="l",
    )
    ex.append(
        Exercise(
            "high_kick",
            (
                _k(0.5, 0.2, {}),
                kick,
                _k(0.45, 0.4, {}),
                _mk(0.45, 0.05, kick),
                _k(0.45, 0.3, {}),
            ),
            "swing a straight leg up in front, alternating legs",
        )
    )
    ex.append(
        Exercise(
            "leg_back",
            (
                _k(0.6, 0.2, {}),
                _k(
                    0.7,
                    1.2,
                    {"pitch": 20},
                    legs("r", (-45, 5), (-80, 5)),
                    both(arms, (60, 10), (70, 0)),
                    on("l"),
                    anchor="l",
                ),
                _k(0.7, 0.3, {}),
            ),
            "kick the right leg back and up, knee bent, hold, lower",
        )
    )
    chamber = _k(0.45, 0.05, legs("r", (80, 4), (-5, 3)), GUARD, on("l"), anchor="l")
    ex.append(
        Exercise(
            "front_kick",
            (
                _k(0.4, 0.3, GUARD),
                chamber,
                _k(0.22, 0.12, legs("r", (85, 4), (80, 4)), GUARD, on("l"), anchor="l"),
                _k(0.3, 0.05, chamber.pose, anchor="l"),
                _k(0.45, 0.4, GUARD),
            ),
            "raise the right knee, snap the lower leg forward, retract, lower",
        )
    )
    knee = _k(
        0.35, 0.1, legs("r", (100, 4), (-15, 3)), both(arms, (60, 10), (10, 0)), {"pitch": 10}, on("l"), anchor="l"
    )
    ex.append(
        Exercise(
            "knee_kick",
            (
                knee,
                _k(0.4, 0.3, GUARD),
                _mk(0.35, 0.1, knee),
                _k(0.4, 0.3, GUARD),
            ),
            "drive a knee up while pulling the hands down, alternating",
        )
    )
    ex.append(
        Exercise(
            "pirouette",
            (
                _k(0.5, 0.3, {}),
                _k(0.5, 0.1, legs("r", (50, 45), (-40, 10)), both(arms, (70, 30), (80, -60)), on("l"), anchor="l"),
                _k(
                    1.4,
                    0.1,
                    legs("r", (50, 45), (-40, 10)),
                    both(arms, (70, 30), (80, -60)),
                    on("l"),
                    {"yaw": 360},
                    anchor="l",
                ),
                _k(0.5, 0.6, {"yaw": 360}),
            ),
            "turn a full circle on the left leg, right foot at the knee",
            yaw_per_cycle=360.0,
        )
    )
    # -- arms ---------------------------------------------------------------------------------
    jab = _k(0.2, 0.1, GUARD, arms("r", (85, -5), (85, -8)), {"twist": 15})
    ex.append(
        Exercise(
            "front_punch",
            (
                jab,
                _k(0.3, 0.25, GUARD),
                _mk(0.2, 0.1, jab),
                _k(0.3, 0.25, GUARD),
            ),
            "straight punches from the guard, alternating arms",
        )
    )
    ex.append(
        Exercise(
            "hook_punch",
            (
                _k(0.4, 0.5, GUARD),
                _k(0.25, 1.0, GUARD, arms("r", (120, 50), (95, -45)), {"twist": 25}),
                _k(0.4, 0.3, GUARD),
            ),
            "right hook: the elbow swings up and out, the fist stops in front of the chest",
        )
    )
    ex.append(
        Exercise(
            "elbow_punch",
            (
                _k(0.4, 0.5, GUARD),
                _k(0.3, 0.8, GUARD, arms("r", (90, -15), (285, -30)), {"twist": 30}),
                _k(0.4, 0.3, GUARD),
            ),
            "right elbow strike: the folded arm comes up, the elbow level with the shoulder",
        )
    )
    ex.append(
        Exercise(
            "twist",
            (
                _k(0.5, 0.1, {"twist": 45}, both(arms, (20, 80), (90, 20)), both(legs, (15, 5), (-15, 4))),
                _k(0.6, 0.1, {"twist": -45}, both(arms, (20, 80), (90, 20)), both(legs, (15, 5), (-15, 4))),
            ),
            "rotate the shoulders left and right, elbows out",
        )
    )
    ex.append(
        Exercise(
            "batting",
            (
                _k(
                    0.8,
                    0.6,
                    {"twist": 25, "pitch": 20},
                    arms("r", (40, 40), (150, -30)),
                    arms("l", (60, -30), (140, -40)),
                    both(legs, (20, 14), (-10, 14)),
                    {"sup_l": 0.35, "sup_r": 0.65},
                ),
                _k(
                    0.35,
                    0.3,
                    {"twist": -70, "pitch": 20},
                    arms("r", (85, -30), (85, -30)),
                    arms("l", (85, 20), (85, 20)),
                    both(legs, (20, 14), (-10, 14)),
                    {"sup_l": 0.75, "sup_r": 0.25},
                ),
                _k(0.8, 0.4, {}),
            ),
            "load on the back leg, swing a bat round, recover",
        )
    )
    ex.append(
        Exercise(
            "ball_throw",
            (
                _k(
                    0.7,
                    0.3,
                    {"twist": 35, "pitch": -5},
                    arms("r", (-20, 80), (160, 20)),
                    arms("l", (80, 10), (80, 10)),
                    {"sup_l": 0.2, "sup_r": 0.8},
                ),
                _k(
                    0.3,
                    0.15,
                    {"twist": -30, "pitch": 25},
                    arms("r", (100, 20), (80, -10)),
                    arms("l", (20, 20), (60, -20)),
                    legs("l", (30, 4), (0, 3)),
                    {"sup_l": 0.8, "sup_r": 0.2},
                    anchor="r",
                ),
                _k(0.8, 0.6, {}),
            ),
            "overhand throw with the right arm, stepping onto the left leg",
        )
    )
    ex.append(
        Exercise(
            "bowling",
            (
                _k(0.8, 0.1, {"pitch": 20}, arms("r", (-60, 5), (-55, 5)), both(legs, (15, 4), (-15, 3))),
                _k(
                    0.6,
                    0.2,
                    {"pitch": 35},
                    arms("r", (55, 0), (60, 0)),
                    arms("l", (30, 50), (30, 50)),
                    legs("l", (60, 4), (-10, 3)),
                    legs("r", (-20, 3), (-60, 2)),
                    {"sup_l": 0.85, "sup_r": 0.15},
                    anchor="r",
                ),
                _k(0.9, 0.6, {}),
            ),
            "swing the right arm back, step into a lunge and release underhand",
        )
    )
    ex.append(
        Exercise(
            "woodchop",
            (
                _k(0.7, 0.2, {"twist": -30}, arms("r", (150, 30), (150, 30)), arms("l", (150, -20), (150, -20))),
                _k(
                    0.6,
                    0.3,
                    {"twist": 30, "pitch": 35},
                    arms("r", (45, -25), (45, -25)),
                    arms("l", (45, 25), (45, 25)),
                    both(legs, (45, 8), (-20, 6)),
                ),
            ),
            "both arms chop diagonally from high right to low left",
        )
    )
    ex += _locomotion()
    table = {e.name: e for e in ex}
    missing = set(SYNTH_EXERCISES) ^ set(table)
    if missing:  # a programming error, checked once at import of this module
        raise RuntimeError(f"exercise definitions do not match SYNTH_EXERCISES: {sorted(missing)}")
    return table


"""Everyday movements beside the paper's 20, whose muscle timing real gait-lab recordings show."""
SYNTH_EXERCISES: tuple[str, ...] = ALL_EXERCISES
"""Every exercise the generator can make: the paper's 20 (:data:`miakit.layout.EXERCISES`), then
:data:`miakit.layout.LOCOMOTION`. Seeds and session times use this order, so the first 20 are as before."""


def _periodic(table: dict[float, float]) -> Callable[[np.ndarray], np.ndarray]:
    """A smooth periodic curve through ``{percent of the cycle: value}`` (a periodic cubic spline)."""
    from scipy.interpolate import CubicSpline

    x = np.array(sorted(table)) / 100.0
    y = np.array([table[k] for k in sorted(table)])
    spline = CubicSpline(np.append(x, x[0] + 1.0), np.append(y, y[0]), bc_type="periodic")
    return lambda phase: spline(np.mod(phase - x[0], 1.0) + x[0])


def _support(stance_end: float, double: float) -> Callable[[np.ndarray], np.ndarray]:
    """One foot's share of the weight over its gait cycle: taken over in the first ``double`` of
    the cycle after its heel strike, carried alone, handed over from ``stance_end - double`` to
    ``stance_end`` (toe off)."""

    def share(phase: np.ndarray) -> np.ndarray:
        p = np.mod(phase, 1.0)
        up = np.clip(p / double, 0.0, 1.0)
        down = np.clip((stance_end - p) / double, 0.0, 1.0)
        s = np.minimum(up, down)
        return s * s * (3 - 2 * s)

    return share


def _gait(
    hip: dict[float, float],
    knee: dict[float, float],
    *,
    stance_end: float,
    double: float,
    arm_swing: float,
    pitch: float,
) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
    """A symmetric gait from the sagittal hip and knee angles of one leg over its cycle (from its
    heel strike, degrees: hip flexion, knee flexion); the left leg runs half a cycle later, each
    arm swings with the opposite leg."""
    hip_f, knee_f, support = _periodic(hip), _periodic(knee), _support(stance_end, double)

    def cycle(phase: np.ndarray) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {"pitch": np.full_like(phase, pitch)}
        for side, shift in (("r", 0.0), ("l", 0.5)):
            ph = phase - shift
            th = hip_f(ph)
            out[f"{side}_th_f"], out[f"{side}_sh_f"] = th, th - knee_f(ph)
            out[f"sup_{side}"] = support(ph)
            arm = arm_swing * np.cos(2 * np.pi * (ph - 0.42))  # the arm swings back as its leg swings forward
            out[f"{side}_ua_f"], out[f"{side}_fa_f"] = arm, arm + 15.0 + 0.5 * np.clip(arm, 0.0, None)
        return out

    return cycle


def _locomotion() -> list[Exercise]:
    """Walking and stairs as continuous cycles (angles after Winter's and Riener's gait data:
    sagittal hip and knee flexion of one leg from its heel strike), sit-to-stand as keyframes."""
    walk = _gait(
        {0: 25, 15: 20, 30: 8, 50: -12, 62: -5, 75: 18, 87: 27},
        {0: 5, 15: 18, 30: 10, 45: 6, 62: 38, 72: 60, 87: 30},
        stance_end=0.62,
        double=0.12,
        arm_swing=14.0,
        pitch=3.0,
    )
    up = _gait(
        {0: 60, 20: 45, 40: 20, 60: 10, 70: 35, 85: 65},
        {0: 60, 20: 45, 40: 15, 60: 12, 72: 70, 82: 95, 92: 80},
        stance_end=0.64,
        double=0.14,
        arm_swing=8.0,
        pitch=10.0,
    )
    down = _gait(
        {0: 15, 20: 10, 40: 15, 60: 30, 75: 35, 90: 25},
        {0: 10, 15: 22, 40: 40, 60: 85, 70: 90, 85: 40},
        stance_end=0.62,
        double=0.12,
        arm_swing=8.0,
        pitch=5.0,
    )
    seated = {
        "pitch": 10.0,
        **both(legs, (90, 6), (-5, 4)),
        **both(arms, (15, 10), (60, 5)),
        "sup_l": 0.1,
        "sup_r": 0.1,
    }
    return [
        Exercise("walking", (Key(1.05, 0.0, {}, None),), "walking on a treadmill, facing the camera", cycle=walk),
        Exercise(
            "stair_ascent",
            (Key(1.3, 0.0, {}, None),),
            "climbing stairs step over step (a stair machine)",
            cycle=up,
            step_m=0.17,
        ),
        Exercise(
            "stair_descent", (Key(1.2, 0.0, {}, None),), "walking down stairs step over step", cycle=down, step_m=-0.17
        ),
        Exercise(
            "sit_to_stand",
            (
                _k(0.9, 0.8, seated),
                _k(
                    0.45,
                    0.0,
                    {"pitch": 40.0},
                    both(legs, (85, 6), (-8, 4)),
                    both(arms, (40, 10), (70, 5)),
                    {"sup_l": 0.5, "sup_r": 0.5},
                ),
                _k(0.8, 1.2, {}),
                _k(
                    0.5,
                    0.0,
                    {"pitch": 38.0},
                    both(legs, (80, 6), (-10, 4)),
                    both(arms, (40, 10), (70, 5)),
                    {"sup_l": 0.5, "sup_r": 0.5},
                ),
            ),
            "stand up from a chair without the hands, stand, sit down again: the seat carries the weight while seated",
        ),
    ]


EXERCISE_DEFS: dict[str, Exercise] = _exercises()
"""The 20 exercises, by id."""

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
        for name, value in self.definition.cycle(np.where(before, 0.0, phase)).items():
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
    """Zero-phase 4th-order Butterworth low-pass along axis 0 (Winter's 6 Hz for gait markers)."""
    from scipy.signal import butter, sosfiltfilt

    if cutoff_hz >= 0.45 * rate_hz or len(x) < 16:
        return x
    return sosfiltfilt(butter(4, cutoff_hz, fs=rate_hz, output="sos"), x, axis=0)


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

    from miakit.body.subjects import make_subject

    t = np.asarray(t, dtype=np.float64)
    rate = 1.0 / float(np.median(np.diff(t)))
    J = lowpass(np.asarray(joints, dtype=np.float64), rate, cutoff_hz)
    lat = J[:, KP["LHip"]] - J[:, KP["RHip"]]
    lat[:, 1] = 0.0
    lat = _unit(lat)
    forward = np.cross(lat, np.array([0.0, 1.0, 0.0]))
    if subject is None:

        def length(a: str, b: str) -> float:
            return float(np.nanmedian(np.linalg.norm(J[:, KP[a]] - J[:, KP[b]], axis=-1)))

        base = make_subject(0)
        seg = dict(base.segments_m)
        seg.update(
            upper_arm=length("RShoulder", "RElbow"),
            forearm=length("RElbow", "RWrist"),
            thigh=length("RHip", "RKnee"),
            shank=length("RKnee", "RAnkle"),
        )
        subject = replace(
            base, mass_kg=mass_kg, segments_m=seg, height_m=round((seg["thigh"] + seg["shank"]) / 0.53, 3)
        )
    return Kinematics(t=t, joints=J, lateral=lat, forward=forward, support=foot_support(t, J), subject=subject)
