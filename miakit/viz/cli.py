"""``miakit plot KIND ... --out FILE.png`` (:data:`plot_app`) and ``miakit render ... --out FILE.mp4``
(:func:`render`). Thin: they parse, call :mod:`miakit.viz.plots` or :mod:`miakit.viz.render`, and
print the written file's path as the last line. Only typer is imported at start-up."""

from __future__ import annotations

from pathlib import Path

import typer

from miakit.catalog import DEFAULT_CATALOG_HELP

plot_app = typer.Typer(
    help="Plots of every stage, saved to --out (PNG; SVG or PDF by the file's "
    "suffix). Example: miakit plot dataset-summary demo --out summary.png",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

_CATALOG = typer.Option(None, "--catalog", help=f"Catalog file [default: {DEFAULT_CATALOG_HELP}].")
_OUT_PNG = typer.Option(..., "--out", help="The image to write, FILE.png.")


def _save(fig, out: Path) -> None:
    from miakit.viz.plots import save_figure

    typer.echo(str(save_figure(fig, out)))


@plot_app.command("session-emg")
def session_emg(
    session_dir: Path = typer.Argument(..., help="A raw session folder."),
    out: Path = _OUT_PNG,
    max_gap_s: float | None = typer.Option(
        None,
        "--max-gap-s",
        min=0.0,
        help="Break the line where samples are further apart than "
        "this (s) [default: the emg_to_grid stage's max_gap_s].",
    ),
) -> None:
    """A session's raw EMG per sensor over host time, with gaps and events (markers, sync, disconnects).

    Example: miakit plot session-emg sessions/s01 --out emg.png
    """
    from miakit.viz.plots import session_emg as plot

    _save(plot(session_dir, max_gap_s=max_gap_s), out)


@plot_app.command("alignment")
def alignment(
    session_dir: Path = typer.Argument(..., help="A raw session folder with a sync event."),
    out: Path = _OUT_PNG,
    pipeline: str = typer.Option(
        "mia", "--pipeline", help="Pipeline name or path (its align stage must use method: sync)."
    ),
) -> None:
    """Keypoint motion vs EMG activity around the sync event, before and after the offset found.

    Example: miakit plot alignment sessions/s01 --out alignment.png
    """
    from miakit.viz.plots import alignment as plot

    _save(plot(session_dir, pipeline=pipeline), out)


@plot_app.command("pose-confidence")
def pose_confidence(
    dataset: str = typer.Argument(..., help="Catalog name or store path."),
    segment: str = typer.Option(..., "--segment", help="Segment id (or its position, 0, 1, ...)."),
    out: Path = _OUT_PNG,
    min_score: float = typer.Option(
        0.3, "--min-score", min=0.0, max=1.0, help="A keypoint scored below this counts as missing."
    ),
    catalog: Path | None = _CATALOG,
) -> None:
    """Keypoint scores over one segment: a heat map (keypoints x time) and the mean.

    Example: miakit plot pose-confidence demo --segment 0 --out pose.png
    """
    from miakit.viz.plots import pose_confidence as plot

    _save(plot(dataset, segment, min_score=min_score, catalog=catalog), out)


@plot_app.command("dataset-summary")
def dataset_summary(
    dataset: str = typer.Argument(..., help="Catalog name or store path."),
    out: Path = _OUT_PNG,
    catalog: Path | None = _CATALOG,
) -> None:
    """Minutes of valid data per subject and exercise, and the EMG distribution per muscle.

    Example: miakit plot dataset-summary demo --out summary.png
    """
    from miakit.viz.plots import dataset_summary as plot

    _save(plot(dataset, catalog=catalog), out)


@plot_app.command("predicted-vs-measured")
def predicted_vs_measured(
    dataset: str = typer.Argument(..., help="Catalog name or store path."),
    segment: str = typer.Option(..., "--segment", help="Segment id (or its position, 0, 1, ...)."),
    out: Path = _OUT_PNG,
    checkpoint: Path | None = typer.Option(
        None, "--checkpoint", help="A trained model; without it, measured EMG only."
    ),
    catalog: Path | None = _CATALOG,
) -> None:
    """Measured and predicted EMG of one segment, one panel per muscle (the paper's Figure 6).

    Example: miakit plot predicted-vs-measured demo --segment 0 --checkpoint runs/t1/checkpoint.pt --out emg.png
    """
    from miakit.contracts.dataset import find_segment
    from miakit.viz.common import as_dataset, predict_segment
    from miakit.viz.plots import segment_emg

    ds = as_dataset(dataset, catalog=catalog)
    seg = find_segment(ds, segment, where=dataset)
    predicted = predict_segment(checkpoint, ds, seg.id) if checkpoint is not None else None
    _save(segment_emg(ds, seg.id, predicted=predicted), out)


def render(
    session_dir: Path | None = typer.Argument(None, help="A raw session folder (or use --dataset and --segment)."),
    dataset: str | None = typer.Option(None, "--dataset", help="Catalog name or store path."),
    segment: str | None = typer.Option(None, "--segment", help="Segment id (or its position) in --dataset."),
    out: Path = typer.Option(..., "--out", help="The video to write, FILE.mp4 (H.264)."),
    checkpoint: Path | None = typer.Option(
        None, "--checkpoint", help="A trained model: adds a panel of predicted EMG beside the measured."
    ),
    pipeline: str = typer.Option("mia", "--pipeline", help="Pipeline that puts a session on the 10 Hz grid."),
    height: int = typer.Option(640, "--height", min=64, help="Height of each panel, pixels."),
    catalog: Path | None = _CATALOG,
) -> None:
    """Draw a session or a dataset segment as video: frames (or a skeleton), BODY_25 skeleton, and the
    8 muscles coloured from relaxed (blue) to flexed (red); measured and predicted side by side, with
    a legend naming each muscle.

    Example: miakit render --dataset demo --segment 0 --checkpoint runs/t1/checkpoint.pt --out overlay.mp4
    """
    from miakit.contracts.dataset import find_segment
    from miakit.viz.common import predict_segment
    from miakit.viz.render import check_video_output

    check_video_output(out)
    if (session_dir is None) == (dataset is None):
        raise typer.BadParameter(
            "give either SESSION_DIR or --dataset with --segment", param_hint="SESSION_DIR/--dataset"
        )
    if dataset is not None and segment is None:
        raise typer.BadParameter("--dataset needs --segment", param_hint="--segment")
    if session_dir is not None:
        from miakit.viz.render import emg_scale, render_segment, session_dataset

        ds, video = session_dataset(session_dir, pipeline=pipeline)
        seg_id, scale = str(ds["segment"].values[0]), emg_scale(ds["emg"].values, source="this session")
    else:
        from miakit.viz.common import as_dataset
        from miakit.viz.render import dataset_emg_scale, render_segment

        assert dataset is not None and segment is not None  # checked above
        ds, video = as_dataset(dataset, catalog=catalog), None
        seg_id, scale = find_segment(ds, segment, where=dataset).id, dataset_emg_scale(ds)
    predicted = predict_segment(checkpoint, ds, seg_id) if checkpoint is not None else None
    result = render_segment(ds, seg_id, out, predicted=predicted, scale=scale, video=video, panel_height=height)
    if result.codec != "h264":
        typer.echo(
            f"note: no H.264 encoder (PyAV with libx264) here: wrote {result.codec}, which browsers may not play",
            err=True,
        )
    typer.echo(str(result.path))
