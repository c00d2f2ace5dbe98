"""Synthetic EMG as a sensor streams it, and the random streams every synthetic session draws from.

:func:`emg_signal` is what emulated sensors stream (:mod:`miakit.record.signals`): the subjects,
motion and muscle model of :mod:`miakit.body` without a session folder. This module imports the
model only (:mod:`miakit.body.subjects`, :mod:`~miakit.body.motion`, :mod:`~miakit.body.activation`),
never the session writer, so the devices below the recorder can use it (ARCHITECTURE.md).
"""

from __future__ import annotations

import numpy as np

from miakit.body.activation import add_sensor_noise, emg_curve, sample_curve
from miakit.body.motion import SYNTH_EXERCISES, Motion
from miakit.body.subjects import make_subject
from miakit.layout import MUSCLES

# streams of random numbers, one per purpose, so that changing one never shifts another
TIMING, KEYPOINTS, NOISE, BLE, DROP, VIEWS = 1, 2, 3, 4, 5, 6


def rng(seed: int, subject: int, exercise: str, stream: int) -> np.random.Generator:
    """The generator of one purpose (``stream``) of one synthetic subject doing one exercise."""
    return np.random.default_rng([seed, subject, SYNTH_EXERCISES.index(exercise), stream])


def emg_signal(
    exercise: str, *, duration_s: float, rate_hz: float = 10.0, seed: int = 0, subject: int = 0
) -> np.ndarray:
    """(samples, 8) noisy EMG in device units (non-negative integers), MUSCLES order.

    The same subject and model as :func:`miakit.synth.sessions.generate_sessions`, sampled at
    ``k / rate_hz`` seconds for ``k < duration_s * rate_hz``, for streaming without writing a session.
    """
    if rate_hz <= 0 or duration_s <= 0:
        raise ValueError(f"rate_hz and duration_s must be positive, found {rate_hz} and {duration_s}")
    person = make_subject(subject, seed=seed)
    motion = Motion(exercise, person, seed, start_s=0.5)
    times = np.arange(int(np.floor(duration_s * rate_hz))) / rate_hz
    if times.size == 0:
        return np.zeros((0, len(MUSCLES)))
    truth = sample_curve(emg_curve(motion, 0.0, float(times[-1])), times)
    noise = rng(seed, subject, exercise, NOISE)
    return np.stack([add_sensor_noise(truth[:, j], person, j, noise) for j in range(len(MUSCLES))], axis=-1)
