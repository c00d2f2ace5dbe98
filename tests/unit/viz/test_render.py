"""The overlay video: written as H.264 MP4, decoded back, and checked pixel by pixel: a flexed muscle
is red, a relaxed one blue, a missing one grey, predictions in their own panel, and the session's own
video frames under the drawing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from viz_builders import HEIGHT, WIDTH, make_dataset, upright_pose

from miakit.errors import MiakitError
from miakit.layout import MUSCLES
from miakit.viz import render as rv


def _decode(path: Path) -> tuple[str, list[np.ndarray]]:
    """The codec and every frame (BGR) of a video, read back with PyAV."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        codec = stream.codec_context.name
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(stream)]
    return codec, frames


def _pixel(frame: np.ndarray, result: rv.RenderResult, panel: int, xy: np.ndarray) -> np.ndarray:
    """The mean BGR colour (3x3) at keypoint-pixel position ``xy`` in ``panel`` of a decoded frame."""
    sx, sy = result.keypoint_scale
    col = int(round(xy[0] * sx)) + panel * result.panel_size[0]
    row = int(round(xy[1] * sy)) + result.header_px
    return frame[row - 1 : row + 2, col - 1 : col + 2].reshape(-1, 3).mean(axis=0)


def _red(bgr) -> bool:
    return bgr[2] > 140 and bgr[0] < 110


def _blue(bgr) -> bool:
    return bgr[0] > 140 and bgr[2] < 110


def test_activation_colours_run_from_blue_to_red():
    colours = rv.activation_colour(np.array([0.0, 0.5, 1.0, np.nan]))
    assert _blue(colours[0]) and _red(colours[2])
    assert tuple(colours[1]) == (221, 221, 221) and tuple(colours[3]) == rv.NO_DATA


def test_muscles_sit_on_their_limbs():
    pose = upright_pose()
    segs = rv.muscle_segments(pose, np.ones(25))
    assert set(segs) == set(MUSCLES)
    hip, knee = pose[12], pose[13]  # LHip, LKnee
    quad, ham = segs["LeftQuad"].midpoint, segs["LeftHamstring"].midpoint
    assert hip[1] < quad[1] < knee[1] and hip[1] < ham[1] < knee[1]  # along the thigh
    mid_x = pose[8][0]  # MidHip: the subject's left leg is on the image's right
    assert abs(quad[0] - mid_x) > abs(ham[0] - mid_x)  # quads away from the midline, hamstrings towards it
    assert abs(segs["RightTricep"].midpoint[0] - mid_x) > abs(segs["RightBicep"].midpoint[0] - mid_x)
    score = np.ones(25)
    score[13] = 0.0  # no left knee: no left thigh muscles
    assert "LeftQuad" not in rv.muscle_segments(pose, score) and "RightQuad" in rv.muscle_segments(pose, score)


