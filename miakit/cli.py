"""The ``miakit`` command: thin. It parses, calls the library, prints.

Bad input ends in one line, ``error: <file>: <field>: <what was expected, what was found>``, and
exit status 2, without a traceback. Progress goes to standard error; the last line on standard
output is the path a script wants (the report, the store, the session folder).
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Literal

import typer

from miakit._version import __version__
from miakit.catalog import DEFAULT_CATALOG_HELP, check_writable, default_catalog_path, register_store
from miakit.errors import MiakitError
from miakit.layout import ALL_EXERCISES, EXERCISES, LOCOMOTION

app = typer.Typer(
    name="miakit",
    help=(
        "Muscles in Action toolkit: record EMG and video, build 10 Hz Zarr datasets, "
        "train and benchmark models that predict muscle activation from video.\n\n"
        "Start with `miakit demo`: synthetic sessions -> dataset -> model -> benchmark report.\n\n"
        "Example: miakit demo --out miakit-demo && miakit predict my-squat.mp4 "
        "--checkpoint miakit-demo/bench/miakit/checkpoint.pt --out squat-emg (the demo prints its best model's "
        "checkpoint last)"
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
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    pass


# -- synth / build / open -----------------------------------------------------------------------


@app.command()
def synth(
    out: Path = typer.Option(..., "--out", help="Folder for the session folders (out/<subject>/<exercise>/)."),
    subjects: int = typer.Option(3, "--subjects", min=1, help="Number of synthetic subjects."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed gives the same sessions, byte for byte."),
    duration: float = typer.Option(30.0, "--duration", min=5.0, help="Seconds recorded per exercise (5 to 3600)."),
    exercise: list[str] | None = typer.Option(
        None,
        "--exercise",
        help="Only these exercises (repeatable); default the paper's 20. Also: walking, stair_ascent, "
        "stair_descent, sit_to_stand; or a group: paper (the 20), locomotion (those 4), all (the 24).",
    ),
    video: Literal["none", "first", "all"] = typer.Option(
        "first", "--video", help="Skeleton preview videos: none, first (one per subject) or all."
    ),
    views: int = typer.Option(
        1,
        "--views",
        min=1,
        help="Cameras per session: 1 films from the front; N adds N-1 sessions filmed from other places, "
        "spread round the subject (sides, back; above, near, far, wide lenses), e.g. --views 3.",
    ),
    from_mocap: list[Path] | None = typer.Option(
        None,
        "--from-mocap",
        help="Instead of the choreography, sessions of this motion capture's motion (a .c3d or .trc file, or "
        "a folder of them; repeatable): its joints filmed by the same cameras (--views), its EMG modelled by "
        "the muscle model, never the file's own; a lower-body marker set labels the legs alone (no arm "
        "sensors worn); out/mocap-<file>/. --subjects, --duration and --exercise do not apply.",
    ),
) -> None:
    """Synthesize raw recording sessions (contract 1): M40 EMG packets, OpenPose keypoints, truth.

    Example: miakit synth --out sessions --subjects 3 --exercise squat --exercise running

    Real motion as training motion: miakit synth --out sessions --views 3 --from-mocap captures/ (then
    build-dataset sessions, with the choreography's sessions in the same folder)
    """
    from miakit.synth import generate_sessions

    if video not in ("none", "first", "all"):
        raise typer.BadParameter(f"expected none, first or all, found {video!r}", param_hint="--video")
    if from_mocap:
        from miakit.errors import InputError
        from miakit.synth.mocap import capture_files, generate_mocap_sessions

        if exercise:
            raise InputError(
                "--exercise", "the choreography's exercises do not go with --from-mocap", found=", ".join(exercise)
            )

        made = generate_mocap_sessions(capture_files(from_mocap), out, seed=seed, views=views, video=video)
        for _, reason in made.skipped:
            typer.echo(f"skipped: {reason}", err=True)
        captures = len(made.folders) // views
        typer.echo(f"{len(made.folders)} sessions written from {captures} captures ({len(made.skipped)} skipped)")
        typer.echo(str(out))
        return
    groups = {"paper": EXERCISES, "locomotion": LOCOMOTION, "all": ALL_EXERCISES}
    unknown = [e for e in exercise or [] if e not in ALL_EXERCISES and e not in groups]
    if unknown:
        raise typer.BadParameter(
            f"unknown exercise {unknown[0]!r}; expected one of "
            f"{', '.join(ALL_EXERCISES)} or a group ({', '.join(groups)})",
            param_hint="--exercise",
        )
    chosen = tuple(dict.fromkeys(x for e in exercise or ["paper"] for x in groups.get(e, (e,))))
    folders = generate_sessions(
        out, subjects=subjects, seed=seed, duration_s=duration, exercises=chosen, video=video, views=views
    )
    typer.echo(f"{len(folders)} sessions written")
    typer.echo(str(out))


@app.command("build-dataset")
def build_dataset_cmd(
    sessions_dir: str = typer.Argument(
        ..., help="A session folder, or a folder holding session folders (a path or an fsspec URL)."
    ),
    out: str = typer.Option(..., "--out", help="The Zarr store to write, STORE.zarr (a path or an fsspec URL)."),
    pipeline: str = typer.Option(
        "auto",
        "--pipeline",
        help="Pipeline name (pipelines/NAME.yaml) or path; auto: emg-only where no "
        "session has video or keypoints, else mia (the summary says which).",
    ),
    workers: int = typer.Option(1, "--workers", min=1, help="Process sessions on N local worker processes (dask)."),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Address of an existing dask.distributed scheduler (tcp://host:port)."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Show the plan (sessions, stages, what is already built) and stop."
    ),
    force: bool = typer.Option(False, "--force", help="Rebuild even when the store is up to date."),
    catalog: Path | None = typer.Option(
        None, "--catalog", help=f"Catalog to register the store in [default: {DEFAULT_CATALOG_HELP}]."
    ),
    name: str | None = typer.Option(None, "--name", help="Name of the catalog entry [default: the store's name]."),
    decoder_plugin: list[str] | None = typer.Option(
        None,
        "--decoder-plugin",
        metavar="MODULE:FUNCTION",
        help="Allow sessions' profiles to use this decoder import path (repeatable); without it a session "
        "may name only miakit's decoders and installed plugins (entry points 'miakit.decoders').",
    ),
) -> None:
    """Build raw session folders into a 10 Hz Zarr dataset and register it in the catalog.

    Re-running on unchanged inputs is a no-op; an interrupted build resumes where it stopped.
    Sessions that fail a check are listed with the reason and left out.

    Example: miakit build-dataset sessions --out data/mine.zarr --name mine
    (a decoder of your own: --decoder-plugin mylab.decoders:emg_v2)
    """
    from miakit.devices.decoders import allow_import_paths
    from miakit.pipeline import build_dataset, plan_build
    from miakit.report_tables import print_build_plan, print_build_summary
    from miakit.store import open_store

    try:
        allow_import_paths(decoder_plugin or [])
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--decoder-plugin") from None

    if dry_run:
        print_build_plan(plan_build(sessions_dir, out, pipeline=pipeline, progress=True))
        return
    catalog = check_writable(catalog or default_catalog_path())
    result = build_dataset(sessions_dir, out, pipeline=pipeline, workers=workers, scheduler=scheduler, force=force)
    print_build_summary(result)
    entry = register_store(
        catalog,
        out,
        open_store(out),
        name=name,
        description=f"built from {sessions_dir} by pipeline {result.pipeline or pipeline}",
    )
    typer.echo(f"registered as {entry.name} in {catalog}")
    typer.echo(str(out))


@app.command()
def info(
    dataset: str = typer.Argument(..., help="Catalog name or store path."),
    catalog: Path | None = typer.Option(None, "--catalog", help=f"Catalog file [default: {DEFAULT_CATALOG_HELP}]."),
) -> None:
    """Describe a dataset: sizes, subjects, exercises, valid frames, provenance.

    Example: miakit info demo
    """
    import miakit
    from miakit.report_tables import print_dataset_info

    print_dataset_info(miakit.open_dataset(dataset, catalog=catalog))


# -- train / bench ------------------------------------------------------------------------------


class ModelName(StrEnum):
    """The models ``miakit train`` trains (:data:`miakit.learn.models.NEURAL`)."""

    transformer = "transformer"
    cnn = "cnn"
    miakit = "miakit"
    miakit_postnorm = "miakit-postnorm"


@app.command()
def train(
    dataset: str = typer.Option(..., "--dataset", help="Catalog name or store path."),
    out: Path = typer.Option(..., "--out", help="Folder for checkpoints and the training history."),
    model: ModelName = typer.Option(
        ModelName.transformer,
        "--model",
        help="transformer or cnn (the paper's), or miakit (with its recipe by default: "
        "features=body+angles+depth+vel+hold+mask, augment=mirror+pose+limbs, "
        "batch_size=32, lr=3e-3, warmup_steps=10, context=2, readout=softplus; --set changes any of them).",
    ),
    set_: list[str] | None = typer.Option(
        None, "--set", help="Override a config field, key=value (repeatable), e.g. --set lr=1e-3."
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue from OUT/last.pt exactly where it stopped."),
    force: bool = typer.Option(
        False, "--force", help="Replace an earlier run in OUT (its checkpoints and history); never other files."
    ),
    init: Path | None = typer.Option(
        None,
        "--init",
        help="Start from this checkpoint's weights (fine-tuning; a fresh optimizer). Same "
        "model, features and keypoints, e.g. --init runs/t1/checkpoint.pt --set lr=3e-4.",
    ),
    catalog: Path | None = typer.Option(None, "--catalog", help=f"Catalog file [default: {DEFAULT_CATALOG_HELP}]."),
) -> None:
    """Train a model on a dataset's in-distribution training split.

    OUT is a new or empty folder, or an earlier run that --resume continues or --force replaces; a
    folder of other files or a Zarr store is refused, and so is a second training into a folder
    one is writing.

    Example: miakit train --dataset demo --out runs/m1 --model miakit --set max_steps=1500
    """
    import miakit
    from miakit.learn.config import TrainConfig, apply_overrides
    from miakit.learn.recipes import RECIPES, recipe_config
    from miakit.learn.train import train as run_train
    from miakit.outputs import check_run_folder, run_lock

    base = recipe_config(model.value) if model.value in RECIPES else TrainConfig(model=model.value)
    config = apply_overrides(base, set_ or [])
    with run_lock(out):
        check_run_folder(out, resume=resume, force=force, inputs=(init, dataset if Path(dataset).exists() else None))
        ds = miakit.open_dataset(dataset, catalog=catalog)
        result = run_train(ds, config, out, resume=resume, init=init)
    typer.echo(f"best validation RMSE {result.best_val_rmse:.2f} after {result.steps} steps")
    typer.echo(str(result.checkpoint))


bench_app = typer.Typer(
    help="Benchmarks. Without a subcommand: the in-distribution "
    "benchmark. Example: miakit bench --dataset demo --out runs/bench",
    invoke_without_command=True,
    no_args_is_help=False,
)
app.add_typer(bench_app, name="bench")


@bench_app.callback()
def bench(
    ctx: typer.Context,
    dataset: str | None = typer.Option(None, "--dataset", help="Catalog name or store path."),
    out: Path | None = typer.Option(None, "--out", help="Folder for report.md, CSV tables and PNG plots."),
    checkpoint: Path | None = typer.Option(
        None, "--checkpoint", help="A trained transformer checkpoint; trained afresh if omitted."
    ),
    set_: list[str] | None = typer.Option(
        None, "--set", help="Override a training config field, key=value (repeatable)."
    ),
    catalog: Path | None = typer.Option(None, "--catalog", help=f"Catalog file [default: {DEFAULT_CATALOG_HELP}]."),
    sessions: Path | None = typer.Option(
        None,
        "--sessions",
        help="The session folders the dataset was built from: their sync events (the clap) are read there, "
        "and test frames near one are left out of every score.",
    ),
) -> None:
    """In-distribution benchmark: Random, Nearest Neighbour and the paper's Transformer, RMSE per exercise.

    Example: miakit bench --dataset demo --out runs/bench --sessions sessions
    """
    if ctx.invoked_subcommand is not None:
        return
    if dataset is None or out is None:
        raise typer.BadParameter("--dataset and --out are required", param_hint="--dataset/--out")
    import miakit
    from miakit.bench.indist import run_in_distribution
    from miakit.learn.config import TrainConfig, apply_overrides
    from miakit.outputs import prepare_folder

    if sessions is not None and not sessions.is_dir():
        from miakit.errors import InputError

        raise InputError(
            "--sessions",
            "no such folder",
            expected="the session folders the dataset was built from",
            found=str(sessions),
        )
    config = apply_overrides(TrainConfig.demo(), set_ or [])
    local = [p for p in (checkpoint, dataset) if p is not None and Path(str(p)).exists()]
    prepare_folder(out, "bench", inputs=local)
    result = run_in_distribution(
        miakit.open_dataset(dataset, catalog=catalog), out, config=config, checkpoint=checkpoint, sessions=sessions
    )
    typer.echo(str(result.report))


from miakit.bench.cli import ablation, finetune, paper, real  # noqa: E402
from miakit.bench.speed_cli import speed  # noqa: E402

bench_app.command("paper")(paper)
bench_app.command("ablation")(ablation)
bench_app.command("real")(real)
bench_app.command("finetune")(finetune)
bench_app.command("speed")(speed)


# -- record / ble (hardware-facing; their modules import only typer at start-up) ----------------

import miakit.record.cli as record_cli  # noqa: E402
from miakit.live.record_view import RecordView  # noqa: E402
from miakit.record.cli import ble_app, record  # noqa: E402

record_cli.LIVE_PAGE = RecordView  # record --live-predict's page (miakit.live sits above miakit.record)
app.command("record")(record)
app.add_typer(ble_app, name="ble")

# -- pose (keypoints of one video, for a quick look) --------------------------------------------

from miakit.stages.pose_cli import pose  # noqa: E402

app.command("pose")(pose)

# -- predict (muscle activation from any video) -------------------------------------------------

from miakit.viz.predict_cli import predict  # noqa: E402

app.command("predict")(predict)

# -- live (predicted muscles while a camera films, on a web page) ---------------------------------

from miakit.live.cli import live  # noqa: E402

app.command("live")(live)

# -- plot / render (pictures of every stage) -----------------------------------------------------

from miakit.viz.cli import plot_app, render  # noqa: E402

app.add_typer(plot_app, name="plot")
app.command("render")(render)

# -- import (the public MIA release, the UCI EMG set) -------------------------------------------

from miakit.importers.cli import import_app  # noqa: E402

app.add_typer(import_app, name="import")

# -- NWB out and in (miakit export nwb, miakit import nwb: miakit/nwb_cli.py) --------------------

from miakit.nwb_cli import export_app, import_nwb_cmd  # noqa: E402

import_app.command("nwb")(import_nwb_cmd)
app.add_typer(export_app, name="export")


# -- sample-data (the public recordings the tests and the README use) --------------------------

sample_app = typer.Typer(
    help="The public recordings the tests and the README use: list them, fetch them into the cache "
    "(checked against their SHA-256). Example: miakit sample-data fetch mocap/",
    no_args_is_help=True,
)
app.add_typer(sample_app, name="sample-data")


@sample_app.command("list")
def sample_data_list() -> None:
    """Each file: its name, licence and public original (URL; ARCHIVE#member for a file in an archive)."""
    from miakit import sample_data

    for name in sample_data.REGISTRY:
        o = sample_data.origin(name)
        typer.echo(f"{name}\t{o.licence}\t{sample_data.public_url(name)}")
    typer.echo(f"# base: {sample_data.base_url() or 'the public originals'}; cache: {sample_data.cache_dir()}")
    typer.echo("# cite: " + " | ".join(dict.fromkeys(o.citation for o in sample_data.ORIGINS)))


@sample_app.command("fetch")
def sample_data_fetch(
    names: list[str] | None = typer.Argument(
        None, help="Files or folders (mocap/, emg/uci-physical-action/sub01/); all if none."
    ),
) -> None:
    """Fetch files into the cache once, each checked against its SHA-256; prints the cache folder
    (the files lie under it by their names). Example: miakit sample-data fetch mocap/gaitalytics-walk.c3d"""
    from miakit import sample_data

    typer.echo(str(sample_data.fetch_all(names, progress=True)))


# -- the demo -----------------------------------------------------------------------------------


@app.command()
def demo(
    out: Path = typer.Option(Path("miakit-demo"), "--out", help="Everything the demo makes goes under this folder."),
    subjects: int = typer.Option(3, "--subjects", min=1, help="Synthetic subjects."),
    duration: float = typer.Option(30.0, "--duration", min=5.0, help="Seconds per exercise."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    catalog: Path | None = typer.Option(
        None, "--catalog", help=f"Catalog to register the dataset in [default: {DEFAULT_CATALOG_HELP}]."
    ),
    max_train_s: float = typer.Option(
        0.0, "--max-train-s", min=0.0, help="Cap each model's training time, seconds (0: none; a cut run says so)."
    ),
) -> None:
    """Synthesize sessions, build a dataset, train the paper's Transformer and the miakit model a
    fixed number of steps, benchmark them, write a report with pictures.

    Needs no hardware and no downloads; about 5 minutes on 2 CPU cores. The last line on standard
    output is the report's path; after it, on standard error, the best model and its checkpoint's path
    (the last line printed). Example: miakit demo --out miakit-demo
    """
    from miakit.demo import best_line, run_demo

    report = run_demo(out, subjects=subjects, duration_s=duration, seed=seed, catalog=catalog, max_train_s=max_train_s)
    typer.echo(str(report))
    typer.echo(best_line(report), err=True)  # after the report's path: the best model's checkpoint, last


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the app; a MiakitError becomes one line on stderr and exit status 2."""

    try:
        app(args=argv, standalone_mode=True)
    except MiakitError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except OSError as exc:  # a full disk or a read-only folder where no command caught it first
        import errno

        if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM):
            raise
        typer.echo(f"error: {exc.filename or 'output'}: {exc.strerror}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
