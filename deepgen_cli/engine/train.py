"""The shared training engine: SGD with momentum over tensors held on the device, and `evaluate`.

Batches are index permutations from a generator seeded with the config's seed; nothing here prints.
"""

from __future__ import annotations

import math
import time
import dataclasses
from dataclasses import dataclass, field
from typing import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from deepgen_cli.engine.config import (AMP, AUGMENT, CHANNELS_LAST, COMPILE, CONFIDENCE_PENALTY, CP_THRESHOLD,
                                       LABEL_SMOOTHING, LR_DECAY, UNTIL_FIT, TrainOptions)
from deepgen_cli.engine.errors import RunError, UsageError
from deepgen_cli.engine.modes import eval_mode



class Diverged(RunError):
    """The training loss became NaN or infinite; a sweep records the row as failed and goes on."""


@dataclass(frozen=True, kw_only=True)
class TrainConfig(TrainOptions):
    """How train() trains: SGD with momentum; the options mean what their flags say (engine/config.py)."""

    lr_decay: float = LR_DECAY(1.0)  # per-epoch multiplicative factor (Zhang et al. use 0.95)
    augment: bool = AUGMENT(False)  # random crop (pad side/8) and horizontal flip, on tensors
    until_fit: bool = UNTIL_FIT(False)  # stop after the first fit epoch (see TrainResult.fit_epoch)
    confidence_penalty: float = CONFIDENCE_PENALTY(0.0)  # beta: loss = NLL - beta * H(p) (Pereyra et al. 2017)
    cp_threshold: float | None = CP_THRESHOLD(None)  # hinge form: loss = NLL + beta * relu(threshold - H), nats
    label_smoothing: float = LABEL_SMOOTHING(0.0)
    amp: str = AMP("none")  # "bf16": autocast forward passes to bfloat16
    channels_last: bool = CHANNELS_LAST(False)  # NHWC memory format for model and inputs
    compile: bool = COMPILE(False)  # torch.compile the model first
    seed: int = 0  # batch order and augmentation

    def check(self) -> None:
        super().check()
        if self.cp_threshold is not None and not self.confidence_penalty:
            raise UsageError("--cp-threshold: sets the hinge of the confidence penalty; add --confidence-penalty BETA")

    @classmethod
    def of(cls, config, **override) -> TrainConfig:
        """The training part of a command's config: its fields of the same names, then `override`."""
        shared = {f.name: getattr(config, f.name) for f in dataclasses.fields(cls) if hasattr(config, f.name)}
        return cls(**{**shared, **override})


@dataclass
class EpochStats:
    epoch: int  # 1-based
    train_loss: float  # mean over the epoch's examples, including any penalty
    train_accuracy: float  # fraction of the epoch's (augmented) training examples classified right, as trained
    seconds: float
    steps: int  # optimizer steps in this epoch
    lr: float = 0.0
    examples: int = 0


@dataclass
class TrainResult:
    epochs: list[EpochStats] = field(default_factory=list)
    fit_epoch: int | None = None  # first epoch all right as trained and, after it, in eval mode
    fit_seconds: float | None = None  # training seconds up to the end of that epoch (fit checks excluded)
    seconds: float = 0.0  # training only
    steps: int = 0
    model: nn.Module | None = None  # the module as trained (compiled, if so): evaluate with it and the same cfg


@dataclass
class Evaluation:
    accuracy: float
    loss: float  # mean cross-entropy, nats
    mean_entropy: float  # mean entropy of the predicted distribution, nats
    examples: int = 0


def entropy(logits: Tensor) -> Tensor:
    """Per-example entropy of softmax(logits), nats."""
    logp = F.log_softmax(logits.float(), dim=1)
    return -(logp.exp() * logp).sum(dim=1)


def loss_terms(logits: Tensor, y: Tensor, beta: float = 0.0, threshold: float | None = None,
               label_smoothing: float = 0.0) -> Tensor:
    """Per-example training loss: NLL (with any label smoothing) minus the confidence penalty beta * H.

    With a threshold the penalty is a hinge, beta * relu(threshold - H): only confident outputs pay.
    """
    loss = F.cross_entropy(logits.float(), y, reduction="none", label_smoothing=label_smoothing)
    if beta:
        h = entropy(logits)
        loss = loss - beta * h if threshold is None else loss + beta * torch.relu(threshold - h)
    return loss


def batch_loss(logits: Tensor, y: Tensor, cfg: TrainConfig) -> Tensor:
    """Mean training loss of a batch; plain cross-entropy takes the fused path (no per-example tensor)."""
    if not cfg.confidence_penalty:
        return F.cross_entropy(logits.float(), y, label_smoothing=cfg.label_smoothing)
    return loss_terms(logits, y, cfg.confidence_penalty, cfg.cp_threshold, cfg.label_smoothing).mean()


