from __future__ import annotations

from pathlib import Path

import pytest

UCI = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "emg" / "uci-physical-action"
VIDEO = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "video"


@pytest.fixture
def uci_file() -> Path:
    path = UCI / "sub01" / "Normal" / "txt" / "Clapping.txt"
    if not path.is_file():
        pytest.skip(f"real EMG not found at {path} (../shared/data lives beside the repository)")
    return path


@pytest.fixture
def video_dir() -> Path:
    if not VIDEO.is_dir():
        pytest.skip(f"real videos not found at {VIDEO} (../shared/data lives beside the repository)")
    return VIDEO
