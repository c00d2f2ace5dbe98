"""OpenSim text formats: ``.trc`` markers with ``.sto`` / ``.mot`` EMG (``miakit import trc``).

- ``.trc`` (tab-separated): line 3 holds ``DataRate ... NumFrames NumMarkers Units``, line 4 the
  marker names (one per three columns after ``Frame#`` and ``Time``), line 5 ``X1 Y1 Z1 ...``, then
  one row per frame; an empty field is a gap. Units mm, cm or m.
- ``.sto`` / ``.mot`` (OpenSim storage): header lines up to ``endheader``, then a tab-separated table
  whose first column is ``time`` (s). Its columns are EMG channels, named as in a C3D file. Values
  are volts unless the header says ``units=mV`` or ``units=uV``. Raw EMG, rectified EMG or
  envelopes: told apart per column as for a C3D file (:func:`miakit.importers.lab.emg_signal_kind`).
  The time column must rise by a constant step (within the rounding of its printed digits).
- Pairing: the EMG of ``TRIAL.trc`` is the first of ``TRIAL.sto``, ``TRIAL.mot``, ``TRIAL_emg.sto``,
  ``TRIAL_emg.mot`` beside it (or the file given with ``--emg`` when one trial is imported).
  Both files' time columns are on one clock: EMG samples before the first marker frame are
  dropped, and a later EMG start is padded with gaps.

There are no gait events and no subject parameters in these formats: events are detected
(Zeni), and distances take the mapping's stated defaults. :func:`write_trc` and :func:`write_sto`
write the same formats (an export, used by the tests).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from miakit.errors import InputError
from miakit.files import read_text_capped
from miakit.importers.lab import LabTrial

PIPELINE = "import-trc"
EMG_SUFFIXES = (".sto", ".mot", "_emg.sto", "_emg.mot")
_LENGTH_MM = {"mm": 1.0, "cm": 10.0, "m": 1000.0}
_VOLTS = {"v": 1.0, "mv": 1e-3, "uv": 1e-6}


def read_trc(path: str | Path) -> tuple[dict[str, np.ndarray], float, float]:
    """Markers (label -> (frames, 3) mm, NaN gaps), the rate and the first frame's time of a ``.trc`` file."""
    return _read_trc(path)[:3]


def _read_trc(path: str | Path) -> tuple[dict[str, np.ndarray], float, float, str]:
    """:func:`read_trc`, and the length unit the file states."""
    path = Path(path)
    lines = read_text_capped(path).splitlines()  # a regular file under the size cap (miakit.files)
    if len(lines) < 6 or not lines[0].startswith("PathFileType"):
        raise InputError(
            path,
            "not a .trc file",
            field="line 1",
            expected="PathFileType ...",
            found=lines[0][:40] if lines else "empty",
        )
    keys, values = lines[1].split("\t"), lines[2].split("\t")
    header = dict(zip([k.strip() for k in keys], [v.strip() for v in values]))
    try:
        rate = float(header.get("DataRate") or header["CameraRate"])
    except (KeyError, ValueError):
        raise InputError(
            path, "no data rate", field="DataRate", expected="a number", found=header.get("DataRate")
        ) from None
    scale = _LENGTH_MM.get(header.get("Units", "mm").lower(), None)
    if scale is None:
        raise InputError(path, "unknown units", field="Units", expected="mm, cm or m", found=header.get("Units"))
    names = [n.strip() for n in lines[3].split("\t")[2:]]
    names = [n for n in names if n]
    rows = []
    t0 = None
    for line in lines[5:]:
        if not line.strip():
            continue
        cells = line.split("\t")
        if t0 is None:
            try:
                t0 = float(cells[1])
            except (IndexError, ValueError):
                raise InputError(path, "not a .trc row", field="Time", expected="a number", found=cells[:2]) from None
        rows.append(
            [float(c) if c.strip() else np.nan for c in cells[2 : 2 + 3 * len(names)]]
            + [np.nan] * max(0, 3 * len(names) - len(cells) + 2)
        )
    if not rows or not names:
        raise InputError(
            path,
            "no usable markers",
            field="markers",
            expected="marker names and rows",
            found=f"{len(names)} names, {len(rows)} rows",
        )
    data = np.array(rows, dtype=np.float64) * scale
    return (
        {name: data[:, 3 * i : 3 * i + 3] for i, name in enumerate(names)},
        rate,
        float(t0 or 0.0),
        header.get("Units", "mm"),
    )


