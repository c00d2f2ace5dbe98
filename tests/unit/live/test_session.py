"""The live session's two ways of running the steps, one at a time (the default) and pipelined (the
next step's pose beside this one's model: ``pipeline=True``, ``miakit live --pipeline``), give the
same predictions for the same frames, and every shown step's latency is split into its stages."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from miakit.live.session import STAGES, LiveSession
from miakit.live.source import Frame


def _run(checkpoint, frames, out, *, pipeline: bool) -> np.ndarray:
    session = LiveSession(checkpoint, None, out=out, pipeline=pipeline)
    session.start(size=(frames[0].shape[1], frames[0].shape[0]))
    try:
        for k, image in enumerate(frames):
            session.offer(k, Frame(image=image, captured=time.monotonic(), media_s=k / 10))
            deadline = time.monotonic() + 60
            while session.stats.steps < k + 1 and time.monotonic() < deadline:  # one at a time: none dropped
                time.sleep(0.01)
    finally:
        session.stop()
    assert session.stats.dropped == 0 and session.error is None
    table = pd.read_csv(out / "activation.csv")
    return table[table.columns[1:]].to_numpy()


def test_pipelined_and_serial_steps_predict_the_same(checkpoint, video, tmp_path):
    import cv2

    cap, frames = cv2.VideoCapture(str(video)), []
    while len(frames) < 12:
        ok, image = cap.read()
        assert ok
        frames.append(image)
    cap.release()
    pipelined = _run(checkpoint, frames, tmp_path / "p", pipeline=True)
    serial = _run(checkpoint, frames, tmp_path / "s", pipeline=False)
    assert pipelined.shape == (12, 8) and np.isfinite(pipelined).all()
    np.testing.assert_allclose(pipelined, serial, rtol=1e-5, atol=1e-6)


def test_a_shown_step_has_its_latency_split_into_stages(checkpoint, video):
    """shown() after sent(): the stages add up to the latency, the page's own time as it said."""
    import cv2

    session = LiveSession(checkpoint, None)
    ok, image = cv2.VideoCapture(str(video)).read()
    session.start(size=(image.shape[1], image.shape[0]))
    try:
        session.offer(0, Frame(image=image, captured=time.monotonic(), media_s=0.0))
        deadline = time.monotonic() + 60
        while session.stats.steps < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        session.sent(1)
        time.sleep(0.05)
        latency = session.shown(1, page_ms=20.0)
    finally:
        session.stop()
    stages = {name: values[-1] for name, values in session.stats.stages_ms.items()}
    assert list(stages) == list(STAGES) and all(v >= 0 for v in stages.values()), stages
    assert stages["page"] == 20.0 and stages["network"] >= 25.0  # 50 ms between sent and shown, 20 of them the page's
    assert abs(sum(stages.values()) - latency) < 1e-6
    assert session.shown(1) is None  # each step counts once
