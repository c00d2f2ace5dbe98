"""Import C3D motion-capture trials with EMG (``miakit import c3d``), read with ``ezc3d`` (the ``mocap`` extra).

What is read from a C3D file:

- ``POINT``: the marker trajectories (``POINT:UNITS`` mm, cm or m, turned into mm; another unit
  is refused, none is taken as mm). Points that a
  modelling step wrote (labels listed under ``POINT:ANGLES``, ``FORCES``, ``MOMENTS``, ``POWERS``,
  ``SCALARS``, ``REACTIONS``) are left out; a negative residual is a gap.
- ``ANALOG``: every channel (ezc3d applies ``SCALE``, ``OFFSET`` and ``GEN_SCALE``), turned into volts by
  ``ANALOG:UNITS`` (V, mV, uV; other or no units: taken as volts, and said so in the provenance); the
  ADC's rail from ``ANALOG:BITS`` and the scales, where the file has them, for counting clipping.
  ``ANALOG:RATE`` must be what the data block holds (a whole number of samples per point frame):
  a file whose rate is not is refused, since its samples cannot be put in step with the markers.
- ``POINT:X_SCREEN``, ``Y_SCREEN`` (the axes a viewer shows right and up) and
  ``FORCE_PLATFORM:CORNERS``: hints for the vertical where the markers give none
  (:func:`miakit.importers.lab.find_vertical`). A label written twice is kept twice (the second as
  ``LABEL#2``): a model may store a joint centre under its marker's name.
- ``PROCESSING``: subject parameters (knee and ankle widths, height, ...), numbers in mm.
- ``EVENT``: times (minutes and seconds) count from the capture's start, so a trial that starts at
  ``TRIAL:ACTUAL_START_FIELD`` (1-based; else the header's first frame) has them shifted by its start
  time. Some writers count from the trial's first frame or write frame numbers: the first reading
  of :data:`EVENT_CLOCKS` that puts every event inside the trial is taken, and named in the
  provenance. Labels and contexts become kinds and sides by the table of
  :mod:`miakit.importers.gait_events` (``Foot Strike`` + ``Right``, ``RHS``, ``Right Heel Strike``:
  a right ``foot_strike``).
- ``SUBJECTS``: the subject's name (the one whose label prefix the markers carry).

Everything after reading (joint centres, virtual cameras, EMG conditioning, events, the store) is
:mod:`miakit.importers.lab`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from miakit.errors import InputError
from miakit.importers.lab import LabTrial

PIPELINE = "import-c3d"
_MODEL_GROUPS = ("ANGLES", "FORCES", "MOMENTS", "POWERS", "SCALARS", "REACTIONS")
_LENGTH_MM = {
    "mm": 1.0,
    "millimeters": 1.0,
    "millimetres": 1.0,
    "cm": 10.0,
    "m": 1000.0,
    "meters": 1000.0,
    "metres": 1000.0,
    "in": 25.4,
}
_VOLTS = {"v": 1.0, "mv": 1e-3, "uv": 1e-6, "µv": 1e-6, "μv": 1e-6}


def _value(params: dict, group: str, name: str, default=None):
    try:
        return params[group][name]["value"]
    except (KeyError, TypeError):
        return default


def read_c3d(path: str | Path) -> LabTrial:
    """One C3D file as a :class:`~miakit.importers.lab.LabTrial`."""
    try:
        import ezc3d
    except ImportError:  # pragma: no cover - an install without the extra
        raise InputError(
            path, "reading C3D needs ezc3d", expected="pip install 'miakit[mocap]'", found="not installed"
        ) from None
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file")
    try:
        c3d = ezc3d.c3d(str(path))
    except Exception as exc:  # ezc3d raises plain RuntimeError/IOError on a damaged file
        raise InputError(path, f"not a readable C3D file ({exc.__class__.__name__}: {str(exc)[:80]})") from None
    p = c3d["parameters"]
    rate = float(np.atleast_1d(_value(p, "POINT", "RATE", [c3d["header"]["points"]["frame_rate"]]))[0])
    labels = list(_value(p, "POINT", "LABELS", []) or [])
    labels += list(_value(p, "POINT", "LABELS2", []) or [])
    model = {str(x) for g in _MODEL_GROUPS for x in (_value(p, "POINT", g, []) or [])}
    unit = str((_value(p, "POINT", "UNITS", ["mm"]) or ["mm"])[0]).strip().lower() or "mm"
    if unit not in _LENGTH_MM:
        raise InputError(
            path, "unknown length unit", field="POINT:UNITS", expected=" or ".join(sorted(_LENGTH_MM)), found=unit
        )
    scale = _LENGTH_MM[unit]
    points = np.asarray(c3d["data"]["points"], dtype=np.float64)[:3]  # (3, points, frames)
    residuals = c3d["data"].get("meta_points", {}).get("residuals")
    markers: dict[str, np.ndarray] = {}
    for i, label in enumerate(labels[: points.shape[1]]):
        if label in model:
            continue
        xyz = points[:, i, :].T * scale
        if residuals is not None and np.size(residuals):
            xyz[np.asarray(residuals)[0, i, :] < 0] = np.nan
        key, n = label, 2
        while key in markers:  # a label written twice (a marker and the joint centre a model computed)
            key, n = f"{label}#{n}", n + 1
        markers[key] = xyz
    analog_rate = float(np.atleast_1d(_value(p, "ANALOG", "RATE", [c3d["header"]["analogs"]["frame_rate"]]))[0] or 0.0)
    per_frame = float(
        c3d["header"]["analogs"]["frame_rate"] or 0.0
    )  # what the data block holds: whole samples per frame
    if analog_rate and c3d["header"]["analogs"]["size"] and abs(per_frame - analog_rate) > 1e-6 * analog_rate:
        raise InputError(
            path,
            "the analog rate is not a whole multiple of the point rate, so the analog data cannot be read in step",
            field="ANALOG:RATE",
            expected=f"a whole multiple of POINT:RATE {rate:g} Hz (export the "
            "EMG at such a rate, or as an OpenSim .sto beside a .trc)",
            found=f"{analog_rate:g} Hz",
        )
    analog_labels = list(_value(p, "ANALOG", "LABELS", []) or []) + list(_value(p, "ANALOG", "LABELS2", []) or [])
    analog_units = list(_value(p, "ANALOG", "UNITS", []) or [])
    data = np.asarray(c3d["data"]["analogs"], dtype=np.float64)
    data = data.reshape(-1, data.shape[-1]) if data.size else np.zeros((0, 0))
    rails = _rails(p, len(analog_labels))
    analogs: dict[str, np.ndarray] = {}
    analog_rails: dict[str, tuple[float, float]] = {}
    units_read: dict[str, str] = {}
    for i, label in enumerate(analog_labels[: data.shape[0]]):
        u = str(analog_units[i]).strip() if i < len(analog_units) else ""
        factor = _VOLTS.get(u.lower(), 1.0)
        analogs[label] = data[i] * factor
        units_read[label] = u if u.lower() in _VOLTS else f"V (assumed; the file says {u!r})"
        if rails is not None:
            analog_rails[label] = (rails[i][0] * factor, rails[i][1] * factor)
    first_frame = int(c3d["header"]["points"]["first_frame"])  # 0-based
    start = _value(p, "TRIAL", "ACTUAL_START_FIELD")
    if start is not None and np.size(start):
        s = np.atleast_1d(start).astype(np.int64)
        first_frame = int(s[0] + (s[1] * 65536 if len(s) > 1 else 0)) - 1
    events, clock = _events(p, first_frame, rate, points.shape[2])
    parameters = {}
    for name, entry in (p.get("PROCESSING") or {}).items():
        value = entry.get("value") if isinstance(entry, dict) else None
        if value is not None and np.size(value) == 1 and np.asarray(value).dtype.kind in "fiu":
            parameters[name] = float(np.asarray(value).ravel()[0])
    return LabTrial(
        path=path,
        markers=markers,
        marker_rate_hz=rate,
        analogs=analogs,
        analog_rate_hz=analog_rate,
        analog_rails=analog_rails,
        analog_units=units_read,
        emg_scale_to_uv=1e6,
        parameters=parameters,
        marker_units=unit,
        events=events,
        events_clock=clock,
        subject=_subject(p, labels),
        marker_sets=tuple(str(x) for x in (_value(p, "SUBJECTS", "MARKER_SETS", []) or [])),
        axes={
            k: str((_value(p, "POINT", k, [""]) or [""])[0]) for k in ("X_SCREEN", "Y_SCREEN") if _value(p, "POINT", k)
        },
        plate_corners=_plate_corners(p, scale),
    )


def _plate_corners(p: dict, scale: float) -> list[np.ndarray]:
    """Each force plate's four corners (4, 3) in mm (``FORCE_PLATFORM:CORNERS``, in the points' unit)."""
    corners = _value(p, "FORCE_PLATFORM", "CORNERS")
    if corners is None or not np.size(corners):
        return []
    arr = np.asarray(corners, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[:2] != (3, 4):
        return []
    return [arr[:, :, i].T * scale for i in range(arr.shape[2]) if np.isfinite(arr[:, :, i]).all()]


def _rails(p: dict, n: int) -> list[tuple[float, float]] | None:
    """The ADC's lowest and highest values per channel, in the channel's units; None where unstated."""
    bits = _value(p, "ANALOG", "BITS")
    if bits is None or not np.size(bits):
        return None
    bits = int(np.atleast_1d(bits)[0])
    signed = str((_value(p, "ANALOG", "FORMAT", ["SIGNED"]) or ["SIGNED"])[0]).strip().upper() != "UNSIGNED"
    lo_raw, hi_raw = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    scale = np.atleast_1d(_value(p, "ANALOG", "SCALE", [1.0] * n)).astype(float)
    offset = np.atleast_1d(_value(p, "ANALOG", "OFFSET", [0] * n)).astype(float)
    gen = float(np.atleast_1d(_value(p, "ANALOG", "GEN_SCALE", [1.0]))[0])
    out = []
    for i in range(n):
        s = scale[i] if i < len(scale) else 1.0
        o = offset[i] if i < len(offset) else 0.0
        a, b = (lo_raw - o) * s * gen, (hi_raw - o) * s * gen
        out.append((min(a, b), max(a, b)))
    return out


EVENT_CLOCKS = (
    ("seconds from the capture's start", lambda v, first, rate: v - first / rate),
    ("seconds from the trial's first frame", lambda v, first, rate: v),
    ("frame numbers of the capture", lambda v, first, rate: (v - first - 1) / rate),
    ("frame numbers from the trial's first frame", lambda v, first, rate: (v - 1) / rate),
)
"""How EVENT:TIMES may count, the C3D standard's first: seconds from the capture's start (``first``
is the trial's first frame, 0-based). Writers also count from the trial's first frame, or write
frame numbers; :func:`_events` takes the first reading that puts every event inside the trial."""


def _events(p: dict, first_frame: int, rate: float, n_frames: int) -> tuple[list[tuple[float, str, str]], str]:
    """The file's events as (s from the first marker frame, kind, side), and how their times counted."""
    from miakit.importers.gait_events import event_kind

    times = _value(p, "EVENT", "TIMES")
    labels = list(_value(p, "EVENT", "LABELS", []) or [])
    contexts = list(_value(p, "EVENT", "CONTEXTS", []) or [])
    if times is None or not labels or not np.size(times):
        return [], ""
    times = np.asarray(times, dtype=np.float64).reshape(2, -1)[:, : len(labels)]
    values = times[0] * 60 + times[1]
    end = (n_frames - 1) / rate + 0.5 / rate
    clock, found = EVENT_CLOCKS[0][0], EVENT_CLOCKS[0][1](values, first_frame, rate)
    for name, reading in EVENT_CLOCKS:
        if name.startswith("frame") and not np.allclose(values, np.round(values)):
            continue
        t = reading(values, first_frame, rate)
        if np.all((t >= -0.5 / rate) & (t <= end)):
            clock, found = name, t
            break
    out = []
    for i, t in enumerate(found):
        kind, side = event_kind(str(labels[i]), str(contexts[i]) if i < len(contexts) else "")
        out.append((float(t), kind, side))
    return sorted(out), clock


def _subject(p: dict, labels: list[str]) -> str:
    names = [str(x) for x in (_value(p, "SUBJECTS", "NAMES", []) or [])]
    prefixes = [str(x) for x in (_value(p, "SUBJECTS", "LABEL_PREFIXES", []) or [])]
    if names and prefixes and len(prefixes) == len(names):
        counts = [sum(1 for lab in labels if pre and lab.startswith(pre)) for pre in prefixes]
        return names[int(np.argmax(counts))]
    return names[0] if names else ""


def import_c3d(
    paths: list[str | Path],
    out: str | Path,
    *,
    catalog: str | Path | None = None,
    name: str | None = None,
    show_progress: bool = False,
    **options,
):
    """Import C3D files into a new store at ``out`` (options: :func:`miakit.importers.lab.load_trials`)."""
    from miakit.importers.common import write_and_register
    from miakit.importers.lab import load_trials

    ds, report = load_trials(paths, read_c3d, pipeline=PIPELINE, show_progress=show_progress, **options)
    write_and_register(
        ds,
        out,
        report,
        catalog=catalog,
        name=name,
        description="motion capture with EMG (C3D), markers projected to virtual phone cameras",
    )
    return report
