"""``miakit demo``: the whole flow on an embedded default, with no hardware and no downloads.

synthetic sessions -> build-dataset -> catalog entry -> train the paper's Transformer -> the
in-distribution benchmark -> the miakit model trained and scored on the same split, beside it ->
a Markdown report (its path is returned) -> pictures: one test segment
as a muscle overlay video (measured beside predicted) and the plots of every stage, in
``out/figures/``, linked from the report and from ``out/README.md``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from miakit.errors import InputError
from miakit.progress import console


def run_demo(
    out: str | Path = "miakit-demo",
    *,
    subjects: int = 3,
    duration_s: float = 30.0,
    seed: int = 0,
    catalog: str | Path | None = None,
    max_train_s: float = 0.0,
) -> Path:
    """Run the demo into ``out`` and return the report's path.

    Both models train a fixed number of steps, no wall-time cap: the Transformer
    :meth:`TrainConfig.demo`'s 500, the miakit model :data:`~miakit.bench.ablation.MIAKIT_STEPS`
    times as many (cheaper steps: about the same time), so the result is the same on any machine;
    a faster one finishes sooner. ``max_train_s`` > 0
    caps each model's training time: a run cut by it says so on the terminal and in the report.
    """
    from dataclasses import replace

    from miakit.bench.ablation import MIAKIT, MIAKIT_STEPS
    from miakit.bench.indist import run_in_distribution
    from miakit.catalog import add_entry, dataset_metadata, default_catalog_path
    from miakit.learn.config import TrainConfig
    from miakit.pipeline import build_dataset
    from miakit.report_tables import print_build_summary
    from miakit.store import open_store
    from miakit.synth import generate_sessions

    out = Path(out)
    check_demo_output(out, catalog or default_catalog_path())
    c = console()
    c.rule("[bold]1/5 synthesize sessions")
    sessions = out / "sessions"
    if not (sessions / ".complete").is_file():
        generate_sessions(sessions, subjects=subjects, seed=seed, duration_s=duration_s, video="first")
        (sessions / ".complete").write_text(f"subjects={subjects} seed={seed} duration_s={duration_s}\n")
    else:
        c.print(f"sessions already in {sessions}; reusing them")
    c.rule("[bold]2/5 build the dataset")
    store = out / "demo.zarr"
    result = build_dataset(sessions, store, pipeline="mia")
    print_build_summary(result)
    ds = open_store(store)
    entry = add_entry(
        catalog or default_catalog_path(),
        "demo",
        store,
        description="Synthetic sessions built by `miakit demo`",
        metadata=dataset_metadata(ds),
    )
    c.print(f"registered as [bold]demo[/] in {Path(catalog or default_catalog_path())} ({entry.urlpath})")
    config = TrainConfig.demo(max_seconds=float(max_train_s))
    c.rule(f"[bold]3/5 train the paper's Transformer ({config.max_steps} steps) and benchmark it")
    bench = run_in_distribution(ds, out / "bench", config=config)
    transformer = training_note("the paper's Transformer", out / "bench" / "transformer" / "history.csv", config)
    miakit_config = replace(
        config, **MIAKIT, max_steps=round(config.max_steps * MIAKIT_STEPS)
    )  # about the Transformer's training time
    c.rule(f"[bold]4/5 train the miakit model (its recipe, {miakit_config.max_steps} steps) on the same split")
    mine = compare_miakit(ds, bench, out / "bench" / "miakit", miakit_config)
    notes = [transformer, mine["note"]]
    means = bench.table.loc["mean"]
    if means["transformer"] >= means["nn"]:
        notes.append(
            f"the paper's Transformer ends behind Nearest Neighbour here (mean RMSE {means['transformer']:.2f} against "
            f"{means['nn']:.2f}, in-distribution: the test windows come "
            "from the same subjects and exercises as the training ones)"
        )
    summary_path = Path(bench.report).parent / "summary.json"
    summary = json.loads(summary_path.read_text())
    summary["mean_rmse"]["miakit"] = mine["mean"]
    summary_path.write_text(json.dumps(summary, indent=2, default=float))
    append_comparison(Path(bench.report), bench, mine, notes)
    for note in notes:
        c.print(("[yellow]" if "cut" in note or "behind" in note else "") + note)
    c.print(
        f"mean RMSE over exercises: Random {means['random']:.2f}, Nearest Neighbour {means['nn']:.2f}, "
        f"the paper's Transformer {means['transformer']:.2f}, the miakit model {mine['mean']:.2f}"
    )
    c.rule("[bold]5/5 pictures: an overlay video and the plots")
    figures = make_figures(ds, bench.checkpoint, sessions, out / "figures")
    link_figures(Path(bench.report), out / "README.md", figures)
    c.print(f"pictures in {out / 'figures'}; see {out / 'README.md'}")
    return Path(bench.report)


def check_demo_output(out: Path, catalog: str | Path) -> None:
    """Before any work: OUT is new, empty or a folder an earlier demo made (its sessions or its
    store are there), OUT/demo.zarr may be replaced (:func:`miakit.store.check_output`) and the
    catalog can be updated. The demo never writes into a folder of other files (``--out .``)."""
    from miakit.catalog import check_writable
    from miakit.store import check_output, is_miakit_store

    check_output(out / "demo.zarr")
    if (
        out.is_dir()
        and any(out.iterdir())
        and not ((out / "sessions" / ".complete").is_file() or is_miakit_store(out / "demo.zarr"))
    ):
        raise InputError(
            out,
            "exists and is not a folder miakit demo made",
            field="--out",
            expected="a new or empty folder, or an earlier demo's",
            found="other files",
        )
    if out.exists() and not out.is_dir():
        raise InputError(out, "is a file", field="--out", expected="a folder", found="a file")
    check_writable(catalog)


def training_note(name: str, history: str | Path, config) -> str:
    """One line on how a run ended: all its steps (saying so where its validation RMSE was still
    falling at the end: more steps would help it), stopped early (deterministic), or cut by the
    wall-time budget (machine-dependent: said plainly)."""
    import pandas as pd

    rows = pd.read_csv(history)
    step = int(rows["step"].iloc[-1]) if len(rows) else 0
    seconds = float(rows["elapsed_s"].iloc[-1]) if len(rows) else 0.0
    if step >= config.max_steps:
        val = rows["val_rmse"].to_numpy()
        if len(val) >= 2 and val[-1] < val[:-1].min():  # its best model is its last
            return (
                f"{name}: trained all {config.max_steps} steps ({seconds:.0f} s), still improving at the end "
                f"(validation RMSE {val[-2]:.2f} at step {int(rows['step'].iloc[-2])}, "
                f"{val[-1]:.2f} at step {step}): more steps would help it"
            )
        return f"{name}: trained all {config.max_steps} steps ({seconds:.0f} s)"
    if config.max_seconds and seconds >= config.max_seconds:
        return (
            f"{name}: training cut by the time budget at step {step} of {config.max_steps} ({config.max_seconds:g} s): "
            "its scores are of a model trained less than the demo intends, and depend on this machine's speed"
        )
    return (
        f"{name}: stopped early at step {step} of {config.max_steps}: "
        f"validation RMSE did not improve for {config.patience} evaluations"
    )


def compare_miakit(ds, bench, out: Path, config) -> dict:
    """Train the miakit model (``config``: its recipe) on the benchmark's own in-distribution split
    and score it on the same test windows: {'table': RMSE per exercise, 'mean', 'note', 'checkpoint'}."""
    import pandas as pd

    from miakit.learn import metrics
    from miakit.learn.features import prepare_inputs
    from miakit.learn.inference import load_checkpoint, predict
    from miakit.learn.train import config_splits, train
    from miakit.learn.windows import load_frames

    splits = config_splits(ds, config)
    frames = load_frames(ds)
    result = train(ds, config, out, splits=splits, frames=frames)
    model, trained, _ = load_checkpoint(result.checkpoint)
    inputs, _ = prepare_inputs(ds, frames, splits, features=trained.features)
    x, y, _ = inputs.gather(splits.test, context=trained.context)
    pred = predict(model, x, emg_scale=trained.emg_scale)
    exercise = splits.test.exercise
    table = pd.Series(
        {ex: metrics.rmse(pred[exercise == ex], y[exercise == ex]) for ex in sorted(set(exercise.tolist()))}
    )
    return {
        "table": table,
        "mean": float(table.mean()),
        "note": training_note("the miakit model", out / "history.csv", config),
        "checkpoint": result.checkpoint,
    }


def append_comparison(report: Path, bench, mine: dict, notes: list[str]) -> None:
    """Add a section to the report: the miakit model beside the paper's Transformer, per exercise."""
    from miakit.bench.ablation import MIAKIT, MIAKIT_STEPS
    from miakit.bench.report import markdown_table

    table = bench.table.drop(columns=["windows"], errors="ignore").copy()
    table.loc[mine["table"].index, "miakit"] = mine["table"]
    table.loc["mean", "miakit"] = mine["mean"]
    columns = [c for c in ("random", "nn", "transformer", "miakit", "noise_floor") if c in table.columns]
    shown = table[columns].rename(
        columns={
            "random": "Random",
            "nn": "Nearest Neighbour",
            "transformer": "paper's Transformer",
            "miakit": "miakit model",
            "noise_floor": "noise floor",
        }
    )
    text = report.read_text().rstrip()
    text += (
        "\n\n## The miakit model beside the paper's Transformer\n\n"
        "Both trained on the same in-distribution split for about the same time and scored on the same test windows "
        "(RMSE on the raw EMG scale, per exercise; the last row is the mean over exercises). The miakit model uses its "
        "recipe (`miakit.bench.ablation.MIAKIT`: hip-centred body "
        "features with angles, depth, velocities, hold times and "
        "a mask of missing points, mirror and pose-estimator augmentation, "
        f"{MIAKIT['context']} context frames, batch {MIAKIT['batch_size']}, "
        f"peak lr {MIAKIT['lr']:g} after {MIAKIT['warmup_steps']} warm-up "
        "steps); a step of it costs about a third of the Transformer's, "
        f"so it trains {MIAKIT_STEPS:g} times the Transformer's steps.\n\n"
        + markdown_table(shown, index_name="exercise")
        + "\n\n"
        + "\n".join(f"- {note}" for note in notes)
        + "\n"
    )
    report.write_text(text)