def augment(x: Tensor, gen: torch.Generator) -> Tensor:
    """Random crop after zero padding by side/8 pixels (4 at 32) and a random horizontal flip, per image; the
    result keeps the input's memory format (channels-last stays channels-last)."""
    n, c, h, w = x.shape
    pad = max(1, h // 8)
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen).to(x.device)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen).to(x.device)
    flip = (torch.rand(n, generator=gen) < 0.5).to(x.device)
    padded = F.pad(x, (pad, pad, pad, pad))
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w, device=x.device))
    cols = torch.where(flip[:, None], cols.flip(1), cols)[:, None, None, :]
    out = padded[torch.arange(n, device=x.device)[:, None, None, None],
                 torch.arange(c, device=x.device)[None, :, None, None], rows, cols]
    if not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        return out.contiguous(memory_format=torch.channels_last)
    return out


def default_batches(n: int, batch_size: int, gen: torch.Generator) -> list[Tensor]:
    """A random permutation cut into batches; a last batch of one joins the one before (batch norm needs 2)."""
    batches = list(torch.randperm(n, generator=gen).split(batch_size))
    if len(batches) > 1 and len(batches[-1]) == 1:
        batches[-2:] = [torch.cat(batches[-2:])]
    return batches


def _autocast(cfg: TrainConfig, device: torch.device):
    """The autocast context for the forward pass, or None for fp32 (reusable: it holds no state between uses)."""
    if cfg.amp == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return None


def _prepare(model: nn.Module, cfg: TrainConfig, device: torch.device) -> nn.Module:
    model.to(device)
    if cfg.channels_last:
        model.to(memory_format=torch.channels_last)
    if cfg.compile:
        try:
            return torch.compile(model)
        except Exception as err:
            raise RunError(f"--compile: torch.compile failed ({type(err).__name__}: {err}); run without --compile")
    return model


def train(model: nn.Module, data, cfg: TrainConfig, device, *,
          on_epoch: Callable[[EpochStats], None] | None = None,
          on_step: Callable[[int, int, Tensor, Tensor], None] | None = None,
          before_step: Callable[[int, int, Tensor, Tensor], None] | None = None,
          batch_order: Callable[[int, torch.Generator], Iterable[Tensor]] | None = None) -> TrainResult:
    """Train `model` on data.x_train / data.y_train in place and return per-epoch statistics.

    on_step(step, epoch, xb, yb) runs after each optimizer step (1-based global step) and before_step(step,
    epoch, xb, yb) just before its forward pass (so forward hooks can know the batch's labels); on_epoch(stats)
    after each epoch. batch_order(epoch, generator) replaces the random permutation with its own index batches.
    Streamed data and runs under torchrun train in train_sharded.train, with the same contract.
    """
    from deepgen_cli.engine import distributed

    if getattr(data, "streamed", False) or distributed.current() is not None:
        from deepgen_cli.engine import train_sharded

        return train_sharded.train(model, data, cfg, device, on_epoch=on_epoch, on_step=on_step,
                                   before_step=before_step, batch_order=batch_order)
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
    for epoch in range(1, cfg.epochs + 1):
        lr = cfg.lr * cfg.lr_decay ** (epoch - 1)
        for group in opt.param_groups:
            group["lr"] = lr
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
        for idx in batches:
            if move_idx:
                idx = idx.to(device)
            xb, yb = x_all[idx], y_all[idx]
            if cfg.augment:
                xb = augment(xb, gen)
            if before_step is not None:
                before_step(step + 1, epoch, xb, yb)
            if amp is None:
                logits = net(xb)
            else:
                with amp:
                    logits = net(xb)
            loss = batch_loss(logits, yb, cfg)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
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
        if on_epoch is not None:
            on_epoch(stats)
        if cfg.until_fit and result.fit_epoch is not None:
            break
    return result


@torch.inference_mode()
def evaluate(model: nn.Module, x: Tensor, y: Tensor, device, batch_size: int = 1024,
             cfg: TrainConfig | None = None) -> Evaluation:
    """Accuracy, mean cross-entropy and mean output entropy in eval mode; the model's mode is restored.
    With the training `cfg`, under its autocast and memory format (pass TrainResult.model: compiled as trained)."""
    device = torch.device(device)
    correct, loss, ent, n = 0, 0.0, 0.0, len(y)
    amp = _autocast(cfg, device) if cfg is not None else None
    channels_last = cfg is not None and cfg.channels_last and x.dim() == 4
    with eval_mode(model):
        for start in range(0, n, batch_size):
            xb = x[start:start + batch_size].to(device)
            yb = y[start:start + batch_size].to(device)
            if channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            if amp is None:
                logits = model(xb).float()
            else:
                with amp:
                    logits = model(xb).float()
            correct += int((logits.argmax(1) == yb).sum())
            loss += float(F.cross_entropy(logits, yb, reduction="sum"))
            ent += float(entropy(logits).sum())
    n = max(n, 1)
    return Evaluation(correct / n, loss / n, ent / n, len(y))
