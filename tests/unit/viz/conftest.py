"""Fixtures of the viz tests (builders in viz_builders.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from viz_builders import make_dataset, upright_pose  # noqa: F401


@pytest.fixture(scope="module")
def synth_session(tmp_path_factory) -> Path:
    """One synthetic squat session (8 s) with its 270x480 preview video and a sync clap, whose
    session.yaml states the camera's start 0.4 s too late (the sync stage finds the error)."""
    from miakit.body.subjects import make_subject
    from miakit.synth.sessions import simulate, write_session

    sim = simulate(make_subject(1, seed=0), "squat", seed=0, duration_s=8.0, clock_error_s=0.4)
    return write_session(tmp_path_factory.mktemp("synth") / "squat", sim, video=True)
