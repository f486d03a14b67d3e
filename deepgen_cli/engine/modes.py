"""Context managers that set torch state for a block and restore it after: the thread count, a model's
eval mode. The caller's process and model keep their own settings whatever the block raises."""

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
