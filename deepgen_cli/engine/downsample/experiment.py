"""downsample's engine: the early and the late network trained on the same seeds."""

from __future__ import annotations

import torch

from deepgen_cli.engine import measure, models, train
from deepgen_cli.engine.downsample import findings as verdicts
from deepgen_cli.engine.downsample.config import DownsampleConfig, DownsampleRow
from deepgen_cli.engine.outcome import Outcome
from deepgen_cli.engine.sweep import measure_rows
from deepgen_cli.engine.runs import loaded


def run(config: DownsampleConfig, device: torch.device, session) -> Outcome:
    with loaded(config, session) as (config, data):
        names = {"early": config.early_model, "late": config.late_model}

        def measure_one(item, label):
            placement, seed = item
            torch.manual_seed(seed)
            model = models.create(names[placement], num_classes=data.num_classes, in_channels=data.in_channels,
                                  image_size=data.image_size)
            ops = measure.mult_adds(model, data.x_train[:1]).total
            model.to(device)
            trained = None
            if not config.untrained:
                def on_epoch(s):
                    session.progress(f"{label}: epoch {s.epoch}/{config.epochs}, train accuracy {s.train_accuracy:.1%}")
                train.train(model, data, train.TrainConfig.of(config, seed=seed, eval_every=0), device,
                            on_epoch=on_epoch)
                trained = train.evaluate(model, data.x_train, data.y_train, device).accuracy
            test = train.evaluate(model, data.x_test, data.y_test, device).accuracy
            return DownsampleRow(placement, names[placement], seed, ops, measure.count_params(model), trained, test)

        plan = [(p, config.seed + i) for i in range(config.repeats) for p in ("early", "late")]
        rows = measure_rows(session, plan, row_type=DownsampleRow, key=lambda item: item, measure=measure_one,
                            label=lambda item: f"{names[item[0]]} seed {item[1]}")
    notes = [f"{config.early_model} (early) and {config.late_model} (late) on {config.dataset} at "
             f"{data.image_size}x{data.image_size}, {'untrained' if config.untrained else f'{config.epochs} epochs'}"]
    return Outcome(verdicts.findings(rows, data.num_classes), notes)
