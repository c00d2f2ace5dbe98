"""Lab trials (motion capture with EMG) to contract-2 segments: the part the C3D and OpenSim importers share.

A reader (:mod:`miakit.importers.c3d`, :mod:`miakit.importers.opensim`) fills a :class:`LabTrial`;
:func:`trial_segments` turns it into one :class:`~miakit.segments.Segment` per virtual camera view:

1. **Labels** are normalized (:func:`miakit.importers.markerset.normalize_label`); where two labels
   normalize alike (a repeated label, or ``A:LASI`` beside ``LASI``), the one with more valid
   samples is kept and the other reported.
2. **Gaps**: samples that are NaN or exactly (0, 0, 0) are gaps; interior gaps up to
   ``max_gap_s`` (default :data:`MAX_GAP_S`) are filled by straight lines
   (:func:`miakit.stages.emg.fill_gaps`), longer ones stay missing (score 0, NaN).
3. **Joint centres** by a marker-set mapping (:mod:`miakit.importers.markerset`): the user's, else
   the shipped mapping that resolves the most BODY_25 joints (at least :data:`MIN_JOINTS`).
4. **Virtual cameras** (:func:`project_views`): the vertical axis is the lab axis along which the
   upper body (head, neck, shoulders) lies above the lower (feet, else hips); the subject's facing is
   the median horizontal direction from the back of the pelvis to its front (else from the hips' or
   shoulders' left-right axis); forward progression is removed by subtracting the pelvis' horizontal
   path smoothed over ``pan_window_s`` (a camera that pans with the subject, or a treadmill view);
   the camera looks horizontally from the middle of the joints' vertical extent, at ``yaw`` degrees
   from the front (positive toward the subject's right: 90 is the right side), with a phone's
   vertical field of view (:data:`VERTICAL_FOV_DEG`) into a portrait 1080 x 1920 frame, from the
   distance at which the subject's height (the larger of its ``Height`` parameter, where the file
   has one, and 1.1 times the joints' vertical extent) and its reach to either side fit :data:`FILL` of the frame even at the nearest
   depth a point comes to. Points outside the frame are missing, as a camera would miss them.
5. **Frames** on the 10 Hz grid from the first marker frame, read by linear interpolation.
6. **EMG**: channels named by :mod:`miakit.importers.emg_channels`; raw EMG (in microvolts) through
   :func:`miakit.stages.emg.condition_raw` (band-pass, rectify, RMS envelope, 10 Hz) on the same grid;
   envelopes the file already holds are only resampled; the resampling filter's slight ringing
   below 0 next to bursts is clipped at 0. Several channels of one muscle: the mean of
   their envelopes. Clipping: samples at the ADC's rail (where the file states it) or on a flat run
   at the channel's extreme (:data:`CLIP_RUN` samples) are counted, and the segment is flagged.
   Muscles without a channel stay NaN and ``muscle_present`` is false for them.
7. **Gait events** from the file, else by Zeni et al. (2008) for level walking (:func:`zeni_events`),
   in seconds from the segment's start, repeated for each view's segment.
8. **What is written** (:func:`load_trials`): per segment ``segment_view`` and ``segment_yaw_deg``,
   ``muscle_present(segment, muscle)``, and the ``event_*`` table; ``keypoint_score`` 1 where a
   point is known and in the picture, else 0 with the point NaN; ``valid`` where every present
   muscle's envelope is finite and at least :data:`MIN_KEYPOINTS` points are in the picture;
   ``attrs["provenance"]["trials"]``: per file the mapping (name, source, SHA-256), the formula
   each joint came from, the camera, the channels of each muscle, the refused channels, clipping.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from miakit.errors import InputError
from miakit.importers.markerset import Mapping, compute_joints, normalize_label, resolvable, shipped_mappings
from miakit.layout import BODY_25, IMAGE_HEIGHT, IMAGE_WIDTH, MUSCLES, RATE_HZ
from miakit.segments import Segment

MAX_GAP_S = 0.2
"""Marker gaps up to this long are filled by straight lines; longer ones stay missing."""
MIN_JOINTS = 4
"""A mapping must resolve at least this many BODY_25 joints from a file's markers."""
MIN_KEYPOINTS = 5
"""A frame is valid only with at least this many keypoints in the picture."""
PAN_WINDOW_S = 1.0
"""The panning camera follows the pelvis smoothed over this long (about one stride)."""
VERTICAL_FOV_DEG = 65.5
"""A phone's main camera (28 mm equivalent) along the long side: portrait, so vertical."""
FILL = 0.9
"""The subject's height (and reach to either side) fills at most this fraction of the frame, at the
nearest depth a point comes to; the body's middle plane is further, so it fills less (about 0.7)."""
CLIP_RUN = 3
"""Without a stated ADC rail: this many equal samples at a channel's extreme count as clipped."""
ZENI_MIN_STEP_S = 0.35
"""Zeni: two events of one kind on one foot are at least this far apart."""
ZENI_MIN_RANGE_MM = 150.0
"""Zeni: the heel must swing at least this far fore and aft of the pelvis (else it is not walking)."""
ZENI_MAX_HEEL_CORRELATION = -0.3
"""Zeni: walking feet alternate, so the two heels' signals must correlate below this."""
VIEWS = {"front": 0.0, "side": 90.0, "right": 90.0, "back": 180.0, "left": -90.0}
"""Named views, as yaw angles (degrees from the front, positive toward the subject's right)."""
EMG_UNITS = "microvolts (RMS envelope)"
SOURCE = "mocap"


