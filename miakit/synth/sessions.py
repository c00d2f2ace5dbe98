"""Write synthetic raw session folders (contract 1) that the pipeline cannot tell from a recording.

One session is one subject doing one exercise for ``duration_s`` seconds:

- ``emg.csv``: the packets 8 M40-profile sensors (``M40-01`` .. ``M40-08``, one per muscle in
  MUSCLES order) would send. Each samples at 10 Hz on its own clock (a start offset within 0.1 s
  after it connects, a drift of up to +-50 ppm); a packet carries the device counter and the
  integer envelope (``encode_m40_envelope_v1``). The host receives it one BLE connection event
  later (a per-sensor connection interval of 7.5 to 45 ms), and now and then 2 or 3 packets queue
  up and arrive together. Rows are written in arrival order.
- ``events.csv``: ``start``, a ``connect`` per sensor, ``marker start:<exercise>`` /
  ``stop:<exercise>`` around the filmed part, ``stop``.
- ``keypoints/``: OpenPose BODY_25 JSON at 30 fps in 1080x1920 pixels, as if a pose estimator had
  run (pixel noise, confidence scores, missing points out of frame). Frame 0 is at a host time
  0.2 to 1.5 s after the session starts; the last frame comes a little before the EMG ends.
- ``video.mp4`` (optional): a 270x480, 15 fps skeleton preview (:mod:`miakit.body.render`).
- ``truth.csv``: the noise-free EMG (device units) on the host clock at 0, 0.1, 0.2, ... s, so a
  benchmark can report the noise floor.

Everything is drawn from ``numpy.random.default_rng([seed, subject, exercise, stream])``, and the
session's start time is derived from the seed: the same arguments give byte-identical folders,
and a session does not depend on which other sessions are generated with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import numpy as np

from miakit.body.activation import add_sensor_noise, emg_curve, sample_curve
from miakit.body.motion import GOLDEN, SYNTH_EXERCISES, Camera, Motion, estimate_keypoints, project, random_camera
from miakit.body.signal import BLE, DROP, KEYPOINTS, NOISE, TIMING, VIEWS, rng
from miakit.body.subjects import Subject, make_subject
from miakit.contracts.session import KeypointsInfo, TruthInfo, VideoInfo
from miakit.devices.decoders import encode_m40_envelope_v1
from miakit.devices.profiles import find_profile_file, load_profile
from miakit.errors import InputError
from miakit.layout import EXERCISES, IMAGE_HEIGHT, IMAGE_WIDTH, KP, MUSCLES
from miakit.progress import track
from miakit.record.session_writer import SessionWriter
from miakit.stages.openpose import frame_filename, write_frame

SENSORS: dict[str, str] = {f"M40-{i + 1:02d}": m for i, m in enumerate(MUSCLES)}
"""Sensor id -> muscle, in MUSCLES order."""
EMG_RATE_HZ = 10.0
KEYPOINT_FPS = 30.0
VIDEO_FPS = 15.0
VIDEO_SCALE = 0.25
KEYPOINT_DIR = "keypoints"
VIDEO_FILE = "video.mp4"


def start_time(seed: int, subject: int, exercise: str) -> datetime:
    """A fixed wall-clock start (UTC) for a synthetic session, derived from its seed and ids."""
    base = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)
    index = SYNTH_EXERCISES.index(exercise) if exercise in SYNTH_EXERCISES else 0  # a capture's motion: 0
    return base + timedelta(days=seed % 1000, hours=subject % 10, minutes=2 * index)


@dataclass
class Packets:
    """One sensor's stream: device counters, sample times and arrival times on the host clock."""

    sensor: str
    counter: np.ndarray
    sample_time: np.ndarray
    arrival_time: np.ndarray
    value: np.ndarray


@dataclass
class SensorClock:
    connect_s: float
    first_sample_s: float
    drift: float
    interval_s: float
    """The BLE connection interval: a notification waits up to this long for the next event."""


def sensor_clocks(rng: np.random.Generator, n: int = len(SENSORS)) -> list[SensorClock]:
    clocks = []
    for i in range(n):
        connect = 0.03 + 0.025 * i + float(rng.uniform(0.0, 0.015))
        clocks.append(
            SensorClock(
                connect_s=connect,
                first_sample_s=connect + float(rng.uniform(0.0, 0.1)),
                drift=float(rng.uniform(-50e-6, 50e-6)),
                interval_s=float(rng.uniform(0.0075, 0.045)),
            )
        )
    return clocks


