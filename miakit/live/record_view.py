"""``miakit record --live-predict CKPT``: the live page during a recording, the sensors' measured EMG
beside the predicted muscles.

The recorder (:mod:`miakit.record.recorder`, a layer below) knows only a small protocol: it calls
:meth:`RecordView.start` with the sources' stats once streaming begins, hands every frame its
video capture (``--video camera:N``, a stream URL, ``live:FILE``) reads to :meth:`RecordView.frame`,
and calls :meth:`RecordView.stop` at the end. The frames go on the 10 Hz grid
(:class:`~miakit.live.source.GridPicker`, by arrival time) into the same
:class:`~miakit.live.session.LiveSession` as ``miakit live``. The recording itself is untouched:
the view only reads the frames and the sensors' last values (each sensor's ``last_value``).

Without a live video the page shows the measured EMG alone and says that no prediction can be made.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from miakit.layout import RATE_HZ

if TYPE_CHECKING:
    from miakit.live.server import Server
    from miakit.live.source import GridPicker


def _preload() -> None:
    import cv2  # noqa: F401

    from miakit.stages.pose import quiet_mediapipe

    with quiet_mediapipe():
        from mediapipe.python.solutions import pose  # noqa: F401
    import starlette.applications  # noqa: F401
    import uvicorn  # noqa: F401


class RecordView:
    """The page of one recording (see the module's description)."""

    def __init__(self, checkpoint: str | Path, *, host: str = "127.0.0.1", port: int = 8765, say=None) -> None:
        from miakit.live.server import require_web
        from miakit.live.session import LiveSession

        require_web()
        self.session = LiveSession(checkpoint, None, background=True)  # refused in one line before recording
        _preload()  # the heavy imports now, not while the sensors stream (they hold Python's lock)
        self.session.measured = self._measured
        self.host, self.port = host, port
        self.say = say or (lambda text: None)
        self.page: Server | None = None
        self._stats: Callable[[], list] = list
        self._picker: GridPicker | None = None
        self._began = 0.0
        self._started = False
        self._ready = threading.Event()
        self._starting: threading.Thread | None = None
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.page.url if self.page is not None else ""

    def start(self, stats: Callable[[], list], *, video: bool) -> None:
        """Streaming has begun: serve the page. ``stats`` gives the sources' SensorStats;
        ``video``: a live video will hand frames to :meth:`frame`."""
        from miakit.live.server import serve
        from miakit.live.source import GridPicker

        self._stats = stats
        self._picker = GridPicker()
        self._began = time.monotonic()
        self.session.hub.hello = dict(
            self.session.hello(),
            source="the recording's video" if video else "no live video (give --video camera:N, a stream or live:FILE)",
        )
        self.page = page = serve(self.session, host=self.host, port=self.port)
        self.say(f"live page: {page.url}")
        if not video:
            self._ticker = threading.Thread(target=self._measured_only, name="miakit-live-emg", daemon=True)
            self._ticker.start()

    def _measured(self) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for s in self._stats():
            value = float(s.last_value)
            out[str(s.muscle)] = round(value, 4) if np.isfinite(value) else None
        return out

    def _measured_only(self) -> None:
        """No video: the measured EMG at 10 Hz, no prediction."""
        k = 0
        while not self._stop.wait(max(0.0, self._began + k / RATE_HZ - time.monotonic())):
            self.session.hub.publish(
                {
                    "type": "step",
                    "seq": 0,
                    "index": k,
                    "t": round(k / RATE_HZ, 3),
                    "image": None,
                    "predicted": {m: None for m in self.session.ckpt.muscles},
                    "measured": self._measured(),
                    "person": "no video",
                    "tracked": 0,
                    "stats": self.session.summary(),
                }
            )
            k += 1

    def frame(self, image: np.ndarray, host_time: float | None = None) -> None:
        """A frame from the recording's live video (on the capture's thread: quick)."""
        from miakit.live.source import Frame

        now = time.monotonic()
        if not self._started:  # the pose starts beside the capture, never on its thread
            self._started = True
            size = (int(image.shape[1]), int(image.shape[0]))
            self._starting = threading.Thread(
                target=self._start_pose, args=(size,), name="miakit-live-start", daemon=True
            )
            self._starting.start()
        if self._picker is None or not self._ready.is_set():
            return
        for index, picked in self._picker.push(Frame(image=image, captured=now, media_s=now - self._began)):
            self.session.offer(index, picked)

    def _start_pose(self, size: tuple[int, int]) -> None:
        try:
            self.session.start(size=size)
            self._ready.set()
        except Exception as exc:  # the recording goes on without predictions; the page says why
            self.session.hub.publish({"type": "error", "message": f"no prediction: {exc}"})
            self.say(f"live page: no prediction ({exc})")

    def stop(self) -> None:
        self._stop.set()
        if self._starting is not None:
            self._starting.join(timeout=60)
        if self._ticker is not None:
            self._ticker.join(timeout=5)
        if self._ready.is_set():
            self.session.stop()
        if self.page is not None:
            self.page.stop()
