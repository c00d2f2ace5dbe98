"""A live session on an HTTP stream (MJPEG served by the test on 127.0.0.1, as a phone's camera app
serves it), its page open in a real headless browser: the values on the page are the session's own
predictions (those ``--out`` writes), each page answers the steps it drew (the latency), and a
stream that drops and comes back shows its gap on the page. Then the one-line failures of the command."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from live_support import read_page

from miakit.live.server import serve
from miakit.live.session import LiveSession
from miakit.live.source import parse_source

REPO = Path(__file__).resolve().parents[3]


def test_a_stream_on_the_page_in_a_browser(mjpeg, checkpoint, browser, tmp_path):
    session = LiveSession(checkpoint, parse_source(mjpeg.url), out=tmp_path / "o", reconnect_s=20)
    page = serve(session, port=0)
    seen: dict[int, dict] = {}

    def watch(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            shown = read_page(browser)
            if shown["index"] not in (None, ""):
                seen[int(shown["index"])] = shown
            time.sleep(0.05)

    try:
        browser.get(page.url)
        session.start()
        watch(3.0)
        mjpeg.drop()
        watch(2.0)
        mjpeg.resume()
        deadline = time.monotonic() + 20
        while not session.source.gaps and time.monotonic() < deadline:
            watch(0.2)
        watch(2.0)
        gaps_text = browser.find_element("id", "gaps").text
    finally:
        session.stop()
        page.stop()
    summary = session.summary()
    assert summary["steps"] >= 10 and summary["latencies"] >= 5, summary
    assert 0 < summary["latency_ms_median"] <= summary["latency_ms_p95"]
    assert len(summary["gaps"]) == 1 and "–" in gaps_text, gaps_text  # the gap, from-to, on the page

    table = pd.read_csv(tmp_path / "o" / "activation.csv")
    muscles = list(table.columns[1:])
    written = table[muscles].to_numpy()
    first = int(round(table["time"].iloc[0] * 10))  # --out starts at the session's first step
    compared = 0
    for index, shown in seen.items():
        values = np.array([shown["rows"][m][0] for m in muscles], dtype=float)
        row = written[index - first]
        assert np.array_equal(np.isnan(values), np.isnan(row)), index
        if np.isfinite(values).all():
            np.testing.assert_allclose(values, row, atol=1e-3)  # the page rounds to 4 decimals, the table too
            compared += 1
    assert compared >= 5, sorted(seen)
    assert (tmp_path / "o" / "video.mp4").stat().st_size > 0


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, "-m", "miakit", "live", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def _one_line_error(result: subprocess.CompletedProcess, words: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len([line for line in lines if "error" in line.lower()]) == 1 and words in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_the_command_fails_in_one_line(checkpoint, video, tmp_path):
    from dataset_builders import make_dataset

    from miakit.learn.config import TrainConfig
    from miakit.learn.train import train

    _one_line_error(_run("--checkpoint", str(checkpoint), "--source", "/dev/video57", "--port", "0"), "no camera there")
    _one_line_error(_run("--checkpoint", str(tmp_path / "none.pt"), "--source", str(video)), "no such checkpoint")
    other = make_dataset(frames=120)  # trained on keypoints that are not BODY_25
    config = TrainConfig(max_steps=1, window=10, batch_size=4, eval_every=1, warmup_steps=1, eval_stride=10)
    unfit = train(other, config, tmp_path / "unfit", progress=False).checkpoint
    _one_line_error(_run("--checkpoint", str(unfit), "--source", str(video)), "does not fit the live pose")


def test_an_rtsp_camera_runs_live_and_comes_back_after_a_drop(rtsp, checkpoint, tmp_path):
    """An RTSP camera (GStreamer's server on 127.0.0.1, RTP/JPEG) read as ``--source rtsp://...``:
    steps run with the person found, and when the server goes away and comes back on its port the
    stream is reopened and the gap marked."""
    session = LiveSession(checkpoint, parse_source(rtsp.url), out=tmp_path / "o", reconnect_s=20, open_timeout_s=5)
    try:
        session.start()
        assert session.size == rtsp.size
        time.sleep(3.0)
        before = session.stats.steps
        rtsp.drop()
        time.sleep(2.0)
        rtsp.resume()
        deadline = time.monotonic() + 20
        while not session.source.gaps and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2.0)
    finally:
        session.stop()
    summary = session.summary()
    assert session.source.error is None and session.error is None
    assert before >= 5 and summary["steps"] > before, summary
    assert len(summary["gaps"]) == 1 and summary["gaps"][0][1] - summary["gaps"][0][0] >= 1.0, summary
    table = pd.read_csv(tmp_path / "o" / "activation.csv")
    assert np.isfinite(table[table.columns[1:]].to_numpy()).all(axis=1).sum() >= 5  # the person found, predicted
