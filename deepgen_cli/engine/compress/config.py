"""compress's options, config and row: torch-free, so that --help, usage errors and reading a record start
at once (its engine, experiment.py, imports torch; engine/lazy.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from deepgen_cli.engine import models
from deepgen_cli.engine.checks import check_data, check_training
from deepgen_cli.engine.config import (EPOCHS, LR, MODEL, REPEATS, UNTRAINED, DataConfig, RunOptions, TrainOptions,
                                       at_least, between, opt)


DENSITY = opt("--density", type=float, check=lambda v: 0 < v <= 1 if isinstance(v, float) else False,
              valid="in (0, 1]", help="Share of each layer's weights kept by magnitude pruning (the paper: 33%).")
BITS = opt("--bits", type=int, check=between(1, 8), valid="an integer from 1 to 8",
           help="Weight-sharing bits per kept weight: 2**bits - 1 k-means centroids and a zero (the paper: 6 or 8).")
FINETUNE = opt("--finetune-epochs", type=int, check=at_least(0), valid="0 or more", panel="Training",
               help="Epochs of retraining with the pruned weights held at zero, before weight sharing.")
ARCH = ("alexnet", "squeezenet")  # the claim's pair, torchvision's builds at 224x224 and 1,000 classes


@dataclass(frozen=True, kw_only=True)
class CompressConfig(RunOptions, DataConfig, TrainOptions):
    model: str = MODEL("cnn")  # a trainable digits model: convolutions, as SqueezeNet is
    density: float = DENSITY(1 / 3)  # "33% sparsity" in the paper can only be a density: see docs/compress.md
    bits: int = BITS(6)
    finetune_epochs: int = FINETUNE(2)  # Deep Compression retrains after pruning; 2 epochs on digits
    epochs: int = EPOCHS(10)  # cnn on digits: about 97% test accuracy
    lr: float = LR(0.05)
    repeats: int = REPEATS(3)  # paired seeds: the non-inferiority bound needs a spread
    untrained: bool = UNTRAINED(False)

    def check(self) -> None:
        super().check()
        models.entry(self.model, "--model", tag="trainable")
        check_training(self)
        check_data(self)

    def ignored(self) -> dict[str, str]:
        out = {"eval_every": "compress measures test accuracy once, after training and after compressing"}
        if self.untrained:
            out.update({n: "--untrained trains nothing" for n in ("epochs", "finetune_epochs", "lr", "batch_size")})
        return out


@dataclass
class CompressRow:
    KEY: ClassVar[tuple[str, ...]] = ("network", "seed", "stage")

    network: str  # alexnet / squeezenet (architecture, initial weights) or the trained --model
    seed: int
    stage: str  # "32-bit", "pruned+shared" (relative-index storage) or "+huffman"
    weights: int  # conv and linear weights (what is compressed)
    kept: int  # after pruning
    bytes: int  # the whole network: compressed weights, codebooks, headers, and every other parameter at 32 bits
    ratio: float  # the 32-bit AlexNet's bytes / bytes (architecture rows); the network's own 32-bit bytes / bytes
    test_accuracy: float | None  # 0..1; None for the architecture rows (nothing trained)
