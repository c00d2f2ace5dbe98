"""Every plot is saved to a PNG and checked by what it drew: the data of its lines and images, and
the pixels of the written file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from viz_builders import make_dataset

from miakit.errors import InputError
from miakit.layout import MUSCLES
from miakit.viz import plots


def _png(path: Path) -> np.ndarray:
    """The written PNG as an (rows, cols, RGB) uint8 array (row 0 at the top)."""
    import matplotlib.image

    image = matplotlib.image.imread(path)
    return np.rint(image[..., :3] * 255).astype(np.uint8)


def _to_pixel(fig, ax, x: float, y: float) -> tuple[int, int]:
    """(row, col) of a data point in the saved PNG (saved at the figure's dpi)."""
    px, py = ax.transData.transform((x, y))
    return int(round(fig.bbox.height - py)), int(round(px))


def _axes_rows(fig, ax, margin: int = 4) -> slice:
    x0, y0, x1, y1 = ax.bbox.extents
    return slice(int(fig.bbox.height - y1) + margin, int(fig.bbox.height - y0) - margin)


def _line(ax, gid: str):
    return next(line for line in ax.lines if line.get_gid() == gid)


# -- session_emg ----------------------------------------------------------------------------------


def test_session_emg_breaks_the_line_at_a_gap_and_marks_events(session_factory, tmp_path):
    folder = session_factory("s", duration_s=8, drop=(3.0, 5.0), clap_at=6.0)
    fig = plots.session_emg(folder)
    png = _png(plots.save_figure(fig, tmp_path / "emg.png"))
    strip, first, second = fig.axes[0], fig.axes[1], fig.axes[2]
    assert first.get_ylabel().startswith("M40-01") and "(" in first.get_ylabel()  # sensor, muscle and units
    assert first.get_xlabel() == "" and fig.axes[-1].get_xlabel() == "host time (s)"
    assert "subject" in fig.get_suptitle()

    t, y = (np.asarray(v, float) for v in first.lines[0].get_data())
    inside = (t > 3.15) & (t < 4.85)
    assert inside.any() and np.isnan(y[inside]).all()  # the data: only the inserted NaN there
    assert np.isfinite(y[(t > 1) & (t < 2.9)]).all()
    t2, y2 = (np.asarray(v, float) for v in second.lines[0].get_data())
    assert np.isfinite(y2[(t2 > 3.2) & (t2 < 4.8)]).all()  # the other sensor has no gap

    # the pixels: in the gap's columns the first panel holds no line (no dark pixel), the second does
    rows1, rows2 = _axes_rows(fig, first), _axes_rows(fig, second)
    for x in np.linspace(3.4, 4.6, 5):
        _, col = _to_pixel(fig, first, x, 0)
        assert png[rows1, col].min() > 120, f"line drawn in the gap at t={x}"
        assert png[rows2, col - 2 : col + 3].min() < 90, f"no line at t={x} on the second sensor"
    _, col = _to_pixel(fig, first, 2.0, 0)
    assert png[rows1, col - 2 : col + 3].min() < 90

    sync = [line for line in first.lines if line.get_gid() == "event:sync"]
    assert len(sync) == 1 and sync[0].get_xdata()[0] == pytest.approx(5.7)  # the cue, 0.3 s before the clap
    labels = [text for text in strip.texts if text.get_gid() == "event-label"]
    assert any("sync clap" in text.get_text() for text in labels) and not first.texts
    fig.draw_without_rendering()
    renderer = fig._get_renderer()
    top_of_traces = first.get_window_extent(renderer).y1
    for text in labels:  # every label lies above the traces, none over another
        assert text.get_window_extent(renderer).y0 >= top_of_traces - 1, text.get_text()
    boxes = sorted((t.get_window_extent(renderer) for t in labels), key=lambda b: b.x0)
    assert all(a.x1 <= b.x0 + 1 for a, b in zip(boxes, boxes[1:]))
    row, col = _to_pixel(fig, second, 5.7, 0)
    red = png[rows2, col - 1 : col + 2].reshape(-1, 3)
    assert ((red[:, 0] > 180) & (red[:, 1] < 90)).sum() > 20  # a red vertical line on every panel


def test_break_gaps_inserts_one_nan_per_gap():
    t, y = plots.break_gaps(np.array([0.0, 0.1, 0.2, 1.0, 1.1, 3.0]), np.arange(6.0), max_gap_s=0.35)
    assert np.isnan(y).sum() == 2 and len(t) == 8 and np.all(np.diff(t) > 0)


# -- alignment ------------------------------------------------------------------------------------


def _peak(line) -> float:
    t, y = (np.asarray(v, float) for v in line.get_data())
    return float(t[np.nanargmax(y)])


def _top_of(png: np.ndarray, rows: slice, colour: tuple[int, int, int]) -> int:
    """The column of the highest pixel of ``colour`` (within 40 per channel) in those rows."""
    region = png[rows].astype(int)
    mask = (np.abs(region - np.array(colour)) < 40).all(axis=2)
    r, c = np.nonzero(mask)
    top = r == r.min()
    return int(np.median(c[top]))


def test_alignment_after_traces_peak_together(session_factory, tmp_path):
    folder = session_factory("s", duration_s=8, clap_at=3.0, clock_error_s=0.5)
    fig = plots.alignment(folder)
    png = _png(plots.save_figure(fig, tmp_path / "align.png"))
    top, bottom = fig.axes[0], fig.axes[1]
    # data: before, the motion (stated clock, 0.5 s late) peaks half a second after the EMG; after, together
    assert _peak(_line(top, "before:motion")) - _peak(_line(top, "before:emg")) == pytest.approx(0.5, abs=0.06)
    assert _peak(_line(bottom, "after:motion")) == pytest.approx(_peak(_line(bottom, "after:emg")), abs=0.05)
    assert _peak(_line(bottom, "after:emg")) == pytest.approx(3.0, abs=0.05)
    title = bottom.get_title(loc="left")
    assert "(applied)" in title and float(title.split("shifted by ")[1].split(" ms")[0]) == pytest.approx(-500, abs=50)
    gap = lambda ax: float(ax.get_title(loc="left").split("motion peak ")[1].split(" ms")[0])  # noqa: E731
    assert (
        gap(top) == pytest.approx(500, abs=60) and abs(gap(bottom)) < 60
    )  # before and after say how far apart the peaks are
    assert "subject" in fig.get_suptitle() and top.get_ylabel() and bottom.get_xlabel() == "host time (s)"
    # pixels: the tops of the blue and the red traces share a column after, not before
    blue, red = (31, 119, 180), (214, 39, 40)
    px_per_s = abs(_to_pixel(fig, bottom, 1.0, 0)[1] - _to_pixel(fig, bottom, 0.0, 0)[1])
    after = _axes_rows(fig, bottom, margin=6)
    before = _axes_rows(fig, top, margin=6)
    assert abs(_top_of(png, after, blue) - _top_of(png, after, red)) < 0.06 * px_per_s
    assert _top_of(png, before, blue) - _top_of(png, before, red) == pytest.approx(0.5 * px_per_s, abs=0.1 * px_per_s)


def test_alignment_without_a_sync_event_says_why(session_factory):
    folder = session_factory("s", duration_s=8)
    with pytest.raises(InputError, match="no sync event"):
        plots.alignment(folder)


def test_alignment_with_a_clock_pipeline_says_why(session_factory):
    folder = session_factory("s", duration_s=8, clap_at=3.0)
    with pytest.raises(InputError, match="aligns by the clock alone"):
        plots.alignment(folder, pipeline="emg-only")


# -- pose_confidence ------------------------------------------------------------------------------


def test_pose_confidence_draws_the_scores(tmp_path):
    n = 60
    score = np.full((n, 25), 0.9)
    score[20:30] = 0.0  # the person leaves the frame for a second
    score[:, 24] = 0.5
    valid = np.ones(n, bool)
    valid[20:30] = False
    ds = make_dataset(
        [
            {"id": "a", "subject": "S1", "exercise": "squat", "emg": np.ones((5, 8))},
            {"id": "b", "subject": "S1", "exercise": "running", "emg": np.ones((n, 8)), "score": score, "valid": valid},
        ]
    )
    fig = plots.pose_confidence(ds, "b")
    png = _png(plots.save_figure(fig, tmp_path / "pose.png"))
    heat, line = fig.axes[0], fig.axes[1]
    image = next(im for im in heat.images if im.get_gid() == "keypoint_score")
    np.testing.assert_allclose(np.asarray(image.get_array()), score.T, atol=1e-6)
    np.testing.assert_allclose(_line(line, "mean").get_ydata(), score.mean(axis=1), atol=1e-6)
    assert sum(p.get_gid() == "invalid" for p in line.patches) == 1
    assert (
        heat.get_ylabel() == "BODY_25 keypoint"
        and line.get_ylabel() == "score (0 to 1)"
        and line.get_xlabel() == "time in segment (s)"
    )
    assert "subject S1" in fig.get_suptitle() and "running" in fig.get_suptitle()
    # pixels: viridis(0) (dark purple) in the missing second, yellow-green elsewhere
    row, col = _to_pixel(fig, heat, 2.5, 5)
    assert tuple(png[row, col]) == pytest.approx((68, 1, 84), abs=8)
    row, col = _to_pixel(fig, heat, 1.0, 5)
    assert png[row, col][1] > 180  # 0.9 on viridis is light green-yellow
    row, col = _to_pixel(fig, heat, 1.0, 24)
    assert tuple(png[row, col]) == pytest.approx((33, 145, 140), abs=10)  # 0.5 on viridis


# -- dataset_summary ------------------------------------------------------------------------------


def test_dataset_summary_matches_the_data(tmp_path):
    rng = np.random.default_rng(0)
    parts, expected = [], {}
    for subject, exercise, frames, invalid in [
        ("S1", "squat", 600, 0),
        ("S1", "running", 300, 100),
        ("S2", "squat", 1200, 0),
        ("S1", "squat", 300, 300),
    ]:
        valid = np.arange(frames) >= invalid
        emg = rng.gamma(2.0, 10.0, (frames, 8)) * (1 + np.arange(8))
        parts.append(
            {
                "id": f"{subject}-{exercise}-{len(parts)}",
                "subject": subject,
                "exercise": exercise,
                "emg": emg,
                "valid": valid,
            }
        )
        expected[subject, exercise] = expected.get((subject, exercise), 0) + valid.sum() / 10 / 60
    ds = make_dataset(parts)
    fig = plots.dataset_summary(ds)
    png = _png(plots.save_figure(fig, tmp_path / "summary.png"))
    heat, boxes = fig.axes[0], fig.axes[1]
    image = next(im for im in heat.images if im.get_gid() == "valid_minutes")
    # rows: subjects S1, S2; columns: exercises running, squat
    want = np.array([[expected["S1", "running"], expected["S1", "squat"]], [0.0, expected["S2", "squat"]]])
    np.testing.assert_allclose(np.asarray(image.get_array()), want)
    assert want[0, 1] == pytest.approx(1.0) and want[0, 0] == pytest.approx(1 / 3)
    assert {t.get_text() for t in heat.texts} >= {"1.0", "0.3", "2.0", "0.0"}
    valid_emg = np.concatenate([p["emg"][p["valid"]] for p in parts])
    for k, muscle in enumerate(MUSCLES):
        median = _line(boxes, f"median:{muscle}")
        assert median.get_ydata()[0] == pytest.approx(np.median(valid_emg[:, k]), rel=1e-5)
    # pixels: the 2-minute cell is darker (Blues) than the 20-second one, which is darker than the empty one
    shade = [png[_to_pixel(fig, heat, col, row)].astype(int).sum() for row, col in [(1, 1), (0, 0), (1, 0)]]
    assert shade[0] < shade[1] < shade[2]


def test_dataset_summary_of_short_cells_reads_seconds_that_differ_where_the_shades_do(tmp_path):
    """Cells of 27 and 30 s (0.45 and 0.5 min) used to read "0.5" both, in two shades."""
    parts = [
        {"id": f"{s}-{e}", "subject": s, "exercise": e, "emg": np.ones((300, 8)), "valid": np.arange(300) >= cut}
        for s, e, cut in [("S1", "squat", 0), ("S1", "twist", 30), ("S2", "squat", 60), ("S2", "twist", 0)]
    ]
    fig = plots.dataset_summary(make_dataset(parts))
    heat = fig.axes[0]
    image = next(im for im in heat.images if im.get_gid() == "valid_seconds")
    np.testing.assert_allclose(np.asarray(image.get_array()), [[30, 27], [24, 30]])
    texts = {
        (round(t.get_position()[1]), round(t.get_position()[0])): t.get_text()
        for t in heat.texts
        if t.get_gid() == "cell"
    }
    assert texts == {(0, 0): "30", (0, 1): "27", (1, 0): "24", (1, 1): "30"}
    assert image.norm.vmin == 0 and image.norm.vmax == 30
    assert heat.get_xlabel() == "exercise" and heat.get_ylabel() == "subject"
    assert "valid seconds" in fig.axes[-1].get_ylabel() or any("valid seconds" in a.get_ylabel() for a in fig.axes)
    assert fig.axes[1].get_ylabel().startswith("EMG (") and fig.get_suptitle()


# -- predicted_vs_measured ------------------------------------------------------------------------


def test_predicted_vs_measured_draws_both(tmp_path):
    time = np.arange(50) / 10
    measured = np.sin(time[:, None] + np.arange(8)) * 10 + 20
    predicted = measured + 5
    measured[10:15, 2] = np.nan
    fig = plots.predicted_vs_measured(time, measured, predicted, title="test")
    png = _png(plots.save_figure(fig, tmp_path / "pvm.png"))
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 8
    for k, muscle in enumerate(MUSCLES):
        ax = fig.axes[k]
        assert ax.get_title() == muscle
        np.testing.assert_array_equal(_line(ax, f"measured:{muscle}").get_ydata(), measured[:, k])
        np.testing.assert_array_equal(_line(ax, f"predicted:{muscle}").get_ydata(), predicted[:, k])
    ax = fig.axes[0]
    row, col = _to_pixel(fig, ax, time[25], predicted[25, 0])
    patch = png[row - 2 : row + 3, col - 2 : col + 3].reshape(-1, 3).astype(int)
    assert ((patch[:, 0] > 150) & (patch[:, 2] < 100)).any()  # the red predicted line passes there
    with pytest.raises(ValueError, match="expected shape"):
        plots.predicted_vs_measured(time, measured[:, :4], None)
    fig = plots.predicted_vs_measured(time, measured)  # measured alone
    assert not any(line.get_gid().startswith("predicted") for line in fig.axes[0].lines)
