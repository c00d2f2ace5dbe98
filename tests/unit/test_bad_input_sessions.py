"""Bad input, tried as a stranger's data would be: each case runs the real command in a subprocess
(``python -m miakit.cli ...``) on copies of one valid session, and checks what a user sees.

- A bad session in a build: exit 0, that session "left out" with one line naming the file and what
  was expected and found; the good sessions of the same build are in the store.
- A bad whole command: exit 2 and one ``error:`` line.
- Never a traceback on standard error, never a file written by anything the data named (canaries).

The per-session cases share one build (one subprocess for all of them) to stay fast.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml
from session_builders import write_session

REPO = Path(__file__).resolve().parents[2]


def run_cli(
    *args: str, cwd: Path, extra_path: tuple[Path, ...] = (), timeout: float = 180
) -> subprocess.CompletedProcess:
    paths = (
        [str(p) for p in extra_path]
        + [str(REPO)]
        + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(paths),
        COLUMNS="4000",
        NO_COLOR="1",
        MIAKIT_CATALOG=str(cwd / "catalog.yaml"),
    )
    env.pop("MIAKIT_DECODER_PLUGINS", None)
    return subprocess.run(
        [sys.executable, "-m", "miakit.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_no_traceback(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]


def assert_one_error_line(proc: subprocess.CompletedProcess, *expected: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    assert_no_traceback(proc)
    lines = [line for line in proc.stderr.splitlines() if line.startswith(("error:", "Error"))]
    assert lines, proc.stderr
    line = next((x for x in proc.stderr.splitlines() if "error" in x.lower() and all(e in x for e in expected)), None)
    assert line is not None, (expected, proc.stderr)
    return line


# -- building blocks ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """One valid session (written once by miakit's SessionWriter); cases copy it."""
    return write_session(tmp_path_factory.mktemp("template") / "template", duration_s=8.0)


def copy_session(template: Path, dest: Path) -> Path:
    shutil.copytree(template, dest, symlinks=True)
    meta = dest / "session.yaml"
    meta.write_text(meta.read_text().replace("session_id: template", f"session_id: {dest.name}", 1))
    return dest


def edit_meta(folder: Path, **changes) -> None:
    """Set dotted fields of session.yaml (``keypoints__fps=...`` sets keypoints.fps)."""
    meta = yaml.safe_load((folder / "session.yaml").read_text())
    for key, value in changes.items():
        *parents, leaf = key.split("__")
        node = meta
        for p in parents:
            if not isinstance(node.get(p), dict):
                node[p] = {}
            node = node[p]
        node[leaf] = value
    (folder / "session.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))


def set_profile(folder: Path, old: str, new: str, *, rehash: bool = True) -> None:
    """Edit profile.yaml; with ``rehash`` the session records the edited profile's hash (so only the
    edit itself is judged, not the mismatch)."""
    path = folder / "profile.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    if rehash:
        edit_meta(folder, recorder__profile_sha256=hashlib.sha256(path.read_bytes()).hexdigest())


def set_payloads(folder: Path, payload: bytes) -> None:
    """Every EMG notification's payload becomes ``payload``."""
    lines = (folder / "emg.csv").read_text().splitlines()
    out = [lines[0]] + [",".join(line.split(",")[:3] + [payload.hex()]) for line in lines[1:]]
    (folder / "emg.csv").write_text("\n".join(out) + "\n")


def edit_frames(folder: Path, every: int, change) -> None:
    for i, path in enumerate(sorted((folder / "keypoints").glob("*_keypoints.json"))):
        if i % every == 0:
            body = json.loads(path.read_text())
            flat = body["people"][0]["pose_keypoints_2d"]
            change(flat)
            path.write_text(json.dumps(body))  # json writes NaN and Infinity as JavaScript does


BILLION_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)


def bomb(folder: Path, name: str) -> None:
    text = (folder / name).read_text()
    (folder / name).write_text(BILLION_LAUGHS + text)


PLUGIN_MODULE = """
from miakit.devices.decoders import m40_envelope_v1


def decode(payload):
    return m40_envelope_v1(payload)


def broken(payload):
    raise RuntimeError("this plugin is broken")
"""


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory) -> Path:
    """A real installed plugin: a module and its dist-info with entry points (group miakit.decoders)."""
    root = tmp_path_factory.mktemp("plugins")
    (root / "miakit_testplugin.py").write_text(PLUGIN_MODULE)
    info = root / "miakit_testplugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: miakit-testplugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[miakit.decoders]\ntestplugin_m40 = miakit_testplugin:decode\ntestplugin_broken = miakit_testplugin:broken\n"
    )
    return root


