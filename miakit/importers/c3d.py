"""Import C3D motion-capture trials with EMG (``miakit import c3d``), read with ``ezc3d`` (the ``mocap`` extra).

What is read from a C3D file:

- ``POINT``: the marker trajectories (``POINT:UNITS`` mm, cm or m, turned into mm; another unit
  is refused, none is taken as mm). Points that a
  modelling step wrote (labels listed under ``POINT:ANGLES``, ``FORCES``, ``MOMENTS``, ``POWERS``,
  ``SCALARS``, ``REACTIONS``) are left out; a negative residual is a gap.
- ``ANALOG``: every channel (ezc3d applies ``SCALE``, ``OFFSET`` and ``GEN_SCALE``), turned into volts by
  ``ANALOG:UNITS`` (V, mV, uV; other or no units: taken as volts, and said so in the provenance); the
  ADC's rail from ``ANALOG:BITS`` and the scales, where the file has them, for counting clipping.
  ``ANALOG:RATE`` must be what the data block holds (the header's samples per frame x
  ``POINT:RATE``): a file whose rate is not is refused, since its samples cannot be put in step with
  the markers. Two EMG channels with one label are refused (which is which cannot be told); values
  that overflow are refused naming the channel; EMG-named channels whose amplitude no EMG in their
  stated unit could have (:data:`EMG_VOLTS`) are noted in the import summary.
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

Before ezc3d reads anything, :func:`c3d_layout` checks the file (:mod:`miakit.files`: a regular
file under :data:`MAX_C3D_BYTES`), its header and its parameter section against its size: a file
cut short is refused in one line ("Truncated: 201 of 337 frames"), as is a parameter that claims more
bytes than its section holds, or a header scale whose sign (float or integer data) disagrees with
``POINT:SCALE`` (ezc3d would allocate, or read with the wrong stride, what the damaged numbers say).

Everything after reading (joint centres, virtual cameras, EMG conditioning, events, the store) is
:mod:`miakit.importers.lab`.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from miakit.errors import InputError
from miakit.files import check_file
from miakit.importers.common import write_and_register
from miakit.importers.emg_channels import match_channel
from miakit.importers.gait_events import event_kind
from miakit.importers.lab import LabTrial, load_trials

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


MAX_C3D_BYTES = 1 << 30
"""Cap on a C3D file's size, 1 GiB (ezc3d reads it whole; a long trial is tens of MB)."""
MAX_ABS_MM = 1e9
"""Marker coordinates beyond this many mm (1000 km) are an overflow, not a position."""
MAX_ABS_VOLTS = 1e9
"""Analog values beyond this many volts (after the channel's unit; force channels are read as
volts too) are an overflow, not a measurement."""
_PROCESSORS = {84: "<", 85: "<", 86: ">"}  # Intel, DEC (little-endian words), MIPS (big-endian)


@dataclass
class C3dLayout:
    """Where a C3D file's parts lie, as its header and parameter section say (checked against its size)."""

    processor: int  # 84 Intel, 85 DEC, 86 MIPS
    order: str  # struct byte order of the file's numbers
    points: int  # header: 3D points per frame
    analog_words: int  # header: analog samples per frame, all channels
    analog_per_frame: int  # header: analog samples per channel per point frame
    first_frame: int  # header, 1-based
    last_frame: int  # header, 1-based
    is_float: bool  # the header's scale is negative: data stored as floats
    data_start: int  # byte offset of the data block
    frame_bytes: int
    frames_held: int  # whole frames the file holds from data_start on
    params: dict[tuple[str, str], tuple[int, int, tuple[int, ...]]] = field(default_factory=dict)
    """(GROUP, NAME) -> (byte offset of the value, type: -1 char, 1 byte, 2 int16, 4 float, dims)."""
    head: bytes = field(default=b"", repr=False)  # the file's first bytes, header and parameter section

    @property
    def frames(self) -> int:
        """Frames the header says the data block holds (65535 in the header: more, counted elsewhere)."""
        return max(0, self.last_frame - self.first_frame + 1)

    def value(self, group: str, name: str) -> list[float]:
        """A numeric parameter's values; [] where absent or not a number."""
        if (group, name) not in self.params:
            return []
        offset, kind, dims = self.params[(group, name)]
        if kind not in (1, 2, 4):
            return []
        n = int(np.prod(dims)) if dims else 1
        if kind == 4:
            return [self.float_at(offset + 4 * i) for i in range(n)]
        return list(struct.unpack_from(f"{self.order}{n}{'b' if kind == 1 else 'h'}", self.head, offset))

    def float_at(self, offset: int) -> float:
        """The float at byte ``offset`` of the head (DEC files: VAX F floats, words swapped, 4x)."""
        b = self.head[offset : offset + 4]
        if self.processor == 85:
            return struct.unpack("<f", bytes((b[2], b[3], b[0], b[1])))[0] / 4 if any(b) else 0.0
        return struct.unpack(f"{self.order}f", b)[0]


