"""Shared fixtures. Real files everywhere: sessions are written by miakit's own SessionWriter."""

from __future__ import annotations

from pathlib import Path

import pytest
from sample_files import fetched
from session_builders import standing_pose, write_session  # noqa: F401

REPO = Path(__file__).resolve().parents[1]


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
    """The real recordings (miakit.sample_data: fetched through pooch from ../shared/data where that is
    beside the repository, else from the public originals, each checked against its SHA-256); skip
    where they cannot be fetched. The folder holds them by registry name (``mocap/gaitalytics-walk.c3d``)."""
    root, why_not = fetched()
    if why_not:
        pytest.skip(f"real recordings could not be fetched: {why_not}")
    return root


@pytest.fixture
def session_factory(tmp_path):
    """``make(name, **options)`` writes a session folder under tmp_path/sessions (see write_session)."""

    def make(name: str = "s1", **options) -> Path:
        return write_session(tmp_path / "sessions" / name, **options)

    return make
