"""How a checkpoint's predictions hold on real EMG (``miakit bench real``).

:func:`run_real` predicts every segment of a real dataset (an imported C3D store: one segment per
trial and view, ``muscle_present`` naming the muscles the trial recorded, ``event_*`` its gait
events) with :func:`miakit.learn.predict.predict_segment`, and scores each *unit* (segment x muscle
present in that segment):

- ``r``: Pearson r between the predicted and the measured envelope over the frames both have
  (scale-free, so the model's units and the lab's microvolts need not agree);
- ``lag_s``: the lag of the best cross-correlation within +-``max_lag_s``. Sign: a positive lag
  means the prediction comes *late*, ``predicted(t) ~ measured(t - lag)``; ``r_at_lag`` is r there;
- ``p``: the null of phase-randomized surrogates: ``surrogates`` copies of the prediction with the
  same power spectrum and random phases (seeded per unit); ``p = (1 + #(r_surrogate >= r)) /
  (1 + surrogates)``, one-sided (a prediction is supposed to correlate positively);
- specificity: ``r_other_side`` (the other side's prediction of the same muscle against this
  muscle's measured envelope) and ``own_beats_other_side``; ``r_other_muscles`` (the mean r of the
  other muscles' predictions against it) and ``own_rank`` (1: no other prediction matches it better);
- gait cycles, where the segment has ``foot_strike`` events: per cycle from one heel strike to the
  next of the muscle's side, where in the cycle (0-100 %) the predicted and the measured peaks fall.

Writes ``report.md`` (the issue-20 goals as MET / NOT MET with their numbers, a summary per view,
per trial and per lab: the origin the trial's source file names, :func:`lab_of`; with ``tuned_on``
the trials any choice behind the checkpoint was made on, and the goals on the others apart),
``units.csv``, ``cycles.csv``, ``summary.csv`` (per view), ``summary_trial.csv``,
``summary_lab.csv``, ``goals.json`` and one ``segment_<id>.png`` per segment. The
numbers are the model's, not tuned to any trial: nothing here fits anything to the measured EMG.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from miakit.bench import report as rep
from miakit.bench.report import goal_lines
from miakit.errors import DatasetError
from miakit.layout import MIRROR_MUSCLE
from miakit.learn import metrics
from miakit.learn.predict import load, predict_segment
from miakit.synth.mocap import (
    modelled_activation,
    read_motion,
)
from miakit.viz.plots import new_figure, save_figure

if TYPE_CHECKING:
    import pandas as pd


GOAL_MEDIAN_R = 0.5
GOAL_OWN_BEATS_OTHER_SIDE = 0.75
GOAL_QUAD_PEAK = 0.75
GOAL_LOWEST_TRIAL_R = 0.2  # issue 32: no trial's median own r below this
QUAD_PEAK_RANGE = (0.0, 20.0)  # % of the gait cycle: loading response
P_LEVEL = 0.05


@dataclass
class RealResult:
    """What :func:`run_real` found (pandas DataFrames) and where it wrote it."""

    report: Path
    units: pd.DataFrame  # one row per segment x muscle present
    cycles: pd.DataFrame  # one row per gait cycle x muscle present
    summary: pd.DataFrame  # one row per view, and 'all'
    goals: list  # dicts: goal, value, target, met (None: not measurable here)
    figures: list


# -- metrics: small pure functions ----------------------------------------------------------------


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r over the frames where both are finite; NaN when either is constant or too short."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"expected two series of the same length, found shapes {a.shape} and {b.shape}")
    ok = np.isfinite(a) & np.isfinite(b)
    return (
        metrics.pearson(a[ok][None, None], b[ok][None, None]) if ok.sum() >= 3 else float("nan")
    )  # one window, one muscle


def best_lag(predicted: np.ndarray, measured: np.ndarray, *, max_lag: int) -> tuple[int, float]:
    """(lag in frames, r there) of the best cross-correlation within +-``max_lag`` frames.

    A positive lag means the prediction is late: ``predicted[t + lag]`` matches ``measured[t]``.
    Each lag is scored by Pearson r over the frames that overlap (at least half the series)."""
    n = len(predicted)
    best = (0, float("nan"))
    for lag in sorted(range(-max_lag, max_lag + 1), key=abs):  # ties go to the smaller lag
        if n - abs(lag) < max(3, n // 2):
            continue
        p = predicted[lag:] if lag >= 0 else predicted[: n + lag]
        m = measured[: n - lag] if lag >= 0 else measured[-lag:]
        r = pearson(p, m)
        if np.isfinite(r) and (not np.isfinite(best[1]) or r > best[1] + 1e-12):
            best = (lag, r)
    return best


def phase_surrogates(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` series (n, len(x)) with the power spectrum of ``x`` (finite, 1-D) and random phases."""
    x = np.asarray(x, dtype=np.float64)
    spectrum = np.fft.rfft(x - x.mean())
    phases = rng.uniform(0, 2 * np.pi, size=(n, len(spectrum)))
    phases[:, 0] = 0.0  # the mean stays real
    if len(x) % 2 == 0:
        phases[:, -1] = 0.0  # so does the Nyquist term
    return np.fft.irfft(np.abs(spectrum)[None] * np.exp(1j * phases), n=len(x), axis=1) + x.mean()


