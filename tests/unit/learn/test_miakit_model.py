"""The miakit model: shapes, parameters, the trainer with features and mirror, the ablation table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dataset_builders import make_dataset

from miakit.errors import InputError
from miakit.layout import BODY_25, MUSCLES
from miakit.learn.config import TrainConfig
from miakit.learn.inference import load_checkpoint
from miakit.learn.models import MODELS, NEURAL, build_model, count_parameters
from miakit.learn.train import train


@pytest.fixture(scope="module")
def body_ds():
    ds = make_dataset(frames=240, missing_fraction=0.0)
    return ds.assign_coords(keypoint=list(BODY_25), muscle=list(MUSCLES)).assign_attrs(muscles=list(MUSCLES))


def test_registered_and_shapes():
    import torch

    assert "miakit" in MODELS and "miakit" in NEURAL and "miakit-postnorm" in NEURAL
    model = build_model("miakit", n_features=103, n_muscles=8)
    assert model(torch.zeros(4, 30, 103)).shape == (4, 8, 30)
    assert count_parameters(build_model("miakit", n_features=50, n_muscles=8)) == 430_856
    assert (
        count_parameters(build_model("transformer", n_features=50, n_muscles=8)) == 2_430_856
    )  # the paper's, unchanged
    post = build_model("miakit-postnorm", n_features=50, n_muscles=8)
    assert not post.encoder.layers[0].norm_first and model.encoder.layers[0].norm_first


def test_train_with_features_and_mirror_then_reload(body_ds, tmp_path):
    config = TrainConfig(
        model="miakit",
        features="body+vel+subject",
        augment="mirror",
        max_steps=30,
        eval_every=10,
        warmup_steps=5,
        lr=2e-3,
        batch_size=16,
        window=20,
    )
    result = train(body_ds, config, tmp_path / "run", progress=False)
    model, loaded, meta = load_checkpoint(result.checkpoint)
    assert loaded.features == "body+vel+subject" and loaded.augment == "mirror"
    assert meta["n_features"] == 100 + 2 * 2  # body+vel, then 2 subjects and their mirror images
    first, last = result.history["train_loss"].iloc[0], result.history["train_loss"].iloc[-1]
    assert last < first


def test_the_exp_read_out_starts_at_the_mean_stays_positive_and_reloads(body_ds, tmp_path):
    """``readout="exp"``: the untrained model predicts each muscle's training mean (as the linear
    read-out does), the trained one predicts no negative EMG, and a checkpoint brings it back as it
    was (its means included); the paper's models refuse it."""
    import torch

    from miakit.learn.inference import predict
    from miakit.learn.train import config_splits
    from miakit.learn.windows import load_frames

    config = TrainConfig(model="miakit", readout="exp", max_steps=20, eval_every=10, warmup_steps=5, window=20)
    result = train(body_ds, config, tmp_path / "run", progress=False)
    model, loaded, _ = load_checkpoint(result.checkpoint)
    assert loaded.readout == "exp" and type(model.readout).__name__ == "ExpReadout"
    frames = load_frames(body_ds)
    train_frames = config_splits(body_ds, config).train.frames()
    mean = np.nanmean(frames.emg[train_frames].reshape(-1, frames.n_muscles), axis=0) / config.emg_scale
    np.testing.assert_allclose(model.readout.mean.numpy(), np.maximum(mean, 0.05), rtol=1e-5)
    fresh = build_model("miakit", n_features=frames.n_features, n_muscles=frames.n_muscles, readout="exp")
    fresh.readout.set(mean)
    torch.nn.init.zeros_(fresh.head.weight)
    fresh.head.bias.data.copy_(torch.as_tensor(mean, dtype=torch.float32))
    start = fresh.eval()(torch.randn(2, 20, frames.n_features))
    np.testing.assert_allclose(start.detach().numpy(), np.broadcast_to(mean[None, :, None], (2, 8, 20)), rtol=1e-5)
    x, _, _ = frames.gather(config_splits(body_ds, config).test, context=0)
    assert (predict(model, x, emg_scale=config.emg_scale) >= 0).all()
    with pytest.raises(InputError, match="readout"):
        TrainConfig(model="transformer", readout="exp")
    with pytest.raises(InputError, match="readout"):
        TrainConfig(model="miakit", readout="relu")


def test_the_softplus_read_out_is_never_negative_and_follows_the_linear_one_above_the_knee():
    """``readout="softplus"`` (the recipe's): whatever the layer before it says, even driven far
    below zero, no prediction is negative; where the linear read-out gives a muscle's mean or more
    it gives about the same; the recipe uses it; a checkpoint config without the field is linear."""
    import torch

    from miakit.learn.recipes import MIAKIT

    assert MIAKIT["readout"] == "softplus" and TrainConfig().readout == "linear"
    model = build_model("miakit", n_features=20, n_muscles=8, readout="softplus").eval()
    mean = np.linspace(0.05, 0.6, 8)
    model.readout.set(mean)
    torch.nn.init.normal_(model.head.weight, std=50.0)  # a head that swings far below and above zero
    with torch.no_grad():
        out = model(torch.randn(16, 30, 20) * 10)
    assert out.min() >= 0 and out.max() > 1.0
    y = torch.as_tensor(np.stack([mean, 2 * mean, 5 * mean])[None].transpose(0, 2, 1), dtype=torch.float32)
    np.testing.assert_allclose(model.readout(y).numpy(), y.numpy(), rtol=0.01)
    assert float(model.readout(torch.full((1, 8, 1), -1e3)).min()) >= 0


