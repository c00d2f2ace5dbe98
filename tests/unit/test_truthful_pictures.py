"""The demo's pictures tell the truth (issue 35): every model the report compares is in its plots,
named; one unit name; a common y scale and a zero line where muscles are compared; the test stretch
marked; labelled event lines; the representative frame away from the sync clap. Read from the
matplotlib objects (labels, ticks, titles), not from pixels."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from miakit import demo
from miakit.bench import report as rep
from miakit.layout import MUSCLES
from miakit.viz import plots

MODELS = ("random", "nn", "transformer", "miakit")


def _table() -> pd.DataFrame:
    table = pd.DataFrame(
        {
            "random": [20.0, 22.0],
            "nn": [8.0, 9.0],
            "transformer": [9.0, 9.5],
            "miakit": [6.0, 6.5],
            "noise_floor": [2.0, 2.0],
        },
        index=["squat", "running"],
    )
    table.loc["mean"] = table.mean()
    return table


def test_rmse_bars_name_every_model_in_one_unit():
    fig = rep.per_exercise_figure(_table(), models=MODELS, title="every model", units="")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert set(labels) == {"Random", "Nearest Neighbour", "Transformer", "miakit model", "noise floor"}
    assert ax.get_xlabel() == "RMSE (device units)"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["squat", "running", "mean"]
    note = "12 of 300 test frames within 1.5 s of a sync event (4.0%) left out"
    fig = rep.per_exercise_figure(_table(), models=MODELS, title="every model", caption=note)
    assert fig.axes[0].get_title() == f"every model\n{note}"


def test_example_window_and_training_curve_name_every_model():
    rng = np.random.default_rng(0)
    true = rng.random((8, 30)) * 50
    preds = {m: true + rng.normal(0, 3, true.shape) for m in MODELS}
    fig = rep.example_figure(true, preds, list(MUSCLES), title="window 3", units="")
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["measured", "Random", "Nearest Neighbour", "Transformer", "miakit model"]
    assert fig.axes[0].get_ylabel() == "EMG (device units)"

    history = pd.DataFrame({"step": [100, 200], "val_rmse": [12.0, 9.0], "train_loss": [0.3, 0.2]})
    mine = pd.DataFrame({"step": [300, 600], "val_rmse": [8.0, 6.0], "train_loss": [0.2, 0.1]})
    fig = rep.history_figure(history, title="both", label="Transformer", others={"miakit": mine})
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["Transformer validation RMSE", "miakit model validation RMSE", "Transformer training loss"]
    assert ax.get_ylabel() == "validation RMSE (device units)"


def test_predicted_vs_measured_shares_one_y_scale_a_zero_line_and_marks_the_test_stretch():
    time = np.arange(60) / 10
    measured = np.abs(np.sin(time[:, None] + np.arange(8))) * np.arange(1, 9) * 10
    predicted = measured * 0.9
    fig = plots.predicted_vs_measured(time, measured, predicted, model="the miakit model", test_from=4.2)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len({ax.get_ylim() for ax in axes}) == 1  # one y scale: the largest muscle sets it for all
    for ax in axes:
        assert any(line.get_gid() == "zero" and line.get_ydata()[0] == 0 for line in ax.lines)
        spans = [p for p in ax.patches if p.get_gid() == "test"]
        assert len(spans) == 1 and spans[0].get_x() == 4.2 and spans[0].get_label() == "test stretch"
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["test stretch", "measured", "predicted by the miakit model"]
    assert axes[0].get_ylabel() == "device units"


def test_activation_figure_shares_one_y_scale_from_zero():
    time = np.arange(40) / 10
    activation = np.zeros((40, 8))
    activation[:, 0] = np.linspace(0, 80, 40)
    activation[:, 1] = 0.5  # near zero: drawn near zero, not stretched to fill its panel
    fig = plots.activation_figure(time, activation, list(MUSCLES))
    lims = {ax.get_ylim() for ax in fig.axes}
    assert len(lims) == 1 and next(iter(lims))[0] == 0.0 and next(iter(lims))[1] >= 80
    assert all(any(line.get_gid() == "zero" for line in ax.lines) for ax in fig.axes)
    assert "one y scale for all muscles" in fig.get_suptitle()


def test_session_event_lines_are_labelled_and_their_text_is_whole(session_factory):
    folder = session_factory("s", duration_s=6, clap_at=3.0)
    fig = plots.session_emg(folder)
    lines = [line for ax in fig.axes[1:] for line in ax.lines if str(line.get_gid()).startswith("event:")]
    assert lines and all(line.get_label() == line.get_gid().removeprefix("event:") for line in lines)
    legend = fig.legends[0]
    assert legend.get_title().get_text() == "events" and "sync" in [t.get_text() for t in legend.get_texts()]
    fig.draw_without_rendering()
    renderer = fig._get_renderer()
    top = fig.bbox.y1
    for text in fig.axes[0].texts:  # every event label fits in the figure: none is cut
        assert text.get_window_extent(renderer).y1 <= top + 1, text.get_text()
        assert not text.get_text().endswith("...")


def test_the_representative_frame_is_away_from_the_sync_clap():
    time = np.arange(100) / 10
    activity = np.full(100, 0.3) + 0.1 * np.sin(time)
    activity[5:8] = 1.0  # the clap: the most active frames of the segment
    frame = demo.representative_frame(activity, time, syncs=[0.6])
    assert abs(time[frame] - 0.6) > plots.SYNC_WINDOW_S
    assert activity[frame] < 1.0 and activity[frame] >= np.quantile(activity[20:], 0.8)
    assert demo.representative_frame(activity, time, syncs=[]) in range(100)


def test_the_demo_names_its_best_model_and_prints_its_checkpoint_last(tmp_path):
    class Bench:
        table = _table()
        checkpoint = tmp_path / "transformer" / "checkpoint.pt"

    mine = {"mean": 6.25, "checkpoint": tmp_path / "miakit" / "checkpoint.pt"}
    best = demo.best_model(Bench, mine)
    assert best["model"] == "miakit" and best["checkpoint"].endswith("miakit/checkpoint.pt")
    (tmp_path / "summary.json").write_text(json.dumps({"best": best}))
    line = demo.best_line(tmp_path / "report.md")
    assert line.splitlines()[-1] == best["checkpoint"]
    assert "the miakit model (mean RMSE 6.25)" in line and f"--checkpoint {best['checkpoint']}" in line
    worse = {"mean": 12.0, "checkpoint": mine["checkpoint"]}
    assert demo.best_model(Bench, worse)["model"] == "transformer"


def test_help_examples_use_the_best_checkpoint():
    import miakit.cli
    from miakit.viz import predict_cli

    for text in (miakit.cli.app.info.help, predict_cli.predict.__doc__):
        assert "miakit-demo/bench/miakit/checkpoint.pt" in text and "transformer/checkpoint.pt" not in text


def test_predict_takes_a_panel_height():
    from typer.testing import CliRunner

    from miakit.cli import app

    result = CliRunner().invoke(app, ["predict", "--help"], terminal_width=200)
    assert result.exit_code == 0 and "--height" in result.output


def test_frames_near_a_sync_event_are_left_out_of_the_per_exercise_statistics(session_factory, tmp_path):
    from miakit.bench.indist import scored_targets
    from miakit.learn.windows import WindowIndex
    from miakit.pipeline import build_dataset
    from miakit.store import open_store

    session_factory("clap", duration_s=10, keypoint_start=0.4, clap_at=5.0)  # every muscle bursts at the clap
    sessions = tmp_path / "sessions"
    build_dataset(sessions, tmp_path / "ds.zarr", pipeline="mia", progress=False)
    ds = open_store(tmp_path / "ds.zarr")
    assert plots.sync_times(ds) == {}  # a build does not copy sync events into the store
    (found,) = plots.sync_times(ds, sessions)[0]
    assert abs(found - (5.0 - 0.3 - 0.4)) < 0.15  # the cue (0.3 s before the clap), from the keypoints' start
    near = plots.near_sync(ds, sessions)
    time = ds["time"].values
    assert near.any() and np.array_equal(near, np.abs(time - found) <= plots.SYNC_WINDOW_S)

    emg = ds["emg"].values
    burst = int(np.nanargmax(np.nanmean(emg, axis=1)))
    assert near[burst]  # the clap's burst is among the frames left out

    valid = ds["valid"].values.astype(bool)
    drawn = []
    for given, left_out in ((sessions, near), (None, np.zeros_like(near))):
        fig = plots.dataset_summary(ds, sessions=given)
        (boxes,) = [ax for ax in fig.axes if ax.get_xlabel() == "muscle"]
        title = boxes.get_title(loc="left")
        if given is None:
            assert title.endswith("no frame within 1.5 s of a known sync event")
        else:
            assert f"{int(near.sum())} of {int(valid.sum())} frames within 1.5 s of a sync event" in title
        kept = emg[valid & ~left_out]
        medians = {line.get_gid(): line.get_ydata()[0] for line in boxes.lines if str(line.get_gid()).startswith("m")}
        measured = [k for k in range(len(MUSCLES)) if np.isfinite(kept[:, k]).any()]
        assert measured
        for k in measured:
            assert np.isclose(medians[f"median:{MUSCLES[k]}"], np.median(kept[np.isfinite(kept[:, k]), k]))
        drawn.append([medians[f"median:{MUSCLES[k]}"] for k in measured])
    assert drawn[0] != drawn[1]  # leaving the clap out moves the medians

    window = 10
    starts = np.arange(0, ds.sizes["frame"] - window + 1, window)
    index = WindowIndex(
        window, starts, np.zeros_like(starts), np.array(["S"] * len(starts)), np.array(["x"] * len(starts))
    )
    y = emg[index.frames()].transpose(0, 2, 1)
    scored, note = scored_targets(ds, index, y, sessions)
    mask = np.broadcast_to(near[index.frames()][:, None, :], y.shape)
    assert mask.any() and np.isnan(scored[mask]).all()
    assert np.array_equal(scored[~mask], y[~mask], equal_nan=True)  # the other frames are scored as they are
    assert note.startswith(f"{int(near[index.frames()].sum())} of {index.frames().size} test frames within 1.5 s")


def test_the_demo_report_tables_name_the_miakit_model(tmp_path):
    from types import SimpleNamespace

    table = _table().drop(columns=["miakit"])
    table["windows"] = [3, 4, 7]
    per_muscle = pd.DataFrame({"random": [9.0, 8.0], "nn": [5.0, 4.0], "transformer": [6.0, 5.0]}, index=MUSCLES[:2])
    per_muscle["noise_floor"] = [1.0, 1.0]
    pearson = {"random": 0.1, "nn": 0.5, "transformer": 0.4}
    overall = {"random": 21.0, "nn": 8.5, "transformer": 9.2}
    scores = pd.DataFrame({"RMSE (all test values)": overall, "Pearson r": pearson}).T
    text = (
        "## Result\n\n"
        + rep.markdown_table(table, index_name="exercise")
        + "\n\n## All test windows\n\n"
        + rep.markdown_table(scores)
        + "\n\nPer muscle (RMSE):\n\n"
        + rep.markdown_table(per_muscle, index_name="muscle")
    )
    bench = SimpleNamespace(table=table, per_muscle=per_muscle, pearson=pearson)
    mine = {
        "table": pd.Series({"squat": 6.0, "running": 6.5}),
        "mean": 6.25,
        "overall": 6.3,
        "pearson": 0.7,
        "per_muscle": np.array([4.0, 3.0]),
    }
    out = demo.every_model_tables(text, bench, mine, overall)
    tables = [block for block in out.split("\n\n") if block.startswith("|")]
    assert len(tables) == 3
    for block in tables:
        header = [c.strip() for c in block.splitlines()[0].strip("|").split("|")]
        assert header[1:5] == ["Random", "Nearest Neighbour", "Transformer", "miakit model"], header
    assert "| **mean** | 21.00 | 8.50 | 9.25 | 6.25 |" in out
    assert "| Pearson r | 0.10 | 0.50 | 0.40 | 0.70 |" in out
    only_split = demo.every_model_tables(text, bench, mine, overall, same_windows=False)
    assert "miakit model" in only_split.split("## All test windows")[0]
    assert "miakit model" not in only_split.split("## All test windows")[1]
