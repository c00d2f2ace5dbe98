"""BODY_25 joint centres from whatever anatomical landmarks a trial has, best rule first.

The markers are read by anatomy (:mod:`miakit.importers.landmarks`), then:

1. **Repeated labels**: where one label names two points (a lateral marker and, under the same name,
   the joint centre a model computed from it: a second ``RKNE``), the copy nearer the body's
   midline is taken as the model's joint centre (:func:`split_repeated`).
2. **Rigid carrying**: a landmark's missing frames are filled from three or more other markers of
   its segment (a thigh or shank wand or cluster, the pelvis markers, the foot) seen in that frame,
   at the place it holds among them where all are seen (:func:`carry_rigidly`).
3. **Joint centres**, per joint the first rule whose inputs the trial has (frames the first leaves
   empty are taken from the next). Each rule's estimated error (mm) is from the literature on that
   kind of rule, as :data:`RULE_ERROR_MM` states, plus the rigid fit's residual where a cluster
   carried or located it:

   - the file's own model output (Plug-in Gait ``RKneeJC``, ``RFEO``; CGM ``LHJC_CGM_2.4``;
     ``PELO`` for the mid-hip);
   - a medial and lateral pair (epicondyles, malleoli, styloids): the midpoint;
   - hips by Harrington et al. (2007) from both ASIS and the sacrum or the PSIS; else from the
     greater trochanters, moved toward each other by :data:`TROCHANTER_INSET` of their distance;
   - a lateral marker with a thigh or shank wand and the joint above: Plug-in Gait's chord;
   - a lateral marker alone: moved toward the body's midline (along the pelvis' or shoulders'
     left-right axis) by half the joint's width plus a marker's radius, the width the file's
     subject parameter or a typical adult's scaled by the subject's height (:data:`WIDTHS`);
   - two rigid segments (clusters) alone: the functional centre, the point that moves with both
     (SCoRE, Ehrig et al. 2006, :func:`functional_centre`);
   - shoulders: the acromion moved down the trunk by the shoulder offset; elbows: the lateral
     epicondyle along the flexion axis; a single wrist marker, heel, toe and head markers as they are.

What each joint came from is :class:`JointRule`: the rule, its formula, the labels used, the
estimated error and the frames it holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from miakit.importers.landmarks import Landmarks, parse_label, read_landmarks, vocabulary
from miakit.importers.markerset import chord as _c
from miakit.importers.markerset import harrington as _h
from miakit.layout import BODY_25

RULE_ERROR_MM = {
    "model": 10.0,  # the model the file's writer ran (Plug-in Gait, CGM): its own error against imaging
    "midpoint": 8.0,  # medial-lateral midpoints against imaging (Della Croce et al. 2005)
    "harrington": 15.0,  # Harrington et al. 2007, the regression's mean error
    "chord": 15.0,  # Plug-in Gait's knee and ankle centres (Kadaba et al. 1990, Della Croce 2005)
    "medial offset": 20.0,  # a lateral marker moved by a width: the direction is the pelvis', not the joint's
    "trochanter": 30.0,  # the trochanter's inset by proportion (Bell et al. 1990)
    "functional": 20.0,  # SCoRE, about 10-15 mm for hips (Ehrig 2006); a hinge's centre only along its axis
    "shoulder offset": 25.0,  # the acromion down by the offset (Plug-in Gait)
    "marker": 40.0,  # a surface marker taken as the joint (heel, toe: they are the points themselves: 10)
    "flexion axis": 15.0,
    "head": 30.0,
}
"""Estimated error (mm) of each kind of rule, from the studies named."""
TROCHANTER_INSET = 0.23
"""Hip centres lie between the greater trochanters, each inset by this fraction of their distance
(inter-trochanteric width about 330 mm, hip centres about 180 mm apart in adults; Bell et al. 1990)."""
WIDTHS = {"Knee": 100.0, "Ankle": 70.0, "Elbow": 70.0, "Wrist": 50.0, "ShoulderOffset": 50.0}
"""Typical adult widths (mm), as Plug-in Gait's defaults, for a subject of :data:`REFERENCE_HEIGHT_MM`."""
REFERENCE_HEIGHT_MM = 1720.0
SHANK_PER_HEIGHT = 0.246
"""Knee to ankle is about this fraction of the body's height (Drillis and Contini, as Winter tables it)."""
MARKER_RADIUS_MM = 7.0
MIN_REFERENCE_FRAMES = 5
"""Rigid carrying and functional centres need at least this many frames where all the markers are seen."""
FUNCTIONAL_MAX_RESIDUAL_MM = 25.0
"""A functional centre whose two segments disagree by more than this (RMS) is refused (not a joint)."""