def surrogate_p(predicted: np.ndarray, measured: np.ndarray, *, n: int = 200, seed: int | tuple = 0) -> float:
    """One-sided p of the observed r against ``n`` phase-randomized surrogates of ``predicted``."""
    ok = np.isfinite(predicted) & np.isfinite(measured)
    p, m = np.asarray(predicted, np.float64)[ok], np.asarray(measured, np.float64)[ok]
    r = pearson(p, m)
    if not np.isfinite(r) or n < 1:
        return float("nan")
    surr = phase_surrogates(p, n, np.random.default_rng(seed))
    s = surr - surr.mean(axis=1, keepdims=True)
    mc = m - m.mean()
    with np.errstate(invalid="ignore", divide="ignore"):
        rs = (s @ mc) / np.sqrt((s * s).sum(axis=1) * (mc @ mc))
    return float((1 + np.sum(rs >= r - 1e-12)) / (1 + n))


def cycle_peaks(time_s: np.ndarray, signal: np.ndarray, strikes: np.ndarray) -> list[tuple[float, float, float]]:
    """Per gait cycle (one heel strike to the next): (start s, end s, the signal's peak in % of
    the cycle); NaN where the signal has a gap in that cycle or is flat there."""
    out = []
    for start, end in zip(strikes[:-1], strikes[1:]):
        sel = (time_s >= start) & (time_s < end)
        if (
            sel.sum() < 2
            or not np.isfinite(signal[sel]).all()
            or np.ptp(signal[sel]) <= 1e-9 * max(1.0, np.abs(signal[sel]).max())
        ):  # a flat line has no peak
            out.append((float(start), float(end), float("nan")))
            continue
        t_peak = time_s[sel][int(np.argmax(signal[sel]))]
        out.append((float(start), float(end), float(100.0 * (t_peak - start) / (end - start))))
    return out


def muscle_side(muscle: str) -> str:
    return "left" if muscle.startswith("Left") else "right" if muscle.startswith("Right") else ""


# -- scoring ----------------------------------------------------------------------------------------


def segment_views(ds) -> np.ndarray:
    """Each segment's view (``segment_view``; 'all' for a store without views)."""
    if "segment_view" in ds.data_vars:
        return np.asarray(ds["segment_view"].values).astype(str)
    return np.full(ds.sizes["segment"], "all")


def present_muscles(ds) -> np.ndarray:
    """(segment, muscle) bool: the muscles each segment recorded (``muscle_present``, else any finite EMG)."""
    if "muscle_present" in ds.data_vars:
        return np.asarray(ds["muscle_present"].values, dtype=bool)
    emg = np.asarray(ds["emg"].values)
    start, length = np.asarray(ds["segment_start"].values), np.asarray(ds["segment_length"].values)
    return np.stack([np.isfinite(emg[a : a + n]).any(axis=0) for a, n in zip(start, length)])


