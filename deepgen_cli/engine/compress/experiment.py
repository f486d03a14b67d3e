"""compress's engine: the architectures counted and each seed's network trained, pruned, shared and coded."""

from __future__ import annotations

import math

import torch
from torch import nn

from deepgen_cli.engine import models, train
from deepgen_cli.engine.compress import coding, findings as verdicts
from deepgen_cli.engine.compress.config import CompressConfig, CompressRow
from deepgen_cli.engine.outcome import Outcome
from deepgen_cli.engine.sweep import plan_rows, row_from, row_key
from deepgen_cli.engine.runs import loaded


def compressible(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def other_floats(model: nn.Module) -> int:
    """Values stored at 32 bits: biases, batch norm parameters and running statistics."""
    weights = {id(m.weight) for m in compressible(model)}
    params = sum(p.numel() for p in model.parameters() if id(p) not in weights)
    return params + sum(b.numel() for n, b in model.named_buffers() if not n.endswith("num_batches_tracked"))


def dense_bytes(model: nn.Module) -> int:
    return 4 * (sum(m.weight.numel() for m in compressible(model)) + other_floats(model))


def prune(model: nn.Module, density: float) -> list[torch.Tensor]:
    """Zero all but each layer's largest-|w| share `density`, in place; the masks."""
    masks = []
    with torch.no_grad():
        for m in compressible(model):
            mask = coding.prune_mask(m.weight.cpu(), density).to(m.weight.device)
            m.weight.mul_(mask)
            masks.append(mask)
    return masks


def compress(model: nn.Module, masks: list, bits: int) -> tuple[int, int, int, int]:
    """Share the kept weights in place (k-means); (weights, kept, bytes, bytes with Huffman coding)."""
    n = kept = plain = huff = 0
    with torch.no_grad():
        for m, mask in zip(compressible(model), masks):
            w, mask = m.weight.detach().cpu(), mask.cpu()
            shared, codes = coding.share_weights(w, mask, bits)
            m.weight.copy_(shared.to(m.weight.device))
            n, kept = n + w.numel(), kept + int(mask.sum())
            plain += coding.sparse_bits(mask, codes, bits).bits
            huff += coding.sparse_bits(mask, codes, bits, huffman=True).bits
    floats = 4 * other_floats(model)
    return n, kept, math.ceil(plain / 8) + floats, math.ceil(huff / 8) + floats


def architecture_rows(config: CompressConfig) -> list[CompressRow]:
    """AlexNet's 32-bit bytes (counted on the meta device: no weights made) and SqueezeNet's, plain and compressed
    at the config's density and bits (its initial weights at the seed give the pruned positions)."""
    with torch.device("meta"):
        alexnet = models.create("alexnet", num_classes=1000)
        alex, alex_weights = dense_bytes(alexnet), sum(m.weight.numel() for m in compressible(alexnet))
    torch.manual_seed(config.seed)
    squeeze = models.create("squeezenet", num_classes=1000)
    dense = dense_bytes(squeeze)
    masks = prune(squeeze, config.density)
    n, kept, plain, huff = compress(squeeze, masks, config.bits)
    nan = None  # nothing trained
    return [CompressRow("alexnet", config.seed, "32-bit", alex_weights, alex_weights, alex, 1.0, nan),
            CompressRow("squeezenet", config.seed, "32-bit", n, n, dense, alex / dense, nan),
            CompressRow("squeezenet", config.seed, "pruned+shared", n, kept, plain, alex / plain, nan),
            CompressRow("squeezenet", config.seed, "+huffman", n, kept, huff, alex / huff, nan)]


def trained_rows(config: CompressConfig, data, seed: int, device, session, label: str) -> list[CompressRow]:
    torch.manual_seed(seed)
    model = models.create(config.model, num_classes=data.num_classes, in_channels=data.in_channels,
                          image_size=data.image_size).to(device)
    cfg = train.TrainConfig.of(config, seed=seed, eval_every=0)
    if not config.untrained:
        session.progress(f"{label}: training")
        train.train(model, data, cfg, device)
    n = sum(m.weight.numel() for m in compressible(model))
    dense, before = dense_bytes(model), train.evaluate(model, data.x_test, data.y_test, device).accuracy
    masks = prune(model, config.density)
    if config.finetune_epochs and not config.untrained:
        session.progress(f"{label}: retraining the pruned network")
        layers = compressible(model)

        def hold(*_):  # pruned weights stay zero: re-zeroed after every step
            with torch.no_grad():
                for m, mask in zip(layers, masks):
                    m.weight.mul_(mask)

        train.train(model, data, train.TrainConfig.of(cfg, epochs=config.finetune_epochs), device, on_step=hold)
    n, kept, plain, huff = compress(model, masks, config.bits)
    after = train.evaluate(model, data.x_test, data.y_test, device).accuracy
    return [CompressRow(config.model, seed, "32-bit", n, n, dense, 1.0, before),
            CompressRow(config.model, seed, "pruned+shared", n, kept, plain, dense / plain, after),
            CompressRow(config.model, seed, "+huffman", n, kept, huff, dense / huff, after)]


def run(config: CompressConfig, device: torch.device, session) -> Outcome:
    with loaded(config, session) as (config, data):
        stages = ("32-bit", "pruned+shared", "+huffman")
        plan = [("architecture", config.seed, [("alexnet", "32-bit")] + [("squeezenet", s) for s in stages])]
        plan += [("trained", config.seed + i, [(config.model, s) for s in stages]) for i in range(config.repeats)]
        plan_rows(session, sum(len(keys) for *_, keys in plan))
        rows = []
        for i, (kind, seed, keys) in enumerate(plan, 1):
            # an item's rows come at once: reused from --resume's record only when all of them are there
            saved = [session.resumed(**row_key(CompressRow, (net, seed, stage))) for net, stage in keys]
            label = f"[{i}/{len(plan)}] {kind} seed {seed}"
            if all(saved):
                got, reused = [row_from(CompressRow, r) for r in saved], True
            else:
                session.progress(label)
                got = architecture_rows(config) if kind == "architecture" else trained_rows(
                    config, data, seed, device, session, label)
                reused = False
            session.add_rows(got, reused)
            rows += got
    found = verdicts.findings(rows, config, data.num_classes)
    notes = [f"architecture rows: torchvision's AlexNet and SqueezeNet 1.0 at 1,000 classes; SqueezeNet pruned at its "
             f"initial weights (seed {config.seed}): the byte count needs positions, not trained values",
             f"{config.model}: density {config.density:.3g}, {config.bits}-bit sharing, {config.finetune_epochs} "
             f"retraining epochs after pruning; centroids are not fine-tuned (Deep Compression's trained quantization)"]
    return Outcome(found, notes)
