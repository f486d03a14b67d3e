"""Batch renormalization (Ioffe 2017): batch norm with stopped-gradient corrections r and d, per minibatch
or per microbatch, and its rmax/dmax schedule counted in optimizer steps."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from deepgen_cli.engine.layers.clips import ClipLog
from deepgen_cli.engine.layers.microbatch import MicroBatched, clipped_corrections, norm_train

CLIP_LOG_STEPS = 50  # steps whose clips wait to be counted in one batch (clips.ClipLog)

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
        self._counts = _Counts()  # step, active_steps, values: see the properties below
        self.weight = nn.Parameter(torch.ones(num_features, **kw))
        self.bias = nn.Parameter(torch.zeros(num_features, **kw))
        self.register_buffer("running_mean", torch.zeros(num_features, **kw))
        self.register_buffer("running_std", torch.ones(num_features, **kw))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long, device=device))
        self.register_buffer("clip_counts", torch.zeros(2, num_features, dtype=torch.long, device=device),
                             persistent=False)
        self._clip_log = ClipLog(CLIP_LOG_STEPS)  # raw r and d of the steps not counted yet
        self.register_buffer("_compiled_counts", torch.zeros(3, dtype=torch.long, device=device), persistent=False)

    # The step counters live in a plain object: nn.Module's __setattr__, which a `self.step += 1` goes through,
    # cost about as much as a small tensor op, three times a step.
    step = property(lambda self: self._counted("step", 0), lambda self, v: self._set("step", v))
    active_steps = property(lambda self: self._counted("active_steps", 1), lambda self, v: self._set("active_steps", v))
    values = property(lambda self: self._counted("values", 2), lambda self, v: self._set("values", v))

    def _counted(self, name: str, row: int) -> int:
        """A counter: its eager steps' count, plus any compiled steps' (read from the device only then)."""
        counts = self._counts
        return getattr(counts, name) + (int(self._compiled_counts[row]) if counts.compiled else 0)

    def _set(self, name: str, value: int) -> None:
        counts = self._counts
        setattr(counts, name, value - (int(self._compiled_counts[("step", "active_steps", "values").index(name)])
                                       if counts.compiled else 0))

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
        if torch.compiler.is_compiling():
            return self._train_compiled(x, m, update)
        counts, tensors = self._counts, self.__dict__  # parameters and buffers read from their dicts: nn.Module's
        params, buffers = tensors["_parameters"], tensors["_buffers"]  # __getattr__ costs ~1 us a read, 6 a step
        rmax, dmax = self.schedule.at(counts.step) if not counts.compiled else self.limits()
        count = update and self.count_clips and (rmax > 1.0 or dmax > 0.0)
        mu, sigma = buffers["running_mean"], buffers["running_std"]
        n, c = x.shape[:2]
        raw = None
        if count:  # this step's raw r and d: (C,), or (G, 1, C[, 1]) per microbatch
            shape = (c,) if n == m else (n // m, 1, c) if x.dim() == 2 else (n // m, 1, c, 1)
            dtype = sigma.dtype if x.dtype is sigma.dtype else torch.promote_types(x.dtype, sigma.dtype)
            raw = self._clip_log.slot(shape, dtype, buffers["clip_counts"], rmax, dmax)
        moving = (mu, sigma, self.momentum) if update else None
        if n == m:  # one microbatch (every step of a run without --microbatch)
            y = renorm_whole(x, params["weight"], params["bias"], self.eps, moving, (mu, sigma, rmax, dmax, raw))
        else:
            y = norm_train(x, params["weight"], params["bias"], m, self.eps, moving, (mu, sigma, rmax, dmax, raw))
        if update:  # mu and sigma moved: mu += momentum * (mu_B - mu), sigma likewise
            if count:
                counts.active_steps += 1
                counts.values += n // m
            buffers["num_batches_tracked"].add_(1)
            counts.step += 1
        return y

    def _train_compiled(self, x: torch.Tensor, m: int, update: bool) -> torch.Tensor:
        """_train as torch.compile traces it: no Python counter is read (a compiled graph would guard on it and
        recompile every step). rmax and dmax come from num_batches_tracked on the device, the clips and the
        step counts add up on the device (`_compiled_counts`: steps, active steps, values), and the counter
        properties add those in when read."""
        # What the forward computes from the buffers it moves, the compiler may compute again in the backward, after
        # the move (wrong gradients, or an error when two forwards run before one backward: pytorch/pytorch#197039).
        # It never recomputes a cat (of two or more tensors), so these reads are kept as the forward made them.
        c, kind = self.num_features, self.running_std.dtype
        wide = torch.promote_types(kind, torch.float32)  # the step count exact to 2^24 steps at least
        read = torch.cat((self.running_mean.to(wide), self.running_std.to(wide),
                          self.num_batches_tracked.view(1).to(wide)))
        mu, sigma, step, s = read[:c].to(kind), read[c:2 * c].to(kind), read[2 * c], self.schedule
        ramp = lambda end: ((step - s.warmup_steps) / (end - s.warmup_steps)).clamp(0.0, 1.0) \
            if end > s.warmup_steps else torch.ones_like(step)  # noqa: E731
        warm = step < s.warmup_steps
        rmax = torch.where(warm, 1.0, 1.0 + (s.rmax - 1.0) * ramp(s.rmax_steps))
        dmax = torch.where(warm, 0.0, s.dmax * ramp(s.dmax_steps))
        count = update and self.count_clips
        pending: list | None = [] if count else None
        moving = (self.running_mean, self.running_std, self.momentum) if update else None
        if x.shape[0] == m:  # the compiler merges the two statistics passes and fuses the rest
            y = renorm_whole(x, self.weight, self.bias, self.eps, moving, (mu, sigma, rmax, dmax, pending))
        else:
            y = norm_train(x, self.weight, self.bias, m, self.eps, moving, (mu, sigma, rmax, dmax, pending))
        if update:
            self.num_batches_tracked.add_(1)
            active = ((rmax > 1.0) | (dmax > 0.0)).long() if count else torch.zeros_like(self.num_batches_tracked)
            if count:
                r, r_raw, d, d_raw = pending[0]
                on = active.bool()  # each row its own sum and add: a stack of the two cost about 2% of the step
                self.clip_counts[0].add_(((r != r_raw) & on).reshape(-1, c).sum(0))
                self.clip_counts[1].add_(((d != d_raw) & on).reshape(-1, c).sum(0))
            self._compiled_counts.add_(torch.stack([torch.ones_like(active), active, active * (x.shape[0] // m)]))
            self._counts.compiled = True  # a store, never read in the graph: no guard
        return y

    @property
    def clips(self) -> torch.Tensor:
        """(2, C) counts of the r and d values that the clip changed (r row, d row), over the active steps."""
        self._clip_log.count_into(self.clip_counts)
        return self.clip_counts


def renorm_whole(x, weight, bias, eps: float, update, renorm):
    """Batch renorm's training output on one microbatch (the whole minibatch), in torch ops that autograd
    differentiates itself: torch's batch norm of x with scale gamma * r and shift gamma * d + beta, where
    r = clip(sigma_B / sigma) and d = clip((mu_B - mu) / sigma) come from the statistics of x without its
    gradient (the paper's stop_gradient), so the input gradient is batch norm's with scale gamma * r and
    dL/dgamma = r dL/dscale + d dL/dshift. `update` and `renorm` as norm_train's: update None or (mean buffer,
    sigma buffer, rate), renorm (mu, sigma, rmax, dmax, raw) with raw None, the (raw r, raw d) tensors that r
    and d before the clip go into (ClipLog.slot), or, compiled (rmax and dmax tensors), a list that
    (r, raw r, d, raw d) is appended to.

    The statistics are computed twice (here and in the output's kernel), which costs less than an autograd
    Function doing the same in one pass: on norm-compare's MLP at microbatch 32 such a Function's own cost
    (its Python forward and backward, about 20 us a layer) made the step about 4% slower than this.
    """
    mu, sigma, rmax, dmax, raw = renorm
    _, mean, invstd = torch.native_batch_norm(x.detach(), None, None, None, None, True, 0.0, eps)
    std = invstd.reciprocal()
    pending = isinstance(raw, list)
    r, r_raw, d, d_raw = clipped_corrections(mean, std, mu, sigma, rmax, dmax, None if pending else raw)
    if pending:
        raw.append((r, r_raw, d, d_raw))
    if update is not None:
        update[0].lerp_(mean, update[2])
        update[1].lerp_(std, update[2])
    # native_batch_norm rather than F.batch_norm: two dispatch layers fewer, about 1.5% of that step
    return torch.native_batch_norm(x, weight * r, torch.addcmul(bias, weight, d), None, None, True, 0.0, eps)[0]


class _Counts:
    __slots__ = ("step", "active_steps", "values", "compiled")

    def __init__(self):
        self.step = self.active_steps = self.values = 0
        self.compiled = False  # a compiled forward has run: _compiled_counts holds some of the counts


def renorm_corrections(mean, std, running_mean, running_std, rmax: float, dmax: float):
    """r = sigma_B / sigma clipped to [1/rmax, rmax] and d = (mu_B - mu) / sigma clipped to [-dmax, dmax]
    (what MicroNormTrain computes in its forward)."""
    r, _, d, _ = clipped_corrections(mean, std, running_mean, running_std, rmax, dmax)
    return r, d


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
