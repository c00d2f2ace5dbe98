"""Data-parallel training under ``torchrun``: the process group, sharded batches, agreed numbers.

``torchrun --nproc_per_node N -m miakit ...`` (or ``--nnodes``/``--rdzv-endpoint`` for several
machines) starts N processes with ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
``MASTER_PORT`` set; :func:`from_environment` sees them and joins the process group (``nccl``
on CUDA, ``gloo`` on CPU). Without them it returns a one-process context whose methods do nothing
but pass values through, so the trainer has one code path.

How the trainer stays identical on every rank and equal to one process with the same global
batch:

- every rank seeds the same generators and draws the same global batch of window starts; rank
  ``r`` trains on its contiguous ``1 / world_size`` share (:meth:`Context.shard`), so the global
  batch size must divide by the number of processes;
- :class:`torch.nn.parallel.DistributedDataParallel` averages the gradients, which is the
  gradient of the mean loss over the global batch; clipping and the optimizer step then see the
  same numbers on every rank;
- the training loss, the validation RMSE (validation windows sharded, squared errors summed) and
  the clock (for ``max_seconds``) are reduced or taken from rank 0, so every rank makes the same
  decisions (learning rate, early stopping, stopping on time);
- only rank 0 writes checkpoints, the history and the progress bar (:func:`is_main_process`).

Every rank draws the same dropout masks (their torch generators are seeded alike); the masks fall
on different windows, so this is harmless, and it keeps the RNG state in a checkpoint (rank 0's)
valid for every rank on resume. With dropout (or batch norm, whose statistics are per rank) the
result differs from one process by those random draws; with neither, it equals one process
within float rounding (tests/integration/test_ddp.py). For several machines, ``out`` must be on a
filesystem they share (all ranks read ``last.pt`` on resume).
"""

from __future__ import annotations

import atexit
import math
import os
from dataclasses import dataclass

import numpy as np

from miakit.errors import InputError
from miakit.learn.inference import predict, resolve_device, rmse_of

TORCHRUN_VARIABLES = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


def under_torchrun() -> bool:
    """Whether this process was started by ``torchrun`` with more than one process in all."""
    return all(name in os.environ for name in TORCHRUN_VARIABLES) and int(os.environ["WORLD_SIZE"]) > 1


def is_main_process() -> bool:
    """True unless this is a rank other than 0 of an initialized process group."""
    import torch.distributed as dist

    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


@dataclass
class Context:
    """This process's place in a (possibly one-process) data-parallel run."""

    world_size: int
    rank: int
    local_rank: int
    device: str  # where this rank computes: cpu, or cuda:LOCAL_RANK under torchrun
    created: bool = False  # this context initialized the process group (it stays for the process's life)

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def check_batch(self, batch_size: int) -> None:
        """The global batch must split evenly over the processes."""
        if batch_size % self.world_size:
            raise InputError(
                "train config",
                "the batch must split evenly over the processes",
                field="batch_size",
                expected=f"a multiple of {self.world_size} (torchrun's WORLD_SIZE)",
                found=batch_size,
            )

    def wrap(self, model):
        """``model`` in DistributedDataParallel when active, else ``model`` itself."""
        if not self.active:
            return model
        from torch.nn.parallel import DistributedDataParallel

        ids = [int(self.device.split(":")[1])] if self.device.startswith("cuda") else None
        return DistributedDataParallel(model, device_ids=ids)

    def shard(self, batch):
        """This rank's contiguous share of a global batch (all of it in one process)."""
        if not self.active:
            return batch
        size = len(batch) // self.world_size
        return batch[self.rank * size : (self.rank + 1) * size]

    def mean(self, values) -> float:
        """Mean over steps and ranks of per-step tensors (equal-sized shards: the global mean)."""
        import torch

        if not values:
            return float("nan")
        total = torch.stack([v.detach().double() for v in values]).sum().reshape(1).to(self._comm)
        if self.active:
            import torch.distributed as dist

            dist.all_reduce(total)
        return float(total.item()) / (len(values) * self.world_size)

    def agree(self, value: float) -> float:
        """Rank 0's ``value`` on every rank (a clock, so all ranks decide alike)."""
        if not self.active:
            return value
        import torch
        import torch.distributed as dist

        t = torch.tensor([value], dtype=torch.float64, device=self._comm)
        dist.broadcast(t, src=0)
        return float(t.item())

    def rmse(self, model, x: np.ndarray, y: np.ndarray, *, emg_scale: float, amp: bool) -> float:
        """Validation RMSE on the raw scale over all ranks' shares of ``x``/``y``; NaN when empty."""

        if not self.active:
            return rmse_of(model, x, y, emg_scale=emg_scale, device=self.device, amp=amp)
        import torch
        import torch.distributed as dist

        mine = slice(self.rank, None, self.world_size)
        sse, count = 0.0, 0
        if len(x[mine]):
            pred = predict(model, x[mine], emg_scale=emg_scale, device=self.device, amp=amp)
            sse, count = float(np.sum((pred.astype(np.float64) - y[mine]) ** 2)), pred.size
        total = torch.tensor([sse, count], dtype=torch.float64, device=self._comm)
        dist.all_reduce(total)
        sse, count = total.tolist()
        return math.sqrt(sse / count) if count else float("nan")

    def barrier(self) -> None:
        if self.active:
            import torch.distributed as dist

            dist.barrier()

    def close(self) -> None:
        """Wait for every rank (so rank 0's files are written when ``train`` returns anywhere)."""
        self.barrier()

    @property
    def _comm(self) -> str:
        return self.device if self.device.startswith("cuda") else "cpu"


def from_environment(device: str) -> Context:
    """The context for config device ``device`` (auto, cpu, cuda, cuda:N).

    Under torchrun (or in an already initialized process group) join the group: ``nccl`` when
    the device resolves to CUDA, else ``gloo``; each rank computes on ``cuda:LOCAL_RANK``.
    Otherwise a one-process context on the resolved device.
    """
    import torch
    import torch.distributed as dist

    resolved = resolve_device(device)
    joined = dist.is_available() and dist.is_initialized()
    if not (joined or under_torchrun()):
        return Context(world_size=1, rank=0, local_rank=0, device=resolved)
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if resolved.startswith("cuda"):
        resolved = f"cuda:{local_rank}"
        torch.cuda.set_device(local_rank)
    created = False
    if not joined:  # joined once per process: torchrun's store does not take a second group
        dist.init_process_group(backend="nccl" if resolved.startswith("cuda") else "gloo")
        atexit.register(_leave)
        created = True
    return Context(
        world_size=dist.get_world_size(), rank=dist.get_rank(), local_rank=local_rank, device=resolved, created=created
    )


def _leave() -> None:
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()
