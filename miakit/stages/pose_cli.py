"""``miakit pose VIDEO --out FILE``: the keypoints of one video, for a quick look.

The output format follows the suffix of FILE: ``.zarr`` (the xarray layout of
:mod:`miakit.stages.pose`, Zarr format 2, consolidated) or ``.csv`` (one row per grid time:
``time, frame_time, <keypoint>_x, <keypoint>_y, <keypoint>_score`` for the 25 BODY_25 points).
A summary table goes to standard error at the end; the last line on standard output is FILE.
"""

from __future__ import annotations

from enum import Enum, StrEnum
from pathlib import Path

import typer

from miakit.errors import InputError
from miakit.layout import BODY_25

OUTPUT_SUFFIXES = (".zarr", ".csv")
MAX_RATE_HZ = 240.0


class Person(Enum):
    """Whom to follow where several people are in view (:data:`miakit.stages.pose.PERSON_CHOICES`).
    Not a ``str`` enum: its member ``center`` would hide ``str.center``; the CLI passes ``.value`` on."""

    start = "start"
    left = "left"
    right = "right"
    center = "center"
    largest = "largest"


class Backend(StrEnum):
    mediapipe = "mediapipe"


PERSON_HELP = (
    "Whom to follow where several people are in view: start (the first one found), or, of the people in view "
    "when the first appears, the left-most, right-most, the one nearest the centre, or the largest."
)


def pose(
    video: Path = typer.Argument(..., help="The video (MP4/MOV from a phone or camera)."),
    out: Path = typer.Option(..., "--out", help="Where to write the keypoints: FILE.zarr or FILE.csv."),
    backend: Backend = typer.Option(Backend.mediapipe, "--backend", help="Pose back end."),
    rate_hz: float = typer.Option(10.0, "--rate-hz", help="Rate of the output grid, in Hz (0.1 to 240)."),
    person: Person = typer.Option(Person.start, "--person", help=PERSON_HELP),
    force: bool = typer.Option(
        False, "--force", help="Replace an existing FILE.csv that miakit did not write (a .zarr: never)."
    ),
) -> None:
    """Estimate BODY_25 keypoints of the person in VIDEO on a RATE_HZ grid and write them to OUT.

    An existing OUT is replaced only when miakit wrote it (keypoints of an earlier pose), or a
    FILE.csv with --force.

    Example: miakit pose squat.mp4 --out squat.csv --person left
    """
    from miakit.ranges import in_range
    from miakit.stages.pose import estimate_pose

    in_range(
        "--rate-hz", rate_hz, 0.1, MAX_RATE_HZ, why="the output grid; a video holds at most a few hundred frames/s"
    )
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise InputError(
            out,
            "unknown output format",
            field="--out",
            expected=" or ".join(OUTPUT_SUFFIXES),
            found=out.suffix or "no suffix",
        )
    check_keypoints_output(out, video, force=force)
    timings: dict = {}
    ds = estimate_pose(
        video, rate_hz=rate_hz, backend=backend.value, progress=True, timings=timings, person=person.value
    )
    write_keypoints(ds, out)
    _summary(ds, timings, video=video, out=out)
    typer.echo(str(out))


def check_keypoints_output(out: Path, video: Path, *, force: bool = False) -> None:
    """Before any work: a ``.zarr`` OUT must be new, empty or keypoints miakit wrote
    (:func:`miakit.store.check_output`); a ``.csv`` OUT new, or a keypoints table miakit wrote
    (:func:`is_keypoints_csv`), or any file with ``force``; never a folder or the video
    (:func:`miakit.outputs.check_file`)."""
    from miakit.outputs import check_file
    from miakit.store import check_output

    if out.suffix.lower() == ".zarr":
        check_output(out, inputs=(video,), kinds=("keypoints",))
    else:
        check_file(out, ours=is_keypoints_csv, force=force, inputs=(video,))


def is_keypoints_csv(path: Path) -> bool:
    """Whether ``path`` is a keypoints table ``miakit pose`` wrote: its first line is the header it writes."""

    header = ",".join(["time", "frame_time"] + [f"{k}_{c}" for k in BODY_25 for c in ("x", "y", "score")])
    try:
        with open(path, "rb") as fh:
            first = fh.readline(len(header) + 2)
    except OSError:
        return False
    return first.rstrip(b"\r\n") == header.encode()


def write_keypoints(ds, out: Path) -> None:
    """Write a keypoints dataset to ``out`` (.zarr or .csv). A ``.zarr`` replaces only keypoints
    miakit wrote there, built beside and swapped in (:func:`miakit.store.write_zarr`)."""
    import numpy as np

    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".zarr":
        from miakit.store import write_zarr

        write_zarr(ds, out, kind="keypoints")
        return
    names = [str(k) for k in ds["keypoint"].values]
    header = ["time", "frame_time"] + [f"{k}_{c}" for k in names for c in ("x", "y", "score")]
    xy = ds["keypoints"].values
    score = ds["keypoint_score"].values[:, :, None]
    table = np.concatenate([xy, score], axis=2).reshape(len(ds["time"]), -1)
    table = np.column_stack([ds["time"].values, ds["frame_time"].values, table])
    np.savetxt(out, table, delimiter=",", header=",".join(header), comments="", fmt="%.6g")


def _summary(ds, timings: dict, *, video: Path, out: Path) -> None:
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    score = ds["keypoint_score"].values
    with_person = int(ds.attrs["frames_with_person"])
    table = Table(title=f"pose: {video.name}", show_header=True)
    table.add_column("what")
    table.add_column("value", justify="right")
    rows = [
        ("image (displayed)", f"{ds.attrs['width']}x{ds.attrs['height']}, rotation {ds.attrs['rotation']}"),
        ("video frame rate", f"{ds.attrs['fps']:.3g} fps"),
        ("grid", f"{ds.sizes['time']} times at {ds.attrs['rate_hz']:g} Hz"),
        ("with a person", f"{with_person} of {ds.sizes['time']}"),
        ("mean keypoint score", f"{float(np.mean(score[score > 0])) if (score > 0).any() else 0:.3f}"),
        ("estimator", str(ds.attrs["estimator"])),
    ]
    if ds.attrs.get("frames_undecodable"):
        rows.append(("undecodable frames", f"{ds.attrs['frames_undecodable']} skipped (damaged video data)"))
    if "frames_lost" in ds.attrs:
        from miakit.stages.pose import identity_summary

        rows.append(("person followed", identity_summary(ds)))
    if timings:
        rows += [
            ("decode", f"{timings['decode_fps']:.1f} frames/s"),
            ("inference", f"{timings['inference_fps']:.1f} frames/s"),
            ("overall", f"{timings['overall_fps']:.1f} frames/s ({timings['setup_s']:.1f} s to start)"),
        ]
    rows.append(("written", str(out)))
    for row in rows:
        table.add_row(*row)
    Console(stderr=True).print(table)
