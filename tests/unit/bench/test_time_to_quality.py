"""benchmarks/time_to_quality.py: the first evaluation at the paper's quality, and the ratios'
bookkeeping (no timing asserted)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "time_to_quality.py"


@pytest.fixture(scope="module")
def ttq():
    spec = importlib.util.spec_from_file_location("time_to_quality", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_first_evaluation_at_or_below_the_quality_counts(ttq):
    history = pd.DataFrame(
        {
            "step": [25, 50, 75, 100],
            "val_rmse": [9.0, 8.0, 7.5, 8.5],
            "elapsed_s": [1.0, 2.0, 3.0, 4.0],
            "cpu_s": [0.5, 1.0, 1.5, 2.0],
        }
    )
    assert ttq.first_reach(history, 8.0) == {"step": 50, "wall_s": 2.0, "cpu_s": 1.0, "val_rmse": 8.0}
    assert ttq.first_reach(history, 7.0) is None


def test_a_recipe_equal_to_the_papers_reaches_its_quality_at_its_best_step(ttq, bench_ds, tmp_path):
    """With no changes the second run is the paper's run again (same seed): it reaches the paper's
    best validation RMSE at the paper's best step, and the ratios are the times' quotients."""
    from miakit.learn.config import TrainConfig
    from miakit.learn.windows import load_frames, split_in_distribution

    base = TrainConfig(window=10, batch_size=8, max_steps=6, eval_every=2, warmup_steps=1, patience=100)
    splits = split_in_distribution(bench_ds, window=base.window)
    row = ttq.one_pair(bench_ds, base, {}, tmp_path, splits, load_frames(bench_ds), miakit_first=False)
    paper = pd.read_csv(tmp_path / "paper" / "history.csv")
    assert row["miakit_step_to_paper_quality"] == int(paper["step"][paper["val_rmse"].idxmin()])
    assert row["miakit_val_rmse_there"] == pytest.approx(row["paper_best_val_rmse"])
    assert row["ratio_cpu_with_setup"] == pytest.approx(
        row["paper_cpu_s_with_setup"] / row["miakit_cpu_s_to_paper_quality_with_setup"]
    )
    assert row["ratio_wall_loop"] == pytest.approx(
        row["paper_wall_s_loop"] / row["miakit_wall_s_to_paper_quality_loop"]
    )
    assert row["miakit_setup_cpu_s"] >= 0 and row["order"] == "paper/miakit"
