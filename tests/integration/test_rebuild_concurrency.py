"""Rebuilds readers never see half-done, killed rebuilds that keep the old store, catalog races.

Readers loop over ``open_dataset(...).load()`` in threads of this process while another process
rebuilds the store again and again from two different sets of sessions (A, B): every read is all
A or all B, with every valid frame finite, and none fails. A ``--force`` build killed while it writes
leaves the previous store as it was, and the next build resumes from its parts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from session_builders import write_session

import miakit
from miakit.pipeline import build_dataset

REBUILD = """
import sys
from miakit.pipeline import build_dataset
out, a, b, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
for i in range(n):
    build_dataset(b if i % 2 == 0 else a, out, force=True, progress=False)
"""


@pytest.fixture
def two_builds(tmp_path):
    """Sessions A and B (same shapes, other data) and their stores built once, as references."""
    for group, seed in (("A", 0), ("B", 10)):
        for k in range(2):
            write_session(tmp_path / group / f"s{k}", seed=seed + k, duration_s=8)
    refs = {}
    for group in ("A", "B"):
        build_dataset(tmp_path / group, tmp_path / f"ref{group}.zarr", progress=False)
        refs[group] = miakit.open_dataset(tmp_path / f"ref{group}.zarr").load().drop_attrs()
    assert not refs["A"]["emg"].equals(refs["B"]["emg"])
    return tmp_path, refs


def _which(ds, refs) -> str:
    ds = ds.drop_attrs()
    for name, ref in refs.items():
        if ds.identical(ref):
            return name
    return "mixed"


def test_readers_never_see_a_mixed_store(two_builds):
    tmp_path, refs = two_builds
    out = tmp_path / "ds.zarr"
    build_dataset(tmp_path / "A", out, progress=False)
    builder = subprocess.Popen([sys.executable, "-c", REBUILD, str(out), str(tmp_path / "A"), str(tmp_path / "B"), "4"])
    seen: list[str] = []
    errors: list[str] = []

    def read() -> None:
        while builder.poll() is None:
            try:
                ds = miakit.open_dataset(out).load()
            except Exception as exc:  # any failure to read counts against the swap
                errors.append(f"{exc.__class__.__name__}: {exc}")
                continue
            valid = ds["valid"].values
            assert (
                valid.any()
                and np.isfinite(ds["emg"].values[valid]).any(axis=1).all()
                and np.isfinite(ds["time"].values).all()
            )
            seen.append(_which(ds, refs))

    readers = [threading.Thread(target=read) for _ in range(2)]
    for t in readers:
        t.start()
    for t in readers:
        t.join(timeout=300)
    assert builder.wait(timeout=10) == 0
    assert errors == []
    assert "mixed" not in seen
    assert len(seen) >= 10 and {"A", "B"} <= set(seen), (len(seen), set(seen))
    assert _which(miakit.open_dataset(out).load(), refs) == "A"  # the last of 4 rebuilds (B, A, B, A)


def test_a_killed_rebuild_keeps_the_old_store_and_the_next_resumes(two_builds):
    tmp_path, refs = two_builds
    out = tmp_path / "ds.zarr"
    build_dataset(tmp_path / "A", out, progress=False)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    builder = subprocess.Popen([sys.executable, "-c", REBUILD, str(out), str(tmp_path / "A"), str(tmp_path / "B"), "1"])
    staging = tmp_path / ".ds.zarr.miakit-new"
    deadline = time.monotonic() + 120
    while not staging.exists() and builder.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    os.kill(builder.pid, signal.SIGKILL)  # while it writes the new store (or whenever it got to)
    builder.wait()
    if builder.returncode != -signal.SIGKILL:
        pytest.skip("the rebuild finished before it could be killed")
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before  # byte for byte
    assert _which(miakit.open_dataset(out).load(), refs) == "A"
    result = build_dataset(tmp_path / "B", out, force=False, progress=False)
    assert _which(miakit.open_dataset(out).load(), refs) == "B"
    assert result.segments == 2
    assert not staging.exists()
