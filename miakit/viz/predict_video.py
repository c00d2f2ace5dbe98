"""``miakit predict``'s job: muscle activation from any video, and the files that show it.

:func:`predict_video` runs pose at 10 Hz (:func:`miakit.stages.pose.estimate_pose`), makes a
one-segment contract-2 dataset of it and predicts over it (:mod:`miakit.learn.predict`: the
computing), then writes four files: ``activation.csv``, ``activation.zarr``, ``overlay.mp4``
(:func:`miakit.viz.render.render_segment`) and ``activation.png``
(:func:`miakit.viz.plots.activation_figure`).

torch, cv2, mediapipe and matplotlib are imported inside the functions that use them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from miakit.errors import InputError
from miakit.learn.predict import Checkpoint, load, predict_segment, predicted_dataset, short_runs, video_dataset

__all__ = ["predict_video", "PredictResult", "write_activation_csv"]


@dataclass
class PredictResult:
    """What :func:`predict_video` wrote and found."""

    out: Path
    csv: Path
    zarr: Path
    overlay: Path
    plot: Path
    frames: int  # frames on the 10 Hz grid
    frames_with_person: int
    frames_predicted: int  # frames with a prediction (covered by a window)
    muscles: list[str]
    image_size: tuple[int, int]  # (width, height) of the displayed video
    codec: str  # of the overlay: h264, or mpeg4 where no H.264 encoder is installed
    timings: dict[str, float] = field(default_factory=dict)  # seconds: pose, predict, write, render
    frames_short: int = 0  # frames predicted by a window shorter than the model's (a short run of frames with a person)
    window: int = 0  # the model's window, in frames
    rendered: object = None  # the overlay's miakit.viz.render.RenderResult (panels, sizes, scale)
    identity: str = ""  # whom the pose track followed and where it was unsure (miakit.stages.pose_cli.identity_summary)
    frames_undecodable: int = 0  # video frames damaged data kept from decoding (skipped)


def predict_video(
    video: str | Path,
    checkpoint: str | Path | Checkpoint,
    out: str | Path,
    *,
    progress: bool = True,
    panel_height: int = 640,
    stride: int = 1,
    pose_backend: str = "mediapipe",
    person: str = "start",
) -> PredictResult:
    """Predict the activation of each muscle over a whole video and write, in ``out``:

    - ``activation.csv``: ``time`` (s from the video's first frame, on the 10 Hz grid) and one
      column per muscle of the checkpoint (empty where there is no prediction);
    - ``activation.zarr``: a contract-2 store of the same, its ``emg`` the prediction
      (``attrs['emg_source'] == 'predicted'``, ``attrs['prediction']`` names the checkpoint);
    - ``overlay.mp4``: the video with the skeleton and the predicted muscles coloured from
      relaxed to flexed (colour: each muscle's 1st to 99th percentile over this video), a legend of
      the muscles below;
    - ``activation.png``: the predicted activation of each muscle over time.

    Any clip with a person in view for at least one 10 Hz step is predicted: a run of frames with a
    person shorter than the model's window gets one window of its own length (``min_window=1`` of
    :func:`predict_segment`); ``PredictResult.frames_short`` counts those frames. ``person``
    chooses whom to follow where several people are in view (:data:`miakit.stages.pose.PERSON_CHOICES`).

    Raises InputError (one line), before any pose is estimated, for an unreadable video, one with
    no video stream, or one shorter than one 10 Hz step; after the pose stage, for a video with no
    person in view.
    """
    import time

    from miakit.layout import RATE_HZ
    from miakit.stages.pose import estimate_pose, identity_summary
    from miakit.stages.video import probe_video
    from miakit.store import write_dataset
    from miakit.viz.plots import activation_figure, save_figure
    from miakit.viz.render import VideoSource, emg_scale, render_segment

    video, out = Path(video), Path(out)
    from miakit.store import check_output

    check_output(out / "activation.zarr", inputs=(video, checkpoint if isinstance(checkpoint, (str, Path)) else None))
    meta = probe_video(video)  # unreadable, no video stream, no frames: refused here, in well under a second
    if meta.duration_s < 1.0 / RATE_HZ - 1e-9:
        raise InputError(
            video,
            "too short to predict: shorter than one 10 Hz step",
            field="duration",
            expected=f"at least {1.0 / RATE_HZ:g} s",
            found=f"{meta.duration_s:.3g} s ({meta.frames} frames at {meta.fps:g} fps)",
        )
    ckpt = load(checkpoint)
    timings: dict[str, float] = {}
    tick = time.perf_counter()
    pose = estimate_pose(video, progress=progress, person=person)
    timings["pose_s"] = time.perf_counter() - tick

    tick = time.perf_counter()
    ds = video_dataset(pose, muscles=ckpt.muscles, video=video)
    predicted = predict_segment(ckpt, ds, 0, stride=stride, min_window=1)
    timings["predict_s"] = time.perf_counter() - tick
    covered = np.isfinite(predicted).all(axis=1)
    usable = np.asarray(ds["valid"].values, dtype=bool)
    frames_short = sum(n for _, n in short_runs(usable, window=ckpt.window))

    tick = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    time_s = np.asarray(pose["time"].values, dtype=np.float64)
    paths = {name: out / name for name in ("activation.csv", "activation.zarr", "overlay.mp4", "activation.png")}
    write_activation_csv(paths["activation.csv"], time_s, predicted, ckpt.muscles)
    result_ds = predicted_dataset(ds, predicted, ckpt)
    write_dataset(result_ds, paths["activation.zarr"])  # replaces only a store miakit wrote
    fig = activation_figure(
        time_s,
        predicted,
        ckpt.muscles,
        title=f"predicted activation: {video.name} ({ckpt.config.model} "
        f"model {ckpt.path.name}, step {ckpt.meta.get('step', '?')})",
        units=result_ds.attrs["emg_units"],
    )
    save_figure(fig, paths["activation.png"])
    timings["write_s"] = time.perf_counter() - tick

    tick = time.perf_counter()
    scale = emg_scale(  # absolute: the EMG the model learned as 1, the same for every muscle and video
        predicted, high=float(ckpt.config.emg_scale), units=result_ds.attrs["emg_units"], source="the model's EMG scale"
    )
    rendered = render_segment(
        ds,
        0,
        paths["overlay.mp4"],
        predicted=predicted,
        scale=scale,
        video=VideoSource(path=video, times=time_s),
        panel_height=panel_height,
        progress=progress,
        title=f"{video.name}: predicted by the {ckpt.config.model} model "
        f"({ckpt.path.name}, step {ckpt.meta.get('step', '?')})",
    )
    timings["render_s"] = time.perf_counter() - tick
    return PredictResult(
        out=out,
        csv=paths["activation.csv"],
        zarr=paths["activation.zarr"],
        overlay=rendered.path,
        plot=paths["activation.png"],
        frames=ds.sizes["frame"],
        frames_with_person=int(pose.attrs["frames_with_person"]),
        frames_predicted=int(covered.sum()),
        muscles=ckpt.muscles,
        image_size=(int(pose.attrs["width"]), int(pose.attrs["height"])),
        codec=rendered.codec,
        timings=timings,
        frames_short=int(frames_short),
        window=ckpt.window,
        rendered=rendered,
        identity=identity_summary(pose) if "frames_lost" in pose.attrs else "",
        frames_undecodable=int(pose.attrs.get("frames_undecodable", 0)),
    )


def write_activation_csv(path: Path, time_s: np.ndarray, predicted: np.ndarray, muscles: list[str]) -> None:
    """Write ``activation.csv``: a ``time`` column (s) and one column per muscle (4 decimals), the
    file ``miakit predict`` and ``miakit live`` leave beside their pictures."""
    import pandas as pd

    table = pd.DataFrame(np.asarray(predicted, dtype=np.float64), columns=list(muscles))
    table.insert(0, "time", np.round(time_s, 6))
    table.to_csv(path, index=False, float_format="%.4f")
