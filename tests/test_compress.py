"""compress: Deep Compression's storage counted exactly on a layer worked by hand, its verdict rules, and the
architecture counts of AlexNet and SqueezeNet."""

import math

import pytest
import torch

from deepgen_cli.engine.compress import CompressRow, coding, dense_bytes, findings

# 8 weights; density 0.5 keeps 0.9, 0.5, -0.8, 0.2 at positions 0, 3, 5, 6: zeros skipped before each 0, 2, 1, 0
W = torch.tensor([[0.9, -0.1, 0.0, 0.5], [0.05, -0.8, 0.2, 0.0]])


def test_pruning_keeps_the_largest_magnitudes():
    mask = coding.prune_mask(W, 0.5)
    assert torch.nonzero(mask.flatten()).flatten().tolist() == [0, 3, 5, 6]
    assert coding.zero_runs(mask) == [0, 2, 1, 0]
    assert coding.fillers([0, 2, 1, 0], 1) == 1 and coding.fillers([0, 2, 1, 0], 2) == 0
    assert coding.fillers([9], 2) == 2  # two fillers each skip 3 zeros and are a zero: 8 of the 9


def test_two_bit_sharing_by_hand():
    # 3 centroids from linspace(-0.8, 0.9): -0.8, 0.05, 0.9 -> clusters {-0.8}, {0.2}, {0.5, 0.9} -> -0.8, 0.2, 0.7
    shared, codes = coding.share_weights(W, coding.prune_mask(W, 0.5), 2)
    assert codes.tolist() == [3, 3, 1, 2]
    assert torch.allclose(shared.flatten(), torch.tensor([0.7, 0, 0, 0.7, 0, -0.8, 0.2, 0]))


def test_storage_bits_by_hand():
    mask = coding.prune_mask(W, 0.5)
    _, codes = coding.share_weights(W, mask, 2)
    plain = coding.sparse_bits(mask, codes, 2)
    # 1-bit index: 4 entries + 1 filler, 3 bits each = 15; codebook 4 x 32 + header 8 -> 151 bits = 19 bytes
    # (2-bit index: 4 x 4 = 16 bits, one more)
    assert (plain.index_bits, plain.entries, plain.bits, plain.bytes) == (1, 5, 151, 19)
    huff = coding.sparse_bits(mask, codes, 2, huffman=True)
    # codes [filler 1, 1, 1, 2] -> 10 bits; skips [3, 2] -> 5 bits; tables (4 + 2) bytes -> 48; + 136 = 199
    assert (huff.index_bits, huff.bits) == (1, 199)


def test_huffman_bits():
    assert coding.huffman_bits([1, 1, 1, 2]) == 10 and coding.huffman_bits([7]) == 7 and coding.huffman_bits([]) == 0
    assert coding.huffman_bits([1] * 64) == 64 * 6  # uniform over 64 symbols: 6 bits each, as fixed codes


def test_dense_bytes_count_biases_and_batch_norm():
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.Flatten(),
                              torch.nn.Linear(8, 3))
    # weights 18 + 24; conv bias 2, bn weight/bias 2 + 2, running mean/var 2 + 2, linear bias 3 -> 55 floats
    assert dense_bytes(net) == 4 * 55


def _arch(ratio):
    alex = CompressRow("alexnet", 0, "32-bit", 1, 1, 244_403_360, 1.0, None)
    s32 = CompressRow("squeezenet", 0, "32-bit", 1, 1, 4_993_696, 48.9, None)
    plain = CompressRow("squeezenet", 0, "pruned+shared", 1, 1, 1, 400.0, None)
    return [alex, s32, plain, CompressRow("squeezenet", 0, "+huffman", 1, 1, 1, ratio, None)]


def test_architecture_rule_is_the_papers_rounding():
    assert findings.LEAST_RATIO == pytest.approx(494.74, abs=0.01)
    assert findings.architecture(_arch(494.7)).reproduced is False
    assert findings.architecture(_arch(494.8)).reproduced is True


def _trained(dense, small):
    rows = []
    for s, (a, b) in enumerate(zip(dense, small)):
        rows += [CompressRow("cnn", s, "32-bit", 1, 1, 1, 1.0, a), CompressRow("cnn", s, "pruned+shared", 1, 1, 1, 8.0, b)]
    return rows


def test_accuracy_rule():
    # losses 0.2, 0.0, 0.4 points: mean 0.2, sd 0.2, one-sided bound 0.2 + 2.920 * 0.2 / sqrt(3) = 0.54 < 1 point
    yes = findings.accuracy(_trained([0.98, 0.97, 0.99], [0.978, 0.97, 0.986]), "cnn", 10)
    assert yes.reproduced is True
    no = findings.accuracy(_trained([0.98, 0.97, 0.99], [0.5, 0.6, 0.4]), "cnn", 10)  # the destructive control's
    assert no.reproduced is False
    wide = findings.accuracy(_trained([0.98, 0.97, 0.99], [0.98, 0.95, 0.99]), "cnn", 10)
    assert wide.reproduced is None and "straddles" in wide.reason
    untrained = findings.accuracy(_trained([0.1, 0.12, 0.09], [0.1, 0.12, 0.09]), "cnn", 10)
    assert untrained.reproduced is None and "floor 55%" in untrained.reason


def test_alexnet_bytes_on_the_meta_device():
    from deepgen_cli.engine import models

    with torch.device("meta"):
        alex = models.create("alexnet", num_classes=1000)
    assert dense_bytes(alex) == 4 * 61_100_840  # torchvision's one-GPU AlexNet: 244.4 MB (the paper: 240 MB)
