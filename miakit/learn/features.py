"""Model input features and mirror augmentation.

A feature spec is a base, optionally followed by ``+``-separated additions:

- ``paper``: the paper's inputs, keypoints divided by the image width (x) and height (y), missing
  points 0 (exactly :func:`miakit.learn.windows.load_frames`).
- ``body``: keypoints relative to the hips (``MidHip``, else the mean of ``RHip`` and ``LHip``) in
  torso lengths (the segment's median ``Neck``-``MidHip`` distance in pixels), so the subject's
  place in the image, distance to the camera and size drop out. The ``MidHip`` entry is replaced by
  the hips' offset from their median position in the segment (in torso lengths), so jumps and
  steps stay visible. Missing points are 0.
- ``+angles``: adds the body's geometry as the synthetic muscle model and real muscles feel it:
  the direction of each limb segment and of the trunk in the image (its sine and cosine against
  the image's vertical, which is the direction of gravity for a level camera) and the angle of
  each hinge (elbows, shoulders, hips, knees: sine and cosine between the two segments).
  Independent of the subject's size and place in the image. 0 where a point is missing.
- ``+depth``: adds how far each segment of ``+angles`` points out of the image plane, towards or
  away from the camera, which a 2-D pose shows only as foreshortening: the segment's length in the
  image (in the set's torso lengths) against the subject's reference length for that segment (its
  95th percentile over all the subject's frames in the dataset, where the segment lies about in the
  image plane; keypoints only), as ``sqrt(1 - min(1, length / reference)^2)``, the sine of the angle
  between the segment and the image plane. A camera facing the subject sees a squat's thighs, a
  punch and a running arm swing mostly as this. 0 where a point is missing.
- ``+vel``: adds the per-second change of every feature before it (base, angles and depth: frame to
  frame times ``rate_hz``; 0 at a segment's first frame and where either frame misses the point).
- ``+acc``: adds the per-second change of those velocities (accelerations: what moving a limb
  costs its muscles).
- ``+hold``: adds, for each hinge of ``+angles``, how many seconds it has held still (its angle,
  smoothed over about half a second, turning slower than :data:`HOLD_RAD_S`), counted from the
  last time it moved within the segment, up to :data:`HOLD_CAP_S`. Muscles that hold a pose tire
  and need more activation as the hold goes on, a history a 3-second window cannot see. It comes
  from the segment's keypoints alone, never from EMG.
- ``+elapsed``: adds the seconds since the segment (the set of an exercise) began: muscles tire
  over a set and recruit more motor units for the same force, so the EMG of the same movement
  grows (and a model that sees only a 3-second window cannot know how far into the set it is).
- ``+mask``: adds one column per keypoint, 1 where the pose estimator gave no point (a NaN
  coordinate or ``keypoint_score`` 0; MediaPipe, for one, never gives BODY_25's small toes), and
  keeps every feature that depends on a missing point missing (NaN) instead of 0, so the model's
  input scaling turns it into 0 *after* centring (the feature's mean, which says nothing) and the
  mask says why. Without it a missing point is a point at the hips or, in the paper's inputs, at
  the image corner, which the model reads as a pose.
- ``+subject``: adds a one-hot of the frame's subject (a per-subject calibration: the model can
  learn each subject's EMG gain). The subjects are the dataset's sorted subject names unless given.
  There are two columns per subject: one for the subject, one for its mirror image (the mirrored
  copies of mirror augmentation). The mirror image is another person: its left biceps sensor is
  the subject's right one, with the right one's gain, and sensors on the two sides of one person
  differ (skin, fat, placement). With a single column the model would learn the mean of the two
  sides' gains for both.

Augmentations (``augment``: ``none`` or ``+``-separated ``mirror``, ``pose``, ``limbs``) add copies
of the training windows. ``pose`` adds a copy whose keypoints look as a real pose estimator's do
(:func:`pose_augment`): in half of the segments the small toes are missing throughout (the
MediaPipe keypoint set), in some a whole body part is (a lab's marker set that covers one arm and
the trunk, a camera that cuts off the legs), other points drop out now and then, and every point
jitters by a few percent of the torso. With ``mirror`` too, each copy is mirrored as well.
``limbs`` adds (after those, and mirrored too with ``mirror``) a copy whose arms and arm muscles'
EMG come from another exercise of the same subject (:func:`limb_mix`): a muscle's EMG goes with the
motion of its own limb, so the model learns the arms' part apart from the legs' and can put
together a movement it never saw from parts it did (running: arms that swing as in a side shuffle,
legs that land as in a lunge).

Mirror augmentation (``augment="mirror"``) adds a mirrored copy of every training window: the
image flipped left to right (x -> width - x), each keypoint swapped with its counterpart
(:data:`miakit.layout.MIRROR_KEYPOINT`) and each muscle with its counterpart
(:data:`miakit.layout.MIRROR_MUSCLE`). Names come from the dataset; a layout without a
counterpart for some keypoint or muscle is refused with an :class:`~miakit.errors.InputError`.
For the ``body`` base the mirror image is a signed permutation of the features
(:func:`mirror_map`), which lets a model mirror its own inputs at prediction time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from miakit.contracts.dataset import frame_image_size, normalized_keypoints, segment_of_frame
from miakit.errors import InputError
from miakit.layout import MIRROR_KEYPOINT, MIRROR_MUSCLE
from miakit.learn.windows import FrameArrays, Splits, WindowIndex

BASES = ("paper", "body")
ADDITIONS = ("angles", "depth", "vel", "acc", "hold", "elapsed", "mask", "subject")
AUGMENTS = ("none", "mirror", "pose", "limbs")
BODY_NEEDS = ("Neck", "MidHip", "RHip", "LHip")


def parse_features(spec: str) -> tuple[str, frozenset[str]]:
    """``"body+vel"`` -> ``("body", {"vel"})``; an unknown base or addition is an InputError."""
    base, *extra = [part.strip() for part in str(spec).split("+")]
    if base not in BASES or any(e not in ADDITIONS for e in extra) or len(set(extra)) != len(extra):
        raise InputError(
            "train config",
            "unknown feature spec",
            field="features",
            expected=f"one of {list(BASES)} followed by any of {['+' + a for a in ADDITIONS]}",
            found=spec,
        )
    return base, frozenset(extra)


def check_augment(augment: str) -> str:
    """``augment`` if it is ``none`` or ``+``-separated names of :data:`AUGMENTS`, else an InputError."""
    parts = str(augment).split("+")
    if any(a not in AUGMENTS for a in parts) or len(set(parts)) != len(parts) or ("none" in parts and len(parts) > 1):
        raise InputError(
            "train config",
            "unknown augmentation",
            field="augment",
            expected=f"none, or any of {list(AUGMENTS[1:])} joined by '+'",
            found=augment,
        )
    return augment


def augmentations(augment: str) -> frozenset[str]:
    """The augmentations of an ``augment`` spec: ``"mirror+pose"`` -> ``{"mirror", "pose"}``."""
    return frozenset(check_augment(augment).split("+")) - {"none"}


def frame_features(
    ds,
    spec: str = "paper",
    *,
    subjects: Sequence[str] | None = None,
    mirrored: bool = False,
    keypoints: np.ndarray | None = None,
) -> np.ndarray:
    """Per-frame model inputs (frame, features) float32 for feature ``spec``; ``mirrored``: of the
    mirrored body; ``keypoints``: these (frame, keypoint, 2) pixels instead of the dataset's (an
    augmented copy). With ``+mask`` a feature of a missing point is NaN (the model makes it 0)."""
    base, extra = parse_features(spec)
    seg = segment_of_frame(ds)
    names = [str(k) for k in ds["keypoint"].values]
    width, height = frame_image_size(ds)
    kp = np.array(
        ds["keypoints"].values if keypoints is None else keypoints, dtype=np.float32
    )  # (frame, keypoint, space), pixels
    if "keypoint_score" in ds.data_vars and keypoints is None:  # a point the estimator scored 0 is missing
        kp[np.asarray(ds["keypoint_score"].values) <= 0] = np.nan
    if mirrored:
        kp = mirror_keypoints(kp, names, width)
    if base == "paper":
        pos = normalized_keypoints(kp, width, height)
    else:
        pos = _body_relative(kp, seg, names)
    angles = _angles(kp, names) if extra & {"angles", "hold"} else None
    columns = [pos.reshape(len(pos), -1)]
    if "angles" in extra:
        assert angles is not None
        columns.append(angles)
    if "depth" in extra:
        columns.append(_depth(kp, seg, names, np.asarray(ds["segment_subject"].values).astype(str)[seg]))
    shape = np.concatenate(columns, axis=1)
    rate = float(ds.attrs.get("rate_hz", 10.0))
    parts = [shape]
    if "vel" in extra or "acc" in extra:
        vel = _velocity(shape, seg, rate_hz=rate)
        parts += [vel] if "vel" in extra else []
        if "acc" in extra:
            acc = _velocity(vel, seg, rate_hz=rate)
            acc[1:][_segment_starts(seg)[:-1]] = 0.0  # a segment's second frame has no velocity before it
            parts.append(acc)
    if "hold" in extra:
        assert angles is not None
        parts.append(_hold_seconds(angles[:, 2 * len(SEGMENTS) :], seg, rate_hz=rate))
    if "elapsed" in extra:
        index = np.arange(len(seg))
        first = np.maximum.accumulate(np.where(_segment_starts(seg), index, 0)) if len(seg) else index
        parts.append(((index - first) / rate).astype(np.float32)[:, None])
    if "mask" in extra:  # missing stays NaN: the model's input scaling makes it 0 after centring
        parts = [np.where(np.isinf(p), np.nan, p) for p in parts]
        parts.append(np.asarray(~np.isfinite(kp).all(axis=-1), dtype=np.float32))
    else:
        parts = [np.nan_to_num(p, nan=0.0, posinf=0.0, neginf=0.0) for p in parts]
    if "subject" in extra:
        parts.append(_subject_one_hot(ds, seg, subjects, mirrored=mirrored))
    return np.ascontiguousarray(np.concatenate(parts, axis=1), dtype=np.float32)


def mirror_keypoints(keypoints: np.ndarray, names: Sequence[str], width) -> np.ndarray:
    """The mirror image of (frame, keypoint, 2) pixel keypoints in an image ``width`` pixels wide
    (a number, or one per frame): the image flipped left to right (x -> width - x) and each point
    swapped with its counterpart (:data:`miakit.layout.MIRROR_KEYPOINT`), as a pose estimator
    sees the flipped video. A copy; NaN stays NaN."""
    kp = np.array(keypoints, dtype=np.float32)[:, mirror_permutation(names, MIRROR_KEYPOINT, what="keypoint")]
    kp[..., 0] = np.reshape(np.asarray(width, dtype=np.float32), (-1, 1)) - kp[..., 0]
    return kp


def mirrored_dataset(ds):
    """A copy of a contract-2 dataset whose body is its mirror image (:func:`mirror_keypoints`,
    the keypoint scores swapped with their points) and whose EMG has its sides swapped
    (:data:`miakit.layout.MIRROR_MUSCLE`): the dataset of the same recording filmed in a mirror."""
    names = [str(k) for k in ds["keypoint"].values]
    width, _ = frame_image_size(ds)
    out = ds.copy(deep=True)
    out["keypoints"] = (ds["keypoints"].dims, mirror_keypoints(ds["keypoints"].values, names, width))
    swap = mirror_permutation(names, MIRROR_KEYPOINT, what="keypoint")
    out["keypoint_score"] = (ds["keypoint_score"].dims, np.asarray(ds["keypoint_score"].values)[:, swap])
    muscles = [str(m) for m in ds["muscle"].values]
    out["emg"] = (
        ds["emg"].dims,
        np.asarray(ds["emg"].values)[:, mirror_permutation(muscles, MIRROR_MUSCLE, what="muscle")],
    )
    return out


def mirror_map(spec: str, keypoints: Sequence[str], n_features: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The mirror image of the body in feature space: ``(perm, sign)`` such that the features of
    the mirrored body are ``sign * features[:, perm]``; None for the ``paper`` base, whose mirror
    (``x -> 1 - x``, missing points staying 0) is not a signed permutation.

    Each left column takes its right counterpart's value; horizontal coordinates, the sine of
    every segment direction and of every hinge angle change sign; vertical coordinates, cosines,
    hold times and elapsed time stay; the subject's column and its mirror image's swap.
    ``n_features`` counts the subject columns.
    """
    base, extra = parse_features(spec)
    if base != "body":
        return None
    names = list(keypoints)
    kp = mirror_permutation(names, MIRROR_KEYPOINT, what="keypoint")
    perm, sign = [np.stack([2 * kp, 2 * kp + 1], axis=1).ravel()], [np.tile([-1.0, 1.0], len(names))]
    hinges = _mirrored_rows(HINGES)
    if "angles" in extra:
        rows = np.concatenate([_mirrored_rows(SEGMENTS), len(SEGMENTS) + hinges])
        perm.append(perm[0].size + np.stack([2 * rows, 2 * rows + 1], axis=1).ravel())
        sign.append(np.tile([-1.0, 1.0], len(rows)))
    if "depth" in extra:
        perm.append(sum(p.size for p in perm) + _mirrored_rows(SEGMENTS))
        sign.append(np.ones(len(SEGMENTS)))
    shape_perm, shape_sign = np.concatenate(perm), np.concatenate(sign)
    derivatives = ("vel" in extra or "acc" in extra) + ("acc" in extra)  # velocities, then accelerations
    for k in range(1, derivatives + 1):
        perm.append(k * shape_perm.size + shape_perm)
        sign.append(shape_sign)
    done = (derivatives + 1) * shape_perm.size
    if "hold" in extra:
        perm.append(done + hinges)
        sign.append(np.ones(len(hinges)))
        done += len(hinges)
    if "elapsed" in extra:
        perm.append(np.array([done]))
        sign.append(np.ones(1))
        done += 1
    if "mask" in extra:
        perm.append(done + kp)
        sign.append(np.ones(len(names)))
        done += len(names)
    half = (n_features - done) // 2  # the subjects, then their mirror images: the two halves swap
    perm.append(done + np.roll(np.arange(2 * half), half))
    sign.append(np.ones(2 * half))
    return np.concatenate(perm).astype(np.int64), np.concatenate(sign).astype(np.float32)


