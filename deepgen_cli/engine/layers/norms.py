"""One architecture with its normalization swapped (batch, renorm, group, none); non-i.i.d. batch
orders; batch-statistics copies; conv-norm folding for inference."""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from deepgen_cli.engine import models
from deepgen_cli.engine.layers.batch_renorm import (RenormSchedule, _BatchRenorm, BatchRenorm1d, BatchRenorm2d,
                                             to_batch_norm)
from deepgen_cli.engine.errors import UsageError

NORMS = ("batch", "renorm", "group", "none")
_BN = nn.modules.batchnorm._BatchNorm
BN_MODELS = ("cnn", "inception-small")  # registry models built with batch norm


def make_norm(kind: str, bn: _BN, *, momentum: float = 0.01, schedule: RenormSchedule | None = None,
              groups: int = 8) -> nn.Module:
    """The `kind` replacement for batch norm layer `bn` (same number of channels)."""
    c = bn.num_features
    if kind == "batch":
        return type(bn)(c, bn.eps, bn.momentum)
    if kind == "renorm":
        cls = BatchRenorm2d if isinstance(bn, nn.BatchNorm2d) else BatchRenorm1d
        return cls(c, bn.eps, momentum, schedule)
    if kind == "group":
        return nn.GroupNorm(math.gcd(groups, c), c, bn.eps)  # the largest group count <= groups dividing c
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


def build(model_name: str, kind: str, *, in_channels: int, image_size: int, num_classes: int,
          momentum: float = 0.01, schedule: RenormSchedule | None = None, groups: int = 8) -> nn.Module:
    """Registry model `model_name` with its batch norm layers turned into `kind`."""
    model = models.get(model_name, in_channels=in_channels, image_size=image_size, num_classes=num_classes)
    if not any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) for m in model.modules()):
        raise UsageError(f"--model: '{model_name}' has no batch norm layer to swap; valid: {', '.join(BN_MODELS)}")
    return swap_norms(model, kind, momentum=momentum, schedule=schedule, groups=groups)


def batch_statistics_copy(model: nn.Module) -> nn.Module:
    """A copy in eval mode whose batch-dependent norms run in training mode without updating anything.

    Dropout stays off; batch norm and batch renorm normalize with the statistics of each batch, as in
    training, while the original model's running statistics and step counter stay untouched.
    """
    twin = copy.deepcopy(model).eval()
    for m in twin.modules():
        if isinstance(m, _BN):
            m.train()
            m.momentum = 0.0  # running = (1 - 0) * running + 0 * batch: unchanged
        elif isinstance(m, _BatchRenorm):
            m.train()
            m.update_running = False
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
    model.eval()
    correct, gap, n = 0, 0.0, 0
    with torch.inference_mode():
        for idx in batches:
            xb, yb = x[idx.to(x.device)].to(device), y[idx.to(y.device)].to(device)
            p_train, p_eval = twin(xb).softmax(1), model(xb).softmax(1)
            correct += int((p_train.argmax(1) == yb).sum())
            gap += 0.5 * float((p_train - p_eval).abs().sum(1).sum())
            n += len(idx)
    return correct / n, gap / n, n


def bn_equivalence(model, x, device) -> float:
    """max |f(x) - g(x)| in eval mode, g being f with each renorm layer turned into its BatchNorm twin."""
    twin = as_batch_norm(model)
    model.eval()
    with torch.inference_mode():
        xb = x.to(device)
        return float((model(xb) - twin(xb)).abs().max())


# --- batch orders -------------------------------------------------------------------------------------

def iid_batches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """A random permutation of range(n) cut into batches (the last one may be smaller)."""
    return list(torch.randperm(n, generator=generator).split(batch_size))


def non_iid_batches(labels: torch.Tensor, batch_size: int, classes_per_batch: int,
                    generator: torch.Generator, keep_leftovers: bool = False) -> list[torch.Tensor]:
    """Minibatches drawn from exactly `classes_per_batch` classes each (Ioffe 2017: 16 classes x 2 images).

    Each batch picks its classes at random among those with enough unused examples left and takes
    batch_size // K examples of each (the first batch_size % K classes one more), without replacement.
    The epoch ends when fewer than K classes have enough left; those leftovers wait for the next epoch,
    or with `keep_leftovers` (evaluation, where every example counts) follow in class-sorted batches.
    """
    k = classes_per_batch
    labels = labels.cpu()
    classes = labels.unique().tolist()
    if not 1 <= k <= min(len(classes), batch_size):
        raise UsageError(f"--non-iid: {k} classes per batch needs 1 <= K <= min(classes={len(classes)}, "
                         f"batch size={batch_size})")
    take = [batch_size // k + (1 if i < batch_size % k else 0) for i in range(k)]
    pools = {}
    for c in classes:
        idx = (labels == c).nonzero().flatten()
        pools[c] = idx[torch.randperm(len(idx), generator=generator)].tolist()
    batches = []
    while True:
        ready = [c for c in classes if len(pools[c]) >= take[0]]
        if len(ready) < k:
            break
        chosen = [ready[i] for i in torch.randperm(len(ready), generator=generator)[:k].tolist()]
        batch = []
        for c, m in zip(chosen, take):
            batch += pools[c][:m]
            del pools[c][:m]
        batches.append(torch.tensor(batch, dtype=torch.long))
    rest = [i for c in classes for i in pools[c]]
    if keep_leftovers and rest:
        batches += list(torch.tensor(rest, dtype=torch.long).split(batch_size))
        if len(batches) > 1 and len(batches[-1]) == 1:  # a lone example has no batch statistics
            batches[-2:] = [torch.cat(batches[-2:])]
    return batches


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
