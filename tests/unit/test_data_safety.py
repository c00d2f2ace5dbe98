"""Outputs, stores and the catalog never lose or misreport data (issue 22; the output side of 18).

Every case runs the real command (``python -m miakit.cli ...``) and checks the files afterwards:
what must still exist does, byte for byte (hashed before and after). A full disk and a read-only
folder are real (a small tmpfs, a read-only tmpfs) where this runs as root and may mount; the
full disk is also injected at the filesystem layer of a real write (an fsspec memory filesystem
that fails with ENOSPC after some bytes), which runs everywhere.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import assert_refused, run, tree_hash
from dataset_builders import make_dataset

import miakit
from miakit.contracts.dataset import without_frame_coords
from miakit.errors import DatasetError, MiakitError
from miakit.store import is_miakit_store, open_store, write_dataset


@pytest.fixture
def sessions(session_factory, tmp_path):
    session_factory("a", duration_s=8)
    session_factory("b", seed=1, duration_s=8)
    return tmp_path / "sessions"


@pytest.fixture
def store(tmp_path):
    """A small contract-2 store miakit wrote (no pipeline: fast)."""
    path = tmp_path / "small.zarr"
    write_dataset(make_dataset(subjects=("s0",), exercises=("squat",), frames=60), path)
    return path


def user_folder(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "notes.txt").write_text("my notes\n")
    (path / "sub").mkdir()
    (path / "sub" / "data.bin").write_bytes(bytes(range(256)))
    return path


def foreign_zarr(path: Path) -> Path:
    import xarray as xr

    xr.Dataset({"x": ("t", np.arange(5.0))}).to_zarr(path, zarr_format=2, consolidated=True)
    return path


# -- item 1: --out replaces only what miakit made --------------------------------------------------


@pytest.mark.parametrize("where", ["sessions", "dot", "parent", "empty", "foreign", "user", "inside-session"])
def test_build_dataset_never_replaces_what_it_did_not_make(sessions, tmp_path, where):
    out = {
        "sessions": sessions,
        "dot": ".",
        "parent": sessions.parent,
        "empty": "",
        "foreign": foreign_zarr(tmp_path / "foreign.zarr"),
        "user": user_folder(tmp_path / "mine"),
        "inside-session": sessions / "a" / "ds.zarr",
    }[where]
    before = tree_hash(tmp_path)
    result = run("build-dataset", sessions, "--out", out, "--catalog", tmp_path / "cat.yaml", cwd=tmp_path)
    assert_refused(result, "--out")
    assert tree_hash(tmp_path) == before  # nothing written, nothing removed
    assert not (tmp_path / "cat.yaml").exists()


def test_build_dataset_replaces_its_own_store_and_an_empty_folder(sessions, tmp_path):
    out = tmp_path / "ds.zarr"
    out.mkdir()  # an empty folder holds nothing to lose
    assert run("build-dataset", sessions, "--out", out, "--catalog", tmp_path / "cat.yaml").returncode == 0
    assert is_miakit_store(out)
    assert run("build-dataset", sessions, "--out", out, "--force", "--catalog", tmp_path / "cat.yaml").returncode == 0
    assert miakit.open_dataset(out).sizes["segment"] == 2
    assert not list(tmp_path.glob("*.lock")) and not list(tmp_path.glob("ds.zarr.parts"))


@pytest.mark.parametrize("importer", ["mia-release", "uci-emg"])
def test_import_never_replaces_its_source(tmp_path, importer):
    source = user_folder(tmp_path / "release")
    before = tree_hash(source)
    assert_refused(run("import", importer, source, "--out", source), "input")
    assert_refused(run("import", importer, source / "sub", "--out", source), "input")  # a folder holding it
    assert_refused(
        run("import", importer, source, "--out", user_folder(tmp_path / "other")), "miakit replaces only its own stores"
    )
    assert tree_hash(source) == before


def test_pose_never_replaces_user_files(tmp_path):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"not really a video")
    photos = user_folder(tmp_path / "photos.zarr")
    foreign = foreign_zarr(tmp_path / "f.zarr")
    before = tree_hash(tmp_path)
    assert_refused(run("pose", video, "--out", photos), "miakit replaces only its own stores")
    assert_refused(run("pose", video, "--out", foreign), "miakit replaces only its own stores")
    assert tree_hash(tmp_path) == before


def test_keypoints_store_is_marked_and_replaceable(tmp_path):
    import xarray as xr

    from miakit.stages.pose_cli import check_keypoints_output, write_keypoints

    ds = xr.Dataset({"keypoints": (("time", "k"), np.zeros((3, 2), np.float32))})
    out = tmp_path / "kp.zarr"
    write_keypoints(ds, out)
    assert is_miakit_store(out, ("keypoints",)) and not is_miakit_store(out, ("dataset",))
    check_keypoints_output(out, tmp_path / "v.mp4")  # its own keypoints: may be replaced
    write_keypoints(ds, out)
    with pytest.raises(MiakitError):
        check_keypoints_output(tmp_path / "x.zarr", tmp_path / "x.zarr")


def test_predict_never_replaces_a_user_folder(tmp_path):
    out = tmp_path / "pred"
    user_folder(out / "activation.zarr")
    before = tree_hash(out)
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    assert_refused(run("predict", video, "--checkpoint", tmp_path / "none.pt", "--out", out), "activation.zarr")
    assert tree_hash(out) == before


def test_demo_never_writes_into_a_folder_of_other_files(tmp_path):
    mine = user_folder(tmp_path / "work")
    before = tree_hash(mine)
    assert_refused(run("demo", "--out", ".", "--catalog", tmp_path / "cat.yaml", cwd=mine), "demo")
    assert tree_hash(mine) == before


# -- item 7: train --resume, render --out r.png, synth --duration -------------------------------


def test_train_resume_without_last_pt_says_so(store, tmp_path):
    out = tmp_path / "run"
    assert_refused(
        run("train", "--dataset", store, "--out", out, "--resume", "--set", "max_steps=2"),
        "last.pt",
        "nothing to resume",
    )
    assert not out.exists()


def test_render_writes_what_the_suffix_says_or_refuses(store, tmp_path):
    out = tmp_path / "r.png"
    assert_refused(run("render", "--dataset", store, "--segment", "0", "--out", out), ".mp4")
    assert not out.exists() and not list(tmp_path.glob("r*"))


@pytest.mark.parametrize("duration", ["1e9", "nan", "inf"])
def test_synth_refuses_implausible_durations_before_work(tmp_path, duration):
    result = run("synth", "--out", tmp_path / "s", "--duration", duration, "--subjects", "1")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert not (tmp_path / "s").exists()


# -- item 18.3: output errors are one line ------------------------------------------------------


def test_scheduler_garbage_and_silent_are_one_line_bounded(sessions, tmp_path):
    assert_refused(
        run(
            "build-dataset",
            sessions,
            "--out",
            tmp_path / "x.zarr",
            "--scheduler",
            "garbage",
            "--catalog",
            tmp_path / "c.yaml",
        ),
        "--scheduler",
    )
    t0 = time.monotonic()
    assert_refused(
        run(
            "build-dataset",
            sessions,
            "--out",
            tmp_path / "x.zarr",
            "--scheduler",
            "tcp://127.0.0.1:9",
            "--catalog",
            tmp_path / "c.yaml",
        ),
        "no scheduler answers",
    )
    assert time.monotonic() - t0 < 60
    assert not (tmp_path / "x.zarr").exists()


@pytest.mark.parametrize("url", ["s3://bucket/ds.zarr", "http://127.0.0.1:9/ds.zarr"])
def test_fsspec_urls_that_cannot_work_are_one_line(sessions, tmp_path, url):
    pytest.importorskip("fsspec")
    if url.startswith("s3") and _installed("s3fs"):
        pytest.skip("s3fs is installed here")
    assert_refused(run("build-dataset", sessions, "--out", url, "--catalog", tmp_path / "c.yaml"), url.split(":")[0])
    assert_refused(run("info", url), url.split(":")[0])


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _tamper(store: Path, **attrs) -> None:
    """Change root attrs in both .zattrs and the consolidated .zmetadata."""
    zattrs = json.loads((store / ".zattrs").read_text())
    zattrs.update(attrs)
    (store / ".zattrs").write_text(json.dumps(zattrs))
    meta = json.loads((store / ".zmetadata").read_text())
    meta["metadata"][".zattrs"].update(attrs)
    (store / ".zmetadata").write_text(json.dumps(meta))


@pytest.mark.parametrize(
    "attrs, words",
    [
        ({"rate_hz": "abc"}, "attrs.rate_hz"),
        ({"rate_hz": float("nan")}, "attrs.rate_hz"),
        ({"rate_hz": None}, "attrs.rate_hz"),
        ({"muscles": 5}, "attrs.muscles"),
        ({"muscles": None}, "attrs.muscles"),
        ({"complete": "false"}, "complete"),
        ({"emg_units": 3}, "attrs.emg_units"),
        ({"modalities": "emg"}, "attrs.modalities"),
    ],
)
def test_tampered_attrs_are_refused_by_open(store, attrs, words):
    _tamper(store, **attrs)
    with pytest.raises(DatasetError, match=words.replace(".", r"\.")):
        miakit.open_dataset(store)


def test_info_on_tampered_attrs_is_one_line(tmp_path):
    for k, attrs in enumerate(({"rate_hz": "abc"}, {"muscles": 5}, {"muscles": None}, {"complete": "false"})):
        store = tmp_path / f"t{k}.zarr"
        write_dataset(make_dataset(subjects=("s0",), exercises=("squat",), frames=30), store)
        _tamper(store, **attrs)
        assert_refused(run("info", store), next(iter(attrs)))


# -- item 5: stores that lie ----------------------------------------------------------------------


@pytest.mark.parametrize("variable", ["emg", "valid", "keypoints", "time"])
def test_a_deleted_chunk_is_an_error_not_fill_values(tmp_path, variable):
    store = tmp_path / "ds.zarr"
    write_dataset(make_dataset(subjects=("s0",), exercises=("squat", "twist"), frames=60), store, chunk_frames=50)
    chunk = sorted(p for p in (store / variable).iterdir() if not p.name.startswith("."))[1]
    chunk.unlink()
    with pytest.raises(DatasetError, match=f"{variable}: 1 of 3 chunk files missing"):
        miakit.open_dataset(store)
    assert_refused(run("info", store), "chunk files missing")


def test_a_chunk_removed_while_reading_is_an_error(tmp_path):
    store = tmp_path / "ds.zarr"
    write_dataset(make_dataset(subjects=("s0",), exercises=("squat",), frames=120), store, chunk_frames=50)
    ds = miakit.open_dataset(store)
    (store / "emg" / "1.0").unlink()
    with pytest.raises(DatasetError, match="chunk emg/1.0 is missing"):
        ds["emg"].load()


def test_a_store_still_read_outlives_two_rebuilds_and_goes_once_free(tmp_path):
    """A reader that opened a store keeps reading it through two swaps (the second would delete it
    as ``.NAME.miakit-previous``); once the reader lets go, the next rebuild deletes it."""
    import gc

    store = tmp_path / "ds.zarr"
    first = make_dataset(subjects=("s0",), exercises=("squat",), frames=120)
    write_dataset(first, store, chunk_frames=50)
    ds = miakit.open_dataset(store)
    for seed in (1, 2):
        write_dataset(make_dataset(subjects=("s0",), exercises=("squat",), frames=120, seed=seed), store)
    moved = sorted(p.name for p in tmp_path.glob(".ds.zarr.miakit-previous.*"))
    assert len(moved) == 1, moved
    np.testing.assert_array_equal(ds["emg"].values, first["emg"].values)
    del ds
    gc.collect()
    write_dataset(make_dataset(subjects=("s0",), exercises=("squat",), frames=120, seed=3), store)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".ds.zarr.miakit-previous", "ds.zarr"]


def test_an_edited_dtype_is_refused(store):
    meta = json.loads((store / ".zmetadata").read_text())
    meta["metadata"]["emg/.zarray"].update(dtype="<i4", fill_value=0)  # float32 bytes read as int32: values near 1e9
    (store / ".zmetadata").write_text(json.dumps(meta))
    with pytest.raises(DatasetError, match="emg: wrong dtype"):
        miakit.open_dataset(store)


def test_deep_validation_reads_the_values(tmp_path):
    from miakit.contracts.dataset import validate_dataset

    ds = make_dataset(subjects=("s0",), exercises=("squat",), frames=60)
    bad = ds.copy(deep=True)
    bad["emg"][10:20] = np.nan  # valid frames without EMG
    validate_dataset(bad)  # the cheap checks read no frame
    with pytest.raises(DatasetError, match="valid frames without EMG"):
        validate_dataset(bad, deep=True)
    bad = ds.copy(deep=True)
    bad["time"][5] = np.nan
    with pytest.raises(DatasetError, match="times must be finite"):
        validate_dataset(bad, deep=True)
    with pytest.raises(DatasetError, match="valid frames without EMG"):
        write_dataset(ds.assign(emg=ds["emg"] * np.nan), tmp_path / "x.zarr")
    assert not (tmp_path / "x.zarr").exists()


def test_catalog_with_unused_storage_options_is_one_line(store, tmp_path):
    from miakit.catalog import add_entry

    cat = tmp_path / "cat.yaml"
    add_entry(cat, "small", store)
    text = cat.read_text().replace("consolidated: true", "consolidated: true\n      storage_options: {anon: true}")
    cat.write_text(text)
    assert_refused(run("info", "small", "--catalog", cat), "storage_options")


# -- item 3: the catalog and locks ----------------------------------------------------------------


def test_parallel_registrations_all_land(tmp_path):
    cat = tmp_path / "catalog.yaml"
    code = (
        "import sys; from miakit.catalog import add_entry\n"
        "k = sys.argv[1]\n"
        "for i in range(25): add_entry(sys.argv[2], f'ds{k}_{i:02d}', f'/data/{k}/{i}.zarr')\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(k), str(cat)]) for k in range(4)]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    from miakit.catalog import open_catalog

    assert len(open_catalog(cat)) == 100
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalog.yaml"]  # no temporary or lock file left


def test_read_only_catalog_is_refused_before_the_build(sessions, tmp_path, read_only_dir):
    cat = read_only_dir / "catalog.yaml"
    result = run("build-dataset", sessions, "--out", tmp_path / "ds.zarr", "--catalog", cat)
    assert_refused(result, "catalog")
    assert not (tmp_path / "ds.zarr").exists()


def test_read_only_output_folder_is_refused(sessions, read_only_dir, tmp_path):
    assert_refused(
        run("build-dataset", sessions, "--out", read_only_dir / "ds.zarr", "--catalog", tmp_path / "c.yaml"),
        "cannot write",
    )


@pytest.fixture
def read_only_dir(tmp_path):
    """A folder miakit cannot write to: a read-only tmpfs as root, else a folder without write permission."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() == 0:
        if (
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)], capture_output=True
            ).returncode
            != 0
        ):
            pytest.skip("root, but cannot mount a read-only tmpfs here")
        yield folder
        subprocess.run(["umount", str(folder)], check=False)
        return
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)


