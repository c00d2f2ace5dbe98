"""The paper's models: the Transformer, the CNN, Nearest Neighbour and Random.

Every model maps inputs ``x`` of shape (batch, steps, features) (features = 2 x keypoints,
normalized) to EMG ``y`` of shape (batch, muscles, steps). Sizes come from the data
(``n_features``, ``n_muscles``), never fixed to 25 keypoints or 8 muscles.

Parameter counts for 25 keypoints (50 features) and 8 muscles, 30-step windows:
- ``PaperTransformer``: 2,430,856 (conv embedding 57,728; four encoder layers 593,024 each; head 1,032)
- ``PaperCNN``: 284,424
- ``MiakitModel`` (``miakit``): 430,856 for 50 features, 462,856 for 100 (hip-centred + velocities)
- ``NearestNeighbour`` and ``RandomBaseline``: 0 (they store the training windows)

Both neural models begin with a fixed :class:`InputScaling` (identity unless the trainer sets the
training mean and std of each input feature; buffers, not parameters).

The torch modules are in :mod:`miakit.learn.networks`, imported by the factories of :data:`MODELS`
when a neural model is built, so importing this module costs nothing.
"""

from __future__ import annotations

import numpy as np

NEURAL = ("transformer", "cnn", "miakit", "miakit-postnorm")
"""The models the trainer trains (torch modules); the others are fitted by storing windows."""


READOUTS = ("linear", "exp", "softplus")
"""The miakit models' read-outs: a linear layer per step, or that layer through :class:`ExpReadout`
or :class:`SoftplusReadout` (neither can give a negative value)."""

SOFTPLUS_SHARPNESS = 4.0
""":class:`SoftplusReadout`'s knee is at a quarter of a muscle's training mean (``s = m / 4``)."""


def build_model(name: str, *, n_features: int, n_muscles: int, seed: int = 0, **kwargs):
    """Make the model called ``name`` (a key of :data:`MODELS`) for this data's sizes.

    ``seed`` seeds the Random baseline's choices; extra keyword arguments go to the model.
    """
    if name not in MODELS:
        from miakit.errors import InputError

        raise InputError("model", "unknown model", expected=f"one of {list(MODELS)}", found=name)
    return MODELS[name](n_features=n_features, n_muscles=n_muscles, seed=seed, **kwargs)


def count_parameters(model) -> int:
    """Number of trainable parameters (0 for the non-parametric baselines)."""
    if not hasattr(model, "parameters"):
        return 0
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class NearestNeighbour:
    """Copy the EMG window of the closest training window of the same subject.

    Closeness is the L2 distance between flattened (normalized) keypoint windows. No learned
    parameters. ``fit`` stores the training windows; ``predict`` searches them in blocks.
    """

    def __init__(self, *, block: int = 512):
        self.block = block
        self._x: np.ndarray | None = None

    def fit(self, x: np.ndarray, y: np.ndarray, group: np.ndarray) -> NearestNeighbour:
        """``x`` (N, T, F), ``y`` (N, M, T), ``group`` (N,): the subject of each window."""
        _check_fit(x, y, group)
        self._x, self._y, self._group = x.reshape(len(x), -1).astype(np.float32), y, np.asarray(group).astype(str)
        self._sq = np.einsum("ij,ij->i", self._x, self._x)
        return self

    def neighbours(self, x: np.ndarray, group: np.ndarray) -> np.ndarray:
        """Index of each query window's nearest training window of the same group (-1: none)."""
        if self._x is None:
            raise RuntimeError("NearestNeighbour.fit must be called before predict")
        q = x.reshape(len(x), -1).astype(np.float32)
        group = np.asarray(group).astype(str)
        out = np.full(len(q), -1, dtype=np.int64)
        for g in np.unique(group):
            rows, cand = np.flatnonzero(group == g), np.flatnonzero(self._group == g)
            if len(cand) == 0:
                continue
            db, db_sq = self._x[cand], self._sq[cand]
            for i in range(0, len(rows), self.block):
                r = rows[i : i + self.block]
                d = db_sq[None, :] - 2.0 * (q[r] @ db.T)  # |q|^2 is the same for every candidate
                out[r] = cand[np.argmin(d, axis=1)]
        return out

    def predict(self, x: np.ndarray, group: np.ndarray) -> np.ndarray:
        """EMG windows (N, M, T) of the nearest neighbours; zeros where a group has no training window."""
        idx = self.neighbours(x, group)
        y = np.zeros((len(x),) + self._y.shape[1:], dtype=self._y.dtype)
        y[idx >= 0] = self._y[idx[idx >= 0]]
        return y


