"""`width-reg`: do small models need less regularization (Howard et al. 2017: "small models have less trouble with
overfitting")? A narrow and a wide member of one family (the cnn at two widths), each trained without
regularization and with weight decay and augmentation, paired by seed; the findings (findings.py) read the
train/test gap of each width and what the regularizers buy at each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from deepgen_cli.engine import data as data_mod
from deepgen_cli.engine import models, train
from deepgen_cli.engine.config import (AUGMENT, BATCH_SIZE, EPOCHS, LR, MODEL, REPEATS, SUBSET, WEIGHT_DECAY,
                                       DataConfig, RunOptions, TrainOptions, opt, parse_list, show_list)
from deepgen_cli.engine.errors import UsageError
from deepgen_cli.engine.modes import torch_threads
from deepgen_cli.engine.sweep import measure_rows
from deepgen_cli.engine.width_reg.findings import findings

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
        data_mod.check(data_mod.config_for(self))


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
    config = config.resolved()
    config.check()
    with torch_threads(config.threads):
        session.progress(f"loading {config.dataset}")
        data = data_mod.load(data_mod.config_for(config))
        plan = [(w, r, config.seed + i) for w in config.widths for r in (False, True) for i in range(config.repeats)]
        rows = measure_rows(session, plan, row_type=WidthRegRow, key=lambda item: item,
                            measure=lambda item, label: train_one(config, data, *item, device, session, label),
                            label=lambda item: f"width {item[0]}, {'regularized' if item[1] else 'plain'}, "
                                               f"seed {item[2]}")
        session.progress("checking the published claims")
        return findings(rows, config, data.num_classes)