# -- the per-session cases: name -> (damage(folder, root), kept?, what its summary line must say) --

CANARY = "CANARY-written-by-session-data"


def _os_system(folder: Path, root: Path) -> None:
    set_payloads(folder, f"touch {root / CANARY}".encode())
    set_profile(folder, "decoder: m40_envelope_v1", "decoder: os:system")


def _builtins_exec(folder: Path, root: Path) -> None:
    set_payloads(folder, f"open({str(root / CANARY)!r}, 'w').write('x')".encode())
    set_profile(folder, "decoder: m40_envelope_v1", "decoder: builtins:exec")


def _non_utf8_name(folder: Path, root: Path) -> None:
    with open(os.fsencode(folder) + b"/notes-\xff\xfe.txt", "wb") as fh:
        fh.write(b"a file whose name is not UTF-8")


def _nul_in_emg(folder: Path, root: Path) -> None:
    data = (folder / "emg.csv").read_bytes()
    (folder / "emg.csv").write_bytes(data[:200] + b"\x00\x00" + data[200:])


def _fifo_emg(folder: Path, root: Path) -> None:
    (folder / "emg.csv").unlink()
    os.mkfifo(folder / "emg.csv")


def _deep_yaml(folder: Path, root: Path) -> None:
    (folder / "session.yaml").write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")


def _recursive_alias(folder: Path, root: Path) -> None:
    (folder / "session.yaml").write_text("a: &a [1, *a]\n" + (folder / "session.yaml").read_text())


def _huge_session_yaml(folder: Path, root: Path) -> None:
    with (folder / "session.yaml").open("a") as fh:
        fh.write("# " + "x" * (50 << 20) + "\n")


def _symlink_loop(folder: Path, root: Path) -> None:
    os.symlink("..", folder / "keypoints" / "loop")


def _keypoints_link(folder: Path, root: Path) -> None:
    shutil.rmtree(folder / "keypoints")
    os.symlink(root / "good1" / "keypoints", folder / "keypoints")


def _session_yaml_link(folder: Path, root: Path) -> None:
    (folder / "session.yaml").unlink()
    os.symlink(root / "good1" / "session.yaml", folder / "session.yaml")


def _truth_outside(folder: Path, root: Path) -> None:
    secret = root.parent / "secret.csv"
    secret.write_text("TOP-SECRET-FIRST-LINE\n")
    edit_meta(folder, truth={"file": str(secret), "description": "x"})


def _nan_scores(folder: Path, root: Path) -> None:
    edit_frames(folder, 5, lambda flat: flat.__setitem__(slice(2, None, 3), [float("nan")] * 25))


def _nan_xy(folder: Path, root: Path) -> None:
    def change(flat):
        for k in range(0, 75, 3):
            flat[k] = float("nan") if k % 2 else float("inf")
            flat[k + 2] = 0.99

    edit_frames(folder, 5, change)


def _dead_sensor(folder: Path, root: Path) -> None:
    lines = (folder / "emg.csv").read_text().splitlines()
    (folder / "emg.csv").write_text("\n".join(line for line in lines if ",M40-02," not in line) + "\n")


