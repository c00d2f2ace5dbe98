"""``miakit import c3d|trc ... --inspect``: what an import would do with a trial, and writes nothing.

:func:`inspect_trial` runs the import's own steps (:func:`miakit.importers.lab.trial_joints`,
:func:`miakit.importers.lab.trial_segments`) on one :class:`~miakit.importers.lab.LabTrial` and
gathers, as plain data: per BODY_25 joint the rule and markers it came from (or why it is missing),
the labels the marker-set mapping did not understand, each EMG channel's muscle and kind (or why it
maps to none), the vertical and facing found, the gait events and the stretches of valid frames that
would be imported, and, where a step refuses the trial, its one-line reason. :func:`render` prints
that as one screen, read before fixing anything with ``--mapping`` or ``--channel``.

It reads what those steps return (``JointCentres.used`` and the ``TrialResult.info`` keys), so a
richer joint description there (a rule, an estimated error, why a joint is missing) shows here as
it is: ``JointCentres.missing`` (joint -> why) and ``info["unknown_labels"]`` are used where present.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from miakit.errors import InputError
from miakit.importers.emg_channels import match_channel, resolve_channel_map
from miakit.importers.lab import LabTrial, emg_signal_kind, normalized_markers, trial_joints, trial_segments
from miakit.importers.markerset import missing_markers, normalize_label
from miakit.layout import BODY_25, RATE_HZ
from miakit.stages.emg import RawEmgParams

AXES = ("X", "Y", "Z")


def axis_name(v) -> str:
    """A lab direction as a user reads it: ``+Z`` where it lies within about 25 degrees of an axis,
    else its components; ``?`` where unknown."""
    v = np.asarray(v, dtype=np.float64)
    if v.shape != (3,) or not np.isfinite(v).all() or np.linalg.norm(v) < 1e-9:
        return "?"
    v = v / np.linalg.norm(v)
    i = int(np.argmax(np.abs(v)))
    if abs(v[i]) > 0.9:
        return ("+" if v[i] > 0 else "-") + AXES[i]
    return "(" + ", ".join(f"{c:+.2f}" for c in v) + ")"


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``(first, end)`` of each run of true values (end exclusive)."""
    mask = np.asarray(mask, dtype=bool)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def _missing_joint_reason(mapping, joint: str, markers: dict) -> str:
    """Why ``mapping`` gives no ``joint``: the markers its first rule needs that the file lacks."""

    if mapping is None or joint not in mapping.joints:
        return f"the mapping {getattr(mapping, 'name', '')!r} has no rule for it".replace(" ''", "")
    one = replace(mapping, joints={joint: mapping.joints[joint]})
    need = [n for n in missing_markers(one, {normalize_label(k): v for k, v in markers.items()}) if n not in BODY_25]
    if need:
        return "needs " + ", ".join(need)
    return "its markers are never seen together"


def _channels(trial: LabTrial, side, channels, info: dict) -> list[dict]:
    """Each analog channel: its muscle (the user's map, else the channel table) and kind, or why none."""

    user = resolve_channel_map(channels, list(trial.analogs), trial.path) if channels else {}
    kinds = info.get("emg_kind", {})
    out = []
    for label, x in trial.analogs.items():
        if label in user:
            muscle, why = user[label], "--channel" if user[label] else "left out by --channel"
        else:
            m = match_channel(label, side=side)
            muscle, why = m.muscle, m.reason
        kind = kinds.get(label, "")
        if muscle and not kind and trial.analog_rate_hz > 0:
            x = np.asarray(x, dtype=np.float64)
            kind = "envelope" if trial.emg_is_envelope else emg_signal_kind(x[np.isfinite(x)], trial.analog_rate_hz)
        out.append({"label": label, "muscle": muscle or "", "kind": kind, "why": why if not muscle else ""})
    return out


