"""A trial's markers: labels normalized, repeated labels told apart, gaps filled from the marker's
rigid cluster (:func:`fill_from_clusters`) and by straight lines (:func:`fill_marker_gaps`)."""

from __future__ import annotations

import numpy as np

from miakit.importers.joint_centres import SEGMENTS
from miakit.importers.lab.lab_trial import LabTrial
from miakit.importers.landmarks import parse_label
from miakit.importers.markerset import normalize_label
from miakit.stages.emg import fill_gaps

MAX_GAP_S = 0.2
"""Marker gaps up to this long are filled by straight lines; longer ones stay missing."""
RIGID_MAX_GAP_S = 1.0
"""A marker's gap up to this long is filled from the other markers of its rigid cluster (a mapping's
``clusters``: pelvis, head, thorax, foot), before straight lines fill what is left."""


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

    if not markers or max_gap_s <= 0:
        return markers
    names = list(markers)
    da = xr.DataArray(
        np.stack([markers[n] for n in names], axis=1), dims=("time", "marker", "xyz"), attrs={"rate_hz": rate_hz}
    )
    filled = fill_gaps(da, max_gap_s=max_gap_s).values
    return {n: filled[:, i] for i, n in enumerate(names)}


def fill_from_clusters(
    markers: dict[str, np.ndarray], clusters, rate_hz: float, max_gap_s: float | None = None
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


def _clean(xyz) -> np.ndarray:
    xyz = np.array(xyz, dtype=np.float64)
    xyz[np.all(xyz == 0, axis=1)] = np.nan
    xyz[~np.isfinite(xyz).all(axis=1)] = np.nan
    return xyz


def segment_clusters(markers: dict[str, np.ndarray]) -> list[list[str]]:
    """The file's labels grouped by the rigid segment their landmark moves with (both sides and the
    midline together for the pelvis, thorax and head; :data:`miakit.importers.joint_centres.SEGMENTS`)."""

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
