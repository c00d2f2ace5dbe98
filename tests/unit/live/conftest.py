"""Fixtures of the live tests: a small checkpoint trained here, a real video, an MJPEG stream over
HTTP served on 127.0.0.1 (:class:`MjpegServer`), an RTSP stream (:class:`RtspServer`, GStreamer's
server), and a headless Chromium driven by Selenium."""

from __future__ import annotations

from pathlib import Path

import pytest
from dataset_builders import make_dataset
from live_support import MjpegServer, RtspServer, chromium

WINDOW = 10


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory) -> Path:
    """The Transformer trained 5 steps on 10-step windows of BODY_25 keypoints and the 8 muscles."""
    from miakit.layout import BODY_25, MUSCLES
    from miakit.learn.config import TrainConfig
    from miakit.learn.train import train

    ds = make_dataset(frames=200)
    ds = ds.assign_coords(keypoint=list(BODY_25), muscle=list(MUSCLES)).assign_attrs(muscles=list(MUSCLES))
    config = TrainConfig(max_steps=5, window=WINDOW, batch_size=8, eval_every=5, warmup_steps=2, eval_stride=WINDOW)
    return Path(train(ds, config, tmp_path_factory.mktemp("ckpt"), progress=False).checkpoint)


@pytest.fixture(scope="session")
def video(shared_data) -> Path:
    """Pose2Sim's clip: one person, portrait 1080x1920, 60 fps, 100 frames (17 steps at 10 Hz)."""
    return shared_data / "video" / "pose2sim-single-cam01.mp4"


@pytest.fixture
def mjpeg(video):
    server = MjpegServer(video)
    yield server
    server.close()


@pytest.fixture
def rtsp(video, tmp_path):
    """The clip as an RTSP camera on 127.0.0.1; skipped where GStreamer's RTSP server is not installed."""
    missing = RtspServer.missing()
    if missing:
        pytest.skip(missing)
    server = RtspServer(video, tmp_path / "clip.avi")
    yield server
    server.close()


@pytest.fixture
def browser():
    """A headless Chromium (Selenium); skipped where none is installed."""
    found = chromium()
    if found is None:
        pytest.skip("no chromium and chromedriver here (apt-get install chromium chromium-driver; .ci/run does)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed (the dev extra)")
    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    flags = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000")
    for flag in flags:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=found[1]))
    yield driver
    driver.quit()
