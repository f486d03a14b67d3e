"""The shared training engine: SGD with momentum over tensors held on the device (streamed data and runs under
torchrun go to train_sharded.py, with the same contract), and `evaluate`. Batches are index permutations from a
generator seeded with the config's seed; nothing here prints.
"""

from __future__ import annotations

import math
import time
from typing import Callable, Iterable

import torch
from torch import Tensor, nn

from deepgen_cli.engine import distributed, schedules, train_sharded
from deepgen_cli.engine.errors import RunError
# The shared parts, re-exported: callers use train.TrainConfig, train.evaluate, train.entropy, ...
from deepgen_cli.engine.train_core import (Diverged, EpochStats, Evaluation, TrainConfig, TrainResult,  # noqa: F401
                                           _autocast, _prepare, augment, batch_loss, default_batches, entropy, evaluate,
                                           loss_terms, penalty, set_lr, sgd_step)


def train(model: nn.Module, data, cfg: TrainConfig, device, *,
          on_epoch: Callable[[EpochStats], None] | None = None,
          on_step: Callable[[int, int, Tensor, Tensor], None] | None = None,
          before_step: Callable[[int, int, Tensor, Tensor], None] | None = None,
          batch_order: Callable[[int, torch.Generator], Iterable[Tensor]] | None = None,
          test: bool = False) -> TrainResult:
    """Train `model` on data.x_train / data.y_train in place and return per-epoch statistics.

    With `test`, the accuracy on the data's test split is measured every `cfg.eval_every` epochs and after the
    last (not counted in the training seconds), for the learning curve.

    on_step(step, epoch, xb, yb) runs after each optimizer step (1-based global step) and before_step(step,
    epoch, xb, yb) just before its forward pass (so forward hooks can know the batch's labels); on_epoch(stats)
    after each epoch. batch_order(epoch, generator) replaces the random permutation with its own index batches.
    Streamed data and runs under torchrun train in train_sharded.train, with the same contract.
    """
    if getattr(data, "streamed", False) or distributed.current() is not None:
        return train_sharded.train(model, data, cfg, device, on_epoch=on_epoch, on_step=on_step,
                                   before_step=before_step, batch_order=batch_order, test=test)
    device = torch.device(device)
    cfg.check()
    x_all = data.x_train.to(device)
    y_all = data.y_train.to(device)
    if cfg.channels_last and x_all.dim() == 4:
        x_all = x_all.contiguous(memory_format=torch.channels_last)
    n = len(y_all)
    if n == 0:
        raise RunError("training set is empty; check --subset")
    gen = torch.Generator().manual_seed(cfg.seed)  # batch order and augmentation only, never the global RNG
    net = _prepare(model, cfg, device)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    result = TrainResult(model=net)
    step = 0
    # Hoisted out of the step loop: on tiny CPU models each avoided dispatch is ~1% of a step.
    move_idx = device.type != "cpu"
    amp = _autocast(cfg, device)
    stepwise = schedules.per_step(cfg.lr_schedule)
    for epoch in range(1, cfg.epochs + 1):
        lr = cfg.lr * schedules.lr_factor(cfg.lr_schedule, epoch, cfg.epochs)
        beta = penalty(cfg, epoch)  # the confidence penalty's weight this epoch (--cp-anneal)
        set_lr(opt, lr)
        net.train()
        start = time.perf_counter()
        # Per step only an argmax is kept; comparing and summing once per epoch costs fewer tensor ops
        # (measured on digits: per-step int(hits) cost 5% of CPU throughput, this about 2%). On a GPU the
        # sums stay on the device, one sync per epoch.
        losses: list[Tensor] = []
        preds: list[Tensor] = []
        labels: list[Tensor] = []
        sizes: list[int] = []
        batches = batch_order(epoch, gen) if batch_order is not None else default_batches(n, cfg.batch_size, gen)
        if stepwise:
            batches = list(batches)
        for i, idx in enumerate(batches):
            if stepwise and i:  # the first step of the epoch has its rate already
                set_lr(opt, cfg.lr * schedules.lr_factor(cfg.lr_schedule, epoch, cfg.epochs, i / len(batches)))
            if move_idx:
                idx = idx.to(device)
            xb, yb = x_all[idx], y_all[idx]
            if cfg.augment:
                xb = augment(xb, gen)
            if before_step is not None:
                before_step(step + 1, epoch, xb, yb)
            loss, logits = sgd_step(net, opt, xb, yb, cfg, beta, amp)
            step += 1
            losses.append(loss.detach())
            preds.append(logits.argmax(1))  # integer output: no graph to detach from
            labels.append(yb)
            sizes.append(len(yb))
            if on_step is not None:
                on_step(step, epoch, xb, yb)
        seen, steps = sum(sizes), len(sizes)
        if not steps:
            raise RunError(f"epoch {epoch} had no batches; check --batch-size and --subset")
        weights = torch.tensor(sizes, dtype=torch.float32, device=device)
        train_loss = float(torch.stack(losses).float() @ weights) / seen
        correct = int((torch.cat(preds) == torch.cat(labels)).sum())
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - start
        if not math.isfinite(train_loss):
            raise Diverged(f"training diverged in epoch {epoch} (loss {train_loss}); lower --lr")
        stats = EpochStats(epoch, train_loss, correct / seen, seconds, steps, lr, seen)
        result.epochs.append(stats)
        result.seconds += seconds
        result.steps += steps
        # A fit: every batch right as it was trained on, and then the model as it stands classifies every
        # training example right in eval mode (the accuracy a row reports): a later step can undo a batch.
        # The eval pass (about a third of an epoch's compute) runs only after such an epoch, so it costs
        # nothing until the end; it is not counted in the training seconds.
        if result.fit_epoch is None and correct == seen:
            if evaluate(net, x_all, y_all, device, cfg=cfg).accuracy == 1.0:
                result.fit_epoch, result.fit_seconds = epoch, result.seconds
        last = epoch == cfg.epochs or (cfg.until_fit and result.fit_epoch is not None)
        if test and (last or cfg.eval_every and epoch % cfg.eval_every == 0):
            stats.test_accuracy = evaluate(model, data.x_test, data.y_test, device, cfg=cfg).accuracy
        if on_epoch is not None:
            on_epoch(stats)
        if cfg.until_fit and result.fit_epoch is not None:
            break
    return result
