"""Datasets as tensors: float32 NCHW images standardized with the training set's statistics, int64 labels.

Sources: scikit-learn's embedded digits, seeded synthetic Gaussians, and CIFAR-10 / MNIST / Fashion-MNIST files.
Datasets too large for memory at their final size, and image folders, stream instead (data/streamed.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

# declared with the data options (engine/config.py), re-exported: data.DataConfig, data.DATASETS, ...
from deepgen_cli.engine.config import (DATASETS, IMAGE_SIZE_RANGE, MAX_CLASSES, MAX_SYNTHETIC,  # noqa: F401
                                       DataConfig)
# The readers of each dataset's files, re-exported: callers and tests use data.read_cifar_batches, data.split, ...
from deepgen_cli.engine.data.datasets import (CIFAR_FOLDER, CIFAR_TRAIN, SYNTHETIC_CLASS_SCALE,  # noqa: F401
                                              _cifar10, _digits, _mnist, _synthetic, as_float,
                                              read_cifar_batches, split)
from deepgen_cli.engine.errors import RunError, UsageError



@dataclass
class Dataset:
    name: str
    x_train: Tensor  # float32 N x C x H x W, standardized per channel with training statistics
    y_train: Tensor  # int64 class indices
    x_test: Tensor
    y_test: Tensor
    num_classes: int

    @property
    def in_channels(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.x_train.shape[-1])


def config_for(run) -> DataConfig:
    """The data group of a training command's config, which inherits it (engine/config.py DataConfig)."""
    return DataConfig.of(run)


def load(cfg: DataConfig) -> Dataset:
    """Load `cfg.dataset`, resize, standardize and subset it. UsageError for bad options, RunError for bad files,
    and for a dataset that would not fit in memory at its final size (only memorize streams: data/streamed.py)."""
    from deepgen_cli.engine.data import memory

    check(cfg)
    if cfg.dataset == "imagefolder" or cfg.in_memory == "no":
        why = "imagefolder is always streamed" if cfg.dataset == "imagefolder" else "--data-in-memory no streams"
        raise UsageError(f"--dataset {cfg.dataset}: {why}, and this command holds its data in memory; "
                         f"`deepgen memorize` streams")
    if cfg.workers is not None:
        raise UsageError("--workers: this command holds its data in memory and loads no batches; drop it")
    raw = None if cfg.dataset == "synthetic" else read(cfg)  # synthetic images are checked before they are drawn
    if cfg.in_memory == "auto":
        fits, why = memory.fits(final_bytes(cfg, raw), None)
        if not fits:
            raise RunError(f"--dataset {cfg.dataset}: {why}; this command holds its data in memory: use --subset or "
                           f"a smaller --image-size (or --data-in-memory yes to try anyway)")
    return finish(cfg, raw if raw is not None else read(cfg))


def final_bytes(cfg: DataConfig, raw=None) -> int:
    """Bytes of the training and test images as float32 at their final size; for synthetic data (raw None) from
    the options, all examples drawn before --subset picks some, at the larger of drawn and final side."""
    from deepgen_cli.engine.data import memory

    if raw is None:
        c, side, _ = cfg.synthetic_shape
        n = cfg.synthetic_train + cfg.synthetic_test
    else:
        x_tr, _, x_te = raw[:3]
        n, c, side = len(x_tr) + len(x_te), int(x_tr.shape[1]), int(x_tr.shape[-1])
    return memory.final_bytes(n, c, max(side, cfg.image_size or 0) if raw is None else (cfg.image_size or side))


