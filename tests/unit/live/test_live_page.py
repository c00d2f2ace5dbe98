"""``miakit live`` end to end: the real command plays a real video as a live source, a real headless
browser (Chromium, Selenium) opens the page, and the muscle values read off the page match
``miakit predict``'s pose and model on the same frames.

Tolerance: the page's values are those of ``miakit predict`` (its pose: estimate_pose; its dataset:
video_dataset; its model: predict_segment) on the video cut at that frame, within 2% of the
prediction's range over the clip plus 0.01. The only difference is how the frame reaches the pose:
OpenCV decodes and shrinks it live, PyAV in ``miakit predict``, a pixel's difference in a few
keypoints. Only steps whose window (the 10 steps up to them) ran whole are compared: a step the
pipeline dropped (this machine is shared) has no pose, so the steps after it see a shorter run of
frames than ``miakit predict`` does, by design. The file plays at a tenth of its pace so that most
steps run even on a loaded machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from live_support import read_page

REPO = Path(__file__).resolve().parents[3]
WINDOW = 10  # the checkpoint's (conftest.py)
TOLERANCE = (0.02, 0.01)  # (fraction of each muscle's range over the clip, absolute)


def causal_reference(video: Path, checkpoint: Path) -> np.ndarray:
    """(steps, muscles): for each 10 Hz step t, miakit predict's value for t on the video cut at t."""
    from miakit.learn.predict import load, predict_segment, video_dataset
    from miakit.stages.pose import estimate_pose

    ckpt = load(checkpoint)
    pose = estimate_pose(video, progress=False)
    out = []
    for t in range(pose.sizes["time"]):
        ds = video_dataset(pose.isel(time=slice(0, t + 1)), muscles=ckpt.muscles, video=video)
        out.append(predict_segment(ckpt, ds, 0, min_window=1)[-1])
    full = predict_segment(ckpt, video_dataset(pose, muscles=ckpt.muscles, video=video), 0, min_window=1)
    np.testing.assert_allclose(out[-1], full[-1], rtol=1e-5)  # the last frame: predict's own value, uncut
    return np.asarray(out)


def start_live(*args: str) -> tuple[subprocess.Popen, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "miakit", "live", *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    for line in proc.stderr:
        if line.startswith("page: "):
            return proc, line.split()[1]
    proc.wait()
    raise AssertionError(f"miakit live did not start (exit {proc.returncode})")


@pytest.mark.slow  # about a minute: the clip plays at a tenth of its pace, then predict's pose for the reference
def test_the_page_shows_what_miakit_predict_gives_for_the_same_frames(browser, checkpoint, video, tmp_path):
    proc, url = start_live(
        "--checkpoint",
        str(checkpoint),
        "--source",
        str(video),
        "--port",
        "0",
        "--speed",
        "0.1",
        "--out",
        str(tmp_path / "o"),
    )
    seen: dict[int, dict] = {}
    try:
        browser.get(url)
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            page = read_page(browser)
            if page["index"] not in (None, ""):
                seen[int(page["index"])] = page
            time.sleep(0.05)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert stdout.strip().splitlines()[-1] == str(tmp_path / "o")
    assert "steps: " in stderr and "dropped" in stderr

    reference = causal_reference(video, checkpoint)
    assert np.isfinite(reference).all()  # a person in every frame of the clip
    table = pd.read_csv(tmp_path / "o" / "activation.csv")
    muscles = list(table.columns[1:])
    ran = np.isfinite(table[muscles].to_numpy()).all(axis=1)  # a step without a value was dropped
    whole = [k for k in range(len(ran)) if ran[max(0, k - WINDOW + 1) : k + 1].all()]
    span = np.nanmax(reference, axis=0) - np.nanmin(reference, axis=0)
    allowed = TOLERANCE[0] * span + TOLERANCE[1]
    shown = {k: np.array([p["rows"][m][0] for m in muscles], dtype=float) for k, p in seen.items()}
    assert len(shown) >= 3, f"the page showed only steps {sorted(shown)}"
    compared = [k for k in shown if k in whole]
    for k in compared:
        assert np.all(np.abs(shown[k] - reference[k]) <= allowed), (k, shown[k], reference[k])
    assert len(compared) >= 3, (sorted(shown), whole)
    last = max(seen.values(), key=lambda p: int(p["seq"]))
    assert "ms median" in last["latency"] and last["dropped"] is not None

    # --out wrote what was seen, as miakit predict does
    assert len(table) == len(reference) == 17
    got = table[muscles].to_numpy()
    assert np.all(np.abs(got[whole] - reference[whole]) <= allowed)
    for name in ("video.mp4", "activation.zarr", "activation.png", "overlay.mp4"):
        assert (tmp_path / "o" / name).exists()
