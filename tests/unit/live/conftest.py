"""Fixtures of the live tests: a small checkpoint trained here, a real video, an MJPEG stream over
HTTP served on 127.0.0.1 (:class:`MjpegServer`), and a headless Chromium driven by Selenium."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from dataset_builders import make_dataset

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MjpegServer:
    """An IP camera on 127.0.0.1: ``GET /video`` streams JPEG frames of a video file
    (multipart/x-mixed-replace, as phone camera apps do) at ``fps``, looping. ``drop()`` closes
    every open stream and refuses new ones until ``resume()``."""

    def __init__(self, video: Path, *, fps: float = 20.0, height: int = 640):
        import cv2

        cap = cv2.VideoCapture(str(video))
        self.jpegs = []
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            scale = height / frame.shape[0]
            frame = cv2.resize(frame, (round(frame.shape[1] * scale), height), interpolation=cv2.INTER_AREA)
            self.jpegs.append(cv2.imencode(".jpg", frame)[1].tobytes())
        cap.release()
        self.fps = fps
        self.down = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if server.down.is_set() or self.path != "/video":
                    self.send_error(503 if server.down.is_set() else 404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                k = 0
                try:
                    while not server.down.is_set():
                        jpeg = server.jpegs[k % len(server.jpegs)]
                        self.wfile.write(
                            b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: "
                            + str(len(jpeg)).encode()
                            + b"\r\n\r\n"
                            + jpeg
                            + b"\r\n"
                        )
                        k += 1
                        time.sleep(1.0 / server.fps)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/video"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def drop(self) -> None:
        self.down.set()

    def resume(self) -> None:
        self.down.clear()

    def close(self) -> None:
        self.down.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def mjpeg(video):
    server = MjpegServer(video)
    yield server
    server.close()


def chromium() -> tuple[str, str] | None:
    """(browser, driver) paths of Debian's chromium and chromium-driver, or None."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


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


def read_page(driver) -> dict:
    """What the page shows now: the step's index and seq, and each muscle's predicted and measured
    value (None where empty), read off the table's data attributes."""
    return driver.execute_script(
        """
        const t = document.getElementById('muscles');
        const rows = {};
        for (const r of t.querySelectorAll('tbody tr')) {
          const p = r.querySelector('td.predicted').dataset.value, m = r.querySelector('td.measured').dataset.value;
          rows[r.dataset.muscle] = [p === '' ? null : Number(p), m === '' ? null : Number(m)];
        }
        return {seq: t.dataset.seq, index: t.dataset.index, rows: rows,
                status: document.getElementById('status').textContent,
                latency: document.getElementById('latency').textContent,
                dropped: document.getElementById('dropped').dataset.value};
        """
    )
