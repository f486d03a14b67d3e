"""Mult-Add counts for the matrix ops fvcore 0.1.5 misses or miscounts: attention, fused fast paths, matmul forms.

Each handle takes the traced op's jit inputs and outputs and returns multiply-accumulates (MACs);
the attention handles name their parts ("linear" projections, "attention" products) for by_operator.
Attention follows the papers' convention: the two matrix products Q K^T and A V per head; the
scaling, masks and softmax are element-wise and not counted.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

import numpy as np


def _shape(value: Any) -> list[int]:
    """A traced tensor's sizes; fvcore's `get_shape` returns None for a shape the trace left open."""
    from fvcore.nn.jit_handles import get_shape

    shape = get_shape(value)
    if shape is None:
        raise ValueError(f"no complete shape for {value.debugName()} in the trace; cannot count its Mult-Adds")
    return list(shape)


def _numel(shape: list[int]) -> int:
    return math.prod(shape)


def sdpa(inputs, outputs) -> Counter:
    """`scaled_dot_product_attention(q, k, v)`: q (..., L, E), k (..., S, E), v (..., S, Ev), out (..., L, Ev).

    Q K^T costs L*S*E per head and A V costs L*S*Ev; the batch and head dims are q's (with grouped-query
    attention k and v have fewer heads, but every query head still does its products).
    """
    keys = _shape(inputs[1])[-2]
    return Counter(attention=_numel(_shape(inputs[0])) * keys + _numel(_shape(outputs[0])) * keys)


def native_mha(inputs, outputs) -> Counter:
    """`_native_multi_head_attention`, the eval fast path of nn.MultiheadAttention.

    Query, key and value projections (E x E each, packed in qkv_weight), the two attention products
    over all heads (heads * head_dim = E), and the output projection.
    """
    q, k, v = (_shape(x) for x in inputs[:3])
    embed = _shape(inputs[7])[0]  # proj_weight: (E, E)
    keys = k[-2]
    projections = (_numel(q) + _numel(k) + _numel(v)) * embed + _numel(q) * embed
    return Counter(linear=projections, attention=2 * _numel(q) * keys)


def encoder_layer(inputs, outputs) -> Counter:
    """`_transformer_encoder_layer_fwd`, the eval fast path of nn.TransformerEncoderLayer.

    Self-attention on src (..., L, E) as in `native_mha`, then the feed-forward E -> F -> E.
    """
    src = _shape(inputs[0])
    embed, length = src[-1], src[-2]
    ffn = _shape(inputs[14])[0]  # ffn_weight_1: (F, E)
    n = _numel(src)
    return Counter(linear=4 * n * embed + 2 * n * ffn, attention=2 * n * length)


def matmul(inputs, outputs) -> int:
    """`matmul`/`mm` with broadcasting and 1-D operands: one MAC per output element per contracted index.

    fvcore's handle counts prod(a) * b[-1], too low when b carries the batch dims and failing on 1-D b.
    """
    return _numel(_shape(outputs[0])) * _shape(inputs[0])[-1]


def batched_mm(inputs, outputs) -> int:
    """`baddbmm`/`addbmm(self, batch1 (b, n, k), batch2 (b, k, m))`: b*n*k*m; adding `self` is element-wise."""
    b, n, k = _shape(inputs[1])
    return b * n * k * _shape(inputs[2])[-1]


def matrix_vector(inputs, outputs) -> int:
    """`mv(mat, vec)` and `addmv(self, mat, vec)`: one MAC per matrix entry."""
    return _numel(_shape(inputs[0 if len(inputs) == 2 else 1]))


def dot(inputs, outputs) -> int:
    return _numel(_shape(inputs[0]))


def bilinear(inputs, outputs) -> int:
    """`bilinear(x1 (..., in1), x2 (..., in2), weight (out, in1, in2))`: every weight once per position,
    as nn.Linear's count is every weight once per position."""
    return _numel(_shape(inputs[0])[:-1]) * _numel(_shape(inputs[2]))


def einsum(inputs, outputs) -> int:
    """`einsum(equation, [operands])`.

    Two operands without `...`: the product of the sizes of all distinct letters (each output element
    accumulates over the contracted letters; with nothing contracted it is one multiply per element).
    Otherwise numpy's optimal contraction path, whose flop count is 2 per MAC; the operands are
    zero-stride views, so nothing of the operands' size is allocated (fvcore allocates them in full).
    """
    equation = inputs[0].toIValue().replace(" ", "")
    shapes = [_shape(v) for v in inputs[1].node().inputs()]
    terms = equation.split("->")[0].split(",")
    if len(shapes) == 2 and "." not in equation:
        sizes = {letter: n for term, shape in zip(terms, shapes) for letter, n in zip(term, shape)}
        return _numel(list(sizes.values()))
    views = [np.broadcast_to(np.zeros(()), s) for s in shapes]
    report = np.einsum_path(equation, *views, optimize="optimal")[1]
    for line in report.splitlines():
        if "optimized flop" in line.lower():
            return int(float(line.split(":")[-1]) // 2)
    raise ValueError(f"einsum '{equation}': numpy's contraction path gave no flop count")


HANDLES = {
    "aten::scaled_dot_product_attention": sdpa,
    "aten::_native_multi_head_attention": native_mha,
    "aten::_transformer_encoder_layer_fwd": encoder_layer,
    "aten::matmul": matmul,
    "aten::mm": matmul,
    "aten::baddbmm": batched_mm,
    "aten::addbmm": batched_mm,
    "aten::mv": matrix_vector,
    "aten::addmv": matrix_vector,
    "aten::dot": dot,
    "aten::vdot": dot,
    "aten::bilinear": bilinear,
    "aten::einsum": einsum,
}

# Op names (after the namespace and leading underscores) that multiply matrices: if the trace meets
# one without a handle, the total is too low. Interpolations named *linear* are element-wise.
_MATRIX_WORK = re.compile(r"mm|matmul|einsum|linear|conv|attention|lstm|gru|rnn|fft|cdist|tensordot"
                          r"|^(mv|addmv|dot|vdot|inner|outer|ger|addr|kron)$")
_NOT_MATRIX = re.compile(r"^(upsample|interp|grid_sampl)")


def does_matrix_work(op: str) -> bool:
    """True for ops such as aten::lstm or quantized::linear, False for aten::relu or aten::max_pool2d."""
    base = op.rsplit("::", 1)[-1].lstrip("_")
    return bool(_MATRIX_WORK.search(base)) and not _NOT_MATRIX.match(base)