@dataclass
class LabTrial:
    """One motion-capture trial as a reader hands it over (positions in mm, times in s)."""

    path: Path
    markers: dict[str, np.ndarray]  # label as in the file -> (frames, 3), NaN gaps
    marker_rate_hz: float
    analogs: dict[str, np.ndarray] = field(default_factory=dict)  # label -> (samples,) in volts, or envelope units
    analog_rate_hz: float = 0.0
    analog_rails: dict[str, tuple[float, float]] = field(default_factory=dict)  # label -> (low, high) in volts
    emg_is_envelope: bool = False  # the file holds envelopes already (OpenSim .sto), not raw EMG
    emg_scale_to_uv: float = 1e6  # analogs times this are microvolts
    parameters: dict[str, float] = field(default_factory=dict)  # subject parameters (mm)
    events: list[tuple[float, str, str]] = field(default_factory=list)  # (s from the first marker frame, kind, side)
    subject: str = ""
    marker_sets: tuple[str, ...] = ()  # what the file says its marker sets are


@dataclass
class TrialResult:
    segments: list[Segment]
    events: list[tuple[int, float, str, str, str]]  # (segment index in this trial, time s, kind, side, origin)
    views: list[tuple[str, float]]
    present: np.ndarray  # (muscle,) bool
    info: dict  # what was used: mapping, joints, channels, gaps, clipping


def parse_views(text: str) -> list[tuple[str, float]]:
    """``front,side`` or ``0,45,90`` -> [(name, yaw_deg)]."""
    out = []
    for item in [t.strip() for t in str(text).split(",") if t.strip()]:
        if item.lower() in VIEWS:
            out.append((item.lower(), VIEWS[item.lower()]))
            continue
        try:
            yaw = float(item)
        except ValueError:
            raise InputError("--views", "unknown view", expected=f"{', '.join(VIEWS)} or yaw angles in degrees", found=item) from None
        out.append((f"yaw{yaw:+g}", yaw))
    if not out:
        raise InputError("--views", "no views", expected="front,side or a list of yaw angles", found=text)
    return out


def normalized_markers(trial: LabTrial) -> tuple[dict[str, np.ndarray], list[str]]:
    """Markers by normalized label, gaps as NaN (NaN or exactly 0,0,0); the repeated labels dropped."""
    out: dict[str, np.ndarray] = {}
    repeated: list[str] = []
    for label, xyz in trial.markers.items():
        xyz = np.array(xyz, dtype=np.float64)
        xyz[np.all(xyz == 0, axis=1)] = np.nan
        xyz[~np.isfinite(xyz).all(axis=1)] = np.nan
        key = normalize_label(label)
        if key in out:
            repeated.append(label)
            if np.isfinite(xyz[:, 0]).sum() <= np.isfinite(out[key][:, 0]).sum():
                continue
        out[key] = xyz
    return out, repeated


