"""Lab trials (motion capture with EMG) to contract-2 segments: the part the C3D and OpenSim importers share.

A reader (:mod:`miakit.importers.c3d`, :mod:`miakit.importers.opensim`) fills a :class:`LabTrial`;
:mod:`~miakit.importers.lab.trial` imports it, its docstring tells the steps. One craft per file:

==============  ===================================================================================
``lab_trial``   :class:`LabTrial`, what a reader hands over
``markers``     labels normalized, repeated labels, gaps filled (rigid clusters, straight lines)
``joints``      joint centres from the markers (anatomy or a mapping), body size, stretches, parts
``body_frame``  the vertical and the subject's facing (the body's frame in the lab)
``cameras``     the virtual cameras: views, the projection into a portrait frame
``gait``        gait events by Zeni et al. where the file has none
``emg``         EMG channels to muscles, what each holds, conditioning, clipping, the no-EMG note
``trial``       the driver: one trial to segments (:func:`trial_segments`), many into one dataset
                (:func:`load_trials`), a trial's joints in miakit's world frame (:func:`world_joints`)
==============  ===================================================================================
"""

from miakit.importers.lab.body_frame import (
    FACING_WINDOW_S,
    FLOOR_STILL_FRACTION,
    MIN_VERTICAL_SHARE,
    VERTICAL_PAIRS,
    facing_direction,
    facing_path,
    find_vertical,
    smooth,
    vertical_axis,
)
from miakit.importers.lab.cameras import (
    FILL,
    HEAD_ABOVE_SHOULDERS,
    PAN_WINDOW_S,
    VERTICAL_FOV_DEG,
    VIEWS,
    parse_views,
    project_views,
)
from miakit.importers.lab.emg import (
    CLIP_RUN,
    EMG_KINDS,
    ENVELOPE_HF_FRACTION,
    RECTIFIED_ASYMMETRY,
    count_clipped,
    emg_envelopes,
    emg_signal_kind,
    no_emg_note,
)
from miakit.importers.lab.gait import ZENI_MAX_HEEL_CORRELATION, ZENI_MIN_RANGE_MM, ZENI_MIN_STEP_S, zeni_events
from miakit.importers.lab.joints import (
    BODY_SPAN_MM,
    MAX_BRIDGED_S,
    MIN_JOINTS,
    MIN_KEYPOINTS,
    MIN_STRETCH_S,
    anatomy_trial_joints,
    body_parts,
    body_stretches,
    check_body_size,
    choose_mapping,
    trial_joints,
)
from miakit.importers.lab.lab_trial import LabTrial
from miakit.importers.lab.markers import (
    MAX_GAP_S,
    RIGID_MAX_GAP_S,
    fill_from_clusters,
    fill_marker_gaps,
    normalized_markers,
    segment_clusters,
)
from miakit.importers.lab.trial import (
    EMG_UNITS,
    SOURCE,
    TrialResult,
    load_trials,
    trial_segments,
    world_joints,
)

__all__ = [
    "BODY_SPAN_MM",
    "CLIP_RUN",
    "EMG_KINDS",
    "EMG_UNITS",
    "ENVELOPE_HF_FRACTION",
    "FACING_WINDOW_S",
    "FILL",
    "FLOOR_STILL_FRACTION",
    "HEAD_ABOVE_SHOULDERS",
    "MAX_BRIDGED_S",
    "MAX_GAP_S",
    "MIN_JOINTS",
    "MIN_KEYPOINTS",
    "MIN_STRETCH_S",
    "MIN_VERTICAL_SHARE",
    "PAN_WINDOW_S",
    "RECTIFIED_ASYMMETRY",
    "RIGID_MAX_GAP_S",
    "SOURCE",
    "VERTICAL_FOV_DEG",
    "VERTICAL_PAIRS",
    "VIEWS",
    "ZENI_MAX_HEEL_CORRELATION",
    "ZENI_MIN_RANGE_MM",
    "ZENI_MIN_STEP_S",
    "LabTrial",
    "TrialResult",
    "anatomy_trial_joints",
    "body_parts",
    "body_stretches",
    "check_body_size",
    "choose_mapping",
    "count_clipped",
    "emg_envelopes",
    "emg_signal_kind",
    "facing_direction",
    "facing_path",
    "fill_from_clusters",
    "fill_marker_gaps",
    "find_vertical",
    "load_trials",
    "no_emg_note",
    "normalized_markers",
    "parse_views",
    "project_views",
    "segment_clusters",
    "smooth",
    "trial_joints",
    "trial_segments",
    "vertical_axis",
    "world_joints",
    "zeni_events",
]
