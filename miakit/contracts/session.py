"""Contract 1: a raw session folder, written once by the recorder and never modified.

Layout (names fixed; optional parts are named in ``session.yaml``)::

    SESSION/
      session.yaml        what was recorded: ids, subject, exercise, start time, device profile
                          (name and sha256), sensor map, video source, clock notes, software
      profile.yaml        the device profile as it was when recording (decoding uses this copy)
      emg.csv             append-only, one row per BLE notification:
                          host_time, sensor, seq, payload (hex of the raw bytes)
      events.csv          host_time, kind, sensor, detail (connect, disconnect, marker, sync, ...)
      video.mp4           optional: the video as the phone or camera wrote it
      video_frames.csv    optional: frame, host_time (where the recorder captured live)
      keypoints/          optional: OpenPose BODY_25 JSON, one file per video frame
      truth.csv           optional (synthetic sessions): time, one column per muscle, the noise-free
                          activation in device units

Every ``host_time`` is seconds on the host's monotonic clock since the session's start
(``clock.host_monotonic_at_start`` in ``session.yaml`` restores the raw clock). ``seq`` counts the
notifications the recorder received from that sensor, from 0; the device's own packet counter, where
it has one, is inside the payload.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from miakit.errors import SessionError
from miakit.layout import MUSCLES

SCHEMA = "miakit-session/1"
SESSION_FILE = "session.yaml"
PROFILE_FILE = "profile.yaml"
EMG_FILE = "emg.csv"
EVENTS_FILE = "events.csv"
TRUTH_FILE = "truth.csv"
EMG_COLUMNS = ("host_time", "sensor", "seq", "payload")
EVENT_COLUMNS = ("host_time", "kind", "sensor", "detail")
VIDEO_FRAME_COLUMNS = ("frame", "host_time")
EVENT_KINDS = (
    "start", "stop", "connect", "disconnect", "reconnect", "gap", "marker", "sync", "error", "note",
)  # fmt: skip
"""``marker`` details are ``start:<exercise>`` or ``stop:<exercise>``; ``sync`` marks a clap or jump."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecorderInfo(_Strict):
    profile: str = Field(description="the device profile's name")
    profile_sha256: str = Field(min_length=64, max_length=64)
    emulated: bool = False


class VideoInfo(_Strict):
    file: str
    source: Literal["phone", "camera", "stream", "synthetic"]
    fps: float = Field(gt=0)
    width: int = Field(gt=0, description="width of the frames as displayed (rotation applied)")
    height: int = Field(gt=0)
    rotation: int = Field(0, description="degrees clockwise the stored frames need to be displayed")
    frames: int | None = Field(None, ge=0)
    start_host_time: float = Field(description="best estimate of frame 0's host time, seconds")
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
    fps: float = Field(gt=0)
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    start_host_time: float
    estimator: str = Field(description="what produced them: openpose, mediapipe, synthetic, ...")


class ClockInfo(_Strict):
    host_clock: str = "monotonic"
    host_monotonic_at_start: float
    notes: str = ""


class TruthInfo(_Strict):
    file: str = TRUTH_FILE
    description: str = "noise-free activation in device units"


class SessionMeta(_Strict):
    """``session.yaml``."""

    schema_: Literal["miakit-session/1"] = Field(alias="schema")
    session_id: str = Field(min_length=1)
    subject: str = Field(min_length=1)
    exercise: str | None = Field(description="null where markers in events.csv name the exercises; null and no markers: built as one segment of exercise 'unknown' (contracts.dataset.UNKNOWN_EXERCISE)")
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

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

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
    return SessionError(where, f"{msg} (found {err['input']!r})", field=field)


def read_meta(folder: str | Path) -> SessionMeta:
    """Read and check ``session.yaml`` of a session folder."""
    path = Path(folder) / SESSION_FILE
    if not path.is_file():
        raise SessionError(folder, f"not a session folder: no {SESSION_FILE}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise SessionError(path, f"not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise SessionError(path, expected="a mapping of session fields", found=type(data).__name__)
    try:
        return SessionMeta.model_validate(data)
    except ValidationError as exc:
        raise _error_line(path, exc) from None


def _check_header(path: Path, expected: tuple[str, ...]) -> None:
    if not path.is_file():
        raise SessionError(path, "missing file")
    with path.open(newline="") as fh:
        header = next(csv.reader(fh), None)
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
    meta = read_meta(folder)
    where = folder / SESSION_FILE
    if muscles is not None:
        for sensor, muscle in meta.sensors.items():
            if muscle not in muscles:
                raise SessionError(
                    where, "unknown muscle", field=f"sensors.{sensor}", expected=f"one of {list(muscles)}", found=muscle
                )
    if not (folder / PROFILE_FILE).is_file():
        raise SessionError(folder / PROFILE_FILE, "missing file (the device profile used to record)")
    _check_header(folder / EMG_FILE, EMG_COLUMNS)
    _check_header(folder / EVENTS_FILE, EVENT_COLUMNS)
    if meta.video is not None:
        if not (folder / meta.video.file).is_file():
            raise SessionError(where, "file not found", field="video.file", expected="a video file", found=meta.video.file)
        if meta.video.frame_times:
            _check_header(folder / meta.video.frame_times, VIDEO_FRAME_COLUMNS)
    if meta.keypoints is not None and not (folder / meta.keypoints.dir).is_dir():
        raise SessionError(where, "folder not found", field="keypoints.dir", found=meta.keypoints.dir)
    if meta.truth is not None:
        _check_header(folder / meta.truth.file, ("time", *meta.sensors.values()))
    return meta


def find_sessions(root: str | Path) -> list[Path]:
    """Session folders under ``root`` (``root`` itself when it is one), sorted by path."""
    root = Path(root)
    if (root / SESSION_FILE).is_file():
        return [root]
    return sorted(p.parent for p in root.rglob(SESSION_FILE))
