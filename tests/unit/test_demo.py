"""The demo tells the truth about its training: all steps, stopped early, or cut by a time budget."""

from __future__ import annotations

import pandas as pd

from miakit.demo import training_note
from miakit.learn.config import TrainConfig


def _history(tmp_path, steps, elapsed, val=10.0):
    path = tmp_path / "history.csv"
    pd.DataFrame({"step": steps, "lr": 0.001, "train_loss": 0.1, "val_rmse": val, "elapsed_s": elapsed}).to_csv(
        path, index=False
    )
    return path


def test_the_demo_trains_a_fixed_number_of_steps_by_default():
    config = TrainConfig.demo(max_seconds=0.0)
    assert config.max_seconds == 0 and config.max_steps == 500  # the same result on any machine


def test_a_run_cut_by_the_time_budget_says_so(tmp_path):
    config = TrainConfig.demo(max_seconds=150.0)
    note = training_note("the paper's Transformer", _history(tmp_path, [19], [151.0]), config)
    assert "cut by the time budget at step 19 of 500" in note and "depend on this machine" in note


def test_all_steps_and_early_stopping_are_told_apart(tmp_path):
    config = TrainConfig.demo(max_seconds=0.0)
    assert "trained all 500 steps" in training_note("m", _history(tmp_path, [250, 500], [60.0, 120.0]), config)
    assert "stopped early at step 300 of 500" in training_note(
        "m", _history(tmp_path, [250, 300], [60.0, 70.0]), config
    )


def test_a_run_still_improving_at_its_last_step_says_so(tmp_path):
    config = TrainConfig.demo(max_seconds=0.0)
    note = training_note("t", _history(tmp_path, [250, 450, 500], [60.0, 110.0, 120.0], val=[9.0, 8.3, 8.1]), config)
    assert "still improving at the end (validation RMSE 8.30 at step 450, 8.10 at step 500)" in note
    assert "still improving" not in training_note(
        "t", _history(tmp_path, [250, 450, 500], [60.0, 110.0, 120.0], val=[9.0, 8.0, 8.1]), config
    )
