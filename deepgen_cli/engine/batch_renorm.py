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
        """(r, d) per channel from the batch mean and std, without gradient (the paper's stop_gradient)."""
        with torch.no_grad():
            rmax, dmax = self.limits()
            r = (std / self.running_std).clamp(1.0 / rmax, rmax)
            d = ((mean - self.running_mean) / self.running_std).clamp(-dmax, dmax)
        return r, d

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input_dim(x)
        if not self.training:
            # (x - mu) / sqrt(sigma^2 + 0): batch norm's own inference kernel, so it folds and runs alike.
            return F.batch_norm(x, self.running_mean, self.running_std.square(), self.weight, self.bias,
                                False, 0.0, 0.0)
        if x.numel() // x.shape[1] <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size {list(x.shape)}")
        # x_hat = (x - mu_B) / sigma_B from batch norm's kernel, which also returns mu_B and 1 / sigma_B
        # (a separate var_mean pass made the layer twice as slow as batch norm on CPU).
        x_hat, mean, invstd = torch.native_batch_norm(x, None, None, None, None, True, 0.0, self.eps)
        std = invstd.detach().reciprocal()
        r, d = self.corrections(mean.detach(), std)
        # gamma * (x_hat * r + d) + beta, with r and d constants: gradients reach gamma, beta and x only
        # through x_hat, as in the paper.
        shape = [1, -1] + [1] * (x.dim() - 2)
        y = x_hat * (self.weight * r).view(shape) + (self.weight * d + self.bias).view(shape)
        if self.update_running:
            with torch.no_grad():
                self.running_mean.add_(self.momentum * (mean - self.running_mean))
                self.running_std.add_(self.momentum * (std - self.running_std))
                self.num_batches_tracked.add_(1)
        return y


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