class RandomBaseline:
    """Predict a random training window of the same exercise (seeded). No learned parameters."""

    def __init__(self, *, seed: int = 0):
        self.seed = seed
        self._y: np.ndarray | None = None

    def fit(self, x: np.ndarray, y: np.ndarray, group: np.ndarray) -> RandomBaseline:
        """``y`` (N, M, T) and ``group`` (N,): the exercise of each window; ``x`` is not used."""
        _check_fit(x, y, group)
        self._y, self._group = y, np.asarray(group).astype(str)
        return self

    def predict(self, x: np.ndarray, group: np.ndarray) -> np.ndarray:
        if self._y is None:
            raise RuntimeError("RandomBaseline.fit must be called before predict")
        rng = np.random.default_rng(self.seed)
        group = np.asarray(group).astype(str)
        y = np.zeros((len(x),) + self._y.shape[1:], dtype=self._y.dtype)
        for g in np.unique(group):
            rows, cand = np.flatnonzero(group == g), np.flatnonzero(self._group == g)
            if len(cand):
                y[rows] = self._y[rng.choice(cand, size=len(rows))]
        return y


def _transformer(*, n_features: int, n_muscles: int, seed: int = 0, **kwargs):
    from miakit.learn.networks import PaperTransformer

    return PaperTransformer(n_features=n_features, n_muscles=n_muscles, **kwargs)


def _cnn(*, n_features: int, n_muscles: int, seed: int = 0, **kwargs):
    from miakit.learn.networks import PaperCNN

    return PaperCNN(n_features=n_features, n_muscles=n_muscles, **kwargs)


def _miakit(*, n_features: int, n_muscles: int, seed: int = 0, **kwargs):
    from miakit.learn.networks import MiakitModel

    return MiakitModel(n_features=n_features, n_muscles=n_muscles, **kwargs)


def _miakit_postnorm(*, n_features: int, n_muscles: int, seed: int = 0, **kwargs):
    """The miakit model with the paper's post-norm layers (for the ablation)."""
    from miakit.learn.networks import MiakitModel

    return MiakitModel(n_features=n_features, n_muscles=n_muscles, **{"norm_first": False, **kwargs})


def _nearest(*, n_features: int, n_muscles: int, seed: int = 0, **kwargs) -> NearestNeighbour:
    return NearestNeighbour(**kwargs)


def _random(*, n_features: int, n_muscles: int, seed: int = 0, **kwargs) -> RandomBaseline:
    return RandomBaseline(seed=seed, **kwargs)


MODELS = {
    "transformer": _transformer,
    "cnn": _cnn,
    "miakit": _miakit,
    "miakit-postnorm": _miakit_postnorm,
    "nn": _nearest,
    "random": _random,
}
"""The registry: model name -> factory taking ``n_features``, ``n_muscles``, ``seed`` and model options."""


def _check_fit(x: np.ndarray, y: np.ndarray, group: np.ndarray) -> None:
    if x.ndim != 3 or y.ndim != 3 or len(x) != len(y) or len(group) != len(x):
        raise ValueError(f"expected x (N, T, F), y (N, M, T), group (N,); got {x.shape}, {y.shape}, {np.shape(group)}")