def test_a_model_trained_on_mirrored_windows_predicts_the_same_for_the_mirror_image(body_ds, tmp_path):
    """Test-time mirroring makes the prediction for the mirrored body exactly the prediction for
    the body with left and right muscles swapped; without it (``predict_mirrored=False``) it is not."""
    import torch

    from miakit.layout import MIRROR_MUSCLE
    from miakit.learn.features import frame_features, mirror_permutation

    spec = "body+angles+vel+subject"
    x = torch.from_numpy(frame_features(body_ds, spec)[None, 40:60])
    xm = torch.from_numpy(frame_features(body_ds, spec, mirrored=True)[None, 40:60])
    swap = mirror_permutation(list(MUSCLES), MIRROR_MUSCLE, what="muscle")
    gaps = {}
    for on in (True, False):
        config = TrainConfig(
            model="miakit",
            features=spec,
            augment="mirror",
            predict_mirrored=on,
            max_steps=10,
            eval_every=5,
            warmup_steps=2,
            batch_size=8,
            window=20,
        )
        model, _, _ = load_checkpoint(train(body_ds, config, tmp_path / str(on), progress=False).checkpoint)
        assert bool(model.mirror.enabled) == on
        with torch.no_grad():
            gaps[on] = float((model(xm) - model(x)[:, swap]).abs().max())
    assert gaps[True] < 1e-4 < gaps[False]


TINY_PROFILE = dict(
    config=dict(max_steps=4, eval_every=2, warmup_steps=1, window=20, eval_stride=20), loeo_exercises=1, variants=(0, 1)
)


def _tiny_store(path):
    """A 200-frame store of 4 exercises with BODY_25 keypoints, for the ablation's tiny profile."""
    from miakit.store import write_dataset

    ds = make_dataset(frames=200, missing_fraction=0.0, exercises=("squat", "running", "twist", "skater"))
    ds = ds.assign_coords(keypoint=list(BODY_25), muscle=list(MUSCLES)).assign_attrs(muscles=list(MUSCLES))
    write_dataset(ds, path)
    return path


