"""`deepgen memorize`: do networks fit random labels and noise images? (Zhang et al., ICLR 2017)"""

from __future__ import annotations

from typing import Optional

import typer

from deepgen_cli.cli import options
from deepgen_cli.report import table as render
from deepgen_cli.engine.errors import UsageError
from deepgen_cli.engine.memorize import MemorizeConfig, run
from deepgen_cli.report.table import Column
from deepgen_cli.report.plots import plotter
from deepgen_cli.cli.session import Common, run as run_command

D = MemorizeConfig  # defaults live on the config


def _seconds(v) -> str:
    return "" if v is None else f"{float(v):.2f}"


COLUMNS = [
    Column("model", "model", render.text, numeric=False),
    Column("seed", "seed", render.text),
    Column("corruption", "corruption", render.text, numeric=False),
    Column("noise", "p", render.fixed(2)),
    Column("changed_fraction", "changed", render.percent),
    Column("train_accuracy", "train acc", render.percent),
    Column("test_accuracy", "test acc", render.percent),
    Column("gap", "gap", render.percent),
    Column("fit_label", "epochs to 100%", render.text),
    Column("fit_time_s", "s to 100%", _seconds),
    Column("final_train_loss", "train loss", render.fixed(4)),
    Column("mean_entropy", "entropy", render.fixed(3)),
]


def parse_noise(text: str) -> tuple[float, ...]:
    try:
        levels = tuple(float(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise UsageError(f"--noise: cannot read '{text}'; give fractions in [0, 1] separated by commas, "
                         f"e.g. 0,0.2,0.4,0.6,0.8,1.0") from None
    if not levels:
        raise UsageError("--noise: give at least one level, e.g. --noise 0.5")
    return levels


def memorize(
    model: str = typer.Option(D.model, "--model", "-m", help="Registry model, e.g. mlp1x512, mlp3x512, cnn, "
                              "alexnet-small, inception-small. See `deepgen models`."),
    dataset: str = typer.Option(D.dataset, "--dataset", "-d", help="digits, synthetic, cifar10, mnist or fashion-mnist."),
    data_dir: Optional[str] = typer.Option(D.data_dir, "--data-dir", help="Folder with the cifar10/mnist/fashion-mnist files."),
    download: bool = typer.Option(D.download, "--download", help="Fetch the dataset into --data-dir if missing."),
    image_size: Optional[int] = typer.Option(D.image_size, "--image-size", help="Resize images to this side (pixels)."),
    subset: Optional[int] = typer.Option(D.subset, "--subset", help="Train on N examples (seeded choice)."),
    synthetic_shape: str = options.synthetic_shape_option(D.synthetic_shape),
    synthetic_classes: int = options.synthetic_classes_option(D.synthetic_classes),
    synthetic_examples: str = options.synthetic_examples_option(D.synthetic_examples),
    corruption: str = typer.Option(D.corruption, "--corruption", help="labels, random-labels, shuffled-pixels, "
                                   "random-pixels or gaussian."),
    noise: str = typer.Option(",".join(f"{p:g}" for p in D.noise), "--noise", "-p",
                              help="Fraction p of training examples corrupted; a comma list sweeps, one row each."),
    epochs: int = typer.Option(D.epochs, "--epochs", "-e", help="Epochs (the cap with --until-fit)."),
    until_fit: bool = typer.Option(D.until_fit, "--until-fit/--no-until-fit",
                                   help="Stop once training accuracy reaches 100%."),
    batch_size: int = typer.Option(D.batch_size, "--batch-size", "-b", help="Examples per SGD step."),
    lr: float = typer.Option(D.lr, "--lr", help="SGD learning rate."),
    lr_decay: float = typer.Option(D.lr_decay, "--lr-decay", help="Learning rate factor per epoch (paper: 0.95)."),
    momentum: float = typer.Option(D.momentum, "--momentum", help="SGD momentum."),
    weight_decay: float = typer.Option(D.weight_decay, "--weight-decay", help="L2 weight decay."),
    dropout: float = typer.Option(D.dropout, "--dropout", help="Dropout rate, for models that have dropout."),
    augment: bool = typer.Option(D.augment, "--augment", help="Random crop and horizontal flip."),
    confidence_penalty: float = typer.Option(D.confidence_penalty, "--confidence-penalty",
                                             help="beta: loss = NLL - beta * entropy (Pereyra 2017)."),
    cp_threshold: Optional[float] = typer.Option(D.cp_threshold, "--cp-threshold",
                                                 help="Hinge form: penalize only entropies below this (nats)."),
    label_smoothing: float = typer.Option(D.label_smoothing, "--label-smoothing", help="For comparison with the penalty."),
    amp: str = typer.Option(D.amp, "--amp", help="none or bf16 (autocast)."),
    channels_last: bool = typer.Option(D.channels_last, "--channels-last", help="NHWC memory format."),
    compile: bool = typer.Option(D.compile, "--compile", help="torch.compile the model."),
    threads: Optional[int] = typer.Option(D.threads, "--threads", help="CPU threads for torch (1 suits the small default models)."),
    repeats: int = typer.Option(D.repeats, "--repeats", help="Seeds per level (seed, seed+1, ...): mean and SD; verdicts use means."),
    plot: Optional[str] = options.PLOT,
    fmt: options.Format = options.FORMAT,
    output: Optional[str] = options.OUTPUT,
    device: options.DeviceChoice = options.DEVICE,
    seed: int = options.SEED,
    quiet: bool = options.QUIET,
    resume: bool = options.RESUME,
) -> None:
    """Train on randomly corrupted labels or images: train accuracy, test accuracy, the gap, time to fit."""
    levels = parse_noise(noise)
    if corruption == "random-labels" and noise == ",".join(f"{p:g}" for p in D.noise):
        levels = (1.0,)  # the default sweep means nothing here: random labels are p=1
    from deepgen_cli.engine.data import parse_counts, parse_shape

    config = MemorizeConfig(model, dataset, data_dir, download, image_size, subset, parse_shape(synthetic_shape),
                            synthetic_classes, parse_counts(synthetic_examples), corruption, levels, epochs,
                            until_fit, batch_size, lr, lr_decay, momentum, weight_decay, dropout, augment,
                            confidence_penalty, cp_threshold, label_smoothing, amp, channels_last, compile,
                            threads, repeats, seed)
    from deepgen_cli.engine.memorize import check

    check(config)  # a bad option fails before the data loads
    common = Common(fmt, output, device.value, seed, quiet, resume)
    after = plotter(plot, "memorize", "memorize_plot")
    run_command("memorize", config, common, run, COLUMNS, "Memorization (Zhang et al. 2017)", after,
                sweep=("noise", "repeats"))


def register(app: typer.Typer) -> None:
    app.command("memorize")(memorize)
