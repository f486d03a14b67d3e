"""downsample's options, config and row: torch-free, so that --help, usage errors and reading a record start
at once (its engine, experiment.py, imports torch; engine/lazy.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from deepgen_cli.engine import models
from deepgen_cli.engine.checks import check_data, check_training
from deepgen_cli.engine.config import EPOCHS, LR, REPEATS, UNTRAINED, DataConfig, RunOptions, TrainOptions, opt


EARLY = opt("--early-model", help="The network that downsamples early (a trainable registry model).")
LATE = opt("--late-model", help="The same network downsampling late (a trainable registry model).")


@dataclass(frozen=True, kw_only=True)
class DownsampleConfig(RunOptions, DataConfig, TrainOptions):
    early_model: str = EARLY("cnn-early")
    late_model: str = LATE("cnn-late")
    epochs: int = EPOCHS(5)  # both fit the digits training set (100% train accuracy at 8 epochs, measured)
    lr: float = LR(0.05)
    # paired seeds (the same seed: both networks get the same batch order); 5, since the gain at 3 seeds of 8 epochs
    # (+1.0 points ± 1.9) was too wide to tell, and 5 seeds of 5 epochs cost about the same
    repeats: int = REPEATS(5)
    untrained: bool = UNTRAINED(False)

    def check(self) -> None:
        super().check()
        models.entry(self.early_model, "--early-model", tag="trainable")
        models.entry(self.late_model, "--late-model", tag="trainable")
        check_training(self)
        check_data(self)

    def ignored(self) -> dict[str, str]:
        out = {"eval_every": "downsample measures test accuracy once, after training"}
        if self.untrained:
            out.update({n: "--untrained trains nothing" for n in ("epochs", "lr", "batch_size")})
        return out


@dataclass
class DownsampleRow:
    KEY: ClassVar[tuple[str, ...]] = ("placement", "seed")

    placement: str  # "early" or "late"
    model: str
    seed: int
    mult_adds: int  # per image, at the data's side
    params: int
    train_accuracy: float | None  # 0..1, eval mode; None untrained
    test_accuracy: float
