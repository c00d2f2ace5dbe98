"""``miakit train --model miakit`` trains the miakit recipe without a list of --set options."""

from __future__ import annotations

from dataset_builders import make_dataset
from typer.testing import CliRunner

from miakit.bench.ablation import MIAKIT
from miakit.cli import app
from miakit.layout import BODY_25, MUSCLES
from miakit.learn.inference import load_checkpoint
from miakit.store import write_dataset


def test_the_miakit_model_carries_its_recipe_and_set_still_overrides(tmp_path):
    ds = make_dataset(frames=120, subjects=("s0", "s1"), exercises=("squat", "twist"))
    ds = ds.assign_coords(keypoint=list(BODY_25), muscle=list(MUSCLES)).assign_attrs(muscles=list(MUSCLES))
    store = write_dataset(ds, tmp_path / "d.zarr") or tmp_path / "d.zarr"
    args = [
        "train",
        "--dataset",
        str(store),
        "--out",
        str(tmp_path / "run"),
        "--model",
        "miakit",
        "--set",
        "max_steps=1",
        "--set",
        "eval_every=1",
        "--set",
        "window=10",
        "--set",
        "batch_size=8",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    _, config, _ = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert (config.model, config.features, config.augment, config.context) == (
        MIAKIT["model"],
        MIAKIT["features"],
        MIAKIT["augment"],
        MIAKIT["context"],
    )
    assert config.batch_size == 8  # --set wins over the recipe
