"""The one builder of contract-2 datasets: attrs and units made in one place, whoever builds."""

from __future__ import annotations

import numpy as np

import miakit
from miakit.contracts.build import Segment, emg_units_of, make_dataset, provenance
from miakit.contracts.dataset import provenance_of
from miakit.layout import MUSCLES


def test_a_raw_session_of_the_generic_profile_is_built_in_its_profiles_units(tmp_path):
    """The generic profile says microvolts: the build and the session drawn by viz.render say so too."""
    from session_builders import write_raw_session

    from miakit.pipeline import build_dataset
    from miakit.viz.render import session_dataset

    folder = write_raw_session(tmp_path / "sessions" / "raw")
    build_dataset(tmp_path / "sessions", tmp_path / "ds.zarr", progress=False)
    ds = miakit.open_dataset(tmp_path / "ds.zarr")
    assert ds.attrs["emg_units"] == "microvolts" and ds["emg"].attrs["units"] == "microvolts"
    drawn, _ = session_dataset(folder)
    assert drawn.attrs["emg_units"] == ds.attrs["emg_units"]


def _segment(name: str, units: str) -> Segment:
    n = 12
    return Segment(
        id=name,
        session=name,
        subject="s",
        exercise="squat",
        split="",
        source="test",
        emg=np.ones((n, len(MUSCLES)), np.float32),
        emg_units=units,
    )


def test_units_come_from_the_segments_and_say_where_they_differ():
    same = [_segment("a", "device units"), _segment("b", "device units")]
    assert emg_units_of(same) == "device units"
    assert emg_units_of([*same, _segment("c", "microvolts")]) == "mixed: device units, microvolts"
    ds = make_dataset(
        same,
        muscles=MUSCLES,
        provenance=provenance(pipeline="test", pipeline_sha256="0", inputs_sha256="0"),
        modalities=["emg"],
    )
    assert ds.attrs["emg_units"] == ds["emg"].attrs["units"] == "device units" and ds.attrs["modalities"] == ["emg"]
    assert provenance_of(ds)["pipeline"] == "test"