def _mirrored_rows(parts: tuple[tuple[str, ...], ...]) -> np.ndarray:
    """For each segment or hinge (tuples of keypoint names), the row of its mirror image."""
    row = {p: i for i, p in enumerate(parts)}
    return np.array([row[tuple(MIRROR_KEYPOINT.get(n, n) for n in p)] for p in parts], dtype=np.int64)


def mirror_permutation(names: Sequence[str], mirror: dict[str, str], *, what: str) -> np.ndarray:
    """Index of each name's mirror counterpart within ``names``; InputError where one is missing."""
    position = {n: i for i, n in enumerate(names)}
    missing = [n for n in names if mirror.get(n) not in position]
    if missing:
        raise InputError(
            "the dataset's keypoints",
            f"mirror augmentation needs a left/right counterpart for every {what}",
            field=what,
            expected=f"names of miakit.layout.MIRROR_{what.upper()} with both sides present",
            found=missing[:5],
        )
    return np.array([position[mirror[n]] for n in names], dtype=np.int64)


def prepare_inputs(
    ds,
    frames: FrameArrays,
    splits: Splits,
    *,
    features: str = "paper",
    augment: str = "none",
    subjects: Sequence[str] | None = None,
) -> tuple[FrameArrays, Splits]:
    """Replace ``frames.inputs`` by the ``features`` of ``ds`` and, for ``augment="mirror"``,
    append a mirrored copy of every frame and of every training window (validation and test
    windows are unchanged, they index the original frames).

    ``frames`` are :func:`~miakit.learn.windows.load_frames` of ``ds`` (its EMG is reused).
    """
    which = augmentations(augment)
    inputs = frame_features(ds, features, subjects=subjects)
    out = replace(frames, inputs=inputs)
    if not which:
        return out, splits
    # (keypoints, mirrored, emg, emg_clean) of each copy of the frames, the original first
    copies: list[tuple[np.ndarray | None, bool, np.ndarray, np.ndarray | None]] = [
        (None, False, frames.emg, frames.emg_clean)
    ]
    if "pose" in which:
        copies.append((pose_augment(ds), False, frames.emg, frames.emg_clean))
    mirror = "mirror" in which
    if mirror:
        muscle_perm = mirror_permutation(list(frames.muscles), MIRROR_MUSCLE, what="muscle")
        copies += [(kp, True, emg, clean) for kp, _, emg, clean in copies]
    if "limbs" in which:
        kp, emg, clean = limb_mix(ds, frames, splits.train)
        copies += [(kp, m, emg, clean) for m in ((False, True) if mirror else (False,))]
    n = len(inputs)
    same = np.arange(frames.n_muscles)
    perms = [muscle_perm if mirrored else same for _, mirrored, _, _ in copies]
    out = replace(
        out,
        inputs=np.concatenate(
            [inputs]
            + [frame_features(ds, features, subjects=subjects, mirrored=m, keypoints=kp) for kp, m, _, _ in copies[1:]]
        ),
        emg=np.concatenate([emg[:, p] for (_, _, emg, _), p in zip(copies, perms)]),
        emg_clean=None
        if frames.emg_clean is None
        else np.concatenate([np.asarray(clean)[:, p] for (_, _, _, clean), p in zip(copies, perms)]),
        run_first=None
        if frames.run_first is None
        else np.concatenate([frames.run_first + k * n for k in range(len(copies))]),
        run_last=None
        if frames.run_last is None
        else np.concatenate([frames.run_last + k * n for k in range(len(copies))]),
    )
    t, k = splits.train, len(copies)
    train = WindowIndex(
        t.window,
        np.concatenate([t.start + i * n for i in range(k)]),
        np.tile(t.segment, k),
        np.tile(t.subject, k),
        np.tile(t.exercise, k),
    )
    return out, Splits(train=train, val=splits.val, test=splits.test)


