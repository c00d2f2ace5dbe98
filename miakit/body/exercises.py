"""The exercises as data: ``exercises.yaml`` (its header explains the format) read into
:class:`Exercise` definitions, keyframes and gait cycles, for :mod:`miakit.body.motion`.

The file holds the numbers; this module holds what turns them into motion parameters: the pose
vocabulary (arms, legs, the weight on one leg, mirror images) and the gait cycle built from the
hip and knee curves (:func:`gait_cycle`). A value reads as the same float (or int) the Python table
it replaced held: YAML's ``0.22`` is Python's ``0.22``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from miakit.errors import InputError
from miakit.safe_yaml import read_yaml

EXERCISES_FILE = Path(__file__).with_name("exercises.yaml")
"""The exercise table shipped in the package."""

ANCHORS = ("both", "l", "r", None)
MIRRORED_SIGN = ("px", "yaw", "roll", "twist")
"""Lateral quantities: their sign changes in a mirror image."""


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
    """Height of a stair step: the cycle's feet stand on a stair machine's steps (see
    :func:`miakit.body.motion._stairs`)."""


# -- the pose vocabulary ----------------------------------------------------------------------------
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


def arms(side: str, ua: Sequence[float], fa: Sequence[float]) -> dict[str, float]:
    """One arm's upper arm and forearm directions, each ``(flexion, abduction)``."""
    return {f"{side}_ua_f": ua[0], f"{side}_ua_a": ua[1], f"{side}_fa_f": fa[0], f"{side}_fa_a": fa[1]}


def legs(side: str, th: Sequence[float], sh: Sequence[float]) -> dict[str, float]:
    """One leg's thigh and shank directions, each ``(flexion, abduction)``."""
    return {f"{side}_th_f": th[0], f"{side}_th_a": th[1], f"{side}_sh_f": sh[0], f"{side}_sh_a": sh[1]}


def both(fn, *args) -> dict[str, float]:
    """The same limb setting on both sides."""
    return {**fn("l", *args), **fn("r", *args)}


def on(side: str) -> dict[str, float]:
    """All the body weight on one leg."""
    return {"sup_l": 1.0, "sup_r": 0.0} if side == "l" else {"sup_l": 0.0, "sup_r": 1.0}


def mirrored(key: Key, move_s: float, hold_s: float) -> Key:
    """The mirror image of a keyframe, with new timing."""
    anchor = {"l": "r", "r": "l"}.get(key.anchor, key.anchor)  # type: ignore[arg-type]
    return Key(move_s, hold_s, mirror(key.pose), anchor)


# -- gait cycles ------------------------------------------------------------------------------------
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


def gait_cycle(
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


# -- the loader -------------------------------------------------------------------------------------
def load_exercises(
    params: Sequence[str], names: Sequence[str], path: str | Path = EXERCISES_FILE
) -> dict[str, Exercise]:
    """The exercises of ``path`` by id, in the file's order. ``params`` are the pose parameters a
    pose may set, ``names`` the exercises the file must define (every one, no other); anything
    else is an :class:`~miakit.errors.InputError` naming the file and the exercise."""
    data = read_yaml(path)
    if not isinstance(data, dict) or set(data) != {"poses", "exercises"}:
        raise InputError(path, "expected the mappings poses and exercises")
    table = _Table(path, set(params), data["poses"])
    exercises = {name: table.exercise(name, spec) for name, spec in data["exercises"].items()}
    wrong = set(names) ^ set(exercises)
    if wrong:
        raise InputError(path, f"exercise definitions do not match SYNTH_EXERCISES: {sorted(wrong)}")
    return exercises


class _Table:
    """Reads one ``exercises.yaml``: its named poses, then each exercise."""

    def __init__(self, path: str | Path, params: set[str], poses: dict[str, Any]):
        self.path, self.params, self.poses = path, params, poses

    def _fail(self, where: str, problem: str) -> InputError:
        return InputError(self.path, f"{where}: {problem}")

    def exercise(self, name: str, spec: dict[str, Any]) -> Exercise:
        extra = set(spec) - {"description", "keys", "cycle", "yaw_per_cycle", "gait", "step_m"}
        if extra:
            raise self._fail(name, f"unknown fields {sorted(extra)}")
        keys = {key: self.key(f"{name}.keys.{key}", item) for key, item in (spec.get("keys") or {}).items()}
        cycle = tuple(self.cycle_key(f"{name}.cycle[{i}]", item, keys) for i, item in enumerate(spec["cycle"]))
        gait = spec.get("gait")
        extras: dict[str, Any] = {}
        if "yaw_per_cycle" in spec:
            extras["yaw_per_cycle"] = spec["yaw_per_cycle"]
        if gait is not None:
            extras["cycle"] = gait_cycle(**gait)
        if "step_m" in spec:
            extras["step_m"] = spec["step_m"]
        return Exercise(name, cycle, spec["description"], **extras)

    def cycle_key(self, where: str, item: Any, keys: dict[str, Key]) -> Key:
        """One keyframe of a cycle: inline, a named key, or a named key retimed or mirrored."""
        if isinstance(item, str):
            return self._named(where, item, keys)
        if "key" in item:
            key = self._named(where, item["key"], keys)
            return Key(item["move"], item["hold"], key.pose, key.anchor)
        if "mirror" in item:
            return mirrored(self._named(where, item["mirror"], keys), item["move"], item["hold"])
        return self.key(where, item)

    def _named(self, where: str, name: str, keys: dict[str, Key]) -> Key:
        if name not in keys:
            raise self._fail(where, f"no keyframe {name!r} in this exercise's keys")
        return keys[name]

    def key(self, where: str, item: dict[str, Any]) -> Key:
        extra = set(item) - {"move", "hold", "pose", "anchor"}
        if extra:
            raise self._fail(where, f"unknown fields {sorted(extra)}")
        anchor = item.get("anchor", "both")
        if anchor not in ANCHORS:
            raise self._fail(where, f"anchor {anchor!r} is not one of {list(ANCHORS)}")
        return Key(item["move"], item["hold"], self.pose(where, item.get("pose") or []), anchor)

    def pose(self, where: str, parts: list[Any]) -> dict[str, float]:
        """The parts applied in order, a later one overriding an earlier one."""
        pose: dict[str, float] = {}
        for part in parts:
            pose.update(self.part(where, part))
        return pose

    def part(self, where: str, part: Any) -> dict[str, float]:
        if isinstance(part, str):
            if part not in self.poses:
                raise self._fail(where, f"no pose {part!r} under poses")
            return self.pose(f"poses.{part}", self.poses[part])
        if "arms" in part or "legs" in part:
            limb, first, second = ("arms", "ua", "fa") if "arms" in part else ("legs", "th", "sh")
            fn = arms if limb == "arms" else legs
            side = part[limb]
            if side == "both":
                return both(fn, part[first], part[second])
            if side not in ("l", "r"):
                raise self._fail(where, f"{limb}: {side!r} is not l, r or both")
            return fn(side, part[first], part[second])
        if "stand_on" in part:
            if part["stand_on"] not in ("l", "r"):
                raise self._fail(where, f"stand_on: {part['stand_on']!r} is not l or r")
            return on(part["stand_on"])
        unknown = set(part) - self.params
        if unknown:
            raise self._fail(where, f"unknown pose parameters {sorted(unknown)}")
        return dict(part)
