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

from miakit.bench import report as rep
from miakit.bench.indist import compared_predictions, run_in_distribution, scored_targets
from miakit.bench.report import markdown_table
from miakit.catalog import check_writable, default_catalog_path, register_store
from miakit.contracts.dataset import UNKNOWN_EXERCISE
from miakit.contracts.session import find_sessions, read_meta
from miakit.errors import InputError
from miakit.learn import metrics
from miakit.learn.config import TrainConfig
from miakit.learn.features import prepare_inputs
from miakit.learn.inference import load_checkpoint, predict
from miakit.learn.predict import load, predict_segment
from miakit.learn.recipes import MIAKIT, MIAKIT_STEPS
from miakit.learn.train import config_splits, train
from miakit.learn.windows import load_frames
from miakit.pipeline import build_dataset
from miakit.progress import console
from miakit.report_tables import print_build_summary
from miakit.store import check_output, is_miakit_store, open_store
from miakit.synth import generate_sessions
from miakit.viz import plots
from miakit.viz.plots import SYNC_WINDOW_S
from miakit.viz.render import render_segment


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
    :meth:`TrainConfig.demo`'s 500, the miakit model :data:`~miakit.learn.recipes.MIAKIT_STEPS`
    times as many (cheaper steps: about the same time), so the result is the same on any machine;
    a faster one finishes sooner. ``max_train_s`` > 0
    caps each model's training time: a run cut by it says so on the terminal and in the report.
    """
    from dataclasses import replace

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
    description = "Synthetic sessions built by `miakit demo`"
    entry = register_store(catalog or default_catalog_path(), store, ds, name="demo", description=description)
    c.print(f"registered as [bold]demo[/] in {Path(catalog or default_catalog_path())} ({entry.urlpath})")
    config = TrainConfig.demo(max_seconds=float(max_train_s))
    c.rule(f"[bold]3/5 train the paper's Transformer ({config.max_steps} steps) and benchmark it")
    bench = run_in_distribution(ds, out / "bench", config=config, sessions=sessions)
    transformer = training_note("the paper's Transformer", out / "bench" / "transformer" / "history.csv", config)
    miakit_config = replace(
        config, **MIAKIT, max_steps=round(config.max_steps * MIAKIT_STEPS)
    )  # about the Transformer's training time
    c.rule(f"[bold]4/5 train the miakit model (its recipe, {miakit_config.max_steps} steps) on the same split")
    mine = compare_miakit(ds, bench, out / "bench" / "miakit", miakit_config, sessions=sessions)
    notes = [transformer, mine["note"]]
    means = bench.table.loc["mean"]
    if means["transformer"] >= means["nn"]:
        notes.append(
            f"the paper's Transformer ends behind Nearest Neighbour here (mean RMSE {means['transformer']:.2f} against "
            f"{means['nn']:.2f}, in-distribution: the test windows come "
            "from the same subjects and exercises as the training ones)"
        )
    best = best_model(bench, mine)
    summary_path = Path(bench.report).parent / "summary.json"
    summary = json.loads(summary_path.read_text())
    summary["mean_rmse"]["miakit"] = mine["mean"]
    summary["best"] = best
    summary_path.write_text(json.dumps(summary, indent=2, default=float))
    show_every_model(ds, bench, mine)
    append_comparison(Path(bench.report), bench, mine, notes)
    for note in notes:
        c.print(("[yellow]" if "cut" in note or "behind" in note else "") + note)
    c.print(
        f"mean RMSE over exercises: Random {means['random']:.2f}, Nearest Neighbour {means['nn']:.2f}, "
        f"the paper's Transformer {means['transformer']:.2f}, the miakit model {mine['mean']:.2f}"
    )
    c.rule("[bold]5/5 pictures: an overlay video and the plots")
    figures = make_figures(ds, best["checkpoint"], sessions, out / "figures", model=best["label"])
    link_figures(Path(bench.report), out / "README.md", figures)
    c.print(f"pictures in {out / 'figures'} (predictions of {best['label']}); see {out / 'README.md'}")
    return Path(bench.report)


MODELS = ("random", "nn", "transformer", "miakit")
"""The models the demo's report compares, in its tables' order."""
LABELS = {
    "random": "Random",
    "nn": "Nearest Neighbour",
    "transformer": "the paper's Transformer",
    "miakit": "the miakit model",
}


def best_model(bench, mine: dict) -> dict:
    """The trained model with the lower mean RMSE (the paper's Transformer or the miakit model):
    {'model', 'label', 'mean_rmse', 'checkpoint'} (written into summary.json as 'best')."""
    transformer = float(bench.table.loc["mean", "transformer"])
    if mine["mean"] <= transformer:
        return {
            "model": "miakit",
            "label": LABELS["miakit"],
            "mean_rmse": mine["mean"],
            "checkpoint": str(mine["checkpoint"]),
        }
    return {
        "model": "transformer",
        "label": LABELS["transformer"],
        "mean_rmse": transformer,
        "checkpoint": str(bench.checkpoint),
    }


def best_line(report: str | Path) -> str:
    """The line the demo prints last: the best model, its mean RMSE and its checkpoint's path, with
    the command that uses it."""
    best = json.loads((Path(report).parent / "summary.json").read_text())["best"]
    return (
        f"best model: {best['label']} (mean RMSE {best['mean_rmse']:.2f}); try it on a video: "
        f"miakit predict VIDEO --checkpoint {best['checkpoint']} --out VIDEO-emg\n{best['checkpoint']}"
    )


def show_every_model(ds, bench, mine: dict) -> None:
    """Redraw the report's three model plots (RMSE per exercise, an example test window, the
    training curves) with every model the report compares, the miakit model among them, and rewrite
    its headline ranking to name them all (the in-distribution benchmark drew them before the
    miakit model was trained)."""
    import re

    import pandas as pd

    folder = Path(bench.report).parent
    units = str(ds.attrs.get("emg_units") or rep.UNITS)
    table = bench.table.copy()
    table.loc[mine["table"].index, "miakit"] = mine["table"]
    table.loc["mean", "miakit"] = mine["mean"]
    rep.plot_per_exercise(
        table,
        folder / "rmse_per_exercise.png",
        models=MODELS,
        title="In-distribution RMSE per exercise, every model",
        units=units,
        caption=bench.sync_note,
    )
    model, config, meta = load_checkpoint(bench.checkpoint)
    splits = config_splits(ds, config)
    preds, y_test, _ = compared_predictions(load_frames(ds), splits, model, config)
    if mine["pred"].shape == y_test.shape and np.allclose(mine["y"], y_test, equal_nan=True):
        preds["miakit"] = mine["pred"]  # the same test windows
    best = min(("transformer", "miakit"), key=lambda m: table.loc["mean", m] if m in preds else np.inf)
    errors = np.sqrt(np.mean((preds[best] - y_test) ** 2, axis=(1, 2)))
    typical = int(np.argsort(errors)[len(errors) // 2])
    rep.plot_example(
        y_test[typical],
        {m: preds[m][typical] for m in MODELS if m in preds},
        list(meta["muscles"]),
        folder / "example_window.png",
        title=f"test window {typical} (median error of {LABELS[best]}): subject "
        f"{splits.test.subject[typical]}, {splits.test.exercise[typical]}; every model",
        units=units,
    )
    histories = {m: folder / m / "history.csv" for m in ("transformer", "miakit")}
    if all(h.exists() for h in histories.values()):
        rep.plot_history(
            pd.read_csv(histories["transformer"]),
            folder / "training_curve.png",
            units=units,
            label="Transformer",
            others={"miakit": pd.read_csv(histories["miakit"])},
            title="the paper's Transformer and the miakit model",
        )
    means = table.loc["mean", list(MODELS)].astype(float).sort_values(ascending=False)
    ranking = " > ".join(f"{rep.MODEL_LABELS[m]} {v:.2f}" for m, v in means.items())
    report = Path(bench.report)
    text = re.sub(
        r"(exercises, worst to best: ).*?(?= \(noise floor|\.\n)",
        lambda m: m.group(1) + ranking,
        report.read_text(),
        count=1,
    )
    overall = json.loads((folder / "summary.json").read_text())["overall_rmse"]
    report.write_text(every_model_tables(text, bench, mine, overall, same_windows="miakit" in preds))


def with_miakit(table, values, *, after: str = "transformer"):
    """``table`` with a ``miakit`` column of ``values`` right after its ``after`` column."""
    out = table.copy()
    out.insert(list(out.columns).index(after) + 1 if after in out.columns else len(out.columns), "miakit", values)
    return out


def every_model_tables(text: str, bench, mine: dict, overall: dict, *, same_windows: bool = True) -> str:
    """The in-distribution report ``text`` with the miakit model's column in its tables: RMSE per
    exercise (always: the same split) and, where it was scored on the same test windows
    (``same_windows``), RMSE and Pearson r over all test windows and RMSE per muscle (the
    benchmark wrote them before the miakit model was trained)."""
    import pandas as pd

    per_exercise = bench.table.copy()
    swaps = [
        (
            markdown_table(per_exercise, index_name="exercise"),
            markdown_table(
                with_miakit(per_exercise, mine["table"].reindex(per_exercise.index).fillna({"mean": mine["mean"]})),
                index_name="exercise",
            ),
        )
    ]
    if same_windows:
        scores = pd.DataFrame({"RMSE (all test values)": overall, "Pearson r": bench.pearson}).T
        swaps += [
            (markdown_table(scores), markdown_table(with_miakit(scores, [mine["overall"], mine["pearson"]]))),
            (
                markdown_table(bench.per_muscle, index_name="muscle"),
                markdown_table(with_miakit(bench.per_muscle, mine["per_muscle"]), index_name="muscle"),
            ),
        ]
    for old, new in swaps:
        if old not in text:
            raise RuntimeError(f"the report has no table {old.splitlines()[0]!r} to give the miakit model's column")
        text = text.replace(old, new, 1)
    return text


def check_demo_output(out: Path, catalog: str | Path) -> None:
    """Before any work: OUT is new, empty or a folder an earlier demo made (its sessions or its
    store are there), OUT/demo.zarr may be replaced (:func:`miakit.store.check_output`) and the
    catalog can be updated. The demo never writes into a folder of other files (``--out .``)."""

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


def compare_miakit(ds, bench, out: Path, config, *, sessions: str | Path | None = None) -> dict:
    """Train the miakit model (``config``: its recipe) on the benchmark's own in-distribution split
    and score it on the same test windows, frames near a sync event left out as the benchmark
    leaves them (:func:`miakit.bench.indist.scored_targets`): {'table': RMSE per exercise, 'mean',
    'per_muscle', 'overall', 'pearson', 'note', 'checkpoint', 'pred', 'y'}."""
    import pandas as pd

    splits = config_splits(ds, config)
    frames = load_frames(ds)
    result = train(ds, config, out, splits=splits, frames=frames)
    model, trained, _ = load_checkpoint(result.checkpoint)
    inputs, _ = prepare_inputs(ds, frames, splits, features=trained.features)
    x, y, _ = inputs.gather(splits.test, context=trained.context)
    pred = predict(model, x, emg_scale=trained.emg_scale)
    scored, _ = scored_targets(ds, splits.test, y, sessions)
    exercise = splits.test.exercise
    table = pd.Series(
        {ex: metrics.rmse(pred[exercise == ex], scored[exercise == ex]) for ex in sorted(set(exercise.tolist()))}
    )
    known = table.drop(index=UNKNOWN_EXERCISE) if UNKNOWN_EXERCISE in table.index and len(table) > 1 else table
    return {
        "table": table,
        "mean": float(known.mean()),  # over the named exercises, as the benchmark's mean
        "per_muscle": metrics.rmse_per_muscle(pred, scored),
        "overall": metrics.rmse(pred, scored),
        "pearson": metrics.pearson(pred, scored),
        "note": training_note("the miakit model", out / "history.csv", config),
        "checkpoint": result.checkpoint,
        "pred": pred,
        "y": y,
    }


def append_comparison(report: Path, bench, mine: dict, notes: list[str]) -> None:
    """Add a section to the report: the miakit model beside the paper's Transformer, per exercise."""

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
        "recipe (`miakit.learn.recipes.MIAKIT`: hip-centred body "
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
    "overlay.mp4": "a test segment as video: measured (left) and predicted by the best model (right), each muscle "
    "coloured on one absolute scale in the dataset's units (numbers on the colour bar)",
    "overlay_frame.png": "one frame of that video: a busy moment of the exercise, away from the sync clap",
    "predicted_vs_measured.png": "the same segment: measured and predicted EMG per muscle on one y scale, the test "
    "stretch (the part of the segment the model never trained on) shaded",
    "pose_confidence.png": "the same segment: keypoint scores over time",
    "dataset_summary.png": "the dataset: valid minutes per subject and exercise, EMG per muscle (frames near the "
    "sync clap left out)",
    "session_emg.png": "the segment's raw session: EMG per sensor with gaps and named events",
    "alignment.png": "the session's sync alignment: motion vs EMG before and after the offset",
}
"""The pictures the demo makes, by file name, with what each shows."""