def arrival_times(
    sample_time: np.ndarray, interval_s: float, rng: np.random.Generator, *, burst_p: float = 0.03
) -> np.ndarray:
    """Host arrival times: the next connection event plus a little processing; in a burst, 2 or 3
    packets wait and arrive together. Never earlier than the packet before (order is kept)."""
    n = sample_time.size
    arrive = sample_time + rng.uniform(0.0, interval_s, n) + rng.uniform(0.0005, 0.002, n)
    k = 0
    while k < n:
        if rng.random() < burst_p:
            size = int(rng.integers(2, 4))
            last = min(k + size, n) - 1
            release = arrive[last] + interval_s * float(rng.integers(1, 3))
            arrive[k : last + 1] = release + 0.0003 * np.arange(last + 1 - k)
            k = last + 1
        else:
            k += 1
    return np.maximum.accumulate(arrive)


@dataclass
class Simulation:
    """Everything one session is made of, before it is written."""

    subject: Subject
    exercise: str
    motion: Motion | None
    """the choreography's motion; None for a motion capture's (:mod:`miakit.synth.mocap`)"""
    duration_s: float
    keypoint_start_s: float
    keypoint_times: np.ndarray
    keypoints: np.ndarray
    """(frames, 25, 3) what the pose estimator reported."""
    skeleton: np.ndarray
    """(frames, 25, 3) the true projected skeleton (score 1 where in frame, else 0)."""
    truth_times: np.ndarray
    truth: np.ndarray
    """(samples, 8) noise-free EMG in device units at ``truth_times`` (host clock)."""
    packets: list[Packets]
    """one per sensor worn: all 8 for the choreography, fewer for a capture that models only some
    muscles (:mod:`miakit.synth.mocap`); a muscle without one is missing from the session"""
    clap_s: float | None = None
    """host time of the sync clap (the subject claps once before the exercise), where there is one"""
    clock_error_s: float = 0.0
    """how much too late session.yaml states the video's and keypoints' start (an injected error)"""
    camera: Camera | None = None
    """the camera the keypoints were filmed with (None: the subject's own, in front)"""
    view: int = 0
    """0 for the subject's own camera, k for the k-th extra view"""
    clocks: list[SensorClock] | None = None
    """the sensors' clocks the packets were sampled on (None: drawn again from the seed)"""
    session_id: str = ""
    """the session's id; empty: ``synth-<subject>-<exercise>-seed<seed>[-view<k>]``"""
    origin: str = ""
    """where the motion and the EMG come from, when not the choreography (a motion capture's file
    and the muscle model): written into session.yaml's truth and clock notes and the start event"""


SYNC_CLAP_AFTER_S = 0.5
"""The sync clap comes this long after the camera starts; the exercise starts after it."""
CLAP_WIDTH_S = 0.08
CLAP_AMPLITUDE = 80.0
"""A clap is a brief co-contraction of the arm muscles (device units at its peak)."""


def clap_activation(times: np.ndarray, clap_s: float, emd_s: float) -> np.ndarray:
    """(len(times), 8) extra EMG of a clap at ``clap_s``: both biceps and triceps burst, ``emd_s`` earlier."""
    burst = CLAP_AMPLITUDE * np.exp(-(((np.asarray(times) - (clap_s - emd_s)) / CLAP_WIDTH_S) ** 2))
    arms = np.array([m.endswith(("Bicep", "Tricep")) for m in MUSCLES], dtype=np.float64)
    return burst[:, None] * arms[None, :]


def clap_keypoints(keypoints: np.ndarray, times: np.ndarray, clap_s: float) -> np.ndarray:
    """Keypoints with the wrists (and, half as far, the elbows) swung together in front of the chest."""

    out = keypoints.copy()
    weight = np.exp(-(((np.asarray(times) - clap_s) / 0.12) ** 2))[:, None]
    neck, hip = keypoints[:, KP["Neck"], :2], keypoints[:, KP["MidHip"], :2]
    chest = neck + 0.35 * (hip - neck)
    for name, reach in (("RWrist", 1.0), ("LWrist", 1.0), ("RElbow", 0.5), ("LElbow", 0.5)):
        xy = keypoints[:, KP[name], :2]
        out[:, KP[name], :2] = np.where(np.isfinite(chest), xy + reach * weight * (chest - xy), xy)
    return out


