"""Batch renormalization (Ioffe 2017): batch norm with stopped-gradient corrections r and d, per minibatch
or per microbatch, and its rmax/dmax schedule counted in optimizer steps."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from deepgen_cli.engine.layers.microbatch import MicroBatched, from_micro, to_micro, update_moving

# The paper's Inception-v3 schedule, in optimizer steps: plain batch norm (rmax=1, dmax=0) for the first
# 5k steps, then rmax rises linearly to 3 by step 40k and dmax to 5 by step 25k.
PAPER_WARMUP_STEPS = 5_000
PAPER_DMAX_STEPS = 25_000
PAPER_RMAX_STEPS = 40_000


@dataclass(frozen=True)
class RenormSchedule:
    """rmax and dmax as functions of the optimizer step (linear ramps after a plain-BN warmup)."""

    rmax: float = 3.0  # final clip of r = sigma_B / sigma to [1/rmax, rmax]
    dmax: float = 5.0  # final clip of d = (mu_B - mu) / sigma to [-dmax, dmax]
    warmup_steps: int = PAPER_WARMUP_STEPS  # steps of plain batch norm: rmax = 1, dmax = 0
    rmax_steps: int = PAPER_RMAX_STEPS  # step at which rmax reaches its final value
    dmax_steps: int = PAPER_DMAX_STEPS  # step at which dmax reaches its final value

    @classmethod
    def scaled(cls, total_steps: int, rmax: float = 3.0, dmax: float = 5.0, end_fraction: float = 0.5) -> RenormSchedule:
        """The paper's 5k/25k/40k schedule shrunk so that rmax is fully relaxed at `end_fraction` of the run."""
        scale = end_fraction * total_steps / PAPER_RMAX_STEPS
        return cls(rmax, dmax, round(PAPER_WARMUP_STEPS * scale), round(PAPER_RMAX_STEPS * scale),
                   round(PAPER_DMAX_STEPS * scale))

    @classmethod
    def fractions(cls, total_steps: int, warmup: float, dmax_at: float, rmax_at: float, rmax: float = 3.0,
                  dmax: float = 5.0) -> RenormSchedule:
        """Plain batch norm for the first `warmup` of `total_steps`, dmax and rmax reached at fractions
        `dmax_at` and `rmax_at` of them (the paper's 5k/25k/40k of 80k: 0.0625 / 0.3125 / 0.5)."""
        w = round(warmup * total_steps)
        return cls(rmax, dmax, w, max(w, round(rmax_at * total_steps)), max(w, round(dmax_at * total_steps)))

    def at(self, step: int) -> tuple[float, float]:
        """(rmax, dmax) for the optimizer step `step` (0 is the first step)."""
        if step < self.warmup_steps:
            return 1.0, 0.0
        return (1.0 + (self.rmax - 1.0) * _ramp(step, self.warmup_steps, self.rmax_steps),
                self.dmax * _ramp(step, self.warmup_steps, self.dmax_steps))


def _ramp(step: int, start: int, end: int) -> float:
    """0 at `start`, 1 at `end` and after, linear in between."""
    if end <= start:
        return 1.0
    return min(1.0, (step - start) / (end - start))


