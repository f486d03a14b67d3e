"""The CIFAR-10 batch reader: numpy's own pickles (protocols 0-5, and Python 2's) load as pickle.load loads
them; any other name a file asks for is refused before it is called."""

import builtins
import os
import pickle
import struct
import warnings

import numpy as np
import pytest
import torch

from deepgen_cli.engine import data
from deepgen_cli.engine.data import safe_pickle
from deepgen_cli.engine.data.safe_pickle import Refused

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, (4, 3072), dtype=np.uint8)
# What real batches and batches written with numpy hold, and the array layouts numpy pickles differently:
# Fortran order (protocol 5 keeps it), a strided view (pickled as a copy), big-endian, empty, scalars.
BATCH = {b"data": IMAGES, b"labels": [1, 2, 3, 4], b"batch_label": b"training batch 1 of 5",
         b"filenames": [b"a.png", b"b.png"], "fortran": np.asfortranarray(IMAGES[:, :6]), "strided": IMAGES[:, ::512],
         "big_endian": np.arange(5, dtype=">f4"), "labels_i8": np.arange(4, dtype=np.int64),
         "empty": np.zeros((0, 3), np.uint8), "scalar": np.int64(-3), "pair": (IMAGES[:1], [IMAGES[1:2]]),
         "flags": np.array([True, False]), "nothing": b""}


def _same(ours, numpys) -> bool:
    if isinstance(numpys, np.ndarray):  # numpy's own load gives native byte order for protocols 0-4
        return (isinstance(ours, np.ndarray) and ours.dtype == numpys.dtype.newbyteorder("=")
                and ours.shape == numpys.shape and bool((ours == numpys).all()) and ours.flags.writeable)
    if isinstance(numpys, (tuple, list)):
        return type(ours) is type(numpys) and len(ours) == len(numpys) and all(map(_same, ours, numpys))
    return type(ours) is type(numpys) and ours == numpys


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_numpy_pickles_of_every_protocol_load_as_pickle_loads_them(tmp_path, protocol):
    path = tmp_path / "batch"
    path.write_bytes(pickle.dumps(BATCH, protocol=protocol))
    ours, numpys = safe_pickle.load(path), pickle.loads(path.read_bytes(), encoding="bytes")
    assert list(ours) == list(numpys) == list(BATCH)
    assert [k for k in BATCH if not _same(ours[k], numpys[k])] == []
    assert ours["big_endian"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0] and ours["scalar"] == -3


def _int(n: int) -> bytes:  # BININT1, BININT2, BININT
    return b"K" + bytes([n]) if n < 256 else b"M" + struct.pack("<H", n) if n < 65536 else b"J" + struct.pack("<i", n)


def _str(b: bytes) -> bytes:  # Python 2's str: SHORT_BINSTRING or BINSTRING, read back as bytes
    return b"U" + bytes([len(b)]) + b if len(b) < 256 else b"T" + struct.pack("<i", len(b)) + b


def python2_batch(images: np.ndarray, labels: list[int]) -> bytes:
    """A batch as Python 2's cPickle (protocol 2) and numpy 1.x wrote CIFAR-10 in 2009: numpy.core names,
    dtype('u1', 0, 1) with state (3, '|', ...), and the pixels as one str."""
    n = len(labels)
    array = (b"cnumpy.core.multiarray\n_reconstruct\n" + b"cnumpy\nndarray\n" + _int(0) + b"\x85" + _str(b"b")
             + b"\x87R" + b"(" + _int(1) + _int(n) + _int(3072) + b"\x86"
             + b"cnumpy\ndtype\n" + _str(b"u1") + _int(0) + _int(1) + b"\x87R"
             + b"(" + _int(3) + _str(b"|") + b"NNN" + b"J\xff\xff\xff\xff" * 2 + _int(0) + b"tb"
             + b"\x89" + _str(images.tobytes()) + b"tb")
    return (b"\x80\x02}(" + _str(b"batch_label") + _str(b"training batch 1 of 5") + _str(b"data") + array
            + _str(b"labels") + b"](" + b"".join(_int(i) for i in labels) + b"e" + b"u.")


