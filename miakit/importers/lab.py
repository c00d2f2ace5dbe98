"""Lab trials (motion capture with EMG) to contract-2 segments: the part the C3D and OpenSim importers share.

A reader (:mod:`miakit.importers.c3d`, :mod:`miakit.importers.opensim`) fills a :class:`LabTrial`;
:func:`trial_segments` turns it into one :class:`~miakit.contracts.build.Segment` per virtual camera view:

1. **Labels** are read by anatomy (:mod:`miakit.importers.landmarks`: side + landmark + index, any
   convention); a label written twice keeps both copies (a model's joint centre stored under its
   marker's name is used as that joint); of labels that name one thing (``A:LASI`` beside ``LASI``)
   the one with more valid samples is kept and the other reported. Labels naming no landmark are
   reported (``labels_not_understood``), never fatal; a file whose markers give no joint at all is
   refused in one line listing them.
2. **Gaps**: samples that are NaN or exactly (0, 0, 0) are gaps; a marker's gaps up to
   :data:`RIGID_MAX_GAP_S` are filled from the other markers of its segment
   (:func:`fill_from_clusters`: a pelvis marker from the other pelvis markers), then interior gaps up
   to ``max_gap_s`` (default :data:`MAX_GAP_S`) by straight lines
   (:func:`miakit.stages.emg.fill_gaps`); an anatomical landmark is carried through longer gaps by
   three markers of its segment (a cluster, a wand) at its place among them where all are seen
   (:func:`miakit.importers.joint_centres.carry_rigidly`). ``max_gap_s`` 0 fills nothing.
3. **Joint centres** (:func:`trial_joints`) from whatever landmarks exist, best rule first, each with
   its formula, the labels used and an estimated error
   (:func:`miakit.importers.joint_centres.anatomy_joints`); a shipped marker-set mapping
   (:mod:`miakit.importers.markerset`) only where it resolves more joints, the user's
   (``--mapping``) where given.
4. **Virtual cameras** (:func:`project_views`): the vertical (:func:`find_vertical`) is the lab axis
   along which the upper body lies above the feet or hips (else the hips above the feet, the knees
   above the ankles, the head above the shoulders; else the file's ``POINT:Y_SCREEN``, its force
   plates, the floor the feet rest on); the subject's facing is
   the horizontal direction from the back of the pelvis to its front (else the trunk's or the head's,
   else from the hips' or
   shoulders' left-right axis), its angle smoothed over :data:`FACING_WINDOW_S` so that the cameras
   turn with a subject who turns (:func:`facing_path`); forward progression is removed by subtracting
   the pelvis' horizontal path smoothed over ``pan_window_s`` (:func:`smooth`: a camera that pans
   with the subject along a line or an arc, or a treadmill view, all alike);
   the person spans 1.1 times the joints' vertical extent (up to the head's joints, or where a set
   has no head markers, to their height estimated from the shoulders and hips:
   :data:`HEAD_ABOVE_SHOULDERS`); the camera looks horizontally from the middle of that span, at
   ``yaw`` degrees from the front (positive toward the subject's right: 90 is the right side), with
   a phone's vertical field of view (:data:`VERTICAL_FOV_DEG`) into a portrait 1080 x 1920 frame,
   from the distance at which that span and the reach to either side fit :data:`FILL` of the frame
   even at the nearest depth a point comes to. Points outside the frame are missing, as a camera would miss them.
   **Stretches** (:func:`body_stretches`): frames where the body is not seen, beyond
   :data:`MAX_BRIDGED_S`, are left out and each stretch is its own segments (``TRIAL-part1-front``).
5. **Frames** on the 10 Hz grid from the first marker frame, read by linear interpolation.
6. **EMG**: channels named by the user's map (``--channel EMG1=RightQuad``), else by
   :mod:`miakit.importers.emg_channels`. What each channel holds is told apart
   (:func:`emg_signal_kind`: raw, rectified or an envelope; ``--emg-kind`` says it for all), so
   nothing is rectified or smoothed twice: raw EMG (in microvolts) goes through
   :func:`miakit.stages.emg.condition_raw` (band-pass, rectify, RMS envelope, 10 Hz) on the same
   grid, rectified EMG through the envelope and the resampling only, envelopes the file already
   holds are only resampled; the resampling filter's slight ringing below 0 next to bursts is
   clipped at 0. Several channels of one muscle: the mean of
   their envelopes. Clipping: samples at the ADC's rail (where the file states it) or on a flat run
   at the channel's extreme (:data:`CLIP_RUN` samples) are counted, and the segment is flagged.
   Muscles without a channel stay NaN and ``muscle_present`` is false for them. A trial where no
   channel maps to one of the 8 muscles (none at all, force plates, ``EMG7`` unnamed) is imported as
   keypoints only, its valid frames judged on the keypoints, with ``info["emg_note"]`` saying why
   (:func:`no_emg_note`; printed as a note and kept in provenance); channels that name one of our
   muscles but not its side still stop the trial (``--side``).
7. **Gait events** from the file, else by Zeni et al. (2008) for level walking (:func:`zeni_events`),
   in seconds from the segment's start, repeated for each view's segment.
8. **What is written** (:func:`load_trials`): per segment ``segment_view`` and ``segment_yaw_deg``,
   ``muscle_present(segment, muscle)``, and the ``event_*`` table; ``keypoint_score`` 1 where a
   point is known and in the picture, else 0 with the point NaN; ``valid`` where every present
   muscle's envelope is finite and at least :data:`MIN_KEYPOINTS` points are in the picture;
   ``attrs["provenance"]["trials"]``: per file the mapping (``anatomy`` or a mapping's name, source,
   SHA-256), ``joint_rules`` (per joint: rule, formula, markers, error_mm, frames),
   ``joints_missing`` (why), ``labels_not_understood``, ``body`` (what of it the joints hold),
   ``vertical`` (up and how it was found), ``stretches_s`` and ``gaps_left_out_s``, the camera, the
   channels of each muscle, the refused channels, clipping.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from miakit.contracts.build import Event, Segment
from miakit.errors import InputError
from miakit.importers.markerset import (
    JointCentres,
    Mapping,
    compute_joints,
    missing_markers,
    normalize_label,
    resolvable,
    shipped_mappings,
)
from miakit.layout import BODY_25, IMAGE_HEIGHT, IMAGE_WIDTH, MUSCLES, RATE_HZ

MAX_GAP_S = 0.2
"""Marker gaps up to this long are filled by straight lines; longer ones stay missing."""
RIGID_MAX_GAP_S = 1.0
"""A marker's gap up to this long is filled from the other markers of its rigid cluster (a mapping's
``clusters``: pelvis, head, thorax, foot), before straight lines fill what is left."""
MIN_JOINTS = 4
"""A mapping must resolve at least this many BODY_25 joints from a file's markers."""
MIN_KEYPOINTS = 5
"""A frame is valid only with at least this many keypoints in the picture."""
PAN_WINDOW_S = 1.0
"""The panning camera follows the pelvis' path smoothed over this long (about one stride) by a
quadratic fit, so that it follows a straight walk, a treadmill (none) and a steady turn exactly."""
FACING_WINDOW_S = 1.0
"""The cameras turn with the subject's facing smoothed over this long (about one stride)."""
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
    analog_units: dict[str, str] = field(
        default_factory=dict
    )  # label -> the unit the file states ("V (assumed...)" where it did not)
    marker_units: str = "mm"  # the length unit the file states (its markers are in mm here)
    emg_is_envelope: bool = False  # the reader knows the file holds envelopes (else each channel is told apart)
    emg_scale_to_uv: float = 1e6  # analogs times this are microvolts
    parameters: dict[str, float] = field(default_factory=dict)  # subject parameters (mm)
    events: list[tuple[float, str, str]] = field(default_factory=list)  # (s from the first marker frame, kind, side)
    events_clock: str = ""  # how the file's event times counted (C3D: see miakit.importers.c3d.EVENT_CLOCKS)
    subject: str = ""
    marker_sets: tuple[str, ...] = ()  # what the file says its marker sets are
    emg_note: str = ""  # why the reader found no EMG (a .trc without its .sto), for the no-EMG note
    notes: list[str] = field(default_factory=list)  # what the reader found odd but not wrong (EMG amplitudes)
    axes: dict[str, str] = field(default_factory=dict)  # the file's axis parameters (C3D POINT:X_SCREEN, Y_SCREEN)
    plate_corners: list[np.ndarray] = field(default_factory=list)  # force plates' corners, each (4, 3) mm


