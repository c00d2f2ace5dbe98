"""Windows for learning: an index of fixed-length windows, splits, and the arrays they read.

A window is ``window`` consecutive frames of one segment, all valid, all on the same side of a
split. Windows are described by their first frame (:class:`WindowIndex`); the frames themselves
are read once per variable from the (lazy, dask-backed) dataset by :func:`load_frames` and
gathered per batch, so a window index costs a few integers per window.

Model inputs follow the paper: keypoints divided by the segment's image width (x) and height (y),
missing points (NaN) set to 0, flattened per frame as ``(keypoint, space)`` -> ``2 * n_keypoints``
features. EMG stays on its raw scale here; the trainer divides it by ``emg_scale``.

Segments of exercise :data:`~miakit.contracts.dataset.UNKNOWN_EXERCISE` (a session that named none)
are grouped as that exercise where a split goes by time within each subject and exercise
(in-distribution), and left out wherever exercises are held out (leave-one-exercise-out, subject
transfer): an unknown segment may be the held-out exercise itself. :func:`unknown_segments` counts
them, for the benchmarks to say so.

A model may also read ``context`` frames before and after each window (:func:`context_frames`):
the targets stay the window's own frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from miakit.contracts.dataset import UNKNOWN_EXERCISE, frame_image_size, normalized_keypoints, segment_of_frame
from miakit.errors import DatasetError
from miakit.layout import RATE_HZ

SPLITS = ("train", "val", "test")
GAP = -1


@dataclass(frozen=True)
class WindowIndex:
    """Windows of ``window`` frames, one row each: first frame, segment, subject, exercise."""

    window: int
    start: np.ndarray  # int64, index of the first frame in the dataset
    segment: np.ndarray  # int64, index along the segment dim
    subject: np.ndarray  # str
    exercise: np.ndarray  # str

    def __len__(self) -> int:
        return len(self.start)

    def select(self, mask: np.ndarray) -> WindowIndex:
        """The windows where ``mask`` (bool, or integer positions) selects."""
        return WindowIndex(self.window, self.start[mask], self.segment[mask], self.subject[mask], self.exercise[mask])

    def frames(self) -> np.ndarray:
        """Frame indices of every window, shape (n_windows, window)."""
        return self.start[:, None] + np.arange(self.window)[None, :]


@dataclass(frozen=True)
class Splits:
    """Train, validation and test windows of one experiment."""

    train: WindowIndex
    val: WindowIndex
    test: WindowIndex

    def sizes(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in SPLITS}


@dataclass(frozen=True)
class FrameArrays:
    """Per-frame model inputs and targets, materialized once from a dataset."""

    inputs: np.ndarray  # (frame, 2 * keypoint) float32, normalized, NaN -> 0
    emg: np.ndarray  # (frame, muscle) float32, raw scale
    emg_clean: np.ndarray | None  # (frame, muscle) float32 or None
    muscles: tuple[str, ...]
    keypoints: tuple[str, ...]
    run_first: np.ndarray | None = None  # (frame,) int64: first frame of the frame's run of valid frames in its segment
    run_last: np.ndarray | None = None  # (frame,) int64: last frame of that run

    @property
    def n_features(self) -> int:
        return self.inputs.shape[1]

    @property
    def n_muscles(self) -> int:
        return self.emg.shape[1]

    def gather(self, index: WindowIndex, *, context: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Inputs (N, T + 2 context, F), targets (N, M, T) and clean targets (N, M, T) or None, raw EMG scale.

        ``context``: frames of input before and after each window (see :func:`context_frames`)."""
        frames = index.frames()
        x = self.inputs[self.input_frames(index.start, index.window, context)]
        y = self.emg[frames].transpose(0, 2, 1)
        clean = None if self.emg_clean is None else self.emg_clean[frames].transpose(0, 2, 1)
        return x, y, clean

    def input_frames(self, start: np.ndarray, window: int, context: int) -> np.ndarray:
        """Frame indices (N, window + 2 context) of the inputs of the windows starting at ``start``."""
        if not context:
            return start[:, None] + np.arange(window)[None, :]
        if self.run_first is None or self.run_last is None:
            raise ValueError("these frame arrays carry no run bounds; make them with load_frames")
        return context_frames(start, window, context, self.run_first[start], self.run_last[start])


