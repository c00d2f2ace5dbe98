"""Benchmark reports: Markdown tables, the reports' writers (:func:`write_report`; the paper suite's
whole report, :func:`paper_report`) and PNG plots, drawn with matplotlib's object API as
:mod:`miakit.viz.plots` draws (:func:`~miakit.viz.plots.new_figure`, no pyplot).

Plots are written beside the report and linked by relative path, so the folder can be moved or
published as it is.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from miakit.learn.windows import segment_table
from miakit.viz.plots import UNITS, new_figure, save_figure

DPI = 110
"""The resolution of a report's pictures (a figure's own is :data:`miakit.viz.plots.DPI`)."""
MODEL_LABELS = {
    "random": "Random",
    "nn": "Nearest Neighbour",
    "cnn": "CNN",
    "transformer": "Transformer",
    "miakit": "miakit model",
    "noise_floor": "noise floor",
}
COLORS = {
    "random": "#bbbbbb",
    "nn": "#6b8fb3",
    "cnn": "#8fb36b",
    "transformer": "#d9822b",
    "miakit": "#7b3294",
    "noise_floor": "#333333",
}


def markdown_table(df, *, digits: int = 2, index_name: str = "") -> str:
    """A pipe table of ``df`` (index as the first column); floats rounded, NaN shown as '-'."""

    def cell(v) -> str:
        if isinstance(v, (float, np.floating)):
            return "-" if math.isnan(v) else f"{v:.{digits}f}"
        return str(v)

    header = [index_name or (df.index.name or "")] + [MODEL_LABELS.get(str(c), str(c)) for c in df.columns]
    rows = ["| " + " | ".join(header) + " |", "|" + "|".join([" --- "] + [" ---: "] * len(df.columns)) + "|"]
    for i, name in enumerate(df.index):
        cells = [cell(df[c].iloc[i]) for c in df.columns]  # by column, so integer columns stay integers
        rows.append("| " + " | ".join([f"**{name}**" if name == "mean" else str(name)] + cells) + " |")
    return "\n".join(rows)


def plot_per_exercise(
    table,
    path: str | Path,
    *,
    models: tuple[str, ...],
    title: str = "RMSE per exercise",
    units: str = "",
    caption: str = "",
) -> Path:
    """:func:`per_exercise_figure`, saved to ``path``."""
    return save_plot(per_exercise_figure(table, models=models, title=title, units=units, caption=caption), path)


def per_exercise_figure(
    table, *, models: tuple[str, ...], title: str = "RMSE per exercise", units: str = "", caption: str = ""
):
    """Grouped horizontal bars: one group per exercise (and the mean), one bar per model, each model
    named in the legend; RMSE in ``units`` (default :data:`UNITS`); ``caption`` (such as what the
    scores left out near sync events) a smaller second line under the title."""
    rows = list(table.index)
    fig = new_figure(8, 0.12 * len(rows) * (len(models) + 1) + 1.5)
    ax = fig.subplots()
    height = 0.8 / len(models)
    y = np.arange(len(rows))
    for i, model in enumerate(models):
        ax.barh(
            y + i * height,
            table[model].values,
            height=height,
            label=MODEL_LABELS.get(model, model),
            color=COLORS.get(model),
        )
    if "noise_floor" in table and table["noise_floor"].notna().any():
        ax.scatter(
            table["noise_floor"].values,
            y + 0.4 - height / 2,
            marker="|",
            s=120,
            color=COLORS["noise_floor"],
            label="noise floor",
            zorder=3,
        )
    ax.set_yticks(y + 0.4 - height / 2, rows)
    ax.invert_yaxis()
    ax.set_xlabel(f"RMSE ({units or UNITS})")
    ax.set_ylabel("exercise")
    ax.set_title(title + (f"\n{caption}" if caption else ""), fontsize=10 if caption else None)
    ax.legend(loc="lower right", fontsize=8)
    return fig


def example_figure(
    true: np.ndarray, preds: dict[str, np.ndarray], muscles: list[str], *, title: str = "", units: str = ""
):
    """One window: measured EMG (black) and each model's prediction, one panel per muscle, with
    the EMG axis labelled in ``units`` and time in seconds (a :class:`matplotlib.figure.Figure`)."""
    n = len(muscles)
    cols = 2 if n > 1 else 1
    rows = math.ceil(n / cols)
    fig = new_figure(9, 1.6 * rows + 0.9)
    axes = fig.subplots(rows, cols, sharex=True, squeeze=False)
    steps = np.arange(true.shape[-1]) / 10.0
    for m, ax in enumerate(axes.ravel()):
        if m >= n:
            ax.axis("off")
            continue
        ax.plot(steps, true[m], color="black", lw=1.5, label="measured")
        for name, pred in preds.items():
            ax.plot(steps, pred[m], color=COLORS.get(name), lw=1.2, label=MODEL_LABELS.get(name, name))
        ax.set_title(muscles[m], fontsize=8, loc="left")
        ax.tick_params(labelsize=7)
        if m % cols == 0:
            ax.set_ylabel(f"EMG ({units or UNITS})", fontsize=8)
    fig.legend(*axes[0, 0].get_legend_handles_labels(), fontsize=7, loc="outside lower center", ncols=len(preds) + 1)
    for ax in axes[-1]:
        ax.set_xlabel("time in window (s)", fontsize=8)
    fig.suptitle(title, fontsize=9)
    return fig


def plot_example(
    true: np.ndarray,
    preds: dict[str, np.ndarray],
    muscles: list[str],
    path: str | Path,
    *,
    title: str = "",
    units: str = "",
) -> Path:
    """:func:`example_figure`, saved to ``path``."""
    return save_plot(example_figure(true, preds, muscles, title=title, units=units), path)


def history_figure(history, *, title: str = "training", units: str = "", label: str = "", others=None):
    """Validation RMSE (left axis, in ``units``) and training loss (right axis) over steps, each
    evaluation a marker, so that a run of one evaluation still shows its point; the title counts
    the evaluations. ``label`` names the model of ``history``; ``others`` ({model key: history})
    adds each other model's validation RMSE on the same axis, named (colours of :data:`COLORS`)."""
    n = len(history)
    fig = new_figure(6.5, 3.4)
    ax = fig.subplots()
    ax.plot(
        history["step"],
        history["val_rmse"],
        marker="o",
        color=COLORS["transformer"],
        label=f"{label} validation RMSE" if label else "validation RMSE",
        gid="val_rmse",
    )
    for key, other in (others or {}).items():
        ax.plot(
            other["step"],
            other["val_rmse"],
            marker="o",
            ms=4,
            color=COLORS.get(key),
            label=f"{MODEL_LABELS.get(key, key)} validation RMSE",
            gid=f"val_rmse:{key}",
        )
    ax.set_xlabel("training step")
    ax.set_ylabel(f"validation RMSE ({units or UNITS})")
    twin = ax.twinx()
    twin.plot(
        history["step"],
        history["train_loss"],
        marker="s",
        ms=4,
        color="#888888",
        ls="--",
        label=f"{label} training loss" if label else "training loss",
        gid="train_loss",
    )
    twin.set_ylabel("training loss (MSE of EMG / emg_scale)")
    if n == 1 and not others:  # one point each: say their values, since the two markers sit on each other
        step = float(history["step"].iloc[0])
        ax.set_xlim(step - 1, step + 1)
        ax.annotate(
            f"validation RMSE {float(history['val_rmse'].iloc[0]):.2f}, "
            f"training loss {float(history['train_loss'].iloc[0]):.4f}",
            (step, float(history["val_rmse"].iloc[0])),
            xytext=(0, -18),
            textcoords="offset points",
            ha="center",
            fontsize=8,
        )
    if others:  # each model's own count of evaluations
        counts = [f"{label or 'model'} {n}"] + [f"{MODEL_LABELS.get(k, k)} {len(h)}" for k, h in others.items()]
        ax.set_title(f"{title}: evaluations {', '.join(counts)}", fontsize=10)
    else:
        ax.set_title(
            f"{title}: {n} evaluation{'s' if n != 1 else ''}"
            + (f", steps {int(history['step'].iloc[0])} to {int(history['step'].iloc[-1])}" if n > 1 else ""),
            fontsize=10,
        )
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    ax.legend(handles, [h.get_label() for h in handles], loc="upper right", fontsize=7)
    return fig


