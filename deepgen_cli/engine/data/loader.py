"""A DataLoader whose workers' deepgen errors reach the CLI as their own one-line message.

Raised in a worker, an error comes back from DataLoader as a new exception of its type whose message is the
worker's whole traceback; here the worker returns it as the batch instead, and the main process raises it as it is.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from deepgen_cli.engine.errors import DeepgenError


def _as_is(batch):
    """The collate function of `__getitems__` datasets: they already return whole batches."""
    return batch


class _Carried:
    """A deepgen error met in a DataLoader worker, sent back as the batch: raised there, DataLoader would raise it
    again here with the worker's whole traceback as its message, which the CLI would print as many lines."""

    def __init__(self, error: DeepgenError):
        self.error = error


class _Catching(torch.utils.data.Dataset):
    """`inner`'s batches, or a _Carried error in place of the batch that raised it."""

    def __init__(self, inner):
        self.inner = inner

    def __len__(self) -> int:
        return len(self.inner)

    def __getitems__(self, indices: list[int]):
        try:
            return self.inner.__getitems__(indices)
        except DeepgenError as err:
            return _Carried(err)


class Loader:
    """A DataLoader over _Catching batches that raises a carried error here, with its own one-line message."""

    def __init__(self, dataset, **kw):
        self.dataloader = DataLoader(_Catching(dataset), collate_fn=_as_is, **kw)

    def __iter__(self):
        for batch in self.dataloader:
            if isinstance(batch, _Carried):
                raise batch.error
            yield batch
