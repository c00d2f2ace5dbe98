"""Small array helpers that layers from the stages up to the plots share."""

from __future__ import annotations

import numpy as np


def true_runs(mask) -> list[tuple[int, int]]:
    """``(start, stop)`` index pairs of the runs of True in the 1-D ``mask``, in order, ``stop``
    exclusive: ``mask[start:stop]`` is all True and cannot grow."""
    edges = np.diff(np.concatenate([[0], np.asarray(mask, dtype=np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))
