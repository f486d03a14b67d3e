"""A pickle reader for CIFAR-10 python batches that runs nothing the file names.

`pickle.load` calls whatever callable a file asks for. This reader knows only the names numpy's own pickles
use for arrays, dtypes and scalars (plus `_codecs.encode` and `bytes`, which protocols 0-2 use for bytes);
it answers each with a stand-in of its own that merely records its arguments, and builds the arrays with
numpy.frombuffer after the stream has been read. Any other name refuses the file (`Refused`) unrun.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import numpy as np

# numpy's pickles name these; numpy 1.x (and the Python 2 that wrote CIFAR-10 in 2009) says numpy.core,
# numpy 2.x numpy._core. Protocol 5 writes contiguous arrays through _frombuffer, 0-4 through _reconstruct.
_NUMPY = ("numpy.core", "numpy._core")
# Number dtypes only, as numpy spells them in a pickle ('u1' is CIFAR's uint8): no object, string, void or
# structured dtypes, whose payloads are Python objects or whose layout the file would choose.
NUMBER_DTYPES = frozenset({"b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16"})
_ENDIAN = {"|": "", "=": "=", "<": "<", ">": ">"}
MAX_DEPTH = 64  # containers inside containers; a batch is a dict of arrays and lists (depth 2)


class Refused(pickle.UnpicklingError):
    """The file asks for something a CIFAR-10 batch never holds; `asks` completes "it asks ..."."""

    def __init__(self, asks: str):
        super().__init__(f"it asks {asks}")
        self.asks = asks


def load(path: str | Path) -> object:
    """Unpickle a CIFAR-10 batch as pickle.load(f, encoding='bytes') would, calling nothing the file names.

    Raises Refused for a name outside the allowed few (or a non-number dtype); any other exception means
    the file is damaged.
    """
    with open(path, "rb") as f:
        raw = _Reader(f, encoding="bytes").load()
    return _resolve(raw, {}, 0)


def _shown(text) -> str:
    # A name from the stream may hold anything (STACK_GLOBAL takes it from the data): keep it one short line.
    text = text if isinstance(text, str) else repr(text)
    return text if re.fullmatch(r"[\w.]{1,120}", text) else ascii(text)[:120]


class _Known:
    """A stand-in for one allowed name: callable with the arguments numpy's pickles pass, nothing else."""

    __slots__ = ("fn", "label")

    def __init__(self, fn, label: str):
        self.fn, self.label = fn, label

    def __call__(self, *args):
        if self.fn is None:
            raise pickle.UnpicklingError(f"{self.label} is called directly, as numpy's pickles never do")
        return self.fn(*args)

    def __setstate__(self, state):  # BUILD on a stand-in would otherwise set attributes on it
        raise pickle.UnpicklingError(f"the file sets state on {self.label}")


class _Pending:
    """A numpy object described by the stream, built (once) after the stream ends."""

    __slots__ = ("args", "state", "built")
    __hash__ = None  # never a dict key or set member: a key is never resolved

    def __init__(self, *args):
        self.args, self.state, self.built = args, None, None

    def __setstate__(self, state):
        if self.state is not None or not self.takes_state:
            raise pickle.UnpicklingError(f"unexpected state for a {type(self).__name__.lstrip('_')}")
        self.state = state

    takes_state = False

    def value(self):
        if self.built is None:
            self.built = self.build()
        return self.built


class _Dtype(_Pending):
    """numpy.dtype(code, align, copy), then BUILD with (version, endian, subarray, names, fields, ...)."""

    __slots__ = ()
    takes_state = True

    def build(self) -> np.dtype:
        code = _text(self.args[0] if self.args else None)
        state = self.state if isinstance(self.state, tuple) else (3, "|")  # no BUILD: numpy's default order
        endian = _text(state[1]) if len(state) > 1 else None
        if not isinstance(code, str):
            raise pickle.UnpicklingError("a dtype without a type code")
        if code not in NUMBER_DTYPES:
            raise Refused(f"for an array of numpy dtype {_shown(code)}, not numbers")
        if not isinstance(endian, str) or endian not in _ENDIAN or any(s is not None for s in state[2:5]):
            raise pickle.UnpicklingError("a dtype with a byte order or fields numpy never writes for numbers")
        return np.dtype(_ENDIAN[endian] + code)


class _Array(_Pending):
    """_reconstruct(ndarray, (0,), b'b'), then BUILD with (version, shape, dtype, is_fortran, raw bytes)."""

    __slots__ = ()
    takes_state = True

    def build(self) -> np.ndarray:
        if self.state is None:
            raise pickle.UnpicklingError("an array without its data")
        state = self.state[1:] if len(self.state) == 5 else self.state  # numpy < 1.0 wrote no version
        shape, dtype, fortran, raw = state
        if isinstance(raw, str):  # written by Python 2 and read as text: numpy encodes it as latin-1
            raw = raw.encode("latin-1")
        return _from_bytes(raw, dtype, shape, "F" if fortran else "C")


