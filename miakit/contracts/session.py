"""Contract 1: a raw session folder, written once by the recorder and never modified.

Layout (names fixed; optional parts are named in ``session.yaml``)::

    SESSION/
      session.yaml        what was recorded: ids, subject, exercise, start time, device profile
                          (name and sha256), sensor map, video source, clock notes, software
      profile.yaml        the device profile as it was when recording (decoding uses this copy)
      emg.csv             append-only, one row per BLE notification (LSL: per channel per pulled chunk):
                          host_time, sensor, seq, payload (hex of the raw bytes)
      events.csv          host_time, kind, sensor, detail (connect, disconnect, marker, sync, ...)
      clock_offsets.csv   optional (Lab Streaming Layer): host_time, stream, local_time, offset: each
                          clock offset LSL measured (remote clock + offset = local LSL clock)
      video.mp4           optional: the video as the phone or camera wrote it
      video_frames.csv    optional: frame, host_time (where the recorder captured live)
      keypoints/          optional: OpenPose BODY_25 JSON, one file per video frame
      truth.csv           optional (synthetic sessions): time, one column per muscle, the noise-free
                          activation in device units

Every ``host_time`` is seconds on the host's monotonic clock since the session's start
(``clock.host_monotonic_at_start`` in ``session.yaml`` restores the raw clock). ``seq`` counts the
notifications the recorder received from that sensor, from 0; the device's own packet counter, where
it has one, is inside the payload.

What a build trusts (each breach is that session's one-line reason, the other sessions are built):

- Everything a session reads lies inside its folder: the paths ``session.yaml`` names
  (``video.file``, ``video.frame_times``, ``keypoints.dir``, ``truth.file``) are relative, without
  ``..``, and no file or folder of a session is a symlink. So everything read is in the session's
  input hash.
- ``session.yaml`` and ``profile.yaml`` are at most :data:`MAX_META_BYTES` (1 MiB) of UTF-8 YAML,
  read by :mod:`miakit.safe_yaml` (aliases bounded); ``profile.yaml`` hashes to
  ``recorder.profile_sha256``.
- Numbers are finite and in the ranges :data:`LIMITS` states (fps, image sizes, host times); a
  device profile's own ranges are in :class:`miakit.devices.profiles.Profile`.
- ``emg.csv`` and ``events.csv`` are UTF-8 text without NUL bytes; a folder holds at most
  :data:`MAX_SESSION_FILES` files.

Lab Streaming Layer sessions (``recorder.profile`` of ``transport: lsl``) carry each sample's LSL time
stamp in the payload, on the stream's source clock. ``clock.lsl_clock_at_start`` (the host's LSL
clock at host_time 0), ``clock.streams`` (sensor -> stream) and the offsets in ``clock.offsets``
map them to host time as pyxdf does: offset fitted as ``a + b * local_time`` per stream, host time =
stamp + offset - lsl_clock_at_start. A stream with no offsets (an XDF import: already synchronized)
takes offset 0.
"""

from __future__ import annotations

import csv
import os
from datetime import datetime
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from miakit.errors import SessionError
from miakit.layout import MUSCLES
from miakit.safe_yaml import read_yaml

SCHEMA = "miakit-session/1"
SESSION_FILE = "session.yaml"
PROFILE_FILE = "profile.yaml"
EMG_FILE = "emg.csv"
EVENTS_FILE = "events.csv"
TRUTH_FILE = "truth.csv"
OFFSETS_FILE = "clock_offsets.csv"
OFFSET_COLUMNS = ("host_time", "stream", "local_time", "offset")
EMG_COLUMNS = ("host_time", "sensor", "seq", "payload")
EVENT_COLUMNS = ("host_time", "kind", "sensor", "detail")
VIDEO_FRAME_COLUMNS = ("frame", "host_time")
EVENT_KINDS = (
    "start",
    "stop",
    "connect",
    "disconnect",
    "reconnect",
    "gap",
    "marker",
    "sync",
    "error",
    "note",
)
"""``marker`` details are ``start:<exercise>`` or ``stop:<exercise>``; ``sync`` marks a clap or jump."""

