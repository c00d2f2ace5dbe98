"""Benchmark reports: Markdown tables and PNG plots (matplotlib with the Agg backend).

Plots are written beside the report and linked by relative path, so the folder can be moved or
published as it is.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

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
UNITS = "device units"
"""The one name of the EMG's unit where a dataset states none (the sensors' raw scale)."""


def pyplot():
    """matplotlib's pyplot on the Agg backend (files only, no display needed)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


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
    from miakit.viz.plots import new_figure

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
    from miakit.viz.plots import new_figure

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
    from miakit.viz.plots import new_figure

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
    """Write ``fig`` as a 110 dpi picture at ``path`` (parent folders made); a pyplot figure is laid
    out tight and closed. Returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fig.get_layout_engine() is None:  # a pyplot figure
        import matplotlib.pyplot as plt

        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
    else:
        fig.savefig(path, dpi=110)
    return path


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
