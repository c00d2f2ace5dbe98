from __future__ import annotations

from pathlib import Path

import pytest
from sample_files import sample_path

UCI = sample_path("emg", "uci-physical-action")
VIDEO = sample_path("video")


@pytest.fixture
def uci_file() -> Path:
    path = UCI / "sub01" / "Normal" / "txt" / "Clapping.txt"
    if not path.is_file():
        pytest.skip(f"real EMG not found at {path} (miakit sample-data fetch could not get it)")
    return path


@pytest.fixture
def video_dir() -> Path:
    if not VIDEO.is_dir():
        pytest.skip(f"real videos not found at {VIDEO} (miakit sample-data fetch could not get it)")
    return VIDEO
