"""Data-parallel training: 2 CPU processes under torchrun (gloo) agree with each other and with one.

Dropout is off (``dropout=0``) so that the only difference between 2 processes x 4 windows and
1 process x 8 windows is the order of float sums.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from dataset_builders import make_dataset

from miakit.learn.config import TrainConfig
from miakit.learn.train import train
from miakit.store import open_store, write_dataset

WORKER = Path(__file__).with_name("ddp_worker.py")
CONFIG = dict(
    model="transformer",
    window=10,
    batch_size=8,
    max_steps=6,
    eval_every=3,
    warmup_steps=2,
    patience=100,
    lr=1e-3,
    dropout=0.0,
    device="cpu",
    eval_stride=10,
)


def _weights(path: Path) -> dict:
    import torch

    return torch.load(path, weights_only=True)


def _torchrun(store: Path, out: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(WORKER),
        str(store),
        str(out),
        json.dumps(CONFIG),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny store, a 2-process run of it (straight and resumed) and a 1-process run."""
    root = tmp_path_factory.mktemp("ddp")
    write_dataset(make_dataset(subjects=("s0",), exercises=("squat", "twist"), frames=200), root / "ds.zarr")
    _torchrun(root / "ds.zarr", root / "two")
    one = train(open_store(root / "ds.zarr"), TrainConfig(**CONFIG), root / "one", progress=False)
    return root, one


def test_both_ranks_end_with_identical_weights(runs):
    import torch

    root, _ = runs
    a, b = _weights(root / "two" / "straight-rank0.pt"), _weights(root / "two" / "straight-rank1.pt")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_two_processes_match_one_process_with_the_same_global_batch(runs):
    import torch

    root, one = runs
    two = pd.read_csv(root / "two" / "straight" / "history.csv")
    assert list(two["step"]) == list(one.history["step"]) == [3, 6]
    torch.testing.assert_close(
        torch.tensor(two["train_loss"].values), torch.tensor(one.history["train_loss"].values), rtol=1e-5, atol=1e-7
    )
    torch.testing.assert_close(
        torch.tensor(two["val_rmse"].values), torch.tensor(one.history["val_rmse"].values), rtol=1e-5, atol=1e-6
    )
    ddp, single = _weights(root / "two" / "straight-rank0.pt"), one.model.state_dict()
    for name in single:
        torch.testing.assert_close(ddp[name], single[name], rtol=1e-4, atol=1e-6, msg=name)
    assert not torch.equal(ddp["embed.weight"], _initial_embedding())  # and training moved the weights


def test_a_resumed_two_process_run_equals_a_straight_one(runs):
    import torch

    root, _ = runs
    straight, resumed = _weights(root / "two" / "straight-rank0.pt"), _weights(root / "two" / "resumed-rank1.pt")
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)
    assert pd.read_csv(root / "two" / "resumed" / "history.csv")["step"].tolist() == [3, 6]


def _initial_embedding():
    """The Transformer's embedding as built (seed 0) before any step, to show training moved it."""
    from miakit.learn.models import build_model
    from miakit.learn.train import seed_everything

    seed_everything(CONFIG.get("seed", 0))
    return build_model("transformer", n_features=50, n_muscles=8).embed.weight.detach()
