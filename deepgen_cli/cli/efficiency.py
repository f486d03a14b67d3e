"""`deepgen efficiency`: params, Mult-Adds, size, latency and accuracy, with ratios to a baseline."""

from __future__ import annotations

from typing import Optional

import typer

from deepgen_cli.cli import options
from deepgen_cli.report import table as render
from deepgen_cli.engine.efficiency import EfficiencyConfig, run
from deepgen_cli.report.table import Column
from deepgen_cli.report.plots import plotter
from deepgen_cli.cli.session import Common, run as run_command

D = EfficiencyConfig  # defaults live on the config

COLUMNS = [
    Column("model", "model", render.text, numeric=False),
    Column("resolution", "input", render.text),
    Column("params", "params", render.count),
    Column("mult_adds", "Mult-Adds", render.count),
    Column("size_mib", "size MiB", render.fixed(2)),
    Column("latency_ms_median", "latency ms", render.fixed(2)),
    Column("latency_ms_iqr", "IQR ms", render.fixed(2)),
    Column("throughput_img_s", "img/s", render.fixed(1)),
    Column("top1", "pub. top-1", render.percent),  # published accuracy, not measured here
    Column("top5", "pub. top-5", render.percent),
    Column("published_dataset", "pub. dataset", render.text, numeric=False),
    Column("params_ratio", "x fewer params", render.ratio),
    Column("mult_adds_ratio", "x fewer Mult-Adds", render.ratio),
    Column("speedup", "x faster", render.ratio),
]
LAYER_COLUMNS = [
    Column("module", "module", render.text, numeric=False),
    Column("type", "type", render.text, numeric=False),
    Column("params", "params", render.count),
    Column("mult_adds", "Mult-Adds", render.count),
    Column("mult_adds_share", "share", render.percent),
]


def efficiency(
    models: str = typer.Option(",".join(D.models), "--models", "-m",
                               help="Comma-separated NAME[:ALPHA][@RESOLUTION], e.g. mobilenet:0.5@160. See `deepgen models`."),
    baseline: Optional[str] = typer.Option(D.baseline, "--baseline", help="Ratios against this model (default: the first)."),
    batch_size: int = typer.Option(D.batch_size, "--batch-size", "-b", help="Images per timed forward pass."),
    threads: Optional[int] = typer.Option(D.threads, "--threads", help="CPU threads for torch (default: torch's)."),
    min_time: float = typer.Option(D.min_time_s, "--min-time", help="Seconds of timed runs per model."),
    warmup: int = typer.Option(D.warmup_runs, "--warmup", help="Untimed forward passes before timing."),
    channels_last: bool = typer.Option(D.channels_last, "--channels-last", help="NHWC memory format."),
    half: bool = typer.Option(D.half, "--half", help="fp16 weights and inputs (CUDA only)."),
    compile: bool = typer.Option(D.compile, "--compile", help="torch.compile the model before timing."),
    weights: Optional[str] = typer.Option(D.weights, "--weights", help="Local state_dict to load into the one model."),
    model_file: Optional[str] = typer.Option(D.model_file, "--model-file", help="Your network: FILE.py:FACTORY[@RESOLUTION]."),
    by_layer: bool = typer.Option(D.by_layer, "--by-layer", help="Per-module params and Mult-Adds of one model."),
    plot: Optional[str] = options.PLOT,
    fmt: options.Format = options.FORMAT,
    output: Optional[str] = options.OUTPUT,
    device: options.DeviceChoice = options.DEVICE,
    seed: int = options.SEED,
    quiet: bool = options.QUIET,
    resume: bool = options.RESUME,
) -> None:
    """Compare parameters, Mult-Adds, size, latency and published accuracy of models."""
    import torch

    torch.manual_seed(seed)  # random inputs and initial weights
    from deepgen_cli.engine.registry import parse_specs

    specs = tuple(models.split(",")) if models.strip() or not model_file else ()
    if specs:
        parse_specs(models)  # fail on a bad name before anything heavy
    config = EfficiencyConfig(tuple(s.strip() for s in specs if s.strip()), baseline, batch_size, threads,
                              min_time, warmup, channels_last, half, compile, weights, model_file, by_layer)
    common = Common(fmt, output, device.value, seed, quiet, resume)
    after = plotter(plot if not by_layer else None, "efficiency", "efficiency_plot")
    if by_layer:
        run_command("efficiency", config, common, run, LAYER_COLUMNS, "Per-module breakdown")
    else:
        run_command("efficiency", config, common, run, COLUMNS, "Efficiency", after, sweep=("models",))


def register(app: typer.Typer) -> None:
    app.command("efficiency")(efficiency)
