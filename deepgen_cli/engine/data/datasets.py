"""The datasets' own readers: digits (embedded, a seeded split), synthetic class-mean images, and the files of
CIFAR-10 (restricted unpickling) and MNIST / Fashion-MNIST (idx files checked against their headers), each
giving x_train, y_train, x_test, y_test and the class count at the native image size."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import Tensor

from deepgen_cli.engine.data import idx, safe_pickle
from deepgen_cli.engine.config import DataConfig
from deepgen_cli.engine.errors import RunError

TEST_FRACTION = 0.25  # digits has no official split: a seeded 75/25 one (1,347 train / 450 test)
# Synthetic images: each class has its own mean image; an example is its class mean plus unit noise.
SYNTHETIC_CLASS_SCALE = 1.0


def as_float(x: Tensor) -> Tensor:
    """Source images as float32: uint8 files to [0, 1], digits (0..16) and synthetic values as they are."""
    return x.float() / 255 if x.dtype == torch.uint8 else x.float()


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
