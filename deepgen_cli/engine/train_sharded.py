"""train() for streamed data and for several ranks under torchrun: every rank takes its shard of each global
batch, DistributedDataParallel averages the gradients, and epoch metrics and the fit check are summed over ranks,
so every rank takes the same decisions. train.train() hands over to this loop; its own stays the fast path for
tensors in memory in one process.
"""

from __future__ import annotations

import math
import time
from typing import Callable, Iterable

import torch
from torch import Tensor, nn

from deepgen_cli.engine import distributed, schedules
from deepgen_cli.engine.data import streamed
from deepgen_cli.engine.errors import RunError
from deepgen_cli.engine.train_core import (Diverged, EpochStats, Evaluation, TrainConfig, TrainResult, _autocast,
                                           augment, default_batches, entropy, eval_logits, evaluate, penalty, set_lr,
                                           sgd_step)

EVAL_BATCH = 1024  # examples per evaluation forward pass, as train.evaluate (streamed: at most the training batch,
# so evaluation holds no larger batches than training: 1024 images at 3x224x224 would be 617 MB each)


def augment_seed(seed: int, rank: int) -> int:
    """Each rank draws its own crops and flips (the same distribution as one process, not the same draws)."""
    return seed + 1_000_003 * (rank + 1)


def prepare(model: nn.Module, cfg: TrainConfig, device: torch.device,
            world: distributed.World | None) -> tuple[nn.Module, nn.Module]:
    """(the module trained, the module evaluated): the model on the device, channels-last and compiled as asked,
    and for training wrapped in DistributedDataParallel under torchrun. Evaluation uses the compiled model
    without the wrapper, whose buffer broadcasts would make every rank run the same number of forward passes."""
    model.to(device)
    if cfg.channels_last:
        model.to(memory_format=torch.channels_last)
    net = model
    if cfg.compile:
        try:
            net = torch.compile(model)
        except Exception as err:
            raise RunError(f"--compile: torch.compile failed ({type(err).__name__}: {err}); run without --compile")
    if world is None:
        return net, net
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else None
    return DistributedDataParallel(net, device_ids=ids), net


class _Feed:
    """Batches for this rank: index into tensors on the device, or a DataLoader of a streamed split."""

    def __init__(self, data, cfg: TrainConfig, device: torch.device):
        self.device, self.channels_last = device, cfg.channels_last
        self.streamed = streamed.is_streamed(data)
        if self.streamed:
            self.loader, self.sampler = streamed.loader(data.train, data.workers, device)
            self.n = len(data.train)
        else:
            self.x, self.y = data.x_train.to(device), data.y_train.to(device)
            if cfg.channels_last and self.x.dim() == 4:
                self.x = self.x.contiguous(memory_format=torch.channels_last)
            self.n = len(self.y)

    def __call__(self, parts: list[Tensor]) -> Iterable[tuple[Tensor, Tensor]]:
        if not self.streamed:
            for idx in parts:
                idx = idx.to(self.device)
                yield self.x[idx], self.y[idx]
            return
        self.sampler.batches = [p.tolist() for p in parts]
        for xb, yb in self.loader:
            xb = xb.to(self.device, non_blocking=True)
            if self.channels_last and xb.dim() == 4:
                xb = xb.contiguous(memory_format=torch.channels_last)
            yield xb, yb.to(self.device, non_blocking=True)


