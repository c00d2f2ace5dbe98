"""A small reader of the two shared C3D trials for the physiology tests: 3D joint centres in
BODY_25 order (miakit's world frame) and the trial's own EMG envelopes.

It is test support, not an importer: it knows the two files' labels and stands in until
``miakit import c3d`` (markers -> BODY_25 joint centres) is merged. Joint centres:

- walking (Plug-in Gait): the model's own outputs where it writes them (hip ``*FEP``, knee
  ``*FEO``, ankle ``*TIO``, shoulder ``*HUP``, elbow ``*HUO``, wrist ``*RAO``), heel and toe
  markers for the foot, the head markers for the face;
- box lift (right arm and thorax only): the acromion marker 4 cm down for the shoulder, the
  epicondyles' and styloids' midpoints for elbow and wrist; the left arm mirrors the right about
  the sternum's plane and the legs stand still under the pelvis (the subject stood).

Frames: C3D labs are z-up; miakit's world is x left, y up, z forward (``(X, Z, -Y)`` of the lab,
right-handed). EMG: band-pass 20-450 Hz, full-wave rectified, low-pass 6 Hz (zero phase), the
linear envelope of surface EMG, resampled to the marker times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from miakit.layout import KP


@dataclass
class Trial:
    t: np.ndarray
    """(T,) seconds from the capture start (the events' clock)."""
    joints: np.ndarray
    """(T, 25, 3) metres, miakit world frame, BODY_25 order (NaN where unknown)."""
    emg: dict[str, np.ndarray]
    """Envelope per channel label (volts), at ``t``."""
    events: dict[str, np.ndarray] = field(default_factory=dict)
    """``"Left Foot Strike"`` -> sorted times (s)."""


def _lab_to_world(p: np.ndarray) -> np.ndarray:
    return np.stack([p[..., 0], p[..., 2], -p[..., 1]], axis=-1) / 1000.0


def _envelope(raw: np.ndarray, rate: float, t_analog: np.ndarray, t: np.ndarray) -> np.ndarray:
    from scipy.signal import butter, sosfiltfilt

    band = butter(4, [20.0, min(450.0, 0.45 * rate)], btype="band", fs=rate, output="sos")
    low = butter(4, 6.0, fs=rate, output="sos")
    env = sosfiltfilt(low, np.abs(sosfiltfilt(band, raw - raw.mean())))
    return np.interp(t, t_analog, env)


def read_trial(path: str | Path) -> Trial:
    import ezc3d

    c = ezc3d.c3d(str(path))
    par = c["parameters"]
    labels = [s.split(":")[-1] for s in par["POINT"]["LABELS"]["value"]]
    pts = c["data"]["points"][:3].transpose(2, 1, 0)  # (T, points, 3) mm, lab frame
    rate = float(par["POINT"]["RATE"]["value"][0])
    first = int(par["TRIAL"]["ACTUAL_START_FIELD"]["value"][0]) if "TRIAL" in par else 1
    t = (first - 1 + np.arange(pts.shape[0])) / rate
    P = {name: _lab_to_world(pts[:, i]) for i, name in enumerate(labels)}
    for v in P.values():
        v[np.all(v == 0, axis=-1)] = np.nan
    J = np.full((len(t), 25, 3), np.nan)
    if "LFEP" in P:  # Plug-in Gait walking
        for s in "LR":
            J[:, KP[f"{s}Hip"]] = P[f"{s}FEP"]
            J[:, KP[f"{s}Knee"]] = P[f"{s}FEO"]
            J[:, KP[f"{s}Ankle"]] = P[f"{s}TIO"]
            J[:, KP[f"{s}Heel"]] = P[f"{s}HEE"]
            J[:, KP[f"{s}BigToe"]] = P[f"{s}TOE"]
            J[:, KP[f"{s}SmallToe"]] = P[f"{s}TOE"]
            J[:, KP[f"{s}Shoulder"]] = P[f"{s}HUP"]
            J[:, KP[f"{s}Elbow"]] = P[f"{s}HUO"]
            J[:, KP[f"{s}Wrist"]] = P[f"{s}RAO"]
            J[:, KP[f"{s}Ear"]] = (P[f"{s}FHD"] + P[f"{s}BHD"]) / 2
            J[:, KP[f"{s}Eye"]] = P[f"{s}FHD"]
        J[:, KP["Nose"]] = (P["LFHD"] + P["RFHD"]) / 2
        J[:, KP["Neck"]] = (P["C7"] + P["CLAV"]) / 2
    else:  # pyomeca box lift: right arm and thorax
        down = np.array([0.0, -0.04, 0.0])
        sh, el = P["ACRO_tip"] + down, (P["EPICl"] + P["EPICm"]) / 2
        wr = (P["STYLr"] + P["STYLu"]) / 2
        neck = (P["T1"] + P["STER"]) / 2
        pelvis = (P["ASISr"] + P["ASISl"] + P["PSISr"] + P["PSISl"]) / 4
        J[:, KP["RShoulder"]], J[:, KP["RElbow"]], J[:, KP["RWrist"]] = sh, el, wr
        lateral = P["ASISl"] - P["ASISr"]
        lateral[:, 1] = 0.0
        lateral /= np.linalg.norm(lateral, axis=-1, keepdims=True)

        def mirror(p: np.ndarray) -> np.ndarray:
            return p - 2 * np.sum((p - neck) * lateral, axis=-1, keepdims=True) * lateral

        J[:, KP["LShoulder"]], J[:, KP["LElbow"]], J[:, KP["LWrist"]] = mirror(sh), mirror(el), mirror(wr)
        J[:, KP["Neck"]] = neck
        J[:, KP["Nose"]] = neck + np.array([0.0, 0.2, 0.0])
        still = np.nanmedian(pelvis, axis=0)
        up = np.array([0.0, 1.0, 0.0])
        lat = np.nanmedian(lateral, axis=0)
        fwd = np.cross(lat, up)
        for s, sign in (("L", 1.0), ("R", -1.0)):
            hip = still + sign * 0.09 * lat - 0.08 * up
            J[:, KP[f"{s}Hip"]] = hip
            J[:, KP[f"{s}Knee"]] = hip - 0.42 * up
            J[:, KP[f"{s}Ankle"]] = hip - 0.84 * up
            J[:, KP[f"{s}Heel"]] = hip - 0.90 * up - 0.05 * fwd
            J[:, KP[f"{s}BigToe"]] = hip - 0.90 * up + 0.17 * fwd
            J[:, KP[f"{s}SmallToe"]] = hip - 0.90 * up + 0.15 * fwd + sign * 0.03 * lat
    J[:, KP["MidHip"]] = (J[:, KP["LHip"]] + J[:, KP["RHip"]]) / 2
    for missing in ("LEye", "REye", "LEar", "REar"):
        k = KP[missing]
        if np.isnan(J[:, k]).all():
            J[:, k] = J[:, KP["Nose"]]
    J = _fill_gaps(J)

    a_rate = float(par["ANALOG"]["RATE"]["value"][0])
    analogs = c["data"]["analogs"][0]
    t_analog = t[0] + np.arange(analogs.shape[1]) / a_rate
    emg = {label: _envelope(analogs[i], a_rate, t_analog, t) for i, label in enumerate(par["ANALOG"]["LABELS"]["value"])
           if "EMG" in label or label.startswith("Voltage.")}  # fmt: skip
    events: dict[str, list[float]] = {}
    if "EVENT" in par and par["EVENT"]["LABELS"]["value"]:
        for ctx, lab, time in zip(par["EVENT"]["CONTEXTS"]["value"], par["EVENT"]["LABELS"]["value"], par["EVENT"]["TIMES"]["value"][1]):
            events.setdefault(f"{ctx} {lab}", []).append(float(time))
    return Trial(t=t, joints=J, emg=emg, events={k: np.sort(v) for k, v in events.items()})


def _fill_gaps(J: np.ndarray) -> np.ndarray:
    """Linear interpolation of each coordinate over its missing frames (held at the ends)."""
    out = J.copy()
    flat = out.reshape(len(J), -1)
    idx = np.arange(len(J))
    for j in range(flat.shape[1]):
        ok = np.isfinite(flat[:, j])
        if ok.any() and not ok.all():
            flat[:, j] = np.interp(idx, idx[ok], flat[ok, j])
    return out


# -- what the physiology tests and benchmarks/physiology_real.py measure --------------------------
EMD_S = 0.075
"""EMG leads the motion it causes (50-100 ms): the activation of the motion at t + EMD is the EMG at t."""
MEASURED = {"Quad": ("RF", "VL"), "Hamstring": ("ST", "BF")}


def synthetic(trial: Trial) -> np.ndarray:
    """(T, 8) activation of miakit's muscle model driven by the trial's motion, on the trial's
    times, the delay applied."""
    from miakit.synth.activation import activation
    from miakit.synth.motion import kinematics_from_points

    kin = kinematics_from_points(trial.t, trial.joints)
    act = activation(kin)
    return np.stack([np.interp(trial.t + EMD_S, trial.t, act[:, j]) for j in range(act.shape[1])], axis=-1)


def measured(trial: Trial, side: str, muscle: str) -> np.ndarray:
    """The measured envelope of one muscle (channels each scaled to their own peak, then averaged)."""
    chans = [trial.emg[f"Voltage.{side}{c}"] for c in MEASURED[muscle]]
    return np.mean([c / np.max(c) for c in chans], axis=0)


def cycles(trial: Trial, side: str) -> list[tuple[float, float]]:
    strikes = trial.events.get(f"{'Left' if side == 'L' else 'Right'} Foot Strike", np.array([]))
    return [(a, b) for a, b in zip(strikes[:-1], strikes[1:]) if a >= trial.t[0] and b <= trial.t[-1]]


def peak_places(trial: Trial, signal: np.ndarray, side: str) -> list[float]:
    """Where ``signal`` peaks in each gait cycle of ``side``, percent of the cycle from heel strike."""
    out = []
    for a, b in cycles(trial, side):
        inside = (trial.t >= a) & (trial.t < b)
        out.append(100.0 * (trial.t[inside][np.argmax(signal[inside])] - a) / (b - a))
    return out


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])
