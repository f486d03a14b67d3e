"""Exact Mult-Adds of attention and other matrix ops fvcore misses, and torchvision transformers vs `_ops`."""

import contextlib
import warnings
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from deepgen_cli.engine import measure
from deepgen_cli.engine.efficiency.findings import findings
from deepgen_cli.engine.op_counts import does_matrix_work

LENGTH, WIDTH, HEADS = 10, 32, 4  # tokens, embedding width, heads (head width 8)
# Q, K, V and output projections (WIDTH x WIDTH each, per token), then Q K^T and A V over all heads:
# 4*10*32*32 + 2*10*10*32 = 40960 + 6400.
ATTENTION_MADDS = 4 * LENGTH * WIDTH * WIDTH + 2 * LENGTH * LENGTH * WIDTH
assert ATTENTION_MADDS == 47_360


def madds(model, x):
    return measure.mult_adds(model, x)


class HandAttention(nn.Module):
    """Multi-head self-attention written out, calling F.scaled_dot_product_attention."""

    def __init__(self, width=WIDTH, heads=HEADS, mask=False):
        super().__init__()
        self.heads, self.mask = heads, mask
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)

    def forward(self, x):
        b, n, e = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, e // self.heads).permute(2, 0, 3, 1, 4)
        mask = torch.ones(n, n, dtype=torch.bool).tril() if self.mask else None
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.out(y.transpose(1, 2).reshape(b, n, e))


@pytest.mark.parametrize("mask", [False, True])
def test_hand_written_attention_counts_projections_and_both_products(mask):
    counted = madds(HandAttention(mask=mask), torch.zeros(1, LENGTH, WIDTH))
    assert counted.total == ATTENTION_MADDS  # the mask and softmax are not counted
    assert counted.by_operator == {"linear": 40_960, "attention": 6_400}
    assert not counted.uncounted_matrix_ops


class CrossAttention(nn.Module):
    """3 query tokens against 5 learned keys; key width 4, value width 6, 2 heads, batch 2."""

    def __init__(self):
        super().__init__()
        self.k = nn.Parameter(torch.zeros(2, 2, 5, 4))
        self.v = nn.Parameter(torch.zeros(2, 2, 5, 6))

    def forward(self, q):
        return F.scaled_dot_product_attention(q, self.k, self.v)


def test_attention_with_other_key_count_and_value_width():
    # batch 2 x heads 2 x (3 queries x 5 keys x 4 for Q K^T + 3 x 5 x 6 for A V) = 4 * (60 + 90)
    assert madds(CrossAttention(), torch.zeros(2, 2, 3, 4)).total == 600


class SelfAttention(nn.Module):
    def __init__(self, layer, need_weights=False, mask=None):
        super().__init__()
        self.layer, self.need_weights, self.mask = layer, need_weights, mask

    def forward(self, x):
        if isinstance(self.layer, nn.MultiheadAttention):
            return self.layer(x, x, x, need_weights=self.need_weights, attn_mask=self.mask)[0]
        return self.layer(x)


def _traced_ops(model, x) -> set[str]:
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit deprecation and tracer noise
        graph = torch.jit.trace(model.eval(), x, check_trace=False).inlined_graph
    return {node.kind() for node in graph.nodes()}


@contextlib.contextmanager
def fastpath(enabled: bool):
    previous = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(enabled)
    try:
        yield
    finally:
        torch.backends.mha.set_fastpath_enabled(previous)


def test_multihead_attention_eval_fast_path_counts_projections_and_products():
    model = SelfAttention(nn.MultiheadAttention(WIDTH, HEADS, batch_first=True))
    x = torch.zeros(1, LENGTH, WIDTH)
    assert "aten::_native_multi_head_attention" in _traced_ops(model, x)  # the fused op is what runs
    counted = madds(model, x)
    assert counted.total == ATTENTION_MADDS
    assert counted.by_operator == {"linear": 40_960, "attention": 6_400}
    with fastpath(False):  # the unfused path: linear projections and scaled_dot_product_attention
        assert "aten::_native_multi_head_attention" not in _traced_ops(model, x)
        assert madds(model, x).total == ATTENTION_MADDS


def test_multihead_attention_with_weights_and_mask_counts_baddbmm():
    mask = torch.ones(LENGTH, LENGTH, dtype=torch.bool).triu(1)
    model = SelfAttention(nn.MultiheadAttention(WIDTH, HEADS, batch_first=True), need_weights=True, mask=mask)
    x = torch.zeros(1, LENGTH, WIDTH)
    with fastpath(False):  # Q K^T through baddbmm (the mask is its added term), A V through bmm
        assert "aten::baddbmm" in _traced_ops(model, x)
        assert madds(model, x).total == ATTENTION_MADDS


def test_transformer_encoder_layer_fast_path_counts_attention_and_feed_forward():
    layer = nn.TransformerEncoderLayer(WIDTH, HEADS, dim_feedforward=64, dropout=0.0, batch_first=True)
    model = SelfAttention(layer)
    x = torch.zeros(1, LENGTH, WIDTH)
    expected = ATTENTION_MADDS + 2 * LENGTH * WIDTH * 64  # plus 32 -> 64 -> 32 per token
    assert "aten::_transformer_encoder_layer_fwd" in _traced_ops(model, x)
    assert madds(model, x).total == expected
    with fastpath(False):
        assert madds(model, x).total == expected