def c3d_layout(path: str | Path, raw: bytes | None = None) -> C3dLayout:
    """The header and parameter section of the C3D file ``path``, each checked against the file's
    size before any library reads it: a file cut short, or a parameter that claims more bytes than
    its section holds, is one line (ezc3d would allocate what the damaged numbers say, without bound).
    """
    path = Path(path)
    size = check_file(path, max_bytes=MAX_C3D_BYTES)
    if raw is None:
        with path.open("rb") as fh:
            raw = fh.read(min(size, 1 << 20))
    if size < 512:
        raise InputError(path, f"not a readable C3D file: {size} bytes, shorter than a C3D header (512)")
    if raw[1] != 0x50:
        raise InputError(path, "not a readable C3D file: its header's second byte is not 0x50")
    param_start = (raw[0] - 1) * 512
    if raw[0] < 2 or param_start + 4 > size:
        raise InputError(path, f"Truncated: the parameter section starts at byte {param_start}, the file at {size}")
    n_blocks, processor = raw[param_start + 2], raw[param_start + 3]
    order = _PROCESSORS.get(processor)
    if order is None:
        raise InputError(
            path, "not a readable C3D file: unknown processor type", expected="84, 85 or 86", found=processor
        )
    param_end = param_start + n_blocks * 512
    if param_end > size:
        raise InputError(path, f"Truncated: the parameter section ends at byte {param_end}, the file at {size}")
    if param_end > len(raw):
        raise InputError(path, "parameter section too large", expected="at most 1 MiB", found=f"{n_blocks} blocks")
    words = struct.unpack_from(f"{order}5H", raw, 2)
    points, analog_words, first, last = words[0], words[1], words[2], words[3]
    is_float = _negative(raw, 12, processor)
    data_block, analog_per_frame = struct.unpack_from(f"{order}2H", raw, 16)
    data_start = (max(data_block, 1) - 1) * 512
    frame_bytes = (points * 4 + analog_words) * (4 if is_float else 2)
    held = (size - data_start) // frame_bytes if frame_bytes and size >= data_start else 0
    layout = C3dLayout(
        processor=processor,
        order=order,
        points=points,
        analog_words=analog_words,
        analog_per_frame=analog_per_frame,
        first_frame=first,
        last_frame=last,
        is_float=is_float,
        data_start=data_start,
        frame_bytes=frame_bytes,
        frames_held=held,
        head=raw[:param_end],
    )
    _read_parameters(path, raw, param_start + 4, param_end, layout)
    if data_start < param_end and frame_bytes:
        raise InputError(path, f"damaged header: its data block (byte {data_start}) starts inside the parameters")
    if last != 0xFFFF and frame_bytes and held < layout.frames:
        raise InputError(
            path,
            f"Truncated: {held} of {layout.frames} frames (the file ends at byte {size}; "
            f"the header's data block needs {data_start + layout.frames * frame_bytes})",
        )
    return layout


def _negative(raw: bytes, offset: int, processor: int) -> bool:
    """The sign of the float at ``offset`` (its sign bit: last byte on Intel, first on MIPS, second on DEC)."""
    return bool(raw[offset + {84: 3, 85: 1, 86: 0}[processor]] & 0x80)