def context_frames(start: np.ndarray, window: int, context: int, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Input frames (N, window + 2 context) of windows starting at ``start`` with ``context`` frames
    on each side, held at the edges of each window's run of valid frames ``[first, last]``.

    Muscles fire 50 to 100 ms before the motion they cause, so the EMG at a window's last steps
    depends on frames after the window. Where the run ends, its edge frame is repeated: the
    inputs never reach into another segment or across an invalid frame.
    """
    cols = np.asarray(start)[:, None] - context + np.arange(window + 2 * context)[None, :]
    return np.clip(cols, np.asarray(first)[:, None], np.asarray(last)[:, None])


def run_bounds(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each position, the first and last position of its run of equal ``key`` values (int64)."""
    key = np.asarray(key)
    n = len(key)
    position = np.arange(n, dtype=np.int64)
    if n == 0:
        return position, position
    new = np.concatenate([[True], key[1:] != key[:-1]])
    first = np.maximum.accumulate(np.where(new, position, 0))
    end = np.concatenate([key[1:] != key[:-1], [True]])
    last = np.minimum.accumulate(np.where(end, position, n - 1)[::-1])[::-1]
    return first, np.ascontiguousarray(last)


def load_frames(ds) -> FrameArrays:
    """Read keypoints and EMG once and normalize keypoints per segment (x / width, y / height)."""
    seg = segment_of_frame(ds)
    kp = normalized_keypoints(ds["keypoints"].values, *frame_image_size(ds))  # (frame, keypoint, space)
    kp = np.nan_to_num(kp, nan=0.0, posinf=0.0, neginf=0.0)
    emg = np.asarray(ds["emg"].values, dtype=np.float32)
    clean = np.asarray(ds["emg_clean"].values, dtype=np.float32) if "emg_clean" in ds.data_vars else None
    valid = np.asarray(ds["valid"].values, dtype=bool)
    first, last = run_bounds(np.where(valid, seg, -1 - np.arange(len(seg))))  # an invalid frame is a run of its own
    return FrameArrays(
        inputs=np.ascontiguousarray(kp.reshape(kp.shape[0], -1)),
        emg=emg,
        emg_clean=clean,
        muscles=tuple(str(m) for m in ds["muscle"].values),
        keypoints=tuple(str(k) for k in ds["keypoint"].values),
        run_first=first,
        run_last=last,
    )


def windows_where(ds, label: np.ndarray, *, window: int, stride: int) -> dict[int, WindowIndex]:
    """Windows of ``window`` frames whose frames share one segment, one label and are all valid.

    ``label`` gives every frame an integer label (negative: no window may cover it). Within each
    run of frames with the same segment and label, windows start every ``stride`` frames from the
    run's first frame. Returns one :class:`WindowIndex` per non-negative label.
    """
    if window < 1 or stride < 1:
        raise ValueError(f"window and stride must be >= 1, got window={window}, stride={stride}")
    seg = segment_of_frame(ds)
    valid = np.asarray(ds["valid"].values, dtype=bool)
    label = np.asarray(label, dtype=np.int64)
    if label.shape != seg.shape:
        raise ValueError(f"label must have one entry per frame ({seg.shape}), got {label.shape}")
    n_labels = int(label.max()) + 1 if len(label) else 0
    key = np.where(valid & (label >= 0), seg * max(n_labels, 1) + label, -1)
    change = np.concatenate([[0], np.cumsum(key[1:] != key[:-1])])
    position = np.arange(len(key))
    run_start = np.maximum.accumulate(np.where(np.concatenate([[True], key[1:] != key[:-1]]), position, 0))
    starts = position[: max(len(key) - window + 1, 0)]
    ok = (
        (key[starts] >= 0)
        & (change[starts + window - 1] == change[starts])
        & ((starts - run_start[starts]) % stride == 0)
    )
    starts = starts[ok]
    subjects = np.asarray(ds["segment_subject"].values).astype(str)
    exercises = np.asarray(ds["segment_exercise"].values).astype(str)
    out = {}
    for value in range(n_labels):
        s = starts[label[starts] == value]
        g = seg[s]
        out[value] = WindowIndex(window, s.astype(np.int64), g.astype(np.int64), subjects[g], exercises[g])
    return out


def in_distribution_labels(ds, *, window: int, test_fraction: float = 0.2, val_fraction: float = 0.1) -> np.ndarray:
    """Label every frame 0 (train), 1 (val), 2 (test) or -1 (gap), per (subject, exercise).

    Within each (subject, exercise), frames in time order (segments in dataset order): the last
    ``test_fraction`` are test; a gap of ``window`` frames; of what remains, the last
    ``val_fraction`` is validation (at least one window's worth where the group leaves room for
    two more windows); another gap of ``window`` frames; the rest trains. So no train window
    overlaps or touches a validation or test window.
    """
    if not (0 < test_fraction < 1 and 0 <= val_fraction < 1):
        raise ValueError(f"fractions must be in (0, 1): test_fraction={test_fraction}, val_fraction={val_fraction}")
    seg = segment_of_frame(ds)
    subjects = np.asarray(ds["segment_subject"].values).astype(str)[seg]
    exercises = np.asarray(ds["segment_exercise"].values).astype(str)[seg]
    label = np.full(len(seg), GAP, dtype=np.int64)
    groups: dict[tuple[str, str], list[int]] = {}
    for i, pair in enumerate(zip(subjects.tolist(), exercises.tolist())):
        groups.setdefault(pair, []).append(i)
    for members in groups.values():
        frames = np.asarray(members)
        n = len(frames)
        cut_test = int(round(n * (1 - test_fraction)))
        train_end = max(cut_test - window, 0)
        val_len = int(round(train_end * val_fraction))
        if 0 < val_len < window and train_end >= 3 * window:  # room for a validation window
            val_len = window
        cut_val = train_end - val_len if val_fraction > 0 else train_end
        pos = np.arange(n)
        label[frames[pos >= cut_test]] = 2
        label[frames[(pos >= cut_val) & (pos < train_end)]] = 1 if val_fraction > 0 else GAP
        label[frames[pos < (cut_val - window if val_fraction > 0 else train_end)]] = 0
    return label


def split_in_distribution(
    ds,
    *,
    window: int = 30,
    stride: int = 1,
    eval_stride: int | None = None,
    test_fraction: float = 0.2,
    val_fraction: float = 0.1,
) -> Splits:
    """The in-distribution split: about 80/20 in time within each subject and exercise.

    Train windows start every ``stride`` frames; validation and test windows every
    ``eval_stride`` frames (default: ``window``, non-overlapping like the paper's clips).
    """
    label = in_distribution_labels(ds, window=window, test_fraction=test_fraction, val_fraction=val_fraction)
    try:
        return splits_from_labels(ds, label, window=window, stride=stride, eval_stride=eval_stride)
    except DatasetError as exc:
        # The test part is the last test_fraction of each subject and exercise: say how long that needs.
        frames = int(np.ceil(window / test_fraction))
        raise DatasetError(
            dataset_where(ds),
            f"too few valid frames for a split: the test part is the last {test_fraction:g} of each subject"
            f" and exercise, so one needs about {frames} valid frames ({frames / RATE_HZ:g} s at {RATE_HZ:g} Hz);"
            " record or synthesize longer sessions (miakit synth --duration), or train with a shorter"
            " --set window=",
            field="valid",
            expected=exc.expected,
            found=exc.found,
        ) from None


def splits_from_labels(
    ds, label: np.ndarray, *, window: int, stride: int = 1, eval_stride: int | None = None
) -> Splits:
    """Windows of frames labelled 0 (train, every ``stride``), 1 (val) and 2 (test, every ``eval_stride``,
    default ``window``); raises :class:`DatasetError` when train or test has no window."""
    eval_stride = eval_stride or window
    train = windows_where(ds, np.where(label == 0, 0, GAP), window=window, stride=stride).get(0)
    evals = windows_where(ds, np.where(label >= 1, label - 1, GAP), window=window, stride=eval_stride)
    empty = _empty(window)
    splits = Splits(train=train or empty, val=evals.get(0, empty), test=evals.get(1, empty))
    if len(splits.train) == 0 or len(splits.test) == 0:
        raise DatasetError(
            dataset_where(ds),
            "too few valid frames for a split",
            field="valid",
            expected=f"train and test windows of {window} valid frames",
            found=splits.sizes(),
        )
    return splits


def _empty(window: int) -> WindowIndex:
    return WindowIndex(window, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, str), np.zeros(0, str))


