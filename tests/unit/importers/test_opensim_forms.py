"""OpenSim files as OpenSim writes them, and OpenSim files that lie.

Every header form is written here from the shared OpenSim walk (``opensim-walk-markers.trc`` and
``opensim-walk-emg.sto``) rewritten: version 1 with ``endheader``, the older ``nRows=`` form, the
``datarows``/``datacolumns`` header of the old ``.mot``, ``inDegrees``, OpenSim 4's header, tab- or
space-aligned columns, header fields in another order. Each must read as the original does. Files cut
short, rows of the wrong width and rates that are not rates are refused, in one line, by the real CLI.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from miakit.errors import InputError
from miakit.importers.lab import emg_envelopes, load_trials, parse_views
from miakit.importers.opensim import read_sto, read_sto_header, read_trc, read_trial
from miakit.layout import MUSCLES
from miakit.stages.emg import RawEmgParams

TRC = "mocap/opensim-walk-markers.trc"
STO = "mocap/opensim-walk-emg.sto"
SIDED = {  # the shared file's right-leg channels as OpenSim users name them (Rajagopal's abbreviations, _r)
    "soleus": "soleus_r",
    "gastrocnemius": "gasmed_r",
    "tibialis_anterior": "tibant_r",
    "medial_hamstrings": "semiten_r",
    "biceps_femoris": "bflh_r",
    "vastus_lateralis": "vaslat_r",
    "vastus_medius": "vasmed_r",
    "rectus_femoris": "recfem_r",
    "gluteus_maximus": "glmax1_r",
    "gluteus_medius": "glmed1_r",
}


@pytest.fixture
def walk(shared_data):
    trc, sto = shared_data / TRC, shared_data / STO
    return trc, sto, read_trc(trc), read_sto(sto)


def _sto_table(sto) -> tuple[list[str], list[list[str]]]:
    lines = sto.read_text().splitlines()
    end = lines.index("endheader")
    return lines[end + 1].split("\t"), [line.split("\t") for line in lines[end + 2 :] if line.strip()]


def _spaced(rows: list[list[str]]) -> list[str]:
    """Space-aligned columns, as the old .mot files and hand-written tables have them."""
    return ["  ".join(f"{c:>24}" for c in row) for row in rows]


def _sto_forms(sto, folder) -> dict:
    """The shared EMG in every header form OpenSim has written."""
    labels, rows = _sto_table(sto)
    n, m = len(rows), len(labels)
    span = f"{float(rows[0][0]):.6f} {float(rows[-1][0]):.6f}"
    tab = ["\t".join(labels)] + ["\t".join(r) for r in rows]
    forms = {
        "version1.sto": ["Electromyography", "version=1", f"nRows={n}", f"nColumns={m}", "inDegrees=no", "endheader"]
        + tab,
        "nrows.sto": ["Electromyography", f"nRows={n}", f"nColumns={m}", "endheader"] + tab,
        "degrees.mot": [
            "Coordinates",
            "version=1",
            f"nRows={n}",
            f"nColumns={m}",
            "inDegrees=yes",
            "",
            "Units are S.I. units (second, meters, Newtons, ...)",
            "Angles are in degrees.",
            "",
            "endheader",
        ]
        + _spaced([labels] + rows),
        "opensim4.sto": ["DataRate=2000.000000", "DataType=double", "version=3", "OpenSimVersion=4.1", "endheader"]
        + tab,
        # the header before version 1 (SIMM), space-aligned, muscle abbreviations with a side suffix
        "old.mot": [f"name {folder.name}", f"datacolumns {m}", f"datarows {n}", f"range {span}", "endheader"]
        + _spaced([["time"] + [SIDED[c] for c in labels[1:]]] + rows),
        "trailing-tabs.sto": ["Electromyography", "version=1", f"nRows={n}", f"nColumns={m}", "endheader"]
        + [line + "\t" for line in tab],
    }
    out = {}
    for name, lines in forms.items():
        (folder / name).write_text("\n".join(lines) + "\n")
        out[name] = folder / name
    return out


def test_every_sto_header_form_reads_as_the_original(walk, tmp_path):
    _, sto, _, (columns, rate, to_volts, t0) = walk
    assert rate == 2000.0 and to_volts == 1.0 and t0 == 0.0 and len(columns) == 10
    for name, path in _sto_forms(sto, tmp_path).items():
        got, got_rate, got_volts, got_t0 = read_sto(path)
        assert (got_rate, got_volts, got_t0) == (rate, to_volts, t0), name
        names = list(got)
        expected = [SIDED[c] for c in columns] if name == "old.mot" else list(columns)
        assert names == expected, name
        for a, b in zip(columns.values(), got.values()):
            assert np.array_equal(a, b), name
    header, labels, _ = read_sto_header(tmp_path / "old.mot")
    assert header["nrows"] == "4780" and header["ncolumns"] == "11" and labels[1] == "soleus_r"
    assert read_sto_header(tmp_path / "degrees.mot")[0]["indegrees"] == "yes"


def _trc_parts(trc):
    lines = trc.read_text().splitlines()
    return lines[:5], [line.split("\t") for line in lines[5:] if line.strip()]


def _trc_forms(trc, folder) -> dict:
    """The shared markers with the header as other writers lay it out."""
    head, rows = _trc_parts(trc)
    keys, values = head[1].split(), head[2].split()
    names = [c for c in head[3].split("\t") if c]
    xyz = head[4].split()
    forms = {
        "as-shared.trc": head + ["\t".join(r) for r in rows],
        "single-tabs.trc": [head[0], "\t".join(keys), "\t".join(values)] + head[3:] + ["\t".join(r) for r in rows],
        "reordered.trc": [  # the fields by name, in another order (Units first, no OrigData fields)
            head[0],
            "Units\tNumMarkers\tNumFrames\tCameraRate\tDataRate",
            "\t".join([values[4], values[3], values[2], values[1], values[0]]),
        ]
        + head[3:]
        + ["\t".join(r) for r in rows],
        "spaces.trc": [head[0].replace("\t", " "), "  ".join(keys), "  ".join(values)]
        + ["  ".join(names), "          " + "  ".join(xyz), ""]
        + ["  ".join(f"{c:>10}" for c in r) for r in rows],
        "trailing-tab.trc": head + ["\t".join(r) + "\t" for r in rows],
        "crlf.trc": [x + "\r" for x in head + ["\t".join(r) for r in rows]],
        "no-xyz-line.trc": head[:4] + ["\t".join(r) for r in rows],
    }
    out = {}
    for name, lines in forms.items():
        (folder / name).write_text("\n".join(lines) + "\n")
        out[name] = folder / name
    return out


def test_every_trc_header_form_reads_as_the_original(walk, tmp_path):
    _, _, (markers, rate, t0), _ = walk
    # the shared file: values under their names with empty cells between ("found '238'" before)
    assert rate == 100.0 and t0 == 0.0 and len(markers) == 41 and "R.ASIS" in markers and "S2" in markers
    assert all(v.shape == (238, 3) for v in markers.values())
    for name, path in _trc_forms(walk[0], tmp_path).items():
        got, got_rate, got_t0 = read_trc(path)
        assert (got_rate, got_t0) == (rate, t0) and list(got) == list(markers), name
        for k in markers:
            assert np.array_equal(got[k], markers[k], equal_nan=True), (name, k)


def test_metres_are_read_as_metres(walk, tmp_path):
    head, rows = _trc_parts(walk[0])
    values = head[2].split()
    values[4] = "m"
    metres = [[r[0], r[1]] + [f"{float(c) / 1000:.6f}" if c else "" for c in r[2:]] for r in rows]
    path = tmp_path / "metres.trc"
    path.write_text("\n".join([head[0], head[1], "\t".join(values), head[3], head[4]] + ["\t".join(r) for r in metres]))
    got, _, _ = read_trc(path)
    assert np.allclose(got["R.ASIS"], walk[2][0]["R.ASIS"], atol=1e-3)


def test_the_shared_walk_reads_with_its_right_leg_emg(walk, shared_data):
    trc, sto, (markers, _, _), _ = walk
    trial = read_trial(trc, sto)
    assert trial.analog_rate_hz == 2000.0 and len(trial.analogs) == 10
    emg, info = emg_envelopes(trial, 24, side="right", params=RawEmgParams())
    assert info["channels"] == {
        "RightQuad": ["vastus_lateralis", "vastus_medius", "rectus_femoris"],
        "RightHamstring": ["medial_hamstrings", "biceps_femoris"],
    }
    assert set(info["emg_kind"].values()) == {"envelope"}  # processed envelopes: only resampled
    right = [MUSCLES.index("RightQuad"), MUSCLES.index("RightHamstring")]
    assert np.isfinite(emg[:, right]).all() and np.isnan(np.delete(emg, right, axis=1)).all()
    # the side is not in these labels: without --side, keypoints only, the note naming --side
    emg, info = emg_envelopes(trial, 24, side=None, params=RawEmgParams())
    assert np.isnan(emg).all() and not info["channels"]
    assert "does not say the side (pass --side right" in info["emg_note"]


def test_the_old_mot_with_side_suffixes_needs_no_side(walk, tmp_path):
    forms = _sto_forms(walk[1], tmp_path)
    trial = read_trial(walk[0], forms["old.mot"])
    _, info = emg_envelopes(trial, 24, side=None, params=RawEmgParams())
    assert info["channels"] == {
        "RightQuad": ["vaslat_r", "vasmed_r", "recfem_r"],
        "RightHamstring": ["semiten_r", "bflh_r"],
    }


def test_the_shared_walk_imports_end_to_end(walk):
    ds, report = load_trials(
        [walk[0]], lambda p: read_trial(p, walk[1]), pipeline="import-trc", views=parse_views("front"), side="right"
    )
    present = dict(zip(ds["muscle"].values, ds["muscle_present"].values[0]))
    assert present["RightQuad"] and present["RightHamstring"] and not present["LeftQuad"]
    assert report.n_valid > 0


# -- files that lie -------------------------------------------------------------------------------


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "miakit.cli", *args], capture_output=True, text=True, timeout=300)


def _trc_lies(trc, folder) -> dict:
    """(file, what the one line must say) for each lie."""
    text = trc.read_text()
    head, rows = _trc_parts(trc)
    lines = text.splitlines()

    def with_rate(rate):
        values = head[2].split("\t")
        return "\n".join([head[0], head[1], "\t".join(v if v.strip() != "100.0" else rate for v in values)] + lines[3:])

    shifted = [list(r) for r in rows]
    shifted[100].insert(40, "12.5")  # one cell too many in the middle: the rest of the row would shift
    short = [list(r) for r in rows]
    del short[50][30]  # one cell too few
    lies = {
        "cut-mid-row.trc": (text[: len(text) - 700], "Truncated: 237 of 238 frames (the file ends mid-row"),
        "fewer-rows.trc": ("\n".join(lines[:-10]) + "\n", "Truncated: 228 of 238 frames"),
        "more-rows.trc": ("\n".join(lines + lines[-3:]) + "\n", "holds 241 frames, more than its header states"),
        "shifted-row.trc": ("\n".join(head + ["\t".join(r) for r in shifted]) + "\n", "a row with 126 cells"),
        "short-row.trc": ("\n".join(head + ["\t".join(r) for r in short]) + "\n", "a row with 124 cells"),
        "rate-nan.trc": (with_rate("nan"), "DataRate: not a sampling rate"),
        "rate-inf.trc": (with_rate("inf"), "DataRate: not a sampling rate"),
        "rate-zero.trc": (with_rate("0"), "DataRate: not a sampling rate"),
        "rate-negative.trc": (with_rate("-100"), "DataRate: not a sampling rate"),
        "rate-wrong.trc": (with_rate("250"), "the time column and the stated rate disagree"),
    }
    out = {}
    for name, (body, message) in lies.items():
        (folder / name).write_text(body)
        out[name] = (folder / name, message)
    return out


@pytest.mark.parametrize(
    "lie",
    [
        "cut-mid-row.trc",
        "fewer-rows.trc",
        "more-rows.trc",
        "shifted-row.trc",
        "short-row.trc",
        "rate-nan.trc",
        "rate-inf.trc",
        "rate-zero.trc",
        "rate-negative.trc",
        "rate-wrong.trc",
    ],
)
def test_a_trc_that_lies_is_refused_in_one_line(walk, tmp_path, lie):
    path, message = _trc_lies(walk[0], tmp_path)[lie]
    before = path.read_bytes()
    result = _cli("import", "trc", str(path), "--emg", str(walk[1]), "--out", str(tmp_path / "o.zarr"), "--no-progress")
    assert result.returncode == 2, result.stdout[-1000:] + result.stderr[-1000:]
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert message in result.stderr and lie in result.stderr, result.stderr
    assert not (tmp_path / "o.zarr").exists() and path.read_bytes() == before


def test_an_sto_that_lies_is_refused(walk, tmp_path):
    sto = walk[1]
    text = sto.read_text()
    lines = text.splitlines()
    cases = {
        "cut.sto": (text[:-300], "Truncated: 4778 of 4780 rows (the file ends mid-row"),
        "fewer.sto": ("\n".join(lines[:-20]) + "\n", "Truncated: 4760 of 4780 rows"),
        "wide.sto": ("\n".join(lines[:500] + [lines[500] + "\t0.5"] + lines[501:]) + "\n", "a row with 12 cells"),
        "columns.sto": (text.replace("nColumns=11", "nColumns=12"), "the column labels and nColumns disagree"),
        "nan-time.sto": ("\n".join(lines[:900] + ["nan" + lines[900][lines[900].index("\t") :]] + lines[901:]), "time"),
    }
    for name, (body, message) in cases.items():
        (tmp_path / name).write_text(body)
        with pytest.raises(InputError, match=message.replace("(", r"\(")) as err:
            read_sto(tmp_path / name)
        assert "\n" not in str(err.value), name
    result = _cli("import", "trc", str(walk[0]), "--emg", str(tmp_path / "cut.sto"), "--out", str(tmp_path / "o.zarr"))
    assert (
        result.returncode == 2 and "Traceback" not in result.stderr and "Truncated: 4778 of 4780 rows" in result.stderr
    )
    assert not (tmp_path / "o.zarr").exists()
