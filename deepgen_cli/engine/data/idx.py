"""MNIST's idx files, read with every size checked against the header and the file length before allocating.

Format (LeCun's MNIST page): two zero bytes, a type byte (0x08: unsigned bytes, the only type MNIST and
Fashion-MNIST use), the number of dimensions, one big-endian 32-bit size per dimension, then the values in C order.
"""

from __future__ import annotations

import struct
from pathlib import Path

import torch
from torch import Tensor

UBYTE = 0x08


class IdxError(ValueError):
    """The file is not the idx file it should be; the message says how (sizes in bytes)."""


def header_bytes(ndim: int) -> int:
    return 4 + 4 * ndim  # magic number, then one 4-byte size per dimension


def read_idx(path: str | Path, ndim: int) -> Tensor:
    """The values of an idx file of unsigned bytes with `ndim` dimensions, as a uint8 tensor of its shape.

    IdxError when the magic number, the number of dimensions or the file length disagree with what the
    header promises; nothing larger than the file is ever allocated.
    """
    size = Path(path).stat().st_size
    with open(path, "rb") as f:
        magic = f.read(4)
        if len(magic) < 4:
            raise IdxError(f"{size} bytes, shorter than the 4-byte magic number")
        if magic[:3] != bytes([0, 0, UBYTE]):
            raise IdxError(f"magic number {magic.hex()} is not that of an idx file of unsigned bytes "
                           f"(00 00 08 then the number of dimensions)")
        if magic[3] != ndim:
            raise IdxError(f"the header gives {magic[3]} dimensions, this file must have {ndim}")
        sizes = f.read(4 * ndim)
        if len(sizes) < 4 * ndim:
            raise IdxError(f"{size} bytes, shorter than its {header_bytes(ndim)}-byte header")
        shape = struct.unpack(f">{ndim}I", sizes)
        count = 1
        for s in shape:
            count *= s
        held = size - header_bytes(ndim)
        if held != count:
            raise IdxError(f"the header gives {' x '.join(str(s) for s in shape)} = {count:,} bytes of values, "
                           f"the file holds {held:,}")
        values = f.read(count)  # at most the file's own length, checked above
    if len(values) != count:
        raise IdxError(f"the file changed while it was read ({len(values):,} of {count:,} bytes)")
    if count == 0:  # torch.frombuffer refuses an empty buffer
        return torch.zeros(shape, dtype=torch.uint8)
    return torch.frombuffer(bytearray(values), dtype=torch.uint8).reshape(shape)