def fill_marker_gaps(markers: dict[str, np.ndarray], rate_hz: float, max_gap_s: float) -> dict[str, np.ndarray]:
    """Interior gaps up to ``max_gap_s`` filled by straight lines (:func:`miakit.stages.emg.fill_gaps`)."""
    import xarray as xr

    from miakit.stages.emg import fill_gaps

    if not markers or max_gap_s <= 0:
        return markers
    names = list(markers)
    da = xr.DataArray(np.stack([markers[n] for n in names], axis=1), dims=("time", "marker", "xyz"), attrs={"rate_hz": rate_hz})
    filled = fill_gaps(da, max_gap_s=max_gap_s).values
    return {n: filled[:, i] for i, n in enumerate(names)}


def choose_mapping(trial: LabTrial, markers: dict[str, np.ndarray], mapping: Mapping | None) -> tuple[Mapping, list[str]]:
    """The user's mapping, else the shipped one resolving the most joints; an unknown set is an error."""
    candidates = [mapping] if mapping is not None else shipped_mappings()
    scored = sorted(((len(resolvable(m, markers)), i, m) for i, m in enumerate(candidates)), key=lambda t: (-t[0], t[1]))
    best_n, _, best = scored[0]
    if best_n < MIN_JOINTS:
        tried = ", ".join(f"{m.name} ({n} joints)" for n, _, m in scored)
        sample = ", ".join(sorted(markers)[:8]) or "none"
        raise InputError(
            trial.path, "unknown marker set", field="POINT labels",
            expected=f"markers that a mapping turns into >= {MIN_JOINTS} BODY_25 joints (tried {tried}; pass --mapping FILE)",
            found=f"{len(markers)} markers ({sample}...)",
        )  # fmt: skip
    return best, resolvable(best, markers)


def grid_times(n_samples: int, rate_hz: float) -> np.ndarray:
    """The 10 Hz grid over ``n_samples`` at ``rate_hz`` (times from the first sample)."""
    n = int(np.floor((n_samples - 1) * RATE_HZ / rate_hz + 1e-9)) + 1 if n_samples else 0
    return np.arange(n) / RATE_HZ


def sample_at(x: np.ndarray, rate_hz: float, times: np.ndarray) -> np.ndarray:
    """``x`` (samples, ...) read at ``times`` by linear interpolation; NaN where a neighbour is NaN."""
    pos = times * rate_hz
    lo = np.clip(np.floor(pos + 1e-9).astype(int), 0, len(x) - 1)
    hi = np.minimum(lo + 1, len(x) - 1)
    frac = np.clip(pos - lo, 0.0, 1.0).reshape(-1, *([1] * (x.ndim - 1)))
    return np.where(frac < 1e-9, x[lo], x[lo] * (1 - frac) + x[hi] * frac)


# -- the body's frame and the virtual cameras -----------------------------------------------------

_UPPER = ("Nose", "REye", "LEye", "REar", "LEar", "Neck", "RShoulder", "LShoulder")
_FEET = ("RAnkle", "LAnkle", "RHeel", "LHeel", "RBigToe", "LBigToe", "RSmallToe", "LSmallToe")
_HIPS = ("MidHip", "RHip", "LHip")


def _joint_mean(xyz: np.ndarray, names) -> np.ndarray:
    idx = [BODY_25.index(n) for n in names]
    with np.errstate(invalid="ignore"), _quiet():
        return np.nanmean(xyz[:, idx], axis=1)