def test_a_python2_batch_loads_as_numpy_loads_it(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(python2_batch(IMAGES, [1, 2, 3, 9]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # numpy 2 warns about numpy.core
        numpys = pickle.loads(path.read_bytes(), encoding="bytes")
    ours = safe_pickle.load(path)
    assert numpys[b"data"].shape == (4, 3072) and _same(ours[b"data"], numpys[b"data"])
    assert ours[b"labels"] == [1, 2, 3, 9] and ours[b"batch_label"] == b"training batch 1 of 5"
    x, y = data.read_cifar_batches(tmp_path, ("data_batch_1",), data.DataConfig(dataset="cifar10"))
    assert y.tolist() == [1, 2, 3, 9] and x.shape == (4, 3, 32, 32)
    assert torch.equal((x * 255).round().to(torch.uint8).reshape(4, 3072), torch.from_numpy(IMAGES))


class Payload:
    """Unpickling it calls fn(*args): what a hostile 'batch' does."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def _global(module: bytes, name: bytes) -> bytes:  # protocol 4's STACK_GLOBAL: names from the data, any bytes
    return b"\x8c" + bytes([len(module)]) + module + b"\x8c" + bytes([len(name)]) + name + b"\x93"


@pytest.mark.parametrize("stream, asks", [
    (pickle.dumps({b"data": Payload(os.system, "touch x")}), f"to load {os.system.__module__}.system"),
    (pickle.dumps({b"data": Payload(builtins.open, "x", "w")}, protocol=2), "to load io.open"),
    (pickle.dumps(Payload(exec, "open('x', 'w')"), protocol=2), "to load __builtin__.exec"),  # Python 2's name
    (pickle.dumps([Payload(eval, "1")]), "to load builtins.eval"),
    (pickle.dumps(Payload(np.load, "x.npy")), "to load numpy.load"),  # numpy, but not an array's name
    (pickle.dumps(np.memmap), "to load numpy.memmap"),
    (b"\x80\x04" + _global(b"os", b"system\nx") + b".", r"to load os.'system\nx'"),  # kept on one line
    (pickle.dumps(np.array([1, None], dtype=object), protocol=2), "for an array of numpy dtype O8, not numbers"),
], ids=["os.system", "open", "exec", "eval", "numpy.load", "numpy.memmap", "newline", "object-array"])
def test_any_other_name_is_refused_and_named(tmp_path, monkeypatch, stream, asks):
    monkeypatch.chdir(tmp_path)  # where the payloads' relative 'x' would appear
    path = tmp_path / "b"
    path.write_bytes(stream)
    with pytest.raises(Refused) as refused:
        safe_pickle.load(path)
    assert refused.value.asks == asks and str(refused.value) == "it asks " + asks
    assert not (tmp_path / "x").exists()


NDARRAY, RECONSTRUCT, DTYPE = b"cnumpy\nndarray\n", b"cnumpy._core.multiarray\n_reconstruct\n", b"cnumpy\ndtype\n"


@pytest.mark.parametrize("stream, why", [
    (b"\x80\x02" + NDARRAY + b"J\x00\xca\x9a\x3b\x85\x85R.", "numpy.ndarray is called directly"),  # 10**9 bytes
    (b"\x80\x02c__builtin__\nbytes\nJ\x00\xca\x9a\x3b\x85R.", "bytes() with arguments"),
    (b"\x80\x02" + RECONSTRUCT + DTYPE + b"K\x00\x85U\x01b\x87R.", "_reconstruct of something other than"),
    (b"\x80\x02" + DTYPE + b"}U\x01aK\x01sb.", "the file sets state on numpy.dtype"),
    (b"\x80\x02" + RECONSTRUCT + NDARRAY + b"K\x00\x85U\x01b\x87R.", "an array without its data"),
    (b"\x80\x02" + RECONSTRUCT + NDARRAY + b"K\x00\x85U\x01b\x87R(K\x01K\x05\x85" + DTYPE + b"U\x02u1\x85R"
     + b"\x89U\x03abctb.", "an array of shape (5,) whose data is not 5 bytes"),
    (b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x04\x00\x00\x00zlib\x86R.", "_codecs.encode with arguments"),
], ids=["ndarray-called", "bytes-n", "reconstruct-dtype", "build-on-stand-in", "no-state", "short-data", "zlib"])
def test_numpy_names_used_otherwise_than_numpy_uses_them_are_errors(tmp_path, stream, why):
    path = tmp_path / "b"
    path.write_bytes(stream)
    with pytest.raises(pickle.UnpicklingError, match=why.replace("(", r"\(").replace(")", r"\)")) as err:
        safe_pickle.load(path)
    assert not isinstance(err.value, Refused)  # damaged, not hostile: the caller says "corrupt"


def test_the_cifar_reader_turns_a_refusal_into_one_line_naming_the_file(tmp_path):
    folder = tmp_path / data.CIFAR_FOLDER
    folder.mkdir()
    (folder / "data_batch_1").write_bytes(pickle.dumps({b"data": Payload(eval, "1"), b"labels": [0]}))
    with pytest.raises(data.RunError) as err:
        data.read_cifar_batches(folder, ("data_batch_1",), data.DataConfig(dataset="cifar10"))
    assert str(err.value) == (f"--data-dir: '{folder / 'data_batch_1'}' is not a CIFAR-10 batch: it asks to load "
                              f"builtins.eval; refused, nothing in it was run")
