"""The session stages: what a pipeline file names, run on one session folder, in order.

Each stage is registered here (:data:`STAGES`) with its parameters as one frozen dataclass, whose
field defaults are the only defaults (a pipeline file overrides them: :func:`configure`). A stage
is a function ``(state, params) -> state``: it reads the :class:`SessionState` the stages before
it returned and returns a new one; no state is changed in place. The algorithms live in the
modules named for them; the stages here only connect them:

==================  ============================================================================
decode_emg          payloads -> samples by the session's device profile (:mod:`~miakit.stages.decode`)
raw_emg_envelope    raw sEMG -> envelopes at the grid's rate (:mod:`~miakit.stages.emg`)
align               where keypoint frame 0 lies on the host clock; the sync refinement (:mod:`~miakit.stages.align`)
grid                the 10 Hz grid where EMG and keypoints overlap (:mod:`~miakit.stages.grid`)
emg_to_grid         EMG onto the grid, gaps kept (:mod:`~miakit.stages.grid`)
keypoints_to_grid   keypoint files (:mod:`~miakit.stages.openpose`) or pose from the video (:mod:`~miakit.stages.pose`)
quality             which frames are valid, and whether to keep the session (:mod:`~miakit.stages.quality`)
==================  ============================================================================

:func:`run_stages` runs a pipeline's stages on one session (:mod:`miakit.pipeline` builds with it;
:mod:`miakit.viz` draws what it returns).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np

from miakit.contracts.session import validate_session
from miakit.errors import MiakitError, PipelineError, SessionError
from miakit.layout import BODY_25, MUSCLES
from miakit.stages.align import SyncResult, refine_by_sync
from miakit.stages.decode import decode_emg as decode
from miakit.stages.emg import RawEmgParams, condition_raw
from miakit.stages.grid import make_grid, nearest_frames, regular_samples, sample_times, to_grid
from miakit.stages.openpose import list_frames, read_folder
from miakit.stages.pose import estimate_pose
from miakit.stages.quality import QualityReport, dropped_samples, frame_validity

if TYPE_CHECKING:
    from miakit.contracts.session import SessionMeta
    from miakit.stages.align import SyncResult
    from miakit.stages.decode import DecodedEMG
    from miakit.stages.quality import QualityReport


# -- the state the stages pass along -------------------------------------------------------------


@dataclass(frozen=True)
class Camera:
    """Where the keypoint frames (or the video's) lie on the host clock, and their image size."""

    start: float  # host time of frame 0 (moved by the sync refinement, where it applied)
    fps: float
    frames: int
    width: int
    height: int


@dataclass(frozen=True)
class SessionState:
    """What the stages of one session have found so far. Each stage returns a new one."""

    folder: Path
    meta: SessionMeta
    rate_hz: float  # the grid's
    report: QualityReport
    decoded: DecodedEMG | None = None  # samples per sensor (decode_emg; envelopes after raw_emg_envelope)
    camera: Camera | None = None  # align; None: no keypoints or video (EMG alone)
    sync: SyncResult | None = None  # align with method sync: what the refinement compared and why it kept the clock
    grid: np.ndarray | None = None  # host times of the grid
    emg: np.ndarray | None = None  # (frames, muscles) in MUSCLES order, NaN where missing
    emg_clean: np.ndarray | None = None  # the same, noise-free, where the session carries it (synthetic)
    keypoints: np.ndarray | None = None  # (frames, 25, 2) pixels
    score: np.ndarray | None = None  # (frames, 25)
    valid: np.ndarray | None = None  # (frames,)

    @overload
    def require(self, name: Literal["decoded"]) -> DecodedEMG: ...
    @overload
    def require(self, name: Literal["camera"]) -> Camera: ...
    @overload
    def require(self, name: Literal["grid", "emg", "keypoints", "score", "valid"]) -> np.ndarray: ...
    def require(self, name: str) -> Any:
        """The field ``name``, which an earlier stage found; where that stage has not run (a pipeline
        file listing its stages out of order), a PipelineError naming the stage that must come first."""
        value = getattr(self, name)
        if value is None:
            what, stage = _FOUND_BY[name]
            raise PipelineError(self.folder, f"no {what} yet: stage {stage} must come earlier in the pipeline")
        return value

    @property
    def emg_units(self) -> str:
        """The units of the EMG: its device profile's."""
        return self.require("decoded").profile.units

    def reported(self, *notes: str, **counts: Any) -> SessionState:
        """This state with ``notes`` added to its report and ``counts`` set in it."""
        return replace(self, report=replace(self.report, notes=[*self.report.notes, *notes], **counts))


_FOUND_BY = {
    "decoded": ("decoded EMG", "decode_emg"),
    "camera": ("camera clock", "align"),
    "grid": ("grid", "grid"),
    "emg": ("EMG on the grid", "emg_to_grid"),
    "keypoints": ("keypoints on the grid", "keypoints_to_grid"),
    "score": ("keypoint scores on the grid", "keypoints_to_grid"),
    "valid": ("frame validity", "quality"),
}
"""What :meth:`SessionState.require` may ask for: field -> (what it is, the stage that finds it)."""


class LeftOut(SessionError):
    """A stage found the session cannot be built; ``state`` is what the stages had found by then
    (the report's counts)."""

    def __init__(self, state: SessionState, where: str | Path, problem: str, **detail: Any):
        super().__init__(where, problem, **detail)
        self.state = state


# -- the registry ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    name: str
    params: type  # a frozen dataclass: the parameters and their defaults
    run: Callable[[SessionState, Any], SessionState]


STAGES: dict[str, Stage] = {}
"""Stage name (as written in a pipeline file) -> the stage."""


def stage(name: str, params: type) -> Callable:
    """Register the decorated ``(state, params) -> state`` function as stage ``name``."""

    def register(run: Callable[[SessionState, Any], SessionState]) -> Callable:
        STAGES[name] = Stage(name=name, params=params, run=run)
        return run

    return register


def stage_params(name: str, given: dict[str, Any] | None) -> Any:
    """Stage ``name``'s parameters: its dataclass's defaults, overridden by ``given``; ValueError
    naming an unknown stage, an unknown parameter or a bad value."""
    if name not in STAGES:
        raise ValueError(f"unknown stage {name!r}; known stages: {sorted(STAGES)}")
    params = STAGES[name].params
    known = [f.name for f in fields(params)]
    unknown = sorted(set(given or {}) - set(known))
    if unknown:
        raise ValueError(f"bad parameter for stage {name!r}: unknown {unknown} (known: {known})")
    try:
        return params(**(given or {}))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad parameter for stage {name!r}: {exc}") from None


def configure(steps: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, Any]]:
    """A pipeline's ``(stage name, parameters as written)`` -> ``(stage name, parameters object)``.

    The sync refinement bridges EMG gaps as the grid does: ``align``'s ``max_gap_s``, where the
    file does not give it, is the ``emg_to_grid`` stage's (as the file gives it, else its default)."""
    configured = [(name, stage_params(name, params)) for name, params in steps]
    gap = next((p.max_gap_s for name, p in configured if name == "emg_to_grid"), EmgToGridParams().max_gap_s)
    return [
        (name, replace(p, max_gap_s=gap) if name == "align" and p.max_gap_s is None else p) for name, p in configured
    ]