@dataclass
class JointRule:
    rule: str  # the kind (a key of RULE_ERROR_MM)
    formula: str  # the formula in words
    markers: list[str]  # the file's labels used
    error_mm: float  # estimated error
    frames: int = 0  # frames (at the markers' rate) it gave


@dataclass
class AnatomyResult:
    xyz: np.ndarray  # (frames, 25, 3) mm, NaN where unknown
    rules: dict[str, JointRule]  # joint -> the rule that gave its first frames
    landmarks: Landmarks
    carried: dict[str, int] = field(default_factory=dict)  # label -> frames filled rigidly
    model_repeats: dict[str, str] = field(default_factory=dict)  # a repeated label -> what its second copy was taken as
    missing: dict[str, str] = field(default_factory=dict)  # joint -> why it is missing


def _seen(x: np.ndarray) -> np.ndarray:
    return np.isfinite(x).all(axis=1)


def _unit(v: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _frame(points: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per frame an orthonormal frame (rotation (frames, 3, 3), columns the axes) and origin, from
    the first three points (origin their centroid)."""
    a, b, c = points[:3]
    origin = (a + b + c) / 3
    e1 = _unit(b - a)
    e3 = _unit(np.cross(b - a, c - a))
    e2 = np.cross(e3, e1)
    return np.stack([e1, e2, e3], axis=-1), origin


MIN_TRIANGLE_MM = 40.0
"""Three donors carry a landmark only where each lies at least this far from the others (closer
ones, such as the two markers at a wand's tip, fix no rotation)."""
MAX_RIGID_RESIDUAL_MM = 15.0
"""A landmark is carried by three donors only where its place among them varies by less than this
(RMS over the frames all are seen): skin and wands move, but not that much on one segment."""


def carry_rigidly(target: np.ndarray, donors: list[np.ndarray]) -> tuple[np.ndarray, int, float]:
    """``target``'s missing frames filled from three ``donors`` of its segment seen there, at its
    median place among them over the frames where all are seen (:data:`MIN_TRIANGLE_MM`,
    :data:`MAX_RIGID_RESIDUAL_MM`). Returns (filled, frames filled, the largest RMS residual (mm)
    of the places used)."""
    from itertools import combinations

    out = target.copy()
    missing = ~_seen(target)
    if not missing.any() or len(donors) < 3:
        return out, 0, 0.0
    seen = np.array([_seen(d) for d in donors])
    trios = sorted(combinations(range(len(donors)), 3), key=lambda t: -int((seen[list(t)].all(axis=0) & missing).sum()))
    filled, residuals = 0, []
    used = np.zeros(len(target), bool)
    for trio_idx in trios[:20]:
        both = seen[list(trio_idx)].all(axis=0)
        ref = both & _seen(target)
        todo = both & missing & ~used
        if ref.sum() < MIN_REFERENCE_FRAMES or not todo.any():
            continue
        trio = [donors[i] for i in trio_idx]
        with np.errstate(invalid="ignore"):
            sides = [
                np.nanmedian(np.linalg.norm(trio[i][ref] - trio[j][ref], axis=1)) for i, j in ((0, 1), (0, 2), (1, 2))
            ]
        if min(sides) < MIN_TRIANGLE_MM:
            continue
        rot, origin = _frame(trio)
        local = np.einsum("fji,fj->fi", rot[ref], target[ref] - origin[ref])
        place = np.median(local, axis=0)
        residual = float(np.sqrt(np.mean(np.sum((local - place) ** 2, axis=1))))
        if not np.isfinite(residual) or residual > MAX_RIGID_RESIDUAL_MM:
            continue
        residuals.append(residual)
        est = origin[todo] + np.einsum("fij,j->fi", rot[todo], place)
        ok = np.isfinite(est).all(axis=1)
        idx = np.flatnonzero(todo)[ok]
        out[idx] = est[ok]
        used[idx] = True
        filled += int(ok.sum())
    return out, filled, max(residuals) if residuals else 0.0


def functional_centre(a: list[np.ndarray], b: list[np.ndarray], max_frames: int = 400) -> tuple[np.ndarray, float]:
    """The point fixed in both rigid segments ``a`` and ``b`` (lists of >= 3 marker trajectories):
    SCoRE (Ehrig et al. 2006), least squares over the frames where all are seen; the minimum-norm
    solution (about the segments' centroids) where the joint is a hinge. Returns (the centre per
    frame, NaN where neither segment is seen; RMS disagreement of the two segments, mm)."""
    ra, oa = _frame(a)
    rb, ob = _frame(b)
    ok = np.isfinite(ra).all(axis=(1, 2)) & np.isfinite(rb).all(axis=(1, 2)) & _seen(oa) & _seen(ob)
    n = len(oa)
    if ok.sum() < MIN_REFERENCE_FRAMES * 4:
        return np.full((n, 3), np.nan), np.inf
    idx = np.flatnonzero(ok)
    idx = idx[np.linspace(0, len(idx) - 1, min(max_frames, len(idx))).astype(int)]
    lhs = np.concatenate([ra[idx], -rb[idx]], axis=2).reshape(-1, 6)
    rhs = (ob[idx] - oa[idx]).reshape(-1)
    sol, *_ = np.linalg.lstsq(lhs, rhs, rcond=1e-3)
    ca, cb = sol[:3], sol[3:]
    pa = oa + np.einsum("fij,j->fi", ra, ca)
    pb = ob + np.einsum("fij,j->fi", rb, cb)
    resid = float(np.sqrt(np.nanmean(np.sum((pa[idx] - pb[idx]) ** 2, axis=1))) / 2)
    with np.errstate(invalid="ignore"):
        centre = np.where(_seen(pa)[:, None] & _seen(pb)[:, None], (pa + pb) / 2, np.where(_seen(pa)[:, None], pa, pb))
    return centre, resid


def harrington(rasi: np.ndarray, lasi: np.ndarray, back: np.ndarray, *, side: str) -> np.ndarray:

    return _h(rasi, lasi, back, side=side)


def chord(lateral, proximal, plane, distance):

    return _c(lateral, proximal, plane, distance, away=True)


def subject_height_mm(lm: Landmarks, parameters: dict[str, float]) -> float:
    """The subject's height: the file's ``Height`` parameter, else from the shank's length, else typical."""
    h = parameters.get("Height")
    if h and np.isfinite(h) and h > 0:
        return float(h * 1000 if h < 3 else h)
    lengths = []
    for s in "RL":
        k, a = lm.get(s, "knee_lateral"), lm.get(s, "ankle_lateral")
        if k is not None and a is not None:
            with np.errstate(invalid="ignore"):
                d = np.linalg.norm(k - a, axis=1)
            if np.isfinite(d).any():
                lengths.append(float(np.nanmedian(d)))
    if lengths:
        return float(np.clip(np.median(lengths) / SHANK_PER_HEIGHT, 1200, 2100))
    return REFERENCE_HEIGHT_MM


SEGMENTS = {
    "pelvis": ("asis", "psis", "sacrum", "pelvis_cluster"),
    "thigh": ("trochanter", "knee_lateral", "knee_medial", "thigh_cluster"),
    "shank": ("ankle_lateral", "ankle_medial", "shank_cluster"),
    "foot": ("heel", "mt1", "mt5", "toe", "foot_cluster"),
    "thorax": ("c7", "t10", "sternum_top", "sternum_bottom", "clavicle"),
    "arm": ("elbow_lateral", "elbow_medial", "arm_cluster"),
    "forearm": ("wrist_radial", "wrist_ulnar", "wrist_bar_radial", "wrist_bar_ulnar", "wrist", "forearm_cluster"),
    "head": ("head_front", "head_back", "forehead", "ear", "head_top"),
}
"""The landmarks that move with each rigid segment (for carrying through gaps, and functional centres)."""
_MIDLINE_SEGMENTS = ("pelvis", "thorax", "head")


def _segment_items(lm: Landmarks, segment: str, side: str) -> list[tuple[str, str, np.ndarray]]:
    """(landmark, label, xyz) of every marker on ``segment`` (both sides and the midline for the
    pelvis, thorax and head)."""
    out = []
    sides = ("R", "L", "") if segment in _MIDLINE_SEGMENTS else (side,)
    for name in SEGMENTS[segment]:
        for s in sides:
            for label, xyz in lm.points.get((s, name), []):
                out.append((name, label, xyz))
    return out


MIDLINE_MM = 20.0
"""A landmark whose label does not say its side lies on the midline when within this of it."""
_LEG = ("asis", "trochanter", "thigh_cluster", "shank_cluster", "ankle_lateral", "ankle_medial", "heel")
_ARM = (
    "acromion",
    "arm_cluster",
    "forearm_cluster",
    "wrist",
    "wrist_radial",
    "wrist_ulnar",
    "wrist_bar_radial",
    "hand",
)
_PAIRS = ("asis", "psis", "acromion", "trochanter", "knee_lateral", "ankle_lateral", "hip_jc", "head_front")


def resolve_sides(lm: Landmarks) -> None:
    """In place: a landmark of one side that its label does not say the side of (``EPICl``,
    ``ACRO_tip``) takes the side of the body's midline it lies on (the left-right axis from the
    landmarks that come in pairs, the midline from their midpoints), the median over frames; an
    epicondyle that does not say its bone is the knee's or the elbow's, whichever has more of its
    limb's landmarks on that side (ties: the nearer of the ankle and the wrist)."""

    entries = vocabulary().entries
    axis, centre = [], []
    for name in _PAIRS:
        r, lft = lm.get("R", name), lm.get("L", name)
        if r is not None and lft is not None:
            axis.append(lft - r)
            centre.append((lft + r) / 2)
    for name in ("sacrum", "c7", "sternum_top", "sternum_bottom", "t10"):
        if lm.get("", name) is not None:
            centre.append(lm.get("", name))
    if axis and centre:
        with np.errstate(invalid="ignore"), _quiet():
            ax = np.nanmean(np.stack([_unit(a) for a in axis]), axis=0)
            mid = np.nanmean(np.stack(centre), axis=0)
        for (side, name), items in list(lm.points.items()):
            if side or entries.get(name, {}).get("midline") or entries.get(name, {}).get("kind") == "joint":
                continue
            stay = []
            for label, xyz in items:
                with np.errstate(invalid="ignore"), _quiet():
                    where = np.nanmedian(np.sum((xyz - mid) * ax, axis=1))
                if np.isfinite(where) and abs(where) > MIDLINE_MM:
                    lm.points.setdefault(("L" if where > 0 else "R", name), []).append((label, xyz))
                elif name == "clavicle":  # on the midline: the notch between the clavicles
                    lm.points.setdefault(("", "sternum_top"), []).append((label, xyz))
                else:  # on the midline (a single front-of-head marker): stays without a side
                    stay.append((label, xyz))
            if stay:
                lm.points[(side, name)] = stay
            else:
                del lm.points[(side, name)]
    for side in ("R", "L", ""):
        for kind in ("lateral", "medial"):
            items = lm.points.pop((side, f"epicondyle_{kind}"), [])
            if not items:
                continue
            leg = sum(1 for n in _LEG if (side, n) in lm.points)
            arm = sum(1 for n in _ARM if (side, n) in lm.points)
            if leg == arm:
                ankle, wrist = lm.get(side, "ankle_lateral"), lm.get(side, "wrist") or lm.get(side, "hand")
                with np.errstate(invalid="ignore"), _quiet():
                    da = np.nanmedian(np.linalg.norm(items[0][1] - ankle, axis=1)) if ankle is not None else np.inf
                    dw = np.nanmedian(np.linalg.norm(items[0][1] - wrist, axis=1)) if wrist is not None else np.inf
                leg, arm = (1, 0) if da < dw else (0, 1)
            joint = "knee" if leg > arm else "elbow"
            lm.points.setdefault((side, f"{joint}_{kind}"), []).extend(items)


def _quiet():
    import warnings
    from contextlib import contextmanager

    @contextmanager
    def quiet():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            yield

    return quiet()


def split_repeated(markers: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """A label written twice (``RKNE`` and ``RKNE#2`` as the reader keeps them) where the copies are
    apart: the copy nearer the other side's point of that name is the model's joint centre, relabelled
    ``RKNE_JC_FROM_MODEL`` with the joint its landmark belongs to; returns the markers and
    {label: what the copy was taken as}."""

    out = dict(markers)
    taken: dict[str, str] = {}
    joint_of = {
        "knee_lateral": "KneeJC",
        "ankle_lateral": "AnkleJC",
        "elbow_lateral": "ElbowJC",
        "acromion": "ShoulderJC",
        "wrist": "WristJC",
        "trochanter": "HipJC",
    }
    for label in [k for k in markers if "#" in k]:
        base = label.split("#", 1)[0]
        if base not in markers:
            continue
        lab = parse_label(base)
        if lab.landmark not in joint_of or not lab.side:
            continue
        other_side = "L" if lab.side == "R" else "R"
        partner = next(
            (
                v
                for k, v in markers.items()
                if "#" not in k and parse_label(k).landmark == lab.landmark and parse_label(k).side == other_side
            ),
            None,
        )
        a, b = markers[base], markers[label]
        with np.errstate(invalid="ignore"):
            apart = np.nanmedian(np.linalg.norm(a - b, axis=1)) if (_seen(a) & _seen(b)).any() else np.nan
        if partner is None or not np.isfinite(apart) or apart < 10:
            continue
        with np.errstate(invalid="ignore"):
            da = np.nanmedian(np.linalg.norm(a - partner, axis=1))
            db = np.nanmedian(np.linalg.norm(b - partner, axis=1))
        jc, marker = (label, base) if db < da else (base, label)
        name = f"{lab.side}{joint_of[lab.landmark]}"
        out[marker if marker == base else base] = markers[marker]
        out[f"{name}@{label}"] = markers[jc]
        del out[label]
        taken[label] = f"{name} (the model's, nearer the midline)" if jc == label else f"{name} (the first copy)"
    return out, taken


class _Builder:
    """Joint by joint, the first rule whose inputs exist fills the frames still empty."""

    def __init__(self, n: int):
        self.xyz = np.full((n, len(BODY_25), 3), np.nan)
        self.rules: dict[str, JointRule] = {}

    def has(self, joint: str) -> bool:
        return joint in self.rules

    def get(self, joint: str) -> np.ndarray | None:
        return self.xyz[:, BODY_25.index(joint)] if joint in self.rules else None

    def add(self, joint: str, value, rule: str, formula: str, markers: list[str], extra_error: float = 0.0):
        if value is None:
            return
        value = np.asarray(value, dtype=np.float64)
        col = self.xyz[:, BODY_25.index(joint)]
        empty = ~_seen(col)
        good = _seen(value) & empty
        if not good.any():
            return
        col[good] = value[good]
        base = RULE_ERROR_MM[rule]
        if joint in self.rules:
            self.rules[joint].frames += int(good.sum())
            return
        self.rules[joint] = JointRule(
            rule, formula, [m for m in markers if m], round(base + extra_error, 1), int(good.sum())
        )


def anatomy_joints(
    markers: dict[str, np.ndarray],
    parameters: dict[str, float] | None = None,
    *,
    use_model: bool = True,
    carry: bool = True,
) -> AnatomyResult:
    """BODY_25 joint centres from ``markers`` (label -> (frames, 3) mm, NaN gaps; a repeated label's
    second copy as ``LABEL#2``) by anatomy (see the module's docstring). ``use_model`` False ignores
    the joint centres a model stored (to check the markers' own centres against them); ``carry``
    False carries no landmark through its gaps."""
    parameters = parameters or {}
    markers, repeats = split_repeated(markers)
    lm = read_landmarks({k: v for k, v in markers.items() if "@" not in k})
    for key, xyz in markers.items():  # a repeated label's model copy: a joint centre
        if "@" in key:
            side, kind = key[0], key[1:].split("@")[0]
            landmark = {"KneeJC": "knee_jc", "AnkleJC": "ankle_jc", "ElbowJC": "elbow_jc"}.get(kind)
            landmark = landmark or {"ShoulderJC": "shoulder_jc", "WristJC": "wrist_jc", "HipJC": "hip_jc"}[kind]
            lm.points.setdefault((side, landmark), []).append((key.split("@")[1], xyz))
    n = len(next(iter(markers.values()))) if markers else 0
    resolve_sides(lm)
    carried: dict[str, int] = {}
    residual: dict[str, float] = {}
    for segment in SEGMENTS if carry else ():
        for side in ("R", "L") if segment not in _MIDLINE_SEGMENTS else ("",):
            items = _segment_items(lm, segment, side)
            for name, label, xyz in items:
                if name.endswith("_cluster"):
                    continue
                donors = [d for _, lab, d in items if lab != label]
                filled, count, res = carry_rigidly(xyz, donors)
                if count:
                    carried[label] = count
                    residual[label] = res
                    for where, lst in lm.points.items():
                        lm.points[where] = [(lb, filled if lb == label else v) for lb, v in lst]
    b = _Builder(n)
    height = subject_height_mm(lm, parameters)
    scale = height / REFERENCE_HEIGHT_MM

    def P(side, name):
        return lm.get(side, name)

    def L(side, name):
        return lm.label_of(side, name)

    def err(*labels):
        return max([residual.get(x, 0.0) for x in labels] + [0.0])

    def width(joint: str, side: str) -> tuple[float, str]:
        key = f"{'Right' if side == 'R' else 'Left'}{joint}Width"
        for name in (f"{side}{joint}Width", key):
            v = parameters.get(name)
            if v and np.isfinite(v) and v > 0:
                return float(v), f"{name} {v:g} mm"
        w = WIDTHS[joint] * scale
        return w, f"typical {w:.0f} mm (height {height:.0f} mm)"

    radius = float(parameters.get("MarkerDiameter") or 2 * MARKER_RADIUS_MM) / 2

    # -- the file's model: joint centres stored as points ------------------------------------------
    if use_model:
        for side in "RL":
            for lmk, joint in (
                ("hip_jc", "Hip"),
                ("knee_jc", "Knee"),
                ("ankle_jc", "Ankle"),
                ("shoulder_jc", "Shoulder"),
                ("elbow_jc", "Elbow"),
                ("wrist_jc", "Wrist"),
            ):
                p = P(side, lmk)
                if p is not None:
                    b.add(f"{side}{joint}", p, "model", f"the file's own {joint.lower()} centre", [L(side, lmk)])

    # -- the pelvis' left-right axis (for medial offsets): from the pelvis, the hips, the shoulders
    def lateral_axis() -> np.ndarray:
        axis = np.full((n, 3), np.nan)
        for name in ("asis", "psis", "trochanter", "hip_jc", "acromion", "knee_lateral", "ankle_lateral"):
            r, lft = P("R", name), P("L", name)
            if r is not None and lft is not None:
                d = _unit(lft - r)  # from right to left
                empty = ~_seen(axis)
                axis[empty] = d[empty]
        return axis

    # -- hips ------------------------------------------------------------------------------------
    rasi, lasi = P("R", "asis"), P("L", "asis")
    backs = []
    if P("", "sacrum") is not None or P("R", "sacrum") is not None or P("L", "sacrum") is not None:
        sac = [x for x in (P("", "sacrum"), P("R", "sacrum"), P("L", "sacrum")) if x is not None]
        labels = [x for x in (L("", "sacrum"), L("R", "sacrum"), L("L", "sacrum")) if x]
        backs.append((np.mean(sac, axis=0), labels))
    if P("R", "psis") is not None and P("L", "psis") is not None:
        backs.append(((P("R", "psis") + P("L", "psis")) / 2, [L("R", "psis"), L("L", "psis")]))
    if rasi is not None and lasi is not None:
        for back, labels in backs:
            for side, word in (("R", "right"), ("L", "left")):
                used = [L("R", "asis"), L("L", "asis"), *labels]
                b.add(
                    f"{side}Hip",
                    harrington(rasi, lasi, back, side=word),
                    "harrington",
                    "Harrington 2007: from both ASIS and " + ("the sacrum" if "sacrum" in str(labels) else "the back"),
                    used,
                    err(*used),
                )
    rt, lt = P("R", "trochanter"), P("L", "trochanter")
    if rt is not None and lt is not None:
        for side, a, c in (("R", rt, lt), ("L", lt, rt)):
            b.add(
                f"{side}Hip",
                a + TROCHANTER_INSET * (c - a),
                "trochanter",
                f"the greater trochanter moved {TROCHANTER_INSET:g} of the way to the other",
                [L("R", "trochanter"), L("L", "trochanter")],
            )
    # functional hips from the pelvis and thigh markers
    pelvis = _segment_items(lm, "pelvis", "")
    for side in "RL":
        if b.has(f"{side}Hip"):
            continue
        thigh = [x for x in _segment_items(lm, "thigh", side) if x[0] != "trochanter"]
        if len(pelvis) >= 3 and len(thigh) >= 3:
            centre, res = functional_centre([x[2] for x in pelvis], [x[2] for x in thigh])
            if res <= FUNCTIONAL_MAX_RESIDUAL_MM:
                b.add(
                    f"{side}Hip",
                    centre,
                    "functional",
                    "SCoRE: the point fixed in both the pelvis and the thigh markers",
                    [x[1] for x in pelvis + thigh],
                    res,
                )
    if b.has("RHip") and b.has("LHip"):
        b.add(
            "MidHip",
            (b.xyz[:, BODY_25.index("RHip")] + b.xyz[:, BODY_25.index("LHip")]) / 2,
            b.rules["RHip"].rule,
            "the hips' midpoint",
            [],
            b.rules["RHip"].error_mm - RULE_ERROR_MM[b.rules["RHip"].rule],
        )
    if use_model and P("", "pelvis_origin") is not None:
        b.add("MidHip", P("", "pelvis_origin"), "model", "the file's own pelvis origin", [L("", "pelvis_origin")])

    axis = lateral_axis()

    # -- knees and ankles --------------------------------------------------------------------------
    for joint, lat_name, med_name, wand_segment, above in (
        ("Knee", "knee_lateral", "knee_medial", "thigh", "Hip"),
        ("Ankle", "ankle_lateral", "ankle_medial", "shank", "Knee"),
    ):
        for side in "RL":
            lat, med = P(side, lat_name), P(side, med_name)
            name = f"{side}{joint}"
            if lat is not None and med is not None:
                b.add(
                    name,
                    (lat + med) / 2,
                    "midpoint",
                    "the lateral and medial markers' midpoint",
                    [L(side, lat_name), L(side, med_name)],
                    err(L(side, lat_name), L(side, med_name)),
                )
            wands = lm.points.get((side, f"{wand_segment}_cluster"), [])
            w, why = width(joint, side)
            offset = None
            if lat is not None:
                medial = axis if side == "R" else -axis
                offset = lat + (w / 2 + radius) * medial
            if lat is not None and len(wands) == 1 and b.has(f"{side}{above}"):
                value = chord(lat, b.get(f"{side}{above}"), wands[0][1], w / 2 + radius)
                with np.errstate(invalid="ignore"), _quiet():
                    apart = np.nanmedian(np.linalg.norm(value - offset, axis=1))
                # the wand sets the flexion plane; one far off it (misplaced, or set by a static trial's
                # rotation offset this file does not hold) disagrees with the pelvis' left-right axis
                # by more than both rules' errors: the chord is not taken
                if not apart > RULE_ERROR_MM["chord"] + RULE_ERROR_MM["medial offset"]:
                    b.add(
                        name,
                        value,
                        "chord",
                        f"Plug-in Gait's chord: {why} / 2 + marker radius from the lateral marker",
                        [L(side, lat_name), wands[0][0]],
                        err(L(side, lat_name)),
                    )
            if offset is not None:
                b.add(
                    name,
                    offset,
                    "medial offset",
                    f"the lateral marker moved toward the midline by {why} / 2 + marker radius",
                    [L(side, lat_name)],
                    err(L(side, lat_name)),
                )
    # functional knees and ankles from clusters
    for joint, upper, lower in (("Knee", "thigh", "shank"), ("Ankle", "shank", "foot")):
        for side in "RL":
            if b.has(f"{side}{joint}"):
                continue
            a = [x for x in _segment_items(lm, upper, side) if x[0] != "trochanter"]
            c = _segment_items(lm, lower, side)
            if len(a) >= 3 and len(c) >= 3:
                centre, res = functional_centre([x[2] for x in a], [x[2] for x in c])
                if res <= FUNCTIONAL_MAX_RESIDUAL_MM:
                    b.add(
                        f"{side}{joint}",
                        centre,
                        "functional",
                        f"SCoRE: the point fixed in both the {upper} and the {lower} markers",
                        [x[1] for x in a + c],
                        res,
                    )

    # -- feet --------------------------------------------------------------------------------------
    for side in "RL":
        for joint, names in (("Heel", ("heel",)), ("BigToe", ("mt1", "toe")), ("SmallToe", ("mt5",))):
            for name in names:
                p = P(side, name)
                if p is not None:
                    b.add(
                        f"{side}{joint}", p, "marker", f"the {name} marker", [L(side, name)], -30.0 + err(L(side, name))
                    )

    # -- trunk, shoulders, arms --------------------------------------------------------------------
    top = [x for x in (P("", "c7"), P("", "sternum_top")) if x is not None]
    bottom = [x for x in (P("", "t10"), P("", "sternum_bottom")) if x is not None]
    for side in "RL":
        acr = P(side, "acromion")
        if acr is None:
            continue
        off = parameters.get(f"{side}ShoulderOffset") or WIDTHS["ShoulderOffset"] * scale
        if top and bottom:
            down = _unit(np.mean(bottom, axis=0) - np.mean(top, axis=0))
            b.add(
                f"{side}Shoulder",
                acr + (off + radius) * down,
                "shoulder offset",
                f"the acromion moved {off + radius:.0f} mm down the trunk",
                [L(side, "acromion")],
                err(L(side, "acromion")),
            )
        if b.has(f"{side}Hip"):
            down = _unit(b.get(f"{side}Hip") - acr)
            b.add(
                f"{side}Shoulder",
                acr + (off + radius) * down,
                "shoulder offset",
                f"the acromion moved {off + radius:.0f} mm toward the hip",
                [L(side, "acromion")],
                5.0,
            )
        b.add(f"{side}Shoulder", acr, "marker", "the acromion marker", [L(side, "acromion")])
    for side in "RL":
        for joint, lat_name, med_name in (
            ("Wrist", "wrist_radial", "wrist_ulnar"),
            ("Elbow", "elbow_lateral", "elbow_medial"),
        ):
            lat, med = P(side, lat_name), P(side, med_name)
            if lat is not None and med is not None:
                b.add(
                    f"{side}{joint}",
                    (lat + med) / 2,
                    "midpoint",
                    "the two markers' midpoint",
                    [L(side, lat_name), L(side, med_name)],
                    err(L(side, lat_name), L(side, med_name)),
                )
        bar_r, bar_u, elb = P(side, "wrist_bar_radial"), P(side, "wrist_bar_ulnar"), P(side, "elbow_lateral")
        if bar_r is not None and bar_u is not None:
            mid = (bar_r + bar_u) / 2
            used = [L(side, "wrist_bar_radial"), L(side, "wrist_bar_ulnar")]
            if elb is not None:  # Plug-in Gait: toward the palm, the normal of the bar and the elbow's plane
                nrm = np.cross(elb - mid, bar_r - mid) if side == "R" else np.cross(bar_r - mid, elb - mid)
                w, why = width("Wrist", side)
                b.add(
                    f"{side}Wrist",
                    mid + (w / 2 + radius) * _unit(nrm),
                    "flexion axis",
                    f"the wrist bar's middle moved toward the palm by {why} / 2 + marker radius",
                    [*used, L(side, "elbow_lateral")],
                    -5.0,
                )
            b.add(f"{side}Wrist", mid, "midpoint", "the wrist bar's middle", used, 10.0)
        if P(side, "wrist") is not None:
            b.add(f"{side}Wrist", P(side, "wrist"), "marker", "the wrist marker", [L(side, "wrist")], -20.0)
        if P(side, "hand") is not None:
            b.add(
                f"{side}Wrist", P(side, "hand"), "marker", "the hand marker (no wrist marker)", [L(side, "hand")], 20.0
            )
        lat = P(side, "elbow_lateral")
        if lat is not None and b.has(f"{side}Shoulder") and b.has(f"{side}Wrist"):
            s, wr = b.get(f"{side}Shoulder"), b.get(f"{side}Wrist")
            nrm = np.cross(s - lat, wr - lat) if side == "R" else np.cross(wr - lat, s - lat)
            size = np.linalg.norm(nrm, axis=1, keepdims=True)
            span = np.linalg.norm(s - lat, axis=1, keepdims=True) * np.linalg.norm(wr - lat, axis=1, keepdims=True)
            with np.errstate(invalid="ignore", divide="ignore"):
                nrm = np.where(size > 0.1 * span, nrm / size, np.nan)
            w, why = width("Elbow", side)
            b.add(
                f"{side}Elbow",
                lat + (w / 2 + radius) * nrm,
                "flexion axis",
                f"the lateral epicondyle moved along the flexion axis by {why} / 2 + marker radius",
                [L(side, "elbow_lateral")],
            )
        if lat is not None:
            b.add(f"{side}Elbow", lat, "marker", "the lateral elbow marker", [L(side, "elbow_lateral")], -5.0)
    if b.has("RShoulder") and b.has("LShoulder"):
        b.add(
            "Neck",
            (b.xyz[:, BODY_25.index("RShoulder")] + b.xyz[:, BODY_25.index("LShoulder")]) / 2,
            b.rules["RShoulder"].rule,
            "the shoulders' midpoint",
            [],
        )
    if P("", "c7") is not None and P("", "sternum_top") is not None:
        b.add(
            "Neck",
            (P("", "c7") + P("", "sternum_top")) / 2,
            "midpoint",
            "C7 and the sternum's top, midway",
            [L("", "c7"), L("", "sternum_top")],
            10.0,
        )

    # -- head --------------------------------------------------------------------------------------
    rf, lf, rb, lb = P("R", "head_front"), P("L", "head_front"), P("R", "head_back"), P("L", "head_back")
    if all(x is not None for x in (rf, lf, rb, lb)):
        used = [L("R", "head_front"), L("L", "head_front"), L("R", "head_back"), L("L", "head_back")]
        b.add(
            "Nose",
            0.625 * (rf + lf) - 0.125 * (rb + lb),
            "head",
            "ahead of the front head markers by a quarter of the head's depth",
            used,
        )
        b.add("REye", rf, "head", "the right front head marker", used[:1])
        b.add("LEye", lf, "head", "the left front head marker", used[1:2])
        b.add("REar", (rf + rb) / 2, "head", "midway between the right head markers", [used[0], used[2]])
        b.add("LEar", (lf + lb) / 2, "head", "midway between the left head markers", [used[1], used[3]])
    for side in "RL":
        if P(side, "ear") is not None:
            b.add(f"{side}Ear", P(side, "ear"), "head", "the ear marker", [L(side, "ear")], -15.0)
    for name in ("forehead", "head_front"):  # a single front-of-head marker
        if P("", name) is not None:
            b.add("Nose", P("", name), "head", f"the {name.replace('_', ' ')} marker", [L("", name)], 10.0)

    missing = {}
    for joint in BODY_25:
        if joint not in b.rules:
            missing[joint] = _why_missing(joint)
    return AnatomyResult(b.xyz, b.rules, lm, carried, repeats, missing)


def _why_missing(joint: str) -> str:
    side = joint[0] if joint[:1] in "RL" and joint[1:2].isupper() else ""
    part = joint[len(side) :]
    needs = {
        "Hip": "both ASIS with the sacrum or both PSIS, both trochanters, or pelvis and thigh clusters",
        "Knee": "a lateral knee marker (with a medial one, or a thigh wand), or thigh and shank clusters",
        "Ankle": "a lateral malleolus (with a medial one, or a shank wand), or shank and foot markers",
        "Heel": "a heel (calcaneus) marker",
        "BigToe": "a first-metatarsal or toe marker",
        "SmallToe": "a fifth-metatarsal marker",
        "Shoulder": "an acromion (shoulder) marker",
        "Elbow": "a lateral elbow (epicondyle) marker",
        "Wrist": "wrist (styloid) markers",
        "Neck": "both shoulders, or C7 and the sternum",
        "MidHip": "both hips",
        "Nose": "four head markers or a forehead marker",
        "Eye": "four head markers",
        "Ear": "four head markers or an ear marker",
    }
    return "needs " + needs.get(part, "markers this joint has no rule for (feet and hands beyond BODY_25's)")
