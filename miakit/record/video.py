"""Video for a session: phone import, live capture, and the sync mark.

- :func:`probe_video` / :func:`import_video`: a phone's .mov/.mp4 goes into the session as written,
  with its frame rate, rotation (the track matrix) and the container's creation time (QuickTime
  ``com.apple.quicktime.creationdate`` where present, else the ``mvhd`` box, about 1 s precision).
- :class:`LiveCapture`: frames from a camera index, a stream URL or a file played as a live source,
  read through OpenCV; each frame gets a host monotonic time on arrival, written to
  ``video_frames.csv`` (frame, host_time) beside ``video.mp4``.
- :func:`mark_sync`: the recorder marks the moment the subject claps or jumps (a ``sync`` event), so
  the pipeline can line up video and EMG.
"""

from __future__ import annotations

import csv
import shutil
import struct
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from miakit.contracts.session import VIDEO_FRAME_COLUMNS, VideoInfo
from miakit.errors import SessionError
from miakit.record.session_writer import SessionWriter

__all__ = ["VideoProbe", "probe_video", "import_video", "LiveCapture", "mark_sync", "parse_video_source"]

_EPOCH_1904 = datetime(1904, 1, 1, tzinfo=timezone.utc)
_CONTAINERS = {b"moov", b"trak", b"mdia", b"udta", b"meta"}


@dataclass(frozen=True)
class VideoProbe:
    fps: float
    width: int
    """As displayed (rotation applied)."""
    height: int
    rotation: int
    frames: int
    creation_time: datetime | None


