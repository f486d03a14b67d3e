"""The training loop, one for every run: SGD with momentum over the batches of a feed (feeds.py: tensors on the
device indexed by a permutation, or a DataLoader over a streamed split), in one process or as one rank of several
under torchrun. Batches are index permutations from a generator seeded with the config's seed; nothing here prints.
"""

from __future__ import annotations

import math
import time
from typing import Callable, Iterable

import torch
from torch import Tensor, nn

from deepgen_cli.engine import alloc, distributed, feeds, schedules
from deepgen_cli.engine.errors import RunError
from deepgen_cli.engine.feeds import evaluate_data  # noqa: F401  (callers use train.evaluate_data)
# The shared parts, re-exported: callers use train.TrainConfig, train.evaluate, train.entropy, ...
from deepgen_cli.engine.train_core import (Diverged, EpochStats, Evaluation, TrainConfig, TrainResult,  # noqa: F401
                                           _autocast, augment, batch_loss, default_batches, entropy, evaluate,
                                           loss_terms, penalty, set_lr, sgd_step)

FOLD_STEPS = 64  # steps whose loss and logits an epoch's tally holds before it sums them (and lets their graphs go)
FOLD_LOGITS = 1 << 20  # or logits held: 4 MB of float32 (a 1,000-class batch of 256 is a quarter of that)


def train(model: nn.Module, data, cfg: TrainConfig, device, *,
          on_epoch: Callable[[EpochStats], None] | None = None,
          on_step: Callable[[int, int, Tensor, Tensor], None] | None = None,
          before_step: Callable[[int, int, Tensor, Tensor], None] | None = None,
          batch_order: Callable[[int, torch.Generator], Iterable[Tensor]] | None = None,
          test: bool = False) -> TrainResult:
    """Train `model` on data's training split in place and return per-epoch statistics.

    With `test`, the accuracy on the data's test split is measured every `cfg.eval_every` epochs and after the
    last (not counted in the training seconds), for the learning curve.

    on_step(step, epoch, xb, yb) runs after each optimizer step (1-based global step) and before_step(step,
    epoch, xb, yb) just before its forward pass (so forward hooks can know the batch's labels); on_epoch(stats)
    after each epoch. batch_order(epoch, generator) replaces the random permutation with its own index batches.

    Under torchrun --batch-size is the global batch: each rank trains on its slice of every batch (the callbacks
    see that slice), DistributedDataParallel averages the gradients, and the epoch's sums are taken over ranks, so
    every rank takes the same decisions and the same seed trains the same model as one process, up to the order
    of floating-point sums.
    """
    device = torch.device(device)
    cfg.check()
    alloc.keep_freed_memory()  # once per process: each step's large blocks reused, not faulted in again
    world = distributed.current()
    feed = feeds.feed(data, cfg, device)
    if feed.n == 0:
        raise RunError("training set is empty; check --subset")
    gen = torch.Generator().manual_seed(cfg.seed)  # batch order (the same on every rank); never the global RNG
    aug = gen if world is None else torch.Generator().manual_seed(augment_seed(cfg.seed, world.rank))
    net, eval_net = prepare(model, cfg, device, world)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    result = TrainResult(model=eval_net)
    amp = _autocast(cfg, device)
    stepwise = schedules.per_step(cfg.lr_schedule)
    step = 0
    for epoch in range(1, cfg.epochs + 1):
        lr = cfg.lr * schedules.lr_factor(cfg.lr_schedule, epoch, cfg.epochs)
        beta = penalty(cfg, epoch)  # the confidence penalty's weight this epoch (--cp-anneal)
        set_lr(opt, lr)
        net.train()
        start = time.perf_counter()
        batches = batch_order(epoch, gen) if batch_order is not None else default_batches(feed.n, cfg.batch_size, gen)
        parts = distributed.shards(list(batches), world)  # this rank's part of each batch and its loss's weight
        if not parts:
            raise RunError(f"epoch {epoch} had no batches; check --batch-size and --subset")
        tally = Tally(device)
        for i, (xb, yb, share) in enumerate(feed(parts)):
            if stepwise and i:  # the first step of the epoch has its rate already
                set_lr(opt, cfg.lr * schedules.lr_factor(cfg.lr_schedule, epoch, cfg.epochs, i / len(parts)))
            if cfg.augment:
                xb = augment(xb, aug)
            if before_step is not None:
                before_step(step + 1, epoch, xb, yb)
            loss, logits = sgd_step(net, opt, xb, yb, cfg, beta, amp, share)
            step += 1
            tally.add(loss, logits, yb)
            if on_step is not None:
                on_step(step, epoch, xb, yb)
        loss_sum, correct, seen = tally.total()  # over all ranks: the epoch's one wait for the device
        seconds = time.perf_counter() - start
        train_loss = loss_sum / seen
        if not math.isfinite(train_loss):  # the same sum on every rank: all stop together
            raise Diverged(f"training diverged in epoch {epoch} (loss {train_loss}); lower --lr")
        stats = EpochStats(epoch, train_loss, correct / seen, seconds, len(parts), lr, seen)
        result.epochs.append(stats)
        result.seconds += seconds
        result.steps += len(parts)
        # A fit: every batch right as it was trained on, and then the model as it stands classifies every
        # training example right in eval mode (the accuracy a row reports): a later step can undo a batch.
        # The eval pass (about a third of an epoch's compute) runs only after such an epoch, so it costs
        # nothing until the end; it is not counted in the training seconds.
        if result.fit_epoch is None and correct == seen:
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


