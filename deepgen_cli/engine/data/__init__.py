"""Datasets as tensors: float32 NCHW images standardized with the training set's statistics, int64 labels.

Sources: scikit-learn's embedded digits, seeded synthetic Gaussians, and CIFAR-10 / MNIST / Fashion-MNIST files.
Datasets too large for memory at their final size, and image folders, stream instead (data/streamed.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from deepgen_cli.engine.data import idx, safe_pickle
from deepgen_cli.engine.errors import RunError, UsageError

DATASETS = ("digits", "synthetic", "cifar10", "mnist", "fashion-mnist", "imagefolder")
TEST_FRACTION = 0.25  # digits has no official split: a seeded 75/25 one (1,347 train / 450 test)
IMAGE_SIZE_RANGE = (4, 512)  # pixels; below 4 no model has anything to see, above 512 is a typo here
# Synthetic images: each class has its own mean image; an example is its class mean plus unit noise.
SYNTHETIC_CLASS_SCALE = 1.0
MAX_SYNTHETIC = 1_000_000  # examples per split; a million 3x32x32 float32 images is 12 GB
MAX_CLASSES = 100_000


@dataclass(frozen=True, kw_only=True)
class DataConfig:
    dataset: str = "digits"
    data_dir: str | None = None  # where cifar10 / mnist / fashion-mnist files live
    download: bool = False  # fetch them through torchvision when missing (only when asked)
    image_size: int | None = None  # resize side in pixels; None keeps native (digits: 8)
    subset: int | None = None  # train on N examples (seeded choice)
    synthetic_shape: tuple[int, int, int] = (1, 8, 8)  # channels, height, width
    synthetic_classes: int = 10
    synthetic_train: int = 1000
    synthetic_test: int = 500
    seed: int = 0
    in_memory: str = "auto"  # yes | no | auto (in memory when it fits at its final size: data/memory.py)
    workers: int | None = None  # DataLoader workers per rank on the streamed path; None: min(8, CPUs per rank)


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
    """The DataConfig of a training subcommand's config, which names its data options as DataConfig does
    (the synthetic counts as synthetic_examples = (train, test))."""
    train, test = run.synthetic_examples
    return DataConfig(dataset=run.dataset, data_dir=run.data_dir, download=run.download, image_size=run.image_size,
                      subset=run.subset, synthetic_shape=tuple(run.synthetic_shape),
                      synthetic_classes=run.synthetic_classes, synthetic_train=train, synthetic_test=test,
                      seed=run.seed, in_memory=getattr(run, "data_in_memory", "auto"),
                      workers=getattr(run, "workers", None))


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


def as_float(x: Tensor) -> Tensor:
    """Source images as float32: uint8 files to [0, 1], digits (0..16) and synthetic values as they are."""
    return x.float() / 255 if x.dtype == torch.uint8 else x.float()


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


def split(n: int, gen: torch.Generator, test_fraction: float = TEST_FRACTION) -> tuple[Tensor, Tensor]:
    """Seeded train/test indices; the test part is ceil(n * fraction) examples (scikit-learn's rule)."""
    order = torch.randperm(n, generator=gen)
    n_test = math.ceil(n * test_fraction)
    return order[n_test:].sort().values, order[:n_test].sort().values


def _digits(gen: torch.Generator):
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1)  # 1797 x 1 x 8 x 8, values 0..16
    y = torch.tensor(d.target, dtype=torch.int64)
    tr, te = split(len(y), gen)
    return x[tr], y[tr], x[te], y[te], 10


def _synthetic(cfg: DataConfig, gen: torch.Generator):
    shape, k = cfg.synthetic_shape, cfg.synthetic_classes
    means = SYNTHETIC_CLASS_SCALE * torch.randn(k, *shape, generator=gen)

    def draw(n: int):
        y = torch.arange(n) % k  # balanced classes, shuffled
        y = y[torch.randperm(n, generator=gen)]
        return means[y] + torch.randn(n, *shape, generator=gen), y

    x_tr, y_tr = draw(cfg.synthetic_train)
    x_te, y_te = draw(cfg.synthetic_test)
    return x_tr, y_tr, x_te, y_te, k


def _missing(cfg: DataConfig, path: Path, why: str) -> RunError:
    return RunError(f"--dataset {cfg.dataset}: {why} at '{path}'; add --download to fetch it there, "
                    f"or point --data-dir at the folder that holds it")


CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_TEST = ("test_batch",)


