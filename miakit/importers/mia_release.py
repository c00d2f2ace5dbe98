"""Import the public Muscles in Action release ("MIADatasetOfficial") as a miakit dataset.

Layout read (``../shared/reference/mia-paper.md``): one folder per 3-second clip,
``{train,val}/Subject{N}/{Exercise}/{clip_id}/``, clip ids consecutive integers within a subject
and exercise, each folder holding 30-frame ``.npy`` files. ``DIR`` is the folder holding
``train/`` and ``val/`` (or its parent, when that is named ``MIADatasetOfficial``).

What is read: only ``emgvalues.npy`` (30, 8) and ``joints2d.npy`` (30, 49, 2) of each clip, each with
``np.load(..., allow_pickle=False)`` from its bytes (read once: they are hashed for provenance as
well). ``verts.npy`` (the bulk of the release) is never opened unless ``with_verts=True``; then only
its header is read, to check that it holds a (30, 6890, 3) array and that the file is that long, and a
clip whose verts fail the check is left out like any damaged clip. The vertices are never stored
(contract 2 has no place for a mesh). Nothing is ever unpickled.

What is written (contract 2, :mod:`miakit.contracts.dataset`):

- segments: runs of consecutive clip ids within one (split, subject, exercise); consecutive clips
  are contiguous in time, so such a run is one continuous segment. A damaged clip ends a run.
  ``segment`` ``"train-Subject0-FrontKick-120"`` (the first clip id), session
  ``"train/Subject0/FrontKick"``, subject and exercise as the release names them, split ``train`` or
  ``val``, source ``"mia-release"``, image 1080 x 1920;
- ``emg``: the release's envelope in raw device units; the ``muscle`` coordinate carries the
  release's channel names (:data:`RELEASE_MUSCLES`), in the release's order;
- ``keypoints``: ``joints2d[:, :25]`` (BODY_25) in pixels; ``keypoint_score`` 1 where a point is
  finite, else 0 with the point NaN (the release has no confidences);
- ``valid``: EMG finite in every muscle and all 25 keypoints finite; ``attrs["modalities"]`` is
  ``["emg", "pose"]``;
- ``attrs["provenance"]``: pipeline ``"import-mia-release"``, a hash of the parameters, and
  ``inputs_sha256`` a SHA-256 over the relative path and the bytes of each imported clip's
  ``emgvalues.npy`` and ``joints2d.npy``, in clip order.

A damaged clip (a missing file, a truncated or pickled ``.npy``, a wrong shape) is reported with its
reason and left out; the others are imported.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from miakit.contracts.build import Segment, make_dataset
from miakit.errors import InputError
from miakit.files import check_file, read_capped
from miakit.importers.common import ImportReport, check_outputs, nothing_imported, provenance, write_and_register
from miakit.layout import IMAGE_HEIGHT, IMAGE_WIDTH, RATE_HZ
from miakit.progress import track

RELEASE_MUSCLES: tuple[str, ...] = (
    "LeftQuad",
    "LeftHamstring",
    "LeftLateral",
    "LeftBicep",
    "RightQuad",
    "RightHamstring",
    "RightLateral",
    "RightBicep",
)
"""The release's EMG channels, in the order of ``emgvalues.npy``'s columns."""

SPLITS: tuple[str, ...] = ("train", "val")
CLIP_FRAMES = 30
"""Frames per clip (3 s at 10 Hz)."""
N_JOINTS = 49
"""VIBE's joints in ``joints2d.npy``; the first 25 are BODY_25."""
VERTS_SHAPE = (CLIP_FRAMES, 6890, 3)
EMG_UNITS = "device units"
SOURCE = "mia-release"
PIPELINE = "import-mia-release"
MAX_CLIP_FILE_BYTES = 16 << 20
"""Cap on a clip's emgvalues.npy or joints2d.npy (about 2 kB and 24 kB in the release)."""
MAX_VERTS_BYTES = 64 << 20
"""Cap on a clip's verts.npy (about 5 MB in the release; only its header is read)."""