# -- held-out splits: whole segments for test, validation carved from the end of train in time ---------


def segment_table(ds) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per segment: subject, exercise and the source's split ('' where it defines none), as str arrays."""
    subjects = np.asarray(ds["segment_subject"].values).astype(str)
    exercises = np.asarray(ds["segment_exercise"].values).astype(str)
    split = (
        np.asarray(ds["segment_split"].values).astype(str)
        if "segment_split" in ds.data_vars
        else np.full(len(subjects), "")
    )
    return subjects, exercises, split


def holdout_labels(
    ds, train_segments: np.ndarray, test_segments: np.ndarray, *, window: int, val_fraction: float = 0.1
) -> np.ndarray:
    """Label frames 0 (train), 1 (val), 2 (test) or -1 (unused) from per-segment masks.

    Frames of ``test_segments`` are test. Within each (subject, exercise) of ``train_segments``
    (frames in time order, segments in dataset order), the last ``val_fraction`` is validation
    (at least one window where the group has room for three), then a gap of ``window`` frames
    back to the training frames, so no train window touches a validation window. Test and train
    are whole, different segments, and windows never cross segments, so they never overlap.
    """
    train_segments, test_segments = np.asarray(train_segments, bool), np.asarray(test_segments, bool)
    if np.any(train_segments & test_segments):
        raise ValueError("a segment cannot be both train and test")
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    seg = segment_of_frame(ds)
    subjects, exercises, _ = segment_table(ds)
    label = np.full(len(seg), GAP, dtype=np.int64)
    label[test_segments[seg]] = 2
    in_train = np.flatnonzero(train_segments[seg])
    pairs = np.stack([subjects[seg[in_train]], exercises[seg[in_train]]], axis=1)
    _, group_of = np.unique(pairs, axis=0, return_inverse=True) if len(pairs) else (None, np.zeros(0, np.int64))
    for group in np.unique(group_of):
        frames = in_train[group_of.ravel() == group]  # dataset order = time order within a (subject, exercise)
        n = len(frames)
        val_len = int(round(n * val_fraction))
        if 0 < val_fraction and val_len < window and n >= 3 * window:
            val_len = window
        if val_len == 0:
            label[frames] = 0
            continue
        pos = np.arange(n)
        label[frames[pos >= n - val_len]] = 1
        label[frames[pos < n - val_len - window]] = 0
    return label


