"""Outputs a muscle can have (issue 32), on the real videos: no negative value, symmetric muscles
for a symmetric movement, and a mirrored clip that swaps left and right.

For each clip in ``../shared/data/video`` and a checkpoint: the pose as ``miakit predict`` makes it
(MediaPipe, 10 Hz; :func:`miakit.stages.pose.estimate_pose`), the prediction over the whole clip
(:func:`miakit.learn.predict.predict_segment`, a clip shorter than the window as one window), and
the same for the clip flipped left to right (every frame mirrored, written to a temporary file and
put through the pose back end again: a real mirrored input, not a relabelled pose). Each is
predicted twice: ``single``, from the pose of the frames alone (``miakit predict --no-symmetric``,
``miakit live``), and ``symmetric``, the default of ``miakit predict``: pose also on each frame's
mirror image (:func:`miakit.viz.predict_video.mirror_pose`) and the mean of the two predictions,
the mirror image's with its sides swapped back (:func:`miakit.learn.predict.predict_symmetric`).
Printed per clip and way:

- ``min``: the smallest predicted value (the goal: never below 0);
- ``L/R peak``: per muscle pair, the larger of the two sides' peaks over the smaller (goal within
  1.5 on a bilateral movement);
- ``mirror r``: per muscle, Pearson r of the flipped clip's prediction against the original's for
  the other side's muscle (goal >= 0.9), and the mean;
- ``pose gap``: how far the pose MediaPipe finds in the flipped clip is from the mirror image of the
  pose it finds in the clip (:func:`miakit.learn.features.mirror_keypoints`): the median over frames
  of the mean keypoint distance, and the worst frame's, in torso lengths. The model itself is
  mirror-equivariant (the mirror image of the pose gives the prediction with the sides swapped, to
  float precision: ``exact``, the largest difference); a large gap is the pose estimator seeing the
  flipped person otherwise (a side view whose left and right it confuses), and the single mirror r
  falls with it. The symmetric prediction does not depend on it: the flipped clip's two pose runs
  are the clip's, traded (up to the re-encoding of the flipped frames);
- ``pose s``: seconds of pose for the clip (one run single, two symmetric).

Nothing is cached in the repository; the flipped clips live in a temporary folder.

    python benchmarks/video_symmetry.py runs/real/checkpoint.pt
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
VIDEOS = ROOT.parent / "shared" / "data" / "video"


def flip_video(source: Path, out: Path) -> Path:
    """``source`` with every frame mirrored left to right, re-encoded with PyAV at its own rate."""
    import av

    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate
        frames = [f.to_ndarray(format="rgb24")[:, ::-1] for f in container.decode(stream)]
    with av.open(str(out), "w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for image in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")))
        container.mux(stream.encode(None))
    return out


def video_pose_dataset(video: Path, muscles: list[str], *, mirror_image: bool = False):
    """The one-segment dataset ``miakit predict`` makes of a video's MediaPipe pose; ``mirror_image``:
    of the pose MediaPipe finds in the mirror image of each frame, brought back to the frame
    (:func:`miakit.viz.predict_video.mirror_pose`)."""
    from miakit.learn.predict import video_dataset
    from miakit.stages.pose import estimate_pose
    from miakit.viz.predict_video import mirror_pose

    pose = mirror_pose(video, progress=False) if mirror_image else estimate_pose(video, progress=False)
    return video_dataset(pose, muscles=muscles, video=video)


def predict_clip(checkpoint, ds) -> np.ndarray:
    """(frames, muscles) as ``miakit predict`` gives them (a clip shorter than the window: one window)."""
    from miakit.learn.predict import predict_segment

    return predict_segment(checkpoint, ds, 0, min_window=1)


def predict_clip_symmetric(checkpoint, ds, seen_mirrored) -> np.ndarray:
    """(frames, muscles) as ``miakit predict`` gives them by default (``--symmetric``)."""
    from miakit.learn.predict import predict_symmetric

    return predict_symmetric(checkpoint, ds, seen_mirrored, 0, min_window=1)


def side_pairs(muscles: list[str]) -> list[tuple[int, int]]:
    """(left index, right index) of each muscle that has its other side among ``muscles``."""
    from miakit.layout import MIRROR_MUSCLE

    return [
        (i, muscles.index(MIRROR_MUSCLE[m]))
        for i, m in enumerate(muscles)
        if m.startswith("Left") and MIRROR_MUSCLE.get(m) in muscles
    ]


def peak_ratios(predicted: np.ndarray, muscles: list[str]) -> dict[str, float]:
    """Per left/right pair: the larger side's peak over the smaller's (inf where one side's peak is 0)."""
    out = {}
    for left, right in side_pairs(muscles):
        a, b = np.nanmax(predicted[:, left]), np.nanmax(predicted[:, right])
        lo, hi = min(a, b), max(a, b)
        out[muscles[left].removeprefix("Left")] = float(hi / lo) if lo > 0 else float("inf")
    return out


def mirror_r(original: np.ndarray, mirrored: np.ndarray, muscles: list[str]) -> dict[str, float]:
    """Per muscle: r of the mirrored clip's prediction against the original's for the other side."""
    from miakit.bench.real import pearson
    from miakit.layout import MIRROR_MUSCLE

    n = min(len(original), len(mirrored))  # the flipped clip decodes to the same frames; guard anyway
    return {
        m: pearson(mirrored[:n, i], original[:n, muscles.index(MIRROR_MUSCLE[m])])
        for i, m in enumerate(muscles)
        if MIRROR_MUSCLE.get(m) in muscles
    }


def pose_gap(ds, flipped) -> tuple[float, float]:
    """(median, largest) over frames of the mean distance between the flipped clip's keypoints and
    the mirror image of the clip's, in torso lengths (the clip's median Neck-MidHip distance)."""
    from miakit.contracts.dataset import frame_image_size
    from miakit.learn.features import mirror_keypoints

    names = [str(k) for k in ds["keypoint"].values]
    a = mirror_keypoints(ds["keypoints"].values, names, frame_image_size(ds)[0])
    b = np.asarray(flipped["keypoints"].values, dtype=np.float32)
    for kp, score in (
        (a, np.asarray(ds["keypoint_score"].values)[:, _swap(names)]),
        (b, flipped["keypoint_score"].values),
    ):
        kp[np.asarray(score) <= 0] = np.nan
    kp = np.asarray(ds["keypoints"].values, dtype=np.float64)
    torso = np.nanmedian(np.linalg.norm(kp[:, names.index("Neck")] - kp[:, names.index("MidHip")], axis=-1))
    n = min(len(a), len(b))
    with np.errstate(all="ignore"), warnings.catch_warnings():  # a frame with no point in common is NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        per_frame = np.nanmean(np.linalg.norm(a[:n] - b[:n], axis=-1), axis=1) / torso
    return float(np.nanmedian(per_frame)), float(np.nanmax(per_frame))


def _swap(names: list[str]) -> np.ndarray:
    from miakit.layout import MIRROR_KEYPOINT
    from miakit.learn.features import mirror_permutation

    return mirror_permutation(names, MIRROR_KEYPOINT, what="keypoint")


def measure(checkpoint, videos: list[Path], tmp: Path) -> list[dict]:
    """Two dicts per clip, ``way`` single and symmetric: ``min``, ``ratios``, ``mirror_r``,
    ``pose_s`` and the two predictions (clip, flipped clip); single also ``exact`` and ``pose_gap``."""
    import time

    from miakit.layout import MIRROR_MUSCLE
    from miakit.learn.features import mirror_permutation, mirrored_dataset
    from miakit.learn.predict import load

    ckpt = load(checkpoint)
    swap = mirror_permutation(ckpt.muscles, MIRROR_MUSCLE, what="muscle")
    rows = []
    for video in videos:
        flipped_video = flip_video(video, tmp / f"flipped-{video.name}")
        poses, seconds = {}, {}
        for key, path, mirror_image in (
            ("clip", video, False),
            ("clip mirror image", video, True),
            ("flipped", flipped_video, False),
            ("flipped mirror image", flipped_video, True),
        ):
            tick = time.perf_counter()
            poses[key] = video_pose_dataset(path, ckpt.muscles, mirror_image=mirror_image)
            seconds[key] = time.perf_counter() - tick
        ds, flipped_ds = poses["clip"], poses["flipped"]
        original, flipped = predict_clip(ckpt, ds), predict_clip(ckpt, flipped_ds)
        exact = predict_clip(ckpt, mirrored_dataset(ds))
        rows.append(
            {
                "clip": video.name,
                "way": "single",
                "frames": len(original),
                "min": float(min(np.nanmin(original), np.nanmin(flipped), np.nanmin(exact))),
                "exact": float(np.nanmax(np.abs(exact - original[:, swap]))),
                "pose_gap": pose_gap(ds, flipped_ds),
                "ratios": peak_ratios(original, ckpt.muscles),
                "mirror_r": mirror_r(original, flipped, ckpt.muscles),
                "pose_s": seconds["clip"],
                "original": original,
                "flipped": flipped,
            }
        )
        original = predict_clip_symmetric(ckpt, ds, poses["clip mirror image"])
        flipped = predict_clip_symmetric(ckpt, flipped_ds, poses["flipped mirror image"])
        rows.append(
            {
                "clip": video.name,
                "way": "symmetric",
                "frames": len(original),
                "min": float(min(np.nanmin(original), np.nanmin(flipped))),
                "ratios": peak_ratios(original, ckpt.muscles),
                "mirror_r": mirror_r(original, flipped, ckpt.muscles),
                "pose_s": seconds["clip"] + seconds["clip mirror image"],
                "original": original,
                "flipped": flipped,
            }
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--video", type=Path, action="append", help="clips (default: every .mp4 in ../shared/data/video)")
    args = ap.parse_args()
    videos = args.video or sorted(VIDEOS.glob("*.mp4"))
    with tempfile.TemporaryDirectory() as tmp:
        for row in measure(args.checkpoint, videos, Path(tmp)):
            rs = row["mirror_r"]
            extra = (
                f"  exact {row['exact']:.1e}  pose gap {row['pose_gap'][0]:.2f} (worst {row['pose_gap'][1]:.2f})"
                if "exact" in row
                else ""
            )
            print(
                f"{row['clip']:28s} {row['way']:9s} {row['frames']:3d} frames  min {row['min']:+.2f}  L/R peak "
                + " ".join(f"{k} {v:.2f}" for k, v in row["ratios"].items())
                + f"  mirror r mean {np.nanmean(list(rs.values())):+.3f} min {np.nanmin(list(rs.values())):+.3f}"
                + f"  pose {row['pose_s']:.1f} s"
                + extra,
                flush=True,
            )


if __name__ == "__main__":
    main()
