"""Summary tables printed at the end of long commands (rich tables on standard output)."""

from __future__ import annotations

import numpy as np


def _console():
    from rich.console import Console

    return Console()


def print_build_summary(result) -> None:
    """One row per session: kept or left out (with the reason), frames, coverage, packets."""
    from rich.markup import escape  # names and reasons come from data: print them as they are
    from rich.table import Table

    c = _console()
    if getattr(result, "pipeline", ""):
        c.print(f"pipeline {result.pipeline} ({result.pipeline_why})", highlight=False, markup=False)
    if result.up_to_date:
        c.print(
            f"[green]up to date[/]: {result.store} ({result.segments} segments, {result.frames} frames); nothing to do"
        )
        return
    table = Table(title=f"build summary: {result.store}", show_lines=False)
    for col in (
        "session",
        "status",
        "frames",
        "valid",
        "EMG",
        "pose",
        "score",
        "packets",
        "bad",
        "dropped",
        "dup.",
        "sync",
        "note",
    ):
        table.add_column(col, justify="right" if col not in ("session", "status", "note") else "left")
    for r in result.reports:
        status = "[green]kept[/]" if r.kept else "[red]left out[/]"
        note = r.reason or "; ".join((["truncated"] if r.truncated else []) + r.notes)
        sync = (
            ""
            if r.sync_confidence is None
            else (
                f"{r.sync_offset_s:+.2f} s ({r.sync_confidence:.2f})"
                if r.sync_offset_s is not None
                else f"kept clock ({r.sync_confidence:.2f})"
            )
        )
        table.add_row(
            escape(r.session),
            status,
            str(r.frames),
            f"{r.valid_fraction:.0%}",
            f"{r.emg_coverage:.0%}",
            f"{r.pose_coverage:.0%}",
            f"{r.mean_pose_score:.2f}",
            str(r.packets),
            str(r.bad_packets),
            str(r.dropped_samples),
            str(r.duplicate_packets),
            sync,
            escape(note),
        )
    c.print(table)
    if result.reused:
        c.print(f"resumed: {result.reused} sessions were already processed by an interrupted build")
    kept = sum(r.kept for r in result.reports)
    c.print(
        f"{kept} of {len(result.reports)} sessions kept: {result.segments} segments, {result.frames} frames at 10 Hz"
    )
    duplicates = sum(r.duplicate_packets for r in result.reports)
    if duplicates:
        c.print(
            f"{duplicates} duplicated packets (same sensor, sequence number and payload) in "
            f"{sum(r.duplicate_packets > 0 for r in result.reports)} of {len(result.reports)} sessions"
        )


def print_build_plan(plan) -> None:
    """What a build would do: the pipeline's stages, each session and whether it is built."""
    from rich.table import Table

    c = _console()
    c.print(
        f"pipeline [bold]{plan.spec.name}[/] ({plan.spec.path}, sha256 {plan.spec.sha256[:12]}), {plan.spec.rate_hz} Hz"
    )
    if getattr(plan, "pipeline_why", "given") != "given":
        c.print(plan.pipeline_why, highlight=False, markup=False)
    for i, (name, params) in enumerate(plan.spec.steps(), 1):
        c.print(f"  {i}. {name}" + (f" {params}" if params else ""))
    table = Table(title=f"plan for {plan.out}")
    for col in ("session", "inputs sha256", "status"):
        table.add_column(col)
    for s in plan.sessions:
        status = "in the store" if plan.up_to_date else ("processed (part kept)" if s.done else "to build")
        table.add_row(s.key, s.sha256[:12], status)
    c.print(table)
    todo = 0 if plan.up_to_date else sum(not s.done for s in plan.sessions)
    c.print(
        f"store is {'up to date' if plan.up_to_date else 'to be written'}; "
        f"{todo} of {len(plan.sessions)} sessions to process"
    )


def print_dataset_info(ds) -> None:
    from rich.table import Table

    c = _console()
    valid = np.asarray(ds["valid"].values)
    c.print(
        f"[bold]{ds.attrs['schema']}[/]  {ds.sizes['frame']} frames at {ds.attrs['rate_hz']} Hz "
        f"({ds.sizes['frame'] / float(ds.attrs['rate_hz']) / 60:.1f} min), {ds.sizes['segment']} segments, "
        f"{valid.mean():.0%} valid"
    )
    from miakit.contracts.dataset import provenance_of

    prov = provenance_of(ds)
    c.print(
        f"pipeline {prov['pipeline']} ({prov['pipeline_sha256'][:12]}), inputs {prov['inputs_sha256'][:12]}, "
        f"miakit {prov['miakit_version']}, built {prov['built_at']}"
    )
    table = Table(title="minutes of valid data per subject and exercise")
    subjects = sorted({str(s) for s in ds["segment_subject"].values})
    table.add_column("exercise")
    for s in subjects:
        table.add_column(s, justify="right")
    minutes: dict[tuple[str, str], float] = {}
    for sub, ex, start, n in zip(
        ds["segment_subject"].values,
        ds["segment_exercise"].values,
        ds["segment_start"].values,
        ds["segment_length"].values,
    ):
        minutes[(str(ex), str(sub))] = (
            minutes.get((str(ex), str(sub)), 0.0) + valid[start : start + n].sum() / float(ds.attrs["rate_hz"]) / 60
        )
    for ex in sorted({e for e, _ in minutes}):
        table.add_row(ex, *(f"{minutes.get((ex, s), 0):.1f}" for s in subjects))
    c.print(table)