def train(model: nn.Module, data, cfg: TrainConfig, device, *,
          on_epoch: Callable[[EpochStats], None] | None = None,
          on_step: Callable[[int, int, Tensor, Tensor], None] | None = None,
          before_step: Callable[[int, int, Tensor, Tensor], None] | None = None,
          batch_order: Callable[[int, torch.Generator], Iterable[Tensor]] | None = None,
          test: bool = False) -> TrainResult:
    """train.train's contract on streamed data and/or several ranks; the callbacks see this rank's batches.
    With `test`, the learning curve's test accuracy on the data's test split, as train.train measures it.

    --batch-size is the global batch: on N ranks the same batches as on one, each rank a slice of every one,
    so the same seed trains the same model up to the order of floating-point sums.
    """
    device = torch.device(device)
    cfg.check()
    world = distributed.current()
    feed = _Feed(data, cfg, device)
    if feed.n == 0:
        raise RunError("training set is empty; check --subset")
    gen = torch.Generator().manual_seed(cfg.seed)  # batch order: the same on every rank
    aug = gen if world is None else torch.Generator().manual_seed(augment_seed(cfg.seed, world.rank))
    net, eval_net = prepare(model, cfg, device, world)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    result = TrainResult()
    result.model = eval_net
    amp = _autocast(cfg, device)
    step = 0
    for epoch in range(1, cfg.epochs + 1):
        lr = cfg.lr * schedules.lr_factor(cfg.lr_schedule, epoch, cfg.epochs)
        beta = penalty(cfg, epoch)  # the confidence penalty's weight this epoch (--cp-anneal)
        set_lr(opt, lr)
        net.train()
        start = time.perf_counter()
        batches = batch_order(epoch, gen) if batch_order is not None else default_batches(feed.n, cfg.batch_size, gen)
        parts = distributed.shards(list(batches), world)
        stepwise = schedules.per_step(cfg.lr_schedule)
        # Sums on the device, one transfer per epoch: loss * examples and examples right (no per-step sync).
        totals = torch.zeros(2, dtype=torch.float64, device=device)
        mine = 0  # this rank's examples this epoch
        for i, ((xb, yb), (_, share)) in enumerate(zip(feed([p for p, _ in parts]), parts)):
            if stepwise and i:  # as train.train: the rate within the epoch, the same on every rank
                set_lr(opt, cfg.lr * schedules.lr_factor(cfg.lr_schedule, epoch, cfg.epochs, i / len(parts)))
            if cfg.augment:
                xb = augment(xb, aug)
            if before_step is not None:
                before_step(step + 1, epoch, xb, yb)
            loss, logits = sgd_step(net, opt, xb, yb, cfg, beta, amp, share)
            step += 1
            totals += torch.stack([loss.detach().double() * len(yb), (logits.argmax(1) == yb).sum().double()])
            mine += len(yb)
            if on_step is not None:
                on_step(step, epoch, xb, yb)
        if not parts:
            raise RunError(f"epoch {epoch} had no batches; check --batch-size and --subset")
        epoch_sums = torch.cat([totals, torch.tensor([float(mine)], dtype=torch.float64, device=device)])
        loss_sum, correct, seen = (float(v) for v in distributed.all_sum(epoch_sums).cpu())
        seconds = time.perf_counter() - start
        train_loss = loss_sum / seen
        if not math.isfinite(train_loss):  # the same sum on every rank: all stop together
            raise Diverged(f"training diverged in epoch {epoch} (loss {train_loss}); lower --lr")
        stats = EpochStats(epoch, train_loss, correct / seen, seconds, len(parts), lr, int(seen))
        result.epochs.append(stats)
        result.seconds += seconds
        result.steps += len(parts)
        if result.fit_epoch is None and correct == seen:  # as train.train: then every example right in eval mode
            distributed.broadcast_buffers(model)
            if evaluate_data(eval_net, data, "train", device, cfg).accuracy == 1.0:
                result.fit_epoch, result.fit_seconds = epoch, result.seconds
        last = epoch == cfg.epochs or (cfg.until_fit and result.fit_epoch is not None)
        if test and (last or cfg.eval_every and epoch % cfg.eval_every == 0):
            distributed.broadcast_buffers(model)
            stats.test_accuracy = evaluate_data(eval_net, data, "test", device, cfg).accuracy
        if on_epoch is not None:
            on_epoch(stats)
        if cfg.until_fit and result.fit_epoch is not None:
            break
    distributed.broadcast_buffers(model)  # rank 0's running statistics everywhere: one model on every rank
    return result


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
    import torch.nn.functional as F
    from deepgen_cli.engine.modes import eval_mode

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
