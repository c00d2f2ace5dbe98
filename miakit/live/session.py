"""The live loop: frames -> 10 Hz steps -> pose and prediction -> the page, with bounded queues.

The source's thread hands each grid step to :meth:`LiveSession.offer`, which keeps **one** step
waiting for the pipeline: a newer step replaces a waiting one, and the replaced step is counted as
dropped (and has no pose: the run of frames breaks there, see
:meth:`miakit.live.predictor.LivePredictor.missed`). Two threads run the steps: the pose thread
(MediaPipe, the person following), then the model thread (the model, the drawing, the message). By
default one step at a time: the pose thread takes the newest waiting step once the model thread
has sent the one before. ``pipeline=True`` (``miakit live --pipeline``): the pose thread finds the
person in step t+1 while the model thread handles step t; it takes a new step once the model thread
has taken the one it posed before, so a posed step waits at most for the rest of one model step.
Measured on 2 shared cores (``benchmarks/live_latency.py``), the pipeline raised the rate a little
or not at all and made each step slower (the model beside MediaPipe took two to three times as
long), so the latency rose: it is for machines with cores to spare. Either way each step's
prediction uses only the steps up to it, in order. Each result goes to the
page as one message (:class:`Hub`, a bounded queue per page). The page answers each message it has
drawn; the time from the frame's capture to that answer is the glass-to-prediction latency
(:meth:`LiveSession.shown`), kept with the time of each of its :data:`STAGES`.

``out``: the 10 Hz frames seen (``video.mp4``) are written as they come, and at the end the same
files as ``miakit predict`` (``activation.csv``, ``activation.zarr`` with the keypoints and the
live predictions, ``activation.png``, ``overlay.mp4``), made by the same functions.
"""

from __future__ import annotations

import base64
import queue
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from miakit.layout import RATE_HZ
from miakit.learn.predict import predicted_dataset
from miakit.live.predictor import LivePredictor, load_checkpoint, window_dataset
from miakit.live.source import Frame, FrameSource, SourceSpec
from miakit.store import write_dataset
from miakit.viz.plots import activation_figure, save_figure
from miakit.viz.predict_video import write_activation_csv
from miakit.viz.render import VideoSource, draw_body, emg_scale, render_segment

if TYPE_CHECKING:
    import cv2

    from miakit.live.predictor import LivePredictor

VIEW_HEIGHT = 480
"""Pixels high of the video on the page."""

STAGES = {
    "grid": "capture to its 10 Hz step being settled (the frame certain: the next one came, or the clock says so)",
    "wait": "the step waiting for the pose thread (still on the step before, or for the model thread to take it)",
    "pose": "MediaPipe and the person following",
    "handoff": "waiting for the model thread (the step before it still in the model or drawing)",
    "model": "the window's inputs and the model",
    "draw": "the skeleton and muscles drawn on the frame, JPEG",
    "send": "to the page server's event loop and out on the websocket",
    "network": "loopback to the page and the answer back, the browser receiving",
    "page": "the page's own time: message received to the image decoded and the table updated",
}
"""The stages of the glass-to-page latency, in order; they add up to it (:meth:`LiveSession.shown`)."""


class Hub:
    """Messages from the worker thread to the pages (each an asyncio queue of at most ``keep``
    messages; a page that falls behind loses its oldest, counted in :attr:`not_shown`)."""

    def __init__(self, keep: int = 4) -> None:
        self.keep = keep
        self.hello: dict = {}
        self._pages: list = []
        self._lock = threading.Lock()
        self.not_shown = 0

    def subscribe(self, loop):
        import asyncio

        q: asyncio.Queue = asyncio.Queue(maxsize=self.keep)
        with self._lock:
            self._pages.append((loop, q))
        return q

    def unsubscribe(self, q) -> None:
        with self._lock:
            self._pages = [(loop, page) for loop, page in self._pages if page is not q]

    @property
    def pages(self) -> int:
        with self._lock:
            return len(self._pages)

    def publish(self, message: dict) -> None:
        with self._lock:
            pages = list(self._pages)
        for loop, q in pages:
            try:
                loop.call_soon_threadsafe(self._put, q, message)
            except RuntimeError:  # that page's loop has closed
                self.unsubscribe(q)

    def _put(self, q, message: dict) -> None:
        import asyncio

        if q.full():
            try:
                q.get_nowait()
                self.not_shown += 1
            except asyncio.QueueEmpty:
                pass
        q.put_nowait(message)


