"""Every number checked at the door (issue 33, item 6): a setting or option that is NaN, infinite,
out of its range or too large for memory is one line (exit 2, no traceback) before any work, and
nothing is written. The real command runs in a subprocess."""

from __future__ import annotations

import math

import pytest
from cli_helpers import assert_refused, run
from dataset_builders import make_dataset

from miakit.errors import InputError
from miakit.ranges import in_range
from miakit.store import write_dataset


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("numbers") / "s.zarr"
    write_dataset(make_dataset(subjects=("s0",), exercises=("squat", "running"), frames=120), path)
    return path


SETTINGS = [
    ("lr=inf", "lr"),
    ("lr=nan", "lr"),
    ("emg_scale=nan", "emg_scale"),
    ("weight_decay=inf", "weight_decay"),
    ("min_lr=nan", "min_lr"),
    ("seed=-1", "seed"),
    ("test_fraction=1", "test_fraction"),
    ("val_fraction=nan", "val_fraction"),
    ("device=../../etc", "device"),
    ("max_seconds=nan", "max_seconds"),
    ("batch_size=1e8", "batch_size"),
    ("batch_size=100000000", "batch_size"),
    ("batch_size=60000", "does not fit in memory"),
    ("grad_clip=inf", "grad_clip"),
]


@pytest.mark.parametrize("setting, word", SETTINGS, ids=[s for s, _ in SETTINGS])
def test_train_settings_are_checked_at_the_door(store, tmp_path, setting, word):
    out = tmp_path / "run"
    result = run("train", "--dataset", store, "--out", out, "--set", setting)
    assert_refused(result, "train config", word)
    assert not out.exists()


def test_bench_settings_are_checked_at_the_door(store, tmp_path):
    out = tmp_path / "bench"
    assert_refused(run("bench", "--dataset", store, "--out", out, "--set", "lr=inf"), "lr", "inf")
    assert not out.exists()


def test_a_checkpoint_of_nan_weights_cannot_start_a_training(store, tmp_path):
    import torch

    from miakit.learn.config import TrainConfig
    from miakit.learn.train import train
    from miakit.store import open_store

    config = TrainConfig(window=10, batch_size=8, max_steps=1, eval_every=1, warmup_steps=1)
    ckpt = train(open_store(store), config, tmp_path / "base", progress=False).checkpoint
    state = torch.load(ckpt, weights_only=True)
    state["model"] = {k: v.float().fill_(math.nan) if v.is_floating_point() else v for k, v in state["model"].items()}
    torch.save(state, tmp_path / "nan.pt")
    out = tmp_path / "run"
    result = run(
        "train", "--dataset", store, "--out", out, "--init", tmp_path / "nan.pt",
        "--set", "window=10", "--set", "batch_size=8", "--set", "max_steps=2", "--set", "warmup_steps=1",
    )  # fmt: skip
    assert_refused(result, "nan.pt", "not finite")
    assert not (out / "checkpoint.pt").exists()


REAL = ["bench", "real", "--checkpoint", "c.pt", "--dataset", "STORE", "--out", "OUT"]
FINETUNE = ["bench", "finetune", "--checkpoint", "c.pt", "--dataset", "STORE", "--out", "OUT"]
OPTIONS = [
    (["pose", "v.mp4", "--out", "OUT.csv", "--rate-hz", "1e9"], "--rate-hz"),
    (["pose", "v.mp4", "--out", "OUT.csv", "--rate-hz", "nan"], "--rate-hz"),
    ([*REAL, "--max-lag-s", "1e9"], "--max-lag-s"),
    ([*REAL, "--max-lag-s", "nan"], "--max-lag-s"),
    ([*REAL, "--surrogates", "1000000000"], "--surrogates"),
    ([*FINETUNE, "--lr", "nan"], "--lr"),
    ([*FINETUNE, "--lr", "inf"], "--lr"),
    (["import", "trc", "w.trc", "--out", "OUT.zarr", "--max-gap-s", "nan"], "--max-gap-s"),
    (["import", "c3d", "w.c3d", "--out", "OUT.zarr", "--max-gap-s", "inf"], "--max-gap-s"),
    (["import", "uci-emg", "uci", "--out", "OUT.zarr", "--raw-rate-hz", "nan"], "--raw-rate-hz"),
]  # fmt: skip


@pytest.mark.parametrize("args, word", OPTIONS, ids=[f"{a[0]}-{a[1]}-{a[-2]}={a[-1]}" for a, _ in OPTIONS])
def test_command_options_are_checked_at_the_door(store, tmp_path, args, word):
    out = tmp_path / "out"
    for name in ("v.mp4", "c.pt", "w.trc", "w.c3d"):
        (tmp_path / name).write_bytes(b"\0" * 16)
    (tmp_path / "uci").mkdir()
    args = [
        a.replace("OUT", str(out)) if "OUT" in a else str(store) if a == "STORE" else a
        for a in args
    ]  # fmt: skip
    result = run(*args, cwd=tmp_path)
    line = assert_refused(result, word, "expected a finite number")
    assert "found" in line
    assert not any(p.name.startswith("out") for p in tmp_path.iterdir())


def test_in_range_says_what_it_expects():
    assert in_range("--x", 0.5, 0, 1) == 0.5
    assert in_range("--x", 1, 0, 1) == 1
    for bad in (math.nan, math.inf, -math.inf, -0.1, 1.1, True, "1"):
        with pytest.raises(InputError, match="expected a finite number from 0 to 1"):
            in_range("--x", bad, 0, 1)
    with pytest.raises(InputError, match="above 0 and at most 1"):
        in_range("lr", 0.0, 0, 1, above=True, where="train config")