def inspect_trial(
    trial: LabTrial,
    *,
    views,
    mapping=None,
    side: str | None = None,
    exercise: str | None = None,
    max_gap_s: float,
    emg_params: RawEmgParams,
    channels: dict[str, str | None] | None = None,
    emg_kind: str | None = None,
) -> dict:
    """What importing ``trial`` with these options would do (the options of
    :func:`miakit.importers.lab.trial_segments`), as a JSON-able dict; nothing is written."""

    n_frames = len(next(iter(trial.markers.values()), []))
    report: dict = {
        "file": str(trial.path),
        "markers": len(trial.markers),
        "marker_frames": n_frames,
        "marker_rate_hz": trial.marker_rate_hz,
        "marker_units": trial.marker_units,
        "analog_channels": len(trial.analogs),
        "analog_rate_hz": trial.analog_rate_hz,
        "problems": [],
    }
    try:
        joints, used_mapping, markers, repeated = trial_joints(trial, mapping=mapping, max_gap_s=max_gap_s)
    except InputError as exc:
        report["problems"].append(str(exc).removeprefix(f"{trial.path}: "))
        report["mapping"] = mapping.name if mapping is not None else ""
        report["joints"] = {}
        normalized, _ = normalized_markers(trial)
        report["unknown_labels"] = sorted(normalized)
    else:
        report["mapping"] = used_mapping.name
        missing = getattr(joints, "missing", None) or {}
        table = {}
        for j, name in enumerate(BODY_25):
            seen = np.isfinite(joints.xyz[:, j]).all(axis=1)
            if name in joints.used:
                rule = (getattr(joints, "rules", None) or {}).get(name)
                table[name] = {
                    "rule": joints.used[name],
                    "markers": list(rule["markers"]) if rule else [],
                    "error_mm": float(rule["error_mm"]) if rule else None,
                    "seen": float(seen.mean()) if len(seen) else 0.0,
                }
            else:
                why = missing.get(name) or _missing_joint_reason(used_mapping, name, markers)
                table[name] = {"rule": "", "missing": why, "seen": 0.0}
        report["joints"] = table
        if joints.source == "anatomy":  # labels read by anatomy: those that named no landmark
            report["unknown_labels"] = sorted(joints.unknown)
        else:
            understood = used_mapping.markers() | set(joints.aliases.values())
            normalized, _ = normalized_markers(trial)
            report["unknown_labels"] = sorted(k for k in normalized if k not in understood)
        report["repeated_labels"] = list(repeated)
    info: dict = {}
    result = None
    if not report["problems"]:
        try:
            result = trial_segments(
                trial,
                views=views,
                mapping=mapping,
                side=side,
                exercise=exercise,
                max_gap_s=max_gap_s,
                emg_params=emg_params,
                channels=channels,
                emg_kind=emg_kind,
            )
        except InputError as exc:
            report["problems"].append(str(exc).removeprefix(f"{trial.path}: "))
        else:
            info = result.info
            report["unknown_labels"] = info.get("labels_not_understood", report["unknown_labels"])
            report["body"] = info.get("body", "")
    try:
        report["channels"] = _channels(trial, side, channels, info)
    except InputError as exc:
        report["channels"] = []
        report["problems"].append(str(exc).removeprefix(f"{trial.path}: "))
    report["emg_note"] = info.get("emg_note", "")
    if not info and not any(row["muscle"] for row in report["channels"]):
        from miakit.importers.lab import no_emg_note

        report["emg_note"] = no_emg_note(trial, channels)
    vertical = info.get("vertical") or {}
    report["vertical"] = (
        f"{axis_name(vertical['up'])} (from {vertical['from']})" if vertical.get("up") is not None else "?"
    )
    report["facing"] = axis_name(info["facing"]) if "facing" in info else "?"
    report["events"] = []
    report["stretches"] = []
    if result is not None:
        report["events_origin"] = info.get("events", "")
        report["events"] = [
            {"time_s": round(float(e.time), 3), "kind": e.kind, "side": e.side} for e in result.events if e.segment == 0
        ]
        first_view = result.segments[0].view
        valid = {seg.id: np.asarray(seg.valid, dtype=bool) for seg in result.segments if seg.view == first_view}
        for seg_id, mask in valid.items():
            for a, b in runs(mask):
                report["stretches"].append({"segment": seg_id, "start_s": a / RATE_HZ, "end_s": b / RATE_HZ})
        report["would_import"] = {
            "segments": len(result.segments),
            "frames_per_view": int(sum(s.length for s in result.segments if s.view == first_view)),
            "valid_per_view": int(sum(int(mask.sum()) for mask in valid.values())),
            "muscles": [m for m in info.get("channels", {})],
        }
    return report