POSE_DROP_TOES = 0.5
"""Share of the segments whose small toes are missing throughout in a ``pose``-augmented copy:
MediaPipe (miakit's default pose back end) never gives them, OpenPose does."""
POSE_DROP_POINT = 0.04
"""Chance that a point (other than the small toes) is missing in a frame of the augmented copy."""
POSE_NOISE_TORSO = 0.02
"""Standard deviation of the augmented copy's jitter, in torso lengths (about 10 px on a person
filling a portrait frame: a pose estimator's error on a good video)."""
POSE_PARTS = {
    "face": ("Nose", "REye", "LEye", "REar", "LEar"),
    "left arm": ("LShoulder", "LElbow", "LWrist"),
    "right arm": ("RShoulder", "RElbow", "RWrist"),
    "legs": ("RKnee", "LKnee", "RAnkle", "LAnkle", "RHeel", "LHeel", "RBigToe", "LBigToe", "RSmallToe", "LSmallToe"),
}
"""Body parts that a keypoint source may lack for a whole recording: a lab's marker set covers what
its study needs (an upper-limb set tracks one arm and the trunk, a gait set the legs and pelvis, and
few put markers on the face), a close camera cuts off the legs, a hood or mask hides the face."""
POSE_DROP_PART = 0.15
"""Chance that each of :data:`POSE_PARTS` is missing throughout a segment of the augmented copy
(so about half the segments keep the whole body)."""


