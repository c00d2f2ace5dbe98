"""The ``miakit`` command: thin. It parses, calls the library, prints.

Bad input ends in one line, ``error: <file>: <field>: <what was expected, what was found>``, and
exit status 2, without a traceback. Progress goes to standard error; the last line on standard
output is the path a script wants (the report, the store, the session folder).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from miakit import __version__

app = typer.Typer(
    name="miakit",
    help=(
        "Muscles in Action toolkit: record EMG and video, build 10 Hz Zarr datasets, "
        "train and benchmark models that predict muscle activation from video.\n\n"
        "Start with `miakit demo`: synthetic sessions -> dataset -> model -> benchmark report."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"miakit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    pass


# -- synth / build / open -----------------------------------------------------------------------


@app.command()
def synth(
    out: Path = typer.Option(..., "--out", help="Folder for the session folders (out/<subject>/<exercise>/)."),
    subjects: int = typer.Option(3, "--subjects", min=1, help="Number of synthetic subjects."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed gives the same sessions, byte for byte."),
    duration: float = typer.Option(30.0, "--duration", min=5.0, help="Seconds recorded per exercise."),
    exercise: Optional[List[str]] = typer.Option(None, "--exercise", help="Only these exercises (repeatable); default all 20."),
    video: str = typer.Option("first", "--video", help="Skeleton preview videos: none, first (one per subject) or all."),
) -> None:
    """Synthesize raw recording sessions (contract 1): M40 EMG packets, OpenPose keypoints, truth."""
    from miakit.layout import EXERCISES
    from miakit.synth import generate_sessions

    if video not in ("none", "first", "all"):
        raise typer.BadParameter(f"expected none, first or all, found {video!r}", param_hint="--video")
    unknown = [e for e in exercise or [] if e not in EXERCISES]
    if unknown:
        raise typer.BadParameter(f"unknown exercise {unknown[0]!r}; expected one of {', '.join(EXERCISES)}", param_hint="--exercise")
    folders = generate_sessions(out, subjects=subjects, seed=seed, duration_s=duration, exercises=tuple(exercise or EXERCISES), video=video)
    typer.echo(f"{len(folders)} sessions written")
    typer.echo(str(out))


@app.command("build-dataset")
def build_dataset_cmd(
    sessions_dir: str = typer.Argument(..., help="A session folder, or a folder holding session folders (a path or an fsspec URL)."),
    out: str = typer.Option(..., "--out", help="The Zarr store to write, STORE.zarr (a path or an fsspec URL)."),
    pipeline: str = typer.Option("mia", "--pipeline", help="Pipeline name (pipelines/NAME.yaml) or path."),
    workers: int = typer.Option(1, "--workers", min=1, help="Process sessions on N local worker processes (dask)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Address of an existing dask.distributed scheduler (tcp://host:port)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the plan (sessions, stages, what is already built) and stop."),
    force: bool = typer.Option(False, "--force", help="Rebuild even when the store is up to date."),
    catalog: Optional[Path] = typer.Option(None, "--catalog", help="Catalog to register the store in [default: $MIAKIT_CATALOG or ./catalog.yaml]."),
    name: Optional[str] = typer.Option(None, "--name", help="Name of the catalog entry [default: the store's name]."),
) -> None:
    """Build raw session folders into a 10 Hz Zarr dataset and register it in the catalog.

    Re-running on unchanged inputs is a no-op; an interrupted build resumes where it stopped.
    Sessions that fail a check are listed with the reason and left out.
    """
    from miakit.catalog import add_entry, dataset_metadata, default_catalog_path
    from miakit.pipeline import build_dataset, plan_build
    from miakit.report_tables import print_build_plan, print_build_summary
    from miakit.store import open_store

    if dry_run:
        print_build_plan(plan_build(sessions_dir, out, pipeline=pipeline, progress=True))
        return
    result = build_dataset(sessions_dir, out, pipeline=pipeline, workers=workers, scheduler=scheduler, force=force)
    print_build_summary(result)
    name = name or Path(str(out).rstrip("/")).stem
    ds = open_store(out)
    add_entry(catalog or default_catalog_path(), name, out, description=f"built from {sessions_dir} by pipeline {pipeline}", metadata=dataset_metadata(ds))
    typer.echo(str(out))


@app.command()
def info(
    dataset: str = typer.Argument(..., help="Catalog name or store path."),
    catalog: Optional[Path] = typer.Option(None, "--catalog", help="Catalog file [default: $MIAKIT_CATALOG or ./catalog.yaml]."),
) -> None:
    """Describe a dataset: sizes, subjects, exercises, valid frames, provenance."""
    import miakit
    from miakit.report_tables import print_dataset_info

    print_dataset_info(miakit.open_dataset(dataset, catalog=catalog))


# -- train / bench ------------------------------------------------------------------------------


@app.command()
def train(
    dataset: str = typer.Option(..., "--dataset", help="Catalog name or store path."),
    out: Path = typer.Option(..., "--out", help="Folder for checkpoints and the training history."),
    model: str = typer.Option("transformer", "--model", help="transformer or cnn (the paper's), or miakit (with its recipe: --set features=body+angles+depth+vel+hold+subject --set augment=mirror --set batch_size=96 --set context=2)."),
    set_: Optional[List[str]] = typer.Option(None, "--set", help="Override a config field, key=value (repeatable), e.g. --set lr=1e-3."),
    resume: bool = typer.Option(False, "--resume", help="Continue from OUT/last.pt exactly where it stopped."),
    init: Optional[Path] = typer.Option(None, "--init", help="Start from this checkpoint's weights (fine-tuning; a fresh optimizer). Same model, features and keypoints, e.g. --init runs/t1/checkpoint.pt --set lr=3e-4."),
    catalog: Optional[Path] = typer.Option(None, "--catalog", help="Catalog file [default: $MIAKIT_CATALOG or ./catalog.yaml]."),
) -> None:
    """Train a model on a dataset's in-distribution training split."""
    import miakit
    from miakit.learn.train import TrainConfig, apply_overrides
    from miakit.learn.train import train as run_train

    config = apply_overrides(TrainConfig(model=model), set_ or [])
    result = run_train(miakit.open_dataset(dataset, catalog=catalog), config, out, resume=resume, init=init)
    typer.echo(f"best validation RMSE {result.best_val_rmse:.2f} after {result.steps} steps")
    typer.echo(str(result.checkpoint))