# -- a full disk ----------------------------------------------------------------------------------


def _full_memory_filesystem():
    """An fsspec memory filesystem (protocol ``fullmem``) whose writes fail with ``Full.error`` once
    ``Full.limit`` more bytes are written."""
    import fsspec
    from fsspec.implementations.memory import MemoryFileSystem

    class Full(MemoryFileSystem):
        protocol = "fullmem"
        store: dict = {}
        pseudo_dirs = [""]
        limit: int | None = None
        error: BaseException | None = None
        written = 0

        def pipe_file(self, path, value, *args, **kwargs):
            if Full.limit is not None:
                Full.written += len(value)
                if Full.written > Full.limit:
                    raise Full.error
            return super().pipe_file(path, value, *args, **kwargs)

    fsspec.register_implementation("fullmem", Full, clobber=True)
    return Full


@pytest.mark.parametrize(
    "error",
    [OSError(errno.ENOSPC, "No space left on device"), RuntimeError("cannot schedule new futures after shutdown")],
    ids=["ENOSPC", "futures"],
)
def test_a_full_disk_while_writing_leaves_the_previous_store(error):
    full = _full_memory_filesystem()
    url = "fullmem://lab/ds.zarr"
    old = make_dataset(subjects=("s0",), exercises=("squat",), frames=60)
    write_dataset(old, url)
    full.limit, full.error, full.written = 20_000, error, 0  # the disk fills during the next write
    new = make_dataset(subjects=("s0", "s1"), exercises=("squat", "twist"), frames=600, seed=1)
    with pytest.raises(MiakitError, match="while writing the store; nothing was replaced"):
        write_dataset(new, url)
    assert full.written > full.limit  # the error came from a real write
    full.limit = None
    kept = open_store(url).load()
    assert without_frame_coords(kept).drop_attrs().identical(old.drop_attrs())  # frame coords: derived on open
    assert not full().exists("/lab/.ds.zarr.miakit-new")


