"""Report helpers: Markdown tables, relative image links, real PNG files."""

from __future__ import annotations

import numpy as np
import pandas as pd

from miakit.bench import report


def test_markdown_table_rounds_floats_keeps_integers_and_bolds_the_mean():
    df = pd.DataFrame({"random": [20.123, np.nan], "windows": [3, 6]}, index=["squat", "mean"])
    text = report.markdown_table(df, index_name="exercise")
    lines = text.splitlines()
    assert lines[0] == "| exercise | Random | windows |"
    assert lines[2] == "| squat | 20.12 | 3 |"
    assert lines[3] == "| **mean** | - | 6 |"


def test_plots_are_png_files_linked_relative_to_the_report(tmp_path):
    table = pd.DataFrame(
        {
            "random": [20.0, 22.0, 21.0],
            "nn": [12.0, 14.0, 13.0],
            "transformer": [9.0, 9.5, 9.25],
            "noise_floor": [5.0, 5.0, 5.0],
        },
        index=["a", "b", "mean"],
    )
    (tmp_path / "plots").mkdir()
    bars = report.plot_per_exercise(table, tmp_path / "plots" / "bars.png", models=("random", "nn", "transformer"))
    rng = np.random.default_rng(0)
    example = report.plot_example(
        rng.uniform(0, 50, (3, 30)), {"nn": rng.uniform(0, 50, (3, 30))}, ["A", "B", "C"], tmp_path / "ex.png"
    )
    for png in (bars, example):
        assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 2000
    path = report.write_report(
        tmp_path / "report.md", title="T", sections=[("S", report.image(bars, tmp_path / "report.md", "bars"))]
    )
    assert "![bars](plots/bars.png)" in path.read_text()


def test_example_window_labels_both_axes_with_units_and_names_subject_and_exercise():
    rng = np.random.default_rng(0)
    fig = report.example_figure(
        rng.uniform(0, 50, (4, 30)),
        {"nn": rng.uniform(0, 50, (4, 30))},
        ["A", "B", "C", "D"],
        title="test window 3: subject S1, squat",
        units="device units",
    )
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.lines]
    assert axes[0].get_ylabel() == "EMG (device units)" and axes[2].get_ylabel() == "EMG (device units)"
    assert axes[-1].get_xlabel() == "time in window (s)"
    assert "subject S1" in fig.get_suptitle() and "squat" in fig.get_suptitle()


def test_a_training_curve_of_one_evaluation_shows_its_point_and_says_so():
    history = pd.DataFrame({"step": [19], "lr": [1e-3], "train_loss": [0.4], "val_rmse": [12.5], "elapsed_s": [150.0]})
    fig = report.history_figure(history, title="the paper's Transformer on mia", units="device units")
    ax, twin = fig.axes
    val = next(line for line in ax.lines if line.get_gid() == "val_rmse")
    loss = next(line for line in twin.lines if line.get_gid() == "train_loss")
    assert val.get_marker() == "o" and loss.get_marker() == "s" and list(val.get_xdata()) == [19]
    lo, hi = ax.get_xlim()
    assert lo < 19 < hi
    assert "1 evaluation" in ax.get_title() and ax.get_ylabel() == "validation RMSE (device units)"
    assert ax.get_xlabel() == "training step" and twin.get_ylabel().startswith("training loss")
