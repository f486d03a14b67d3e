"""Context managers that set torch state for a block and restore it after: the thread count, a model's
eval mode, deterministic kernels. The caller's process and model keep their own settings whatever the block raises."""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn


@contextmanager
def torch_threads(n: int | None):
    """torch's intra-op thread count set to `n` inside the block (None: left as it is)."""
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextmanager
def eval_mode(model: nn.Module):
    """`model` in eval mode inside the block (no dropout, batch norm on its running statistics), then its
    own mode again."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@contextmanager
def deterministic(on: bool):
    """With `on`, torch's deterministic algorithms and cuDNN's deterministic mode (no autotuned kernel choice)
    inside the block; an op that has no deterministic kernel becomes a RunError naming --deterministic."""
    if not on:
        yield
        return
    import os

    from deepgen_cli.engine.errors import RunError

    # cuBLAS needs a fixed workspace for repeatable sums (CUDA >= 10.2); it reads this when first used.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    before = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.deterministic,
              torch.backends.cudnn.benchmark)
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    try:
        yield
    except RuntimeError as err:
        if "deterministic" not in str(err):
            raise
        raise RunError(f"--deterministic: {str(err).splitlines()[0]}; run without --deterministic") from None
    finally:
        torch.use_deterministic_algorithms(before[0])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before[1], before[2]
