"""Mult-Adds of the aten ops that multiply matrices, as `engine.counter` sees them run (after autograd's and
the composite ops' decompositions: nn.Linear arrives as addmm, einsum and broadcasting matmul as bmm).

Each handle takes the op's arguments (real tensors) and returns {part: multiply-accumulates}; the part names
the kind of work for `by_operator`. Attention follows the papers' convention: the two matrix products Q K^T
and A V per head; the scaling, masks and softmax are element-wise and not counted. Bias additions are not
multiply-accumulates.
"""

from __future__ import annotations

import math
import re


def _numel(shape) -> int:
    return math.prod(shape)


def convolution(args, out) -> dict:
    """`convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups)`: one MAC
    per weight of a filter (Cin/groups x kernel) per output element; a transposed convolution's weight is
    (Cin, Cout/groups, k...), so each input element meets Cout/groups x kernel weights."""
    x, weight, transposed = args[0], args[1], args[6]
    per = _numel(weight.shape[1:])
    return {"conv": (x.numel() if transposed else out.numel()) * per}


def _mm_operands(args):
    # addmm(self, mat1, mat2, beta, alpha): the last two tensors are the product's operands
    tensors = [a for a in args if hasattr(a, "shape")]
    return tensors[-2], tensors[-1]


def mm(args, out) -> dict:
    """`mm(a, b)` / `addmm(self, a, b)`: n x k x m; nn.Linear arrives as one of them."""
    a, b = _mm_operands(args)
    return {"linear": a.shape[0] * a.shape[1] * b.shape[1]}


def bmm(args, out) -> dict:
    """`bmm(b1 (b, n, k), b2 (b, k, m))`, `baddbmm(self, b1, b2)`, `addbmm(self, b1, b2)`: b*n*k*m."""
    b1, b2 = _mm_operands(args)
    b, n, k = b1.shape
    return {"matmul": b * n * k * b2.shape[-1]}


def matrix_vector(args, out) -> dict:
    """`mv(mat, vec)` and `addmv(self, mat, vec)`: one MAC per matrix entry."""
    mat, _ = _mm_operands(args)
    return {"linear": mat.numel()}


def dot(args, out) -> dict:
    return {"linear": args[0].numel()}


def sdpa(args, out) -> dict:
    """The fused `scaled_dot_product_attention` kernels: q (..., L, E), k (..., S, E), v (..., S, Ev).

    Q K^T costs L*S*E per head and A V costs L*S*Ev; the batch and head dims are q's (with grouped-query
    attention k and v have fewer heads, but every query head still does its products).
    """
    q, k, v = args[:3]
    keys = k.shape[-2]
    return {"attention": q.numel() * keys + q.numel() // q.shape[-1] * v.shape[-1] * keys}


def native_mha(args, out) -> dict:
    """`_native_multi_head_attention`, the eval fast path of nn.MultiheadAttention: the query, key and value
    projections (E x E each, packed in qkv_weight), both attention products over all heads (heads * head_dim
    = E) and the output projection (args[7], E x E)."""
    q, k, v = args[:3]
    embed = args[7].shape[0]
    keys = k.shape[-2]
    projections = (q.numel() + k.numel() + v.numel()) * embed + q.numel() * embed
    return {"linear": projections, "attention": 2 * q.numel() * keys}


def encoder_layer(args, out) -> dict:
    """`_transformer_encoder_layer_fwd`, the eval fast path of nn.TransformerEncoderLayer: self-attention on
    src (..., L, E) as in `native_mha`, then the feed-forward E -> F -> E (args[14]: ffn_weight_1, F x E)."""
    src = args[0]
    embed, length = src.shape[-1], src.shape[-2]
    ffn = args[14].shape[0]
    n = src.numel()
    return {"linear": 4 * n * embed + 2 * n * ffn, "attention": 2 * n * length}


def recurrent(args, out) -> dict:
    """The fused recurrent kernels (`mkldnn_rnn_layer` for one LSTM layer and direction on CPU, `_cudnn_rnn`
    for a whole stack on CUDA): every 2-D weight (W_ih: gates*H x I, W_hh: gates*H x H, LSTM's W_hr) once
    per token (T x B input positions). The unfused GRU and RNN paths arrive as addmm and count the same."""
    x = args[0]
    # mkldnn_rnn_layer(input, w_ih, w_hh, b_ih, b_hh, hx, cx, ...); _cudnn_rnn(input, [weights], ...)
    weights = [w for w in (args[1] if isinstance(args[1], (list, tuple)) else args[1:3]) if w.dim() == 2]
    tokens = x.numel() // x.shape[-1]
    return {"recurrent": tokens * sum(w.numel() for w in weights)}


def trilinear(args, out) -> dict:
    """`_trilinear(i1, i2, i3, expand1, expand2, expand3, sumdim)`, what F.bilinear runs: one MAC per point of
    the broadcast index space (batch x out x in1 x in2 for bilinear, every weight once per position)."""
    shapes = []
    for tensor, expand in zip(args[:3], args[3:6]):
        shape = list(tensor.shape)
        for d in sorted(expand):
            shape.insert(d, 1)
        shapes.append(shape)
    return {"linear": _numel(max(s[d] for s in shapes) for d in range(len(shapes[0])))}


HANDLES = {
    "aten::convolution": convolution,
    "aten::mm": mm, "aten::addmm": mm,
    "aten::bmm": bmm, "aten::baddbmm": bmm, "aten::addbmm": bmm,
    "aten::mv": matrix_vector, "aten::addmv": matrix_vector,
    "aten::dot": dot, "aten::vdot": dot,
    "aten::_scaled_dot_product_flash_attention_for_cpu": sdpa,
    "aten::_scaled_dot_product_flash_attention": sdpa,
    "aten::_scaled_dot_product_efficient_attention": sdpa,
    "aten::_scaled_dot_product_cudnn_attention": sdpa,
    "aten::_scaled_dot_product_fused_attention_overrideable": sdpa,
    "aten::_native_multi_head_attention": native_mha,
    "aten::_transformer_encoder_layer_fwd": encoder_layer,
    "aten::mkldnn_rnn_layer": recurrent,
    "aten::_cudnn_rnn": recurrent,
    "aten::_trilinear": trilinear,
}

# Op names (after the namespace and leading underscores) that multiply matrices: if the counter meets
# one without a handle, the total is too low. Interpolations named *linear* are element-wise.
_MATRIX_WORK = re.compile(r"mm|matmul|einsum|linear|conv|attention|lstm|gru|rnn|fft|cdist|tensordot"
                          r"|^(mv|addmv|dot|vdot|inner|outer|ger|addr|kron)$")
_NOT_MATRIX = re.compile(r"^(upsample|interp|grid_sampl)")


def does_matrix_work(op: str) -> bool:
    """True for ops such as aten::lstm or quantized::linear, False for aten::relu or aten::max_pool2d."""
    base = op.rsplit("::", 1)[-1].lstrip("_")
    return bool(_MATRIX_WORK.search(base)) and not _NOT_MATRIX.match(base)
