"""Frames for the live view: a camera, a network stream or a file played at its own pace.

:func:`parse_source` reads ``--source``: a number or ``/dev/videoN`` is a camera, ``rtsp://``,
``http(s)://``, ``rtmp://``, ``udp://``, ``tcp://`` a stream, anything else a video file. A
:class:`FrameSource` reads it through OpenCV in a thread, stamps each frame with ``time.monotonic()``
as it arrives (the glass-to-prediction latency counts from there) and puts frames on the 10 Hz grid
(:class:`GridPicker`: for each grid time the frame nearest it, as ``miakit predict`` picks them from
a file). A camera's or a stream's step is handed on as soon as its frame is certain: by the next
frame's arrival, or earlier by the clock (:meth:`GridPicker.settles_at`: a frame just before the
step's time is the nearest once a later one could only be as far or farther). Only the latest grid
step waits for the pipeline: the consumer's ``on_step`` decides what to keep (see
:mod:`miakit.live.session`).

A file plays at its own frame rate (``loop``: again from the start at its end). A stream that stops
sending is reopened every second for ``reconnect_s`` seconds; the gap is kept in
:attr:`FrameSource.gaps` and the grid goes on across it (no frames: no steps). A camera that cannot
be opened, a stream that does not answer and a stream that drops for good each end in one line
(:class:`~miakit.errors.InputError`).

cv2 is imported inside the functions that use it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from miakit.errors import InputError
from miakit.layout import RATE_HZ

STREAM_SCHEMES = ("rtsp", "rtmp", "http", "https", "udp", "tcp")


@dataclass(frozen=True)
class SourceSpec:
    """What ``--source`` names: ``kind`` camera, stream or file; ``target`` what OpenCV opens."""

    text: str
    kind: str
    target: str | int


def parse_source(text: str) -> SourceSpec:
    """``--source`` text -> :class:`SourceSpec`; a file that does not exist is refused here."""
    text = str(text).strip()
    if text.isdigit():
        return SourceSpec(text, "camera", int(text))
    if text.startswith("/dev/video"):
        return SourceSpec(text, "camera", text)
    if "://" in text and text.split("://")[0].lower() in STREAM_SCHEMES:
        return SourceSpec(text, "stream", text)
    if not Path(text).is_file():
        raise InputError(
            text,
            "no such video file",
            expected="a camera number (0), /dev/videoN, a stream URL (rtsp://, http://) or a video file",
        )
    return SourceSpec(text, "file", text)


@dataclass
class Frame:
    """One frame: BGR pixels, when it arrived (``time.monotonic()``) and its time in the source
    (seconds from the first frame: a file's presentation time, else the arrival time)."""

    image: np.ndarray
    captured: float
    media_s: float


class GridPicker:
    """Frames in, 10 Hz steps out: for each grid time ``k / rate_hz`` the frame nearest it (a tie:
    the earlier; none further than ``max_offset_s`` away), as :func:`miakit.stages.video.sampled_frames`
    picks them. A step is known when the first frame past its time arrives."""

    def __init__(self, *, rate_hz: float = RATE_HZ, max_offset_s: float = 1.0 / RATE_HZ) -> None:
        self.rate_hz = rate_hz
        self.max_offset_s = max_offset_s
        self.next = 0  # the next grid step
        self._last: Frame | None = None

    def push(self, frame: Frame) -> list[tuple[int, Frame]]:
        """The (step, frame) pairs this frame settles."""
        out = []
        while True:
            t = self.next / self.rate_hz
            if frame.media_s < t:
                break
            before = self._last
            if before is not None and abs(before.media_s - t) <= abs(frame.media_s - t):
                pick = before
            else:
                pick = frame
            if abs(pick.media_s - t) <= self.max_offset_s:
                out.append((self.next, pick))
            self.next += 1
        self._last = frame
        return out

    def settles_at(self) -> float | None:
        """The source time from which the next step's frame is certain without another frame, or
        None (no frame yet, or the last one too far from the step to be picked alone). Where a
        frame's time is its arrival (a camera, a stream), the last frame, ``gap`` before the step's
        time, is the nearest once ``gap`` after it has passed: a frame arriving later is as far or
        farther (a tie: the earlier wins), so the pick is the one :meth:`push` would make."""
        last = self._last
        if last is None:
            return None
        t = self.next / self.rate_hz
        gap = t - last.media_s
        if gap <= 0 or gap > self.max_offset_s:
            return None
        return t + gap

    def settle(self, now_s: float) -> list[tuple[int, Frame]]:
        """The (step, frame) pairs certain at source time ``now_s`` with no new frame (:meth:`settles_at`)."""
        out = []
        while (at := self.settles_at()) is not None and now_s >= at:
            assert self._last is not None
            out.append((self.next, self._last))
            self.next += 1
        return out


@dataclass
class FrameSource:
    """Read ``spec`` in a thread; each grid step goes to ``on_step(step, frame)`` (keep it quick:
    it runs on the reading thread), each frame to ``on_frame(frame)`` where given."""

    spec: SourceSpec
    on_step: Callable[[int, Frame], None]
    on_frame: Callable[[Frame], None] | None = None
    loop: bool = False
    speed: float = 1.0
    """A file: play this many times faster than its own pace (0.5: half speed)."""
    open_timeout_s: float = 10.0
    reconnect_s: float = 30.0
    frames: int = 0
    gaps: list[tuple[float, float]] = field(default_factory=list)
    """(from, to) in source seconds where a stream sent nothing (it dropped and came back)."""
    error: InputError | None = None
    fps: float = 0.0
    size: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._settler: threading.Thread | None = None
        self._picking = threading.Condition()  # the picker and on_step: one thread at a time, steps in order
        self.picker = GridPicker()
        self.reconnecting = False

    # -- opening ----------------------------------------------------------------------------------

    def _open(self):
        import cv2

        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            int(self.open_timeout_s * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            int(self.open_timeout_s * 1000),
        ]
        api = cv2.CAP_V4L2 if self.spec.kind == "camera" else cv2.CAP_FFMPEG
        cap = cv2.VideoCapture(self.spec.target, api, params)
        if not cap.isOpened() and self.spec.kind == "camera":
            cap = cv2.VideoCapture(self.spec.target)
        return cap

    def open(self) -> tuple[int, int]:
        """Open the source and read its first frame: (width, height). Raises InputError (one line)
        for a camera that cannot be opened and a stream or file that gives no frame."""
        cap = self._open()
        first = None
        if cap.isOpened():
            ok, image = cap.read()
            first = image if ok else None
        if first is None:
            cap.release()
            raise InputError(self.spec.text, self._no_frames())
        import cv2

        self.fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.size = (int(first.shape[1]), int(first.shape[0]))
        self._cap, self._first = cap, first
        return self.size

    def _no_frames(self) -> str:
        if self.spec.kind == "camera":
            return "no camera there (OpenCV cannot open it or read a frame)"
        if self.spec.kind == "stream":
            return f"the stream does not answer (no frame within {self.open_timeout_s:g} s)"
        return "not a readable video (no frame decoded)"

    # -- reading ----------------------------------------------------------------------------------

    def first(self) -> Frame:
        """The frame :meth:`open` read, as the grid's step 0 (it is not handed to ``on_step`` again)."""
        frame = Frame(image=self._first, captured=time.monotonic(), media_s=0.0)
        self.picker.push(frame)
        self.frames = 1
        self._first = None
        return frame

    def start(self) -> None:
        if not hasattr(self, "_cap"):
            self.open()
        media_start = self.picker.next / self.picker.rate_hz if self._first is None else 0.0  # after first()
        self._started = time.monotonic() - media_start / self.speed  # a file: when its time 0 was due
        self._clock = time.monotonic() - media_start  # a camera or stream: its time is the arrival time
        self._thread = threading.Thread(target=self._run, name="miakit-live-source", daemon=True)
        self._thread.start()
        if self.spec.kind != "file":
            self._settler = threading.Thread(target=self._settle, name="miakit-live-settle", daemon=True)
            self._settler.start()

    def stop(self) -> None:
        self._stop.set()
        with self._picking:
            self._picking.notify_all()
        for thread in (self._thread, self._settler):
            if thread is not None:
                thread.join(timeout=15)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        import cv2

        cap, image = self._cap, self._first
        started, clock = self._started, self._clock
        offset = 0.0  # a looped file: seconds of the plays before
        media = 0.0
        try:
            while not self._stop.is_set():
                if image is None:
                    ok, image = cap.read()
                    if not ok:
                        image = None
                if image is None:
                    if self.spec.kind == "file":
                        if not self.loop or self.frames == 0:
                            return
                        offset = media + 1.0 / (self.fps or 30.0)
                        cap.release()
                        cap = self._open()
                        continue
                    cap.release()
                    cap = self._reconnect(media)
                    if cap is None:
                        return
                    continue
                if self.spec.kind == "file":
                    media = offset + max(0.0, float(cap.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0)
                    due = started + media / self.speed - time.monotonic()
                    if due > 0 and self._stop.wait(due):
                        return
                with self._picking:  # a camera's or stream's arrival time taken here: in order with _settle's clock
                    now = time.monotonic()
                    if self.spec.kind != "file":
                        media = now - clock
                    frame = Frame(image=image, captured=now, media_s=media)
                    image = None
                    self.frames += 1
                    if self.on_frame is not None:
                        self.on_frame(frame)
                    for step, picked in self.picker.push(frame):
                        self.on_step(step, picked)
                    self._picking.notify()
        except Exception as exc:  # the session reports it in one line
            self.error = InputError(self.spec.text, f"reading frames failed ({exc.__class__.__name__}: {exc})")
        finally:
            if cap is not None:
                cap.release()

    def _settle(self) -> None:
        """A camera or a stream: hand on each step as soon as the clock makes its frame certain
        (:meth:`GridPicker.settles_at`), not only when the next frame arrives."""
        with self._picking:
            while not self._stop.is_set() and self._thread is not None and self._thread.is_alive():
                at = self.picker.settles_at()
                wait = 0.5 if at is None else self._clock + at - time.monotonic()
                if wait > 0:
                    self._picking.wait(min(wait, 0.5))
                    continue
                for step, picked in self.picker.settle(time.monotonic() - self._clock):
                    self.on_step(step, picked)

    def _reconnect(self, media: float):
        """Reopen a stream (or camera) that stopped, every second for ``reconnect_s``: the new
        capture, or None (and :attr:`error` set) where it did not come back."""
        self.reconnecting = True
        lost = time.monotonic()
        try:
            while not self._stop.is_set() and time.monotonic() - lost < self.reconnect_s:
                cap = self._open()
                if cap.isOpened():
                    ok, _ = cap.read()
                    if ok:
                        back = media + (time.monotonic() - lost)
                        self.gaps.append((round(media, 3), round(back, 3)))
                        return cap
                cap.release()
                self._stop.wait(1.0)
            if not self._stop.is_set():
                self.error = InputError(
                    self.spec.text, f"the stream dropped and did not come back within {self.reconnect_s:g} s"
                )
            return None
        finally:
            self.reconnecting = False