class _Buffer(_Pending):
    """Protocol 5: _frombuffer(bytes, dtype, shape, order)."""

    __slots__ = ()

    def build(self) -> np.ndarray:
        raw, dtype, shape, order = self.args
        return _from_bytes(raw, dtype, shape, _text(order))


class _Scalar(_Pending):
    """scalar(dtype, bytes): one number, as numpy pickles its scalar types (np.int64(3))."""

    __slots__ = ()

    def build(self):
        dtype, raw = self.args
        return _from_bytes(raw, dtype, (), "C")[()]


def _text(value) -> str:
    return value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else value


def _from_bytes(raw, dtype, shape, order: str) -> np.ndarray:
    if not isinstance(dtype, _Dtype):
        raise pickle.UnpicklingError("an array whose dtype is not a numpy dtype")
    dt = dtype.value()
    if not (isinstance(shape, tuple) and all(type(s) is int and s >= 0 for s in shape)):
        raise pickle.UnpicklingError(f"an array shape that is not a tuple of sizes: {_shown(shape)}")
    count = 1
    for s in shape:
        count *= s
    if not isinstance(raw, (bytes, bytearray)) or len(raw) != count * dt.itemsize or order not in ("C", "F"):
        raise pickle.UnpicklingError(f"an array of shape {shape} whose data is not {count * dt.itemsize} bytes")
    # bytearray: a writable copy, which torch.as_tensor wants; the size is the file's own. Native byte order,
    # as numpy's own unpickling gives and torch requires.
    out = np.frombuffer(bytearray(raw), dtype=dt).reshape(shape, order=order)
    return out if dt.isnative else out.astype(dt.newbyteorder("="))


def _encode(text, encoding):
    # Protocols 0-2 under Python 3 write bytes b as _codecs.encode(b.decode('latin1'), 'latin1').
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("_codecs.encode with arguments other than (text, 'latin1')")
    return text.encode("latin-1")


def _empty_bytes(*args):
    # ...and empty bytes as bytes(), with no argument (bytes(n) would allocate n bytes the file never holds).
    if args:
        raise pickle.UnpicklingError("bytes() with arguments, as pickle never writes")
    return b""


def _reconstruct(subtype, shape, code):
    if subtype is not _NDARRAY:
        raise pickle.UnpicklingError("_reconstruct of something other than numpy.ndarray")
    return _Array()


_NDARRAY = _Known(None, "numpy.ndarray")  # only ever _reconstruct's first argument
ALLOWED: dict[tuple[str, str], _Known] = {
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _Known(_Dtype, "numpy.dtype"),
    ("_codecs", "encode"): _Known(_encode, "_codecs.encode"),
    ("__builtin__", "bytes"): _Known(_empty_bytes, "bytes"),  # the name protocols 0-2 write for builtins
    ("builtins", "bytes"): _Known(_empty_bytes, "bytes"),
}
for _np in _NUMPY:
    ALLOWED[(f"{_np}.multiarray", "_reconstruct")] = _Known(_reconstruct, f"{_np}.multiarray._reconstruct")
    ALLOWED[(f"{_np}.multiarray", "scalar")] = _Known(_Scalar, f"{_np}.multiarray.scalar")
    ALLOWED[(f"{_np}.numeric", "_frombuffer")] = _Known(_Buffer, f"{_np}.numeric._frombuffer")


class _Reader(pickle.Unpickler):
    # Every GLOBAL, STACK_GLOBAL, INST and EXT opcode comes through here; persistent ids are refused
    # by pickle itself, since no persistent_load is defined.
    def find_class(self, module, name):
        known = ALLOWED.get((module, name))
        if known is None:
            raise Refused(f"to load {_shown(module)}.{_shown(name)}")
        return known


def _resolve(obj, done: dict, depth: int):
    """Replace every pending numpy object by the object itself, in place for lists and dicts."""
    if isinstance(obj, _Pending):
        return obj.value()
    if not isinstance(obj, (list, dict, tuple)):
        return obj
    if id(obj) in done:  # a shared or self-containing container is resolved once
        return done[id(obj)][1]
    if depth > MAX_DEPTH:
        raise pickle.UnpicklingError(f"containers nested deeper than {MAX_DEPTH}")
    done[id(obj)] = (obj, obj)  # the original stays referenced, so its id is not reused meanwhile
    if isinstance(obj, tuple):
        out = tuple(_resolve(v, done, depth + 1) for v in obj)
        done[id(obj)] = (obj, out)
        return out
    items = obj.items() if isinstance(obj, dict) else enumerate(obj)
    for key, value in list(items):
        obj[key] = _resolve(value, done, depth + 1)
    return obj
