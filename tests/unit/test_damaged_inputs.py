"""Files that lie, are cut short or are not files at all (issue 33): each is refused in one line
(exit 2, no traceback) or read correctly, within a memory limit, and the user's files are left as
they were. Every damaged input is made here from the shared real files with a small byte patch.

The commands run in a subprocess, as a user runs them, under ``RLIMIT_AS`` (:data:`MEMORY_LIMIT`):
a reader that believed a damaged header would have asked for tens of GB.
"""

from __future__ import annotations

import hashlib
import os
import resource
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

MEMORY_LIMIT = 3 << 30
"""Address space each command may use (miakit import c3d asked for 12.6 GB on a cut file)."""
ROOT = Path(__file__).resolve().parents[2]
WALK = "mocap/gaitalytics-walk.c3d"
CLIP = "video/mmhuman3d-single-person.mp4"


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def miakit(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, "-m", "miakit", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
        preexec_fn=_limited,
    )


def refused(result: subprocess.CompletedProcess, *needles: str) -> str:
    """The one line a refused command printed, checked: exit 2, no traceback, every needle in it."""
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr, result.stderr[-2000:]
    lines = [x for x in result.stderr.strip().splitlines() if x.startswith("error:")]
    assert len(lines) == 1, result.stderr[-2000:]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


@pytest.fixture
def user(tmp_path: Path) -> Path:
    """A folder of the user's files (:func:`seal` them, then check they are :func:`unchanged`)."""
    folder = tmp_path / "user"
    folder.mkdir()
    return folder


def seal(folder: Path) -> None:
    """Remember the hashes of the files in ``folder`` now."""
    (folder.parent / "sealed.txt").write_text(repr(hashes(folder)))


def unchanged(folder: Path) -> None:
    assert repr(hashes(folder)) == (folder.parent / "sealed.txt").read_text(), "a user's file changed"


# -- C3D (issue 33 items 1 and 3) ------------------------------------------------------------------


def c3d_layout_of(raw: bytes):
    import tempfile

    from miakit.importers.c3d import c3d_layout

    with tempfile.NamedTemporaryFile(suffix=".c3d") as f:
        f.write(raw)
        f.flush()
        return c3d_layout(f.name)


@pytest.mark.parametrize("cut", [2512, 5_000, 10_000, 20_000])
def test_a_c3d_cut_inside_its_parameters_is_refused_in_one_line_within_memory(cut, shared_data, user):
    (user / "t.c3d").write_bytes((shared_data / WALK).read_bytes()[:cut])
    seal(user)
    line = refused(miakit("import", "c3d", str(user / "t.c3d"), "--out", str(user.parent / "o.zarr")))
    assert "Truncated: the parameter section ends at byte 44032, the file at" in line
    assert not (user.parent / "o.zarr").exists()
    unchanged(user)


def test_a_c3d_cut_inside_its_data_says_how_many_frames_it_holds(shared_data, user):
    (user / "t.c3d").write_bytes((shared_data / WALK).read_bytes()[:1_000_000])
    seal(user)
    refused(
        miakit("import", "c3d", str(user / "t.c3d"), "--out", str(user.parent / "o.zarr")),
        "Truncated: 201 of 337 frames",
    )
    unchanged(user)


def _patched(shared_data: Path, user: Path, name: str, patch) -> Path:
    raw = bytearray((shared_data / WALK).read_bytes())
    patch(raw, c3d_layout_of(bytes(raw)))
    (user / name).write_bytes(raw)
    return user / name


def test_an_analog_rate_that_is_not_what_the_data_holds_is_refused(shared_data, user):
    def rate(raw, layout):
        struct.pack_into("<f", raw, layout.params[("ANALOG", "RATE")][0], 2000.0)  # the data holds 10 x 100 Hz

    path = _patched(shared_data, user, "rate.c3d", rate)
    seal(user)
    refused(
        miakit("import", "c3d", str(path), "--out", str(user.parent / "o.zarr")),
        "ANALOG:RATE",
        "expected 1000 Hz (the header's 10 samples per frame x POINT:RATE 100 Hz",
        "2000 Hz",
    )
    unchanged(user)


def test_a_header_scale_whose_sign_disagrees_with_point_scale_is_refused(shared_data, user):
    def sign(raw, layout):
        struct.pack_into("<f", raw, 12, 0.01)  # the header says integers; POINT:SCALE -0.01 says floats

    path = _patched(shared_data, user, "sign.c3d", sign)
    seal(user)
    refused(
        miakit("import", "c3d", str(path), "--out", str(user.parent / "o.zarr")),
        "the header's scale factor says the data is stored as integers, POINT:SCALE (-0.01) says floats",
    )
    unchanged(user)


