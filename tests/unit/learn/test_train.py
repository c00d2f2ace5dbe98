"""The trainer: config overrides, the schedule, checkpoints, exact resume, reproducibility."""

from __future__ import annotations

import math

import numpy as np
import pytest

from miakit.errors import InputError
from miakit.learn.config import TrainConfig, apply_overrides
from miakit.learn.inference import load_checkpoint, predict
from miakit.learn.train import lr_at, train

TINY = dict(window=10, batch_size=4, max_steps=6, eval_every=3, warmup_steps=2, patience=100, lr=1e-3)


def test_overrides_parse_by_field_type_and_refuse_bad_input():
    config = apply_overrides(TrainConfig(), ["lr=3e-4", "max_steps=200", "amp=false", "device=cpu", "model=cnn"])
    assert (config.lr, config.max_steps, config.amp, config.device, config.model) == (3e-4, 200, False, "cpu", "cnn")
    with pytest.raises(InputError, match="unknown setting"):
        apply_overrides(TrainConfig(), ["learning_rate=1"])
    with pytest.raises(InputError, match="max_steps"):
        apply_overrides(TrainConfig(), ["max_steps=lots"])
    with pytest.raises(InputError, match="not a trainable model"):
        apply_overrides(TrainConfig(), ["model=nn"])
    with pytest.raises(InputError, match="unknown setting"):
        apply_overrides(TrainConfig(), ["lr"])


@pytest.mark.parametrize("change", ["min_lr=-1e-5", "warmup_steps=-1", "weight_decay=-0.1", "grad_clip=-1"])
def test_a_schedule_that_cannot_run_is_refused_in_one_line(change):
    with pytest.raises(InputError, match=change.split("=")[0]):
        apply_overrides(TrainConfig(lr=1e-3), [change])
    assert (
        apply_overrides(
            TrainConfig(lr=1e-3), ["min_lr=0", "warmup_steps=0", "weight_decay=0", "grad_clip=0"]
        ).warmup_steps
        == 0
    )
    assert (
        lr_at(0, lr=1.0, min_lr=0.1, warmup_steps=0, max_steps=100) == 1.0
    )  # no warm-up: the peak from the first step