@dataclass
class TrialResult:
    segments: list[Segment]  # one per view, each with its view, yaw and the muscles present
    events: list[Event]  # Event.segment: the segment's index in this trial
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
            raise InputError(
                "--views", "unknown view", expected=f"{', '.join(VIEWS)} or yaw angles in degrees", found=item
            ) from None
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
    da = xr.DataArray(
        np.stack([markers[n] for n in names], axis=1), dims=("time", "marker", "xyz"), attrs={"rate_hz": rate_hz}
    )
    filled = fill_gaps(da, max_gap_s=max_gap_s).values
    return {n: filled[:, i] for i, n in enumerate(names)}


def fill_from_clusters(
    markers: dict[str, np.ndarray], clusters, rate_hz: float, max_gap_s: float = None
) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Gaps of a marker (up to ``max_gap_s``, default :data:`RIGID_MAX_GAP_S`) filled from the other
    markers of its rigid cluster: in each frame of the gap, the marker where it was (in the last
    frame before the gap and the first after it, blended linearly over the gap) moved as the
    cluster's markers seen in both frames moved (three or more: the best rigid motion, Kabsch; two:
    the turn that carries one's direction to the other's, about their midpoint). Returns the markers
    and the samples filled per marker."""
    max_gap_s = RIGID_MAX_GAP_S if max_gap_s is None else max_gap_s
    out = dict(markers)
    counts: dict[str, int] = {}
    limit = int(round(max_gap_s * rate_hz))
    for cluster in clusters:
        names = [n for n in cluster if n in markers]
        if len(names) < 3:
            continue
        seen = {n: np.isfinite(markers[n]).all(axis=1) for n in names}
        for m in names:
            edges = np.flatnonzero(np.diff(np.r_[0, (~seen[m]).astype(int), 0]))
            filled = out[m].copy()
            for a, b in zip(edges[::2], edges[1::2]):
                if b - a > limit:
                    continue
                refs = [r for r in (a - 1, b) if 0 <= r < len(filled) and seen[m][r]]
                for t in range(a, b):
                    estimates, weights = [], []
                    for r in refs:
                        donors = [d for d in names if d != m and seen[d][r] and seen[d][t]]
                        moved = _rigid_move(
                            np.array([markers[d][r] for d in donors]),
                            np.array([markers[d][t] for d in donors]),
                            markers[m][r],
                        )
                        if moved is not None:
                            estimates.append(moved)
                            weights.append(1.0 - abs(t - r) / (b - a + 1))  # linear over the gap
                    if estimates:
                        filled[t] = np.average(estimates, axis=0, weights=weights)
                        counts[m] = counts.get(m, 0) + 1
            out[m] = filled
    return out, counts


def _rigid_move(before: np.ndarray, after: np.ndarray, point: np.ndarray) -> np.ndarray | None:
    """``point`` carried by the motion that takes the donor points ``before`` to ``after`` (k, 3)."""
    if len(before) >= 3:
        cb, ca = before.mean(axis=0), after.mean(axis=0)
        u, sv, vt = np.linalg.svd((before - cb).T @ (after - ca))
        if sv[1] < 1e-6 * max(sv[0], 1e-12):  # collinear donors: no rotation about their line
            before, after = before[:2], after[:2]
        else:
            d = np.sign(np.linalg.det(vt.T @ u.T))
            rot = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
            return ca + rot @ (point - cb)
    if len(before) == 2:
        p, q = before[1] - before[0], after[1] - after[0]
        p, q = p / np.linalg.norm(p), q / np.linalg.norm(q)
        axis, c = np.cross(p, q), float(p @ q)
        s = np.linalg.norm(axis)
        k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
        rot = np.eye(3) + k + k @ k * ((1 - c) / s**2) if s > 1e-12 else np.eye(3)
        return after.mean(axis=0) + rot @ (point - before.mean(axis=0))
    return None


def choose_mapping(
    trial: LabTrial, markers: dict[str, np.ndarray], mapping: Mapping | None
) -> tuple[Mapping, dict[str, np.ndarray], dict[str, str]]:
    """The user's mapping, else the shipped one that fits the markers best; an unknown set is an error.

    Best: the most BODY_25 joints resolved, then the most of the file's markers used, then the fewest
    aliases standing in, then a mapping that extends none. Returns the mapping, the markers as it
    names them (:meth:`Mapping.relabel`) and the aliases that stood in."""
    candidates = [mapping] if mapping is not None else shipped_mappings()
    scored = []
    for i, m in enumerate(candidates):
        named, used = m.relabel(markers)
        wanted = m.markers()
        covered = sum(1 for k in named if k in wanted)
        scored.append(((-len(resolvable(m, named)), -covered, len(used), m.extends is not None, i), m, named, used))
    scored.sort(key=lambda t: t[0])
    key, best, named, used = scored[0]
    if -key[0] < MIN_JOINTS:
        tried = ", ".join(f"{m.name} ({-k[0]} joints)" for k, m, _, _ in scored)
        need = ", ".join(missing_markers(best, named)) or "-"
        sample = ", ".join(sorted(markers)[:8]) or "none"
        raise InputError(
            trial.path,
            "unknown marker set",
            field="POINT labels",
            expected=f"markers that a mapping turns into >= {MIN_JOINTS} BODY_25 joints "
            f"(tried {tried}; the closest, {best.name}, lacks {need}); pass "
            "--mapping FILE (a YAML like miakit/importers/markersets/*.yaml)",
            found=f"{len(markers)} markers ({sample}...)",
        )
    return best, named, used


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


_KNEES = ("RKnee", "LKnee")
_ANKLES = ("RAnkle", "LAnkle", "RHeel", "LHeel")
_HEAD_JOINTS = ("Nose", "REye", "LEye", "REar", "LEar")
_ARM_JOINTS = ("RShoulder", "LShoulder", "RElbow", "LElbow")
VERTICAL_PAIRS = (
    ("upper body above the feet", _UPPER, _FEET),
    ("upper body above the hips", _UPPER, _HIPS),
    ("hips above the feet", _HIPS, _FEET),
    ("knees above the ankles", _KNEES, _ANKLES),
    ("head above the shoulders and elbows", _HEAD_JOINTS, _ARM_JOINTS),
)
"""Joints that lie above others in any posture a trial shows, in the order :func:`find_vertical`
tries them (a handstand is not a trial)."""
MIN_VERTICAL_SHARE = 0.6
"""The axis found must hold at least this share of the upper-lower distance (else the body is
lying, or the joints say nothing about the vertical)."""


def vertical_axis(xyz: np.ndarray, where, trial: LabTrial | None = None) -> np.ndarray:
    """The lab axis (a signed unit vector) pointing up: :func:`find_vertical`."""
    return find_vertical(xyz, where, trial)[0]


def find_vertical(xyz: np.ndarray, where, trial: LabTrial | None = None) -> tuple[np.ndarray, str]:
    """The lab axis pointing up (a signed unit vector) and how it was found, from what is there:

    1. joints that lie above others (:data:`VERTICAL_PAIRS`: the upper body above the feet or the
       hips, the hips above the feet, the knees above the ankles, the head above the shoulders),
       the median over the frames where both are seen;
    2. the file's own axes (C3D ``POINT:Y_SCREEN``, the axis a viewer shows upward);
    3. the force plates' plane (``FORCE_PLATFORM:CORNERS``), its normal toward the body;
    4. the floor: the plane the feet rest on while still, its normal toward the body.
    """
    for how, upper, lower in VERTICAL_PAIRS:
        with _quiet():
            d = np.nanmedian(_joint_mean(xyz, upper) - _joint_mean(xyz, lower), axis=0)
        if np.isfinite(d).all() and np.max(np.abs(d)) >= MIN_VERTICAL_SHARE * np.linalg.norm(d) > 0:
            return _signed_axis(d), how
    body = np.nanmedian(xyz.reshape(-1, 3), axis=0) if np.isfinite(xyz).any() else None
    if trial is not None:
        screen = str(trial.axes.get("Y_SCREEN", "")).strip().upper()
        if len(screen) == 2 and screen[0] in "+-" and screen[1] in "XYZ":
            up = np.zeros(3)
            up["XYZ".index(screen[1])] = 1.0 if screen[0] == "+" else -1.0
            return up, f"the file's POINT:Y_SCREEN ({screen})"
        for corners in trial.plate_corners:
            normal = np.cross(corners[1] - corners[0], corners[2] - corners[0])
            if body is not None and np.linalg.norm(normal) > 0:
                normal = normal * np.sign((body - corners.mean(axis=0)) @ normal)
                return _signed_axis(normal), "the force plates' plane"
    floor = _floor_normal(xyz)
    if floor is not None:
        return floor, "the plane the feet rest on"
    raise InputError(
        where,
        "cannot find the vertical",
        expected="joints of the upper body and of the feet or hips, the hips and the feet, the knees and "
        "ankles, or the head and the shoulders, in the same frames (or POINT:Y_SCREEN, or force plates)",
        found="none",
    )


def _signed_axis(d: np.ndarray) -> np.ndarray:
    axis = int(np.argmax(np.abs(d)))
    up = np.zeros(3)
    up[axis] = np.sign(d[axis])
    return up


FLOOR_STILL_FRACTION = 0.2
"""A foot rests where it moves at less than this fraction of its top speed."""


def _floor_normal(xyz: np.ndarray) -> np.ndarray | None:
    """The lab axis nearest the normal of the plane the feet rest on (their still frames span it),
    pointing toward the rest of the body; None where the feet do not span a plane."""
    idx = [BODY_25.index(j) for j in _FEET]
    still = []
    for i in idx:
        p = xyz[:, i]
        v = np.linalg.norm(np.diff(p, axis=0), axis=1)
        if np.isfinite(v).sum() < 10:
            continue
        top = np.nanpercentile(v, 95)
        still.append(p[1:][v < FLOOR_STILL_FRACTION * top])
    if not still:
        return None
    pts = np.concatenate(still)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts) < 10:
        return None
    centred = pts - pts.mean(axis=0)
    _, sv, vt = np.linalg.svd(centred, full_matrices=False)
    if sv[1] < 3 * sv[2]:  # the still feet do not lie on a plane (they span a line, or a volume)
        return None
    normal = vt[2]
    with _quiet():
        body = np.nanmean(xyz.reshape(-1, 3), axis=0)
    if not np.isfinite(body).all():
        return None
    return _signed_axis(normal * np.sign((body - pts.mean(axis=0)) @ normal))


def _facing_frames(
    markers: dict[str, np.ndarray], mapping: Mapping, xyz: np.ndarray, up: np.ndarray, where
) -> np.ndarray:
    """The subject's horizontal facing per frame (unit vectors, NaN where unknown): from the back of
    the pelvis to its front, else (in those frames) square to the hips' or shoulders' left-right axis."""

    def mean_of(spec):
        options = spec if spec and isinstance(spec[0], list) else [spec]
        for names in options:
            keys = [normalize_label(n) for n in names or []]
            if keys and all(k in markers for k in keys):
                return np.mean([markers[k] for k in keys], axis=0)
        return None

    d = np.full((len(xyz), 3), np.nan)
    front, back = mean_of(mapping.facing.get("front")), mean_of(mapping.facing.get("back"))
    if front is not None and back is not None:
        d = front - back
    for front_names, back_names in mapping.facing.get("pairs", []):  # the anatomy's: pelvis, trunk, head
        front, back = mean_of(front_names), mean_of(back_names)
        if front is not None and back is not None:
            missing = ~np.isfinite(d).all(axis=1)
            d[missing] = (front - back)[missing]
    for right, left in (("RHip", "LHip"), ("RShoulder", "LShoulder")):
        missing = ~np.isfinite(d).all(axis=1)
        d[missing] = np.cross(up, xyz[missing, BODY_25.index(right)] - xyz[missing, BODY_25.index(left)])
    d = d - (d @ up)[:, None] * up
    with np.errstate(invalid="ignore", divide="ignore"):
        d = d / np.linalg.norm(d, axis=1, keepdims=True)
    if not np.isfinite(d).all(axis=1).any():
        raise InputError(
            where,
            "cannot find which way the subject faces",
            expected="pelvis markers, or both hips or both shoulders",
            found="none",
        )
    return d


def facing_direction(
    markers: dict[str, np.ndarray], mapping: Mapping, xyz: np.ndarray, up: np.ndarray, where
) -> np.ndarray:
    """The subject's median horizontal facing (unit vector), from the pelvis markers, else the hips or shoulders."""
    with _quiet():
        f = np.nanmedian(_facing_frames(markers, mapping, xyz, up, where), axis=0)
    f = f - (f @ up) * up
    return f / np.linalg.norm(f)


