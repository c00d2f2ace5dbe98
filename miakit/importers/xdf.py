"""``miakit import xdf FILE... --out SESSIONS``: LabRecorder (XDF) files -> contract-1 session folders.

Each file becomes one session folder that builds like a recorded one (``miakit build-dataset``):

- **Clock**: pyxdf loads the file with its clock synchronization (the file's ClockOffset chunks,
  fitted as offset = a + b * t per stream) and jitter removal, so every stream is on the recording
  host's LSL clock. ``host_time`` 0 is the first EMG sample; ``clock.lsl_clock_at_start`` keeps it.
- **EMG**: the numeric streams of type ``EMG`` (or ``--stream NAME``) are stored as an LSL recording
  stores them (:mod:`miakit.record.lsl`): one row per channel per 0.1 s of samples, payload =
  synchronized time stamps + float32 values (decoder ``lsl_float32_v1``), the session's profile the
  ``lsl`` one with the stream's rate and kind. Channel labels name the muscles where they can, else
  ``--sensors``, else channel order. Breaks pyxdf finds in a stream become ``gap`` events.
- **Markers**: string streams (type ``Markers``): ``start:EXERCISE`` / ``stop:EXERCISE`` (also
  ``EXERCISE start``, ``start EXERCISE``) become exercise markers; ``sync``, ``clap``, ``jump``
  (or ``sync:clap``) the sync event; anything else a ``note`` event that keeps its text.
- **Video**: a stream of type ``VideoFrames`` (or ``FrameTimes``; one channel, the frame number)
  becomes ``video_frames.csv``; with ``--video FILE`` the video is copied in and frame 0's host
  time is that stream's first stamp.

Bad input is one line naming the file: not an XDF file, no EMG stream (the streams it has are
named). A truncated file (a recording cut short) is imported as far as pyxdf recovers it, and the
report says what was recovered.
"""

from __future__ import annotations

import csv
import logging
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from miakit._version import __version__
from miakit.contracts.session import validate_session
from miakit.devices.decoders import encode_lsl_float32_v1
from miakit.devices.profiles import load_profile
from miakit.errors import DeviceError, InputError, SessionError
from miakit.files import check_file
from miakit.layout import EXERCISES
from miakit.outputs import is_zarr_store
from miakit.record.lsl import channel_map, session_profile
from miakit.record.recorder import load_sensor_map
from miakit.record.session_writer import SessionWriter

__all__ = ["XdfReport", "import_xdf", "import_xdf_file"]

MAX_XDF_BYTES = 4 << 30
"""Cap on an XDF file's size, 4 GiB (pyxdf reads it whole into memory)."""
MAX_CHANNELS = 1024
"""Most channels an EMG stream may state."""
MAX_RATE_HZ = 100_000.0
"""Highest nominal rate an EMG stream may state."""
CHUNK_S = 0.1
"""Seconds of samples per emg.csv row (per channel)."""
MARKER_TYPES = ("markers", "marker", "events", "event")
VIDEO_TYPES = ("videoframes", "frametimes", "videoframe", "video")


@dataclass
class XdfReport:
    rows: list[dict] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    sessions: list[Path] = field(default_factory=list)


class _XdfInfo:
    """One XDF stream header read like a ``pylsl.StreamInfo`` (what :mod:`miakit.record.lsl` takes)."""

    def __init__(self, stream: dict):
        info = stream["info"]
        self._info = info
        self.labels, self.unit = _channels(info)

    def _get(self, key: str, default: str = "") -> str:
        value = self._info.get(key)
        return str(value[0]) if isinstance(value, list) and value and value[0] is not None else default

    def name(self) -> str:
        return self._get("name", "unnamed")

    def type(self) -> str:
        return self._get("type")

    def channel_count(self) -> int:
        return int(self._get("channel_count", "0"))

    def nominal_srate(self) -> float:
        return float(self._get("nominal_srate", "0"))

    def channel_format(self) -> str:
        return self._get("channel_format")

    def hostname(self) -> str:
        return self._get("hostname", "?")

    def source_id(self) -> str:
        return self._get("source_id")

    def uid(self) -> str:
        return self._get("uid")


