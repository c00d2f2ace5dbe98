"""Digests of what miakit makes, to check that a change of structure changed no output.

Runs a fixed chain through the real CLI in a scratch folder (a synthetic build with video, an
EMG-only build, the C3D, OpenSim and UCI imports of the shared data, a short training of the miakit
model and a prediction on a real video) and writes one line per output file: its path and a SHA-256
of its content. Before hashing, what says *when* or *where* a file was made is taken out: ISO
date-times and absolute paths of the scratch folder and the shared data inside JSON (also JSON held in a string, as a
store's provenance), and the files that only log a run (``*.log``, ``.miakit-output.json``, the run
lock). A checkpoint is hashed by its tensors and its other entries, not by its pickle's bytes.

    python benchmarks/snapshot.py --out /tmp/before.txt              # on the old tree
    python benchmarks/snapshot.py --out /tmp/after.txt               # on the new tree
    python benchmarks/snapshot.py --compare /tmp/before.txt /tmp/after.txt

The chain takes about 3 minutes on 2 cores. Needs ``../shared/data`` (the shared recordings).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)?")
SKIP = re.compile(r"(\.log$|\.miakit-output\.json$|\.lock$|^catalog\.yaml$)")
# Keys whose values measure the run itself (how long it took, on how many threads), never its result.
VOLATILE_KEYS = {"built_at", "elapsed_s", "cpu_s", "wall_s", "seconds", "threads", "host", "hostname", "pid"}


def chain(work: Path) -> None:
    """The commands whose outputs are hashed, run in ``work`` with the catalog kept there."""
    env = dict(os.environ, MIAKIT_CATALOG=str(work / "catalog.yaml"), OMP_NUM_THREADS="1", PYTHONHASHSEED="0")
    mocap, video = DATA / "mocap", DATA / "video"
    steps = [
        ["synth", "--out", "s", "--subjects", "2", "--duration", "12", "--exercise", "squat", "--exercise",
         "running", "--video", "first", "--views", "2"],
        ["build-dataset", "s", "--out", "d.zarr"],
        ["synth", "--out", "e", "--subjects", "1", "--duration", "8", "--exercise", "walking", "--video", "none"],
        ["build-dataset", "e", "--out", "emg-only.zarr", "--pipeline", "emg-only"],
        ["import", "c3d", str(mocap / "gaitalytics-walk.c3d"), "--out", "c3d.zarr"],
        ["import", "trc", str(mocap / "opensim-walk-markers.trc"), "--emg", str(mocap / "opensim-walk-emg.sto"),
         "--out", "trc.zarr"],
        ["import", "uci-emg", str(DATA / "emg" / "uci-physical-action"), "--out", "uci.zarr"],
        ["train", "--dataset", "d.zarr", "--out", "run", "--model", "miakit", "--set", "max_steps=20",
         "--set", "eval_every=10"],
        ["predict", str(video / "mmhuman3d-single-person.mp4"), "--checkpoint", "run/checkpoint.pt", "--out",
         "pred"],
    ]  # fmt: skip
    for step in steps:
        print("miakit", " ".join(step), flush=True)
        done = subprocess.run([sys.executable, "-m", "miakit", *step], cwd=work, env=env, capture_output=True,
                              text=True)  # fmt: skip
        if done.returncode:
            raise SystemExit(f"miakit {' '.join(step)} failed ({done.returncode}):\n{done.stderr[-3000:]}")


def _unplace(text: str, work: str) -> str:
    """Paths of the scratch folder and of the shared data (a worktree sees it by another path) named."""
    return text.replace(work, "<work>").replace(str(DATA), "<data>").replace(str(DATA.resolve()), "<data>")


def _clean(value, work: str):
    if isinstance(value, dict):
        return {k: _clean(v, work) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [_clean(v, work) for v in value]
    if isinstance(value, str):
        if value[:1] in "{[":
            try:
                return json.dumps(_clean(json.loads(value), work), sort_keys=True)
            except ValueError:
                pass
        return ISO_TIME.sub("<time>", _unplace(value, work))
    return value


def file_digest(path: Path, work: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".pt":
        import torch

        digest = hashlib.sha256()
        state = torch.load(path, map_location="cpu", weights_only=True)

        def feed(key: str, value) -> None:
            if isinstance(value, torch.Tensor):
                digest.update(key.encode() + value.cpu().contiguous().numpy().tobytes())
            elif isinstance(value, dict):
                for k in sorted(value, key=str):
                    if k not in VOLATILE_KEYS:
                        feed(f"{key}/{k}", value[k])
            else:
                digest.update(f"{key}={_clean(value, str(work))!r}".encode())

        feed("", state)
        return digest.hexdigest()
    if path.suffix == ".json" or path.name in (".zattrs", ".zmetadata", ".zarray", ".zgroup"):
        try:
            data = json.dumps(_clean(json.loads(data), str(work)), sort_keys=True).encode()
        except ValueError:
            pass
    elif path.suffix == ".csv" and data.split(b"\n", 1)[0].split(b",")[-2:] == [b"elapsed_s", b"cpu_s"]:
        data = b"\n".join(b",".join(row.split(b",")[:-2]) for row in data.split(b"\n"))  # a training's history
    elif path.suffix in (".yaml", ".csv", ".txt", ".md"):
        data = ISO_TIME.sub("<time>", _unplace(data.decode(errors="replace"), str(work))).encode()
    return hashlib.sha256(data).hexdigest()


def digests(work: Path) -> list[str]:
    lines = []
    for path in sorted(p for p in work.rglob("*") if p.is_file()):
        rel = path.relative_to(work).as_posix()
        if not SKIP.search(path.name):
            lines.append(f"{rel} {file_digest(path, work)}")
    return lines


def compare(before: Path, after: Path) -> int:
    old = dict(line.rsplit(" ", 1) for line in before.read_text().splitlines())
    new = dict(line.rsplit(" ", 1) for line in after.read_text().splitlines())
    changed = sorted(k for k in old.keys() & new.keys() if old[k] != new[k])
    only_before, only_after = sorted(old.keys() - new.keys()), sorted(new.keys() - old.keys())
    for name, keys in (("only before", only_before), ("only after", only_after), ("changed", changed)):
        for key in keys:
            print(f"{name}: {key}")
    same = len(old) == len(new) and not changed and old.keys() == new.keys()
    print(f"{len(old)} files before, {len(new)} after: " + ("identical" if same else "DIFFERENT"))
    return 0 if same else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="write the digests here (one line per output file)")
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it (default: a scratch folder)")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"), help="compare two digest files")
    args = parser.parse_args()
    if args.compare:
        return compare(*args.compare)
    if not args.out:
        parser.error("--out or --compare is needed")
    if not DATA.is_dir():
        parser.error(f"{DATA}: the shared recordings are needed")
    with tempfile.TemporaryDirectory(prefix="miakit-snapshot-") as scratch:
        work = args.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        chain(work.resolve())
        lines = digests(work.resolve())
    args.out.write_text("\n".join(lines) + "\n")
    print(f"{len(lines)} output files hashed -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
