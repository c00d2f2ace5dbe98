"""Synthetic session folders: contract 1, determinism, packets, timing, keypoints, video."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from miakit.body.signal import emg_signal
from miakit.body.subjects import make_subject
from miakit.contracts.session import validate_session
from miakit.devices.profiles import load_profile
from miakit.layout import IMAGE_HEIGHT, IMAGE_WIDTH, KP, MUSCLES
from miakit.stages.openpose import read_folder
from miakit.synth import SENSORS, generate_sessions, simulate

EXERCISES = ("squat", "hook_punch")
DURATION_S = 8.0


@pytest.fixture(scope="module")
def sessions(tmp_path_factory) -> list[Path]:
    out = tmp_path_factory.mktemp("synth")
    return generate_sessions(
        out, subjects=1, seed=3, exercises=EXERCISES, duration_s=DURATION_S, video="first", progress=False
    )


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_layout_and_contract(sessions):
    assert [p.relative_to(p.parents[1]).as_posix() for p in sessions] == ["S01/hook_punch", "S01/squat"]
    for folder in sessions:
        meta = validate_session(folder)
        assert meta.status == "complete"
        assert meta.sensors == SENSORS
        assert meta.keypoints.estimator == "synthetic" and meta.keypoints.fps == 30
        assert 0.2 <= meta.keypoints.start_host_time <= 1.5
        assert meta.clock.host_monotonic_at_start == 0.0
    # video only for the first exercise of the subject, as asked
    assert validate_session(sessions[1]).video is not None
    assert validate_session(sessions[0]).video is None


def test_same_seed_gives_identical_bytes(tmp_path):
    kwargs = dict(subjects=1, seed=11, exercises=("front_punch",), duration_s=5.0, video="all", progress=False)
    a = generate_sessions(tmp_path / "a", **kwargs)[0]
    b = generate_sessions(tmp_path / "b", **kwargs)[0]
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b and len(files_a) > 100
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    c = generate_sessions(tmp_path / "c", **{**kwargs, "seed": 12})[0]
    assert (c / "emg.csv").read_bytes() != (a / "emg.csv").read_bytes()


def test_packets_decode_back_to_the_emg(sessions):
    profile = load_profile("m40")
    folder = sessions[1]
    sim = simulate(make_subject(0, seed=3), "squat", seed=3, duration_s=DURATION_S)
    expected = {p.sensor: p for p in sim.packets}
    decoded: dict[str, list[tuple[int, float]]] = {s: [] for s in SENSORS}
    for row in _rows(folder / "emg.csv"):
        d = profile.decode(bytes.fromhex(row["payload"]))
        decoded[row["sensor"]].append((d.seq, float(d.values[0, 0])))
    for sensor, got in decoded.items():
        counters = np.array([c for c, _ in got])
        values = np.array([v for _, v in got])
        np.testing.assert_array_equal(counters, expected[sensor].counter)
        np.testing.assert_array_equal(values, expected[sensor].value)
        assert (values >= 0).all() and np.array_equal(values, np.round(values))
        assert len(got) == pytest.approx(DURATION_S * 10, abs=2)


def test_arrival_times_jitter_but_keep_order_per_sensor(sessions):
    rows = _rows(sessions[1] / "emg.csv")
    times = np.array([float(r["host_time"]) for r in rows])
    assert (np.diff(times) >= 0).all(), "rows are written in arrival order"
    for sensor in SENSORS:
        mine = [r for r in rows if r["sensor"] == sensor]
        assert [int(r["seq"]) for r in mine] == list(range(len(mine)))
        gaps = np.diff([float(r["host_time"]) for r in mine])
        assert (gaps >= 0).all()
        assert gaps.std() > 0.003, "arrival intervals jitter"
    # over a longer stream: latency within BLE bounds, and bursts of packets arriving together
    sim = simulate(make_subject(1), "running", seed=0, duration_s=60.0)
    bursts = 0
    for p in sim.packets:
        latency = p.arrival_time - p.sample_time
        assert latency.min() >= 0 and latency.max() < 0.4  # a burst of 3 waits 2 samples and an event or two
        assert abs(np.median(np.diff(p.sample_time)) - 0.1) < 0.1 * 60e-6
        bursts += int((np.diff(p.arrival_time) < 0.002).sum())
    assert bursts >= 8


def test_dropped_packets_leave_counter_gaps():
    sim = simulate(make_subject(0), "squat", seed=0, duration_s=20.0, drop_fraction=0.1)
    full = simulate(make_subject(0), "squat", seed=0, duration_s=20.0)
    for p, q in zip(sim.packets, full.packets):
        assert 0.75 * q.counter.size < p.counter.size < q.counter.size
        assert (np.diff(p.counter) > 1).any()


def test_keypoints_in_frame_and_body_upright(sessions):
    for folder in sessions:
        numbers, kp = read_folder(folder / "keypoints")
        meta = validate_session(folder)
        assert numbers[0] == 0 and np.array_equal(numbers, np.arange(len(numbers)))
        assert meta.keypoints.start_host_time + len(numbers) / 30 < DURATION_S, "keypoints end before the EMG"
        seen = kp[..., 2] > 0
        assert seen.mean() > 0.95
        x, y = kp[..., 0][seen], kp[..., 1][seen]
        assert (x >= 0).all() and (x < IMAGE_WIDTH).all() and (y >= 0).all() and (y < IMAGE_HEIGHT).all()
        scores = kp[..., 2][seen]
        assert 0.6 < np.median(scores) <= 1.0 and scores.max() <= 1.0
        both = seen[:, KP["Nose"]] & seen[:, KP["MidHip"]]
        assert (kp[both, KP["Nose"], 1] < kp[both, KP["MidHip"], 1] - 200).all(), "nose above the hips"
        assert (kp[both, KP["MidHip"], 1] < kp[both, KP["LAnkle"], 1]).all(), "hips above the ankles"


def test_truth_grid_and_noise_level(sessions):
    folder = sessions[1]
    rows = _rows(folder / "truth.csv")
    assert list(rows[0]) == ["time", *SENSORS.values()]
    t = np.array([float(r["time"]) for r in rows])
    np.testing.assert_allclose(np.diff(t), 0.1, atol=1e-9)
    assert t[0] == 0.0 and t[-1] == pytest.approx(DURATION_S)
    truth = np.array([[float(r[m]) for m in MUSCLES] for r in rows])
    assert (truth >= 0).all()
    sim = simulate(make_subject(0, seed=3), "squat", seed=3, duration_s=DURATION_S)
    errors = []
    for j, p in enumerate(sim.packets):
        errors.append(p.value - np.interp(p.sample_time, t, truth[:, j]))
    rmse = float(np.sqrt(np.mean(np.concatenate(errors) ** 2)))
    assert 1.0 < rmse < 10.0, rmse


def test_preview_video_reads_back(sessions):
    cv2 = pytest.importorskip("cv2")
    folder = sessions[1]
    meta = validate_session(folder)
    cap = cv2.VideoCapture(str(folder / meta.video.file))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    assert len(frames) == meta.video.frames > 0
    assert frames[0].shape == (480, 270, 3)
    assert meta.video.width == 270 and meta.video.height == 480 and meta.video.fps == 15
    assert max(float(f.std()) for f in frames) > 5, "the skeleton is drawn"


def test_emg_signal_scale_and_determinism():
    a = emg_signal("squat", duration_s=12.0, seed=1, subject=2)
    b = emg_signal("squat", duration_s=12.0, seed=1, subject=2)
    assert a.shape == (120, 8)
    np.testing.assert_array_equal(a, b)
    assert (a >= 0).all() and np.array_equal(a, np.round(a))
    assert not np.array_equal(a, emg_signal("squat", duration_s=12.0, seed=2, subject=2))


def test_paper_like_scale_over_all_exercises():
    from miakit.layout import EXERCISES as ALL

    emg = np.concatenate([emg_signal(ex, duration_s=15.0, seed=0, subject=0) for ex in ALL])
    means = emg.mean(axis=0)
    p99 = np.percentile(emg, 99, axis=0)
    assert ((means > 8) & (means < 35)).all(), means
    assert ((p99 > 60) & (p99 < 160)).all(), p99


def test_importing_synth_stays_light():
    code = "import sys, miakit.synth; print(sorted(m for m in ('torch', 'cv2', 'matplotlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
