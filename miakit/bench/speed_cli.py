"""``miakit bench speed``: the performance benchmarks (loading windows, the trainer's overhead).

Thin: parses, calls :func:`miakit.bench.speed.run_speed`, prints the headline figures and, as the
last line, the path of the JSON file.
"""

from __future__ import annotations

from pathlib import Path

import typer


def speed(
    out: Path = typer.Option(..., "--out", help="Folder for speed.json and speed.md."),
    quick: bool = typer.Option(
        False, "--quick", help="A small data set and a few steps (seconds, for CI); the default takes minutes."
    ),
    steps: int | None = typer.Option(None, "--steps", min=1, help="Training steps per run [default: 40; --quick: 3]."),
    repeats: int | None = typer.Option(
        None, "--repeats", min=1, help="Runs of the trainer and of the bare loop, in turn [default: 5; --quick: 1]."
    ),
    threads: int = typer.Option(
        1,
        "--threads",
        min=0,
        help="Torch CPU threads while training (0: torch's default). One keeps "
        "CPU time the work itself: threads that wait for each other spin.",
    ),
) -> None:
    """Windows/s from the Zarr store vs the MIA release's clip files, and trainer vs bare-loop samples/s.

    The trainer/bare-loop ratio is taken on process CPU time (wall clock beside it), so a busy
    machine does not change its meaning.

    Example: miakit bench speed --out runs/speed --quick
    (a short check of the ratio: miakit bench speed --out runs/speed --steps 10 --repeats 3)
    """
    from miakit.bench.speed import run_speed

    results = run_speed(out, quick=quick, steps=steps, repeats=repeats, threads=threads or None)
    loading, training = results["loading"], results["training"]
    typer.echo(
        f"loading: Zarr {loading['store_windows_per_s']:,.0f} windows/s, "
        f"clip files {loading['authors_clip_windows_per_s']:,.0f} "
        f"windows/s ({loading['ratio_vs_authors']:,.1f}x)"
    )
    typer.echo(
        f"training: trainer {training['trainer_samples_per_s']:,.1f} "
        f"samples/s, bare loop {training['bare_samples_per_s']:,.1f} "
        f"samples/s on the wall clock; trainer / bare loop {training['ratio']:.1%} on {training['ratio_basis']} time "
        f"(CPU {training['cpu_ratio']:.1%}, wall {training['wall_ratio']:.1%}; "
        f"pairs {training['pair_ratio_min']:.1%} to {training['pair_ratio_max']:.1%})"
    )
    typer.echo(str(Path(out) / "speed.json"))
