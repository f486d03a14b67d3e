"""memorize's engine: one fresh model trained per corruption, regularizer, noise level and seed."""

from __future__ import annotations

import torch
from torch import nn

from deepgen_cli.engine import data as data_mod, models, train
from deepgen_cli.engine.data import corrupt, streamed
from deepgen_cli.engine.errors import RunError, UsageError
from deepgen_cli.engine.memorize import regularizers
from deepgen_cli.engine.memorize.calibration import calibration
from deepgen_cli.engine.memorize.config import MemorizeConfig, MemorizeRow, row_config
from deepgen_cli.engine.memorize.findings import findings
from deepgen_cli.engine.models import user
from deepgen_cli.engine.modes import torch_threads
from deepgen_cli.engine.outcome import Outcome
from deepgen_cli.engine.sweep import measure_rows
from deepgen_cli.engine.train import evaluate_data


def train_config(config: MemorizeConfig, seed: int) -> train.TrainConfig:
    return train.TrainConfig.of(config, seed=seed)


def load_data(config: MemorizeConfig, device: torch.device):
    """In memory where it fits (data.Dataset), else streamed (data/streamed.py): --data-in-memory."""
    return streamed.open_data(data_mod.config_for(config), device)


def build_model(config: MemorizeConfig, data: data_mod.Dataset, seed: int,
                dropout: float | None = None) -> tuple[nn.Module, data_mod.Dataset]:
    """The model sized to the data; gray images are repeated to 3 channels for RGB-only (torchvision) models.

    `dropout`: the rate of every dropout layer (None: as the builder makes them)."""
    if config.model_file:
        torch.manual_seed(seed)
        model = user.build(config.model_file, num_classes=data.num_classes, in_channels=data.in_channels,
                           image_size=data.image_size)
        fix, flag = "check its input channels and size against --dataset and --image-size", "--model-file"
    else:
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
        fix, flag = f"try --image-size {entry.resolution}", "--model"
    if dropout is not None and not regularizers.set_dropout(model, dropout) and dropout:
        raise UsageError(f"--dropout: {config.network} has no dropout layer")
    try:
        with torch.no_grad():
            model.eval()(streamed.first_images(data, 2))
    except Exception as err:
        raise RunError(f"{flag} {config.network}: a forward pass on {data.in_channels}x{data.image_size}x"
                       f"{data.image_size} images failed ({type(err).__name__}: {str(err).splitlines()[0][:120]}); "
                       f"{fix}") from None
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
        seed=seed, model=config.network, dataset=config.dataset, corruption=stats.corruption, noise=stats.noise,
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
