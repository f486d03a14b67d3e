"""Data parallelism under torchrun: this process's rank, the process group (gloo on CPU, NCCL on CUDA), sums
across ranks, and each rank's shard of a global batch. Without torchrun there is no world and nothing here runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor, nn

from deepgen_cli.engine.errors import RunError, UsageError

TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class World:
    rank: int  # 0 .. size-1; rank 0 alone prints and writes --output
    local_rank: int  # rank on this machine: its GPU is cuda:local_rank
    size: int  # processes in all, on all machines
    backend: str  # gloo (CPU) or nccl (CUDA)

    @property
    def lead(self) -> bool:
        return self.rank == 0


_world: World | None = None


def launched() -> bool:
    """Whether this process was started by torchrun (or anything that sets the same environment)."""
    return all(v in os.environ for v in TORCHRUN_VARIABLES)


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def local_size() -> int:
    return int(os.environ.get("LOCAL_WORLD_SIZE", "1"))


def current() -> World | None:
    """The world this process trains in, once `start` has joined it; None in a plain run."""
    return _world


def start(device: torch.device) -> World:
    """Join torchrun's process group: NCCL when this rank trains on its GPU, gloo on the CPU."""
    global _world
    if _world is not None:
        return _world
    if not launched():
        missing = [v for v in TORCHRUN_VARIABLES if v not in os.environ]
        raise UsageError(f"data parallel runs start under torchrun (missing {', '.join(missing)}); e.g. "
                         f"torchrun --nproc-per-node 2 -m deepgen_cli memorize ...")
    backend = "nccl" if device.type == "cuda" else "gloo"
    kw = {}
    if device.type == "cuda":
        torch.cuda.set_device(device)
        kw["device_id"] = device  # binds the communicator to this rank's GPU at once
    try:
        dist.init_process_group(backend, **kw)
    except Exception as err:
        raise RunError(f"torchrun: joining the {backend} process group failed ({type(err).__name__}: {err}); check "
                       f"--nnodes, --rdzv-endpoint and that every rank was started") from None
    _world = World(dist.get_rank(), local_rank(), dist.get_world_size(), backend)
    return _world


def stop() -> None:
    """Leave the process group (every rank, at the end of a run that went well)."""
    global _world
    if _world is not None and dist.is_initialized():
        dist.destroy_process_group()
    _world = None


def describe(world: World | None) -> dict:
    """What the record's environment says about the ranks: world size and backend (None without torchrun)."""
    return {"world_size": world.size if world else 1, "backend": world.backend if world else None}


def all_sum(t: Tensor) -> Tensor:
    """`t` summed over the ranks, in place (unchanged in a plain run). Every rank must call it, in the same order."""
    if _world is not None:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def broadcast_buffers(model: nn.Module) -> None:
    """Rank 0's buffers (batch norm's running statistics) on every rank, so all ranks hold the same model."""
    if _world is not None:
        for b in model.buffers():
            dist.broadcast(b, src=0)


def shards(batches: list[Tensor], world: World | None) -> list[tuple[Tensor, float]]:
    """This rank's part of each global batch and the factor on its mean loss that makes the gradients DDP
    averages over ranks equal the global batch's mean gradient: len(part) * ranks / len(batch).

    Parts are contiguous slices of the batch, sizes differing by at most one; a last batch shorter than the
    number of ranks joins the one before, so no rank ever has an empty part (batch norm needs examples).
    """
    if world is None:
        return [(b, 1.0) for b in batches]
    batches = list(batches)
    if len(batches) > 1 and len(batches[-1]) < world.size:
        batches[-2:] = [torch.cat(batches[-2:])]
    if not batches or len(batches[0]) < world.size:
        raise UsageError(f"--batch-size: each of the {world.size} ranks needs at least one example of every batch; "
                         f"give a batch size (and a training set) of {world.size} or more")
    out = []
    for b in batches:
        part = b.tensor_split(world.size)[world.rank]
        out.append((part, len(part) * world.size / len(b)))
    return out


def span(n: int, world: World | None) -> range:
    """This rank's contiguous share of `n` examples, for evaluation (sizes differ by at most one)."""
    if world is None:
        return range(n)
    return range(n * world.rank // world.size, n * (world.rank + 1) // world.size)