# -- the stages, in pipeline order ----------------------------------------------------------------


@dataclass(frozen=True)
class DecodeParams:
    """``decode_emg`` takes no parameters: the session's own device profile says how to decode."""


@stage("decode_emg", DecodeParams)
def decode_emg(state: SessionState, params: DecodeParams) -> SessionState:
    """Decode every mapped sensor's payloads; count packets, bad, dropped and duplicated ones. A
    sensor that gave nothing stays missing (its muscle NaN); with none at all the session is left out."""

    decoded = decode(state.folder, state.meta)
    state = state.reported(
        packets=decoded.packets,
        bad_packets=decoded.bad_packets,
        dropped_samples=sum(dropped_samples(s.device_seq) for s in decoded.sensors.values()),
        duplicate_packets=sum(s.duplicate_packets for s in decoded.sensors.values()),
    )
    missing = [s for s, samples in decoded.sensors.items() if len(samples.arrival) == 0]
    if len(missing) == len(decoded.sensors):
        raise LeftOut(state, state.folder, "no EMG from any mapped sensor", field="sensors", found=missing)
    live = replace(decoded, sensors={s: samples for s, samples in decoded.sensors.items() if s not in missing})
    notes = [f"no EMG from sensor {s}: {state.meta.sensors[s]} left missing (NaN)" for s in missing]
    return replace(state.reported(*notes), decoded=live)


