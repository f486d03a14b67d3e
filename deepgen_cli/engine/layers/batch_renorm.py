"""Batch renormalization (Ioffe 2017): batch norm with stopped-gradient corrections r and d, and its
rmax/dmax schedule counted in optimizer steps."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

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


class _BatchRenorm(nn.Module):
    """y = gamma * ((x - mu_B) / sigma_B * r + d) + beta in training, y = gamma * (x - mu) / sigma + beta in eval.

    mu and sigma are moving averages of the batch mean and standard deviation with rate `momentum`.
    The step counter `num_batches_tracked` counts training-mode forward passes, one per optimizer step.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.01,
                 schedule: RenormSchedule | None = None, device=None, dtype=None):
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.schedule = schedule or RenormSchedule()
        self.update_running = True  # False: train-mode forward that leaves mu, sigma and the step alone
        self.weight = nn.Parameter(torch.ones(num_features, **kw))
        self.bias = nn.Parameter(torch.zeros(num_features, **kw))
        self.register_buffer("running_mean", torch.zeros(num_features, **kw))
        self.register_buffer("running_std", torch.ones(num_features, **kw))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long, device=device))

    def _check_input_dim(self, x: torch.Tensor) -> None:
        raise NotImplementedError

    def extra_repr(self) -> str:
        s = self.schedule
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, rmax={s.rmax}, dmax={s.dmax}, "
                f"steps={s.warmup_steps}/{s.dmax_steps}/{s.rmax_steps}")

    def limits(self) -> tuple[float, float]:
        """(rmax, dmax) the next training step will use."""
        return self.schedule.at(int(self.num_batches_tracked))

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
        if x.numel() // x.shape[1] <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size {list(x.shape)}")
        y, mean, std = _RenormTrain.apply(x, self.weight, self.bias, self.running_mean, self.running_std,
                                          *self.limits(), self.eps)
        if self.update_running:  # mean and std carry no gradient
            self.running_mean.lerp_(mean, self.momentum)  # mu += momentum * (mu_B - mu)
            self.running_std.lerp_(std, self.momentum)  # sigma += momentum * (sigma_B - sigma)
            self.num_batches_tracked.add_(1)
        return y


def renorm_corrections(mean, std, running_mean, running_std, rmax: float, dmax: float):
    """r = sigma_B / sigma clipped to [1/rmax, rmax] and d = (mu_B - mu) / sigma clipped to [-dmax, dmax]."""
    r = (std / running_std).clamp_(1.0 / rmax, rmax)
    d = ((mean - running_mean) / running_std).clamp_(-dmax, dmax)
    return r, d


class _RenormTrain(torch.autograd.Function):
    """Training forward y = gamma * ((x - mu_B) / sigma_B * r + d) + beta, also returning mu_B and sigma_B.

    r and d are constants for the backward pass (the paper's stop_gradient), so as a function of x, gamma
    and beta this is batch norm with weight gamma * r and bias gamma * d + beta: the backward is batch
    norm's fused kernel. Written as a chain of autograd ops, the layer made a training step of the
    benchmark's convnet (3x32x32, batch 32, one CPU thread) 1.15-1.2x as slow as batch norm; this way
    about 1.0x (benchmarks/bench_norm.py).
    """

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_std, rmax, dmax, eps):
        # x_hat = (x - mu_B) / sigma_B from batch norm's kernel, which also returns mu_B and 1 / sigma_B
        # with sigma_B = sqrt(biased batch variance + eps), as in the paper.
        x_hat, mean, invstd = torch.native_batch_norm(x, None, None, None, None, True, 0.0, eps)
        std = invstd.reciprocal()
        r, d = renorm_corrections(mean, std, running_mean, running_std, rmax, dmax)
        scale, shift = weight * r, torch.addcmul(bias, weight, d)
        shape = [1, -1] + [1] * (x.dim() - 2)
        y = x_hat.mul_(scale.view(shape)).add_(shift.view(shape))
        ctx.save_for_backward(x, scale, mean, invstd, r, d)
        ctx.eps = eps
        ctx.mark_non_differentiable(mean, std)
        return y, mean, std

    @staticmethod
    def backward(ctx, grad, _grad_mean, _grad_std):
        x, scale, mean, invstd, r, d = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        gx, g_scale, g_shift = torch.ops.aten.native_batch_norm_backward(
            grad.contiguous(), x, scale, None, None, mean, invstd, True, ctx.eps,
            [need_x, need_w or need_b, need_w or need_b])
        # scale = gamma * r and shift = gamma * d + beta, r and d constant: dL/dgamma = r dL/dscale + d dL/dshift.
        g_weight = torch.addcmul(g_scale * r, g_shift, d) if need_w else None
        return gx, g_weight, g_shift if need_b else None, None, None, None, None, None


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
                    schedule: RenormSchedule | None = None) -> _BatchRenorm:
    """A renorm layer with `bn`'s affine parameters and statistics (sigma = sqrt(running_var + eps))."""
    cls = BatchRenorm2d if isinstance(bn, nn.BatchNorm2d) else BatchRenorm1d
    ref = bn.weight if bn.weight is not None else bn.running_mean
    brn = cls(bn.num_features, bn.eps, momentum, schedule, device=ref.device, dtype=ref.dtype)
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
