"""The paper suite (`miakit bench paper`): its splits, and the whole suite on tiny real Zarr stores
(synthetic, and an imported MIA release in its exact layout)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dataset_builders import make_dataset

from miakit.bench.paper import METHODS, get_profile, run_paper
from miakit.contracts.dataset import segment_of_frame
from miakit.errors import DatasetError, InputError
from miakit.learn.windows import (
    has_release_split,
    split_leave_one_exercise_out,
    split_leave_one_subject_out,
    split_release,
    split_subject_transfer,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "importers"))
from mia_fixture import write_release

# the quick profile shrunk to seconds: 2 steps, 10-step windows, one exercise left out, k = 1
TINY = dict(
    max_steps=2,
    eval_every=2,
    warmup_steps=1,
    window=10,
    window_lengths=(1, 10),
    loeo_exercises=1,
    transfer_ks=(1,),
    retrieval_database=200,
)


@pytest.fixture(scope="module")
def ds4():
    return make_dataset(exercises=("squat", "running", "twist", "kick"), frames=200, invalid_at=(5, 120))


def _frames(index):
    return set(index.frames().ravel().tolist())


def _check_windows(ds, splits):
    seg, valid = segment_of_frame(ds), ds["valid"].values
    for part in (splits.train, splits.val, splits.test):
        f = part.frames()
        assert np.all(seg[f] == seg[f[:, :1]]), "a window crosses a segment"
        assert valid[f].all(), "a window covers an invalid frame"
    assert not _frames(splits.train) & (_frames(splits.test) | _frames(splits.val)), "train overlaps test or validation"


def test_leave_one_exercise_out(ds4):
    s = split_leave_one_exercise_out(ds4, "twist", window=10)
    _check_windows(ds4, s)
    assert set(s.test.exercise.tolist()) == {"twist"}
    assert "twist" not in set(s.train.exercise.tolist()) | set(s.val.exercise.tolist())
    assert set(s.train.subject.tolist()) == set(s.test.subject.tolist()) == {"s0", "s1"}
    assert len(s.val) > 0
    with pytest.raises(DatasetError, match="segment_exercise"):
        split_leave_one_exercise_out(ds4, "bowling", window=10)


def test_leave_one_subject_out(ds4):
    s = split_leave_one_subject_out(ds4, "s1", window=10)
    _check_windows(ds4, s)
    assert set(s.test.subject.tolist()) == {"s1"} and set(s.train.subject.tolist()) == {"s0"}
    assert set(s.test.exercise.tolist()) == {"squat", "running", "twist", "kick"}


def test_subject_transfer_tests_every_k_on_the_same_windows(ds4):
    t = split_subject_transfer(ds4, source="s0", target="s1", ks=(1, 2, 9), window=10)
    assert sorted(t.by_k) == [1, 2], "k must leave at least one exercise to test on"
    assert t.train_exercises == ("kick", "running") and t.test_exercises == ("squat", "twist")
    assert set(t.pretrain.train.subject.tolist()) == {"s0"}
    for k, s in t.by_k.items():
        _check_windows(ds4, s)
        assert set(s.train.subject.tolist()) == {"s1"} and set(s.train.exercise.tolist()) == set(t.train_exercises[:k])
        np.testing.assert_array_equal(s.test.start, t.pretrain.test.start)
    assert set(t.pretrain.test.exercise.tolist()) == {"squat", "twist"} and set(t.pretrain.test.subject.tolist()) == {
        "s1"
    }


def test_release_split_tests_on_the_release_val(ds4):
    assert not has_release_split(ds4)
    with pytest.raises(DatasetError, match="segment_split"):
        split_release(ds4, window=10)
    ds = ds4.copy()
    split = np.where(np.arange(ds.sizes["segment"]) % 4 == 3, "val", "train")
    ds["segment_split"] = ("segment", split)
    s = split_release(ds, window=10)
    _check_windows(ds, s)
    assert set(s.test.segment.tolist()) == set(np.flatnonzero(split == "val").tolist())
    assert set(s.train.segment.tolist()) | set(s.val.segment.tolist()) <= set(np.flatnonzero(split == "train").tolist())


def test_unknown_profile_is_one_clear_error():
    with pytest.raises(InputError, match="unknown profile"):
        get_profile("fast")
    assert get_profile("quick", max_steps=3).max_steps == 3 and get_profile("quick").loeo_exercises == 2


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory):
    from miakit.store import open_store, write_dataset

    root = tmp_path_factory.mktemp("paper")
    write_dataset(
        make_dataset(exercises=("squat", "running", "twist"), frames=160, invalid_at=(7,)),
        root / "d.zarr",
        chunk_frames=256,
    )
    return run_paper(open_store(root / "d.zarr"), root / "out", profile=get_profile("quick", **TINY), progress=False)


def test_suite_tables_and_files(synthetic_run):
    r = synthetic_run
    out = r.report.parent
    assert list(r.table1) == ["in-distribution", "leave-one-exercise-out"]
    indist = r.table1["in-distribution"]
    assert list(indist.index) == ["running", "squat", "twist", "mean"]
    assert set(METHODS) <= set(indist.columns)
    assert indist.loc["mean", "random"] > indist.loc["mean", "nn"], "Random must be worst on this learnable data"
    loeo = r.table1["leave-one-exercise-out"]
    assert list(loeo.index) == ["running", "mean"], "one exercise left out: the first of the sorted names"
    assert loeo["random"].isna().all() and loeo[["nn", "cnn", "transformer"]].notna().all().all()
    saved = pd.read_csv(out / "table1_in_distribution.csv", index_col=0)
    np.testing.assert_allclose(saved[list(METHODS)].values, indist[list(METHODS)].values)
    assert list(r.table2.index) == [1, 10] and r.table2[["nn", "cnn", "transformer"]].notna().all().all()
    assert r.table2.loc[10, "transformer"] == pytest.approx(r.summary.loc[("in-distribution", "transformer"), "rmse"])
    assert (
        list(r.transfer.index) == [0, 1]
        and np.isnan(r.transfer.loc[0, "scratch"])
        and r.transfer.loc[1, ["finetuned", "scratch"]].notna().all()
    )
    for kind in ("pose", "learned"):
        m = r.retrieval[kind]
        assert list(m.index) == list(m.columns) == ["running", "squat", "twist"]
        np.testing.assert_allclose(m.sum(axis=1), 1.0)
    names = {p.name for p in out.iterdir()}
    assert {
        "report.md",
        "table1_summary.csv",
        "table2_window_length.csv",
        "figure7_subject_transfer.csv",
        "figure7_subject_transfer.png",
        "figure8_retrieval_pose.csv",
        "figure8_retrieval_learned.csv",
        "figure8_retrieval.png",
        "experiments.csv",
        "summary.json",
    } <= names
    assert sum(n.startswith("figure6_") and n.endswith(".png") for n in names) >= 2
    exp = pd.read_csv(out / "experiments.csv")
    neural = exp[exp["method"].str.startswith(("cnn", "transformer"))]
    assert (neural["steps"] == 2).all() and (neural["train"] > 0).all() and (neural["wall_s"] > 0).all()
    assert len(neural) == 2 + 2 + 2 + 3, (
        "in-distribution, one left out, window 1 (CNN + Transformer each); transfer: pretrain + 2"
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["profile"]["name"] == "quick" and summary["profile"]["max_steps"] == 2
    assert summary["table1_mean"]["leave-one-exercise-out"]["random"] is None


def test_every_window_length_trains_on_as_many_frames_per_step(synthetic_run):
    from miakit.learn.inference import load_checkpoint

    runs = synthetic_run.report.parent / "runs"
    for model in ("cnn", "transformer"):
        _, short, _ = load_checkpoint(runs / "window1" / model / "checkpoint.pt")
        _, full, _ = load_checkpoint(next((runs / "indist").glob(f"{model}*/checkpoint.pt")))
        assert (short.window, full.window) == (1, 10)
        assert (short.batch_size, full.batch_size) == (320, 32), "32 windows of 10 steps, so 320 of one step"
    assert "320 of one step" in synthetic_run.report.read_text()
    exp = pd.read_csv(synthetic_run.report.parent / "experiments.csv")
    trained = exp[exp["steps"] > 0]
    assert set(trained.loc[trained["window"] == 1, "batch"]) == {320} and set(
        trained.loc[trained["window"] == 10, "batch"]
    ) == {32}


def test_report_states_the_setup_and_links_plots_that_exist(synthetic_run):
    text = synthetic_run.report.read_text()
    for heading in ("Table 1", "Table 2", "Figure 7", "Figure 8", "Figure 6", "Setup", "wall time"):
        assert heading in text
    assert "profile: **quick**" in text and "Pearson r" in text
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(links) >= 6
    for link in links:
        assert not link.startswith("/")
        assert (synthetic_run.report.parent / link).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_suite_runs_unchanged_on_an_imported_mia_release(tmp_path):
    from miakit.importers.mia_release import RELEASE_MUSCLES, import_mia_release
    from miakit.store import open_store

    clips = {}
    for s, subject in enumerate(("Subject0", "Subject1")):
        for e, exercise in enumerate(("FrontKick", "Squat", "HighKick")):
            first = 100 * (3 * s + e)
            clips[("train", subject, exercise)] = list(range(first, first + 4))
            clips[("val", subject, exercise)] = [first + 4]
    release = write_release(tmp_path / "MIADatasetOfficial", clips)
    import_mia_release(release, tmp_path / "mia.zarr", show_progress=False)
    ds = open_store(tmp_path / "mia.zarr")
    r = run_paper(
        ds, tmp_path / "out", profile=get_profile("quick", **{**TINY, "window_lengths": (10,)}), progress=False
    )
    name = "in-distribution (release split)"
    assert list(r.table1) == [name, "leave-one-exercise-out"]
    assert list(r.table1[name].index) == ["FrontKick", "HighKick", "Squat", "mean"]
    assert r.table1[name].loc["mean", "windows"] == 6 * 3, (
        "the test set is the release's val: 6 clips of 3 ten-step windows"
    )
    exp = r.experiments.set_index(["experiment", "method"])
    assert exp.loc[(name, "transformer"), "test"] == 18
    text = r.report.read_text()
    assert "release's own train/val split" in text and ", ".join(RELEASE_MUSCLES) in text
    assert r.transfer is not None and r.transfer.attrs["target"] in ("Subject0", "Subject1")


def test_cli_rejects_a_bad_profile_before_reading_the_dataset(tmp_path, capsys):
    from miakit.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(
            [
                "bench",
                "paper",
                "--dataset",
                str(tmp_path / "missing.zarr"),
                "--out",
                str(tmp_path / "o"),
                "--profile",
                "lunch",
            ]
        )
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    # a choice of the command line now: refused by the parser, which lists the choices
    assert "Invalid value for '--profile'" in err and "'quick', 'default', 'full'" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_quick_profile_on_a_synthetic_dataset(tmp_path):
    """The quick profile as CI runs it: 3 synthetic subjects x 20 exercises x 20 s, through the CLI."""
    from typer.testing import CliRunner

    from miakit.cli import app

    runner = CliRunner()
    sessions, store, catalog = tmp_path / "sessions", tmp_path / "ds.zarr", tmp_path / "catalog.yaml"
    assert (
        runner.invoke(
            app, ["synth", "--out", str(sessions), "--subjects", "3", "--duration", "20", "--video", "none"]
        ).exit_code
        == 0
    )
    assert (
        runner.invoke(app, ["build-dataset", str(sessions), "--out", str(store), "--catalog", str(catalog)]).exit_code
        == 0
    )
    result = runner.invoke(
        app, ["bench", "paper", "--dataset", str(store), "--out", str(tmp_path / "paper"), "--profile", "quick"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "paper" / "summary.json").read_text())
    indist = summary["table1_mean"]["in-distribution"]
    assert indist["nn"] < indist["random"] and indist["transformer"] < indist["random"]
    assert len(pd.read_csv(tmp_path / "paper" / "table1_in_distribution.csv", index_col=0)) == 21
    # its time is reported (summary.json, the report), not bounded here: a loaded machine fails any bound
    assert summary["wall_s"] > 0


def test_the_mean_over_exercises_leaves_an_unknown_row_out():
    import pandas as pd

    from miakit.bench.paper import _with_mean
    from miakit.contracts.dataset import UNKNOWN_EXERCISE

    table = _with_mean(
        pd.DataFrame({"nn": [1.0, 3.0, 100.0], "windows": [4, 6, 50]}, index=["squat", "twist", UNKNOWN_EXERCISE])
    )
    assert table.loc["mean", "nn"] == 2.0 and table.loc["mean", "windows"] == 10
    assert table.loc[UNKNOWN_EXERCISE, "nn"] == 100.0  # shown in its own row
    plain = _with_mean(pd.DataFrame({"nn": [1.0, 3.0], "windows": [4, 6]}, index=["squat", "twist"]))
    assert plain.loc["mean", "windows"] == 10
