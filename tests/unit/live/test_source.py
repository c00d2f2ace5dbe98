"""Frames for the live view: what --source names, the 10 Hz grid, and the failures a user meets
(no camera, a stream that does not answer, a stream that drops and comes back, or does not)."""

from __future__ import annotations

import socket
import threading
import time

import numpy as np
import pytest

from miakit.errors import InputError
from miakit.live.source import Frame, FrameSource, GridPicker, parse_source


def test_parse_source_names_cameras_streams_and_files(video):
    assert (parse_source("0").kind, parse_source("0").target) == ("camera", 0)
    assert parse_source("/dev/video2").kind == "camera"
    assert parse_source("rtsp://10.0.0.2:8554/cam").kind == "stream"
    assert parse_source("http://192.168.1.20:8080/video").kind == "stream"
    assert parse_source(str(video)).kind == "file"
    with pytest.raises(InputError, match="no such video file"):
        parse_source("no-such-clip.mp4")


@pytest.mark.parametrize("fps", [60.0, 12.0, 29.97])
def test_the_grid_takes_the_frame_nearest_each_step_as_predict_does(fps):
    """The frames GridPicker hands on are those sampled_frames decodes for miakit predict: the
    nearest to each 10 Hz time, a tie to the earlier."""
    times = np.arange(int(3 * fps)) / fps
    picker = GridPicker()
    got = {}
    for t in times:
        for step, frame in picker.push(Frame(image=None, captured=0.0, media_s=float(t))):
            got[step] = frame.media_s
    grid = np.arange(len(got)) / 10.0
    after = np.searchsorted(times, grid)
    lo, hi = np.clip(after - 1, 0, len(times) - 1), np.clip(after, 0, len(times) - 1)
    nearest = np.where(np.abs(times[lo] - grid) <= np.abs(times[hi] - grid), lo, hi)
    assert len(got) >= 29
    np.testing.assert_array_equal([got[k] for k in range(len(got))], times[nearest])


def test_the_clock_settles_a_step_as_the_next_frame_would_but_sooner():
    """A camera's frames arrive with jitter; between arrivals the clock is asked (settle) every
    millisecond. The frames picked are those of pushing alone, and a step whose frame came just
    before its time is handed on ``gap`` after its time, before the next frame arrives."""
    rng = np.random.default_rng(3)
    arrivals = np.cumsum(np.full(90, 1 / 30) + rng.uniform(-0.01, 0.01, 90))
    alone, clocked, settled_at = GridPicker(), GridPicker(), {}
    by_push = {k: f.media_s for t in arrivals for k, f in alone.push(Frame(None, 0.0, float(t)))}
    got = {}
    for before, t in zip(np.r_[0.0, arrivals[:-1]], arrivals):
        for now in np.arange(before, t, 0.001):
            for k, f in clocked.settle(float(now)):
                got[k], settled_at[k] = f.media_s, float(now)
        for k, f in clocked.push(Frame(None, 0.0, float(t))):
            got[k], settled_at[k] = f.media_s, float(t)
    assert got == by_push and len(got) >= 29
    early = [k for k in got if got[k] < k / 10]  # the frame before the step's time was the nearest
    sooner = 0
    for k in early:
        nxt = arrivals[np.searchsorted(arrivals, k / 10)]
        assert settled_at[k] <= min(nxt, k / 10 + (k / 10 - got[k]) + 0.001)
        sooner += settled_at[k] < nxt - 0.005
    assert sooner >= 5, (len(early), sooner)


def test_no_camera_is_one_line():
    with pytest.raises(InputError, match="no camera there") as err:
        FrameSource(parse_source("/dev/video57"), on_step=lambda *a: None).open()
    assert "\n" not in str(err.value)


def test_a_stream_that_does_not_answer_is_one_line():
    """A server that accepts the connection and never sends a byte."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    held = []
    threading.Thread(target=lambda: held.append(listener.accept()), daemon=True).start()
    tick = time.monotonic()
    try:
        with pytest.raises(InputError, match="the stream does not answer") as err:
            source = parse_source(f"http://127.0.0.1:{port}/video")
            FrameSource(source, on_step=lambda *a: None, open_timeout_s=1.5).open()
    finally:
        listener.close()
    assert "\n" not in str(err.value)
    assert time.monotonic() - tick < 20


def test_a_stream_that_drops_reconnects_and_marks_the_gap(mjpeg):
    steps = []
    source = FrameSource(parse_source(mjpeg.url), on_step=lambda k, f: steps.append(k), open_timeout_s=3)
    source.start()
    try:
        time.sleep(1.5)
        mjpeg.drop()
        time.sleep(2.0)
        before = len(steps)
        mjpeg.resume()
        deadline = time.monotonic() + 20
        while not source.gaps and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
    finally:
        source.stop()
    assert source.error is None
    assert len(source.gaps) == 1
    start, end = source.gaps[0]
    assert end - start >= 1.5  # the two seconds it was down, less the frames in flight
    assert len(steps) > before  # steps go on after the gap
    later = [k for k in steps if k / 10 > end]
    assert later and all(b > a for a, b in zip(steps, steps[1:]))  # no step in the gap, none repeated


def test_a_stream_that_drops_for_good_ends_in_one_line(mjpeg):
    source = FrameSource(parse_source(mjpeg.url), on_step=lambda *a: None, open_timeout_s=1, reconnect_s=2)
    source.start()
    time.sleep(1.0)
    mjpeg.drop()
    deadline = time.monotonic() + 20
    while source.running and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not source.running
    assert isinstance(source.error, InputError)
    assert "dropped and did not come back within 2 s" in str(source.error) and "\n" not in str(source.error)