def _raw_keypoints(ds) -> tuple[np.ndarray, list[str], np.ndarray]:
    """``(segment of each frame, keypoint names, keypoints)``: a float32 copy of the keypoints, with
    points of ``keypoint_score`` 0 (the pose estimator gave none) NaN; what the augmentations start from."""
    kp = np.array(ds["keypoints"].values, dtype=np.float32)
    if "keypoint_score" in ds.data_vars:
        kp[np.asarray(ds["keypoint_score"].values) <= 0] = np.nan
    return segment_of_frame(ds), [str(k) for k in ds["keypoint"].values], kp


LIMB_MIX_ARMS = ("LElbow", "LWrist", "RElbow", "RWrist")
"""The points a :func:`limb_mix` copy takes from another exercise: the elbows and wrists, placed on
the frame's own shoulders (each arm's segments, not where the arm is in the image)."""


def limb_mix(ds, frames: FrameArrays, train: WindowIndex, *, seed: int = 0):
    """``(keypoints, emg, emg_clean)``: the dataset's frames with arms from another exercise.

    Each training segment gets a partner, another training segment of the same subject and another
    exercise (drawn at random; a segment with none keeps its own arms). Its training frames take, in
    order from a random start (wrapping around), the partner's training frames' arms: the
    elbow and wrist offsets from the shoulder (:data:`LIMB_MIX_ARMS`, scaled by the two segments'
    torso lengths) put on the frame's own shoulders, and the EMG of the biceps and triceps at those
    frames. The trunk, the legs and the leg muscles' EMG stay the frame's own. Only training frames
    are read, so nothing of a held-out exercise or test part enters. Frames outside the training
    windows are unchanged. Deterministic for a ``seed``.

    Physically, an arm muscle's activity comes from its own arm's motion (the synthetic muscle model
    and real muscles alike): the elbow's torque from the forearm, the shoulder's from the whole arm;
    only the shoulder's small share (0.15 of biceps and triceps) depends on the trunk's lean, which
    the copy changes."""
    rng = np.random.default_rng([seed, 77])
    seg, names, kp = _raw_keypoints(ds)
    arm_muscles = [j for j, m in enumerate(frames.muscles) if "Bicep" in str(m) or "Tricep" in str(m)]
    arms = [
        (names.index(a), names.index(a[0] + "Shoulder")) for a in LIMB_MIX_ARMS if {a, a[0] + "Shoulder"} <= set(names)
    ]
    emg, clean = frames.emg.copy(), None if frames.emg_clean is None else frames.emg_clean.copy()
    if not len(train) or not all(n in names for n in BODY_NEEDS):
        return kp, emg, clean
    torso = _set_torso(kp, seg, {n: names.index(n) for n in BODY_NEEDS})
    subject = np.asarray(ds["segment_subject"].values).astype(str)
    exercise = np.asarray(ds["segment_exercise"].values).astype(str)
    seen = np.unique(train.frames())
    by_segment = {s: seen[seg[seen] == s] for s in np.unique(seg[seen])}
    partner = np.arange(len(seg))
    for s, own in by_segment.items():
        others = [c for c in by_segment if subject[c] == subject[s] and exercise[c] != exercise[s]]
        if not others:
            continue
        theirs = by_segment[others[rng.integers(len(others))]]
        partner[own] = theirs[(np.arange(len(own)) + rng.integers(len(theirs))) % len(theirs)]
    out = kp.copy()
    ratio = (torso[seg] / torso[seg[partner]])[:, None]
    for i, sh in arms:
        out[:, i] = kp[:, sh] + (kp[partner, i] - kp[partner, sh]) * ratio
    emg[:, arm_muscles] = frames.emg[partner][:, arm_muscles]
    if clean is not None and frames.emg_clean is not None:
        clean[:, arm_muscles] = frames.emg_clean[partner][:, arm_muscles]
    return out, emg, clean