@dataclass(frozen=True)
class Clip:
    """One clip folder of the release."""

    split: str
    subject: str
    exercise: str
    clip_id: int
    path: Path
    root: Path | None = None  # the release folder: every file read must lie inside it (default: the clip's folder)


def find_clips(root: str | Path) -> list[Clip]:
    """Every clip folder under ``root``, sorted by split, subject, exercise and numeric clip id."""
    root = _release_root(Path(root))
    clips = []
    for split in SPLITS:
        for subject in sorted(p for p in (root / split).glob("*") if p.is_dir()):
            for exercise in sorted(p for p in subject.iterdir() if p.is_dir()):
                for clip in exercise.iterdir():
                    if clip.is_dir() and clip.name.isdigit():
                        clips.append(Clip(split, subject.name, exercise.name, int(clip.name), clip, root))
    if not clips:
        raise InputError(root, "no clip folders", expected="{train,val}/Subject{N}/{Exercise}/{clip_id}/", found="none")
    return sorted(clips, key=lambda c: (SPLITS.index(c.split), _natural(c.subject), c.exercise, c.clip_id))


def read_clip(
    clip: Clip, *, n_muscles: int = len(RELEASE_MUSCLES), with_verts: bool = False
) -> tuple[np.ndarray, np.ndarray, dict[str, bytes]]:
    """One clip: ``(emg (30, n_muscles) float64, joints (30, 25, 2) float64, {file name: bytes read})``.

    Raises :class:`InputError` naming the file and what is wrong with it.
    """
    raw: dict[str, bytes] = {}
    emg = _load(_inside(clip, "emgvalues.npy"), raw)
    joints = _load(_inside(clip, "joints2d.npy"), raw)
    _expect_shape(clip.path / "emgvalues.npy", emg, (CLIP_FRAMES, n_muscles))
    if joints.ndim != 3 or joints.shape[0] != CLIP_FRAMES or joints.shape[1] < 25 or joints.shape[2] != 2:
        raise InputError(
            clip.path / "joints2d.npy", "wrong shape", expected=f"({CLIP_FRAMES}, {N_JOINTS}, 2)", found=joints.shape
        )
    for name, arr in (("emgvalues.npy", emg), ("joints2d.npy", joints)):
        if arr.dtype.kind not in "fiu":
            raise InputError(clip.path / name, "not numbers", expected="a float or integer array", found=str(arr.dtype))
    if with_verts:
        _check_verts(_inside(clip, "verts.npy"))
    return emg.astype(np.float64), joints[:, :25].astype(np.float64), raw


