"""OpenSim text formats: ``.trc`` markers with ``.sto`` / ``.mot`` EMG (``miakit import trc``).

Every header form OpenSim has written, tab- or space-aligned (a line with tabs is split at tabs, and
an empty cell between two tabs is a gap; a line without is split at runs of spaces):

- ``.trc``: line 1 ``PathFileType ...``; a line of field names (``DataRate CameraRate NumFrames
  NumMarkers Units OrigDataRate ...``, in any order, some absent) with their values on the next line,
  found by name (the values may have empty cells between them); then ``Frame# Time NAME ...`` (one
  name per three columns), usually a line ``X1 Y1 Z1 ...``, then one row per frame. Units mm, cm or m
  (or spelled out). The rate is ``DataRate`` (else ``CameraRate``).
- ``.sto`` / ``.mot`` (OpenSim storage): header lines up to ``endheader``: ``key=value`` (version 1,
  the older form with ``nRows=`` / ``nColumns=`` and no version, OpenSim 4's ``DataType=``,
  ``inDegrees=``) or the old ``.mot`` header before version 1 (``name``, ``datacolumns N``,
  ``datarows N``, ``range A B``); then the column labels, ``time`` first, and the rows. Its columns
  are EMG channels, named as in a C3D file or as OpenSim names muscles (``vaslat_r``). Values are
  volts unless the header says ``units=mV`` or ``units=uV``. Raw EMG, rectified EMG or envelopes:
  told apart per column as for a C3D file (:func:`miakit.importers.lab.emg_signal_kind`). The time
  column must rise by a constant step (within the rounding of its printed digits).

A file that lies is refused in one line, never read as a shorter or shifted trial: fewer rows than
``NumFrames`` / ``nRows`` or a last row cut short (``Truncated: N of M frames``), more rows than
stated, a row whose cell count is not the header's, ``NumMarkers`` / ``nColumns`` that the labels
contradict, a rate that is not finite and above 0, a ``Time`` column that the ``DataRate`` contradicts.

- Pairing: the EMG of ``TRIAL.trc`` is the first of ``TRIAL.sto``, ``TRIAL.mot``, ``TRIAL_emg.sto``,
  ``TRIAL_emg.mot`` beside it (or the file given with ``--emg`` when one trial is imported); without
  one, the trial imports as keypoints only, with a note. Both files' time columns are on one clock:
  EMG samples before the first marker frame are dropped, and a later EMG start is padded with gaps;
  EMG that does not overlap the markers is refused.

There are no gait events and no subject parameters in these formats: events are detected
(Zeni), and distances take the mapping's stated defaults. :func:`write_trc` and :func:`write_sto`
write the version-1 forms (an export, used by the tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from miakit.errors import InputError
from miakit.files import read_text_capped
from miakit.importers.common import write_and_register
from miakit.importers.lab import LabTrial, load_trials

PIPELINE = "import-trc"
EMG_SUFFIXES = (".sto", ".mot", "_emg.sto", "_emg.mot")
_LENGTH_MM = {
    "mm": 1.0,
    "millimeters": 1.0,
    "millimetres": 1.0,
    "cm": 10.0,
    "centimeters": 10.0,
    "centimetres": 10.0,
    "m": 1000.0,
    "meters": 1000.0,
    "metres": 1000.0,
}
_VOLTS = {"v": 1.0, "mv": 1e-3, "uv": 1e-6}
MAX_RATE_HZ = 1e6
"""A stated sampling rate above this (or not finite, or not above 0) is refused."""


def _lines(path: Path) -> list[str]:
    return read_text_capped(path).splitlines()  # a regular file under the size cap (miakit.files)


def _cells(line: str) -> list[str]:
    """A line's cells: split at tabs where it has them (an empty cell is a gap), else at runs of spaces
    (space-aligned columns); trailing empty cells (a tab at the end of the row) dropped."""
    if "\t" in line:
        cells = [c.strip() for c in line.split("\t")]
        while cells and not cells[-1]:
            cells.pop()
        return cells
    return line.split()


def _number(text: str, path: Path, field: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        raise InputError(path, "not a number", field=field, expected="a number", found=text) from None


def _rate(text: str | None, path: Path, field: str) -> float:
    """A stated sampling rate: finite and above 0, else refused."""
    if text is None:
        raise InputError(path, "no data rate", field=field, expected="a number of samples per second", found="none")
    rate = _number(text, path, field)
    if not (np.isfinite(rate) and 0 < rate <= MAX_RATE_HZ):
        raise InputError(
            path,
            "not a sampling rate",
            field=field,
            expected=f"a rate above 0 and up to {MAX_RATE_HZ:g} Hz",
            found=text,
        )
    return rate


def _count(header: dict[str, str], key: str, path: Path) -> int | None:
    """A stated count (NumFrames, nRows), or None where the header does not state it."""
    if key not in header or header[key] == "":
        return None
    value = _number(header[key], path, key)
    if not (np.isfinite(value) and value >= 0 and value == int(value)):
        raise InputError(path, "not a count", field=key, expected="a whole number", found=header[key])
    return int(value)


def _table(lines: list[str], start: int, width: int, path: Path, what: str, stated: int | None) -> np.ndarray:
    """The rows of numbers from ``lines[start:]`` (blank lines skipped), each of ``width`` cells (an
    empty cell or ``NaN``: a gap). A row of another width is refused, and so is a table shorter or
    longer than the header's ``stated`` count: a file cut short is never read as a shorter trial."""
    rows: list[list[float]] = []
    body = [(i, line) for i, line in enumerate(lines[start:], start + 1) if line.strip()]
    for k, (number, line) in enumerate(body):
        cells = _cells(line)
        if len(cells) != width:
            if k == len(body) - 1 and len(cells) < width:  # the last row cut short: the file was cut
                total = f" of {stated}" if stated is not None else ""
                raise InputError(
                    path, f"Truncated: {len(body) - 1}{total} {what} (the file ends mid-row at line {number})"
                )
            raise InputError(
                path,
                f"a row with {len(cells)} cells where the header has {width} columns",
                field=f"line {number}",
                expected=f"{width} cells per row (tab- or space-separated; an empty cell between tabs is a gap)",
                found=f"{len(cells)} cells",
            )
        try:
            rows.append([float(c) if c else np.nan for c in cells])
        except ValueError:
            bad = next(c for c in cells if c and not _is_number(c))
            raise InputError(
                path, "not a table of numbers", field=f"line {number}", expected="numbers", found=bad
            ) from None
    if stated is not None and len(rows) != stated:
        if len(rows) < stated:
            raise InputError(path, f"Truncated: {len(rows)} of {stated} {what}")
        raise InputError(
            path, f"the file holds {len(rows)} {what}, more than its header states", expected=stated, found=len(rows)
        )
    if not rows:
        raise InputError(path, f"no {what}", expected="rows of numbers after the header", found="none")
    return np.array(rows, dtype=np.float64)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_time(time: np.ndarray, path: Path, rate: float | None) -> float:
    """The rate of a time column that rises by a constant step (within the rounding of its printed
    digits), and, where the header states a ``rate``, by that rate's step."""
    if not np.isfinite(time).all():
        raise InputError(path, "a time that is not a number", field="time", expected="finite times", found="NaN or inf")
    if len(time) < 2:
        if rate is None:
            raise InputError(path, "too short", field="rows", expected="at least two samples", found=len(time))
        return rate
    step = np.diff(time)
    k = np.arange(len(time))
    slope, start = np.polyfit(k, time, 1)  # printed times are rounded (1500 Hz to 6 decimals): fit the grid
    if np.any(step <= 0) or np.abs(time - (start + slope * k)).max() > 0.25 * slope:
        raise InputError(
            path, "time does not rise by a constant step", field="time", found=(float(step.min()), float(step.max()))
        )
    if rate is not None and abs(slope * rate - 1.0) > 0.01:
        raise InputError(
            path,
            "the time column and the stated rate disagree",
            field="DataRate",
            expected=f"a step of {1 / rate:.6g} s ({rate:g} Hz)",
            found=f"{slope:.6g} s ({1 / slope:.6g} Hz)",
        )
    found = 1.0 / slope
    return float(round(found)) if abs(found - round(found)) < 1e-6 * found else float(found)