@contextmanager
def _quiet():
    """Silence numpy's all-NaN warnings (an all-missing joint is expected here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def vertical_axis(xyz: np.ndarray, where) -> np.ndarray:
    """The lab axis (a signed unit vector) along which the upper body lies above the feet (else the hips)."""
    upper = _joint_mean(xyz, _UPPER)
    lower = _joint_mean(xyz, _FEET)
    if not np.isfinite(lower).any():
        lower = _joint_mean(xyz, _HIPS)
    with _quiet():
        d = np.nanmedian(upper - lower, axis=0)
    if not np.isfinite(d).all():
        raise InputError(where, "cannot find the vertical", expected="joints of the upper body and of the feet or hips in the same frames", found="none")
    axis = int(np.argmax(np.abs(d)))
    up = np.zeros(3)
    up[axis] = np.sign(d[axis])
    return up


def facing_direction(markers: dict[str, np.ndarray], mapping: Mapping, xyz: np.ndarray, up: np.ndarray, where) -> np.ndarray:
    """The subject's median horizontal facing (unit vector), from the pelvis markers, else the hips or shoulders."""

    def mean_of(spec):
        options = spec if spec and isinstance(spec[0], list) else [spec]
        for names in options:
            keys = [normalize_label(n) for n in names or []]
            if keys and all(k in markers for k in keys):
                return np.mean([markers[k] for k in keys], axis=0)
        return None

    front, back = mean_of(mapping.facing.get("front")), mean_of(mapping.facing.get("back"))
    if front is not None and back is not None:
        d = front - back
    else:
        d = None
        for r, l in (("RHip", "LHip"), ("RShoulder", "LShoulder")):
            right = xyz[:, BODY_25.index(r)] - xyz[:, BODY_25.index(l)]
            if np.isfinite(right).all(axis=1).any():
                d = np.cross(up, right)
                break
        if d is None:
            raise InputError(where, "cannot find which way the subject faces", expected="pelvis markers, or both hips or both shoulders", found="none")
    d = d - (d @ up)[:, None] * up
    with _quiet():
        f = np.nanmedian(d / np.linalg.norm(d, axis=1, keepdims=True), axis=0)
    return f / np.linalg.norm(f)


def _smooth_path(path: np.ndarray, window: int) -> np.ndarray:
    """A centred moving average of a (frames, 3) path, NaN frames bridged by straight lines."""
    out = np.array(path, dtype=np.float64)
    t = np.arange(len(out))
    for k in range(out.shape[1]):
        ok = np.isfinite(out[:, k])
        if not ok.any():
            out[:, k] = 0.0
            continue
        out[:, k] = np.interp(t, t[ok], out[ok, k])
    if window > 1:
        from scipy.ndimage import uniform_filter1d

        out = uniform_filter1d(out, size=window, axis=0, mode="nearest")
    return out


def project_views(xyz: np.ndarray, *, up: np.ndarray, forward: np.ndarray, views: list[tuple[str, float]], subject_height_mm: float | None = None, pan_window_s: float = PAN_WINDOW_S) -> tuple[list[np.ndarray], dict]:
    """Project 10 Hz joint centres (frames, 25, 3) mm into a portrait frame per view: (frames, 25, 2) px, NaN out of frame."""
    right = np.cross(forward, up)
    centre = _joint_mean(xyz, _HIPS)
    if not np.isfinite(centre).any():
        centre = np.nanmean(xyz, axis=1)
    path = _smooth_path(centre, int(round(pan_window_s * RATE_HZ)))
    rel = xyz - path[:, None, :]
    height = rel @ up  # the vertical coordinate of every point, relative to the pelvis' path
    rel = rel - height[..., None] * up  # horizontal part
    with _quiet():
        low, high = float(np.nanmin(height)), float(np.nanmax(height))
        reach = float(np.nanpercentile(np.linalg.norm(rel, axis=-1), 99))  # how far points stray from the pelvis' path
    span = max(float(subject_height_mm or 0.0), 1.1 * (high - low))  # head top and soles lie beyond the joints
    mid = (low + high) / 2
    focal = (IMAGE_HEIGHT / 2) / np.tan(np.radians(VERTICAL_FOV_DEG / 2))
    # Far enough that the whole height, and the whole reach to either side, fit FILL of the frame
    # even at the nearest depth a point comes to (reach in front of the subject's plane).
    distance = max(focal * span / (FILL * IMAGE_HEIGHT), focal * 2 * reach / (FILL * IMAGE_WIDTH)) + reach
    out = []
    for _, yaw in views:
        a = np.radians(yaw)
        towards_camera = np.cos(a) * forward + np.sin(a) * right
        view = -towards_camera
        image_right = np.cross(view, up)
        x_cam = rel @ image_right
        z_cam = distance - rel @ towards_camera
        y_cam = height - mid
        with np.errstate(invalid="ignore", divide="ignore"):
            px = IMAGE_WIDTH / 2 + focal * x_cam / z_cam
            py = IMAGE_HEIGHT / 2 - focal * y_cam / z_cam
        kp = np.stack([px, py], axis=-1)
        inside = (z_cam > 0) & (px >= 0) & (px < IMAGE_WIDTH) & (py >= 0) & (py < IMAGE_HEIGHT)
        kp[~inside] = np.nan
        out.append(kp)
    return out, {"up": up.tolist(), "forward": [round(float(v), 4) for v in forward], "camera_distance_mm": round(float(distance), 1), "focal_px": round(float(focal), 1), "subject_span_mm": round(span, 1)}


