"""Shared fixtures. Real files everywhere: sessions are written by miakit's own SessionWriter."""

from __future__ import annotations

from pathlib import Path

import pytest
from session_builders import standing_pose, write_session  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def _user_files(tmp_path_factory):
    """The test run's own lock folder and default catalog, not the user's ~/.cache/miakit/locks
    and ~/.local/share/miakit/catalog.yaml (the subprocesses the tests start inherit them)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MIAKIT_LOCK_DIR", str(tmp_path_factory.mktemp("locks")))
        env.setenv("MIAKIT_CATALOG", str(tmp_path_factory.mktemp("catalog") / "catalog.yaml"))
        yield


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
