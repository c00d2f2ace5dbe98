"""Run by test_ddp.py under ``torchrun --nproc_per_node 2``: train on a store, keep each rank's weights.

``python ddp_worker.py STORE OUT CONFIG_JSON`` trains three times with the same config: straight
through into ``OUT/straight``, interrupted at step 3 into ``OUT/resumed``, then resumed there.
Each rank saves its final weights of both runs as ``OUT/{straight,resumed}-rank{RANK}.pt``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main(store: str, out: str, config_json: str) -> None:
    import torch

    from miakit.learn.config import TrainConfig
    from miakit.learn.train import train
    from miakit.store import open_store

    rank = os.environ["RANK"]
    ds = open_store(store)
    config = TrainConfig(**json.loads(config_json))
    out_dir = Path(out)
    straight = train(ds, config, out_dir / "straight", progress=False)
    torch.save(straight.model.state_dict(), out_dir / f"straight-rank{rank}.pt")
    train(ds, config, out_dir / "resumed", progress=False, until_step=3)
    resumed = train(ds, config, out_dir / "resumed", progress=False, resume=True)
    torch.save(resumed.model.state_dict(), out_dir / f"resumed-rank{rank}.pt")


if __name__ == "__main__":
    main(*sys.argv[1:4])
