"""Time to quality: wall time for the miakit model to reach the paper Transformer's final validation RMSE.

Trains the paper's Transformer with the paper's recipe (``TrainConfig.demo`` without the wall-time
cap: the same steps for both) on the in-distribution split, takes its best validation RMSE, then
trains the miakit model (its recipe, ``miakit.bench.ablation.MIAKIT``: features, augmentation,
batch size, context frames) with the same steps and schedule and reports the wall time of its first evaluation at or below that RMSE, and
the ratio paper time / miakit time.

    python benchmarks/time_to_quality.py /tmp/x/ds.zarr --out /tmp/x/ttq [--steps 500]

Prints one JSON object and writes it to ``out/time_to_quality.json``. On a shared CPU the wall
times depend on the load; run both on the same machine at the same time of day.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", help="a built dataset (Zarr store)")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--eval-every", type=int, default=25)
    args = parser.parse_args()

    from miakit.bench.ablation import MIAKIT
    from miakit.learn.config import TrainConfig
    from miakit.learn.train import train
    from miakit.learn.windows import load_frames, split_in_distribution
    from miakit.store import open_store

    ds = open_store(args.dataset)
    base = TrainConfig.demo(max_seconds=0.0, max_steps=args.steps, eval_every=args.eval_every, patience=10**6)
    splits = split_in_distribution(ds, window=base.window, stride=base.stride, eval_stride=base.eval_stride)
    frames = load_frames(ds)
    paper = train(ds, base, args.out / "paper", progress=True, splits=splits, frames=frames)
    ours = train(ds, replace(base, **MIAKIT), args.out / "miakit", progress=True, splits=splits, frames=frames)
    h = ours.history
    reached = h[h["val_rmse"] <= paper.best_val_rmse]
    t = float(reached["elapsed_s"].iloc[0]) if len(reached) else float("nan")
    result = {
        "paper_final_val_rmse": paper.best_val_rmse, "paper_wall_s": paper.wall_s, "paper_steps": paper.steps,
        "miakit_final_val_rmse": ours.best_val_rmse, "miakit_wall_s": ours.wall_s,
        "miakit_time_to_paper_quality_s": t,
        "miakit_step_to_paper_quality": int(reached["step"].iloc[0]) if len(reached) else None,
        "ratio_paper_over_miakit": paper.wall_s / t if np.isfinite(t) else None,
        "config": {k: v for k, v in base.__dict__.items() if k not in ("model", "features", "augment")},
        "miakit_changes": MIAKIT,  # the miakit recipe's fields that differ from config
    }  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "time_to_quality.json").write_text(json.dumps(result, indent=2, default=float))
    print(json.dumps(result, indent=2, default=float))


if __name__ == "__main__":
    main()