def facing_path(
    markers: dict[str, np.ndarray],
    mapping: Mapping,
    xyz: np.ndarray,
    up: np.ndarray,
    rate_hz: float,
    where,
    *,
    window_s: float = FACING_WINDOW_S,
) -> np.ndarray:
    """The subject's horizontal facing per frame (frames, 3), its angle smoothed over ``window_s``:
    a turn is followed, the pelvis' own swing within a stride is averaged out."""
    d = _facing_frames(markers, mapping, xyz, up, where)
    e1 = facing_direction(markers, mapping, xyz, up, where)
    e2 = np.cross(up, e1)
    angle = np.arctan2(d @ e2, d @ e1)
    ok = np.isfinite(angle)
    angle[ok] = np.unwrap(angle[ok])
    angle = smooth(angle[:, None], int(round(window_s * rate_hz)))[:, 0]
    return np.cos(angle)[:, None] * e1 + np.sin(angle)[:, None] * e2


def smooth(x: np.ndarray, window: int, order: int = 1) -> np.ndarray:
    """A (frames, k) series with NaN frames bridged by straight lines, then smoothed by a centred
    polynomial fit of ``order`` over ``window`` frames (Savitzky-Golay; order 1 is a moving average
    inside and a fitted line at the ends), so that steady motion passes unchanged: a constant rate
    with order 1 (a steady turn's angle), a steady walk along a straight line or an arc with order 2."""
    from scipy.signal import savgol_filter

    out = np.array(x, dtype=np.float64)
    t = np.arange(len(out))
    for k in range(out.shape[1]):
        ok = np.isfinite(out[:, k])
        out[:, k] = np.interp(t, t[ok], out[ok, k]) if ok.any() else 0.0
    window = window | 1  # odd
    if window < 3 or len(out) < 2:
        return out
    if len(out) < window:  # shorter than the window: one fit
        return np.stack(
            [np.polyval(np.polyfit(t, out[:, k], min(order, len(out) - 1)), t) for k in range(out.shape[1])], axis=1
        )
    return savgol_filter(out, window, order, axis=0, mode="interp")