# -- gait events ----------------------------------------------------------------------------------


def zeni_events(joints: np.ndarray, rate_hz: float, *, up: np.ndarray, forward: np.ndarray) -> list[tuple[float, str, str]]:
    """Zeni et al. (2008): heel strike where the heel is furthest ahead of the pelvis (the hips'
    centre stands in for the sacrum), toe off where the toe is furthest behind it, along the
    direction of progression. Only for walking: [] unless both heels swing at least
    :data:`ZENI_MIN_RANGE_MM` fore and aft of the pelvis and in antiphase (correlation below
    :data:`ZENI_MAX_HEEL_CORRELATION`; in a squat or a lift they move together), or where the
    markers are not there. Times in s from the first frame."""
    from scipy.signal import find_peaks

    pelvis = _joint_mean(joints, _HIPS)
    t = np.arange(len(joints))
    signals: dict[str, np.ndarray] = {}
    for name in ("RHeel", "LHeel", "RBigToe", "LBigToe"):
        s = (joints[:, BODY_25.index(name)] - pelvis) @ forward
        ok = np.isfinite(s)
        if ok.sum() < rate_hz or np.ptp(s[ok]) < ZENI_MIN_RANGE_MM:
            return []
        signals[name] = np.interp(t, t[ok], s[ok])
    if np.corrcoef(signals["RHeel"], signals["LHeel"])[0, 1] > ZENI_MAX_HEEL_CORRELATION:
        return []  # the feet do not alternate: not walking
    events: list[tuple[float, str, str]] = []
    for side, heel, toe in (("right", "RHeel", "RBigToe"), ("left", "LHeel", "LBigToe")):
        for name, kind, sign in ((heel, "foot_strike", 1.0), (toe, "foot_off", -1.0)):
            peaks, _ = find_peaks(sign * signals[name], distance=max(1, int(ZENI_MIN_STEP_S * 2 * rate_hz)), prominence=ZENI_MIN_RANGE_MM / 2)
            events += [(float(p / rate_hz), kind, side) for p in peaks if 0 < p < len(t) - 1]
    return sorted(events)


# -- EMG --------------------------------------------------------------------------------------------


def count_clipped(x: np.ndarray, rail: tuple[float, float] | None) -> int:
    """Samples at the ADC's rail (within 0.1 % of its range) where known, else on flat runs at the extreme."""
    x = np.asarray(x, dtype=np.float64)
    ok = np.isfinite(x)
    if not ok.any():
        return 0
    if rail is not None:
        lo, hi = rail
        tol = 1e-3 * (hi - lo)
        return int(((x <= lo + tol) | (x >= hi - tol))[ok].sum())
    count = 0
    for extreme in (np.nanmax(x), np.nanmin(x)):
        at = np.r_[False, x == extreme, False]
        edges = np.flatnonzero(np.diff(at.astype(int)))
        for start, stop in zip(edges[::2], edges[1::2]):
            if stop - start >= CLIP_RUN:
                count += int(stop - start)
    return count


