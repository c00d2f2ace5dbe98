"""Real motion as training motion: session folders (contract 1) from motion capture, their EMG from
the muscle model (``miakit synth --from-mocap FILE...``).

A capture (a C3D file, or an OpenSim ``.trc``) is read as the importers read it, its joint centres
in miakit's world frame (:func:`read_motion`: :func:`miakit.importers.lab.world_joints`); the muscle
model (:func:`miakit.body.activation.activation` of
:func:`miakit.body.motion.kinematics_from_points`, :func:`modelled_activation`) turns that motion
into the 8 muscles' activation, the same path ``miakit bench real`` scores as the model's ceiling
(:func:`miakit.bench.real.muscle_model_predictions`). Then the session is what
:func:`miakit.synth.sessions.simulate` makes of the choreography: a synthetic subject's framing
and sensors (gain, crosstalk, noise, the electromechanical delay), the same virtual cameras
(view 0 the subject's own in front, views 1.. spread round the subject by
:func:`miakit.synth.sessions.spread_camera`), the same pose-estimator noise, the same M40 packets
on drifting sensor clocks; written by :func:`miakit.synth.sessions.write_session`. So a model
cannot tell real motion from the choreography by anything but the motion.

The EMG is the model's, never the file's: EMG recorded in the file, if any, is not read as a label
(a benchmark on that trial stays honest; a trial scored by ``bench real`` must not have its own
motion in the training data either: leave-one-trial-out). The sessions say so: ``session.yaml``'s
truth description and clock notes and the ``start`` event name the file (and its SHA-256) and the
muscle model, the recorder is marked emulated, and a built store gives their segments the source
``synthetic``, which ``miakit bench real`` refuses to score as measured EMG.

Why session folders (contract 1) and not an import (``miakit import c3d``) with modelled EMG: the
sessions go through the same build as the choreography's (one ``build-dataset`` over one folder,
one store, one ``train``), with the same cameras, pose noise, sensor clocks and device units, so the
model sees them as it sees the synthetic sessions; an imported store's cameras, units and EMG
conditioning are the lab's, and modelled EMG in the kind of store that holds measured EMG could be
scored as measured.

The camera follows the subject as ``miakit import c3d``'s does: the pelvis' horizontal path,
smoothed over :data:`miakit.importers.lab.PAN_WINDOW_S` (a walk across a lab), is taken out, so the
body stays where the synthetic subjects stand; its height above the floor is kept. The muscle model
reads the motion as captured.

Which muscles a capture labels (:data:`MUSCLE_GROUPS`): all 8 where the markers give the trunk,
both arms and both legs; else the legs' four where they give the pelvis and both legs to the feet
(a lower-body marker set, as most gait labs use), the arms' sensors then not worn: the session lists
the leg sensors alone, so the built store has no arm EMG (NaN) and ``miakit train`` leaves the arms
out of the loss on those frames (their keypoints are missed ones, score 0). A marker set with no
trunk at all has it upright over the pelvis (:func:`upright_trunk`), which a walk or a stair
descent holds to a few degrees and a squat does not: say so where such a capture is used. The
longest stretch where the labelled muscles are defined is kept; a capture with no such stretch of
:data:`MIN_MOTION_S` is skipped with a one-line reason.
Each capture is one subject and exercise to ``miakit train``'s in-distribution split (the last 20%
tests, a window's gap either side of validation), so a capture gives training windows from about
10 s on over its views.
"""

from __future__ import annotations

import hashlib
import re
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np

from miakit.arrays import true_runs
from miakit.body.activation import DEFAULT, activation, device_units
from miakit.body.motion import Kinematics, estimate_keypoints, kinematics_from_points, project
from miakit.body.subjects import make_subject
from miakit.errors import InputError
from miakit.importers.c3d import read_c3d
from miakit.importers.lab import PAN_WINDOW_S, smooth, world_joints
from miakit.importers.opensim import read_trial
from miakit.layout import BODY_25, IMAGE_HEIGHT, IMAGE_WIDTH, KP, MUSCLES
from miakit.progress import track
from miakit.synth.sessions import (
    EMG_RATE_HZ,
    KEYPOINT_FPS,
    SENSORS,
    Simulation,
    sensor_clocks,
    sensor_packets,
    spread_camera,
    write_session,
)

