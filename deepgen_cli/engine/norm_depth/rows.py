"""One norm-depth row: mlp-bn at one depth, trained with one norm at one microbatch and seed."""

from __future__ import annotations

import torch

from deepgen_cli.engine import models, train
from deepgen_cli.engine.norm_depth.config import NormDepthRow  # noqa: F401  (torch-free: report reads it)
from deepgen_cli.engine.layers import norms
from deepgen_cli.engine.layers.batch_renorm import RenormSchedule
from deepgen_cli.engine.norm_compare.rows import minibatches


def train_one(config, data, depth: int, microbatch: int, kind: str, seed: int, device, session,
              label: str) -> NormDepthRow:
    """Same initial weights (torch seed) and minibatch order (generator seed) at every microbatch and norm; the
    network of depth d is mlp-bn with d hidden layers of --width units."""
    gen = torch.Generator().manual_seed(seed)
    orders = [minibatches(0, config.batch_size, data.y_train.cpu(), gen, training=True) for _ in range(config.epochs)]
    schedule = RenormSchedule.fractions(sum(len(o) for o in orders), config.warmup_fraction, config.dmax_fraction,
                                        config.rmax_fraction, config.rmax, config.dmax)
    torch.manual_seed(seed)
    model = models.create("mlp-bn", in_channels=data.in_channels, image_size=data.image_size,
                          num_classes=data.num_classes, widths=(config.width,) * depth)
    model = norms.swap_norms(model, kind, bn_momentum=config.bn_momentum, renorm_momentum=config.renorm_momentum,
                             schedule=schedule, microbatch=microbatch).to(device)
    result = train.train(model, data, train.TrainConfig.of(config, seed=seed), device,
                         batch_order=lambda epoch, _gen: orders[epoch - 1],
                         on_epoch=lambda s: session.progress(f"{label}: epoch {s.epoch}/{config.epochs}"))
    test = train.evaluate(model, data.x_test, data.y_test, device)
    last = result.epochs[-1]
    return NormDepthRow(depth=depth, microbatch=microbatch, norm=kind, seed=seed, test_accuracy=test.accuracy,
                        train_accuracy=last.train_accuracy, train_loss=last.train_loss, steps=result.steps,
                        train_time_s=result.seconds)