def emg_envelopes(trial: LabTrial, n_frames: int, *, side: str | None, params: dict) -> tuple[np.ndarray, dict]:
    """(n_frames, 8) envelopes in MUSCLES order, NaN for muscles without a channel; and what was done."""
    import xarray as xr

    from miakit.importers.emg_channels import match_channel
    from miakit.stages.emg import condition_raw, resample

    mapped: dict[str, list[str]] = {}
    refused: dict[str, str] = {}
    for label in trial.analogs:
        m = match_channel(label, side=side)
        if m.muscle:
            mapped.setdefault(m.muscle, []).append(label)
        elif m.group:  # a muscle of ours without a side: say so
            refused[label] = m.reason
    if not mapped:
        if refused:
            why = "; ".join(f"{k} {v}" for k, v in list(refused.items())[:3])
        else:
            why = f"none of its {len(trial.analogs)} channels is a biceps, triceps, quadriceps or hamstring (see miakit/importers/emg-channels.yaml)"
        raise InputError(trial.path, f"no EMG channel maps to a muscle: {why}", field="ANALOG labels")
    rate = trial.analog_rate_hz
    emg = np.full((n_frames, len(MUSCLES)), np.nan)
    clipped: dict[str, int] = {}
    log: list[str] = []
    for muscle, labels in mapped.items():
        raw = np.stack([np.asarray(trial.analogs[lab], dtype=np.float64) for lab in labels], axis=1)
        for lab, col in zip(labels, raw.T):
            clipped[lab] = count_clipped(col, trial.analog_rails.get(lab))
        da = xr.DataArray(raw * trial.emg_scale_to_uv, dims=("time", "channel"), coords={"channel": labels}, attrs={"rate_hz": rate})
        if trial.emg_is_envelope:
            env = resample(da, rate_hz=RATE_HZ)
        else:
            high = min(params["high_hz"], 0.9 * rate / 2)
            env = condition_raw(da, low_hz=params["low_hz"], high_hz=high, notch_hz=params["notch_hz"], envelope=params["envelope"], window_s=params["window_s"], cutoff_hz=params["cutoff_hz"], rate_hz=RATE_HZ)
        log = list(env.attrs["log"])
        values = np.maximum(env.transpose("time", "channel").values, 0.0)  # the anti-aliasing filter rings slightly below 0 next to bursts
        n = min(n_frames, values.shape[0])
        with _quiet():
            emg[:n, MUSCLES.index(muscle)] = np.nanmean(values[:n], axis=1)
    info = {"channels": {m: mapped[m] for m in MUSCLES if m in mapped}, "refused": refused, "clipped_samples": {k: v for k, v in clipped.items() if v}, "log": log}
    return emg, info


# -- the whole trial --------------------------------------------------------------------------------


def trial_joints(trial: LabTrial, *, mapping: Mapping | None = None, max_gap_s: float = MAX_GAP_S):
    """Joint centres at the markers' rate: ``(JointCentres, mapping used, markers, repeated labels)``.

    Steps 1 to 3 of the module's docstring: labels normalized, gaps filled up to ``max_gap_s``,
    the mapping chosen and applied.
    """
    markers, repeated = normalized_markers(trial)
    markers = {k: v for k, v in markers.items() if np.isfinite(v).any()}
    if not markers:
        raise InputError(trial.path, "no usable markers", field="POINT", expected="marker trajectories with samples", found="none (all gaps)")
    used_mapping, _ = choose_mapping(trial, markers, mapping)
    markers = fill_marker_gaps(markers, trial.marker_rate_hz, max_gap_s)
    n_samples = len(next(iter(markers.values())))
    return compute_joints(used_mapping, markers, trial.parameters, n_samples), used_mapping, markers, repeated


def world_joints(trial: LabTrial, *, mapping: Mapping | None = None, max_gap_s: float = MAX_GAP_S) -> tuple[np.ndarray, np.ndarray]:
    """``(times s, joints (frames, 25, 3) m)`` at the markers' rate in miakit's world frame: x to the
    subject's left, y up, z the way the subject faces (the axes of :func:`vertical_axis` and
    :func:`facing_direction`), NaN where a joint is unknown. What the synthetic muscle model reads
    (:func:`miakit.synth.motion.kinematics_from_points`)."""
    joints, used_mapping, markers, _ = trial_joints(trial, mapping=mapping, max_gap_s=max_gap_s)
    up = vertical_axis(joints.xyz, trial.path)
    forward = facing_direction(markers, used_mapping, joints.xyz, up, trial.path)
    world = np.stack([joints.xyz @ np.cross(up, forward), joints.xyz @ up, joints.xyz @ forward], axis=-1) / 1000.0
    return np.arange(len(world)) / trial.marker_rate_hz, world