def split_holdout(
    ds,
    train_segments: np.ndarray,
    test_segments: np.ndarray,
    *,
    window: int = 30,
    stride: int = 1,
    eval_stride: int | None = None,
    val_fraction: float = 0.1,
) -> Splits:
    """Train on ``train_segments`` (validation carved from their end), test on ``test_segments``."""
    label = holdout_labels(ds, train_segments, test_segments, window=window, val_fraction=val_fraction)
    return splits_from_labels(ds, label, window=window, stride=stride, eval_stride=eval_stride)


def unknown_segments(ds) -> int:
    """How many segments have exercise :data:`~miakit.contracts.dataset.UNKNOWN_EXERCISE`."""
    return int((segment_table(ds)[1] == UNKNOWN_EXERCISE).sum())


def known_exercises(ds) -> list[str]:
    """The dataset's exercise names, sorted, without :data:`~miakit.contracts.dataset.UNKNOWN_EXERCISE`."""
    return sorted(set(segment_table(ds)[1].tolist()) - {UNKNOWN_EXERCISE})


def split_leave_one_exercise_out(
    ds, exercise: str, *, window: int = 30, stride: int = 1, eval_stride: int | None = None, val_fraction: float = 0.1
) -> Splits:
    """Test on every segment of ``exercise``; train on every other exercise (the paper's Table 1, right).

    Segments of unknown exercise are in neither: one of them may be ``exercise`` itself."""
    _, exercises, _ = segment_table(ds)
    if exercise == UNKNOWN_EXERCISE:
        raise DatasetError(
            dataset_where(ds),
            "an unknown exercise cannot be left out",
            field="segment_exercise",
            expected=f"one of {known_exercises(ds)}",
            found=exercise,
        )
    _require(exercise, exercises, "segment_exercise", dataset_where(ds))
    test = exercises == exercise
    train = ~test & (exercises != UNKNOWN_EXERCISE)
    return split_holdout(
        ds, train, test, window=window, stride=stride, eval_stride=eval_stride, val_fraction=val_fraction
    )


def split_leave_one_subject_out(
    ds, subject: str, *, window: int = 30, stride: int = 1, eval_stride: int | None = None, val_fraction: float = 0.1
) -> Splits:
    """Test on every segment of ``subject``; train on every other subject."""
    subjects, _, _ = segment_table(ds)
    _require(subject, subjects, "segment_subject", dataset_where(ds))
    test = subjects == subject
    return split_holdout(
        ds, ~test, test, window=window, stride=stride, eval_stride=eval_stride, val_fraction=val_fraction
    )


def has_release_split(ds) -> bool:
    """Whether the dataset's source defines its own split (``segment_split`` holds both train and val)."""
    _, _, split = segment_table(ds)
    return {"train", "val"} <= set(split.tolist())