@dataclass
class LiveStats:
    """Counts and times of a live session (``time.monotonic()`` seconds)."""

    steps: int = 0  # steps run
    dropped: int = 0  # steps the pipeline could not keep up with
    latencies_ms: deque = field(default_factory=lambda: deque(maxlen=6000))  # capture -> drawn on a page
    done_at: deque = field(default_factory=lambda: deque(maxlen=64))  # when steps finished
    compute_ms: deque = field(default_factory=lambda: deque(maxlen=600))  # pose + model + drawing per step
    stages_ms: dict = field(default_factory=lambda: {name: deque(maxlen=6000) for name in STAGES})  # of shown steps
    # (not in summary(), which goes with every step: their medians over 6000 steps took 13 ms a step)

    def rate_hz(self) -> float:
        if len(self.done_at) < 2:
            return 0.0
        span = self.done_at[-1] - self.done_at[0]
        return (len(self.done_at) - 1) / span if span > 0 else 0.0

    def summary(self) -> dict:
        lat = np.asarray(self.latencies_ms, dtype=np.float64)
        return {
            "steps": self.steps,
            "dropped": self.dropped,
            "rate_hz": round(self.rate_hz(), 2),
            "latency_ms_median": round(float(np.median(lat)), 1) if lat.size else None,
            "latency_ms_p95": round(float(np.percentile(lat, 95)), 1) if lat.size else None,
            "latencies": int(lat.size),
            "compute_ms_median": round(float(np.median(self.compute_ms)), 1) if self.compute_ms else None,
        }