def _boxes(data: bytes, start: int, end: int):
    """(type, payload start, payload end) of the ISO-BMFF boxes in ``data[start:end]``."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header:
            return
        yield kind, pos + header, min(pos + size, end)
        pos += size


def _read_moov(path: Path) -> bytes | None:
    """The ``moov`` box of an MP4/MOV file, read without loading the media data."""
    with path.open("rb") as fh:
        while True:
            head = fh.read(8)
            if len(head) < 8:
                return None
            size, kind = struct.unpack(">I4s", head)
            header = 8
            if size == 1:
                size = struct.unpack(">Q", fh.read(8))[0]
                header = 16
            if kind == b"moov":
                body = fh.read(size - header) if size else fh.read()
                return b"\0" * 8 + body  # walked from offset 8, past a plain header
            if size == 0:
                return None
            fh.seek(size - header, 1)


def _container_info(path: Path) -> tuple[int, datetime | None]:
    """(rotation in degrees clockwise, creation time) from the movie header boxes."""
    moov = _read_moov(path)
    if moov is None:
        return 0, None
    rotation, created, apple = 0, None, None

    def walk(start: int, end: int, trail: tuple[bytes, ...]) -> None:
        nonlocal rotation, created, apple
        keys: list[str] = []
        for kind, a, b in _boxes(moov, start, end):
            if kind == b"mvhd":
                version = moov[a]
                secs = struct.unpack(">Q", moov[a + 4 : a + 12])[0] if version == 1 else struct.unpack(">I", moov[a + 4 : a + 8])[0]
                if secs:
                    created = _EPOCH_1904 + timedelta(seconds=secs)
            elif kind == b"tkhd" and rotation == 0:
                version = moov[a]
                off = a + (4 + 32 + 8 if version == 1 else 4 + 20 + 8) + 8 + 4  # to the matrix
                m = struct.unpack(">9i", moov[off : off + 36])
                rotation = _matrix_rotation(m[0] / 65536, m[1] / 65536)
            elif kind == b"meta":
                inner = a + 4 if trail and trail[-1] == b"udta" else a
                walk(inner, b, trail + (kind,))
            elif kind == b"keys":
                count = struct.unpack(">I", moov[a + 4 : a + 8])[0]
                pos = a + 8
                for _ in range(count):
                    size = struct.unpack(">I", moov[pos : pos + 4])[0]
                    keys.append(moov[pos + 8 : pos + size].decode("utf-8", "replace"))
                    pos += size
            elif kind == b"ilst":
                for item, ia, ib in _boxes(moov, a, b):
                    index = struct.unpack(">I", item)[0] - 1
                    if 0 <= index < len(keys) and keys[index] == "com.apple.quicktime.creationdate":
                        for dkind, da, db in _boxes(moov, ia, ib):
                            if dkind == b"data":
                                apple = moov[da + 8 : db].decode("utf-8", "replace")
            elif kind in _CONTAINERS:
                walk(a, b, trail + (kind,))

    walk(8, len(moov), ())
    if apple:
        try:
            created = datetime.fromisoformat(apple.replace("Z", "+00:00")).astimezone(timezone.utc)
        except ValueError:
            pass
    return rotation, created


def _matrix_rotation(a: float, b: float) -> int:
    """Clockwise display rotation from the first row (a, b) of a track matrix."""
    if a == 0 and b == 1:
        return 90
    if a == -1 and b == 0:
        return 180
    if a == 0 and b == -1:
        return 270
    return 0


def probe_video(path: str | Path) -> VideoProbe:
    """Frame rate, displayed size, rotation, frame count and creation time of a video file."""
    import cv2

    path = Path(path)
    if not path.is_file():
        raise SessionError(path, "no such video file")
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise SessionError(path, "OpenCV cannot open this video")
        cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 0)
        fps = float(cap.get(cv2.CAP_PROP_FPS))
        width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        cap.release()
    if fps <= 0 or width <= 0 or height <= 0:
        raise SessionError(path, "the video has no frame rate or size", found=f"fps={fps}, {width}x{height}")
    rotation, created = _container_info(path) if path.suffix.lower() in (".mp4", ".mov", ".m4v") else (0, None)
    if rotation in (90, 270):
        width, height = height, width
    return VideoProbe(fps=fps, width=width, height=height, rotation=rotation, frames=frames, creation_time=created)


def import_video(writer: SessionWriter, path: str | Path, *, start_host_time: float | None = None) -> VideoInfo:
    """Copy a phone video into the session as written, and describe it in ``session.yaml``.

    Frame 0's host time is ``start_host_time`` where given, else estimated from the container's
    creation time against the session's start (about 1 s precision; the sync step refines it).
    """
    path = Path(path)
    probe = probe_video(path)
    if start_host_time is None:
        start_host_time = (
            (probe.creation_time - writer.meta.start_time).total_seconds() if probe.creation_time else 0.0
        )
    target = writer.folder / f"video{path.suffix.lower()}"
    shutil.copyfile(path, target)
    info = VideoInfo(
        file=target.name, source="phone", fps=probe.fps, width=probe.width, height=probe.height,
        rotation=probe.rotation, frames=probe.frames, start_host_time=start_host_time,
        creation_time=probe.creation_time.isoformat() if probe.creation_time else None,
    )  # fmt: skip
    writer.set_video(info)
    return info


def parse_video_source(source: str) -> tuple[str, str | int, bool]:
    """``--video`` text -> (kind, OpenCV source, live).

    ``camera:N`` is camera N; ``rtsp://``, ``http(s)://``, ``udp://`` are streams; ``live:FILE`` plays
    a file as if it were a live camera; any other path is a phone video to import.
    """
    if source.startswith("camera:"):
        return "camera", int(source.removeprefix("camera:")), True
    if source.split("://")[0] in ("rtsp", "rtmp", "http", "https", "udp", "tcp") and "://" in source:
        return "stream", source, True
    if source.startswith("live:"):
        return "camera", source.removeprefix("live:"), True
    return "phone", source, False


class LiveCapture:
    """Capture frames in a background thread, stamping each with the host's monotonic clock.

    ``pace`` plays a file source at its own frame rate (a file read as a camera would deliver it).
    """

    def __init__(self, writer: SessionWriter, source: str | int, *, kind: str = "camera", pace: bool | None = None):
        self.writer = writer
        self.source = source
        self.kind = kind
        self.pace = isinstance(source, str) and Path(source).is_file() if pace is None else pace
        self.frames = 0
        self.error: str | None = None
        self._stop = threading.Event()
        self._opened = threading.Event()
        self._thread = threading.Thread(target=self._run, name="miakit-video", daemon=True)
        self._fps = 0.0
        self._size = (0, 0)
        self._first: float | None = None

    def start(self, *, timeout_s: float = 10.0) -> None:
        """Open the source and start capturing; raises SessionError where it cannot be opened."""
        self._thread.start()
        self._opened.wait(timeout_s)
        if self.error:
            self._thread.join()
            raise SessionError(str(self.source), self.error)

    def _run(self) -> None:
        import cv2

        cap = cv2.VideoCapture(self.source)
        if not cap.isOpened():
            self.error = "OpenCV cannot open this video source"
            self._opened.set()
            return
        fps = float(cap.get(cv2.CAP_PROP_FPS)) or 30.0
        self._fps = fps
        t0 = self.writer.meta.clock.host_monotonic_at_start
        out_path = self.writer.folder / "video.mp4"
        times_fh = (self.writer.folder / "video_frames.csv").open("w", newline="", buffering=1)
        times = csv.writer(times_fh, lineterminator="\n")
        times.writerow(VIDEO_FRAME_COLUMNS)
        out = None
        self._opened.set()
        start = time.monotonic()
        try:
            while not self._stop.is_set():
                if self.pace:
                    due = start + self.frames / fps - time.monotonic()
                    if due > 0:
                        time.sleep(due)
                ok, frame = cap.read()
                if not ok:
                    break
                host_time = time.monotonic() - t0
                if out is None:
                    h, w = frame.shape[:2]
                    self._size = (w, h)
                    out = cv2.VideoWriter(str(out_path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
                    self._first = host_time
                out.write(frame)
                times.writerow((self.frames, f"{host_time:.6f}"))
                self.frames += 1
        finally:
            cap.release()
            if out is not None:
                out.release()
            times_fh.close()

    def stop(self) -> VideoInfo | None:
        """Stop, close the files, and record the video in ``session.yaml`` (None if no frame came)."""
        self._stop.set()
        self._thread.join()
        if self.frames == 0 or self._first is None:
            return None
        w, h = self._size
        info = VideoInfo(
            file="video.mp4", source="stream" if self.kind == "stream" else "camera", fps=self._fps, width=w,
            height=h, rotation=0, frames=self.frames, start_host_time=self._first, frame_times="video_frames.csv",
        )  # fmt: skip
        self.writer.set_video(info)
        return info

    def wait(self, timeout_s: float | None = None) -> None:
        """Wait until the source ends (a file) or ``timeout_s`` passes."""
        self._thread.join(timeout_s)


def mark_sync(writer: SessionWriter, *, what: str = "clap", host_time: float | None = None) -> float:
    """Write a ``sync`` event (the subject claps or jumps now); returns its host time."""
    t = time.monotonic() - writer.meta.clock.host_monotonic_at_start if host_time is None else host_time
    writer.add_event(t, "sync", "", what)
    return t