def lab_of(file: str | Path) -> str:
    """The lab or origin of a trial's source file, as its name states it: the part of the name
    before the first ``-`` or ``_`` (``gaitalytics-walk.c3d`` -> ``gaitalytics``; the shared data
    names each file by its origin), the whole stem where there is neither."""
    return re.split(r"[-_]", Path(str(file)).stem, maxsplit=1)[0] or Path(str(file)).stem


def trial_labs(ds) -> dict[str, str]:
    """Trial (``segment_session``) -> its lab (:func:`lab_of` its source file, from the import's
    provenance); a trial the provenance does not name is its own lab."""
    try:
        trials = json.loads(ds.attrs.get("provenance", "{}")).get("trials", [])
    except (TypeError, ValueError):
        trials = []
    labs = {}
    for t in trials if isinstance(trials, list) else []:
        file = t.get("file") if isinstance(t, dict) else None
        if file:
            labs[Path(str(file)).stem] = lab_of(file)
    return {str(s): labs.get(str(s), str(s)) for s in np.asarray(ds["segment_session"].values).astype(str)}


def strikes_of(ds, segment: int, side: str) -> np.ndarray:
    """Heel-strike times (s from the segment's start) of one side, sorted; none where the store has no events."""
    if "event_time" not in ds.data_vars:
        return np.zeros(0)
    seg, kind, where = (np.asarray(ds[v].values) for v in ("event_segment", "event_kind", "event_side"))
    sel = (seg == segment) & (kind.astype(str) == "foot_strike") & (where.astype(str) == side)
    return np.sort(np.asarray(ds["event_time"].values, dtype=np.float64)[sel])