def pose_augment(ds, *, seed: int = 0) -> np.ndarray:
    """(frame, keypoint, 2) the dataset's keypoints as a real pose estimator (or a lab's marker set)
    would give them: small toes missing in :data:`POSE_DROP_TOES` of the segments, whole body parts
    in some (:data:`POSE_PARTS`, :data:`POSE_DROP_PART`), other points missing now and then
    (:data:`POSE_DROP_POINT`), Gaussian jitter of :data:`POSE_NOISE_TORSO` torso lengths.
    Deterministic for a ``seed``."""
    rng = np.random.default_rng([seed, 2026])
    seg, names, kp = _raw_keypoints(ds)
    torso = np.ones(len(seg), dtype=np.float32)
    if all(n in names for n in BODY_NEEDS):
        torso = _set_torso(kp, seg, {n: names.index(n) for n in BODY_NEEDS})[seg]
    kp += (POSE_NOISE_TORSO * torso)[:, None, None] * rng.standard_normal(kp.shape).astype(np.float32)
    drop = rng.random(kp.shape[:2]) < POSE_DROP_POINT
    toes = [names.index(n) for n in ("LSmallToe", "RSmallToe") if n in names]
    if toes:
        no_toes = rng.random(int(seg.max()) + 1 if len(seg) else 0) < POSE_DROP_TOES
        drop[:, toes] = no_toes[seg][:, None]
    n_seg = int(seg.max()) + 1 if len(seg) else 0
    for part in POSE_PARTS.values():
        cols = [names.index(n) for n in part if n in names]
        gone = rng.random(n_seg) < POSE_DROP_PART
        if cols:
            drop[:, cols] |= gone[seg][:, None]
    kp[drop] = np.nan
    return kp


