"""`memorize`: train on corrupted labels or images at each noise level, as in Zhang et al. (2017), Figure 1.

One row per noise level: train and test accuracy, the gap, and the epochs and seconds it took to fit.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from dataclasses import dataclass, field

import torch
from torch import nn

from deepgen_cli.engine import data as data_mod, models, train
from deepgen_cli.engine.config import (AMP, AUGMENT, BATCH_SIZE, CHANNELS_LAST, COMPILE, CONFIDENCE_PENALTY,
                                       CP_THRESHOLD, EPOCHS, LABEL_SMOOTHING, LR, LR_DECAY, MODEL, REPEATS, THREADS,
                                       UNTIL_FIT, DataOptions, RunOptions, TrainOptions, opt, parse_list, show_list)
from deepgen_cli.engine.data import corrupt, streamed
from deepgen_cli.engine.errors import RunError, UsageError
from deepgen_cli.engine.memorize.findings import findings
from deepgen_cli.engine.modes import torch_threads
from deepgen_cli.engine.outcome import Outcome
from deepgen_cli.engine.sweep import measure_rows
from deepgen_cli.engine.train_sharded import evaluate_data

DEFAULT_NOISE = (0.0, 0.5, 1.0)  # the sweep when --noise is not given; random-labels is p=1 alone
CORRUPTION = opt("--corruption", help="labels, random-labels (p=1), shuffled-pixels, random-pixels or gaussian.")
NOISE = opt("--noise", "-p", optional=True, parse=parse_list(float, "0,0.5,1"), show=show_list,
            help="Fractions p of training examples corrupted; a comma list sweeps, one row each "
                 "(default 0,0.5,1; random-labels: 1).")
DROPOUT = opt("--dropout", type=float, check=lambda v: 0 <= v < 1, valid="in [0, 1)",
              help="Dropout rate, for models that have dropout layers.")


@dataclass(frozen=True, kw_only=True)
class MemorizeConfig(RunOptions, DataOptions, TrainOptions):
    model: str = MODEL("mlp1x512")  # Zhang et al.'s one-hidden-layer MLP: fits random digits labels in seconds
    corruption: str = CORRUPTION("labels")
    noise: tuple[float, ...] | None = NOISE(None)  # p per row; None: DEFAULT_NOISE (random-labels: p=1)
    epochs: int = EPOCHS(300)  # the cap with until_fit; random digits labels fit in about 70 epochs
    until_fit: bool = UNTIL_FIT(True)  # stop once every training example is classified right
    batch_size: int = BATCH_SIZE(128)  # Zhang et al.'s batch size
    lr: float = LR(0.1)  # 0.1 fits random labels in ~70 epochs, 0.01 needs ~130 at batch 32
    lr_decay: float = LR_DECAY(1.0)  # per epoch; the paper's 0.95 stops a random-label fit on digits before 100%
    dropout: float = DROPOUT(0.0)
    augment: bool = AUGMENT(False)
    confidence_penalty: float = CONFIDENCE_PENALTY(0.0)
    cp_threshold: float | None = CP_THRESHOLD(None)
    label_smoothing: float = LABEL_SMOOTHING(0.0)
    amp: str = AMP("none")
    channels_last: bool = CHANNELS_LAST(False)
    compile: bool = COMPILE(False)
    # CPU threads. One by default: the default model's products (128 x 64 x 512) are too small to split, and
    # on shared cores a second thread stalls at every barrier (measured: a random-label fit of digits took
    # 0.8-2.5 s on one thread, 15-50 s on two). One thread also gives the same numbers on any machine.
    threads: int | None = THREADS(1)
    repeats: int = REPEATS(1)  # seeds seed, seed+1, ... per level (corruption, initial weights, batch order)

    def resolved(self) -> MemorizeConfig:
        if self.noise is not None:
            return self
        return dataclasses.replace(self, noise=(1.0,) if self.corruption == "random-labels" else DEFAULT_NOISE)

    def check(self) -> None:
        super().check()
        corrupt.check(self.corruption, 0.0)
        for p in self.noise or ():
            if not (math.isfinite(p) and 0.0 <= p <= 1.0):
                raise UsageError(f"--noise: each level must be a fraction in [0, 1], got {p:g}")
        if self.corruption == "random-labels" and self.noise and set(self.noise) != {1.0}:
            raise UsageError("--noise: random-labels always replaces every label (p=1); use --corruption labels "
                             "for other levels")
        if self.model not in models.names():
            raise UsageError(f"--model: unknown model '{self.model}'; valid: {', '.join(models.names())}")
        train.TrainConfig.of(self).check()
        data_mod.check(data_mod.config_for(self))


@dataclass
class MemorizeRow:
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
    curve: list = field(default_factory=list)  # per epoch: train_loss, train_accuracy, lr, seconds


def train_config(config: MemorizeConfig, seed: int) -> train.TrainConfig:
    return train.TrainConfig.of(config, seed=seed)


def load_data(config: MemorizeConfig, device: torch.device):
    """In memory where it fits (data.Dataset), else streamed (data/streamed.py): --data-in-memory."""
    return streamed.open_data(data_mod.config_for(config), device)


def build_model(config: MemorizeConfig, data: data_mod.Dataset, seed: int) -> tuple[nn.Module, data_mod.Dataset]:
    """The model sized to the data; gray images are repeated to 3 channels for RGB-only (torchvision) models."""
    entry = models.entry(config.model)
    params = inspect.signature(entry.builder).parameters
    kw = {"num_classes": data.num_classes}
    if "in_channels" in params:
        kw["in_channels"] = data.in_channels
    elif data.in_channels != entry.in_channels:
        if data.in_channels != 1:
            raise UsageError(f"--model {config.model}: takes {entry.in_channels}-channel images, "
                             f"{config.dataset} has {data.in_channels}")
        data = streamed.with_channels(data, entry.in_channels)
    if "image_size" in params:
        kw["image_size"] = data.image_size
    if config.dropout:
        if "dropout" not in params:
            raise UsageError(f"--dropout: {config.model} has no dropout option; models with one: "
                             f"{', '.join(n for n in models.names() if 'dropout' in inspect.signature(models.entry(n).builder).parameters)}")
        kw["dropout"] = config.dropout
    torch.manual_seed(seed)  # initial weights: the same at every noise level for one seed
    model = entry.builder(**kw)
    try:
        with torch.no_grad():
            model.eval()(streamed.first_images(data, 2))
    except Exception as err:
        raise RunError(f"--model {config.model}: a forward pass on {data.image_size}x{data.image_size} images failed "
                       f"({type(err).__name__}); try --image-size {entry.resolution}") from None
    return model.train(), data


def train_level(config: MemorizeConfig, clean: data_mod.Dataset, p: float, seed: int, device: torch.device,
                session, label: str) -> MemorizeRow:
    noisy, stats = corrupt.corrupt(clean, config.corruption, p, seed + 1)  # not the split's stream
    model, noisy = build_model(config, noisy, seed)

    def on_epoch(s: train.EpochStats) -> None:
        session.progress(f"{label}: epoch {s.epoch}/{config.epochs}, train accuracy {s.train_accuracy:.1%}")

    tcfg = train_config(config, seed)
    result = train.train(model, noisy, tcfg, device, on_epoch=on_epoch)
    session.progress(f"{label}: evaluating")  # as trained: compiled, autocast, memory format; all ranks' shares
    on_train = evaluate_data(result.model or model, noisy, "train", device, tcfg)
    on_test = evaluate_data(result.model or model, noisy, "test", device, tcfg)  # clean test images
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
                "lr": e.lr, "seconds": e.seconds} for e in result.epochs],
    )


def run(config: MemorizeConfig, device: torch.device, session) -> Outcome:
    """Train one fresh model per noise level and seed (per seed, the same initial weights and batch order at
    every level) and check the claims."""
    config = config.resolved()
    config.check()
    with torch_threads(config.threads):
        session.progress(f"loading {config.dataset}")
        clean = load_data(config, device)
        plan = [(p, config.seed + i) for p in sorted(set(config.noise)) for i in range(config.repeats)]
        rows = measure_rows(
            session, plan, row_type=MemorizeRow,
            key=lambda item: {"noise": item[0], "corruption": config.corruption, "seed": item[1]},
            measure=lambda item, label: train_level(config, clean, *item, device, session, label),
            label=lambda item: f"p={item[0]:g}" + (f", seed {item[1]}" if config.repeats > 1 else ""))
    outcome = findings(rows, config)
    if streamed.is_streamed(clean):
        per_image = config.corruption in ("random-pixels", "gaussian")
        outcome.notes.append(f"{config.dataset} was streamed through a DataLoader ({clean.workers} worker processes "
                             f"per rank), standardized with the statistics of "
                             f"{min(len(clean.train), streamed.STATS_EXAMPLES)} training images"
                             + ("; each corrupted image drawn from its own seed" if per_image else ""))
    return outcome
