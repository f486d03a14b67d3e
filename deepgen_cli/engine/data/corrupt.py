"""Training-set corruptions of Zhang et al. (2017): random labels, shuffled or random pixels, Gaussian images.

A corruption touches exactly round(p * N) training examples, chosen by a seeded generator. The test set stays
clean, except that shuffled pixels apply the training permutation to the same fraction p of test images (as
Zhang et al.: one permutation for training and test images) and `corrupt_test` redraws a fraction p of test labels.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import Tensor

from deepgen_cli.engine.config import CORRUPTIONS  # noqa: F401  (declared with the options: --help reads it)
from deepgen_cli.engine.errors import UsageError


@dataclass
class CorruptionStats:
    corruption: str
    noise: float  # p, the fraction of training examples the corruption was applied to
    corrupted: int  # examples it was applied to: round(p * N)
    changed_fraction: float  # fraction of all training examples whose label (or image) actually changed
    test_corrupted: int = 0  # test examples it was applied to: round(p * N_test) or 0 (a clean test set)


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


def permute_pixels(x: Tensor, chosen: Tensor, perm: Tensor) -> Tensor:
    """The chosen images with their pixel positions reordered by `perm` (channels move together)."""
    n, c, h, w = x.shape
    out = x.clone()
    out[chosen] = x[chosen].reshape(len(chosen), c, h * w)[:, :, perm].reshape(len(chosen), c, h, w)
    return out


def shuffled_pixels(x: Tensor, chosen: Tensor, gen: torch.Generator) -> Tensor:
    """One fixed permutation of pixel positions (channels move together) for every chosen image."""
    return permute_pixels(x, chosen, torch.randperm(x.shape[2] * x.shape[3], generator=gen))


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


TEST_STREAM = 1_000_003  # added to the seed for the test set's own generator: the training stream stays as it was


def corrupt(data, kind: str, p: float, seed: int, corrupt_test: bool = False):
    """A copy of `data` with its training set corrupted; returns (dataset, CorruptionStats).

    Shuffled pixels permute round(p * N_test) test images with the training permutation; with `corrupt_test`,
    label corruptions redraw round(p * N_test) test labels. Other test sets stay clean."""
    if kind == "random-labels":
        p = 1.0
    check(kind, p)
    gen = torch.Generator().manual_seed(seed)
    test_gen = torch.Generator().manual_seed(seed + TEST_STREAM)
    x, y, x_test, y_test = data.x_train, data.y_train, data.x_test, data.y_test
    chosen = choose(len(y), p, gen)
    test_chosen = torch.zeros(0, dtype=torch.int64)
    if kind in ("labels", "random-labels"):
        y = random_labels(y, chosen, data.num_classes, gen)
        changed = int((y != data.y_train).sum())
        if corrupt_test:
            test_chosen = choose(len(y_test), p, test_gen)
            y_test = random_labels(y_test, test_chosen, data.num_classes, test_gen)
    else:
        if kind == "shuffled-pixels":
            perm = torch.randperm(x.shape[2] * x.shape[3], generator=gen)
            x = permute_pixels(x, chosen, perm)
            test_chosen = choose(len(y_test), p, test_gen)
            x_test = permute_pixels(x_test, test_chosen, perm)
        else:
            x = {"random-pixels": random_pixels, "gaussian": gaussian_images}[kind](x, chosen, gen)
        changed = int((x != data.x_train).flatten(1).any(dim=1).sum())
    stats = CorruptionStats(kind, p, len(chosen), changed / max(len(y), 1), len(test_chosen))
    return dataclasses.replace(data, x_train=x, y_train=y, x_test=x_test, y_test=y_test), stats
