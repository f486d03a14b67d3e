"""width-reg's options, config and row: torch-free, so that --help, usage errors and reading a record start
at once (its engine, experiment.py, imports torch; engine/lazy.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from deepgen_cli.engine import models
from deepgen_cli.engine.checks import check_data
from deepgen_cli.engine.config import (AUGMENT, BATCH_SIZE, EPOCHS, LR, MODEL, REPEATS, SUBSET, WEIGHT_DECAY,
                                       DataConfig, RunOptions, TrainOptions, opt, parse_list, show_list)
from deepgen_cli.engine.errors import UsageError


WIDTHS = opt("--widths", parse=parse_list(int, "4,64"), show=show_list,
             help="The narrow and the wide member: the model's width option (cnn: channels of its first block).")


@dataclass(frozen=True, kw_only=True)
class WidthRegConfig(RunOptions, DataConfig, TrainOptions):
    model: str = MODEL("cnn")  # a registry model with a `width` option
    widths: tuple[int, ...] = WIDTHS((4, 64))  # cnn at 4 channels: 1.2k weights; at 64: 300k
    # 300 training images: few enough that the wide member fits them all and overfits (on all 1,347 of digits both
    # members generalize within a point or two, and there is little for a regularizer to buy)
    subset: int | None = SUBSET(300)
    epochs: int = EPOCHS(30)
    batch_size: int = BATCH_SIZE(32)
    lr: float = LR(0.05)
    # The regularized arm: weight decay 5e-4 (MobileNet's own family of settings: Inception-style training) and
    # random crop and flip; the plain arm has neither
    weight_decay: float = WEIGHT_DECAY(5e-4)
    augment: bool = AUGMENT(True)
    repeats: int = REPEATS(3)  # seeds, paired across widths and arms; the verdicts need 2 or more

    def ignored(self) -> dict[str, str]:
        return {"eval_every": "width-reg scores each row once, after training"}

    def check(self) -> None:
        super().check()
        if len(self.widths) != 2 or self.widths[0] >= self.widths[1] or self.widths[0] < 1:
            raise UsageError(f"--widths: a narrow and a wider width, e.g. 4,64; got {show_list(self.widths)}")
        entry = models.entry(self.model, "--model")
        if not entry.takes("width"):
            raise UsageError(f"--model: width-reg varies the model's width option; '{self.model}' has none "
                             f"(e.g. cnn)")
        check_data(self)


@dataclass
class WidthRegRow:
    KEY: ClassVar[tuple[str, ...]] = ("width", "regularized", "seed")  # --resume's and report's

    width: int
    regularized: bool  # weight decay and augmentation (the config's), or neither
    seed: int
    params: int
    train_accuracy: float  # eval mode, on the (unaugmented) training images
    test_accuracy: float
    gap: float  # train - test
    train_time_s: float