FIGURES = {
    "overlay.mp4": "a test segment as video: measured (left) and predicted (right) muscles, relaxed blue to flexed red",
    "overlay_frame.png": "one frame of that video (the one where the measured muscles are most flexed)",
    "predicted_vs_measured.png": "the same segment: measured and predicted EMG per muscle (the "
    "model trained on its first 70% or so; the last 20% is its test data)",
    "pose_confidence.png": "the same segment: keypoint scores over time",
    "dataset_summary.png": "the dataset: valid minutes per subject and exercise, EMG per muscle",
    "session_emg.png": "the segment's raw session: EMG per sensor with gaps and events",
    "alignment.png": "the session's sync alignment: motion vs EMG before and after the offset",
}
"""The pictures the demo makes, by file name, with what each shows."""


def make_figures(
    ds, checkpoint: str | Path, sessions: str | Path, folder: str | Path, *, panel_height: int = 480
) -> dict[str, Path]:
    """Draw one test segment of ``ds`` (the first segment with a test window) as an overlay video
    with the ``checkpoint``'s predictions, and save the plots of every stage into ``folder``;
    returns {file name: path} in the order of :data:`FIGURES` (a plot that cannot be made, such as
    an alignment for a session without a sync event, is left out with a note)."""
    from miakit.contracts.session import find_sessions, read_meta
    from miakit.learn.predict import load, predict_segment
    from miakit.learn.train import config_splits
    from miakit.viz import plots
    from miakit.viz.render import render_segment

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ckpt = load(checkpoint)
    config = ckpt.config
    splits = config_splits(ds, config)
    segment = str(ds["segment"].values[int(splits.test.segment[0])])
    index = [str(s) for s in ds["segment"].values].index(segment)
    predicted = predict_segment(ckpt, ds, segment)
    out = {name: folder / name for name in FIGURES}

    video = render_segment(ds, segment, out["overlay.mp4"], predicted=predicted, panel_height=panel_height)
    seg_frames = slice(
        int(ds["segment_start"].values[index]),
        int(ds["segment_start"].values[index] + ds["segment_length"].values[index]),
    )
    level = video.scale.level(np.asarray(ds["emg"][seg_frames].values))
    busiest = int(
        np.nanargmax(np.nan_to_num(np.nanmean(level, axis=1), nan=-1.0))
    )  # the most flexed frame shows the colours
    _save_frame(video.path, busiest, out["overlay_frame.png"])
    plots.save_figure(plots.segment_emg(ds, segment, predicted=predicted), out["predicted_vs_measured.png"])
    plots.save_figure(plots.pose_confidence(ds, segment), out["pose_confidence.png"])
    plots.save_figure(plots.dataset_summary(ds), out["dataset_summary.png"])
    session_id = str(ds["segment_session"].values[index])
    folders = [f for f in find_sessions(sessions) if read_meta(f).session_id == session_id]
    notes = []
    if folders:
        plots.save_figure(plots.session_emg(folders[0]), out["session_emg.png"])
        try:
            plots.save_figure(plots.alignment(folders[0]), out["alignment.png"])
        except InputError as exc:
            notes.append(str(exc))
    else:
        notes.append(f"no session folder {session_id!r} under {sessions}: no session plots")
    for note in notes:
        console().print(f"[yellow]note:[/] {note}")
    return {name: path for name, path in out.items() if path.exists()}


