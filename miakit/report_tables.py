"""Summary tables printed at the end of long commands (rich tables on standard output)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from miakit.contracts.dataset import provenance_of


def _console():
    from rich.console import Console

    return Console()


SUMMARY_COLUMNS = (
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
)
DROP_ORDER = ("dup.", "bad", "dropped", "packets", "score", "pose", "EMG", "frames")
"""The build summary's columns left out first where the terminal is too narrow for all 13 (the
full table is in the CSV inside the store); session, status, valid, sync and note stay."""


def build_summary_rows(result) -> list[dict[str, str]]:
    """The build summary as rows of plain text, one per session ({column: text})."""
    rows = []
    for r in result.reports:
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
        values = (
            r.session,
            "kept" if r.kept else "left out",
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
            note,
        )
        rows.append(dict(zip(SUMMARY_COLUMNS, values)))
    return rows


def fitting_columns(rows: list[dict[str, str]], width: int, *, note_min: int = 24) -> list[str]:
    """The summary's columns that fit ``width`` characters (a rich table's borders and padding
    counted; the note column may wrap down to ``note_min``), leaving out :data:`DROP_ORDER` first."""

    def needed(columns: list[str]) -> int:
        cells = [
            max([len(c)] + [len(row[c]) for row in rows])
            if c != "note"
            else min(note_min, max([4] + [len(row[c]) for row in rows]))
            for c in columns
        ]
        return sum(cells) + 3 * len(columns) + 1

    columns = list(SUMMARY_COLUMNS)
    for name in DROP_ORDER:
        if needed(columns) <= width:
            break
        columns.remove(name)
    return columns


def summary_csv_path(store) -> Path | None:
    """Where the full build summary goes: inside a local store, ``STORE/build-summary.csv`` (None for
    a store at a URL, or where the store is not there). Inside, not beside it: the build leaves
    nothing beside the store, and never writes over a file of the user's."""
    text = str(store)
    if "://" in text:
        return None
    store = Path(text.rstrip("/"))
    return store / "build-summary.csv" if store.is_dir() else None


def print_build_summary(result, *, width: int | None = None) -> Path | None:
    """One row per session: kept or left out (with the reason), frames, coverage, packets. The table
    fits the terminal (``width``, default the console's): where all 13 columns do not, the least
    needed are left out and the note wraps; the full table is written as CSV inside the store (its
    path is returned and printed)."""
    import csv

    from rich.markup import escape  # names and reasons come from data: print them as they are
    from rich.table import Table

    c = _console()
    if getattr(result, "pipeline", ""):
        c.print(f"pipeline {result.pipeline} ({result.pipeline_why})", highlight=False, markup=False)
    if result.up_to_date:
        c.print(
            f"[green]up to date[/]: {result.store} ({result.segments} segments, {result.frames} frames); nothing to do"
        )
        return None
    rows = build_summary_rows(result)
    path = summary_csv_path(result.store)
    if path is not None:
        try:
            with path.open("w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=list(SUMMARY_COLUMNS))
                writer.writeheader()
                writer.writerows(rows)
        except OSError:
            path = None
    columns = fitting_columns(rows, width or c.width)
    table = Table(title=f"build summary: {result.store}", show_lines=False)
    for col in columns:
        table.add_column(
            col,
            justify="right" if col not in ("session", "status", "note", "sync") else "left",
            overflow="fold",
            no_wrap=col not in ("note", "session"),
        )
    for row in rows:
        status = "[green]kept[/]" if row["status"] == "kept" else "[red]left out[/]"
        table.add_row(*(status if col == "status" else escape(row[col]) for col in columns))
    c.print(table, width=width)
    left_out = [col for col in SUMMARY_COLUMNS if col not in columns]
    if path is not None:
        c.print(
            (f"{len(left_out)} columns left out to fit ({', '.join(left_out)}); " if left_out else "")
            + f"the full table: {path}",
            highlight=False,
            markup=False,
        )
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
    return path


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
