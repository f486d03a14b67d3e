"""The probes themselves: linear softmax classifiers on detached features, trained by their own SGD with
momentum. A bank holds the probes of several layers so one training step costs a few ops per layer.
"""

from __future__ import annotations

import torch

EPS = 1e-5  # added to the running variance before its square root, as in batch norm
# Layers at least this wide take their logits as x W^T (see ProbeBank._logits); the two orders measured alike at
# 3,136 columns.
WIDE_LOGITS = 8192


class ProbeBank:
    """Linear probes for layers of widths `dims`, taking their features side by side in one (B, sum(dims))
    tensor. Each probe standardizes its inputs (running mean and variance: a fixed affine map at test
    time, so still a linear probe) and has `classes` outputs. (Control-task probes are fit apart, to
    convergence, in control.py.)

    Zero-initialized (softmax regression is convex), so creating probes draws no random numbers and cannot
    shift the model's randomness. The cross-entropy gradient is written out (softmax minus one-hot) and
    accumulated straight into SGD's momentum buffers (one matrix product per layer): no autograd graph.

    With `chunk` > 1 and several layers, layer i's features sit at columns offsets[i] to offsets[i] + dims[i] of
    a (B, width) tensor whose other columns are zero, and a step's logits are one batched product for all layers
    (its gradients one product per layer, which measured faster). Features the caller owns (`scratch`) are
    standardized in place. Features that must stay as they are (a view of a model's activations) are only read:
    the standardization is folded into the weights instead, with s = 1 / sqrt(var + eps): W z + b = (W s) x + b - (W s) mean, and the gradient g^T z = (g^T x -
    outer(g.sum(0), mean)) s.
    """

    def __init__(self, dims: list[int], classes: int, lr: float, device, momentum: float = 0.9,
                 stats_momentum: float | None = 0.1, chunk: int = 1, stats_every: int | None = None):
        self.dims, self.classes = list(dims), classes
        # None: each step standardizes its batch by statistics that include that batch. k: by the statistics as
        # they stand (`scale`, `shift`), which move towards a batch's every k steps (see step).
        self.stats_every = stats_every
        self.lr, self.momentum, self.stats_momentum = lr, momentum, stats_momentum
        self.outputs = classes
        layers = len(self.dims)
        # chunk > 1 (several layers): each layer starts at a multiple of `chunk` columns and the columns between
        # layers stay zero, so every layer's logits come from one batched product over (chunk)-wide pieces
        # instead of a product and its slices per layer.
        self.chunk = chunk if chunk > 1 and layers > 1 else 1
        spans = [-(-d // self.chunk) * self.chunk for d in self.dims]  # each layer's width rounded up
        self.offsets = [sum(spans[:i]) for i in range(layers)]
        total = self.width = sum(spans)  # the features' width: sum(dims) unless chunked
        self._columns = [slice(o, o + d) for o, d in zip(self.offsets, self.dims)]
        # Every layer's weights side by side and the biases after them in one block, so an update is one op for
        # all of them; `weights` and `weight_bufs` are per-layer views.
        size = self.outputs * total
        self._params = torch.zeros(size + layers * self.outputs, device=device)
        self._bufs = torch.zeros_like(self._params)  # momentum, as torch.optim.SGD keeps it
        self._w, self.bias = self._params[:size].view(self.outputs, total), self._params[size:].view(layers, -1)
        self._w_buf, self.bias_buf = self._bufs[:size].view(self.outputs, total), self._bufs[size:].view(layers, -1)
        self.weights = [self._w[:, c] for c in self._columns]
        self.weight_bufs = [self._w_buf[:, c] for c in self._columns]
        self._bias_buf_flat = self.bias_buf.view(-1)
        self.mean = torch.zeros(total, device=device)
        self.var = torch.ones(total, device=device)
        self.batches = 0
        self.steps = 0
        self._kept: dict = {}  # id(x) -> (x, its views): step's standardized features, the same tensor each step
        # s = 1 / sqrt(var + eps) and -mean s as the statistics stand, kept by a bank with stats_every: a
        # caller may write features as x s + shift itself (step's `standardized`)
        self.scale = torch.full((total,), (1.0 + EPS) ** -0.5, device=device)
        self.shift = torch.zeros(total, device=device)
        self._scratch = None  # (outputs, total): folded weights, then the gradient; made on the first fold
        # Views and constants made once: on CPU each index, view or Python-number operand of a small op
        # costs about as much as the op itself.
        self._means = [self.mean[c] for c in self._columns]
        self._bias_columns_all = self.bias[:, :, None]
        self._bias_columns = list(self._bias_columns_all)
        self._folded_bias = torch.empty(layers, self.outputs, 1, device=device)  # b - (W s) mean
        self._eps = torch.full((1,), EPS, device=device)
        self._minus_one = torch.full((1, 1, 1), -1.0, device=device)
        self._per_batch: dict = {}  # B -> (probabilities buffer, its per-layer views, -1 and 1 expanded to B)
        if self.chunk > 1:
            pieces = [s // self.chunk for s in spans]
            owner = torch.repeat_interleave(torch.arange(layers), torch.tensor(pieces))  # each piece's layer
            self._owner = owner.to(device)
            self._sum_pieces = (owner[None, :] == torch.arange(layers)[:, None]).float().to(device)  # (L, pieces)
            self._w_pieces = self._w.view(self.outputs, len(owner), self.chunk).transpose(0, 1)  # (pieces, C, K)

    def _scale(self, x: torch.Tensor | None) -> torch.Tensor:
        """s = 1 / sqrt(var + eps) per column, first folding the batch x (if given) into the statistics."""
        if x is not None:
            self._absorb(x, standardized=False)
        return torch.add(self.var, self._eps).rsqrt_()

    def _absorb(self, x: torch.Tensor, standardized: bool) -> None:
        """The running mean and variance towards batch x's (x raw, or x * scale + shift)."""
        self.batches += 1
        # None: a cumulative average, for a frozen model whose features do not drift.
        m = 1.0 / self.batches if self.stats_momentum is None or self.batches == 1 else self.stats_momentum
        # Batch norm's statistics kernel: mean and biased variance per column in one pass, no temporary
        # (measured on CPU: 25x faster than var_mean(0), 4x faster than summing squares at 200k columns).
        mean, var = torch.batch_norm_update_stats(x, None, None, 0.0)
        if standardized:  # x = (z - shift) / s: mean + mean_z / s, var_z / s^2
            mean, var = torch.addcdiv(self.mean, mean, self.scale), var.div_(self.scale).div_(self.scale)
        self.mean.lerp_(mean, m)
        self.var.lerp_(var, m)

    def _views(self, x: torch.Tensor, keep: bool) -> tuple[torch.Tensor | None, list[torch.Tensor]]:
        """(x as (pieces, K, B) when chunked, else None; each layer's columns of x), made once per tensor x
        where the caller passes the same x each step (`keep`: ten views a step cost about 30 us)."""
        got = self._kept.get(id(x)) if keep else None
        if got is not None and got[0] is x:
            return got[1], got[2]
        n = x.shape[0]
        pieces = x.view(n, -1, self.chunk).permute(1, 2, 0) if self.chunk > 1 else None
        columns = [x[:, c] for c in self._columns]
        if keep:
            self._kept[id(x)] = (x, pieces, columns)
        return pieces, columns

    def _logits(self, xs: list[torch.Tensor], s: torch.Tensor | None, pieces=None) -> torch.Tensor:
        """(layers, outputs, B) logits of standardized features (s None) or of raw features x, folding
        their standardization into the weights (the folded weights are left in self._scratch)."""
        if self.chunk > 1:  # standardized, chunked features: xs is [x]
            n = xs[0].shape[0]
            if pieces is None:
                pieces = xs[0].view(n, -1, self.chunk).permute(1, 2, 0)  # (pieces, K, B)
            partial = torch.bmm(self._w_pieces, pieces).view(len(self._owner), -1)  # (pieces, C x B)
            out = torch.mm(self._sum_pieces, partial).view(len(self.dims), self.outputs, n)
            return out.add_(self._bias_columns_all)
        out = torch.empty(len(self.dims), self.outputs, xs[0].shape[0], device=self._w.device)
        if s is not None:
            if self._scratch is None:
                self._scratch = torch.empty_like(self._w)
            folded = torch.mul(self._w, s, out=self._scratch)
        for i, (x, columns) in enumerate(zip(xs, self._columns)):
            w = self.weights[i] if s is None else folded[:, columns]
            if s is None:
                bias = self._bias_columns[i]
            else:
                bias = torch.addmv(self.bias[i], w, self._means[i], alpha=-1, out=self._folded_bias[i, :, 0])[:, None]
            if self.dims[i] >= WIDE_LOGITS:
                # x W^T, (B, outputs): the product then streams x once as it lies, where W x^T first packs a
                # transposed copy of it (measured on CPU, 1 thread, batch 64: 1.2 against 2.0 ms at 50,176
                # columns, 0.30 against 0.49 at 12,544)
                out[i].copy_(torch.addmm(bias.T, x, w.T).T)
            else:
                torch.addmm(bias, w, x.T, out=out[i])
        return out  # (outputs, B) rather than (B, outputs): measured 20% faster on CPU for narrow layers

    def _targets(self, y: torch.Tensor, n: int) -> torch.Tensor:
        return y.expand(len(self.dims), 1, n)  # the same labels for every layer

    @torch.no_grad()
    def step(self, x: torch.Tensor, y: torch.Tensor, scratch: bool = False, standardized: bool = False) -> None:
        """One SGD step of every probe on its mean cross-entropy.

        x is standardized in place if `scratch`, else only read; `standardized` (a bank with stats_every): x is
        already x * scale + shift, as the caller wrote it (rewritten by the first statistics, on the first step).

        With stats_every k, the step standardizes by the statistics as they stood, and every k steps they then
        move towards the batch's (taken from the standardized features where those are at hand: mean + mean_z
        / s and var_z / s^2). Measured on the cnn's probes alongside training (CPU, 1 thread, batch 64, 7,424
        columns), the statistics pass each step (~200 us, batch norm's kernel) and a standardizing pass of its
        own (~100 us) were a third of what the probes added to training (0.34 of it: 0.26 with k = 4 and the
        hooks writing the features standardized).
        """
        n, layers = x.shape[0], len(self.dims)
        lagged = self.stats_every is not None
        if standardized:
            scratch = True  # nothing left to do to x (written only on the first step, below)
        elif not scratch and (self.outputs >= n or self.chunk > 1):
            # Folding costs a few passes over (outputs, width) arrays, a copy a few over (B, width).
            x, scratch = x.clone(), True
        if lagged and not self.batches:
            # No statistics yet: the first batch's, before its step (unstandardized features there could saturate
            # the softmax into denormal gradients, which slowed a step 2-3x). The caller's standardized x is
            # rewritten by them, this once.
            before = (self.scale.clone(), self.shift.clone()) if standardized else None
            self._move(x, standardized=standardized)
            if standardized:  # (x - shift0) / scale0 * scale + shift, as x * ratio + offset: one pass over x
                ratio = self.scale / before[0]
                torch.addcmul(torch.addcmul(self.shift, before[1], ratio, value=-1), x, ratio, out=x)
            move = False
        else:
            move = lagged and self.steps % self.stats_every == 0
        self.steps += 1
        s = self.scale if lagged else self._scale(x)
        pieces, columns = self._views(x, keep=standardized)
        xs = [x] if self.chunk > 1 else columns
        if scratch and not standardized:  # (x - mean) s as x s - mean s: one pass over x instead of two
            torch.addcmul(self.shift if lagged else torch.mul(self.mean, s).neg_(), x, s, out=x)
        # The probabilities, then the gradient, in one buffer per batch size with its per-layer views made once
        got = self._per_batch.get(n)
        if got is None:
            g = torch.empty(layers, self.outputs, n, device=self._w.device)
            got = self._per_batch[n] = (g, list(g), self._minus_one.expand(layers, 1, n),
                                        torch.ones(n, device=self._w.device))
        g, rows, minus_one, ones = got
        torch.softmax(self._logits(xs, None if scratch else s, pieces), 1, out=g)
        # Probabilities below 1e-30 to 0: a confident probe's are otherwise denormal floats, which the CPU
        # multiplies some 100x slower (alexnet-small's probes: 1.5% of them, the gradient products 2x slower)
        torch.threshold_(g, 1e-30, 0.0)
        g.scatter_add_(1, self._targets(y, n), minus_one)  # softmax minus one-hot: (layers, outputs, B)
        if scratch:
            # One product per layer, also when chunked: measured on CPU (1 thread, batch 64, the cnn's 8 layers)
            # 250 us against 310 us for one batched product over the 256-column pieces (29 small products).
            for buf, g_i, x_i in zip(self.weight_bufs, rows, columns):
                buf.addmm_(g_i, x_i, beta=self.momentum, alpha=1.0 / n)  # momentum * buf + dL/dW
            # momentum * buf + dL/db in one matrix-vector product: the sum over the batch, the momentum and the add
            self._bias_buf_flat.addmv_(g.view(-1, n), ones, beta=self.momentum, alpha=1.0 / n)
        else:
            g_sum = g.sum(2)  # the bias gradient, times n
            for i, (g_i, x_i, cols) in enumerate(zip(rows, xs, self._columns)):
                # g^T (x - mean), in the memory the folded weights held
                self._scratch[:, cols].addmm_(g_i, x_i, beta=0).addr_(g_sum[i], self._means[i], alpha=-1)
            self._w_buf.mul_(self.momentum).addcmul_(self._scratch, s, value=1.0 / n)
            self.bias_buf.mul_(self.momentum).add_(g_sum, alpha=1.0 / n)
        self._params.sub_(self._bufs, alpha=self.lr)  # weights and biases: one block
        if move:
            self._move(x, standardized=scratch)

    def _move(self, x: torch.Tensor, standardized: bool) -> None:
        """The statistics towards batch x's (x raw, or x * scale + shift), then scale and shift after them."""
        self._absorb(x, standardized)
        torch.add(self.var, self._eps, out=self.scale).rsqrt_()
        torch.mul(self.mean, self.scale, out=self.shift).neg_()

    @torch.no_grad()
    def correct(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """(layers, B) bools: which examples of the batch each probe gets right. x is scratch: it is
        standardized in place."""
        x.sub_(self.mean).mul_(self._scale(None))
        logits = self._logits([x] if self.chunk > 1 else [x[:, c] for c in self._columns], None)
        return logits.argmax(1) == y


class Tally:
    """Which examples of one split a probe got right, in the split's order (batches arrive in order), so
    two probes scored on the same examples can be compared example by example (a paired test)."""

    def __init__(self):
        self.hits: list[torch.Tensor] = []

    def add(self, hits: torch.Tensor) -> None:
        self.hits.append(hits.to("cpu", torch.bool))

    def correct(self) -> torch.Tensor:
        return torch.cat(self.hits) if self.hits else torch.zeros(0, dtype=torch.bool)

    def error(self) -> float | None:
        right = self.correct()
        return None if len(right) == 0 else 1 - right.sum().item() / len(right)
