"""Training-set corruptions of Zhang et al. (2017): random labels, shuffled or random pixels, Gaussian images.

A corruption touches exactly round(p * N) training examples, chosen by a seeded generator; test data stays clean.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import Tensor

from deepgen_cli.engine.errors import UsageError

CORRUPTIONS = ("labels", "random-labels", "shuffled-pixels", "random-pixels", "gaussian")


@dataclass
class CorruptionStats:
    corruption: str
    noise: float  # p, the fraction of training examples the corruption was applied to
    corrupted: int  # examples it was applied to: round(p * N)
    changed_fraction: float  # fraction of all training examples whose label (or image) actually changed


def check(kind: str, p: float) -> None:
    if kind not in CORRUPTIONS:
        raise UsageError(f"--corruption: unknown corruption '{kind}'; valid: {', '.join(CORRUPTIONS)}")
    if not 0.0 <= p <= 1.0:
        raise UsageError(f"--noise: each level must be a fraction in [0, 1], got {p:g}")


def choose(n: int, p: float, gen: torch.Generator) -> Tensor:
    """round(p * n) distinct example indices, sorted."""
    return torch.randperm(n, generator=gen)[:round(p * n)].sort().values


def random_labels(y: Tensor, chosen: Tensor, num_classes: int, gen: torch.Generator) -> Tensor:
    """Labels at `chosen` drawn uniformly from all classes (so about 1/num_classes keep their label)."""
    out = y.clone()
    out[chosen] = torch.randint(0, num_classes, (len(chosen),), generator=gen, dtype=y.dtype)
    return out


def shuffled_pixels(x: Tensor, chosen: Tensor, gen: torch.Generator) -> Tensor:
    """One fixed permutation of pixel positions (channels move together) for every chosen image."""
    n, c, h, w = x.shape
    perm = torch.randperm(h * w, generator=gen)
    out = x.clone()
    out[chosen] = x[chosen].reshape(len(chosen), c, h * w)[:, :, perm].reshape(len(chosen), c, h, w)
    return out


def random_pixels(x: Tensor, chosen: Tensor, gen: torch.Generator) -> Tensor:
    """A different random permutation of pixel positions for each chosen image."""
    n, c, h, w = x.shape
    k = len(chosen)
    perms = torch.rand(k, h * w, generator=gen).argsort(dim=1)  # one permutation per row
    flat = x[chosen].reshape(k, c, h * w)
    out = x.clone()
    out[chosen] = flat.gather(2, perms[:, None, :].expand(k, c, h * w)).reshape(k, c, h, w)
    return out


def gaussian_images(x: Tensor, chosen: Tensor, gen: torch.Generator) -> Tensor:
    """Chosen images replaced by Gaussian noise with the training set's per-channel mean and std."""
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    std = x.std(dim=(0, 2, 3), keepdim=True)
    out = x.clone()
    out[chosen] = mean + std * torch.randn((len(chosen), *x.shape[1:]), generator=gen, dtype=x.dtype)
    return out


def corrupt(data, kind: str, p: float, seed: int):
    """A copy of `data` with its training set corrupted; returns (dataset, CorruptionStats)."""
    if getattr(data, "streamed", False):  # the same draws, applied per example as batches stream
        from deepgen_cli.engine.data import streamed

        return streamed.corrupt(data, kind, p, seed)
    if kind == "random-labels":
        p = 1.0
    check(kind, p)
    gen = torch.Generator().manual_seed(seed)
    x, y = data.x_train, data.y_train
    chosen = choose(len(y), p, gen)
    if kind in ("labels", "random-labels"):
        y = random_labels(y, chosen, data.num_classes, gen)
        changed = int((y != data.y_train).sum())
    else:
        make = {"shuffled-pixels": shuffled_pixels, "random-pixels": random_pixels, "gaussian": gaussian_images}[kind]
        x = make(x, chosen, gen)
        changed = int((x != data.x_train).flatten(1).any(dim=1).sum())
    stats = CorruptionStats(kind, p, len(chosen), changed / max(len(y), 1))
    return dataclasses.replace(data, x_train=x, y_train=y), stats