@pytest.mark.slow
def test_a_real_full_disk_is_one_line_and_keeps_the_store(sessions, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small tmpfs")
    disk = tmp_path / "disk"
    disk.mkdir()
    if (
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)], capture_output=True).returncode
        != 0
    ):
        pytest.skip("cannot mount a tmpfs here")
    try:
        out = disk / "ds.zarr"
        assert run("build-dataset", sessions, "--out", out, "--catalog", tmp_path / "c.yaml").returncode == 0
        before = tree_hash(out)
        stat = os.statvfs(disk)
        (disk / "filler").write_bytes(
            b"\0" * max(0, stat.f_bavail * stat.f_frsize - 16_384)
        )  # the disk full but for 16 kB
        assert_refused(
            run("build-dataset", sessions, "--out", out, "--force", "--catalog", tmp_path / "c.yaml"),
            "no space left on device",
        )
        assert tree_hash(out) == before
        assert miakit.open_dataset(out).sizes["segment"] == 2
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_a_file_url_is_the_same_store_as_its_path(sessions, tmp_path):
    from miakit.pipeline import build_dataset
    from miakit.store import lock_path, store_identity

    out = tmp_path / "ds.zarr"
    assert store_identity(f"file://{out}") == store_identity(out) == store_identity(tmp_path / "." / "ds.zarr")
    assert lock_path(f"file://{out}") == lock_path(out)
    build_dataset(sessions, f"file://{out}", progress=False)
    assert miakit.open_dataset(out).sizes["segment"] == 2
    assert build_dataset(sessions, out, progress=False).up_to_date  # one store, however it is spelled
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ds.zarr",
        "sessions",
    ]  # no parts, staging or lock left beside it
