"""``miakit import``: bring published data sets in as miakit datasets (contract 2 Zarr stores).

Thin: parses, calls :mod:`miakit.importers.mia_release` or :mod:`miakit.importers.uci`, prints a
summary table (standard output) and the store's path as the last line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

import typer

import_app = typer.Typer(help="Import published data sets (the MIA release, the UCI EMG set) as Zarr datasets.", no_args_is_help=True)


@import_app.command("mia-release")
def mia_release_cmd(
    directory: Path = typer.Argument(..., help="The release: the folder holding train/ and val/ (MIADatasetOfficial)."),
    out: Path = typer.Option(..., "--out", help="The Zarr store to write (STORE.zarr)."),
    with_verts: bool = typer.Option(False, "--with-verts", help="Also check each clip's verts.npy header (never stored)."),
    catalog: Optional[Path] = typer.Option(None, "--catalog", help="Register the store in this catalog file."),
    name: Optional[str] = typer.Option(None, "--name", help="Name of the catalog entry [default: the store's name]."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Import the public Muscles in Action release (train and val splits kept).

    Example: miakit import mia-release ~/data/MIADatasetOfficial --out data/mia.zarr
    """
    from miakit.importers.mia_release import import_mia_release

    report = import_mia_release(directory, out, with_verts=with_verts, catalog=catalog, name=name, show_progress=progress)
    _print_report(report, title=f"MIA release -> {out}", columns=("split", "subject", "clips", "skipped", "segments", "frames", "valid"))
    typer.echo(str(out))


@import_app.command("uci-emg")
def uci_emg_cmd(
    directory: Path = typer.Argument(..., help="The UCI EMG Physical Action set (the folder holding subNN/)."),
    out: Path = typer.Option(..., "--out", help="The Zarr store to write (STORE.zarr)."),
    raw_rate_hz: float = typer.Option(1000.0, "--raw-rate-hz", help="Sampling rate of the raw files."),
    low_hz: float = typer.Option(20.0, "--low-hz", help="Band-pass low edge."),
    high_hz: float = typer.Option(450.0, "--high-hz", help="Band-pass high edge."),
    notch_hz: Optional[float] = typer.Option(None, "--notch-hz", help="Mains notch (50 or 60); none by default."),
    envelope: Literal["rms", "lowpass"] = typer.Option("rms", "--envelope", help="Envelope."),
    window_s: float = typer.Option(0.1, "--window-s", help="RMS window."),
    cutoff_hz: float = typer.Option(5.0, "--cutoff-hz", help="Low-pass envelope cut-off."),
    catalog: Optional[Path] = typer.Option(None, "--catalog", help="Register the store in this catalog file."),
    name: Optional[str] = typer.Option(None, "--name", help="Name of the catalog entry [default: the store's name]."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Import the UCI EMG Physical Action set: raw 1 kHz sEMG to 10 Hz envelopes (EMG only).

    Example: miakit import uci-emg ~/data/uci-physical-action --out data/uci.zarr
    """
    from miakit.importers.uci import import_uci

    report = import_uci(
        directory, out, raw_rate_hz=raw_rate_hz, low_hz=low_hz, high_hz=high_hz, notch_hz=notch_hz,
        envelope=envelope, window_s=window_s, cutoff_hz=cutoff_hz, catalog=catalog, name=name,
        show_progress=progress,
    )  # fmt: skip
    _print_report(report, title=f"UCI EMG -> {out}", columns=("subject", "files", "frames", "valid", "clipped"))
    typer.echo(str(out))


def _print_report(report, *, title: str, columns: tuple[str, ...]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=title)
    for col in columns:
        table.add_column(col, justify="left" if col in ("split", "subject") else "right")
    for row in report.rows:
        table.add_row(*(str(row.get(col, "")) for col in columns))
    console.print(table)
    for path, reason in report.skipped:
        console.print(f"[red]skipped[/] {path}: {reason}", highlight=False, soft_wrap=True)
    valid = f"{report.n_valid / report.n_frames:.0%}" if report.n_frames else "0%"
    line = f"{report.n_segments} segments, {report.n_frames} frames at 10 Hz ({valid} valid), {len(report.skipped)} skipped"
    if report.catalog_entry:
        line += f"; catalog entry {report.catalog_entry!r}"
    console.print(line, highlight=False)
