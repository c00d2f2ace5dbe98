"""What a reader hands over: one motion-capture trial (:class:`LabTrial`), filled by
:mod:`miakit.importers.c3d` or :mod:`miakit.importers.opensim` and imported by :mod:`miakit.importers.lab.trial`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class LabTrial:
    """One motion-capture trial as a reader hands it over (positions in mm, times in s)."""

    path: Path
    markers: dict[str, np.ndarray]  # label as in the file -> (frames, 3), NaN gaps
    marker_rate_hz: float
    analogs: dict[str, np.ndarray] = field(default_factory=dict)  # label -> (samples,) in volts, or envelope units
    analog_rate_hz: float = 0.0
    analog_rails: dict[str, tuple[float, float]] = field(default_factory=dict)  # label -> (low, high) in volts
    analog_units: dict[str, str] = field(
        default_factory=dict
    )  # label -> the unit the file states ("V (assumed...)" where it did not)
    marker_units: str = "mm"  # the length unit the file states (its markers are in mm here)
    emg_is_envelope: bool = False  # the reader knows the file holds envelopes (else each channel is told apart)
    emg_scale_to_uv: float = 1e6  # analogs times this are microvolts
    parameters: dict[str, float] = field(default_factory=dict)  # subject parameters (mm)
    events: list[tuple[float, str, str]] = field(default_factory=list)  # (s from the first marker frame, kind, side)
    events_clock: str = ""  # how the file's event times counted (C3D: see miakit.importers.c3d.EVENT_CLOCKS)
    subject: str = ""
    marker_sets: tuple[str, ...] = ()  # what the file says its marker sets are
    emg_note: str = ""  # why the reader found no EMG (a .trc without its .sto), for the no-EMG note
    notes: list[str] = field(default_factory=list)  # what the reader found odd but not wrong (EMG amplitudes)
    axes: dict[str, str] = field(default_factory=dict)  # the file's axis parameters (C3D POINT:X_SCREEN, Y_SCREEN)
    plate_corners: list[np.ndarray] = field(default_factory=list)  # force plates' corners, each (4, 3) mm
