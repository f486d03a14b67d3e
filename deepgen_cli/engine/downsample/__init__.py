"""`downsample`: does downsampling late raise accuracy? (Iandola et al. 2016, strategy 3.) Two networks equal but
for which layers are strided, trained with the same seeds; findings.py judges the paired difference.

One row per (placement, seed): the network's Mult-Adds per image (the price of large activation maps) and its
accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from deepgen_cli.engine import data as data_mod, measure, models, train
from deepgen_cli.engine.config import EPOCHS, LR, REPEATS, UNTRAINED, DataConfig, RunOptions, TrainOptions, opt
from deepgen_cli.engine.downsample import findings as verdicts
from deepgen_cli.engine.modes import torch_threads
from deepgen_cli.engine.outcome import Outcome
from deepgen_cli.engine.sweep import measure_rows

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
        train.TrainConfig.of(self).check()
        data_mod.check(data_mod.config_for(self))

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


def run(config: DownsampleConfig, device: torch.device, session) -> Outcome:
    config = config.resolved()
    config.check()
    with torch_threads(config.threads):
        session.progress(f"loading {config.dataset}")
        data = data_mod.load(data_mod.config_for(config))
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
