"""The real recordings the tests use, fetched through ``miakit.sample_data`` (pooch), as a user's
machine fetches them: from ../shared/data where that is beside the repository (this project's
machines have no network), else from the public originals. Every file is checked against its
SHA-256; a changed file stops the run (SampleDataChanged), it is never used.

The test run keeps its own cache (not the user's ~/.cache/miakit), shared by runs: the files are
named by the registry and checked by hash, so a cache another run filled is as good as a new one."""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

os.environ.setdefault("MIAKIT_SAMPLE_DATA_DIR", str(Path(tempfile.gettempdir()) / f"miakit-sample-data-{os.getuid()}"))


@functools.cache
def fetched() -> tuple[Path, str]:
    """(the folder holding every sample file by its registry name, why not where they could not be
    fetched: "" when all are there)."""
    from miakit import sample_data
    from miakit.errors import InputError

    try:
        return sample_data.fetch_all(), ""
    except sample_data.SampleDataChanged:
        raise
    except InputError as exc:
        return sample_data.cache_dir(), str(exc)


def sample_path(*parts: str) -> Path:
    """A sample file or folder by its registry path (``sample_path("mocap", "gaitalytics-walk.c3d")``);
    absent where the files could not be fetched (callers skip on that), even where some of them were."""
    root, why_not = fetched()
    return (root / ".not-all-fetched" if why_not else root).joinpath(*parts)