def test_two_emg_channels_with_one_label_are_refused(shared_data, user):
    def relabel(raw, layout):
        offset, _, (width, count) = layout.params[("ANALOG", "LABELS")]
        labels = [bytes(raw[offset + i * width : offset + (i + 1) * width]).decode().strip() for i in range(count)]
        i = labels.index("Voltage.LRF")  # the left rectus femoris, labelled as the right one
        raw[offset + i * width : offset + (i + 1) * width] = b"Voltage.RRF".ljust(width)

    path = _patched(shared_data, user, "labels.c3d", relabel)
    seal(user)
    refused(
        miakit("import", "c3d", str(path), "--out", str(user.parent / "o.zarr")),
        "two analog channels share the label 'Voltage.RRF' (channels 27 and 33)",
    )
    unchanged(user)


@pytest.mark.parametrize("kind", ["fifo", "folder", "device"])
def test_what_is_not_a_regular_file_is_named_so(kind, user, tmp_path):
    if kind == "fifo":
        path = user / "walk.c3d"
        os.mkfifo(path)
    elif kind == "folder":
        path = user / "walk.c3d"
        path.mkdir()
    else:
        path = Path("/dev/zero")
    line = refused(miakit("import", "c3d", str(path), "--out", str(tmp_path / "o.zarr"), timeout=60))
    assert {"fifo": "(a FIFO)", "folder": "(a folder)", "device": "(a character device)"}[kind] in line
    assert "not a regular file" in line


@pytest.mark.parametrize("emg", ["/dev/urandom", "fifo", "folder"])
def test_trc_emg_from_a_device_fifo_or_folder_is_refused_before_reading(emg, user, tmp_path):
    from miakit.importers.opensim import write_trc

    trc = write_trc(user / "walk.trc", {"RASI": np.ones((50, 3)), "LASI": np.zeros((50, 3))}, 100.0)
    if emg == "fifo":
        os.mkfifo(user / "walk_emg.sto")
        emg = str(user / "walk_emg.sto")
    elif emg == "folder":
        (user / "emg").mkdir()
        emg = str(user / "emg")
    seal(user)
    line = refused(miakit("import", "trc", str(trc), "--emg", emg, "--out", str(tmp_path / "o.zarr"), timeout=60))
    assert line.startswith(f"error: {emg}: not a regular file")
    unchanged(user)


def test_a_text_file_over_the_cap_is_refused_before_it_is_read(tmp_path):
    from miakit.errors import InputError
    from miakit.files import read_text_capped

    big = tmp_path / "big.sto"
    with big.open("wb") as f:
        f.truncate(2048)  # sparse
    with pytest.raises(InputError, match=r"too large to read: size limit 1.0 kB hit \(found '2.0 kB'\)"):
        read_text_capped(big, max_bytes=1024)


# -- XDF headers (item 8: the file's rate is the file's fault, not miakit's profile's) ---------------


@pytest.mark.parametrize(("srate", "labels", "needle"), [
    (float("nan"), 8, "bad nominal_srate (expected a rate from 0 (irregular) to 100000 Hz, found 'nan')"),
    (float("inf"), 8, "found 'inf'"),
    (1000.0, 0, "bad channel_count (expected 1 to 1024, found 0)"),
])  # fmt: skip
def test_an_xdf_stream_header_that_lies_is_named_as_the_files(srate, labels, needle, user, tmp_path):
    sys.path.insert(0, str(ROOT / "tests"))
    from lsl_support import XdfStream, write_xdf

    n = 500
    values = np.random.default_rng(0).standard_normal((n, labels)).astype(np.float32)
    stream = XdfStream(
        "Amp", "EMG", 100 + np.arange(n) / 1000, values, srate=srate, labels=[f"c{i}" for i in range(labels)]
    )
    path = write_xdf(user / "rec.xdf", [stream])
    seal(user)
    line = refused(miakit("import", "xdf", str(path), "--out", str(tmp_path / "sessions"), timeout=60), needle)
    assert "lsl.yaml" not in line and "stream 'Amp'" in line
    unchanged(user)


def test_an_xdf_video_that_is_a_fifo_is_refused_not_copied_forever(user, tmp_path):
    sys.path.insert(0, str(ROOT / "tests"))
    from lsl_support import XdfStream, write_xdf

    values = np.random.default_rng(0).standard_normal((500, 2)).astype(np.float32)
    path = write_xdf(user / "rec.xdf", [XdfStream("Amp", "EMG", 100 + np.arange(500) / 1000, values, srate=1000.0)])
    os.mkfifo(user / "cam.mp4")
    seal(user)
    refused(
        miakit("import", "xdf", str(path), "--video", str(user / "cam.mp4"), "--out", str(tmp_path / "s"), timeout=60),
        f"{user / 'cam.mp4'}: not a regular file (a FIFO)",
    )
    unchanged(user)


