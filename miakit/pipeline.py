"""Pipelines: raw session folders (contract 1) -> one built dataset (contract 2).

A pipeline is data: a YAML file under ``pipelines/`` listing named stages in order, each with its
parameters (see ``pipelines/mia.yaml``). Its content is hashed into the dataset's provenance, with
the hashes of every input file, so a build knows whether a store is already up to date.

Reading order of this module:
1. :class:`PipelineSpec` and :func:`load_pipeline`: the definition.
2. :data:`STEPS`: what each stage name does to a :class:`SessionState` (thin adapters over the pure
   functions in :mod:`miakit.stages`).
3. :func:`process_session`: one session through the stages -> a segment (or a reason to leave it out).
4. :func:`build_dataset`: every session, then one Zarr store and its catalog entry.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from miakit import __version__
from miakit.contracts.dataset import SCHEMA, UNKNOWN_EXERCISE
from miakit.contracts.session import SessionMeta, find_sessions, validate_session
from miakit.errors import InputError, MiakitError, PipelineError, SessionError
from miakit.layout import BODY_25, MUSCLES
from miakit.segments import Segment, assemble
from miakit.stages.quality import QualityReport

if TYPE_CHECKING:
    from miakit.parallel import SessionPool

# -- 1. the definition --------------------------------------------------------------------------


class PipelineSpec(BaseModel):
    """A pipeline definition (``pipelines/NAME.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    description: str = ""
    rate_hz: float = Field(10.0, gt=0)
    chunk_frames: int = Field(2048, gt=0)
    stages: list[dict[str, dict[str, Any]]]

    path: str = Field("", exclude=True)
    sha256: str = Field("", exclude=True)

    @field_validator("stages")
    @classmethod
    def _stages(cls, stages: list[dict[str, dict[str, Any]]]) -> list[dict[str, dict[str, Any]]]:
        for i, stage in enumerate(stages):
            if not isinstance(stage, dict) or len(stage) != 1:
                raise ValueError(f"stage {i} must be a mapping of one stage name to its parameters")
            (name, params), = stage.items()
            if name not in STEPS:
                raise ValueError(f"unknown stage {name!r}; known stages: {sorted(STEPS)}")
            if params is not None and not isinstance(params, dict):
                raise ValueError(f"parameters of stage {name!r} must be a mapping")
        return [{name: dict(params or {})} for stage in stages for name, params in stage.items()]

    def steps(self) -> list[tuple[str, dict[str, Any]]]:
        return [next(iter(stage.items())) for stage in self.stages]


def pipeline_search_path() -> list[Path]:
    """Folders searched for a pipeline name: $MIAKIT_PIPELINES, ./pipelines, miakit's own pipelines/."""
    from miakit.resources import shipped_folder

    paths = [Path(p) for p in os.environ.get("MIAKIT_PIPELINES", "").split(os.pathsep) if p]
    return paths + [Path.cwd() / "pipelines", shipped_folder("pipelines")]


def load_pipeline(name_or_path: str | Path = "mia") -> PipelineSpec:
    """Load a pipeline by name (searched in :func:`pipeline_search_path`) or path, and check it.

    A name is a name, a path is a path: ``name_or_path`` is a path where it ends in ``.yaml`` or
    ``.yml`` or holds a path separator (so a folder named ``mia`` in the working directory does not
    hide the built-in pipeline). A name found in ``$MIAKIT_PIPELINES`` or ``./pipelines`` that
    shadows one of miakit's own pipelines says so on standard error."""
    from miakit.record.profiles import is_path
    from miakit.safe_yaml import load_yaml, read_capped

    if is_path(name_or_path):
        candidate = Path(name_or_path)
    else:
        found = [f / f"{name_or_path}.yaml" for f in pipeline_search_path() if (f / f"{name_or_path}.yaml").is_file()]
        if not found:
            known = sorted({p.stem for f in pipeline_search_path() if f.is_dir() for p in f.glob("*.yaml")})
            raise PipelineError(str(name_or_path), "unknown pipeline", expected=f"one of {known} or a path", found=str(name_or_path))
        candidate = found[0]
        builtin = pipeline_search_path()[-1].resolve()
        if candidate.parent.resolve() != builtin and any(p.parent.resolve() == builtin for p in found[1:]):
            import sys

            print(f"note: pipeline {str(name_or_path)!r} is {candidate}, which shadows miakit's own", file=sys.stderr)
    if not candidate.is_file():
        raise PipelineError(candidate, "no such pipeline file")
    content = read_capped(candidate, error=PipelineError)
    data = load_yaml(content, where=candidate, error=PipelineError)
    if not isinstance(data, dict):
        raise PipelineError(candidate, expected="a mapping", found=type(data).__name__)
    try:
        spec = PipelineSpec(**data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field_name = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise PipelineError(candidate, err["msg"].removeprefix("Value error, "), field=field_name) from None
    canonical = json.dumps(spec.model_dump(mode="json"), sort_keys=True).encode()
    return spec.model_copy(update={"path": str(candidate), "sha256": hashlib.sha256(canonical).hexdigest()})


AUTO_PIPELINE = "auto"
"""The pipeline name that lets the build choose (:func:`choose_pipeline`); what ``build-dataset`` uses
unless ``--pipeline`` names one."""


def _names_pose(folder: str) -> bool | None:
    """Whether a session's session.yaml names a video or keypoints; None where it cannot be read
    (the build then reports that session's reason)."""
    from miakit.contracts.session import SESSION_FILE, read_meta
    from miakit.store import is_url

    try:
        if not is_url(folder):
            meta = read_meta(folder)
            return meta.video is not None or meta.keypoints is not None
        from miakit.contracts.session import MAX_META_BYTES
        from miakit.safe_yaml import load_yaml

        fs, path = _fs(folder)
        target = path.rstrip("/") + "/" + SESSION_FILE
        if fs.size(target) > MAX_META_BYTES:
            return None
        data = load_yaml(fs.cat_file(target), where=target, max_bytes=MAX_META_BYTES)
        return isinstance(data, dict) and bool(data.get("video") or data.get("keypoints"))
    except Exception:  # unreadable here is the build's to report, with the session's reason
        return None


def choose_pipeline(folders: list[str]) -> tuple[str, str]:
    """The pipeline for a build of ``folders`` and why: ``emg-only`` where no session has video or
    keypoints (EMG alone), else ``mia``.

    One pipeline per build, so the store is one consistent dataset (one pipeline hash, one set of
    modalities): in a mixed build the sessions without video or keypoints are left out with their
    reason, and can be built into a store of their own with ``--pipeline emg-only``.
    """
    names = [_names_pose(f) for f in folders]
    with_pose, without = sum(n is True for n in names), sum(n is False for n in names)
    if without and not with_pose:
        return "emg-only", f"chosen: {'the session has' if without == 1 else f'none of the {without} sessions has'} no video or keypoints, so EMG alone"
    if without:
        return "mia", (f"chosen: {with_pose} of {with_pose + without} sessions have video or keypoints; the {without} without are left out "
                       "(build them into their own store with --pipeline emg-only)")  # fmt: skip
    if not with_pose:
        return "mia", "chosen: the default (no session.yaml could be read to choose by)"
    return "mia", "chosen: the sessions have video or keypoints"


# -- 2. the stages ------------------------------------------------------------------------------


@dataclass
class SessionState:
    """What the stages of one session pass along, filled in stage by stage."""

    folder: Path
    meta: SessionMeta
    rate_hz: float
    report: QualityReport
    decoded: Any = None
    keypoint_start: float | None = None  # host time of keypoint (or video) frame 0
    keypoint_frames: int = 0
    keypoint_fps: float = 0.0
    grid: np.ndarray | None = None  # host times of the grid
    emg: np.ndarray | None = None  # (frames, muscles) in MUSCLES order, NaN where missing
    emg_clean: np.ndarray | None = None
    keypoints: np.ndarray | None = None  # (frames, 25, 2)
    score: np.ndarray | None = None  # (frames, 25)
    valid: np.ndarray | None = None
    image_size: tuple[int, int] = (0, 0)
    log: list[str] = field(default_factory=list)
    sync: SyncMatch | None = None  # what the sync refinement compared (align method sync), for plots


@dataclass
class SyncMatch:
    """What the sync refinement compared and found: the traces around the sync event, for plots.

    Times are host seconds. ``motion_t`` are the keypoint frames' times on the stated clock (before
    the offset); ``emg_t`` is the 100 Hz grid of ``emg``, the activity of the muscles the movement
    uses (:func:`miakit.stages.align.emg_activity`). ``applied`` is whether the offset was kept.
    """

    cue: float
    kind: str
    muscles: tuple[str, ...]
    motion_t: np.ndarray
    motion: np.ndarray
    emg_t: np.ndarray
    emg: np.ndarray
    offset_s: float
    confidence: float
    emg_lead_s: float
    applied: bool


def _decode_emg(state: SessionState) -> None:
    from miakit.stages.decode import decode_emg
    from miakit.stages.quality import dropped_samples

    state.decoded = decode_emg(state.folder, state.meta)
    state.report.packets = state.decoded.packets
    state.report.bad_packets = state.decoded.bad_packets
    state.report.dropped_samples = sum(dropped_samples(s.device_seq) for s in state.decoded.sensors.values())
    state.report.duplicate_packets = sum(s.duplicate_packets for s in state.decoded.sensors.values())
    missing = [s for s, samples in state.decoded.sensors.items() if len(samples.arrival) == 0]
    if len(missing) == len(state.decoded.sensors):
        raise SessionError(state.folder, "no EMG from any mapped sensor", field="sensors", found=missing)
    for sensor in missing:  # one dead sensor does not discard the others: its muscle stays missing (NaN)
        del state.decoded.sensors[sensor]
        state.report.notes.append(f"no EMG from sensor {sensor}: {state.meta.sensors[sensor]} left missing (NaN)")


def _raw_emg_envelope(
    state: SessionState, *, low_hz: float = 20.0, high_hz: float = 450.0, notch_hz: float | None = None,
    envelope: str = "rms", window_s: float = 0.1,
) -> None:
    """Raw sEMG devices (profile kind ``raw``): band-pass, notch, rectify, envelope, resample to the
    grid's rate (:func:`miakit.stages.emg.condition_raw`). Envelope devices pass through untouched."""
    import xarray as xr

    from miakit.stages.emg import condition_raw
    from miakit.stages.grid import regular_samples, sample_times

    profile = state.decoded.profile
    if profile.kind != "raw":
        return
    if not profile.rate_hz:
        raise PipelineError(profile.path, "a raw sEMG profile needs its sample rate", field="rate_hz", found=None)
    for samples in state.decoded.sensors.values():
        if samples.timed:  # the source's own time stamps (LSL): missing samples become NaN gaps
            times, x = regular_samples(samples.arrival, samples.values[:, 0], profile.rate_hz)
        else:
            # no device counter: the samples are taken as regular at the nominal rate (a line fitted
            # through the arrival times); a gap in arrival longer than 2 s starts a new run
            times, x = sample_times(samples.arrival, np.arange(len(samples.arrival)), profile.rate_hz), samples.values[:, 0]
        raw = xr.DataArray(x, dims="time", coords={"time": times}, attrs={"rate_hz": profile.rate_hz})
        env = condition_raw(raw, low_hz=low_hz, high_hz=high_hz, notch_hz=notch_hz, envelope=envelope, window_s=window_s, rate_hz=state.rate_hz)
        samples.arrival = env["time"].values
        samples.values = env.values[:, None]
        samples.device_seq = None
    state.decoded.profile = profile.model_copy(update={"rate_hz": state.rate_hz, "kind": "envelope"})


def _align(
    state: SessionState, *, method: str = "clock", window_s: float = 1.5, max_offset_s: float = 1.0,
    emg_lead_s: float = 0.075, min_confidence: float = 0.3,
) -> None:
    """Where keypoint frame 0 lies on the host clock.

    ``clock``: as the session says (``keypoints.start_host_time``). ``sync``: refined around the
    session's sync event (a clap or a jump) by cross-correlating keypoint motion with the EMG
    (:mod:`miakit.stages.align`); kept only when the match is confident, else the clock stands and
    the report says why.
    """
    if method not in ("clock", "sync"):
        raise PipelineError(state.folder, "unknown alignment method", field="align.method", expected="'clock' or 'sync'", found=method)
    kp, video = state.meta.keypoints, state.meta.video
    if kp is None and video is not None:  # keypoints come from the video (keypoints_to_grid)
        from miakit.stages.video import probe_video

        probed = probe_video(state.folder / video.file)
        state.keypoint_start, state.keypoint_fps = video.start_host_time, probed.fps
        state.keypoint_frames, state.image_size = probed.frames, (probed.width, probed.height)
        if method == "sync":
            state.report.notes.append("sync refinement needs keypoints at the camera's rate: clock alignment kept")
        return
    if kp is None:
        return  # an EMG-only build
    from miakit.stages.openpose import list_frames

    state.keypoint_start, state.keypoint_fps = kp.start_host_time, kp.fps
    state.keypoint_frames = len(list_frames(state.folder / kp.dir))
    state.image_size = (kp.width, kp.height)
    if method == "sync":
        state.sync = _refine_by_sync(state, window_s=window_s, max_offset_s=max_offset_s, emg_lead_s=emg_lead_s, min_confidence=min_confidence)


def _refine_by_sync(state: SessionState, *, window_s: float, max_offset_s: float, emg_lead_s: float, min_confidence: float) -> SyncMatch | None:
    """Move ``state.keypoint_start`` by the offset found around the sync event, where confident.
    Returns what was compared (None where there was nothing to compare; the report says why)."""
    from miakit.contracts.session import read_events
    from miakit.stages.align import emg_activity, estimate_offset, hip_rise, motion_energy, wrist_closeness
    from miakit.stages.grid import make_grid, sample_times, to_grid
    from miakit.stages.openpose import read_folder

    events = read_events(state.folder)
    sync = events[events["kind"] == "sync"]
    if sync.empty:
        state.report.notes.append("no sync event: clock alignment kept")
        return None
    cue, what = float(sync["host_time"].iloc[0]), str(sync["detail"].iloc[0]).strip().lower()
    # the subject moves within window_s of the cue; the video's stated clock may be off by max_offset_s
    lo, hi = cue - 0.3, cue + window_s
    fps = state.keypoint_fps
    first = max(0, int(np.floor((lo - max_offset_s - 0.5 - state.keypoint_start) * fps)))
    last = min(state.keypoint_frames - 1, int(np.ceil((hi + max_offset_s + 0.5 - state.keypoint_start) * fps)))
    if last - first < 10:
        state.report.notes.append("sync event outside the video: clock alignment kept")
        return None
    numbers, points = read_folder(state.folder / state.meta.keypoints.dir, frames=np.arange(first, last + 1))
    xy, score = points[:, :, :2], points[:, :, 2]
    if what == "clap":
        motion, muscles = wrist_closeness(xy, score), ("Bicep", "Tricep")
    elif what == "jump":
        motion, muscles = hip_rise(xy, score, fps=fps), ("Quad", "Hamstring")
    else:
        motion, muscles = motion_energy(xy, score, fps=fps), ("",)
    fine = make_grid(lo, hi, rate_hz=100.0)
    rate = state.decoded.profile.rate_hz
    columns = [
        to_grid(sample_times(s.arrival, s.device_seq, rate), s.values[:, 0], fine, max_gap_s=0.35)
        for sensor, s in state.decoded.sensors.items()
        if state.meta.sensors[sensor].endswith(muscles)
    ]
    if not columns:
        state.report.notes.append(f"no sensor on the muscles a {what or 'sync'} moves: clock alignment kept")
        return None
    motion_t, activity = state.keypoint_start + numbers / fps, emg_activity(np.column_stack(columns))
    found = estimate_offset(motion_t, motion, fine, activity, max_offset_s=max_offset_s, emg_lead_s=emg_lead_s)
    match = SyncMatch(
        cue=cue, kind=what, muscles=muscles, motion_t=motion_t, motion=motion, emg_t=fine, emg=activity,
        offset_s=found.offset_s, confidence=found.confidence, emg_lead_s=emg_lead_s, applied=False,
    )  # fmt: skip
    state.report.sync_confidence = round(found.confidence, 3)
    if found.confidence < min_confidence:
        state.report.notes.append(f"sync match not confident ({found.confidence:.2f} < {min_confidence}): clock alignment kept")
        return match
    state.report.sync_offset_s = round(found.offset_s, 3)
    state.keypoint_start += found.offset_s
    match.applied = True
    return match


def _grid(state: SessionState) -> None:
    from miakit.stages.grid import make_grid

    emg_start = max(float(s.arrival.min()) for s in state.decoded.sensors.values())
    emg_stop = min(float(s.arrival.max()) for s in state.decoded.sensors.values())
    start, stop = emg_start, emg_stop
    if state.keypoint_start is not None:
        kp_stop = state.keypoint_start + (state.keypoint_frames - 1) / state.keypoint_fps
        start, stop = max(emg_start, state.keypoint_start), min(emg_stop, kp_stop)
        # keep the grid in phase with the camera's frame 0, so video time k / rate is a grid point
        start = state.keypoint_start + np.ceil((start - state.keypoint_start) * state.rate_hz - 1e-9) / state.rate_hz
        if (emg_stop - emg_start) - (stop - start) > max(2.0, 0.1 * (emg_stop - emg_start)):
            state.report.notes.append(f"video covers {max(stop - start, 0):.1f} of {emg_stop - emg_start:.1f} s of EMG")
    state.grid = make_grid(start, stop, rate_hz=state.rate_hz)
    if len(state.grid) < 2:
        found = f"EMG {emg_start:.1f}-{emg_stop:.1f} s" + (f", keypoints {state.keypoint_start:.1f}-{kp_stop:.1f} s" if state.keypoint_start is not None else "")
        raise SessionError(state.folder, "EMG and keypoints do not overlap in time", found=found)


def _emg_to_grid(state: SessionState, *, max_gap_s: float = 0.35) -> None:
    from miakit.stages.grid import sample_times, to_grid

    rate = state.decoded.profile.rate_hz
    emg = np.full((len(state.grid), len(MUSCLES)), np.nan)
    for sensor, muscle in state.meta.sensors.items():
        samples = state.decoded.sensors.get(sensor)
        if samples is None:  # a dead sensor (see decode_emg): its muscle stays NaN
            continue
        times = sample_times(samples.arrival, samples.device_seq, rate)
        emg[:, MUSCLES.index(muscle)] = to_grid(times, samples.values[:, 0], state.grid, max_gap_s=max_gap_s)
    state.emg = emg
    if state.meta.truth is not None:
        import pandas as pd

        truth = pd.read_csv(state.folder / state.meta.truth.file)
        clean = np.full_like(emg, np.nan)
        for muscle in state.meta.sensors.values():
            clean[:, MUSCLES.index(muscle)] = to_grid(truth["time"].to_numpy(), truth[muscle].to_numpy(), state.grid, max_gap_s=max_gap_s)
        state.emg_clean = clean


def _keypoints_to_grid(state: SessionState, *, source: str = "auto", estimator: str = "mediapipe") -> None:
    """source: ``session`` (the keypoints the session carries, OpenPose JSON), ``video`` (pose
    estimation on the session's video with ``estimator``), ``auto`` (session keypoints where there
    are any, else the video), ``none`` (an EMG-only build)."""
    from miakit.stages.grid import nearest_frames
    from miakit.stages.openpose import read_folder

    if source not in ("auto", "session", "video", "none"):
        raise PipelineError(state.folder, "unknown keypoint source", field="keypoints_to_grid.source", expected="auto, session, video or none", found=source)
    if source == "none":
        state.keypoints = np.full((len(state.grid), len(BODY_25), 2), np.nan, dtype=np.float32)
        state.score = np.zeros((len(state.grid), len(BODY_25)), dtype=np.float32)
        return
    kp = state.meta.keypoints
    if source == "video" or (source == "auto" and kp is None and state.meta.video is not None):
        return _pose_from_video(state, estimator=estimator)
    if kp is None:
        raise SessionError(
            state.folder / "session.yaml", "the session has no keypoints and no video (for EMG alone, build with --pipeline emg-only)", field="keypoints"
        )
    index = nearest_frames(state.grid, start=state.keypoint_start, fps=state.keypoint_fps, n_frames=state.keypoint_frames)
    numbers, points = read_folder(state.folder / kp.dir, frames=np.unique(index[index >= 0]))
    lookup = {int(n): i for i, n in enumerate(numbers)}
    keypoints = np.full((len(state.grid), len(BODY_25), 2), np.nan, dtype=np.float32)
    score = np.zeros((len(state.grid), len(BODY_25)), dtype=np.float32)
    for row, frame in enumerate(index):
        if frame >= 0 and int(frame) in lookup:
            p = points[lookup[int(frame)]]
            keypoints[row] = p[:, :2]
            score[row] = p[:, 2]
    state.keypoints, state.score = _finite_points(keypoints, score)


def _finite_points(keypoints: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A keypoint whose x, y or score is NaN or infinite is missing: x, y NaN and score 0, whatever
    its score said. Scores are clipped to [0, 1]."""
    bad = ~(np.isfinite(keypoints).all(axis=-1) & np.isfinite(score))
    if bad.any():
        keypoints, score = keypoints.copy(), score.copy()
        keypoints[bad], score[bad] = np.nan, 0.0
    return keypoints, np.clip(score, 0.0, 1.0)


def _pose_from_video(state: SessionState, *, estimator: str) -> None:
    from miakit.stages.pose import estimate_pose

    if state.meta.video is None:
        raise SessionError(state.folder / "session.yaml", "no video to estimate keypoints from", field="video")
    pose = estimate_pose(state.folder / state.meta.video.file, rate_hz=state.rate_hz, backend=estimator, progress=False)
    # the grid is in phase with the video's frame 0 (see _grid): grid point g is video time g - start
    index = np.rint((state.grid - state.keypoint_start) * state.rate_hz).astype(np.int64)
    ok = (index >= 0) & (index < pose.sizes["time"])
    keypoints = np.full((len(state.grid), len(BODY_25), 2), np.nan, dtype=np.float32)
    score = np.zeros((len(state.grid), len(BODY_25)), dtype=np.float32)
    keypoints[ok] = pose["keypoints"].values[index[ok]]
    score[ok] = np.nan_to_num(pose["keypoint_score"].values[index[ok]])
    state.keypoints, state.score = _finite_points(keypoints, score)
    state.image_size = (int(pose.attrs["width"]), int(pose.attrs["height"]))


def _quality(
    state: SessionState, *, min_score: float = 0.3, min_keypoints: int = 12, min_valid_fraction: float = 0.5, require_pose: bool = True
) -> None:
    """``require_pose: false`` for EMG-only builds: a frame is valid when its EMG is."""
    from miakit.stages.quality import frame_validity

    r = state.report
    live = [m for s, m in state.meta.sensors.items() if state.decoded is None or s in state.decoded.sensors]
    recorded = state.emg[:, [MUSCLES.index(m) for m in live]]
    state.valid = frame_validity(recorded, state.score, min_score=min_score, min_keypoints=min_keypoints if require_pose else 0)
    r.frames = len(state.grid)
    r.valid_frames = int(state.valid.sum())
    r.emg_coverage = float(np.isfinite(recorded).all(axis=1).mean())
    present = state.score >= min_score
    r.pose_coverage = float((present.sum(axis=1) >= min_keypoints).mean())
    r.mean_pose_score = float(state.score[present].mean()) if present.any() else 0.0
    if r.valid_fraction < min_valid_fraction:
        r.reason = f"only {r.valid_fraction:.0%} of frames valid (needs {min_valid_fraction:.0%}): EMG coverage {r.emg_coverage:.0%}, pose coverage {r.pose_coverage:.0%}"


STEPS: dict[str, Callable[..., None]] = {
    "decode_emg": _decode_emg,
    "raw_emg_envelope": _raw_emg_envelope,
    "align": _align,
    "grid": _grid,
    "emg_to_grid": _emg_to_grid,
    "keypoints_to_grid": _keypoints_to_grid,
    "quality": _quality,
}
"""Stage name (as written in a pipeline file) -> what it does to the session's state."""


# -- 3. one session -----------------------------------------------------------------------------


@dataclass
class SessionResult:
    report: QualityReport
    segments: list[Segment] = field(default_factory=list)  # empty where the session is left out


MIN_SEGMENT_S = 1.0
"""A marked exercise shorter than this on the grid is not made a segment."""


def exercise_intervals(folder: Path, meta: SessionMeta) -> list[tuple[str, float, float]]:
    """(exercise, start, stop) host-time intervals of a session.

    A session recorded for one exercise (``exercise`` in session.yaml) is one interval covering
    everything. A session recorded with markers (``exercise: null``) has one interval per
    ``marker start:<exercise>`` ... ``marker stop:<exercise>`` pair in events.csv; a start without
    its stop (the recording was cut) runs to the end. A session with neither is one interval of
    exercise :data:`~miakit.contracts.dataset.UNKNOWN_EXERCISE` covering everything.
    """
    if meta.exercise:
        return [(meta.exercise, -np.inf, np.inf)]
    from miakit.contracts.session import read_events

    events = read_events(folder)
    markers = events[events["kind"] == "marker"].sort_values("host_time", kind="stable")
    open_: dict[str, float] = {}
    intervals = []
    for t, detail in zip(markers["host_time"], markers["detail"].astype(str)):
        action, _, exercise = detail.partition(":")
        if action == "start" and exercise:
            open_[exercise] = float(t)
        elif action == "stop" and exercise in open_:
            intervals.append((exercise, open_.pop(exercise), float(t)))
    intervals += [(exercise, start, np.inf) for exercise, start in open_.items()]
    if not intervals:
        return [(UNKNOWN_EXERCISE, -np.inf, np.inf)]
    return sorted(intervals, key=lambda i: i[1])


def run_stages(folder: str | Path, spec: PipelineSpec, *, report: QualityReport | None = None, until: str | None = None) -> SessionState:
    """Validate one session and run the pipeline's stages on it, in order (stopping after the
    stage named ``until``, where given); returns the state. Bad input raises a MiakitError."""
    folder = Path(folder)
    try:
        meta = validate_session(folder)
    except MiakitError:
        raise
    except Exception as exc:  # noqa: BLE001 - input no check foresaw: one line, not a traceback
        raise SessionError(folder, unexpected(exc, stage="validate")) from exc
    report = report or QualityReport(session=meta.session_id)
    report.session = meta.session_id
    report.truncated = meta.truncated
    state = SessionState(folder=folder, meta=meta, rate_hz=spec.rate_hz, report=report)
    for name, params in spec.steps():
        try:
            STEPS[name](state, **params)
        except MiakitError:
            raise
        except Exception as exc:  # noqa: BLE001 - a session's failure is its one-line reason
            if isinstance(exc, TypeError) and "unexpected keyword" in str(exc):
                raise PipelineError(spec.path or spec.name, f"bad parameter for stage {name!r}: {exc}") from None
            raise SessionError(folder, unexpected(exc, stage=name)) from exc
        state.log.append(f"{name}({', '.join(f'{k}={v!r}' for k, v in params.items())})")
        if name == until:
            break
    return state


def _printable(text: str) -> str:
    """A file name as text that prints anywhere (bytes that are not UTF-8 shown as U+FFFD)."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def unexpected(exc: BaseException, *, stage: str | None = None) -> str:
    """What went wrong, in one line, for an exception no check foresaw (a bug or odd input)."""
    detail = " ".join(str(exc).split())[:200] or "no detail"
    where = f" in stage {stage}" if stage else ""
    return f"could not be processed{where}: {exc.__class__.__name__}: {detail}"


def session_reason(folder: Path, exc: BaseException) -> str:
    """One line saying why a session was left out. A MiakitError says it itself; anything else
    is named with the session folder."""
    text = str(exc) if isinstance(exc, MiakitError) else f"{folder}: {unexpected(exc)}"
    return _printable(" ".join(text.split()))


def process_session(folder: str | Path, spec: PipelineSpec) -> SessionResult:
    """Run one session through the pipeline's stages. Bad input is reported, never raised."""
    folder = Path(folder)
    report = QualityReport(session=_printable(folder.name))
    try:
        return _process_session(folder, spec, report)
    except Exception as exc:  # noqa: BLE001 - one bad session never stops the build
        report.reason = session_reason(folder, exc)
        return SessionResult(report=report)


def _process_session(folder: Path, spec: PipelineSpec, report: QualityReport) -> SessionResult:
    state = run_stages(folder, spec, report=report)
    meta = state.meta
    if not report.kept:
        return SessionResult(report=report)
    intervals = exercise_intervals(folder, meta)
    if [i[0] for i in intervals] == [UNKNOWN_EXERCISE] and not meta.exercise:
        report.notes.append(f"no exercise named or marked: one segment of exercise {UNKNOWN_EXERCISE!r}")
    source = "synthetic" if (meta.keypoints and meta.keypoints.estimator == "synthetic") or meta.recorder.emulated else "recording"
    segments = []
    for k, (exercise, start, stop) in enumerate(intervals):
        rows = np.flatnonzero((state.grid >= start) & (state.grid <= stop))
        if len(rows) < MIN_SEGMENT_S * state.rate_hz:
            report.notes.append(f"{exercise}: marked for too short a time on the grid, left out")
            continue
        sl = slice(rows[0], rows[-1] + 1)
        segments.append(Segment(
            id=meta.session_id if len(intervals) == 1 else f"{meta.session_id}-{k:02d}-{exercise}",
            session=meta.session_id, subject=meta.subject, exercise=exercise, split="", source=source,
            emg=state.emg[sl].astype(np.float32), keypoints=state.keypoints[sl].astype(np.float32),
            keypoint_score=state.score[sl].astype(np.float32), valid=state.valid[sl],
            image_width=state.image_size[0], image_height=state.image_size[1],
            flags=("truncated",) if meta.truncated else (),
            emg_clean=None if state.emg_clean is None else state.emg_clean[sl].astype(np.float32), rate_hz=state.rate_hz,
        ))  # fmt: skip
    if not segments:
        report.reason = f"{folder}: no marked exercise long enough to keep (at least {MIN_SEGMENT_S:g} s on the grid)"
    return SessionResult(report=report, segments=segments)


# -- 4. the whole build -------------------------------------------------------------------------
#
# plan_build: which sessions there are, their hashes, which are already processed ("parts").
# build_dataset: process the missing parts (serially, on local worker processes, or on a dask
# cluster), then write the store from the parts (template, chunk-aligned regions, finalize).
# Parts are per-session results kept beside the store until the store is written, so an
# interrupted build resumes where it stopped.


def _fs(location: str | Path):
    from miakit.store import filesystem

    return filesystem(str(location))


def list_sessions(root: str | Path) -> list[str]:
    """Session folders under ``root`` (a local path or an fsspec URL), sorted."""
    from miakit.store import is_url

    if not is_url(root):
        return [str(p) for p in find_sessions(root)]
    fs, path = _fs(root)
    protocol = str(root).split("://", 1)[0]
    found = sorted(p.rsplit("/", 1)[0] for p in fs.glob(path.rstrip("/") + "/**/session.yaml"))
    if fs.exists(path.rstrip("/") + "/session.yaml"):
        found = [path.rstrip("/")]
    return [f"{protocol}://{p.lstrip('/')}" if protocol != "file" else p for p in found]


def session_sha256(folder: str | Path) -> str:
    """A hash over every file of a session folder (relative names and bytes), in sorted order."""
    from miakit.store import is_url

    digest = hashlib.sha256()
    if is_url(folder):
        fs, root = _fs(folder)
        for path in sorted(fs.find(root)):
            digest.update(path[len(root):].lstrip("/").encode() + b"\0")
            digest.update(fs.cat_file(path))
        return digest.hexdigest()
    # os.walk and plain strings: sessions hold thousands of small files (OpenPose JSON), and Path
    # objects made hashing 2.3 times slower. Sorting by parts keeps the order of sorting paths.
    # Symlinks are never followed (not even to hash them: a build refuses a session holding one, and a
    # link loop must not hang the plan); a link is hashed as its target's text, so changing it counts.
    # Names are hashed as the bytes the file system holds (os.fsencode: names that are not UTF-8 too).
    files, links = [], {}
    for dirpath, dirnames, names in os.walk(folder):
        rel = os.path.relpath(dirpath, folder)
        prefix = () if rel == "." else tuple(rel.split(os.sep))
        for name in names + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                links[prefix + (name,)] = os.readlink(path)
                files.append(prefix + (name,))
            elif os.path.isfile(path):
                files.append(prefix + (name,))
    for parts in sorted(files):
        digest.update(os.fsencode("/".join(parts)) + b"\0")
        if parts in links:
            digest.update(b"symlink:" + os.fsencode(links[parts]))
            continue
        try:
            with open(os.path.join(folder, *parts), "rb") as fh:
                while block := fh.read(1 << 20):
                    digest.update(block)
        except OSError as exc:  # an unreadable file: its build gives the reason; hash what is known
            digest.update(f"unreadable:{exc.errno}".encode())
    return digest.hexdigest()


@dataclass
class SessionPlan:
    folder: str
    key: str  # the folder relative to the sessions root
    sha256: str
    part: Path  # where its processed result goes
    done: bool  # a part with the same inputs and pipeline exists


@dataclass
class BuildPlan:
    spec: PipelineSpec
    out: str
    sessions: list[SessionPlan]
    parts_dir: Path
    inputs_sha256: str
    up_to_date: bool
    pipeline_why: str = "given"  # how the pipeline was picked: "given", or "chosen: ..." (choose_pipeline)


def parts_dir_for(out: str | Path) -> Path:
    """Where per-session results wait for the store: ``STORE.zarr.parts`` beside a local store,
    a folder in the user's cache for a store at a URL."""
    from miakit.store import local_path

    local = local_path(out)
    if local is not None:
        return Path(f"{os.path.realpath(local)}.parts")
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "miakit" / "parts"
    return cache / hashlib.sha256(str(out).encode()).hexdigest()[:16]


def plan_build(
    sessions_dir: str | Path, out: str | Path, *, pipeline: str | Path = AUTO_PIPELINE, progress: bool = False, pool: SessionPool | None = None
) -> BuildPlan:
    """What a build would do, without doing it. Hashing the inputs (the slow part) runs on ``pool``
    when one is given. ``pipeline="auto"`` picks one from the sessions (:func:`choose_pipeline`)."""
    from miakit.store import exists

    folders = list_sessions(sessions_dir)
    if not folders:
        raise InputError(sessions_dir, "no session folders (no session.yaml found below it)")
    why = "given"
    if str(pipeline) == AUTO_PIPELINE:
        pipeline, why = choose_pipeline(folders)
    spec = load_pipeline(pipeline)
    root = str(sessions_dir).rstrip("/")
    parts_dir = parts_dir_for(out)
    if pool is None:
        from miakit.parallel import SessionPool

        pool = SessionPool()
    sessions = []
    hashes = pool.map(session_sha256, folders, label="hashing inputs", progress=progress)
    # decoder import paths the user allowed (--decoder-plugin) change what a session gives: they are
    # part of the parts' names and the inputs' hash (nothing changes where none is allowed)
    from miakit.record.decoders import allowed_import_paths

    allowed = sorted(allowed_import_paths())
    salt = "-" + hashlib.sha256("\0".join(allowed).encode()).hexdigest()[:8] if allowed else ""
    for folder, sha in zip(folders, hashes):
        key = folder[len(root):].strip("/") or folder.rstrip("/").rsplit("/", 1)[-1]
        part = parts_dir / f"{key.replace('/', '__')}-{sha[:16]}-{spec.sha256[:16]}{salt}"
        sessions.append(SessionPlan(folder=folder, key=key, sha256=sha, part=part, done=(part / "report.json").is_file()))
    inputs = {s.key: s.sha256 for s in sessions}
    if allowed:
        inputs = {**inputs, "decoder plugins allowed": allowed}
    inputs_sha = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    up_to_date = exists(out) and _store_matches(out, spec.sha256, inputs_sha)
    return BuildPlan(spec=spec, out=str(out), sessions=sessions, parts_dir=parts_dir, inputs_sha256=inputs_sha, up_to_date=up_to_date, pipeline_why=why)


def _store_matches(out: str | Path, pipeline_sha: str, inputs_sha: str) -> bool:
    from miakit.store import open_store

    try:
        from miakit.contracts.dataset import provenance_of

        prov = provenance_of(open_store(out))
    except MiakitError:
        return False
    return prov.get("pipeline_sha256") == pipeline_sha and prov.get("inputs_sha256") == inputs_sha


def run_part(folder: str, part: str | Path, spec: PipelineSpec) -> dict[str, Any]:
    """Process one session and save its result as a part (written to a temporary name, then
    renamed, so a part exists whole or not at all). Runs on a worker; returns the report."""
    import shutil
    import tempfile
    from dataclasses import asdict

    from miakit.store import is_url

    part = Path(part)
    with tempfile.TemporaryDirectory(prefix="miakit-session-") as staging:
        local = folder
        if is_url(folder):  # stage a remote session folder in locally, once
            fs, path = _fs(folder)
            local = str(Path(staging) / "session")
            fs.get(path.rstrip("/") + "/", local, recursive=True)
        result = process_session(local, spec)
    if is_url(folder) and result.report.session == "session":
        result.report.session = folder.rstrip("/").rsplit("/", 1)[-1]
    report = asdict(result.report)
    tmp = part.with_name(part.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for i, segment in enumerate(result.segments):
        seg = asdict(segment)
        arrays = {k: v for k, v in seg.items() if isinstance(v, np.ndarray)}
        np.savez(tmp / f"segment{i:03d}.npz", **arrays)
        (tmp / f"segment{i:03d}.json").write_text(json.dumps({k: v for k, v in seg.items() if k not in arrays and v is not None}))
    (tmp / "report.json").write_text(json.dumps(report))
    shutil.rmtree(part, ignore_errors=True)
    os.replace(tmp, part)
    return report


def load_part(part: Path) -> tuple[QualityReport, list[Segment]]:
    report = QualityReport(**json.loads((part / "report.json").read_text()))
    segments = []
    for npz_path in sorted(part.glob("segment*.npz")):
        with np.load(npz_path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        fields = json.loads(npz_path.with_suffix(".json").read_text())
        fields["flags"] = tuple(fields.get("flags", ()))
        segments.append(Segment(**fields, **arrays))
    return report, segments


@dataclass
class BuildResult:
    store: str
    reports: list[QualityReport]
    up_to_date: bool = False
    frames: int = 0
    segments: int = 0
    reused: int = 0  # sessions whose part an earlier, interrupted build had already made
    pipeline: str = ""  # the pipeline's name
    pipeline_why: str = "given"  # how it was picked (see BuildPlan)


def build_dataset(
    sessions_dir: str | Path,
    out: str | Path,
    *,
    pipeline: str | Path = AUTO_PIPELINE,
    workers: int = 1,
    scheduler: str | None = None,
    force: bool = False,
    keep_parts: bool = False,
    lock_timeout_s: float = 0.0,
    progress: bool = True,
) -> BuildResult:
    """Build every session folder under ``sessions_dir`` into one Zarr store at ``out``.

    - ``pipeline``: a name or path; ``"auto"`` (the default) picks ``emg-only`` where no session
      has video or keypoints, else ``mia`` (:func:`choose_pipeline`); the result says which and why.
    - Re-running with the same inputs and pipeline is a no-op; ``force=True`` rewrites the store,
      with identical data.
    - Sessions that fail a check are reported with their reason and left out; the rest is built.
    - ``workers > 1`` hashes and processes sessions on that many local processes (dask.distributed);
      ``scheduler="tcp://host:port"`` uses an existing dask cluster (its workers must reach the
      session folders and this machine's parts folder, e.g. over a shared file system).
      Either way the store is identical to a serial build's.
    - An interrupted build resumes: sessions already processed with the same inputs and pipeline
      are not processed again.
    - Only one build writes a store at a time: a second one fails clearly (or waits up to
      ``lock_timeout_s``); the lock is keyed by the resolved store (:func:`miakit.store.store_lock`).
    - ``out`` must be new, empty or a store miakit wrote, and may not hold the sessions
      (:func:`miakit.store.check_output`, checked before any work). The new store is written
      beside the old one and swapped in: readers see the old store or the new one, and a build
      that fails or is killed leaves the old one.
    """
    from miakit.parallel import SessionPool
    from miakit.store import check_output, store_lock, write_dataset, write_error

    check_output(out, inputs=(sessions_dir,))
    with SessionPool(workers, scheduler) as pool:
        plan = plan_build(sessions_dir, out, pipeline=pipeline, progress=progress, pool=pool)
        if plan.up_to_date and not force:
            return _existing(plan)
        with store_lock(out, timeout_s=lock_timeout_s):
            todo = [s for s in plan.sessions if not s.done or force]
            try:  # the parts: a full disk here is one line too (an unreadable session is that session's reason)
                plan.parts_dir.mkdir(parents=True, exist_ok=True)
                pool.map(run_part, [s.folder for s in todo], [str(s.part) for s in todo], spec=plan.spec, label="building sessions", progress=progress)
            except (OSError, RuntimeError) as exc:
                if not _disk_error(exc):
                    raise
                raise write_error(plan.parts_dir, exc) from None
            ds, reports = _assemble_parts(plan, sessions_dir, progress=progress)
            write_dataset(ds, out, chunk_frames=plan.spec.chunk_frames, progress=progress)
            if not keep_parts:
                import shutil

                shutil.rmtree(plan.parts_dir, ignore_errors=True)
    return BuildResult(
        store=str(out), reports=reports, frames=ds.sizes["frame"], segments=ds.sizes["segment"],
        reused=len(plan.sessions) - len(todo), pipeline=plan.spec.name, pipeline_why=plan.pipeline_why,
    )  # fmt: skip


def _disk_error(exc: BaseException) -> bool:
    """A full disk or a folder that cannot be written (also as a write pool that stopped after one)."""
    import errno

    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)
    return isinstance(exc, RuntimeError) and "cannot schedule new futures" in str(exc)


def _assemble_parts(plan: BuildPlan, sessions_dir: str | Path, *, progress: bool) -> tuple[Any, list[QualityReport]]:
    """Every session's part -> one dataset in memory, and the sessions' reports."""
    from miakit.progress import track

    loaded = [load_part(s.part) for s in track(plan.sessions, "reading parts", enabled=progress and len(plan.sessions) > 50)]
    reports = [r for r, _ in loaded]
    segments = [seg for _, segs in loaded for seg in segs]
    if not segments:
        first = next((r.reason for r in reports if r.reason), "")
        raise InputError(sessions_dir, f"no session passed the checks; first reason: {first}")
    return assemble(segments, muscles=list(MUSCLES), attrs=_attrs(plan)), reports


def _existing(plan: BuildPlan) -> BuildResult:
    from miakit.store import open_store

    ds = open_store(plan.out)
    return BuildResult(store=plan.out, reports=[], up_to_date=True, frames=ds.sizes["frame"], segments=ds.sizes["segment"],
                       pipeline=plan.spec.name, pipeline_why=plan.pipeline_why)  # fmt: skip


def _attrs(plan: BuildPlan) -> dict[str, Any]:
    pose = all(params.get("source") != "none" for name, params in plan.spec.steps() if name == "keypoints_to_grid")
    return {
        "schema": SCHEMA,
        "rate_hz": plan.spec.rate_hz,
        "muscles": list(MUSCLES),
        "keypoint_layout": "BODY_25",
        "emg_units": "device units",
        "modalities": ["emg", "pose"] if pose else ["emg"],
        "provenance": _provenance(plan),
    }


def _provenance(plan: BuildPlan) -> dict[str, Any]:
    return {
        "pipeline": plan.spec.name,
        "pipeline_sha256": plan.spec.sha256,
        "pipeline_definition": plan.spec.model_dump(mode="json"),
        "inputs_sha256": plan.inputs_sha256,
        "inputs": {s.key: s.sha256 for s in plan.sessions},
        "miakit_version": __version__,
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


__all__ = [
    "AUTO_PIPELINE", "PipelineSpec", "choose_pipeline", "load_pipeline", "run_stages", "process_session", "plan_build", "build_dataset",
    "session_sha256", "list_sessions", "STEPS",
]  # fmt: skip