def _check_agrees(path: Path, layout: C3dLayout) -> None:
    """The header and the parameters must agree on how the data block is laid out; where they do
    not, ezc3d reads the samples with the wrong stride or type (EMG off by orders of magnitude)."""
    scale = layout.params.get(("POINT", "SCALE"))
    if scale is not None and scale[1] == 4 and _negative(layout.head, scale[0], layout.processor) != layout.is_float:
        said = "float" if layout.is_float else "integer"
        other = "integer" if layout.is_float else "float"
        raise InputError(
            path,
            f"the header's scale factor says the data is stored as {said}s, POINT:SCALE "
            f"({layout.value('POINT', 'SCALE')[0]:g}) says {other}s: its samples cannot be read",
            field="POINT:SCALE",
        )
    point_rate = (layout.value("POINT", "RATE") or [0.0])[0]
    analog_rate = (layout.value("ANALOG", "RATE") or [0.0])[0]
    if layout.analog_words and analog_rate and point_rate:
        held = layout.analog_per_frame * point_rate
        if not np.isfinite(analog_rate) or abs(analog_rate - held) > 1e-6 * held:
            raise InputError(
                path,
                "the analog rate is not what the data block holds, so the analog data cannot be read in step",
                field="ANALOG:RATE",
                expected=f"{held:g} Hz (the header's {layout.analog_per_frame} samples per frame x "
                f"POINT:RATE {point_rate:g} Hz; export the EMG at such a rate, or as an OpenSim .sto beside a .trc)",
                found=f"{analog_rate:g} Hz",
            )


def _read_parameters(path: Path, raw: bytes, pos: int, end: int, layout: C3dLayout) -> None:
    """Walk the parameter records, checking that each one lies inside the section."""
    order = layout.order
    groups: dict[int, str] = {}
    found: list[tuple[int, str, int, int, tuple[int, ...]]] = []
    for _ in range(100_000):
        if pos + 2 > end:
            break
        n_chars, gid = struct.unpack_from("bb", raw, pos)
        if n_chars == 0 or gid == 0:
            break
        name_end = pos + 2 + abs(n_chars)
        if name_end + 2 > end:
            raise InputError(path, f"damaged parameter section: a record at byte {pos} runs past its end ({end})")
        name = raw[pos + 2 : name_end].decode("ascii", errors="replace").strip().upper()
        (step,) = struct.unpack_from(f"{order}h", raw, name_end)
        body = name_end + 2
        if gid < 0:
            groups[-gid] = name
        else:
            if body + 2 > end:
                raise InputError(path, f"damaged parameter section: parameter {name} runs past its end")
            kind, n_dims = struct.unpack_from("bB", raw, body)
            dims = tuple(raw[body + 2 : body + 2 + n_dims])
            count = int(np.prod(dims, dtype=np.int64)) if dims else 1
            value_at = body + 2 + n_dims
            if kind not in (-1, 1, 2, 4) or value_at + count * abs(kind) > end:
                raise InputError(
                    path,
                    f"damaged parameter section: parameter {name} claims {count * abs(kind)} bytes "
                    f"(type {kind}, dimensions {list(dims)}) past the section's end",
                )
            found.append((gid, name, value_at, kind, dims))
        if step <= 0:
            break
        pos = name_end + step
    for gid, name, value_at, kind, dims in found:
        layout.params[(groups.get(gid, str(gid)), name)] = (value_at, kind, dims)


