"""Shared fixtures. Real files everywhere: sessions are written by miakit's own SessionWriter."""

from __future__ import annotations

from pathlib import Path

import pytest

from session_builders import standing_pose, write_session  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def _lock_dir(tmp_path_factory):
    """Build locks of the test run in its own folder, not the user's ~/.cache/miakit/locks (the
    subprocesses the tests start inherit it)."""
    import os

    before = os.environ.get("MIAKIT_LOCK_DIR")
    os.environ["MIAKIT_LOCK_DIR"] = str(tmp_path_factory.mktemp("locks"))
    yield
    if before is None:
        os.environ.pop("MIAKIT_LOCK_DIR", None)
    else:
        os.environ["MIAKIT_LOCK_DIR"] = before


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real recordings beside the repository (../shared/data); skip where absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real recordings not found at {SHARED_DATA} (they live beside the repository, not in it)")
    return SHARED_DATA


@pytest.fixture
def session_factory(tmp_path):
    """``make(name, **options)`` writes a session folder under tmp_path/sessions (see write_session)."""

    def make(name: str = "s1", **options) -> Path:
        return write_session(tmp_path / "sessions" / name, **options)

    return make
