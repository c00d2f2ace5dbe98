"""``miakit bench paper`` (the paper's experiments as one suite) and ``miakit bench ablation`` (the
miakit model's ideas one by one), registered under ``bench_app`` in miakit/cli.py.

Thin: parses, calls :func:`miakit.bench.paper.run_paper` or :func:`miakit.bench.ablation.run_ablation`,
prints the report's path as the last line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from miakit.catalog import DEFAULT_CATALOG_HELP

MAX_SURROGATES = 10_000
"""Surrogates per unit: 200 give p-values to 0.005; 10,000 is already minutes per segment."""
MAX_LAG_S = 10.0
"""Lags searched, +- seconds: a muscle leads or follows its motion by well under a second."""


def _paths(*items) -> tuple:
    """The command's inputs that are local paths (a catalog name is none): an output never holds them."""
    return tuple(Path(str(i)) for i in items if i is not None and "://" not in str(i) and Path(str(i)).exists())


def paper(
    dataset: str = typer.Option(..., "--dataset", help="Catalog name or store path."),
    out: Path = typer.Option(..., "--out", help="Folder for report.md, CSV tables and PNG figures."),
    profile: Literal["quick", "default", "full"] = typer.Option(
        "default",
        "--profile",
        help="quick (CI minutes), default (over lunch: about an hour on 2 cores, 6 "
        "exercises left out) or full (the paper's scale, every exercise left out).",
    ),
    real: str | None = typer.Option(
        None,
        "--real",
        help="Also score the in-distribution Transformer on real recordings (catalog name or "
        "store path, e.g. from miakit import c3d): a Real EMG section, as bench real writes it.",
    ),
    catalog: Path | None = typer.Option(None, "--catalog", help=f"Catalog file [default: {DEFAULT_CATALOG_HELP}]."),
) -> None:
    """The paper's experiments: Table 1 (in-distribution, leave-one-exercise-out), Table 2 (window
    lengths), Figure 7 (subject transfer), Figure 8 (retrieval similarity), Figure 6 (examples).

    Example: miakit bench paper --dataset demo --out runs/paper --profile quick --real data/lab.zarr"""
    import miakit
    from miakit.bench.paper import get_profile, run_paper
    from miakit.outputs import check_folder, prepare_folder

    chosen = get_profile(profile)  # a bad name fails before the dataset is read
    check_folder(out, "bench-paper", inputs=_paths(dataset, real))
    real_ds = miakit.open_dataset(real, catalog=catalog) if real else None  # a bad store fails before the suite runs
    if real_ds is not None:
        from miakit.bench.real import check_real_emg

        check_real_emg(real_ds, str(real))  # measured EMG, before an hour of training
    prepare_folder(out, "bench-paper")
    result = run_paper(miakit.open_dataset(dataset, catalog=catalog), out, profile=chosen, real=real_ds)
    runs = len(result.experiments) if result.experiments is not None else 0
    typer.echo(f"{runs} runs in {result.wall_s:.0f} s")
    typer.echo(str(result.report))


def ablation(
    dataset: str = typer.Option(..., "--dataset", help="Catalog name or store path."),
    out: Path = typer.Option(..., "--out", help="Folder for ablation.md, ablation.csv and each run's folder."),
    profile: Literal["smoke", "short", "goal", "quick", "full"] = typer.Option(
        "goal",
        "--profile",
        help="smoke, short, goal (the paper's Transformer against the miakit model, in-distribution and "
        "8 exercises left out: about 50 min on 2 cores), quick (every variant, 2 exercises left "
        "out: about 1.5 h on 2 cores) or full (every variant, 4 left out and 500 steps: about 4 h).",
    ),
    seeds: str = typer.Option(
        "0",
        "--seeds",
        help="Train every run once per seed (comma-separated, e.g. 0,1,2) and report the mean, with each seed's "
        "scores against the paper's Transformer of the same seed. Time grows with the number of seeds. On "
        "the demo data one seed's LOEO mean varies by about 1 RMSE unit (5%), so a 15% target needs several.",
    ),
    resume: bool = typer.Option(
        False,
        "--resume",
        help="Continue each run from its folder under OUT/runs: runs that finished are only scored again, "
        "interrupted ones go on exactly, missing ones (another "
        "seed) are trained; a run whose config differs is refused.",
    ),
    jobs: int = typer.Option(
        1,
        "--jobs",
        min=1,
        help="Train this many runs at once, each in its own process on one CPU thread (1: one after the other "
        "on all of torch's threads). The ablation's small models use several threads poorly: on 2 cores, "
        "--jobs 2 finishes sooner. Memory: one copy of the dataset per job.",
    ),
    catalog: Path | None = typer.Option(None, "--catalog", help=f"Catalog file [default: {DEFAULT_CATALOG_HELP}]."),
) -> None:
    """The miakit model against the paper's Transformer, and each of its ideas removed one at a
    time: mean test RMSE in-distribution and leave-one-exercise-out. The miakit model trains 3
    times the Transformer's steps, which take about as long on a CPU (one row: the same steps).

    Example: miakit bench ablation --dataset demo --out runs/ablation --seeds 0,1,2 --jobs 2 --resume
    """
    import miakit
    from miakit.bench.ablation import parse_seeds, profile_config, run_ablation
    from miakit.outputs import prepare_folder

    profile_config(profile)  # a bad name fails before the dataset is read
    seed_list = parse_seeds(seeds)
    prepare_folder(out, "bench-ablation", inputs=_paths(dataset))
    result = run_ablation(
        miakit.open_dataset(dataset, catalog=catalog),
        out,
        profile=profile,
        seeds=seed_list,
        resume=resume,
        jobs=jobs,
    )
    typer.echo(
        result.table[["in_distribution", "in_distribution_vs_paper_%", "loeo", "loeo_vs_paper_%"]].round(2).to_string()
    )
    typer.echo(str(result.markdown))


