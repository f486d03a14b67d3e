"""memorize's options, config and row: torch-free, so that --help, usage errors and reading a record start at once
(the engine, experiment.py, imports torch)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import ClassVar

from deepgen_cli.engine import models
from deepgen_cli.engine.checks import check_data, check_training
from deepgen_cli.engine.config import (CORRUPTIONS, EPOCHS, MODEL, REPEATS, UNTIL_FIT, DataConfig, Options,
                                       RunOptions, TrainConfig, opt, parse_list, show_list)
from deepgen_cli.engine.errors import UsageError
from deepgen_cli.engine.memorize import regularizers
from deepgen_cli.engine.memorize.levels import LABEL_KINDS
from deepgen_cli.engine.models import user

DEFAULT_NOISE = (0.0, 1.0)  # the sweep when --noise is not given (3 seeds each); random-labels is p=1 alone
CORRUPTION = opt("--corruption", parse=parse_list(str, "labels,gaussian"), show=show_list,
                 check=lambda v: len(v) > 0 and all(k in CORRUPTIONS for k in v),
                 valid="a comma list of: " + ", ".join(CORRUPTIONS),
                 help="labels, random-labels (p=1 only), shuffled-pixels, random-pixels or gaussian; a comma list runs "
                      "each, one set of rows per corruption (Zhang et al. Figure 1a).")
NOISE = opt("--noise", "-p", optional=True, parse=parse_list(float, "0,0.5,1"), show=show_list,
            help="Fractions p of training examples corrupted; a comma list sweeps, one row each "
                 "(default 0,1; random-labels: 1).")
DROPOUT = opt("--dropout", type=float, check=lambda v: 0 <= v < 1, valid="in [0, 1)",
              help="Dropout rate, for models that have dropout layers (set on every one).")
REGULARIZER = opt("--regularizer", optional=True, parse=parse_list(str, "none,wd"), show=show_list,
                  check=lambda v: len(v) > 0 and all(r in regularizers.REGULARIZERS for r in v),
                  valid="a comma list of: " + ", ".join(regularizers.REGULARIZERS),
                  help="Sweep regularizers, one set of rows each: none, wd (weight decay 5e-4), dropout (0.5), "
                       "augment (crop + flip), label-smoothing (0.1), confidence-penalty (beta 1.0), all. Each "
                       "alone, at its flag's strength when given (--weight-decay, --dropout, ...). Unset: the flags.")
CORRUPT_TEST = opt("--corrupt-test", type=bool,
                   help="Label corruptions: redraw the same fraction p of test labels too (default: a clean test set).")


@dataclass(frozen=True, kw_only=True)
class MemorizeConfig(RunOptions, DataConfig, TrainConfig):
    """The training group whole (engine/config.py TrainConfig: the penalty, augmentation, amp ...), with memorize's
    defaults; Zhang et al.'s batch size 128 and lr 0.1 are the group's (0.1 fits random labels in ~70 epochs,
    0.01 needs ~130 at batch 32). The learning rate is constant: the paper's exp:0.95 stops a random-label fit on
    digits before 100%."""

    model: str = MODEL("mlp1x512")  # Zhang et al.'s one-hidden-layer MLP: fits random digits labels in seconds
    model_file: str | None = user.MODEL_FILE(None)  # FILE.py:FACTORY(kw=...): the user's network instead of --model
    corruption: tuple[str, ...] = CORRUPTION(("labels",))
    noise: tuple[float, ...] | None = NOISE(None)  # p per row; None: DEFAULT_NOISE (random-labels: p=1)
    epochs: int = EPOCHS(300)  # the cap with until_fit; random digits labels fit in about 70 epochs
    until_fit: bool = UNTIL_FIT(True)  # stop once every training example is classified right
    dropout: float = DROPOUT(0.0)
    repeats: int = REPEATS(3)  # seeds seed, seed+1, ... per level; 3: the verdicts are intervals over seeds
    regularizer: tuple[str, ...] | None = REGULARIZER(None)  # None: one row set, regularized as the flags say
    corrupt_test: bool = CORRUPT_TEST(False)

    def resolved(self) -> MemorizeConfig:
        config = super().resolved()
        if isinstance(config.corruption, str):  # a record written before --corruption took a list
            config = dataclasses.replace(config, corruption=(config.corruption,))
        if config.noise is None:
            only_random = set(config.corruption) == {"random-labels"}
            config = dataclasses.replace(config, noise=(1.0,) if only_random else DEFAULT_NOISE)
        return config

    @property
    def network(self) -> str:
        """What rows and verdicts call the trained network: --model-file as given, else --model."""
        return self.model_file or self.model

    def ignored(self) -> dict[str, str]:
        out = {"model": "--model-file gives the network"} if self.model_file else {}
        if self.regularizer is not None:
            used = regularizers.used_fields(self.regularizer)
            given = ",".join(self.regularizer)
            out = {f: f"sets the strength of {part}, which --regularizer {given} does not run"
                   for part, f in regularizers.FIELDS.items() if f not in used}
            if "confidence_penalty" not in used:
                for f in ("cp_threshold", "cp_anneal"):
                    out[f] = f"shapes the confidence penalty, which --regularizer {given} does not run"
        if not set(self.corruption) & set(LABEL_KINDS):
            out["corrupt_test"] = "corrupts test labels, and --corruption has no label corruption"
        return out

    def check(self) -> None:
        # the ranges; the penalty's rules (TrainConfig.check) hold per row, below: a --regularizer row sets its beta
        Options.check(self)
        for p in self.noise or ():
            if not (math.isfinite(p) and 0.0 <= p <= 1.0):
                raise UsageError(f"--noise: each level must be a fraction in [0, 1], got {p:g}")
        if tuple(self.corruption) == ("random-labels",) and self.noise and set(self.noise) != {1.0}:
            raise UsageError("--noise: random-labels always replaces every label (p=1); use --corruption labels "
                             "for other levels")
        if self.model_file:
            user.check(self.model_file)
        else:
            models.entry(self.model, "--model", tag="trainable")
        wants = [r for r in self.regularizer or () if "dropout" in regularizers.parts(r)]
        # a network from a file shows whether it has dropout layers only once built (build_model says so)
        if (self.dropout or wants) and not self.model_file and not regularizers.has_dropout(self.model):
            flag = f"--regularizer {wants[0]}" if wants else "--dropout"
            raise UsageError(f"{flag}: {self.model} has no dropout layer; models with dropout (layers or a rate): "
                             f"{models.choices('dropout')}")
        for name in self.regularizer or (regularizers.label(self),):
            check_training(row_config(self, name))
        check_data(self)


@dataclass
class MemorizeRow:
    KEY: ClassVar[tuple[str, ...]] = ("corruption", "regularizer", "noise", "seed")  # --resume's and report's

    seed: int  # corruption, initial weights and batch order
    model: str
    dataset: str
    corruption: str
    noise: float  # p: fraction of training examples the corruption was applied to
    corrupted_examples: int
    changed_fraction: float  # training examples whose label (or image) actually differs from the original
    train_accuracy: float  # on the corrupted training set, eval mode, after training
    test_accuracy: float  # on the clean test set
    gap: float  # train_accuracy - test_accuracy
    fit_epoch: int | None  # first epoch whose training batches were all classified right; None: not reached
    fit_steps: int | None
    fit_time_s: float | None
    epochs_run: int
    train_time_s: float
    final_train_loss: float  # mean over the last epoch, as trained (with any penalty)
    mean_entropy: float  # of the output distribution on the training set, nats
    test_mean_entropy: float
    test_loss: float
    train_examples: int
    test_examples: int
    num_classes: int
    fit_label: str = ""  # fit_epoch as text, or "not reached" (the table renders None as blank)
    curve: list = field(default_factory=list)  # per epoch: train_loss, train_accuracy, test_accuracy, lr, seconds
    best_test_accuracy: float | None = None  # the learning curve's highest test accuracy (every --eval-every epochs)
    best_test_epoch: int | None = None
    regularizer: str = "none"  # a --regularizer entry, or what the flags turn on ("wd+dropout")
    test_corrupted: int = 0  # test examples corrupted too (shuffled pixels; labels with --corrupt-test)
    ece: float | None = None  # expected calibration error on the test set, 15 bins
    confident_fraction: float | None = None  # share of test predictions with max probability >= 0.99
    max_prob_hist: list = field(default_factory=list)  # test max probabilities: counts in 20 bins over [0, 1]
    test_mean_confidence: float | None = None  # mean max probability on the test set (vs test_accuracy)


def row_config(config: MemorizeConfig, regularizer: str) -> MemorizeConfig:
    """The config a row trains with: in a --regularizer sweep, its regularizer alone (others off); else the flags."""
    if config.regularizer is None:
        return config
    return dataclasses.replace(config, **regularizers.settings(config, regularizer))
