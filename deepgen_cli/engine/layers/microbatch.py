"""Microbatch ("ghost") batch norm: a minibatch split into equal microbatches, each normalized by its own
statistics in one kernel call, and the moving averages updated once per optimizer step (Ioffe 2017's
per-worker statistics; Hoffer et al. 2017's ghost batch norm)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# Several microbatches: a minibatch (N, C, *S) with N = G*m is viewed, without a copy, as (G, m, C) (or
# (G, m, C, S)), and each microbatch's statistics are sums over dim 1 (and 3). Torch's batch-norm kernel needs
# a (m, G*C) copy in and out, forward and backward, and its kernels on that layout cost more than the sums:
# on norm-compare's MLP the layer's forward and backward cost 470 us that way against about 250 us here
# (1 CPU thread; every small op costs 2-10 us whatever its size, so the count of ops is the cost).
# One microbatch (the whole minibatch): torch's kernel itself, which needs no copy.


def _grouped(t: torch.Tensor, m: int) -> tuple[torch.Tensor, tuple[int, ...]]:
    """(the (G, m, C) or (G, m, C, S) view of t, the dims a microbatch statistic sums over)."""
    n, c = t.shape[:2]
    s = t.numel() // (n * c)
    return (t.reshape(n // m, m, c), (1,)) if s == 1 else (t.reshape(n // m, m, c, s), (1, 3))


def _as(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """t in like's dtype (autocast: float32 statistics on a bfloat16 activation); no op when they agree."""
    return t if t.dtype == like.dtype else t.to(like.dtype)


class MicroNormTrain(torch.autograd.Function):
    """Training forward of batch norm over microbatches of m, and of batch renorm over several microbatches when
    `renorm` is given (renorm on one microbatch is batch_renorm.renorm_whole):
    y = scale * (x - mu_B) / sigma_B + shift per (microbatch, channel), sigma_B = sqrt(biased variance + eps),
    with scale, shift = gamma, beta (batch norm) or gamma * r, gamma * d + beta (renorm; r and d constants of
    the backward: the paper's stop_gradient). Returns y only (each further output of a Function costs about
    5 us a step).

    renorm: (mu, sigma, rmax, dmax, raw) with mu, sigma the moving averages (C,) and `raw` None or the
    (r, d) tensors that r and d before the clip are written into (clips.ClipLog.slot: the layer counts the
    clips later, in one batch, off the step's path). update: None, or (mean buffer, spread buffer, rate): the
    forward moves the buffers once (update_moving) towards the mean over microbatches of mu_B and of the
    unbiased variance (batch norm: torch's running_var) or of sigma_B (renorm), where they are at hand.

    One autograd node per layer: the r and d arithmetic, the affine step and the moving averages run inside
    it, so none of them adds a node or an op outside. Several microbatches are sums over a view, without a
    copy (see above).
    """

    @staticmethod
    def forward(ctx, x, weight, bias, m, eps, update, renorm=None):
        if x.shape[0] == m:
            if renorm is not None:
                raise ValueError("batch renorm on one microbatch is batch_renorm.renorm_whole")
            return _forward_whole(ctx, x, weight, bias, eps, update)
        return _forward_micro(ctx, x, weight, bias, m, eps, update, renorm)

    @staticmethod
    def backward(ctx, grad):
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        if ctx.dims is None:  # one microbatch (batch norm only): batch norm's kernel applies gamma itself
            x, scale, mean, invstd, r, d = ctx.saved_tensors
            gx, g_scale, g_shift = torch.ops.aten.native_batch_norm_backward(
                grad, x, scale, None, None, mean, invstd, True, ctx.eps, [need_x, need_w or need_b, need_w or need_b])
        else:  # x_hat (G, m, C[, S]): dx = scale / sigma_B * (dy - mean(dy) - x_hat * mean(dy * x_hat))
            x_hat, scale, invstd, r, d = ctx.saved_tensors
            dims = ctx.dims
            gy = grad.view(x_hat.shape)
            g_shift = gy.sum(dims, keepdim=True)  # dL/dshift per microbatch and channel
            g_scale = torch.mul(gy, x_hat).sum(dims, keepdim=True)  # dL/dscale
            gx = None
            if need_x:
                gx = torch.addcmul(g_shift, x_hat, g_scale)
                torch.sub(gy, gx, alpha=1.0 / ctx.k, out=gx)
                gx = gx.mul_(invstd if scale is None else invstd * _as(scale, invstd)).view(grad.shape)
        g_weight = g_bias = None
        if need_w:  # renorm: dL/dgamma = r dL/dscale + d dL/dshift (r and d constant)
            g_weight = g_scale if r is None else torch.addcmul(g_scale * r, g_shift, d)  # shapes agree
        if ctx.dims is not None:  # from (G, 1, C[, 1]) to (C,)
            sum_dims = (0,) + ctx.dims
            g_weight = None if g_weight is None else g_weight.sum(sum_dims)
            g_shift = g_shift.sum(sum_dims) if need_b else None
        return gx, g_weight, g_shift if need_b else None, None, None, None, None