HEAD_ABOVE_SHOULDERS = 0.55
"""Where a marker set has no head markers, the head's joints lie above the shoulders by this
fraction of the shoulders' height above the hips (anthropometric proportions of the body's height
H after Drillis and Contini, as Winter tables them: shoulder joint about 0.79 H, hip joint 0.50 H,
eyes and forehead about 0.95 H)."""
_HEAD = ("Nose", "REye", "LEye", "REar", "LEar")
_SHOULDERS = ("Neck", "RShoulder", "LShoulder")


def _head_height(height: np.ndarray) -> float:
    """The head's height (frames, 25 joints): its highest joint, else estimated from the shoulders
    and hips; -inf where neither is there."""
    head = height[:, [BODY_25.index(j) for j in _HEAD]]
    if np.isfinite(head).any():
        return float(np.nanmax(head))
    with _quiet():
        shoulders = np.nanmedian(height[:, [BODY_25.index(j) for j in _SHOULDERS]])
        hips = np.nanmedian(height[:, [BODY_25.index(j) for j in _HIPS]])
    if not (np.isfinite(shoulders) and np.isfinite(hips)):
        return -np.inf
    return float(shoulders + HEAD_ABOVE_SHOULDERS * (shoulders - hips))


def project_views(
    xyz: np.ndarray,
    *,
    up: np.ndarray,
    forward: np.ndarray,
    views: list[tuple[str, float]],
    pan_window_s: float = PAN_WINDOW_S,
) -> tuple[list[np.ndarray], dict]:
    """Project 10 Hz joint centres (frames, 25, 3) mm into a portrait frame per view: (frames, 25, 2)
    px, NaN out of frame.

    ``forward``: the subject's facing, one unit vector or one per frame (:func:`facing_path`)."""
    forward = np.broadcast_to(np.asarray(forward, dtype=np.float64), (len(xyz), 3))
    right = np.cross(forward, up)
    centre = _joint_mean(xyz, _HIPS)
    if not np.isfinite(centre).any():
        with _quiet():
            centre = np.nanmean(xyz, axis=1)
    path = smooth(centre, int(round(pan_window_s * RATE_HZ)), order=2)
    rel = xyz - path[:, None, :]
    height = rel @ up  # the vertical coordinate of every point, relative to the pelvis' path
    rel = rel - height[..., None] * up  # horizontal part
    with _quiet():
        low, high = float(np.nanmin(height)), float(np.nanmax(height))
        reach = float(np.nanpercentile(np.linalg.norm(rel, axis=-1), 99))  # how far points stray from the pelvis' path
    # The person spans from the lowest joint to the head (the highest head joint; a set without
    # head markers: the shoulders' height plus HEAD_ABOVE_SHOULDERS of the trunk), or any joint
    # above; 10 % more (head top and soles lie beyond the joints), framed about its middle.
    high = max(high, _head_height(height))
    span, mid = 1.1 * (high - low), (low + high) / 2
    focal = (IMAGE_HEIGHT / 2) / np.tan(np.radians(VERTICAL_FOV_DEG / 2))
    # Far enough that the whole height, and the whole reach to either side, fit FILL of the frame
    # even at the nearest depth a point comes to (reach in front of the subject's plane).
    distance = max(focal * span / (FILL * IMAGE_HEIGHT), focal * 2 * reach / (FILL * IMAGE_WIDTH)) + reach
    out = []
    for _, yaw in views:
        a = np.radians(yaw)
        towards_camera = np.cos(a) * forward + np.sin(a) * right  # (frames, 3)
        image_right = np.cross(-towards_camera, up)
        x_cam = np.einsum("fjk,fk->fj", rel, image_right)
        z_cam = distance - np.einsum("fjk,fk->fj", rel, towards_camera)
        y_cam = height - mid
        with np.errstate(invalid="ignore", divide="ignore"):
            px = IMAGE_WIDTH / 2 + focal * x_cam / z_cam
            py = IMAGE_HEIGHT / 2 - focal * y_cam / z_cam
        kp = np.stack([px, py], axis=-1)
        inside = (z_cam > 0) & (px >= 0) & (px < IMAGE_WIDTH) & (py >= 0) & (py < IMAGE_HEIGHT)
        kp[~inside] = np.nan
        out.append(kp)
    with _quiet():
        median = np.nanmedian(forward, axis=0)
    turn = np.degrees(np.unwrap(np.arctan2(forward @ np.cross(up, median), forward @ median)))
    return out, {
        "up": up.tolist(),
        "forward": [round(float(v), 4) for v in median / np.linalg.norm(median)],
        "turn_deg": round(float(np.ptp(turn)), 1),
        "camera_distance_mm": round(float(distance), 1),
        "focal_px": round(float(focal), 1),
        "subject_span_mm": round(span, 1),
    }


# -- gait events ----------------------------------------------------------------------------------


def zeni_events(
    joints: np.ndarray, rate_hz: float, *, up: np.ndarray, forward: np.ndarray
) -> list[tuple[float, str, str]]:
    """Zeni et al. (2008): heel strike where the heel is furthest ahead of the pelvis (the hips'
    centre stands in for the sacrum), toe off where the toe is furthest behind it, along the
    direction of progression. Only for walking: [] unless both heels swing at least
    :data:`ZENI_MIN_RANGE_MM` fore and aft of the pelvis and in antiphase (correlation below
    :data:`ZENI_MAX_HEEL_CORRELATION`; in a squat or a lift they move together), or where the
    markers are not there. ``forward``: one unit vector or one per frame (a turning walk).
    Times in s from the first frame."""
    from scipy.signal import find_peaks

    pelvis = _joint_mean(joints, _HIPS)
    t = np.arange(len(joints))
    signals: dict[str, np.ndarray] = {}
    for name in ("RHeel", "LHeel", "RBigToe", "LBigToe"):
        s = np.einsum("fk,fk->f", joints[:, BODY_25.index(name)] - pelvis, np.broadcast_to(forward, pelvis.shape))
        ok = np.isfinite(s)
        if ok.sum() < rate_hz or np.ptp(s[ok]) < ZENI_MIN_RANGE_MM:
            return []
        signals[name] = np.interp(t, t[ok], s[ok])
    if np.corrcoef(signals["RHeel"], signals["LHeel"])[0, 1] > ZENI_MAX_HEEL_CORRELATION:
        return []  # the feet do not alternate: not walking
    events: list[tuple[float, str, str]] = []
    for side, heel, toe in (("right", "RHeel", "RBigToe"), ("left", "LHeel", "LBigToe")):
        for name, kind, sign in ((heel, "foot_strike", 1.0), (toe, "foot_off", -1.0)):
            peaks, _ = find_peaks(
                sign * signals[name],
                distance=max(1, int(ZENI_MIN_STEP_S * 2 * rate_hz)),
                prominence=ZENI_MIN_RANGE_MM / 2,
            )
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