MAX_META_BYTES = 1 << 20
"""Size cap of ``session.yaml`` and ``profile.yaml``, checked before they are read (1 MiB)."""
MAX_SESSION_FILES = 1_000_000
"""A session folder holding more files than this is refused (one per video frame is typical)."""
LIMITS = {
    "fps": (0.1, 10_000.0),
    "image_size": (1, 100_000),
    "frames": (0, 100_000_000),
    "host_time": (-1e6, 1e7),
}
"""Plausible ranges (inclusive): camera and keypoint rates in frames per second, image sizes in
pixels, frame counts, host times in seconds from the session's start (up to about 115 days)."""
_Fps = Annotated[float, Field(ge=LIMITS["fps"][0], le=LIMITS["fps"][1])]
_Pixels = Annotated[int, Field(ge=LIMITS["image_size"][0], le=LIMITS["image_size"][1])]
_HostTime = Annotated[float, Field(ge=LIMITS["host_time"][0], le=LIMITS["host_time"][1])]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class RecorderInfo(_Strict):
    profile: str = Field(description="the device profile's name")
    profile_sha256: str = Field(min_length=64, max_length=64)
    emulated: bool = False


class VideoInfo(_Strict):
    file: str
    source: Literal["phone", "camera", "stream", "synthetic"]
    fps: _Fps
    width: _Pixels = Field(description="width of the frames as displayed (rotation applied)")
    height: _Pixels
    rotation: int = Field(0, description="degrees clockwise the stored frames need to be displayed")
    frames: int | None = Field(None, ge=LIMITS["frames"][0], le=LIMITS["frames"][1])
    start_host_time: _HostTime = Field(description="best estimate of frame 0's host time, seconds")
    frame_times: str | None = Field(None, description="video_frames.csv where captured live")
    creation_time: str | None = None

    @field_validator("rotation")
    @classmethod
    def _rotation(cls, v: int) -> int:
        if v not in (0, 90, 180, 270):
            raise ValueError(f"rotation must be 0, 90, 180 or 270, found {v}")
        return v


class KeypointsInfo(_Strict):
    format: Literal["openpose_json"]
    dir: str
    fps: _Fps
    width: _Pixels
    height: _Pixels
    start_host_time: _HostTime
    estimator: str = Field(description="what produced them: openpose, mediapipe, synthetic, ...")


class ClockInfo(_Strict):
    host_clock: str = "monotonic"
    host_monotonic_at_start: float
    notes: str = ""
    lsl_clock_at_start: float | None = Field(
        None, description="LSL sessions: the host's LSL clock (pylsl.local_clock) at host_time 0"
    )
    streams: dict[str, str] = Field(
        {}, description="LSL sessions: sensor -> the LSL stream whose clock its time stamps are on"
    )
    offsets: str | None = Field(None, description="LSL sessions: clock_offsets.csv, the clock offsets LSL measured")


class TruthInfo(_Strict):
    file: str = TRUTH_FILE
    description: str = "noise-free activation in device units"


class SessionMeta(_Strict):
    """``session.yaml``."""

    schema_: Literal["miakit-session/1"] = Field(alias="schema")
    session_id: str = Field(min_length=1)
    subject: str = Field(min_length=1)
    exercise: str | None = Field(
        description="null where markers in events.csv name the exercises; null and no markers: "
        "built as one segment of exercise 'unknown' (contracts.dataset.UNKNOWN_EXERCISE)"
    )
    start_time: datetime = Field(description="UTC wall-clock time at host_time 0, ISO 8601")
    status: Literal["recording", "complete"] = Field(
        description="'recording' until the recorder closes the session; a folder left 'recording' was cut short"
    )
    recorder: RecorderInfo
    sensors: dict[str, str] = Field(description="sensor id -> muscle name")
    video: VideoInfo | None = None
    keypoints: KeypointsInfo | None = None
    truth: TruthInfo | None = None
    clock: ClockInfo
    software: dict[str, str] = {}

    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)

    @field_validator("sensors")
    @classmethod
    def _sensors(cls, v: dict[str, str]) -> dict[str, str]:
        if not v:
            raise ValueError("at least one sensor is needed")
        muscles = list(v.values())
        dupes = sorted({m for m in muscles if muscles.count(m) > 1})
        if dupes:
            raise ValueError(f"muscles mapped twice: {dupes}")
        return v

    @property
    def truncated(self) -> bool:
        return self.status != "complete"

    def to_yaml(self) -> str:
        data = self.model_dump(mode="json", by_alias=True, exclude_none=False)
        return yaml.safe_dump(data, sort_keys=False)


