"""`deepgen probe`: linear classifier probes at every layer (Alain & Bengio 2016), within a memory budget."""

from __future__ import annotations

import dataclasses
from typing import Optional

import typer

from deepgen_cli.cli import options
from deepgen_cli.report import table as render
from deepgen_cli.engine.errors import UsageError
from deepgen_cli.engine.probe import ProbeConfig, check, run
from deepgen_cli.report.table import Column
from deepgen_cli.report.plots import plotter
from deepgen_cli.cli.session import Common, run as run_command

D = ProbeConfig  # defaults live on the config

COLUMNS = [
    Column("snapshot", "snapshot", render.text, numeric=False),
    Column("depth", "depth", render.text),
    Column("layer", "layer", render.text, numeric=False),
    Column("type", "type", render.text, numeric=False),
    Column("shape", "shape", render.text),
    Column("features", "features", render.count),
    Column("reduction", "reduce", render.text, numeric=False),
    Column("probe_features", "probe in", render.count),
    Column("probe_params", "probe params", render.count),
    Column("full_probe_mib", "full MiB", render.fixed(2)),
    Column("probe_mib", "used MiB", render.fixed(2)),
    Column("train_error", "train err", render.percent),
    Column("test_error", "test err", render.percent),
    Column("control_train_accuracy", "control acc", render.percent),
    Column("selectivity", "selectivity", render.percent),
    Column("cka_prev", "CKA prev", render.fixed(3)),
]


def _snapshots(text: Optional[str]) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        epochs = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise UsageError(f"--snapshots: cannot read '{text}'; write comma-separated epochs, e.g. 1,2,4") from None
    if not epochs:
        raise UsageError("--snapshots: no epoch given; write comma-separated epochs, e.g. 1,2,4")
    return epochs


def probe(
    model: str = typer.Option(D.model, "--model", "-m", help="Model to probe; see `deepgen models`."),
    weights: Optional[str] = typer.Option(D.weights, "--weights", help="Probe this trained state_dict post hoc."),
    untrained: bool = typer.Option(D.untrained, "--untrained",
                                   help="Probe the randomly initialized model post hoc (the paper's baseline)."),
    dataset: str = typer.Option(D.dataset, "--dataset", "-d",
                                help="digits, synthetic, cifar10, mnist or fashion-mnist."),
    data_dir: Optional[str] = typer.Option(D.data_dir, "--data-dir",
                                           help="Folder with the cifar10/mnist/fashion-mnist files."),
    download: bool = typer.Option(D.download, "--download", help="Fetch the dataset into --data-dir if missing."),
    image_size: Optional[int] = typer.Option(D.image_size, "--image-size",
                                             help="Feed images resized to this side (pixels), one batch at a time."),
    subset: Optional[int] = typer.Option(D.subset, "--subset", help="Use this many training examples (seeded)."),
    synthetic_shape: str = options.synthetic_shape_option(D.synthetic_shape),
    synthetic_classes: int = options.synthetic_classes_option(D.synthetic_classes),
    synthetic_examples: str = options.synthetic_examples_option(D.synthetic_examples),
    epochs: int = typer.Option(D.epochs, "--epochs", "-e", help="Model training epochs (training mode)."),
    snapshots: Optional[str] = typer.Option(None, "--snapshots", help="Epochs whose probes are scored, e.g. 1,2,4 "
                                            "(default: first, middle, last; training mode)."),
    batch_size: int = typer.Option(D.batch_size, "--batch-size", "-b",
                                   help="Examples per step, for the model and the probes."),
    lr: float = typer.Option(D.lr, "--lr", help="The model's SGD learning rate (momentum 0.9)."),
    probe_epochs: int = typer.Option(D.probe_epochs, "--probe-epochs",
                                     help="Passes over the data for post-hoc probes."),
    probe_lr: float = typer.Option(D.probe_lr, "--probe-lr",
                                   help="The probes' SGD learning rate (momentum 0.9, standardized features)."),
    layers: Optional[str] = typer.Option(D.layers, "--layers", help="Comma-separated layer names or globs, "
                                         "e.g. input,layer*.0 (default: all)."),
    reduce: str = typer.Option(D.reduce, "--reduce", help="auto, none, subset, project or pool."),
    max_probe_mb: float = typer.Option(D.max_probe_mb, "--max-probe-mb",
                                       help="MiB per probe (fp32 weights, momentum, gradient); auto reduces to fit."),
    max_total_probe_mb: float = typer.Option(D.max_total_probe_mb, "--max-total-probe-mb",
                                             help="MiB of probes at once (training mode: with one batch's features); "
                                             "post hoc, more passes beyond it."),
    control: bool = typer.Option(D.control, "--control/--no-control", help="Control-task probes for selectivity."),
    cka_examples: int = typer.Option(D.cka_examples, "--cka-examples",
                                     help="Test examples for CKA between layers, in one forward (0: off)."),
    threads: Optional[int] = typer.Option(D.threads, "--threads", help="CPU threads for torch (1 suits the small "
                                          "default model; raise it for a big model on idle cores)."),
    plot: Optional[str] = options.PLOT,
    fmt: options.Format = options.FORMAT,
    output: Optional[str] = options.OUTPUT,
    device: options.DeviceChoice = options.DEVICE,
    seed: int = options.SEED,
    quiet: bool = options.QUIET,
    resume: bool = options.RESUME,
) -> None:
    """Linear probes on every layer: does linear separability rise with depth?"""
    from deepgen_cli.engine.data import parse_counts, parse_shape

    config = ProbeConfig(model=model, weights=weights, untrained=untrained, dataset=dataset, data_dir=data_dir,
                         download=download, image_size=image_size, subset=subset,
                         synthetic_shape=parse_shape(synthetic_shape), synthetic_classes=synthetic_classes,
                         synthetic_examples=parse_counts(synthetic_examples), epochs=epochs,
                         snapshots=_snapshots(snapshots), batch_size=batch_size, lr=lr, probe_epochs=probe_epochs,
                         probe_lr=probe_lr, layers=layers, reduce=reduce, max_probe_mb=max_probe_mb,
                         max_total_probe_mb=max_total_probe_mb, control=control, cka_examples=cka_examples,
                         threads=threads, seed=seed)
    check(config)  # a bad option fails before the data loads
    if config.snapshots is None and not config.posthoc:  # record the epochs actually scored
        config = dataclasses.replace(config, snapshots=config.snapshot_epochs())
    common = Common(fmt, output, device.value, seed, quiet, resume)
    after = plotter(plot, "probe", "probe_plot")
    run_command("probe", config, common, run, COLUMNS, "Linear probes by layer", after)


def register(app: typer.Typer) -> None:
    app.command("probe")(probe)
