"""Prediction with a trained checkpoint: sliding windows over a segment, and the whole video flow
on real videos (../shared/data/video) with a checkpoint trained here for a few steps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dataset_builders import make_dataset
from sample_files import sample_path

from miakit.errors import InputError
from miakit.layout import BODY_25, MUSCLES
from miakit.learn import predict as pr
from miakit.learn.config import TrainConfig
from miakit.learn.inference import predict
from miakit.learn.train import train
from miakit.learn.windows import load_frames
from miakit.viz import predict_video as pv
from miakit.viz.plots import activation_figure

WINDOW = 10


def _body25_dataset(**options):
    """The learn tests' synthetic dataset, with BODY_25 keypoint and paper muscle names."""
    ds = make_dataset(**options)
    return ds.assign_coords(keypoint=list(BODY_25), muscle=list(MUSCLES)).assign_attrs(muscles=list(MUSCLES))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(dataset, checkpoint path): the Transformer trained 5 steps on 10-step windows."""
    ds = _body25_dataset(frames=200, invalid_at=(100, 101))
    out = tmp_path_factory.mktemp("ckpt")
    config = TrainConfig(max_steps=5, window=WINDOW, batch_size=8, eval_every=5, warmup_steps=2, eval_stride=WINDOW)
    return ds, train(ds, config, out, progress=False).checkpoint


def test_window_starts_cover_each_long_enough_run():
    usable = np.array([1] * 7 + [0] + [1] * 3 + [0, 0] + [1] * 4, dtype=bool)
    assert pr.window_starts(usable, window=4, stride=2).tolist() == [0, 2, 3, 13]  # run 0-6: 0, 2 and the end 3
    assert pr.window_starts(usable, window=8).tolist() == []


def test_average_windows_means_the_overlaps_and_leaves_the_rest_nan():
    preds = np.stack([np.full((2, 3), 1.0), np.full((2, 3), 3.0)])  # two windows of 3 steps, 2 muscles
    out = pr.average_windows(preds, np.array([0, 2]), 7)
    assert out[:, 0].tolist()[:5] == [1.0, 1.0, 2.0, 3.0, 3.0]
    assert np.isnan(out[5:]).all()


def test_segment_inputs_match_the_trainers(trained):
    ds, _ = trained
    frames = load_frames(ds)
    start, length = int(ds["segment_start"][3]), int(ds["segment_length"][3])
    x = pr.segment_inputs(ds, slice(start, start + length), image_width=1080, image_height=1920)
    np.testing.assert_array_equal(x, frames.inputs[start : start + length])


def test_predict_segment_averages_windows_and_skips_invalid_frames(trained):
    ds, ckpt_path = trained
    ckpt = pr.load(ckpt_path)
    seg = str(ds["segment"].values[1])
    start, length = int(ds["segment_start"][1]), int(ds["segment_length"][1])
    out = pr.predict_segment(ckpt, ds, seg)
    assert out.shape == (length, len(MUSCLES))
    assert np.isnan(out[100:102]).all() and np.isfinite(np.delete(out, [100, 101], axis=0)).all()

    # with stride = window and a run that divides evenly, every frame has exactly one window
    x = load_frames(ds).inputs[start : start + length]
    one = pr.predict_segment(ckpt, ds, seg, stride=WINDOW)
    direct = predict(ckpt.model, x[None, :WINDOW], emg_scale=ckpt.config.emg_scale)[0].T
    np.testing.assert_allclose(one[:WINDOW], direct, rtol=1e-5, atol=1e-4)
    # overlapping windows average: the frame at 5 is covered by windows starting 0..5
    starts = np.arange(0, 6)
    many = predict(ckpt.model, np.stack([x[s : s + WINDOW] for s in starts]), emg_scale=ckpt.config.emg_scale)
    expected = np.mean([many[i, :, 5 - s] for i, s in enumerate(starts)], axis=0)
    np.testing.assert_allclose(out[5], expected, rtol=1e-5, atol=1e-4)


def test_a_model_with_context_reads_frames_around_each_window(tmp_path):
    """A miakit model trained with ``context`` predicts each window from the frames around it too:
    over a segment, the prediction of the window at frame 20 is the model's output for frames 17
    to 32; and a change in a frame just after a window changes its prediction."""
    ds = _body25_dataset(frames=200, invalid_at=(100, 101))
    config = TrainConfig(
        model="miakit",
        context=3,
        max_steps=5,
        window=WINDOW,
        batch_size=8,
        eval_every=5,
        warmup_steps=2,
        eval_stride=WINDOW,
    )
    ckpt = pr.load(train(ds, config, tmp_path, progress=False).checkpoint)
    assert ckpt.model.context == 3
    seg = str(ds["segment"].values[1])
    start, length = int(ds["segment_start"][1]), int(ds["segment_length"][1])
    x = load_frames(ds).inputs[start : start + length]
    out = pr.predict_segment(ckpt, ds, seg, stride=WINDOW)
    assert np.isnan(out[100:102]).all() and np.isfinite(out[:100]).all()
    direct = predict(ckpt.model, x[None, 17:33], emg_scale=config.emg_scale)[0].T
    np.testing.assert_allclose(out[20:30], direct, rtol=1e-5, atol=1e-4)
    later = x[None, 17:33].copy()
    later[0, -1] += 1.0  # a frame after the window
    assert not np.allclose(predict(ckpt.model, later, emg_scale=config.emg_scale)[0].T, direct)
    with pytest.raises(InputError, match="only the miakit models"):
        TrainConfig(context=2)
    with pytest.raises(InputError, match="context"):
        TrainConfig(model="miakit", window=10, context=11)


def test_predict_segment_refuses_other_keypoints(trained):
    ds, ckpt_path = trained
    other = make_dataset(frames=40, subjects=("s0",), exercises=("squat",))  # keypoints K0..K24
    with pytest.raises(InputError, match="keypoints differ"):
        pr.predict_segment(ckpt_path, other, 0)


# -- the whole video ------------------------------------------------------------------------------


def _decode(path):
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return stream.codec_context.name, [f.to_ndarray(format="bgr24") for f in container.decode(stream)]


@pytest.fixture(scope="module")
def portrait(trained, tmp_path_factory):
    """predict_video on the Pose2Sim clip (1.7 s, 60 fps, portrait)."""
    shared = sample_path()
    video = shared / "video" / "pose2sim-single-cam01.mp4"
    if not video.is_file():
        pytest.skip(f"real recordings not found at {shared} (they live beside the repository, not in it)")
    out = tmp_path_factory.mktemp("pred") / "pose2sim"
    return pv.predict_video(video, trained[1], out, progress=False, panel_height=320)


def test_predict_video_writes_the_table_the_store_the_plot_and_the_overlay(portrait, trained):
    import pandas as pd

    from miakit.store import open_store
    from miakit.viz import render as rv

    result = portrait
    assert result.frames == 17 and result.frames_with_person == 17  # 100 frames at 60 fps -> 1.67 s
    table = pd.read_csv(result.csv)
    assert list(table.columns) == ["time"] + list(MUSCLES)
    np.testing.assert_allclose(table["time"], np.arange(17) / 10.0, atol=1e-9)
    assert table[list(MUSCLES)].notna().all().all() and (table[list(MUSCLES)] >= 0).all().all()

    ds = open_store(result.zarr)
    assert ds.attrs["emg_source"] == "predicted" and ds.attrs["prediction"]["window"] == WINDOW
    assert str(ds["segment_source"].values[0]) == "predicted" and ds.sizes["frame"] == 17
    np.testing.assert_allclose(ds["emg"].values, table[list(MUSCLES)].values, atol=1e-3)
    np.testing.assert_allclose(ds["time"].values, table["time"].values)
    assert (int(ds["segment_image_width"][0]), int(ds["segment_image_height"][0])) == (1080, 1920)
    assert ds["valid"].values.all() and np.isfinite(ds["keypoints"].values).any()

    assert result.plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    codec, frames = _decode(result.overlay)
    assert codec == "h264" and len(frames) == 17
    # one 180x320 panel (9:16): nothing is measured, so no grey "measured" panel
    assert frames[0].shape[1] == 180 and frames[0].shape[0] > 320 + 3 * rv.Layout.for_panel(320).line
    header = result.rendered.header_px
    assert result.rendered.panels == ("predicted",)

    # a drawn muscle in its predicted colour
    k = 8
    kp, score = ds["keypoints"].values[k], ds["keypoint_score"].values[k]
    segs = rv.muscle_segments(kp, score)
    muscle = max(segs, key=lambda m: segs[m].width)
    scale = result.rendered.scale  # absolute: 0 to the model's EMG scale, every muscle alike
    assert scale.common and scale.high[0] == TrainConfig().emg_scale
    want = rv.activation_colour(scale.level(ds["emg"].values[k]))[list(MUSCLES).index(muscle)].astype(float)
    sx, sy = 180 / 1080, 320 / 1920
    x, y = segs[muscle].midpoint * [sx, sy]
    row = int(round(y)) + header
    drawn = frames[k][row - 1 : row + 2, int(round(x)) - 1 : int(round(x)) + 2].reshape(-1, 3).mean(axis=0)
    assert np.abs(drawn - want).max() < 40, (muscle, drawn, want)


def test_activation_plot_draws_each_muscles_prediction_and_shades_gaps():
    time_s = np.arange(20) / 10.0
    act = np.tile(np.linspace(0, 50, 20)[:, None], (1, 8))
    act[5:8] = np.nan
    fig = activation_figure(time_s, act, list(MUSCLES))
    lines = {line.get_gid(): line for ax in fig.axes for line in ax.get_lines()}
    np.testing.assert_allclose(lines["predicted:LeftQuad"].get_ydata(), act[:, 4])
    shaded = [p for ax in fig.axes for p in ax.patches if p.get_gid() == "no prediction"]
    assert len(shaded) == 8
    x0, x1 = shaded[0].get_x(), shaded[0].get_x() + shaded[0].get_width()
    assert x0 == pytest.approx(0.45) and x1 == pytest.approx(0.75)


def test_predict_command_on_the_dribbling_clip(trained, shared_data, tmp_path):
    import pandas as pd
    import typer
    from typer.testing import CliRunner

    from miakit.viz.predict_cli import predict as command

    app = typer.Typer()
    app.command()(command)
    out = tmp_path / "mm"
    video = shared_data / "video" / "mmhuman3d-single-person.mp4"  # 40 frames at 12 fps -> 34 grid frames
    result = CliRunner().invoke(app, [str(video), "--checkpoint", str(trained[1]), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == str(out)
    table = pd.read_csv(out / "activation.csv")
    assert len(table) == 34 and np.allclose(np.diff(table["time"]), 0.1)
    _, frames = _decode(out / "overlay.mp4")
    assert len(frames) == 34


def _first_frames(source: Path, out: Path, count: int) -> Path:
    """The first ``count`` frames of a real video, re-encoded with PyAV at its own rate."""
    av = pytest.importorskip("av")
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate
        frames = [f.to_ndarray(format="rgb24") for f, _ in zip(container.decode(stream), range(count))]
    with av.open(str(out), "w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for image in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode(None))
    return out


def test_a_clip_shorter_than_the_window_is_predicted_with_a_shorter_window(trained, shared_data, tmp_path):
    """1.5 s of the 60 fps clip (15 grid frames) and a model of 3 s windows: one window of 15."""
    ckpt = pr.load(trained[1])
    long_window = pr.Checkpoint(path=ckpt.path, model=ckpt.model, config=ckpt.config, meta={**ckpt.meta, "window": 30})
    clip = _first_frames(shared_data / "video" / "pose2sim-single-cam01.mp4", tmp_path / "short.mp4", 90)
    result = pv.predict_video(clip, long_window, tmp_path / "o", progress=False, panel_height=320)
    assert result.frames == 15 and result.frames_predicted == 15 and result.frames_short == 15
    table = pd.read_csv(result.csv)
    assert table[list(MUSCLES)].notna().all().all()


def test_short_runs_are_the_runs_window_starts_leaves_out():
    usable = np.array([1] * 7 + [0] + [1] * 3 + [0, 0] + [1] * 4, dtype=bool)
    assert pr.short_runs(usable, window=5) == [(8, 3), (13, 4)]
    assert pr.short_runs(usable, window=5, min_length=4) == [(13, 4)]


def test_a_short_run_gets_the_models_output_for_it_alone(trained):
    ds, ckpt_path = trained
    ckpt = pr.load(ckpt_path)
    seg = str(ds["segment"].values[1])
    start = int(ds["segment_start"][1])
    valid = ds["valid"].values.copy()
    valid[start + 6 :] = False  # a run of 6 frames, shorter than the window of 10
    cut = ds.assign(valid=(("frame",), valid))
    assert np.isnan(pr.predict_segment(ckpt, cut, seg)).all()
    out = pr.predict_segment(ckpt, cut, seg, min_window=1)
    x = load_frames(ds).inputs[start : start + 6]
    direct = predict(ckpt.model, x[None], emg_scale=ckpt.config.emg_scale)[0].T
    np.testing.assert_allclose(out[:6], direct, rtol=1e-5, atol=1e-4)
    assert np.isnan(out[6:]).all()


def test_an_impossible_clip_is_refused_before_the_pose_stage_in_under_a_second(trained, tmp_path):
    import time

    av = pytest.importorskip("av")
    tiny = tmp_path / "tiny.mp4"  # 3 frames at 60 fps: 0.05 s, less than one 10 Hz step
    with av.open(str(tiny), "w") as container:
        stream = container.add_stream("libx264", rate=60)
        stream.height, stream.width = 64, 64
        stream.pix_fmt = "yuv420p"
        for _ in range(3):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.full((64, 64, 3), 90, np.uint8), format="rgb24")))
        container.mux(stream.encode(None))
    sound = tmp_path / "sound.m4a"  # no video stream at all
    with av.open(str(sound), "w") as container:
        stream = container.add_stream("aac", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.rate = 8000
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    for clip, message in ((tiny, "shorter than one 10 Hz step"), (sound, "no video stream")):
        tick = time.perf_counter()
        with pytest.raises(InputError, match=message) as err:
            pv.predict_video(clip, trained[1], tmp_path / "o", progress=False)
        assert time.perf_counter() - tick < 1.0 and "\n" not in str(err.value)
    assert not (tmp_path / "o").exists()


def test_predict_command_stderr_is_clean_and_says_what_happened(trained, shared_data, tmp_path):
    import subprocess
    import sys

    video = shared_data / "video" / "mmhuman3d-single-person.mp4"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "miakit.cli",
            "predict",
            str(video),
            "--checkpoint",
            str(trained[1]),
            "--out",
            str(tmp_path / "p"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for noise in ("W0000", "I0000", "INFO:", "absl", "XNNPACK", "GetPrototype", "WARNING"):
        assert noise not in result.stderr, result.stderr
    assert "person: start; identity uncertain in 0 frames, lost in 0" in result.stderr


def test_no_person_is_one_clear_line(trained, tmp_path):
    import cv2

    blank = tmp_path / "wall.mp4"
    writer = cv2.VideoWriter(str(blank), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (320, 240))
    for _ in range(10):
        writer.write(np.full((240, 320, 3), 200, np.uint8))
    writer.release()
    with pytest.raises(InputError, match="no person in view") as err:
        pv.predict_video(blank, trained[1], tmp_path / "o", progress=False)
    assert "\n" not in str(err.value) and not (tmp_path / "o").exists()


def test_predict_segment_builds_the_checkpoints_own_features(tmp_path):
    from miakit.learn.features import frame_features

    ds = _body25_dataset(frames=120, subjects=("s0",), exercises=("squat", "twist"))
    config = TrainConfig(max_steps=2, window=WINDOW, batch_size=4, eval_every=2, warmup_steps=1, features="body+vel")
    ckpt = pr.load(train(ds, config, tmp_path, progress=False).checkpoint)
    out = pr.predict_segment(ckpt, ds, 1, stride=WINDOW)
    x = frame_features(ds, "body+vel")[120 : 120 + WINDOW]  # segment 1, its first window
    direct = predict(ckpt.model, x[None], emg_scale=config.emg_scale)[0].T
    np.testing.assert_allclose(out[:WINDOW], direct, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("spec", ["body+vel+subject", "body+depth+vel+subject"])
def test_predict_segment_knows_the_subjects_of_a_per_subject_model(tmp_path, spec):
    """A ``+subject`` model trained on two subjects predicts one segment (one subject) with the
    training subjects' columns: the subject's own, not the first column for whoever is there.
    With ``+depth`` the segment's inputs measure its limbs against the reference lengths of all
    the subject's frames, as in training, not of this segment's alone."""
    from miakit.learn.features import frame_features

    ds = _body25_dataset(frames=120, subjects=("s0", "s1"), exercises=("squat", "twist"))
    config = TrainConfig(
        model="miakit", max_steps=2, window=WINDOW, batch_size=4, eval_every=2, warmup_steps=1, features=spec
    )
    ckpt = pr.load(train(ds, config, tmp_path, progress=False).checkpoint)
    assert ckpt.meta["subjects"] == ["s0", "s1"]
    segment = int(np.flatnonzero(ds["segment_subject"].values.astype(str) == "s1")[0])
    start = int(ds["segment_start"][segment])
    out = pr.predict_segment(ckpt, ds, segment, stride=WINDOW)
    x = frame_features(ds, spec)[start : start + WINDOW]  # the whole dataset's columns: s1 is the second
    assert x[0, -4:].tolist() == [0.0, 1.0, 0.0, 0.0]
    direct = predict(ckpt.model, x[None], emg_scale=config.emg_scale)[0].T
    np.testing.assert_allclose(out[:WINDOW], direct, rtol=1e-5, atol=1e-4)


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    """(dataset, checkpoint): the ablation's miakit recipe (every feature, mirror, context frames),
    trained 2 steps on two subjects."""
    from miakit.learn.recipes import MIAKIT

    ds = _body25_dataset(frames=120, subjects=("s0", "s1"), exercises=("squat", "twist"))
    config = TrainConfig(**{**MIAKIT, "batch_size": 4, "warmup_steps": 1}, max_steps=2, window=WINDOW, eval_every=2)
    return ds, pr.load(train(ds, config, tmp_path_factory.mktemp("recipe"), progress=False).checkpoint)


def test_predict_segment_with_the_miakit_recipe(recipe):
    ds, ckpt = recipe
    assert ckpt.config.context == 2 and bool(ckpt.model.mirror.enabled)
    out = pr.predict_segment(ckpt, ds, 3, stride=3)
    start, length = int(ds["segment_start"][3]), int(ds["segment_length"][3])
    valid = ds["valid"].values[start : start + length]
    assert out.shape == (length, len(MUSCLES)) and np.isfinite(out[valid]).all()


def test_predict_video_with_the_miakit_recipe(recipe, shared_data, tmp_path):
    """The recipe predicts a video: its mask reads the points the pose back end does not give."""
    import pandas as pd

    video = shared_data / "video" / "mmhuman3d-single-person.mp4"  # 40 frames at 12 fps -> 34 grid frames
    pv.predict_video(video, recipe[1], tmp_path / "o", progress=False)
    table = pd.read_csv(tmp_path / "o" / "activation.csv")
    assert len(table) == 34 and np.isfinite(table[list(MUSCLES)].to_numpy()).any()
