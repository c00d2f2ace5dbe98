"""The trainer on each device: the CPU everywhere, CUDA (bfloat16 autocast) where a GPU is present.

The CUDA case is skipped on a machine without one, as this project's CI is. On a GPU machine:
``python -m pytest tests/unit/learn/test_devices.py -v``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from miakit.learn.config import TrainConfig
from miakit.learn.inference import load_checkpoint, predict
from miakit.learn.train import train

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")),
]
RUN = dict(window=10, batch_size=8, max_steps=30, eval_every=10, warmup_steps=5, patience=100, lr=1e-3)


@pytest.mark.parametrize("device", DEVICES)
def test_training_on_a_device_with_and_without_mixed_precision(small_ds, tmp_path, device):
    mixed = train(small_ds, TrainConfig(**RUN, device=device, amp=True), tmp_path / "amp", progress=False)
    full = train(small_ds, TrainConfig(**RUN, device=device, amp=False), tmp_path / "fp32", progress=False)
    assert {p.device.type for p in mixed.model.parameters()} == {device}
    assert all(
        p.dtype == torch.float32 for p in mixed.model.parameters()
    )  # autocast casts per operation, not the weights
    assert np.isfinite(mixed.history["train_loss"]).all() and np.isfinite(mixed.history["val_rmse"]).all()
    # bfloat16 changes the arithmetic (on CUDA; the CPU ignores amp), not what is learned
    np.testing.assert_allclose(mixed.history["val_rmse"], full.history["val_rmse"], rtol=0.05)
    assert mixed.history["val_rmse"].iloc[-1] < mixed.history["val_rmse"].iloc[0]  # it learned

    # a checkpoint written on the device loads on the CPU and predicts as it did on the device
    model, config, _ = load_checkpoint(mixed.checkpoint)
    x = np.random.default_rng(0).normal(size=(16, 10, model.scale_inputs.mean.numel())).astype(np.float32)
    on_cpu = predict(model, x, emg_scale=config.emg_scale)
    on_device = predict(model.to(device), x, emg_scale=config.emg_scale, device=device)  # autocast where CUDA
    np.testing.assert_allclose(on_device, on_cpu, rtol=0.05, atol=0.02 * float(np.abs(on_cpu).max()))

    # a run stopped and resumed on the device ends where the straight run ended
    train(small_ds, TrainConfig(**RUN, device=device, amp=True), tmp_path / "resumed", progress=False, until_step=10)
    resumed = train(
        small_ds, TrainConfig(**RUN, device=device, amp=True), tmp_path / "resumed", progress=False, resume=True
    )
    exact = device == "cpu"  # CUDA kernels may sum in another order from run to run
    np.testing.assert_allclose(resumed.history["val_rmse"], mixed.history["val_rmse"], rtol=0 if exact else 1e-3)