MIN_MOTION_S = 3.0
"""The shortest stretch of a capture made into a session: one 3 s training window (30 frames)."""
LEAD_S = (0.2, 0.6)
"""The camera and the capture start this long (drawn) after the session starts."""
TAIL_S = (0.2, 0.6)
"""The session goes on this long (drawn) after the capture's last frame."""
MUSCLE_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("whole body", MUSCLES),
    ("legs", tuple(m for m in MUSCLES if m.endswith(("Quad", "Hamstring")))),
)
"""The muscles a capture may label, in the order they are tried (:func:`load_capture`)."""
TRUNK_PER_LEG = 0.288 / 0.530
"""Hip-to-neck height over hip-to-ankle length (Winter's segment table: 0.288 and 0.530 of stature),
for :func:`upright_trunk`."""
OPTIONAL_JOINTS = ("Nose", "REye", "LEye", "REar", "LEar", "LSmallToe", "RSmallToe")
"""Joints the muscle model does without (a missing one is only a keypoint the estimator misses)."""
GROUP_JOINTS = {
    "legs": ("MidHip", "LHip", "RHip", "LKnee", "RKnee", "LAnkle", "RAnkle", "LHeel", "RHeel", "LBigToe", "RBigToe")
}
"""The joints a group of :data:`MUSCLE_GROUPS` needs, where not the whole body's (named in a skip's reason)."""

# random streams of a capture's session (apart from the choreography's, miakit.body.signal)
TIMING, KEYPOINTS, NOISE, BLE, DROP, SUBJECT = 1, 2, 3, 4, 5, 7


CAPTURE_SUFFIXES = (".c3d", ".trc")


def capture_files(paths: Sequence[str | Path]) -> list[Path]:
    """The capture files ``paths`` name: a file as it is, a folder as its ``.c3d`` and ``.trc`` files
    (sorted, not its subfolders); a folder with none, or a missing path, is an InputError."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in CAPTURE_SUFFIXES and p.is_file())
            if not found:
                raise InputError(path, "no motion capture in this folder", expected="*.c3d or *.trc files")
            files += found
        elif path.exists():
            files.append(path)
        else:
            raise InputError(path, "missing file", expected="a .c3d or .trc file, or a folder of them")
    return files


def read_lab_trial(file):
    """A C3D file, a ``.trc`` file, or a ``(markers.trc, emg.sto)`` pair, as the importers read it
    (a LabTrial)."""
    if isinstance(file, tuple | list):
        return read_trial(file[0], file[1])
    if Path(file).suffix.lower() == ".trc":
        return read_trial(file)

    return read_c3d(file)


def read_motion(file) -> tuple[np.ndarray, np.ndarray]:
    """``(times s, joints (frames, 25, 3) m)`` of a capture in miakit's world frame (x to the
    subject's left, y up, z the way the subject faces), NaN where a joint is unknown."""

    return world_joints(read_lab_trial(file))


def modelled_activation(t: np.ndarray, joints: np.ndarray) -> np.ndarray:
    """(frames, 8) activation in [0, 1], MUSCLES order, that the muscle model gives for measured
    joints (:func:`read_motion`) at their own times, no delay applied; NaN where the joints it needs
    are missing."""

    with np.errstate(all="ignore"), warnings.catch_warnings():  # joints a marker set lacks stay NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return activation(kinematics_from_points(t, joints))