def make_figures(
    ds, checkpoint: str | Path, sessions: str | Path, folder: str | Path, *, panel_height: int = 480, model: str = ""
) -> dict[str, Path]:
    """Draw one test segment of ``ds`` (the first segment with a test window) as an overlay video
    with the ``checkpoint``'s predictions (``model`` names it in the titles), and save the plots of
    every stage into ``folder``; returns {file name: path} in the order of :data:`FIGURES` (a plot
    that cannot be made, such as an alignment for a session without a sync event, is left out with
    a note)."""

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ckpt = load(checkpoint)
    model = model or f"the {ckpt.config.model} model"
    config = ckpt.config
    splits = config_splits(ds, config)
    index = int(splits.test.segment[0])
    segment = str(ds["segment"].values[index])
    predicted = predict_segment(ckpt, ds, segment)
    out = {name: folder / name for name in FIGURES}
    start = int(ds["segment_start"].values[index])
    seg_frames = slice(start, start + int(ds["segment_length"].values[index]))
    time = np.asarray(ds["time"][seg_frames].values, dtype=np.float64)
    test_from = float(time[int(splits.test.start[splits.test.segment == index].min()) - start])
    session_id = str(ds["segment_session"].values[index])
    folders = [f for f in find_sessions(sessions) if read_meta(f).session_id == session_id]
    syncs = plots.sync_times(ds, sessions).get(index, [])

    title = f"{segment}: measured | predicted by {model} ({Path(checkpoint).parent.name}/{Path(checkpoint).name})"
    video = render_segment(ds, segment, out["overlay.mp4"], predicted=predicted, panel_height=panel_height, title=title)
    level = video.scale.level(np.asarray(ds["emg"][seg_frames].values))
    frame = representative_frame(np.nanmean(level, axis=1), time, syncs)
    _save_frame(video.path, frame, out["overlay_frame.png"])
    plots.save_figure(
        plots.segment_emg(ds, segment, predicted=predicted, model=model, test_from=test_from),
        out["predicted_vs_measured.png"],
    )
    plots.save_figure(plots.pose_confidence(ds, segment), out["pose_confidence.png"])
    plots.save_figure(plots.dataset_summary(ds, sessions=sessions), out["dataset_summary.png"])
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


def representative_frame(activity: np.ndarray, time: np.ndarray, syncs: list[float], *, quantile: float = 0.9) -> int:
    """A frame that shows the exercise: the one whose mean activity is nearest the segment's
    ``quantile`` (busy, not an outlier), among the frames more than
    :data:`miakit.viz.plots.SYNC_WINDOW_S` from every sync event (all frames where none is that far)."""

    activity = np.asarray(activity, dtype=np.float64)
    away = np.ones(len(time), dtype=bool)
    for t in syncs:
        away &= np.abs(np.asarray(time) - t) > SYNC_WINDOW_S
    usable = away & np.isfinite(activity)
    if not usable.any():
        usable = np.isfinite(activity)
    if not usable.any():
        return 0
    target = np.quantile(activity[usable], quantile)
    candidates = np.flatnonzero(usable)
    return int(candidates[np.argmin(np.abs(activity[candidates] - target))])


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
