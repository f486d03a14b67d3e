"""drop-blocks's options, config and row: torch-free, so that --help, usage errors and reading a record start
at once (its engine, experiment.py, imports torch; engine/lazy.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from deepgen_cli.engine.checks import check_data, check_training
from deepgen_cli.engine.config import (BATCH_SIZE, EPOCHS, LR, REPEATS, UNTRAINED, DataConfig, RunOptions,
                                       TrainOptions, opt, parse_list)


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
        check_training(self)
        check_data(self)

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
