"""Speed of the pose stage on the shared 1080x1920 videos at a 10 Hz output grid.

Three numbers per video, in output frames (grid times) per second:

- decode: probing, then decoding the frames the grid needs and preparing them for the model
  (frames_at + shrink + RGB), alone;
- inference: MediaPipe BlazePose on those prepared frames, alone (also without the first frame,
  which pays for person detection and the model's warm-up);
- overall: the stage as the pipeline runs it (estimate_pose: decoding in a second thread beside
  inference), wall clock, with its setup (probing the video, starting the model: about half a
  second, which the shared clips of 17 to 34 output frames feel and a session of minutes does not);
- running: the same run less that setup.

Run:  python benchmarks/pose_speed.py [--repeat 3] [--rate-hz 10] [--out pose_speed.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "video"


def measure(video: Path, *, rate_hz: float, repeat: int, inference_height: int) -> dict:
    """Decode, inference and overall frames per second for one video (best of ``repeat``)."""
    from miakit.stages.pose import MediaPipeBackend, estimate_pose, inference_image, time_grid
    from miakit.stages.video import frames_at, probe_video

    backend = MediaPipeBackend(inference_height=inference_height)
    decode_s, inference_s, overall_s, running_s, first_s, steady_s = [], [], [], [], [], []
    for _ in range(repeat):
        tick = time.perf_counter()
        meta = probe_video(video)
        grid = time_grid(meta.duration_s, rate_hz=rate_hz)
        images = [inference_image(image, height=inference_height) for _, _, image in frames_at(video, grid, meta=meta)]
        decode_s.append(time.perf_counter() - tick)

        model = backend.open_model()
        try:
            found, per_frame = 0, []
            for image in images:
                tick = time.perf_counter()
                found += model.process(image).pose_landmarks is not None
                per_frame.append(time.perf_counter() - tick)
            inference_s.append(sum(per_frame))
            first_s.append(per_frame[0])
            steady_s.append(sum(per_frame[1:]))
        finally:
            model.close()

        timings: dict = {}
        tick = time.perf_counter()
        estimate_pose(video, rate_hz=rate_hz, progress=False, timings=timings, inference_height=inference_height)
        overall_s.append(time.perf_counter() - tick)
        running_s.append(timings["wall_s"] - timings["setup_s"])
    frames = len(images)
    return {
        "video": video.name,
        "size": f"{meta.width}x{meta.height}",
        "video_fps": meta.fps,
        "output_frames": frames,
        "frames_with_person": int(found),
        "decode_fps": frames / min(decode_s),
        "inference_fps": frames / min(inference_s),
        "inference_fps_after_first": (frames - 1) / min(steady_s),
        "first_inference_ms": 1000 * min(first_s),
        "overall_fps": frames / min(overall_s),
        "running_fps": frames / min(running_s),
        "decode_ms_per_frame": 1000 * min(decode_s) / frames,
        "inference_ms_per_frame": 1000 * min(inference_s) / frames,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per video; the best is kept")
    parser.add_argument("--rate-hz", type=float, default=10.0, help="output grid rate")
    parser.add_argument("--inference-height", type=int, default=640, help="frame height given to the model")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    parser.add_argument("--data", type=Path, default=DATA, help="folder of the 1080x1920 videos")
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    videos = sorted(args.data.glob("*.mp4"))
    if not videos:
        raise SystemExit(f"no videos in {args.data}")
    rows = [measure(v, rate_hz=args.rate_hz, repeat=args.repeat, inference_height=args.inference_height) for v in videos]

    table = Table(title=f"pose stage, {args.rate_hz:g} Hz output, inference at {args.inference_height} px high")
    for column in ("video", "size", "video fps", "frames", "person", "decode fps", "inference fps", "after 1st", "overall fps", "running fps"):
        table.add_column(column, justify="left" if column == "video" else "right")
    for r in rows:
        table.add_row(
            r["video"], r["size"], f"{r['video_fps']:.0f}", str(r["output_frames"]), str(r["frames_with_person"]),
            f"{r['decode_fps']:.1f}", f"{r['inference_fps']:.1f}", f"{r['inference_fps_after_first']:.1f}", f"{r['overall_fps']:.1f}", f"{r['running_fps']:.1f}",
        )  # fmt: skip
    total = sum(r["output_frames"] for r in rows)
    overall = total / sum(r["output_frames"] / r["overall_fps"] for r in rows)
    running = total / sum(r["output_frames"] / r["running_fps"] for r in rows)
    console = Console(width=120)
    console.print(table)
    console.print(
        f"all videos: {overall:.1f} output frames/s overall, {running:.1f} running (goal >= 20); "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} (other work on the machine slows every number)"
    )
    if args.out:
        report = {
            "rate_hz": args.rate_hz,
            "inference_height": args.inference_height,
            "repeat": args.repeat,
            "cpu_count": os.cpu_count(),
            "load_average_1min": os.getloadavg()[0],
            "machine": platform.platform(),
            "overall_fps": overall,
            "running_fps": running,
            "videos": rows,
        }
        args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