def plot_history(
    history, path: str | Path, *, title: str = "training", units: str = "", label: str = "", others=None
) -> Path:
    """:func:`history_figure`, saved to ``path``."""
    return save_plot(history_figure(history, title=title, units=units, label=label, others=others), path)


def save_plot(fig, path: str | Path) -> Path:
    """Write ``fig`` (a figure of :func:`miakit.viz.plots.new_figure`) as a :data:`DPI` picture at
    ``path`` (parent folders made). Returns ``path``."""
    return save_figure(fig, path, dpi=DPI)


def write_report(path: str | Path, *, title: str, sections: list[tuple[str, str]]) -> Path:
    """Write a Markdown report: a title, then (heading, body) sections in order."""
    path = Path(path)
    text = [f"# {title}", ""]
    for heading, body in sections:
        text += [f"## {heading}", "", body.rstrip(), ""]
    path.write_text("\n".join(text))
    return path


def image(path: Path, report: Path, alt: str) -> str:
    """A Markdown image link to ``path``, relative to the report's folder."""
    return f"![{alt}]({Path(path).resolve().relative_to(Path(report).resolve().parent).as_posix()})"


def goal_lines(items: list[dict]) -> list[str]:
    """'- MET: <goal>: <value> (n = ...)' per goal."""
    out = []
    for g in items:
        status = "NOT MEASURED" if g["met"] is None else "MET" if g["met"] else "NOT MET"
        value = "-" if not np.isfinite(g["value"]) else f"{g['value']:.2f}"
        out.append(f"- **{status}**: {g['goal']}: {value} (n = {g['n']})")
    return out


