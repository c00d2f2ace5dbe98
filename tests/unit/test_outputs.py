"""One output guard for every command that writes (issue 33, items 2 and 5).

Each case runs the real command in a subprocess and checks that it refused in one line (exit 2, no
traceback) and that the user's files hash the same before and after, or that it did the right
thing. The refusals come before any work, so most cases take the time of starting the command.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from cli_helpers import assert_refused, run, tree_hash
from dataset_builders import make_dataset

from miakit.outputs import MARK_FILE, check_folder, kind_of, read_mark, run_lock
from miakit.store import write_dataset

TINY = ["--set", "window=10", "--set", "batch_size=8", "--set", "max_steps=2", "--set", "eval_every=1"]
TINY += ["--set", "warmup_steps=1"]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A small synthetic store and an earlier run (trained through the library: a marked run folder)."""
    from miakit.learn.config import TrainConfig
    from miakit.learn.train import train

    root = tmp_path_factory.mktemp("outputs")
    ds = make_dataset(subjects=("s0",), exercises=("squat", "running"), frames=120)
    write_dataset(ds, root / "s.zarr")
    config = TrainConfig(window=10, batch_size=8, max_steps=2, eval_every=1, warmup_steps=1)
    train(ds, config, root / "run", progress=False)
    return root


def _user_folder(path, name="activation.csv"):
    path.mkdir(parents=True)
    (path / name).write_text("my own table\n1,2,3\n")
    (path / "notes.md").write_text("# mine\n")
    return path


# -- train ----------------------------------------------------------------------------------------


def test_a_run_folder_is_marked(work):
    assert read_mark(work / "run")["kind"] == "run"
    assert kind_of(work / "run") == "run"


def test_train_into_an_earlier_run_is_refused_without_resume_or_force(work):
    before = tree_hash(work / "run")
    result = run("train", "--dataset", work / "s.zarr", "--out", work / "run", *TINY)
    assert_refused(result, "holds an earlier run", "--resume", "--force")
    assert tree_hash(work / "run") == before


