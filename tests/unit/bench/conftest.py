"""The bench tests use the learn tests' synthetic datasets (tests/dataset_builders.py)."""

from __future__ import annotations

import pytest
from dataset_builders import make_dataset
from sample_files import sample_path

SHARED_DATA = sample_path()  # as tests/conftest.py finds it (miakit.sample_data)


@pytest.fixture(scope="session")
def bench_ds():
    """Two subjects x three exercises x 600 frames."""
    return make_dataset(frames=600, invalid_at=(50, 51, 200, 590))


@pytest.fixture(scope="session")
def real_store(tmp_path_factory):
    """The shared walk and box lift imported with ``miakit import c3d`` (library path), front and side views."""
    pytest.importorskip("ezc3d")
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real recordings not found at {SHARED_DATA}")
    from miakit.importers.c3d import import_c3d
    from miakit.importers.lab import parse_views

    out = tmp_path_factory.mktemp("real") / "lab.zarr"
    mocap = SHARED_DATA / "mocap"
    import_c3d(
        [mocap / "gaitalytics-walk.c3d", mocap / "pyomeca-box-lift.c3d"],
        out,
        views=parse_views("front,side"),
        side="right",
    )
    return out


@pytest.fixture(scope="session")
def body25_ckpt(tmp_path_factory):
    """A Transformer trained for 4 steps on a tiny synthetic store with the BODY_25 keypoints and
    the 8 muscles (so its inputs fit an imported store); window 10 (1 s)."""
    from miakit.layout import BODY_25, MUSCLES
    from miakit.learn.config import TrainConfig
    from miakit.learn.train import train

    ds = make_dataset(frames=200, subjects=("s0",), exercises=("squat", "running"))
    ds = ds.assign_coords(keypoint=list(BODY_25), muscle=list(MUSCLES))
    ds.attrs["muscles"] = list(MUSCLES)
    config = TrainConfig(window=10, batch_size=8, max_steps=4, eval_every=2, warmup_steps=1, patience=100)
    return train(ds, config, tmp_path_factory.mktemp("ckpt"), progress=False).checkpoint
