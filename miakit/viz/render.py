"""The muscle overlay video: a session or a dataset segment drawn frame by frame (the bottom row of
the paper's Figure 1).

Each output frame holds one panel (measured EMG) or two side by side (measured | predicted): the
session's video frame where there is one (else a dark background), the BODY_25 skeleton, and the 8
muscles as thick segments on the limbs, coloured from relaxed (blue) to flexed (red):

- biceps: the upper arm (shoulder to elbow), on the side towards the body's midline;
- triceps: the upper arm, on the side away from the midline;
- quads: the thigh (hip to knee), away from the midline; hamstrings: the thigh, towards it.

A frontal 2D view cannot show front and back of a limb, so the two muscles of a limb are drawn side
by side along it (:func:`muscle_segments` says exactly where), each bar labelled with its letter (B,
T, Q, H; the legend names them) beyond its lower end, the two letters of a limb pushed apart until
they are readable on the smallest panels (:func:`letter_places`). Colour = the EMG on one absolute
scale for every muscle, a stated :class:`EmgScale` in the data's units (default: 0 to the 99th
percentile of all muscles' EMG over the dataset's valid frames, or over the session for a session);
predictions use the same scale, so equal colours mean equal EMG, and a muscle near zero is blue
whatever the others do. The colour bar under the panels carries the scale's numbers.

The file is MP4, H.264 (yuv420p, ``+faststart``), which browsers play, written with PyAV's libx264;
where PyAV or libx264 is missing, OpenCV's MPEG-4 part 2 ('mp4v') is the fallback, which desktop
players read but browsers may not (:attr:`RenderResult.codec` says which). cv2 and PyAV are imported
only when a video is made.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from miakit.contracts.build import make_dataset, provenance
from miakit.contracts.dataset import find_segment
from miakit.errors import InputError
from miakit.layout import BODY_25_EDGES, IMAGE_HEIGHT, IMAGE_WIDTH, KP, MUSCLES
from miakit.pipeline import load_pipeline
from miakit.progress import track
from miakit.segments import state_segment
from miakit.stages.video import frames_at
from miakit.viz.common import as_dataset, session_state, where_of

if TYPE_CHECKING:
    import cv2
    from av.container import OutputContainer
    from av.video.stream import VideoStream

RELAXED_TO_FLEXED = np.array([(59, 76, 192), (221, 221, 221), (180, 4, 38)], dtype=np.float64)
"""RGB colours at levels 0 (relaxed), 0.5 and 1 (flexed): the ends and middle of 'coolwarm'."""
NO_DATA = (128, 128, 128)
"""BGR colour of a muscle whose EMG is missing (NaN) at that frame."""
BACKGROUND = (40, 28, 28)
"""BGR colour behind the skeleton where there is no video frame."""
BONE = (215, 215, 215)

# muscle suffix -> (joint name at the top of the bone, at its bottom, side: +1 away from the midline)
MUSCLE_BONES: dict[str, tuple[str, str, int]] = {
    "Bicep": ("Shoulder", "Elbow", -1),
    "Tricep": ("Shoulder", "Elbow", +1),
    "Quad": ("Hip", "Knee", +1),
    "Hamstring": ("Hip", "Knee", -1),
}
SPAN = (0.2, 0.8)
"""The part of the bone a muscle covers (fractions from the top joint)."""
OFFSET = 0.06
"""How far a muscle's line sits beside the bone, as a fraction of the body's size (the torso's
length, neck to mid-hip, where present; else the bone's length twice over)."""
WIDTH = 0.07
"""A muscle's line width, as a fraction of the body's size. Both use the torso, not the bone, so a
limb pointing at the camera (short on screen) keeps muscles as wide as the others."""


# -- colour ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmgScale:
    """Per-muscle EMG values drawn as fully relaxed (``low``) and fully flexed (``high``)."""

    low: np.ndarray
    high: np.ndarray
    description: str
    units: str = ""

    @property
    def common(self) -> bool:
        """Whether every muscle has the same scale (then the colour bar can carry numbers)."""
        return bool(np.allclose(self.low, self.low.flat[0]) and np.allclose(self.high, self.high.flat[0]))

    def ticks(self, n: int = 5) -> list[tuple[float, str]]:
        """(position along the colour bar in [0, 1], label) of ``n`` evenly spaced values, the last
        one with the units; [] where muscles have scales of their own."""
        if not self.common:
            return []
        lo, hi = float(self.low.flat[0]), float(self.high.flat[0])
        values = np.linspace(lo, hi, n)
        step = (hi - lo) / max(n - 1, 1)
        digits = 0 if step >= 1 else int(np.ceil(-np.log10(step))) if step > 0 else 2
        out = [(float(i) / (n - 1), f"{v:.{digits}f}") for i, v in enumerate(values)]
        if self.units:
            out[-1] = (1.0, f"{out[-1][1]} {self.units}")
        return out

    def level(self, emg: np.ndarray) -> np.ndarray:
        """EMG (..., muscles) -> activation level in [0, 1]; NaN stays NaN."""
        span = np.where(self.high > self.low, self.high - self.low, 1.0)
        with np.errstate(invalid="ignore"):
            return np.clip((np.asarray(emg, dtype=np.float64) - self.low) / span, 0.0, 1.0)


def emg_scale(
    emg: np.ndarray,
    *,
    low_percentile: float = 1.0,
    high_percentile: float = 99.0,
    source: str = "the data",
    units: str = "",
    per_muscle: bool = False,
    high: float | None = None,
) -> EmgScale:
    """The colour scale of ``emg`` (frames, muscles), NaN ignored.

    By default one absolute scale for every muscle: from 0 to the ``high_percentile`` of all
    muscles' values together (or to ``high``, a stated value such as a checkpoint's EMG scale), in
    ``units``; so a muscle near zero is drawn relaxed however strongly the others work.
    ``per_muscle``: each muscle from its own ``low_percentile`` to its own ``high_percentile`` (a
    muscle with no data gets 0 to 1), which shows each muscle's rhythm but hides which works hardest."""
    emg = np.asarray(emg, dtype=np.float64)
    units = units or "device units"
    if per_muscle:
        low, top = np.zeros(emg.shape[1]), np.ones(emg.shape[1])
        for k in range(emg.shape[1]):
            column = emg[:, k][np.isfinite(emg[:, k])]
            if column.size:
                low[k], top[k] = np.percentile(column, [low_percentile, high_percentile])
        text = (
            f"colour: {_ordinal(low_percentile)} to {_ordinal(high_percentile)} percentile of each muscle in {source}"
        )
        return EmgScale(low=low, high=top, description=text, units=units)
    if high is None:
        values = emg[np.isfinite(emg)]
        high = float(np.percentile(values, high_percentile)) if values.size else 1.0
        text = (
            f"colour: 0 to {high:.3g} {units}, the {_ordinal(high_percentile)} percentile of all muscles' EMG in "
            f"{source}; one scale for every muscle"
        )
    else:
        text = f"colour: 0 to {high:.3g} {units} ({source}); one scale for every muscle"
    high = high if high > 0 else 1.0
    n = emg.shape[1] if emg.ndim == 2 else 1
    return EmgScale(low=np.zeros(n), high=np.full(n, float(high)), description=text, units=units)


def dataset_emg_scale(ds, **options) -> EmgScale:
    """:func:`emg_scale` over a dataset's valid frames, in its units."""
    valid = np.asarray(ds["valid"].values, dtype=bool)
    return emg_scale(
        np.asarray(ds["emg"].values)[valid],
        source="the dataset (valid frames)",
        units=str(ds.attrs.get("emg_units") or ""),
        **options,
    )


def _ordinal(p: float) -> str:
    n = int(p) if float(p).is_integer() else p
    suffix = "th" if isinstance(n, float) or 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def activation_colour(level: np.ndarray) -> np.ndarray:
    """Activation level(s) in [0, 1] -> BGR uint8 colour(s) (..., 3), blue through light grey to red;
    NaN -> :data:`NO_DATA`."""
    level = np.asarray(level, dtype=np.float64)
    x = np.clip(np.nan_to_num(level, nan=0.0), 0.0, 1.0) * 2.0
    i = np.minimum(x.astype(int), 1)
    f = (x - i)[..., None]
    rgb = RELAXED_TO_FLEXED[i] * (1 - f) + RELAXED_TO_FLEXED[i + 1] * f
    bgr = np.rint(rgb[..., ::-1]).astype(np.uint8)
    bgr[np.isnan(level)] = NO_DATA
    return bgr


# -- geometry -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MuscleSegment:
    """Where a muscle is drawn, in the keypoints' pixel coordinates."""

    muscle: str
    start: np.ndarray
    end: np.ndarray
    width: float

    @property
    def midpoint(self) -> np.ndarray:
        return (self.start + self.end) / 2


def muscle_segments(
    keypoints: np.ndarray, score: np.ndarray, *, min_score: float = 0.3, muscles=MUSCLES
) -> dict[str, MuscleSegment]:
    """Where each muscle goes on this pose (25, 2): a line beside its bone (:data:`MUSCLE_BONES`),
    over :data:`SPAN` of it, :data:`OFFSET` of the body's size away from it and :data:`WIDTH` of it
    wide. Muscles whose joints are missing (score below ``min_score``) are left out."""
    keypoints = np.asarray(keypoints, dtype=np.float64)
    present = (np.asarray(score) >= min_score) & np.isfinite(keypoints).all(axis=1)
    torso = [KP[n] for n in ("Neck", "MidHip", "RShoulder", "LShoulder", "RHip", "LHip") if present[KP[n]]]
    centre = keypoints[torso].mean(axis=0) if torso else None
    neck, hip = KP["Neck"], KP["MidHip"]
    body = float(np.linalg.norm(keypoints[neck] - keypoints[hip])) if present[neck] and present[hip] else None
    out = {}
    for muscle in muscles:
        side = "L" if muscle.startswith("Left") else "R" if muscle.startswith("Right") else ""
        kind = muscle.removeprefix("Left").removeprefix("Right")
        if not side or kind not in MUSCLE_BONES:
            continue
        top_name, bottom_name, outward = MUSCLE_BONES[kind]
        a, b = KP[side + top_name], KP[side + bottom_name]
        if not (present[a] and present[b]):
            continue
        top, bottom = keypoints[a], keypoints[b]
        length = float(np.linalg.norm(bottom - top))
        if length < 1e-6:
            continue
        u = (bottom - top) / length
        normal = np.array([-u[1], u[0]])
        middle = (top + bottom) / 2
        away = middle - centre if centre is not None else (1.0 if side == "L" else -1.0) * np.array([1.0, 0.0])
        if np.dot(normal, away) < 0:
            normal = -normal  # now points away from the midline
        size = body if body else 2.0 * length
        shift = normal * outward * OFFSET * size
        out[muscle] = MuscleSegment(
            muscle=muscle,
            start=top + u * SPAN[0] * length + shift,
            end=top + u * SPAN[1] * length + shift,
            width=WIDTH * size,
        )
    return out


# -- drawing --------------------------------------------------------------------------------------


def draw_body(
    image: np.ndarray,
    keypoints: np.ndarray,
    score: np.ndarray,
    level: np.ndarray | None,
    *,
    scale: tuple[float, float],
    muscles=MUSCLES,
    min_score: float = 0.3,
) -> None:
    """Draw the skeleton and the muscles (coloured by ``level`` (muscles,) in [0, 1], NaN: no data)
    on ``image`` (BGR, in place). ``scale`` = (x, y) factors from keypoint pixels to image pixels."""
    import cv2

    sx, sy = scale
    size = max(image.shape[:2])
    present = (np.asarray(score) >= min_score) & np.isfinite(keypoints).all(axis=1)
    pts = np.asarray(keypoints, dtype=np.float64) * np.array([sx, sy])
    bone = max(1, round(size / 320))
    for i, j in BODY_25_EDGES:
        if present[i] and present[j]:
            cv2.line(image, _px(pts[i]), _px(pts[j]), BONE, bone, cv2.LINE_AA)
    for k in np.flatnonzero(present):
        cv2.circle(image, _px(pts[k]), bone + 1, BONE, -1, cv2.LINE_AA)
    if level is None:
        return
    colours = activation_colour(level)
    segments = muscle_segments(keypoints, score, min_score=min_score, muscles=muscles)
    for muscle, seg in segments.items():
        index = list(muscles).index(muscle)
        width = max(3, round(seg.width * sy))
        a, b = _px(seg.start * [sx, sy]), _px(seg.end * [sx, sy])
        cv2.line(image, a, b, (20, 20, 20), width + 2, cv2.LINE_AA)
        cv2.line(image, a, b, tuple(int(c) for c in colours[index]), width, cv2.LINE_AA)
    font = letter_font(size)
    for muscle, (x, y) in letter_places(segments, scale=scale, font=font, gap=2 * (bone + 2)).items():
        (tw, th), _ = cv2.getTextSize(bar_letter(muscle), cv2.FONT_HERSHEY_SIMPLEX, font, 1)
        at = (int(round(x - tw / 2)), int(round(y + th / 2)))
        cv2.putText(image, bar_letter(muscle), at, cv2.FONT_HERSHEY_SIMPLEX, font, (20, 20, 20), 3, cv2.LINE_AA)
        cv2.putText(image, bar_letter(muscle), at, cv2.FONT_HERSHEY_SIMPLEX, font, (245, 245, 245), 1, cv2.LINE_AA)


def letter_font(size: int) -> float:
    """The bar letters' font (OpenCV Hershey scale) on a panel whose longer side is ``size`` pixels:
    about 1/90 of it high, at least 0.45 (letters about 10 pixels high, readable on the demo's 480
    pixel panels)."""
    return max(0.45, size / 1400)


def letter_places(
    segments: dict[str, MuscleSegment], *, scale: tuple[float, float], font: float, gap: int = 6
) -> dict[str, tuple[float, float]]:
    """Where each bar's letter is centred, in image pixels ({muscle: (x, y)}): beyond the bar's lower
    end, and pushed away from the other bar of the same limb until the two letters are a letter's
    width and ``gap`` pixels apart (room for the bone between them: two bars of a limb sit closer
    together than two letters are wide on a small panel)."""
    import cv2

    (tw, th), _ = cv2.getTextSize("W", cv2.FONT_HERSHEY_SIMPLEX, font, 1)
    room = max(tw, th) + gap  # the distance two letters' centres keep, pixels
    xy = np.array(scale, dtype=np.float64)
    ends = {m: (seg.end + (seg.end - seg.start) * 0.15) * xy for m, seg in segments.items()}
    places = {}
    for muscle, end in ends.items():
        partner = _partner(muscle, segments)
        if partner is None:
            places[muscle] = (float(end[0]), float(end[1]))
            continue
        apart = end - ends[partner]
        distance = float(np.linalg.norm(apart))
        if distance < 1e-6:  # on top of each other: split across the bar's direction
            along = (segments[muscle].end - segments[muscle].start) * xy
            apart = np.array([-along[1], along[0]]) * (1 if muscle < partner else -1)
            distance = float(np.linalg.norm(apart)) or 1.0
            apart = apart / distance
            distance = 0.0
        else:
            apart = apart / distance
        push = max(0.0, (room - distance) / 2)
        place = end + apart * push
        places[muscle] = (float(place[0]), float(place[1]))
    return places


def _partner(muscle: str, segments: dict[str, MuscleSegment]) -> str | None:
    """The muscle drawn beside ``muscle`` on the same limb (LeftBicep: LeftTricep), where drawn."""
    side = "Left" if muscle.startswith("Left") else "Right" if muscle.startswith("Right") else ""
    kind = muscle.removeprefix(side)
    pairs = {"Bicep": "Tricep", "Tricep": "Bicep", "Quad": "Hamstring", "Hamstring": "Quad"}
    other = side + pairs.get(kind, "")
    return other if side and kind in pairs and other in segments else None


def bar_letter(muscle: str) -> str:
    """The letter drawn on a muscle's bar: B(icep), T(ricep), Q(uad), H(amstring)."""
    kind = muscle.removeprefix("Left").removeprefix("Right")
    return kind[:1].upper() if kind else "?"


def _px(p: np.ndarray) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


@dataclass(frozen=True)
class Layout:
    """Sizes of the text around the panels, scaled with the panel height so that the words stay
    readable at the video's size: one text line is ``line`` pixels high (``panel_height / 24``, at
    least 16), in a font of ``font`` (OpenCV Hershey scale)."""

    line: int
    font: float
    thickness: int

    @classmethod
    def for_panel(cls, panel_height: int) -> Layout:
        line = max(16, round(panel_height / 24))
        return cls(line=line, font=line / 36.0, thickness=max(1, round(line / 22)))


def short_name(muscle: str) -> str:
    """'LeftBicep' -> 'B: L bicep' (its bar's letter, the subject's left); other names as they are."""
    for side in ("Left", "Right"):
        if muscle.startswith(side) and len(muscle) > len(side):
            return f"{bar_letter(muscle)}: {side[0]} {muscle[len(side) :].lower()}"
    return muscle


def _wrap(text: str, width: int, font: float, thickness: int) -> list[str]:
    """``text`` broken at spaces into lines that fit ``width`` pixels."""
    import cv2

    lines, current = [], ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and cv2.getTextSize(candidate, cv2.FONT_HERSHEY_SIMPLEX, font, thickness)[0][0] > width - 8:
            lines.append(current)
            current = word
        else:
            current = candidate
    return lines + ([current] if current else [])


def _legend_grid(muscles, panel_width: int, layout: Layout) -> tuple[int, int]:
    """(columns, rows) of the muscle legend under one panel."""
    import cv2

    widest = max(
        cv2.getTextSize(short_name(m), cv2.FONT_HERSHEY_SIMPLEX, layout.font, layout.thickness)[0][0] for m in muscles
    )
    entry = widest + layout.line + 14
    columns = max(1, min(len(muscles), panel_width // entry))
    return columns, -(-len(muscles) // columns)


def _footer(
    width: int,
    panel_width: int,
    panels: int,
    muscles,
    description: str,
    layout: Layout,
    ticks: list[tuple[float, str]] | None = None,
) -> tuple[np.ndarray, list]:
    """The footer without the swatches' colours, and where each swatch goes: [(panel, muscle
    index, (x0, y0, x1, y1))]. Rows: the relaxed-to-flexed colour bar, its numbers (``ticks``:
    (position in [0, 1], label), where the scale is one for all muscles), the muscle legend under
    each panel (each muscle's bar letter and name, its swatch in its colour at that frame), the
    scale's description (wrapped)."""
    import cv2

    font, thick, line = layout.font, layout.thickness, layout.line
    columns, rows = _legend_grid(muscles, panel_width, layout)
    notes = _wrap(description, width, font * 0.85, thick)
    numbered = 1 if ticks else 0
    height = line * (1 + numbered + rows) + round(line * 0.85) * len(notes) + 6
    bar = np.zeros((height, width, 3), dtype=np.uint8)
    text = (235, 235, 235)
    left = cv2.getTextSize("relaxed", cv2.FONT_HERSHEY_SIMPLEX, font, thick)[0][0] + 10
    right = width - cv2.getTextSize("flexed", cv2.FONT_HERSHEY_SIMPLEX, font, thick)[0][0] - 10
    base = line - max(3, line // 5)
    cv2.putText(bar, "relaxed", (4, base), cv2.FONT_HERSHEY_SIMPLEX, font, text, thick, cv2.LINE_AA)
    cv2.putText(bar, "flexed", (right + 6, base), cv2.FONT_HERSHEY_SIMPLEX, font, text, thick, cv2.LINE_AA)
    if right > left:
        bar[line // 4 : line - line // 4, left:right] = activation_colour(np.linspace(0.0, 1.0, right - left))[None]
        for position, label in ticks or []:
            x = left + round(position * (right - left - 1))
            bar[line - line // 4 : line, x : x + max(1, thick)] = text  # the tick
            (tw, _), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, font * 0.85, thick)
            tx = int(min(max(x - tw / 2, 0), width - tw - 2))
            cv2.putText(bar, label, (tx, 2 * line - 5), cv2.FONT_HERSHEY_SIMPLEX, font * 0.85, text, thick, cv2.LINE_AA)
    swatches = []
    entry = panel_width // columns
    for p in range(panels):
        for k, muscle in enumerate(muscles):
            x = p * panel_width + (k % columns) * entry + 4
            y = line * (1 + numbered + k // columns)
            swatches.append((p, k, (x, y + line // 5, x + line - 4, y + line - line // 5)))
            cv2.putText(
                bar,
                short_name(muscle),
                (x + line + 2, y + base),
                cv2.FONT_HERSHEY_SIMPLEX,
                font,
                text,
                thick,
                cv2.LINE_AA,
            )
    y = line * (1 + numbered + rows)
    for note in notes:
        y += round(line * 0.85)
        cv2.putText(bar, note, (4, y - 4), cv2.FONT_HERSHEY_SIMPLEX, font * 0.85, (205, 205, 205), thick, cv2.LINE_AA)
    return bar, swatches


def _fit(text: str, width: int, font_scale: float, thickness: int = 1) -> str:
    """``text`` shortened with an ellipsis to fit ``width`` pixels at ``font_scale``."""
    import cv2

    while text and cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)[0][0] > width - 8:
        text = text[:-4] + "..."
    return text


# -- writing --------------------------------------------------------------------------------------


class Mp4Writer:
    """Write BGR frames to an MP4: H.264 with PyAV (libx264, yuv420p, +faststart) where it can,
    else MPEG-4 part 2 with OpenCV. ``codec`` says which ('h264' or 'mpeg4')."""

    def __init__(self, path: str | Path, *, fps: float, width: int, height: int, crf: int = 18):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.size = (width, height)
        self._container: OutputContainer | None = None
        self._stream: VideoStream | None = None
        self._cv: cv2.VideoWriter | None = None
        try:
            self._open_av(fps, crf)
            self.codec = "h264"
        except (ImportError, ValueError, OSError) as exc:  # no PyAV, or a PyAV without libx264
            self._close_av()
            self._open_cv(fps, exc)
            self.codec = "mpeg4"

    def _open_av(self, fps: float, crf: int) -> None:
        from fractions import Fraction

        import av

        av.codec.Codec("libx264", "w")
        self._container = container = av.open(str(self.path), mode="w", options={"movflags": "+faststart"})
        self._stream = stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height = self.size
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}

    def _close_av(self) -> None:
        if self._container is not None:
            self._container.close()
        self._container = self._stream = None

    def _open_cv(self, fps: float, why: Exception) -> None:
        import cv2

        fourcc = cv2.VideoWriter_fourcc(*"mp4v")  # type: ignore[attr-defined]  # missing from cv2's stubs
        self._cv = writer = cv2.VideoWriter(str(self.path), fourcc, float(fps), self.size)
        if not writer.isOpened():
            raise InputError(self.path, f"no video writer available (PyAV: {why}; OpenCV could not open 'mp4v')")

    def write(self, bgr: np.ndarray) -> None:
        if bgr.shape[1::-1] != self.size:
            raise ValueError(f"frame size {bgr.shape[1::-1]} differs from the video's {self.size}")
        if self._cv is not None:
            self._cv.write(bgr)
            return
        import av

        assert self._container is not None and self._stream is not None, "the writer is closed"
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(bgr), format="bgr24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        if self._cv is not None:
            self._cv.release()
            self._cv = None
        if self._container is not None:
            assert self._stream is not None
            for packet in self._stream.encode(None):
                self._container.mux(packet)
            self._close_av()

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# -- a segment ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VideoSource:
    """A video to draw under a segment: ``times`` are, for each frame of the segment, the seconds
    from the video's first frame to show (a frame with no video frame near it gets the background)."""

    path: Path
    times: np.ndarray


@dataclass(frozen=True)
class RenderResult:
    path: Path
    frames: int
    width: int
    height: int
    fps: float
    codec: str
    panels: tuple[str, ...]
    panel_size: tuple[int, int]
    """(width, height) of one panel; panel ``i`` starts at x = i * width, y = ``header_px``"""
    keypoint_scale: tuple[float, float]
    """(x, y) factors from the segment's keypoint pixels to panel pixels"""
    scale: EmgScale
    header_px: int = 0
    """height of the title rows above the panels"""
    footer_px: int = 0
    """height of the colour bar, the muscle legend and the scale's description below them"""


VIDEO_SUFFIX = ".mp4"


def check_video_output(out: str | Path) -> Path:
    """``out`` must name an MP4 (what is written): ``--out r.png`` is refused, not written as MP4."""
    out = Path(out)
    if out.suffix.lower() != VIDEO_SUFFIX:
        raise InputError(
            out,
            "unsupported output format",
            field="--out",
            expected=f"a FILE{VIDEO_SUFFIX} (render writes H.264 MP4 video)",
            found=out.suffix or "no suffix",
        )
    if out.is_dir():
        raise InputError(out, "is a folder", field="--out", expected=f"a FILE{VIDEO_SUFFIX}", found="a folder")
    return out


def render_segment(
    dataset: Any,
    segment: str | int,
    out: str | Path,
    *,
    predicted: np.ndarray | None = None,
    scale: EmgScale | None = None,
    video: VideoSource | None = None,
    panel_height: int = 640,
    min_score: float = 0.3,
    catalog: str | Path | None = None,
    progress: bool = True,
    title: str | None = None,
    measured: bool | None = None,
) -> RenderResult:
    """Draw one dataset segment as an MP4 at the dataset's rate (10 frames per second).

    ``predicted`` (frames of the segment, muscles), in the dataset's EMG units, adds a panel of
    predictions (any model can fill it; the command line fills it from a checkpoint with
    ``miakit.learn.predict.predict_segment``). ``measured``: whether to draw the measured panel;
    None draws it where the segment has any measured EMG, so a video with predictions alone shows
    only them. ``scale`` defaults to :func:`dataset_emg_scale`. ``video`` puts that video's frames
    under the drawing (else a dark background). Panels are ``panel_height`` pixels high, as wide as
    the segment's image aspect needs. Above them: ``title`` (default: the segment, its subject and
    exercise where known) and each panel's name and the time; below: the colour bar, a legend with
    each muscle's name and its colour at that frame, and the scale. Text scales with the panel
    height (:class:`Layout`).
    """

    out = check_video_output(out)
    ds = as_dataset(dataset, catalog=catalog)
    seg = find_segment(ds, segment, where=where_of(dataset))
    if seg.length == 0:
        raise InputError(seg.id, "the segment has no frames")
    muscles = [str(m) for m in ds["muscle"].values]
    emg = np.asarray(ds["emg"][seg.frames].values, dtype=np.float64)
    if predicted is not None:
        predicted = np.asarray(predicted, dtype=np.float64)
        if predicted.shape != emg.shape:
            raise InputError(
                seg.id,
                "predictions do not match the segment",
                field="predicted",
                expected=f"shape {emg.shape} (frames, muscles)",
                found=predicted.shape,
            )
    scale = scale or dataset_emg_scale(ds)
    keypoints = np.asarray(ds["keypoints"][seg.frames].values, dtype=np.float64)
    score = np.asarray(ds["keypoint_score"][seg.frames].values, dtype=np.float64)
    time = np.asarray(ds["time"][seg.frames].values, dtype=np.float64)
    image_w, image_h = (
        (seg.image_width, seg.image_height)
        if seg.image_width > 0 and seg.image_height > 0
        else (IMAGE_WIDTH, IMAGE_HEIGHT)
    )
    panel_h = int(panel_height) // 2 * 2
    panel_w = max(2, int(round(panel_h * image_w / image_h / 2)) * 2)
    kp_scale = (panel_w / image_w, panel_h / image_h)
    show_measured = bool(np.isfinite(emg).any()) if measured is None else bool(measured)
    layers = ([("measured", scale.level(emg))] if show_measured or predicted is None else []) + (
        [("predicted", scale.level(predicted))] if predicted is not None else []
    )
    layout = Layout.for_panel(panel_h)
    width = panel_w * len(layers)
    if title is None:
        known = [f"subject {seg.subject}" if seg.subject else "", seg.exercise]
        title = seg.id + (f" ({', '.join(k for k in known if k)})" if any(known) else "")
    title_lines = _wrap(title, width, layout.font, layout.thickness)[:3] or [""]
    header_px = (len(title_lines) + 1) * layout.line + 4
    footer, swatches = _footer(
        width,
        panel_w,
        len(layers),
        muscles,
        f"{scale.description}; grey: no EMG; L/R: the subject's left/right",
        layout,
        scale.ticks(),
    )
    footer_px = footer.shape[0]
    height = header_px + panel_h + footer_px
    height += height % 2  # yuv420p wants even sizes
    fps = float(ds.attrs.get("rate_hz", 10.0))

    with Mp4Writer(out, fps=fps, width=width, height=height) as writer:
        frames = _video_frames(video, seg.length)
        for k in track(range(seg.length), f"rendering {seg.id}", enabled=progress):
            under = next(frames)
            canvas = np.zeros((height, width, 3), dtype=np.uint8)
            for i, line in enumerate(title_lines):
                _text(canvas, _fit(line, width, layout.font, layout.thickness), 6, (i + 1) * layout.line - 5, layout)
            for p, (name, level) in enumerate(layers):
                panel = canvas[header_px : header_px + panel_h, p * panel_w : (p + 1) * panel_w]
                panel[:] = _resize(under, panel_w, panel_h) if under is not None else BACKGROUND
                draw_body(panel, keypoints[k], score[k], level[k], scale=kp_scale, muscles=muscles, min_score=min_score)
                label = name if p else f"{name}   t = {time[k]:.1f} s"
                _text(
                    canvas, _fit(label, panel_w, layout.font, layout.thickness), p * panel_w + 6, header_px - 7, layout
                )
            canvas[header_px + panel_h : header_px + panel_h + footer_px] = footer
            for p, m, (x0, y0, x1, y1) in swatches:
                colour = activation_colour(layers[p][1][k, m])
                canvas[header_px + panel_h + y0 : header_px + panel_h + y1, x0:x1] = colour
            writer.write(canvas)
    return RenderResult(
        path=Path(out),
        frames=seg.length,
        width=width,
        height=height,
        fps=fps,
        codec=writer.codec,
        panels=tuple(name for name, _ in layers),
        panel_size=(panel_w, panel_h),
        keypoint_scale=kp_scale,
        scale=scale,
        header_px=header_px,
        footer_px=footer_px,
    )


def _text(canvas: np.ndarray, text: str, x: int, y: int, layout: Layout) -> None:
    import cv2

    cv2.putText(
        canvas, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, layout.font, (240, 240, 240), layout.thickness, cv2.LINE_AA
    )


def _resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    import cv2

    if image.shape[1] == width and image.shape[0] == height:
        return image
    interpolation = cv2.INTER_AREA if image.shape[0] > height else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interpolation)


def _video_frames(video: VideoSource | None, n: int) -> Iterator[np.ndarray | None]:
    """For each of the segment's ``n`` frames, the video image to draw under it, or None."""
    if video is None:
        yield from (None for _ in range(n))
        return

    times = np.asarray(video.times, dtype=np.float64)
    if len(times) != n:
        raise ValueError(f"video.times: expected {n} times (one per segment frame), found {len(times)}")
    found = frames_at(video.path, times)
    pending = next(found, None)
    for k in range(n):
        if pending is not None and pending[0] == k:
            yield pending[2]
            pending = next(found, None)
        else:
            yield None


# -- a session ------------------------------------------------------------------------------------


def session_dataset(session_dir: str | Path, *, pipeline: str | Path = "mia"):
    """A session run through ``pipeline``'s stages, as a one-segment in-memory dataset (contract 2,
    validated), with the session's video (or None) timed to its frames: ``(ds, VideoSource | None)``.

    The video is placed where the alignment put the keypoints: its stated start, moved by the
    offset the sync stage found (the keypoints come from the same camera).
    """

    folder = Path(session_dir)
    spec = load_pipeline(pipeline)
    state = session_state(folder, pipeline=spec.path or pipeline)
    meta = state.meta
    segment = state_segment(state, id=meta.session_id, exercise=meta.exercise or "", source="session")
    ds = make_dataset(
        [segment],
        muscles=MUSCLES,
        rate_hz=spec.rate_hz,
        where=str(folder),
        provenance=provenance(
            pipeline=spec.name, pipeline_sha256=spec.sha256, inputs_sha256="", inputs={meta.session_id: str(folder)}
        ),
    )
    if meta.video is None:
        return ds, None
    stated = meta.keypoints.start_host_time if meta.keypoints is not None else meta.video.start_host_time
    video_start = meta.video.start_host_time + (state.camera.start - stated if state.camera is not None else 0.0)
    return ds, VideoSource(path=folder / meta.video.file, times=state.grid - video_start)


def render_session(
    session_dir: str | Path,
    out: str | Path,
    *,
    pipeline: str | Path = "mia",
    predicted: np.ndarray | None = None,
    panel_height: int = 640,
    progress: bool = True,
) -> RenderResult:
    """Draw a raw session as an MP4: its video (where it has one) and its EMG on the pipeline's 10 Hz
    grid (:func:`session_dataset`), coloured by the session's own scale (1st to 99th percentile of
    each muscle). ``predicted``: (frames, muscles) for a second panel, as in :func:`render_segment`."""
    ds, video = session_dataset(session_dir, pipeline=pipeline)
    scale = emg_scale(np.asarray(ds["emg"].values), source="this session")
    return render_segment(
        ds, 0, out, predicted=predicted, scale=scale, video=video, panel_height=panel_height, progress=progress
    )


__all__ = [
    "render_segment",
    "render_session",
    "Layout",
    "short_name",
    "session_dataset",
    "EmgScale",
    "emg_scale",
    "dataset_emg_scale",
    "activation_colour",
    "muscle_segments",
    "MuscleSegment",
    "draw_body",
    "Mp4Writer",
    "VideoSource",
    "RenderResult",
]
