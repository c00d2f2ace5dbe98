"""Fixtures of the learn tests: small in-memory datasets (see tests/dataset_builders.py)."""

from __future__ import annotations

import pytest
from dataset_builders import make_dataset


@pytest.fixture(scope="session")
def small_ds():
    """Two subjects x three exercises x 600 frames, a few invalid frames in each segment."""
    return make_dataset(frames=600, invalid_at=(50, 51, 200, 590))
