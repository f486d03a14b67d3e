"""Runs under torchrun: which commands train data-parallel, and joining the process group. Every rank runs the
whole command; rank 0 alone prints, writes --output and draws --plot (session.run)."""

from __future__ import annotations

import torch

from deepgen_cli.cli import spec
from deepgen_cli.engine import distributed
from deepgen_cli.engine.errors import UsageError


def data_parallel() -> list[str]:
    """The commands whose spec says torchrun=True: their engines run the same steps on every rank, training through
    train.train (which shards every batch under torchrun) and evaluating through train_sharded.evaluate_data or
    train.evaluate (the same model on every rank after training). A command qualifies once its engine does only
    that; `reuse` does as written, and so does `norm-compare`, whose microbatches then lie inside each rank's
    slice of the minibatch (norm_compare.check_ranks)."""
    return [s.name for s in spec.every() if s.torchrun]


def join(command: str, device: torch.device) -> distributed.World | None:
    """This process's rank when torchrun started it (after joining the process group), else None."""
    if not distributed.launched():
        return None
    if command not in data_parallel():
        raise UsageError(f"deepgen {command} does not train data-parallel; run it without torchrun "
                         f"(under torchrun: {', '.join(data_parallel())})")
    return distributed.start(device)


def leave(world: distributed.World | None, ok: bool) -> None:
    """Leave the process group after a run that went well. After a failure or an interrupt the process exits
    without it: tearing the group down waits for ranks that may be gone (measured with gloo: every rank hung
    until torchrun killed it, 15 s later, before it could report the interrupt)."""
    if world is not None and ok:
        distributed.stop()
