"""Where the training loop's batches come from: the training split as tensors on the device, a batch an index
into them (airbench's way), or a DataLoader over a streamed split; under torchrun each rank gets its part of
every global batch. And `evaluate_data`: a whole split evaluated, each rank its share, summed over ranks.
"""

from __future__ import annotations

from typing import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from deepgen_cli.engine import distributed
from deepgen_cli.engine.data import streamed
from deepgen_cli.engine.modes import eval_mode
from deepgen_cli.engine.train_core import Evaluation, TrainConfig, _autocast, entropy, eval_logits, evaluate

EVAL_BATCH = 1024  # examples per evaluation forward pass, as train.evaluate (streamed: at most the training batch,
# so evaluation holds no larger batches than training: 1024 images at 3x224x224 would be 617 MB each)

# Batches gathered in one index op, up to this many bytes of inputs at once, then cut into views: on the CPU one
# gather of an epoch's digits costs about what two per-batch gathers do (training ran 2-3% faster on bench_train's
# MLP); ImageNet-sized batches (77 MB at 128 x 3 x 224 x 224) still go one at a time.
GATHER_BYTES = 32 << 20
Parts = list[tuple[Tensor, float]]  # this rank's indices of each batch and its loss's weight (distributed.shards)
Batch = tuple[Tensor, Tensor, float]  # (inputs, labels, the weight), on the device


class Tensors:
    """The whole training split held on the device; a batch is x[idx], y[idx]."""

    def __init__(self, data, cfg: TrainConfig, device: torch.device):
        self.x, self.y = data.x_train.to(device), data.y_train.to(device)
        if cfg.channels_last and self.x.dim() == 4:
            self.x = self.x.contiguous(memory_format=torch.channels_last)
        self.n, self.device = len(self.y), device

    def __call__(self, parts: Parts) -> Iterator[Batch]:
        if self.device.type != "cpu":
            # The epoch's indices in one copy: a copy from pageable host memory first waits for the GPU's queue
            # (CUDA's rule), so one per step would stall every step.
            on_device = torch.cat([idx for idx, _ in parts]).to(self.device).split([len(idx) for idx, _ in parts])
            parts = [(idx, share) for idx, (_, share) in zip(on_device, parts)]
        per_example = self.x[:1].nbytes
        start = 0
        while start < len(parts):  # consecutive batches in chunks of up to GATHER_BYTES, each gathered at once
            end, size = start + 1, len(parts[start][0])
            while end < len(parts) and (size + len(parts[end][0])) * per_example <= GATHER_BYTES:
                size += len(parts[end][0])
                end += 1
            if end - start == 1:
                idx, share = parts[start]
                yield self.x[idx], self.y[idx], share
            else:
                chunk = parts[start:end]
                idx, sizes = torch.cat([i for i, _ in chunk]), [len(i) for i, _ in chunk]
                for xb, yb, (_, share) in zip(self.x[idx].split(sizes), self.y[idx].split(sizes), chunk):
                    yield xb, yb, share
            start = end


class Stream:
    """A streamed training split: DataLoader workers build each batch; one loader, its workers kept across epochs."""

    def __init__(self, data, cfg: TrainConfig, device: torch.device):
        self.loader, self.sampler = streamed.loader(data.train, data.workers, device)
        self.n, self.device, self.channels_last = len(data.train), device, cfg.channels_last

    def __call__(self, parts: Parts) -> Iterator[Batch]:
        self.sampler.batches = [idx.tolist() for idx, _ in parts]
        for (xb, yb), (_, share) in zip(self.loader, parts):
            xb = xb.to(self.device, non_blocking=True)
            if self.channels_last and xb.dim() == 4:
                xb = xb.contiguous(memory_format=torch.channels_last)
            yield xb, yb.to(self.device, non_blocking=True), share


def feed(data, cfg: TrainConfig, device: torch.device) -> Tensors | Stream:
    """The feed of `data`'s training split: Stream for a streamed dataset, else Tensors."""
    return (Stream if streamed.is_streamed(data) else Tensors)(data, cfg, device)


@torch.inference_mode()
def evaluate_data(model: nn.Module, data, split: str, device, cfg: TrainConfig | None = None,
                  batch_size: int = EVAL_BATCH) -> Evaluation:
    """train.evaluate over the "train" or "test" split of an in-memory or streamed dataset, each rank its
    contiguous share, sums over ranks: every rank returns the same Evaluation of the whole split."""
    device = torch.device(device)
    world = distributed.current()
    if not streamed.is_streamed(data):
        x, y = (data.x_train, data.y_train) if split == "train" else (data.x_test, data.y_test)
        mine = distributed.span(len(y), world)
        if world is None:
            return evaluate(model, x, y, device, batch_size, cfg=cfg)
        part = evaluate(model, x[mine.start:mine.stop], y[mine.start:mine.stop], device, batch_size, cfg=cfg)
        sums = torch.tensor([part.accuracy * part.examples, part.loss * part.examples,
                             part.mean_entropy * part.examples, part.examples], dtype=torch.float64, device=device)
    else:
        part = data.train if split == "train" else data.test
        mine = distributed.span(len(part), world)
        loader, sampler = streamed.loader(part, data.workers, device)
        if cfg is not None:
            batch_size = min(batch_size, cfg.batch_size)
        sampler.batches = [list(mine[i:i + batch_size]) for i in range(0, len(mine), batch_size)]
        sums = _sums(model, loader, device, cfg)
    correct, loss, ent, n = (float(v) for v in distributed.all_sum(sums).cpu())
    n_all = max(n, 1)
    return Evaluation(round(correct) / n_all, loss / n_all, ent / n_all, int(n))


def _sums(model: nn.Module, batches, device: torch.device, cfg: TrainConfig | None) -> Tensor:
    """Examples right, summed cross-entropy and entropy, examples: over `batches`, in eval mode."""
    sums = torch.zeros(4, dtype=torch.float64, device=device)
    amp = _autocast(cfg, device) if cfg is not None else None
    with eval_mode(model):
        for xb, yb in batches:
            xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
            logits = eval_logits(model, xb, amp, cfg is not None and cfg.channels_last and xb.dim() == 4)
            sums += torch.stack([(logits.argmax(1) == yb).sum().double(),
                                 F.cross_entropy(logits, yb, reduction="sum").double(),
                                 entropy(logits).sum().double(), torch.tensor(float(len(yb)), device=device).double()])
    return sums