class Tally:
    """An epoch's summed loss (times examples) and examples right, with as few tensor ops as can be: a step only
    keeps its loss, logits and labels; every FOLD_STEPS steps their losses are stacked and their right examples
    counted, and all of it is read back once, at the end of the epoch (an epoch of up to FOLD_STEPS steps costs
    six ops and two reads: measured in situ on CPU, 1 thread, the batch sizes as Python numbers instead of a
    weights tensor and a float64 product cut the epoch's tally from about 290 to 240 us; the graphs kept
    meanwhile hold no saved tensors, backward freed those)."""

    def __init__(self, device: torch.device):
        self.device = device
        self.sizes: list[int] = []  # examples of every step
        self.folded_losses: list[Tensor] = []  # per fold, each step's mean loss
        self.folded_right: list[Tensor] = []  # per fold, examples right
        self.losses: list[Tensor] = []
        self.logits: list[Tensor] = []
        self.labels: list[Tensor] = []
        self.held, self.seen = 0, 0  # seen: examples folded

    def add(self, loss: Tensor, logits: Tensor, yb: Tensor) -> None:
        self.losses.append(loss)
        self.logits.append(logits)
        self.labels.append(yb)
        self.sizes.append(yb.shape[0])  # an int at hand (a tensor's len() costs about 1 us)
        self.held += logits.numel()
        if len(self.losses) >= FOLD_STEPS or self.held >= FOLD_LOGITS:
            self._fold()

    @torch.no_grad()
    def _fold(self) -> None:
        self.seen = sum(self.sizes)
        self.folded_losses.append(torch.stack(self.losses))
        self.folded_right.append((torch.cat(self.logits).argmax(1) == torch.cat(self.labels)).sum())
        self.losses, self.logits, self.labels, self.held = [], [], [], 0

    def total(self) -> tuple[float, int, int]:
        """(loss summed over examples, examples right, examples), summed over ranks."""
        if self.losses:
            self._fold()
        one = len(self.folded_losses) == 1
        losses = (self.folded_losses[0] if one else torch.cat(self.folded_losses)).tolist()
        right = (self.folded_right[0] if one else torch.stack(self.folded_right).sum()).item()
        loss_sum, seen = sum(l * n for l, n in zip(losses, self.sizes)), self.seen  # float64 sums
        if distributed.current() is not None:  # ranks' shares differ by an example or so: their counts are summed too
            sums = torch.tensor([loss_sum, right, seen], dtype=torch.float64, device=self.device)
            loss_sum, right, seen = distributed.all_sum(sums).tolist()
        return loss_sum, round(right), round(seen)


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