SESSION_CASES = {
    # name: (damage, kept, substrings of its summary line)
    "os_system": (_os_system, False, ["profile.yaml: decoder: unknown decoder 'os:system'", "--decoder-plugin"]),
    "builtins_exec": (_builtins_exec, False, ["profile.yaml: decoder: unknown decoder 'builtins:exec'"]),
    "start_nan": (
        lambda f, r: edit_meta(f, keypoints__start_host_time=float("nan")),
        False,
        ["session.yaml: keypoints.start_host_time: Input should be a finite number"],
    ),
    "fps_inf": (
        lambda f, r: edit_meta(f, keypoints__fps=float("inf")),
        False,
        ["session.yaml: keypoints.fps: Input should be a finite number"],
    ),
    "fps_tiny": (
        lambda f, r: edit_meta(f, keypoints__fps=1e-300),
        False,
        ["session.yaml: keypoints.fps: Input should be greater than or equal to 0.1", "1e-300"],
    ),
    "width_huge": (
        lambda f, r: edit_meta(f, keypoints__width=10**12),
        False,
        ["session.yaml: keypoints.width: Input should be less than or equal to 100000"],
    ),
    "rate_tiny": (
        lambda f, r: set_profile(f, "rate_hz: 10", "rate_hz: 1e-300"),
        False,
        ["profile.yaml: rate_hz: Input should be greater than or equal to 0.1"],
    ),
    "scale_edited": (
        lambda f, r: set_profile(f, "scale: 1.0", "scale: 1000", rehash=False),
        False,
        ["profile.yaml: edited after recording", "recorder.profile_sha256"],
    ),
    "scale_zero": (
        lambda f, r: set_profile(f, "scale: 1.0", "scale: 0"),
        False,
        ["profile.yaml: scale: scale must be between 1e-09 and 1e+09 in size (found 0)"],
    ),
    "utf16_yaml": (
        lambda f, r: (f / "session.yaml").write_bytes((f / "session.yaml").read_text().encode("utf-16")),
        False,
        ["session.yaml: wrong text encoding (expected UTF-8 without a byte order mark, found 'UTF-16')"],
    ),
    "latin1_yaml": (
        lambda f, r: (f / "session.yaml").write_bytes(
            (f / "session.yaml").read_bytes().replace(b"subject01", b"subj\xe9ct01")
        ),
        False,
        ["session.yaml: not UTF-8 text (byte b'\\xe9' at offset"],
    ),
    "bomb_yaml": (
        lambda f, r: bomb(f, "session.yaml"),
        False,
        ["session.yaml: too many nodes once aliases are expanded: limit 100000 hit"],
    ),
    "bomb_profile": (
        lambda f, r: bomb(f, "profile.yaml"),
        False,
        ["profile.yaml: too many nodes once aliases are expanded: limit 100000 hit"],
    ),
    "recursive_alias": (_recursive_alias, False, ["session.yaml: not valid YAML: a recursive alias"]),
    "deep_yaml": (_deep_yaml, False, ["session.yaml: not valid YAML: nested too deeply (depth limit 100 hit)"]),
    "huge_yaml": (
        _huge_session_yaml,
        False,
        ["session.yaml: too large to read: size limit 1.0 MiB hit (found '50.0 MiB')"],
    ),
    "nul_in_emg": (
        _nul_in_emg,
        False,
        ["emg.csv: holds a NUL byte at offset 200 (expected UTF-8 text, found 'a NUL byte')"],
    ),
    "fifo_emg": (_fifo_emg, False, ["emg.csv: not a regular file"]),
    "non_utf8_name": (_non_utf8_name, True, []),
    "symlink_loop": (_symlink_loop, False, ["a symlink inside the session folder", "found 'keypoints/loop'"]),
    "self_link": (
        lambda f, r: os.symlink("self", f / "self"),
        False,
        ["a symlink inside the session folder", "found 'self'"],
    ),
    "keypoints_link": (_keypoints_link, False, ["a symlink inside the session folder", "found 'keypoints'"]),
    "session_yaml_link": (_session_yaml_link, False, ["a symlink inside the session folder", "found 'session.yaml'"]),
    "keypoints_up": (
        lambda f, r: edit_meta(f, keypoints__dir="../good1/keypoints"),
        False,
        ["session.yaml: keypoints.dir: path leaves the session folder", "'../good1/keypoints'"],
    ),
    "keypoints_absolute": (
        lambda f, r: edit_meta(f, keypoints__dir=str(r / "good1" / "keypoints")),
        False,
        ["session.yaml: keypoints.dir: path leaves the session folder"],
    ),
    "truth_outside": (
        _truth_outside,
        False,
        ["session.yaml: truth.file: path leaves the session folder", "secret.csv"],
    ),
    "nan_scores": (_nan_scores, True, []),
    "nan_xy": (_nan_xy, True, []),
    "dead_sensor": (_dead_sensor, True, ["no EMG from sensor M40-02: LeftQuad left missing (NaN)"]),
    "plugin_ok": (lambda f, r: set_profile(f, "decoder: m40_envelope_v1", "decoder: testplugin_m40"), True, []),
    "plugin_broken": (
        lambda f, r: set_profile(f, "decoder: m40_envelope_v1", "decoder: testplugin_broken"),
        False,
        [
            "profile.yaml: decoder: decoder 'testplugin_broken' failed on "
            "a packet of sensor M40-01 (RuntimeError: this plugin is broken)"
        ],
    ),
}


