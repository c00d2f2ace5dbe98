"""Another lab's file of the same trial imports to the same store, or is refused in one line.

The two shared C3D trials are rewritten at run time (tests/lab_variants.py, with ezc3d) as other labs
would write them: other lab axes and walking directions, units, analog scales and offsets, rates
(C3D, and OpenSim files for rates that are not whole multiples), labels and marker sets, EMG channel
names, event clocks and labels, a treadmill, a turning walk, marker gaps, EMG processed already.
Each is imported with ``load_trials`` (the path ``miakit import c3d`` takes) and compared with the
imported source: joint centres (mm, back in the source's axes), keypoints after projection (px),
EMG envelopes (r, amplitude), muscle_present, gait events (ms) and the per-unit r that
``miakit bench real``'s scoring gives for one fixed checkpoint. The tolerances per kind of variant
are ``lab_variants.TOLERANCES``. ``python benchmarks/import_invariance.py`` prints the whole table.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from lab_variants import (
    BASE_OPTIONS,
    EMG_NUMBERED,
    EMG_USER_MAP,
    SOURCES,
    TOLERANCES,
    VARIANTS,
    imported,
    read_source,
    relabelled,
    run_variant,
    write_c3d,
)

pytest.importorskip("ezc3d")

FAST = {  # one or two of each kind in the default run; the rest with -m slow
    "rewritten as is",
    "y-up, walk -z",
    "lift y-up",
    "metres",
    "EMG mV, SCALE, OFFSET, GEN_SCALE",
    "lift EMG mV, OFFSET",
    "centimetres stated as mm",
    "ANALOG:RATE not what the data holds",
    "120/2400 Hz",
    "trc 120/1500 Hz, mV",
    "subject prefix",
    "EMG1..EMG8, no map",
    "EMG1..EMG8 with --channel",
    "no EVENT group (Zeni)",
    "events in frames",
    "RHS / LTO, no context",
    "treadmill",
    "turning 90 deg",
    "gap 0.5 s",
    "EMG envelope",
    "Helen Hayes (Cortex) names",
    "Qualisys Q_ names",
    "unknown marker set",
    "turning 90 deg, no events (Zeni)",
}
HIGHER_IS_BETTER = {"emg_r"}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from dataset_builders import body25_checkpoint

    return body25_checkpoint(tmp_path_factory.mktemp("ckpt"))


@pytest.fixture(scope="module")
def sources(shared_data):
    return {trial: read_source(shared_data / path) for trial, path in SOURCES.items()}


@pytest.fixture(scope="module")
def references(shared_data, checkpoint):
    from miakit.importers.c3d import read_c3d

    return {
        trial: imported(shared_data / path, read_c3d, BASE_OPTIONS[trial], checkpoint)
        for trial, path in SOURCES.items()
    }


def test_every_fast_name_is_a_variant():
    assert FAST <= {v.name for v in VARIANTS} and set(TOLERANCES) >= {v.kind for v in VARIANTS}


@pytest.mark.parametrize(
    "variant", [pytest.param(v, id=v.name, marks=() if v.name in FAST else pytest.mark.slow) for v in VARIANTS]
)
def test_another_labs_file_imports_alike_or_is_refused_in_one_line(variant, sources, references, checkpoint, tmp_path):
    result = run_variant(variant, sources[variant.trial], tmp_path, references[variant.trial], checkpoint)
    if variant.refuses:
        line = result["refused"]
        assert line is not None, f"imported; expected a refusal naming {variant.refuses!r}"
        assert variant.refuses in line and "\n" not in line and line.startswith(str(tmp_path)), line
        return
    assert result["refused"] is None, result["refused"]
    if variant.note:  # no EMG channel maps: the keypoints alone, as the source's, with a note
        note = " ".join(result["report"].notes)
        assert variant.note in note and "keypoints only, no EMG" in note and "--channel" in note, note
        assert not result["present"] and result["keypoints_px"] <= TOLERANCES[variant.kind]["keypoints_px"]
        return
    if "expect_mapping" in variant.options:
        assert result["mapping"] == variant.options["expect_mapping"]
    assert result["present"], "the same muscles recorded"
    assert result["events"][0] - result["events_missed"] <= result["events"][1]
    if result["bench_units"][0]:
        assert result["bench_units"][1] == result["bench_units"][0], "every unit of the source is scored in the variant"
    for key, bound in TOLERANCES[variant.kind].items():
        value = result[key]
        if value is None:  # the source has no such joints (the box lift has no legs)
            continue
        ok = value >= bound if key in HIGHER_IS_BETTER else value <= bound
        assert ok or (np.isnan(value) and key in ("events_ms", "bench_r")), (key, value, bound)


def test_the_rigid_cluster_keeps_the_hips_through_a_pelvis_gap(sources, tmp_path):
    """SACR hidden for 0.8 s (beyond the 0.2 s of straight lines): filled from RASI and LASI, so the
    hips (Harrington needs the back of the pelvis) are not lost; without the cluster they are."""
    from lab_variants import with_gaps

    from miakit.importers.c3d import read_c3d
    from miakit.importers.lab import trial_joints
    from miakit.layout import BODY_25

    rec = sources["walk"]
    path = write_c3d(with_gaps(rec, {"SACR": (1.2, 0.8)}), tmp_path / "gap.c3d")
    reference, _, _, _ = trial_joints(read_c3d(write_c3d(rec, tmp_path / "whole.c3d")))
    joints, _, _, _ = trial_joints(read_c3d(path))
    hip = BODY_25.index("RHip")
    assert joints.filled["SACR"] == 80 and np.isfinite(joints.xyz[:, hip]).all()
    assert np.nanmax(np.linalg.norm(joints.xyz[:, hip] - reference.xyz[:, hip], axis=1)) < 5.0
    unfilled, _, _, _ = trial_joints(read_c3d(path), max_gap_s=0)  # nothing filled
    assert np.isnan(unfilled.xyz[:, hip]).sum() >= 80


def test_emg_kinds_are_told_apart(sources):
    from scipy.signal import butter, sosfiltfilt

    from miakit.importers.lab import emg_signal_kind

    rec = sources["walk"]
    raw, rate = rec.analogs["Voltage.RVL"], rec.analog_rate
    rectified = np.abs(sosfiltfilt(butter(4, [20, 450], btype="band", fs=rate, output="sos"), raw))
    envelope = sosfiltfilt(butter(2, 6, fs=rate, output="sos"), rectified)
    assert emg_signal_kind(raw, rate) == "raw"
    assert emg_signal_kind(raw - raw.min() + 0.01, rate) == "raw", "raw EMG on an offset (an unsigned ADC) is still raw"
    assert emg_signal_kind(rectified, rate) == "rectified"
    assert emg_signal_kind(envelope, rate) == "envelope"
    assert emg_signal_kind(envelope[::100], 10.0) == "envelope"
    lift = sources["lift"]
    assert emg_signal_kind(lift.analogs["Biceps.EMG4"], lift.analog_rate) == "raw"


def test_channel_maps_from_the_command_line_and_yaml(tmp_path):
    from miakit.errors import InputError
    from miakit.importers.emg_channels import parse_channel_map, resolve_channel_map

    (tmp_path / "emg.yaml").write_text("EMG3: right semitendinosus\nEMG9: '-'\n")
    parsed = parse_channel_map(["EMG1=RightQuad", "emg2=left vastus lateralis", str(tmp_path / "emg.yaml")])
    assert parsed == {"EMG1": "RightQuad", "emg2": "LeftQuad", "EMG3": "RightHamstring", "EMG9": None}
    labels = ["Voltage.EMG1", "Voltage.EMG2", "Sensor 3.EMG3", "EMG9"]
    assert resolve_channel_map(parsed, labels, "f.c3d") == {
        "Voltage.EMG1": "RightQuad",
        "Voltage.EMG2": "LeftQuad",
        "Sensor 3.EMG3": "RightHamstring",
        "EMG9": None,
    }
    for bad, problem in ((["EMG1=Deltoid"], "unknown muscle"), (["EMG1"], "not a channel map")):
        with pytest.raises(InputError, match=problem) as err:
            parse_channel_map(bad)
        assert "\n" not in str(err.value)
    with pytest.raises(InputError, match="no such EMG channel") as err:
        resolve_channel_map({"EMG7": "RightQuad"}, labels, "f.c3d")
    assert str(err.value).startswith("f.c3d: --channel EMG7") and "Voltage.EMG1" in str(err.value)


def test_the_command_line_names_numbered_channels_with_channel(sources, tmp_path):
    """``miakit import c3d`` on a file whose EMG channels are EMG1..EMG8: the keypoints alone, with a
    note that lists them and names --channel; with --channel (pairs, or a YAML file) the EMG too."""
    path = write_c3d(relabelled(sources["walk"], analogs=EMG_NUMBERED), tmp_path / "numbered.c3d")

    def cli(*args):
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "miakit.cli",
                "import",
                "c3d",
                str(path),
                "--no-progress",
                "--views",
                "front",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )

    alone = cli("--out", str(tmp_path / "a.zarr"))
    assert alone.returncode == 0, alone.stderr[-2000:]
    line = next(x for x in alone.stdout.splitlines() if x.startswith("note"))
    assert "--channel EMG1=" in line and "EMG1, EMG2" in line and "numbered.c3d: keypoints only" in line, line
    from miakit.store import open_store

    assert not open_store(tmp_path / "a.zarr")["muscle_present"].values.any()
    (tmp_path / "map.yaml").write_text(
        "".join(f"{pair.split('=')[0]}: {pair.split('=')[1]}\n" for pair in EMG_USER_MAP[4:])
    )
    args = [a for pair in EMG_USER_MAP[:4] for a in ("--channel", pair)] + ["--channel", str(tmp_path / "map.yaml")]
    done = cli("--out", str(tmp_path / "b.zarr"), *args)
    assert done.returncode == 0, done.stderr[-2000:]
    ds = miakit.open_dataset(tmp_path / "b.zarr")
    trial = provenance_of(ds)["trials"][0]
    assert trial["channels"] == {
        "RightQuad": ["EMG1", "EMG2"],
        "RightHamstring": ["EMG3", "EMG4"],
        "LeftQuad": ["EMG5", "EMG6"],
        "LeftHamstring": ["EMG7", "EMG8"],
    }
    assert set(trial["emg_kind"].values()) == {"raw"} and ds["muscle_present"].values.sum() == 4