@stage("raw_emg_envelope", RawEmgParams)
def raw_emg_envelope(state: SessionState, params: RawEmgParams) -> SessionState:
    """Raw sEMG devices (profile kind ``raw``): band-pass, notch, rectify, envelope, resample to the
    grid's rate (:func:`miakit.stages.emg.condition_raw`; its parameters and their defaults:
    :class:`miakit.stages.emg.RawEmgParams`). Envelope devices pass through untouched."""
    import xarray as xr

    decoded = state.require("decoded")
    profile = decoded.profile
    if profile.kind != "raw":
        return state
    if not profile.rate_hz:
        raise PipelineError(profile.path, "a raw sEMG profile needs its sample rate", field="rate_hz", found=None)
    sensors = {}
    for sensor, samples in decoded.sensors.items():
        if samples.timed:  # the source's own time stamps (LSL): missing samples become NaN gaps
            times, x = regular_samples(samples.arrival, samples.values[:, 0], profile.rate_hz)
        else:
            # no device counter: the samples are taken as regular at the nominal rate (a line fitted
            # through the arrival times); a gap in arrival longer than 2 s starts a new run
            times, x = (
                sample_times(samples.arrival, np.arange(len(samples.arrival)), profile.rate_hz),
                samples.values[:, 0],
            )
        raw = xr.DataArray(x, dims="time", coords={"time": times}, attrs={"rate_hz": profile.rate_hz})
        env = condition_raw(raw, params, rate_hz=state.rate_hz)
        sensors[sensor] = replace(samples, arrival=env["time"].values, values=env.values[:, None], device_seq=None)
    envelopes = profile.model_copy(update={"rate_hz": state.rate_hz, "kind": "envelope"})
    return replace(state, decoded=replace(decoded, profile=envelopes, sensors=sensors))


@dataclass(frozen=True)
class AlignParams:
    method: str = "clock"  # clock: as the session says; sync: refined around its sync event
    window_s: float = 1.5  # the subject claps or jumps within this long after the cue
    max_offset_s: float = 1.0  # the largest video clock error searched for
    emg_lead_s: float = 0.075  # electromechanical delay: EMG leads the motion it causes
    min_confidence: float = 0.3  # below this the match is ignored and the clock kept
    max_gap_s: float | None = None  # EMG gaps the sync trace bridges; None: the emg_to_grid stage's (configure)

    def __post_init__(self) -> None:
        if self.method not in ("clock", "sync"):
            raise ValueError(f"unknown alignment method {self.method!r} (expected 'clock' or 'sync')")


