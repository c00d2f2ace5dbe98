"""What the plots and the overlay video share: a session run through a pipeline's own stages, a
dataset given by name, path or object, and one segment's frames."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from miakit.errors import DatasetError, InputError


def session_state(folder: str | Path, *, pipeline: str | Path = "mia", until: str | None = None):
    """Run a session through the stages of ``pipeline`` (the same functions a build runs, in order)
    and return the :class:`miakit.pipeline.SessionState`; stop after the stage named ``until``.

    Unlike a build, bad input raises (one line naming the file) instead of being reported.
    """
    from miakit.pipeline import load_pipeline, run_stages

    spec = load_pipeline(pipeline)
    names = [name for name, _ in spec.steps()]
    if until is not None and until not in names:
        raise InputError(spec.path or spec.name, f"the pipeline has no stage {until!r}", found=names)
    return run_stages(folder, spec, until=until)


def stage_params(pipeline: str | Path, stage: str) -> dict[str, Any]:
    """The parameters ``pipeline`` gives ``stage`` ({} where it does not run it)."""
    from miakit.pipeline import load_pipeline

    return next((dict(params) for name, params in load_pipeline(pipeline).steps() if name == stage), {})


def as_dataset(dataset: Any, *, catalog: str | Path | None = None):
    """An xarray Dataset (contract 2) from a Dataset, a catalog name or a store path."""
    import xarray as xr

    if isinstance(dataset, xr.Dataset):
        return dataset
    import miakit

    return miakit.open_dataset(dataset, catalog=catalog)


@dataclass(frozen=True)
class SegmentFrames:
    """Where one segment lies in a dataset's frames, with its table row."""

    index: int
    id: str
    frames: slice
    subject: str
    exercise: str
    image_width: int
    image_height: int

    @property
    def length(self) -> int:
        return self.frames.stop - self.frames.start


def find_segment(ds, segment: str | int, *, where: str = "<dataset>") -> SegmentFrames:
    """A segment by id, or by position (an int, or a string of digits that is not an id);
    DatasetError naming the known ids otherwise."""
    ids = [str(s) for s in ds["segment"].values]
    if isinstance(segment, str) and segment not in ids and segment.isdigit():
        segment = int(segment)
    if isinstance(segment, (int, np.integer)) and not isinstance(segment, bool):
        if not 0 <= int(segment) < len(ids):
            raise DatasetError(where, "no such segment", field="segment", expected=f"0 to {len(ids) - 1}", found=int(segment))
        index = int(segment)
    elif str(segment) in ids:
        index = ids.index(str(segment))
    else:
        shown = ids[:5] + (["..."] if len(ids) > 5 else [])
        raise DatasetError(where, "no such segment", field="segment", expected=f"one of {shown}", found=str(segment))
    start = int(ds["segment_start"].values[index])
    length = int(ds["segment_length"].values[index])
    return SegmentFrames(
        index=index, id=ids[index], frames=slice(start, start + length),
        subject=str(ds["segment_subject"].values[index]), exercise=str(ds["segment_exercise"].values[index]),
        image_width=int(ds["segment_image_width"].values[index]), image_height=int(ds["segment_image_height"].values[index]),
    )  # fmt: skip


def where_of(dataset: Any) -> str:
    """How error messages name a dataset given as a name, a path or an object."""
    import xarray as xr

    return "<dataset>" if isinstance(dataset, xr.Dataset) else str(dataset)


def dataset_label(ds) -> str:
    """A short name for titles: the pipeline (or importer) that built the dataset."""
    from miakit.contracts.dataset import provenance_of

    return str(provenance_of(ds).get("pipeline", "dataset")) if ds.attrs.get("provenance") else "dataset"


def predict_segment(checkpoint: str | Path, ds, segment_id: str) -> np.ndarray:
    """Predicted EMG (frames of the segment, muscles) from a trained checkpoint
    (:func:`miakit.learn.predict.predict_segment`)."""
    from miakit.learn.predict import predict_segment as predict

    return np.asarray(predict(checkpoint, ds, segment_id))