EMG_KINDS = ("raw", "rectified", "envelope")
"""What an EMG channel may hold (``--emg-kind``; default: told apart per channel by :func:`emg_signal_kind`)."""
ENVELOPE_HF_FRACTION = 0.1
"""An envelope holds less than this fraction of its power (about its mean) above 20 Hz; raw and
rectified EMG hold most of it there."""
RECTIFIED_ASYMMETRY = 1.6
"""Rectified EMG piles up near its floor: (p99 - median) / (median - p1) above this; raw EMG on an
offset is symmetric about its median (about 1)."""


def emg_signal_kind(x: np.ndarray, rate_hz: float) -> str:
    """``raw`` (signed, broadband), ``rectified`` (non-negative, broadband) or ``envelope``
    (non-negative and smooth) for one channel, so that nothing is rectified or smoothed twice.

    Non-negative: at most 1 % of the samples below zero by more than 5 % of the channel's 1-99 %
    range (zero-phase filters ring slightly below 0). Smooth: less than :data:`ENVELOPE_HF_FRACTION`
    of the power above 20 Hz
    (a channel sampled below 100 Hz cannot hold raw EMG: an envelope). A non-negative broadband
    channel is rectified where it piles up near its floor (:data:`RECTIFIED_ASYMMETRY`), else it is
    raw EMG on an offset."""
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size < 8:
        return "raw"
    p1, p50, p99 = np.percentile(x, [1, 50, 99])
    span = max(p99 - p1, 1e-30)
    if np.mean(x < -0.05 * span) > 0.01:
        return "raw"
    if rate_hz < 100:
        return "envelope"
    power = np.abs(np.fft.rfft(x - x.mean())) ** 2
    freq = np.fft.rfftfreq(x.size, 1.0 / rate_hz)
    if power[freq > 20.0].sum() < ENVELOPE_HF_FRACTION * max(power.sum(), 1e-300):
        return "envelope"
    return "rectified" if (p99 - p50) > RECTIFIED_ASYMMETRY * max(p50 - p1, 1e-30) else "raw"


def emg_envelopes(
    trial: LabTrial,
    n_frames: int,
    *,
    side: str | None,
    params: dict,
    channels: dict[str, str | None] | None = None,
    kind: str | None = None,
) -> tuple[np.ndarray, dict]:
    """(n_frames, 8) envelopes in MUSCLES order, NaN for muscles without a channel; and what was done.

    ``channels``: the user's map (label -> muscle, or None to leave a channel out;
    :func:`miakit.importers.emg_channels.parse_channel_map`), before the channel table. ``kind``:
    what every channel holds (:data:`EMG_KINDS`), else told apart per channel."""
    import xarray as xr

    from miakit.importers.emg_channels import match_channel, resolve_channel_map
    from miakit.stages.emg import condition_raw, envelope, resample

    user = resolve_channel_map(channels, list(trial.analogs), trial.path) if channels else {}
    mapped: dict[str, list[str]] = {}
    refused: dict[str, str] = {}
    for label in trial.analogs:
        if label in user:
            if user[label] is not None:
                mapped.setdefault(user[label], []).append(label)
            continue
        m = match_channel(label, side=side)
        if m.muscle:
            mapped.setdefault(m.muscle, []).append(label)
        elif m.group:  # a muscle of ours without a side: say so
            refused[label] = m.reason
    if not mapped:  # motion capture without EMG of our muscles: keypoints only, with a note that
        # says what would name them (--channel, or --side where the labels name a muscle but no side)
        return np.full((n_frames, len(MUSCLES)), np.nan), {
            "channels": {},
            "emg_kind": {},
            "refused": refused,
            "channel_map": dict(user),
            "units": {},
            "clipped_samples": {},
            "log": [],
            "emg_note": no_emg_note(trial, user, refused),
        }
    rate = trial.analog_rate_hz
    emg = np.full((n_frames, len(MUSCLES)), np.nan)
    clipped: dict[str, int] = {}
    kinds: dict[str, str] = {}
    log: list[str] = []
    high = min(params["high_hz"], 0.9 * rate / 2)
    for muscle, labels in mapped.items():
        columns = []
        for lab in labels:
            x = np.asarray(trial.analogs[lab], dtype=np.float64)
            clipped[lab] = count_clipped(x, trial.analog_rails.get(lab))
            kinds[lab] = kind or ("envelope" if trial.emg_is_envelope else emg_signal_kind(x, rate))
            da = xr.DataArray(
                x[:, None] * trial.emg_scale_to_uv,
                dims=("time", "channel"),
                coords={"channel": [lab]},
                attrs={"rate_hz": rate},
            )
            if kinds[lab] == "raw":
                env = condition_raw(
                    da,
                    low_hz=params["low_hz"],
                    high_hz=high,
                    notch_hz=params["notch_hz"],
                    envelope=params["envelope"],
                    window_s=params["window_s"],
                    cutoff_hz=params["cutoff_hz"],
                    rate_hz=RATE_HZ,
                )
            elif kinds[lab] == "rectified":  # band-passed and rectified already: only the envelope
                env = resample(
                    envelope(
                        np.abs(da),
                        method=params["envelope"],
                        window_s=params["window_s"],
                        cutoff_hz=params["cutoff_hz"],
                    ),
                    rate_hz=RATE_HZ,
                )
            else:  # an envelope already: only put on the grid
                env = resample(da, rate_hz=RATE_HZ)
            log = list(env.attrs["log"]) if kinds[lab] == "raw" or not log else log
            columns.append(
                np.maximum(env.values[:, 0], 0.0)
            )  # the anti-aliasing filter rings slightly below 0 next to bursts
        n = min(n_frames, min(len(c) for c in columns))
        with _quiet():
            emg[:n, MUSCLES.index(muscle)] = np.nanmean(np.stack([c[:n] for c in columns], axis=1), axis=1)
    info = {
        "channels": {m: mapped[m] for m in MUSCLES if m in mapped},
        "emg_kind": kinds,
        "refused": refused,
        "channel_map": {k: v for k, v in user.items()},
        "units": {lab: trial.analog_units.get(lab, "V") for m in mapped.values() for lab in m},
        "clipped_samples": {k: v for k, v in clipped.items() if v},
        "log": log,
        "emg_note": "",
    }
    return emg, info


def no_emg_note(
    trial: LabTrial, user: dict[str, str | None] | None = None, refused: dict[str, str] | None = None
) -> str:
    """Why a trial imports as keypoints only (no channel maps to one of the 8 muscles), and what names
    them; ``refused``: channels that name one of our muscles but that the table could not place
    (no side: ``--side`` maps them)."""
    from miakit.importers.emg_channels import match_channel

    user = user or {}
    if refused:
        shown = "; ".join(f"{k} {v}" for k, v in list(refused.items())[:3])
        more = f" and {len(refused) - 3} more" if len(refused) > 3 else ""
        why = f"its channels of our muscles could not be placed: {shown}{more}"
    elif trial.emg_note:
        why = trial.emg_note
    elif not trial.analogs:
        why = "the file has no analog channels"
    else:
        why = f"none of its {len(trial.analogs)} analog channels names a biceps, triceps, quadriceps or hamstring"
        left_out = [x for x in trial.analogs if x in user]
        unnamed = [x for x in trial.analogs if x not in user and "hardware" in match_channel(x).reason]
        if left_out:
            why += f" ({len(left_out)} left out by --channel)"
        if unnamed:
            shown = ", ".join(unnamed[:8]) + (f" and {len(unnamed) - 8} more" if len(unnamed) > 8 else "")
            why += f"; named only by the hardware: {shown} (--channel {unnamed[0]}=RightQuad names one)"
    return f"keypoints only, no EMG: {why}"


# -- the whole trial --------------------------------------------------------------------------------