@stage("align", AlignParams)
def align(state: SessionState, params: AlignParams) -> SessionState:
    """Where keypoint frame 0 lies on the host clock (:class:`Camera`).

    ``clock``: as the session says (``keypoints.start_host_time``). ``sync``: refined around the
    session's sync event (a clap or a jump) by cross-correlating keypoint motion with the EMG
    (:func:`miakit.stages.align.refine_by_sync`); kept only when the match is confident, else the
    clock stands and the report says why.
    """

    kp, video = state.meta.keypoints, state.meta.video
    if kp is None and video is not None:  # keypoints come from the video (keypoints_to_grid)
        from miakit.stages.video import probe_video

        probed = probe_video(state.folder / video.file)
        state = replace(
            state,
            camera=Camera(
                start=video.start_host_time,
                fps=probed.fps,
                frames=probed.frames,
                width=probed.width,
                height=probed.height,
            ),
        )
        if params.method == "sync":
            result = SyncResult(
                match=None, note="sync refinement needs keypoints at the camera's rate: clock alignment kept"
            )
            return replace(state.reported(result.note), sync=result)
        return state
    if kp is None:
        return state  # an EMG-only build

    camera = Camera(
        start=kp.start_host_time,
        fps=kp.fps,
        frames=len(list_frames(state.folder / kp.dir)),
        width=kp.width,
        height=kp.height,
    )
    state = replace(state, camera=camera)
    if params.method == "clock":
        return state
    if params.max_gap_s is None:  # configure() gives it (the emg_to_grid stage's)
        raise ValueError("align's max_gap_s is unset: run the stages as configure() returns them")
    decoded = state.require("decoded")
    result = refine_by_sync(
        state.folder,
        state.meta,
        decoded,
        start=camera.start,
        fps=camera.fps,
        frames=camera.frames,
        window_s=params.window_s,
        max_offset_s=params.max_offset_s,
        emg_lead_s=params.emg_lead_s,
        min_confidence=params.min_confidence,
        max_gap_s=params.max_gap_s,
    )
    counts = {}
    if result.match is not None:
        counts["sync_confidence"] = round(result.match.confidence, 3)
        if result.match.applied:
            counts["sync_offset_s"] = round(result.match.offset_s, 3)
            camera = replace(camera, start=camera.start + result.match.offset_s)
    return replace(state.reported(*[result.note] if result.note else [], **counts), camera=camera, sync=result)


@dataclass(frozen=True)
class GridParams:
    """``grid`` takes no parameters: its rate is the pipeline's ``rate_hz``."""


@stage("grid", GridParams)
def grid(state: SessionState, params: GridParams) -> SessionState:
    """The grid over the span where EMG and keypoints overlap, in phase with the camera's frame 0."""

    sensors = state.require("decoded").sensors
    emg_start = max(float(s.arrival.min()) for s in sensors.values())
    emg_stop = min(float(s.arrival.max()) for s in sensors.values())
    start, stop = emg_start, emg_stop
    camera = state.camera
    if camera is not None:
        kp_stop = camera.start + (camera.frames - 1) / camera.fps
        start, stop = max(emg_start, camera.start), min(emg_stop, kp_stop)
        # keep the grid in phase with the camera's frame 0, so video time k / rate is a grid point
        start = camera.start + np.ceil((start - camera.start) * state.rate_hz - 1e-9) / state.rate_hz
        if (emg_stop - emg_start) - (stop - start) > max(2.0, 0.1 * (emg_stop - emg_start)):
            state = state.reported(f"video covers {max(stop - start, 0):.1f} of {emg_stop - emg_start:.1f} s of EMG")
    points = make_grid(start, stop, rate_hz=state.rate_hz)
    if len(points) < 2:
        found = f"EMG {emg_start:.1f}-{emg_stop:.1f} s" + (
            f", keypoints {camera.start:.1f}-{kp_stop:.1f} s" if camera is not None else ""
        )
        raise SessionError(state.folder, "EMG and keypoints do not overlap in time", found=found)
    return replace(state, grid=points)


@dataclass(frozen=True)
class EmgToGridParams:
    max_gap_s: float = 0.35  # never interpolate EMG across a gap longer than this


@stage("emg_to_grid", EmgToGridParams)
def emg_to_grid(state: SessionState, params: EmgToGridParams) -> SessionState:
    """Each muscle's EMG (and the noise-free truth, where the session carries it) onto the grid."""

    decoded, points = state.require("decoded"), state.require("grid")
    rate = decoded.profile.rate_hz
    emg = np.full((len(points), len(MUSCLES)), np.nan)
    for sensor, muscle in state.meta.sensors.items():
        samples = decoded.sensors.get(sensor)
        if samples is None:  # a dead sensor (see decode_emg): its muscle stays NaN
            continue
        times = sample_times(samples.arrival, samples.device_seq, rate)
        emg[:, MUSCLES.index(muscle)] = to_grid(times, samples.values[:, 0], points, max_gap_s=params.max_gap_s)
    clean = None
    if state.meta.truth is not None:
        import pandas as pd

        truth = pd.read_csv(state.folder / state.meta.truth.file)
        clean = np.full_like(emg, np.nan)
        for muscle in state.meta.sensors.values():
            clean[:, MUSCLES.index(muscle)] = to_grid(
                truth["time"].to_numpy(), truth[muscle].to_numpy(), points, max_gap_s=params.max_gap_s
            )
    return replace(state, emg=emg, emg_clean=clean)