def paper_report(
    result,
    ds,
    *,
    files: dict,
    examples: list,
    notes: list[str],
    release: bool,
    methods: tuple[str, ...],
    parameters: dict[str, int],
    retrieval_top1: dict[str, float],
    rate: float,
) -> Path:
    """Write ``miakit bench paper``'s ``report.md`` (``result.report``) for its results ``result``
    (:class:`miakit.bench.paper.PaperResult`) on ``ds``: Table 1, Table 2, Figures 7, 8 and 6, the
    real EMG, the setup and the experiments. ``files``: Table 1's experiment -> (CSV stem, plot);
    ``examples``: Figure 6's (plot, caption) pairs; ``notes``: the setup's extra lines; ``release``:
    the in-distribution split is the release's own; ``methods``: the compared methods in order;
    ``parameters``: each neural method's parameter count; ``retrieval_top1``: Figure 8's
    same-exercise retrieval per kind; ``rate``: the dataset's frames per second."""
    import pandas as pd

    path = result.report
    p = result.profile
    subjects, exercises, _ = segment_table(ds)
    n_sub, n_ex = len(set(subjects.tolist())), len(set(exercises.tolist()))
    sections = []
    summary = result.summary.unstack("method")
    overview = pd.DataFrame(
        {f"{m} RMSE": summary[("rmse", m)] for m in methods} | {f"{m} r": summary[("pearson", m)] for m in methods}
    )
    means = pd.DataFrame(
        {m: [t.loc["mean", m] for t in result.table1.values()] for m in methods}, index=list(result.table1)
    )
    sections.append(
        (
            "Table 1: mean RMSE over exercises",
            (
                "RMSE on the raw EMG scale over all values of the test "
                "windows (windows x muscles x steps), per exercise, "
                "then the mean over exercises (the paper's number). Random "
                "has no window of a left-out exercise to copy, so it "
                "is blank there, as in the paper.\n\n"
                + markdown_table(means, index_name="experiment")
                + "\n\nOver all test windows pooled: RMSE and Pearson r.\n\n"
                + markdown_table(overview, index_name="experiment")
            ),
        )
    )
    for name, table in result.table1.items():
        stem, png = files[name]
        sections.append(
            (
                f"Table 1: {name}, per exercise",
                markdown_table(table, index_name="exercise") + f"\n\nCSV: `{stem}.csv`\n\n" + image(png, path, name),
            )
        )
    if result.table2 is not None:
        sections.append(
            (
                "Table 2: window length",
                (
                    "In-distribution, one model per window length; test windows "
                    "tile the test frames without overlap, so every length "
                    "is scored on (nearly) the same frames. Every length trains "
                    f"on the same number of frames per step ({p.batch_size} "
                    f"windows of {p.window} steps, {p.batch_size_for(1)} of one step). RMSE, then Pearson r.\n\n"
                    + markdown_table(result.table2, index_name="window (steps)")
                ),
            )
        )
    if result.transfer is not None:
        t = result.transfer
        sections.append(
            (
                "Figure 7: subject transfer",
                (
                    f"Transformer trained on {t.attrs['source']}, then "
                    f"fine-tuned on the first k exercises of {t.attrs['target']} "
                    "(sorted by name), against the same model trained from "
                    "scratch on those k exercises. Both are tested on "
                    f"{t.attrs['target']}'s remaining exercises "
                    f"({', '.join(t.attrs['test_exercises'])}; {t.attrs['test_windows']} windows). "
                    "k = 0 is the source model without fine-tuning.\n\n"
                    + markdown_table(t.drop(columns="exercises"), index_name="k")
                    + "\n\n"
                    + image(path.parent / "figure7_subject_transfer.png", path, "subject transfer")
                ),
            )
        )
    if result.retrieval:
        cross = next(iter(result.retrieval.values())).attrs.get("cross_subject")
        top1 = ", ".join(f"{k} {v:.2f}" for k, v in retrieval_top1.items())
        sections.append(
            (
                "Figure 8: retrieval similarity",
                (
                    "For each in-distribution test window, its nearest training window "
                    + ("of another subject " if cross else "")
                    + "by pose (L2 between flattened normalized keypoint "
                    "windows) and by the Transformer's learned representation "
                    "(encoder output averaged over time, L2); cell (i, j): the "
                    "fraction of exercise i's windows that retrieve exercise j. "
                    f"Same-exercise retrieval (mean of the diagonal): {top1}. CSV: `figure8_retrieval_pose.csv`, "
                    "`figure8_retrieval_learned.csv`.\n\n"
                    + image(path.parent / "figure8_retrieval.png", path, "retrieval similarity")
                ),
            )
        )
    if result.real is not None:
        real = result.real
        shown = real.summary[["units", "median_r", "own_beats_other_side", "quad_cycles", "quad_peak_0_20_predicted"]]
        sections.append(
            (
                "Real EMG",
                (
                    "The in-distribution Transformer on real recordings (trials "
                    "x views, the muscles each trial recorded): Pearson r of "
                    "its own prediction, how often it beats the other side's "
                    "prediction of the same muscle, and the fraction of gait "
                    "cycles whose predicted quadriceps peak falls in 0-20% of the cycle. The goals:\n\n"
                    + "\n".join(goal_lines(real.goals))
                    + "\n\n"
                    + markdown_table(shown, index_name="view")
                    + f"\n\nThe whole report: `{real.report.relative_to(path.parent).as_posix()}`."
                ),
            )
        )
    if examples:
        sections.append(
            (
                "Figure 6: predicted vs measured EMG",
                "\n\n".join(f"{cap}\n\n" + image(png, path, cap) for png, cap in examples),
            )
        )
    exp = result.experiments
    setup = [
        f"- profile: **{p.name}**; suite wall time {result.wall_s:.0f} s",
        f"- dataset: {ds.sizes['frame']} frames, {ds.sizes['segment']} segments, {n_sub} subjects, {n_ex} exercises, "
        f"muscles {', '.join(str(m) for m in ds['muscle'].values)}",
        "- in-distribution split: "
        + (
            "the release's own train/val split (val is the test set; validation carved from the end of train)"
            if release
            else "the last 20% of each subject x exercise in time for test, validation before it, gaps of one window"
        ),
        f"- windows of {p.window} steps ({p.window / rate:.1f} s), "
        f"training windows every {p.stride} step(s), test windows without overlap",
        f"- neural training: AdamW, peak lr {p.lr:g}, batch {p.batch_size}, "
        f"at most {p.max_steps} steps, early stopping after {p.patience} "
        f"evaluations without a better validation RMSE (every {p.eval_every} "
        f"steps); Transformer {parameters['transformer']:,} parameters, "
        f"CNN {parameters['cnn']:,}",
        "- Nearest Neighbour: L2 between flattened normalized keypoint "
        "windows, among the training windows of the same subject; "
        f"Random: a random training window of the same exercise (seed {p.seed})",
    ] + [f"- {n}" for n in notes]
    sections.append(("Setup", "\n".join(setup)))
    sections.append(
        (
            "Experiments: sizes (windows), batch, steps and wall time",
            "Steps and batch 0: fitted by storing the training windows.\n\n"
            + markdown_table(exp.set_index("experiment"), index_name="experiment"),
        )
    )
    return write_report(path, title=f"Muscles in Action: the paper's experiments ({p.name} profile)", sections=sections)
