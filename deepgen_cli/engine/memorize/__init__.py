"""`memorize`: train on corrupted labels or images at each noise level, as in Zhang et al. (2017), Figure 1.

One row per noise level: train and test accuracy, the gap, and the epochs and seconds it took to fit.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch import nn

from deepgen_cli.engine import data as data_mod, models, train
from deepgen_cli.engine.config import (EPOCHS, MODEL, REPEATS, UNTIL_FIT, DataConfig, Options, RunOptions,
                                       TrainConfig, opt, parse_list, show_list)
from deepgen_cli.engine.data import corrupt, streamed
from deepgen_cli.engine.errors import RunError, UsageError
from deepgen_cli.engine.memorize import regularizers
from deepgen_cli.engine.memorize.calibration import calibration
from deepgen_cli.engine.memorize.findings import findings
from deepgen_cli.engine.memorize.levels import LABEL_KINDS
from deepgen_cli.engine.modes import torch_threads
from deepgen_cli.engine.outcome import Outcome
from deepgen_cli.engine.sweep import measure_rows
from deepgen_cli.engine.train import evaluate_data

DEFAULT_NOISE = (0.0, 1.0)  # the sweep when --noise is not given (3 seeds each); random-labels is p=1 alone
CORRUPTION = opt("--corruption", parse=parse_list(str, "labels,gaussian"), show=show_list,
                 check=lambda v: len(v) > 0 and all(k in corrupt.CORRUPTIONS for k in v),
                 valid="a comma list of: " + ", ".join(corrupt.CORRUPTIONS),
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

    def ignored(self) -> dict[str, str]:
        out = {}
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
        models.entry(self.model, "--model", tag="trainable")
        wants = [r for r in self.regularizer or () if "dropout" in regularizers.parts(r)]
        if (self.dropout or wants) and not regularizers.has_dropout(self.model):
            flag = f"--regularizer {wants[0]}" if wants else "--dropout"
            raise UsageError(f"{flag}: {self.model} has no dropout layer; models with dropout (layers or a rate): "
                             f"{models.choices('dropout')}")
        for name in self.regularizer or (regularizers.label(self),):
            train.TrainConfig.of(row_config(self, name)).check()
        data_mod.check(data_mod.config_for(self))


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


def train_config(config: MemorizeConfig, seed: int) -> train.TrainConfig:
    return train.TrainConfig.of(config, seed=seed)


def load_data(config: MemorizeConfig, device: torch.device):
    """In memory where it fits (data.Dataset), else streamed (data/streamed.py): --data-in-memory."""
    return streamed.open_data(data_mod.config_for(config), device)


def build_model(config: MemorizeConfig, data: data_mod.Dataset, seed: int,
                dropout: float | None = None) -> tuple[nn.Module, data_mod.Dataset]:
    """The model sized to the data; gray images are repeated to 3 channels for RGB-only (torchvision) models.

    `dropout`: the rate of every dropout layer (None: as the builder makes them)."""
    entry = models.entry(config.model)
    if not entry.takes("in_channels") and data.in_channels != entry.in_channels:
        if data.in_channels != 1:
            raise UsageError(f"--model {config.model}: takes {entry.in_channels}-channel images, "
                             f"{config.dataset} has {data.in_channels}")
        data = streamed.with_channels(data, entry.in_channels)
    # builders that add dropout layers only for a rate above 0 get the rate; set_dropout sets the rest
    options = {"dropout": dropout} if dropout and entry.declares("dropout") else {}
    torch.manual_seed(seed)  # initial weights: the same at every noise level and regularizer for one seed
    model = models.create(config.model, num_classes=data.num_classes, in_channels=data.in_channels,
                          image_size=data.image_size, **options)
    if dropout is not None and not regularizers.set_dropout(model, dropout) and dropout:
        raise UsageError(f"--dropout: {config.model} has no dropout layer")
    try:
        with torch.no_grad():
            model.eval()(streamed.first_images(data, 2))
    except Exception as err:
        raise RunError(f"--model {config.model}: a forward pass on {data.image_size}x{data.image_size} images failed "
                       f"({type(err).__name__}); try --image-size {entry.resolution}") from None
    return model.train(), data


def train_level(config: MemorizeConfig, clean: data_mod.Dataset, kind: str, regularizer: str, p: float, seed: int,
                device: torch.device, session, label: str) -> MemorizeRow:
    cfg = row_config(config, regularizer)
    # the same draws on either path; streamed, applied per example as batches stream. seed + 1: not the split's stream
    apply = streamed.corrupt if streamed.is_streamed(clean) else corrupt.corrupt
    noisy, stats = apply(clean, kind, p, seed + 1, config.corrupt_test)
    # a sweep sets every dropout layer (0 for the rows without dropout); without one, --dropout 0 leaves them be
    model, noisy = build_model(cfg, noisy, seed, cfg.dropout if config.regularizer is not None or cfg.dropout else None)

    def on_epoch(s: train.EpochStats) -> None:
        session.progress(f"{label}: epoch {s.epoch}/{config.epochs}, train accuracy {s.train_accuracy:.1%}")

    tcfg = train_config(cfg, seed)
    result = train.train(model, noisy, tcfg, device, on_epoch=on_epoch, test=True)  # test accuracy: the curve
    session.progress(f"{label}: evaluating")  # as trained: compiled, autocast, memory format; all ranks' shares
    on_train = evaluate_data(result.model or model, noisy, "train", device, tcfg)
    on_test = evaluate_data(result.model or model, noisy, "test", device, tcfg)  # clean unless stats.test_corrupted
    # Pereyra's calibration figures need every test prediction; the streamed path does not hold them
    cal = None if streamed.is_streamed(noisy) else calibration(model, noisy.x_test, noisy.y_test, device)
    fit_steps = (sum(e.steps for e in result.epochs[:result.fit_epoch]) if result.fit_epoch else None)
    return MemorizeRow(
        seed=seed, model=config.model, dataset=config.dataset, corruption=stats.corruption, noise=stats.noise,
        corrupted_examples=stats.corrupted, changed_fraction=stats.changed_fraction,
        train_accuracy=on_train.accuracy, test_accuracy=on_test.accuracy,
        gap=on_train.accuracy - on_test.accuracy, fit_epoch=result.fit_epoch, fit_steps=fit_steps,
        fit_time_s=result.fit_seconds, epochs_run=len(result.epochs), train_time_s=result.seconds,
        final_train_loss=result.epochs[-1].train_loss, mean_entropy=on_train.mean_entropy,
        test_mean_entropy=on_test.mean_entropy, test_loss=on_test.loss,
        train_examples=len(noisy.y_train), test_examples=len(clean.y_test), num_classes=clean.num_classes,
        fit_label=str(result.fit_epoch) if result.fit_epoch else "not reached",
        curve=[{"epoch": e.epoch, "train_loss": e.train_loss, "train_accuracy": e.train_accuracy,
                "test_accuracy": e.test_accuracy, "lr": e.lr, "seconds": e.seconds} for e in result.epochs],
        **best_test(result.epochs),
        regularizer=regularizer, test_corrupted=stats.test_corrupted, ece=cal.ece if cal else None,
        confident_fraction=cal.confident_fraction if cal else None, max_prob_hist=cal.max_prob_hist if cal else [],
        test_mean_confidence=cal.mean_confidence if cal else None,
    )


def best_test(epochs: list[train.EpochStats]) -> dict:
    """The best test accuracy of the learning curve and its epoch (Zhang et al.'s early-stopping remark)."""
    scored = [e for e in epochs if e.test_accuracy is not None]
    best = max(scored, key=lambda e: e.test_accuracy, default=None)  # the first of equals: the earliest epoch
    return {"best_test_accuracy": best.test_accuracy if best else None, "best_test_epoch": best.epoch if best else None}


def plan(config: MemorizeConfig) -> list[tuple[str, str, float, int]]:
    """(corruption, regularizer, p, seed) per row: per corruption, per regularizer, per level, per seed.
    random-labels is p=1 alone; each seed gives every setting the same initial weights and batch order."""
    regs = tuple(dict.fromkeys(config.regularizer)) if config.regularizer else (regularizers.label(config),)
    items = []
    for kind in dict.fromkeys(config.corruption):
        levels = (1.0,) if kind == "random-labels" else sorted(set(config.noise))
        items += [(kind, reg, p, config.seed + i) for reg in regs for p in levels for i in range(config.repeats)]
    return items


def _label(config: MemorizeConfig, item) -> str:
    kind, reg, p, seed = item
    parts = ([kind] if len(config.corruption) > 1 else []) + [f"p={p:g}"]
    parts += [reg] if config.regularizer and len(config.regularizer) > 1 else []
    return ", ".join(parts + ([f"seed {seed}"] if config.repeats > 1 else []))


def run(config: MemorizeConfig, device: torch.device, session) -> Outcome:
    """Train one fresh model per corruption, regularizer, noise level and seed (per seed, the same initial weights
    and batch order in every setting) and check the claims."""
    config = config.resolved()
    config.check()
    with torch_threads(config.threads):
        session.progress(f"loading {config.dataset}")
        clean = load_data(config, device)
        rows = measure_rows(
            session, plan(config), row_type=MemorizeRow,
            key=lambda item: item,  # (corruption, regularizer, noise, seed): MemorizeRow.KEY
            measure=lambda item, label: train_level(config, clean, *item, device, session, label),
            label=lambda item: _label(config, item))
    outcome = findings(rows, config)
    if streamed.is_streamed(clean):
        per_image = bool(set(config.corruption) & {"random-pixels", "gaussian"})
        outcome.notes.append(f"{config.dataset} was streamed through a DataLoader ({clean.workers} worker processes "
                             f"per rank), standardized with the statistics of "
                             f"{min(len(clean.train), streamed.STATS_EXAMPLES)} training images"
                             + ("; each corrupted image drawn from its own seed" if per_image else "")
                             + "; calibration (ECE, max-probability histogram) is not measured on this path")
    return outcome
