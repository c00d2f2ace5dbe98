"""The neural models as torch modules: the paper's Transformer and CNN, the miakit model and their parts.

Only training and inference import this module (through :func:`miakit.learn.models.build_model`):
it imports torch at its top. The registry, the non-parametric baselines and the parameter counts
are in :mod:`miakit.learn.models`, which stays light.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from miakit.learn.models import READOUTS, SOFTPLUS_SHARPNESS


class PositionalEncoding(nn.Module):
    """Sinusoidal positional encoding (Vaswani et al.), added to (B, T, d), then dropout."""

    pe: torch.Tensor

    def __init__(self, d_model: int, *, dropout: float = 0.1, max_len: int = 1000):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        position = torch.arange(max_len).unsqueeze(1)
        div = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(position * div)
        pe[:, 1::2] = torch.cos(position * div)
        self.register_buffer("pe", pe, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(x + self.pe[: x.shape[1]])


class InputScaling(nn.Module):
    """Fixed (not learned) per-feature centring and scaling of the inputs, then a clamp to +-10.

    Identity by default (mean 0, std 1: the paper's inputs pass unchanged). The trainer sets
    the training mean and std (``TrainConfig.standardize``): an affine reparameterization of
    the first layer that the layer could represent itself, but that makes training converge
    in minutes rather than hours, since normalized keypoints vary by a few hundredths around
    0.5. Stored with the model's state, so a checkpoint carries it. A NaN input (a missing
    point's feature with ``+mask``) becomes 0 after centring.
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, n_features: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("std", torch.ones(n_features))

    def set(self, mean, std) -> None:
        with torch.no_grad():
            self.mean.copy_(torch.as_tensor(mean, dtype=self.mean.dtype))
            self.std.copy_(torch.as_tensor(std, dtype=self.std.dtype).clamp_min(1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # a missing input (NaN: a feature of a point the pose estimator did not give, ``+mask``)
        # becomes 0 after centring, the training mean, and the mask columns say it is missing
        return torch.nan_to_num((x - self.mean) / self.std, nan=0.0).clamp(-10.0, 10.0)


class MeanReadout(nn.Module):
    """A read-out scaled by each muscle's training mean ``mean`` (scaled; the trainer sets it with
    the output bias, at least 0.05, so 5 on the raw scale). Its buffer is carried by a checkpoint."""

    mean: torch.Tensor

    def __init__(self, n_muscles: int):
        super().__init__()
        self.register_buffer("mean", torch.ones(n_muscles))

    def set(self, mean) -> None:
        with torch.no_grad():
            self.mean.copy_(torch.as_tensor(mean, dtype=self.mean.dtype).clamp_min(0.05))


class ExpReadout(MeanReadout):
    """``m exp((y - m) / m)`` per muscle: the read-out of a model with ``readout="exp"``.

    ``m`` is the muscle's training mean (scaled; the trainer sets it with the output bias,
    at least 0.05, so 5 on the raw scale). At the start of training ``y = m`` gives ``m``
    with slope 1, as the linear read-out does. The prediction is never negative (an EMG
    envelope is not) and can grow past the training range in proportion to the muscle's
    size, where a linear read-out stays near the largest activity it saw; the exponent is
    capped at 5 (148 m). Its buffer is carried by a checkpoint.
    """

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """(B, M, T) -> (B, M, T)."""
        m = self.mean[:, None]
        return m * torch.exp(((y - m) / m).clamp(max=5.0))


class SoftplusReadout(MeanReadout):
    """``s softplus(y / s)`` per muscle, ``s = m / 4``: the read-out of a model with ``readout="softplus"``.

    ``m`` is the muscle's training mean (scaled; set by the trainer with the output bias, at
    least 0.05, so 5 on the raw scale). Never negative (an EMG envelope is not), and the same
    as the linear read-out wherever the linear one is well above a quarter of the mean: at
    ``y = m`` it gives 1.005 m with slope 0.98, at ``2 m`` 2.0 m, at 0 it gives 0.17 m and below
    it tends to 0 with a gradient that never quite vanishes (no muscle dies, as under a ReLU).
    Unlike :class:`ExpReadout` it does not stretch large values. Its buffer is carried by a
    checkpoint.
    """

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """(B, M, T) -> (B, M, T), every value >= 0."""
        s = self.mean[:, None] / SOFTPLUS_SHARPNESS
        return s * nn.functional.softplus(y / s)


class MirrorAverage(nn.Module):
    """Predict for the body and for its mirror image, and average (test-time mirroring).

    Off by default. The trainer turns it on for a model trained on mirrored windows
    (``augment="mirror"``, ``TrainConfig.predict_mirrored``): it sets the signed permutation
    that mirrors the inputs (:func:`miakit.learn.features.mirror_map`) and the muscle
    permutation that brings the mirrored prediction back (left biceps <-> right biceps).
    The two predictions err differently, so their mean errs less. Buffers, carried by a
    checkpoint; used in eval mode only (training already sees both sides).
    """

    enabled: torch.Tensor
    perm: torch.Tensor
    sign: torch.Tensor
    muscle_perm: torch.Tensor

    def __init__(self, n_features: int, n_muscles: int):
        super().__init__()
        self.register_buffer("enabled", torch.tensor(False))
        self.register_buffer("perm", torch.arange(n_features))
        self.register_buffer("sign", torch.ones(n_features))
        self.register_buffer("muscle_perm", torch.arange(n_muscles))

    def set(self, perm, sign, muscle_perm) -> None:
        with torch.no_grad():
            self.perm.copy_(torch.as_tensor(perm))
            self.sign.copy_(torch.as_tensor(sign, dtype=self.sign.dtype))
            self.muscle_perm.copy_(torch.as_tensor(muscle_perm))
            self.enabled.fill_(True)

    def forward(self, predict, x: torch.Tensor) -> torch.Tensor:
        """``predict(x)`` (B, M, T), averaged with the mirrored prediction when on and not training."""
        y = predict(x)
        if self.training or not bool(self.enabled):
            return y
        return 0.5 * (y + predict(x[..., self.perm] * self.sign)[:, self.muscle_perm])


class PaperTransformer(nn.Module):
    """The paper's Transformer: a local motion encoder and a global feature encoder.

    Conv2d(1, d_model, kernel (features, 9), padding (0, 4)) embeds each step from all
    coordinates over 9 steps; sinusoidal positions (dropout 0.1); a 4-layer, 8-head post-norm
    TransformerEncoder (feed-forward 2048, PyTorch defaults, no mask); Linear(d_model,
    muscles) per step, then ReLU. (B, T, F) -> (B, M, T).
    """

    def __init__(
        self,
        *,
        n_features: int,
        n_muscles: int,
        d_model: int = 128,
        n_heads: int = 8,
        n_layers: int = 4,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        kernel_steps: int = 9,
    ):
        super().__init__()
        self.scale_inputs = InputScaling(n_features)
        self.embed = nn.Conv2d(1, d_model, kernel_size=(n_features, kernel_steps), padding=(0, kernel_steps // 2))
        self.positions = PositionalEncoding(d_model, dropout=dropout)
        layer = nn.TransformerEncoderLayer(
            d_model, n_heads, dim_feedforward=dim_feedforward, dropout=dropout, batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, n_muscles)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The encoder's per-step representation, (B, T, d_model)."""
        h = self.embed(self.scale_inputs(x).transpose(1, 2).unsqueeze(1))  # (B, d, 1, T)
        h = h.squeeze(2).transpose(1, 2)  # (B, T, d)
        return self.encoder(self.positions(h))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.head(self.features(x))).transpose(1, 2)


class PaperCNN(nn.Module):
    """The paper's CNN: five convolutions with 128, 64, 128, 64 and n_muscles channels.

    The first kernel spans all coordinates x 9 steps, the rest 9 steps (padding 4); batch
    norm after the first three; ReLU between layers. (B, T, F) -> (B, M, T).

    As the paper has it, nothing follows the last convolution, so it can predict a negative
    envelope (the paper's Transformer ends in a ReLU and cannot). Both stay as published: they
    are the reproduction every benchmark compares against, and a changed output would no longer
    be the paper's model. The model to point at a video is the miakit recipe's (its softplus
    read-out, :class:`SoftplusReadout`).
    """

    def __init__(self, *, n_features: int, n_muscles: int, kernel_steps: int = 9):
        super().__init__()
        pad = kernel_steps // 2
        self.scale_inputs = InputScaling(n_features)
        self.first = nn.Conv2d(1, 128, kernel_size=(n_features, kernel_steps), padding=(0, pad))
        self.body = nn.Sequential(
            nn.BatchNorm1d(128),
            nn.ReLU(),
            nn.Conv1d(128, 64, kernel_steps, padding=pad),
            nn.BatchNorm1d(64),
            nn.ReLU(),
            nn.Conv1d(64, 128, kernel_steps, padding=pad),
            nn.BatchNorm1d(128),
            nn.ReLU(),
            nn.Conv1d(128, 64, kernel_steps, padding=pad),
            nn.ReLU(),
            nn.Conv1d(64, n_muscles, kernel_steps, padding=pad),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.first(self.scale_inputs(x).transpose(1, 2).unsqueeze(1)).squeeze(2))


class MiakitModel(nn.Module):
    """miakit's model: a small pre-norm Transformer over per-step embeddings of a short window.

    Conv1d(features, d_model, kernel_steps, padding kernel_steps // 2) embeds each step from its
    neighbours; sinusoidal positions (dropout); ``n_layers`` encoder layers with GELU,
    layer norm before attention and feed-forward (``norm_first``; the paper's is post-norm) and
    a final layer norm; Linear(d_model, muscles) per step with no ReLU, so no muscle starts
    dead, then the read-out (``readout``: none, :class:`ExpReadout` or :class:`SoftplusReadout`;
    the recipe's softplus keeps every prediction >= 0). About 0.4 M parameters with the
    defaults (the paper's Transformer: 2.4 M).
    Trained on mirrored windows, it predicts as the mean of the body and its mirror image
    (:class:`MirrorAverage`). ``context``: the inputs hold that many extra frames before and
    after the window, which the model reads but predicts no EMG for.
    (B, T + 2 context, F) -> (B, M, T).
    """

    def __init__(
        self,
        *,
        n_features: int,
        n_muscles: int,
        d_model: int = 128,
        n_heads: int = 4,
        n_layers: int = 3,
        dim_feedforward: int = 256,
        dropout: float = 0.1,
        kernel_steps: int = 5,
        norm_first: bool = True,
        context: int = 0,
        readout: str = "linear",
    ):
        super().__init__()
        if readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}, not {readout!r}")
        self.context = context
        self.scale_inputs = InputScaling(n_features)
        self.embed = nn.Conv1d(n_features, d_model, kernel_steps, padding=kernel_steps // 2)
        self.positions = PositionalEncoding(d_model, dropout=dropout)
        layer = nn.TransformerEncoderLayer(
            d_model,
            n_heads,
            dim_feedforward=dim_feedforward,
            dropout=dropout,
            activation="gelu",
            batch_first=True,
            norm_first=norm_first,
        )
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model) if norm_first else nn.Identity()
        self.head = nn.Linear(d_model, n_muscles)
        readouts = {"exp": ExpReadout, "softplus": SoftplusReadout}
        self.readout = readouts[readout](n_muscles) if readout in readouts else nn.Identity()
        self.mirror = MirrorAverage(n_features, n_muscles)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The encoder's per-step representation, (B, T, d_model)."""
        h = self.embed(self.scale_inputs(x).transpose(1, 2)).transpose(1, 2)  # (B, T, d)
        return self.norm(self.encoder(self.positions(h)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.context
        return self.mirror(
            lambda v: self.readout(self.head(self.features(v)).transpose(1, 2))[..., c : v.shape[1] - c], x
        )