def upright_trunk(joints: np.ndarray) -> np.ndarray:
    """``joints`` with a neck where the capture has none in any frame (a lower-body marker set): above
    the mid-hip, straight up, :data:`TRUNK_PER_LEG` of the median leg length (hip to ankle) higher,
    so the muscle model has a trunk's weight and direction. A capture with a neck is returned as is."""

    if np.isfinite(joints[:, KP["Neck"]]).any():
        return joints
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a leg missing in every frame: the neck stays NaN
        leg = np.nanmedian(
            [np.linalg.norm(joints[:, KP[f"{s}Hip"]] - joints[:, KP[f"{s}Ankle"]], axis=-1) for s in "LR"]
        )
    out = joints.copy()
    out[:, KP["Neck"]] = joints[:, KP["MidHip"]] + np.array([0.0, TRUNK_PER_LEG * leg, 0.0])
    return out


@dataclass
class Capture:
    """A capture's motion ready for sessions: the stretch where every muscle is defined."""

    file: Path
    name: str
    """the file's stem, as a session id, subject and exercise may hold it"""
    sha256: str
    t: np.ndarray
    """(frames,) seconds from the stretch's start"""
    joints: np.ndarray
    """(frames, 25, 3) m, world frame"""
    activation: np.ndarray
    """(frames, 8) the muscle model's activation at ``t``; NaN for a muscle not in ``muscles``"""
    muscles: tuple[str, ...] = MUSCLES
    """the muscles the capture labels (:data:`MUSCLE_GROUPS`): the sessions wear only their sensors"""