def _error_line(where: Path, exc: ValidationError) -> SessionError:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"]) or "(top level)"
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "missing":
        return SessionError(where, "missing field", field=field)
    return SessionError(where, msg, field=field, found=err["input"])


def read_meta(folder: str | Path) -> SessionMeta:
    """Read and check ``session.yaml`` of a session folder."""
    path = Path(folder) / SESSION_FILE
    if not path.is_file() and not path.is_symlink():
        raise SessionError(folder, f"not a session folder: no {SESSION_FILE}")
    data = read_yaml(path, error=SessionError, max_bytes=MAX_META_BYTES, follow_symlinks=False)
    if not isinstance(data, dict):
        raise SessionError(path, expected="a mapping of session fields", found=type(data).__name__)
    try:
        return SessionMeta.model_validate(data)
    except ValidationError as exc:
        raise _error_line(path, exc) from None


def _check_text(path: Path) -> None:
    """A CSV file of a session is UTF-8 text without NUL bytes (checked block by block)."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            nul = block.find(b"\0")
            if nul >= 0:
                raise SessionError(
                    path, f"holds a NUL byte at offset {offset + nul}", expected="UTF-8 text", found="a NUL byte"
                )
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                raise SessionError(
                    path, f"not UTF-8 text (byte {block[exc.start : exc.start + 1]!r} at offset {offset + exc.start})"
                ) from None
            offset += len(block)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise SessionError(path, "not UTF-8 text (cut in the middle of a character at the end)") from None


def _check_header(path: Path, expected: tuple[str, ...]) -> None:
    if path.is_symlink():
        raise SessionError(path, "is a symlink (files a session reads must lie inside its folder)")
    if not path.is_file():
        raise SessionError(path, "not a regular file" if path.exists() else "missing file")
    try:
        _check_text(path)
        with path.open(newline="", encoding="utf-8") as fh:
            header = next(csv.reader(fh), None)
    except OSError as exc:
        raise SessionError(path, f"unreadable ({exc.strerror or exc.__class__.__name__})") from None
    if header is None:
        raise SessionError(path, "empty file", expected=f"a header {','.join(expected)}", found="nothing")
    if tuple(header) != expected:
        raise SessionError(path, "wrong header", expected=",".join(expected), found=",".join(header))


def validate_session(folder: str | Path, *, muscles: tuple[str, ...] | None = MUSCLES) -> SessionMeta:
    """Check a raw session folder against contract 1; return its metadata.

    Raises :class:`~miakit.errors.SessionError` with one line naming the file, the field, what was
    expected and what was found. A folder cut short (status ``recording``) is valid: the pipeline
    builds it and flags it as truncated.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SessionError(folder, "no such session folder")
    _check_no_links(folder)
    meta = read_meta(folder)
    where = folder / SESSION_FILE
    _check_paths(folder, meta)
    if muscles is not None:
        for sensor, muscle in meta.sensors.items():
            if muscle not in muscles:
                raise SessionError(
                    where, "unknown muscle", field=f"sensors.{sensor}", expected=f"one of {list(muscles)}", found=muscle
                )
    if not (folder / PROFILE_FILE).is_file() or (folder / PROFILE_FILE).is_symlink():
        raise SessionError(folder / PROFILE_FILE, "missing file (the device profile used to record)")
    _check_header(folder / EMG_FILE, EMG_COLUMNS)
    _check_header(folder / EVENTS_FILE, EVENT_COLUMNS)
    if meta.video is not None:
        if not (folder / meta.video.file).is_file():
            raise SessionError(
                where, "file not found", field="video.file", expected="a video file", found=meta.video.file
            )
        if meta.video.frame_times:
            _check_header(folder / meta.video.frame_times, VIDEO_FRAME_COLUMNS)
    if meta.keypoints is not None and not (folder / meta.keypoints.dir).is_dir():
        raise SessionError(where, "folder not found", field="keypoints.dir", found=meta.keypoints.dir)
    if meta.truth is not None:
        _check_header(folder / meta.truth.file, ("time", *meta.sensors.values()))
    if meta.clock.offsets:
        _check_header(folder / meta.clock.offsets, OFFSET_COLUMNS)
    return meta


