"""``miakit export nwb`` and ``miakit import nwb``: thin, they parse, call :mod:`miakit.nwb`, print.

Registered by :mod:`miakit.cli` (``export`` is its own group; ``nwb`` joins ``miakit import``).
"""

from __future__ import annotations

from pathlib import Path

import typer

from miakit.catalog import DEFAULT_CATALOG_HELP
from miakit.errors import InputError
from miakit.importers.cli import _print_report

export_app = typer.Typer(help="Export datasets to the formats other tools read (NWB).", no_args_is_help=True)


@export_app.command("nwb")
def export_nwb_cmd(
    dataset: str = typer.Argument(..., help="Catalog name or store path."),
    out: Path = typer.Option(
        ...,
        "--out",
        help="FILE.nwb for a dataset of one session; for several sessions a folder, one SESSION.nwb each.",
    ),
    session_start: str | None = typer.Option(
        None,
        "--session-start",
        help="The sessions' start, ISO 8601 (2024-05-01T10:30:00+02:00; no zone: UTC) [default: the dataset's "
        "build time, since a dataset keeps no recording date; the file's notes say which].",
    ),
    catalog: Path | None = typer.Option(None, "--catalog", help=f"Catalog file [default: {DEFAULT_CATALOG_HELP}]."),
) -> None:
    """Write a dataset as NWB, one file per session: subject, EMG per muscle, BODY_25 keypoints
    (ndx-pose, with the skeleton and scores), segments as trials with their exercise, provenance in
    the notes. Needs the nwb extra (pip install 'miakit[nwb]').

    \b
    Example: miakit export nwb lab.zarr --out walk.nwb
             miakit export nwb demo --out demo-nwb/   (one file per session)
    """
    import miakit
    from miakit.nwb import export_nwb

    files = export_nwb(miakit.open_dataset(dataset, catalog=catalog), out, session_start=session_start, where=dataset)
    for path in files:
        typer.echo(f"wrote {path}", err=True)
    typer.echo(str(out))


def import_nwb_cmd(
    files: list[Path] = typer.Argument(..., help="NWB files (.nwb), miakit's own or other tools'."),
    out: Path = typer.Option(..., "--out", help="The Zarr store to write (STORE.zarr)."),
    exercise: str | None = typer.Option(
        None, "--exercise", help="The exercise of a file without trials or epochs that name one [default: unknown]."
    ),
    side: str | None = typer.Option(None, "--side", help="right or left, for EMG channels whose name does not say."),
    channel: list[str] | None = typer.Option(
        None,
        "--channel",
        help="An EMG channel's muscle, LABEL=MUSCLE (EMG0=RightQuad: columns of an unlabelled series are NAME0, "
        "NAME1, ...); repeat it.",
    ),
    emg_kind: str | None = typer.Option(
        None, "--emg-kind", help="raw, rectified or envelope [default: told apart per channel]."
    ),
    catalog: Path | None = typer.Option(
        None, "--catalog", help="Register the store in this catalog file [default: none: the store is not registered]."
    ),
    name: str | None = typer.Option(None, "--name", help="Name of the catalog entry [default: the store's name]."),
) -> None:
    """Import NWB files as one dataset: files miakit exported come back as they went out; other
    tools' files (EMG TimeSeries or ElectricalSeries, ndx-pose keypoints in BODY_25 or COCO names,
    trials or epochs with an exercise) are put on the 10 Hz grid as 'import c3d' does.

    Example: miakit import nwb sub-01_ses-01.nwb --out lab.zarr --channel EMG0=RightQuad
    """
    from miakit.importers.emg_channels import parse_channel_map
    from miakit.importers.lab import EMG_KINDS
    from miakit.nwb import import_nwb

    if emg_kind is not None and emg_kind not in EMG_KINDS:
        raise InputError("--emg-kind", "unknown kind", expected=" or ".join(EMG_KINDS), found=emg_kind)
    if side is not None and side not in ("right", "left"):
        raise InputError("--side", "unknown side", expected="right or left", found=side)
    report = import_nwb(
        files,
        out,
        exercise=exercise,
        side=side,
        channels=parse_channel_map(channel) if channel else None,
        emg_kind=emg_kind,
        catalog=catalog,
        name=name,
    )
    _print_report(report, title=f"NWB -> {out}", columns=("file", "subject", "segments", "frames", "valid", "events"))
    typer.echo(str(out))
