"""drop-blocks's engine: each network trained per seed, then each block deleted in turn."""

from __future__ import annotations

import torch
from torch import nn

from deepgen_cli.engine import models, train
from deepgen_cli.engine.drop_blocks import findings as verdicts
from deepgen_cli.engine.drop_blocks.config import MODELS, DropBlocksConfig, DropBlocksRow
from deepgen_cli.engine.outcome import Outcome
from deepgen_cli.engine.sweep import plan_rows, row_from, row_key
from deepgen_cli.engine.runs import loaded


def deleted_accuracies(model: nn.Module, data, device) -> list[float]:
    """Test accuracy of the whole network, then with each block in turn replaced by the identity."""
    out = [train.evaluate(model, data.x_test, data.y_test, device).accuracy]
    for i, block in enumerate(list(model.blocks)):
        model.blocks[i] = nn.Identity()
        out.append(train.evaluate(model, data.x_test, data.y_test, device).accuracy)
        model.blocks[i] = block
    return out


def run(config: DropBlocksConfig, device: torch.device, session) -> Outcome:
    with loaded(config, session) as (config, data):
        blocks = len(models.create(MODELS["residual"], num_classes=data.num_classes,
                                   in_channels=data.in_channels).blocks)
        plan = [(n, config.seed + i) for i in range(config.repeats) for n in config.networks]
        plan_rows(session, len(plan) * (blocks + 1))
        rows = []
        for k, (network, seed) in enumerate(plan, 1):
            label = f"[{k}/{len(plan)}] {network} seed {seed}"
            saved = [session.resumed(**row_key(DropBlocksRow, (network, seed, d))) for d in range(blocks + 1)]
            if all(saved):  # a network's rows come at once: reused only when all are there
                got = [row_from(DropBlocksRow, r) for r in saved]
            else:
                torch.manual_seed(seed)
                model = models.create(MODELS[network], num_classes=data.num_classes,
                                      in_channels=data.in_channels).to(device)
                if not config.untrained:
                    def on_epoch(s, label=label):
                        session.progress(f"{label}: epoch {s.epoch}/{config.epochs}, train accuracy "
                                         f"{s.train_accuracy:.1%}")
                    train.train(model, data, train.TrainConfig.of(config, seed=seed, eval_every=0), device,
                                on_epoch=on_epoch)
                acc = deleted_accuracies(model, data, device)
                got = [DropBlocksRow(network, seed, d, a, acc[0] - a) for d, a in enumerate(acc)]
            session.add_rows(got, all(saved))
            rows += got
    notes = [f"{', '.join(f'{n} ({MODELS[n]})' for n in config.networks)} on {config.dataset}: {blocks} blocks, "
             f"{'untrained' if config.untrained else f'{config.epochs} epochs'}; a deleted block is the identity, "
             "its batch norm statistics gone with it"]
    return Outcome(verdicts.findings(rows, config.networks, blocks, data.num_classes), notes)