def score_segments(
    ds,
    checkpoint,
    *,
    segments=None,
    predictions: dict | None = None,
    surrogates: int = 200,
    seed: int = 0,
    max_lag_s: float = 1.0,
    stride: int = 1,
):
    """(units, cycles, predictions) for ``segments`` (indices; default all) of ``ds``.

    ``predictions`` (segment index -> (frames, checkpoint muscles)) skips the model for those
    segments (tests give known series); the others are predicted with ``checkpoint``, a trial
    shorter than its window (a walk across the force plates is often 2 s) as one window of its own
    length, as ``miakit predict`` does with a short clip."""
    import pandas as pd

    rate = float(ds.attrs.get("rate_hz", 10.0))
    max_lag = int(round(max_lag_s * rate))
    ckpt = load(checkpoint) if checkpoint is not None else None
    names = [str(m) for m in ds["muscle"].values]
    ck_muscles = ckpt.muscles if ckpt is not None else names
    if not set(ck_muscles) & set(names):
        raise DatasetError(
            "<dataset>",
            "none of the checkpoint's muscles is in the dataset",
            field="muscle",
            expected=ck_muscles,
            found=names,
        )
    present = present_muscles(ds)
    views = segment_views(ds)
    ids = [str(s) for s in ds["segment"].values]
    trials = np.asarray(ds["segment_session"].values).astype(str)
    labs = trial_labs(ds)
    starts, lengths = np.asarray(ds["segment_start"].values), np.asarray(ds["segment_length"].values)
    emg = np.asarray(ds["emg"].values, dtype=np.float64)
    time_all = np.asarray(ds["time"].values, dtype=np.float64)
    segments = range(ds.sizes["segment"]) if segments is None else [int(s) for s in segments]
    predictions = dict(predictions or {})
    units, cycles = [], []
    for s in segments:
        if s not in predictions:
            assert ckpt is not None, "a segment without a prediction needs the checkpoint"
            predictions[s] = predict_segment(
                ckpt, ds, s, stride=stride, min_window=1
            )  # a trial shorter than the window gets a window of its length
        pred = np.asarray(predictions[s], dtype=np.float64)
        frames = slice(int(starts[s]), int(starts[s] + lengths[s]))
        measured, time_s = emg[frames], time_all[frames]
        for mi, muscle in enumerate(names):
            if not present[s, mi] or muscle not in ck_muscles:
                continue
            own = pred[:, ck_muscles.index(muscle)]
            meas = measured[:, mi]
            r = pearson(own, meas)
            lag, r_lag = best_lag(own, meas, max_lag=max_lag)
            others = {m: pearson(pred[:, k], meas) for k, m in enumerate(ck_muscles) if m != muscle}
            mirror = MIRROR_MUSCLE.get(muscle)
            r_side = others.get(mirror, float("nan")) if mirror is not None else float("nan")
            finite = [v for v in others.values() if np.isfinite(v)]
            units.append(
                {
                    "segment": ids[s],
                    "trial": trials[s],
                    "lab": labs.get(trials[s], trials[s]),
                    "view": views[s],
                    "muscle": muscle,
                    "frames": int(np.sum(np.isfinite(own) & np.isfinite(meas))),
                    "r": r,
                    "lag_s": lag / rate if np.isfinite(r_lag) else float("nan"),
                    "r_at_lag": r_lag,
                    "p": surrogate_p(own, meas, n=surrogates, seed=(seed, s, mi)),
                    "r_other_side": r_side,
                    "own_beats_other_side": bool(r > r_side) if np.isfinite(r) and np.isfinite(r_side) else None,
                    "r_other_muscles": float(np.mean(finite)) if finite else float("nan"),
                    "own_rank": 1 + sum(v > r for v in finite) if np.isfinite(r) else None,
                }
            )
            side = muscle_side(muscle)
            strikes = strikes_of(ds, s, side) if side else np.zeros(0)
            for (a, b, p_pct), (_, _, m_pct) in zip(
                cycle_peaks(time_s, own, strikes), cycle_peaks(time_s, meas, strikes)
            ):
                cycles.append(
                    {
                        "segment": ids[s],
                        "trial": trials[s],
                        "lab": labs.get(trials[s], trials[s]),
                        "view": views[s],
                        "muscle": muscle,
                        "side": side,
                        "start_s": a,
                        "end_s": b,
                        "predicted_peak_pct": p_pct,
                        "measured_peak_pct": m_pct,
                    }
                )
    unit_cols = [
        "segment",
        "trial",
        "lab",
        "view",
        "muscle",
        "frames",
        "r",
        "lag_s",
        "r_at_lag",
        "p",
        "r_other_side",
        "own_beats_other_side",
        "r_other_muscles",
        "own_rank",
    ]
    cycle_cols = [
        "segment",
        "trial",
        "lab",
        "view",
        "muscle",
        "side",
        "start_s",
        "end_s",
        "predicted_peak_pct",
        "measured_peak_pct",
    ]
    return pd.DataFrame(units, columns=unit_cols), pd.DataFrame(cycles, columns=cycle_cols), predictions


def is_quad(muscle: str) -> bool:
    return "quad" in muscle.lower()


def in_range(pct, lo: float = QUAD_PEAK_RANGE[0], hi: float = QUAD_PEAK_RANGE[1]) -> np.ndarray:
    pct = np.asarray(pct, dtype=np.float64)
    return (pct >= lo) & (pct <= hi)