class LiveSession:
    """Pose and prediction on a live source, published to a :class:`Hub`.

    ``measured``: where given (a recording), a function giving the sensors' latest EMG per muscle,
    sent with each step beside the prediction."""

    _last_frame: np.ndarray  # the last frame kept for --out, repeated for a dropped step

    def __init__(
        self,
        checkpoint,
        spec: SourceSpec | None,
        *,
        hub: Hub | None = None,
        person: str = "start",
        out: Path | None = None,
        loop: bool = False,
        speed: float = 1.0,
        measured: Callable[[], dict[str, float | None]] | None = None,
        reconnect_s: float = 30.0,
        open_timeout_s: float = 10.0,
        background: bool = False,
        pipeline: bool = False,
    ) -> None:

        self.ckpt = load_checkpoint(checkpoint)  # a checkpoint that does not fit: refused before any camera opens
        self.spec = spec
        self.hub = hub or Hub()
        self.person = person
        self.out = Path(out) if out is not None else None
        self.measured = measured
        self.background = background
        self.pipeline = pipeline
        self.stats = LiveStats()
        self.error: Exception | None = None
        self.predictor: LivePredictor | None = None
        self.source: FrameSource | None = None
        if spec is not None:
            self.source = FrameSource(
                spec, on_step=self.offer, loop=loop, speed=speed, reconnect_s=reconnect_s, open_timeout_s=open_timeout_s
            )
        self._waiting: queue.Queue = queue.Queue(maxsize=1)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._marks: OrderedDict[int, dict[str, float]] = OrderedDict()  # seq -> when each stage ended
        self._posed: queue.Queue = queue.Queue(maxsize=1)  # a posed step for the model thread
        self._slot = threading.Semaphore(1)  # the pose thread's turn: the model thread took its last step
        self._threads: list[threading.Thread] = []
        self._posing = self._modelling = False  # a thread is running a step it took
        self._last_index = -1
        self._seq = 0
        self._history: deque = deque(maxlen=600)  # predictions for the colour scale
        self._page_stats: dict = {}
        self._summarised_at = -1e9
        self._kept: list = []  # (index, time, points, activation) for --out
        self._video: cv2.VideoWriter | None = None
        self.started_at = time.monotonic()

    # -- start and stop ---------------------------------------------------------------------------

    def start(self, size: tuple[int, int] | None = None) -> None:
        """Open the source (or take ``size`` = (width, height) of frames handed to :meth:`offer`),
        start the pose and model threads. ``background``: the pose and the model run at the lowest CPU
        priority (this thread and the two, and the threads MediaPipe starts from them), so a
        recording beside them keeps the processor first."""

        if self.background:
            lower_priority()
        if self.source is not None:
            size = self.source.open()
        assert size is not None
        self.size = size
        self.predictor = LivePredictor(self.ckpt, width=size[0], height=size[1], person=self.person)
        self.hub.hello = self.hello()
        if self.source is not None:  # step 0 before the source runs: the pose's slow first call delays no later step
            self._model_step(self._pose_step(0, self.source.first()))
        self._threads = [
            threading.Thread(target=self._pose_thread, name="miakit-live-pose", daemon=True),
            threading.Thread(target=self._model_thread, name="miakit-live-model", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        if self.source is not None:
            self.source.start()
        self.started_at = time.monotonic()

    def hello(self) -> dict:
        return {
            "type": "hello",
            "muscles": list(self.ckpt.muscles),
            "units": str(self.ckpt.meta.get("emg_units", "")),
            "checkpoint": self.ckpt.path.name,
            "model": str(self.ckpt.config.model),
            "window": self.ckpt.window,
            "source": self.spec.text if self.spec is not None else "the recording's video",
            "measured": self.measured is not None,
        }

    @property
    def finished(self) -> bool:
        """The source has ended (a file played through, a stream gone for good)."""
        return self.source is not None and not self.source.running and self._idle()

    def _idle(self) -> bool:
        return self._waiting.empty() and self._posed.empty() and not (self._posing or self._modelling)

    def stop(self) -> None:
        """Stop the source and the worker; write ``out``'s files."""
        if self.source is not None:
            self.source.stop()
        if not self._stop.is_set():
            deadline = time.monotonic() + 10
            while not self._idle() and time.monotonic() < deadline:  # let the last steps run
                time.sleep(0.02)
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        if self.predictor is not None:
            self.predictor.close()
        if self._video is not None:
            self._video.release()
        if self.out is not None and self._kept:
            self._write_out()

    # -- the steps --------------------------------------------------------------------------------

    def offer(self, index: int, frame: Frame) -> None:
        """A grid step from the source: it waits for the pose thread, replacing (and dropping) a step
        that still waits."""
        try:
            self._waiting.put_nowait((index, frame, time.monotonic()))
        except queue.Full:
            try:
                self._waiting.get_nowait()
                with self._lock:
                    self.stats.dropped += 1
            except queue.Empty:
                pass
            self._waiting.put_nowait((index, frame, time.monotonic()))

    def _pose_thread(self) -> None:
        if self.background:
            lower_priority()
        while not self._stop.is_set():
            if not self._slot.acquire(timeout=0.1):
                continue
            try:
                index, frame, settled = self._waiting.get(timeout=0.1)
            except queue.Empty:
                self._slot.release()
                continue
            self._posing = True
            try:
                posed = self._pose_step(index, frame, settled)
            except Exception as exc:
                self._failed(exc)
                posed = (index, frame, None, {})  # the model thread counts it as a step without pose
            self._posed.put(posed)  # never full: the slot was free
            self._posing = False

    def _model_thread(self) -> None:
        if self.background:
            lower_priority()
        while not self._stop.is_set():
            try:
                posed = self._posed.get(timeout=0.1)
            except queue.Empty:
                continue
            self._modelling = True
            if self.pipeline:
                self._slot.release()  # the pose thread may take the next step
            try:
                self._model_step(posed)
            except Exception as exc:
                self._failed(exc)
            self._modelling = False
            if not self.pipeline:
                self._slot.release()  # one step at a time: the next one's pose only now

    def _failed(self, exc: Exception) -> None:
        """Shown on the page and in the summary; the loop goes on."""
        self.hub.publish({"type": "error", "message": f"{exc.__class__.__name__}: {exc}"})
        self.error = exc

    def _pose_step(self, index: int, frame: Frame, settled: float | None = None) -> tuple:
        """The pose of one step (on the pose thread): (index, frame, (shrunk frame, Step without
        activation), marks)."""
        marks = {"captured": frame.captured, "grid": settled or frame.captured, "wait": time.monotonic()}
        predictor = self._started()
        small = predictor.shrink(frame.image)  # once, for the pose and the page
        step = predictor.pose(index, index / RATE_HZ, small)
        marks["pose"] = time.monotonic()
        return index, frame, (small, step), marks

    def _model_step(self, posed: tuple) -> None:
        """The model, the drawing and the message of one posed step (on the model thread, in order)."""
        index, frame, found, marks = posed
        if found is None:  # the pose failed: the step has no pose, like a dropped one
            return
        small, step = found
        marks["handoff"] = time.monotonic()
        for _ in range(max(0, index - self._last_index - 1)):  # dropped steps and gaps: no pose
            self._started().missed()
        self._last_index = index
        step.activation = self._started().predict(step.points)
        marks["model"] = time.monotonic()
        self._history.append(step.activation)
        image = "data:image/jpeg;base64," + base64.b64encode(self._draw(small, step)).decode("ascii")
        marks["draw"] = time.monotonic()
        self._seq += 1
        seq = self._seq
        with self._lock:
            self._marks[seq] = marks
            while len(self._marks) > 256:
                self._marks.popitem(last=False)
            self.stats.steps += 1
            self.stats.done_at.append(marks["draw"])
            self.stats.compute_ms.append((marks["draw"] - marks["handoff"] + marks["pose"] - marks["wait"]) * 1000)
        measured = self.measured() if self.measured is not None else None
        self.hub.publish(
            {
                "type": "step",
                "seq": seq,
                "index": index,
                "t": round(index / RATE_HZ, 3),
                "image": image,
                "predicted": {m: _num(v) for m, v in zip(self.ckpt.muscles, step.activation)},
                "measured": measured,
                "person": self._started().person,
                "tracked": int(step.flag),
                "stats": self._page_summary(),
            }
        )
        if self.out is not None:
            self._keep(step, frame.image)

    def _draw(self, bgr: np.ndarray, step) -> bytes:
        """The frame shrunk to :data:`VIEW_HEIGHT`, the skeleton and the muscles coloured from
        relaxed to flexed (each muscle's 1st to 99th percentile of the predictions so far), as JPEG."""
        import cv2

        h, w = bgr.shape[:2]
        image = cv2.resize(bgr, (round(w * VIEW_HEIGHT / h), VIEW_HEIGHT), interpolation=cv2.INTER_AREA)
        scale = VIEW_HEIGHT / self.size[1]  # keypoints are in pixels of the full frame
        levels = emg_scale(np.stack(self._history), source="the predictions so far").level(step.activation)
        draw_body(
            image,
            step.points[:, :2],
            np.nan_to_num(step.points[:, 2]),
            levels,
            scale=(scale, scale),
            muscles=self.ckpt.muscles,
        )
        ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 75])
        return jpeg.tobytes()

    def sent(self, seq: int) -> None:
        """The page server has sent message ``seq`` on a websocket (the first page's send counts)."""
        now = time.monotonic()
        with self._lock:
            marks = self._marks.get(seq)
            if marks is not None:
                marks.setdefault("send", now)

    def shown(self, seq: int, page_ms: float | None = None) -> float | None:
        """A page drew message ``seq`` (``page_ms``: the page's own time from receiving it to having
        drawn it): the latency from the frame's capture, in ms, kept with its :data:`STAGES`."""
        now = time.monotonic()
        with self._lock:
            marks = self._marks.pop(seq, None)
            if marks is None:
                return None
            ms = (now - marks["captured"]) * 1000
            self.stats.latencies_ms.append(ms)
            if "send" in marks:
                page = min(max(0.0, float(page_ms)), (now - marks["send"]) * 1000) if page_ms is not None else 0.0
                before = marks["captured"]
                for name in ("grid", "wait", "pose", "handoff", "model", "draw"):
                    self.stats.stages_ms[name].append((marks[name] - before) * 1000)
                    before = marks[name]
                self.stats.stages_ms["send"].append((marks["send"] - marks["draw"]) * 1000)
                self.stats.stages_ms["network"].append((now - marks["send"]) * 1000 - page)
                self.stats.stages_ms["page"].append(page)
        return ms

    def _page_summary(self) -> dict:
        """:meth:`summary` for the page, made at most once a second (over 6000 steps it takes ms)."""
        now = time.monotonic()
        if now - self._summarised_at >= 1.0:
            self._page_stats, self._summarised_at = self.summary(), now
        return self._page_stats

    def summary(self) -> dict:
        with self._lock:
            out = self.stats.summary()
        src = self.source
        out.update(
            frames=src.frames if src else 0,
            gaps=[list(g) for g in src.gaps] if src else [],
            reconnecting=bool(src.reconnecting) if src else False,
            not_shown=self.hub.not_shown,
        )
        return out

    def _started(self) -> LivePredictor:
        """The predictor, which :meth:`start` makes."""
        assert self.predictor is not None, "the session has not started"
        return self.predictor

    def _out_folder(self) -> Path:
        """The ``--out`` folder (the steps are kept only where there is one)."""
        assert self.out is not None, "no --out folder"
        return self.out

    # -- --out --------------------------------------------------------------------------------------

    def _keep(self, step, bgr: np.ndarray) -> None:
        import cv2

        video = self._video
        if video is None:
            out = self._out_folder()
            out.mkdir(parents=True, exist_ok=True)
            h, w = bgr.shape[:2]
            fourcc = cv2.VideoWriter_fourcc(*"mp4v")  # type: ignore[attr-defined]  # missing from cv2's stubs
            video = self._video = cv2.VideoWriter(str(out / "video.mp4"), fourcc, RATE_HZ, (w, h))
            self._first_index = step.index
        while self._kept and self._kept[-1][0] < step.index - 1:  # a dropped step: the video repeats the last frame
            self._kept.append((self._kept[-1][0] + 1, None))
            video.write(self._last_frame)
        self._kept.append((step.index, step))
        video.write(bgr)
        self._last_frame = bgr

    def _write_out(self) -> None:
        """``miakit predict``'s files of what was seen (see the module's description)."""

        out = self._out_folder()
        n_muscles = len(self.ckpt.muscles)
        points = np.stack([s.points if s is not None else np.full((25, 3), np.nan) for _, s in self._kept])
        predicted = np.stack([s.activation if s is not None else np.full(n_muscles, np.nan) for _, s in self._kept])
        time_s = (self._first_index + np.arange(len(self._kept))) / RATE_HZ  # the steps' own times
        w, h = self.size
        ds = window_dataset(points, muscles=self.ckpt.muscles, width=w, height=h, source=self.spec_text())
        write_activation_csv(out / "activation.csv", time_s, predicted, self.ckpt.muscles)
        result = predicted_dataset(ds, predicted, self.ckpt)
        write_dataset(result, out / "activation.zarr")
        save_figure(
            activation_figure(
                time_s, predicted, self.ckpt.muscles, title=f"live: {self.spec_text()}", units=result.attrs["emg_units"]
            ),
            out / "activation.png",
        )
        render_segment(
            ds,
            0,
            out / "overlay.mp4",
            predicted=predicted,
            scale=emg_scale(predicted, source="the live predictions"),
            video=VideoSource(path=out / "video.mp4", times=time_s),
            progress=False,
            title=f"live: {self.spec_text()} ({self.ckpt.config.model} model {self.ckpt.path.name})",
        )

    def spec_text(self) -> str:
        return self.spec.text if self.spec is not None else "recording"


def lower_priority() -> None:
    """The calling thread (and the threads it starts) at nice 19, where the system allows it (Linux:
    a thread is a task of its own)."""
    import os

    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError):
        pass


def _num(value: float) -> float | None:
    return round(float(value), 4) if np.isfinite(value) else None
