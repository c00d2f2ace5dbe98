"""``miakit predict VIDEO --checkpoint CKPT --out DIR``: muscle activation from any video.

Thin: parses, calls :func:`miakit.viz.predict_video.predict_video`, prints a short summary to standard
error and the output folder as the last line on standard output. Only typer is imported at start-up.
"""

from __future__ import annotations

from pathlib import Path

import typer

from miakit.stages.pose_cli import PERSON_HELP, Person


def predict(
    video: Path = typer.Argument(
        ..., help="The video (MP4/MOV from a phone or camera, any orientation, at least 0.1 s with a person in view)."
    ),
    checkpoint: Path = typer.Option(
        ..., "--checkpoint", help="A trained model (checkpoint.pt from miakit train or miakit demo)."
    ),
    out: Path = typer.Option(
        ..., "--out", help="Folder for activation.csv, activation.zarr, overlay.mp4 and activation.png."
    ),
    person: Person = typer.Option(Person.start, "--person", help=PERSON_HELP),
    height: int = typer.Option(
        640, "--height", min=120, max=2160, help="Height of each panel of overlay.mp4, pixels (as miakit render)."
    ),
    symmetric: bool = typer.Option(
        True,
        "--symmetric/--no-symmetric",
        help="Pose on each frame and on its mirror image, and the mean of the two predictions (the mirror "
        "image's with left and right swapped back): a mirrored video gives the same muscles with the sides "
        "swapped. Twice the pose time. --no-symmetric: one pose run, as miakit live.",
    ),
) -> None:
    """Predict the activation of each muscle over VIDEO: pose at 10 Hz, sliding windows through the
    trained model, then a table (CSV and Zarr), an overlay video and a plot in OUT. OUT is a new or
    empty folder, or an earlier prediction's: a folder of other files is refused.

    A stretch with a person shorter than the model's window (3 s for the paper's) gets one window
    of its own length. By default pose also runs on each frame's mirror image and the prediction is
    the mean of both (--symmetric); activation.zarr records the choice.

    Example: miakit predict squat.mp4 --checkpoint miakit-demo/bench/miakit/checkpoint.pt --out squat-emg
    (the demo's best model; the demo prints its path last)
    """
    from miakit.outputs import prepare_folder
    from miakit.viz.predict_video import predict_video

    prepare_folder(out, "predict", inputs=(video, checkpoint))
    result = predict_video(
        video, checkpoint, out, progress=True, person=person.value, panel_height=height, symmetric=symmetric
    )
    width, height = result.image_size
    seconds = result.frames / 10.0
    lines = [
        f"video: {video.name}, {width}x{height}, {seconds:.1f} s = {result.frames} frames at 10 Hz; "
        f"a person in {result.frames_with_person}"
        + (f" (in {result.frames_with_person_mirrored} of the mirror image)" if result.symmetric else "")
        + f", a prediction for {result.frames_predicted}"
        + (" (symmetric: the mean of the frames' and their mirror images')" if result.symmetric else ""),
        f"muscles: {', '.join(result.muscles)}",
        "wrote: " + ", ".join(p.name for p in (result.csv, result.zarr, result.overlay, result.plot)),
        "time: " + ", ".join(f"{k.removesuffix('_s')} {v:.1f} s" for k, v in result.timings.items()),
    ]
    if result.identity:
        lines.insert(1, f"person: {result.identity}")
    if result.frames_undecodable:
        lines.insert(1, f"note: {result.frames_undecodable} undecodable video frames skipped (damaged video data)")
    if result.frames_short:
        lines.insert(
            1,
            f"note: {result.frames_short} frames lie in stretches "
            f"shorter than the model's {result.window}-frame window: "
            "predicted with a window of the stretch's own length (less context than the model was trained on)",
        )
    if result.codec != "h264":
        lines.append(
            "note: no H.264 encoder (PyAV with libx264) here: the "
            f"overlay is {result.codec}, which browsers may not play"
        )
    for line in lines:
        typer.echo(line, err=True)
    typer.echo(str(result.out))
