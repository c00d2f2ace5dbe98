"""The training config: one dataclass, the single default of every setting a run depends on.

:class:`TrainConfig` is what :func:`miakit.learn.train.train` takes and what a checkpoint stores;
:func:`apply_overrides` applies ``key=value`` settings (``miakit train --set key=value``).
"""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass, fields, replace
from typing import Any

from miakit.errors import InputError
from miakit.learn.features import check_augment, parse_features
from miakit.learn.models import NEURAL, READOUTS
from miakit.ranges import in_range


@dataclass
class TrainConfig:
    """Everything a training run depends on; every field can be overridden as ``key=value``."""

    model: str = "transformer"  # a neural model of miakit.learn.models.MODELS
    window: int = 30  # steps per window (3 s at 10 Hz)
    stride: int = 1  # steps between training windows
    eval_stride: int = 0  # steps between validation/test windows; 0: one window (no overlap)
    test_fraction: float = 0.2  # in-distribution split: last fraction of each subject x exercise
    val_fraction: float = 0.1  # validation: last fraction of what remains for training
    batch_size: int = 32
    lr: float = 1e-3  # peak learning rate (the paper: 5e-6 for 6 GPU-hours; its code: 5e-4)
    min_lr: float = 5e-5  # learning rate at the end of the cosine decay
    warmup_steps: int = 100
    weight_decay: float = 0.01
    grad_clip: float = 1.0  # max gradient norm; 0: no clipping
    max_steps: int = 3000
    eval_every: int = 100
    patience: int = 10  # evaluations without a better validation RMSE before stopping
    emg_scale: float = 100.0  # the model learns EMG / emg_scale
    seed: int = 0
    device: str = "auto"  # auto, cpu, cuda, cuda:N
    amp: bool = True  # bfloat16 autocast on CUDA (ignored on CPU)
    standardize: bool = True  # the model centres and scales inputs by their training mean/std (see InputScaling)
    max_seconds: float = 0.0  # stop after this much training wall time (the schedule keeps pace); 0: no limit
    dropout: float = -1.0  # probability of every dropout layer; -1: the model's own (0.1 in the paper's Transformer)
    features: str = "paper"  # model inputs, see miakit.learn.features (e.g. body+vel+subject)
    # none, or mirror and/or pose joined by + (mirrored windows; windows with a real pose estimator's
    # missing points and noise)
    augment: str = "none"
    context: int = (
        0  # frames of pose before and after each window that the model also reads (miakit models; at most window)
    )
    predict_mirrored: bool = (
        True  # with augment=mirror, the miakit models predict as the mean for the body and its mirror image
    )
    # miakit models: linear (the default, as checkpoints before the field), exp (ExpReadout) or softplus
    # (SoftplusReadout, the recipe's): the last two are never negative
    readout: str = "linear"

    @classmethod
    def demo(cls, **changes) -> TrainConfig:
        """The demo's preset: about 2 minutes on a 2-core CPU (0.25 s a step), capped at 150 s.

        On the demo's synthetic data (3 subjects x 20 exercises x 30 s) 500 steps at a peak lr
        of 2e-3 bring the Transformer level with Nearest Neighbour; 1e-3 is too slow for this
        budget and 3e-3 diverges. Since the issue-20 activation model it is still improving at
        step 500: in-distribution test RMSE 8.68 (one torch thread; 9.00 with two) against
        Nearest Neighbour's 8.77, and 7.01 after 1000 steps of the same schedule (seed 0).
        """
        base = dict(
            lr=2e-3, warmup_steps=50, max_steps=500, eval_every=50, patience=5, max_seconds=150.0, eval_stride=10
        )
        return replace(cls(), **{**base, **changes})

    def __post_init__(self) -> None:
        if self.model not in NEURAL:
            raise InputError(
                "train config",
                "not a trainable model",
                field="model",
                expected=f"one of {list(NEURAL)}",
                found=self.model,
            )
        check_numbers(self)
        if not 0 <= self.context <= self.window:  # the in-distribution split leaves gaps of one window
            raise InputError(
                "train config", "context must be between 0 and the window", field="context", found=self.context
            )
        if self.readout not in READOUTS:
            raise InputError(
                "train config", "unknown read-out", field="readout", expected=list(READOUTS), found=self.readout
            )
        if self.readout != "linear" and self.model not in CONTEXT_MODELS:
            raise InputError(
                "train config",
                "only the miakit models have another read-out",
                field="readout",
                expected=f"model one of {list(CONTEXT_MODELS)}",
                found=self.model,
            )
        if self.context and self.model not in CONTEXT_MODELS:
            raise InputError(
                "train config",
                "only the miakit models read context frames",
                field="context",
                expected=f"model one of {list(CONTEXT_MODELS)}",
                found=self.model,
            )

        parse_features(self.features)
        check_augment(self.augment)


