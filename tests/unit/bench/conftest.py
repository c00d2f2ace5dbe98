"""The bench tests use the learn tests' synthetic datasets (tests/dataset_builders.py)."""

from __future__ import annotations

import pytest

from dataset_builders import make_dataset


@pytest.fixture(scope="session")
def bench_ds():
    """Two subjects x three exercises x 600 frames."""
    return make_dataset(frames=600, invalid_at=(50, 51, 200, 590))