def read(cfg: DataConfig) -> tuple[Tensor, Tensor, Tensor, Tensor, int]:
    """The source images at their native size (uint8 for files, float32 for digits and synthetic), labels and
    class count, with --subset applied: x_train, y_train, x_test, y_test, classes."""
    gen = torch.Generator().manual_seed(cfg.seed)
    if cfg.dataset == "digits":
        x_tr, y_tr, x_te, y_te, classes = _digits(gen)
    elif cfg.dataset == "synthetic":
        x_tr, y_tr, x_te, y_te, classes = _synthetic(cfg, gen)
    elif cfg.dataset == "cifar10":
        x_tr, y_tr, x_te, y_te, classes = _cifar10(cfg)
    else:
        x_tr, y_tr, x_te, y_te, classes = _mnist(cfg)
    if cfg.subset is not None:
        if cfg.subset > len(y_tr):
            raise UsageError(f"--subset: {cfg.subset} is more than the {len(y_tr)} training examples of {cfg.dataset}")
        keep = torch.randperm(len(y_tr), generator=gen)[:cfg.subset].sort().values
        x_tr, y_tr = x_tr[keep], y_tr[keep]
    return x_tr, y_tr, x_te, y_te, classes


def finish(cfg: DataConfig, raw) -> Dataset:
    """The in-memory dataset from `read`'s arrays: float32, resized to --image-size, standardized per channel."""
    x_tr, y_tr, x_te, y_te, classes = raw
    x_tr, x_te = as_float(x_tr), as_float(x_te)
    if cfg.image_size is not None and cfg.image_size != x_tr.shape[-1]:
        x_tr, x_te = resize(x_tr, cfg.image_size), resize(x_te, cfg.image_size)
    mean = x_tr.mean(dim=(0, 2, 3), keepdim=True)
    std = x_tr.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6)  # a constant channel stays finite
    return Dataset(cfg.dataset, ((x_tr - mean) / std).contiguous(), y_tr.long(),
                   ((x_te - mean) / std).contiguous(), y_te.long(), classes)


def check(cfg: DataConfig) -> None:
    if cfg.dataset not in DATASETS:
        raise UsageError(f"--dataset: unknown dataset '{cfg.dataset}'; valid: {', '.join(DATASETS)}")
    if cfg.subset is not None and cfg.subset < 2:
        raise UsageError(f"--subset: must be at least 2 training examples, got {cfg.subset}")
    lo, hi = IMAGE_SIZE_RANGE
    if cfg.image_size is not None and not lo <= cfg.image_size <= hi:
        raise UsageError(f"--image-size: must be an integer in [{lo}, {hi}] pixels, got {cfg.image_size}")
    if cfg.dataset == "synthetic":
        c, h, w = cfg.synthetic_shape
        if min(c, h, w) < 1 or h != w:
            raise UsageError(f"synthetic shape must be C x S x S with positive sides, got {cfg.synthetic_shape}")
        if not 2 <= cfg.synthetic_classes <= MAX_CLASSES:
            raise UsageError(f"--synthetic-classes: must be from 2 to {MAX_CLASSES:,}, got {cfg.synthetic_classes}")
        if cfg.synthetic_train < 1 or cfg.synthetic_test < 1:
            raise UsageError("--synthetic-examples: needs at least 1 train and 1 test example")
    if cfg.dataset in ("cifar10", "mnist", "fashion-mnist") and not cfg.data_dir:
        raise UsageError(f"--data-dir: {cfg.dataset} is read from files; give the folder that holds them "
                         f"(add --download to fetch them there)")
    if cfg.dataset == "imagefolder" and (not cfg.data_dir or cfg.download):
        raise UsageError("--data-dir: imagefolder reads a folder with train/ and val/, one sub-folder of images per "
                         "class in each" + ("; --download cannot fetch one" if cfg.download else ""))
    if cfg.in_memory not in ("auto", "yes", "no"):
        raise UsageError(f"--data-in-memory: must be one of: auto, yes, no, got {cfg.in_memory}")
    if cfg.data_dir and Path(cfg.data_dir).exists() and not Path(cfg.data_dir).is_dir():
        raise UsageError(f"--data-dir: '{cfg.data_dir}' is a file; give the folder that holds the dataset "
                         f"(e.g. the one with {CIFAR_FOLDER}/ or MNIST/raw/)")


def resize(x: Tensor, side: int) -> Tensor:
    """Bilinear resize to side x side (antialiased when shrinking)."""
    return F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False,
                         antialias=side < x.shape[-1])
