"""Sample data: the public recordings that the tests and the README use, fetched once into a cache.

As movement and other ecosystem tools do it (pooch): a registry of every file's SHA-256 and the
public original it comes from (its URL, licence and the citation its authors ask for). ``fetch``
downloads a file once into the cache (``MIAKIT_SAMPLE_DATA_DIR``, default the user's cache folder)
and checks its hash there; a changed file is refused in one line, never used.

Where the files come from (the *base*), first that applies:

1. ``MIAKIT_SAMPLE_DATA_URL``: a mirror holding the same tree (``https://...`` or ``file:///...``);
2. ``../shared/data`` beside the repository (a lab's or CI's copy; machines without network);
3. the public originals (each file's URL below; the UCI trials come out of the data set's archive).

Whichever base, the same code runs: pooch fetches into the cache and checks the same hashes.
``miakit sample-data list`` shows the table; ``miakit sample-data fetch`` fetches.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from miakit.errors import InputError
from miakit.progress import track

# Where a clone keeps a copy of the originals (the repository's parent folder, shared/data).
SHARED_COPY = Path(__file__).resolve().parents[2] / "shared" / "data"
ENV_URL = "MIAKIT_SAMPLE_DATA_URL"
ENV_DIR = "MIAKIT_SAMPLE_DATA_DIR"


class SampleDataChanged(InputError):
    """A fetched file's SHA-256 is not the registry's: miakit refuses to use it."""


@dataclass(frozen=True)
class Origin:
    """Where one group of files comes from: ``url(name)`` is a file's public original."""

    prefix: str  # the registry names this origin covers
    what: str
    licence: str
    citation: str
    base: str  # the URL that the name (after prefix) or the mapping below is appended to
    paths: dict[str, str] | None = None  # name after prefix -> path at base, where the names differ
    only: tuple[str, ...] = ()  # where set, the origin covers these names (after prefix) only

    def url(self, name: str) -> str:
        rest = name[len(self.prefix) :]
        return self.base + (self.paths or {}).get(rest, rest)


_GH = "https://raw.githubusercontent.com/"
_OPENSIM = _GH + "opensim-org/opensim-core/0435b08/"  # commit 0435b08, as ../shared/data/README.md names it
_KTK = _GH + "kineticstoolkit/kineticstoolkit/169a99d/data/"  # commit 169a99d, as ../shared/data/README.md names it
# The UCI repository serves the data set as one archive; each trial is a member of it. Best
# reconstruction: the member is found by its subject, kind and action (sub1 or sub01, any top folder).
UCI_ARCHIVE = "https://archive.ics.uci.edu/static/public/213/emg+physical+action+data+set.zip"

