"""What the plots and the overlay video share: a session run through a pipeline's own stages, and
a dataset given by name, path or object (one segment's frames: :func:`miakit.contracts.dataset.find_segment`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from miakit.contracts.dataset import provenance_of
from miakit.errors import InputError
from miakit.learn.predict import predict_segment as predict
from miakit.pipeline import load_pipeline
from miakit.stages.session import run_stages


def session_state(folder: str | Path, *, pipeline: str | Path = "mia", until: str | None = None):
    """Run a session through the stages of ``pipeline`` (the same functions a build runs, in order)
    and return the :class:`miakit.stages.session.SessionState`; stop after the stage named ``until``.

    Unlike a build, bad input raises (one line naming the file) instead of being reported.
    """

    spec = load_pipeline(pipeline)
    names = [name for name, _ in spec.steps()]
    if until is not None and until not in names:
        raise InputError(spec.path or spec.name, f"the pipeline has no stage {until!r}", found=names)
    return run_stages(folder, spec.configured(), rate_hz=spec.rate_hz, until=until)


def as_dataset(dataset: Any, *, catalog: str | Path | None = None):
    """An xarray Dataset (contract 2) from a Dataset, a catalog name or a store path."""
    import xarray as xr

    if isinstance(dataset, xr.Dataset):
        return dataset
    import miakit

    return miakit.open_dataset(dataset, catalog=catalog)


def where_of(dataset: Any) -> str:
    """How error messages name a dataset given as a name, a path or an object."""
    import xarray as xr

    return "<dataset>" if isinstance(dataset, xr.Dataset) else str(dataset)


def dataset_label(ds) -> str:
    """A short name for titles: the pipeline (or importer) that built the dataset."""

    return str(provenance_of(ds).get("pipeline", "dataset")) if ds.attrs.get("provenance") else "dataset"


def predict_segment(checkpoint: str | Path, ds, segment_id: str) -> np.ndarray:
    """Predicted EMG (frames of the segment, muscles) from a trained checkpoint
    (:func:`miakit.learn.predict.predict_segment`)."""

    return np.asarray(predict(checkpoint, ds, segment_id))
