"""The streamed path: datasets kept as their sources (native-size arrays, seeds, or image files) and turned into
final-size, standardized, corrupted batches by a DataLoader's workers, one batch at a time.

Used when a dataset would not fit in memory at its final size (`--data-in-memory auto`, data/memory.py) or
when asked (`no`), and always for imagefolder. A corruption stays fixed across epochs: which examples it touches
and their new labels are drawn once, as on the in-memory path; a pixel permutation or Gaussian image comes from
the example's own seed, so every epoch sees the same one.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.utils.data import Sampler

from deepgen_cli.engine import data as data_mod
from deepgen_cli.engine.data import corrupt as corrupt_mod, memory
from deepgen_cli.engine.data.loader import Loader
from deepgen_cli.engine.errors import UsageError

STATS_EXAMPLES = 2048  # images in the seeded sample whose per-channel mean and std standardize a streamed set
STATS_CHUNK = 64  # images per batch of that pass: 39 MB of float32 at 3x224x224
MAX_AUTO_WORKERS = 8  # DataLoader workers per rank when --workers is not given


def example_generator(stream: str, seed: int, i: int) -> torch.Generator:
    """A generator of its own for example i: the same draws every epoch, in any worker, on any rank."""
    digest = hashlib.blake2b(f"{stream}:{seed}:{i}".encode(), digest_size=8).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest, "little") >> 1)


class ArrayImages:
    """Images held at their native size (uint8 files: 3,072 bytes a CIFAR image) and resized per batch."""

    def __init__(self, x: Tensor, side: int):
        self.x, self.side, self.channels = x, side, int(x.shape[1])

    def __len__(self) -> int:
        return len(self.x)

    def batch(self, indices: list[int]) -> Tensor:
        x = data_mod.as_float(self.x[indices])
        return x if self.side == x.shape[-1] else data_mod.resize(x, self.side)


class SyntheticImages:
    """Seeded Gaussian images (data._synthetic's model), each example's noise drawn from its own seed."""

    def __init__(self, means: Tensor, labels: Tensor, seed: int, stream: str, side: int):
        self.means, self.labels, self.seed, self.stream = means, labels, seed, stream
        self.side, self.channels = side, int(means.shape[1])

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, indices: list[int]) -> Tensor:
        shape = self.means.shape[1:]
        x = torch.stack([self.means[self.labels[i]]
                         + torch.randn(shape, generator=example_generator(self.stream, self.seed, i)) for i in indices])
        return x if self.side == x.shape[-1] else data_mod.resize(x, self.side)


@dataclass
class Corruption:
    """An image corruption fixed for the run: which examples, and how each is changed."""

    kind: str  # shuffled-pixels | random-pixels | gaussian
    chosen: Tensor  # bool per example
    seed: int
    perm: Tensor | None = None  # shuffled-pixels: the one permutation of pixel positions

    def apply(self, x: Tensor, i: int) -> Tensor:
        c, h, w = x.shape
        if self.kind == "shuffled-pixels":
            return x.reshape(c, h * w)[:, self.perm].reshape(c, h, w)
        gen = example_generator(self.kind, self.seed, i)
        if self.kind == "random-pixels":
            return x.reshape(c, h * w)[:, torch.rand(h * w, generator=gen).argsort()].reshape(c, h, w)
        # gaussian: the standardized training set's per-channel mean and std, 0 and 1 by construction
        return torch.randn((c, h, w), generator=gen, dtype=x.dtype)


class Split(torch.utils.data.Dataset):
    """One split as a map-style dataset whose `__getitems__` returns a whole batch: (images, labels)."""

    def __init__(self, images, labels: Tensor, mean: Tensor, std: Tensor, corruption: Corruption | None = None,
                 channels: int | None = None):
        self.images, self.labels, self.mean, self.std = images, labels, mean, std
        self.corruption, self.channels = corruption, channels or images.channels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitems__(self, indices: list[int]) -> tuple[Tensor, Tensor]:
        x = self.images.batch(indices).sub_(self.mean).div_(self.std)  # in place: one batch-sized tensor
        c = self.corruption
        if c is not None:
            x = torch.stack([c.apply(img, i) if c.chosen[i] else img for img, i in zip(x, indices)])
        if self.channels != x.shape[1]:  # gray images for an RGB-only model
            x = x.repeat(1, self.channels // x.shape[1], 1, 1)
        return x.contiguous(), self.labels[indices]

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        x, y = self.__getitems__([i])
        return x[0], y[0]


@dataclass
class Streamed:
    """A dataset on the streamed path; `streamed` tells it from an in-memory data.Dataset."""

    name: str
    train: Split
    test: Split
    num_classes: int
    workers: int  # DataLoader worker processes per rank
    streamed = True

    @property
    def y_train(self) -> Tensor:
        return self.train.labels

    @property
    def y_test(self) -> Tensor:
        return self.test.labels

    @property
    def in_channels(self) -> int:
        return self.train.channels

    @property
    def image_size(self) -> int:
        return self.train.images.side


def is_streamed(data) -> bool:
    return getattr(data, "streamed", False)


def resolve_workers(workers: int | None) -> int:
    """--workers, or min(8, this rank's share of the CPUs) when not given."""
    if workers is not None:
        return workers
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(MAX_AUTO_WORKERS, cpus // memory.processes_per_machine()))


def open_data(cfg: data_mod.DataConfig, device: torch.device):
    """The dataset a training command runs on: in memory (data.Dataset) where it fits or is asked to be, else
    Streamed. UsageError for bad options, RunError for bad files."""
    data_mod.check(cfg)
    if cfg.dataset == "imagefolder":
        if cfg.in_memory == "yes":
            raise UsageError("--data-in-memory yes: imagefolder is always streamed; drop the flag or give auto or no")
        from deepgen_cli.engine.data.folder import read_folders

        x_tr, y_tr, x_te, y_te, classes = read_folders(cfg.data_dir, cfg.image_size)
        return _streamed(cfg, x_tr, y_tr, x_te, y_te, len(classes))
    raw = None if cfg.dataset == "synthetic" else data_mod.read(cfg)  # synthetic: decided before drawing
    in_memory = cfg.in_memory == "yes" or (cfg.in_memory == "auto" and
                                           memory.fits(data_mod.final_bytes(cfg, raw), device)[0])
    if in_memory:
        return data_mod.finish(cfg, raw if raw is not None else data_mod.read(cfg))
    if raw is None:
        return _synthetic(cfg)
    x_tr, y_tr, x_te, y_te, classes = raw
    side = cfg.image_size or int(x_tr.shape[-1])
    return _streamed(cfg, ArrayImages(x_tr, side), y_tr, ArrayImages(x_te, side), y_te, classes)


def _synthetic(cfg: data_mod.DataConfig) -> Streamed:
    """data._synthetic's class means and labels, drawn the same way; each image's noise from its own seed."""
    gen = torch.Generator().manual_seed(cfg.seed)
    shape, k = cfg.synthetic_shape, cfg.synthetic_classes
    means = data_mod.SYNTHETIC_CLASS_SCALE * torch.randn(k, *shape, generator=gen)

    def labels(n: int) -> Tensor:
        return (torch.arange(n) % k)[torch.randperm(n, generator=gen)]

    y_tr, y_te = labels(cfg.synthetic_train), labels(cfg.synthetic_test)
    side = cfg.image_size or shape[-1]
    x_tr = SyntheticImages(means, y_tr, cfg.seed, "synthetic-train", side)
    x_te = SyntheticImages(means, y_te, cfg.seed, "synthetic-test", side)
    if cfg.subset is not None:
        if cfg.subset > len(y_tr):
            raise UsageError(f"--subset: {cfg.subset} is more than the {len(y_tr)} training examples of synthetic")
        keep = torch.randperm(len(y_tr), generator=gen)[:cfg.subset].sort().values
        x_tr = _Subset(x_tr, keep)
        y_tr = y_tr[keep]
    return _streamed(cfg, x_tr, y_tr, x_te, y_te, k, subset_done=True)


class _Subset:
    """Images `keep` of a source, renumbered 0..len(keep)-1."""

    def __init__(self, images, keep: Tensor):
        self.images, self.keep = images, keep.tolist()
        self.side, self.channels = images.side, images.channels

    def __len__(self) -> int:
        return len(self.keep)

    def batch(self, indices: list[int]) -> Tensor:
        return self.images.batch([self.keep[i] for i in indices])


def _streamed(cfg, x_tr, y_tr, x_te, y_te, classes: int, subset_done: bool = False) -> Streamed:
    if cfg.subset is not None and not subset_done and cfg.dataset == "imagefolder":
        if cfg.subset > len(y_tr):
            raise UsageError(f"--subset: {cfg.subset} is more than the {len(y_tr)} training examples of {cfg.dataset}")
        keep = torch.randperm(len(y_tr), generator=torch.Generator().manual_seed(cfg.seed))[:cfg.subset].sort().values
        x_tr, y_tr = _Subset(x_tr, keep), y_tr[keep]
    workers = resolve_workers(cfg.workers)
    mean, std = statistics(x_tr, cfg.seed, workers)
    return Streamed(cfg.dataset, Split(x_tr, y_tr, mean, std), Split(x_te, y_te, mean, std), classes, workers)


class _Raw(torch.utils.data.Dataset):
    def __init__(self, images):
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitems__(self, indices: list[int]) -> Tensor:
        return self.images.batch(indices)


def statistics(images, seed: int, workers: int, examples: int = STATS_EXAMPLES) -> tuple[Tensor, Tensor]:
    """Per-channel mean and std (C x 1 x 1, float32) over a seeded sample of up to `examples` training images at
    their final size; over every image when the set is that small, as the in-memory path computes them."""
    n = len(images)
    pick = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:examples].sort().values.tolist()
    batches = [pick[i:i + STATS_CHUNK] for i in range(0, len(pick), STATS_CHUNK)]
    total = sq = count = 0
    for x in Loader(_Raw(images), batch_sampler=batches, num_workers=min(workers, len(batches))):
        x = x.double()
        total = total + x.sum(dim=(0, 2, 3))
        sq = sq + x.square_().sum(dim=(0, 2, 3))
        count += x.numel() // x.shape[1]
    mean = total / count
    var = (sq - count * mean * mean) / max(count - 1, 1)  # unbiased, as Tensor.std
    std = var.clamp_min(0).sqrt().clamp_min(1e-6)  # a constant channel stays finite
    return mean.float()[:, None, None], std.float()[:, None, None]


class Batches(Sampler):
    """A batch sampler whose index batches are set before each pass (one DataLoader, workers kept across epochs)."""

    def __init__(self):
        self.batches: list[list[int]] = []

    def __iter__(self):
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


def loader(split: Split, workers: int, device: torch.device) -> tuple[Loader, Batches]:
    """A DataLoader over `split` and the sampler that receives each pass's batches; pinned memory on a GPU, so a
    batch's transfer can overlap the previous step."""
    sampler = Batches()
    return Loader(split, batch_sampler=sampler, num_workers=workers, pin_memory=device.type == "cuda",
                  persistent_workers=workers > 0), sampler


# --- what memorize asks of either kind of dataset --------------------------------------------------------

def corrupt(data: Streamed, kind: str, p: float, seed: int, corrupt_test: bool = False):
    """corrupt.corrupt on the streamed path: the same examples and new labels as in memory (the same seeded
    draws); images changed per example, fixed across epochs. An image corruption counts each chosen image as
    changed (comparing pixels would take a pass over the data). Shuffled pixels permute round(p * N_test) test
    images with the training permutation, and `corrupt_test` redraws test labels, as in memory."""
    if kind == "random-labels":
        p = 1.0
    corrupt_mod.check(kind, p)
    gen = torch.Generator().manual_seed(seed)
    test_gen = torch.Generator().manual_seed(seed + corrupt_mod.TEST_STREAM)
    y = data.y_train
    n = len(y)
    chosen = corrupt_mod.choose(n, p, gen)
    train, test = data.train, data.test
    test_chosen = torch.zeros(0, dtype=torch.int64)
    if kind in ("labels", "random-labels"):
        new = corrupt_mod.random_labels(y, chosen, data.num_classes, gen)
        changed = int((new != y).sum())
        train = Split(train.images, new, train.mean, train.std, None, train.channels)
        if corrupt_test:
            test_chosen = corrupt_mod.choose(len(test.labels), p, test_gen)
            labels = corrupt_mod.random_labels(test.labels, test_chosen, data.num_classes, test_gen)
            test = Split(test.images, labels, test.mean, test.std, test.corruption, test.channels)
    else:
        mask = torch.zeros(n, dtype=torch.bool)
        mask[chosen] = True
        side = train.images.side
        perm = torch.randperm(side * side, generator=gen) if kind == "shuffled-pixels" else None
        train = Split(train.images, y, train.mean, train.std, Corruption(kind, mask, seed, perm), train.channels)
        changed = len(chosen)
        if kind == "shuffled-pixels":
            test_chosen = corrupt_mod.choose(len(test.labels), p, test_gen)
            test_mask = torch.zeros(len(test.labels), dtype=torch.bool)
            test_mask[test_chosen] = True
            test = Split(test.images, test.labels, test.mean, test.std, Corruption(kind, test_mask, seed, perm),
                         test.channels)
    stats = corrupt_mod.CorruptionStats(kind, p, len(chosen), changed / max(n, 1), len(test_chosen))
    return Streamed(data.name, train, test, data.num_classes, data.workers), stats


def with_channels(data, channels: int):
    """Gray images repeated to `channels` (3 for RGB-only models), on either path."""
    if not is_streamed(data):
        return data_mod.Dataset(data.name, data.x_train.repeat(1, channels, 1, 1), data.y_train,
                                data.x_test.repeat(1, channels, 1, 1), data.y_test, data.num_classes)
    t, v = data.train, data.test
    return Streamed(data.name, Split(t.images, t.labels, t.mean, t.std, t.corruption, channels),
                    Split(v.images, v.labels, v.mean, v.std, v.corruption, channels), data.num_classes, data.workers)


def first_images(data, k: int) -> Tensor:
    """The first k training images as the model sees them, on either path."""
    if not is_streamed(data):
        return data.x_train[:k]
    return data.train.__getitems__(list(range(min(k, len(data.train)))))[0]