def test_lr_schedule_warms_up_then_decays_to_min():
    kw = dict(lr=1.0, min_lr=0.1, warmup_steps=10, max_steps=110)
    assert lr_at(0, **kw) == pytest.approx(0.1) and lr_at(9, **kw) == pytest.approx(1.0)
    assert lr_at(10, **kw) == pytest.approx(1.0)
    assert lr_at(60, **kw) == pytest.approx(0.55)
    assert lr_at(110, **kw) == pytest.approx(0.1) and lr_at(500, **kw) == pytest.approx(0.1)
    values = [lr_at(s, **kw) for s in range(10, 111)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def _weights(path):
    import torch

    return torch.load(path, weights_only=True)["model"]


def test_resumed_run_equals_a_straight_run(small_ds, tmp_path):
    import torch

    config = TrainConfig(**TINY)
    straight = train(small_ds, config, tmp_path / "a", progress=False)
    half = train(small_ds, config, tmp_path / "b", progress=False, until_step=3)
    assert half.steps == 3 and half.stopped == "until_step"
    resumed = train(small_ds, config, tmp_path / "b", progress=False, resume=True)
    assert straight.steps == resumed.steps == 6
    a, b = _weights(tmp_path / "a" / "last.pt"), _weights(tmp_path / "b" / "last.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    np.testing.assert_allclose(straight.history["val_rmse"], resumed.history["val_rmse"])
    # and a run that is not resumed differs (so the comparison above can fail)
    other = train(small_ds, TrainConfig(**{**TINY, "seed": 1}), tmp_path / "c", progress=False)
    c = _weights(tmp_path / "c" / "last.pt")
    assert not all(torch.equal(a[k], c[k]) for k in a)
    assert other.steps == 6


def test_resuming_a_finished_or_early_stopped_run_trains_no_further(small_ds, tmp_path):
    import torch

    for name, overrides in (("finished", {}), ("stopped", {"patience": 1, "lr": 0.5, "max_steps": 60})):
        config = TrainConfig(**{**TINY, **overrides})
        first = train(small_ds, config, tmp_path / name, progress=False)
        again = train(small_ds, config, tmp_path / name, progress=False, resume=True)
        assert (again.steps, again.stopped, again.best_val_rmse) == (first.steps, first.stopped, first.best_val_rmse), (
            name
        )
        a, b = first.model.state_dict(), _weights(tmp_path / name / "last.pt")
        assert all(torch.equal(a[k], b[k]) for k in a), name
    assert first.stopped == "early_stopping" and first.steps < 60  # the second case did stop early


def test_checkpoint_holds_the_best_evaluation_and_last_the_latest_step(small_ds, tmp_path):
    import torch

    def steps(run):
        return [
            torch.load(tmp_path / run / name, weights_only=True)["state"]["step"]
            for name in ("checkpoint.pt", "last.pt")
        ]

    full = train(small_ds, TrainConfig(**TINY), tmp_path / "full", progress=False)
    best_step = int(full.history["step"][full.history["val_rmse"].idxmin()])
    assert steps("full") == [best_step, 6]
    train(small_ds, TrainConfig(**TINY), tmp_path / "between", progress=False, until_step=4)  # between evaluations
    assert steps("between") == [3, 4]  # saved together at step 3, last.pt replaced alone at step 4
    train(small_ds, TrainConfig(**TINY), tmp_path / "early", progress=False, until_step=2)  # before the first
    assert steps("early") == [2, 2]
    a, b = (_weights(tmp_path / "between" / name) for name in ("checkpoint.pt", "last.pt"))
    assert not all(torch.equal(a[k], b[k]) for k in a)


def test_resume_refuses_a_changed_config(small_ds, tmp_path):
    train(small_ds, TrainConfig(**TINY), tmp_path, progress=False, until_step=3)
    with pytest.raises(InputError, match="different config.*lr") as err:
        train(small_ds, TrainConfig(**{**TINY, "lr": 5e-4}), tmp_path, progress=False, resume=True)
    line = str(err.value)  # only the changed key, its two values: not both configs (a 706-character line)
    assert f"lr {TINY.get('lr', TrainConfig().lr)!r} then, 0.0005 now" in line, line
    assert len(line) < 200 + len(str(tmp_path)) and "\n" not in line and "batch_size" not in line


def test_checkpoint_files_and_loading(small_ds, tmp_path):
    from miakit.learn.windows import load_frames, split_in_distribution

    result = train(small_ds, TrainConfig(**TINY, model="cnn"), tmp_path, progress=False)
    assert {p.name for p in tmp_path.iterdir()} >= {"checkpoint.pt", "last.pt", "history.csv"}
    assert list(result.history.columns) == ["step", "lr", "train_loss", "val_rmse", "elapsed_s", "cpu_s"]
    assert (result.history["cpu_s"].diff().dropna() >= 0).all() and 0 < result.cpu_s
    assert result.history["step"].tolist() == [3, 6]
    assert result.best_val_rmse == pytest.approx(result.history["val_rmse"].min())
    model, config, meta = load_checkpoint(result.checkpoint)
    assert config.model == "cnn" and not model.training
    seen = load_frames(small_ds).inputs[np.unique(split_in_distribution(small_ds, window=10).train.frames())]
    np.testing.assert_allclose(model.scale_inputs.mean.numpy(), seen.mean(axis=0), rtol=1e-4, atol=1e-6)
    assert meta["n_muscles"] == 8 and meta["muscles"][0] == "M0" and meta["best_val_rmse"] == result.best_val_rmse
    x = np.zeros((2, 10, meta["n_features"]), np.float32)
    assert predict(model, x, emg_scale=config.emg_scale).shape == (2, 8, 10)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="not a checkpoint file .* found 'a text file'"):
        load_checkpoint(tmp_path / "junk.pt")
    (tmp_path / "junk.pt").write_bytes(b"\x80\x04 not a checkpoint")  # binary, yet no checkpoint
    with pytest.raises(InputError, match="not a miakit checkpoint|not a checkpoint file"):
        load_checkpoint(tmp_path / "junk.pt")
    import torch

    newer = torch.load(result.checkpoint, weights_only=True)
    newer["config"].update(ema=0.99, readout_gain=2.0)  # settings a later miakit may add
    torch.save(newer, tmp_path / "newer.pt")
    with pytest.raises(InputError, match="ema, readout_gain: written by a newer miakit"):
        load_checkpoint(tmp_path / "newer.pt")


def test_early_stopping_stops_when_validation_does_not_improve(small_ds, tmp_path):
    # a learning rate so small that no weight changes: the 2nd evaluation is no better, patience 1 stops there
    config = TrainConfig(**{**TINY, "max_steps": 40, "patience": 1, "lr": 1e-30, "min_lr": 1e-30, "weight_decay": 0.0})
    result = train(small_ds, config, tmp_path, progress=False)
    assert result.stopped == "early_stopping" and result.steps == 6
    assert result.history["val_rmse"].iloc[1] == result.history["val_rmse"].iloc[0]


def test_cnn_learns_the_synthetic_relation(small_ds, tmp_path):
    from miakit.learn.metrics import rmse
    from miakit.learn.windows import load_frames, split_in_distribution

    config = TrainConfig(model="cnn", max_steps=60, eval_every=20, warmup_steps=5, lr=3e-3, batch_size=32)
    result = train(small_ds, config, tmp_path, progress=False)
    model, config, _ = load_checkpoint(result.checkpoint)
    splits, frames = split_in_distribution(small_ds, window=30), load_frames(small_ds)
    x, y, _ = frames.gather(splits.test)
    _, y_train, _ = frames.gather(splits.train)
    mean = np.broadcast_to(y_train.mean(axis=(0, 2))[None, :, None], y.shape)
    assert rmse(predict(model, x), y) < 0.8 * rmse(mean, y)
    assert math.isfinite(result.best_val_rmse)


def test_without_standardize_the_model_sees_the_papers_inputs(small_ds, tmp_path):
    result = train(small_ds, TrainConfig(**{**TINY, "max_steps": 2, "standardize": False}), tmp_path, progress=False)
    model, _, _ = load_checkpoint(result.checkpoint)
    assert float(model.scale_inputs.mean.abs().max()) == 0.0 and float((model.scale_inputs.std - 1).abs().max()) == 0.0


def test_a_time_budget_moves_the_schedule_along():
    from miakit.learn.train import _schedule_step

    timed = TrainConfig(max_steps=100, max_seconds=150.0)
    assert _schedule_step(10, 75.0, timed) == 50  # half the time gone: half the schedule
    assert _schedule_step(80, 75.0, timed) == 80  # ahead of time: the steps lead
    assert _schedule_step(10, 900.0, timed) == 100
    assert _schedule_step(10, 75.0, TrainConfig(max_steps=100)) == 10
    demo = TrainConfig.demo(lr=5e-4)
    assert demo.lr == 5e-4 and demo.max_seconds > 0 and demo.model == "transformer"