def read_trc(path: str | Path) -> tuple[dict[str, np.ndarray], float, float]:
    """Markers (label -> (frames, 3) mm, NaN gaps), the rate and the first frame's time of a ``.trc`` file."""
    return _read_trc(path)[:3]


def _read_trc(path: str | Path) -> tuple[dict[str, np.ndarray], float, float, str]:
    """:func:`read_trc`, and the length unit the file states."""
    path = Path(path)
    lines = _lines(path)
    if not lines or not lines[0].strip().lower().startswith("pathfiletype"):
        raise InputError(
            path,
            "not a .trc file",
            field="line 1",
            expected="PathFileType ...",
            found=lines[0][:40] if lines else "empty",
        )
    # The header's fields by name: a line of names (DataRate, NumFrames, Units, ...) and below it a
    # line of values, tab- or space-aligned, with or without empty cells between them.
    at = next(
        (i for i, line in enumerate(lines[1:6], 1) if {"datarate", "numframes"} & set(line.lower().split())), None
    )
    if at is None or at + 1 >= len(lines):
        raise InputError(
            path, "no header fields", field="line 2", expected="DataRate ... NumFrames NumMarkers Units", found="none"
        )
    header = dict(zip(lines[at].split(), lines[at + 1].split()))
    rate = _rate(header.get("DataRate") or header.get("CameraRate"), path, "DataRate")
    units = header.get("Units", "mm")
    scale = _LENGTH_MM.get(units.lower())
    if scale is None:
        raise InputError(path, "unknown units", field="Units", expected="mm, cm or m", found=units)
    n_frames, n_markers = _count(header, "NumFrames", path), _count(header, "NumMarkers", path)
    at = next((i for i in range(at + 2, min(at + 6, len(lines))) if lines[i].strip().lower().startswith("frame")), None)
    if at is None:
        raise InputError(path, "no marker names", field="line 4", expected="Frame# Time NAME ...", found="none")
    names = [n for n in _cells(lines[at])[2:] if n]
    if n_markers is not None and len(names) != n_markers:
        raise InputError(
            path,
            "the marker names and NumMarkers disagree",
            field="NumMarkers",
            expected=f"{n_markers} names on line {at + 1}",
            found=f"{len(names)} names",
        )
    if not names:
        raise InputError(path, "no usable markers", field="markers", expected="marker names", found="none")
    coordinates = lines[at + 1].split() if at + 1 < len(lines) else []
    start = at + 2 if coordinates and not _is_number(coordinates[0]) else at + 1  # the X1 Y1 Z1 line, if any
    table = _table(lines, start, 2 + 3 * len(names), path, "frames", n_frames)
    _check_time(table[:, 1], path, rate)
    data = table[:, 2:] * scale
    return (
        {name: data[:, 3 * i : 3 * i + 3] for i, name in enumerate(names)},
        rate,
        float(table[0, 1]),
        units,
    )


