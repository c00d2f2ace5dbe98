"""Fine-tuning on a lab's own trials (``miakit train --init``, ``miakit bench finetune``) on the
shared C3D walk and box lift. With two trials (only the walk has legs) these check the machinery,
not how well fine-tuning works."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import miakit
from miakit.bench.finetune import leave_one_trial_out, normalized_emg, run_finetune
from miakit.contracts.dataset import segment_of_frame
from miakit.errors import InputError


def cli(*args):
    return subprocess.run([sys.executable, "-m", "miakit.cli", *args], capture_output=True, text=True, timeout=300)


def test_a_trials_views_are_never_split_across_train_and_test(real_store):
    ds = miakit.open_dataset(real_store)
    seg = segment_of_frame(ds)
    trials = np.asarray(ds["segment_session"].values).astype(str)
    seen = []
    for held_out, test, splits in leave_one_trial_out(ds, window=10):
        seen.append(held_out)
        assert test.sum() == 2, "both views of the held-out trial are tested"
        train_segments = set(seg[splits.train.frames().ravel()].tolist())
        test_segments = set(seg[splits.test.frames().ravel()].tolist())
        assert train_segments and test_segments
        assert {trials[s] for s in train_segments} == set(trials) - {held_out}
        assert {trials[s] for s in test_segments} == {held_out} and test_segments == set(np.flatnonzero(test).tolist())
        assert len(splits.val) == 0
    assert seen == ["gaitalytics-walk", "pyomeca-box-lift"]


def test_lab_emg_is_scaled_per_trial_and_muscle_and_keeps_its_shape(real_store):
    ds = miakit.open_dataset(real_store)
    scaled = normalized_emg(ds)
    a, b = np.asarray(ds["emg"].values, np.float64), np.asarray(scaled["emg"].values, np.float64)
    walk = slice(0, int(ds["segment_length"][0]))
    quad = list(ds["muscle"].values).index("RightQuad")
    assert np.percentile(b[walk, quad], 95) == pytest.approx(50.0, rel=1e-4)
    assert np.corrcoef(a[walk, quad], b[walk, quad])[0, 1] == pytest.approx(1.0)
    assert np.array_equal(np.isnan(a), np.isnan(b)), "missing muscles stay missing"


def test_finetune_reports_both_methods_per_held_out_trial(real_store, body25_ckpt, tmp_path):
    result = run_finetune(miakit.open_dataset(real_store), body25_ckpt, tmp_path, steps=2, surrogates=20)
    table = result.table
    for trial in ("gaitalytics-walk", "pyomeca-box-lift", "pooled"):
        for method in ("as_is", "finetuned", "scratch"):
            assert (trial, method) in table.index
    assert (
        table.loc[("gaitalytics-walk", "finetuned"), "units"] == 8
        and table.loc[("pyomeca-box-lift", "scratch"), "units"] == 4
    )
    units = pd.read_csv(tmp_path / "units.csv")
    assert set(units["method"]) == {"as_is", "finetuned", "scratch"} and units["r"].dropna().between(-1, 1).all()
    for trial in ("gaitalytics-walk", "pyomeca-box-lift"):
        assert set(units[units["held_out"] == trial]["trial"]) == {trial}, "only the held-out trial is scored"
        for method in ("finetuned", "scratch"):
            assert (tmp_path / "runs" / trial / method / "checkpoint.pt").is_file()
    text = result.report.read_text()
    assert "a check that the recipe runs, not a measurement" in text and "finetuned" in text and "scratch" in text
    # fine-tuning starts from the checkpoint: after 2 small steps it predicts like it, unlike a fresh start
    as_is = units[(units["method"] == "as_is") & (units["held_out"] == "gaitalytics-walk")]["r"].to_numpy()
    tuned = units[(units["method"] == "finetuned") & (units["held_out"] == "gaitalytics-walk")]["r"].to_numpy()
    assert np.nanmax(np.abs(as_is - tuned)) < 0.5


def test_train_init_refuses_another_layout_in_one_line(real_store, tmp_path):
    from dataset_builders import make_dataset

    from miakit.learn.config import TrainConfig
    from miakit.learn.train import check_init, train
    from miakit.learn.windows import load_frames

    other = train(
        make_dataset(frames=120, subjects=("s0",), exercises=("squat",)),
        TrainConfig(window=10, batch_size=4, max_steps=1, eval_every=1, warmup_steps=1),
        tmp_path / "k",
        progress=False,
    ).checkpoint
    run = cli(
        "train",
        "--dataset",
        str(real_store),
        "--out",
        str(tmp_path / "t"),
        "--init",
        str(other),
        "--set",
        "window=10",
        "--set",
        "max_steps=1",
    )
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "keypoints" in run.stderr and "checkpoint" in run.stderr, run.stderr
    frames = load_frames(miakit.open_dataset(real_store))
    with pytest.raises(InputError, match="features"):
        check_init(other, TrainConfig(window=10, features="body"), frames)


def test_train_init_fine_tunes_from_a_compatible_checkpoint(real_store, body25_ckpt, tmp_path):
    run = cli(
        "train",
        "--dataset",
        str(real_store),
        "--out",
        str(tmp_path / "t"),
        "--init",
        str(body25_ckpt),
        "--set",
        "window=10",
        "--set",
        "max_steps=2",
        "--set",
        "eval_every=2",
        "--set",
        "batch_size=4",
        "--set",
        "lr=1e-6",
        "--set",
        "warmup_steps=1",
    )
    assert run.returncode == 0, run.stderr[-1500:]
    import torch

    start = torch.load(body25_ckpt, weights_only=True)["model"]
    tuned = torch.load(tmp_path / "t" / "last.pt", weights_only=True)["model"]
    assert all(torch.allclose(start[k].float(), tuned[k].float(), atol=1e-3) for k in start), (
        "a tiny lr keeps the checkpoint's weights"
    )
    assert torch.load(tmp_path / "t" / "last.pt", weights_only=True)["state"]["step"] == 2


def test_bench_finetune_cli_help_has_an_example():
    run = cli("bench", "finetune", "--help")
    assert run.returncode == 0 and "Example: miakit bench finetune" in run.stdout