def split_release(
    ds, *, window: int = 30, stride: int = 1, eval_stride: int | None = None, val_fraction: float = 0.1
) -> Splits:
    """The source's own split: test on its ``val`` segments, train on its ``train`` segments (with
    our validation carved from their end, since the source's val is the test set here)."""
    _, _, split = segment_table(ds)
    if not has_release_split(ds):
        raise DatasetError(
            dataset_where(ds),
            "the dataset defines no split of its own",
            field="segment_split",
            expected="train and val",
            found=sorted(set(split.tolist())),
        )
    return split_holdout(
        ds,
        split == "train",
        split == "val",
        window=window,
        stride=stride,
        eval_stride=eval_stride,
        val_fraction=val_fraction,
    )


@dataclass(frozen=True)
class TransferSplits:
    """Subject transfer: ``pretrain`` on the source subject, then per ``k`` the target's first ``k``
    exercises for training (fine-tuning, or from scratch); every split tests on the same target
    exercises (``test_exercises``)."""

    source: str
    target: str
    pretrain: Splits
    by_k: dict[int, Splits]
    train_exercises: tuple[str, ...]  # the target's exercises in the order they are added
    test_exercises: tuple[str, ...]


def split_subject_transfer(
    ds,
    *,
    source: str,
    target: str,
    ks: tuple[int, ...],
    window: int = 30,
    stride: int = 1,
    eval_stride: int | None = None,
    val_fraction: float = 0.1,
) -> TransferSplits:
    """Splits for the paper's Figure 7: train on ``source``; fine-tune on growing numbers ``ks`` of
    ``target``'s exercises (sorted by name); test on ``target``'s exercises after the largest ``k``.
    The target's segments of unknown exercise are neither fine-tuned on nor tested.

    The pretraining split tests on the same target test exercises, so its test RMSE is the
    zero-shot point (k = 0). ``ks`` larger than the target's exercise count minus one are dropped.
    """
    subjects, exercises, _ = segment_table(ds)
    _require(source, subjects, "segment_subject", dataset_where(ds))
    _require(target, subjects, "segment_subject", dataset_where(ds))
    if source == target:
        raise ValueError("source and target subjects must differ")
    order = sorted(set(exercises[subjects == target].tolist()) - {UNKNOWN_EXERCISE})
    ks = tuple(sorted({int(k) for k in ks if 1 <= k <= len(order) - 1}))
    if not ks:
        raise DatasetError(
            dataset_where(ds),
            "too few exercises of the target subject for subject transfer",
            field="segment_exercise",
            expected="at least 2",
            found=len(order),
        )
    test = (subjects == target) & np.isin(exercises, order[max(ks) :])
    common: dict[str, Any] = dict(window=window, stride=stride, eval_stride=eval_stride, val_fraction=val_fraction)
    pretrain = split_holdout(ds, subjects == source, test, **common)
    by_k = {k: split_holdout(ds, (subjects == target) & np.isin(exercises, order[:k]), test, **common) for k in ks}
    return TransferSplits(source, target, pretrain, by_k, tuple(order[: max(ks)]), tuple(order[max(ks) :]))


def dataset_where(ds) -> str:
    """How an error names the dataset: the store or catalog name it was opened by
    (:func:`miakit.catalog.open_dataset` keeps it in ``ds.encoding["source"]``), else "the dataset"."""
    return str(getattr(ds, "encoding", {}).get("source") or "the dataset")


def _require(value: str, present: np.ndarray, field: str, where: str = "the dataset") -> None:
    if value not in set(present.tolist()):
        raise DatasetError(
            where, "no such value", field=field, expected=f"one of {sorted(set(present.tolist()))}", found=value
        )


class WindowDataset:
    """A map-style torch dataset of windows: item ``i`` is ``(x (T, F), y (M, T))`` float32 tensors.

    ``y`` is divided by ``emg_scale`` (the paper trains on EMG / 100). Works with
    ``torch.utils.data.DataLoader``.
    """

    def __init__(self, frames: FrameArrays, index: WindowIndex, *, emg_scale: float = 100.0):
        self.frames = frames
        self.index = index
        self.emg_scale = emg_scale

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int):
        import torch

        rows = self.frames.inputs[self.index.start[i] : self.index.start[i] + self.index.window]
        emg = self.frames.emg[self.index.start[i] : self.index.start[i] + self.index.window].T / self.emg_scale
        return torch.from_numpy(np.ascontiguousarray(rows)), torch.from_numpy(np.ascontiguousarray(emg))