@pytest.fixture(scope="module")
def batch(template, plugin_dir, tmp_path_factory):
    """Two good sessions and every bad one, built by one real ``build-dataset`` run."""
    work = tmp_path_factory.mktemp("batch")
    root = work / "sessions"
    for name in ("good1", "good2"):
        copy_session(template, root / name)
    for name, (damage, _, _) in SESSION_CASES.items():
        damage(copy_session(template, root / name), root)
    proc = run_cli("build-dataset", "sessions", "--out", "ds.zarr", cwd=work, extra_path=(plugin_dir,), timeout=600)
    return work, proc


@pytest.mark.parametrize("case", sorted(SESSION_CASES))
def test_a_bad_session_is_its_own_one_line_reason(batch, case):
    import xarray as xr

    work, proc = batch
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_no_traceback(proc)
    assert not list(work.rglob(CANARY)) and not (work / "sessions" / CANARY).exists()
    _, kept, expected = SESSION_CASES[case]
    rows = [line for line in proc.stdout.splitlines() if line.startswith(f"│ {case} ")]
    assert len(rows) == 1, proc.stdout[-3000:]
    row = rows[0]
    assert ("kept" in row) == kept, row
    for text in expected:
        assert text in row, row
    if not kept:
        assert "Traceback" not in row and "TOP-SECRET" not in row
    ds = xr.open_zarr(work / "ds.zarr")
    segments = set(ds["segment"].values.tolist())
    assert {"good1", "good2"} <= segments
    assert (case in segments) == kept
    if kept:  # no keypoint that is not finite counts as seen
        score, xy = ds["keypoint_score"].values, ds["keypoints"].values
        assert not (score[~np.isfinite(xy).all(axis=-1)] > 0).any() and np.isfinite(score).all()


def test_changing_what_a_session_reads_changes_its_hash(template, tmp_path):
    """Everything a session reads is in its input hash: edit a keypoint file, the hash moves."""
    from miakit.pipeline import session_sha256

    folder = copy_session(template, tmp_path / "s")
    before = session_sha256(folder)
    frame = sorted((folder / "keypoints").glob("*.json"))[5]
    frame.write_text(frame.read_text().replace("0.9", "0.8", 1))
    assert session_sha256(folder) != before


# -- whole commands -----------------------------------------------------------------------------


