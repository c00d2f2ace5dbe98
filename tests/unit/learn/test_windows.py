"""Windows and splits on small in-memory datasets and on a real Zarr store."""

from __future__ import annotations

import numpy as np
import pytest
from dataset_builders import make_dataset

from miakit.contracts.dataset import segment_of_frame
from miakit.errors import DatasetError
from miakit.learn.windows import (
    WindowDataset,
    in_distribution_labels,
    load_frames,
    run_bounds,
    split_in_distribution,
    windows_where,
)


def _assert_windows_clean(ds, index):
    seg = segment_of_frame(ds)
    valid = np.asarray(ds["valid"].values)
    frames = index.frames()
    assert frames.max(initial=0) < ds.sizes["frame"]
    assert np.all(seg[frames] == index.segment[:, None]), "a window crosses a segment"
    assert np.all(valid[frames]), "a window covers an invalid frame"


def test_windows_never_cross_segments_and_skip_invalid_frames(small_ds):
    splits = split_in_distribution(small_ds, window=30, stride=1)
    for name in ("train", "val", "test"):
        index = getattr(splits, name)
        assert len(index) > 0, name
        _assert_windows_clean(small_ds, index)


def test_train_val_test_are_separated_in_time_by_a_window(small_ds):
    window = 30
    splits = split_in_distribution(small_ds, window=window, stride=1)
    train, val, test = (set(getattr(splits, n).frames().ravel().tolist()) for n in ("train", "val", "test"))
    assert not (train & val) and not (train & test) and not (val & test)
    for seg in range(small_ds.sizes["segment"]):  # one segment per subject x exercise here
        tr = splits.train.frames()[splits.train.segment == seg]
        va = splits.val.frames()[splits.val.segment == seg]
        te = splits.test.frames()[splits.test.segment == seg]
        assert tr.max() + window <= va.min() and va.max() + window <= te.min()


def test_split_is_about_80_20_within_each_subject_and_exercise():
    ds = make_dataset(frames=500, segments_per_pair=2)
    label = in_distribution_labels(ds, window=30, test_fraction=0.2, val_fraction=0.1)
    seg = segment_of_frame(ds)
    pairs = np.char.add(ds["segment_subject"].values.astype(str)[seg], ds["segment_exercise"].values.astype(str)[seg])
    for pair in np.unique(pairs):
        lab = label[pairs == pair]
        assert abs(np.mean(lab == 2) - 0.2) < 0.01
        assert np.all(np.diff(np.flatnonzero(lab == 2)) == 1), "test frames are the last ones in time"
        assert np.flatnonzero(lab == 0).max() < np.flatnonzero(lab == 1).min()


def test_stride_spaces_windows_within_a_run():
    ds = make_dataset(frames=100, subjects=("s0",), exercises=("squat",))
    index = windows_where(ds, np.zeros(100, dtype=np.int64), window=30, stride=7)[0]
    assert index.start.tolist() == list(range(0, 71, 7))
    index = windows_where(ds, np.zeros(100, dtype=np.int64), window=100, stride=1)[0]
    assert index.start.tolist() == [0]
    assert len(windows_where(ds, np.zeros(100, dtype=np.int64), window=101, stride=1)[0]) == 0


def test_too_little_data_is_a_clear_error():
    ds = make_dataset(frames=40, subjects=("s0",), exercises=("squat",))
    with pytest.raises(DatasetError, match="too few valid frames") as raised:
        split_in_distribution(ds, window=30)
    # The message says how long a session must be: the last 0.2 must hold a 30-frame window.
    assert "about 150 valid frames (15 s at 10 Hz)" in str(raised.value)
    assert "--duration" in str(raised.value) and "--set window=" in str(raised.value)


def test_frames_are_normalized_by_image_size_and_nan_becomes_zero(small_ds):
    frames = load_frames(small_ds)
    kp = small_ds["keypoints"].values
    assert frames.inputs.shape == (small_ds.sizes["frame"], 2 * small_ds.sizes["keypoint"])
    assert not np.isnan(frames.inputs).any()
    assert np.isnan(kp).any(), "the fixture must hold missing points"
    row = frames.inputs[0].reshape(-1, 2)
    ok = ~np.isnan(kp[0, :, 0])
    np.testing.assert_allclose(row[ok, 0], kp[0, ok, 0] / 1080, rtol=1e-6)
    np.testing.assert_allclose(row[ok, 1], kp[0, ok, 1] / 1920, rtol=1e-6)
    assert np.all(row[~ok] == 0)


def test_gather_and_torch_dataset_agree(small_ds):
    from torch.utils.data import DataLoader

    splits = split_in_distribution(small_ds, window=30)
    frames = load_frames(small_ds)
    x, y, clean = frames.gather(splits.test)
    assert x.shape == (len(splits.test), 30, 50) and y.shape == (len(splits.test), 8, 30) and clean.shape == y.shape
    np.testing.assert_array_equal(y[0, :, 0], small_ds["emg"].values[splits.test.start[0]])
    xb, yb = next(iter(DataLoader(WindowDataset(frames, splits.test, emg_scale=100.0), batch_size=len(splits.test))))
    np.testing.assert_allclose(xb.numpy(), x)
    np.testing.assert_allclose(yb.numpy(), y / 100.0, rtol=1e-6)