def simulate(
    subject: Subject,
    exercise: str,
    *,
    seed: int = 0,
    duration_s: float = 30.0,
    drop_fraction: float = 0.0,
    sync_clap: bool = True,
    clock_error_s: float = 0.0,
    view: int = 0,
) -> Simulation:
    """Simulate one session in memory (see the module docstring for what is in it).

    ``sync_clap``: the subject claps once, :data:`SYNC_CLAP_AFTER_S` after the camera starts, and the
    recorder marks a ``sync`` event, as in a real session. ``clock_error_s``: write the video's and
    keypoints' start that much too late in ``session.yaml`` (to test alignment). ``view``: 0 films
    with the subject's own front camera; k > 0 with the k-th extra camera of this subject and
    exercise (:func:`view_camera`): the same motion and EMG, other keypoints.
    """
    if exercise not in SYNTH_EXERCISES:
        raise ValueError(f"unknown exercise {exercise!r}; expected one of {list(SYNTH_EXERCISES)}")
    if duration_s < 3.0:
        raise ValueError(f"duration_s must be at least 3 s, found {duration_s}")
    timing = rng(seed, subject.index, exercise, TIMING)
    kp_start = float(timing.uniform(0.2, min(1.5, duration_s / 4)))
    kp_end = duration_s - float(timing.uniform(0.2, 0.6))
    clap_s = kp_start + SYNC_CLAP_AFTER_S if sync_clap else None
    first_move = clap_s + 1.5 if clap_s is not None else kp_start + 0.3  # a pause after the clap, as instructed
    motion = Motion(exercise, subject, seed, start_s=first_move + float(timing.uniform(0.0, 0.7)))

    n_frames = int(np.floor((kp_end - kp_start) * KEYPOINT_FPS))
    kp_times = kp_start + np.arange(n_frames) / KEYPOINT_FPS
    kin = motion.kinematics(kp_times)
    camera = view_camera(seed, subject.index, exercise, view)
    kp_rng = (
        rng(seed, subject.index, exercise, KEYPOINTS)
        if not view
        else np.random.default_rng([seed, subject.index, SYNTH_EXERCISES.index(exercise), KEYPOINTS, view])
    )
    keypoints = estimate_keypoints(kin, kp_rng, camera=camera)
    xy, _ = project(kin.joints, subject, camera)
    if clap_s is not None:
        keypoints = clap_keypoints(keypoints, kp_times, clap_s)
        xy = clap_keypoints(np.concatenate([xy, np.ones((*xy.shape[:2], 1))], axis=-1), kp_times, clap_s)[..., :2]
    inside = (xy[..., 0] >= 0) & (xy[..., 0] <= IMAGE_WIDTH - 1) & (xy[..., 1] >= 0) & (xy[..., 1] <= IMAGE_HEIGHT - 1)
    skeleton = np.concatenate([xy, inside[..., None].astype(np.float64)], axis=-1)

    truth_times = np.arange(int(np.floor(duration_s * EMG_RATE_HZ)) + 1) / EMG_RATE_HZ
    curve = emg_curve(motion, 0.0, duration_s)
    if clap_s is not None:
        curve = (curve[0], curve[1] + clap_activation(curve[0], clap_s, subject.emd_s))
    truth = sample_curve(curve, truth_times)

    ble, noise, drop = (rng(seed, subject.index, exercise, s) for s in (BLE, NOISE, DROP))
    clocks = sensor_clocks(ble)
    packets = sensor_packets(
        curve, subject, duration_s, clocks, ble=ble, noise=noise, drop=drop, drop_fraction=drop_fraction
    )
    return Simulation(
        subject,
        exercise,
        motion,
        duration_s,
        kp_start,
        kp_times,
        keypoints,
        skeleton,
        truth_times,
        truth,
        packets,
        clap_s=clap_s,
        clock_error_s=clock_error_s,
        camera=camera,
        view=view,
        clocks=clocks,
    )


def sensor_packets(
    curve: tuple[np.ndarray, np.ndarray],
    subject: Subject,
    duration_s: float,
    clocks: list[SensorClock],
    *,
    ble: np.random.Generator,
    noise: np.random.Generator,
    drop: np.random.Generator,
    drop_fraction: float = 0.0,
) -> list[Packets]:
    """What the 8 sensors send of the noise-free EMG ``curve`` (:func:`emg_curve`) over
    ``duration_s``: each on its own clock (``clocks``, :func:`sensor_clocks`), arriving as ``ble``
    draws, with the subject's sensor noise (``noise``) and ``drop_fraction`` of the packets lost
    (``drop``)."""
    packets = []
    for j, (sensor, clock) in enumerate(zip(SENSORS, clocks)):
        count = int(np.floor((duration_s - clock.first_sample_s) * EMG_RATE_HZ / (1 + clock.drift))) + 1
        counter = np.arange(count)
        sample_time = clock.first_sample_s + counter / EMG_RATE_HZ * (1 + clock.drift)
        arrive = arrival_times(sample_time, clock.interval_s, ble)
        value = add_sensor_noise(sample_curve(curve, sample_time)[:, j], subject, j, noise)
        keep = drop.random(count) >= drop_fraction if drop_fraction > 0 else np.ones(count, bool)
        packets.append(Packets(sensor, counter[keep], sample_time[keep], arrive[keep], value[keep]))
    return packets


