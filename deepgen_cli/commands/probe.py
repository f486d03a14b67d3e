"""`deepgen probe`: linear classifier probes at every layer (Alain & Bengio 2016), within a memory budget."""

from __future__ import annotations

import dataclasses
from typing import Optional

import typer

from deepgen_cli import options, render
from deepgen_cli.engine.errors import UsageError
from deepgen_cli.engine.probe import ProbeConfig, run, snapshot_epochs
from deepgen_cli.render import Column
from deepgen_cli.runner import Common, run as run_command

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
    Column("full_probe_mb", "full MiB", render.fixed(2)),
    Column("probe_mb", "used MiB", render.fixed(2)),
    Column("train_error", "train err", render.percent),
    Column("test_error", "test err", render.percent),
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
    untrained: bool = typer.Option(D.untrained, "--untrained", help="Probe the randomly initialized model post hoc."),
    dataset: str = typer.Option(D.dataset, "--dataset", help="digits, synthetic, cifar10, mnist or fashion-mnist."),
    data_dir: Optional[str] = typer.Option(D.data_dir, "--data-dir", help="Where the downloaded data sets live."),
    image_size: Optional[int] = typer.Option(D.image_size, "--image-size", help="Resize images to this side (pixels)."),
    subset: Optional[int] = typer.Option(D.subset, "--subset", help="Use this many training examples."),
    epochs: int = typer.Option(D.epochs, "--epochs", help="Model training epochs (training mode)."),
    snapshots: Optional[str] = typer.Option(None, "--snapshots", help="Epochs whose probes are scored, e.g. 1,2,4 (default: first, middle, last)."),
    batch_size: int = typer.Option(D.batch_size, "--batch-size", "-b", help="Examples per step, for the model and the probes."),
    lr: float = typer.Option(D.lr, "--lr", help="The model's SGD learning rate."),
    probe_epochs: int = typer.Option(D.probe_epochs, "--probe-epochs", help="Passes over the data for post-hoc probes."),
    probe_lr: float = typer.Option(D.probe_lr, "--probe-lr", help="The probes' SGD learning rate (standardized features)."),
    layers: Optional[str] = typer.Option(D.layers, "--layers", help="Comma-separated layer names or globs (default: all)."),
    reduce: str = typer.Option(D.reduce, "--reduce", help="auto, none, subset, project or pool."),
    max_probe_mb: float = typer.Option(D.max_probe_mb, "--max-probe-mb", help="MiB per probe (fp32 weights, momentum, gradient); auto reduces features to fit."),
    max_total_probe_mb: float = typer.Option(D.max_total_probe_mb, "--max-total-probe-mb", help="MiB of probes trained at once."),
    control: bool = typer.Option(D.control, "--control/--no-control", help="Control-task probes for selectivity."),
    cka_examples: int = typer.Option(D.cka_examples, "--cka-examples", help="Test examples for CKA between layers (0: off)."),
    plot: Optional[str] = options.PLOT,
    fmt: options.Format = options.FORMAT,
    output: Optional[str] = options.OUTPUT,
    device: options.DeviceChoice = options.DEVICE,
    seed: int = options.SEED,
    quiet: bool = options.QUIET,
) -> None:
    """Linear probes on every layer: does linear separability rise with depth?"""
    config = ProbeConfig(model, weights, untrained, dataset, data_dir, image_size, subset, epochs, _snapshots(snapshots),
                         batch_size, lr, probe_epochs, probe_lr, layers, reduce, max_probe_mb, max_total_probe_mb,
                         control, cka_examples, D.monotone_tolerance, seed)
    if config.snapshots is None and not config.posthoc:  # record the epochs actually scored
        config = dataclasses.replace(config, snapshots=snapshot_epochs(config))
    common = Common(fmt, output, device.value, seed, quiet)
    after = None
    if plot:
        from deepgen_cli.plots import check_path
        from deepgen_cli.plots.probe import probe_plot

        check_path(plot)
        after = lambda report: probe_plot(report, plot)  # noqa: E731
    run_command("probe", config, common, run, COLUMNS, "Linear probes by layer", after)


def register(app: typer.Typer) -> None:
    app.command("probe")(probe)
