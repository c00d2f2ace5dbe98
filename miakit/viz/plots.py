"""Plots of every stage, each one function returning a :class:`matplotlib.figure.Figure`.

- :func:`session_emg`: a raw session's decoded EMG per sensor over host time, gaps and events.
- :func:`alignment`: the sync match (keypoint motion vs EMG activity) before and after the offset.
- :func:`pose_confidence`: keypoint scores over a dataset segment (heat map and mean).
- :func:`dataset_summary`: valid minutes per subject and exercise; EMG distribution per muscle.
- :func:`predicted_vs_measured`: measured and predicted EMG per muscle (the paper's Figure 6).
- :func:`activation_figure`: the predicted activation of each muscle over a video's time
  (``miakit predict``, :mod:`miakit.viz.predict_video`).

Figures are made with :class:`matplotlib.figure.Figure` directly (the Agg canvas, no pyplot, no
global state, nothing shown); :func:`save_figure` writes one. Lines and images carry labels
(``Line2D.get_label()``, ``Artist.get_gid()``) so a test or a notebook can read what was drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from miakit.arrays import true_runs
from miakit.contracts.dataset import find_segment, segment_of_frame
from miakit.contracts.session import EVENTS_FILE, find_sessions, read_events, read_meta, validate_session
from miakit.errors import InputError
from miakit.layout import BODY_25, MUSCLES
from miakit.pipeline import load_pipeline
from miakit.segments import exercise_intervals
from miakit.stages.decode import decode_emg
from miakit.stages.grid import sample_times
from miakit.stages.session import EmgToGridParams
from miakit.viz.common import as_dataset, dataset_label, session_state, where_of

DPI = 100
UNITS = "device units"
"""The one name of the EMG's unit where a dataset states none (the sensors' raw scale)."""
EVENT_STYLE: dict[str, tuple[str, str]] = {
    "marker": ("tab:green", "-"),
    "sync": ("tab:red", "-"),
    "disconnect": ("tab:orange", "--"),
    "reconnect": ("tab:blue", "--"),
    "gap": ("tab:orange", ":"),
    "error": ("black", ":"),
}
"""Event kinds drawn as vertical lines, with their colour and line style."""

SYNC_WINDOW_S = 1.5
"""Frames within this many seconds of a sync event (the clap or jump the recorder cues before an
exercise: the subject does it within about a second of the cue) are left out of every
per-exercise statistic (the benchmarks' RMSE, :func:`dataset_summary`'s box plots) and are never
the demo's representative frame: the sync movement is no part of the exercise. The one constant."""