class Ops(nn.Module):
    def __init__(self, fn, *shapes):
        super().__init__()
        self.fn = fn
        self.weights = nn.ParameterList(nn.Parameter(torch.zeros(*s)) for s in shapes)

    def forward(self, x):
        return self.fn(x, *self.weights)


@pytest.mark.parametrize("fn,x_shape,shapes,expected", [
    # (3, 4) @ (5, 4, 6) broadcasts to 5 products of 3x4 by 4x6: fvcore's handle says 72, not 360
    (torch.matmul, (3, 4), [(5, 4, 6)], 5 * 3 * 4 * 6),
    (torch.matmul, (2, 3, 4), [(4,)], 2 * 3 * 4),  # matrix times vector
    (lambda x, b, c: torch.baddbmm(b, x, c), (2, 3, 4), [(2, 3, 5), (2, 4, 5)], 2 * 3 * 4 * 5),
    (lambda x, w: torch.einsum("bhid,bhjd->bhij", x, w), (1, 2, 3, 4), [(1, 2, 5, 4)], 2 * 3 * 5 * 4),
    # (2x3)(3x4) first, 24 MACs, then (2x4)(4x5), 40: numpy's optimal path
    (lambda x, a, b: torch.einsum("ij,jk,kl->il", x, a, b), (2, 3), [(3, 4), (4, 5)], 24 + 40),
    (lambda x, w: torch.mv(w, x), (4,), [(3, 4)], 12),
    (lambda x, w: F.bilinear(x, x, w), (2, 3), [(5, 3, 3)], 2 * 5 * 3 * 3),
])
def test_matrix_forms(fn, x_shape, shapes, expected):
    counted = madds(Ops(fn, *shapes), torch.zeros(*x_shape))
    assert counted.total == expected
    assert not counted.uncounted_matrix_ops


def test_skipped_ops_split_matrix_work_from_element_wise():
    for op in ("aten::lstm", "aten::gru", "quantized::linear", "aten::cudnn_convolution", "aten::_sparse_mm",
               "aten::addr", "aten::kron", "aten::fft_rfft2", "aten::cdist", "aten::tensordot"):
        assert does_matrix_work(op), op
    for op in ("aten::relu", "aten::max_pool2d", "aten::upsample_bilinear2d", "aten::upsample_linear1d",
               "aten::add", "aten::softmax", "aten::layer_norm", "aten::mul", "aten::mean", "aten::flatten"):
        assert not does_matrix_work(op), op
    counted = madds(nn.LSTM(4, 8, batch_first=True), torch.zeros(1, 3, 4))
    assert not counted.uncounted_matrix_ops  # counted now (test_recurrent_counts.py)
    counted = madds(Ops(lambda x: torch.cdist(x, x)), torch.zeros(3, 4))
    assert counted.uncounted_matrix_ops == {"aten::_cdist_forward": 1}


def test_efficiency_notes_warn_about_uncounted_matrix_work():
    rows = [SimpleNamespace(model=m, name=m, alpha=None, resolution=224, published_mult_adds=None, skipped_ops=ops)
            for m, ops in [("rnn.py:net", {"aten::lstm": 1, "aten::relu": 2}), ("cnn", {"aten::max_pool2d": 1})]]
    notes = findings(rows).notes
    assert notes == ["WARNING: ops that multiply matrices were not counted, so these models' Mult-Adds are "
                     "too low: lstm (rnn.py:net)",
                     "not counted as Mult-Adds, by convention (element-wise, pooling, activations): "
                     "max_pool2d, relu"]


def vit_madds(side, patch, layers, width, mlp, classes=1000):
    """ViT Mult-Adds by hand: patch-embedding conv, per layer 4 width^2 projections and the MLP per
    token plus Q K^T and A V (tokens^2 x width each), then the head."""
    tokens = (side // patch) ** 2 + 1  # patches and the class token
    embed = (tokens - 1) * width * 3 * patch * patch
    layer = tokens * (4 * width * width + 2 * width * mlp) + 2 * tokens * tokens * width
    return embed + layers * layer + width * classes


def _torchvision_ops(name):
    import torchvision

    weights = torchvision.models.get_model_weights(name).DEFAULT
    return weights.transforms.keywords["crop_size"], weights.meta["_ops"]


def _count_torchvision(name):
    import torchvision

    side, ops = _torchvision_ops(name)
    torch.manual_seed(0)
    model = torchvision.models.get_model(name, weights=None)
    return madds(model, torch.zeros(1, 3, side, side)), ops


# Exact counts: the ViTs by hand, the others as this counter first gave them (conv + linear, plus
# swin_t's attention through matmul and maxvit_t's through einsum). `_ops` is GMACs rounded to 3
# decimals, so the tolerance is that rounding: round(count / 1e9, 3) must equal it.
@pytest.mark.parametrize("name,exact", [
    ("vit_b_32", vit_madds(224, 32, 12, 768, 3072)),
    ("efficientnet_b0", 385_814_752),
    ("swin_t", 4_490_566_656),
    pytest.param("maxvit_t", 5_558_046_720, marks=pytest.mark.slow),
    pytest.param("vit_b_16", vit_madds(224, 16, 12, 768, 3072), marks=pytest.mark.slow),
])
def test_torchvision_counts_match_ops(name, exact):
    counted, ops = _count_torchvision(name)
    assert counted.total == exact
    assert round(counted.total / 1e9, 3) == ops
    assert not counted.uncounted_matrix_ops
