"""``miakit bench real`` on the shared C3D trials, imported by ``miakit import c3d``."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import miakit
from miakit.bench import real
from miakit.bench.report import goal_lines


def _segment(ds, s):
    a, n = int(ds["segment_start"][s]), int(ds["segment_length"][s])
    return slice(a, a + n)


def _measured_as_predictions(ds, shift: int = 0) -> dict:
    """Predictions that are the measured envelope itself (unrecorded muscles: noise), shifted ``shift`` frames later."""
    emg = np.asarray(ds["emg"].values, dtype=np.float64)
    out = {}
    for s in range(ds.sizes["segment"]):
        y = emg[_segment(ds, s)].copy()
        for k in range(y.shape[1]):
            if not np.isfinite(y[:, k]).any():
                y[:, k] = np.random.default_rng(k).random(len(y))
        if shift:
            y = np.concatenate([np.repeat(y[:1], shift, axis=0), y[:-shift]])
        out[s] = y
    return out


def test_the_measured_envelope_as_prediction_scores_r_1_lag_0_p_small(real_store, tmp_path):
    ds = miakit.open_dataset(real_store)
    result = real.run_real(ds, None, tmp_path, predictions=_measured_as_predictions(ds), surrogates=200, figures=False)
    u = result.units
    # walk: 4 leg muscles x 2 views; lift: right biceps and triceps x 2 views
    assert len(u) == 12 and set(u["view"]) == {"front", "side"}
    np.testing.assert_allclose(u["r"], 1.0, atol=1e-9)
    assert (u["lag_s"] == 0).all()
    assert (u["p"] <= 0.02).all(), u["p"].tolist()
    walk = u[u["trial"] == "gaitalytics-walk"]
    assert walk["own_beats_other_side"].all(), "the other leg's envelope correlates less than the leg's own"
    assert (walk["r_other_side"] < 0.9).all() and (walk["own_rank"] == 1).all()
    # gait cycles: heel strike to heel strike per side; measured and predicted peaks coincide
    c = result.cycles
    assert len(c) == 4 * 2 * 2  # 4 muscles x 2 cycles per side x 2 views
    np.testing.assert_allclose(c["predicted_peak_pct"], c["measured_peak_pct"])
    quads = c[c["muscle"].str.contains("Quad")]
    assert real.in_range(quads["measured_peak_pct"]).mean() >= 0.75, "the walk's quadriceps peak in loading response"
    lines = goal_lines(result.goals)
    assert lines[0].startswith("- **MET**") and lines[1].startswith("- **MET**") and lines[2].startswith("- **MET**"), (
        lines
    )


def test_the_report_gives_each_trial_each_lab_and_the_trials_nothing_was_chosen_on(real_store, tmp_path):
    """Per trial, per lab (the origin the source file's name states) and pooled; with ``tuned_on``
    the goals on the other trials apart, and the report names the trials choices were made on."""
    ds = miakit.open_dataset(real_store)
    preds = _measured_as_predictions(ds)
    walk = [s for s in range(ds.sizes["segment"]) if "walk" in str(ds["segment_session"].values[s])]
    for s in walk:  # the walk's prediction: noise, so the held-out numbers differ from the pooled ones
        preds[s] = np.random.default_rng(s).random(preds[s].shape)
    result = real.run_real(
        ds, None, tmp_path, predictions=preds, surrogates=20, figures=False, tuned_on=["pyomeca-box-lift"]
    )
    assert set(result.units["lab"]) == {"gaitalytics", "pyomeca"}
    by_trial = pd.read_csv(tmp_path / "summary_trial.csv", index_col=0)
    by_lab = pd.read_csv(tmp_path / "summary_lab.csv", index_col=0)
    assert set(by_trial.index) == {"gaitalytics-walk", "pyomeca-box-lift", "all"}
    assert set(by_lab.index) == {"gaitalytics", "pyomeca", "all"}
    assert by_trial.loc["pyomeca-box-lift", "median_r"] == pytest.approx(1.0)
    assert by_trial.loc["gaitalytics-walk", "median_r"] < 0.5
    held = real.json.loads((tmp_path / "goals.json").read_text())
    assert held["tuned_on"] == ["pyomeca-box-lift"] and held["held_out"][0]["value"] < 0.5
    text = result.report.read_text()
    assert "Choices behind the checkpoint were made on: pyomeca-box-lift" in text
    assert "Summary per trial" in text and "Summary per lab" in text
    assert "Lowest trial: gaitalytics-walk" in text and "NOT MET" in text


def test_a_time_shifted_copy_gives_the_known_lag(real_store, tmp_path):
    ds = miakit.open_dataset(real_store)
    result = real.run_real(
        ds, None, tmp_path, predictions=_measured_as_predictions(ds, shift=3), surrogates=0, figures=False
    )
    np.testing.assert_allclose(result.units["lag_s"], 0.3, err_msg="a prediction 3 frames late: lag +0.3 s")
    assert (result.units["r_at_lag"] > 0.95).all() and (result.units["r"] < result.units["r_at_lag"]).all()


def test_lag_sign_and_range_on_a_known_series():
    t = np.arange(200) / 10
    measured = np.sin(2 * np.pi * 0.13 * t) + 0.3 * np.sin(2 * np.pi * 0.41 * t)
    late = np.concatenate([np.zeros(4), measured[:-4]])
    assert real.best_lag(late, measured, max_lag=10)[0] == 4
    assert real.best_lag(measured, late, max_lag=10)[0] == -4
    assert real.best_lag(late, measured, max_lag=2)[0] in (1, 2), "outside the search range the best lag is at its edge"


def test_surrogate_p_is_uniform_ish_under_the_null():
    rng = np.random.default_rng(1)
    ps = []
    for i in range(60):  # independent smoothed noise: no relation between prediction and measurement
        a, b = (np.convolve(rng.normal(size=80), np.ones(5) / 5, mode="same") for _ in range(2))
        ps.append(real.surrogate_p(a, b, n=99, seed=i))
    ps = np.asarray(ps)
    assert 0.3 < ps.mean() < 0.7, ps.mean()
    assert 0.0 < (ps < 0.1).mean() < 0.3, "about 10% below 0.1 under the null"
    signal = np.sin(np.arange(80) / 3)
    assert real.surrogate_p(signal, signal + 0.1 * rng.normal(size=80), n=99, seed=0) == pytest.approx(0.01)


def test_phase_surrogates_keep_the_power_spectrum():
    x = np.random.default_rng(0).normal(size=64).cumsum()
    s = real.phase_surrogates(x, 5, np.random.default_rng(1))
    np.testing.assert_allclose(
        np.abs(np.fft.rfft(s - s.mean(axis=1, keepdims=True), axis=1)),
        np.abs(np.fft.rfft(x - x.mean()))[None].repeat(5, 0),
        atol=1e-8,
    )
    assert not np.allclose(s[0], x)


def test_bench_real_cli_with_a_checkpoint_writes_the_report(real_store, body25_ckpt, tmp_path):
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "miakit.cli",
            "bench",
            "real",
            "--checkpoint",
            str(body25_ckpt),
            "--dataset",
            str(real_store),
            "--out",
            str(tmp_path / "r"),
            "--surrogates",
            "50",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    out = tmp_path / "r"
    assert run.stdout.strip().splitlines()[-1] == str(out / "report.md")
    text = (out / "report.md").read_text()
    for goal in (
        "median r of a muscle's own prediction >= 0.5",
        "beats the other side's prediction in >= 75%",
        "quadriceps peak in 0-20%",
    ):
        assert goal in text
    assert text.count("MET") >= 3 and "| front |" in text and "| side |" in text
    units = pd.read_csv(out / "units.csv")
    assert len(units) == 12 and units["r"].between(-1, 1).all() and units["p"].between(0, 1).all()
    assert set(pd.read_csv(out / "summary.csv")["view"]) == {"front", "side", "all"}
    pngs = sorted(out.glob("segment_*.png"))
    assert len(pngs) == 4 and all(p.read_bytes()[:4] == b"\x89PNG" for p in pngs)


def test_a_checkpoint_of_other_keypoints_is_refused_in_one_line(real_store, tmp_path):
    from dataset_builders import make_dataset

    from miakit.learn.config import TrainConfig
    from miakit.learn.train import train

    ckpt = train(
        make_dataset(frames=120, subjects=("s0",), exercises=("squat",)),
        TrainConfig(window=10, batch_size=4, max_steps=1, eval_every=1, warmup_steps=1),
        tmp_path / "k",
        progress=False,
    ).checkpoint
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "miakit.cli",
            "bench",
            "real",
            "--checkpoint",
            str(ckpt),
            "--dataset",
            str(real_store),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "checkpoint" in run.stderr and ("keypoint" in run.stderr or "muscle" in run.stderr), run.stderr


@pytest.mark.slow
def test_bench_paper_with_real_data_has_a_real_emg_section(real_store, tmp_path):
    from dataset_builders import make_dataset

    from miakit.bench.paper import get_profile, run_paper
    from miakit.layout import BODY_25, MUSCLES

    ds = make_dataset(frames=160, exercises=("squat", "running")).assign_coords(
        keypoint=list(BODY_25), muscle=list(MUSCLES)
    )
    ds.attrs["muscles"] = list(MUSCLES)
    tiny = dict(
        max_steps=2,
        eval_every=2,
        warmup_steps=1,
        window=10,
        window_lengths=(10,),
        loeo_exercises=1,
        transfer_ks=(1,),
        retrieval_database=100,
    )
    result = run_paper(
        ds, tmp_path, profile=get_profile("quick", **tiny), progress=False, real=miakit.open_dataset(real_store)
    )
    text = result.report.read_text()
    assert (
        "## Real EMG" in text and "median r of a muscle's own prediction >= 0.5" in text and "`real/report.md`" in text
    )
    assert (tmp_path / "real" / "units.csv").is_file() and len(result.real.units) == 12


def test_a_trial_shorter_than_the_window_is_still_scored(real_store, tmp_path):
    """Gait labs often keep 2 s around the force plates: such a trial gets one window of its length."""
    from dataset_builders import make_dataset

    from miakit.layout import BODY_25, MUSCLES
    from miakit.learn.config import TrainConfig
    from miakit.learn.train import train

    ds = make_dataset(frames=200, subjects=("s0",), exercises=("squat", "running"))
    ds = ds.assign_coords(keypoint=list(BODY_25), muscle=list(MUSCLES)).assign_attrs(muscles=list(MUSCLES))
    config = TrainConfig(window=40, batch_size=8, max_steps=2, eval_every=2, warmup_steps=1)
    checkpoint = train(ds, config, tmp_path / "ckpt", progress=False).checkpoint
    store = miakit.open_dataset(real_store)
    walk = int(np.flatnonzero(store["segment_session"].values.astype(str) == "gaitalytics-walk")[0])
    assert int(store["segment_length"][walk]) < 40
    units, _, predictions = real.score_segments(store, checkpoint, segments=[walk], surrogates=10)
    assert len(units) == 4 and np.isfinite(units["r"]).all() and np.isfinite(predictions[walk]).all()