def read_sto(path: str | Path) -> tuple[dict[str, np.ndarray], float, float, float]:
    """Columns (label -> samples), the rate, the factor to volts and the first sample's time of an
    OpenSim storage file."""
    path = Path(path)
    lines = read_text_capped(path).splitlines()  # a regular file under the size cap (miakit.files)
    try:
        end = next(i for i, line in enumerate(lines) if line.strip().lower() == "endheader")
    except StopIteration:
        raise InputError(
            path, "not an OpenSim storage file", field="header", expected="a line 'endheader'", found="none"
        ) from None
    units = next(
        (m.group(1).lower() for line in lines[:end] if (m := re.match(r"\s*units\s*=\s*(\S+)", line, re.I))), "v"
    )
    columns = [c.strip() for c in lines[end + 1].split("\t")]
    if not columns or columns[0].lower() != "time":
        raise InputError(path, "no time column", field="columns", expected="time first", found=columns[:3])
    try:
        table = np.array(
            [[float(c) for c in line.split("\t")] for line in lines[end + 2 :] if line.strip()], dtype=np.float64
        )
    except ValueError:
        raise InputError(path, "not a table of numbers", field="rows") from None
    if table.ndim != 2 or table.shape[0] < 2 or table.shape[1] != len(columns):
        raise InputError(path, "wrong table shape", expected=f"rows of {len(columns)} numbers", found=table.shape)
    time = table[:, 0]
    step = np.diff(time)
    k = np.arange(len(time))
    slope, start = np.polyfit(k, time, 1)  # printed times are rounded (1500 Hz to 6 decimals): fit the grid
    if np.any(step <= 0) or np.abs(time - (start + slope * k)).max() > 0.25 * slope:
        raise InputError(
            path, "time does not rise by a constant step", field="time", found=(float(step.min()), float(step.max()))
        )
    rate = 1.0 / slope
    rate = float(round(rate)) if abs(rate - round(rate)) < 1e-6 * rate else float(rate)
    return (
        {c: table[:, i] for i, c in enumerate(columns) if i},
        rate,
        _VOLTS.get(units.replace("µ", "u"), 1.0),
        float(time[0]),
    )


def find_emg_file(trc: Path) -> Path | None:
    for suffix in EMG_SUFFIXES:
        candidate = trc.with_name(trc.stem + suffix)
        if candidate.is_file():
            return candidate
    return None


def read_trial(path: str | Path, emg: str | Path | None = None) -> LabTrial:
    """A ``.trc`` file and its EMG file as a :class:`~miakit.importers.lab.LabTrial`."""
    path = Path(path)
    markers, rate, t0, units = _read_trc(path)
    emg_path = Path(emg) if emg else find_emg_file(path)
    if emg_path is None:
        raise InputError(
            path, "no EMG file beside it", expected=" or ".join(path.stem + s for s in EMG_SUFFIXES), found="none"
        )
    analogs, analog_rate, to_volts, e0 = read_sto(emg_path)
    units_emg = {1.0: "V", 1e-3: "mV", 1e-6: "uV"}[to_volts]
    shift = int(round((e0 - t0) * analog_rate))  # EMG samples before (<0) or after (>0) the first marker frame
    if shift < 0:
        analogs = {k: v[-shift:] for k, v in analogs.items()}
    elif shift > 0:
        analogs = {k: np.concatenate([np.full(shift, np.nan), v]) for k, v in analogs.items()}
    return LabTrial(
        path=path,
        markers=markers,
        marker_rate_hz=rate,
        analogs={k: v * to_volts for k, v in analogs.items()},
        analog_rate_hz=analog_rate,
        emg_scale_to_uv=1e6,
        marker_units=units,
        analog_units={k: units_emg for k in analogs},
    )


def write_trc(path: str | Path, markers: dict[str, np.ndarray], rate_hz: float, *, units: str = "mm") -> Path:
    """Write markers (label -> (frames, 3) in ``units``; NaN: an empty field) as a ``.trc`` file."""
    path = Path(path)
    names = list(markers)
    n = len(next(iter(markers.values())))
    lines = [
        f"PathFileType\t4\t(X/Y/Z)\t{path.name}",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        f"{rate_hz:g}\t{rate_hz:g}\t{n}\t{len(names)}\t{units}\t{rate_hz:g}\t1\t{n}",
        "Frame#\tTime\t" + "\t".join(f"{m}\t\t" for m in names).rstrip("\t"),
        "\t\t" + "\t".join(f"X{i + 1}\tY{i + 1}\tZ{i + 1}" for i in range(len(names))),
        "",
    ]
    for f in range(n):
        cells = [str(f + 1), f"{f / rate_hz:.6f}"]
        for m in names:
            cells += ["" if not np.isfinite(v) else f"{v:.5f}" for v in markers[m][f]]
        lines.append("\t".join(cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_sto(
    path: str | Path, columns: dict[str, np.ndarray], rate_hz: float, *, units: str = "V", start_s: float = 0.0
) -> Path:
    """Write signals (label -> samples) as an OpenSim storage file with a time column from ``start_s``."""
    path = Path(path)
    names = list(columns)
    n = len(next(iter(columns.values())))
    lines = [
        path.stem,
        "version=1",
        f"nRows={n}",
        f"nColumns={len(names) + 1}",
        "inDegrees=no",
        f"units={units}",
        "endheader",
        "time\t" + "\t".join(names),
    ]
    data = np.stack([columns[c] for c in names], axis=1)
    for i in range(n):
        lines.append(f"{start_s + i / rate_hz:.6f}\t" + "\t".join(f"{v:.9g}" for v in data[i]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def import_trc(
    paths: list[str | Path],
    out: str | Path,
    *,
    emg: str | Path | None = None,
    catalog: str | Path | None = None,
    name: str | None = None,
    show_progress: bool = False,
    **options,
):
    """Import ``.trc`` trials (each with its ``.sto``/``.mot`` EMG) into a new store at ``out``."""
    from miakit.importers.common import write_and_register
    from miakit.importers.lab import load_trials

    if emg is not None and len(paths) != 1:
        raise InputError(
            "--emg", "one EMG file for several trials", expected="one .trc file with --emg", found=f"{len(paths)} files"
        )
    ds, report = load_trials(
        paths, lambda p: read_trial(p, emg), pipeline=PIPELINE, show_progress=show_progress, **options
    )
    write_and_register(
        ds,
        out,
        report,
        catalog=catalog,
        name=name,
        description="motion capture (.trc) with EMG (.sto/.mot), markers projected to virtual phone cameras",
    )
    return report
