"""Synthetic sessions: a seeded generator of raw session folders (contract 1) that the pipeline
cannot tell from a recording, for the demo, the tests and benchmarks.

- :mod:`miakit.synth.subjects`: people who differ in body proportions, tempo, range of motion,
  framing and sensor placement;
- :mod:`miakit.synth.motion`: 3D kinematics of the paper's 20 exercises and of walking, stairs
  and sit-to-stand, projected into BODY_25 pixels of a portrait 1080x1920 camera (the subject's
  own in front, or others: ``views``); measured 3D motion as kinematics for the muscle model;
- :mod:`miakit.synth.activation`: the muscle model (inverse dynamics, force-velocity, holds,
  electromechanical delay, sensor gain and noise), documented in its docstring;
- :mod:`miakit.synth.render`: a skeleton preview video;
- :mod:`miakit.synth.sessions`: :func:`generate_sessions` writes session folders;
- :mod:`miakit.synth.mocap`: session folders of real motion capture, EMG from the muscle model
  (``miakit synth --from-mocap``);
- :mod:`miakit.synth.signal`: :func:`emg_signal` gives synthetic EMG to stream without writing
  anything (what emulated sensors send).

Importing this package imports numpy only; cv2 is imported when a video is rendered.
"""

from __future__ import annotations

from miakit.synth.sessions import SENSORS, generate_sessions, simulate, write_session
from miakit.synth.signal import emg_signal
from miakit.synth.subjects import Subject, make_subject, make_subjects

__all__ = [
    "SENSORS",
    "Subject",
    "emg_signal",
    "generate_sessions",
    "make_subject",
    "make_subjects",
    "simulate",
    "write_session",
]
