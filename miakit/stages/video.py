"""Video decoding for the 10 Hz grid: probe a file, then decode only the frames a list of times needs.

Frames come out as the viewer sees them: OpenCV's FFmpeg back end applies the container's rotation
(the display matrix a phone writes when it films in portrait), and sizes are of that displayed image.
Times are presentation timestamps (seconds from the first frame), so variable-frame-rate phone videos
land on the right grid times. For MP4 and QuickTime files, PyAV reads what OpenCV does not tell
(:func:`_read_mp4`, FFmpeg's demuxer, no decoding): truncation, the creation time, the frames'
presentation times and whether the frame rate varies.

The pose stage decodes with :func:`sampled_frames` (PyAV): only the frames the grid needs are
converted, straight to the small RGB image the model takes, and non-reference frames nobody needs
are not decoded at all; :func:`frames_at` (OpenCV) gives full-size BGR frames for drawing.

cv2 and av are imported inside the functions that use them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from miakit.errors import InputError
from miakit.files import check_file

if TYPE_CHECKING:
    from fractions import Fraction

    from av.stream import Stream

MIN_FPS = 0.5
"""Slowest frame rate a video may state or its timing give (a damaged track timescale gives 0.004 fps)."""
MAX_FPS = 2000.0
"""Fastest frame rate a video may state or its timing give."""
MAX_VIDEO_BYTES = 64 << 30
"""Cap on a video file's size, 64 GiB (decoded frame by frame, never read whole)."""
_VFR_SPREAD = 0.05
"""Frame steps that differ by more than this fraction of their median (and by more than the two
ticks of rounding a muxer may add) make a video variable-frame-rate."""


@dataclass(frozen=True)
class VideoMeta:
    """What a video holds, as displayed.

    ``width`` and ``height`` are of the displayed image (rotation applied); ``rotation`` is the
    clockwise rotation in degrees (0, 90, 180, 270) that the player applies to the coded frames;
    ``fps`` is the nominal (for a VFR video: average) frame rate; ``duration_s`` the span the frames
    cover; ``creation_time`` an ISO 8601 string from the container, or None where it has none;
    ``variable_frame_rate`` is True where the container's frame durations vary (False where the
    container does not say).
    """

    path: Path
    fps: float
    frames: int
    width: int
    height: int
    rotation: int
    duration_s: float
    creation_time: str | None
    variable_frame_rate: bool


@dataclass(frozen=True)
class _Mp4Info:
    creation_time: str | None
    frames: int | None
    duration_s: float | None
    variable_frame_rate: bool


