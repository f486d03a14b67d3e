"""Data sources: digits split and standardization, synthetic images, and tiny CIFAR-10 / MNIST files on disk."""

import pickle
import struct

import numpy as np
import pytest
import torch

from deepgen_cli.engine import data
from deepgen_cli.engine.config import parse_counts, parse_shape
from deepgen_cli.engine.errors import RunError, UsageError


def test_digits_split_is_75_25_and_standardized():
    d = data.load(data.DataConfig())
    assert d.x_train.shape == (1347, 1, 8, 8) and d.x_test.shape == (450, 1, 8, 8)
    assert (d.in_channels, d.image_size, d.num_classes) == (1, 8, 10)
    assert d.x_train.dtype == torch.float32 and d.y_train.dtype == torch.int64
    assert d.x_train.mean().item() == pytest.approx(0.0, abs=1e-5)
    assert d.x_train.std().item() == pytest.approx(1.0, abs=1e-5)
    assert set(d.y_train.tolist()) == set(range(10))


def test_split_is_disjoint_complete_and_seeded():
    tr, te = data.split(1797, torch.Generator().manual_seed(0))
    assert len(te) == 450 and len(tr) == 1347
    assert sorted(tr.tolist() + te.tolist()) == list(range(1797))
    again, _ = data.split(1797, torch.Generator().manual_seed(0))
    other, _ = data.split(1797, torch.Generator().manual_seed(1))
    assert torch.equal(tr, again) and not torch.equal(tr, other)


def test_resize_and_subset():
    d = data.load(data.DataConfig(image_size=16, subset=100, seed=3))
    assert d.x_train.shape == (100, 1, 16, 16) and d.x_test.shape == (450, 1, 16, 16)
    full = data.load(data.DataConfig(seed=3))
    assert torch.equal(full.y_test, d.y_test)  # the subset comes from the training part only


def test_synthetic_shape_classes_and_balance():
    cfg = data.DataConfig(dataset="synthetic", synthetic_shape=(3, 4, 4), synthetic_classes=5,
                          synthetic_examples=(20, 10), seed=7)
    d = data.load(cfg)
    assert d.x_train.shape == (20, 3, 4, 4) and d.x_test.shape == (10, 3, 4, 4) and d.num_classes == 5
    assert torch.bincount(d.y_train).tolist() == [4, 4, 4, 4, 4]
    assert torch.equal(data.load(cfg).x_train, d.x_train)


@pytest.mark.parametrize("cfg, flag", [
    (data.DataConfig(dataset="imagenet"), "--dataset"),
    (data.DataConfig(subset=5000), "--subset"),
    (data.DataConfig(image_size=2), "--image-size"),
    (data.DataConfig(dataset="cifar10"), "--data-dir"),
])
def test_bad_options_are_usage_errors(cfg, flag):
    with pytest.raises(UsageError, match=flag):
        data.load(cfg)


def _cifar_batch(path, images: np.ndarray, labels: list[int]) -> None:
    with open(path, "wb") as f:
        pickle.dump({b"data": images.reshape(len(labels), 3072), b"labels": labels}, f)


def write_cifar(root, per_batch: int = 2, test: int = 3):
    folder = root / data.CIFAR_FOLDER
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in data.CIFAR_TRAIN:
        _cifar_batch(folder / name, rng.integers(0, 256, (per_batch, 3, 32, 32), dtype=np.uint8),
                     [i % 10 for i in range(per_batch)])
    _cifar_batch(folder / "test_batch", rng.integers(0, 256, (test, 3, 32, 32), dtype=np.uint8), [9] * test)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": [str(i).encode() for i in range(10)]}, f)
    return folder