def _body_relative(kp: np.ndarray, seg: np.ndarray, names: list[str]) -> np.ndarray:
    """Keypoints relative to the hips in torso lengths; the MidHip row: hip offset from its segment median."""
    missing = [n for n in BODY_NEEDS if n not in names]
    if missing:
        raise InputError(
            "the dataset's keypoints",
            "hip-centred features need the BODY_25 torso keypoints",
            field="keypoint",
            expected=list(BODY_NEEDS),
            found=f"missing {missing}",
        )
    at = {n: names.index(n) for n in BODY_NEEDS}
    hip, seg_torso = _hip(kp, at), _set_torso(kp, seg, at)
    seg_hip = np.zeros((len(seg_torso), 2), dtype=np.float32)
    for s in np.unique(seg):
        rows = seg == s
        if np.any(np.isfinite(hip[rows, 0])):
            seg_hip[s] = np.nanmedian(hip[rows], axis=0)
    scale = seg_torso[seg][:, None, None]
    rel = (kp - hip[:, None, :]) / scale
    rel[:, at["MidHip"]] = (hip - seg_hip[seg]) / scale[:, 0]
    return rel


def _hip(kp: np.ndarray, at: dict[str, int]) -> np.ndarray:
    """(frame, 2): ``MidHip``, else the mean of ``RHip`` and ``LHip``."""
    hip = kp[:, at["MidHip"]]
    return np.where(np.isnan(hip), 0.5 * (kp[:, at["RHip"]] + kp[:, at["LHip"]]), hip)


