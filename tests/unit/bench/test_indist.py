"""The in-distribution benchmark end to end on a small synthetic dataset, from a real Zarr store."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from miakit.bench.indist import run_in_distribution
from miakit.errors import InputError
from miakit.learn.config import TrainConfig

TINY = dict(window=10, batch_size=8, max_steps=4, eval_every=2, warmup_steps=1, patience=100)


@pytest.fixture(scope="module")
def tiny_run(bench_ds, tmp_path_factory):
    from miakit.store import open_store, write_dataset

    root = tmp_path_factory.mktemp("bench")
    write_dataset(bench_ds, root / "d.zarr", chunk_frames=512)
    return run_in_distribution(
        open_store(root / "d.zarr"), root / "out", config=TrainConfig(**TINY), progress=False
    ), root


def test_report_table_and_files(tiny_run, bench_ds):
    result, root = tiny_run
    out = root / "out"
    table = result.table
    assert list(table.index) == ["running", "squat", "twist", "mean"]
    assert {"random", "nn", "transformer", "noise_floor", "windows"} <= set(table.columns)
    np.testing.assert_allclose(
        table.loc["mean", ["random", "nn", "transformer"]], table.iloc[:-1][["random", "nn", "transformer"]].mean()
    )
    assert table["noise_floor"].between(2.0, 4.0).all(), "the fixture's noise is 3 units"
    assert table.loc["mean", "random"] > table.loc["mean", "nn"], "Random must be worst on this learnable data"
    saved = pd.read_csv(out / "in_distribution.csv", index_col=0)
    np.testing.assert_allclose(
        saved[["random", "nn", "transformer"]].values, table[["random", "nn", "transformer"]].values
    )
    assert list(result.per_muscle.index) == [f"M{m}" for m in range(8)]
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["pearson"]) == {"random", "nn", "transformer"} and summary["step"] == 4
    for name in ("checkpoint.pt", "last.pt", "history.csv"):
        assert (out / "transformer" / name).is_file()


def test_report_links_plots_that_exist(tiny_run):
    result, root = tiny_run
    text = result.report.read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(links) >= 2
    for link in links:
        assert not link.startswith("/"), "plots are linked by relative path"
        png = result.report.parent / link
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| **mean** |" in text and "Nearest Neighbour" in text and "noise floor" in text


def test_bench_from_a_checkpoint_reuses_the_trained_model(tiny_run, bench_ds, tmp_path):
    result, _ = tiny_run
    again = run_in_distribution(bench_ds, tmp_path, checkpoint=result.checkpoint, progress=False)
    assert again.train_wall_s is None and not (tmp_path / "transformer").exists()
    np.testing.assert_allclose(again.table.values.astype(float), result.table.values.astype(float), rtol=1e-5)


def test_a_checkpoint_for_other_data_is_refused(tiny_run, tmp_path):
    result, _ = tiny_run
    from dataset_builders import make_dataset

    other = make_dataset(frames=600, n_muscles=5)
    with pytest.raises(InputError, match="another shape"):
        run_in_distribution(other, tmp_path, checkpoint=result.checkpoint, progress=False)