ORIGINS: tuple[Origin, ...] = (
    Origin(
        "video/pose2sim-single-cam",
        "Pose2Sim demo, one person, two cameras",
        "BSD-3-Clause",
        "Pagnon D, Domalain M, Reveret L. Pose2Sim. J Open Source Softw 2022;7(77):4362.",
        # Best reconstruction: copied from the wheel pose2sim==0.10.49; the same file in the repository.
        _GH + "perfanalytics/pose2sim/main/Pose2Sim/Demo_SinglePerson/videos/cam",
    ),
    Origin(
        "video/mmhuman3d-single-person.mp4",
        "MMHuman3D demo video, one person dribbling",
        "Apache-2.0",
        "MMHuman3D Contributors. OpenMMLab 3D Human Parametric Model Toolbox and Benchmark, 2021.",
        _GH + "open-mmlab/mmhuman3d/main/demo/resources/single_person_demo.mp4",
    ),
    Origin(
        "emg/uci-physical-action/",
        "UCI EMG Physical Action Data Set, subjects 1-3",
        "CC BY 4.0",
        "Theodoridis T. EMG Physical Action Data Set. UCI Machine Learning Repository, 2011. doi:10.24432/C53W49",
        UCI_ARCHIVE + "#",
    ),
    Origin(
        "mocap/gaitalytics-walk.c3d",
        "python-gaitalytics test trial, Plug-in Gait walk with leg EMG",
        "MIT",
        "DART-Lab-LLUI. python-gaitalytics. https://github.com/DART-Lab-LLUI/python-gaitalytics",
        # Best reconstruction: the default branch (no commit recorded).
        _GH + "DART-Lab-LLUI/python-gaitalytics/main/tests/full/data/test_small.c3d",
    ),
    Origin(
        "mocap/pyomeca-box-lift.c3d",
        "pyomeca test trial, box lift with arm EMG",
        "Apache-2.0",
        "Martinez R, Michaud B, Begon M. pyomeca: An Open-Source Framework for Biomechanical Analysis. "
        "J Open Source Softw 2020;5(53):2431.",
        # Best reconstruction: the default branch (no commit recorded).
        _GH + "pyomeca/pyomeca/master/tests/data/markers_analogs.c3d",
    ),
    Origin(
        "mocap/opensim-walk-",
        "OpenSim Moco example3DWalking: markers and EMG",
        "Apache-2.0",
        "Seth A, et al. OpenSim: Simulating musculoskeletal dynamics and neuromuscular control to study "
        "human and animal movement. PLoS Comput Biol 2018;14(7):e1006223.",
        _OPENSIM + "OpenSim/Examples/Moco/example3DWalking/",
        {"markers.trc": "markers_walk.trc", "emg.sto": "electromyography.sto"},
    ),
    Origin(
        "mocap/variety/",
        "Kinetics Toolkit's data: motion of other kinds (tennis serve, wheelchair sprint), no EMG",
        "Apache-2.0",
        "Chenier F. Kinetics Toolkit: An Open-Source Python Package to Facilitate Research in Biomechanics. "
        "J Open Source Softw 2021;6(66):3714.",
        _KTK,
        {
            "vicon-tennis-serve-full-body.c3d": "kinematics_tennis_serve.c3d",
            "qualisys-isb-anatomical.c3d": "c3d_test_suite/ezc3d/Qualisys.c3d",
            "wheelchair-basketball-sprint-left-arm.c3d": "kinematics_basket_sprint.c3d",
        },
        only=(
            "vicon-tennis-serve-full-body.c3d",
            "qualisys-isb-anatomical.c3d",
            "wheelchair-basketball-sprint-left-arm.c3d",
        ),
    ),
    Origin(
        "mocap/variety/",
        "c3d.org sample files (marker sets of other systems), as copied in pyc3dserver_examples",
        "MIT (repository); c3d.org public samples",
        "C3D.ORG sample files, https://www.c3d.org/sampledata.html; mkjung99/pyc3dserver_examples.",
        _GH + "mkjung99/pyc3dserver_examples/master/Samples_C3D/",
        {
            "codamotion-gait-wands.c3d": "Sample00/Codamotion/codamotion_gaitwands_20150204.c3d",
            "vicon-subject-prefixed-kad.c3d": "Sample04/sub_labels.c3d",
            "qualisys-walking-clusters.c3d": "Sample26/Walking_Hybrid_1_1.c3d",  # its size, 317,952 bytes
            "kyowa-dengyo-11-markers.c3d": "Sample27/kyowadengyo.c3d",  # its size, 31,232 bytes
            # Best reconstruction: Sample00 holds it, under a name not recorded (the hash refuses a wrong file).
            "vicon-cgm24-walking01.c3d": "Sample00/Vicon/Walking01.c3d",
        },
    ),
    Origin(
        "models/",
        "OpenSim musculoskeletal models (no geometry files)",
        "Apache-2.0",
        "Seth A, et al. OpenSim. PLoS Comput Biol 2018;14(7):e1006223; Rajagopal A, et al. IEEE Trans "
        "Biomed Eng 2016;63(10):2068-79 (subject_walk_scaled).",
        _OPENSIM,
        {
            "subject_walk_scaled.osim": "OpenSim/Examples/Moco/example3DWalking/subject_walk_scaled.osim",
            "subject01_gait2392_scaled.osim": "Bindings/Java/Matlab/examples/testData/Subject01/"
            "subject01_gait2392_scaled.osim",
            "arm26.osim": "Applications/CMC/tests/resources/arm26.osim",
        },
    ),
)

# name -> SHA-256 of the file as the tests use it: pooch's registry format, one "name sha256:digest" a line.
REGISTRY_FILE = Path(__file__).with_name("sample_data_registry.txt")


def _read_registry() -> dict[str, str]:
    out = {}
    for line in REGISTRY_FILE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, digest = line.split()
            out[name] = digest.removeprefix("sha256:")
    return out


REGISTRY: dict[str, str] = _read_registry()


def origin(name: str) -> Origin:
    """The origin that covers a registry name."""
    for o in ORIGINS:
        if name.startswith(o.prefix) and (not o.only or name[len(o.prefix) :] in o.only):
            return o
    raise InputError(name, "not a sample-data file (miakit sample-data list shows them)")


def public_url(name: str) -> str:
    """The file's public original (an archive member is ``ARCHIVE#member``)."""
    return origin(name).url(name)


def base_url() -> str | None:
    """The base the files come from: MIAKIT_SAMPLE_DATA_URL, else ../shared/data, else None (the
    public originals)."""
    env = os.environ.get(ENV_URL)
    if env:
        return env if env.endswith("/") else env + "/"
    if SHARED_COPY.is_dir():
        return SHARED_COPY.as_uri() + "/"
    return None