def _check_header(path: Path, info: _XdfInfo) -> None:
    """An EMG stream's header must state a usable channel count and rate: they are the file's, and
    a bad one is named as the file's (not as miakit's profile that would be filled in with it)."""
    field = f"stream {info.name()!r}"
    try:
        count = info.channel_count()
    except ValueError:
        found = info._get("channel_count")
        raise SessionError(path, "channel_count is not a whole number", field=field, found=found) from None
    if not 1 <= count <= MAX_CHANNELS:
        raise SessionError(path, "bad channel_count", field=field, expected=f"1 to {MAX_CHANNELS}", found=count)
    try:
        rate = info.nominal_srate()
    except ValueError:
        rate = float("nan")
    if not (np.isfinite(rate) and 0 <= rate <= MAX_RATE_HZ):
        raise SessionError(
            path,
            "bad nominal_srate",
            field=field,
            expected=f"a rate from 0 (irregular) to {MAX_RATE_HZ:g} Hz",
            found=info._get("nominal_srate"),
        )


def _channels(info: dict) -> tuple[list[str] | None, str | None]:
    try:
        chans = info["desc"][0]["channels"][0]["channel"]
    except (KeyError, IndexError, TypeError):
        return None, None
    labels, unit = [], None
    for ch in chans:
        if not isinstance(ch, dict):
            labels.append("")
            continue
        labels.append(str((ch.get("label") or [""])[0] or "").strip())
        unit = unit or str((ch.get("unit") or [""])[0] or "").strip() or None
    return labels, unit


def _kind(stream: dict) -> str:
    info = _XdfInfo(stream)
    t = info.type().strip().lower()
    if info.channel_format() == "string" or t in MARKER_TYPES:
        return "markers"
    if t in VIDEO_TYPES:
        return "video"
    if t == "emg":
        return "emg"
    return "other"


_MARKER = re.compile(r"^\s*(?:(start|stop)[\s:_-]+(\w+)|(\w+)[\s:_-]+(start|stop))\s*$", re.IGNORECASE)


def parse_marker(text: str) -> tuple[str, str]:
    """A marker's text -> (event kind, detail): ``("marker", "start:squat")``, ``("sync", "clap")``
    or ``("note", text)``."""

    m = _MARKER.match(text)
    if m:
        action = (m.group(1) or m.group(4)).lower()
        exercise = (m.group(2) or m.group(3)).lower()
        if exercise in EXERCISES:
            return "marker", f"{action}:{exercise}"
    word = text.strip().lower()
    if word in ("sync", "clap", "jump"):
        return "sync", "clap" if word == "sync" else word
    if word.startswith("sync:") and word[5:] in ("clap", "jump", "flash"):
        return "sync", word[5:]
    return "note", f"marker: {text.strip()}"


def import_xdf(
    files: list[Path],
    out: Path,
    *,
    subject: str | None = None,
    exercise: str | None = None,
    sensors: Path | None = None,
    stream: str | None = None,
    video: Path | None = None,
) -> XdfReport:
    """Import each file; a file that cannot be imported is reported and the others go on. An
    output miakit must not write into is refused first (:func:`check_xdf_output`)."""
    check_xdf_output(files, Path(out))
    report = XdfReport()
    for path in files:
        try:
            folder, row = import_xdf_file(
                Path(path), Path(out), subject=subject, exercise=exercise, sensors=sensors, stream=stream, video=video
            )
        except InputError as exc:
            report.skipped.append((str(path), str(exc)))
            continue
        report.sessions.append(folder)
        report.rows.append(row)
    return report


