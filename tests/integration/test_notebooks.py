"""The notebooks in notebooks/: committed without outputs, the same as their generator writes them,
and each runs top to bottom (nbclient, the current interpreter's kernel) on small synthetic data."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
NAMES = ("01_explore_dataset.ipynb", "02_train_and_evaluate.ipynb", "03_inspect_session.ipynb")


def test_committed_notebooks_have_no_outputs():
    import nbformat

    for name in NAMES:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code, name
        assert all(c.outputs == [] and c.execution_count is None for c in code), f"{name} has outputs: strip them"


def test_notebooks_match_their_generator(tmp_path):
    sys.path.insert(0, str(NOTEBOOKS))
    try:
        import build_notebooks
    finally:
        sys.path.remove(str(NOTEBOOKS))
    for path in build_notebooks.build(tmp_path):
        assert path.read_text() == (NOTEBOOKS / path.name).read_text(), (
            f"{path.name}: run python notebooks/build_notebooks.py"
        )


@pytest.fixture(scope="module")
def small_data(tmp_path_factory) -> dict[str, str]:
    """Two synthetic sessions (one subject, 20 s each), built into a store and a catalog entry."""
    from miakit.catalog import add_entry
    from miakit.pipeline import build_dataset
    from miakit.synth import generate_sessions

    root = tmp_path_factory.mktemp("nbdata")
    generate_sessions(
        root / "sessions",
        subjects=1,
        exercises=("squat", "jumping_jack"),
        duration_s=20.0,
        video="none",
        progress=False,
    )
    build_dataset(root / "sessions", root / "small.zarr", pipeline="mia")
    add_entry(root / "catalog.yaml", "small", root / "small.zarr")
    return {
        "MIAKIT_CATALOG": str(root / "catalog.yaml"),
        "MIAKIT_NB_DATASET": "small",
        "MIAKIT_NB_SESSION": str(root / "sessions"),
        "MIAKIT_NB_STEPS": "3",
        "MIAKIT_NB_OUT": str(root / "nb-out"),
    }


def _run(name: str, env: dict[str, str], cwd: Path):
    """Execute a notebook with the current interpreter's ipykernel; returns it with outputs."""
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    km = KernelManager(kernel_cmd=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"])
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits the environment it starts in
    try:
        NotebookClient(nb, km=km, timeout=300, resources={"metadata": {"path": str(cwd)}}).execute()
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    return nb


def _outputs(nb) -> list[dict]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def _images(nb) -> int:
    return sum("image/png" in o.get("data", {}) for o in _outputs(nb))


def _text(nb) -> str:
    return "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in _outputs(nb))


def test_explore_notebook_runs_and_plots(small_data, tmp_path):
    nb = _run("01_explore_dataset.ipynb", small_data, tmp_path)
    assert not [o for o in _outputs(nb) if o.output_type == "error"]
    assert _images(nb) == 3  # dataset summary, pose confidence, segment EMG
    assert "small " in _text(nb) and "2 segments" in _text(nb)


def test_train_notebook_trains_evaluates_and_renders(small_data, tmp_path):
    nb = _run("02_train_and_evaluate.ipynb", small_data, tmp_path)
    assert not [o for o in _outputs(nb) if o.output_type == "error"]
    assert _images(nb) == 2  # predicted vs measured, a frame of the overlay
    assert "3 steps in" in _text(nb) and "test windows: RMSE" in _text(nb)
    out = Path(small_data["MIAKIT_NB_OUT"])
    assert (out / "transformer" / "checkpoint.pt").is_file() and (out / "overlay.mp4").stat().st_size > 1000


def test_session_notebook_shows_emg_and_alignment(small_data, tmp_path):
    nb = _run("03_inspect_session.ipynb", small_data, tmp_path)
    assert not [o for o in _outputs(nb) if o.output_type == "error"]
    assert _images(nb) == 2  # raw EMG per sensor, sync alignment
    assert "2 session(s)" in _text(nb)