@pytest.mark.slow
def test_ablation_smoke(tmp_path, monkeypatch, capsys):
    """``miakit bench ablation`` with a tiny profile on a tiny store writes a table with the paper's
    Transformer first and the full miakit model (its recipe's batch size) second."""
    from miakit.bench import ablation
    from miakit.cli import main
    from miakit.learn.recipes import MIAKIT

    store = _tiny_store(tmp_path / "tiny.zarr")
    monkeypatch.setitem(ablation.PROFILES, "smoke", TINY_PROFILE)  # --profile is a choice: a known name, made tiny
    with pytest.raises(SystemExit) as exit_:
        main(["bench", "ablation", "--dataset", str(store), "--out", str(tmp_path / "abl"), "--profile", "smoke"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(tmp_path / "abl" / "ablation.md")
    table = pd.read_csv(tmp_path / "abl" / "ablation.csv", index_col="variant")
    assert list(table.index) == ["paper Transformer", "miakit (all ideas)"]
    assert table.loc["paper Transformer", "in_distribution_vs_paper_%"] == 0.0
    assert table.loc["miakit (all ideas)", "batch"] == MIAKIT["batch_size"]
    assert np.isfinite(table[["in_distribution", "loeo"]].to_numpy()).all()
    assert "| miakit (all ideas) |" in (tmp_path / "abl" / "ablation.md").read_text()


def test_ablation_over_seeds_reports_each_seed_and_their_mean(tmp_path, monkeypatch):
    """Several seeds: the table's scores are the means of each seed's, a seed's scores are that
    seed's run (the same when it runs alone), and a resumed ablation scores its finished runs
    without training them again."""
    from miakit.bench import ablation
    from miakit.store import open_store

    ds = open_store(_tiny_store(tmp_path / "tiny.zarr"))
    cheap = dict(
        TINY_PROFILE, config=dict(TINY_PROFILE["config"], max_steps=2), variants=(1,)
    )  # the miakit model alone
    monkeypatch.setitem(ablation.PROFILES, "tiny", cheap)
    both = ablation.run_ablation(ds, tmp_path / "both", profile="tiny", seeds=(0, 1), progress=False).table
    alone = ablation.run_ablation(ds, tmp_path / "alone", profile="tiny", seeds=(1,), progress=False).table
    for col in ("in_distribution", "loeo"):
        per_seed = both[[f"{col}:seed0", f"{col}:seed1"]].to_numpy()
        assert np.allclose(both[col], per_seed.mean(axis=1))
        assert not np.allclose(per_seed[:, 0], per_seed[:, 1])  # the seed reaches the runs
        assert np.allclose(both[f"{col}:seed1"], alone[col])
    assert "in_distribution:seed1" not in alone.columns
    # resumed, the finished runs are scored again, not trained again
    checkpoints = sorted((tmp_path / "both" / "runs").glob("*/seed*/*/checkpoint.pt"))
    written = [p.stat().st_mtime_ns for p in checkpoints]
    again = ablation.run_ablation(
        ds, tmp_path / "both", profile="tiny", seeds=(0, 1), resume=True, progress=False
    ).table
    assert len(checkpoints) == 4 and [p.stat().st_mtime_ns for p in checkpoints] == written
    pd.testing.assert_frame_equal(again.drop(columns="train_s"), both.drop(columns="train_s"))
    assert len(list((tmp_path / "both" / "runs").glob("0-miakit-*/seed1/in_distribution/checkpoint.pt"))) == 1
    md = (tmp_path / "both" / "ablation.md").read_text()
    assert (
        "the mean over seeds 0, 1" in md
        and "| miakit (all ideas) | " + f"{both.iloc[0]['in_distribution:seed0']:.2f} (+0.0%)" in md
    )


def test_ablation_trains_its_runs_in_worker_processes_to_the_same_scores(tmp_path, monkeypatch):
    """``jobs=2``: the runs train in two spawned worker processes, one torch thread each, and score
    exactly as they do one after the other in this process on one thread."""
    import torch

    from miakit.bench import ablation
    from miakit.store import open_store

    ds = open_store(_tiny_store(tmp_path / "tiny.zarr"))
    monkeypatch.setitem(
        ablation.PROFILES, "tiny", dict(TINY_PROFILE, config=dict(TINY_PROFILE["config"], max_steps=2), variants=(1,))
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in each worker: the same arithmetic in the same order
    try:
        alone = ablation.run_ablation(ds, tmp_path / "alone", profile="tiny", progress=False).table
    finally:
        torch.set_num_threads(threads)
    workers = ablation.run_ablation(ds, tmp_path / "workers", profile="tiny", progress=False, jobs=2).table
    assert len(list((tmp_path / "workers" / "runs").glob("0-miakit-*/seed0/*/checkpoint.pt"))) == 2
    for col in ("in_distribution", "loeo"):
        assert np.isfinite(workers[col]).all()
        np.testing.assert_array_equal(workers[col], alone[col])
    with pytest.raises(InputError, match="jobs"):
        ablation.run_ablation(ds, tmp_path / "none", profile="tiny", progress=False, jobs=0)


def test_ablation_cli_rejects_bad_seeds_before_reading_the_dataset(tmp_path, capsys):
    from miakit.cli import main

    for seeds in ("0,x", "1,1", "-1", ""):
        with pytest.raises(SystemExit) as exit_:
            main(
                [
                    "bench",
                    "ablation",
                    "--dataset",
                    str(tmp_path / "missing.zarr"),
                    "--out",
                    str(tmp_path / "o"),
                    "--seeds",
                    seeds,
                ]
            )
        assert exit_.value.code == 2 and "bad seeds" in capsys.readouterr().err, seeds
    assert not (tmp_path / "o").exists()


def test_ablation_cli_rejects_a_bad_profile_before_reading_the_dataset(tmp_path, capsys):
    from miakit.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(
            [
                "bench",
                "ablation",
                "--dataset",
                str(tmp_path / "missing.zarr"),
                "--out",
                str(tmp_path / "o"),
                "--profile",
                "lunch",
            ]
        )
    err = capsys.readouterr().err  # a choice of the command line: the parser refuses it and lists the choices
    assert exit_.value.code == 2 and "Invalid value for '--profile'" in err and "'smoke', 'short', 'goal'" in err
    assert not (tmp_path / "o").exists()


def test_a_variant_carries_its_schedule_and_leaves_the_profiles_otherwise():
    """The miakit recipe's learning rate and warm-up reach its runs; the paper's Transformer keeps
    the profile's (the paper's recipe)."""
    from miakit.bench.ablation import VARIANTS, profile_config
    from miakit.learn.recipes import MIAKIT

    base, _, _ = profile_config("goal")
    paper, ours = VARIANTS[0].config(base), VARIANTS[1].config(base)
    assert (paper.lr, paper.warmup_steps, paper.batch_size) == (base.lr, base.warmup_steps, 32)
    assert (ours.lr, ours.warmup_steps, ours.batch_size) == (
        MIAKIT.get("lr", base.lr),
        MIAKIT.get("warmup_steps", base.warmup_steps),
        MIAKIT["batch_size"],
    )
    assert ours.max_steps == round(base.max_steps * VARIANTS[1].steps) and ours.model == "miakit"