class _BatchRenorm(MicroBatched, nn.Module):
    """y = gamma * ((x - mu_B) / sigma_B * r + d) + beta in training, y = gamma * (x - mu) / sigma + beta in eval.

    mu and sigma are moving averages of the batch mean and standard deviation with rate `momentum`.
    With `microbatch` m, each microbatch of m examples gets its own mu_B, sigma_B, r and d against the shared
    mu and sigma from before the step (what each worker does in the paper), and mu, sigma move once per
    step towards the mean over microbatches of mu_B and sigma_B.

    The schedule reads `step`, a Python int counting training-mode forward passes (one per optimizer step),
    so no forward waits for the device; `num_batches_tracked` keeps the same count on the device for the
    state dict. Clip counting (no host sync either): `active_steps` (steps with rmax > 1 or dmax > 0),
    `values` (microbatches in those steps, each giving one r and one d per channel) and `clips`, a (2, C)
    device counter of r and d values that the clip changed.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.01,
                 schedule: RenormSchedule | None = None, device=None, dtype=None, microbatch: int | None = None):
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.schedule = schedule or RenormSchedule()
        self.microbatch = microbatch
        self.update_running = True  # False: train-mode forward that leaves mu, sigma and the step alone
        self.count_clips = True
        self.step = 0
        self.active_steps = 0
        self.values = 0
        self.weight = nn.Parameter(torch.ones(num_features, **kw))
        self.bias = nn.Parameter(torch.zeros(num_features, **kw))
        self.register_buffer("running_mean", torch.zeros(num_features, **kw))
        self.register_buffer("running_std", torch.ones(num_features, **kw))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long, device=device))
        self.register_buffer("clips", torch.zeros(2, num_features, dtype=torch.long, device=device), persistent=False)

    def _check_input_dim(self, x: torch.Tensor) -> None:
        raise NotImplementedError

    def extra_repr(self) -> str:
        s = self.schedule
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, rmax={s.rmax}, dmax={s.dmax}, "
                f"steps={s.warmup_steps}/{s.dmax_steps}/{s.rmax_steps}, microbatch={self.microbatch}")

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self.step = int(self.num_batches_tracked)  # once per load, not per forward

    def limits(self) -> tuple[float, float]:
        """(rmax, dmax) the next training step will use."""
        return self.schedule.at(self.step)

    def corrections(self, mean: torch.Tensor, std: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(r, d) per channel from the batch mean and std, as the next training step computes them."""
        with torch.no_grad():
            return renorm_corrections(mean, std, self.running_mean, self.running_std, *self.limits())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input_dim(x)
        if not self.training:
            # (x - mu) / sqrt(sigma^2 + 0): batch norm's own inference kernel, so it folds and runs alike.
            return F.batch_norm(x, self.running_mean, self.running_std.square(), self.weight, self.bias,
                                False, 0.0, 0.0)
        return self._micro(x, self._train)

    def _train(self, x: torch.Tensor, m: int, update: bool) -> torch.Tensor:
        n, c = x.shape[:2]
        g = n // m
        rmax, dmax = self.limits()
        if g == 1:
            args = (x, self.weight, self.bias, self.running_mean, self.running_std)
        else:  # one (microbatch, channel) pair per channel of the micro layout; r, d per microbatch
            args = (to_micro(x, m), self.weight.repeat(g), self.bias.repeat(g), self.running_mean.repeat(g),
                    self.running_std.repeat(g))
        count = update and self.count_clips and (rmax > 1.0 or dmax > 0.0)
        y, mean, std, r_clipped, d_clipped = _RenormTrain.apply(*args, rmax, dmax, self.eps, count)
        if update:  # mean and std carry no gradient
            if count:
                self.active_steps += 1
                self.values += g
                self.clips[0].add_(r_clipped.view(g, c).sum(0))
                self.clips[1].add_(d_clipped.view(g, c).sum(0))
            update_moving(self.running_mean, mean.view(g, c), self.momentum)  # mu += momentum * (mu_B - mu)
            update_moving(self.running_std, std.view(g, c), self.momentum)  # sigma += momentum * (sigma_B - sigma)
            self.num_batches_tracked.add_(1)
            self.step += 1
        return y if g == 1 else from_micro(y, x.shape, m)


def renorm_corrections(mean, std, running_mean, running_std, rmax: float, dmax: float):
    """r = sigma_B / sigma clipped to [1/rmax, rmax] and d = (mu_B - mu) / sigma clipped to [-dmax, dmax]."""
    r = (std / running_std).clamp_(1.0 / rmax, rmax)
    d = ((mean - running_mean) / running_std).clamp_(-dmax, dmax)
    return r, d