def load_mia_release(
    root: str | Path,
    *,
    with_verts: bool = False,
    muscles: tuple[str, ...] = RELEASE_MUSCLES,
    show_progress: bool = False,
):
    """Read the release under ``root``.

    Returns ``(dataset, report)``: a contract-2 :class:`xarray.Dataset` (validated) and an
    :class:`ImportReport` (its ``store`` empty) with a row per split and subject and the skipped clips.
    """

    root = _release_root(Path(root))
    clips = find_clips(root)
    report = ImportReport(store="")
    digest = hashlib.sha256()
    segments: list[Segment] = []
    run: list[tuple[Clip, np.ndarray, np.ndarray]] = []
    rows: dict[tuple[str, str], dict] = {}
    for clip in track(clips, "MIA release clips", enabled=show_progress):
        row = rows.setdefault(
            (clip.split, clip.subject),
            {
                "split": clip.split,
                "subject": clip.subject,
                "clips": 0,
                "skipped": 0,
                "segments": 0,
                "frames": 0,
                "valid": 0,
            },
        )
        try:
            emg, joints, raw = read_clip(clip, n_muscles=len(muscles), with_verts=with_verts)
        except InputError as exc:
            report.skipped.append((str(clip.path), str(exc).removeprefix(f"{clip.path}/")))
            row["skipped"] += 1
            continue
        for name, data in raw.items():
            digest.update(
                (clip.path / name).relative_to(root).as_posix().encode() + b"\0" + hashlib.sha256(data).digest()
            )
        row["clips"] += 1
        if run and _continues(run[-1][0], clip):
            run.append((clip, emg, joints))
        else:
            if run:
                segments.append(_segment(run))
            run = [(clip, emg, joints)]
    if run:
        segments.append(_segment(run))
    for seg in segments:
        split, subject = seg.session.split("/")[:2]
        rows[(split, subject)]["segments"] += 1
        rows[(split, subject)]["frames"] += seg.length
        rows[(split, subject)]["valid"] += seg.n_valid

    if not segments:
        raise nothing_imported(root, report)
    params = {"with_verts": with_verts, "muscles": list(muscles), "clip_frames": CLIP_FRAMES, "rate_hz": RATE_HZ}
    ds = make_dataset(
        segments,
        muscles=muscles,
        emg_units=EMG_UNITS,
        modalities=["emg", "pose"],
        where=str(root),
        provenance=provenance(
            pipeline=PIPELINE,
            parameters=params,
            inputs_sha256=digest.hexdigest(),
            inputs_hashed="relative path and SHA-256 of the bytes of each imported "
            "clip's emgvalues.npy and joints2d.npy, in clip order",
        ),
        citation="Chiquier, M. and Vondrick, C. (2023). Muscles in Action. ICCV.",
    )
    report.rows = [rows[k] for k in sorted(rows, key=lambda k: (SPLITS.index(k[0]), _natural(k[1])))]
    report.n_segments = len(segments)
    report.n_frames = sum(s.length for s in segments)
    report.n_valid = sum(s.n_valid for s in segments)
    return ds, report


def import_mia_release(
    root: str | Path,
    out: str | Path,
    *,
    with_verts: bool = False,
    muscles: tuple[str, ...] = RELEASE_MUSCLES,
    catalog: str | Path | None = None,
    name: str | None = None,
    show_progress: bool = False,
) -> ImportReport:
    """Import the release under ``root`` into a new store at ``out``; register it in ``catalog`` if given."""
    check_outputs(root, out, catalog)
    ds, report = load_mia_release(root, with_verts=with_verts, muscles=muscles, show_progress=show_progress)
    write_and_register(
        ds,
        out,
        report,
        catalog=catalog,
        name=name,
        description=f"Muscles in Action public release, imported from {root}",
    )
    return report


# --------------------------------------------------------------------------------------------
# helpers


def _release_root(root: Path) -> Path:
    if not root.is_dir():
        raise InputError(root, "no such folder", expected="the MIA release (a folder holding train/ and val/)")
    if not any((root / s).is_dir() for s in SPLITS) and (root / "MIADatasetOfficial").is_dir():
        root = root / "MIADatasetOfficial"
    if not any((root / s).is_dir() for s in SPLITS):
        raise InputError(
            root,
            "not the MIA release",
            expected="a folder holding train/ and val/",
            found=sorted(p.name for p in root.iterdir())[:8],
        )
    return root


def _natural(name: str) -> tuple[str, int]:
    """Sort key: ``Subject10`` after ``Subject9``."""
    digits = name[len(name.rstrip("0123456789")) :]
    return (name[: len(name) - len(digits)], int(digits) if digits else -1)


def _inside(clip: Clip, name: str) -> Path:
    """``clip``'s file ``name``, refused without being opened where it (or a folder on its way) is a
    link that leaves the release folder: a release's files are its own, and a skip reason must never
    show another file's bytes."""
    path = clip.path / name
    root = (clip.root or clip.path).resolve()
    try:
        target = path.resolve(strict=False)
    except (OSError, RuntimeError):  # a link loop
        raise InputError(path, "a link that cannot be followed (a loop?): not opened") from None
    if not target.is_relative_to(root):
        raise InputError(path, f"a link that leaves the release folder (to {target}): not opened")
    return path