def summarize(units, cycles, *, by: str = "view"):
    """One row per ``by`` value and 'all': units, median r, fraction own > other side, fraction p <
    0.05, median |lag|, quad cycles and the fraction whose predicted (and measured) peak is in 0-20 %."""
    import pandas as pd

    groups = sorted(set(units[by].tolist()) | set(cycles[by].tolist())) if len(units) or len(cycles) else []
    rows = {}
    for name in groups + ["all"]:
        u = units if name == "all" else units[units[by] == name]
        c = cycles if name == "all" else cycles[cycles[by] == name]
        q = c[[is_quad(m) for m in c["muscle"]]] if len(c) else c
        q = q[np.isfinite(q["predicted_peak_pct"].to_numpy(dtype=float))] if len(q) else q
        side = u["own_beats_other_side"].dropna() if len(u) else u
        rows[name] = {
            "units": len(u),
            "median_r": float(np.nanmedian(u["r"])) if len(u) and np.isfinite(u["r"]).any() else float("nan"),
            "own_beats_other_side": float(side.astype(bool).mean()) if len(side) else float("nan"),
            "side_units": len(side),
            "p_below_0.05": float((u["p"].dropna() < P_LEVEL).mean()) if u["p"].notna().any() else float("nan"),
            "median_abs_lag_s": float(np.nanmedian(np.abs(u["lag_s"]))) if u["lag_s"].notna().any() else float("nan"),
            "quad_cycles": len(q),
            "quad_peak_0_20_predicted": float(in_range(q["predicted_peak_pct"]).mean()) if len(q) else float("nan"),
            "quad_peak_0_20_measured": float(in_range(q["measured_peak_pct"]).mean()) if len(q) else float("nan"),
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = by
    return table


def goals(summary) -> list[dict]:
    """The issue-20 goals on all units together: MET / NOT MET with the number (met None: not measurable)."""
    row = summary.loc["all"]

    def goal(text, value, target, count):
        return {
            "goal": text,
            "value": value,
            "target": target,
            "n": int(count),
            "met": None if not np.isfinite(value) else bool(value >= target),
        }

    return [
        goal(f"median r of a muscle's own prediction >= {GOAL_MEDIAN_R}", row["median_r"], GOAL_MEDIAN_R, row["units"]),
        goal(
            f"own muscle beats the other side's prediction in >= {GOAL_OWN_BEATS_OTHER_SIDE:.0%} of units",
            row["own_beats_other_side"],
            GOAL_OWN_BEATS_OTHER_SIDE,
            row["side_units"],
        ),
        goal(
            f"predicted quadriceps peak in 0-20% of the cycle in >= {GOAL_QUAD_PEAK:.0%} of gait cycles",
            row["quad_peak_0_20_predicted"],
            GOAL_QUAD_PEAK,
            row["quad_cycles"],
        ),
    ]


def muscle_model_predictions(ds, files, *, emd_s: float = 0.075) -> dict[int, np.ndarray]:
    """What the synthetic muscle model (:func:`miakit.body.activation.activation`) gives for each
    segment of an imported store, driven by its trial's 3D joint centres
    (:func:`miakit.synth.mocap.read_motion`, :func:`~miakit.synth.mocap.modelled_activation`: the
    labels ``miakit synth --from-mocap`` writes; the file among ``files`` whose stem is the
    segment's session: a C3D file, or a ``(markers.trc, emg.sto)`` pair), the EMG leading the motion
    by ``emd_s`` (50 to 100 ms; the middle): segment index -> (frames, 8) in MUSCLES order, NaN for a
    muscle whose joints the markers do not give. The same for every view (it reads 3D motion).
    Scored by :func:`score_segments` (``predictions=``) it is the ceiling of a model that imitates
    the synthetic muscles perfectly."""

    by_stem = {Path(f[0] if isinstance(f, tuple | list) else f).stem: f for f in files}
    sessions = np.asarray(ds["segment_session"].values).astype(str)
    starts, lengths = np.asarray(ds["segment_start"].values), np.asarray(ds["segment_length"].values)
    time_all = np.asarray(ds["time"].values, dtype=np.float64)
    done: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    out = {}
    for s, session in enumerate(sessions):
        if session not in by_stem:
            continue
        if session not in done:
            t, joints = read_motion(by_stem[session])
            done[session] = (t, modelled_activation(t, joints))  # the path miakit synth --from-mocap labels with
        t, act = done[session]
        times = time_all[int(starts[s]) : int(starts[s] + lengths[s])] + emd_s
        out[s] = np.stack([np.interp(times, t, act[:, j]) for j in range(act.shape[1])], axis=-1)
    return out


# -- the command --------------------------------------------------------------------------------------


def check_real_emg(ds, name: str = "dataset") -> None:
    """Refuse, in one line, a dataset ``bench real`` must not score as real EMG: segments whose
    source is ``synthetic`` (the muscle model's own EMG, not a measurement) or EMG with no finite
    value (nothing was measured)."""
    sources = np.asarray(ds["segment_source"].values).astype(str)
    synthetic = int((sources == "synthetic").sum())
    if synthetic:
        raise DatasetError(
            name,
            f"{synthetic} of {len(sources)} segments are synthetic, not measured EMG; bench real scores "
            "real recordings (miakit import c3d, trc, mia-release); use miakit bench for synthetic data",
            field="segment_source",
        )
    valid = np.asarray(ds["valid"].values, dtype=bool)
    emg = np.asarray(ds["emg"].values)
    if not np.isfinite(emg[valid] if valid.any() else emg).any():
        raise DatasetError(
            name, "the EMG holds no finite value: nothing measured to score", field="emg", found="all NaN or inf"
        )


def run_real(
    ds,
    checkpoint,
    out: str | Path,
    *,
    surrogates: int = 200,
    seed: int = 0,
    max_lag_s: float = 1.0,
    stride: int = 1,
    figures: bool = True,
    predictions: dict | None = None,
    tuned_on: list[str] | tuple[str, ...] = (),
    name: str = "dataset",
) -> RealResult:
    """Score ``checkpoint`` on every segment of the real dataset ``ds``; write the report to ``out``.

    The report gives the goals on all units, per trial, per lab (:func:`trial_labs`) and pooled.
    ``tuned_on``: the trials any choice behind the checkpoint (recipe, step count, views, a
    constant) was made on; the report names them and gives the goals on the other trials apart,
    the only numbers that say how the checkpoint holds on motion nothing was chosen on. A dataset that
    is not measured EMG is refused first (:func:`check_real_emg`)."""

    check_real_emg(ds, name)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = load(checkpoint) if checkpoint is not None else None
    units, cycles, preds = score_segments(
        ds, ckpt, predictions=predictions, surrogates=surrogates, seed=seed, max_lag_s=max_lag_s, stride=stride
    )
    if not len(units):
        raise DatasetError(
            "<dataset>",
            "no segment has a measured muscle that the checkpoint predicts",
            field="muscle_present",
            expected="some True",
            found="none",
        )
    summary = summarize(units, cycles)
    found = goals(summary)
    by_trial, by_lab = summarize(units, cycles, by="trial"), summarize(units, cycles, by="lab")
    tuned_on = sorted(str(t) for t in tuned_on)
    held = ~units["trial"].isin(tuned_on)
    held_out = goals(summarize(units[held], cycles[~cycles["trial"].isin(tuned_on)])) if held.any() else []
    units.to_csv(out / "units.csv", index=False, float_format="%.4f")
    cycles.to_csv(out / "cycles.csv", index=False, float_format="%.2f")
    summary.to_csv(out / "summary.csv", float_format="%.4f")
    by_trial.to_csv(out / "summary_trial.csv", float_format="%.4f")
    by_lab.to_csv(out / "summary_lab.csv", float_format="%.4f")
    (out / "goals.json").write_text(
        json.dumps({"all": found, "held_out": held_out, "tuned_on": tuned_on}, indent=2, default=float)
    )
    pictures = []
    if figures:
        muscles = ckpt.muscles if ckpt is not None else [str(m) for m in ds["muscle"].values]
        for s, pred in preds.items():
            pictures.append(
                plot_segment(
                    ds, s, pred, muscles, out / f"segment_{_safe(str(ds['segment'].values[s]))}.png", checkpoint=ckpt
                )
            )
    report = _write_report(
        out / "report.md",
        ds,
        ckpt,
        units,
        cycles,
        summary,
        found,
        pictures,
        surrogates=surrogates,
        max_lag_s=max_lag_s,
        by_trial=by_trial,
        by_lab=by_lab,
        tuned_on=tuned_on,
        held_out=held_out,
    )
    return RealResult(report, units, cycles, summary, found, pictures)


def plot_segment(ds, segment: int, predicted: np.ndarray, muscles: list[str], path: Path, *, checkpoint=None) -> Path:
    """Predicted (red, right axis: model units) against measured (black, left axis: the store's
    units) per muscle, one row each; heel strikes (solid) and toe offs (dashed) as vertical lines,
    blue for the left foot, green for the right."""

    start, length = int(ds["segment_start"].values[segment]), int(ds["segment_length"].values[segment])
    time_s = np.asarray(ds["time"].values[start : start + length], dtype=np.float64)
    measured = np.asarray(ds["emg"].values[start : start + length], dtype=np.float64)
    names = [str(m) for m in ds["muscle"].values]
    present = present_muscles(ds)[segment]
    units = str(ds.attrs.get("emg_units", "")) or "store units"
    pred_units = str(checkpoint.meta.get("emg_units", "")) if checkpoint is not None else ""
    events = []
    if "event_time" in ds.data_vars:
        sel = np.asarray(ds["event_segment"].values) == segment
        events = list(
            zip(
                np.asarray(ds["event_time"].values)[sel],
                np.asarray(ds["event_kind"].values)[sel].astype(str),
                np.asarray(ds["event_side"].values)[sel].astype(str),
            )
        )
    fig = new_figure(9, 1.15 * len(muscles) + 1.0)
    axes = fig.subplots(len(muscles), 1, sharex=True, squeeze=False)[:, 0]
    for ax, muscle in zip(axes, muscles):
        k = muscles.index(muscle)
        if muscle in names and present[names.index(muscle)]:
            ax.plot(
                time_s,
                measured[:, names.index(muscle)],
                color="black",
                lw=1.1,
                label="measured",
                gid=f"measured:{muscle}",
            )
        else:
            ax.text(0.01, 0.8, "not recorded", transform=ax.transAxes, fontsize=7, color="0.4")
        twin = ax.twinx()
        twin.plot(time_s, predicted[:, k], color="tab:red", lw=1.1, label="predicted", gid=f"predicted:{muscle}")
        twin.tick_params(labelsize=6, colors="tab:red")
        for t, kind, side in events:
            ax.axvline(
                t,
                color="tab:blue" if side == "left" else "tab:green",
                lw=0.8,
                ls="-" if kind == "foot_strike" else "--",
                alpha=0.7,
            )
        ax.set_ylabel(muscle, fontsize=7, rotation=0, ha="right", va="center")
        ax.tick_params(labelsize=6)
    axes[-1].set_xlabel("time from the segment's start (s)")
    trial = str(ds["segment_session"].values[segment])
    view = segment_views(ds)[segment]
    fig.suptitle(
        f"{trial}, view {view}: measured (black, left axis: {units}) vs "
        f"predicted (red, right axis{': ' + pred_units if pred_units else ''})"
        + ("\nvertical lines: heel strike (solid) and toe off (dashed), left blue, right green" if events else ""),
        fontsize=8,
    )
    return save_figure(fig, path)


def _write_report(
    path: Path,
    ds,
    ckpt,
    units,
    cycles,
    summary,
    found,
    pictures,
    *,
    surrogates: int,
    max_lag_s: float,
    by_trial=None,
    by_lab=None,
    tuned_on: list[str] | None = None,
    held_out: list[dict] | None = None,
) -> Path:

    sections = [("Goals (issue 20), all units together", "\n".join(goal_lines(found)))]
    if tuned_on:
        sections.append(
            (
                "Goals on the trials nothing was chosen on",
                f"Choices behind the checkpoint were made on: {', '.join(tuned_on)}. "
                + (
                    "On the other trials:\n\n" + "\n".join(goal_lines(held_out))
                    if held_out
                    else "Every trial here is one of them: no held-out number."
                ),
            )
        )
    names = {
        "median_r": "median own r",
        "own_beats_other_side": "own > other side",
        "quad_peak_0_20_predicted": "quad peak 0-20% (predicted)",
        "quad_peak_0_20_measured": "quad peak 0-20% (measured)",
        "p_below_0.05": f"p < {P_LEVEL}",
    }
    for by, table_by in (("trial", by_trial), ("lab", by_lab)):
        if table_by is None:
            continue
        if by == "lab":
            note = "The lab: the origin its source file's name states. 'all': pooled.\n\n"
        else:
            per = table_by.drop(index="all", errors="ignore")["median_r"].dropna()
            note = (
                f"Lowest trial: {per.idxmin()}, median own r {per.min():+.2f} (issue 32: no trial below "
                f"{GOAL_LOWEST_TRIAL_R:+.1f}: **{'MET' if per.min() >= GOAL_LOWEST_TRIAL_R else 'NOT MET'}**).\n\n"
                if len(per)
                else ""
            )
        sections.append((f"Summary per {by}", note + rep.markdown_table(table_by.rename(columns=names), index_name=by)))
    shown = summary.rename(
        columns={
            "median_r": "median own r",
            "own_beats_other_side": "own > other side",
            "quad_peak_0_20_predicted": "quad peak 0-20% (predicted)",
            "quad_peak_0_20_measured": "quad peak 0-20% (measured)",
            "p_below_0.05": f"p < {P_LEVEL}",
        }
    )
    sections.append(
        (
            "Summary per view",
            (
                "A unit is one segment (trial x view) and one muscle the "
                "trial recorded. own > other side: the fraction of units "
                "whose own prediction correlates better with the measured "
                "muscle than the other side's prediction of the same muscle "
                "(over side units). Quad peak: the fraction of gait cycles "
                "(heel strike to the next heel strike of the muscle's side) "
                "whose quadriceps peak falls in 0-20% of the cycle, for the "
                "prediction and, as a check of the data, the measurement.\n\n"
                + rep.markdown_table(shown, index_name="view")
            ),
        )
    )
    table = units.set_index("segment")[["muscle", "r", "lag_s", "p", "r_other_side", "r_other_muscles", "own_rank"]]
    sections.append(
        (
            "Per unit",
            (
                "r: Pearson r of the prediction against the measured envelope. "
                f"lag_s: best cross-correlation within +-{max_lag_s:g} s; "
                "positive: the prediction comes late. p: one-sided, against "
                f"{surrogates} phase-randomized surrogates of the prediction "
                "(same power spectrum, random phases, seeded). r_other_side: "
                "the other side's prediction against this muscle; "
                "r_other_muscles: the mean over the other muscles' predictions; "
                "own_rank: 1 when no other prediction matches better. "
                "CSV: `units.csv`.\n\n" + rep.markdown_table(table, index_name="segment")
            ),
        )
    )
    if len(cycles):
        sections.append(
            (
                "Gait cycles",
                (
                    "Where in the cycle each peak falls (% from heel strike); CSV: `cycles.csv`.\n\n"
                    + rep.markdown_table(
                        cycles.set_index("segment")[
                            ["muscle", "start_s", "end_s", "predicted_peak_pct", "measured_peak_pct"]
                        ],
                        index_name="segment",
                        digits=1,
                    )
                ),
            )
        )
    else:
        sections.append(
            ("Gait cycles", "No segment has heel-strike events: the quadriceps timing goal is not measured.")
        )
    if pictures:
        sections.append(("Predicted vs measured", "\n\n".join(rep.image(p, path, p.stem) for p in pictures)))
    trials = sorted(set(units["trial"].tolist()))
    setup = [
        f"- checkpoint: `{ckpt.path}` ({ckpt.config.model}, step "
        f"{ckpt.meta.get('step', '?')}, features {getattr(ckpt.config, 'features', 'paper')})"
        if ckpt is not None
        else "- predictions given directly (no checkpoint)",
        f"- dataset: {ds.sizes['segment']} segments of {len(trials)} trials ({', '.join(trials)}), "
        f"{ds.sizes['frame']} frames at {float(ds.attrs.get('rate_hz', 10)):g} Hz",
        "- the goals hold the model to real EMG; a few trials give wide error bars, and nothing here is tuned to them",
    ]
    sections.append(("Setup", "\n".join(setup)))
    return rep.write_report(path, title="Real EMG: predicted against measured", sections=sections)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)