def _cifar10(cfg: DataConfig):
    root = Path(cfg.data_dir)
    folder = root / CIFAR_FOLDER
    if cfg.download:
        _download("cifar10", root)
    x_tr, y_tr = read_cifar_uint8(folder, CIFAR_TRAIN, cfg)
    x_te, y_te = read_cifar_uint8(folder, CIFAR_TEST, cfg)
    return x_tr, y_tr, x_te, y_te, 10


def read_cifar_batches(folder: Path, names: tuple[str, ...], cfg: DataConfig) -> tuple[Tensor, Tensor]:
    """CIFAR-10 batches as float32 images in [0, 1] and int64 labels (read_cifar_uint8)."""
    x, y = read_cifar_uint8(folder, names, cfg)
    return as_float(x), y


def read_cifar_uint8(folder: Path, names: tuple[str, ...], cfg: DataConfig) -> tuple[Tensor, Tensor]:
    """Read CIFAR-10 python pickles (dicts with b'data': uint8 N x 3072 and b'labels') into tensors: uint8
    N x 3 x 32 x 32 images (3,072 bytes each: the whole training set is 150 MB) and int64 labels.

    The same format torchvision's CIFAR10 reads; we read it ourselves so that its fixed md5 list does not
    reject files written elsewhere (tests write tiny ones), and check shapes and labels instead. The pickle
    is read by safe_pickle, which calls nothing the file names: a file that asks for anything but numpy's
    arrays is refused, unrun.
    """
    xs, ys = [], []
    for name in names:
        path = folder / name
        if not path.is_file():
            raise _missing(cfg, folder, f"no CIFAR-10 file '{name}'")
        try:
            batch = safe_pickle.load(path)
            data = batch.get(b"data", batch.get("data"))
            labels = batch.get(b"labels", batch.get("labels"))
            x = torch.as_tensor(data).reshape(-1, 3, 32, 32)
            y = torch.as_tensor(list(labels), dtype=torch.int64)
        except safe_pickle.Refused as refused:
            raise RunError(f"--data-dir: '{path}' is not a CIFAR-10 batch: {refused}; refused, "
                           f"nothing in it was run") from None
        except Exception:
            raise _missing(cfg, path, "the CIFAR-10 file is corrupt (not a pickle with b'data' N x 3072 "
                                      "and b'labels')") from None
        if len(x) != len(y) or x.dtype != torch.uint8 or (len(y) and not 0 <= int(y.min()) <= int(y.max()) < 10):
            raise _missing(cfg, path, "the CIFAR-10 file is corrupt (data and labels disagree)")
        xs.append(x)  # uint8: 3,072 bytes per image until the run converts it (as_float)
        ys.append(y)
    return torch.cat(xs), torch.cat(ys)


MNIST_FOLDERS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}  # torchvision's class names
MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _mnist(cfg: DataConfig):
    root = Path(cfg.data_dir)
    raw = root / MNIST_FOLDERS[cfg.dataset] / "raw"
    if cfg.download:
        _download(cfg.dataset, root)
    absent = [name for name in MNIST_FILES if not (raw / name).is_file()]
    if absent:
        raise _missing(cfg, raw, f"no idx file '{absent[0]}' (of {', '.join(MNIST_FILES)})")
    out = []
    for prefix in ("train", "t10k"):
        images, labels = raw / f"{prefix}-images-idx3-ubyte", raw / f"{prefix}-labels-idx1-ubyte"
        x, y = _idx(cfg, images, 3), _idx(cfg, labels, 1)
        if x.shape[1] != x.shape[2] or len(x) != len(y) or (len(y) and not 0 <= int(y.min()) <= int(y.max()) < 10):
            raise _missing(cfg, raw, f"the idx files are corrupt ({images.name} holds {len(x)} images of "
                                     f"{x.shape[1]} x {x.shape[2]} pixels, {labels.name} {len(y)} labels, "
                                     f"which must be square images, as many as labels, each 0-9)")
        out += [x.unsqueeze(1), y.long()]  # uint8 until as_float
    return (*out, 10)


def _idx(cfg: DataConfig, path: Path, ndim: int) -> Tensor:
    try:
        return idx.read_idx(path, ndim)
    except idx.IdxError as err:
        raise _missing(cfg, path, f"the idx file is corrupt or truncated ({err})") from None


def _download(name: str, root: Path) -> None:
    from torchvision import datasets

    cls = {"cifar10": datasets.CIFAR10, "mnist": datasets.MNIST, "fashion-mnist": datasets.FashionMNIST}[name]
    try:
        for train in (True, False):
            cls(str(root), train=train, download=True)
    except Exception as err:
        raise RunError(f"--download: fetching {name} into '{root}' failed ({type(err).__name__}: {err}); "
                       f"check the network or place the files there yourself") from None