def test_train_force_replaces_an_earlier_run(work, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(work / "run", out)
    (out / "history.csv").write_text("step,stale\n")
    result = run("train", "--dataset", work / "s.zarr", "--out", out, "--force", *TINY)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "stale" not in (out / "history.csv").read_text()
    assert read_mark(out)["kind"] == "run"


@pytest.mark.parametrize("force", [False, True])
def test_train_into_a_folder_of_other_files_is_refused_even_with_force(work, tmp_path, force):
    mine = _user_folder(tmp_path / "mine", "checkpoint.pt")
    before = tree_hash(mine)
    result = run("train", "--dataset", work / "s.zarr", "--out", mine, *TINY, *(["--force"] if force else []))
    assert_refused(result, "holds other files", MARK_FILE)
    assert tree_hash(mine) == before


def test_train_into_the_dataset_store_is_refused(work):
    before = tree_hash(work / "s.zarr")
    result = run("train", "--dataset", work / "s.zarr", "--out", work / "s.zarr", *TINY, "--force")
    assert_refused(result, "Zarr store")
    assert tree_hash(work / "s.zarr") == before


def test_train_into_another_store_or_inside_one_is_refused(work, tmp_path):
    other = tmp_path / "other.zarr"
    shutil.copytree(work / "s.zarr", other)
    before = tree_hash(other)
    assert_refused(run("train", "--dataset", work / "s.zarr", "--out", other, *TINY), "is a Zarr store")
    assert_refused(run("train", "--dataset", work / "s.zarr", "--out", other / "runs", *TINY), "inside the Zarr store")
    assert tree_hash(other) == before


def test_train_out_an_existing_file_is_one_line(work, tmp_path):
    mine = tmp_path / "results.txt"
    mine.write_text("mine\n")
    assert_refused(run("train", "--dataset", work / "s.zarr", "--out", mine, *TINY), "exists and is a file")
    assert mine.read_text() == "mine\n"


def test_a_second_train_into_a_folder_being_trained_is_refused(work, tmp_path):
    """The lock a training holds (miakit.outputs.run_lock, the same lock folder as the command's)."""
    out = tmp_path / "run"
    with run_lock(out):
        result = run("train", "--dataset", work / "s.zarr", "--out", out, *TINY)
    assert_refused(result, "another miakit train is writing this run folder")
    assert not out.exists()


@pytest.mark.slow
def test_two_real_trains_into_one_folder_the_second_is_refused(work, tmp_path):
    out = tmp_path / "run"
    first = subprocess.Popen(
        [sys.executable, "-m", "miakit", "train", "--dataset", work / "s.zarr", "--out", out, *TINY[:6]]
        + ["--set", "max_steps=100000", "--set", "eval_every=1000", "--set", "patience=1000"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 120
        while not (out / MARK_FILE).exists() and time.time() < deadline:
            time.sleep(0.5)
        assert (out / MARK_FILE).exists(), "the first training never started"
        assert_refused(
            run("train", "--dataset", work / "s.zarr", "--out", out, "--force", *TINY), "another miakit train"
        )
    finally:
        first.kill()
        first.wait()


# -- predict, pose ---------------------------------------------------------------------------------


def test_predict_into_a_folder_of_other_files_is_refused(work, tmp_path):
    mine = _user_folder(tmp_path / "mine")
    video = tmp_path / "v.mp4"
    video.write_bytes(b"\0" * 64)
    before = tree_hash(mine)
    result = run("predict", video, "--checkpoint", work / "run" / "checkpoint.pt", "--out", mine)
    assert_refused(result, "holds other files")
    assert tree_hash(mine) == before


def test_predict_never_takes_a_users_activation_csv_for_its_own(work, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "activation.csv").write_text("my own table\n")
    before = tree_hash(mine)
    video = tmp_path / "v.mp4"
    video.write_bytes(b"\0" * 64)
    result = run("predict", video, "--checkpoint", work / "run" / "checkpoint.pt", "--out", mine)
    assert_refused(result, "holds other files (activation.csv)")
    assert tree_hash(mine) == before
    assert kind_of(mine) is None


def test_predict_out_an_existing_file_is_one_line(work, tmp_path):
    mine = tmp_path / "squat-emg"
    mine.write_text("mine\n")
    video = tmp_path / "v.mp4"
    video.write_bytes(b"\0" * 64)
    result = run("predict", video, "--checkpoint", work / "run" / "checkpoint.pt", "--out", mine)
    assert_refused(result, "exists and is a file")
    assert mine.read_text() == "mine\n"


def test_pose_refuses_a_users_csv_unless_force(tmp_path):
    mine = tmp_path / "mine.csv"
    mine.write_text("a,b\n1,2\n")
    before = tree_hash(mine)
    result = run("pose", tmp_path / "v.mp4", "--out", mine)
    assert_refused(result, "not a file miakit wrote", "--force")
    assert tree_hash(mine) == before


def test_pose_may_replace_its_own_csv(tmp_path):
    import xarray as xr

    from miakit.errors import InputError
    from miakit.layout import BODY_25
    from miakit.stages.pose_cli import check_keypoints_output, is_keypoints_csv, write_keypoints

    n = 3
    ds = xr.Dataset(
        {
            "keypoints": (("time", "keypoint", "space"), np.ones((n, len(BODY_25), 2), np.float32)),
            "keypoint_score": (("time", "keypoint"), np.ones((n, len(BODY_25)), np.float32)),
            "frame_time": (("time",), np.arange(n) / 10),
        },
        coords={"time": np.arange(n) / 10, "keypoint": list(BODY_25), "space": ["x", "y"]},
    )
    ours = tmp_path / "ours.csv"
    write_keypoints(ds, ours)
    assert is_keypoints_csv(ours)
    check_keypoints_output(ours, tmp_path / "v.mp4")  # its own table: may be replaced
    mine = tmp_path / "mine.csv"
    mine.write_text("time,frame_time\n")
    assert not is_keypoints_csv(mine)
    with pytest.raises(InputError, match="not a file miakit wrote"):
        check_keypoints_output(mine, tmp_path / "v.mp4")
    check_keypoints_output(mine, tmp_path / "v.mp4", force=True)
    with pytest.raises(InputError, match="replace this command's input"):
        check_keypoints_output(ours, ours, force=True)


# -- bench ----------------------------------------------------------------------------------------


def test_bench_real_into_the_store_is_refused(work):
    before = tree_hash(work / "s.zarr")
    result = run(
        "bench", "real", "--checkpoint", work / "run" / "checkpoint.pt", "--dataset", work / "s.zarr",
        "--out", work / "s.zarr",
    )  # fmt: skip
    assert_refused(result, "Zarr store")
    assert tree_hash(work / "s.zarr") == before


def test_bench_real_refuses_a_synthetic_store(work, tmp_path):
    out = tmp_path / "real"
    result = run(
        "bench", "real", "--checkpoint", work / "run" / "checkpoint.pt", "--dataset", work / "s.zarr", "--out", out
    )
    assert_refused(result, "synthetic, not measured EMG", "segment_source")
    assert not out.exists()


def test_bench_real_refuses_emg_with_no_finite_value(work, tmp_path):
    ds = make_dataset(subjects=("s0",), exercises=("squat", "running"), frames=120)
    ds["segment_source"][:] = "recording"
    ds["emg"][:] = np.nan
    ds["valid"][:] = False
    write_dataset(ds, tmp_path / "nan.zarr")
    out = tmp_path / "real"
    result = run(
        "bench", "real", "--checkpoint", work / "run" / "checkpoint.pt", "--dataset", tmp_path / "nan.zarr",
        "--out", out,
    )  # fmt: skip
    assert_refused(result, "no finite value")
    assert not out.exists()


def test_bench_paper_refuses_a_synthetic_real_store_before_the_suite(work, tmp_path):
    out = tmp_path / "paper"
    result = run("bench", "paper", "--dataset", work / "s.zarr", "--real", work / "s.zarr", "--out", out)
    assert_refused(result, "synthetic, not measured EMG")
    assert not out.exists()


@pytest.mark.parametrize(
    "command",
    [
        ["bench"],
        ["bench", "finetune", "--checkpoint", "CKPT"],
        ["bench", "paper"],
        ["bench", "ablation"],
    ],
    ids=["bench", "finetune", "paper", "ablation"],
)
def test_bench_into_a_folder_of_other_files_is_refused(work, tmp_path, command):
    mine = _user_folder(tmp_path / "mine", "report.md")
    before = tree_hash(mine)
    args = [str(work / "run" / "checkpoint.pt") if a == "CKPT" else a for a in command]
    result = run(*args, "--dataset", work / "s.zarr", "--out", mine)
    assert_refused(result, "holds other files")
    assert tree_hash(mine) == before


def test_bench_out_an_existing_file_is_one_line(work, tmp_path):
    mine = tmp_path / "report"
    mine.write_text("mine\n")
    assert_refused(run("bench", "--dataset", work / "s.zarr", "--out", mine), "exists and is a file")
    assert mine.read_text() == "mine\n"


def test_an_output_of_another_kind_is_refused(work):
    from miakit.errors import InputError

    with pytest.raises(InputError, match="holds miakit's run output, not a predict output"):
        check_folder(work / "run", "predict")


# -- import xdf, --catalog ---------------------------------------------------------------------------


def test_import_xdf_refuses_a_users_folder_without_session_yaml(tmp_path):
    mine = _user_folder(tmp_path / "sess" / "sub-01_squat", "emg.csv")
    (mine / "events.csv").write_text("mine\n")
    before = tree_hash(tmp_path / "sess")
    xdf = tmp_path / "sub-01_squat.xdf"
    xdf.write_bytes(b"XDF:")
    result = run("import", "xdf", xdf, "--out", tmp_path / "sess")
    assert_refused(result, "holds other files and no session.yaml")
    assert tree_hash(tmp_path / "sess") == before


def test_import_xdf_out_an_existing_file_is_one_line(tmp_path):
    mine = tmp_path / "sess"
    mine.write_text("mine\n")
    xdf = tmp_path / "sub-01_squat.xdf"
    xdf.write_bytes(b"XDF:")
    assert_refused(run("import", "xdf", xdf, "--out", mine), "exists and is a file")
    assert mine.read_text() == "mine\n"


@pytest.mark.parametrize(
    "name, text",
    [
        ("settings.yaml", "# my settings\nwidth: 3\ncolours: [red, blue]\n"),
        ("notes.txt", "remember: call the lab\nbring: the sensors\n"),
        ("list.yaml", "- a\n- b\n"),
    ],
)
def test_catalog_that_is_not_a_catalog_is_refused(work, tmp_path, name, text):
    mine = tmp_path / name
    mine.write_text(text)
    (tmp_path / "sessions").mkdir()
    result = run(
        "build-dataset", tmp_path / "sessions", "--out", tmp_path / "o.zarr", "--catalog", mine, "--pipeline", "mia"
    )
    assert_refused(result, "not a catalog")
    assert mine.read_text() == text
    assert not (tmp_path / "o.zarr").exists()


def test_a_catalog_is_written_when_it_is_one_or_new(work, tmp_path):
    from miakit.catalog import add_entry, check_writable

    new = tmp_path / "new.yaml"
    check_writable(new)
    add_entry(new, "s", work / "s.zarr")
    mine = tmp_path / "cat.yaml"
    mine.write_text("# my catalog\nsources:\n")
    check_writable(mine)
    add_entry(mine, "s", work / "s.zarr")
    assert mine.read_text().startswith("# my catalog\n") and "s:" in mine.read_text()
    assert "sources" in json.dumps(__import__("yaml").safe_load(new.read_text()))


def test_a_run_folder_of_an_older_miakit_is_recognized_and_nothing_else(work, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(work / "run", old)
    (old / MARK_FILE).unlink()
    assert kind_of(old) == "run"  # --resume and --force still work on it
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "checkpoint.pt").write_bytes(b"mine")
    assert kind_of(mine) is None