def _check_no_links(folder: Path) -> None:
    """No file or folder inside a session is a symlink (nothing followed out of or around it, so a
    link loop cannot hang a build), and the folder holds at most :data:`MAX_SESSION_FILES` entries."""
    count = 0
    todo = [folder]
    while todo:
        here = todo.pop()
        try:
            entries = list(os.scandir(here))
        except OSError as exc:
            raise SessionError(here, f"unreadable folder ({exc.strerror or exc.__class__.__name__})") from None
        for entry in entries:
            count += 1
            if entry.is_symlink():
                rel = os.path.relpath(entry.path, folder)
                raise SessionError(
                    folder,
                    "a symlink inside the session folder (everything a session reads must lie inside it)",
                    found=rel,
                )
            if entry.is_dir(follow_symlinks=False):
                todo.append(Path(entry.path))
        if count > MAX_SESSION_FILES:
            raise SessionError(folder, f"too many files: limit {MAX_SESSION_FILES} hit")


def _check_paths(folder: Path, meta: SessionMeta) -> None:
    """The paths session.yaml names are relative, stay inside the folder and are no symlinks."""
    where = folder / SESSION_FILE
    named = {
        "video.file": meta.video.file if meta.video else None,
        "video.frame_times": meta.video.frame_times if meta.video else None,
        "keypoints.dir": meta.keypoints.dir if meta.keypoints else None,
        "truth.file": meta.truth.file if meta.truth else None,
    }
    for field, rel in named.items():
        if rel is None:
            continue
        expected = "a path inside the session folder (relative, without '..')"
        posix = PurePosixPath(rel.replace("\\", "/"))
        if not rel.strip() or "\0" in rel or posix.is_absolute() or PureWindowsPath(rel).drive or ".." in posix.parts:
            raise SessionError(where, "path leaves the session folder", field=field, expected=expected, found=rel)
        here = folder
        for part in posix.parts:
            here = here / part
            if here.is_symlink():
                raise SessionError(where, "path is a symlink", field=field, expected=expected, found=rel)


def read_events(folder: str | Path):
    """``events.csv`` as a DataFrame with numeric, finite host times (a crash may cut the last row:
    it is dropped); anything else unreadable is a SessionError naming the line."""
    import numpy as np
    import pandas as pd

    path = Path(folder) / EVENTS_FILE
    try:
        events = pd.read_csv(path, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise SessionError(path, f"unreadable ({' '.join(str(exc).split())[:120]})") from None
    times = pd.to_numeric(events["host_time"], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(times))
    if len(bad) and bad[0] == len(events) - 1:
        events, times, bad = events.iloc[:-1], times[:-1], bad[:-1]
    if len(bad):
        raise SessionError(
            path,
            "unreadable row",
            field=f"line {bad[0] + 2}",
            expected="a finite host_time",
            found=str(events["host_time"].iloc[bad[0]]),
        )
    events = events.copy()
    events["host_time"] = times
    return events


def find_sessions(root: str | Path) -> list[Path]:
    """Session folders under ``root`` (``root`` itself when it is one), sorted by path.

    Symlinked folders below ``root`` are not followed (a link loop cannot hang the search)."""
    root = Path(root)
    if (root / SESSION_FILE).is_file():
        return [root]
    found = []
    for dirpath, _dirnames, filenames in os.walk(root, followlinks=False):
        if SESSION_FILE in filenames:
            found.append(Path(dirpath))
    return sorted(found)