bench_app = typer.Typer(help="Benchmarks. Without a subcommand: the in-distribution benchmark.", invoke_without_command=True, no_args_is_help=False)
app.add_typer(bench_app, name="bench")


@bench_app.callback()
def bench(
    ctx: typer.Context,
    dataset: Optional[str] = typer.Option(None, "--dataset", help="Catalog name or store path."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for report.md, CSV tables and PNG plots."),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="A trained transformer checkpoint; trained afresh if omitted."),
    set_: Optional[List[str]] = typer.Option(None, "--set", help="Override a training config field, key=value (repeatable)."),
    catalog: Optional[Path] = typer.Option(None, "--catalog", help="Catalog file [default: $MIAKIT_CATALOG or ./catalog.yaml]."),
) -> None:
    """In-distribution benchmark: Random, Nearest Neighbour and the paper's Transformer, RMSE per exercise."""
    if ctx.invoked_subcommand is not None:
        return
    if dataset is None or out is None:
        raise typer.BadParameter("--dataset and --out are required", param_hint="--dataset/--out")
    import miakit
    from miakit.bench.indist import run_in_distribution
    from miakit.learn.train import TrainConfig, apply_overrides

    config = apply_overrides(TrainConfig.demo(), set_ or [])
    result = run_in_distribution(miakit.open_dataset(dataset, catalog=catalog), out, config=config, checkpoint=checkpoint)
    typer.echo(str(result.report))


from miakit.bench.cli import ablation, finetune, paper, real  # noqa: E402
from miakit.bench.speed_cli import speed  # noqa: E402

bench_app.command("paper")(paper)
bench_app.command("ablation")(ablation)
bench_app.command("real")(real)
bench_app.command("finetune")(finetune)
bench_app.command("speed")(speed)


# -- record / ble (hardware-facing; their modules import only typer at start-up) ----------------

from miakit.record.cli import ble_app, record  # noqa: E402

app.command("record")(record)
app.add_typer(ble_app, name="ble")

# -- pose (keypoints of one video, for a quick look) --------------------------------------------

from miakit.stages.pose_cli import pose  # noqa: E402

app.command("pose")(pose)

# -- predict (muscle activation from any video) -------------------------------------------------

from miakit.learn.predict_cli import predict  # noqa: E402

app.command("predict")(predict)

# -- plot / render (pictures of every stage) -----------------------------------------------------

from miakit.viz.cli import plot_app, render  # noqa: E402

app.add_typer(plot_app, name="plot")
app.command("render")(render)

# -- import (the public MIA release, the UCI EMG set) -------------------------------------------

from miakit.importers.cli import import_app  # noqa: E402

app.add_typer(import_app, name="import")


# -- the demo -----------------------------------------------------------------------------------


@app.command()
def demo(
    out: Path = typer.Option(Path("miakit-demo"), "--out", help="Everything the demo makes goes under this folder."),
    subjects: int = typer.Option(3, "--subjects", min=1, help="Synthetic subjects."),
    duration: float = typer.Option(30.0, "--duration", min=5.0, help="Seconds per exercise."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    catalog: Optional[Path] = typer.Option(None, "--catalog", help="Catalog to register the dataset in [default: $MIAKIT_CATALOG or ./catalog.yaml]."),
) -> None:
    """Synthesize sessions, build a dataset, train the paper's Transformer, benchmark, write a report.

    Needs no hardware and no downloads. The last line printed is the report's path.
    """
    from miakit.demo import run_demo

    report = run_demo(out, subjects=subjects, duration_s=duration, seed=seed, catalog=catalog)
    typer.echo(str(report))


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the app; a MiakitError becomes one line on stderr and exit status 2."""
    from miakit.errors import MiakitError

    try:
        app(args=argv, standalone_mode=True)
    except MiakitError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