def _save_frame(video: Path, number: int, png: Path) -> None:
    """Save frame ``number`` of ``video`` as a PNG (PyAV)."""
    import av

    with av.open(str(video)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i == number:
                frame.to_image().save(png)
                return


def link_figures(report: Path, readme: Path, figures: dict[str, Path]) -> None:
    """Append a "Pictures" section to ``report`` and write ``readme``: each picture by relative
    path (PNGs shown inline, the video as a link)."""
    import os

    def section(base: Path) -> str:
        lines = []
        for name, path in figures.items():
            rel = Path(os.path.relpath(path, base.parent)).as_posix()
            shown = f"[{name}]({rel})" if path.suffix == ".mp4" else f"![{name}]({rel})"
            lines.append(f"- {FIGURES[name]}: {shown}\n" if path.suffix == ".mp4" else f"{FIGURES[name]}:\n\n{shown}\n")
        return "\n".join(lines)

    text = report.read_text().rstrip() + "\n\n## Pictures\n\n" + section(report) + "\n"
    report.write_text(text)
    readme.write_text(
        "# miakit demo\n\n"
        f"The benchmark report: [{Path(os.path.relpath(report, readme.parent)).as_posix()}]"
        f"({Path(os.path.relpath(report, readme.parent)).as_posix()}). "
        "The synthetic sessions are in `sessions/`, the dataset in `demo.zarr`.\n\n## Pictures\n\n"
        + section(readme)
        + "\n"
    )
