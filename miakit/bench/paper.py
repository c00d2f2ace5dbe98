"""The paper's experiments as one suite: Table 1, Table 2, Figures 6, 7 and 8 (`miakit bench paper`).

``run_paper(ds, out, profile=...)`` runs, on any contract-2 dataset (synthetic, recorded or an
imported MIA release; exercise and muscle names come from the data):

- Table 1: in-distribution (the source's own train/val split where ``segment_split`` has one,
  else about 80/20 in time within each subject and exercise) and leave-one-exercise-out (one
  model per left-out exercise); Random, Nearest Neighbour, CNN and Transformer; RMSE per
  exercise and the mean over exercises, Pearson r beside it.
- Table 2: window lengths of 1 frame and 0.5 to 3 s (in-distribution): NN, CNN, Transformer.
- Figure 7: subject transfer: a Transformer trained on one subject, fine-tuned on growing numbers
  of another subject's exercises, against training from scratch on the same exercises; both
  tested on the other subject's remaining exercises.
- Figure 8: retrieval similarity: for each in-distribution test window its nearest training
  window (of another subject where there is one) by pose (L2 on the flattened normalized
  keypoints) and by the Transformer's representation (encoder output, mean over time); how often
  exercise j is retrieved for exercise i, rows normalized.
- Figure 6: predicted vs measured EMG over time for a few in-distribution test windows.

Everything is written to one folder: ``report.md`` (written by
:func:`miakit.bench.report.paper_report`), ``*.csv`` and ``*.png``. A profile (:class:`PaperProfile`:
``quick``, ``default``, ``full``) sets the training length and how many experiments run; the report
states it with the sizes, steps and wall time of every experiment.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from miakit.bench import report as rep
from miakit.bench.report import COLORS, UNITS, save_plot
from miakit.contracts.dataset import UNKNOWN_EXERCISE, segment_of_frame
from miakit.errors import DatasetError, InputError
from miakit.learn import metrics
from miakit.learn.config import TrainConfig
from miakit.learn.inference import load_checkpoint, predict, resolve_device
from miakit.learn.models import NearestNeighbour, RandomBaseline, build_model, count_parameters
from miakit.learn.train import train
from miakit.learn.windows import (
    has_release_split,
    known_exercises,
    load_frames,
    segment_table,
    split_in_distribution,
    split_leave_one_exercise_out,
    split_release,
    split_subject_transfer,
    unknown_segments,
)
from miakit.viz.plots import new_figure, predicted_vs_measured, save_figure

if TYPE_CHECKING:
    import pandas as pd

    from miakit.bench.real import RealResult


METHODS = ("random", "nn", "cnn", "transformer")
NEURAL_METHODS = ("cnn", "transformer")


@dataclass(frozen=True)
class PaperProfile:
    """How much of the paper to run, and how long to train each model."""

    name: str
    max_steps: int  # training steps of every neural model (early stopping may end it sooner)
    lr: float = 2e-3
    warmup_steps: int = 50
    eval_every: int = 50
    patience: int = 5
    batch_size: int = 32
    window: int = 30  # steps per window in Table 1, Figures 6 to 8
    stride: int = 1  # steps between training windows
    val_fraction: float = 0.1
    loeo_exercises: int = 0  # exercises left out one at a time (evenly spread over the sorted names); 0: all
    window_lengths: tuple[int, ...] = (1, 5, 10, 15, 20, 25, 30)  # Table 2, in steps
    transfer_ks: tuple[int, ...] = (1, 2, 4, 8)  # Figure 7: the target subject's exercises used
    finetune_steps: int = 0  # steps of each fine-tuning / from-scratch run in Figure 7; 0: max_steps
    retrieval_database: int = 2000  # at most this many training windows searched in Figure 8
    example_windows: int = 3  # Figure 6
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.max_steps < 1 or self.window < 1 or not self.window_lengths:
            raise InputError(
                "paper profile",
                "needs max_steps >= 1, window >= 1 and some window lengths",
                field=self.name,
                found=(self.max_steps, self.window, self.window_lengths),
            )

    def train_config(self, model: str, *, window: int | None = None, steps: int | None = None):
        """The :class:`~miakit.learn.config.TrainConfig` of one neural run of this profile."""

        steps, window = steps or self.max_steps, window or self.window
        return TrainConfig(
            model=model,
            window=window,
            stride=self.stride,
            batch_size=self.batch_size_for(window),
            lr=self.lr,
            warmup_steps=min(self.warmup_steps, max(steps // 5, 1)),
            max_steps=steps,
            eval_every=min(self.eval_every, steps),
            patience=self.patience,
            val_fraction=self.val_fraction,
            seed=self.seed,
            device=self.device,
        )

    def batch_size_for(self, window: int) -> int:
        """Windows per training step at ``window`` steps: ``batch_size`` at the profile's window, and
        as many frames per step at every other length (Table 2). With a fixed number of steps, 32
        one-frame windows a step would give a model 30 times less data than 32 three-second ones,
        and the Transformer would not learn at all (21.2 RMSE at one frame, Random's level): the
        table would compare training budgets, not window lengths."""
        return max(1, round(self.batch_size * self.window / window))


PROFILES = {
    # CI minutes on a 2-core CPU: short training, 2 exercises left out, 3 window lengths, k in (1, 2)
    "quick": PaperProfile(
        "quick",
        max_steps=100,
        warmup_steps=20,
        eval_every=25,
        loeo_exercises=2,
        window_lengths=(1, 10, 30),
        transfer_ks=(1, 2),
        retrieval_database=1000,
    ),
    # over lunch (about an hour on a 2-core CPU for 3 subjects x 20 exercises): the demo's training
    # length, 6 exercises left out (a 500-step Transformer run takes about 140 s here, so all 20
    # would add another hour), fine-tuning runs of 250 steps
    "default": PaperProfile("default", max_steps=500, loeo_exercises=6, transfer_ks=(1, 2, 4, 8), finetune_steps=250),
    # the paper's scale: long training with early stopping, every exercise left out, k from 1 to 10
    "full": PaperProfile(
        "full",
        max_steps=3000,
        lr=1e-3,
        warmup_steps=100,
        eval_every=100,
        patience=10,
        transfer_ks=tuple(range(1, 11)),
        retrieval_database=10000,
    ),
}


def get_profile(profile: str | PaperProfile, **changes) -> PaperProfile:
    """A profile by name (``quick``, ``default``, ``full``) or as given, with ``changes`` applied."""
    if isinstance(profile, str):
        if profile not in PROFILES:
            raise InputError(
                "paper profile", "unknown profile", field="profile", expected=f"one of {list(PROFILES)}", found=profile
            )
        profile = PROFILES[profile]
    return replace(profile, **changes) if changes else profile


@dataclass
class PaperResult:
    """Where the report is and the tables in it (pandas DataFrames)."""

    report: Path
    profile: PaperProfile
    table1: dict  # experiment -> DataFrame (rows exercises + 'mean'; columns METHODS, noise_floor, windows)
    summary: pd.DataFrame  # rows (experiment, method); columns rmse, pearson
    table2: pd.DataFrame | None  # rows window length; columns per method RMSE and Pearson r
    transfer: pd.DataFrame | None  # rows k; columns finetuned, scratch (RMSE and r)
    retrieval: dict = field(default_factory=dict)  # 'pose' / 'learned' -> DataFrame (exercise x exercise)
    experiments: pd.DataFrame | None = (
        None  # one row per training or fit: experiment, method, windows, batch, steps, wall_s
    )
    wall_s: float = 0.0
    real: RealResult | None = (
        None  # miakit.bench.real.RealResult of the in-distribution Transformer on a real dataset, where given
    )


class _Log:
    """Rows of the experiments table: what ran, on how many windows, with what batch, for how many steps, how long."""

    def __init__(self):
        self.rows: list[dict] = []

    def add(
        self,
        experiment: str,
        method: str,
        splits,
        *,
        steps: int | None,
        wall_s: float,
        stopped: str = "",
        batch: int = 0,
    ) -> None:
        sizes = splits.sizes()
        self.rows.append(
            {
                "experiment": experiment,
                "method": method,
                "train": sizes["train"],
                "val": sizes["val"],
                "test": sizes["test"],
                "window": splits.train.window,
                "batch": batch,
                "steps": steps or 0,
                "stopped": stopped or "fitted",
                "wall_s": round(wall_s, 2),
            }
        )


def run_paper(
    ds, out: str | Path, *, profile: str | PaperProfile = "default", progress: bool = True, real=None
) -> PaperResult:
    """Run the paper's experiments on ``ds`` with ``profile`` and write ``out/report.md``, CSVs and PNGs.

    ``real``: a dataset of real recordings (an imported C3D store): the in-distribution Transformer
    is also scored on it (:func:`miakit.bench.real.run_real`, in ``out/real``) and the report gets
    a "Real EMG" section."""
    import pandas as pd

    t0 = time.perf_counter()
    profile = get_profile(profile)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frames = load_frames(ds)
    log = _Log()
    release = has_release_split(ds)
    indist_name = "in-distribution (release split)" if release else "in-distribution"

    # Table 1, left (its Transformer also serves Figures 6 and 8)
    splits = _indist_splits(ds, profile, profile.window)
    indist = _evaluate_all(ds, frames, splits, profile, out / "runs" / "indist", indist_name, log, progress)
    tables = {indist_name: indist.table}
    scores = {indist_name: indist.scores}

    # Table 1, right
    left_out = _loeo_exercises(ds, profile)
    notes: list[str] = []
    unknown = unknown_segments(ds)
    if unknown:
        notes.append(
            f"{unknown} segments with unknown exercise: grouped as "
            f"'{UNKNOWN_EXERCISE}' in-distribution (their own row, "
            "not in the mean over exercises), left out of leave-one-exercise-out and subject transfer."
        )
    if left_out:
        table, loeo_scores = _leave_one_exercise_out(ds, frames, profile, left_out, out, log, progress)
        tables["leave-one-exercise-out"], scores["leave-one-exercise-out"] = table, loeo_scores
    else:
        notes.append("Leave-one-exercise-out needs at least 2 exercises: skipped.")

    # Table 2
    table2 = _window_lengths(ds, frames, profile, indist, out, log, progress)

    # Figure 7
    transfer = _subject_transfer(ds, frames, profile, out, log, progress, notes)

    # Figure 8
    retrieval = _retrieval(frames, splits, indist.models["transformer"], profile)

    summary = pd.DataFrame(
        [
            {"experiment": e, "method": m, "rmse": s[m]["rmse"], "pearson": s[m]["pearson"]}
            for e, s in scores.items()
            for m in METHODS
        ]
    ).set_index(["experiment", "method"])
    experiments = pd.DataFrame(log.rows)
    wall_s = time.perf_counter() - t0
    result = PaperResult(out / "report.md", profile, tables, summary, table2, transfer, retrieval, experiments, wall_s)
    if real is not None:
        from miakit.bench.real import run_real

        result.real = run_real(real, out / "runs" / "indist" / "transformer" / "checkpoint.pt", out / "real")
    _write_outputs(result, ds, frames, splits, indist, notes, release)
    return result


# -- experiments ---------------------------------------------------------------------------------------


@dataclass
class _Evaluation:
    table: pd.DataFrame  # DataFrame per exercise + mean
    scores: dict  # method -> {"rmse": overall, "pearson": r}
    preds: dict  # method -> (N, M, T)
    y_test: np.ndarray
    models: dict  # neural method -> torch model


def _indist_splits(ds, profile: PaperProfile, window: int):

    if has_release_split(ds):
        return split_release(ds, window=window, stride=profile.stride, val_fraction=profile.val_fraction)
    return split_in_distribution(ds, window=window, stride=profile.stride, val_fraction=profile.val_fraction)


def _fit_neural(
    ds,
    frames,
    splits,
    method: str,
    profile: PaperProfile,
    run_dir: Path,
    experiment: str,
    log: _Log,
    progress: bool,
    *,
    steps: int | None = None,
    init: Path | None = None,
    label: str | None = None,
):
    """Train ``method`` on ``splits`` and return (model in eval mode, checkpoint path)."""

    config = profile.train_config(method, window=splits.train.window, steps=steps)
    result = train(ds, config, run_dir, progress=progress, splits=splits, frames=frames, init=init)
    log.add(
        experiment,
        label or method,
        splits,
        steps=result.steps,
        wall_s=result.wall_s,
        stopped=result.stopped,
        batch=config.batch_size,
    )
    model, _, _ = load_checkpoint(result.checkpoint, device=resolve_device(profile.device))
    return model, result.checkpoint


def _baselines(frames, splits, profile: PaperProfile, methods: tuple[str, ...]) -> dict[str, np.ndarray]:

    x_train, y_train, _ = frames.gather(splits.train)
    x_test, _, _ = frames.gather(splits.test)
    preds = {}
    if "random" in methods:
        preds["random"] = (
            RandomBaseline(seed=profile.seed)
            .fit(x_train, y_train, splits.train.exercise)
            .predict(x_test, splits.test.exercise)
        )
        # an exercise never seen in training has no window to copy: no prediction (the paper leaves it blank)
        unseen = ~np.isin(splits.test.exercise, splits.train.exercise)
        preds["random"][unseen] = np.nan
    if "nn" in methods:
        preds["nn"] = (
            NearestNeighbour().fit(x_train, y_train, splits.train.subject).predict(x_test, splits.test.subject)
        )
    return preds


def _evaluate_all(
    ds,
    frames,
    splits,
    profile,
    run_dir: Path,
    experiment: str,
    log: _Log,
    progress: bool,
    methods: tuple[str, ...] = METHODS,
) -> _Evaluation:

    t = time.perf_counter()
    preds = _baselines(frames, splits, profile, methods)
    for m in preds:
        log.add(experiment, m, splits, steps=None, wall_s=time.perf_counter() - t)
    models = {}
    x_test, y_test, clean = frames.gather(splits.test)
    for method in (m for m in methods if m in NEURAL_METHODS):
        models[method], _ = _fit_neural(
            ds, frames, splits, method, profile, run_dir / method, experiment, log, progress
        )
        preds[method] = predict(models[method], x_test, emg_scale=profile.train_config(method).emg_scale)
    preds = {m: preds[m] for m in methods}
    return _Evaluation(
        _per_exercise(preds, y_test, clean, splits.test.exercise), _scores(preds, y_test), preds, y_test, models
    )


def _per_exercise(preds: dict, y_test: np.ndarray, clean: np.ndarray | None, exercise: np.ndarray):
    import pandas as pd

    rows = {}
    for ex in sorted(set(exercise.tolist())):
        sel = exercise == ex
        row = {m: metrics.rmse(p[sel], y_test[sel]) for m, p in preds.items()}
        row["noise_floor"] = metrics.noise_floor(y_test[sel], clean[sel]) if clean is not None else float("nan")
        row["windows"] = int(sel.sum())
        rows[ex] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    return _with_mean(table)


def _with_mean(table):
    named = table.drop(index=UNKNOWN_EXERCISE) if UNKNOWN_EXERCISE in table.index and len(table) > 1 else table.copy()
    table.loc["mean"] = named.mean(numeric_only=True)  # NaN-skipping: a method with no rows stays NaN
    table.loc["mean", "windows"] = int(named["windows"].sum())  # an 'unknown' row is shown, not averaged
    table["windows"] = table["windows"].astype(int)
    table.index.name = "exercise"
    return table


def _scores(preds: dict, y_test: np.ndarray) -> dict:
    out = {}
    for m, p in preds.items():
        ok = ~np.isnan(p).any(axis=(1, 2))
        out[m] = {"rmse": metrics.rmse(p[ok], y_test[ok]), "pearson": metrics.pearson(p[ok], y_test[ok])}
    return out


def _loeo_exercises(ds, profile: PaperProfile) -> list[str]:

    names = known_exercises(ds)
    if len(names) < 2:
        return []
    n = profile.loeo_exercises or len(names)
    if n >= len(names):
        return names
    return [names[i] for i in np.unique(np.linspace(0, len(names) - 1, n).round().astype(int))]


def _leave_one_exercise_out(ds, frames, profile, left_out: list[str], out: Path, log: _Log, progress: bool):
    """One model per left-out exercise; the tested windows of all of them pooled for the overall scores."""
    import pandas as pd

    preds: dict[str, list[np.ndarray]] = {m: [] for m in METHODS}
    tables, truths = [], []
    for exercise in left_out:
        splits = split_leave_one_exercise_out(
            ds, exercise, window=profile.window, stride=profile.stride, val_fraction=profile.val_fraction
        )
        ev = _evaluate_all(
            ds, frames, splits, profile, out / "runs" / "loeo" / _safe(exercise), f"leave out {exercise}", log, progress
        )
        tables.append(ev.table.drop(index="mean"))
        truths.append(ev.y_test)
        for m in METHODS:
            preds[m].append(ev.preds[m])
    table = _with_mean(pd.concat(tables))
    return table, _scores({m: np.concatenate(p) for m, p in preds.items()}, np.concatenate(truths))


def _window_lengths(ds, frames, profile, indist: _Evaluation, out: Path, log: _Log, progress: bool):
    import pandas as pd

    rows = []
    for window in sorted(set(profile.window_lengths)):
        if window == profile.window:
            ev = indist  # Table 1's in-distribution run is this row
        else:
            try:
                splits = _indist_splits(ds, profile, window)
            except DatasetError as exc:  # a window longer than the data allows
                rows.append({"window_steps": window, "seconds": window / _rate(ds), "note": str(exc)[:100]})
                continue
            ev = _evaluate_all(
                ds,
                frames,
                splits,
                profile,
                out / "runs" / f"window{window}",
                f"window {window}",
                log,
                progress,
                methods=("nn", "cnn", "transformer"),
            )
        row = {"window_steps": window, "seconds": window / _rate(ds), "test_windows": int(len(ev.y_test))}
        for m in ("nn", "cnn", "transformer"):
            row[m] = ev.scores[m]["rmse"]
        for m in ("nn", "cnn", "transformer"):
            row[f"{m}_r"] = ev.scores[m]["pearson"]
        rows.append(row)
    return pd.DataFrame(rows).set_index("window_steps")


def _transfer_subjects(ds) -> tuple[str, str] | None:
    """Source and target for Figure 7: the two subjects with the most valid frames (ties by name)."""

    subjects, exercises, _ = segment_table(ds)
    valid = np.asarray(ds["valid"].values, bool)
    counts = np.bincount(segment_of_frame(ds)[valid], minlength=len(subjects))
    per_subject = {s: int(counts[subjects == s].sum()) for s in sorted(set(subjects.tolist()))}
    ranked = sorted(per_subject, key=lambda s: (-per_subject[s], s))
    if len(ranked) < 2:
        return None
    source = ranked[0]  # the paper trains on its larger subject and transfers to the smaller one
    target = next((s for s in ranked[1:] if len(set(exercises[subjects == s].tolist())) >= 2), None)
    if target is None:
        return None
    return source, target


def _subject_transfer(ds, frames, profile, out: Path, log: _Log, progress: bool, notes: list[str]):
    import pandas as pd

    pair = _transfer_subjects(ds)
    if pair is None:
        notes.append("Subject transfer needs 2 subjects, the target with at least 2 exercises: skipped.")
        return None
    source, target = pair
    try:
        ts = split_subject_transfer(
            ds,
            source=source,
            target=target,
            ks=profile.transfer_ks,
            window=profile.window,
            stride=profile.stride,
            val_fraction=profile.val_fraction,
        )
    except DatasetError as exc:
        notes.append(f"Subject transfer ({source} -> {target}) skipped: {str(exc)[:160]}")
        return None
    run_dir = out / "runs" / "transfer"
    steps = profile.finetune_steps or profile.max_steps
    scale = profile.train_config("transformer").emg_scale
    x_test, y_test, _ = frames.gather(ts.pretrain.test)
    base, base_ckpt = _fit_neural(
        ds,
        frames,
        ts.pretrain,
        "transformer",
        profile,
        run_dir / "pretrain",
        f"transfer: train on {source}",
        log,
        progress,
    )
    zero = predict(base, x_test, emg_scale=scale)
    rows = [
        {
            "k": 0,
            "exercises": "",
            "finetuned": metrics.rmse(zero, y_test),
            "scratch": float("nan"),
            "finetuned_r": metrics.pearson(zero, y_test),
            "scratch_r": float("nan"),
        }
    ]
    for k, splits in ts.by_k.items():
        row = {"k": k, "exercises": " ".join(ts.train_exercises[:k])}
        for how, init in (("finetuned", base_ckpt), ("scratch", None)):
            model, _ = _fit_neural(
                ds,
                frames,
                splits,
                "transformer",
                profile,
                run_dir / f"{how}{k}",
                f"transfer: {how}, k={k}",
                log,
                progress,
                steps=steps,
                init=init,
                label=f"transformer ({how})",
            )
            pred = predict(model, x_test, emg_scale=scale)
            row[how], row[f"{how}_r"] = metrics.rmse(pred, y_test), metrics.pearson(pred, y_test)
        rows.append(row)
    table = pd.DataFrame(rows).set_index("k")
    table.attrs.update(source=source, target=target, test_exercises=list(ts.test_exercises), test_windows=len(y_test))
    return table


def _retrieval(frames, splits, model, profile: PaperProfile) -> dict:
    """Row-normalized matrices: how often a test window of exercise i retrieves a training window of exercise j."""
    import pandas as pd

    train = splits.train
    pool = np.arange(len(train))
    if len(train) > profile.retrieval_database:
        pool = np.unique(np.linspace(0, len(train) - 1, profile.retrieval_database).round().astype(int))
    db = train.select(pool)
    x_db, _, _ = frames.gather(db)
    x_q, _, _ = frames.gather(splits.test)
    names = sorted(set(db.exercise.tolist()) | set(splits.test.exercise.tolist()))
    reps = {
        "pose": (x_q.reshape(len(x_q), -1), x_db.reshape(len(x_db), -1)),
        "learned": (_representation(model, x_q), _representation(model, x_db)),
    }
    other_subjects = len(set(db.subject.tolist())) > 1  # retrieve across subjects where the data has several
    out = {}
    for kind, (q, d) in reps.items():
        hit = _nearest(q, d, splits.test.subject, db.subject, exclude_same=other_subjects)
        counts = pd.DataFrame(0.0, index=pd.Index(names, name="query"), columns=pd.Index(names, name="retrieved"))
        for qi, di in enumerate(hit):
            if di >= 0:
                counts.loc[splits.test.exercise[qi], db.exercise[di]] += 1
        totals = counts.sum(axis=1).replace(0, np.nan)
        matrix = counts.div(totals, axis=0)
        matrix.attrs["cross_subject"] = other_subjects
        out[kind] = matrix
    return out


def _representation(model, x: np.ndarray, *, batch_size: int = 256) -> np.ndarray:
    """The Transformer's encoder output averaged over time, (N, d_model)."""
    import torch

    device = next(model.parameters()).device
    model.eval()
    parts = []
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            xb = torch.from_numpy(np.ascontiguousarray(x[i : i + batch_size], dtype=np.float32)).to(device)
            parts.append(model.features(xb).mean(dim=1).float().cpu().numpy())
    return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)


