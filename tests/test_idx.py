"""MNIST idx files: the header's magic number and sizes are checked against the file before anything is read."""

import struct

import numpy as np
import pytest
import torch

from deepgen_cli.engine import data
from deepgen_cli.engine.data.idx import IdxError, read_idx
from tests.test_data import write_mnist


def _header(*shape: int, kind: int = 0x08) -> bytes:
    return bytes([0, 0, kind, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


def test_values_come_back_in_the_header_shape(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(_header(2, 3, 3) + bytes(range(18)))
    x = read_idx(path, 3)
    assert x.dtype == torch.uint8 and x.shape == (2, 3, 3)
    assert x[1, 2, 0].item() == 9 + 6 and x.flatten().tolist() == list(range(18))
    path.write_bytes(_header(0))
    assert read_idx(path, 1).shape == (0,)


@pytest.mark.parametrize("content, ndim, why", [
    (b"\x00\x00", 1, "2 bytes, shorter than the 4-byte magic number"),
    (b"\x1f\x8b\x08\x08", 1, "magic number 1f8b0808 is not that of an idx file of unsigned bytes"),  # still gzipped
    (_header(3, kind=0x0D) + b"\x00" * 12, 1, "magic number 00000d01"),  # floats: MNIST has none
    (_header(2, 2) + b"\x00" * 4, 1, "the header gives 2 dimensions, this file must have 1"),
    (_header(6, 28)[:10], 2, "10 bytes, shorter than its 12-byte header"),
    (_header(6, 28, 28) + b"\x00" * 28 * 28 * 3, 3, "the header gives 6 x 28 x 28 = 4,704 bytes of values, "
                                                     "the file holds 2,352"),
    (_header(2) + b"\x00\x01\x02", 1, "the header gives 2 = 2 bytes of values, the file holds 3"),
    # a header that promises 4 GiB over 16 bytes of file is refused before 4 GiB is asked for
    (_header(0xFFFFFFFF) + b"\x00" * 4, 1, "the header gives 4294967295 = 4,294,967,295 bytes of values, "
                                           "the file holds 4"),
], ids=["short", "gzip", "floats", "dims", "short-header", "truncated", "trailing", "huge"])
def test_a_header_that_disagrees_with_the_file_is_refused(tmp_path, content, ndim, why):
    path = tmp_path / "f"
    path.write_bytes(content)
    with pytest.raises(IdxError) as err:
        read_idx(path, ndim)
    assert str(err.value).startswith(why)


def test_a_truncated_mnist_file_names_itself_and_its_sizes(tmp_path):
    raw = write_mnist(tmp_path, train=6, test=4)
    images = raw / "t10k-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-1])
    with pytest.raises(data.RunError) as err:
        data.load(data.DataConfig(dataset="mnist", data_dir=str(tmp_path)))
    assert str(err.value) == (f"--dataset mnist: the idx file is corrupt or truncated (the header gives 4 x 28 x 28 = "
                              f"3,136 bytes of values, the file holds 3,135) at '{images}'; add --download to fetch "
                              f"it there, or point --data-dir at the folder that holds it")


def test_images_and_labels_that_disagree(tmp_path):
    raw = write_mnist(tmp_path, folder="FashionMNIST", train=6, test=4)
    (raw / "train-labels-idx1-ubyte").write_bytes(_header(5) + bytes(5))  # 6 images, 5 labels
    with pytest.raises(data.RunError, match=r"train-images-idx3-ubyte holds 6 images of 28 x 28 pixels, "
                                            r"train-labels-idx1-ubyte 5 labels.*FashionMNIST/raw"):
        data.load(data.DataConfig(dataset="fashion-mnist", data_dir=str(tmp_path)))
    (raw / "train-labels-idx1-ubyte").write_bytes(_header(6) + bytes([0, 1, 2, 3, 4, 10]))  # label 10
    with pytest.raises(data.RunError, match="each 0-9"):
        data.load(data.DataConfig(dataset="fashion-mnist", data_dir=str(tmp_path)))


def test_the_reader_matches_torchvisions_on_the_same_files(tmp_path):
    torchvision = pytest.importorskip("torchvision")
    write_mnist(tmp_path, train=6, test=4)
    theirs = torchvision.datasets.MNIST(str(tmp_path), train=True, download=False)
    ours = read_idx(tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte", 3)
    assert torch.equal(ours, theirs.data)
    assert np.array_equal(read_idx(tmp_path / "MNIST" / "raw" / "train-labels-idx1-ubyte", 1).numpy(),
                          theirs.targets.numpy())
