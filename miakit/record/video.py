"""Video for a session: phone import, live capture, and the sync mark.

- :func:`import_video`: a phone's .mov/.mp4 goes into the session as written, with its frame rate,
  rotation and the container's creation time (read by :func:`miakit.stages.video.probe_video`:
  QuickTime ``com.apple.quicktime.creationdate`` where present, else ``mvhd``, about 1 s precision).
- :class:`LiveCapture`: frames from a camera index, a stream URL or a file played as a live source,
  read through OpenCV; each frame gets a host monotonic time on arrival, written to
  ``video_frames.csv`` (frame, host_time) beside ``video.mp4``.
- :func:`mark_sync`: the recorder marks the moment the subject claps or jumps (a ``sync`` event), so
  the pipeline can line up video and EMG.
"""

from __future__ import annotations

import csv
import shutil
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from miakit.contracts.session import VIDEO_FRAME_COLUMNS, VideoInfo
from miakit.errors import SessionError
from miakit.record.session_writer import SessionWriter
from miakit.stages.video import probe_video

__all__ = ["probe_video", "import_video", "LiveCapture", "mark_sync", "parse_video_source"]


def import_video(writer: SessionWriter, path: str | Path, *, start_host_time: float | None = None) -> VideoInfo:
    """Copy a phone video into the session as written, and describe it in ``session.yaml``.

    Frame 0's host time is ``start_host_time`` where given, else estimated from the container's
    creation time against the session's start (about 1 s precision; the sync step refines it).
    """
    path = Path(path)
    probe = probe_video(path)
    created = _parse_time(probe.creation_time)
    if start_host_time is None:
        start_host_time = (created - writer.meta.start_time).total_seconds() if created else 0.0
    target = writer.folder / f"video{path.suffix.lower()}"
    shutil.copyfile(path, target)
    info = VideoInfo(
        file=target.name,
        source="phone",
        fps=probe.fps,
        width=probe.width,
        height=probe.height,
        rotation=probe.rotation,
        frames=probe.frames,
        start_host_time=start_host_time,
        creation_time=probe.creation_time,
    )
    writer.set_video(info)
    return info


def _parse_time(text: str | None) -> datetime | None:
    """An ISO 8601 creation time as an aware UTC datetime (naive ones are taken as UTC)."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


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
    ``on_frame(image, host_time)``, where given, sees each frame after it is written (the live page
    of ``miakit record --live-predict``); it runs on the capture thread and must be quick.
    """

    def __init__(
        self,
        writer: SessionWriter,
        source: str | int,
        *,
        kind: str = "camera",
        pace: bool | None = None,
        on_frame: Callable[[Any, float], None] | None = None,
    ):
        self.writer = writer
        self.on_frame = on_frame
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
                    fourcc = cv2.VideoWriter_fourcc(*"mp4v")  # type: ignore[attr-defined]  # missing from cv2's stubs
                    out = cv2.VideoWriter(str(out_path), fourcc, fps, (w, h))
                    self._first = host_time
                out.write(frame)
                times.writerow((self.frames, f"{host_time:.6f}"))
                self.frames += 1
                if self.on_frame is not None:
                    self.on_frame(frame, host_time)
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
            file="video.mp4",
            source="stream" if self.kind == "stream" else "camera",
            fps=self._fps,
            width=w,
            height=h,
            rotation=0,
            frames=self.frames,
            start_host_time=self._first,
            frame_times="video_frames.csv",
        )
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