def trial_joints(trial: LabTrial, *, mapping: Mapping | None = None, max_gap_s: float = MAX_GAP_S):
    """Joint centres at the markers' rate: ``(JointCentres, mapping used, markers, repeated labels)``.

    Steps 1 to 3 of the module's docstring. Without ``mapping``: the labels read by anatomy
    (:func:`anatomy_trial_joints`); a shipped mapping only where it resolves more joints. With it: the
    labels normalized, gaps filled up to ``max_gap_s``, the mapping applied.
    """
    if mapping is None:
        joints, anatomy, markers, repeated = anatomy_trial_joints(trial, max_gap_s=max_gap_s)
        try:
            mapped = _mapping_joints(trial, None, max_gap_s)
        except InputError:
            mapped = None
        if mapped is not None and len(mapped[0].used) > len(joints.used):
            mapped[0].unknown = joints.unknown
            return mapped
        if len(joints.used) < MIN_JOINTS and len(joints.used) == 0:
            _refuse_unknown(trial, joints)
        return joints, anatomy, markers, repeated
    return _mapping_joints(trial, mapping, max_gap_s)


def _refuse_unknown(trial: LabTrial, joints) -> None:
    unknown = joints.unknown
    shown = ", ".join(unknown[:12]) + (f" and {len(unknown) - 12} more" if len(unknown) > 12 else "")
    raise InputError(
        trial.path,
        "no joint centre from these markers: unknown marker set",
        field="POINT labels",
        expected="anatomical landmarks (pelvis, knee, ankle, foot, shoulder, elbow, wrist or head markers; "
        "miakit/importers/landmarks.yaml), or pass --mapping FILE (a YAML like miakit/importers/markersets/*.yaml)",
        found=f"labels not understood: {shown or 'none'}",
    )


def _clean(xyz) -> np.ndarray:
    xyz = np.array(xyz, dtype=np.float64)
    xyz[np.all(xyz == 0, axis=1)] = np.nan
    xyz[~np.isfinite(xyz).all(axis=1)] = np.nan
    return xyz


def anatomy_trial_joints(trial: LabTrial, *, max_gap_s: float = MAX_GAP_S, use_model: bool = True):
    """The anatomy path (:mod:`miakit.importers.joint_centres`): ``(JointCentres, the anatomy as a
    mapping (its facing markers), markers by normalized label, repeated labels)``."""
    import hashlib
    from importlib.resources import files

    from miakit.importers.joint_centres import anatomy_joints

    markers = {k: _clean(v) for k, v in trial.markers.items()}
    markers = {k: v for k, v in markers.items() if np.isfinite(v).any()}
    if not markers:
        raise InputError(
            trial.path,
            "no usable markers",
            field="POINT",
            expected="marker trajectories with samples",
            found="none (all gaps)",
        )
    filled: dict[str, int] = {}
    if max_gap_s > 0:  # short gaps from the marker's segment (even two others), as a mapping's clusters
        markers, filled = fill_from_clusters(markers, segment_clusters(markers), trial.marker_rate_hz)
    markers = fill_marker_gaps(markers, trial.marker_rate_hz, max_gap_s)
    result = anatomy_joints(markers, trial.parameters, use_model=use_model, carry=max_gap_s > 0)
    lm = result.landmarks
    named: dict[str, np.ndarray] = {}
    for items in lm.points.values():
        for label, xyz in items:
            named[normalize_label(label)] = xyz
    facing: dict[str, list] = {"front": [], "back": [], "pairs": []}

    def labels(side_names):
        out = [normalize_label(lm.label_of(s, n)) for s, n in side_names]
        return out if all(out) else None

    for front, back in (
        ([("R", "asis"), ("L", "asis")], [("", "sacrum")]),
        ([("R", "asis"), ("L", "asis")], [("R", "psis"), ("L", "psis")]),
        ([("R", "asis"), ("L", "asis")], [("R", "pelvis_cluster"), ("L", "pelvis_cluster")]),
        ([("", "sternum_top")], [("", "c7")]),
        ([("", "sternum_bottom")], [("", "t10")]),
        ([("R", "head_front"), ("L", "head_front")], [("R", "head_back"), ("L", "head_back")]),
        ([("", "forehead")], [("", "c7")]),
    ):
        f, b = labels(front), labels(back)
        if f and b:
            facing["pairs"].append([f, b])
    vocab = files("miakit.importers") / "landmarks.yaml"
    anatomy = Mapping(
        name="anatomy",
        description="landmarks read by anatomy (miakit/importers/landmarks.yaml)",
        parameters={},
        facing=facing,
        joints={},
        source="shipped:landmarks.yaml",
        sha256=hashlib.sha256(vocab.read_bytes()).hexdigest(),
    )
    joints = JointCentres(
        xyz=result.xyz,
        used={j: r.formula for j, r in result.rules.items()},
        filled={**filled, **{k: filled.get(k, 0) + v for k, v in result.carried.items()}},
        rules={
            j: {"rule": r.rule, "formula": r.formula, "markers": r.markers, "error_mm": r.error_mm, "frames": r.frames}
            for j, r in result.rules.items()
        },
        missing=result.missing,
        unknown=lm.unknown,
        source="anatomy",
    )
    repeated = _repeated_labels(trial.markers)
    if joints.used:
        check_body_size(joints.xyz, trial)
    return joints, anatomy, named, repeated


def segment_clusters(markers: dict[str, np.ndarray]) -> list[list[str]]:
    """The file's labels grouped by the rigid segment their landmark moves with (both sides and the
    midline together for the pelvis, thorax and head; :data:`miakit.importers.joint_centres.SEGMENTS`)."""
    from miakit.importers.joint_centres import SEGMENTS
    from miakit.importers.landmarks import parse_label

    groups: dict[tuple[str, str], list[str]] = {}
    for label in markers:
        lab = parse_label(label.split("#", 1)[0])
        segment = next((seg for seg, names in SEGMENTS.items() if lab.landmark in names), None)
        if segment is None:
            continue
        side = "" if segment in ("pelvis", "thorax", "head") else lab.side
        groups.setdefault((segment, side), []).append(label)
    return [g for g in groups.values() if len(g) >= 3]


def _repeated_labels(markers: dict[str, np.ndarray]) -> list[str]:
    """Labels that name what another does (``A:LASI`` beside ``LASI``, a label written twice) and hold
    fewer samples: left out (a repeat that holds a model's joint centre is used as that joint)."""
    groups: dict[str, list[str]] = {}
    for label in markers:
        groups.setdefault(normalize_label(label.split("#", 1)[0]), []).append(label)
    out = []
    for labels in groups.values():
        if len(labels) > 1:
            counts = [int(np.isfinite(_clean(markers[x])[:, 0]).sum()) for x in labels]
            keep = labels[int(np.argmax(counts))]
            out += [x for x in labels if x != keep]
    return out


def _mapping_joints(trial: LabTrial, mapping: Mapping | None, max_gap_s: float):
    """The mapping path: labels normalized, gaps filled, the mapping (the user's, else the shipped
    one that fits best) applied."""
    markers, repeated = normalized_markers(trial)
    markers = {k: v for k, v in markers.items() if np.isfinite(v).any()}
    if not markers:
        raise InputError(
            trial.path,
            "no usable markers",
            field="POINT",
            expected="marker trajectories with samples",
            found="none (all gaps)",
        )
    used_mapping, markers, aliases = choose_mapping(trial, markers, mapping)
    filled: dict[str, int] = {}
    if max_gap_s > 0:
        markers, filled = fill_from_clusters(markers, used_mapping.clusters, trial.marker_rate_hz)
    markers = fill_marker_gaps(markers, trial.marker_rate_hz, max_gap_s)
    n_samples = len(next(iter(markers.values())))
    joints = compute_joints(used_mapping, markers, trial.parameters, n_samples)
    joints.aliases, joints.filled = aliases, filled
    check_body_size(joints.xyz, trial)
    return joints, used_mapping, markers, repeated