def new_figure(width_in: float, height_in: float):
    """An empty figure of this size in inches at :data:`DPI`, laid out by matplotlib's constrained
    layout (no pyplot: nothing global, safe in threads)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")


def save_figure(fig, out: str | Path, *, dpi: float | None = None) -> Path:
    """Write ``fig`` to ``out`` (PNG, SVG or PDF by suffix; parent folders made) at the figure's own
    dpi, so that data coordinates map to the same pixels as on the figure's canvas, or at ``dpi``
    (the benchmark reports' 110)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=fig.dpi if dpi is None else dpi)
    return out


def break_gaps(t: np.ndarray, y: np.ndarray, *, max_gap_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Insert a NaN between consecutive samples more than ``max_gap_s`` apart, so a line plot
    breaks there instead of drawing across the gap. ``t`` ascending; returns new (t, y)."""
    t, y = np.asarray(t, dtype=np.float64), np.asarray(y, dtype=np.float64)
    at = np.flatnonzero(np.diff(t) > max_gap_s) + 1
    return np.insert(t, at, (t[at - 1] + t[at]) / 2), np.insert(y, at, np.nan)


# -- a raw session -------------------------------------------------------------------------------


def session_emg(session_dir: str | Path, *, max_gap_s: float | None = None, kinds: Sequence[str] = tuple(EVENT_STYLE)):
    """A session's decoded EMG, one panel per sensor, over host time (in its device profile's units).

    Each sample sits at its host time (from the device counter where the packets carry one, as the
    pipeline's grid stage puts it); the line breaks where samples are more than ``max_gap_s`` apart
    (a disconnect, dropped packets; None: the ``emg_to_grid`` stage's default,
    :class:`miakit.stages.session.EmgToGridParams`). Events of ``kinds`` are vertical lines: on every panel, or on
    their own sensor's panel where the event names a sensor. Their labels sit in a strip of their
    own above the traces (gid ``event-label``), never over a trace; events closer together than a
    label's width share one label.
    """
    import pandas as pd

    if max_gap_s is None:
        max_gap_s = EmgToGridParams().max_gap_s
    folder = Path(session_dir)
    meta = validate_session(folder)
    decoded = decode_emg(folder, meta)
    rate = decoded.profile.rate_hz
    units = decoded.profile.units
    events = pd.read_csv(folder / EVENTS_FILE, keep_default_na=False, dtype={"sensor": str, "detail": str})
    events = events[events["kind"].isin(list(kinds))]

    sensors = list(meta.sensors)
    span = [np.inf, -np.inf]
    times_of = {}
    for sensor in sensors:
        samples = decoded.sensors[sensor]
        times_of[sensor] = sample_times(samples.arrival, samples.device_seq, rate)
        if len(times_of[sensor]):
            span = [min(span[0], float(np.min(times_of[sensor]))), max(span[1], float(np.max(times_of[sensor])))]
    if len(events) and np.isfinite(span[0]):
        span = [min(span[0], float(events["host_time"].min())), max(span[1], float(events["host_time"].max()))]
    width = (span[1] - span[0]) if np.isfinite(span[0]) and span[1] > span[0] else 1.0
    labels = _event_labels(events, min_gap=0.012 * width)
    # The label strip is as tall as the longest label needs (rotated text, 6.5 pt: at most 0.055 in a
    # character), so no label is cut.
    strip_in = 0.25 + 0.055 * max((len(text) for _, text, _ in labels), default=4)
    fig = new_figure(11, 1.0 + strip_in + 1.15 * len(sensors))
    grid = fig.subplots(
        len(sensors) + 1, 1, sharex=True, squeeze=False, height_ratios=[strip_in / 1.15] + [1.0] * len(sensors)
    )[:, 0]
    strip, axes = grid[0], grid[1:]
    for ax, sensor in zip(axes, sensors):
        samples = decoded.sensors[sensor]
        times = times_of[sensor]
        for c in range(samples.values.shape[1]):
            t, y = break_gaps(times, samples.values[:, c], max_gap_s=max_gap_s)
            ax.plot(t, y, lw=0.8, color="0.15", label=sensor if c == 0 else f"{sensor}[{c}]")
        ax.set_ylabel(f"{sensor}: {meta.sensors[sensor]}\n({units})", fontsize=7.5, rotation=0, ha="right", va="center")
        ax.tick_params(labelsize=7)
        mine = events[(events["sensor"] == "") | (events["sensor"] == sensor)]
        for _, ev in mine.iterrows():
            colour, style = EVENT_STYLE.get(ev["kind"], ("0.5", ":"))
            ax.axvline(
                float(ev["host_time"]), color=colour, ls=style, lw=1.0, gid=f"event:{ev['kind']}", label=ev["kind"]
            )
    strip.set_axis_off()
    strip.set_ylim(0, 1)
    kinds_shown = list(dict.fromkeys(str(k) for k in events["kind"]))
    if kinds_shown:  # which line is which kind of event
        from matplotlib.lines import Line2D

        handles = [
            Line2D([], [], color=EVENT_STYLE.get(k, ("0.5", ":"))[0], ls=EVENT_STYLE.get(k, ("0.5", ":"))[1], label=k)
            for k in kinds_shown
        ]
        fig.legend(handles=handles, fontsize=7, loc="outside lower center", ncols=len(handles), title="events")
    for at, text, colour in labels:
        strip.axvline(at, ymax=0.06, color=colour, lw=1.0)
        strip.text(
            at,
            0.08,
            text,
            rotation=90,
            fontsize=6.5,
            color=colour,
            ha="center",
            va="bottom",
            gid="event-label",
            clip_on=False,
        )
    axes[-1].set_xlabel("host time (s)")
    fig.suptitle(
        f"{meta.session_id}: raw EMG per sensor ({units}), subject {meta.subject}, "
        f"{meta.exercise or 'exercises by marker'}, profile {decoded.profile.name}",
        fontsize=10,
    )
    return fig


def _event_labels(events, *, min_gap: float) -> list[tuple[float, str, str]]:
    """(time, text, colour) of the event labels, in time order: events less than ``min_gap`` apart
    share one label (their texts joined by '; ', the first one's colour)."""
    out: list[list] = []
    for _, ev in events.sort_values("host_time").iterrows():
        text = " ".join(str(v) for v in (ev["kind"], ev["sensor"], ev["detail"]) if str(v)).strip()
        t = float(ev["host_time"])
        if out and t - out[-1][3] < min_gap:
            out[-1][1] += f"; {text}"
            out[-1][3] = t
            continue
        out.append([t, text, EVENT_STYLE.get(ev["kind"], ("0.5", ":"))[0], t])
    return [(t, text if len(text) <= 48 else text[:45] + "...", colour) for t, text, colour, _ in out]


def alignment(session_dir: str | Path, *, pipeline: str | Path = "mia"):
    """The sync match of a session: keypoint motion vs EMG activity around the sync event, on the
    stated video clock (top) and after the offset the pipeline found (bottom).

    Runs the pipeline's own stages up to ``align`` (:func:`miakit.viz.common.session_state`) and
    plots what its sync refinement compared (:class:`miakit.stages.align.SyncMatch`). The EMG activity
    is drawn ``emg_lead_s`` later than it was measured (EMG leads the movement it causes), so in the
    bottom panel the two peaks coincide where the match is right. Each trace is scaled to [0, 1]
    over what is shown.
    """

    folder = Path(session_dir)
    method = next((params.method for name, params in load_pipeline(pipeline).configured() if name == "align"), "clock")
    if method != "sync":
        raise InputError(
            folder,
            f"pipeline {pipeline!r} aligns by the clock alone: no sync match to plot",
            field="align.method",
            expected="sync",
            found=method,
        )
    state = session_state(folder, pipeline=pipeline, until="align")
    match = state.sync.match if state.sync is not None else None
    if match is None:
        raise InputError(folder, f"nothing to plot: {state.sync.note if state.sync is not None else 'no sync match'}")

    lead = match.emg_lead_s
    emg_t = match.emg_t + lead
    lo, hi = float(emg_t[0]) - 0.1, float(emg_t[-1]) + 0.1  # the span the sync stage compared, no more
    verdict = "applied" if match.applied else "not applied (below the pipeline's min_confidence)"
    fig = new_figure(10, 5.5)
    top, bottom = fig.subplots(2, 1, sharex=True)
    panels = (
        (top, match.motion_t, "before: on the video's stated clock", "before"),
        (
            bottom,
            match.motion_t + match.offset_s,
            f"after: video shifted by {match.offset_s * 1000:+.0f} ms ({verdict})",
            "after",
        ),
    )
    what = {"clap": "wrist closeness (clap)", "jump": "hip rise (jump)"}.get(match.kind, "body motion energy")
    muscles = "+".join(m for m in match.muscles if m) or "all muscles"
    for ax, motion_t, title, gid in panels:
        motion = _unit(match.motion, motion_t, lo, hi)
        emg = _unit(match.emg, emg_t, lo, hi)
        ax.plot(motion_t, motion, color="tab:blue", lw=1.4, label=f"motion: {what}", gid=f"{gid}:motion")
        ax.plot(
            emg_t,
            emg,
            color="tab:red",
            lw=1.4,
            label=f"EMG activity ({muscles}), drawn +{lead * 1000:.0f} ms",
            gid=f"{gid}:emg",
        )
        ax.axvline(match.cue, color="0.4", ls="--", lw=1, gid="cue")
        ax.annotate(
            f"cue: {match.kind or 'sync'}",
            (match.cue, 0.0),
            xycoords=("data", "axes fraction"),
            fontsize=8,
            color="0.3",
            xytext=(3, 4),
            textcoords="offset points",
        )
        gap = _peak_gap(ax, motion_t, motion, emg_t, emg, lo, hi, gid)
        ax.set_title(f"{title}; motion peak {gap * 1000:+.0f} ms from the EMG peak", fontsize=10, loc="left")
        ax.set_ylabel("scaled to [0, 1]")
        ax.set_xlim(lo, hi)
        ax.set_ylim(-0.05, 1.25)  # headroom for the peak marks
    handles, labels = top.get_legend_handles_labels()
    keep = [i for i, label in enumerate(labels) if not label.startswith("_")]
    fig.legend([handles[i] for i in keep], [labels[i] for i in keep], fontsize=8, loc="outside lower center", ncols=2)
    bottom.set_xlabel("host time (s)")
    meta = state.meta
    fig.suptitle(
        f"{meta.session_id} (subject {meta.subject}, {meta.exercise or 'exercises by marker'}): sync alignment, "
        f"confidence {match.confidence:.2f}, pipeline {Path(str(pipeline)).stem}",
        fontsize=11,
    )
    return fig


def _peak_gap(ax, motion_t, motion, emg_t, emg, lo: float, hi: float, gid: str) -> float:
    """Mark both traces' peaks within [lo, hi] and join them with an arrow; returns motion peak
    time less EMG peak time (s)."""

    def peak(t, y):
        shown = (t >= lo) & (t <= hi) & np.isfinite(y)
        k = np.flatnonzero(shown)[np.nanargmax(y[shown])] if shown.any() else int(np.nanargmax(y))
        return float(t[k])

    a, b = peak(np.asarray(motion_t), np.asarray(motion)), peak(np.asarray(emg_t), np.asarray(emg))
    ax.plot([a], [1.0], "v", color="tab:blue", ms=7, gid=f"{gid}:motion_peak")
    ax.plot([b], [1.0], "v", color="tab:red", ms=7, gid=f"{gid}:emg_peak")
    ax.annotate(
        "", (a, 1.12), xytext=(b, 1.12), arrowprops=dict(arrowstyle="<->", color="0.25", lw=1.0), gid=f"{gid}:gap"
    )
    return a - b


def _unit(y: np.ndarray, t: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """``y`` scaled so that its part with ``lo <= t <= hi`` spans [0, 1]."""
    y = np.asarray(y, dtype=np.float64)
    shown = y[(t >= lo) & (t <= hi) & np.isfinite(y)]
    if shown.size == 0:
        return y
    low, high = float(shown.min()), float(shown.max())
    return (y - low) / (high - low) if high > low else y - low


# -- a built dataset -----------------------------------------------------------------------------


def pose_confidence(dataset: Any, segment: str | int, *, min_score: float = 0.3, catalog: str | Path | None = None):
    """Keypoint scores of one dataset segment over time: a heat map (keypoints x time, 0 to 1) and,
    below, the mean score and the fraction of keypoints scored at least ``min_score``; frames the
    dataset marks invalid are shaded grey."""

    ds = as_dataset(dataset, catalog=catalog)
    seg = find_segment(ds, segment, where=where_of(dataset))
    score = np.asarray(ds["keypoint_score"][seg.frames].values, dtype=np.float64)
    time = np.asarray(ds["time"][seg.frames].values, dtype=np.float64)
    valid = np.asarray(ds["valid"][seg.frames].values, dtype=bool)
    if seg.length == 0:
        raise InputError(seg.id, "the segment has no frames")
    dt = 1.0 / float(ds.attrs.get("rate_hz", 10.0))
    names = [str(k) for k in ds["keypoint"].values] if "keypoint" in ds.coords else list(BODY_25)

    fig = new_figure(11, 6.5)
    heat, line = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1.2))
    image = heat.imshow(
        score.T,
        aspect="auto",
        interpolation="nearest",
        cmap="viridis",
        vmin=0.0,
        vmax=1.0,
        extent=(time[0] - dt / 2, time[-1] + dt / 2, len(names) - 0.5, -0.5),
    )
    image.set_gid("keypoint_score")
    heat.set_yticks(range(len(names)), names, fontsize=6.5)
    heat.set_title("keypoint score", fontsize=10, loc="left")
    fig.colorbar(image, ax=heat, label="score", pad=0.01)
    line.plot(time, score.mean(axis=1), color="tab:blue", lw=1.2, label="mean score", gid="mean")
    line.plot(
        time,
        (score >= min_score).mean(axis=1),
        color="tab:orange",
        lw=1.0,
        label=f"fraction scored >= {min_score}",
        gid="present",
    )
    for start, stop in true_runs(~valid):
        line.axvspan(time[start] - dt / 2, time[stop - 1] + dt / 2, color="0.85", lw=0, gid="invalid")
    line.set_ylim(-0.02, 1.02)
    line.set_ylabel("score (0 to 1)", fontsize=8)
    heat.set_ylabel("BODY_25 keypoint", fontsize=8)
    line.set_xlabel("time in segment (s)")
    line.legend(fontsize=7, loc="lower right")
    fig.suptitle(
        f"pose confidence: {seg.id} (subject {seg.subject}, "
        f"{seg.exercise}), {seg.length} frames, {valid.mean():.0%} valid",
        fontsize=11,
    )
    return fig


def sync_times(ds, sessions: str | Path | None = None) -> dict[int, list[float]]:
    """Sync events of each segment of ``ds``, in seconds from the segment's start: {segment index: times}.

    Read from the dataset's event table (``event_kind == 'sync'``) and, where ``sessions`` is given,
    from the session folders under it (``events.csv`` rows of kind ``sync``, the folder found by
    ``segment_session``). A build does not copy sync events into the dataset, so without
    ``sessions`` a store built from sessions has none. A session event's time in its segment is
    taken from the later of the segment's marker start and the camera's first frame (the grid starts
    there, within a grid step): near enough for :data:`SYNC_WINDOW_S`."""
    out: dict[int, list[float]] = {}
    if "event_kind" in ds.data_vars:
        kinds = np.asarray(ds["event_kind"].values).astype(str)
        for seg, t in zip(ds["event_segment"].values[kinds == "sync"], ds["event_time"].values[kinds == "sync"]):
            out.setdefault(int(seg), []).append(float(t))
    if sessions is not None and Path(sessions).is_dir():
        for index, times in _session_sync_times(ds, Path(sessions)).items():
            out.setdefault(index, []).extend(times)
    return out


def _session_sync_times(ds, sessions: Path) -> dict[int, list[float]]:

    folders: dict[str, Path] = {}
    for found in find_sessions(sessions):
        folders.setdefault(read_meta(found).session_id, found)
    ids = np.asarray(ds["segment"].values).astype(str)
    out: dict[int, list[float]] = {}
    for index, session in enumerate(np.asarray(ds["segment_session"].values).astype(str)):
        folder = folders.get(session)
        if folder is None:
            continue
        events = read_events(folder)
        cues = events.loc[events["kind"] == "sync", "host_time"].to_numpy(dtype=np.float64)
        if not len(cues):
            continue
        meta = read_meta(folder)
        intervals = exercise_intervals(folder, meta)
        start = intervals[0][1]
        for k, (exercise, begin, _stop) in enumerate(intervals):  # the segment's id names its interval
            if len(intervals) > 1 and ids[index] == f"{session}-{k:02d}-{exercise}":
                start = begin
        camera = meta.keypoints or meta.video
        origin = max(start, camera.start_host_time if camera is not None else -np.inf)
        out[index] = [float(t - (origin if np.isfinite(origin) else 0.0)) for t in cues]
    return out


def near_sync(ds, sessions: str | Path | None = None) -> np.ndarray:
    """(frame,) bool: the frames within :data:`SYNC_WINDOW_S` of a sync event of their segment
    (:func:`sync_times`)."""
    near = np.zeros(ds.sizes["frame"], dtype=bool)
    by_segment = sync_times(ds, sessions)
    if not by_segment:
        return near
    starts = np.asarray(ds["segment_start"].values, dtype=np.int64)
    lengths = np.asarray(ds["segment_length"].values, dtype=np.int64)
    for index, times in by_segment.items():
        frames = slice(int(starts[index]), int(starts[index] + lengths[index]))
        time = np.asarray(ds["time"][frames].values, dtype=np.float64)
        for t in times:
            near[frames] |= np.abs(time - t) <= SYNC_WINDOW_S
    return near


def sync_note(left_out: int, total: int, *, what: str = "") -> str:
    """The caption's words on the frames :func:`near_sync` left out of a statistic (``what``: which
    frames, such as 'test ')."""
    if left_out:
        return (
            f"{left_out} of {total} {what}frames within {SYNC_WINDOW_S:g} s of a sync event "
            f"({100 * left_out / max(total, 1):.1f}%) left out"
        )
    return f"no {what}frame within {SYNC_WINDOW_S:g} s of a known sync event"


def valid_minutes(ds) -> tuple[list[str], list[str], np.ndarray]:
    """Minutes of valid frames per subject and exercise: (subjects, exercises, minutes[subject, exercise])."""

    subjects_of = np.asarray(ds["segment_subject"].values).astype(str)
    exercises_of = np.asarray(ds["segment_exercise"].values).astype(str)
    subjects, exercises = sorted(set(subjects_of)), sorted(set(exercises_of))
    per_segment = np.bincount(
        segment_of_frame(ds), weights=np.asarray(ds["valid"].values, dtype=np.float64), minlength=len(subjects_of)
    )
    minutes = np.zeros((len(subjects), len(exercises)))
    for s, e, frames in zip(subjects_of, exercises_of, per_segment):
        minutes[subjects.index(s), exercises.index(e)] += frames / float(ds.attrs.get("rate_hz", 10.0)) / 60.0
    return subjects, exercises, minutes


def dataset_summary(dataset: Any, *, catalog: str | Path | None = None, sessions: str | Path | None = None):
    """A dataset at a glance: minutes of valid data per subject and exercise (a heat map with the
    numbers written in), and the distribution of each muscle's EMG over valid frames (box plots:
    median, quartiles, whiskers at the 5th and 95th percentiles, no outliers), frames near a sync
    event left out (:func:`near_sync`; ``sessions``: the session folders the dataset was built
    from, where its sync events are), as the box plots' title says."""

    ds = as_dataset(dataset, catalog=catalog)
    subjects, exercises, minutes = valid_minutes(ds)
    seconds = (
        minutes.max() < 2.0 if minutes.size else False
    )  # short cells: in seconds, so that the numbers differ where the shades do
    amount, unit = (minutes * 60.0, "valid seconds") if seconds else (minutes, "valid minutes")
    valid = np.asarray(ds["valid"].values, dtype=bool)
    near = near_sync(ds, sessions) & valid
    emg = np.asarray(ds["emg"].values, dtype=np.float64)[valid & ~near]
    muscles = [str(m) for m in ds["muscle"].values]

    fig = new_figure(max(9.0, 0.45 * len(exercises) + 3), 4.0 + 0.3 * len(subjects) + 3.2)
    top, bottom = fig.subplots(2, 1, height_ratios=(max(1.5, 0.3 * len(subjects) + 1), 3.2))
    image = top.imshow(
        amount,
        aspect="auto",
        cmap="Blues",
        vmin=0,
        vmax=max(float(amount.max()) if amount.size else 1.0, 1e-9),
        interpolation="nearest",
    )
    image.set_gid("valid_minutes" if not seconds else "valid_seconds")
    top.set_xticks(range(len(exercises)), exercises, rotation=45, ha="right", fontsize=7.5)
    top.set_yticks(range(len(subjects)), subjects, fontsize=7.5)
    top.set_xlabel("exercise", fontsize=8)
    top.set_ylabel("subject", fontsize=8)
    if amount.size <= 600:
        high = amount.max() if amount.size else 0
        for (i, j), value in np.ndenumerate(amount):
            top.text(
                j,
                i,
                f"{value:.0f}" if seconds else f"{value:.1f}",
                ha="center",
                va="center",
                fontsize=6.5,
                color="white" if value > 0.6 * high else "black",
                gid="cell",
            )
    fig.colorbar(image, ax=top, label=f"{unit} (0 to the largest cell)", pad=0.01)
    top.set_title(
        f"valid data: {minutes.sum():.1f} minutes, {len(subjects)} subjects x {len(exercises)} exercises",
        fontsize=10,
        loc="left",
    )

    columns = [emg[:, k][np.isfinite(emg[:, k])] for k in range(len(muscles))]
    boxes = bottom.boxplot(columns, whis=(5, 95), showfliers=False, patch_artist=True, widths=0.6)
    for patch in boxes["boxes"]:
        patch.set_facecolor("#9ecae1")
    for k, median in enumerate(boxes["medians"]):
        median.set_color("black")
        median.set_gid(f"median:{muscles[k]}")
    bottom.set_xticks(range(1, len(muscles) + 1), muscles, fontsize=8)
    bottom.set_ylabel(f"EMG ({ds.attrs.get('emg_units') or UNITS})")
    bottom.set_xlabel("muscle", fontsize=8)
    bottom.set_title(
        f"EMG per muscle over valid frames (whiskers: 5th to 95th percentile); "
        f"{sync_note(int(near.sum()), int(valid.sum()))}",
        fontsize=10,
        loc="left",
    )
    fig.suptitle(
        f"dataset summary ({dataset_label(ds)}): {ds.sizes['segment']} "
        f"segments, {int(valid.sum())} of {ds.sizes['frame']} frames valid",
        fontsize=11,
    )
    return fig


# -- predictions ---------------------------------------------------------------------------------


def predicted_vs_measured(
    time: np.ndarray,
    measured: np.ndarray,
    predicted: np.ndarray | None = None,
    *,
    muscles: Sequence[str] = MUSCLES,
    title: str = "",
    units: str = UNITS,
    ncols: int = 4,
    model: str = "",
    test_from: float | None = None,
):
    """One small panel per muscle: measured (black) and, where given, predicted (red) EMG over time
    (the paper's Figure 6). Plain arrays, so any model can feed it: ``time`` (frames,) in seconds,
    ``measured`` and ``predicted`` (frames, muscles) in the same units. Gaps (NaN) stay gaps. Every
    panel has the same y scale and a zero line, so muscles compare at a glance; ``model`` names the
    predictions in the legend; ``test_from`` (s) shades the test stretch, from there to the end."""
    time = np.asarray(time, dtype=np.float64)
    measured = np.asarray(measured, dtype=np.float64)
    muscles = list(muscles)
    expected = (len(time), len(muscles))
    if measured.shape != expected:
        raise ValueError(f"measured: expected shape {expected} (frames, muscles), found {measured.shape}")
    if predicted is not None:
        predicted = np.asarray(predicted, dtype=np.float64)
        if predicted.shape != expected:
            raise ValueError(f"predicted: expected shape {expected} (frames, muscles), found {predicted.shape}")
    ncols = max(1, min(ncols, len(muscles)))
    nrows = int(np.ceil(len(muscles) / ncols))
    fig = new_figure(3.0 * ncols, 2.1 * nrows + 0.6)
    axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False).ravel()
    for k, (ax, muscle) in enumerate(zip(axes, muscles)):
        if test_from is not None and len(time):
            ax.axvspan(test_from, float(time[-1]), color="0.9", lw=0, label="test stretch", gid="test")
        ax.axhline(0.0, color="0.6", lw=0.6, gid="zero")
        ax.plot(time, measured[:, k], color="black", lw=1.0, label="measured", gid=f"measured:{muscle}")
        if predicted is not None:
            ax.plot(
                time,
                predicted[:, k],
                color="tab:red",
                lw=1.0,
                label=f"predicted by {model}" if model else "predicted",
                gid=f"predicted:{muscle}",
            )
        ax.set_title(muscle, fontsize=9)
        ax.tick_params(labelsize=7)
        if k % ncols == 0:
            ax.set_ylabel(units or UNITS, fontsize=8)
    for ax in axes[len(muscles) :]:
        ax.set_visible(False)
    for ax in axes[max(0, len(muscles) - ncols) : len(muscles)]:
        ax.set_xlabel("time (s)", fontsize=8)
    fig.legend(*axes[0].get_legend_handles_labels(), fontsize=7, loc="outside lower center", ncols=3)
    fig.suptitle(title or ("predicted vs measured EMG" if predicted is not None else "measured EMG"), fontsize=11)
    return fig


def segment_emg(
    dataset: Any,
    segment: str | int,
    *,
    predicted: np.ndarray | None = None,
    catalog: str | Path | None = None,
    model: str = "",
    test_from: float | None = None,
):
    """:func:`predicted_vs_measured` for one dataset segment (``predicted``: (frames, muscles) or None,
    by ``model``; ``test_from``: where its test stretch starts, seconds into the segment)."""

    ds = as_dataset(dataset, catalog=catalog)
    seg = find_segment(ds, segment, where=where_of(dataset))
    return predicted_vs_measured(
        ds["time"][seg.frames].values,
        ds["emg"][seg.frames].values,
        predicted,
        muscles=[str(m) for m in ds["muscle"].values],
        units=str(ds.attrs.get("emg_units") or UNITS),
        title=f"{seg.id} (subject {seg.subject}, {seg.exercise}): "
        + (f"predicted by {model or 'the model'} vs measured EMG" if predicted is not None else "measured EMG")
        + ("; shaded: test stretch" if test_from is not None else ""),
        model=model,
        test_from=test_from,
    )


def activation_figure(
    time_s: np.ndarray,
    activation: np.ndarray,
    muscles: list[str],
    *,
    title: str = "predicted activation",
    units: str = "",
):
    """The predicted activation of each muscle over time: one row per muscle, one shared time axis;
    frames without a prediction are shaded grey (lines carry ``gid='predicted:<muscle>'``)."""
    time_s = np.asarray(time_s, dtype=np.float64)
    activation = np.asarray(activation, dtype=np.float64)
    if activation.shape != (len(time_s), len(muscles)):
        raise ValueError(
            f"activation: expected shape {(len(time_s), len(muscles))} (frames, muscles), found {activation.shape}"
        )
    dt = float(np.median(np.diff(time_s))) if len(time_s) > 1 else 0.1
    missing = ~np.isfinite(activation).all(axis=1)
    fig = new_figure(10, 0.9 * len(muscles) + 1.2)
    axes = fig.subplots(len(muscles), 1, sharex=True, sharey=True, squeeze=False)[:, 0]
    for k, (ax, muscle) in enumerate(zip(axes, muscles)):
        ax.axhline(0.0, color="0.6", lw=0.6, gid="zero")
        ax.plot(time_s, activation[:, k], color="tab:red", lw=1.2, label="predicted", gid=f"predicted:{muscle}")
        for start, stop in true_runs(missing):
            ax.axvspan(time_s[start] - dt / 2, time_s[stop - 1] + dt / 2, color="0.88", lw=0, gid="no prediction")
        ax.set_ylabel(muscle, fontsize=8, rotation=0, ha="right", va="center")
        ax.tick_params(labelsize=7)
    axes[-1].set_xlabel("time in video (s)")
    if np.isfinite(activation).any():  # one y scale from 0 (or below, where a prediction is) for every muscle
        axes[0].set_ylim(min(0.0, float(np.nanmin(activation))), max(float(np.nanmax(activation)), 1e-9) * 1.05)
    fig.suptitle(
        title
        + f" ({units or UNITS}; one y scale for all muscles)"
        + ("; grey: no prediction" if missing.any() else ""),
        fontsize=10,
    )
    return fig


__all__ = [
    "session_emg",
    "alignment",
    "pose_confidence",
    "dataset_summary",
    "predicted_vs_measured",
    "segment_emg",
    "activation_figure",
    "valid_minutes",
    "sync_times",
    "near_sync",
    "SYNC_WINDOW_S",
    "break_gaps",
    "save_figure",
]
