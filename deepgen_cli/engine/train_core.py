"""What the training loop (train.py) and its feeds share: its config, statistics and results, the loss, one SGD
step, augmentation, batch order, and `evaluate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from deepgen_cli.engine.config import TrainConfig  # noqa: F401  (declared with the other option groups; train.TrainConfig)
from deepgen_cli.engine.errors import RunError
from deepgen_cli.engine.modes import eval_mode


class Diverged(RunError):
    """The training loss became NaN or infinite; a sweep records the row as failed and goes on."""


@dataclass
class EpochStats:
    epoch: int  # 1-based
    train_loss: float  # mean over the epoch's examples, including any penalty
    train_accuracy: float  # fraction of the epoch's (augmented) training examples classified right, as trained
    seconds: float
    steps: int  # optimizer steps in this epoch
    lr: float = 0.0  # at the epoch's first step
    examples: int = 0
    test_accuracy: float | None = None  # eval mode, after the epoch, on the test set given to train() (if any)


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


def penalty(cfg: TrainConfig, epoch: int) -> float:
    """The confidence penalty's beta in `epoch` (1-based): cfg.confidence_penalty, annealed over cp_anneal epochs."""
    if not cfg.cp_anneal:
        return cfg.confidence_penalty
    return cfg.confidence_penalty * min(1.0, epoch / cfg.cp_anneal)


def batch_loss(logits: Tensor, y: Tensor, cfg: TrainConfig, beta: float | None = None) -> Tensor:
    """Mean training loss of a batch with the penalty's `beta` (default: the config's); plain cross-entropy takes
    the fused path (no per-example tensor)."""
    beta = cfg.confidence_penalty if beta is None else beta
    if not beta:
        return F.cross_entropy(logits.float(), y, label_smoothing=cfg.label_smoothing)
    return loss_terms(logits, y, beta, cfg.cp_threshold, cfg.label_smoothing).mean()


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    for group in opt.param_groups:
        group["lr"] = lr


def sgd_step(net: nn.Module, opt: torch.optim.Optimizer, xb: Tensor, yb: Tensor, cfg: TrainConfig, beta: float,
             amp, scale: float = 1.0) -> tuple[Tensor, Tensor]:
    """One optimizer step on a batch: the forward (under `amp`, an autocast
    context, where set), the loss with the penalty's `beta`, its gradient times `scale` (a rank's share of the
    global batch), the step. Returns (loss, logits), not detached."""
    if amp is None:
        logits = net(xb)
    else:
        with amp:
            logits = net(xb)
    loss = batch_loss(logits, yb, cfg, beta)
    opt.zero_grad(set_to_none=True)
    (loss * scale if scale != 1.0 else loss).backward()
    opt.step()
    return loss, logits


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


def eval_logits(model: nn.Module, xb: Tensor, amp, channels_last: bool) -> Tensor:
    """fp32 logits of a batch as the model was trained: its memory format, under its autocast (None: fp32)."""
    if channels_last:
        xb = xb.contiguous(memory_format=torch.channels_last)
    if amp is None:
        return model(xb).float()
    with amp:
        return model(xb).float()


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
            logits = eval_logits(model, xb, amp, channels_last)
            correct += int((logits.argmax(1) == yb).sum())
            loss += float(F.cross_entropy(logits, yb, reduction="sum"))
            ent += float(entropy(logits).sum())
    n = max(n, 1)
    return Evaluation(correct / n, loss / n, ent / n, len(y))