@dataclass(frozen=True)
class KeypointsParams:
    source: str = (
        "auto"  # session (its OpenPose JSON), video (pose estimation), auto (session, else video), none (EMG alone)
    )
    estimator: str = "mediapipe"  # the pose back end for source video (miakit.stages.pose)

    def __post_init__(self) -> None:
        if self.source not in ("auto", "session", "video", "none"):
            raise ValueError(f"unknown keypoint source {self.source!r} (expected auto, session, video or none)")


@stage("keypoints_to_grid", KeypointsParams)
def keypoints_to_grid(state: SessionState, params: KeypointsParams) -> SessionState:
    """Each grid point takes the nearest keypoint frame within half a frame period (no
    interpolation of poses), from the session's keypoints or from pose estimated on its video."""

    times = state.require("grid")
    keypoints = np.full((len(times), len(BODY_25), 2), np.nan, dtype=np.float32)
    score = np.zeros((len(times), len(BODY_25)), dtype=np.float32)
    if params.source == "none":
        return replace(state, keypoints=keypoints, score=score)
    kp = state.meta.keypoints
    if params.source == "video" or (params.source == "auto" and kp is None and state.meta.video is not None):
        return _pose_from_video(state, keypoints, score, estimator=params.estimator)
    if kp is None:
        raise SessionError(
            state.folder / "session.yaml",
            "the session has no keypoints and no video (for EMG alone, build with --pipeline emg-only)",
            field="keypoints",
        )
    camera = state.require("camera")
    index = nearest_frames(times, start=camera.start, fps=camera.fps, n_frames=camera.frames)
    numbers, points = read_folder(state.folder / kp.dir, frames=np.unique(index[index >= 0]))
    lookup = {int(n): i for i, n in enumerate(numbers)}
    for row, frame in enumerate(index):
        if frame >= 0 and int(frame) in lookup:
            p = points[lookup[int(frame)]]
            keypoints[row] = p[:, :2]
            score[row] = p[:, 2]
    keypoints, score = _finite_points(keypoints, score)
    return replace(state, keypoints=keypoints, score=score)


def _pose_from_video(state: SessionState, keypoints: np.ndarray, score: np.ndarray, *, estimator: str) -> SessionState:

    if state.meta.video is None:
        raise SessionError(state.folder / "session.yaml", "no video to estimate keypoints from", field="video")
    pose = estimate_pose(state.folder / state.meta.video.file, rate_hz=state.rate_hz, backend=estimator, progress=False)
    # the grid is in phase with the video's frame 0 (see grid): grid point g is video time g - start
    camera = state.require("camera")
    index = np.rint((state.require("grid") - camera.start) * state.rate_hz).astype(np.int64)
    ok = (index >= 0) & (index < pose.sizes["time"])
    keypoints[ok] = pose["keypoints"].values[index[ok]]
    score[ok] = np.nan_to_num(pose["keypoint_score"].values[index[ok]])
    keypoints, score = _finite_points(keypoints, score)
    camera = replace(camera, width=int(pose.attrs["width"]), height=int(pose.attrs["height"]))
    return replace(state, keypoints=keypoints, score=score, camera=camera)


