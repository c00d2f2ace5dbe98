"""The UCI "EMG Physical Action" file layout, read in one place: by the UCI importer
(:mod:`miakit.importers.uci`) and by the emulated sensors that stream a UCI file
(:mod:`miakit.record.signals`).

A file is ``subNN/{Normal,Aggressive}/txt/<Action>.txt``: tab-separated numbers, no header, 8 columns
of raw sEMG (:data:`UCI_CHANNELS`, the muscles of Muscles in Action: :data:`UCI_TO_MUSCLE`) at about
1 kHz (:data:`RAW_RATE_HZ`). pandas is imported inside the reader.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from miakit.errors import InputError

UCI_CHANNELS: tuple[str, ...] = ("R-Bic", "R-Tri", "L-Bic", "L-Tri", "R-Thi", "R-Ham", "L-Thi", "L-Ham")
"""The columns of a UCI file, in file order."""

UCI_TO_MUSCLE: dict[str, str] = {
    "R-Bic": "RightBicep",
    "R-Tri": "RightTricep",
    "L-Bic": "LeftBicep",
    "L-Tri": "LeftTricep",
    "R-Thi": "RightQuad",
    "R-Ham": "RightHamstring",
    "L-Thi": "LeftQuad",
    "L-Ham": "LeftHamstring",
}
"""UCI channel -> miakit muscle name."""

UCI_MUSCLES: tuple[str, ...] = tuple(UCI_TO_MUSCLE[c] for c in UCI_CHANNELS)
"""The miakit muscle of each column, in file order."""

RAW_RATE_HZ = 1000.0
"""The recorder's rate: about 10,000 samples between start and end times 10 s apart."""


def read_uci_file(path: str | Path, raw: bytes | None = None) -> np.ndarray:
    """One action file (or its bytes ``raw``, already read) as a (samples, 8) float64 array in file
    column order (:data:`UCI_CHANNELS`); InputError where it is not a table of 8 columns of numbers."""
    import io

    import pandas as pd

    path = Path(path)
    data = path.read_bytes() if raw is None else raw
    try:
        table = pd.read_csv(io.BytesIO(data), sep="\t", header=None, dtype=np.float64)
    except (ValueError, pd.errors.ParserError) as exc:  # EmptyDataError is a ValueError
        raise InputError(
            path,
            f"not a table of numbers ({exc.__class__.__name__}: {str(exc).splitlines()[0][:80]})",
            expected=f"a UCI EMG text file: {len(UCI_CHANNELS)} tab-separated columns of numbers",
            found="binary or other text",
        ) from None
    if table.shape[1] != len(UCI_CHANNELS):
        raise InputError(
            path,
            "wrong number of columns",
            expected=f"{len(UCI_CHANNELS)} ({', '.join(UCI_CHANNELS)})",
            found=table.shape[1],
        )
    return table.to_numpy()