def probe_video(path: str | Path) -> VideoMeta:
    """Read a video's metadata and check that its first frame decodes.

    Raises InputError (one line naming the file) for a missing, empty, truncated or unreadable file,
    one that is not a regular file, and timing that cannot be right: a frame rate, or frames over the
    span their durations give, outside :data:`MIN_FPS` to :data:`MAX_FPS` (a damaged ``mdhd``
    timescale or ``stts`` durations), or frames that share presentation times. So a grid built on
    ``duration_s`` is bounded by the frames the file holds.
    """
    import cv2

    path = Path(path)
    size = check_file(path, max_bytes=MAX_VIDEO_BYTES)
    if size == 0:
        raise InputError(path, "empty video file", expected="video data", found="0 bytes")
    mp4 = _read_mp4(path) if _looks_like_mp4(path) else None
    _check_video_stream(path)

    cap = _open(path)
    try:
        if not cap.grab():
            raise InputError(path, "no decodable frame (truncated or damaged video)")
        fps = float(cap.get(cv2.CAP_PROP_FPS))
        counted = int(round(cap.get(cv2.CAP_PROP_FRAME_COUNT)))
        width = int(round(cap.get(cv2.CAP_PROP_FRAME_WIDTH)))
        height = int(round(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        rotation = int(round(cap.get(cv2.CAP_PROP_ORIENTATION_META))) % 360
    finally:
        cap.release()
    if not fps > 0 or not np.isfinite(fps):
        raise InputError(path, "no frame rate in the video", field="fps", expected="> 0", found=fps)
    if not MIN_FPS <= fps <= MAX_FPS:
        raise InputError(
            path,
            "implausible frame rate (a damaged track timescale?)",
            field="fps",
            expected=f"{MIN_FPS:g} to {MAX_FPS:g} fps",
            found=f"{fps:.3g} fps",
        )
    frames = mp4.frames if mp4 and mp4.frames else counted
    if frames <= 0:
        raise InputError(path, "no frames in the video", field="frames", expected="> 0", found=frames)
    duration = mp4.duration_s if mp4 and mp4.duration_s else frames / fps
    if frames > 1 and not MIN_FPS <= frames / duration <= MAX_FPS:  # the grid is bounded by the frames held
        raise InputError(
            path,
            "implausible timing: its frames' durations do not fit its frame count (damaged sample durations?)",
            field="duration",
            expected=f"{frames} frames over {frames / MAX_FPS:.3g} to {frames / MIN_FPS:.3g} s",
            found=f"{duration:.3g} s",
        )
    return VideoMeta(
        path=path,
        fps=fps,
        frames=frames,
        width=width,
        height=height,
        rotation=rotation,
        duration_s=float(duration),
        creation_time=mp4.creation_time if mp4 else None,
        variable_frame_rate=mp4.variable_frame_rate if mp4 else False,
    )


def frames_at(
    path: str | Path,
    times_s: np.ndarray,
    *,
    meta: VideoMeta | None = None,
    max_offset_s: float | None = None,
) -> Iterator[tuple[int, float, np.ndarray]]:
    """Decode, for each requested time, the frame whose presentation time is nearest to it.

    ``times_s`` are seconds from the video's first frame, ascending. Yields
    ``(index into times_s, that frame's time in seconds from the first frame, BGR image)`` with the
    rotation applied, in the order of ``times_s``. A time with no frame within ``max_offset_s``
    (default: one nominal frame interval, ``1 / fps``) is skipped: a gap in a variable-frame-rate
    video, or a time past either end. When times are closer together than frames, one image object
    is yielded for several times.

    The file is decoded once, front to back: frames are only grabbed (decoded, not converted) until
    one may be the nearest to the next requested time; only those are converted to BGR.
    """
    import cv2

    times = np.asarray(times_s, dtype=np.float64).ravel()
    if times.size == 0:
        return
    if np.any(np.diff(times) < 0) or not np.all(np.isfinite(times)):
        raise ValueError("times_s must be finite and ascending")
    meta = meta or probe_video(path)
    interval = 1.0 / meta.fps
    tolerance = interval if max_offset_s is None else float(max_offset_s)
    # A frame before the requested time is converted when it may turn out to be the nearest one.
    # At a constant rate that is within half an interval; at a variable rate, the next frame may
    # come late, so any frame within the tolerance may be the nearest.
    lead = tolerance if meta.variable_frame_rate else 0.5 * interval * 1.001

    cap = _open(path)
    try:
        j, n = 0, times.size
        held: tuple[float, np.ndarray] | None = None
        first: float | None = None
        number = -1
        while j < n and cap.grab():
            number += 1
            stamp = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            first = stamp if first is None else first
            p = stamp - first
            is_last = number >= meta.frames - 1
            current: np.ndarray | None = None
            while j < n:
                t = times[j]
                held_gap = abs(held[0] - t) if held is not None else np.inf
                if p < t:
                    window = tolerance if is_last else lead
                    if p >= t - window and t - p < held_gap:
                        current = _retrieve(cap, path) if current is None else current
                        held = (p, current)
                    break
                if held_gap > p - t:
                    current = _retrieve(cap, path) if current is None else current
                    held = (p, current)
                if held is not None and abs(held[0] - t) <= tolerance:
                    yield j, float(held[0]), held[1]
                j += 1
        while j < n and held is not None:
            if abs(held[0] - times[j]) <= tolerance:
                yield j, float(held[0]), held[1]
            j += 1
    finally:
        cap.release()


def _check_video_stream(path: Path) -> None:
    """InputError where PyAV reads the file but finds no video stream in it (an audio file, say)."""
    try:
        import av
    except ImportError:
        return
    try:
        with av.open(str(path)) as container:
            kinds = [s.type for s in container.streams]
    except (av.FFmpegError, OSError):
        raise InputError(path, "not a readable video (truncated, damaged or an unknown format)") from None
    if "video" not in kinds:
        raise InputError(
            path,
            "no video stream in the file",
            expected="a video stream",
            found=", ".join(kinds) + " only" if kinds else "no streams",
        )


def _open(path: str | Path):
    import cv2

    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        cap.release()
        raise InputError(path, "not a readable video (truncated, damaged or an unknown format)")
    cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
    return cap


def _retrieve(cap, path: str | Path) -> np.ndarray:
    ok, image = cap.retrieve()
    if not ok or image is None:
        raise InputError(path, "a frame could not be decoded (damaged video)")
    return image


# -- MP4 / QuickTime: what FFmpeg's demuxer reads of the container (PyAV) ----------------------------


def _looks_like_mp4(path: Path) -> bool:
    with path.open("rb") as f:
        head = f.read(12)
    return len(head) >= 8 and head[4:8] in {b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip"}


def _read_mp4(path: Path) -> _Mp4Info:
    """An MP4 or QuickTime file's creation time, and its first video track's frames and presentation
    times, as FFmpeg's demuxer reads them (PyAV: the sample table, the packets' timestamps, no
    decoding). InputError where the file is truncated: no ``moov`` box FFmpeg can read (a recording
    never finalized), or frames the sample table lists that the file no longer holds."""
    import av

    size = path.stat().st_size
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError):
        raise InputError(path, "truncated video: no readable 'moov' box (the recording was never finalized?)") from None
    with container:
        created = _creation_time(container.metadata)
        if not container.streams.video:
            return _Mp4Info(creation_time=created, frames=None, duration_s=None, variable_frame_rate=False)
        stream = container.streams.video[0]
        pts, last, corrupt = [], 0, False
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            pts.append(int(packet.pts))
            last, corrupt = int(packet.duration or 0), corrupt or packet.is_corrupt
        listed = int(stream.frames or 0)
        if corrupt or len(pts) < listed:
            whole = len(pts) - int(corrupt)
            raise InputError(
                path,
                "truncated video: box 'mdat' runs past the end of the file",
                expected=f"{listed} frames",
                found=f"{whole} whole frames in {size} bytes",
            )
        if not pts:
            return _Mp4Info(creation_time=created, frames=None, duration_s=None, variable_frame_rate=False)
        ticks = np.sort(np.array(pts, dtype=np.int64))
        shared = int(ticks.size - np.unique(ticks).size)
        if shared:
            raise InputError(
                path,
                f"damaged timing: its {ticks.size} frames have only {ticks.size - shared} distinct presentation "
                "times (sample durations of 0?), so they cannot be put on a time grid",
            )
        duration = float((int(ticks[-1] - ticks[0]) + last) * _time_base(stream, path))
    return _Mp4Info(
        creation_time=created, frames=int(ticks.size), duration_s=duration, variable_frame_rate=_varies(np.diff(ticks))
    )


def _time_base(stream: Stream, path: str | Path) -> Fraction:
    """Seconds per tick of a PyAV stream's timestamps; InputError where the container gives none."""
    if stream.time_base is None:
        raise InputError(path, "no time base in the video stream (damaged container?)")
    return stream.time_base


def _creation_time(metadata: dict) -> str | None:
    """``com.apple.quicktime.creationdate`` as an iPhone writes it, else the ``mvhd`` creation time
    (whole seconds, UTC); None where the container has neither."""
    apple = str(metadata.get("com.apple.quicktime.creationdate", "")).strip()
    if apple:
        return apple
    created = metadata.get("creation_time")
    if not created:
        return None
    try:
        value = datetime.fromisoformat(str(created).replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _varies(steps: np.ndarray) -> bool:
    """Whether the steps (in ticks) between frames differ by more than rounding explains."""
    if steps.size < 2:
        return False
    median = float(np.median(steps))
    return bool(median > 0 and (steps.max() - steps.min()) > max(2, _VFR_SPREAD * median))


# -- the pose stage's decoder (PyAV) --------------------------------------------------------------


def sampled_frames(
    path: str | Path,
    times_s: np.ndarray,
    *,
    meta: VideoMeta | None = None,
    height: int | None = None,
    max_offset_s: float | None = None,
    undecodable: list[int] | None = None,
) -> Iterator[tuple[int, float, np.ndarray]]:
    """Like :func:`frames_at`, but RGB, shrunk to ``height`` pixels high (never enlarged, aspect
    kept; None: full size), and decoding as little as it can (PyAV):

    - the packets are read once without decoding, so the frames nearest each time are known
      before any frame is decoded;
    - frames no time needs are decoded only where later frames depend on them: the decoder skips
      non-reference frames (``skip_frame='NONREF'``) except those the times need;
    - only the frames the times need are converted, in one scaling and colour conversion (swscale,
      area filter) straight to the small RGB image, then turned as the container says (``rotation``).

    Yields ``(index into times_s, that frame's time in seconds from the first frame, RGB image)``; a
    time with no frame within ``max_offset_s`` (default ``1 / fps``) is skipped, and so is a time
    whose frame cannot be decoded (damaged data): the packets that failed are appended to
    ``undecodable`` where it is a list. Needs PyAV; where
    it is missing, falls back to :func:`frames_at` (OpenCV) and converts each frame.
    """
    times = np.asarray(times_s, dtype=np.float64).ravel()
    if times.size == 0:
        return
    if np.any(np.diff(times) < 0) or not np.all(np.isfinite(times)):
        raise ValueError("times_s must be finite and ascending")
    meta = meta or probe_video(path)
    try:
        import av
    except ImportError:  # PyAV is a dependency of the video extra; OpenCV alone still works
        yield from _opencv_sampled(path, times, meta=meta, height=height, max_offset_s=max_offset_s)
        return
    tolerance = 1.0 / meta.fps if max_offset_s is None else float(max_offset_s)
    size = _coded_size(meta, height)
    turns = -(meta.rotation // 90)  # np.rot90 turns counter-clockwise; the rotation is clockwise
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError):
        raise InputError(path, "not a readable video (truncated, damaged or an unknown format)") from None
    with container:
        if not container.streams.video:
            raise InputError(path, "no video stream in the file")
        stream = container.streams.video[0]
        pts = np.array(sorted({int(p.pts) for p in container.demux(stream) if p.pts is not None}), dtype=np.int64)
        if pts.size == 0:
            raise InputError(path, "no video frames in the file")
        tick = float(_time_base(stream, path))
        seconds = (pts - pts[0]) * tick
        after = np.searchsorted(seconds, times)  # the first frame at or after each time
        lo, hi = np.clip(after - 1, 0, pts.size - 1), np.clip(after, 0, pts.size - 1)
        nearest = np.where(np.abs(seconds[lo] - times) <= np.abs(seconds[hi] - times), lo, hi)  # a tie: the earlier
        keep = np.abs(seconds[nearest] - times) <= tolerance
        wanted: dict[int, list[int]] = {}
        for k in np.flatnonzero(keep):
            wanted.setdefault(int(pts[nearest[k]]), []).append(int(k))
        container.seek(0, stream=stream)
        stream.thread_type = "SLICE"  # frame threads would decode ahead frames the skip below spares
        context = stream.codec_context
        ready: dict[int, tuple[float, np.ndarray]] = {}
        lost: set[int] = set()
        next_j = 0
        order = [j for j in range(times.size) if keep[j]]
        for packet in container.demux(stream):
            if packet.pts is not None:
                context.skip_frame = "DEFAULT" if int(packet.pts) in wanted else "NONREF"
            try:
                decoded = packet.decode()
            except av.FFmpegError:  # damaged data: this packet's frame is lost, the decoder goes on
                if undecodable is not None:
                    undecodable.append(int(packet.pts) if packet.pts is not None else -1)
                lost.update(wanted.pop(int(packet.pts), []) if packet.pts is not None else [])
                continue
            for frame in decoded:
                if frame.pts is None or int(frame.pts) not in wanted:
                    continue
                image: np.ndarray = frame.to_ndarray(
                    width=size[0], height=size[1], format="rgb24", interpolation="AREA"
                )
                if turns % 4:
                    image = np.ascontiguousarray(np.rot90(image, turns))
                stamp = float((int(frame.pts) - pts[0]) * tick)
                for j in wanted.pop(int(frame.pts)):
                    ready[j] = (stamp, image)
                while next_j < len(order) and (order[next_j] in ready or order[next_j] in lost):
                    j = order[next_j]
                    next_j += 1
                    if j in ready:
                        stamp, image = ready.pop(j)
                        yield j, stamp, image
            if not wanted:
                break
        for j in sorted(ready):  # those after a frame that never came
            stamp, image = ready.pop(j)
            yield j, stamp, image


def _coded_size(meta: VideoMeta, height: int | None) -> tuple[int, int]:
    """(width, height) to scale a coded frame to, so that once turned it is ``height`` high."""
    w, h = meta.width, meta.height
    if height is not None and h > height:
        w, h = max(1, round(w * height / h)), int(height)
    return (h, w) if meta.rotation in (90, 270) else (w, h)


def _opencv_sampled(path, times, *, meta: VideoMeta, height: int | None, max_offset_s: float | None):
    import cv2

    for j, stamp, image in frames_at(path, times, meta=meta, max_offset_s=max_offset_s):
        if height is not None and image.shape[0] > height:
            image = cv2.resize(
                image, (max(1, round(image.shape[1] * height / image.shape[0])), height), interpolation=cv2.INTER_AREA
            )
        yield j, stamp, cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
