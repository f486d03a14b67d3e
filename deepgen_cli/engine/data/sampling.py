"""Minibatch orders as lists of index tensors: i.i.d. (a random permutation cut into minibatches) and
non-i.i.d. (Ioffe 2017: every minibatch drawn from a few classes, a fixed number of images each).

Everything random comes from the generator passed in, so a seed fixes the order for every model trained on it.
"""

from __future__ import annotations

import torch
from torch import Tensor

from deepgen_cli.engine.errors import UsageError


def iid_batches(n: int, batch_size: int, generator: torch.Generator, *, drop_last: bool = False) -> list[Tensor]:
    """A random permutation of range(n) cut into minibatches of `batch_size`.

    drop_last drops a short last minibatch (training with microbatches, where every minibatch must be whole
    microbatches; and every step then has the same size); otherwise a last minibatch of one example joins
    the one before (batch statistics need two values)."""
    batches = list(torch.randperm(n, generator=generator).split(batch_size))
    if drop_last and len(batches) > 1 and len(batches[-1]) < batch_size:
        batches.pop()
    elif len(batches) > 1 and len(batches[-1]) == 1:
        batches[-2:] = [torch.cat(batches[-2:])]
    return batches


def non_iid_batches(labels: Tensor, batch_size: int, classes_per_batch: int, generator: torch.Generator, *,
                    keep_leftovers: bool = False, shuffle_within: bool = True) -> list[Tensor]:
    """Minibatches drawn from exactly `classes_per_batch` (K) classes each (Ioffe 2017: 16 classes x 2 images).

    Each minibatch picks its K classes at random among those with enough unused examples left and takes
    batch_size // K examples of each (the first batch_size % K classes one more), without replacement. The
    epoch ends when fewer than K classes have enough left; those leftovers wait for the next epoch, or with
    `keep_leftovers` (evaluation, where every example counts) follow in minibatches of the remaining
    examples in class order. `shuffle_within` permutes each minibatch, so that its microbatches are random
    parts of it as in the paper's workers; without it each class is a contiguous block, and microbatches of
    batch_size // K or fewer hold one class each: a harsher experiment than the paper's.
    """
    k = classes_per_batch
    labels = labels.cpu()
    classes = labels.unique().tolist()
    if not 1 <= k <= min(len(classes), batch_size):
        raise UsageError(f"--non-iid: {k} classes per batch needs 1 <= K <= min(classes={len(classes)}, "
                         f"batch size={batch_size})")
    take = [batch_size // k + (1 if i < batch_size % k else 0) for i in range(k)]
    pools = {}
    for c in classes:
        idx = (labels == c).nonzero().flatten()
        pools[c] = idx[torch.randperm(len(idx), generator=generator)].tolist()

    def mixed(batch: list[int]) -> Tensor:
        out = torch.tensor(batch, dtype=torch.long)
        return out[torch.randperm(len(out), generator=generator)] if shuffle_within else out

    batches = []
    while True:
        ready = [c for c in classes if len(pools[c]) >= take[0]]
        if len(ready) < k:
            break
        chosen = [ready[i] for i in torch.randperm(len(ready), generator=generator)[:k].tolist()]
        batch = []
        for c, m in zip(chosen, take):
            batch += pools[c][:m]
            del pools[c][:m]
        batches.append(mixed(batch))
    rest = [i for c in classes for i in pools[c]]
    if keep_leftovers and rest:
        tail = [rest[i:i + batch_size] for i in range(0, len(rest), batch_size)]
        if len(tail) > 1 and len(tail[-1]) == 1:  # a lone example has no batch statistics
            tail[-2:] = [tail[-2] + tail[-1]]
        if len(tail[-1]) == 1 and batches:
            batches[-1] = torch.cat([batches[-1], torch.tensor(tail.pop(), dtype=torch.long)])
        batches += [mixed(t) for t in tail]
    return batches