def test_segment_video_shows_flexed_red_relaxed_blue_and_predictions(tmp_path):
    n = 20
    emg = np.full((n, 8), 10.0)
    quad, bicep, ham = MUSCLES.index("LeftQuad"), MUSCLES.index("RightBicep"), MUSCLES.index("RightHamstring")
    emg[10:, quad] = 100.0  # the left quad flexes halfway through
    emg[:, ham] = np.nan  # no right hamstring sensor
    predicted = emg.copy()
    predicted[:, quad] = 10.0  # the model misses it
    predicted[:, bicep] = 100.0  # and sees a flexed right bicep
    ds = make_dataset([{"id": "seg", "subject": "S1", "exercise": "squat", "emg": emg}])
    scale = rv.EmgScale(low=np.zeros(8), high=np.full(8, 100.0), description="colour: 0 to 100 device units")
    out = tmp_path / "overlay.mp4"
    result = rv.render_segment(ds, "seg", out, predicted=predicted, scale=scale, panel_height=480, progress=False)
    assert result.panels == ("measured", "predicted") and result.codec == "h264"

    codec, frames = _decode(out)
    assert codec == "h264" and len(frames) == n
    assert frames[0].shape == (result.height, result.width, 3) and result.width == 2 * result.panel_size[0]
    segs = rv.muscle_segments(upright_pose(), np.full(25, 0.9))
    at = {m: segs[m].midpoint for m in ("LeftQuad", "RightBicep", "RightHamstring")}
    assert _blue(_pixel(frames[5], result, 0, at["LeftQuad"]))  # relaxed before
    assert _red(_pixel(frames[15], result, 0, at["LeftQuad"]))  # flexed after
    assert _blue(_pixel(frames[15], result, 1, at["LeftQuad"]))  # predicted relaxed
    assert _blue(_pixel(frames[15], result, 0, at["RightBicep"])) and _red(
        _pixel(frames[15], result, 1, at["RightBicep"])
    )
    grey = _pixel(frames[15], result, 0, at["RightHamstring"])
    assert np.ptp(grey) < 25 and 100 < grey.mean() < 160  # no data: grey
    # no video: the dark background around the body, with the stated scale drawn below
    corner = frames[0][result.header_px + 5 : result.header_px + 20, 5:20].reshape(-1, 3).mean(axis=0)
    np.testing.assert_allclose(corner, rv.BACKGROUND, atol=6)
    layout = rv.Layout.for_panel(480)
    bar = frames[0][result.header_px + result.panel_size[1] + layout.line // 2, :]
    assert _blue(bar[result.width // 2 - result.width // 3]) and _red(bar[result.width // 2 + result.width // 3])


def test_segment_video_default_scale_is_one_absolute_scale_with_numbers(tmp_path):
    emg = np.linspace(0, 100, 30)[:, None].repeat(8, axis=1)
    quiet = MUSCLES.index("RightQuad")
    emg[:, quiet] = np.linspace(0, 3, 30)  # a muscle that hardly works: relaxed on the common scale
    ds = make_dataset([{"id": "seg", "subject": "S1", "exercise": "squat", "emg": emg}])
    result = rv.render_segment(ds, 0, tmp_path / "m.mp4", panel_height=320, progress=False)
    assert result.panels == ("measured",)
    np.testing.assert_allclose(result.scale.low, 0.0)
    high = np.percentile(emg, 99)
    np.testing.assert_allclose(result.scale.high, high)  # one scale, all muscles' values together
    assert (
        "99th percentile of all muscles' EMG" in result.scale.description and "device units" in result.scale.description
    )
    ticks = result.scale.ticks()
    assert [p for p, _ in ticks] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert ticks[0][1] == "0" and ticks[-1][1] == f"{high:.0f} device units"
    _, frames = _decode(result.path)
    segs = rv.muscle_segments(upright_pose(), np.ones(25))
    assert _blue(_pixel(frames[0], result, 0, segs["LeftQuad"].midpoint))
    assert _red(_pixel(frames[-1], result, 0, segs["LeftQuad"].midpoint))
    assert _blue(_pixel(frames[-1], result, 0, segs["RightQuad"].midpoint))  # near zero: never the top colour


def test_a_muscle_predicted_near_zero_is_not_drawn_flexed(tmp_path):
    """The predictions' scale is absolute too: 0 to a stated value, so a muscle the model puts near
    zero is blue while another one works hard (each muscle on its own range would draw both red)."""
    n = 12
    predicted = np.full((n, 8), 60.0)
    quiet = MUSCLES.index("LeftBicep")
    predicted[:, quiet] = np.linspace(0.5, 2.0, n)
    ds = make_dataset([{"id": "seg", "subject": "S1", "exercise": "squat", "emg": np.full((n, 8), 10.0)}])
    own_range = rv.emg_scale(predicted, per_muscle=True)
    assert own_range.level(predicted)[-1, quiet] > 0.95  # what the old per-muscle scale drew: flexed
    scale = rv.emg_scale(predicted, high=100.0, source="the model's EMG scale")
    result = rv.render_segment(
        ds, 0, tmp_path / "p.mp4", predicted=predicted, scale=scale, panel_height=320, progress=False, measured=False
    )
    assert result.panels == ("predicted",)
    _, frames = _decode(result.path)
    at = rv.muscle_segments(upright_pose(), np.full(25, 0.9))["LeftBicep"].midpoint
    colour = _pixel(frames[-1], result, 0, at)
    top = rv.activation_colour(np.array(1.0))
    assert _blue(colour) and np.abs(colour.astype(int) - top.astype(int)).sum() > 200


def test_predictions_of_the_wrong_shape_are_refused(tmp_path):
    ds = make_dataset([{"id": "seg", "subject": "S1", "exercise": "squat", "emg": np.ones((10, 8))}])
    with pytest.raises(MiakitError, match="predictions do not match"):
        rv.render_segment(ds, "seg", tmp_path / "x.mp4", predicted=np.ones((9, 8)), progress=False)


def test_session_video_draws_over_the_sessions_own_frames(synth_session, tmp_path):
    from miakit.stages.video import frames_at

    ds, video = rv.session_dataset(synth_session)
    assert video is not None and len(video.times) == ds.sizes["frame"]
    result = rv.render_session(synth_session, tmp_path / "session.mp4", panel_height=480, progress=False)
    codec, frames = _decode(result.path)
    assert codec == "h264" and len(frames) == ds.sizes["frame"]
    k = len(frames) // 2
    ((_, _, source),) = list(frames_at(video.path, video.times[k : k + 1]))
    pw, ph = result.panel_size
    import cv2

    source = cv2.resize(source, (pw, ph), interpolation=cv2.INTER_AREA)
    drawn = frames[k][result.header_px : result.header_px + ph, :pw]
    # the top of the frame (the preview's caption, above the body) is the session's video, not a background
    top = slice(0, ph // 8)
    assert np.abs(drawn[top].astype(int) - source[top].astype(int)).mean() < 8
    assert (
        np.abs(drawn[top].astype(int) - np.array(rv.BACKGROUND)).mean()
        > np.abs(drawn[top].astype(int) - source[top].astype(int)).mean() + 3
    )
    assert (source[top].max(axis=2) > 150).sum() > 20  # the caption is there to be seen
    # the video is timed by the alignment: the preview's own joints (white dots) lie under the
    # session's keypoints at each frame's time (not at the 0.4 s late time session.yaml states)
    assert _joint_hits(ds, video, video.times) > 0.97
    assert _joint_hits(ds, video, video.times + 0.4) < 0.9
    # and the muscles are drawn on the pose at that frame, in the session's own scale
    score = ds["keypoint_score"].values[k]
    segs = rv.muscle_segments(ds["keypoints"].values[k], score)
    level = result.scale.level(ds["emg"].values[k])
    for muscle, seg in segs.items():
        want = rv.activation_colour(level[MUSCLES.index(muscle)]).astype(float)
        got = _pixel(frames[k], result, 0, seg.midpoint)
        assert np.abs(got - want).max() < 45, (muscle, got, want)


def _joint_hits(ds, video: rv.VideoSource, times: np.ndarray) -> float:
    """The share of present keypoints (every 4th frame) that land on a bright pixel of the video
    frame shown at ``times`` (the synthetic preview draws its joints as white dots)."""
    from miakit.stages.video import frames_at

    keypoints, score = ds["keypoints"].values, ds["keypoint_score"].values
    width = ds["segment_image_width"].values[0]
    hits = []
    for j, _, image in frames_at(video.path, times[::4]):
        k = 4 * j
        bright = image.max(axis=2) > 180
        for x, y in np.rint(keypoints[k][score[k] > 0.3] * image.shape[1] / width).astype(int):
            hits.append(bright[max(0, y - 2) : y + 3, max(0, x - 2) : x + 3].any())
    return float(np.mean(hits))


# -- the commands ---------------------------------------------------------------------------------


def _app():
    import typer

    from miakit.viz.cli import plot_app, render

    app = typer.Typer()
    app.command("render")(render)
    app.add_typer(plot_app, name="plot")
    return app


def test_render_and_plot_commands(synth_session, tmp_path):
    from typer.testing import CliRunner

    runner = CliRunner()
    out = tmp_path / "cli.mp4"
    result = runner.invoke(_app(), ["render", str(synth_session), "--out", str(out), "--height", "320"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == str(out)
    codec, frames = _decode(out)
    assert codec == "h264" and frames[0].shape[0] >= 320 + 3 * rv.Layout.for_panel(320).line

    png = tmp_path / "emg.png"
    result = runner.invoke(_app(), ["plot", "session-emg", str(synth_session), "--out", str(png)])
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    result = runner.invoke(
        _app(), ["render", str(synth_session), "--dataset", "x", "--segment", "0", "--out", str(out)]
    )
    assert result.exit_code == 2 and "either SESSION_DIR or --dataset" in " ".join(
        result.output.replace("│", " ").split()
    )


def test_bar_letters_of_a_limb_stay_apart_and_inside_small_portrait_panels():
    import cv2

    from miakit.viz.render import letter_font, letter_places, muscle_segments

    pose = upright_pose()
    segments = muscle_segments(pose, np.ones(25))
    for height in (480, 960, 1920):  # the demo's panels, predict --height 960, full size
        width = height * WIDTH // HEIGHT
        scale = (width / WIDTH, height / HEIGHT)
        font = letter_font(height)
        places = letter_places(segments, scale=scale, font=font, gap=6)
        assert set(places) == set(MUSCLES)
        (tw, th), _ = cv2.getTextSize("W", cv2.FONT_HERSHEY_SIMPLEX, font, 1)
        assert th >= 9  # readable: letters at least 9 pixels high
        for a in MUSCLES:
            for b in MUSCLES:
                if a < b:
                    distance = np.hypot(places[a][0] - places[b][0], places[a][1] - places[b][1])
                    assert distance >= max(tw, th) + 6 - 1e-6, (height, a, b, distance)
            assert 0 <= places[a][0] < width and 0 <= places[a][1] < height
