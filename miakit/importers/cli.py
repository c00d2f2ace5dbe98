"""``miakit import``: bring published data sets in as miakit datasets (contract 2 Zarr stores).

Thin: parses, calls :mod:`miakit.importers.mia_release`, :mod:`miakit.importers.uci`,
:mod:`miakit.importers.c3d` or :mod:`miakit.importers.opensim`, prints a summary table (standard
output) and the store's path as the last line. ``import xdf`` writes session folders
(:mod:`miakit.importers.xdf`) and prints their parent folder last.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from miakit.errors import InputError, MiakitError
from miakit.record.uci_file import RAW_RATE_HZ
from miakit.stages.emg import RawEmgParams

import_app = typer.Typer(
    help="Import published data sets (the MIA release, the UCI EMG set) and lab recordings "
    "(C3D, OpenSim .trc) as Zarr datasets, and LabRecorder (XDF) files as sessions.",
    no_args_is_help=True,
)


@import_app.command("mia-release")
def mia_release_cmd(
    directory: Path = typer.Argument(..., help="The release: the folder holding train/ and val/ (MIADatasetOfficial)."),
    out: Path = typer.Option(..., "--out", help="The Zarr store to write (STORE.zarr)."),
    with_verts: bool = typer.Option(
        False, "--with-verts", help="Also check each clip's verts.npy header (never stored)."
    ),
    catalog: Path | None = typer.Option(
        None, "--catalog", help="Register the store in this catalog file [default: none: the store is not registered]."
    ),
    name: str | None = typer.Option(None, "--name", help="Name of the catalog entry [default: the store's name]."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Import the public Muscles in Action release (train and val splits kept).

    Example: miakit import mia-release ~/data/MIADatasetOfficial --out data/mia.zarr
    """
    from miakit.importers.mia_release import import_mia_release

    report = import_mia_release(
        directory, out, with_verts=with_verts, catalog=catalog, name=name, show_progress=progress
    )
    _print_report(
        report,
        title=f"MIA release -> {out}",
        columns=("split", "subject", "clips", "skipped", "segments", "frames", "valid"),
    )
    typer.echo(str(out))


