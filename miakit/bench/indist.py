"""The in-distribution benchmark (the paper's Table 1, left): train on every exercise, test per exercise.

Random, Nearest Neighbour and the paper's Transformer are compared on the test windows of the
in-distribution split by RMSE on the raw EMG scale, per exercise and as the mean over exercises,
beside the noise floor (RMSE of the recorded EMG against its noise-free truth, where the dataset
has ``emg_clean``), per-muscle RMSE and Pearson correlation.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from miakit.bench import report as rep
from miakit.contracts.dataset import UNKNOWN_EXERCISE, provenance_of
from miakit.errors import InputError
from miakit.learn import metrics
from miakit.learn.config import TrainConfig
from miakit.learn.inference import load_checkpoint, predict, resolve_device
from miakit.learn.models import NearestNeighbour, RandomBaseline, build_model, count_parameters
from miakit.learn.train import config_splits, train
from miakit.learn.windows import load_frames, unknown_segments
from miakit.viz.plots import near_sync, sync_note

if TYPE_CHECKING:
    import pandas as pd


MODELS = ("random", "nn", "transformer")


@dataclass
class BenchResult:
    """Where the report is and the numbers in it."""

    report: Path
    table: pd.DataFrame  # DataFrame: rows exercises + 'mean'; columns random, nn, transformer, noise_floor, windows
    per_muscle: pd.DataFrame  # DataFrame: rows muscles; columns random, nn, transformer, noise_floor
    pearson: dict[str, float]
    checkpoint: Path
    train_wall_s: float | None  # None when the transformer came from a given checkpoint
    sync_note: str = ""  # what the scores left out near sync events (miakit.viz.plots.sync_note)


def run_in_distribution(
    ds,
    out: str | Path,
    *,
    config: TrainConfig | None = None,
    checkpoint: str | Path | None = None,
    progress: bool = True,
    sessions: str | Path | None = None,
) -> BenchResult:
    """Split ``ds`` in-distribution, train the Transformer (or load ``checkpoint``), fit NN and
    Random, evaluate on the test windows and write ``out/report.md``, ``out/in_distribution.csv``,
    ``out/per_muscle.csv``, ``out/summary.json`` and PNG plots.

    Without a checkpoint the Transformer is trained with ``config`` (default :class:`TrainConfig`)
    into ``out/transformer/``. With one, the checkpoint's own config decides the windows and the
    split (so the test windows are the ones it was validated against) and ``config`` only picks
    the device.

    Every score leaves out the test frames near a sync event (:func:`scored_targets`; ``sessions``:
    the session folders the dataset was built from, where a session-built store's sync events are).
    """
    import pandas as pd

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frames = load_frames(ds)
    train_wall_s = None
    if checkpoint is None:
        config = config or TrainConfig()
        splits = config_splits(ds, config)
        result = train(ds, config, out / "transformer", progress=progress, splits=splits, frames=frames)
        checkpoint, train_wall_s = result.checkpoint, result.wall_s
    model, config, meta = load_checkpoint(checkpoint, device=resolve_device(config.device if config else "auto"))
    if (meta["n_features"], meta["n_muscles"]) != (frames.n_features, frames.n_muscles):
        raise InputError(
            checkpoint,
            "the checkpoint was trained on data of another shape",
            field="n_features/n_muscles",
            expected=(frames.n_features, frames.n_muscles),
            found=(meta["n_features"], meta["n_muscles"]),
        )
    splits = config_splits(ds, config)
    preds, y_test, clean = compared_predictions(frames, splits, model, config)

    y_scored, sync_note = scored_targets(ds, splits.test, y_test, sessions)
    exercise = splits.test.exercise
    rows = {}
    for ex in sorted(set(exercise.tolist())):
        sel = exercise == ex
        row = {m: metrics.rmse(preds[m][sel], y_scored[sel]) for m in MODELS}
        row["noise_floor"] = metrics.noise_floor(y_scored[sel], clean[sel]) if clean is not None else float("nan")
        row["windows"] = int(sel.sum())
        rows[ex] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    known = table.drop(index=UNKNOWN_EXERCISE) if UNKNOWN_EXERCISE in table.index and len(table) > 1 else table.copy()
    table.loc["mean"] = known.mean(numeric_only=True)  # over the named exercises; an 'unknown' row is shown apart
    table.loc["mean", "windows"] = int(known["windows"].sum())
    table["windows"] = table["windows"].astype(int)
    table.index.name = "exercise"

    per_muscle = pd.DataFrame(
        {m: metrics.rmse_per_muscle(preds[m], y_scored) for m in MODELS}, index=list(frames.muscles)
    )
    per_muscle["noise_floor"] = metrics.rmse_per_muscle(clean, y_scored) if clean is not None else np.nan
    per_muscle.index.name = "muscle"
    pearson = {m: metrics.pearson(preds[m], y_scored) for m in MODELS}
    overall = {m: metrics.rmse(preds[m], y_scored) for m in MODELS}

    table.to_csv(out / "in_distribution.csv")
    per_muscle.to_csv(out / "per_muscle.csv")
    summary = {
        "mean_rmse": {m: float(table.loc["mean", m]) for m in MODELS},
        "overall_rmse": overall,
        "pearson": pearson,
        "noise_floor": float(table.loc["mean", "noise_floor"]),
        "windows": splits.sizes(),
        "train_wall_s": train_wall_s,
        "checkpoint": str(checkpoint),
        "config": asdict(config),
        "step": meta["step"],
        "best_val_rmse": meta["best_val_rmse"],
        "sync": sync_note,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=float))
    report = _write_report(
        out,
        ds,
        table,
        per_muscle,
        pearson,
        overall,
        preds,
        y_test,
        splits,
        config,
        meta,
        checkpoint,
        train_wall_s,
        sync_note,
    )
    return BenchResult(report, table, per_muscle, pearson, Path(checkpoint), train_wall_s, sync_note)


def compared_predictions(frames, splits, model, config) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """The test windows' predictions of the models the benchmark compares (``random``, ``nn``, the
    ``transformer`` checkpoint ``model``), each (windows, muscles, steps), with the measured and the
    noise-free targets of those windows."""
    x_train, y_train, _ = frames.gather(splits.train)
    x_test, y_test, clean = frames.gather(splits.test)
    preds = {
        "random": RandomBaseline(seed=config.seed)
        .fit(x_train, y_train, splits.train.exercise)
        .predict(x_test, splits.test.exercise),
        "nn": NearestNeighbour().fit(x_train, y_train, splits.train.subject).predict(x_test, splits.test.subject),
        "transformer": predict(model, x_test, emg_scale=config.emg_scale),
    }
    return preds, y_test, clean


def scored_targets(ds, index, y: np.ndarray, sessions: str | Path | None = None) -> tuple[np.ndarray, str]:
    """The targets ``y`` (windows, muscles, steps) of the windows ``index``, NaN at the frames within
    :data:`miakit.viz.plots.SYNC_WINDOW_S` of a sync event (the clap before an exercise is no part
    of it; :func:`miakit.viz.plots.near_sync`), so every score leaves them out; and the note that
    says how many (for the report's caption). The models still see those frames as input."""

    frames = index.frames()
    near = near_sync(ds, sessions)[frames] if len(index) else np.zeros((0, index.window), dtype=bool)
    scored = np.where(near[:, None, :], np.nan, y)
    return scored, sync_note(int(near.sum()), int(near.size), what="test ")


def _write_report(
    out,
    ds,
    table,
    per_muscle,
    pearson,
    overall,
    preds,
    y_test,
    splits,
    config,
    meta,
    checkpoint,
    train_wall_s,
    sync_note="",
) -> Path:
    import pandas as pd

    path = out / "report.md"
    bars = rep.plot_per_exercise(
        table,
        out / "rmse_per_exercise.png",
        models=MODELS,
        title="In-distribution RMSE per exercise",
        caption=sync_note,
    )
    errors = np.sqrt(np.mean((preds["transformer"] - y_test) ** 2, axis=(1, 2)))
    typical = int(np.argsort(errors)[len(errors) // 2])  # the window of median Transformer error
    example = rep.plot_example(
        y_test[typical],
        {m: preds[m][typical] for m in MODELS},
        list(meta["muscles"]),
        out / "example_window.png",
        title=f"test window {typical} (median Transformer error): subject "
        f"{splits.test.subject[typical]}, {splits.test.exercise[typical]}",
        units=str(meta.get("emg_units") or ds.attrs.get("emg_units", "")),
    )
    n_named = len(table) - 1 - int(UNKNOWN_EXERCISE in table.index and len(table) > 2)  # exercises in the mean
    mean = table.loc["mean", list(MODELS)].astype(float).sort_values(ascending=False)
    ranking = " > ".join(f"{rep.MODEL_LABELS[m]} {v:.2f}" for m, v in mean.items())
    params = count_parameters(build_model("transformer", n_features=meta["n_features"], n_muscles=meta["n_muscles"]))
    scores = pd.DataFrame({"RMSE (all test values)": overall, "Pearson r": pearson}).T
    sections = [
        (
            "Result",
            (
                f"Mean RMSE over {n_named} exercises, worst to best: {ranking}"
                + (
                    f" (noise floor {table.loc['mean', 'noise_floor']:.2f})."
                    if table["noise_floor"].notna().any()
                    else "."
                )
                + f"\n\nRMSE on the raw EMG scale ({meta.get('emg_units') or 'dataset units'}), "
                "over all values of the test windows "
                "(windows x muscles x steps), per exercise; the last "
                "row is the mean over exercises. The noise floor is "
                "the RMSE of the recorded EMG against its noise-free "
                "truth: no model can be expected to go below it. "
                f"Sync events (the clap before an exercise) are left out of every score: {sync_note}.\n\n"
                + (
                    f"{unknown_segments(ds)} segments with unknown exercise (their session named none) are grouped as "
                    f"'{UNKNOWN_EXERCISE}': split in time like any exercise, "
                    "shown in their own row, left out of the mean.\n\n"
                    if unknown_segments(ds)
                    else ""
                )
                + rep.markdown_table(table, index_name="exercise")
                + "\n\n"
                + rep.image(bars, path, "RMSE per exercise")
            ),
        ),
        (
            "All test windows",
            rep.markdown_table(scores)
            + "\n\nPer muscle (RMSE):\n\n"
            + rep.markdown_table(per_muscle, index_name="muscle"),
        ),
        ("An example test window", rep.image(example, path, "example window")),
        (
            "Setup",
            "\n".join(
                [
                    f"- dataset: {ds.sizes['frame']} frames, {ds.sizes['segment']} segments, "
                    f"{len(set(ds['segment_subject'].values.astype(str).tolist()))} subjects, {n_named} exercises; "
                    f"provenance {provenance_of(ds).get('pipeline', '?')} "
                    f"{str(provenance_of(ds).get('pipeline_sha256', ''))[:12]}",
                    f"- split: in-distribution, last {config.test_fraction:.0%} "
                    "of each subject x exercise in time for test, "
                    f"then validation ({config.val_fraction:.0%} of the rest), "
                    f"gaps of one window; windows of {config.window} steps; "
                    f"{splits.sizes()['train']} train (stride {config.stride}), {splits.sizes()['val']} validation, "
                    f"{splits.sizes()['test']} test windows (stride {config.eval_stride or config.window})",
                    f"- Transformer: the paper's architecture, {params:,} "
                    f"parameters; step {meta['step']}, best validation RMSE "
                    f"{meta['best_val_rmse']:.2f}; "
                    + (f"trained in {train_wall_s:.0f} s" if train_wall_s is not None else f"loaded from {checkpoint}"),
                    f"- training config: `{json.dumps(asdict(config))}`",
                    "- Nearest Neighbour: L2 between flattened normalized keypoint "
                    "windows, among the training windows of the same subject",
                    f"- Random: a random training window of the same exercise (seed {config.seed})",
                ]
            ),
        ),
    ]
    history = out / "transformer" / "history.csv"
    if history.exists() and train_wall_s is not None:
        curve = rep.plot_history(
            pd.read_csv(history),
            out / "training_curve.png",
            units=str(meta.get("emg_units") or ds.attrs.get("emg_units", "")),
            title=f"the paper's Transformer on {provenance_of(ds).get('pipeline', 'the dataset')}",
        )
        sections.insert(3, ("Training", rep.image(curve, path, "training curve")))
    return rep.write_report(path, title="In-distribution benchmark", sections=sections)