def _forward_whole(ctx, x, weight, bias, eps, update):
    """MicroNormTrain's forward of batch norm on one microbatch (MicroBatchNorm's forward that keeps the
    moving averages still, or moves them by a rate of its own): torch's batch-norm kernel, then the affine step.
    Batch renorm on one microbatch is batch_renorm.renorm_whole."""
    x_hat, mean, invstd = torch.native_batch_norm(x, None, None, None, None, True, 0.0, eps)
    if update is not None:
        k = x.numel() // x.shape[1]  # values per statistic; the variance is unbiased, as torch's running_var
        update_moving(update[0], mean, update[2])
        update_moving(update[1], invstd.pow(-2).sub_(eps), update[2], k / (k - 1))
    scale, shift = weight, bias
    if scale is None:
        y = x_hat
    else:
        if x.dim() > 2:
            shape = (-1,) + (1,) * (x.dim() - 2)
            scale, shift = scale.view(shape), shift.view(shape)
        y = torch.addcmul(_as(shift, x_hat), x_hat, _as(scale, x_hat))
    ctx.save_for_backward(x, None if scale is None else scale.view(-1), mean, invstd, None, None)
    ctx.eps, ctx.dims = eps, None
    return y


def _forward_micro(ctx, x, weight, bias, m, eps, update, renorm):
    """MicroNormTrain's forward on several microbatches: sums over the (G, m, C[, S]) view of x."""
    n, c = x.shape[:2]
    g = n // m
    if x.dim() == 2:  # (this path's Python is a quarter of its cost on norm-compare's MLP: kept short)
        x3, dims, k = x.view(g, m, c), (1,), m  # k: values per statistic
    else:
        x3, dims = _grouped(x, m)
        k = x3.numel() // (g * c)
    total = x3.sum(dims, keepdim=True)
    x_hat = torch.sub(x3, total, alpha=1.0 / k)
    squares = torch.mul(x_hat, x_hat).sum(dims, keepdim=True)  # k times the biased variance
    invstd = torch.add(_scalar(eps, squares), squares, alpha=1.0 / k).rsqrt_()  # eps + squares / k: one op
    x_hat.mul_(invstd)
    r = d = None
    if weight is not None and len(dims) > 1:
        weight, bias = weight.view(c, 1), bias.view(c, 1)  # a per-channel value against (G, 1, C, 1)
    if renorm is not None:
        mean, std = total.mul(1.0 / k), invstd.reciprocal()
        r, d, scale, shift = _corrections(weight, bias, mean, std, renorm)
        if update is not None:
            update_moving(update[0], mean, update[2])
            update_moving(update[1], std, update[2])
        # into a tensor of x's shape: a view made here would refuse the next layer's in-place ReLU
        y = torch.empty(x.shape, dtype=x_hat.dtype, device=x_hat.device)
        torch.addcmul(_as(shift, x_hat), x_hat, _as(scale, x_hat), out=y.view(x_hat.shape))
    else:
        scale = weight
        if update is not None:
            buf, spread, rate = update
            ones = _ones(g, total)
            # update_moving(buf, total, rate, 1 / k) and (spread, squares, rate, 1 / (k - 1)), written out
            buf.addmv_(total.view(g, -1).t(), ones, beta=1.0 - rate, alpha=rate / (k * g))
            spread.addmv_(squares.view(g, -1).t(), ones, beta=1.0 - rate, alpha=rate / ((k - 1) * g))
        if weight is None:
            y = x_hat.view(x.shape).clone()
        elif dims == (1,) and weight.dtype == x_hat.dtype:  # per channel: straight into x's shape
            y = torch.addcmul(bias, x_hat.view(x.shape), weight)
        else:
            p = (c,) + (1,) * (x.dim() - 2)
            y = torch.addcmul(_as(bias.view(p), x_hat), x_hat.view(x.shape), _as(weight.view(p), x_hat))
    ctx.save_for_backward(x_hat, scale, invstd, r, d)
    ctx.dims, ctx.k = dims, k
    return y


