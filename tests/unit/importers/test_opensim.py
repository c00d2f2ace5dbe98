"""``miakit import trc``: OpenSim .trc markers with .sto/.mot EMG, written from the real C3D walk."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

from miakit.contracts.dataset import provenance_of
from miakit.errors import InputError
from miakit.importers.c3d import read_c3d
from miakit.importers.lab import load_trials, parse_views
from miakit.importers.opensim import read_sto, read_trc, read_trial, write_sto, write_trc
from miakit.layout import BODY_25
from miakit.stages.emg import band_pass, envelope, rectify
from miakit.store import open_store

pytest.importorskip("ezc3d")

EMG = [
    "Voltage.RRF",
    "Voltage.RVL",
    "Voltage.LRF",
    "Voltage.LVL",
    "Voltage.RST",
    "Voltage.RBF",
    "Voltage.LST",
    "Voltage.LBF",
]


@pytest.fixture
def walk(shared_data):
    return read_c3d(shared_data / "mocap" / "gaitalytics-walk.c3d")


def _export(walk, folder, *, envelopes: bool = False):
    """The walk's markers as TRIAL.trc (in metres, to exercise units) and its EMG as TRIAL.sto."""
    folder.mkdir(parents=True, exist_ok=True)
    trc = write_trc(
        folder / "walk.trc", {k: v / 1000.0 for k, v in walk.markers.items()}, walk.marker_rate_hz, units="m"
    )
    columns = {k: walk.analogs[k] for k in EMG}
    if envelopes:  # envelopes at the analog rate, made by miakit's own stages (non-negative)
        da = xr.DataArray(
            np.stack(list(columns.values()), axis=1), dims=("time", "channel"), attrs={"rate_hz": walk.analog_rate_hz}
        )
        env = envelope(rectify(band_pass(da)), method="rms", window_s=0.1).values
        columns = {k: np.maximum(env[:, i], 0.0) for i, k in enumerate(columns)}
    write_sto(folder / "walk.sto", columns, walk.analog_rate_hz, units="V")
    return trc


def test_trc_and_sto_round_trip(walk, tmp_path):
    trc = _export(walk, tmp_path)
    markers, rate, t0 = read_trc(trc)
    assert rate == walk.marker_rate_hz and t0 == 0.0 and list(markers) == list(walk.markers)
    for k in ("LASI", "RKNE", "RHEE"):
        assert np.allclose(markers[k], walk.markers[k], atol=1e-2, equal_nan=True)
    columns, analog_rate, to_volts, e0 = read_sto(tmp_path / "walk.sto")
    assert analog_rate == pytest.approx(walk.analog_rate_hz) and to_volts == 1.0 and e0 == 0.0
    assert np.allclose(columns["Voltage.RVL"], walk.analogs["Voltage.RVL"], rtol=1e-6, atol=1e-12)


def test_trc_import_matches_the_c3d_import(walk, shared_data, tmp_path):
    trc = _export(walk, tmp_path / "raw")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "miakit.cli",
            "import",
            "trc",
            str(trc),
            "--out",
            str(tmp_path / "trc.zarr"),
            "--views",
            "front",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    ds = open_store(tmp_path / "trc.zarr")
    ref, _ = load_trials(
        [shared_data / "mocap" / "gaitalytics-walk.c3d"], read_c3d, pipeline="import-c3d", views=parse_views("front")
    )
    assert provenance_of(ds)["pipeline"] == "import-trc"
    assert np.allclose(
        ds["emg"].values, ref["emg"].values, rtol=1e-4, atol=1e-3, equal_nan=True
    )  # the same raw EMG, the same stages
    # No subject parameters in a .trc: knee and ankle widths take the mapping's defaults (a few mm off).
    kp, kp_ref = ds["keypoints"].values, ref["keypoints"].values
    assert np.nanmax(np.abs(kp[:, BODY_25.index("RHip")] - kp_ref[:, BODY_25.index("RHip")])) < 2.0
    assert np.nanmedian(np.abs(kp - kp_ref)) < 10.0
    assert set(ds["event_origin"].values) == {"zeni"}  # the format has no events: detected
    strikes = ds["event_time"].values[(ds["event_kind"].values == "foot_strike") & (ds["event_side"].values == "right")]
    file_strikes = [t for t, k, s in walk.events if k == "foot_strike" and s == "right"]
    assert len(strikes) == len(file_strikes) and np.allclose(strikes, file_strikes, atol=0.07)


def test_envelopes_in_the_sto_are_only_resampled(walk, shared_data, tmp_path):
    trc = _export(walk, tmp_path / "env", envelopes=True)
    ds, _ = load_trials([trc], read_trial, pipeline="import-trc", views=parse_views("front"))
    assert set(provenance_of(ds)["trials"][0]["emg_kind"].values()) == {
        "envelope"
    }  # told apart from raw and rectified EMG
    ref, _ = load_trials(
        [shared_data / "mocap" / "gaitalytics-walk.c3d"], read_c3d, pipeline="import-c3d", views=parse_views("front")
    )
    assert ds.attrs["emg_units"].startswith("microvolts (envelopes")
    assert np.allclose(ds["emg"].values, ref["emg"].values, rtol=1e-3, atol=1.0, equal_nan=True)


def test_trc_without_emg_beside_it_imports_as_keypoints_only(walk, tmp_path):
    trc = write_trc(tmp_path / "alone.trc", walk.markers, walk.marker_rate_hz)
    result = subprocess.run(
        [sys.executable, "-m", "miakit.cli", "import", "trc", str(trc), "--out", str(tmp_path / "k.zarr")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    note = next(x for x in result.stdout.splitlines() if x.startswith("note"))
    assert "alone.trc: keypoints only, no EMG: no EMG file beside it (looked for alone.sto" in note, note
    assert result.stdout.strip().splitlines()[-1] == str(tmp_path / "k.zarr")
    ds = open_store(tmp_path / "k.zarr")  # contract 2's validator accepts it
    assert np.isnan(ds["emg"].values).all() and not ds["muscle_present"].values.any()
    assert ds["valid"].values.mean() > 0.9  # valid frames judged on the keypoints
    trial = provenance_of(ds)["trials"][0]
    assert trial["emg_note"].startswith("keypoints only, no EMG") and trial["channels"] == {}
    (tmp_path / "bad.sto").write_text("no header here\n1\t2\n")
    with pytest.raises(InputError, match="endheader"):
        read_sto(tmp_path / "bad.sto")


def test_emg_starting_later_is_put_on_the_markers_clock(walk, shared_data, tmp_path):
    trc = write_trc(tmp_path / "late.trc", walk.markers, walk.marker_rate_hz)
    late = int(0.3 * walk.analog_rate_hz)  # the EMG recorder started 0.3 s after the cameras
    write_sto(tmp_path / "late.sto", {k: walk.analogs[k][late:] for k in EMG}, walk.analog_rate_hz, start_s=0.3)
    ds, _ = load_trials([trc], read_trial, pipeline="import-trc", views=parse_views("front"))
    ref, _ = load_trials(
        [shared_data / "mocap" / "gaitalytics-walk.c3d"], read_c3d, pipeline="import-c3d", views=parse_views("front")
    )
    quad = ds["emg"].sel(muscle="RightQuad").values
    assert np.isnan(quad[:3]).all() and not ds["valid"].values[:3].any()  # no EMG yet
    settled = slice(15, -10)  # away from the filters' start-up at either end
    assert np.allclose(quad[settled], ref["emg"].sel(muscle="RightQuad").values[settled], rtol=0.02)
