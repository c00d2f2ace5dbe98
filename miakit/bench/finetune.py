"""Fine-tuning on a lab's own recordings, leave one trial out (``miakit bench finetune``).

The recipe, for a checkpoint trained elsewhere (on synthetic data, say) and a lab's imported store
(``miakit import c3d``: one segment per trial and view):

1. For each trial (``segment_session``), hold out *all* of its segments (every view: a trial's
   views are the same muscles seen twice, so they never sit on both sides of a split).
2. Fine-tune: start from the checkpoint's weights and input scaling (``train(..., init=...)``,
   a fresh optimizer), train on the other trials' segments for ``steps`` steps at ``lr``.
3. From scratch: the same model, config, data and steps, from a random start.
The lab's EMG is first scaled per trial and muscle (:func:`normalized_emg`): its units say nothing
about effort, and the checkpoint predicts on its own scale.

4. Score both on the held-out trial with :func:`miakit.bench.real.score_segments` (r, lag,
   surrogate p, specificity, gait-cycle peaks), and the checkpoint itself as it came ("as is").

The config is the checkpoint's own (model, features, window, context), with the run's steps and
lr, no validation split (the trials are too short to spare one: the last step's weights are
scored) and no early stopping. Muscles a trial did not record are NaN and the loss skips them.
``report.md`` has a table per method (median r, own beats other side, quadriceps timing) per
held-out trial and pooled; ``finetune.csv`` the same; ``units.csv`` every unit of every run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from miakit.bench import report as rep
from miakit.bench.real import score_segments, summarize
from miakit.errors import DatasetError
from miakit.learn.predict import load
from miakit.learn.train import train
from miakit.learn.windows import load_frames, split_holdout

if TYPE_CHECKING:
    import pandas as pd


METHODS = ("as_is", "finetuned", "scratch")


@dataclass
class FinetuneResult:
    report: Path
    table: pd.DataFrame  # rows (held-out trial or 'pooled', method); columns of bench real's summary
    units: pd.DataFrame  # every unit of every run, with 'held_out' and 'method'
    wall_s: float


def run_finetune(
    ds,
    checkpoint,
    out: str | Path,
    *,
    steps: int = 200,
    lr: float = 3e-4,
    surrogates: int = 200,
    seed: int = 0,
    progress: bool = False,
) -> FinetuneResult:
    """Leave one trial out on ``ds``: the checkpoint as is, fine-tuned, and trained from scratch (see the module)."""
    import pandas as pd

    t0 = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    base = load(checkpoint)
    trials = np.asarray(ds["segment_session"].values).astype(str)
    names = sorted(set(trials.tolist()))
    if len(names) < 2:
        raise DatasetError(
            "<dataset>",
            "leave one trial out needs at least 2 trials",
            field="segment_session",
            expected=">= 2 trials",
            found=names,
        )
    config = replace(
        base.config,
        max_steps=steps,
        lr=lr,
        warmup_steps=max(1, min(base.config.warmup_steps, steps // 10)),
        eval_every=steps,
        patience=10**6,
        val_fraction=0.0,
        max_seconds=0.0,
        seed=seed,
    )
    ds = normalized_emg(ds)
    frames = load_frames(ds)
    units, cycles, runs = [], [], []
    for held_out, test, splits in leave_one_trial_out(ds, window=config.window, stride=config.stride):
        if len(splits.train) == 0:
            raise DatasetError(
                "<dataset>",
                f"the trials other than {held_out} have no window of {config.window} frames to train on",
                field="segment_length",
                expected=f">= {config.window} frames",
                found=int(ds["segment_length"].values[~test].max()),
            )
        segments = np.flatnonzero(test)
        models = {"as_is": base}
        for method, init in (("finetuned", base.path), ("scratch", None)):
            run = train(
                ds,
                config,
                out / "runs" / _safe(held_out) / method,
                progress=progress,
                splits=splits,
                frames=frames,
                init=init,
            )
            models[method] = load(run.checkpoint)
            runs.append(
                {
                    "held_out": held_out,
                    "method": method,
                    "train_windows": len(splits.train),
                    "steps": run.steps,
                    "wall_s": round(run.wall_s, 1),
                }
            )
        for method in METHODS:
            u, c = _score(ds, models[method], segments, surrogates=surrogates, seed=seed)
            units.append(u.assign(held_out=held_out, method=method))
            cycles.append(c.assign(held_out=held_out, method=method))
    units_all, cycles_all = pd.concat(units, ignore_index=True), pd.concat(cycles, ignore_index=True)
    rows = []
    for (held_out, method), u in list(units_all.groupby(["held_out", "method"], sort=False)) + [
        (("pooled", m), units_all[units_all["method"] == m]) for m in METHODS
    ]:
        c = cycles_all[
            (cycles_all["method"] == method) & ((cycles_all["held_out"] == held_out) | (held_out == "pooled"))
        ]
        rows.append(summarize(u, c).loc[["all"]].assign(held_out=held_out, method=method))
    table = pd.concat(rows).set_index(["held_out", "method"])
    table.to_csv(out / "finetune.csv", float_format="%.4f")
    units_all.to_csv(out / "units.csv", index=False, float_format="%.4f")
    cycles_all.to_csv(out / "cycles.csv", index=False, float_format="%.2f")
    wall_s = time.perf_counter() - t0
    report = _write_report(out / "report.md", ds, base, config, table, pd.DataFrame(runs), names, wall_s)
    return FinetuneResult(report, table, units_all, wall_s)


def leave_one_trial_out(ds, *, window: int, stride: int = 1):
    """(trial, its segments as a bool mask, splits) per trial (``segment_session``, sorted): test
    on every segment of the trial (all its views), train on every segment of the others, no validation."""

    trials = np.asarray(ds["segment_session"].values).astype(str)
    for held_out in sorted(set(trials.tolist())):
        test = trials == held_out
        yield held_out, test, split_holdout(ds, ~test, test, window=window, stride=stride, val_fraction=0.0)


REFERENCE_LEVEL = 50.0
"""Each trial's muscle is scaled so its 95th percentile is this (about the synthetic data's level)."""


def normalized_emg(ds, *, level: float = REFERENCE_LEVEL):
    """A copy of ``ds`` (loaded) whose EMG is scaled per segment and muscle to a 95th percentile of
    ``level``: a lab's units (microvolts of an RMS envelope, volts) say nothing about effort, and a
    model trained elsewhere predicts on its own scale. Pearson r and the peak timing do not change."""
    ds = ds.load().copy(deep=True)
    emg = np.asarray(ds["emg"].values, dtype=np.float64)
    for a, n in zip(np.asarray(ds["segment_start"].values), np.asarray(ds["segment_length"].values)):
        part = emg[a : a + n]
        top = np.array(
            [np.percentile(col[np.isfinite(col)], 95) if np.isfinite(col).any() else np.nan for col in part.T]
        )
        scale = np.where(np.isfinite(top) & (top > 0), level / np.where(top > 0, top, 1.0), 1.0)
        emg[a : a + n] = part * scale[None]
    ds["emg"] = (
        ("frame", "muscle"),
        emg.astype(np.float32),
        ds["emg"].attrs | {"units": f"95th percentile of each trial = {level:g}"},
    )
    ds.attrs["emg_units"] = f"95th percentile of each trial = {level:g}"
    return ds


def _score(ds, checkpoint, segments, *, surrogates: int, seed: int):

    units, cycles, _ = score_segments(ds, checkpoint, segments=segments, surrogates=surrogates, seed=seed)
    return units, cycles


def _write_report(path: Path, ds, base, config, table, runs, names: list[str], wall_s: float) -> Path:

    shown = table[
        ["units", "median_r", "own_beats_other_side", "side_units", "quad_cycles", "quad_peak_0_20_predicted"]
    ].copy()
    shown.index = [f"{h} / {m}" for h, m in shown.index]
    note = (
        f"With {len(names)} trials this is a check that the recipe runs, not a measurement: each model learns from "
        f"{'one other trial' if len(names) == 2 else 'the other trials'}, and trials that recorded different muscles "
        "(a walk's legs, a lift's arm) teach little about each other: a "
        "model trained from scratch on trials that never recorded a muscle "
        "predicts it as a constant, so its r is undefined (shown as -). "
        "Bring more trials of the same task for numbers that mean something."
    )
    sections = [
        (
            "What was done",
            (
                f"Leave one trial out over {len(names)} trials ({', '.join(names)}); "
                "every view of the held-out trial is tested, none of "
                f"its views is trained on. **as_is**: `{base.path}` unchanged; "
                "**finetuned**: from its weights (a fresh optimizer); "
                f"**scratch**: the same {config.model} from a random start. "
                f"Both trained {config.max_steps} steps, peak lr {config.lr:g}, "
                f"batch {config.batch_size}, windows of {config.window} "
                f"frames, features {config.features}, no validation split "
                "(the last step is scored). Scores as in `miakit bench real`.\n\n" + note
            ),
        ),
        (
            "Held-out trials: median own r, own beats other side, quadriceps timing",
            rep.markdown_table(shown, index_name="held out / method")
            + "\n\nCSV: `finetune.csv`; every unit: `units.csv`; gait cycles: `cycles.csv`.",
        ),
        (
            "Runs",
            rep.markdown_table(runs.set_index("held_out"), index_name="held out") + f"\n\nWall time {wall_s:.0f} s.",
        ),
    ]
    return rep.write_report(path, title="Fine-tuning on a lab's own trials: leave one trial out", sections=sections)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
