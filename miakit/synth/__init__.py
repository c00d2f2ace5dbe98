"""Synthetic sessions: a seeded generator of raw session folders (contract 1) that the pipeline
cannot tell from a recording, for the demo, the tests and benchmarks.

- :mod:`miakit.synth.sessions`: :func:`generate_sessions` writes session folders, as the recorder
  does, from the body and muscle model of :mod:`miakit.body` (people, motion, muscles, the
  skeleton preview video);
- :mod:`miakit.synth.mocap`: session folders of real motion capture, EMG from the muscle model
  (``miakit synth --from-mocap``).

Importing this package imports numpy only; cv2 is imported when a video is rendered.
"""

from __future__ import annotations

from miakit.synth.sessions import SENSORS, generate_sessions, simulate, write_session

__all__ = [
    "SENSORS",
    "generate_sessions",
    "simulate",
    "write_session",
]
