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

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from miakit.contracts.build import Event, Segment, make_dataset
from miakit.errors import InputError
from miakit.importers.common import ImportReport, nothing_imported, provenance
from miakit.importers.lab.body_frame import _mean_direction, facing_direction, facing_path, find_vertical, vertical_axis
from miakit.importers.lab.cameras import FILL, PAN_WINDOW_S, VERTICAL_FOV_DEG, project_views
from miakit.importers.lab.emg import emg_envelopes
from miakit.importers.lab.gait import zeni_events
from miakit.importers.lab.joints import MIN_KEYPOINTS, MIN_STRETCH_S, body_parts, body_stretches, trial_joints
from miakit.importers.lab.lab_trial import LabTrial
from miakit.importers.lab.markers import MAX_GAP_S
from miakit.importers.markerset import Mapping
from miakit.layout import BODY_25, IMAGE_HEIGHT, IMAGE_WIDTH, MUSCLES, RATE_HZ
from miakit.progress import track
from miakit.stages.emg import RawEmgParams
from miakit.stages.grid import grid_times, sample_at

EMG_UNITS = "microvolts (RMS envelope)"
SOURCE = "mocap"


@dataclass
class TrialResult:
    segments: list[Segment]  # one per view, each with its view, yaw and the muscles present
    events: list[Event]  # Event.segment: the segment's index in this trial
    views: list[tuple[str, float]]
    present: np.ndarray  # (muscle,) bool
    info: dict  # what was used: mapping, joints, channels, gaps, clipping


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
    emg_params: RawEmgParams,
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


def load_trials(
    paths: Sequence[str | Path],
    read,
    *,
    pipeline: str,
    views: list[tuple[str, float]],
    mapping: Mapping | None = None,
    side: str | None = None,
    exercise: str | None = None,
    max_gap_s: float = MAX_GAP_S,
    emg_params: RawEmgParams | None = None,
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

    params = emg_params or RawEmgParams()
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
                "valid": first.n_valid,
                "events": f"{sum(1 for e in result.events if e.segment == 0)} ({result.info['events']})",
            }
        )
    if not segments:
        if len(paths) == 1 and last_error is not None:
            raise last_error
        raise nothing_imported(Path(paths[0]).parent, report)
    parameters = {
        **asdict(params),
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
    report.n_valid = sum(s.n_valid for s in segments)
    return ds, report
