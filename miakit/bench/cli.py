"""``miakit bench paper`` (the paper's experiments as one suite) and ``miakit bench ablation`` (the
miakit model's ideas one by one), registered under ``bench_app`` in miakit/cli.py.

Thin: parses, calls :func:`miakit.bench.paper.run_paper` or :func:`miakit.bench.ablation.run_ablation`,
prints the report's path as the last line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

import typer


def paper(
    dataset: str = typer.Option(..., "--dataset", help="Catalog name or store path."),
    out: Path = typer.Option(..., "--out", help="Folder for report.md, CSV tables and PNG figures."),
    profile: Literal["quick", "default", "full"] = typer.Option("default", "--profile", help="quick (CI minutes), default (over lunch: about an hour on 2 cores, 6 exercises left out) or full (the paper's scale, every exercise left out)."),
    catalog: Optional[Path] = typer.Option(None, "--catalog", help="Catalog file [default: $MIAKIT_CATALOG or ./catalog.yaml]."),
) -> None:
    """The paper's experiments: Table 1 (in-distribution, leave-one-exercise-out), Table 2 (window
    lengths), Figure 7 (subject transfer), Figure 8 (retrieval similarity), Figure 6 (examples)."""
    import miakit
    from miakit.bench.paper import get_profile, run_paper

    chosen = get_profile(profile)  # a bad name fails before the dataset is read
    result = run_paper(miakit.open_dataset(dataset, catalog=catalog), out, profile=chosen)
    typer.echo(f"{len(result.experiments)} runs in {result.wall_s:.0f} s")
    typer.echo(str(result.report))


def ablation(
    dataset: str = typer.Option(..., "--dataset", help="Catalog name or store path."),
    out: Path = typer.Option(..., "--out", help="Folder for ablation.md, ablation.csv and each run's folder."),
    profile: Literal["smoke", "short", "goal", "quick", "full"] = typer.Option("goal", "--profile", help="smoke, short, goal (the paper's Transformer against the miakit model, in-distribution and 8 exercises left out: about 50 min on 2 cores), quick (every variant, 2 exercises left out: about 1.5 h on 2 cores) or full (every variant, 4 left out and 500 steps: about 4 h)."),
    seeds: str = typer.Option("0", "--seeds", help="Train every run once per seed (comma-separated, e.g. 0,1,2) and report the mean, with each seed's scores against the paper's Transformer of the same seed. Time grows with the number of seeds. On the demo data one seed's LOEO mean varies by about 1 RMSE unit (5%), so a 15% target needs several."),
    resume: bool = typer.Option(False, "--resume", help="Continue each run from its folder under OUT/runs: runs that finished are only scored again, interrupted ones go on exactly, missing ones (another seed) are trained; a run whose config differs is refused."),
    catalog: Optional[Path] = typer.Option(None, "--catalog", help="Catalog file [default: $MIAKIT_CATALOG or ./catalog.yaml]."),
) -> None:
    """The miakit model against the paper's Transformer, and each of its ideas removed one at a
    time: mean test RMSE in-distribution and leave-one-exercise-out. The miakit model trains 1.5
    times the Transformer's steps, which take about as long on a CPU (one row: the same steps).

    Example: miakit bench ablation --dataset demo --out runs/ablation --seeds 0,1,2 --resume
    """
    import miakit
    from miakit.bench.ablation import parse_seeds, profile_config, run_ablation

    profile_config(profile)  # a bad name fails before the dataset is read
    seed_list = parse_seeds(seeds)
    result = run_ablation(miakit.open_dataset(dataset, catalog=catalog), out, profile=profile, seeds=seed_list, resume=resume)
    typer.echo(result.table[["in_distribution", "in_distribution_vs_paper_%", "loeo", "loeo_vs_paper_%"]].round(2).to_string())
    typer.echo(str(result.markdown))
