"""Bad input to build-dataset: each case is one clear line in the report, and the rest is built."""

from __future__ import annotations

import pytest

from miakit.pipeline import build_dataset


def _build_with_bad(tmp_path, session_factory, damage) -> str:
    session_factory("good")
    bad = session_factory("bad", seed=5)
    damage(bad)
    result = build_dataset(tmp_path / "sessions", tmp_path / "ds.zarr", progress=False)
    reasons = {r.session: r.reason for r in result.reports}
    assert reasons["good"] == "" and result.segments == 1
    reason = next(v for k, v in reasons.items() if k != "good")
    assert reason and "\n" not in reason
    return reason


def _edit(path, old, new):
    path.write_text(path.read_text().replace(old, new, 1))


def test_emg_times_going_backwards(tmp_path, session_factory):
    def damage(folder):
        lines = (folder / "emg.csv").read_text().splitlines()
        lines[50], lines[60] = lines[60], lines[50]
        (folder / "emg.csv").write_text("\n".join(lines) + "\n")

    reason = _build_with_bad(tmp_path, session_factory, damage)
    assert "emg.csv: line 52: host times go backwards" in reason


def test_emg_with_nan_times(tmp_path, session_factory):
    def damage(folder):
        lines = (folder / "emg.csv").read_text().splitlines()
        lines[20] = "nan," + lines[20].split(",", 1)[1]
        (folder / "emg.csv").write_text("\n".join(lines) + "\n")

    assert "emg.csv: line 21: unreadable row" in _build_with_bad(tmp_path, session_factory, damage)


def test_a_crash_cut_last_row_is_fine(tmp_path, session_factory):
    folder = session_factory("cut", close=False)
    with (folder / "emg.csv").open("a") as fh:
        fh.write("12.3456,M40-0")  # the process died mid-row
    result = build_dataset(tmp_path / "sessions", tmp_path / "ds.zarr", progress=False)
    assert result.reports[0].kept and result.reports[0].truncated


def test_missing_sensor(tmp_path, session_factory):
    def damage(folder):
        lines = (folder / "emg.csv").read_text().splitlines()
        (folder / "emg.csv").write_text("\n".join(l for l in lines if ",M40-02," not in l) + "\n")

    reason = _build_with_bad(tmp_path, session_factory, damage)
    assert "sensors: no EMG from a mapped sensor" in reason and "M40-02" in reason


def test_unknown_profile(tmp_path, session_factory):
    reason = _build_with_bad(tmp_path, session_factory, lambda f: _edit(f / "profile.yaml", "decoder: m40_envelope_v1", "decoder: m41_magic"))
    assert "profile.yaml: decoder: unknown decoder 'm41_magic'" in reason


def test_malformed_session_yaml(tmp_path, session_factory):
    reason = _build_with_bad(tmp_path, session_factory, lambda f: _edit(f / "session.yaml", "subject: subject01", "subject: [oops"))
    assert "session.yaml: not valid YAML at line" in reason


@pytest.mark.parametrize("bad_value", ["sensors: {}", "status: finished"])
def test_session_yaml_with_wrong_fields(tmp_path, session_factory, bad_value):
    key = bad_value.split(":")[0]

    def damage(folder):
        import yaml

        data = yaml.safe_load((folder / "session.yaml").read_text())
        data[key] = yaml.safe_load(bad_value)[key]
        (folder / "session.yaml").write_text(yaml.safe_dump(data))

    assert f"session.yaml: {key}:" in _build_with_bad(tmp_path, session_factory, damage)
