"""miakit.sample_data: the registry of public recordings, fetched through pooch into a cache and
checked against SHA-256. The tests build a mirror (a file:// base) from the real files and fetch
from it, as CI (../shared/data) and a lab's mirror do; a changed file is refused in one line."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from miakit import sample_data
from miakit.errors import InputError

WALK = "mocap/gaitalytics-walk.c3d"
CLAP = "emg/uci-physical-action/sub01/Normal/txt/Clapping.txt"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def mirror(shared_data, tmp_path) -> Path:
    """A mirror folder holding two real files under their registry names (copied from the fetched set)."""
    root = tmp_path / "mirror"
    for name in (WALK, CLAP):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared_data / name, root / name)
    return root


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv(sample_data.ENV_DIR, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_fetch_from_a_file_url_base_copies_into_the_cache_and_checks_the_hash(mirror, cache):
    path = sample_data.fetch(WALK, base=mirror.as_uri() + "/")
    assert path == cache / WALK
    assert _sha256(path) == sample_data.REGISTRY[WALK]
    # The second fetch uses the cached copy (the mirror may go away).
    shutil.rmtree(mirror)
    assert sample_data.fetch(WALK, base=mirror.as_uri() + "/") == path


def test_a_changed_file_is_refused_in_one_line_and_not_kept(mirror, cache):
    with (mirror / CLAP).open("ab") as f:
        f.write(b"1\t2\t3\t4\t5\t6\t7\t8\r\n")  # one row more: a changed file
    with pytest.raises(sample_data.SampleDataChanged) as err:
        sample_data.fetch(CLAP, base=mirror.as_uri() + "/")
    message = str(err.value)
    assert "\n" not in message
    assert sample_data.REGISTRY[CLAP] in message and _sha256(mirror / CLAP) in message
    assert not (cache / CLAP).exists()


def test_a_changed_file_in_the_cache_is_fetched_again(mirror, cache):
    base = mirror.as_uri() + "/"
    path = sample_data.fetch(WALK, base=base)
    path.write_bytes(b"not the walk")
    assert _sha256(sample_data.fetch(WALK, base=base)) == sample_data.REGISTRY[WALK]


def test_the_command_fetches_and_a_changed_file_is_exit_2_with_one_line(mirror, tmp_path):
    env = {
        **os.environ,
        sample_data.ENV_URL: mirror.as_uri(),
        sample_data.ENV_DIR: str(tmp_path / "cli-cache"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    ok = subprocess.run(
        [sys.executable, "-m", "miakit", "sample-data", "fetch", WALK], env=env, capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip().splitlines()[-1] == str(tmp_path / "cli-cache")
    assert (tmp_path / "cli-cache" / WALK).is_file()
    (mirror / CLAP).write_bytes(b"changed")
    bad = subprocess.run(
        [sys.executable, "-m", "miakit", "sample-data", "fetch", CLAP], env=env, capture_output=True, text=True
    )
    assert bad.returncode == 2
    lines = [line for line in bad.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "SHA-256" in lines[0] and "Traceback" not in bad.stderr


def test_a_trial_comes_out_of_the_data_sets_archive(shared_data, cache, tmp_path):
    """The UCI trials are members of one public archive (sub1, not sub01, under a top folder)."""
    archive = tmp_path / "uci.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(shared_data / CLAP, "EMG Physical Action Data Set/sub1/Normal/txt/Clapping.txt")
        z.write(
            shared_data / CLAP.replace("sub01", "sub02"), "EMG Physical Action Data Set/sub2/Normal/txt/Clapping.txt"
        )
    out = tmp_path / "clapping.txt"
    sample_data._download(archive.as_uri() + "#" + CLAP.removeprefix("emg/uci-physical-action/"), str(out), None)
    assert _sha256(out) == sample_data.REGISTRY[CLAP]
    assert sample_data.public_url(CLAP) == sample_data.UCI_ARCHIVE + "#sub01/Normal/txt/Clapping.txt"


def test_every_shared_file_is_registered_with_an_origin_licence_and_citation():
    if sample_data.SHARED_COPY.is_dir():
        on_disk = {
            p.relative_to(sample_data.SHARED_COPY).as_posix()
            for p in sample_data.SHARED_COPY.rglob("*")
            if p.is_file() and p.name != "README.md"
        }
        assert on_disk == set(sample_data.REGISTRY)
    for name in sample_data.REGISTRY:
        o = sample_data.origin(name)
        assert o.licence and o.citation
        assert sample_data.public_url(name).startswith("https://")


def test_an_unknown_name_is_one_line():
    with pytest.raises(InputError, match="not a sample-data file"):
        sample_data.fetch("mocap/nothing.c3d")
    with pytest.raises(InputError, match="not a sample-data file or folder"):
        sample_data.select(["nothing/"])


def test_no_network_is_one_line_that_says_what_to_do(cache):
    with pytest.raises(InputError) as err:
        sample_data.fetch("models/arm26.osim", base="http://127.0.0.1:9/")  # nothing listens there
    message = str(err.value)
    assert "\n" not in message and "could not fetch models/arm26.osim" in message
    assert sample_data.ENV_URL in message and not isinstance(err.value, sample_data.SampleDataChanged)