_OLD_HEADER = {"datacolumns": "ncolumns", "datarows": "nrows"}  # the SIMM / pre-version-1 .mot header


def read_sto_header(path: str | Path) -> tuple[dict[str, str], list[str], int]:
    """The header fields of an OpenSim storage file (lower-case names: ``nrows``, ``ncolumns``,
    ``indegrees``, ``units``, ...; the old ``datarows`` / ``datacolumns`` under the new names), its
    column labels and the index of the line that holds them."""
    path = Path(path)
    return _sto_header(path, _lines(path))


def _sto_header(path: Path, lines: list[str]) -> tuple[dict[str, str], list[str], int]:
    try:
        end = next(i for i, line in enumerate(lines) if line.strip().lower() == "endheader")
    except StopIteration:
        raise InputError(
            path, "not an OpenSim storage file", field="header", expected="a line 'endheader'", found="none"
        ) from None
    header: dict[str, str] = {}
    for line in lines[:end]:
        if "=" in line:  # version 1 and the nRows= form
            key, _, value = line.partition("=")
            header[key.strip().lower()] = value.strip()
        elif len(words := line.split()) >= 2 and words[0].lower() in (*_OLD_HEADER, "name", "range"):
            header[_OLD_HEADER.get(words[0].lower(), words[0].lower())] = " ".join(words[1:])
    at = next((i for i in range(end + 1, len(lines)) if lines[i].strip()), len(lines))
    columns = _cells(lines[at]) if at < len(lines) else []
    if not columns or columns[0].lower() != "time":
        raise InputError(path, "no time column", field="columns", expected="time first", found=columns[:3])
    stated = _count(header, "ncolumns", path)
    if stated is not None and stated != len(columns):
        raise InputError(
            path,
            "the column labels and nColumns disagree",
            field="nColumns",
            expected=f"{stated} labels (time included)",
            found=f"{len(columns)} labels",
        )
    return header, columns, at


