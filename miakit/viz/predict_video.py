"""``miakit predict``'s job: muscle activation from any video, and the files that show it.

:func:`predict_video` runs pose at 10 Hz (:func:`miakit.stages.pose.estimate_pose`) and, by
default, once more on the mirror image of every frame (:func:`mirror_pose`, :class:`MirroredMediaPipe`),
makes a one-segment contract-2 dataset of each and predicts over them (:mod:`miakit.learn.predict`:
the computing; :func:`miakit.learn.predict.predict_symmetric` averages the frame's prediction and the
mirror image's with its sides swapped back), then writes four files: ``activation.csv``,
``activation.zarr``, ``overlay.mp4`` (:func:`miakit.viz.render.render_segment`) and
``activation.png`` (:func:`miakit.viz.plots.activation_figure`).

torch, cv2, mediapipe and matplotlib are imported inside the functions that use them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from miakit.errors import InputError
from miakit.layout import RATE_HZ
from miakit.learn.predict import (
    Checkpoint,
    load,
    predict_segment,
    predict_symmetric,
    predicted_dataset,
    short_runs,
    video_dataset,
)
from miakit.stages.pose import MediaPipeBackend, estimate_pose, identity_summary
from miakit.stages.video import probe_video
from miakit.store import check_output, write_dataset
from miakit.viz.plots import activation_figure, save_figure
from miakit.viz.render import VideoSource, emg_scale, render_segment

__all__ = ["predict_video", "PredictResult", "write_activation_csv", "mirror_pose", "MirroredMediaPipe"]


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
    timings: dict[str, float] = field(default_factory=dict)  # s: pose, pose_mirrored (if symmetric), predict, ...
    frames_short: int = 0  # frames predicted by a window shorter than the model's (a short run of frames with a person)
    window: int = 0  # the model's window, in frames
    rendered: object = None  # the overlay's miakit.viz.render.RenderResult (panels, sizes, scale)
    identity: str = ""  # whom the pose track followed and where it was unsure (miakit.stages.pose_cli.identity_summary)
    frames_undecodable: int = 0  # video frames damaged data kept from decoding (skipped)
    symmetric: bool = False  # pose also on each frame's mirror image, the two predictions averaged
    frames_with_person_mirrored: int = 0  # frames whose mirror image has a person (symmetric only)


# -- pose on the mirror image ---------------------------------------------------------------------

BLAZEPOSE_MIRROR = np.array(
    [0, 4, 5, 6, 1, 2, 3, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15, 18, 17, 20, 19, 22, 21, 24, 23, 26, 25, 28, 27]
    + [30, 29, 32, 31]
)
"""Each BlazePose landmark's left/right counterpart (nose 0; eyes 1-3 and 4-6, ears 7/8, mouth
9/10, then left/right pairs from the shoulders 11/12 to the foot index 31/32)."""


class MirroredGraph:
    """A MediaPipe Pose graph that looks at the mirror image of each frame and answers for the frame:
    ``process(rgb)`` runs the graph on ``rgb`` flipped left to right and returns its landmarks
    brought back (``x -> 1 - x`` in MediaPipe's 0-1 image coordinates, each landmark swapped with
    its counterpart, :data:`BLAZEPOSE_MIRROR`), so the person follower, its boxes and its greyed-out
    re-detection work on the frame as for the plain graph. The graph keeps its own tracking state: it
    sees the mirrored video as a video."""

    def __init__(self, graph: Any):
        self.graph = graph

    def process(self, rgb: np.ndarray) -> SimpleNamespace:
        found = self.graph.process(np.ascontiguousarray(rgb[:, ::-1])).pose_landmarks
        if found is None:
            return SimpleNamespace(pose_landmarks=None)
        points = [found.landmark[int(i)] for i in BLAZEPOSE_MIRROR]
        return SimpleNamespace(
            pose_landmarks=SimpleNamespace(
                landmark=[SimpleNamespace(x=1.0 - p.x, y=p.y, visibility=p.visibility) for p in points]
            )
        )

    def close(self) -> None:
        self.graph.close()


@dataclass
class MirroredMediaPipe(MediaPipeBackend):
    """:class:`miakit.stages.pose.MediaPipeBackend` (the same model, settings and person following)
    on the mirror image of every frame (:class:`MirroredGraph`): BODY_25 keypoints of the person in
    the frame's own pixels and sides, as MediaPipe finds them in the mirror image."""

    name: str = "mediapipe-mirrored"

    def open_model(self) -> Any:
        return MirroredGraph(super().open_model())


def mirror_pose(video: str | Path, *, person: str = "start", progress: bool = True):
    """:func:`miakit.stages.pose.estimate_pose`'s dataset (10 Hz, MediaPipe) of ``video`` as
    MediaPipe sees its mirror image (:class:`MirroredMediaPipe`), in the video's own pixels and
    sides; ``attrs['estimator']`` says so. A video whose mirror image shows nobody gives a dataset
    with no keypoints (the caller decides)."""
    pose = MirroredMediaPipe(person=person).keypoints(Path(video), progress=progress)
    pose.attrs["estimator"] = f"{pose.attrs['estimator']} on the mirror image"
    return pose


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
    symmetric: bool = True,
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

    ``symmetric`` (the default): pose runs twice, on each frame and on its mirror image
    (:func:`mirror_pose`), and the prediction is the mean of the frame's and the mirror image's with
    its sides swapped back (:func:`miakit.learn.predict.predict_symmetric`), at twice the pose time.
    A mirrored video then gives the same muscles with left and right swapped (its two pose runs are
    this video's, traded), whatever the model and whatever the pose estimator makes of a flipped
    person: exactly where its frames are exact mirror images, nearly where re-encoding changed them.
    ``attrs['prediction']['symmetric']`` of the store records the choice.

    Raises InputError (one line), before any pose is estimated, for an unreadable video, one with
    no video stream, or one shorter than one 10 Hz step; after the pose stage, for a video with no
    person in view.
    """
    import time

    video, out = Path(video), Path(out)

    check_output(out / "activation.zarr", inputs=[video, checkpoint if isinstance(checkpoint, (str, Path)) else None])
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
    mirrored = None
    if symmetric:
        tick = time.perf_counter()
        mirrored = mirror_pose(video, person=person, progress=progress)
        timings["pose_mirrored_s"] = time.perf_counter() - tick

    tick = time.perf_counter()
    ds = video_dataset(pose, muscles=ckpt.muscles, video=video)
    if mirrored is not None:
        seen = video_dataset(mirrored, muscles=ckpt.muscles, video=video)
        predicted = predict_symmetric(ckpt, ds, seen, 0, stride=stride, min_window=1)
    else:
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
    result_ds = predicted_dataset(ds, predicted, ckpt, symmetric=symmetric)
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
        symmetric=symmetric,
        frames_with_person_mirrored=int(mirrored.attrs["frames_with_person"]) if mirrored is not None else 0,
    )


def write_activation_csv(path: Path, time_s: np.ndarray, predicted: np.ndarray, muscles: list[str]) -> None:
    """Write ``activation.csv``: a ``time`` column (s) and one column per muscle (4 decimals), the
    file ``miakit predict`` and ``miakit live`` leave beside their pictures."""
    import pandas as pd

    table = pd.DataFrame(np.asarray(predicted, dtype=np.float64), columns=list(muscles))
    table.insert(0, "time", np.round(time_s, 6))
    table.to_csv(path, index=False, float_format="%.4f")