def _load(path: Path, raw: dict[str, bytes]) -> np.ndarray:
    data = read_capped(path, max_bytes=MAX_CLIP_FILE_BYTES)
    _check_npy_size(path, data)
    try:
        arr = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, EOFError, OSError) as exc:
        raise InputError(path, f"not a readable .npy ({str(exc).splitlines()[0][:100]})") from None
    raw[path.name] = data
    return arr


def _check_npy_size(path: Path, data: bytes) -> None:
    """A .npy header's shape and dtype are checked against the file's size before anything is
    allocated (a header claiming 3e10 frames must not ask for 1.75 TiB)."""
    f = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(f)
        if version not in ((1, 0), (2, 0), (3, 0)):
            raise ValueError(f"unsupported .npy format version {version}")
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read(f)
    except (ValueError, EOFError, OSError, SyntaxError, TypeError) as exc:
        raise InputError(
            path, f"not a readable .npy ({str(exc).splitlines()[0][:100] if str(exc) else exc.__class__.__name__})"
        ) from None
    if dtype.hasobject:
        raise InputError(
            path, "holds Python objects (would need unpickling)", expected="a numeric array", found=str(dtype)
        )
    need = f.tell() + int(np.prod(shape, dtype=object)) * dtype.itemsize
    if need != len(data):
        raise InputError(
            path,
            f"not a readable .npy (its header claims shape {shape} {dtype}, "
            f"{need} bytes; the file holds {len(data)}: nothing allocated)",
        )


def _expect_shape(path: Path, arr: np.ndarray, shape: tuple[int, ...]) -> None:
    if arr.shape != shape:
        raise InputError(path, "wrong shape", expected=str(shape), found=arr.shape)


def _check_verts(path: Path) -> None:
    """Check verts.npy's header and length without reading the vertices."""
    check_file(path, max_bytes=MAX_VERTS_BYTES)
    try:
        with path.open("rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"unsupported .npy format version {version}")
            header_end = f.tell()
    except FileNotFoundError:
        raise InputError(path, "missing file") from None
    except (ValueError, EOFError, OSError) as exc:
        raise InputError(path, f"not a readable .npy ({str(exc).splitlines()[0][:100]})") from None
    if dtype.hasobject:
        raise InputError(
            path, "holds Python objects (would need unpickling)", expected="a float array", found=str(dtype)
        )
    if shape != VERTS_SHAPE:
        raise InputError(path, "wrong shape", expected=str(VERTS_SHAPE), found=shape)
    size = path.stat().st_size
    if size < header_end + int(np.prod(shape)) * dtype.itemsize:
        raise InputError(
            path, "truncated", expected=f"{header_end + int(np.prod(shape)) * dtype.itemsize} bytes", found=size
        )


def _continues(prev: Clip, clip: Clip) -> bool:
    return (prev.split, prev.subject, prev.exercise) == (
        clip.split,
        clip.subject,
        clip.exercise,
    ) and clip.clip_id == prev.clip_id + 1


def _segment(run: list[tuple[Clip, np.ndarray, np.ndarray]]) -> Segment:
    first = run[0][0]
    emg = np.concatenate([e for _, e, _ in run])
    joints = np.concatenate([j for _, _, j in run])
    present = np.isfinite(joints).all(axis=2)
    joints[~present] = np.nan
    return Segment(
        id=f"{first.split}-{first.subject}-{first.exercise}-{first.clip_id}",
        session=f"{first.split}/{first.subject}/{first.exercise}",
        subject=first.subject,
        exercise=first.exercise,
        split=first.split,
        source=SOURCE,
        emg=emg,
        keypoints=joints,
        keypoint_score=present.astype(np.float32),
        valid=np.isfinite(emg).all(axis=1) & present.all(axis=1),
        image_width=IMAGE_WIDTH,
        image_height=IMAGE_HEIGHT,
    )