def cache_dir() -> Path:
    """Where fetched files are kept (MIAKIT_SAMPLE_DATA_DIR, else the user's cache folder)."""
    import pooch

    return Path(os.environ.get(ENV_DIR) or pooch.os_cache("miakit") / "sample-data")


def _registry(base: str | None):
    import pooch

    pooch.get_logger().setLevel("WARNING")  # one line per copied file is noise; errors still show
    return pooch.create(
        path=cache_dir(),
        base_url=base or "",
        registry={name: f"sha256:{digest}" for name, digest in REGISTRY.items()},
        urls=None if base else {name: public_url(name) for name in REGISTRY},
        retry_if_failed=1,
    )


def _download(url: str, output_file: str, pup) -> None:
    """pooch's downloader, plus ``file://`` (a local mirror) and ``ARCHIVE#member`` (a file inside a
    zip archive that is itself fetched once into the cache)."""
    from urllib.parse import unquote, urlparse

    import pooch

    if "#" in url:
        archive_url, member = url.split("#", 1)
        archive = pooch.retrieve(archive_url, known_hash=None, path=cache_dir() / "archives", downloader=_download)
        _extract(Path(archive), member, Path(output_file))
        return
    if url.startswith("file://"):
        shutil.copyfile(unquote(urlparse(url).path), output_file)
        return
    pooch.HTTPDownloader()(url, output_file, pup)


def _extract(archive: Path, member: str, out: Path) -> None:
    """Copy one member of a zip archive: ``subNN/Kind/txt/Action.txt`` matches ``sub1`` or ``sub01``
    under any top folder; other names match by their last part."""
    import zipfile

    parts = member.split("/")
    subject = re.fullmatch(r"sub0*(\d+)", parts[0]) if len(parts) > 1 else None
    with zipfile.ZipFile(archive) as z:
        for info in z.infolist():
            got = info.filename.rstrip("/").split("/")
            if subject:
                n = len(parts) - 1
                ok = (
                    len(got) > n
                    and got[-n:] == parts[1:]
                    and re.fullmatch(rf"sub0*{subject.group(1)}", got[-n - 1]) is not None
                )
            else:
                ok = got[-1].lower() == parts[-1].lower()
            if ok:
                with z.open(info) as src, out.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
                return
    raise InputError(archive, f"no member {member} in the archive (has the data set changed?)")


def fetch(name: str, *, base: str | None = None) -> Path:
    """One file, fetched into the cache once and checked against its SHA-256; its path."""
    if name not in REGISTRY:
        raise InputError(name, "not a sample-data file (miakit sample-data list shows them)")
    pup = _registry(base if base is not None else base_url())
    url = pup.get_url(name)
    try:
        return Path(pup.fetch(name, downloader=_download))
    except ValueError as exc:
        if "hash" not in str(exc):
            raise
        found = re.search(r"but got ([0-9a-f]{64})", str(exc))
        raise SampleDataChanged(
            url,
            f"SHA-256 is {found.group(1) if found else 'different'}, not the registry's {REGISTRY[name]}: "
            "the file changed, so miakit does not use it",
        ) from None
    except OSError as exc:
        raise InputError(
            url,
            f"could not fetch {name} ({exc.strerror or type(exc).__name__}); with no network, point "
            f"{ENV_URL} at a copy (file:///path/to/data/)",
        ) from None
    except Exception as exc:  # requests' errors (no network, 404) without importing requests here
        if type(exc).__module__.split(".")[0] not in ("requests", "urllib3"):
            raise
        raise InputError(
            url,
            f"could not fetch {name} ({type(exc).__name__}); with no network, point "
            f"{ENV_URL} at a copy (file:///path/to/data/)",
        ) from None


def fetch_all(names: list[str] | None = None, *, base: str | None = None, progress: bool = False) -> Path:
    """Every file (or those whose names start with one of ``names``); the cache folder, which holds
    them under their registry names (``root / "mocap/gaitalytics-walk.c3d"``)."""

    chosen = select(names)
    for name in track(chosen, "sample data", enabled=progress):
        fetch(name, base=base)
    return cache_dir()


def select(names: list[str] | None) -> list[str]:
    """The registry names that start with one of ``names`` (all where None); a name that matches
    nothing is an error."""
    if not names:
        return list(REGISTRY)
    chosen = []
    for want in names:
        hits = [n for n in REGISTRY if n == want or n.startswith(want.rstrip("/") + "/") or n.startswith(want)]
        if not hits:
            raise InputError(want, "not a sample-data file or folder (miakit sample-data list shows them)")
        chosen += [h for h in hits if h not in chosen]
    return chosen