BODY_SPAN_MM = (250.0, 3000.0)
"""The joint centres of a person span this much (the largest extent along a lab axis, median over
frames): a leg, a trunk with an arm, up to a standing adult with the arms raised."""


def check_body_size(xyz: np.ndarray, trial: LabTrial) -> None:
    """Refuse a trial whose joints are not the size of a body: the file's length unit is wrong
    (metres written as mm, or mm as metres)."""
    with _quiet():
        extent = np.nanmedian(np.nanmax(xyz, axis=1) - np.nanmin(xyz, axis=1), axis=0)
    if not np.isfinite(extent).any():
        return
    span = float(np.nanmax(extent))
    lo, hi = BODY_SPAN_MM
    if not lo <= span <= hi:
        raise InputError(
            trial.path,
            "the joints are not the size of a body: the file's length unit is wrong",
            field="marker units",
            expected=f"joints spanning {lo / 1000:g}-{hi / 1000:g} m, read in the file's unit {trial.marker_units!r}",
            found=f"{span / 1000:.4g} m",
        )


def world_joints(
    trial: LabTrial, *, mapping: Mapping | None = None, max_gap_s: float = MAX_GAP_S
) -> tuple[np.ndarray, np.ndarray]:
    """``(times s, joints (frames, 25, 3) m)`` at the markers' rate in miakit's world frame: x to the
    subject's left, y up, z the way the subject faces (the axes of :func:`vertical_axis` and
    :func:`facing_direction`), NaN where a joint is unknown. What the synthetic muscle model reads
    (:func:`miakit.body.motion.kinematics_from_points`)."""
    joints, used_mapping, markers, _ = trial_joints(trial, mapping=mapping, max_gap_s=max_gap_s)
    up = vertical_axis(joints.xyz, trial.path, trial)
    forward = facing_direction(markers, used_mapping, joints.xyz, up, trial.path)
    world = np.stack([joints.xyz @ np.cross(up, forward), joints.xyz @ up, joints.xyz @ forward], axis=-1) / 1000.0
    return np.arange(len(world)) / trial.marker_rate_hz, world


def trial_segments(
    trial: LabTrial,
    *,
    views: list[tuple[str, float]],
    mapping: Mapping | None = None,
    side: str | None = None,
    exercise: str | None = None,
    max_gap_s: float = MAX_GAP_S,
    emg_params: dict,
    channels: dict[str, str | None] | None = None,
    emg_kind: str | None = None,
) -> TrialResult:
    """One segment per view of ``trial`` (see the module's docstring; ``channels`` and ``emg_kind``:
    :func:`emg_envelopes`)."""
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
    up, vertical_how = find_vertical(joints.xyz, where, trial)
    forward = facing_path(markers, used_mapping, joints.xyz, up, trial.marker_rate_hz, where)
    emg, emg_info = emg_envelopes(trial, n, side=side, params=emg_params, channels=channels, kind=emg_kind)
    present = np.array([m in emg_info["channels"] for m in MUSCLES])

    events = [(t, k, s, "file") for t, k, s in trial.events]
    if not events:
        events = [
            (t, k, s, "zeni") for t, k, s in zeni_events(joints.xyz, trial.marker_rate_hz, up=up, forward=forward)
        ]
    duration = min((n_samples - 1) / trial.marker_rate_hz, times[-1] + 1 / RATE_HZ)  # the segment's span
    events = [e for e in events if 0 <= e[0] <= duration]

    projections, camera = project_views(
        xyz, up=up, forward=sample_at(forward, trial.marker_rate_hz, times), views=views
    )
    stem = trial.path.stem
    subject = trial.subject or stem
    # a keypoints-only trial (no EMG channel maps, no muscle present): frames judged on the keypoints
    emg_ok = np.isfinite(emg[:, present]).all(axis=1)
    flags = ("clipped",) if emg_info["clipped_samples"] else ()
    stretches = body_stretches(xyz)
    if not stretches:
        raise InputError(
            where,
            "the body is never seen long enough",
            expected=f"at least {MIN_KEYPOINTS} joints in {MIN_STRETCH_S:g} s of frames",
            found=f"{int((np.isfinite(xyz).all(axis=2).sum(axis=1) >= MIN_KEYPOINTS).sum())} frames of {n}",
        )
    segments: list[Segment] = []
    out_events: list[Event] = []
    for k, (start, stop) in enumerate(stretches):
        part = "" if len(stretches) == 1 else f"-part{k + 1}"
        t0 = start / RATE_HZ
        for (view, yaw), kp in zip(views, projections):
            kp = kp[start:stop]
            score = np.isfinite(kp).all(axis=2)
            kp = np.where(score[..., None], kp, np.nan)
            valid = emg_ok[start:stop] & (score.sum(axis=1) >= MIN_KEYPOINTS)
            out_events += [
                Event(len(segments), t - t0, kind, s, o)
                for t, kind, s, o in events
                if t0 <= t <= t0 + (stop - start - 1) / RATE_HZ + 1 / RATE_HZ
            ]
            segments.append(
                Segment(
                    id=f"{stem}{part}-{view}",
                    session=stem,
                    subject=subject,
                    exercise=exercise or stem,
                    split="",
                    source=SOURCE,
                    emg=emg[start:stop],
                    keypoints=kp,
                    keypoint_score=score.astype(np.float32),
                    valid=valid,
                    image_width=IMAGE_WIDTH,
                    image_height=IMAGE_HEIGHT,
                    flags=flags,
                    view=view,
                    yaw_deg=yaw,
                    muscle_present=present,
                )
            )
    limbs = body_parts(joints.xyz)
    info = {
        "file": str(trial.path),
        "mapping": used_mapping.name,
        "marker_sets_declared": list(trial.marker_sets),
        "mapping_source": used_mapping.source,
        "mapping_sha256": used_mapping.sha256,
        "joints": {j: joints.used[j] for j in BODY_25 if j in joints.used},
        "joint_rules": {j: joints.rules[j] for j in BODY_25 if j in joints.rules},
        "joints_missing": {j: joints.missing.get(j, "") for j in BODY_25 if j not in joints.used},
        "labels_not_understood": list(joints.unknown),
        "body": limbs,
        "vertical": {"up": up.tolist(), "from": vertical_how},  # the lab axis found to point up, and how
        "stretches_s": [[round(a / RATE_HZ, 2), round((b - 1) / RATE_HZ, 2)] for a, b in stretches],
        "gaps_left_out_s": round((n - sum(b - a for a, b in stretches)) / RATE_HZ, 2),
        "marker_aliases": joints.aliases,
        "rigid_filled_samples": joints.filled,
        "joints_found": len(joints_found),
        "repeated_labels": repeated,
        "camera": camera,
        "facing": [round(float(v), 3) for v in _mean_direction(forward)],  # the subject's mean facing
        "events": "file" if trial.events else ("zeni" if events else "none"),
        "events_clock": trial.events_clock if trial.events else "",
        "events_outside": int(len(trial.events or []) - sum(1 for e in events if e[3] == "file")),
        **emg_info,
    }
    return TrialResult(segments=segments, events=out_events, views=views, present=present, info=info)