def view_camera(seed: int, subject: int, exercise: str, view: int) -> Camera | None:
    """The camera of extra view ``view`` (from 1) of a session, drawn from its seed; None for view 0.

    How far round the subject it stands is spread, not drawn: along the golden-ratio sequence over
    the views of a session and the subjects doing the exercise (``turn = offset + (7 * subject +
    view) * GOLDEN`` mod 1, the offset drawn per exercise; 7: distinct places for up to 7 views a
    subject), so that even 3 subjects with 2 views see each exercise from 3 well-separated
    directions (random draws often leave the side or the back out)."""
    return spread_camera(seed, subject, SYNTH_EXERCISES.index(exercise), view)


def spread_camera(seed: int, subject: int, index: int, view: int) -> Camera | None:
    """:func:`view_camera` for the motion numbered ``index`` (an exercise's place in
    SYNTH_EXERCISES; a motion capture's own number, :mod:`miakit.synth.mocap`)."""

    if view < 0:
        raise ValueError(f"view must be 0 or more, found {view}")
    if not view:
        return None
    offset = float(np.random.default_rng([seed, index, VIEWS]).random())
    turn = (offset + (subject * 7 + view) * GOLDEN) % 1.0
    return random_camera(np.random.default_rng([seed, subject, index, VIEWS, view]), turn=turn)


def write_session(folder: str | Path, sim: Simulation, *, seed: int = 0, video: bool = False) -> Path:
    """Write a simulated session as a raw session folder; returns the folder."""

    folder = Path(folder)
    profile = load_profile("m40")
    profile_bytes = find_profile_file("m40").read_bytes()
    subject, exercise = sim.subject, sim.exercise
    worn = {p.sensor: SENSORS[p.sensor] for p in sim.packets}  # the sensors the session lists
    kp_end = float(sim.keypoint_times[-1]) if sim.keypoint_times.size else sim.keypoint_start_s
    with SessionWriter(
        folder,
        session_id=sim.session_id
        or f"synth-{subject.name}-{exercise}-seed{seed}" + (f"-view{sim.view}" if sim.view else ""),
        subject=subject.name,
        exercise=exercise,
        profile=profile,
        profile_bytes=profile_bytes,
        sensors=worn,
        start_time=start_time(seed, subject.index, exercise),
        host_monotonic_at_start=0.0,
        emulated=True,
        clock_notes="synthetic session (miakit.synth): sensors sample on their own drifting clocks; "
        "video and keypoints are on the host clock" + (f"; {sim.origin}" if sim.origin else ""),
    ) as writer:
        events = [(0.0, "start", "", f"synthetic seed={seed}" + (f"; {sim.origin}" if sim.origin else ""))]
        clocks = sim.clocks or sensor_clocks(rng(seed, subject.index, exercise, BLE))
        events += [(c.connect_s, "connect", s, "") for s, c in zip(SENSORS, clocks) if s in worn]
        events += [
            (sim.keypoint_start_s, "marker", "", f"start:{exercise}"),
            (kp_end, "marker", "", f"stop:{exercise}"),
        ]
        events += [(sim.duration_s + 0.05, "stop", "", "")]
        if sim.clap_s is not None:  # the recorder cues the clap a moment before the subject claps
            events += [(sim.clap_s - 0.25, "sync", "", "clap")]
        for t, kind, sensor, detail in sorted(events, key=lambda e: e[0]):
            writer.add_event(t, kind, sensor, detail)

        rows = [
            (float(a), p.sensor, int(c), float(v))
            for p in sim.packets
            for a, c, v in zip(p.arrival_time, p.counter, p.value)
        ]
        rows.sort(key=lambda r: (r[0], r[1]))
        for arrival, sensor, counter, value in rows:
            writer.add_packet(arrival, sensor, encode_m40_envelope_v1(counter, value))

        kp_dir = folder / KEYPOINT_DIR
        kp_dir.mkdir()
        for i, person in enumerate(sim.keypoints):
            write_frame(kp_dir / frame_filename(i), [person])
        writer.set_keypoints(
            KeypointsInfo(
                format="openpose_json",
                dir=KEYPOINT_DIR,
                fps=KEYPOINT_FPS,
                width=IMAGE_WIDTH,
                height=IMAGE_HEIGHT,
                start_host_time=round(sim.keypoint_start_s + sim.clock_error_s, 6),
                estimator="synthetic",
            )
        )
        if video:
            from miakit.body.render import render_skeleton_video

            frames = render_skeleton_video(
                folder / VIDEO_FILE,
                sim.skeleton,
                keypoint_fps=KEYPOINT_FPS,
                fps=VIDEO_FPS,
                scale=VIDEO_SCALE,
                title=f"{subject.name} {exercise}",
            )
            writer.set_video(
                VideoInfo(
                    file=VIDEO_FILE,
                    source="synthetic",
                    fps=VIDEO_FPS,
                    width=round(IMAGE_WIDTH * VIDEO_SCALE),
                    height=round(IMAGE_HEIGHT * VIDEO_SCALE),
                    start_host_time=round(sim.keypoint_start_s + sim.clock_error_s, 6),
                    frames=frames,
                )
            )
        _write_truth(folder / TruthInfo().file, sim.truth_times, sim.truth, list(worn.values()))
        writer.set_truth(
            TruthInfo(description=f"{TruthInfo().description}: {sim.origin}") if sim.origin else TruthInfo()
        )
    return folder


