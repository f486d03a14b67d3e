"""width-reg's engine: the narrow and the wide member trained plain and regularized, paired by seed."""

from __future__ import annotations

import torch

from deepgen_cli.engine import models, train
from deepgen_cli.engine.sweep import measure_rows
from deepgen_cli.engine.width_reg.config import WidthRegConfig, WidthRegRow
from deepgen_cli.engine.width_reg.findings import findings
from deepgen_cli.engine.runs import loaded


def train_one(config: WidthRegConfig, data, width: int, regularized: bool, seed: int, device,
              session, label: str) -> WidthRegRow:
    """The same initial weights and batch order in both arms of a width and seed."""
    torch.manual_seed(seed)
    model = models.create(config.model, in_channels=data.in_channels, image_size=data.image_size,
                          num_classes=data.num_classes, width=width).to(device)
    tcfg = train.TrainConfig.of(config, seed=seed, weight_decay=config.weight_decay if regularized else 0.0,
                                augment=config.augment and regularized)
    result = train.train(model, data, tcfg, device,
                         on_epoch=lambda s: session.progress(f"{label}: epoch {s.epoch}/{config.epochs}"))
    tr = train.evaluate(model, data.x_train, data.y_train, device).accuracy
    te = train.evaluate(model, data.x_test, data.y_test, device).accuracy
    return WidthRegRow(width, regularized, seed, sum(p.numel() for p in model.parameters()), tr, te, tr - te,
                       result.seconds)


def run(config: WidthRegConfig, device, session):
    with loaded(config, session) as (config, data):
        plan = [(w, r, config.seed + i) for w in config.widths for r in (False, True) for i in range(config.repeats)]
        rows = measure_rows(session, plan, row_type=WidthRegRow, key=lambda item: item,
                            measure=lambda item, label: train_one(config, data, *item, device, session, label),
                            label=lambda item: f"width {item[0]}, {'regularized' if item[1] else 'plain'}, "
                                               f"seed {item[2]}")
        session.progress("checking the published claims")
        return findings(rows, config, data.num_classes)