def read_sto(path: str | Path) -> tuple[dict[str, np.ndarray], float, float, float]:
    """Columns (label -> samples), the rate, the factor to volts and the first sample's time of an
    OpenSim storage file (``.sto``, ``.mot``: any header form, tab- or space-aligned)."""
    path = Path(path)
    lines = _lines(path)
    header, columns, at = _sto_header(path, lines)
    table = _table(lines, at + 1, len(columns), path, "rows", _count(header, "nrows", path))
    rate = _check_time(table[:, 0], path, None)
    units = header.get("units", "V").lower().replace("µ", "u")
    return (
        {c: table[:, i] for i, c in enumerate(columns) if i},
        rate,
        _VOLTS.get(units, 1.0),
        float(table[0, 0]),
    )


def find_emg_file(trc: Path) -> Path | None:
    for suffix in EMG_SUFFIXES:
        candidate = trc.with_name(trc.stem + suffix)
        if candidate.is_file():
            return candidate
    return None


def read_trial(path: str | Path, emg: str | Path | None = None) -> LabTrial:
    """A ``.trc`` file and its EMG file as a :class:`~miakit.importers.lab.LabTrial`; without an EMG
    file beside it (and no ``emg``), the markers alone (imported as keypoints only, with a note)."""
    path = Path(path)
    markers, rate, t0, units = _read_trc(path)
    emg_path = Path(emg) if emg else find_emg_file(path)
    if emg_path is None:
        looked = ", ".join(path.stem + s for s in EMG_SUFFIXES)
        return LabTrial(
            path=path,
            markers=markers,
            marker_rate_hz=rate,
            marker_units=units,
            emg_note=f"no EMG file beside it (looked for {looked}; --emg names one)",
        )
    analogs, analog_rate, to_volts, e0 = read_sto(emg_path)
    units_emg = {1.0: "V", 1e-3: "mV", 1e-6: "uV"}[to_volts]
    n_markers = len(next(iter(markers.values())))
    n_analog = len(next(iter(analogs.values()), []))
    shift = int(round((e0 - t0) * analog_rate))  # EMG samples before (<0) or after (>0) the first marker frame
    if shift >= n_markers / rate * analog_rate or -shift >= n_analog:
        raise InputError(
            emg_path,
            "the EMG and the markers do not overlap in time",
            field="time",
            expected=f"EMG within the markers' {t0:g}-{t0 + (n_markers - 1) / rate:g} s",
            found=f"{e0:g}-{e0 + (n_analog - 1) / analog_rate:g} s",
        )
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
    paths: Sequence[str | Path],
    out: str | Path,
    *,
    emg: str | Path | None = None,
    catalog: str | Path | None = None,
    name: str | None = None,
    show_progress: bool = False,
    **options,
):
    """Import ``.trc`` trials (each with its ``.sto``/``.mot`` EMG) into a new store at ``out``."""

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