def trial_segments(trial: LabTrial, *, views: list[tuple[str, float]], mapping: Mapping | None = None, side: str | None = None, exercise: str | None = None, max_gap_s: float = MAX_GAP_S, emg_params: dict) -> TrialResult:
    """One segment per view of ``trial`` (see the module's docstring)."""
    where = trial.path
    joints, used_mapping, markers, repeated = trial_joints(trial, mapping=mapping, max_gap_s=max_gap_s)
    joints_found = [j for j in BODY_25 if j in joints.used]
    n_samples = len(joints.xyz)
    times = grid_times(n_samples, trial.marker_rate_hz)
    if trial.analogs and trial.analog_rate_hz > 0:
        n_analog = len(next(iter(trial.analogs.values())))
        times = times[: len(grid_times(n_analog, trial.analog_rate_hz))]
    n = len(times)
    if n < 2:
        raise InputError(where, "too short", expected="at least two 10 Hz frames", found=f"{n_samples} marker frames")
    xyz = sample_at(joints.xyz, trial.marker_rate_hz, times)
    up = vertical_axis(joints.xyz, where)
    forward = facing_direction(markers, used_mapping, joints.xyz, up, where)
    emg, emg_info = emg_envelopes(trial, n, side=side, params=emg_params)
    present = np.array([m in emg_info["channels"] for m in MUSCLES])

    events = [(t, k, s, "file") for t, k, s in trial.events]
    if not events:
        events = [(t, k, s, "zeni") for t, k, s in zeni_events(joints.xyz, trial.marker_rate_hz, up=up, forward=forward)]
    duration = min((n_samples - 1) / trial.marker_rate_hz, times[-1] + 1 / RATE_HZ)  # the segment's span
    events = [e for e in events if 0 <= e[0] <= duration]

    height = trial.parameters.get("Height")
    projections, camera = project_views(xyz, up=up, forward=forward, views=views, subject_height_mm=height if height and height > 500 else None)
    stem = trial.path.stem
    subject = trial.subject or stem
    emg_ok = np.isfinite(emg[:, present]).all(axis=1)
    flags = ("clipped",) if emg_info["clipped_samples"] else ()
    segments: list[Segment] = []
    out_events: list[tuple[int, float, str, str, str]] = []
    for i, ((view, _yaw), kp) in enumerate(zip(views, projections)):
        score = np.isfinite(kp).all(axis=2)
        kp = np.where(score[..., None], kp, np.nan)
        valid = emg_ok & (score.sum(axis=1) >= MIN_KEYPOINTS)
        segments.append(
            Segment(
                id=f"{stem}-{view}", session=stem, subject=subject, exercise=exercise or stem, split="", source=SOURCE,
                emg=emg, keypoints=kp, keypoint_score=score.astype(np.float32), valid=valid,
                image_width=IMAGE_WIDTH, image_height=IMAGE_HEIGHT, flags=flags,
            )
        )  # fmt: skip
        out_events += [(i, t, k, s, o) for t, k, s, o in events]
    info = {
        "file": str(trial.path),
        "mapping": used_mapping.name,
        "marker_sets_declared": list(trial.marker_sets),
        "mapping_source": used_mapping.source,
        "mapping_sha256": used_mapping.sha256,
        "joints": {j: joints.used[j] for j in BODY_25 if j in joints.used},
        "joints_found": len(joints_found),
        "repeated_labels": repeated,
        "camera": camera,
        "events": "file" if trial.events else ("zeni" if events else "none"),
        **emg_info,
    }
    return TrialResult(segments=segments, events=out_events, views=views, present=present, info=info)


# -- many trials into one store ---------------------------------------------------------------------

EMG_DEFAULTS = {"low_hz": 20.0, "high_hz": 450.0, "notch_hz": None, "envelope": "rms", "window_s": 0.1, "cutoff_hz": 5.0}
"""Raw EMG conditioning, as for the UCI set and the mia pipeline (the high edge is held below 0.9 Nyquist)."""