def test_all_sessions_bad_is_exit_2(template, tmp_path):
    copy_session(template, tmp_path / "sessions" / "a")
    edit_meta(tmp_path / "sessions" / "a", keypoints__fps=float("inf"))
    proc = run_cli("build-dataset", "sessions", "--out", "ds.zarr", cwd=tmp_path)
    assert_one_error_line(proc, "no session passed the checks; first reason:", "keypoints.fps")


def test_a_decoder_import_path_runs_only_when_the_user_allows_it(template, tmp_path, plugin_dir):
    folder = copy_session(template, tmp_path / "sessions" / "mine")
    set_profile(folder, "decoder: m40_envelope_v1", "decoder: miakit_testplugin:decode")
    refused = run_cli("build-dataset", "sessions", "--out", "ds.zarr", cwd=tmp_path, extra_path=(plugin_dir,))
    assert_one_error_line(refused, "unknown decoder 'miakit_testplugin:decode'")
    allowed = run_cli(
        "build-dataset",
        "sessions",
        "--out",
        "ds.zarr",
        "--decoder-plugin",
        "miakit_testplugin:decode",
        cwd=tmp_path,
        extra_path=(plugin_dir,),
    )
    assert allowed.returncode == 0 and "1 of 1 sessions kept" in allowed.stdout, allowed.stderr[-2000:]
    bad_flag = run_cli("build-dataset", "sessions", "--out", "ds.zarr", "--decoder-plugin", "no-colon", cwd=tmp_path)
    assert bad_flag.returncode == 2 and "expected package.module:function" in bad_flag.stderr
    assert_no_traceback(bad_flag)


def test_pipeline_and_catalog_bombs(template, tmp_path):
    copy_session(template, tmp_path / "sessions" / "a")
    (tmp_path / "bomb.yaml").write_text(BILLION_LAUGHS)
    proc = run_cli("build-dataset", "sessions", "--out", "ds.zarr", "--pipeline", "bomb.yaml", cwd=tmp_path)
    assert_one_error_line(proc, "bomb.yaml: too many nodes once aliases are expanded")
    (tmp_path / "catalog.yaml").write_text(BILLION_LAUGHS)
    proc = run_cli("info", "ds", "--catalog", "catalog.yaml", cwd=tmp_path)
    assert_one_error_line(proc, "catalog.yaml: too many nodes once aliases are expanded")
    (tmp_path / "catalog.yaml").write_bytes(b"sources: {\xff}\n")
    proc = run_cli("info", "ds", "--catalog", "catalog.yaml", cwd=tmp_path)
    assert_one_error_line(proc, "catalog.yaml: not UTF-8 text")


def test_a_folder_named_mia_is_not_the_pipeline_and_shadowing_says_so(template, tmp_path):
    copy_session(template, tmp_path / "sessions" / "a")
    (tmp_path / "mia").mkdir()  # a user's folder that happens to share the pipeline's name
    proc = run_cli("build-dataset", "sessions", "--out", "ds.zarr", cwd=tmp_path)
    assert proc.returncode == 0 and "1 of 1 sessions kept" in proc.stdout, proc.stderr[-2000:]
    (tmp_path / "pipelines").mkdir()
    shutil.copy(REPO / "pipelines" / "mia.yaml", tmp_path / "pipelines" / "mia.yaml")
    proc = run_cli("build-dataset", "sessions", "--out", "ds2.zarr", cwd=tmp_path)
    assert proc.returncode == 0
    assert f"note: pipeline 'mia' is {tmp_path / 'pipelines' / 'mia.yaml'}, which shadows miakit's own" in proc.stderr