def safe_name(stem: str) -> str:
    """A file stem as a name a session id, subject and exercise can hold: [A-Za-z0-9_-]."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_") or "mocap"


def load_capture(file) -> Capture:
    """Read ``file`` (:func:`read_motion`), run the muscle model on it (:func:`modelled_activation`)
    and keep the longest stretch where the muscles of the first of :data:`MUSCLE_GROUPS` that has
    one of :data:`MIN_MOTION_S` are defined; InputError (one line) where none has."""

    path = Path(file)
    t, joints = read_motion(path)
    act = modelled_activation(t, upright_trunk(joints))
    with np.errstate(invalid="ignore"):
        present = np.isfinite(joints).all(axis=-1).mean(axis=0) >= 0.5
    reasons = []
    for group, muscles in MUSCLE_GROUPS:
        columns = [MUSCLES.index(m) for m in muscles]
        runs = true_runs(np.isfinite(act[:, columns]).all(axis=1))
        start, stop = max(runs, key=lambda r: r[1] - r[0]) if runs else (0, 0)
        if stop - start >= 2 and t[stop - 1] - t[start] >= MIN_MOTION_S:
            break
        needed = GROUP_JOINTS[group] if group in GROUP_JOINTS else BODY_25
        missing = [j for j in needed if not present[KP[j]] and j not in OPTIONAL_JOINTS]
        reasons.append(
            f"{group}: no {', '.join(missing)}"
            if missing and not runs
            else f"{group}: {(t[stop - 1] - t[start]) if stop > start else 0:.1f} s"
        )
    else:
        raise InputError(
            path,
            "the muscle model cannot read this motion",
            field="joints",
            expected=f"the trunk, arms and legs, or the pelvis and both legs to the feet, for {MIN_MOTION_S:g} s",
            found="; ".join(reversed(reasons)),  # the group nearest to readable first
        )
    labelled = act[start:stop].copy()
    labelled[:, [j for j, m in enumerate(MUSCLES) if m not in muscles]] = np.nan
    with path.open("rb") as fh:  # the reader has checked it is a regular file within its size cap
        sha = hashlib.file_digest(fh, "sha256").hexdigest()
    return Capture(
        file=path,
        name=safe_name(path.stem),
        sha256=sha,
        t=t[start:stop] - t[start],
        joints=joints[start:stop],
        activation=labelled,
        muscles=muscles,
    )


def capture_number(name: str) -> int:
    """A stable number for a capture (its cameras and subject draw), from its name alone, so that
    its sessions do not depend on which other captures come with it."""
    return zlib.crc32(name.encode()) % 100_000


def panned(joints: np.ndarray, rate_hz: float, x_m: float) -> np.ndarray:
    """The joints with the pelvis' smoothed horizontal path taken out (a camera that follows the
    subject, as ``miakit import c3d``'s does), the body put ``x_m`` to the side as a synthetic subject
    stands; heights kept."""

    hips = joints[:, [KP["LHip"], KP["RHip"]]].mean(axis=1)
    path = smooth(hips, int(round(PAN_WINDOW_S * rate_hz)), order=2)
    out = joints.copy()
    out[..., 0] -= path[:, None, 0] - x_m
    out[..., 2] -= path[:, None, 2]
    return out


def simulate_capture(capture: Capture, *, seed: int = 0, view: int = 0, drop_fraction: float = 0.0):
    """One session of a capture, filmed by view ``view`` (a :class:`miakit.synth.sessions.Simulation`)."""

    number = capture_number(capture.name)

    def stream(kind: int) -> np.random.Generator:
        return np.random.default_rng([seed, number, kind, view] if kind == KEYPOINTS else [seed, number, kind])

    drawn = make_subject(number, seed=seed)  # framing and sensors; the body is the capture's
    subject = replace(drawn, name=f"mocap-{capture.name}")
    timing = stream(TIMING)
    lead, tail = float(timing.uniform(*LEAD_S)), float(timing.uniform(*TAIL_S))
    length = float(capture.t[-1])
    duration = lead + length + tail
    rate = 1.0 / float(np.median(np.diff(capture.t)))

    kp_times = lead + np.arange(int(np.floor(length * KEYPOINT_FPS)) + 1) / KEYPOINT_FPS
    kin = kinematics_from_points(capture.t, capture.joints)  # the muscle model's low-passed joints
    moved = panned(kin.joints, rate, drawn.x_m)
    at = np.clip(kp_times - lead, 0.0, length)

    def resample(x: np.ndarray) -> np.ndarray:  # (frames, ...) at the capture's times -> at the camera's
        flat = x.reshape(len(x), -1)
        return np.stack([np.interp(at, capture.t, flat[:, k]) for k in range(flat.shape[1])], -1).reshape(
            len(at), *x.shape[1:]
        )

    joints = resample(moved)
    shown = Kinematics(
        t=kp_times,
        joints=joints,
        lateral=resample(kin.lateral),
        forward=resample(kin.forward),
        support=resample(kin.support),
        subject=drawn,
    )
    camera = spread_camera(seed, drawn.index, number, view)
    keypoints = estimate_keypoints(shown, stream(KEYPOINTS), camera=camera)
    unknown = ~np.isfinite(keypoints).all(axis=-1)
    keypoints[unknown] = 0.0  # a joint the markers do not give: the estimator missed it
    xy, _ = project(joints, drawn, camera)
    inside = (
        np.isfinite(xy).all(axis=-1)
        & (xy[..., 0] >= 0)
        & (xy[..., 0] <= IMAGE_WIDTH - 1)
        & (xy[..., 1] >= 0)
        & (xy[..., 1] <= IMAGE_HEIGHT - 1)
    )
    skeleton = np.concatenate([np.nan_to_num(xy), inside[..., None].astype(np.float64)], axis=-1)

    # the EMG at host time h comes from the motion at h + emd (the capture's time h + emd - lead)
    grid = np.arange(int(np.ceil((duration + 1.0) * DEFAULT.rate_hz)) + 1) / DEFAULT.rate_hz - 0.5
    at = np.clip(grid + drawn.emd_s - lead, 0.0, length)
    act = np.stack([np.interp(at, capture.t, capture.activation[:, j]) for j in range(len(MUSCLES))], axis=-1)
    curve = (grid, device_units(act, drawn))
    truth_times = np.arange(int(np.floor(duration * EMG_RATE_HZ)) + 1) / EMG_RATE_HZ
    truth = np.stack([np.interp(truth_times, grid, curve[1][:, j]) for j in range(len(MUSCLES))], axis=-1)

    ble = stream(BLE)
    clocks = sensor_clocks(ble)
    packets = sensor_packets(
        curve, drawn, duration, clocks, ble=ble, noise=stream(NOISE), drop=stream(DROP), drop_fraction=drop_fraction
    )
    packets = [p for p in packets if SENSORS[p.sensor] in capture.muscles]  # the sensors worn
    origin = (
        f"motion from the capture {capture.file.name} (sha256 {capture.sha256}); EMG modelled by the muscle "
        "model (miakit.body.activation), not measured; the file's own EMG, if any, is not used"
    )
    if capture.muscles != MUSCLES:
        origin += f"; only the {', '.join(capture.muscles)} sensors worn (the markers give no more)"
        if not np.isfinite(capture.joints[:, KP["Neck"]]).any():
            origin += "; no trunk markers: the muscle model took the trunk upright over the pelvis"
    return Simulation(
        subject,
        capture.name,
        None,
        duration,
        lead,
        kp_times,
        keypoints,
        skeleton,
        truth_times,
        truth,
        packets,
        clap_s=None,
        camera=camera,
        view=view,
        clocks=clocks,
        session_id=f"mocap-{capture.name}-seed{seed}" + (f"-view{view}" if view else ""),
        origin=origin,
    )


@dataclass
class MocapSessions:
    """What :func:`generate_mocap_sessions` wrote, and the captures it skipped (file, one-line reason)."""

    folders: list[Path]
    skipped: list[tuple[Path, str]]


def generate_mocap_sessions(
    files: Sequence[str | Path],
    out: str | Path,
    *,
    seed: int = 0,
    views: int = 1,
    video: Literal["none", "first", "all"] = "first",
    progress: bool = True,
) -> MocapSessions:
    """Write ``views`` session folders per capture, ``out/mocap-<name>/<name>[-view<k>]/`` (see the
    module's docstring). A capture the muscle model cannot read whole is skipped with its reason;
    none readable is an InputError (a single file's: its own reason). ``video``: a skeleton
    preview for the first view of the first capture (``first``), every session (``all``) or none."""

    if video not in ("none", "first", "all"):
        raise ValueError(f"video must be 'none', 'first' or 'all', found {video!r}")
    if views < 1:
        raise ValueError(f"views must be at least 1, found {views}")
    if not str(out).strip():
        raise InputError("--out", "no output folder named", expected="a folder for the sessions", found=str(out))
    out = Path(out)
    captures, skipped, errors = [], [], []
    for file in files:
        try:
            captures.append(load_capture(file))
        except InputError as exc:
            skipped.append((Path(file), str(exc)))
            errors.append(exc)
    names = [c.name for c in captures]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError(
            "--from-mocap", "two captures with the same name", expected="one file per name", found=twice[0]
        )
    if not captures and len(errors) == 1:
        raise errors[0]  # the one file's own reason, whole
    if not captures:
        raise InputError(
            "--from-mocap",
            "no capture the muscle model can read whole",
            expected="motion capture with the trunk, arms and legs, or the pelvis and both legs",
            found="; ".join(reason for _, reason in skipped) or "no file",
        )
    folders: list[Path] = []
    jobs = [(c, v) for c in captures for v in range(views)]
    for k, (capture, view) in enumerate(track(jobs, "sessions from motion capture", enabled=progress)):
        sim = simulate_capture(capture, seed=seed, view=view)
        with_video = video == "all" or (video == "first" and k == 0)
        name = capture.name + (f"-view{view}" if view else "")
        folders.append(write_session(out / sim.subject.name / name, sim, seed=seed, video=with_video))
    return MocapSessions(sorted(folders), skipped)
