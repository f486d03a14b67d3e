"""The probes themselves: linear softmax classifiers on detached features, trained by their own SGD with
momentum. A bank holds the probes of several layers so one training step costs a few ops per layer.
"""

from __future__ import annotations

import torch


class ProbeBank:
    """Linear probes for layers of widths `dims`, taking their features side by side in one (B, sum(dims))
    tensor. Each probe standardizes its inputs (running mean and variance: a fixed affine map at test
    time, so still a linear probe) and has `classes` outputs, plus as many for the control task.

    Zero-initialized (softmax regression is convex), so creating probes draws no random numbers and cannot
    shift the model's randomness. The cross-entropy gradient is written out (softmax minus one-hot) and
    added to SGD's momentum buffer one layer at a time: no autograd graph; at most one layer's gradient exists.
    """

    def __init__(self, dims: list[int], classes: int, control: bool, lr: float, device,
                 momentum: float = 0.9, stats_momentum: float | None = 0.1):
        self.dims, self.classes, self.control = list(dims), classes, control
        self.lr, self.momentum, self.stats_momentum = lr, momentum, stats_momentum
        self.heads = 2 if control else 1
        outputs = self.heads * classes
        self.weights = [torch.zeros(outputs, d, device=device) for d in self.dims]
        self.weight_bufs = [torch.zeros_like(w) for w in self.weights]  # momentum, as torch.optim.SGD keeps it
        self.bias = torch.zeros(len(self.dims), outputs, device=device)
        self.bias_buf = torch.zeros_like(self.bias)
        total = sum(self.dims)
        self.mean = torch.zeros(total, device=device)
        self.var = torch.ones(total, device=device)
        self.batches = 0
        self.offsets = [sum(self.dims[:i]) for i in range(len(self.dims))]

    def _scales(self, x: torch.Tensor, training: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """(1/std, mean/std) per feature. Standardizing is folded into the weights, W z = (W/std) x -
        W (mean/std), so the (B, features) batch is never rewritten: a pass over memory saved twice."""
        if training:
            self.batches += 1
            # None: a cumulative average, for a frozen model whose features do not drift.
            m = 1.0 / self.batches if self.stats_momentum is None or self.batches == 1 else self.stats_momentum
            # Sums over the batch axis by einsum: several times faster than var_mean over dim 0 on CPU.
            mean = x.sum(0).div_(x.shape[0])
            var = torch.einsum("bd,bd->d", x, x).div_(x.shape[0]).sub_(mean * mean).clamp_min_(0)
            self.mean.lerp_(mean, m)
            self.var.lerp_(var, m)
        inv = torch.rsqrt(self.var + 1e-5)
        return inv, self.mean * inv

    def _logits(self, x: torch.Tensor, training: bool):
        inv, shift = self._scales(x, training)
        parts, logits = [], []
        for i, (o, d) in enumerate(zip(self.offsets, self.dims)):
            part, w = x[:, o:o + d], self.weights[i]
            parts.append((part, inv[o:o + d], shift[o:o + d]))
            logits.append(torch.addmm(self.bias[i] - w @ shift[o:o + d], part, (w * inv[o:o + d]).T))
        return parts, torch.stack(logits, 1).view(x.shape[0], len(self.dims), self.heads, self.classes)

    def _targets(self, y: torch.Tensor, y_control: torch.Tensor | None) -> torch.Tensor:
        t = y[:, None] if not self.control else torch.stack([y, y_control], 1)  # (B, heads)
        return t[:, None, :].expand(-1, len(self.dims), -1)  # the same labels for every layer

    @torch.no_grad()
    def step(self, x: torch.Tensor, y: torch.Tensor, y_control: torch.Tensor | None = None) -> None:
        """One SGD step of every probe on the summed mean cross-entropy of its task (and control) head."""
        n = x.shape[0]
        parts, logits = self._logits(x, training=True)
        probs = logits.softmax(-1)
        probs.scatter_add_(-1, self._targets(y, y_control)[..., None], torch.full((1,), -1.0, device=x.device)
                           .expand(n, len(self.dims), self.heads, 1))  # softmax - one-hot
        grad = probs.view(n, len(self.dims), -1).div_(n)
        grad_sum = grad.sum(0)
        torch._foreach_mul_(self.weight_bufs, self.momentum)
        for i, (part, inv, shift) in enumerate(parts):
            # d loss / d W = g^T z with z = x/std - mean/std: (g^T x) / std - (sum of g) (mean/std)^T
            g = (grad[:, i].T @ part).mul_(inv).sub_(torch.outer(grad_sum[i], shift))
            self.weight_bufs[i].add_(g)
        self.bias_buf.mul_(self.momentum).add_(grad_sum)
        torch._foreach_add_(self.weights, self.weight_bufs, alpha=-self.lr)
        self.bias.sub_(self.bias_buf, alpha=self.lr)

    @torch.no_grad()
    def correct(self, x: torch.Tensor, y: torch.Tensor, y_control: torch.Tensor | None = None) -> list[tuple[int, int]]:
        """(task, control) correct predictions of each probe on a batch; control is 0 without control probes."""
        _, logits = self._logits(x, training=False)
        hits = (logits.argmax(-1) == self._targets(y, y_control)).sum(0).tolist()  # (layers, heads)
        return [(h[0], h[1] if self.control else 0) for h in hits]


class Tally:
    """Correct counts of one probe over one split."""

    def __init__(self):
        self.task = self.control = self.n = 0

    def add(self, counts: tuple[int, int], n: int) -> None:
        self.task += counts[0]
        self.control += counts[1]
        self.n += n

    def error(self) -> float | None:
        return None if self.n == 0 else 1 - self.task / self.n

    def control_accuracy(self) -> float | None:
        return None if self.n == 0 else self.control / self.n