def _nearest(
    q: np.ndarray, d: np.ndarray, q_subject: np.ndarray, d_subject: np.ndarray, *, exclude_same: bool, block: int = 512
) -> np.ndarray:
    """Index into ``d`` of each query's nearest row by L2 (of another subject where ``exclude_same``; -1: none)."""
    q, d = q.astype(np.float32), d.astype(np.float32)
    d_sq = np.einsum("ij,ij->i", d, d)
    out = np.full(len(q), -1, dtype=np.int64)
    for i in range(0, len(q), block):
        dist = d_sq[None, :] - 2.0 * (q[i : i + block] @ d.T)
        if exclude_same:
            dist = np.where(q_subject[i : i + block, None] == d_subject[None, :], np.inf, dist)
        best = np.argmin(dist, axis=1)
        out[i : i + block] = np.where(np.isfinite(dist[np.arange(len(best)), best]), best, -1)
    return out


# -- outputs -------------------------------------------------------------------------------------------


def _write_outputs(
    result: PaperResult, ds, frames, splits, indist: _Evaluation, notes: list[str], release: bool
) -> None:

    out = result.report.parent
    files = {}
    for i, (name, table) in enumerate(result.table1.items()):
        stem = "table1_in_distribution" if i == 0 else "table1_leave_one_exercise_out"
        table.to_csv(out / f"{stem}.csv")
        files[name] = (
            stem,
            rep.plot_per_exercise(table, out / f"{stem}.png", models=METHODS, title=f"{name}: RMSE per exercise"),
        )
    result.summary.to_csv(out / "table1_summary.csv")
    if result.table2 is not None:
        result.table2.to_csv(out / "table2_window_length.csv")
    if result.transfer is not None:
        result.transfer.to_csv(out / "figure7_subject_transfer.csv")
        _plot_transfer(result.transfer, out / "figure7_subject_transfer.png")
    for kind, matrix in result.retrieval.items():
        matrix.to_csv(out / f"figure8_retrieval_{kind}.csv")
    if result.retrieval:
        _plot_retrieval(result.retrieval, out / "figure8_retrieval.png")
    examples = _plot_examples(ds, frames, splits, indist, result.profile, out)
    assert result.experiments is not None
    result.experiments.to_csv(out / "experiments.csv", index=False)
    (out / "summary.json").write_text(json.dumps(_summary_json(result), indent=2, default=_json_default))
    parameters = {
        m: count_parameters(build_model(m, n_features=len(ds["keypoint"]) * 2, n_muscles=len(ds["muscle"])))
        for m in NEURAL_METHODS
    }
    rep.paper_report(
        result,
        ds,
        files=files,
        examples=examples,
        notes=notes,
        release=release,
        methods=METHODS,
        parameters=parameters,
        retrieval_top1={k: _diagonal(m) for k, m in result.retrieval.items()},
        rate=_rate(ds),
    )


