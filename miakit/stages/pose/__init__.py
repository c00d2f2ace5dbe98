"""Pose back ends (being split into one craft per file; the code is in :mod:`miakit.stages.pose.mediapipe`)."""

from miakit.stages.pose.mediapipe import *  # noqa: F403
