"""`deepgen norm-compare`: batch norm vs batch renorm (and group norm, no norm) at small and non-i.i.d. minibatches."""

from __future__ import annotations

from typing import Optional

import typer

from deepgen_cli.cli import options
from deepgen_cli.report import table as render
from deepgen_cli.engine.errors import UsageError
from deepgen_cli.engine.norm_compare import NormCompareConfig, check, run
from deepgen_cli.report.table import Column
from deepgen_cli.report.plots import plotter
from deepgen_cli.cli.session import Common, run as run_command

D = NormCompareConfig  # defaults live on the config

COLUMNS = [
    Column("norm", "norm", render.text, numeric=False),
    Column("batch_size", "batch"),
    Column("sampling", "sampling", render.text, numeric=False),
    Column("seed", "seed"),
    Column("test_accuracy", "test acc (eval)", render.percent),
    Column("test_accuracy_batch_stats", "test acc (batch stats)", render.percent),
    Column("output_gap_tv", "train/eval gap", render.fixed(3)),
    Column("train_accuracy", "train acc", render.percent),
    Column("steps", "steps", render.count),
    Column("train_step_ms", "step ms", render.fixed(2)),
    Column("latency_ms_median", "latency ms", render.fixed(3)),
]


def _ints(text: str, flag: str) -> tuple[int, ...]:
    try:
        values = tuple(int(p) for p in (s.strip() for s in text.split(",")) if p)
    except ValueError:
        raise UsageError(f"{flag}: '{text}' is not a comma-separated list of integers, e.g. 2,4,32") from None
    if not values:
        raise UsageError(f"{flag}: give at least one value, e.g. 2,4,32")
    return values


def norm_compare(
    norms: str = typer.Option(",".join(D.norms), "--norms", help="Comma-separated norms: batch, renorm, group, none."),
    batch_sizes: str = typer.Option(",".join(map(str, D.batch_sizes)), "--batch-size", "-b",
                                    help="Comma-separated minibatch sizes to sweep."),
    non_iid: int = typer.Option(D.non_iid, "--non-iid", metavar="K",
                                help="Also train with minibatches of K classes each (batch sizes >= 2K); 0: off."),
    model: str = typer.Option(D.model, "--model", help="Registry model built with batch norm: cnn, inception-small."),
    dataset: str = typer.Option(D.dataset, "--dataset", help="digits (embedded), synthetic, cifar10, mnist, fashion-mnist."),
    data_dir: Optional[str] = typer.Option(D.data_dir, "--data-dir", help="Where the torchvision datasets are."),
    download: bool = typer.Option(D.download, "--download", help="Fetch the dataset into --data-dir if missing."),
    image_size: Optional[int] = typer.Option(D.image_size, "--image-size", help="Resize images to this side (pixels)."),
    subset: Optional[int] = typer.Option(D.subset, "--subset", help="Train on this many examples."),
    synthetic_shape: str = options.synthetic_shape_option(D.synthetic_shape),
    synthetic_classes: int = options.synthetic_classes_option(D.synthetic_classes),
    synthetic_examples: str = options.synthetic_examples_option(D.synthetic_examples),
    epochs: int = typer.Option(D.epochs, "--epochs", help="Epochs per training run."),
    lr: float = typer.Option(D.lr, "--lr", help="SGD learning rate per 32 examples (scaled with the batch size)."),
    weight_decay: float = typer.Option(D.weight_decay, "--weight-decay", help="L2 weight decay."),
    rmax: float = typer.Option(D.rmax, "--rmax", help="Final clip of r to [1/rmax, rmax]."),
    dmax: float = typer.Option(D.dmax, "--dmax", help="Final clip of d to [-dmax, dmax]."),
    warmup_steps: Optional[int] = typer.Option(D.warmup_steps, "--warmup-steps",
                                               help="Optimizer steps of plain batch norm (default: paper's 5k scaled)."),
    rmax_steps: Optional[int] = typer.Option(D.rmax_steps, "--rmax-steps",
                                             help="Step where rmax is reached (default: paper's 40k scaled to half the run)."),
    dmax_steps: Optional[int] = typer.Option(D.dmax_steps, "--dmax-steps",
                                             help="Step where dmax is reached (default: paper's 25k scaled)."),
    renorm_momentum: float = typer.Option(D.renorm_momentum, "--renorm-momentum",
                                          help="Rate of batch renorm's moving mean and std."),
    groups: int = typer.Option(D.groups, "--groups", help="GroupNorm groups (largest divisor of the channels up to this)."),
    repeats: int = typer.Option(D.repeats, "--repeats", help="Seeds per setting; verdicts use their mean."),
    margin: float = typer.Option(D.margin, "--margin", help="Accuracy (fraction) by which renorm must beat batch norm."),
    threads: Optional[int] = typer.Option(D.threads, "--threads", help="CPU threads for torch (default 1: tiny nets)."),
    plot: Optional[str] = options.PLOT,
    fmt: options.Format = options.FORMAT,
    output: Optional[str] = options.OUTPUT,
    device: options.DeviceChoice = options.DEVICE,
    seed: int = options.SEED,
    quiet: bool = options.QUIET,
    resume: bool = options.RESUME,
) -> None:
    """Train one network with batch norm, batch renorm, group norm and none, at small and non-i.i.d. minibatches."""
    from deepgen_cli.engine.data import parse_counts, parse_shape

    config = NormCompareConfig(
        norms=tuple(n.strip() for n in norms.split(",") if n.strip()), batch_sizes=_ints(batch_sizes, "--batch-size"),
        non_iid=non_iid, model=model, dataset=dataset, data_dir=data_dir, download=download,
        image_size=image_size, subset=subset, synthetic_shape=parse_shape(synthetic_shape),
        synthetic_classes=synthetic_classes, synthetic_examples=parse_counts(synthetic_examples), epochs=epochs, lr=lr,
        weight_decay=weight_decay, rmax=rmax, dmax=dmax, warmup_steps=warmup_steps, rmax_steps=rmax_steps,
        dmax_steps=dmax_steps, renorm_momentum=renorm_momentum, groups=groups, repeats=repeats, margin=margin,
        threads=threads, seed=seed)
    check(config)  # bad options fail before the data loads
    common = Common(fmt, output, device.value, seed, quiet, resume)
    after = plotter(plot, "norm_compare", "norm_compare_plot")
    run_command("norm-compare", config, common, run, COLUMNS, "Batch norm vs batch renorm", after,
                sweep=("norms", "batch_sizes", "repeats"))


def register(app: typer.Typer) -> None:
    app.command("norm-compare")(norm_compare)