def _set_torso(kp: np.ndarray, seg: np.ndarray, at: dict[str, int]) -> np.ndarray:
    """(segments,): each segment's median ``Neck``-hip distance in pixels (1 where unknown)."""
    torso = np.linalg.norm(kp[:, at["Neck"]] - _hip(kp, at), axis=-1)
    out = np.ones(int(seg.max()) + 1 if len(seg) else 0, dtype=np.float32)
    for s in np.unique(seg):
        t = torso[seg == s]
        t = np.nanmedian(t) if np.any(np.isfinite(t)) else np.nan
        out[s] = t if np.isfinite(t) and t > 1.0 else 1.0
    return out


SEGMENTS = (
    ("MidHip", "Neck"),
    ("RShoulder", "RElbow"),
    ("RElbow", "RWrist"),
    ("RHip", "RKnee"),
    ("RKnee", "RAnkle"),
    ("LShoulder", "LElbow"),
    ("LElbow", "LWrist"),
    ("LHip", "LKnee"),
    ("LKnee", "LAnkle"),
)
"""The trunk and the limb segments of ``+angles``, each from its proximal to its distal point."""

HINGES = (
    ("Neck", "RShoulder", "RElbow"),
    ("RShoulder", "RElbow", "RWrist"),
    ("Neck", "MidHip", "RKnee"),
    ("RHip", "RKnee", "RAnkle"),
    ("Neck", "LShoulder", "LElbow"),
    ("LShoulder", "LElbow", "LWrist"),
    ("Neck", "MidHip", "LKnee"),
    ("LHip", "LKnee", "LAnkle"),
)
"""The hinges of ``+angles`` (shoulder, elbow, hip, knee per side) as (a, joint, b): the angle at
the joint between the directions to ``a`` and to ``b``."""


def _angles(kp: np.ndarray, names: list[str]) -> np.ndarray:
    """(frame, 2 * (segments + hinges)): sine and cosine of each segment's direction against the
    image vertical, then of each hinge angle; NaN where a point is missing."""
    at = {n: i for i, n in enumerate(names)}
    missing = sorted({n for seg in SEGMENTS + HINGES for n in seg if n not in at})
    if missing:
        raise InputError(
            "the dataset's keypoints",
            "angle features need the BODY_25 limb keypoints",
            field="keypoint",
            found=f"missing {missing}",
        )

    def unit(a: str, b: str) -> np.ndarray:
        d = kp[:, at[b]] - kp[:, at[a]]
        norm = np.linalg.norm(d, axis=-1, keepdims=True)
        return d / np.where(norm > 1e-6, norm, np.nan)

    cols = []
    for a, b in SEGMENTS:
        u = unit(a, b)
        cols += [u[:, 0], u[:, 1]]  # sine and cosine against image down (+y)
    for a, joint, b in HINGES:
        u, v = unit(joint, a), unit(joint, b)
        cols += [u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0], (u * v).sum(axis=-1)]
    return np.stack(cols, axis=1).astype(np.float32)


DEPTH_REFERENCE_PERCENTILE = 95.0
"""The percentile of a segment's length in the image (over all of a subject's frames) taken as its
length when it lies in the image plane: a high one, not the maximum, which keypoint noise inflates."""


