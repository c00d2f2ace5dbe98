"""A trial's joint centres from its markers (:func:`trial_joints`: by anatomy, else by a marker-set
mapping), the body's size checked, and what of the body the joints hold: the stretches where it is
seen (:func:`body_stretches`) and its parts (:func:`body_parts`)."""

from __future__ import annotations

import numpy as np

from miakit.arrays import true_runs
from miakit.errors import InputError
from miakit.importers.joint_centres import anatomy_joints
from miakit.importers.lab.body_frame import _quiet
from miakit.importers.lab.lab_trial import LabTrial
from miakit.importers.lab.markers import (
    MAX_GAP_S,
    _clean,
    _repeated_labels,
    fill_from_clusters,
    fill_marker_gaps,
    normalized_markers,
    segment_clusters,
)
from miakit.importers.markerset import (
    JointCentres,
    Mapping,
    compute_joints,
    missing_markers,
    normalize_label,
    resolvable,
    shipped_mappings,
)
from miakit.layout import BODY_25, RATE_HZ

MIN_JOINTS = 4
"""A mapping must resolve at least this many BODY_25 joints from a file's markers."""
MIN_KEYPOINTS = 5
"""A frame is valid only with at least this many keypoints in the picture."""


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


def trial_joints(trial: LabTrial, *, mapping: Mapping | None = None, max_gap_s: float = MAX_GAP_S):
    """Joint centres at the markers' rate: ``(JointCentres, mapping used, markers, repeated labels)``.

    Steps 1 to 3 of :mod:`miakit.importers.lab.trial`'s docstring. Without ``mapping``: the labels read by anatomy
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


def anatomy_trial_joints(trial: LabTrial, *, max_gap_s: float = MAX_GAP_S, use_model: bool = True):
    """The anatomy path (:mod:`miakit.importers.joint_centres`): ``(JointCentres, the anatomy as a
    mapping (its facing markers), markers by normalized label, repeated labels)``."""
    import hashlib
    from importlib.resources import files

    markers = {k: _clean(v) for k, v in trial.markers.items()}
    markers = _with_samples(markers, trial)
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


def _with_samples(markers: dict[str, np.ndarray], trial: LabTrial) -> dict[str, np.ndarray]:
    """The markers with any finite sample; a trial with none is refused in one line."""
    markers = {k: v for k, v in markers.items() if np.isfinite(v).any()}
    if not markers:
        raise InputError(
            trial.path,
            "no usable markers",
            field="POINT",
            expected="marker trajectories with samples",
            found="none (all gaps)",
        )
    return markers


def _mapping_joints(trial: LabTrial, mapping: Mapping | None, max_gap_s: float):
    """The mapping path: labels normalized, gaps filled, the mapping (the user's, else the shipped
    one that fits best) applied."""
    markers, repeated = normalized_markers(trial)
    markers = _with_samples(markers, trial)
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