class _RenormTrain(torch.autograd.Function):
    """Training forward y = gamma * ((x - mu_B) / sigma_B * r + d) + beta, also returning mu_B and sigma_B
    and, with `count`, masks of the r and d values that the clip changed (else None).

    r and d are constants for the backward pass (the paper's stop_gradient), so as a function of x, gamma
    and beta this is batch norm with weight gamma * r and bias gamma * d + beta: the backward is batch
    norm's fused kernel. Written as a chain of autograd ops, the layer made a training step of the
    benchmark's convnet (3x32x32, batch 32, one CPU thread) 1.15-1.2x as slow as batch norm; this way
    about 1.0x (benchmarks/bench_norm.py).
    """

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_std, rmax, dmax, eps, count=False):
        # x_hat = (x - mu_B) / sigma_B from batch norm's kernel, which also returns mu_B and 1 / sigma_B
        # with sigma_B = sqrt(biased batch variance + eps), as in the paper.
        x_hat, mean, invstd = torch.native_batch_norm(x, None, None, None, None, True, 0.0, eps)
        std = invstd.reciprocal()
        inv_rs = running_std.reciprocal()
        r_raw, d_raw = std * inv_rs, (mean - running_mean).mul_(inv_rs)
        r, d = r_raw.clamp(1.0 / rmax, rmax), d_raw.clamp(-dmax, dmax)
        scale, shift = weight * r, torch.addcmul(bias, weight, d)
        shape = [1, -1] + [1] * (x.dim() - 2)
        y = x_hat.mul_(scale.view(shape)).add_(shift.view(shape))
        ctx.save_for_backward(x, scale, mean, invstd, r, d)
        ctx.eps = eps
        clipped = (r != r_raw, d != d_raw) if count else (None, None)
        ctx.mark_non_differentiable(mean, std, *(t for t in clipped if t is not None))
        return y, mean, std, *clipped

    @staticmethod
    def backward(ctx, grad, *_):
        x, scale, mean, invstd, r, d = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        gx, g_scale, g_shift = torch.ops.aten.native_batch_norm_backward(
            grad.contiguous(), x, scale, None, None, mean, invstd, True, ctx.eps,
            [need_x, need_w or need_b, need_w or need_b])
        # scale = gamma * r and shift = gamma * d + beta, r and d constant: dL/dgamma = r dL/dscale + d dL/dshift.
        g_weight = torch.addcmul(g_scale * r, g_shift, d) if need_w else None
        return gx, g_weight, g_shift if need_b else None, None, None, None, None, None, None


class BatchRenorm1d(_BatchRenorm):
    """Batch renormalization over (N, C) or (N, C, L) inputs."""

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {x.dim()}D input)")


class BatchRenorm2d(_BatchRenorm):
    """Batch renormalization over (N, C, H, W) inputs."""

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() != 4:
            raise ValueError(f"expected 4D input (got {x.dim()}D input)")


def from_batch_norm(bn: nn.modules.batchnorm._BatchNorm, momentum: float = 0.01,
                    schedule: RenormSchedule | None = None, microbatch: int | None = None) -> _BatchRenorm:
    """A renorm layer with `bn`'s affine parameters and statistics (sigma = sqrt(running_var + eps))."""
    cls = BatchRenorm2d if isinstance(bn, nn.BatchNorm2d) else BatchRenorm1d
    ref = bn.weight if bn.weight is not None else bn.running_mean
    brn = cls(bn.num_features, bn.eps, momentum, schedule, device=ref.device, dtype=ref.dtype, microbatch=microbatch)
    with torch.no_grad():
        if bn.weight is not None:
            brn.weight.copy_(bn.weight)
            brn.bias.copy_(bn.bias)
        if bn.running_mean is not None:
            brn.running_mean.copy_(bn.running_mean)
            brn.running_std.copy_((bn.running_var + bn.eps).sqrt())
    return brn


def to_batch_norm(brn: _BatchRenorm) -> nn.modules.batchnorm._BatchNorm:
    """A BatchNorm layer that computes `brn`'s inference output (running_var = sigma^2 - eps)."""
    cls = nn.BatchNorm2d if isinstance(brn, BatchRenorm2d) else nn.BatchNorm1d
    bn = cls(brn.num_features, brn.eps, device=brn.weight.device, dtype=brn.weight.dtype)
    with torch.no_grad():
        bn.weight.copy_(brn.weight)
        bn.bias.copy_(brn.bias)
        bn.running_mean.copy_(brn.running_mean)
        bn.running_var.copy_(brn.running_std.square() - brn.eps)
    return bn.eval()
