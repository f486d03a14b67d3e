"""`drop-blocks`: can residual blocks be deleted at test time at little cost? (Veit et al. 2016, cited by Huang et
al. 2017.) Train a residual network and the same network without skips, delete one block at a time from the trained
network (the block becomes the identity) and measure the test accuracy left; findings.py judges.

One row per (network, seed, deleted block; 0: none deleted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from deepgen_cli.engine import data as data_mod, models, train
from deepgen_cli.engine.config import (BATCH_SIZE, EPOCHS, LR, REPEATS, UNTRAINED, DataConfig, RunOptions,
                                       TrainOptions, opt, parse_list)
from deepgen_cli.engine.drop_blocks import findings as verdicts
from deepgen_cli.engine.modes import torch_threads
from deepgen_cli.engine.outcome import Outcome
from deepgen_cli.engine.sweep import plan_rows, row_from, row_key

MODELS = {"residual": "resnet-small", "plain": "plain-small"}
NETWORKS = opt("--networks", parse=parse_list(str, "residual,plain"), show=",".join,
               check=lambda v: bool(v) and all(n in MODELS for n in v) and len(set(v)) == len(v),
               valid="residual and/or plain, each once", help="Networks to train and delete blocks from; the claim "
               "is judged on the first (residual: the claim; plain alone: its control).")


@dataclass(frozen=True, kw_only=True)
class DropBlocksConfig(RunOptions, DataConfig, TrainOptions):
    networks: tuple[str, ...] = NETWORKS(("residual", "plain"))
    # resnet-small at 6 epochs of 32: 98.0% and 96.7% test accuracy (seeds 0, 1), plain-small 86-88%; at 4 epochs of
    # 128 the residual network was still at 64-91%
    epochs: int = EPOCHS(5)
    batch_size: int = BATCH_SIZE(32)
    lr: float = LR(0.05)
    repeats: int = REPEATS(3)  # paired seeds: each block's loss judged over seeds
    untrained: bool = UNTRAINED(False)

    def check(self) -> None:
        super().check()
        train.TrainConfig.of(self).check()
        data_mod.check(data_mod.config_for(self))

    def ignored(self) -> dict[str, str]:
        out = {"eval_every": "drop-blocks measures test accuracy once per deletion, after training"}
        if self.untrained:
            out.update({n: "--untrained trains nothing" for n in ("epochs", "lr", "batch_size")})
        return out


@dataclass
class DropBlocksRow:
    KEY: ClassVar[tuple[str, ...]] = ("network", "seed", "deleted")

    network: str  # residual or plain
    seed: int
    deleted: int  # the block deleted (1-based); 0: the whole network
    test_accuracy: float  # 0..1
    drop: float  # the whole network's test accuracy - this one's, 0..1 (positive: worse)


def deleted_accuracies(model: nn.Module, data, device) -> list[float]:
    """Test accuracy of the whole network, then with each block in turn replaced by the identity."""
    out = [train.evaluate(model, data.x_test, data.y_test, device).accuracy]
    for i, block in enumerate(list(model.blocks)):
        model.blocks[i] = nn.Identity()
        out.append(train.evaluate(model, data.x_test, data.y_test, device).accuracy)
        model.blocks[i] = block
    return out


def run(config: DropBlocksConfig, device: torch.device, session) -> Outcome:
    config = config.resolved()
    config.check()
    with torch_threads(config.threads):
        session.progress(f"loading {config.dataset}")
        data = data_mod.load(data_mod.config_for(config))
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