@import_app.command("uci-emg")
def uci_emg_cmd(
    directory: Path = typer.Argument(..., help="The UCI EMG Physical Action set (the folder holding subNN/)."),
    out: Path = typer.Option(..., "--out", help="The Zarr store to write (STORE.zarr)."),
    raw_rate_hz: float = typer.Option(RAW_RATE_HZ, "--raw-rate-hz", help="Sampling rate of the raw files."),
    low_hz: float = typer.Option(RawEmgParams.low_hz, "--low-hz", help="Band-pass low edge."),
    high_hz: float = typer.Option(RawEmgParams.high_hz, "--high-hz", help="Band-pass high edge."),
    notch_hz: float | None = typer.Option(
        RawEmgParams.notch_hz, "--notch-hz", help="Mains notch (50 or 60); none by default."
    ),
    envelope: Literal["rms", "lowpass"] = typer.Option(RawEmgParams.envelope, "--envelope", help="Envelope."),
    window_s: float = typer.Option(RawEmgParams.window_s, "--window-s", help="RMS window."),
    cutoff_hz: float = typer.Option(RawEmgParams.cutoff_hz, "--cutoff-hz", help="Low-pass envelope cut-off."),
    catalog: Path | None = typer.Option(
        None, "--catalog", help="Register the store in this catalog file [default: none: the store is not registered]."
    ),
    name: str | None = typer.Option(None, "--name", help="Name of the catalog entry [default: the store's name]."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Import the UCI EMG Physical Action set: raw 1 kHz sEMG to 10 Hz envelopes (EMG only).

    Example: miakit import uci-emg ~/data/uci-physical-action --out data/uci.zarr
    """
    from miakit.importers.uci import import_uci
    from miakit.ranges import in_range

    in_range("--raw-rate-hz", raw_rate_hz, 0, 1e6, above=True)
    emg = RawEmgParams(
        low_hz=low_hz, high_hz=high_hz, notch_hz=notch_hz, envelope=envelope, window_s=window_s, cutoff_hz=cutoff_hz
    )
    report = import_uci(
        directory,
        out,
        raw_rate_hz=raw_rate_hz,
        emg=emg,
        catalog=catalog,
        name=name,
        show_progress=progress,
    )
    _print_report(report, title=f"UCI EMG -> {out}", columns=("subject", "files", "frames", "valid", "clipped"))
    typer.echo(str(out))


_LAB_COLUMNS = ("file", "mapping", "joints", "muscles", "views", "frames", "valid", "events")


_CHANNEL_HELP = (
    "An EMG channel's muscle, LABEL=MUSCLE (EMG1=RightQuad; '-' leaves it out), or a YAML "
    "file of LABEL: MUSCLE; repeat it. Channels it does not name are read by their labels."
)
_EMG_KIND_HELP = (
    "What the EMG channels hold: raw, rectified or envelope [default: "
    "told apart per channel, so nothing is rectified or smoothed twice]."
)


def _lab_options(
    views: str,
    mapping: Path | None,
    side: str | None,
    exercise: str | None,
    max_gap_s: float,
    channel: list[str] | None = None,
    emg_kind: str | None = None,
) -> dict:
    from miakit.importers.emg_channels import parse_channel_map
    from miakit.importers.lab import EMG_KINDS, parse_views
    from miakit.importers.markerset import load_mapping
    from miakit.ranges import in_range

    in_range("--max-gap-s", max_gap_s, 0, 10, why="marker gaps filled; 0: none")
    if side is not None and side not in ("right", "left"):
        raise InputError("--side", "unknown side", expected="right or left", found=side)
    if emg_kind is not None and emg_kind not in EMG_KINDS:
        raise InputError("--emg-kind", "unknown kind", expected=" or ".join(EMG_KINDS), found=emg_kind)
    return {
        "views": parse_views(views),
        "mapping": load_mapping(mapping) if mapping else None,
        "side": side,
        "exercise": exercise,
        "max_gap_s": max_gap_s,
        "channels": parse_channel_map(channel) if channel else None,
        "emg_kind": emg_kind,
    }


_INSPECT_HELP = (
    "Write nothing: print, per file, each joint's rule and markers (or why it is missing), the labels "
    "not understood, each EMG channel's muscle and kind, the vertical and facing found, the events and "
    "the stretches that would be imported."
)
_OUT_HELP = "The Zarr store to write (STORE.zarr); not with --inspect."


@import_app.command("c3d")
def c3d_cmd(
    paths: list[Path] = typer.Argument(..., help="C3D files: markers with EMG in the analog channels."),
    out: Path | None = typer.Option(None, "--out", help=_OUT_HELP),
    views: str = typer.Option(
        "front,side",
        "--views",
        help="Virtual cameras: front, side (the right), back, left, or yaw angles in "
        "degrees (0 front, 90 the subject's right), comma-separated; one segment each.",
    ),
    mapping: Path | None = typer.Option(
        None,
        "--mapping",
        help="Your own marker-set mapping (YAML) [default: the shipped one that fits the markers best: "
        "Plug-in Gait / CGM 2.x, Helen Hayes, ISB / CAST, OpenSim Rajagopal, Qualisys Sports].",
    ),
    side: str | None = typer.Option(
        None, "--side", help="right or left: the side of EMG channels whose label does not say (Biceps.EMG4)."
    ),
    channel: list[str] | None = typer.Option(None, "--channel", help=_CHANNEL_HELP),
    emg_kind: str | None = typer.Option(None, "--emg-kind", help=_EMG_KIND_HELP),
    exercise: str | None = typer.Option(
        None, "--exercise", help="The exercise id of every trial [default: the file's name]."
    ),
    max_gap_s: float = typer.Option(
        0.2,
        "--max-gap-s",
        help="Fill marker gaps up to this long by straight lines (pelvis, head, thorax and foot markers "
        "up to 1 s from their segment's other markers); longer ones stay missing; 0 fills none.",
    ),
    catalog: Path | None = typer.Option(
        None, "--catalog", help="Register the store in this catalog file [default: none: the store is not registered]."
    ),
    name: str | None = typer.Option(None, "--name", help="Name of the catalog entry [default: the store's name]."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    inspect: bool = typer.Option(False, "--inspect", help=_INSPECT_HELP),
) -> None:
    """Import motion capture with EMG (C3D): markers to BODY_25 joint centres, seen by virtual phone cameras.

    Each trial becomes one segment per view (a portrait 1080x1920 frame, 10 Hz), with its EMG as
    10 Hz envelopes of the 8 muscles (those the file lacks stay NaN) and its gait events. Lab axes,
    units, rates and label prefixes are read from the file. EMG channels are named by their labels,
    or by --channel where a system numbers them (EMG1=RightQuad). A file that cannot be imported is
    named with the reason; the others are imported. A file whose channels name none of the 8 muscles
    imports as keypoints only (EMG NaN), with a note. --inspect shows what an import would do and
    writes nothing.

    Example: miakit import c3d walk.c3d lift.c3d --out lab.zarr --views front,side,45 --side right
    """
    from miakit.importers.c3d import import_c3d, read_c3d

    options = _lab_options(views, mapping, side, exercise, max_gap_s, channel, emg_kind)
    if inspect:
        _inspect(paths, read_c3d, options)
        return
    report = import_c3d(
        paths,
        _need_out(out),
        catalog=catalog,
        name=name,
        show_progress=progress,
        **options,
    )
    _print_report(report, title=f"C3D -> {out}", columns=_LAB_COLUMNS)
    typer.echo(str(out))


@import_app.command("trc")
def trc_cmd(
    paths: list[Path] = typer.Argument(
        ..., help="OpenSim .trc marker files, each with TRIAL.sto / TRIAL.mot (or TRIAL_emg.sto) EMG beside it."
    ),
    out: Path | None = typer.Option(None, "--out", help=_OUT_HELP),
    emg: Path | None = typer.Option(
        None, "--emg", help="The EMG file (.sto/.mot), when one trial is imported and it is not beside it."
    ),
    views: str = typer.Option("front,side", "--views", help="Virtual cameras, as for 'import c3d'."),
    mapping: Path | None = typer.Option(None, "--mapping", help="Your own marker-set mapping (YAML)."),
    side: str | None = typer.Option(None, "--side", help="right or left, for EMG columns whose name does not say."),
    channel: list[str] | None = typer.Option(None, "--channel", help=_CHANNEL_HELP),
    emg_kind: str | None = typer.Option(None, "--emg-kind", help=_EMG_KIND_HELP),
    exercise: str | None = typer.Option(
        None, "--exercise", help="The exercise id of every trial [default: the file's name]."
    ),
    max_gap_s: float = typer.Option(0.2, "--max-gap-s", help="Fill marker gaps up to this long."),
    catalog: Path | None = typer.Option(
        None, "--catalog", help="Register the store in this catalog file [default: none: the store is not registered]."
    ),
    name: str | None = typer.Option(None, "--name", help="Name of the catalog entry [default: the store's name]."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    inspect: bool = typer.Option(False, "--inspect", help=_INSPECT_HELP),
) -> None:
    """Import OpenSim markers (.trc) with EMG or envelopes (.sto/.mot), as 'import c3d' does.

    Any header form OpenSim has written (version 1 with endheader, the older nRows=/nColumns= and
    datarows/datacolumns forms), tab- or space-aligned. A .trc without an EMG file imports as
    keypoints only, with a note. A file cut short, or whose rows do not match its header, is refused.

    Example: miakit import trc walk.trc --emg walk_emg.sto --out lab.zarr --views front
    """
    from miakit.importers.opensim import import_trc, read_trial

    options = _lab_options(views, mapping, side, exercise, max_gap_s, channel, emg_kind)
    if inspect:
        if emg is not None and len(paths) != 1:
            from miakit.errors import InputError

            raise InputError("--emg", "one EMG file for several trials", expected="one .trc file with --emg")
        _inspect(paths, lambda p: read_trial(p, emg), options)
        return
    report = import_trc(
        paths,
        _need_out(out),
        emg=emg,
        catalog=catalog,
        name=name,
        show_progress=progress,
        **options,
    )
    _print_report(report, title=f"TRC -> {out}", columns=_LAB_COLUMNS)
    typer.echo(str(out))


def _need_out(out: Path | None) -> Path:
    if out is None:
        from miakit.errors import InputError

        raise InputError("--out", "missing", expected="the store to write (STORE.zarr), or --inspect", found="none")
    return out


def _inspect(paths: list[Path], read, options: dict) -> None:
    """``--inspect``: each file read and inspected (:mod:`miakit.importers.inspect`); nothing is written."""
    from rich.console import Console

    from miakit.importers.inspect import inspect_trial, render

    console = Console()
    for path in paths:
        try:
            trial = read(path)
        except InputError as exc:
            console.print(f"[red]cannot read[/] {exc}", highlight=False, soft_wrap=True)
            continue
        render(inspect_trial(trial, emg_params=RawEmgParams(), **options), console)
    console.print("inspected only: nothing written", highlight=False)


@import_app.command("xdf")
def xdf_cmd(
    files: list[Path] = typer.Argument(..., help="LabRecorder files (.xdf, .xdfz)."),
    out: Path = typer.Option(..., "--out", help="Folder to write the session folders into (one per file)."),
    subject: str | None = typer.Option(
        None, "--subject", help="Subject id [default: sub-NN of the file name, else S01]."
    ),
    exercise: str | None = typer.Option(
        None, "--exercise", help="The exercise, where the file's markers do not name it."
    ),
    sensors: Path | None = typer.Option(
        None,
        "--sensors",
        help="YAML map: channel label or number -> muscle [default: labels that name muscles, else channel order].",
    ),
    stream: str | None = typer.Option(
        None, "--stream", help="The EMG stream's name [default: every stream of type EMG]."
    ),
    video: Path | None = typer.Option(
        None, "--video", help="The video whose frame times the file's VideoFrames stream holds."
    ),
) -> None:
    """Import Lab Streaming Layer recordings (XDF) as session folders, on XDF's synchronized clock.

    Build them like recorded sessions. Example:

    \b
    miakit import xdf sub-01_squat.xdf --out sessions
    miakit build-dataset sessions --out s.zarr --pipeline emg-only
    """
    from rich.console import Console

    from miakit.importers.xdf import import_xdf

    report = import_xdf(files, out, subject=subject, exercise=exercise, sensors=sensors, stream=stream, video=video)
    if not report.sessions:  # one line, exit status 2
        first = report.skipped[0][1]
        raise MiakitError(
            first if len(files) == 1 else f"none of the {len(files)} XDF files was imported; the first: {first}"
        )
    console = Console(stderr=True)
    for row in report.rows:
        line = (
            f"{row['file']} -> {row['session']}: {row['samples']} EMG samples ({row['emg']}, {row['kind']}), "
            f"{row['muscles']} muscles, {row['markers']} markers, {row['frames']} video frames"
        )
        if row.get("recovered"):
            line += f"; the file was cut short: recovered {row['recovered']}"
        console.print(line, highlight=False, soft_wrap=True)
    for _path, reason in report.skipped:
        console.print(f"skipped {reason}", highlight=False, soft_wrap=True)
    typer.echo(str(out))


def _print_report(report, *, title: str, columns: tuple[str, ...]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=title)
    for col in columns:
        table.add_column(col, justify="left" if col in ("split", "subject", "file", "mapping", "muscles") else "right")
    for row in report.rows:
        table.add_row(*(str(row.get(col, "")) for col in columns))
    console.print(table)
    for path, reason in report.skipped:
        console.print(f"[red]skipped[/] {path}: {reason}", highlight=False, soft_wrap=True)
    for note in getattr(report, "notes", []):
        console.print(f"[yellow]note[/] {note}", highlight=False, soft_wrap=True)
    valid = f"{report.n_valid / report.n_frames:.0%}" if report.n_frames else "0%"
    line = (
        f"{report.n_segments} segments, {report.n_frames} frames "
        f"at 10 Hz ({valid} valid), {len(report.skipped)} skipped"
    )
    if report.catalog_entry:
        line += f"; catalog entry {report.catalog_entry!r}"
    console.print(line, highlight=False)
