"""The exercise table as data: exercises.yaml, read by miakit.body.exercises, and what a broken one says."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from miakit.body.exercises import EXERCISES_FILE, Key, load_exercises, mirror
from miakit.body.motion import EXERCISE_DEFS, NEUTRAL, PARAMS, SYNTH_EXERCISES
from miakit.errors import InputError

REPO = Path(__file__).resolve().parents[3]


def test_every_exercise_is_read_and_the_file_ships_in_the_package():
    assert sorted(EXERCISE_DEFS) == sorted(SYNTH_EXERCISES)
    assert EXERCISES_FILE.parent == REPO / "miakit" / "body"
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert EXERCISES_FILE.match(package_data["miakit.body"][0])
    for exercise in EXERCISE_DEFS.values():
        assert exercise.keys and exercise.description
        for key in exercise.keys:
            assert key.move_s > 0 and key.hold_s >= 0 and set(key.pose) <= set(PARAMS)


def test_parts_apply_in_order_and_named_keys_are_mirrored_or_retimed():
    # front_kick: the guard's right arm stays (the leg part names no arm), the weight is on the left leg
    chamber = EXERCISE_DEFS["front_kick"].keys[1]
    assert chamber == Key(0.45, 0.05, chamber.pose, "l")
    assert chamber.pose["r_th_f"] == 80 and chamber.pose["r_ua_f"] == 30 and chamber.pose["r_fa_f"] == 160
    assert (chamber.pose["sup_l"], chamber.pose["sup_r"]) == (1.0, 0.0)
    # {key: chamber, move: 0.3, hold: 0.05}: the same pose and anchor, new timing
    assert EXERCISE_DEFS["front_kick"].keys[3] == Key(0.3, 0.05, chamber.pose, "l")
    # {mirror: r_run}: left and right swapped, lateral values negated, the anchor foot swapped
    r_run, _, l_run, _ = EXERCISE_DEFS["running"].keys
    assert l_run == Key(0.2, 0.0, mirror(r_run.pose), "r")
    assert l_run.pose["l_th_f"] == r_run.pose["r_th_f"] == 60 and l_run.pose["sup_r"] == 1.0
    # a later part overrides an earlier one: the jab's right arm replaces the guard's
    jab = EXERCISE_DEFS["front_punch"].keys[0]
    assert (jab.pose["r_ua_f"], jab.pose["l_ua_f"], jab.pose["twist"]) == (85, 30, 15)
    # an empty pose is the neutral stance; a gait's single keyframe only gives its period
    assert EXERCISE_DEFS["squat"].keys[1] == Key(0.9, 0.6, {}, "both")
    walking = EXERCISE_DEFS["walking"]
    assert walking.keys == (Key(1.05, 0.0, {}, None),) and walking.cycle is not None
    hip = walking.cycle(np.array([0.0, 0.15]))["r_th_f"]
    np.testing.assert_allclose(hip, [25.0, 20.0], atol=1e-9)  # the spline runs through the table's points
    assert set(walking.cycle(np.zeros(1))) <= set(NEUTRAL)


def _table(tmp_path: Path, cycle: str) -> Path:
    """A table with one exercise, squat, whose ``cycle`` (and any field after it) is given."""
    path = tmp_path / "exercises.yaml"
    path.write_text("poses:\n  air: [{sup_l: 0.0, sup_r: 0.0}]\nexercises:\n  squat:\n    description: d\n" + cycle)
    return path


@pytest.mark.parametrize(
    ("cycle", "message"),
    [
        ("    cycle: [{move: 1.0, hold: 0.5, pose: [{pich: 35}]}]\n", "unknown pose parameters ['pich']"),
        ("    cycle: [kick]\n", "squat.cycle[0]: no keyframe 'kick'"),
        ("    cycle: [{move: 1.0, hold: 0.5, pose: [guard]}]\n", "no pose 'guard' under poses"),
        ("    cycle: [{move: 1.0, hold: 0.5, anchor: left}]\n", "anchor 'left' is not one of"),
        ("    cycle: [{move: 1.0, hold: 0.5, pose: [{arms: up, ua: [0, 0], fa: [0, 0]}]}]\n", "arms: 'up'"),
        ("    cycle: [{move: 1.0, hold: 0.5}]\n    tempo: 2\n", "unknown fields ['tempo']"),
        ("    cycle: [{move: 1.0, hold: 0.5}]\n", "do not match SYNTH_EXERCISES: ['running']"),
    ],
)
def test_a_broken_table_is_refused_in_one_line_naming_the_file(tmp_path, cycle, message):
    path = _table(tmp_path, cycle)
    names = ("squat", "running") if "running" in message else ("squat",)
    with pytest.raises(InputError) as err:
        load_exercises(PARAMS, names, path)
    assert message in str(err.value) and str(path) in str(err.value) and "\n" not in str(err.value)


def test_importing_the_body_model_stays_light():
    heavy = "('torch', 'cv2', 'matplotlib')"
    code = f"import sys, miakit.body.motion; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"
