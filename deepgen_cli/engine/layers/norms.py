"""One architecture with its normalization swapped (batch and renorm over microbatches, group, none);
batch-statistics copies; conv-norm folding for inference. Batch orders live in engine/data/sampling.py."""

from __future__ import annotations

import copy

import torch
from torch import nn

from deepgen_cli.engine import models
from deepgen_cli.engine.layers import NORMS  # noqa: F401  (declared torch-free: --help reads it)
from deepgen_cli.engine.layers.batch_renorm import (RenormSchedule, _BatchRenorm, BatchRenorm1d, BatchRenorm2d,
                                                    to_batch_norm)
from deepgen_cli.engine.layers.microbatch import MicroBatched, MicroBatchNorm1d, MicroBatchNorm2d
from deepgen_cli.engine.modes import eval_mode
from deepgen_cli.engine.errors import UsageError

_BN = nn.modules.batchnorm._BatchNorm


def group_count(channels: int, groups: int) -> int:
    """The largest divisor of `channels` that is at most `groups` (GroupNorm needs groups | channels)."""
    return max(d for d in range(1, min(groups, channels) + 1) if channels % d == 0)


def make_norm(kind: str, bn: _BN, *, renorm_momentum: float = 0.01, bn_momentum: float | None = None,
              schedule: RenormSchedule | None = None, groups: int = 8, microbatch: int | None = None) -> nn.Module:
    """The `kind` replacement for batch norm layer `bn` (same number of channels). Batch norm and batch renorm
    normalize over microbatches of `microbatch` examples (None: the whole minibatch); bn_momentum None keeps
    `bn`'s moving-average rate."""
    c = bn.num_features
    if kind == "batch":
        cls = MicroBatchNorm2d if isinstance(bn, nn.BatchNorm2d) else MicroBatchNorm1d
        return cls(c, bn.eps, bn.momentum if bn_momentum is None else bn_momentum, microbatch)
    if kind == "renorm":
        cls = BatchRenorm2d if isinstance(bn, nn.BatchNorm2d) else BatchRenorm1d
        return cls(c, bn.eps, renorm_momentum, schedule, microbatch=microbatch)
    if kind == "group":
        return nn.GroupNorm(group_count(c, groups), c, bn.eps)
    if kind == "none":
        return nn.Identity()
    raise UsageError(f"--norms: unknown norm '{kind}'; valid: {', '.join(NORMS)}")


def swap_norms(model: nn.Module, kind: str, **kw) -> nn.Module:
    """Replace every BatchNorm1d/2d in `model`, in place, by the `kind` layer; returns the model."""
    for name, child in model.named_children():
        if isinstance(child, (nn.BatchNorm1d, nn.BatchNorm2d)):
            setattr(model, name, make_norm(kind, child, **kw))
        else:
            swap_norms(child, kind, **kw)
    return model


def build(model_name: str, kind: str, *, in_channels: int, image_size: int, num_classes: int, **kw) -> nn.Module:
    """Registry model `model_name` with its batch norm layers turned into `kind` (keywords: make_norm's).

    Norm layers draw no random numbers, so after the same torch.manual_seed every kind gets the same weights."""
    model = models.create(model_name, in_channels=in_channels, image_size=image_size, num_classes=num_classes)
    if not any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) for m in model.modules()):
        raise UsageError(f"--model: '{model_name}' has no batch norm layer to swap; valid: "
                         f"{', '.join(models.names(tag='batchnorm'))}")
    return swap_norms(model, kind, **kw)


def clip_summary(model: nn.Module) -> tuple[int, float, float] | None:
    """(steps with r/d active, fraction of r values clipped, fraction of d values clipped) over the model's
    renorm layers in those steps; None without renorm layers. One host sync."""
    layers = [m for m in model.modules() if isinstance(m, _BatchRenorm)]
    if not layers:
        return None
    values = sum(m.values * m.num_features for m in layers)  # r (and d) values in the active steps
    r, d = (float(v) for v in sum(m.clips.sum(1) for m in layers).tolist())
    return layers[0].active_steps, r / max(values, 1), d / max(values, 1)


def batch_statistics_copy(model: nn.Module) -> nn.Module:
    """A copy in eval mode whose batch-dependent norms run in training mode without updating anything.

    Dropout stays off; batch norm and batch renorm normalize with the statistics of each batch, as in
    training, while the original model's running statistics and step counter stay untouched.
    """
    twin = copy.deepcopy(model).eval()
    for m in twin.modules():
        if isinstance(m, MicroBatched):  # batch norm and renorm, over the same microbatches as in training
            m.train()
            m.update_running = False
        elif isinstance(m, _BN):
            m.train()
            m.momentum = 0.0  # running = (1 - 0) * running + 0 * batch: unchanged
    return twin


def as_batch_norm(model: nn.Module) -> nn.Module:
    """A copy of a renorm model with every renorm layer replaced by the BatchNorm it equals at inference."""
    twin = copy.deepcopy(model)

    def swap(parent: nn.Module) -> None:
        for name, child in parent.named_children():
            if isinstance(child, _BatchRenorm):
                setattr(parent, name, to_batch_norm(child))
            else:
                swap(child)

    swap(twin)
    return twin.eval()


def batch_statistics_eval(model, x, y, batches, device) -> tuple[float, float, int]:
    """(accuracy, mean TV distance to eval-mode outputs, examples) with norms using each batch's statistics."""
    twin = batch_statistics_copy(model)
    correct, gap, n = 0, 0.0, 0
    with eval_mode(model), torch.inference_mode():
        for idx in batches:
            xb, yb = x[idx.to(x.device)].to(device), y[idx.to(y.device)].to(device)
            p_train, p_eval = twin(xb).softmax(1), model(xb).softmax(1)
            correct += int((p_train.argmax(1) == yb).sum())
            gap += 0.5 * float((p_train - p_eval).abs().sum(1).sum())
            n += len(idx)
    return correct / n, gap / n, n


# --- inference folding --------------------------------------------------------------------------------

def _fold(conv: nn.Conv2d, norm: nn.Module) -> nn.Conv2d:
    """conv followed by an eval-mode (re)norm as one conv: w' = w * gamma / sigma, b' = beta + (b - mu) * gamma / sigma."""
    if isinstance(norm, _BatchRenorm):
        std = norm.running_std
    else:
        std = (norm.running_var + norm.eps).sqrt()
    scale = norm.weight / std
    fused = copy.deepcopy(conv)
    bias = conv.bias if conv.bias is not None else torch.zeros_like(norm.running_mean)
    with torch.no_grad():
        fused.weight.mul_(scale.view(-1, 1, 1, 1))
        fused.bias = nn.Parameter(norm.bias + (bias - norm.running_mean) * scale)
    return fused


def fold_norms(model: nn.Module) -> nn.Module:
    """An eval copy where each Conv2d directly followed (in a Sequential) by a batch (re)norm absorbs it."""
    twin = copy.deepcopy(model).eval()

    def walk(module: nn.Module) -> None:
        if isinstance(module, nn.Sequential):
            children = list(module)
            for i in range(len(children) - 1):
                a, b = children[i], children[i + 1]
                if isinstance(a, nn.Conv2d) and isinstance(b, (nn.BatchNorm2d, BatchRenorm2d)):
                    module[i], module[i + 1] = _fold(a, b), nn.Identity()
        for child in module.children():
            walk(child)

    walk(twin)
    return twin
