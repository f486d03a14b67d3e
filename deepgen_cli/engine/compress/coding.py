"""Deep Compression's three stages on one weight tensor (Han et al. 2016), and its storage counted bit by bit.

1. Magnitude pruning: keep the round(density * n) largest |w|, zero the rest.
2. Weight sharing: 1-D k-means of the kept weights, linearly initialized between their min and max (Han et al.'s
   best initialization); each kept weight is stored as a `bits`-bit code into a per-layer codebook of float32
   centroids. Code 0 is reserved for zero (the filler entries below point at it), so 2**bits - 1 centroids are fit.
3. Sparse storage in Han et al.'s relative-index format: each entry is (code, number of zeros skipped before it),
   the skip in `index_bits` bits; a run of z zeros longer than that field holds needs floor(z / 2**index_bits)
   filler entries (each a zero of its own). Zeros after the last kept weight need no entry (the shape is known).
   Optionally both fields Huffman-coded, as Deep Compression's third stage does, with the code table stored.

Every count is exact for the tensor given: bytes are ceil(bits / 8) per stored stream.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import torch
from torch import Tensor

FLOAT_BITS = 32  # a codebook centroid, a bias, a batch norm parameter: float32
HEADER_BITS = 8  # per layer: the index width chosen (1..8), one byte
MAX_INDEX_BITS = 8  # Han et al. use 8 bits for conv layers, 5 for fully connected ones; the best width 1..8 is chosen
KMEANS_STEPS = 30  # Lloyd iterations; linear initialization converges in far fewer on 1-D data


def prune_mask(w: Tensor, density: float) -> Tensor:
    """True at the round(density * n) weights of largest magnitude (at least one), ties broken by position."""
    n = w.numel()
    keep = max(1, min(n, round(density * n)))
    order = torch.argsort(w.detach().abs().flatten(), descending=True, stable=True)
    mask = torch.zeros(n, dtype=torch.bool)
    mask[order[:keep]] = True
    return mask.view_as(w)


def kmeans_1d(values: Tensor, k: int, steps: int = KMEANS_STEPS) -> tuple[Tensor, Tensor]:
    """(centroids ascending, each value's centroid index) of a 1-D k-means with linear initialization."""
    v = values.detach().double().flatten()
    lo, hi = float(v.min()), float(v.max())
    k = max(1, min(k, v.numel()))
    centroids = torch.linspace(lo, hi, k, dtype=torch.float64) if k > 1 else v.mean().view(1)
    for _ in range(steps):
        idx = torch.bucketize(v, (centroids[1:] + centroids[:-1]) / 2)  # nearest centroid (sorted, 1-D)
        sums = torch.zeros(k, dtype=torch.float64).scatter_add_(0, idx, v)
        counts = torch.zeros(k, dtype=torch.float64).scatter_add_(0, idx, torch.ones_like(v))
        moved = torch.where(counts > 0, sums / counts.clamp(min=1), centroids)  # an empty cluster stays
        moved, _ = torch.sort(moved)
        if torch.equal(moved, centroids):
            break
        centroids = moved
    idx = torch.bucketize(v, (centroids[1:] + centroids[:-1]) / 2)
    return centroids, idx


def share_weights(w: Tensor, mask: Tensor, bits: int) -> tuple[Tensor, Tensor]:
    """(the tensor with every kept weight replaced by its centroid and the rest 0, the kept weights' codes 1..)."""
    kept = w.detach().flatten()[mask.flatten()]
    centroids, idx = kmeans_1d(kept, 2 ** bits - 1)
    out = torch.zeros(w.numel(), dtype=w.dtype)
    out[mask.flatten()] = centroids[idx].to(w.dtype)
    return out.view_as(w), idx + 1  # code 0 is zero


def zero_runs(mask: Tensor) -> list[int]:
    """The number of zeros before each kept weight, in storage order (row-major)."""
    positions = torch.nonzero(mask.flatten()).flatten().tolist()
    return [p - q - 1 for p, q in zip(positions, [-1] + positions[:-1])]


def fillers(runs: list[int], index_bits: int) -> int:
    span = 2 ** index_bits
    return sum(z // span for z in runs)


def huffman_bits(counts: list[int]) -> int:
    """The bits of a stream with these symbol counts under its Huffman code (a lone symbol: 1 bit each)."""
    counts = [c for c in counts if c > 0]
    if len(counts) <= 1:
        return sum(counts)
    heap = list(counts)
    heapq.heapify(heap)
    total = 0
    while len(heap) > 1:  # each merge adds one bit to every symbol under it: the sum of merged weights
        a, b = heapq.heappop(heap), heapq.heappop(heap)
        total += a + b
        heapq.heappush(heap, a + b)
    return total


@dataclass
class Stored:
    """One layer's compressed form, counted."""

    weights: int  # the tensor's values
    kept: int  # weights left after pruning
    entries: int  # kept + filler entries
    index_bits: int
    bits: int  # the layer's total: entries, codebook, header (and Huffman tables)

    @property
    def bytes(self) -> int:
        return math.ceil(self.bits / 8)


def sparse_bits(mask: Tensor, codes: Tensor, bits: int, huffman: bool = False) -> Stored:
    """The smallest storage over index widths 1..MAX_INDEX_BITS of a layer pruned to `mask` whose kept weights
    have `codes` (1..2**bits - 1): entries of (code, skip) plus the float32 codebook of 2**bits entries (code 0's
    zero included) and a one-byte header. With `huffman`, each field is Huffman-coded and its code table stored
    as one byte (a code length) per symbol."""
    runs = zero_runs(mask)
    codebook = 2 ** bits * FLOAT_BITS + HEADER_BITS
    best = None
    for ib in range(1, MAX_INDEX_BITS + 1):
        span = 2 ** ib
        extra = fillers(runs, ib)
        entries = len(runs) + extra
        if huffman:
            code_counts = torch.bincount(codes, minlength=2 ** bits).tolist()
            code_counts[0] += extra  # fillers carry code 0
            skips = [0] * span
            for z in runs:
                skips[span - 1] += z // span  # each filler skips span - 1 zeros, then is a zero itself
                skips[z % span] += 1
            body = huffman_bits(code_counts) + huffman_bits(skips) + 8 * (2 ** bits + span)
        else:
            body = entries * (bits + ib)
        total = body + codebook
        if best is None or total < best.bits:
            best = Stored(mask.numel(), len(runs), entries, ib, total)
    return best