def _corrections(weight, bias, mean, std, renorm):
    """(r, d, gamma * r, gamma * d + beta) from the batch statistics, (C,) or per microbatch."""
    rm, rs, rmax, dmax, raw = renorm
    if mean.dim() == 4:
        rm, rs = rm.view(-1, 1), rs.view(-1, 1)
    r, _, d, _ = clipped_corrections(mean, std, rm, rs, rmax, dmax, raw)
    return r, d, weight * r, torch.addcmul(bias, weight, d)


def clipped_corrections(mean, std, mu, sigma, rmax, dmax, out=None):
    """(r, raw r, d, raw d): r = sigma_B / sigma clipped to [1/rmax, rmax], d = (mu_B - mu) / sigma clipped to
    [-dmax, dmax]; the raw values are written into `out` (raw r, raw d) where given (clips.ClipLog.slot)."""
    if out is None:
        r_raw, d_raw = std / sigma, (mean - mu).div_(sigma)
    else:
        r_raw, d_raw = torch.div(std, sigma, out=out[0]), torch.sub(mean, mu, out=out[1]).div_(sigma)
    return r_raw.clamp(1.0 / rmax, rmax), r_raw, d_raw.clamp(-dmax, dmax), d_raw


def norm_train(x, weight, bias, m: int, eps: float, update=None, renorm=None) -> torch.Tensor:
    """MicroNormTrain's output (and its update of the moving averages); under torch.compile the same
    arithmetic in plain ops (its compiler fuses them itself, and cannot trace a Function that hands tensors
    out through a list). Compiled, renorm's last entry is None or a list that (r, raw r, d, raw d) is
    appended to (the layer counts the clips in the graph), not ClipLog's tensors."""
    if not torch.compiler.is_compiling():
        return MicroNormTrain.apply(x, weight, bias, m, eps, update, renorm)
    n, c = x.shape[:2]
    x3, dims = _grouped(x, m)
    param = (c,) if len(dims) == 1 else (c, 1)
    var, mean = torch.var_mean(x3, dims, correction=0, keepdim=True)
    std = (var + eps).sqrt()
    x_hat = (x3 - mean) / std
    w = b = None
    if weight is not None:
        w, b = weight.view(param), bias.view(param)
    if renorm is not None:
        rm, rs, rmax, dmax, pending = renorm
        rm, rs = rm.view(param), rs.view(param)
        # from the statistics without their gradient: the paper's stop_gradient
        r, r_raw, d, d_raw = clipped_corrections(mean.detach(), std.detach(), rm, rs, rmax, dmax)
        # r and d through one cat, which the partitioner never recomputes: the backward reads them as the forward
        # made them, where it would otherwise divide and clip again at every element (about 8% of its backward)
        rd = torch.cat((r, d))
        r, d = rd[:n // m], rd[n // m:]
        x_hat = x_hat * r + d
        if pending is not None:
            pending.append((r, r_raw, d, d_raw))
        spread, factor = std.detach(), 1.0
    else:
        k = x3.numel() // (n // m * c)
        spread, factor = var.detach(), k / (k - 1)
    if update is not None:
        if renorm is not None:  # sums over microbatches that the compiler fuses with the clip counts' own sums:
            g = n // m  # about 6% of renorm's compiled forward at m4 against update_moving's matrix-vector product
            update[0].lerp_(mean.detach().view(g, c).sum(0) / g, update[2])
            update[1].lerp_(spread.view(g, c).sum(0) / g, update[2])
        else:
            update_moving(update[0], mean.detach(), update[2])
            update_moving(update[1], spread, update[2], factor)
    y = x_hat if w is None else x_hat * w + b
    return y.view(x.shape)

_ONES: dict = {}  # (G, dtype, device) -> a vector of G ones, for update_moving
_SCALARS: dict = {}  # (value, dtype, device) -> a 0-d tensor of it (an operand where torch takes no scalar)


def _scalar(value: float, like: torch.Tensor) -> torch.Tensor:
    """value as a 0-d tensor of like's dtype and device, made once."""
    key = (value, like.dtype, like.device)
    t = _SCALARS.get(key)
    if t is None:
        t = _SCALARS[key] = torch.tensor(value, dtype=like.dtype, device=like.device)
    return t


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


def update_moving(buf: torch.Tensor, stats: torch.Tensor, rate: float, factor: float = 1.0) -> None:
    """buf += rate * (mean over microbatches of factor * stats - buf); stats is (G, 1, C[, 1]) (or (G, C)),
    or (C,) for one microbatch. Several: one matrix-vector product, buf = (1 - rate) buf + rate * factor / G *
    stats^T 1.

    One update per optimizer step whatever G: the rate then spans the same number of steps at every
    microbatch size, so m = 2, 4 and 32 (and batch norm and renorm) average over the same horizon.
    """
    if stats.dim() == 1:
        if factor == 1.0:
            buf.lerp_(stats, rate)
            return
        stats = stats.view(1, -1)
    else:
        stats = stats.view(stats.shape[0], -1)
    buf.addmv_(stats.t(), _ones(stats.shape[0], stats), beta=1.0 - rate, alpha=rate * factor / stats.shape[0])


def _ones(g: int, like: torch.Tensor) -> torch.Tensor:
    """A vector of g ones in like's dtype and device, made once (update_moving's sum over microbatches)."""
    key = (g, like.dtype, like.device)
    ones = _ONES.get(key)
    if ones is None:
        ones = _ONES[key] = torch.ones(g, dtype=like.dtype, device=like.device)
    return ones


class MicroBatched:
    """Mixin of the microbatch norms: `microbatch` examples per statistic (None: the whole minibatch) and
    `update_running` (False: a training-mode forward that changes no statistic or counter)."""

    microbatch: int | None = None
    update_running: bool = True

    def _micro(self, x: torch.Tensor, train_fn) -> torch.Tensor:
        """train_fn(x, m, update) on each block of whole microbatches of size m."""
        n, m = x.shape[0], self.microbatch
        if (not m or m >= n) and n > 1:  # one microbatch of the whole minibatch: nothing to split or check
            return train_fn(x, n, self.update_running)
        m = n if not m or m >= n else m
        if self.update_running and n % m:
            raise ValueError(f"a training minibatch of {n} is not a whole number of microbatches of {m}")
        per_example = x.numel() // (n * x.shape[1])  # values per feature in one example (H*W for a conv map)
        if n % m == 0 and per_example * m > 1:  # whole microbatches: every training step
            return train_fn(x, m, self.update_running)
        blocks = micro_blocks(n, m)
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
        if x.shape[0] == m:
            if update:
                return super().forward(x)  # torch's kernel updates the moving averages itself (same rule)
            return F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)
        params, buffers = self.__dict__["_parameters"], self.__dict__["_buffers"]  # nn.Module's __getattr__
        weight, bias = params["weight"], params["bias"]  # costs about 1 us a read
        if not (update and self.track_running_stats):
            return norm_train(x, weight, bias, m, self.eps)
        rate = self.momentum if self.momentum is not None else 1.0 / (int(buffers["num_batches_tracked"]) + 1)
        y = norm_train(x, weight, bias, m, self.eps, (buffers["running_mean"], buffers["running_var"], rate))
        buffers["num_batches_tracked"].add_(1)
        return y


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