def test_plot_and_render_on_a_session_whose_decoder_fails(template, tmp_path, plugin_dir):
    folder = copy_session(template, tmp_path / "s")
    set_payloads(folder, f"touch {tmp_path / CANARY}".encode())
    set_profile(folder, "decoder: m40_envelope_v1", "decoder: os:system")
    broken = copy_session(template, tmp_path / "b")
    set_profile(broken, "decoder: m40_envelope_v1", "decoder: testplugin_broken")
    for session, expected in (
        ("s", "profile.yaml: decoder: unknown decoder 'os:system'"),
        ("b", "decoder 'testplugin_broken' failed"),
    ):
        for args in (("plot", "session-emg", session, "--out", "p.png"), ("render", session, "--out", "r.mp4")):
            proc = run_cli(*args, cwd=tmp_path, extra_path=(plugin_dir,))
            assert_one_error_line(proc, expected)
    assert not (tmp_path / CANARY).exists() and not (tmp_path / "p.png").exists() and not (tmp_path / "r.mp4").exists()


def test_checkpoints_torch_refuses(tmp_path):
    import cv2

    writer = cv2.VideoWriter(str(tmp_path / "video.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 30, (64, 96))
    for i in range(10):
        writer.write(np.full((96, 64, 3), 40 + i, np.uint8))
    writer.release()
    for name, content in (("not.pt", b"PK\x03\x04 this is not a checkpoint" * 10), ("pickle.pt", b"\x80\x04K\x01.")):
        (tmp_path / name).write_bytes(content)
        proc = run_cli("predict", "video.mp4", "--checkpoint", name, "--out", "p", cwd=tmp_path)
        assert_one_error_line(proc, f"{name}: not a miakit checkpoint")


def test_resume_onto_a_last_pt_torch_refuses(batch, tmp_path):
    work, _ = batch
    run = tmp_path / "run"  # a run folder of an older miakit (no mark): last.pt and history.csv
    run.mkdir()
    (run / "last.pt").write_bytes(b"\x80\x04 not a checkpoint")
    (run / "history.csv").write_text("step,lr,train_loss,val_rmse\n")
    proc = run_cli(
        "train",
        "--dataset",
        str(work / "ds.zarr"),
        "--out",
        str(run),
        "--resume",
        "--set",
        "max_steps=2",
        cwd=tmp_path,
    )
    assert_one_error_line(proc, "last.pt: cannot resume: not a miakit checkpoint of this run")


def test_emulate_source_binary_file(tmp_path):
    (tmp_path / "bin.dat").write_bytes(bytes(range(256)) * 8)
    proc = run_cli(
        "record",
        "--recorder",
        "m40",
        "--out",
        "rec",
        "--emulate",
        "--emulate-source",
        "bin.dat",
        "--duration",
        "1",
        cwd=tmp_path,
    )
    assert_one_error_line(proc, "bin.dat: not a table of numbers", "expected a UCI EMG text file")


def test_a_npy_header_claiming_more_than_the_file_holds(tmp_path):
    """A MIA-release .npy whose header claims 3e10 frames is refused from its header and size,
    before anything is allocated."""
    from miakit.errors import InputError
    from miakit.importers.mia_release import _load

    header = {"descr": "<f8", "fortran_order": False, "shape": (30_000_000_000, 8)}
    path = tmp_path / "emgvalues.npy"
    with path.open("wb") as fh:
        np.lib.format.write_array_header_1_0(fh, header)
        fh.write(b"\0" * 64)
    with pytest.raises(
        InputError, match=r"emgvalues\.npy: not a readable \.npy \(its header claims shape \(30000000000, 8\)"
    ):
        _load(path, {})


# -- random bytes in every file -----------------------------------------------------------------


def _case_files(template: Path) -> list[str]:
    frames = sorted(p.name for p in (template / "keypoints").iterdir())
    return [
        "session.yaml",
        "profile.yaml",
        "emg.csv",
        "events.csv",
        f"keypoints/{frames[0]}",
        f"keypoints/{frames[40]}",
    ]


@pytest.fixture(scope="module")
def fuzz_root(template, tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def test_random_bytes_in_any_file_give_a_session_or_one_line(template, fuzz_root):
    """Property: random bytes written into any file of a session folder (replacing it, or spliced
    into it) give a built session or a one-line reason naming a file of the session: never an
    exception, never a reason that says a check was missing, never a hang (bounded per case)."""
    import signal

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from miakit.pipeline import load_pipeline, process_session

    spec = load_pipeline("mia")
    files = _case_files(template)
    counter = iter(range(10**6))

    tokens = st.text(alphabet="0123456789.-e:, \n[]{}&*!nainf", max_size=40).map(str.encode)  # gets past UTF-8 checks

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(
        name=st.sampled_from(files),
        data=st.one_of(st.binary(max_size=300), tokens),
        where=st.floats(0, 1),
        replace=st.booleans(),
    )
    def check(name, data, where, replace):
        folder = copy_session(template, fuzz_root / f"case{next(counter)}")
        path = folder / name
        old = path.read_bytes()
        cut = int(where * len(old))
        path.write_bytes(data if replace else old[:cut] + data + old[cut + len(data) :])

        def hang(*_):
            raise TimeoutError(f"{name}: more than 30 s")

        previous = signal.signal(signal.SIGALRM, hang)
        signal.alarm(30)
        try:
            result = process_session(folder, spec)
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
        reason = result.report.reason
        assert "\n" not in reason
        if reason:
            assert not result.segments
            assert "could not be processed" not in reason, reason  # every failure is one a check names
            assert str(folder) in reason or folder.name in reason, reason
        shutil.rmtree(folder)

    check()


def test_the_session_contract_states_its_limits():
    from miakit.contracts import session

    assert session.MAX_META_BYTES == 1 << 20 and session.LIMITS["fps"] == (0.1, 10_000.0)
    assert "MAX_META_BYTES" in textwrap.dedent(session.__doc__)


def test_a_changed_keypoint_file_makes_the_build_not_up_to_date(template, tmp_path):
    folder = copy_session(template, tmp_path / "sessions" / "a")
    first = run_cli("build-dataset", "sessions", "--out", "ds.zarr", cwd=tmp_path)
    again = run_cli("build-dataset", "sessions", "--out", "ds.zarr", cwd=tmp_path)
    assert first.returncode == 0 and "up to date" in again.stdout
    frame = sorted((folder / "keypoints").glob("*.json"))[5]
    frame.write_text(frame.read_text().replace("0.9", "0.8", 1))
    changed = run_cli("build-dataset", "sessions", "--out", "ds.zarr", cwd=tmp_path)
    assert changed.returncode == 0 and "up to date" not in changed.stdout and "1 of 1 sessions kept" in changed.stdout


def test_a_recorders_folder_shadowing_a_built_in_profile_says_so(tmp_path, monkeypatch, capsys):
    from miakit.devices.profiles import load_profile

    (tmp_path / "recorders").mkdir()
    shutil.copy(REPO / "recorders" / "m40.yaml", tmp_path / "recorders" / "m40.yaml")
    monkeypatch.chdir(tmp_path)
    profile = load_profile("m40")
    assert Path(profile.path) == tmp_path / "recorders" / "m40.yaml"
    err = capsys.readouterr().err
    assert f"note: device profile 'm40' is {tmp_path / 'recorders' / 'm40.yaml'}, which shadows miakit's own" in err


def test_a_profile_found_by_name_may_not_name_an_import_path_but_one_given_by_path_may(tmp_path, monkeypatch):
    from miakit.devices.profiles import load_profile
    from miakit.errors import ProfileError

    text = (
        (REPO / "recorders" / "m40.yaml")
        .read_text()
        .replace("decoder: m40_envelope_v1", "decoder: miakit.devices.decoders:m40_envelope_v1")
    )
    (tmp_path / "recorders").mkdir()
    (tmp_path / "recorders" / "mine.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        ProfileError, match="unknown decoder 'miakit.devices.decoders:m40_envelope_v1': an import path runs only"
    ):
        load_profile("mine")
    profile = load_profile(str(tmp_path / "recorders" / "mine.yaml"))  # the user pointed at this file
    assert profile.decode(b"\x01\x00\x10\x00").values[0, 0] == 16.0