def real(
    checkpoint: Path = typer.Option(..., "--checkpoint", help="A trained checkpoint (miakit train)."),
    dataset: str = typer.Option(
        ..., "--dataset", help="Catalog name or store path of real recordings (e.g. miakit import c3d)."
    ),
    out: Path = typer.Option(
        ..., "--out", help="Folder for report.md, units.csv, cycles.csv, summary.csv and one PNG per segment."
    ),
    surrogates: int = typer.Option(
        200, "--surrogates", min=0, help="Phase-randomized surrogates of each prediction for the p-value (0: none)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the surrogates."),
    max_lag_s: float = typer.Option(
        1.0, "--max-lag-s", help="Lags searched for the best cross-correlation, +- seconds (0 to 10)."
    ),
    catalog: Path | None = typer.Option(None, "--catalog", help=f"Catalog file [default: {DEFAULT_CATALOG_HELP}]."),
) -> None:
    """A checkpoint on real EMG: per trial, view and recorded muscle, Pearson r, lag, surrogate
    p-value, specificity against the other side, and where the peaks fall in the gait cycle.

    Example: miakit bench real --checkpoint runs/t1/checkpoint.pt --dataset data/lab.zarr --out runs/real"""
    import miakit
    from miakit.bench.real import run_real
    from miakit.bench.report import goal_lines
    from miakit.outputs import check_folder, write_mark
    from miakit.ranges import in_range

    in_range("--surrogates", surrogates, 0, MAX_SURROGATES)
    in_range("--max-lag-s", max_lag_s, 0, MAX_LAG_S)
    in_range("--seed", seed, 0, 2**32 - 1)
    check_folder(out, "bench-real", inputs=_paths(checkpoint, dataset))
    result = run_real(
        miakit.open_dataset(dataset, catalog=catalog),
        checkpoint,
        out,
        surrogates=surrogates,
        seed=seed,
        max_lag_s=max_lag_s,
        name=dataset,
    )
    write_mark(out, "bench-real")
    typer.echo(
        result.summary[["units", "median_r", "own_beats_other_side", "quad_cycles", "quad_peak_0_20_predicted"]]
        .round(2)
        .to_string()
    )
    for line in goal_lines(result.goals):
        typer.echo(line.replace("**", ""))
    typer.echo(str(result.report))


def finetune(
    checkpoint: Path = typer.Option(
        ..., "--checkpoint", help="The checkpoint to start from (e.g. trained on synthetic data)."
    ),
    dataset: str = typer.Option(
        ..., "--dataset", help="Catalog name or store path of a lab's own recordings (e.g. miakit import c3d)."
    ),
    out: Path = typer.Option(
        ..., "--out", help="Folder for report.md, finetune.csv and one run folder per held-out trial and method."
    ),
    steps: int = typer.Option(
        200, "--steps", min=1, help="Training steps of each run (fine-tuned and from scratch alike)."
    ),
    lr: float = typer.Option(3e-4, "--lr", help="Peak learning rate of each run."),
    surrogates: int = typer.Option(
        200, "--surrogates", min=0, help="Phase-randomized surrogates for each held-out unit's p-value."
    ),
    catalog: Path | None = typer.Option(None, "--catalog", help=f"Catalog file [default: {DEFAULT_CATALOG_HELP}]."),
) -> None:
    """Leave one trial out: fine-tune the checkpoint on the other trials (all their views), and
    train the same model from scratch on the same, then score the held-out trial (every view) as
    bench real does.

    Example: miakit bench finetune --checkpoint runs/t1/checkpoint.pt --dataset data/lab.zarr --out runs/finetune"""
    import miakit
    from miakit.bench.finetune import run_finetune
    from miakit.outputs import prepare_folder
    from miakit.ranges import in_range

    in_range("--steps", steps, 1, 10**6)
    in_range("--lr", lr, 0, 1, above=True)
    in_range("--surrogates", surrogates, 0, MAX_SURROGATES)
    prepare_folder(out, "bench-finetune", inputs=_paths(checkpoint, dataset))
    result = run_finetune(
        miakit.open_dataset(dataset, catalog=catalog), checkpoint, out, steps=steps, lr=lr, surrogates=surrogates
    )
    typer.echo(result.table.round(2).to_string())
    typer.echo(str(result.report))
