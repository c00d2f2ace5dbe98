"""Synthetic subjects: body proportions, movement style, framing and sensor placement, seeded.

A :class:`Subject` holds everything that makes one person's sessions differ from another's:

- body: height, mass and segment lengths (ratios of height after Drillis and Contini, each varied
  by a few percent), so limb proportions differ and pixel lengths differ;
- style: tempo (how fast the repetitions go), range of motion, electromechanical delay;
- framing: where the person stands (lateral offset), distance to the phone, camera height and
  focal length, so position and pixel scale in the 1080x1920 portrait frame differ;
- sensors: per-muscle gain (skin, fat layer, electrode placement), crosstalk from the neighbouring
  muscle, a baseline offset and noise levels.

``make_subject(index, seed=seed)`` gives the same subject for the same (index, seed), whatever
other subjects are made.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from miakit.layout import MUSCLES

#: Segment lengths as fractions of body height (Drillis and Contini, 1966).
SEGMENT_RATIOS: dict[str, float] = {
    "upper_arm": 0.186,  # shoulder to elbow
    "forearm": 0.146,  # elbow to wrist
    "thigh": 0.245,  # hip to knee
    "shank": 0.246,  # knee to ankle
    "ankle": 0.039,  # ankle above the sole
    "trunk": 0.288,  # hip joint level to shoulder level
    "shoulder_width": 0.225,  # between the shoulder joints
    "hip_width": 0.110,  # between the hip joints
    "head": 0.110,  # neck (shoulder level) to nose
}


@dataclass(frozen=True)
class Subject:
    """One synthetic person, with their camera framing and sensor set."""

    index: int
    name: str
    height_m: float
    mass_kg: float
    segments_m: dict[str, float]
    """Segment lengths in metres (keys of :data:`SEGMENT_RATIOS`)."""
    tempo: float
    """Speed factor of the repetitions: 1.2 is 20% faster than the exercise's nominal tempo."""
    rom: float
    """Range-of-motion factor applied to every joint excursion from the neutral stance."""
    emd_s: float
    """Electromechanical delay: how long the EMG leads the motion it causes (50 to 100 ms)."""
    x_m: float
    """Lateral position of the body in front of the camera, metres (+ is image right)."""
    distance_m: float
    """Distance from the camera to the body, metres."""
    camera_height_m: float
    focal_px: float
    """Focal length of the portrait camera in pixels (about a 28 mm equivalent lens)."""
    principal_px: tuple[float, float]
    gain: np.ndarray
    """(8,) per-muscle sensor gain, MUSCLES order: skin, fat layer and electrode placement."""
    crosstalk: np.ndarray
    """(8,) fraction of each sensor's signal that comes from the neighbouring (antagonist) muscle."""
    baseline: np.ndarray
    """(8,) additive offset of each sensor in device units (its noise floor)."""
    noise_mult: float
    """Standard deviation of the multiplicative (log-normal) envelope noise."""
    noise_add: float
    """Standard deviation of the additive noise, device units."""


def make_subject(index: int, *, seed: int = 0) -> Subject:
    """The subject number ``index`` (from 0) of the synthetic population drawn with ``seed``."""
    rng = np.random.default_rng([seed, index, 7919])
    height = float(rng.uniform(1.56, 1.94))
    bmi = float(rng.uniform(20.0, 26.0))
    segments = {k: round(r * height * float(rng.uniform(0.95, 1.05)), 4) for k, r in SEGMENT_RATIOS.items()}
    n = len(MUSCLES)
    return Subject(
        index=index,
        name=f"S{index + 1:02d}",
        height_m=round(height, 3),
        mass_kg=round(bmi * height**2, 1),
        segments_m=segments,
        tempo=float(rng.uniform(0.85, 1.2)),
        rom=float(rng.uniform(0.85, 1.1)),
        emd_s=float(rng.uniform(0.05, 0.1)),
        x_m=float(rng.uniform(-0.2, 0.2)),
        distance_m=float(rng.uniform(2.6, 3.6)),
        camera_height_m=float(rng.uniform(0.95, 1.2)),
        focal_px=float(rng.uniform(1450.0, 1560.0)),
        principal_px=(540.0 + float(rng.normal(0, 4)), 960.0 + float(rng.normal(0, 6))),
        gain=rng.uniform(0.75, 1.3, n),
        crosstalk=rng.uniform(0.02, 0.12, n),
        baseline=rng.uniform(1.0, 4.0, n),
        noise_mult=float(rng.uniform(0.1, 0.18)),
        noise_add=float(rng.uniform(1.0, 2.0)),
    )


def make_subjects(count: int, *, seed: int = 0) -> list[Subject]:
    """Subjects 0 to ``count - 1`` of the population drawn with ``seed``."""
    return [make_subject(i, seed=seed) for i in range(count)]
