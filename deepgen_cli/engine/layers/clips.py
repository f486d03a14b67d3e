"""Batch renorm's clip count off the step's path: each step writes its r and d before the clip into one
preallocated block, and the clips of up to a block's worth of steps are counted together."""

from __future__ import annotations

import math

import torch

BLOCK_BYTES = 256 << 10  # per layer at most: a block of microbatch steps (G x C values each) counted at once stalls its step


class ClipLog:
    """The raw (before the clip) r and d of the steps not counted yet, and their (rmax, dmax).

    A step asks `slot` for the two tensors to write its raw r and d into (rows of one block, so a step adds no
    op and keeps nothing alive); `count_into` adds the values the clip changed (clip(raw) != raw, NaN
    included, as a count made in each step) to a (2, C) counter in five ops for the whole block. On
    norm-compare's MLP this costs about 1% of a training step, where a list of each step's four tensors,
    stacked when counted, cost 3-4%: the stack and the tensors it kept alive.

    One step's r is (C,), or (G, 1, C[, 1]) per microbatch (microbatch._grouped's layout): channels on dim 0,
    else dim 2.
    """

    def __init__(self, rows: int):
        self.rows = rows  # steps per block at most (fewer where BLOCK_BYTES holds fewer)
        self._block: torch.Tensor | None = None  # (rows, 2, *step shape): raw r in [:, 0], raw d in [:, 1]
        self._views: list[tuple[torch.Tensor, torch.Tensor]] = []  # per row, its (raw r, raw d), made once
        self._limits: list[tuple[float, float]] = []  # (rmax, dmax) of each filled row
        self._bounds: tuple | None = None  # ((rmax, dmax), low, high) of the last block with one limit
        self._shape: tuple[int, ...] | None = None  # the block's step shape and dtype, and the counter it is for
        self._dtype: torch.dtype | None = None
        self._counts: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self._limits)

    def slot(self, shape: tuple[int, ...], dtype: torch.dtype, counts: torch.Tensor, rmax: float,
             dmax: float) -> tuple[torch.Tensor, torch.Tensor]:
        """(raw r, raw d) to write this step's values into, of `shape` and `dtype` on counts' device. A full
        block, or one of another shape, is counted into `counts` first."""
        if shape != self._shape or dtype is not self._dtype or counts is not self._counts:
            self.count_into(counts)
            rows = max(1, min(self.rows, BLOCK_BYTES // (2 * math.prod(shape) * dtype.itemsize)))
            self._block = torch.empty((rows, 2) + shape, dtype=dtype, device=counts.device)
            self._views = [(row[0], row[1]) for row in self._block]
            self._shape, self._dtype, self._counts = shape, dtype, counts  # counts: a moved layer has new ones
            self._bounds = None
        elif len(self._limits) == len(self._views):
            self.count_into(counts)
        out = self._views[len(self._limits)]
        self._limits.append((rmax, dmax))
        return out

    def count_into(self, counts: torch.Tensor) -> None:
        """counts[0] += the raw r values the clip changed, counts[1] += the raw d values; empties the log."""
        n, limits = len(self._limits), self._limits
        if not n:
            return
        block = self._block if n == len(self._views) else self._block[:n]
        step = block.shape[1:]  # (2, *one step's shape)
        first = limits[0]
        # The bounds as full (2, *step) tensors: a clamp that broadcasts within a row runs ~6x slower on the CPU.
        if limits.count(first) == n:  # one limit for the whole block (every step after the ramps)
            if self._bounds is None or self._bounds[0] != first:
                self._bounds = (first,) + self._full([first], block)
            low, high = self._bounds[1:]
        else:
            low, high = self._full(limits, block)
        changed = torch.ne(block.clamp(low, high), block)
        # to (2, C): a sum over one dim at a time (several dims at once reduce a bool tensor ~5x slower)
        per_channel = changed.sum(0) if block.dim() == 3 else changed.view(n, 2, step[1], -1).sum(0).sum(1)
        counts.add_(per_channel.to(counts.device))
        limits.clear()

    @staticmethod
    def _full(limits: list[tuple[float, float]], block: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(low, high) bounds of r and d, per limit, expanded to (len(limits), 2, *one step's shape)."""
        rows = (len(limits), 2) + (1,) * (block.dim() - 2)
        low = torch.tensor([(1.0 / r, -d) for r, d in limits], dtype=block.dtype).view(rows)
        high = torch.tensor(limits, dtype=block.dtype).view(rows)
        full = (len(limits),) + tuple(block.shape[1:])
        return (low.to(block.device).expand(full).contiguous(), high.to(block.device).expand(full).contiguous())
