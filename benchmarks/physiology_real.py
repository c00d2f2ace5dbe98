"""The synthetic muscle model driven by real motion capture, against physiology and the trials' EMG.

Imports the two shared C3D trials (``../shared/data/mocap``: overground walking, a box lift) as
``miakit import c3d`` does (front view, ``--side right``), drives
:func:`miakit.body.activation.activation` with their 3D joint centres
(:func:`miakit.bench.real.muscle_model_predictions`) and prints, as ``miakit bench real`` scores a
model: per muscle the Pearson r with the measured envelope and the best lag, and per gait cycle
(from the file's heel-strike events) where the synthetic and the measured peaks fall (10 Hz).

    python benchmarks/physiology_real.py            # about 10 s

Measured (2026-12-07, the issue-20 model): r LeftQuad +0.51, RightQuad +0.72, LeftHamstring +0.46,
RightHamstring +0.75, RightBicep +0.31 (+0.57 at a lag of -0.2 s), RightTricep -0.18; quadriceps
peaks 6, 10, 8, 10 % (measured the same), hamstrings 100, 95, 100, 97 % (measured 6, 95, 100, 97).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

FILES = ("gaitalytics-walk.c3d", "pyomeca-box-lift.c3d")


def main() -> None:
    import miakit
    from miakit.bench.real import muscle_model_predictions, score_segments
    from miakit.importers.c3d import import_c3d
    from miakit.importers.lab import parse_views

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        from miakit.sample_data import fetch  # ../shared/data's copy, or the public original, hash checked

        files = [fetch(f"mocap/{f}") for f in FILES]
        import_c3d(files, out / "real.zarr", catalog=out / "catalog.yaml", views=parse_views("front"), side="right")
        ds = miakit.open_dataset(out / "real.zarr", catalog=out / "catalog.yaml")
        units, cycles, _ = score_segments(ds, None, predictions=muscle_model_predictions(ds, files), surrogates=200)
    print("r of the synthetic muscle with the measured envelope (best lag; positive: the model is late)")
    for _, u in units.iterrows():
        print(
            f"  {u['trial']:18s} {u['muscle']:15s} r {u['r']:+.2f}  (r "
            f"{u['r_at_lag']:+.2f} at {u['lag_s']:+.1f} s; p {u['p']:.3f})"
        )
    print("peak place per gait cycle, % from heel strike: synthetic / measured")
    for muscle in dict.fromkeys(cycles["muscle"]):
        c = cycles[cycles["muscle"] == muscle]
        print(
            f"  {muscle:15s} "
            + "  ".join(f"{a:.0f}/{b:.0f}" for a, b in zip(c["predicted_peak_pct"], c["measured_peak_pct"]))
        )
    print(f"median r over the {len(units)} units: {np.nanmedian(units['r']):+.2f}")


if __name__ == "__main__":
    main()
