"""``miakit demo``: the whole flow on an embedded default, with no hardware and no downloads.

synthetic sessions -> build-dataset -> catalog entry -> train the paper's Transformer -> the
in-distribution benchmark -> a Markdown report (its path is returned).
"""

from __future__ import annotations

from pathlib import Path

from miakit.progress import console


def run_demo(out: str | Path = "miakit-demo", *, subjects: int = 3, duration_s: float = 30.0, seed: int = 0, catalog: str | Path | None = None) -> Path:
    from miakit.bench.indist import run_in_distribution
    from miakit.catalog import add_entry, dataset_metadata, default_catalog_path
    from miakit.learn.train import TrainConfig
    from miakit.pipeline import build_dataset
    from miakit.report_tables import print_build_summary
    from miakit.store import open_store
    from miakit.synth import generate_sessions

    out = Path(out)
    c = console()
    c.rule("[bold]1/4 synthesize sessions")
    sessions = out / "sessions"
    if not (sessions / ".complete").is_file():
        generate_sessions(sessions, subjects=subjects, seed=seed, duration_s=duration_s, video="first")
        (sessions / ".complete").write_text(f"subjects={subjects} seed={seed} duration_s={duration_s}\n")
    else:
        c.print(f"sessions already in {sessions}; reusing them")
    c.rule("[bold]2/4 build the dataset")
    store = out / "demo.zarr"
    result = build_dataset(sessions, store, pipeline="mia")
    print_build_summary(result)
    ds = open_store(store)
    entry = add_entry(catalog or default_catalog_path(), "demo", store, description="Synthetic sessions built by `miakit demo`", metadata=dataset_metadata(ds))
    c.print(f"registered as [bold]demo[/] in {Path(catalog or default_catalog_path())} ({entry.urlpath})")
    c.rule("[bold]3/4 train the paper's Transformer and 4/4 benchmark")
    bench = run_in_distribution(ds, out / "bench", config=TrainConfig.demo())
    return Path(bench.report)