def render(report: dict, console=None) -> None:
    """Print one trial's :func:`inspect_trial` report as tables (rich), to standard output."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    say = lambda text: console.print(text, highlight=False, soft_wrap=True)  # noqa: E731
    say(
        f"[bold]{report['file']}[/]: {report['markers']} markers, {report['marker_frames']} frames at "
        f"{report['marker_rate_hz']:g} Hz ({report['marker_units']}); {report['analog_channels']} analog channels"
        + (f" at {report['analog_rate_hz']:g} Hz" if report["analog_channels"] else "")
    )
    if report["joints"]:
        table = Table(title=f"joints (mapping {report['mapping']})")
        for col in ("joint", "rule and markers", "est. error", "seen"):
            table.add_column(col)
        for name, row in report["joints"].items():
            if row["rule"]:
                error = f"{row['error_mm']:.0f} mm" if row.get("error_mm") is not None else "-"
                used = f" ({', '.join(row['markers'])})" if row.get("markers") else ""
                table.add_row(name, row["rule"] + used, error, f"{row['seen']:.0%}")
            else:
                table.add_row(name, f"[red]missing[/]: {row['missing']}", "-", "-")
        console.print(table)
    shown = report["unknown_labels"]
    say(
        f"labels not understood ({len(shown)}): "
        + (", ".join(shown[:40]) + (f" and {len(shown) - 40} more" if len(shown) > 40 else "") if shown else "none")
    )
    # Channels that are or name a muscle in a table; the rest (force plates, footswitches, EMG7)
    # one line per reason, so that the screen stays one screen.
    named = [r for r in report["channels"] if r["muscle"] or "muscle" not in r["why"] or "8 muscles" in r["why"]]
    if named:
        table = Table(title="EMG channels")
        for col in ("channel", "muscle", "kind", "why not"):
            table.add_column(col)
        for row in named:
            table.add_row(row["label"], row["muscle"] or "-", row["kind"] or "-", row["why"])
        console.print(table)
    rest: dict[str, list[str]] = {}
    for row in report["channels"]:
        if row not in named:
            rest.setdefault(row["why"], []).append(row["label"])
    for why, labels in rest.items():
        say(f"channels {why} ({len(labels)}): " + ", ".join(labels[:16]) + (" ..." if len(labels) > 16 else ""))
    if not report["channels"]:
        say("EMG channels: none")
    if report["emg_note"]:
        say(f"[yellow]note[/] {report['emg_note']}")
    if report.get("body"):
        say(f"body: {report['body']}")
    say(f"vertical: {report['vertical']}; facing: {report['facing']}")
    if "would_import" in report:
        events = report["events"]
        counts: dict[str, int] = {}
        for e in events:
            key = f"{e['kind']} {e['side']}".strip()
            counts[key] = counts.get(key, 0) + 1
        say(
            f"events ({report['events_origin']}): "
            + (", ".join(f"{n} {k}" for k, n in sorted(counts.items())) if events else "none")
        )
        stretches = report["stretches"]
        say(
            f"stretches that would be imported ({len(stretches)}): "
            + (
                ", ".join(f"{s['start_s']:.1f}-{s['end_s']:.1f} s" for s in stretches[:12])
                + (f" and {len(stretches) - 12} more" if len(stretches) > 12 else "")
                if stretches
                else "none (no valid frame)"
            )
        )
        w = report["would_import"]
        say(
            f"would import: {w['segments']} segments, {w['valid_per_view']} of {w['frames_per_view']} frames "
            f"valid per view, muscles: {', '.join(w['muscles']) or 'none (keypoints only)'}"
        )
    for problem in report["problems"]:
        say(f"[red]would not import[/]: {problem}")
