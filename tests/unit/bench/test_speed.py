"""The speed benchmarks: the clip files and the store hold the same windows; a quick run writes its figures."""

from __future__ import annotations

import json

import numpy as np
import pytest

from miakit.bench.speed import LEAN_FILES, ClipFiles, StoreWindows, clip_folders, run_speed, write_release


def test_clip_files_and_the_store_hold_the_same_windows(tmp_path):
    from miakit.importers.mia_release import import_mia_release

    write_release(tmp_path / "release", subjects=2, exercises=2, clips=3)
    import_mia_release(tmp_path / "release", tmp_path / "ds.zarr")
    clips = ClipFiles(clip_folders(tmp_path / "release"), LEAN_FILES)
    store = StoreWindows(tmp_path / "ds.zarr")
    assert len(clips) == len(store) == 12
    x, y = store[list(range(12))]
    for k in (0, 5, 11):
        item = clips[k]
        np.testing.assert_allclose(y[k].numpy(), item["emgvalues"])
        np.testing.assert_allclose(
            x[k].numpy(), (item["joints2d"] / np.array([1080, 1920], np.float32)).reshape(30, -1), rtol=1e-6
        )
    assert not np.allclose(x[0].numpy(), x[1].numpy())


def test_quick_run_writes_positive_figures(tmp_path):
    import torch

    threads = torch.get_num_threads()
    results = run_speed(tmp_path, quick=True, progress=False)
    assert results["training"]["torch_threads"] == 1 and torch.get_num_threads() == threads  # one thread, then restored
    saved = json.loads((tmp_path / "speed.json").read_text())
    assert saved["loading"]["windows"] == results["loading"]["windows"] == 32
    for key in (
        "authors_clip_windows_per_s",
        "lean_clip_windows_per_s",
        "store_windows_per_s",
        "store_cold_windows_per_s",
        "ratio_vs_authors",
    ):
        assert saved["loading"][key] > 0, key
    for key in ("trainer_samples_per_s", "bare_samples_per_s", "ratio"):
        assert saved["training"][key] > 0, key
    tr = saved["training"]
    assert tr["wall_ratio"] == pytest.approx(tr["trainer_samples_per_s"] / tr["bare_samples_per_s"])
    assert tr["cpu_ratio"] == pytest.approx(min(tr["bare_cpu_s"]) / min(tr["trainer_cpu_s"]))
    assert tr["ratio"] == (tr["cpu_ratio"] if tr["ratio_basis"] == "cpu" else tr["wall_ratio"])
    assert tr["pair_ratio_min"] <= tr["pair_ratio_median"] <= tr["pair_ratio_max"]
    page = (tmp_path / "speed.md").read_text()
    assert "windows/s" in page and "Trainer / bare loop" in page and "| trainer vs bare loop |" in page
    assert "process CPU time" in page and "wall clock" in page