def test_cifar10_pickles_are_read_as_rgb_planes(tmp_path):
    folder = write_cifar(tmp_path)
    red = np.zeros((1, 3, 32, 32), dtype=np.uint8)
    red[0, 0] = 255  # the first 1024 bytes of a row are the red plane
    _cifar_batch(folder / "data_batch_1", np.concatenate([red, red]), [3, 7])
    x, y = data.read_cifar_batches(folder, ("data_batch_1",), data.DataConfig(dataset="cifar10"))
    assert y.tolist() == [3, 7]
    assert x[0, 0].min().item() == 1.0 and x[0, 1:].max().item() == 0.0
    d = data.load(data.DataConfig(dataset="cifar10", data_dir=str(tmp_path)))
    assert d.x_train.shape == (10, 3, 32, 32) and d.x_test.shape == (3, 3, 32, 32)
    assert d.y_train.tolist()[:4] == [3, 7, 0, 1] and d.y_test.tolist() == [9, 9, 9]


def test_cifar10_missing_or_corrupt_names_the_path_and_download(tmp_path):
    with pytest.raises(RunError, match=r"cifar-10-batches-py.*--download"):
        data.load(data.DataConfig(dataset="cifar10", data_dir=str(tmp_path)))
    folder = write_cifar(tmp_path)
    (folder / "data_batch_3").write_bytes(b"not a pickle")
    with pytest.raises(RunError, match=r"corrupt.*data_batch_3.*--download"):
        data.load(data.DataConfig(dataset="cifar10", data_dir=str(tmp_path)))


def _idx(path, array: np.ndarray) -> None:
    # idx format: two zero bytes, type 0x08 (ubyte), the number of dimensions, then big-endian int32 sizes
    header = bytes([0, 0, 8, array.ndim]) + b"".join(struct.pack(">i", s) for s in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def write_mnist(root, folder="MNIST", train=6, test=4):
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    for prefix, n in (("train", train), ("t10k", test)):
        images = np.zeros((n, 28, 28), dtype=np.uint8)
        images[:, 0, 0] = np.arange(n) * 10  # a pixel that tells the images apart
        _idx(raw / f"{prefix}-images-idx3-ubyte", images)
        _idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)
    return raw


@pytest.mark.parametrize("name, folder", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
def test_mnist_idx_files_are_read(tmp_path, name, folder):
    write_mnist(tmp_path, folder)
    d = data.load(data.DataConfig(dataset=name, data_dir=str(tmp_path)))
    assert d.x_train.shape == (6, 1, 28, 28) and d.x_test.shape == (4, 1, 28, 28)
    assert d.y_train.tolist() == [0, 1, 2, 3, 4, 5] and d.y_test.tolist() == [0, 1, 2, 3]
    # the marked pixel rises with the index; standardization keeps that order
    assert torch.all(d.x_train[1:, 0, 0, 0] > d.x_train[:-1, 0, 0, 0])


def test_mnist_missing_or_corrupt(tmp_path):
    with pytest.raises(RunError, match=r"MNIST/raw.*--download"):
        data.load(data.DataConfig(dataset="mnist", data_dir=str(tmp_path)))
    raw = write_mnist(tmp_path)
    (raw / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03" + b"\x00" * 5)  # truncated header
    with pytest.raises(RunError, match=r"corrupt.*--download"):
        data.load(data.DataConfig(dataset="mnist", data_dir=str(tmp_path)))


def test_synthetic_shape_and_counts_parse():
    assert parse_shape("3x32x32") == (3, 32, 32) and parse_shape("1X8X8") == (1, 8, 8)
    assert parse_counts("1000,500") == (1000, 500)
    for bad in ("3x32", "3x32x16", "0x8x8", "axbxc"):
        with pytest.raises(UsageError, match="--synthetic-shape"):
            parse_shape(bad)
    for bad in ("10", "0,5", "5,x"):
        with pytest.raises(UsageError, match="--synthetic-examples"):
            parse_counts(bad)


def test_data_dir_that_is_a_file(tmp_path):
    f = tmp_path / "f"
    f.write_text("x")
    with pytest.raises(UsageError, match="--data-dir: .* is a file"):
        data.load(data.DataConfig(dataset="cifar10", data_dir=str(f)))