def _depth(kp: np.ndarray, seg: np.ndarray, names: list[str], subject: np.ndarray) -> np.ndarray:
    """(frame, segments): sine of each segment's angle out of the image plane (see ``+depth``)."""
    at = {n: i for i, n in enumerate(names)}
    missing = sorted({n for s in SEGMENTS for n in s}.union(BODY_NEEDS).difference(at))
    if missing:
        raise InputError(
            "the dataset's keypoints",
            "depth features need the BODY_25 limb keypoints",
            field="keypoint",
            found=f"missing {missing}",
        )
    length = np.stack([np.linalg.norm(kp[:, at[b]] - kp[:, at[a]], axis=-1) for a, b in SEGMENTS], axis=1)
    length = length / _set_torso(kp, seg, at)[seg][:, None]
    reference = np.full_like(length, np.nan)
    for who in np.unique(subject):
        rows = subject == who
        known = np.isfinite(length[rows])
        ref = np.array(
            [
                np.percentile(length[rows][known[:, j], j], DEPTH_REFERENCE_PERCENTILE) if known[:, j].any() else np.nan
                for j in range(length.shape[1])
            ]
        )
        reference[rows] = np.where(ref > 1e-6, ref, np.nan)
    ratio = np.clip(length / reference, 0.0, 1.0)
    return np.sqrt(1.0 - ratio**2).astype(np.float32)  # NaN (later 0) where a point is missing


HOLD_RAD_S = 0.35
"""A hinge turning slower than this (rad/s) is holding still (as the synthetic muscle model's
``still_rad_s``)."""

HOLD_CAP_S = 15.0
"""The hold count stops here. A model learns what a count means only from the counts it trained
on, and a held pose goes on longer at test time than in training whenever the test comes later in
the set (the in-distribution split tests on the last 20% of each set). Uncapped, a 25-second hold
in a test window is a value never seen, and the model's guess for it was wild (on the demo data,
bowling's test RMSE went from 6.1 to 9.2); capped, long holds share one value that training has
seen. Measured on the demo data: in-distribution RMSE 6.59 uncapped, 6.17 capped at 15 s."""


def _hold_seconds(hinges: np.ndarray, seg: np.ndarray, *, rate_hz: float) -> np.ndarray:
    """(frame, hinges): seconds each hinge has held still, from ``hinges`` = sine, cosine pairs."""
    from scipy.ndimage import gaussian_filter1d

    angle = np.arctan2(hinges[:, 0::2], hinges[:, 1::2]).astype(np.float64)
    held = np.zeros(angle.shape, dtype=np.float32)
    for s in np.unique(seg):
        rows = np.flatnonzero(seg == s)
        a = angle[rows]
        known = np.isfinite(a)
        a = np.unwrap(np.where(known, a, 0.0), axis=0)
        a = gaussian_filter1d(a, sigma=0.2 * rate_hz, axis=0, mode="nearest")  # ~0.5 s: keypoint jitter is not motion
        speed = np.zeros_like(a)
        speed[1:] = np.abs(np.diff(a, axis=0)) * rate_hz
        still = (speed < HOLD_RAD_S) & known
        index = np.arange(len(rows))[:, None]
        last_moving = np.maximum.accumulate(
            np.where(still, 0, index), axis=0
        )  # the segment start counts as the last motion
        held[rows] = np.where(still, np.minimum((index - last_moving) / rate_hz, HOLD_CAP_S), 0.0)
    return held


def _segment_starts(seg: np.ndarray) -> np.ndarray:
    """True at each frame that starts a segment."""
    return np.concatenate([[True], seg[1:] != seg[:-1]]) if len(seg) else np.zeros(0, dtype=bool)


def _velocity(pos: np.ndarray, seg: np.ndarray, *, rate_hz: float) -> np.ndarray:
    """Change per second from the previous frame of the same segment; NaN where a point is missing,
    0 at segment starts."""
    vel = np.zeros_like(pos)
    vel[1:] = (pos[1:] - pos[:-1]) * np.float32(rate_hz)
    vel[_segment_starts(seg)] = 0.0
    return vel


def subject_names(ds) -> list[str]:
    """The dataset's sorted subject names: the order of the ``+subject`` columns unless given."""
    return sorted(set(np.asarray(ds["segment_subject"].values).astype(str).tolist()))


def _subject_one_hot(ds, seg: np.ndarray, subjects: Sequence[str] | None, *, mirrored: bool = False) -> np.ndarray:
    """(frame, 2 x subjects): the subject's column in the first half, or in the second for its mirror image."""
    names = np.asarray(ds["segment_subject"].values).astype(str)
    known = list(subjects) if subjects is not None else subject_names(ds)
    col = {s: i + (len(known) if mirrored else 0) for i, s in enumerate(known)}
    of_segment = np.array([col.get(s, -1) for s in names.tolist()], dtype=np.int64)[seg]
    out = np.zeros((len(seg), 2 * len(known)), dtype=np.float32)
    rows = np.flatnonzero(of_segment >= 0)
    out[rows, of_segment[rows]] = 1.0  # an unknown subject: all zeros
    return out
