"""Shrinking a layer's features to fit a probe budget: a fixed random subset, a seeded random projection
(a count sketch, never stored as a dense matrix) or per-channel average pooling; probe memory estimates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from deepgen_cli.engine.errors import UsageError

from deepgen_cli.engine.probe.config import REDUCTIONS  # noqa: F401  (declared with --reduce)
# A probe's memory as torch.optim.SGD with momentum would hold it: fp32 weights, gradient and momentum
# buffer, 4 bytes each. probe_heads.py accumulates the gradient straight into the momentum buffer, and
# needs a gradient-sized scratch only for features it may not rewrite: the budget is an upper bound.
BYTES_PER_PARAM = 12
MB = 1 << 20
# Input features hashed per chunk of the projection: bounds the index tensors generated at a time.
PROJECT_CHUNK = 1 << 16


def probe_params(features: int, classes: int) -> int:
    """Weights and biases of a linear probe: (features + 1) x classes."""
    return (features + 1) * classes


def probe_bytes(features: int, classes: int) -> int:
    return probe_params(features, classes) * BYTES_PER_PARAM


def max_features(classes: int, budget_mb: float) -> int:
    """The widest input a probe for `classes` classes may have within `budget_mb` MiB."""
    return int(budget_mb * MB // (BYTES_PER_PARAM * classes)) - 1


@dataclass(frozen=True)
class Reduction:
    """How one layer's features (shape without the batch axis) become a probe's input."""

    kind: str  # none | subset | project | pool
    shape: tuple[int, ...]
    out_features: int
    seed: int = 0
    pool_size: tuple[int, int] | None = None  # (h, w) after pooling

    @property
    def in_features(self) -> int:
        return math.prod(self.shape)


def plan(shape: tuple[int, ...], classes: int, kind: str, budget_mb: float, seed: int = 0) -> Reduction:
    """The reduction of `kind` for features of `shape` whose probe fits `budget_mb` (auto: least lossy).

    `none` keeps every feature even over the budget (the caller warns); `subset` and `project` keep the
    most features that fit; `pool` averages each channel over the largest grid that fits (layers without
    a spatial grid, or with more channels than fit, fall back to `project`). `auto` keeps everything when
    it fits, else projects: a random projection mixes every feature in, so it loses the least.
    """
    if kind not in REDUCTIONS:
        raise UsageError(f"--reduce: unknown reduction '{kind}'; valid: {', '.join(REDUCTIONS)}")
    full = math.prod(shape)
    limit = max_features(classes, budget_mb)
    if limit < 1:
        need = probe_bytes(1, classes) / MB
        raise UsageError(f"--max-probe-mb: {budget_mb:g} MiB cannot hold a probe for {classes} classes; "
                         f"give at least {need:.3f}")
    if kind == "none" or full <= limit:
        return Reduction("none", tuple(shape), full, seed)
    if kind == "pool" and len(shape) == 3 and shape[0] <= limit:
        c, h, w = shape
        side = max(1, math.isqrt(limit // c))  # largest square grid with c * side^2 <= limit
        size = (min(h, side), min(w, side))
        return Reduction("pool", tuple(shape), c * size[0] * size[1], seed, size)
    if kind == "subset":
        return Reduction("subset", tuple(shape), limit, seed)
    return Reduction("project", tuple(shape), limit, seed)


class Reducer:
    """Applies a Reduction to a batch; always returns a new (B, out_features) float tensor, so an
    in-place operation that later overwrites the layer's output cannot change what was taken."""

    def __init__(self, reduction: Reduction, device: torch.device | str = "cpu"):
        self.r = reduction
        self.device = torch.device(device)
        self._index = None
        self._sketch = None
        if reduction.kind == "subset":
            g = torch.Generator().manual_seed(reduction.seed)
            self._index = torch.randperm(reduction.in_features, generator=g)[: reduction.out_features]
            self._index = self._index.sort().values.to(self.device)
        elif reduction.kind == "project" and reduction.in_features <= reduction.out_features * 8:
            # Small enough to keep (two vectors no larger than the probe): skip regenerating per batch.
            self._sketch = [(0, *[t.to(self.device) for t in _sketch_chunk(reduction, 0, reduction.in_features)])]

    def __call__(self, x: torch.Tensor, out: torch.Tensor | None = None, affine=None) -> torch.Tensor:
        """The (B, out_features) reduced features, written into `out` (a slice of a wider buffer) if given, as
        features * scale + shift per column with `affine` (scale, shift): in the one pass that writes them."""
        x = x.detach()
        flat = x.reshape(x.shape[0], -1)
        if self.r.kind == "none":
            return flat.float().clone() if out is None else write(out, flat, affine)
        if x.dtype != torch.float32:
            x, flat = x.float(), flat.float()
        if self.r.kind == "pool":
            reduced = F.adaptive_avg_pool2d(x, self.r.pool_size).flatten(1)
        elif self.r.kind == "subset":
            reduced = flat.index_select(1, self._index)
        else:
            reduced = self._project(flat)
        return reduced if out is None else write(out, reduced, affine)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The (B, out_features) float features of x without a copy where none is needed: with nothing to
        reduce, a view of x, so the caller must be done with it before x changes (an in-place ReLU)."""
        if self.r.kind == "none":
            return x.detach().reshape(x.shape[0], -1).float()  # float(): no copy when already fp32
        return self(x)

    def _project(self, flat: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(flat.shape[0], self.r.out_features, device=flat.device)
        chunks = self._sketch or _chunks(self.r, flat.device)
        for start, bucket, sign in chunks:
            part = flat[:, start:start + bucket.numel()]
            out.index_add_(1, bucket, part * sign)
        return out


def write(out: torch.Tensor, features: torch.Tensor, affine) -> torch.Tensor:
    """features into out (of their shape, or a view of it), as features * scale + shift with `affine` (scale, shift)."""
    return out.copy_(features) if affine is None else torch.addcmul(affine[1], features, affine[0], out=out)


def _sketch_chunk(r: Reduction, start: int, stop: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Bucket and sign of input features start..stop, from a generator seeded by the chunk, so any
    chunk can be regenerated alone and the projection never exists as a dense matrix."""
    buckets, signs = [], []
    for lo in range(start, stop, PROJECT_CHUNK):
        g = torch.Generator().manual_seed(r.seed * 1_000_003 + lo // PROJECT_CHUNK)
        n = min(PROJECT_CHUNK, stop - lo)
        buckets.append(torch.randint(0, r.out_features, (n,), generator=g))
        signs.append(torch.randint(0, 2, (n,), generator=g).float() * 2 - 1)
    return torch.cat(buckets), torch.cat(signs)


def _chunks(r: Reduction, device):
    for start in range(0, r.in_features, PROJECT_CHUNK):
        bucket, sign = _sketch_chunk(r, start, min(start + PROJECT_CHUNK, r.in_features))
        yield start, bucket.to(device), sign.to(device)