def test_windows_from_a_zarr_store_match_memory(small_ds, tmp_path):
    from miakit.store import open_store, write_dataset

    write_dataset(small_ds, tmp_path / "d.zarr", chunk_frames=256)
    lazy = open_store(tmp_path / "d.zarr")
    a, b = split_in_distribution(small_ds, window=30), split_in_distribution(lazy, window=30)
    np.testing.assert_array_equal(a.train.start, b.train.start)
    np.testing.assert_array_equal(a.test.start, b.test.start)
    np.testing.assert_allclose(load_frames(lazy).inputs, load_frames(small_ds).inputs)


def test_context_frames_stay_in_the_windows_run_of_valid_frames(small_ds):
    """Inputs with context are the window plus ``context`` frames either side; at a segment's start
    or end, and next to an invalid frame, the edge frame repeats instead."""
    frames = load_frames(small_ds)
    splits = split_in_distribution(small_ds, window=30, stride=1)
    index = splits.train
    x, y, _ = frames.gather(index, context=3)
    x0, y0, _ = frames.gather(index)
    assert x.shape == (len(index), 36, frames.n_features) and y.shape == y0.shape
    np.testing.assert_array_equal(x[:, 3:33], x0)
    np.testing.assert_array_equal(y, y0)
    cols = frames.input_frames(index.start, 30, 3)
    seg = segment_of_frame(small_ds)
    valid = np.asarray(small_ds["valid"].values)
    assert np.all(seg[cols] == index.segment[:, None]) and np.all(valid[cols])
    first = np.flatnonzero(index.start == np.asarray(small_ds["segment_start"].values)[index.segment])
    assert len(first) and np.all(cols[first, :4] == index.start[first, None])  # held at the segment's first frame
    inner = np.flatnonzero(cols[:, 0] == index.start - 3)
    assert len(inner)  # and elsewhere the frames before the window


def test_run_bounds():
    first, last = run_bounds(np.array([0, 0, 0, -1, 1, 1, -2, 2]))
    assert first.tolist() == [0, 0, 0, 3, 4, 4, 6, 7] and last.tolist() == [2, 2, 2, 3, 5, 5, 6, 7]


# -- segments of unknown exercise (a session that named none) -------------------------------------


@pytest.fixture(scope="module")
def unknown_ds():
    from miakit.contracts.dataset import UNKNOWN_EXERCISE

    return make_dataset(exercises=("squat", "running", "twist", UNKNOWN_EXERCISE), frames=200)


def test_leave_one_exercise_out_never_trains_or_tests_on_unknown_segments(unknown_ds):
    from miakit.contracts.dataset import UNKNOWN_EXERCISE
    from miakit.learn.windows import known_exercises, split_leave_one_exercise_out, unknown_segments

    assert unknown_segments(unknown_ds) == 2 and UNKNOWN_EXERCISE not in known_exercises(unknown_ds)
    s = split_leave_one_exercise_out(unknown_ds, "squat", window=10)
    assert set(s.test.exercise.tolist()) == {"squat"}
    assert set(s.train.exercise.tolist()) == {"running", "twist"}  # an unknown segment may be squat itself
    with pytest.raises(DatasetError, match="unknown exercise cannot be left out"):
        split_leave_one_exercise_out(unknown_ds, UNKNOWN_EXERCISE, window=10)


def test_in_distribution_groups_unknown_segments_as_their_own_exercise(unknown_ds):
    from miakit.contracts.dataset import UNKNOWN_EXERCISE

    s = split_in_distribution(unknown_ds, window=10)
    assert UNKNOWN_EXERCISE in set(s.train.exercise.tolist()) and UNKNOWN_EXERCISE in set(s.test.exercise.tolist())


def test_subject_transfer_leaves_unknown_segments_out_of_the_target(unknown_ds):
    from miakit.contracts.dataset import UNKNOWN_EXERCISE
    from miakit.learn.windows import split_subject_transfer

    t = split_subject_transfer(unknown_ds, source="s0", target="s1", ks=(1, 2), window=10)
    assert UNKNOWN_EXERCISE not in t.train_exercises + t.test_exercises
    for splits in t.by_k.values():
        assert UNKNOWN_EXERCISE not in set(splits.train.exercise.tolist()) | set(splits.test.exercise.tolist())


def test_the_paper_bench_leaves_unknown_out_of_its_loeo_folds(unknown_ds):
    from miakit.bench.paper import _loeo_exercises, get_profile

    assert _loeo_exercises(unknown_ds, get_profile("quick")) == ["running", "twist"]