def _finite_points(keypoints: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A keypoint whose x, y or score is NaN or infinite is missing: x, y NaN and score 0, whatever
    its score said. Scores are clipped to [0, 1]."""
    bad = ~(np.isfinite(keypoints).all(axis=-1) & np.isfinite(score))
    if bad.any():
        keypoints, score = keypoints.copy(), score.copy()
        keypoints[bad], score[bad] = np.nan, 0.0
    return keypoints, np.clip(score, 0.0, 1.0)


@dataclass(frozen=True)
class QualityParams:
    min_score: float = 0.3  # a keypoint scored below this counts as missing
    min_keypoints: int = 12  # a valid frame has at least this many of the 25 keypoints present (see quality)
    min_valid_fraction: float = 0.5  # a session with fewer valid frames is reported and left out
    require_pose: bool = True  # false for EMG-only builds: a frame is valid when its EMG is


@stage("quality", QualityParams)
def quality(state: SessionState, params: QualityParams) -> SessionState:
    """Which frames are valid; the coverage figures; the reason to leave the session out, if any.

    A valid frame has EMG for every muscle recorded and ``min_keypoints`` of the 25 keypoints
    present; in a session that never shows some keypoints at all (a motion capture's lower-body
    marker set filmed by ``miakit synth --from-mocap``: no arms, no head) the same share of those it
    shows (12 of 25: 7 of 13)."""

    live = [m for s, m in state.meta.sensors.items() if state.decoded is None or s in state.decoded.sensors]
    recorded = state.require("emg")[:, [MUSCLES.index(m) for m in live]]
    score, n_frames = state.require("score"), len(state.require("grid"))
    present = score >= params.min_score
    shown = int(present.any(axis=0).sum())
    needed = max(1, min(params.min_keypoints, int(np.ceil(params.min_keypoints * shown / score.shape[1]))))
    valid = frame_validity(
        recorded, score, min_score=params.min_score, min_keypoints=needed if params.require_pose else 0
    )
    state = state.reported(
        frames=n_frames,
        valid_frames=int(valid.sum()),
        emg_coverage=float(np.isfinite(recorded).all(axis=1).mean()),
        pose_coverage=float((present.sum(axis=1) >= needed).mean()),
        mean_pose_score=float(score[present].mean()) if present.any() else 0.0,
    )
    r = state.report
    if r.valid_fraction < params.min_valid_fraction:
        why = (
            f"only {r.valid_fraction:.0%} of frames valid (needs {params.min_valid_fraction:.0%}): "
            f"EMG coverage {r.emg_coverage:.0%}, pose coverage {r.pose_coverage:.0%}"
        )
        state = state.reported(reason=why)
    return replace(state, valid=valid)


# -- running them ---------------------------------------------------------------------------------


def stage_states(
    folder: str | Path, stages: list[tuple[str, Any]], *, rate_hz: float
) -> Iterator[tuple[str, SessionState]]:
    """Validate one session folder, then run ``stages`` (:func:`configure`'s) on it in order:
    yields ``("", the first state)``, then each stage's name and the state it returned. Bad input
    raises a MiakitError (one line naming the file); anything else is named with its stage."""

    folder = Path(folder)
    try:
        meta = validate_session(folder)
    except MiakitError:
        raise
    except Exception as exc:  # noqa: BLE001 - input no check foresaw: one line, not a traceback
        raise SessionError(folder, unexpected(exc, stage="validate")) from exc
    state = SessionState(
        folder=folder,
        meta=meta,
        rate_hz=rate_hz,
        report=QualityReport(session=meta.session_id, truncated=meta.truncated),
    )
    yield "", state
    for name, params in stages:
        try:
            state = STAGES[name].run(state, params)
        except MiakitError:
            raise
        except Exception as exc:  # noqa: BLE001 - a session's failure is its one-line reason
            raise SessionError(folder, unexpected(exc, stage=name)) from exc
        yield name, state


def run_stages(
    folder: str | Path, stages: list[tuple[str, Any]], *, rate_hz: float, until: str | None = None
) -> SessionState:
    """Run ``stages`` on one session (:func:`stage_states`), stopping after the stage named
    ``until`` where given; returns the last state. Bad input raises a MiakitError."""
    for name, state in stage_states(folder, stages, rate_hz=rate_hz):  # noqa: B007 - the last state is the result
        if name and name == until:
            break
    return state


def unexpected(exc: BaseException, *, stage: str | None = None) -> str:
    """What went wrong, in one line, for an exception no check foresaw (a bug or odd input)."""
    detail = " ".join(str(exc).split())[:200] or "no detail"
    where = f" in stage {stage}" if stage else ""
    return f"could not be processed{where}: {exc.__class__.__name__}: {detail}"
