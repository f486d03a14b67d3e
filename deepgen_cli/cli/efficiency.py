"""`deepgen efficiency`: params, Mult-Adds, size, latency and accuracy, with ratios to a baseline."""

from __future__ import annotations

import typer

from deepgen_cli.cli.experiment import experiment
from deepgen_cli.engine.efficiency import EfficiencyConfig, run
from deepgen_cli.report.table import Column, count, fixed, percent, ratio, text

COLUMNS = [
    Column("model", "model", text, numeric=False),
    Column("resolution", "input", text),
    Column("params", "params", count),
    Column("mult_adds", "Mult-Adds", count),
    Column("size_mib", "size MiB", fixed(2)),
    Column("latency_ms_median", "latency ms", fixed(2)),
    Column("latency_ms_iqr", "IQR ms", fixed(2)),
    Column("throughput_img_s", "img/s", fixed(1)),
    Column("top1", "pub. top-1", percent),  # published accuracy, not measured here
    Column("top5", "pub. top-5", percent),
    Column("published_dataset", "pub. dataset", text, numeric=False),
    Column("params_ratio", "x fewer params", ratio),
    Column("mult_adds_ratio", "x fewer Mult-Adds", ratio),
    Column("speedup", "x faster", ratio),
]
LAYER_COLUMNS = [
    Column("module", "module", text, numeric=False),
    Column("type", "type", text, numeric=False),
    Column("params", "params", count),
    Column("mult_adds", "Mult-Adds", count),
    Column("mult_adds_share", "share", percent),
]


def view(config: EfficiencyConfig):
    return (LAYER_COLUMNS, "Per-module breakdown") if config.by_layer else (COLUMNS, "Efficiency")


def register(app: typer.Typer) -> None:
    experiment(app, "efficiency", EfficiencyConfig, run, view, plot=("efficiency", "efficiency_plot"),
               sweep=("models",), help="Compare parameters, Mult-Adds, size, latency and published accuracy of models.")