def session_name(path: Path) -> str:
    """The session folder an XDF file is imported into (under ``--out``): its name, made safe."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", Path(path).stem).strip("-") or "xdf"


def check_xdf_output(files: list[Path], out: Path) -> None:
    """Before any work: ``out`` is a folder (new or not) outside any session folder and Zarr store,
    and no file's session folder under it is a folder of the user's other files (a session folder
    already there is reported per file: sessions are written once)."""

    real = Path(os.path.realpath(out))
    if real.exists() and not real.is_dir():
        raise InputError(out, "exists and is a file", field="--out", expected="a folder for session folders")
    for folder in (real, *real.parents):
        if (folder / "session.yaml").is_file():
            raise InputError(
                out, f"lies in the session folder {folder}; session folders are never modified", field="--out"
            )
        if is_zarr_store(folder):
            raise InputError(
                out, f"lies in the Zarr store {folder}; choose a folder for session folders", field="--out"
            )
    for path in files:
        folder = real / session_name(path)
        if folder.exists() and not folder.is_dir():
            raise InputError(folder, f"exists and is a file: the session folder of {Path(path).name} would replace it")
        if folder.is_dir() and any(folder.iterdir()) and not (folder / "session.yaml").exists():
            raise InputError(
                folder,
                f"holds other files and no session.yaml: the session folder of {Path(path).name} would be "
                "written into it; choose another --out",
                field="--out",
            )


def import_xdf_file(
    path: Path,
    out: Path,
    *,
    subject: str | None = None,
    exercise: str | None = None,
    sensors: Path | None = None,
    stream: str | None = None,
    video: Path | None = None,
) -> tuple[Path, dict]:
    """One XDF file -> one session folder under ``out``; returns it and a summary row."""
    try:
        import pyxdf
    except ImportError:
        raise SessionError(path, "reading XDF needs pyxdf; install it with: pip install 'miakit[lsl]'") from None

    check_file(path, max_bytes=MAX_XDF_BYTES, error=SessionError)
    if video is not None:  # copied in whole: a FIFO or device would never end
        from miakit.stages.video import MAX_VIDEO_BYTES

        check_file(video, max_bytes=MAX_VIDEO_BYTES, error=SessionError)
    with path.open("rb") as fh:
        if fh.read(4) != b"XDF:":
            raise SessionError(path, "not an XDF file", expected="the magic bytes 'XDF:'", found="something else")
    quiet = logging.getLogger("pyxdf")  # its warnings about a cut-short file: the report says what was recovered
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        streams, header = pyxdf.load_xdf(str(path), synchronize_clocks=True, dejitter_timestamps=True)
    except Exception as exc:  # pyxdf raises plain exceptions for files it cannot read at all
        raise SessionError(path, f"not a readable XDF file ({exc.__class__.__name__}: {str(exc)[:100]})") from None
    finally:
        quiet.setLevel(level)
    kinds = [_kind(s) for s in streams]
    emg = [s for s, k in zip(streams, kinds) if (k == "emg" if stream is None else _XdfInfo(s).name() == stream)]
    emg = [s for s in emg if _XdfInfo(s).channel_format() not in ("string", "")]
    seen = [f"{_XdfInfo(s).name()} ({_XdfInfo(s).type() or 'no type'})" for s in streams]
    if not emg:
        what = f"a numeric stream named {stream!r}" if stream else "a numeric stream of type EMG"
        raise SessionError(path, "no EMG stream", expected=what, found=", ".join(seen) or "no streams")
    emg = [s for s in emg if len(s["time_stamps"])]
    if not emg:
        raise SessionError(path, "the EMG stream holds no samples (a file cut short before its first chunk?)")
    infos = [_XdfInfo(s) for s in emg]
    for info in infos:
        _check_header(path, info)
    try:
        channels, mapping, how = channel_map(infos, load_sensor_map(sensors) if sensors else None)
        profile, content = session_profile(load_profile("lsl"), infos)
    except DeviceError as exc:
        raise SessionError(path, str(exc)) from None

    origin = min(float(s["time_stamps"][0]) for s in emg)
    truncated = [_XdfInfo(s).name() for s in streams if "footer" not in s]
    name = session_name(path)
    found = re.search(r"sub-?([A-Za-z0-9]+)", path.stem, re.IGNORECASE)
    subject = subject or (found.group(1) if found else "S01")
    folder = out / name
    start = _start_time(header, path)
    notes = (
        f"imported from {path.name} by pyxdf {getattr(pyxdf, '__version__', '?')} "
        "(clock offsets applied, jitter removed): "
        "every stream is on the recording host's LSL clock; host_time = that time minus lsl_clock_at_start "
        "(the first EMG sample); EMG payloads carry the synchronized time stamps"
    )
    writer = SessionWriter(
        folder,
        session_id=name,
        subject=subject,
        exercise=exercise,
        profile=profile,
        profile_bytes=content,
        sensors=mapping,
        start_time=start,
        host_monotonic_at_start=0.0,
        clock_notes=notes,
        lsl_clock_at_start=origin,
        streams={c.sensor: c.stream for c in channels},
    )
    counts: dict[str, int] = {}
    try:
        rows = []
        by_stream = {_XdfInfo(s).name(): s for s in emg}
        for ch in channels:
            s = by_stream[ch.stream]
            stamps = np.asarray(s["time_stamps"], dtype=np.float64)
            values = np.asarray(s["time_series"], dtype=np.float64)[:, ch.index]
            rate = _XdfInfo(s).nominal_srate() or 10.0
            step = max(1, int(round(rate * CHUNK_S)))
            for i in range(0, len(stamps), step):
                rows.append(
                    (
                        float(stamps[min(i + step, len(stamps)) - 1]) - origin,
                        ch.sensor,
                        encode_lsl_float32_v1(stamps[i : i + step], values[i : i + step]),
                    )
                )
            counts[ch.stream] = len(stamps)
        rows.sort(key=lambda r: r[0])
        events = []
        for s in emg:
            info = _XdfInfo(s)
            stamps = s["time_stamps"]
            events.append(
                (
                    float(stamps[0]) - origin,
                    "connect",
                    info.name(),
                    f"xdf stream source_id={info.source_id()} host={info.hostname()}",
                )
            )
            for (_a, b), (c, _d) in zip(s["info"].get("segments", [])[:-1], s["info"].get("segments", [])[1:]):
                events.append(
                    (
                        float(stamps[b]) - origin,
                        "gap",
                        info.name(),
                        f"xdf break start={float(stamps[b]) - origin:.6f} end={float(stamps[c]) - origin:.6f}",
                    )
                )
        for s, k in zip(streams, kinds):
            if k == "markers":
                for t, value in zip(s["time_stamps"], s["time_series"]):
                    text = str(value[0] if isinstance(value, (list, np.ndarray)) else value)
                    kind, detail = parse_marker(text)
                    events.append((float(t) - origin, kind, "", detail))
        events.sort(key=lambda e: e[0])
        # rows and events in time order; times before the first EMG sample (a marker sent earlier) stay negative
        for e in events:
            writer.add_event(*e)
        for t, sensor, payload in rows:
            writer.add_packet(t, sensor, payload)
        for name_ in truncated:
            writer.add_event(
                max((r[0] for r in rows), default=0.0), "note", name_, "stream has no footer: the file was cut short"
            )
        frames = _write_video(writer, streams, kinds, origin, video)
    finally:
        writer.close()
    validate_session(folder)
    row = {
        "file": path.name,
        "session": folder.name,
        "streams": len(streams),
        "emg": ", ".join(counts),
        "samples": sum(counts.values()),
        "muscles": f"{len(mapping)} ({how})",
        "kind": profile.kind,
        "markers": sum(len(s["time_stamps"]) for s, k in zip(streams, kinds) if k == "markers"),
        "frames": frames,
        "truncated": ", ".join(truncated) or "-",
    }
    if truncated:
        row["recovered"] = "; ".join(
            f"{n}: {len(s['time_stamps'])} samples" for s in streams for n in [_XdfInfo(s).name()] if n in truncated
        )
    row["software"] = __version__
    return folder, row


def _start_time(header: dict | None, path: Path) -> datetime:
    try:
        text = (header or {})["info"]["datetime"][0]
        when = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    except (KeyError, IndexError, TypeError, ValueError):
        return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


def _write_video(writer, streams: list[dict], kinds: list[str], origin: float, video: Path | None) -> int:
    """video_frames.csv from the frame-time stream (frame number = its value, else its index)."""
    frame_streams = [s for s, k in zip(streams, kinds) if k == "video" and len(s["time_stamps"])]
    if not frame_streams:
        if video is not None:
            from miakit.record.video import import_video

            import_video(writer, video)
        return 0
    s = frame_streams[0]
    stamps = np.asarray(s["time_stamps"], dtype=np.float64) - origin
    values = np.asarray(s["time_series"])
    numbers = values[:, 0].astype(np.int64) if values.ndim == 2 and values.shape[1] >= 1 else np.arange(len(stamps))
    with (writer.folder / "video_frames.csv").open("w", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(("frame", "host_time"))
        for n, t in zip(numbers, stamps):
            out.writerow((int(n), f"{t:.6f}"))
    if video is not None:
        from miakit.record.video import import_video

        rate = _XdfInfo(s).nominal_srate()
        lowest = int(np.argmin(numbers))  # frame 0's time: the first frame's, less the frames before it
        first = float(stamps[lowest]) - (float(numbers[lowest]) / rate if rate else 0.0)
        info = import_video(writer, video, start_host_time=first)
        writer.set_video(info.model_copy(update={"frame_times": "video_frames.csv"}))
    return len(stamps)
