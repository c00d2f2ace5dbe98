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
    table = pd.DataFrame({"random": [20.0, 22.0, 21.0], "nn": [12.0, 14.0, 13.0], "transformer": [9.0, 9.5, 9.25], "noise_floor": [5.0, 5.0, 5.0]}, index=["a", "b", "mean"])
    (tmp_path / "plots").mkdir()
    bars = report.plot_per_exercise(table, tmp_path / "plots" / "bars.png", models=("random", "nn", "transformer"))
    rng = np.random.default_rng(0)
    example = report.plot_example(rng.uniform(0, 50, (3, 30)), {"nn": rng.uniform(0, 50, (3, 30))}, ["A", "B", "C"], tmp_path / "ex.png")
    for png in (bars, example):
        assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 2000
    path = report.write_report(tmp_path / "report.md", title="T", sections=[("S", report.image(bars, tmp_path / "report.md", "bars"))])
    assert "![bars](plots/bars.png)" in path.read_text()
