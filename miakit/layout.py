"""Fixed layouts: muscles, BODY_25 keypoints, the paper's exercises, the video frame.

These are the defaults miakit writes. Datasets carry their own layouts in their attrs
(``muscles``, ``keypoints``), and models take their sizes from the data, so a dataset with
other channel names (for example the public release's) works unchanged.
"""

from __future__ import annotations

RATE_HZ = 10.0
"""The rate of every built dataset: EMG and keypoints on one 10 Hz grid."""

MUSCLES: tuple[str, ...] = (
    "LeftBicep",
    "RightBicep",
    "LeftTricep",
    "RightTricep",
    "LeftQuad",
    "RightQuad",
    "LeftHamstring",
    "RightHamstring",
)
"""The 8 muscles of the paper, in miakit's default channel order."""

MIRROR_MUSCLE = {m: ("Right" + m[4:] if m.startswith("Left") else "Left" + m[5:]) for m in MUSCLES}
"""Each muscle's counterpart on the other side of the body."""

BODY_25: tuple[str, ...] = (
    "Nose",
    "Neck",
    "RShoulder",
    "RElbow",
    "RWrist",
    "LShoulder",
    "LElbow",
    "LWrist",
    "MidHip",
    "RHip",
    "RKnee",
    "RAnkle",
    "LHip",
    "LKnee",
    "LAnkle",
    "REye",
    "LEye",
    "REar",
    "LEar",
    "LBigToe",
    "LSmallToe",
    "LHeel",
    "RBigToe",
    "RSmallToe",
    "RHeel",
)
"""OpenPose BODY_25 keypoint names, in OpenPose order. Left and right are the subject's own."""

KP = {name: i for i, name in enumerate(BODY_25)}

BODY_25_EDGES: tuple[tuple[int, int], ...] = tuple(
    (KP[a], KP[b])
    for a, b in [
        ("Nose", "Neck"),
        ("Neck", "RShoulder"),
        ("RShoulder", "RElbow"),
        ("RElbow", "RWrist"),
        ("Neck", "LShoulder"),
        ("LShoulder", "LElbow"),
        ("LElbow", "LWrist"),
        ("Neck", "MidHip"),
        ("MidHip", "RHip"),
        ("RHip", "RKnee"),
        ("RKnee", "RAnkle"),
        ("MidHip", "LHip"),
        ("LHip", "LKnee"),
        ("LKnee", "LAnkle"),
        ("Nose", "REye"),
        ("REye", "REar"),
        ("Nose", "LEye"),
        ("LEye", "LEar"),
        ("LAnkle", "LBigToe"),
        ("LBigToe", "LSmallToe"),
        ("LAnkle", "LHeel"),
        ("RAnkle", "RBigToe"),
        ("RBigToe", "RSmallToe"),
        ("RAnkle", "RHeel"),
    ]
)
"""The bones drawn between BODY_25 keypoints."""

MIRROR_KEYPOINT = {
    name: (
        "L" + name[1:]
        if name[0] == "R" and name[1].isupper()
        else "R" + name[1:]
        if name[0] == "L" and name[1].isupper()
        else name
    )
    for name in BODY_25
}
"""Each keypoint's counterpart when the body is mirrored left to right."""

EXERCISES: tuple[str, ...] = (
    "jumping_jack",
    "high_kick",
    "leg_back",
    "front_kick",
    "front_punch",
    "hook_punch",
    "pirouette",
    "skater",
    "twist",
    "squat",
    "feet_cross",
    "elbow_punch",
    "side_shuffle",
    "batting",
    "side_lunge",
    "running",
    "ball_throw",
    "bowling",
    "knee_kick",
    "woodchop",
)
"""The 20 exercises of the paper, as miakit's exercise ids."""

LOCOMOTION: tuple[str, ...] = ("walking", "stair_ascent", "stair_descent", "sit_to_stand")
"""Exercises beyond the paper's 20: what gait labs record (synthesized too, see :mod:`miakit.body.motion`)."""

ALL_EXERCISES: tuple[str, ...] = EXERCISES + LOCOMOTION
"""Every exercise id miakit knows: the paper's 20, then :data:`LOCOMOTION`."""

IMAGE_WIDTH = 1080
IMAGE_HEIGHT = 1920
"""The paper's frame: an iPhone X filming in portrait."""
