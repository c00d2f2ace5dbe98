"""``miakit train --model miakit`` trains the miakit recipe without a list of --set options."""

from __future__ import annotations

import pytest
from dataset_builders import make_dataset
from typer.testing import CliRunner

from miakit.cli import app
from miakit.errors import InputError
from miakit.layout import BODY_25, MUSCLES
from miakit.learn.config import TrainConfig
from miakit.learn.inference import load_checkpoint
from miakit.learn.recipes import MIAKIT, RECIPES, recipe_config
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


def test_a_recipe_by_name_is_its_train_config_and_an_unknown_name_is_refused():
    assert RECIPES["miakit"] is MIAKIT
    assert recipe_config("miakit") == TrainConfig(**MIAKIT)
    assert recipe_config("miakit", max_steps=7).max_steps == 7
    with pytest.raises(InputError, match="unknown recipe"):
        recipe_config("transformer-xl")
