"""The paper's models: shapes from the data, parameter counts, and the two baselines' rules."""

from __future__ import annotations

import numpy as np
import pytest

from miakit.errors import InputError
from miakit.learn.models import MODELS, NearestNeighbour, RandomBaseline, build_model, count_parameters


@pytest.mark.parametrize("name", ["transformer", "cnn"])
@pytest.mark.parametrize(("n_features", "n_muscles", "steps"), [(50, 8, 30), (34, 5, 12)])
def test_neural_models_map_windows_to_emg_of_the_data_sizes(name, n_features, n_muscles, steps):
    import torch

    model = build_model(name, n_features=n_features, n_muscles=n_muscles).eval()
    with torch.no_grad():
        y = model(torch.randn(3, steps, n_features))
    assert y.shape == (3, n_muscles, steps)
    if name == "transformer":
        assert torch.all(y >= 0), "the transformer ends in a ReLU"


def test_parameter_counts_match_the_documented_ones():
    import miakit.learn.models as models

    transformer = build_model("transformer", n_features=50, n_muscles=8)
    assert count_parameters(transformer) == 2_430_856
    assert count_parameters(build_model("cnn", n_features=50, n_muscles=8)) == 284_424
    assert "2,430,856" in models.__doc__ and "284,424" in models.__doc__
    assert transformer.embed.kernel_size == (50, 9) and transformer.embed.padding == (0, 4)
    layer = transformer.encoder.layers[0]
    assert len(transformer.encoder.layers) == 4 and layer.self_attn.num_heads == 8
    assert layer.linear1.out_features == 2048 and not layer.norm_first
    assert count_parameters(NearestNeighbour()) == 0 and count_parameters(RandomBaseline()) == 0


def test_registry_and_unknown_name():
    assert {"transformer", "cnn", "nn", "random", "miakit"} <= set(MODELS)
    with pytest.raises(InputError, match="unknown model"):
        build_model("lstm", n_features=50, n_muscles=8)


def _windows(n, seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 30, 4)).astype(np.float32), rng.uniform(0, 100, size=(n, 2, 30)).astype(np.float32)


def test_nearest_neighbour_copies_the_closest_window_of_the_same_subject():
    x, y = _windows(20, 0)
    subject = np.array(["a"] * 10 + ["b"] * 10)
    nn = NearestNeighbour(block=3).fit(x, y, subject)
    np.testing.assert_array_equal(nn.predict(x, subject), y)  # every window is its own neighbour
    query = x[[2, 15]] + 0.01
    np.testing.assert_array_equal(nn.neighbours(query, np.array(["a", "b"])), [2, 15])
    # window 2 belongs to subject a: asked for subject b, the answer must come from b
    assert nn.neighbours(x[[2]], np.array(["b"]))[0] >= 10
    assert nn.neighbours(x[[2]], np.array(["nobody"]))[0] == -1


def test_random_baseline_draws_windows_of_the_same_exercise_reproducibly():
    x, y = _windows(30, 1)
    exercise = np.array(["squat"] * 15 + ["twist"] * 15)
    pred = RandomBaseline(seed=3).fit(x, y, exercise).predict(x[:10], np.array(["twist"] * 10))
    for window in pred:
        match = np.flatnonzero(np.all(y == window, axis=(1, 2)))
        assert len(match) == 1 and match[0] >= 15
    again = RandomBaseline(seed=3).fit(x, y, exercise).predict(x[:10], np.array(["twist"] * 10))
    np.testing.assert_array_equal(pred, again)
    other = RandomBaseline(seed=4).fit(x, y, exercise).predict(x[:10], np.array(["twist"] * 10))
    assert not np.array_equal(pred, other)