# -- video timing (item 4) ---------------------------------------------------------------------------

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf"}


def _boxes(data: bytes, start: int = 0, end: int | None = None, path: tuple = ()):
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        yield (*path, kind), pos, size
        if kind in _CONTAINERS:
            yield from _boxes(data, pos + 8, pos + size, (*path, kind))
        pos += size


def mp4_variant(src: Path, dst: Path, *, timescale: int | None = None, delta: int | None = None, damage: int = 0):
    """A copy of the MP4 ``src`` with its video track's ``mdhd`` timescale or every ``stts`` sample
    duration rewritten, or ``damage`` bytes of its ``mdat`` overwritten in the middle."""
    data = bytearray(src.read_bytes())
    boxes = {b"/".join(p): (pos, size) for p, pos, size in _boxes(bytes(data))}
    if timescale is not None:
        pos, _ = boxes[b"moov/trak/mdia/mdhd"]
        struct.pack_into(">I", data, pos + 8 + (12 if data[pos + 8] == 0 else 20), timescale)
    if delta is not None:
        pos, _ = boxes[b"moov/trak/mdia/minf/stbl/stts"]
        for i in range(struct.unpack_from(">I", data, pos + 12)[0]):
            struct.pack_into(">I", data, pos + 16 + 8 * i + 4, delta)
    if damage:
        pos, size = boxes[b"mdat"]
        at = pos + size // 2
        data[at : at + damage] = np.random.default_rng(0).integers(0, 256, damage, dtype=np.uint8).tobytes()
    dst.write_bytes(data)
    return dst


@pytest.mark.parametrize(("change", "needle"), [
    ({"timescale": 0}, "frame rate (a damaged track timescale?) (expected 0.5 to 2000 fps, found '0.000977 fps')"),
    ({"timescale": 1}, "implausible frame rate"),
    ({"delta": 1 << 31}, "implausible frame rate"),
    ({"delta": 0}, "damaged timing: its 40 frames have only 3 distinct presentation times (sample durations of 0?)"),
])  # fmt: skip
@pytest.mark.parametrize("command", ["pose", "predict"])
def test_video_timing_that_lies_is_one_line_at_once(command, change, needle, shared_data, user, tmp_path):
    video = mp4_variant(shared_data / CLIP, user / "clip.mp4", **change)
    (user / "notes.txt").write_text("a user's notes, not a checkpoint\n")
    seal(user)
    if command == "pose":
        args = ["pose", str(video), "--out", str(tmp_path / "k.csv")]
    else:
        args = ["predict", str(video), "--checkpoint", str(user / "notes.txt"), "--out", str(tmp_path / "p")]
    line = refused(miakit(*args, timeout=60), needle)
    assert "no person in view" not in line
    unchanged(user)


def test_undecodable_frames_are_skipped_and_counted(shared_data, tmp_path):
    from miakit.stages.video import probe_video, sampled_frames

    video = mp4_variant(shared_data / CLIP, tmp_path / "damaged.mp4", damage=20_000)
    meta = probe_video(video)
    grid = np.arange(0, meta.duration_s, 0.1)
    bad: list[int] = []
    got = [j for j, _, _ in sampled_frames(video, grid, meta=meta, height=128, undecodable=bad)]
    assert 0 < len(bad) < meta.frames and got == sorted(got)
    assert len(grid) - len(bad) <= len(got) < len(grid)
    clean = [j for j, _, _ in sampled_frames(shared_data / CLIP, grid, height=128)]
    assert len(clean) == len(grid)


