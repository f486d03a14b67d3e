"""Microbatch ("ghost") batch norm: a minibatch split into equal microbatches, each normalized by its own
statistics in one kernel call, and the moving averages updated once per optimizer step (Ioffe 2017's
per-worker statistics; Hoffer et al. 2017's ghost batch norm)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# Layout: a minibatch (N, C, *S) with N = G*m becomes (1, G*C, m*prod(S)). Each "channel" of that tensor is
# one (microbatch, feature) pair, so one batch-norm kernel computes every microbatch's mean and variance
# (and autograd's fused backward handles them). The copies cost one reshape in and one out.


def to_micro(x: torch.Tensor, m: int) -> torch.Tensor:
    """(G*m, C, *S) -> (1, G*C, m*prod(S)): channel g*C + c holds feature c of microbatch g."""
    n, c = x.shape[:2]
    return x.reshape(n // m, m, c, -1).transpose(1, 2).reshape(1, (n // m) * c, -1)


def from_micro(y: torch.Tensor, shape: torch.Size, m: int) -> torch.Tensor:
    """The inverse of to_micro for an input of `shape`."""
    n, c = shape[0], shape[1]
    return y.view(n // m, c, m, -1).transpose(1, 2).reshape(shape)


def micro_blocks(n: int, m: int) -> list[tuple[int, int, int]]:
    """(start, size, microbatch) blocks covering n examples: as many microbatches of m as fit, then the rest
    as its own microbatch (a rest of 1 joins the last one: one value has no variance). Only evaluation on
    test minibatches meets a rest; training needs whole microbatches."""
    full, rest = n // m * m, n % m
    if rest == 0 or full == 0:
        return [(0, n, min(m, n))]
    if rest == 1:
        head = [(0, full - m, m)] if full > m else []
        return head + [(full - m, m + 1, m + 1)]
    return [(0, full, m), (full, rest, rest)]


def update_moving(buf: torch.Tensor, stats: torch.Tensor, rate: float) -> None:
    """buf += rate * (mean over microbatches of stats - buf); stats is (G, C).

    One update per optimizer step whatever G: the rate then spans the same number of steps at every
    microbatch size, so m = 2, 4 and 32 (and batch norm and renorm) average over the same horizon.
    """
    buf.lerp_(stats[0] if stats.shape[0] == 1 else stats.mean(0), rate)


class MicroBatched:
    """Mixin of the microbatch norms: `microbatch` examples per statistic (None: the whole minibatch) and
    `update_running` (False: a training-mode forward that changes no statistic or counter)."""

    microbatch: int | None = None
    update_running: bool = True

    def _micro(self, x: torch.Tensor, train_fn) -> torch.Tensor:
        """train_fn(x, m, update) on each block of whole microbatches of size m."""
        n = x.shape[0]
        m = n if not self.microbatch or self.microbatch >= n else self.microbatch
        if self.update_running and n % m:
            raise ValueError(f"a training minibatch of {n} is not a whole number of microbatches of {m}")
        blocks = micro_blocks(n, m)
        per_example = x[0].numel() // x.shape[1]  # values per feature in one example (H*W for a conv map)
        if per_example * min(mb for _, _, mb in blocks) <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size {list(x.shape)}"
                             f" in microbatches of {m}")
        if len(blocks) == 1:
            return train_fn(x, blocks[0][2], self.update_running)
        return torch.cat([train_fn(x[s:s + k], mb, False) for s, k, mb in blocks])


class _MicroBatchNorm(MicroBatched):
    """Ghost batch norm over torch's BatchNorm: in training each microbatch is normalized by its own biased
    mean and variance; the moving averages get one update per training forward (= per optimizer step) with
    the mean over microbatches of their means and unbiased variances (torch's convention for running_var;
    Keras' virtual_batch_size does the same). A microbatch of the whole minibatch is torch's BatchNorm
    exactly; eval mode is torch's BatchNorm on the moving averages, so folding and as_batch_norm apply."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, microbatch: int | None = None,
                 **kw):
        super().__init__(num_features, eps, momentum, **kw)
        self.microbatch = microbatch
        self.update_running = True

    def extra_repr(self) -> str:
        return super().extra_repr() + f", microbatch={self.microbatch}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return super().forward(x)
        self._check_input_dim(x)
        return self._micro(x, self._train)

    def _train(self, x: torch.Tensor, m: int, update: bool) -> torch.Tensor:
        n, c = x.shape[:2]
        g = n // m
        if g == 1:
            if update:
                return super().forward(x)  # torch's kernel updates the moving averages itself (same rule)
            return F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)
        w = None if self.weight is None else self.weight.repeat(g)  # repeat's backward sums over microbatches
        b = None if self.bias is None else self.bias.repeat(g)
        y, mean, invstd = torch.native_batch_norm(to_micro(x, m), w, b, None, None, True, 0.0, self.eps)
        if update and self.track_running_stats:
            with torch.no_grad():
                k = x.numel() // (c * g)  # values per statistic
                var = (invstd.pow(-2) - self.eps) * (k / (k - 1))  # unbiased, as torch's running_var
                rate = self.momentum if self.momentum is not None else 1.0 / (int(self.num_batches_tracked) + 1)
                update_moving(self.running_mean, mean.view(g, c), rate)
                update_moving(self.running_var, var.view(g, c), rate)
                self.num_batches_tracked.add_(1)
        return from_micro(y, x.shape, m)


class MicroBatchNorm1d(_MicroBatchNorm, nn.BatchNorm1d):
    """Ghost batch norm over (N, C) or (N, C, L) inputs."""


class MicroBatchNorm2d(_MicroBatchNorm, nn.BatchNorm2d):
    """Ghost batch norm over (N, C, H, W) inputs."""


def set_microbatch(model: nn.Module, microbatch: int | None) -> nn.Module:
    """Every microbatch norm of `model` normalizes over `microbatch` examples (None: the whole minibatch)."""
    for module in model.modules():
        if isinstance(module, MicroBatched):
            module.microbatch = microbatch
    return model