def _json_default(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if np.isnan(v) else float(v)
    return str(v)


def _summary_json(result: PaperResult) -> dict:
    return {
        "profile": asdict(result.profile),
        "wall_s": result.wall_s,
        "table1_mean": {e: {m: _nan_none(t.loc["mean", m]) for m in METHODS} for e, t in result.table1.items()},
        "pearson": {e: {m: _nan_none(result.summary.loc[(e, m), "pearson"]) for m in METHODS} for e in result.table1},
        "table2": None if result.table2 is None else json.loads(result.table2.to_json()),
        "transfer": None if result.transfer is None else json.loads(result.transfer.to_json()),
        "retrieval_top1": {k: _nan_none(_diagonal(m)) for k, m in result.retrieval.items()},
    }


def _nan_none(v):
    v = float(v)
    return None if np.isnan(v) else v


def _diagonal(matrix) -> float:
    """Mean over query exercises of the fraction of windows that retrieve their own exercise."""
    common = [e for e in matrix.index if e in matrix.columns]
    vals = [matrix.loc[e, e] for e in common if not np.isnan(matrix.loc[e].sum())]
    return float(np.mean(vals)) if vals else float("nan")


def _plot_transfer(table, path: Path) -> Path:

    fig = new_figure(6, 3.6)
    ax = fig.subplots()
    ks = table.index.values
    ax.plot(
        ks,
        table["finetuned"],
        marker="o",
        color=COLORS["transformer"],
        label=f"fine-tuned from {table.attrs.get('source', 'source')}",
    )
    ax.plot(ks[1:], table["scratch"].values[1:], marker="s", color=COLORS["nn"], label="from scratch")
    ax.set_xlabel(f"exercises of {table.attrs.get('target', 'the new subject')} used for training")
    ax.set_ylabel(f"test RMSE ({table.attrs.get('units') or UNITS})")
    ax.set_xticks(ks)
    ax.set_title("Subject transfer (Figure 7)")
    ax.legend(fontsize=8)
    return save_plot(fig, path)


def _plot_retrieval(matrices: dict, path: Path) -> Path:

    n = len(next(iter(matrices.values())))
    size = min(4 + 0.3 * n, 12)
    fig = new_figure(size * len(matrices), size)
    axes = fig.subplots(1, len(matrices), squeeze=False)
    for ax, (kind, m) in zip(axes[0], matrices.items()):
        im = ax.imshow(m.fillna(0).values, vmin=0, vmax=1, cmap="viridis")
        ax.set_xticks(range(len(m.columns)), list(m.columns), rotation=90, fontsize=7)
        ax.set_yticks(range(len(m.index)), list(m.index), fontsize=7)
        ax.set_xlabel("retrieved exercise")
        ax.set_ylabel("query exercise")
        ax.set_title({"pose": "by pose", "learned": "by the Transformer's representation"}.get(kind, kind), fontsize=9)
    fig.colorbar(im, ax=axes[0].tolist(), fraction=0.03)
    fig.suptitle("Retrieval similarity (Figure 8)")
    return save_plot(fig, path)


def _plot_examples(ds, frames, splits, indist: _Evaluation, profile: PaperProfile, out: Path) -> list[tuple[Path, str]]:
    """Figure 6: test windows at the 10th, 50th and 90th percentile of the Transformer's error."""

    pred, true = indist.preds["transformer"], indist.y_test
    if len(true) == 0 or profile.example_windows < 1:
        return []
    errors = np.sqrt(np.mean((pred - true) ** 2, axis=(1, 2)))
    order = np.argsort(errors)
    picks = sorted(
        {int(order[int(round(q * (len(order) - 1)))]) for q in np.linspace(0.1, 0.9, profile.example_windows)}
    )
    rate = _rate(ds)
    made = []
    for n, i in enumerate(picks, 1):
        t = np.arange(true.shape[-1]) / rate
        caption = (
            f"{splits.test.subject[i]}, {splits.test.exercise[i]}, frames "
            f"{splits.test.start[i]}-{splits.test.start[i] + true.shape[-1] - 1}: "
            f"Transformer RMSE {errors[i]:.2f}"
        )
        fig = predicted_vs_measured(
            t,
            true[i].T,
            pred[i].T,
            muscles=list(frames.muscles),
            title=caption,
            units=str(ds.attrs.get("emg_units", "")),
        )
        made.append((save_figure(fig, out / f"figure6_example{n}.png"), caption))
    return made


def _rate(ds) -> float:
    return float(ds.attrs.get("rate_hz", 10.0))


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
