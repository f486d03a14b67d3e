"""probe-transfer's options, config and row: torch-free, so that --help, usage errors and reading a record start
at once (its engine, experiment.py, imports torch; engine/lazy.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from deepgen_cli.engine import models
from deepgen_cli.engine.checks import check_data
from deepgen_cli.engine.config import (BATCH_SIZE, EPOCHS, LR, MODEL, REPEATS, DataConfig, RunOptions, TrainOptions,
                                       opt)
from deepgen_cli.engine.errors import UsageError
from deepgen_cli.engine.probe.config import MAX_PROBE_MB, MAX_TOTAL_PROBE_MB


TRAINED_ON = opt("--trained-on", choices=("half", "all", "none"),
                 help="half: the network learns the first half of the classes (the claim); all: every class (a "
                      "control); none: left at its initial weights (a control).")


@dataclass(frozen=True, kw_only=True)
class TransferConfig(RunOptions, DataConfig, TrainOptions):
    model: str = MODEL("cnn")  # a registry model tagged trainable; cnn: two conv blocks, 8 probed layers
    trained_on: str = TRAINED_ON("half")
    epochs: int = EPOCHS(10)  # cnn on half of digits: about 99% test accuracy on its 5 classes
    batch_size: int = BATCH_SIZE(64)
    lr: float = LR(0.05)  # probe's
    max_probe_mb: float = MAX_PROBE_MB(64.0)  # bounds each closed-form fit (16 B x features^2), as in probe
    max_total_probe_mb: float = MAX_TOTAL_PROBE_MB(1024.0)
    repeats: int = REPEATS(3)  # seeds (initial weights, batch order); the verdicts are paired over them

    def ignored(self) -> dict[str, str]:
        out = {"eval_every": "probe-transfer scores the trained network once"}
        if self.trained_on == "none":
            out.update({n: "--trained-on none trains nothing" for n in ("epochs", "lr", "momentum", "weight_decay",
                                                                          "lr_schedule")})
        return out

    def check(self) -> None:
        super().check()
        models.entry(self.model, "--model", tag="trainable")
        if self.dataset == "synthetic" and self.synthetic_classes < 4:
            raise UsageError(f"--synthetic-classes: probe-transfer splits the classes in two halves of 2 or more; "
                             f"must be 4 or more, got {self.synthetic_classes}")
        check_data(self)


@dataclass
class TransferRow:
    KEY: ClassVar[tuple[str, ...]] = ("network", "seed", "layer")  # --resume's and report's

    network: str  # what it was trained on: half | all | none
    seed: int
    depth: int  # 0: the input
    layer: str
    kind: str  # input | conv | activation | pool | linear | block (probe.layers.kind_of)
    features: int  # the layer's output width (the fit reads a sketch of it when wider than the budget allows)
    own_accuracy: float  # probe on the first half of the classes, test images of those classes
    other_accuracy: float  # probe on the second half (never trained on unless --trained-on all)
    gap: float  # own - other
    converged: bool  # both fits (control.py's convergence test)
    network_accuracy: float | None  # the network's own test accuracy on the classes it learned; None untrained
