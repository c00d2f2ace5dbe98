"""``miakit bench speed``: the performance benchmarks (loading windows, the trainer's overhead).

Thin: parses, calls :func:`miakit.bench.speed.run_speed`, prints the headline figures and, as the
last line, the path of the JSON file.
"""

from __future__ import annotations

from pathlib import Path

import typer


def speed(
    out: Path = typer.Option(..., "--out", help="Folder for speed.json and speed.md."),
    quick: bool = typer.Option(False, "--quick", help="A small data set and a few steps (seconds, for CI); the default takes minutes."),
) -> None:
    """Windows/s from the Zarr store vs the MIA release's clip files, and trainer vs bare-loop samples/s.

    Example: miakit bench speed --out runs/speed --quick
    """
    from miakit.bench.speed import run_speed

    results = run_speed(out, quick=quick)
    loading, training = results["loading"], results["training"]
    typer.echo(
        f"loading: Zarr {loading['store_windows_per_s']:,.0f} windows/s, clip files {loading['authors_clip_windows_per_s']:,.0f} "
        f"windows/s ({loading['ratio_vs_authors']:,.1f}x)"
    )
    typer.echo(
        f"training: trainer {training['trainer_samples_per_s']:,.1f} samples/s, bare loop {training['bare_samples_per_s']:,.1f} "
        f"samples/s ({training['ratio']:.1%})"
    )
    typer.echo(str(Path(out) / "speed.json"))
