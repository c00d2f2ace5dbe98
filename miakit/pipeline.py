"""Pipelines: raw session folders (contract 1) -> one built dataset (contract 2).

A pipeline is data: a YAML file under ``pipelines/`` listing named stages in order, each with its
parameters (see ``pipelines/mia.yaml``). Its content is hashed into the dataset's provenance, with
the hashes of every input file, so a build knows whether a store is already up to date.

This module holds the spec, the plan and the build; the rest lives in the files named for it:

- the stages and their parameters: :mod:`miakit.stages.session` (the algorithms: :mod:`miakit.stages`);
- one session's final state cut into segments: :mod:`miakit.segments`;
- the dataset made from the segments (attrs, provenance): :mod:`miakit.contracts.build`;
- a session folder's hash: :mod:`miakit.hashing`; part files: :mod:`miakit.parts`;
- writing, swapping in and locking the store: :mod:`miakit.store`.

Reading order of this module:
1. :class:`PipelineSpec` and :func:`load_pipeline`: the definition.
2. :func:`process_session`: one session through the stages -> segments (or a reason to leave it out).
3. :func:`plan_build` and :func:`build_dataset`: every session, then one Zarr store.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from miakit.contracts.build import Segment, make_dataset, provenance
from miakit.contracts.session import SESSION_FILE, find_sessions, read_meta
from miakit.devices.decoders import allowed_import_paths
from miakit.devices.profiles import is_path
from miakit.errors import InputError, MiakitError, PipelineError
from miakit.hashing import session_sha256
from miakit.layout import MUSCLES
from miakit.parallel import SessionPool
from miakit.parts import is_done, parts_dir_for, read_part, write_part
from miakit.progress import track
from miakit.resources import shipped_folder
from miakit.safe_yaml import load_yaml, read_capped
from miakit.segments import split_session
from miakit.stages.quality import QualityReport
from miakit.stages.session import LeftOut, configure, stage_params, stage_states, unexpected
from miakit.store import check_output, exists, filesystem, is_url, open_store, store_lock, write_dataset, write_error

if TYPE_CHECKING:
    from miakit.parallel import SessionPool

# -- 1. the definition --------------------------------------------------------------------------


class PipelineSpec(BaseModel):
    """A pipeline definition (``pipelines/NAME.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    description: str = ""
    rate_hz: float = Field(10.0, gt=0)
    chunk_frames: int = Field(2048, gt=0)
    stages: list[dict[str, dict[str, Any]]]

    path: str = Field("", exclude=True)
    sha256: str = Field("", exclude=True)

    @field_validator("stages")
    @classmethod
    def _stages(cls, stages: list[dict[str, dict[str, Any]]]) -> list[dict[str, dict[str, Any]]]:

        for i, stage in enumerate(stages):
            if not isinstance(stage, dict) or len(stage) != 1:
                raise ValueError(f"stage {i} must be a mapping of one stage name to its parameters")
            ((name, params),) = stage.items()
            if params is not None and not isinstance(params, dict):
                raise ValueError(f"parameters of stage {name!r} must be a mapping")
            stage_params(name, params)  # an unknown stage, parameter or value: refused before any work
        return [{name: dict(params or {})} for stage in stages for name, params in stage.items()]

    def steps(self) -> list[tuple[str, dict[str, Any]]]:
        """The stages as written: ``(name, parameters given)``, in order."""
        return [next(iter(stage.items())) for stage in self.stages]

    def configured(self) -> list[tuple[str, Any]]:
        """The stages to run: ``(name, parameters object)``, the stage's defaults overridden by the
        file (:func:`miakit.stages.session.configure`)."""

        return configure(self.steps())


def pipeline_search_path() -> list[Path]:
    """Folders searched for a pipeline name: $MIAKIT_PIPELINES, ./pipelines, miakit's own pipelines/."""

    paths = [Path(p) for p in os.environ.get("MIAKIT_PIPELINES", "").split(os.pathsep) if p]
    return paths + [Path.cwd() / "pipelines", shipped_folder("pipelines")]


def load_pipeline(name_or_path: str | Path = "mia") -> PipelineSpec:
    """Load a pipeline by name (searched in :func:`pipeline_search_path`) or path, and check it.

    A name is a name, a path is a path: ``name_or_path`` is a path where it ends in ``.yaml`` or
    ``.yml`` or holds a path separator (so a folder named ``mia`` in the working directory does not
    hide the built-in pipeline). A name found in ``$MIAKIT_PIPELINES`` or ``./pipelines`` that
    shadows one of miakit's own pipelines says so on standard error."""

    if is_path(name_or_path):
        candidate = Path(name_or_path)
    else:
        found = [f / f"{name_or_path}.yaml" for f in pipeline_search_path() if (f / f"{name_or_path}.yaml").is_file()]
        if not found:
            known = sorted({p.stem for f in pipeline_search_path() if f.is_dir() for p in f.glob("*.yaml")})
            raise PipelineError(
                str(name_or_path), "unknown pipeline", expected=f"one of {known} or a path", found=str(name_or_path)
            )
        candidate = found[0]
        builtin = pipeline_search_path()[-1].resolve()
        if candidate.parent.resolve() != builtin and any(p.parent.resolve() == builtin for p in found[1:]):
            import sys

            print(f"note: pipeline {str(name_or_path)!r} is {candidate}, which shadows miakit's own", file=sys.stderr)
    if not candidate.is_file():
        raise PipelineError(candidate, "no such pipeline file")
    content = read_capped(candidate, error=PipelineError)
    data = load_yaml(content, where=candidate, error=PipelineError)
    if not isinstance(data, dict):
        raise PipelineError(candidate, expected="a mapping", found=type(data).__name__)
    try:
        spec = PipelineSpec(**data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field_name = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise PipelineError(candidate, err["msg"].removeprefix("Value error, "), field=field_name) from None
    canonical = json.dumps(spec.model_dump(mode="json"), sort_keys=True).encode()
    return spec.model_copy(update={"path": str(candidate), "sha256": hashlib.sha256(canonical).hexdigest()})


AUTO_PIPELINE = "auto"
"""The pipeline name that lets the build choose (:func:`choose_pipeline`); what ``build-dataset`` uses
unless ``--pipeline`` names one."""


def _names_pose(folder: str) -> bool | None:
    """Whether a session's session.yaml names a video or keypoints; None where it cannot be read
    (the build then reports that session's reason)."""

    try:
        if not is_url(folder):
            meta = read_meta(folder)
            return meta.video is not None or meta.keypoints is not None
        from miakit.contracts.session import MAX_META_BYTES
        from miakit.safe_yaml import load_yaml

        fs, path = filesystem(folder)
        target = path.rstrip("/") + "/" + SESSION_FILE
        if fs.size(target) > MAX_META_BYTES:
            return None
        data = load_yaml(fs.cat_file(target), where=target, max_bytes=MAX_META_BYTES)
        return isinstance(data, dict) and bool(data.get("video") or data.get("keypoints"))
    except Exception:  # unreadable here is the build's to report, with the session's reason
        return None


def choose_pipeline(folders: list[str]) -> tuple[str, str]:
    """The pipeline for a build of ``folders`` and why: ``emg-only`` where no session has video or
    keypoints (EMG alone), else ``mia``.

    One pipeline per build, so the store is one consistent dataset (one pipeline hash, one set of
    modalities): in a mixed build the sessions without video or keypoints are left out with their
    reason, and can be built into a store of their own with ``--pipeline emg-only``.
    """
    names = [_names_pose(f) for f in folders]
    with_pose, without = sum(n is True for n in names), sum(n is False for n in names)
    if without and not with_pose:
        return (
            "emg-only",
            f"chosen: {'the session has' if without == 1 else f'none of the {without} sessions has'} "
            "no video or keypoints, so EMG alone",
        )
    if without:
        return "mia", (
            f"chosen: {with_pose} of {with_pose + without} sessions have "
            f"video or keypoints; the {without} without are left out "
            "(build them into their own store with --pipeline emg-only)"
        )
    if not with_pose:
        return "mia", "chosen: the default (no session.yaml could be read to choose by)"
    return "mia", "chosen: the sessions have video or keypoints"


# -- 2. one session ------------------------------------------------------------------------------


@dataclass
class SessionResult:
    report: QualityReport
    segments: list[Segment] = field(default_factory=list)  # empty where the session is left out


def process_session(folder: str | Path, spec: PipelineSpec) -> SessionResult:
    """Run one session through the pipeline's stages (:mod:`miakit.stages.session`) and cut it into
    segments (:func:`miakit.segments.split_session`). Bad input is reported, never raised: the
    report then holds what the stages had found and the reason."""
    from dataclasses import replace

    folder = Path(folder)
    report = QualityReport(session=_printable(folder.name))
    try:  # one bad session never stops the build
        for _, state in stage_states(folder, spec.configured(), rate_hz=spec.rate_hz):
            report = state.report
        if not state.report.kept:
            return SessionResult(report=state.report)
        state, segments = split_session(state)
        return SessionResult(report=state.report, segments=segments)
    except Exception as exc:  # noqa: BLE001
        report = exc.state.report if isinstance(exc, LeftOut) else report
        return SessionResult(report=replace(report, reason=session_reason(folder, exc)))


def _printable(text: str) -> str:
    """A file name as text that prints anywhere (bytes that are not UTF-8 shown as U+FFFD)."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def session_reason(folder: Path, exc: BaseException) -> str:
    """One line saying why a session was left out. A MiakitError says it itself; anything else
    is named with the session folder."""

    text = str(exc) if isinstance(exc, MiakitError) else f"{folder}: {unexpected(exc)}"
    return _printable(" ".join(text.split()))


# -- 3. the whole build -------------------------------------------------------------------------
#
# plan_build: which sessions there are, their hashes, which are already processed ("parts").
# build_dataset: process the missing parts (serially, on local worker processes, or on a dask
# cluster), then write the store from the parts (template, chunk-aligned regions, finalize).
# Parts are per-session results kept beside the store until the store is written, so an
# interrupted build resumes where it stopped.


def list_sessions(root: str | Path) -> list[str]:
    """Session folders under ``root`` (a local path or an fsspec URL), sorted."""

    if not is_url(root):
        return [str(p) for p in find_sessions(root)]
    fs, path = filesystem(str(root))
    protocol = str(root).split("://", 1)[0]
    found = sorted(p.rsplit("/", 1)[0] for p in fs.glob(path.rstrip("/") + "/**/session.yaml"))
    if fs.exists(path.rstrip("/") + "/session.yaml"):
        found = [path.rstrip("/")]
    return [f"{protocol}://{p.lstrip('/')}" if protocol != "file" else p for p in found]


@dataclass
class SessionPlan:
    folder: str
    key: str  # the folder relative to the sessions root
    sha256: str
    part: Path  # where its processed result goes
    done: bool  # a part with the same inputs and pipeline exists


@dataclass
class BuildPlan:
    spec: PipelineSpec
    out: str
    sessions: list[SessionPlan]
    parts_dir: Path
    inputs_sha256: str
    up_to_date: bool
    pipeline_why: str = "given"  # how the pipeline was picked: "given", or "chosen: ..." (choose_pipeline)


def plan_build(
    sessions_dir: str | Path,
    out: str | Path,
    *,
    pipeline: str | Path = AUTO_PIPELINE,
    progress: bool = False,
    pool: SessionPool | None = None,
) -> BuildPlan:
    """What a build would do, without doing it. Hashing the inputs (the slow part) runs on ``pool``
    when one is given. ``pipeline="auto"`` picks one from the sessions (:func:`choose_pipeline`)."""

    if "://" not in str(sessions_dir) and not Path(sessions_dir).is_dir():  # a URL: listed below
        found = "a file" if Path(sessions_dir).exists() else "nothing there"
        raise InputError(sessions_dir, "no such folder", expected="a folder of session folders", found=found)
    folders = list_sessions(sessions_dir)
    if not folders:
        raise InputError(sessions_dir, "no session folders (no session.yaml found below it)")
    why = "given"
    if str(pipeline) == AUTO_PIPELINE:
        pipeline, why = choose_pipeline(folders)
    spec = load_pipeline(pipeline)
    root = str(sessions_dir).rstrip("/")
    parts_dir = parts_dir_for(out)
    if pool is None:
        from miakit.parallel import SessionPool

        pool = SessionPool()
    sessions = []
    hashes = pool.map(session_sha256, folders, label="hashing inputs", progress=progress)
    # decoder import paths the user allowed (--decoder-plugin) change what a session gives: they are
    # part of the parts' names and the inputs' hash (nothing changes where none is allowed)

    allowed = sorted(allowed_import_paths())
    salt = "-" + hashlib.sha256("\0".join(allowed).encode()).hexdigest()[:8] if allowed else ""
    for folder, sha in zip(folders, hashes):
        key = folder[len(root) :].strip("/") or folder.rstrip("/").rsplit("/", 1)[-1]
        part = parts_dir / f"{key.replace('/', '__')}-{sha[:16]}-{spec.sha256[:16]}{salt}"
        sessions.append(SessionPlan(folder=folder, key=key, sha256=sha, part=part, done=is_done(part)))
    inputs: dict[str, object] = {s.key: s.sha256 for s in sessions}
    if allowed:
        inputs = {**inputs, "decoder plugins allowed": allowed}
    inputs_sha = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    up_to_date = exists(out) and _store_matches(out, spec.sha256, inputs_sha)
    return BuildPlan(
        spec=spec,
        out=str(out),
        sessions=sessions,
        parts_dir=parts_dir,
        inputs_sha256=inputs_sha,
        up_to_date=up_to_date,
        pipeline_why=why,
    )


def _store_matches(out: str | Path, pipeline_sha: str, inputs_sha: str) -> bool:

    try:
        from miakit.contracts.dataset import provenance_of

        prov = provenance_of(open_store(out))
    except MiakitError:
        return False
    return prov.get("pipeline_sha256") == pipeline_sha and prov.get("inputs_sha256") == inputs_sha


def run_part(folder: str, part: str | Path, spec: PipelineSpec) -> dict[str, Any]:
    """Process one session and save its result as a part (:func:`miakit.parts.write_part`). Runs
    on a worker; returns the report."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="miakit-session-") as staging:
        local = folder
        if is_url(folder):  # stage a remote session folder in locally, once
            fs, path = filesystem(folder)
            local = str(Path(staging) / "session")
            fs.get(path.rstrip("/") + "/", local, recursive=True)
        result = process_session(local, spec)
    if is_url(folder) and result.report.session == "session":
        result.report.session = folder.rstrip("/").rsplit("/", 1)[-1]
    return write_part(part, result.report, result.segments)


@dataclass
class BuildResult:
    store: str
    reports: list[QualityReport]
    up_to_date: bool = False
    frames: int = 0
    segments: int = 0
    reused: int = 0  # sessions whose part an earlier, interrupted build had already made
    pipeline: str = ""  # the pipeline's name
    pipeline_why: str = "given"  # how it was picked (see BuildPlan)


def build_dataset(
    sessions_dir: str | Path,
    out: str | Path,
    *,
    pipeline: str | Path = AUTO_PIPELINE,
    workers: int = 1,
    scheduler: str | None = None,
    force: bool = False,
    keep_parts: bool = False,
    lock_timeout_s: float = 0.0,
    progress: bool = True,
) -> BuildResult:
    """Build every session folder under ``sessions_dir`` into one Zarr store at ``out``.

    - ``pipeline``: a name or path; ``"auto"`` (the default) picks ``emg-only`` where no session
      has video or keypoints, else ``mia`` (:func:`choose_pipeline`); the result says which and why.
    - Re-running with the same inputs and pipeline is a no-op; ``force=True`` rewrites the store,
      with identical data.
    - Sessions that fail a check are reported with their reason and left out; the rest is built.
    - ``workers > 1`` hashes and processes sessions on that many local processes (dask.distributed);
      ``scheduler="tcp://host:port"`` uses an existing dask cluster (its workers must reach the
      session folders and this machine's parts folder, e.g. over a shared file system).
      Either way the store is identical to a serial build's.
    - An interrupted build resumes: sessions already processed with the same inputs and pipeline
      are not processed again.
    - Only one build writes a store at a time: a second one fails clearly (or waits up to
      ``lock_timeout_s``); the lock is keyed by the resolved store (:func:`miakit.store.store_lock`).
    - ``out`` must be new, empty or a store miakit wrote, and may not hold the sessions
      (:func:`miakit.store.check_output`, checked before any work). The new store is written
      beside the old one and swapped in: readers see the old store or the new one, and a build
      that fails or is killed leaves the old one.
    """

    check_output(out, inputs=(sessions_dir,))
    with SessionPool(workers, scheduler) as pool:
        plan = plan_build(sessions_dir, out, pipeline=pipeline, progress=progress, pool=pool)
        if plan.up_to_date and not force:
            return _existing(plan)
        with store_lock(out, timeout_s=lock_timeout_s):
            todo = [s for s in plan.sessions if not s.done or force]
            try:  # the parts: a full disk here is one line too (an unreadable session is that session's reason)
                plan.parts_dir.mkdir(parents=True, exist_ok=True)
                pool.map(
                    run_part,
                    [s.folder for s in todo],
                    [str(s.part) for s in todo],
                    spec=plan.spec,
                    label="building sessions",
                    progress=progress,
                )
            except (OSError, RuntimeError) as exc:
                if not _disk_error(exc):
                    raise
                raise write_error(plan.parts_dir, exc) from None
            ds, reports = _assemble_parts(plan, sessions_dir, progress=progress)
            write_dataset(ds, out, chunk_frames=plan.spec.chunk_frames, progress=progress)
            if not keep_parts:
                import shutil

                shutil.rmtree(plan.parts_dir, ignore_errors=True)
    return BuildResult(
        store=str(out),
        reports=reports,
        frames=ds.sizes["frame"],
        segments=ds.sizes["segment"],
        reused=len(plan.sessions) - len(todo),
        pipeline=plan.spec.name,
        pipeline_why=plan.pipeline_why,
    )


def _disk_error(exc: BaseException) -> bool:
    """A full disk or a folder that cannot be written (also as a write pool that stopped after one)."""
    import errno

    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)
    return isinstance(exc, RuntimeError) and "cannot schedule new futures" in str(exc)


def _assemble_parts(plan: BuildPlan, sessions_dir: str | Path, *, progress: bool) -> tuple[Any, list[QualityReport]]:
    """Every session's part -> one dataset in memory (:func:`miakit.contracts.build.make_dataset`),
    and the sessions' reports."""

    loaded = [
        read_part(s.part) for s in track(plan.sessions, "reading parts", enabled=progress and len(plan.sessions) > 50)
    ]
    reports = [r for r, _ in loaded]
    segments = [seg for _, segs in loaded for seg in segs]
    if not segments:
        first = next((r.reason for r in reports if r.reason), "")
        raise InputError(sessions_dir, f"no session passed the checks; first reason: {first}")
    pose = all(params.get("source") != "none" for name, params in plan.spec.steps() if name == "keypoints_to_grid")
    # the EMG's units: each session's device profile's, carried by its segments (make_dataset reads them)
    ds = make_dataset(
        segments,
        muscles=MUSCLES,
        rate_hz=plan.spec.rate_hz,
        modalities=["emg", "pose"] if pose else ["emg"],
        provenance=_provenance(plan),
        where=plan.out,
    )
    return ds, reports


def _existing(plan: BuildPlan) -> BuildResult:

    ds = open_store(plan.out)
    return BuildResult(
        store=plan.out,
        reports=[],
        up_to_date=True,
        frames=ds.sizes["frame"],
        segments=ds.sizes["segment"],
        pipeline=plan.spec.name,
        pipeline_why=plan.pipeline_why,
    )


def _provenance(plan: BuildPlan) -> dict[str, Any]:

    return provenance(
        pipeline=plan.spec.name,
        pipeline_sha256=plan.spec.sha256,
        inputs_sha256=plan.inputs_sha256,
        pipeline_definition=plan.spec.model_dump(mode="json"),
        inputs={s.key: s.sha256 for s in plan.sessions},
    )


__all__ = [
    "AUTO_PIPELINE",
    "PipelineSpec",
    "choose_pipeline",
    "load_pipeline",
    "process_session",
    "plan_build",
    "build_dataset",
    "session_sha256",
    "list_sessions",
]