def load_trials(
    paths: list[str | Path],
    read,
    *,
    pipeline: str,
    views: list[tuple[str, float]],
    mapping: Mapping | None = None,
    side: str | None = None,
    exercise: str | None = None,
    max_gap_s: float = MAX_GAP_S,
    emg_params: dict | None = None,
    show_progress: bool = False,
):
    """Read every file with ``read(path) -> LabTrial`` and build one contract-2 Dataset.

    A file that cannot be imported (no usable markers, an unknown marker set, no EMG channel that
    maps) is reported in ``report.skipped`` with one line and left out; the others are imported.
    Returns ``(dataset, report)``.
    """
    import hashlib

    from miakit.contracts.dataset import SCHEMA, validate_dataset
    from miakit.importers.common import ImportReport, assemble, nothing_imported, provenance
    from miakit.progress import track

    params = {**EMG_DEFAULTS, **(emg_params or {})}
    report = ImportReport(store="")
    segments: list[Segment] = []
    present: list[np.ndarray] = []
    views_of: list[tuple[str, float]] = []
    events: list[tuple[int, float, str, str, str]] = []
    trials: list[dict] = []
    digest = hashlib.sha256()
    log: list[str] = []
    envelopes = False
    seen: set[str] = set()
    last_error: InputError | None = None
    for path in track([Path(p) for p in paths], "lab trials", enabled=show_progress):
        try:
            trial = read(path)
            result = trial_segments(trial, views=views, mapping=mapping, side=side, exercise=exercise, max_gap_s=max_gap_s, emg_params=params)
        except InputError as exc:
            report.skipped.append((str(path), str(exc).removeprefix(f"{path}: ")))
            last_error = exc
            continue
        envelopes |= trial.emg_is_envelope
        for seg in result.segments:  # trials of one name in two folders: the folder tells them apart
            if seg.id in seen:
                seg.id = f"{path.parent.name}-{seg.id}"
            n = 2
            while seg.id in seen:
                seg.id, n = f"{seg.id.rsplit('~', 1)[0]}~{n}", n + 1
            seen.add(seg.id)
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
        offset = len(segments)
        segments += result.segments
        present += [result.present] * len(result.segments)
        views_of += result.views
        events += [(offset + i, t, k, s, o) for i, t, k, s, o in result.events]
        trials.append(result.info)
        log = result.info["log"] or log
        first = result.segments[0]
        report.rows.append({
            "file": path.name, "mapping": result.info["mapping"], "joints": result.info["joints_found"],
            "muscles": f"{int(result.present.sum())}/{len(MUSCLES)}", "views": len(result.segments),
            "frames": first.length, "valid": int(first.valid.sum()), "events": f"{sum(1 for e in result.events if e[0] == 0)} ({result.info['events']})",
        })  # fmt: skip
    if not segments:
        if len(paths) == 1 and last_error is not None:
            raise last_error
        raise nothing_imported(Path(paths[0]).parent, report)
    parameters = {
        **params, "views": [list(v) for v in views], "max_gap_s": max_gap_s, "side": side, "rate_hz": RATE_HZ,
        "mapping": None if mapping is None else {"source": mapping.source, "sha256": mapping.sha256},
        "min_keypoints": MIN_KEYPOINTS, "pan_window_s": PAN_WINDOW_S, "fill": FILL, "vertical_fov_deg": VERTICAL_FOV_DEG,
    }  # fmt: skip
    attrs = {
        "schema": SCHEMA,
        "rate_hz": RATE_HZ,
        "muscles": list(MUSCLES),
        "keypoint_layout": "BODY_25",
        "emg_units": "microvolts (envelopes as the files hold them, resampled)" if envelopes else EMG_UNITS,
        "modalities": ["emg", "pose"],
        "log": list(log),
        "provenance": {
            **provenance(pipeline=pipeline, parameters=parameters, inputs_sha256=digest.hexdigest(), inputs_hashed="file name and SHA-256 of the bytes of every imported file, in order"),
            "trials": trials,
        },
    }
    ds = assemble(segments, muscles=list(MUSCLES), attrs=attrs)
    ds["segment_view"] = (("segment",), np.array([v for v, _ in views_of], dtype=str))
    ds["segment_yaw_deg"] = (("segment",), np.array([y for _, y in views_of], dtype=np.float64))
    ds["muscle_present"] = (("segment", "muscle"), np.stack(present).astype(bool))
    if events:
        ds["event_segment"] = (("event",), np.array([e[0] for e in events], dtype=np.int64))
        ds["event_time"] = (("event",), np.array([e[1] for e in events], dtype=np.float64), {"units": "s"})
        ds["event_kind"] = (("event",), np.array([e[2] for e in events], dtype=str))
        ds["event_side"] = (("event",), np.array([e[3] for e in events], dtype=str))
        ds["event_origin"] = (("event",), np.array([e[4] for e in events], dtype=str))
    validate_dataset(ds, where=str(paths[0]))
    report.n_segments = len(segments)
    report.n_frames = int(sum(s.length for s in segments))
    report.n_valid = int(sum(int(s.valid.sum()) for s in segments))
    return ds, report