def _mean_direction(forward: np.ndarray) -> np.ndarray:
    """The mean of a facing path's unit vectors, unit length (0 where they cancel or none is known)."""
    with _quiet():
        mean = np.nanmean(np.asarray(forward, dtype=np.float64).reshape(-1, 3), axis=0)
    norm = float(np.linalg.norm(mean)) if np.isfinite(mean).all() else 0.0
    return mean / norm if norm > 1e-9 else np.zeros(3)


MIN_STRETCH_S = 1.0
"""A stretch of frames where the body is seen (at least :data:`MIN_KEYPOINTS` joints) shorter than
this is left out, as the gaps around it are."""
MAX_BRIDGED_S = 0.5
"""Frames without the body up to this long inside a stretch stay in it (as frames not valid); longer
ones split the trial into segments (``TRIAL-part1-front``, ``TRIAL-part2-front``)."""


def body_stretches(xyz: np.ndarray) -> list[tuple[int, int]]:
    """``[(start, stop)]`` frame ranges of the 10 Hz joints (frames, 25, 3) where the body is seen
    (at least :data:`MIN_KEYPOINTS` joints, or half the joints the trial has where that is fewer,
    and at least 3), gaps up to :data:`MAX_BRIDGED_S` bridged, stretches shorter than
    :data:`MIN_STRETCH_S` left out."""
    from miakit.arrays import true_runs

    known = np.isfinite(xyz).all(axis=2)
    need = min(MIN_KEYPOINTS, max(3, int(np.ceil(0.5 * known.any(axis=0).sum()))))
    seen = known.sum(axis=1) >= need
    runs = [(int(a), int(b)) for a, b in true_runs(seen)]
    merged: list[tuple[int, int]] = []
    for a, b in runs:
        if merged and a - merged[-1][1] <= int(round(MAX_BRIDGED_S * RATE_HZ)):
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return [(a, b) for a, b in merged if b - a >= max(2, int(round(MIN_STRETCH_S * RATE_HZ)))]


_LIMBS = {
    "legs": ("RHip", "LHip", "RKnee", "LKnee", "RAnkle", "LAnkle"),
    "arms": ("RShoulder", "LShoulder", "RElbow", "LElbow", "RWrist", "LWrist"),
    "head": ("Nose", "REye", "LEye", "REar", "LEar"),
}


def body_parts(xyz: np.ndarray) -> str:
    """What of the body the joints hold, in words: ``whole body``, ``legs only (no arms, no head)``,
    ``left arm, head`` ..."""
    have = {j for i, j in enumerate(BODY_25) if np.isfinite(xyz[:, i]).any()}
    parts = []
    for limb, names in _LIMBS.items():
        got = [n for n in names if n in have]
        if len(got) == len(names):
            parts.append(limb)
        elif limb == "legs" and got and set(got) <= {"RHip", "LHip"}:
            parts.append("hips")
        elif limb != "head" and got:
            sides = {n[0] for n in got}
            parts.append(
                ("right " if sides == {"R"} else "left " if sides == {"L"} else "part of the ")
                + limb[: -1 if len(sides) == 1 else None]
            )
        elif got:
            parts.append("part of the head")
    if parts == ["legs", "arms", "head"]:
        return "whole body"
    missing = [limb for limb in _LIMBS if not any(n in have for n in _LIMBS[limb])]
    return ", ".join(parts) + (" only (no " + ", no ".join(missing) + ")" if missing else "")


# -- many trials into one store ---------------------------------------------------------------------

EMG_DEFAULTS = {
    "low_hz": 20.0,
    "high_hz": 450.0,
    "notch_hz": None,
    "envelope": "rms",
    "window_s": 0.1,
    "cutoff_hz": 5.0,
}
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
    channels: dict[str, str | None] | None = None,
    emg_kind: str | None = None,
    show_progress: bool = False,
):
    """Read every file with ``read(path) -> LabTrial`` and build one contract-2 Dataset.

    A file that cannot be imported (no usable markers, an unknown marker set, no EMG channel that
    maps) is reported in ``report.skipped`` with one line and left out; the others are imported.
    Returns ``(dataset, report)``.
    """
    import hashlib

    from miakit.contracts.build import make_dataset
    from miakit.importers.common import ImportReport, nothing_imported, provenance
    from miakit.progress import track

    params = {**EMG_DEFAULTS, **(emg_params or {})}
    report = ImportReport(store="")
    segments: list[Segment] = []
    events: list[Event] = []
    trials: list[dict] = []
    digest = hashlib.sha256()
    log: list[str] = []
    envelopes = False
    seen: set[str] = set()
    last_error: InputError | None = None
    for path in track([Path(p) for p in paths], "lab trials", enabled=show_progress):
        try:
            trial = read(path)
            result = trial_segments(
                trial,
                views=views,
                mapping=mapping,
                side=side,
                exercise=exercise,
                max_gap_s=max_gap_s,
                emg_params=params,
                channels=channels,
                emg_kind=emg_kind,
            )
        except InputError as exc:
            report.skipped.append((str(path), str(exc).removeprefix(f"{path}: ")))
            last_error = exc
            continue
        envelopes |= "envelope" in result.info["emg_kind"].values()
        for seg in result.segments:  # trials of one name in two folders: the folder tells them apart
            if seg.id in seen:
                seg.id = f"{path.parent.name}-{seg.id}"
            n = 2
            while seg.id in seen:
                seg.id, n = f"{seg.id.rsplit('~', 1)[0]}~{n}", n + 1
            seen.add(seg.id)
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
        events += [e._replace(segment=len(segments) + e.segment) for e in result.events]
        segments += result.segments
        trials.append(result.info)
        if result.info["emg_note"]:
            report.notes.append(f"{path.name}: {result.info['emg_note']}")
        report.notes += [f"{path.name}: {note}" for note in trial.notes]
        log = result.info["log"] or log
        first = result.segments[0]
        report.rows.append(
            {
                "file": path.name,
                "mapping": result.info["mapping"],
                "joints": result.info["joints_found"],
                "muscles": f"{int(result.present.sum())}/{len(MUSCLES)}"
                + (" (no EMG)" if result.info["emg_note"] else ""),
                "views": len(result.segments),
                "frames": first.length,
                "valid": int(first.valid.sum()),
                "events": f"{sum(1 for e in result.events if e.segment == 0)} ({result.info['events']})",
            }
        )
    if not segments:
        if len(paths) == 1 and last_error is not None:
            raise last_error
        raise nothing_imported(Path(paths[0]).parent, report)
    parameters = {
        **params,
        "views": [list(v) for v in views],
        "max_gap_s": max_gap_s,
        "side": side,
        "rate_hz": RATE_HZ,
        "channels": channels,
        "emg_kind": emg_kind,
        "mapping": None if mapping is None else {"source": mapping.source, "sha256": mapping.sha256},
        "min_keypoints": MIN_KEYPOINTS,
        "pan_window_s": PAN_WINDOW_S,
        "fill": FILL,
        "vertical_fov_deg": VERTICAL_FOV_DEG,
    }
    ds = make_dataset(
        segments,
        muscles=MUSCLES,
        emg_units="microvolts (envelopes as the files hold them, resampled)" if envelopes else EMG_UNITS,
        modalities=["emg", "pose"],
        events=events,
        where=str(paths[0]),
        log=list(log),
        provenance=provenance(
            pipeline=pipeline,
            parameters=parameters,
            inputs_sha256=digest.hexdigest(),
            inputs_hashed="file name and SHA-256 of the bytes of every imported file, in order",
            trials=trials,
        ),
    )
    report.n_segments = len(segments)
    report.n_frames = int(sum(s.length for s in segments))
    report.n_valid = int(sum(int(s.valid.sum()) for s in segments))
    return ds, report