def _write_truth(path: Path, times: np.ndarray, truth: np.ndarray, muscles: list[str]) -> None:
    """The noise-free EMG of ``muscles`` (columns of ``truth``, MUSCLES order) as CSV."""
    columns = [MUSCLES.index(m) for m in muscles]
    lines = ["time," + ",".join(muscles)]
    lines += [f"{t:.3f}," + ",".join(f"{row[j]:.3f}" for j in columns) for t, row in zip(times, truth)]
    path.write_text("\n".join(lines) + "\n")


MIN_DURATION_S, MAX_DURATION_S = 5.0, 3600.0
"""Seconds per exercise :func:`generate_sessions` accepts (checked before any work)."""


def generate_sessions(
    out: str | Path,
    *,
    subjects: int = 3,
    seed: int = 0,
    exercises: Sequence[str] = EXERCISES,
    duration_s: float = 30.0,
    video: Literal["none", "first", "all"] = "first",
    progress: bool = True,
    drop_fraction: float = 0.0,
    views: int = 1,
) -> list[Path]:
    """Write one session folder per (subject, exercise) as ``out/<subject>/<exercise>/``.

    ``views`` > 1 adds ``views - 1`` more sessions of each, ``out/<subject>/<exercise>-view<k>/``:
    the same motion and EMG filmed by other cameras (:data:`miakit.body.motion.CAMERA_RANGE`:
    side and back views, a camera looking down, near and far, wide and normal lenses; spread round
    the subject by :func:`view_camera`), so a model learns
    poses as any phone placement shows them (camera augmentation at synthesis time).

    ``video="first"`` renders a skeleton preview for the first exercise of each subject, ``"all"``
    for every session. ``drop_fraction`` drops that share of the EMG packets (as a weak radio
    link would). Returns the folders, sorted. Folders are written once: an existing session
    raises :class:`~miakit.errors.SessionError`.
    """

    if video not in ("none", "first", "all"):
        raise ValueError(f"video must be 'none', 'first' or 'all', found {video!r}")
    if not (MIN_DURATION_S <= float(duration_s) <= MAX_DURATION_S):  # NaN fails too
        raise InputError(
            "synth",
            "implausible duration",
            field="duration",
            expected=f"{MIN_DURATION_S:g} to {MAX_DURATION_S:g} seconds per exercise",
            found=duration_s,
        )
    if not str(out).strip():
        raise InputError("--out", "no output folder named", expected="a folder for the sessions", found=str(out))
    unknown = [e for e in exercises if e not in SYNTH_EXERCISES]
    if unknown:
        raise ValueError(f"unknown exercise {unknown[0]!r}; expected one of {list(SYNTH_EXERCISES)}")
    out = Path(out)
    if views < 1:
        raise ValueError(f"views must be at least 1, found {views}")
    jobs = [
        (make_subject(i, seed=seed), ex, video == "all" or (video == "first" and k == 0 and v == 0), v)
        for i in range(subjects)
        for k, ex in enumerate(exercises)
        for v in range(views)
    ]
    folders: list[Path] = []
    for subject, exercise, with_video, view in track(jobs, "synthesize sessions", enabled=progress):
        sim = simulate(subject, exercise, seed=seed, duration_s=duration_s, drop_fraction=drop_fraction, view=view)
        name = exercise + (f"-view{view}" if view else "")
        folders.append(write_session(out / subject.name / name, sim, seed=seed, video=with_video))
    return sorted(folders)