def read_c3d(path: str | Path) -> LabTrial:
    """One C3D file as a :class:`~miakit.importers.lab.LabTrial`."""
    try:
        import ezc3d
    except ImportError:  # pragma: no cover - an install without the extra
        raise InputError(
            path, "reading C3D needs ezc3d", expected="pip install 'miakit[mocap]'", found="not installed"
        ) from None
    path = Path(path)
    layout = c3d_layout(path)
    _check_agrees(path, layout)
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
        _check_magnitude(path, f"POINT {label!r}", xyz, MAX_ABS_MM, "mm")
        key, n = label, 2
        while key in markers:  # a label written twice (a marker and the joint centre a model computed)
            key, n = f"{label}#{n}", n + 1
        markers[key] = xyz
    analog_rate = float(np.atleast_1d(_value(p, "ANALOG", "RATE", [c3d["header"]["analogs"]["frame_rate"]]))[0] or 0.0)
    analog_labels = list(_value(p, "ANALOG", "LABELS", []) or []) + list(_value(p, "ANALOG", "LABELS2", []) or [])
    analog_units = list(_value(p, "ANALOG", "UNITS", []) or [])
    data = np.asarray(c3d["data"]["analogs"], dtype=np.float64)
    data = data.reshape(-1, data.shape[-1]) if data.size else np.zeros((0, 0))
    rails = _rails(p, len(analog_labels))
    analogs: dict[str, np.ndarray] = {}
    analog_rails: dict[str, tuple[float, float]] = {}
    units_read: dict[str, str] = {}
    analog_labels = _unique_labels(path, analog_labels[: data.shape[0]])
    for i, label in enumerate(analog_labels):
        u = str(analog_units[i]).strip() if i < len(analog_units) else ""
        factor = _VOLTS.get(u.lower(), 1.0)
        analogs[label] = data[i] * factor
        _check_magnitude(path, f"ANALOG {label!r}", analogs[label], MAX_ABS_VOLTS, "V")
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
        notes=_amplitude_notes(analogs, units_read),
        marker_sets=tuple(str(x) for x in (_value(p, "SUBJECTS", "MARKER_SETS", []) or [])),
        axes={
            k: str((_value(p, "POINT", k, [""]) or [""])[0]) for k in ("X_SCREEN", "Y_SCREEN") if _value(p, "POINT", k)
        },
        plate_corners=_plate_corners(p, scale),
    )


def _check_magnitude(path: Path, what: str, x: np.ndarray, limit: float, unit: str) -> None:
    """Values beyond any measurement (an overflow of a damaged SCALE or GEN_SCALE) are the file's
    fault, named here, not the store's when it cannot hold them."""
    finite = np.isfinite(x) | np.isnan(x)
    peak = float(np.nanmax(np.abs(x), initial=0.0)) if finite.all() else float("inf")
    if not peak <= limit:
        raise InputError(
            path,
            f"{what} holds values beyond any measurement (a damaged SCALE, GEN_SCALE or data block?)",
            expected=f"|x| up to {limit:g} {unit}",
            found=f"{peak:.3g} {unit}",
        )


EMG_VOLTS = (1e-6, 20.0)
"""Peak EMG (about its median) a channel stated in volts may plausibly hold: from 1 uV (a channel
with less holds no EMG) to 20 V (amplified EMG at an ADC's rail); outside it the unit or scale is
wrong, and the import says so (the data is kept: a conversion may still make it right)."""


def _amplitude_notes(analogs: dict[str, np.ndarray], units: dict[str, str]) -> list[str]:
    """A note for each EMG-named channel whose amplitude no EMG in its stated unit could have."""

    notes = []
    lo, hi = EMG_VOLTS
    for label, x in analogs.items():
        if units.get(label, "").lower() not in _VOLTS or not (
            match_channel(label).group or match_channel(label).muscle
        ):
            continue
        finite = x[np.isfinite(x)]
        peak = float(np.max(np.abs(finite - np.median(finite)))) if finite.size else 0.0
        if not lo <= peak <= hi:
            notes.append(
                f"EMG channel {label!r} peaks at {peak:.3g} V, outside any plausible EMG for its stated unit "
                f"{units[label]!r} ({lo * 1e6:g} uV to {hi:g} V): check its unit and scale"
            )
    return notes


def _unique_labels(path: Path, labels: list[str]) -> list[str]:
    """The analog labels, each once. Two channels that share a label naming a muscle are refused
    (which records which side or muscle cannot be told); other repeats (force plates, spares) are
    kept apart as ``LABEL~2``."""

    seen: dict[str, int] = {}
    out = []
    for i, label in enumerate(labels):
        key = str(label).strip()
        if key in seen:
            if match_channel(key).muscle or match_channel(key).group:
                raise InputError(
                    path,
                    f"two analog channels share the label {key!r} (channels {seen[key] + 1} and {i + 1}): "
                    "which one records that muscle cannot be told; give each its own label in the file",
                    field="ANALOG:LABELS",
                )
            n = 2
            while f"{key}~{n}" in seen:
                n += 1
            key = f"{key}~{n}"
        seen[key] = i
        out.append(key)
    return out


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
    paths: Sequence[str | Path],
    out: str | Path,
    *,
    catalog: str | Path | None = None,
    name: str | None = None,
    show_progress: bool = False,
    **options,
):
    """Import C3D files into a new store at ``out`` (options: :func:`miakit.importers.lab.load_trials`)."""

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