@pytest.mark.slow
def test_pose_on_a_damaged_video_says_how_many_frames_it_skipped(shared_data, user, tmp_path):
    video = mp4_variant(shared_data / CLIP, user / "clip.mp4", damage=20_000)
    seal(user)
    result = miakit("pose", str(video), "--out", str(tmp_path / "k.csv"), timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "undecodable frames" in result.stderr and "skipped (damaged video data)" in result.stderr
    unchanged(user)


# -- checkpoints (item 8) ----------------------------------------------------------------------------


def test_a_text_file_as_checkpoint_is_named_so(shared_data, user, tmp_path):
    (user / "notes.txt").write_text("a user's notes\n")
    seal(user)
    refused(
        miakit(
            "predict", str(shared_data / CLIP), "--checkpoint", str(user / "notes.txt"), "--out", str(tmp_path / "p")
        ),
        "not a checkpoint file (expected a .pt file written by miakit train, found 'a text file')",
    )
    unchanged(user)


# -- the MIA release (item 7) ------------------------------------------------------------------------


def test_a_release_clip_linking_outside_the_release_is_refused_unopened(user, tmp_path):
    sys.path.insert(0, str(ROOT / "tests" / "unit" / "importers"))
    from mia_fixture import write_release

    secret = user / "secret.npy"
    np.save(secret, np.full((30, 8), 7.0))
    release = write_release(tmp_path / "MIA", {("train", "Subject0", "Squat"): [0, 1, 2]})
    clip = release / "train" / "Subject0" / "Squat" / "1"
    (clip / "emgvalues.npy").unlink()
    (clip / "emgvalues.npy").symlink_to(secret)
    (clip / "joints2d.npy").unlink()
    (clip / "joints2d.npy").symlink_to("/etc/passwd")
    (clip.parent / "2" / "joints2d.npy").unlink()
    (clip.parent / "2" / "joints2d.npy").symlink_to("/etc/passwd")
    seal(user)
    result = miakit("import", "mia-release", str(release), "--out", str(tmp_path / "o.zarr"), "--no-progress")
    assert result.returncode == 0, result.stderr[-2000:]
    out = " ".join((result.stdout + result.stderr).split())
    assert f"emgvalues.npy: a link that leaves the release folder (to {secret}): not opened" in out
    assert "joints2d.npy: a link that leaves the release folder (to /etc/passwd): not opened" in out
    assert "root:" not in out
    unchanged(user)


# -- messages that named the wrong thing (item 8) and implausible EMG (item 3) ----------------------


def test_a_c3d_whose_scale_overflows_names_the_channel_not_the_store(shared_data, user, tmp_path):
    def overflow(raw, layout):
        struct.pack_into("<f", raw, layout.params[("ANALOG", "GEN_SCALE")][0], 3e38)

    path = _patched(shared_data, user, "overflow.c3d", overflow)
    seal(user)
    line = refused(
        miakit("import", "c3d", str(path), "--out", str(tmp_path / "o.zarr")),
        f"{path}: ANALOG 'Force.Fx1' holds values beyond any measurement (a damaged SCALE, GEN_SCALE or data block?)",
    )
    assert "o.zarr" not in line and not (tmp_path / "o.zarr").exists()
    unchanged(user)


def test_emg_beyond_any_plausible_amplitude_is_noted_in_the_summary(shared_data, user, tmp_path):
    def louder(raw, layout):
        offset = layout.params[("ANALOG", "SCALE")][0]
        struct.pack_into("<f", raw, offset + 4 * 26, 1e4)  # channel 27, Voltage.RRF: 10,000 x

    path = _patched(shared_data, user, "loud.c3d", louder)
    seal(user)
    result = miakit("import", "c3d", str(path), "--out", str(tmp_path / "o.zarr"), "--no-progress")
    assert result.returncode == 0, result.stderr[-2000:]
    out = " ".join(result.stdout.split())
    assert "note loud.c3d: EMG channel 'Voltage.RRF' peaks at 3.3e+03 V, outside any plausible EMG" in out
    assert out.count("note ") == 1  # the other channels are as they were
    unchanged(user)


def test_a_plain_long_yaml_is_too_many_entries_and_an_alias_bomb_is_still_one(monkeypatch):
    import miakit.safe_yaml
    from miakit.errors import InputError
    from miakit.safe_yaml import load_yaml

    monkeypatch.setattr(miakit.safe_yaml, "MAX_YAML_NODES", 1000)  # 100,000 in use: the same code, faster
    plain = "[" + ",".join("1" for _ in range(1001)) + "]"
    with pytest.raises(InputError, match=r"too many entries: it holds 1002 YAML nodes \(limit 1000\)") as err:
        load_yaml(plain, where="big.yaml")
    assert "alias bomb" not in str(err.value)
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, n in zip("abcdef", "bcdefg")
    )
    with pytest.raises(InputError, match=r"limit 1000 hit \(its \d+ nodes expand to more: an alias bomb\?\)"):
        load_yaml(bomb, where="bomb.yaml")


def test_build_dataset_on_a_missing_folder_says_so(tmp_path):
    refused(
        miakit("build-dataset", str(tmp_path / "nonexistent"), "--out", str(tmp_path / "o.zarr")),
        f"{tmp_path / 'nonexistent'}: no such folder (expected a folder of session folders, found 'nothing there')",
    )


def test_train_on_a_store_too_small_names_the_store(shared_data, tmp_path):
    store = tmp_path / "walk.zarr"
    imported = miakit("import", "c3d", str(shared_data / WALK), "--out", str(store), "--no-progress")
    assert imported.returncode == 0, imported.stderr[-2000:]
    line = refused(
        miakit("train", "--dataset", str(store), "--out", str(tmp_path / "run")),
        f"error: {store}: valid: too few valid frames for a split",
    )
    assert "<dataset>" not in line
