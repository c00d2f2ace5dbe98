"""What the importers share: their provenance, writing and registering, and the import report.

The datasets themselves are made by the one builder, :func:`miakit.contracts.build.make_dataset`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from miakit.contracts.build import provenance as contract_provenance
from miakit.errors import InputError
from miakit.store import check_output, write_dataset


@dataclass
class ImportReport:
    """What an import did: the store, per-group rows for a summary table, what it skipped and why."""

    store: str
    rows: list[dict] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    notes: list[str] = field(default_factory=list)  # what a user should know of an imported input (no EMG)
    n_segments: int = 0
    n_frames: int = 0
    n_valid: int = 0
    catalog_entry: str | None = None


def sha256_json(value) -> str:
    """A stable hash of a JSON-able value (keys sorted)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def provenance(*, pipeline: str, parameters: dict, inputs_sha256: str, inputs_hashed: str, **details) -> dict:
    """An import's provenance (:func:`miakit.contracts.build.provenance`): its "pipeline" is the
    importer, hashed with its parameters; the parameters and what the input hash covers are kept."""

    return contract_provenance(
        pipeline=pipeline,
        pipeline_sha256=sha256_json({"pipeline": pipeline, **parameters}),
        inputs_sha256=inputs_sha256,
        parameters=parameters,
        inputs_hashed=inputs_hashed,
        **details,
    )


def check_outputs(root: str | Path, out: str | Path, catalog: str | Path | None) -> None:
    """Before any work: ``out`` may be replaced (never the release itself, a folder holding it, or
    a folder of other files; :func:`miakit.store.check_output`) and ``catalog`` can be updated."""

    check_output(out, inputs=(root,))
    if catalog is not None:
        from miakit.catalog import check_writable

        check_writable(catalog)


def write_and_register(
    ds, out: str | Path, report: ImportReport, *, catalog: str | Path | None, name: str | None, description: str
) -> None:
    """Write ``ds`` with :func:`miakit.store.write_dataset`; register it if ``catalog`` is given
    (:func:`miakit.catalog.register_store`: named ``name``, default the store's name without ``.zarr``)."""

    write_dataset(ds, out)
    report.store = str(out)
    if catalog is not None:
        from miakit.catalog import register_store

        source = str(ds["segment_source"].values[0]) if ds.sizes["segment"] else ""
        entry = register_store(catalog, out, ds, name=name, description=description, metadata={"source": source})
        report.catalog_entry = entry.name


def nothing_imported(root: str | Path, report: ImportReport) -> InputError:
    """The error for an import where every input was damaged."""
    first = f"{report.skipped[0][0]}: {report.skipped[0][1]}" if report.skipped else "none"
    return InputError(
        root,
        "nothing could be imported",
        expected="at least one readable input",
        found=f"{len(report.skipped)} damaged; first {first}",
    )
