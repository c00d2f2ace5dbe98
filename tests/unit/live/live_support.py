"""Helpers of the live tests: an MJPEG camera over HTTP and an RTSP camera on 127.0.0.1, where
Chromium is, and what the live page shows (read off its DOM)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


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


class RtspServer:
    """An RTSP camera on 127.0.0.1: ``rtsp_server.py`` (GStreamer's RTSP server, run by Debian's
    Python) streams the clip, shrunk to ``height`` pixels and played ``loops`` times at ``fps``, as
    RTP/JPEG at ``url``. ``drop()`` ends the server (the stream stops), ``resume()`` starts it again
    on the same port."""

    SYSTEM_PYTHON = "/usr/bin/python3"
    INSTALL = "apt-get install gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-good"

    @classmethod
    def missing(cls) -> str:
        """Why no RTSP server can run here ('' where one can)."""
        probe = (
            "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0'); "
            "from gi.repository import Gst, GstRtspServer; Gst.init(None); "
            "assert all(Gst.ElementFactory.find(e) for e in ('avidemux', 'jpegdec', 'jpegenc', 'rtpjpegpay'))"
        )
        if not Path(cls.SYSTEM_PYTHON).exists():
            return f"no {cls.SYSTEM_PYTHON} for GStreamer's RTSP server ({cls.INSTALL}; .ci/run does)"
        found = subprocess.run([cls.SYSTEM_PYTHON, "-c", probe], capture_output=True, timeout=60)
        if found.returncode != 0:
            return f"no GStreamer RTSP server here ({cls.INSTALL}; .ci/run does)"
        return ""

    def __init__(self, video: Path, clip: Path, *, fps: float = 20.0, height: int = 640, loops: int = 4):
        import cv2

        cap = cv2.VideoCapture(str(video))
        frames = []
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            scale = height / frame.shape[0]
            frames.append(cv2.resize(frame, (round(frame.shape[1] * scale), height), interpolation=cv2.INTER_AREA))
        cap.release()
        size = (frames[0].shape[1], frames[0].shape[0])
        writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
        for _ in range(loops):
            for frame in frames:
                writer.write(frame)
        writer.release()
        self.clip, self.size, self.port = clip, size, free_port()
        self.url = f"rtsp://127.0.0.1:{self.port}/live"
        self.proc: subprocess.Popen | None = None
        self.resume()

    def resume(self) -> None:
        script = Path(__file__).with_name("rtsp_server.py")
        self.proc = subprocess.Popen(
            [self.SYSTEM_PYTHON, str(script), str(self.clip), str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            self.proc.kill()
            raise RuntimeError(f"the RTSP server did not start: {self.proc.stderr.read()[-500:]}")

    def drop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def close(self) -> None:
        self.drop()


def chromium() -> tuple[str, str] | None:
    """(browser, driver) paths of Debian's chromium and chromium-driver, or None."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


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