MAX_BATCH_FRAMES = 1 << 20
"""At most this many input frames in one batch (``batch_size`` x (``window`` + 2 ``context``)):
about 0.5 GB for each 128-wide activation of the paper's Transformer; the paper's batches hold 960."""

DEVICE = re.compile(r"auto|cpu|mps|cuda(:[0-9]{1,2})?")


def check_numbers(config: TrainConfig) -> None:
    """The one check of every number (and the device) of a config: finite and in range, in one line
    (:func:`miakit.ranges.in_range`), before any data is read."""
    c, where = config, "train config"
    for name, value in (("window", c.window), ("stride", c.stride), ("batch_size", c.batch_size)):
        in_range(name, value, 1, 100_000, where=where)
    for name in ("max_steps", "eval_every", "patience"):
        in_range(name, getattr(c, name), 1, 10**9, where=where)
    in_range("eval_stride", c.eval_stride, 0, 100_000, where=where)
    in_range("warmup_steps", c.warmup_steps, 0, 10**9, where=where)
    in_range("test_fraction", c.test_fraction, 0, 0.9, where=where, why="a share of each recording held out")
    in_range("val_fraction", c.val_fraction, 0, 0.9, where=where, why="a share of what remains for training")
    in_range("lr", c.lr, 0, 1, above=True, where=where)
    in_range("min_lr", c.min_lr, 0, 1, where=where)
    in_range("weight_decay", c.weight_decay, 0, 10, where=where)
    in_range("grad_clip", c.grad_clip, 0, 1e6, where=where)
    in_range("emg_scale", c.emg_scale, 0, 1e9, above=True, where=where)
    in_range("max_seconds", c.max_seconds, 0, 1e7, where=where, why="0: no limit")
    in_range("seed", c.seed, 0, 2**32 - 1, where=where)
    if not (c.dropout == -1.0 or 0.0 <= c.dropout < 1.0):
        raise InputError(
            where, "not a probability", field="dropout", expected="-1 (the model's own) or 0 <= p < 1", found=c.dropout
        )
    frames = c.batch_size * (c.window + 2 * max(c.context, 0))
    if frames > MAX_BATCH_FRAMES:
        raise InputError(
            where,
            f"a batch of {frames} frames does not fit in memory",
            field="batch_size",
            expected=f"batch_size x (window + 2 context) at most {MAX_BATCH_FRAMES}",
            found=c.batch_size,
        )
    if not isinstance(c.device, str) or not DEVICE.fullmatch(c.device):
        raise InputError(
            where, "unknown device", field="device", expected="auto, cpu, mps, cuda or cuda:N", found=c.device
        )


CONTEXT_MODELS = ("miakit", "miakit-postnorm")
"""The models that take :attr:`TrainConfig.context`; the paper's models read the window alone."""


def model_options(config: TrainConfig) -> dict:
    """Options of the config's model beyond the data's sizes (``context`` and ``readout`` for the
    miakit models)."""
    return {"context": config.context, "readout": config.readout} if config.model in CONTEXT_MODELS else {}


def apply_overrides(config: TrainConfig, overrides: list[str] | tuple[str, ...]) -> TrainConfig:
    """A copy of ``config`` with ``key=value`` overrides applied, values parsed by field type."""
    hints = typing.get_type_hints(TrainConfig)
    names = [f.name for f in fields(TrainConfig)]
    changes: dict[str, Any] = {}
    for item in overrides:
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or key not in hints:
            raise InputError(
                "train config",
                "unknown setting",
                field=key or item,
                expected=f"key=value with key in {names}",
                found=item,
            )
        changes[key] = _parse(key, value, hints[key])
    return replace(config, **changes)


def _parse(key: str, value: str, kind: type) -> object:
    try:
        if kind is bool:
            if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(value)
            return value.lower() in ("true", "1", "yes")
        return kind(value) if kind is not int else int(value, 10)
    except ValueError:
        raise InputError("train config", "bad value", field=key, expected=kind.__name__, found=value) from None
