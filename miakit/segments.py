"""Segment splitting: one session, run through its stages, cut into segments (one per exercise).

A session recorded for one exercise (``exercise`` in session.yaml) is one segment. A session
recorded with markers has one segment per ``marker start:<exercise>`` ... ``marker stop:<exercise>``
pair in events.csv (:func:`exercise_intervals`); a marked exercise shorter than
:data:`MIN_SEGMENT_S` on the grid is left out, and said so. The segments go to the one dataset
builder (:func:`miakit.contracts.build.make_dataset`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from miakit.contracts.build import Segment
from miakit.contracts.dataset import UNKNOWN_EXERCISE
from miakit.contracts.session import read_events

if TYPE_CHECKING:
    from miakit.contracts.session import SessionMeta
    from miakit.stages.session import SessionState

MIN_SEGMENT_S = 1.0
"""A marked exercise shorter than this on the grid is not made a segment."""


def exercise_intervals(folder: Path, meta: SessionMeta) -> list[tuple[str, float, float]]:
    """(exercise, start, stop) host-time intervals of a session.

    A session recorded for one exercise (``exercise`` in session.yaml) is one interval covering
    everything. A session recorded with markers (``exercise: null``) has one interval per
    ``marker start:<exercise>`` ... ``marker stop:<exercise>`` pair in events.csv; a start without
    its stop (the recording was cut) runs to the end. A session with neither is one interval of
    exercise :data:`~miakit.contracts.dataset.UNKNOWN_EXERCISE` covering everything.
    """
    if meta.exercise:
        return [(meta.exercise, -np.inf, np.inf)]

    events = read_events(folder)
    markers = events[events["kind"] == "marker"].sort_values("host_time", kind="stable")
    open_: dict[str, float] = {}
    intervals = []
    for t, detail in zip(markers["host_time"], markers["detail"].astype(str)):
        action, _, exercise = detail.partition(":")
        if action == "start" and exercise:
            open_[exercise] = float(t)
        elif action == "stop" and exercise in open_:
            intervals.append((exercise, open_.pop(exercise), float(t)))
    intervals += [(exercise, start, np.inf) for exercise, start in open_.items()]
    if not intervals:
        return [(UNKNOWN_EXERCISE, -np.inf, np.inf)]
    return sorted(intervals, key=lambda i: i[1])


def state_segment(state: SessionState, rows: slice = slice(None), *, id: str, exercise: str, source: str) -> Segment:
    """The grid ``rows`` of a session's final state as one segment, its EMG in the profile's units."""
    meta = state.meta
    return Segment(
        id=id,
        session=meta.session_id,
        subject=meta.subject,
        exercise=exercise,
        split="",
        source=source,
        emg=state.require("emg")[rows].astype(np.float32),
        keypoints=state.require("keypoints")[rows].astype(np.float32),
        keypoint_score=state.require("score")[rows].astype(np.float32),
        valid=state.require("valid")[rows],
        image_width=state.camera.width if state.camera else 0,
        image_height=state.camera.height if state.camera else 0,
        flags=("truncated",) if meta.truncated else (),
        emg_clean=None if state.emg_clean is None else state.emg_clean[rows].astype(np.float32),
        rate_hz=state.rate_hz,
        emg_units=state.emg_units,
    )


def split_session(state: SessionState) -> tuple[SessionState, list[Segment]]:
    """A kept session's segments, one per exercise interval; the state's report says what was left
    out (and, where nothing is long enough to keep, why the session is)."""
    meta = state.meta
    intervals = exercise_intervals(state.folder, meta)
    if [i[0] for i in intervals] == [UNKNOWN_EXERCISE] and not meta.exercise:
        state = state.reported(f"no exercise named or marked: one segment of exercise {UNKNOWN_EXERCISE!r}")
    source = (
        "synthetic"
        if (meta.keypoints and meta.keypoints.estimator == "synthetic") or meta.recorder.emulated
        else "recording"
    )
    segments = []
    for k, (exercise, start, stop) in enumerate(intervals):
        grid = state.require("grid")
        rows = np.flatnonzero((grid >= start) & (grid <= stop))
        if len(rows) < MIN_SEGMENT_S * state.rate_hz:
            state = state.reported(f"{exercise}: marked for too short a time on the grid, left out")
            continue
        segment_id = meta.session_id if len(intervals) == 1 else f"{meta.session_id}-{k:02d}-{exercise}"
        segments.append(
            state_segment(state, slice(rows[0], rows[-1] + 1), id=segment_id, exercise=exercise, source=source)
        )
    if not segments:
        state = state.reported(
            reason=f"{state.folder}: no marked exercise long enough to keep (at least {MIN_SEGMENT_S:g} s on the grid)"
        )
    return state, segments
