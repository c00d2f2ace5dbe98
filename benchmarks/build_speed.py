"""Whole-build speed: sessions per minute, serial and on 2 local dask workers, same sessions.

    python benchmarks/build_speed.py [--sessions 120] [--duration 60] [--workers 2] [--repeat 3] [--video]

The default is the size of the paper's recordings: 120 minutes (120 one-minute sessions). Small
builds gain less from workers: a build's fixed costs (starting the command, importing, assembling
and writing the store: about 3 s here) do not shrink with more workers, and 40 half-minute
sessions build in 10 s serially on 2 cores.

Synthetic sessions (keypoints as OpenPose JSON, like sessions whose pose already ran) are written
once; each build is the command a user runs, ``miakit build-dataset``, in a fresh process from
scratch (no parts, no store), so both pay the same start-up and imports. ``--video`` instead builds sessions
that carry a real phone-style video and no keypoints, so the build runs MediaPipe pose estimation
(the heavy, realistic case; needs ../shared/data/video). The stores of both builds are compared
(they must be identical). Reports the median wall time of ``--repeat`` builds of each kind (this
machine's speed drifts by 10%), sessions per minute and the speed-up; with
``--json FILE`` also writes them as JSON.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from miakit.layout import EXERCISES

REPO = Path(__file__).resolve().parents[1]


def make_sessions(root: Path, n: int, duration_s: float, video: bool) -> None:
    from miakit.body.subjects import make_subject
    from miakit.synth.sessions import simulate, write_session

    for i in range(n):
        seed = 1 + i // len(EXERCISES)  # session ids (subject, exercise, seed) stay unique
        sim = simulate(make_subject(i % 4, seed=seed), EXERCISES[i % len(EXERCISES)], seed=seed, duration_s=duration_s)
        folder = write_session(root / f"s{i:03d}", sim, seed=seed)
        if video:  # swap the keypoints for a real video: the pipeline must estimate the pose
            import yaml

            from miakit.sample_data import fetch

            src = fetch("video/pose2sim-single-cam01.mp4")  # ../shared/data's copy, or the public original
            shutil.rmtree(folder / "keypoints")
            shutil.copy(src, folder / "video.mp4")
            meta = yaml.safe_load((folder / "session.yaml").read_text())
            meta["keypoints"] = None
            meta["video"] = {
                "file": "video.mp4",
                "source": "phone",
                "fps": 60.0,
                "width": 1080,
                "height": 1920,
                "rotation": 0,
                "frames": 100,
                "start_host_time": 1.0,
                "frame_times": None,
                "creation_time": None,
            }
            (folder / "session.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))


def timed_build(sessions: Path, out: Path, workers: int) -> float:
    command = [
        sys.executable,
        "-m",
        "miakit",
        "build-dataset",
        str(sessions),
        "--out",
        str(out),
        "--workers",
        str(workers),
        "--catalog",
        str(out.with_suffix(".catalog.yaml")),
    ]
    t0 = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=120)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--video", action="store_true", help="sessions with a real video, no keypoints (runs MediaPipe)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="builds of each kind, alternating; medians are reported")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    import miakit

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_sessions(tmp / "sessions", args.sessions, args.duration, args.video)
        serials, parallels = [], []
        for _ in range(args.repeat):  # alternating, so drifts in the machine's load hit both alike
            for out, times, workers in (
                (tmp / "serial.zarr", serials, 1),
                (tmp / "parallel.zarr", parallels, args.workers),
            ):
                shutil.rmtree(out, ignore_errors=True)
                times.append(timed_build(tmp / "sessions", out, workers))
        serial, parallel = statistics.median(serials), statistics.median(parallels)
        same = (
            miakit.open_dataset(tmp / "serial.zarr")
            .load()
            .drop_attrs()
            .identical(miakit.open_dataset(tmp / "parallel.zarr").load().drop_attrs())
        )
    result = {
        "sessions": args.sessions,
        "kind": "video (MediaPipe)" if args.video else "keypoints (OpenPose JSON)",
        "serial_s": round(serial, 2),
        "parallel_s": round(parallel, 2),
        "workers": args.workers,
        "serial_sessions_per_min": round(args.sessions / serial * 60, 1),
        "parallel_sessions_per_min": round(args.sessions / parallel * 60, 1),
        "speedup": round(serial / parallel, 2),
        "identical_stores": bool(same),
        "serial_runs_s": [round(t, 2) for t in serials],
        "parallel_runs_s": [round(t, 2) for t in parallels],
    }
    for key, value in result.items():
        print(f"{key:26s} {value}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
