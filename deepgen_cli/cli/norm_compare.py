"""`deepgen norm-compare`: batch norm vs batch renorm (and group norm, no norm) at small and non-i.i.d. minibatches."""

from __future__ import annotations

import typer

from deepgen_cli.cli.experiment import experiment
from deepgen_cli.engine.norm_compare import NormCompareConfig, run
from deepgen_cli.report.table import Column, count, fixed, percent, text

COLUMNS = [
    Column("norm", "norm", text, numeric=False),
    Column("batch_size", "batch"),
    Column("sampling", "sampling", text, numeric=False),
    Column("seed", "seed"),
    Column("test_accuracy", "test acc (eval)", percent),
    Column("test_accuracy_batch_stats", "test acc (batch stats)", percent),
    Column("output_gap_tv", "train/eval gap", fixed(3)),
    Column("train_accuracy", "train acc", percent),
    Column("steps", "steps", count),
    Column("train_step_ms", "step ms", fixed(2)),
    Column("latency_ms_median", "latency ms", fixed(3)),
]


def register(app: typer.Typer) -> None:
    experiment(app, "norm-compare", NormCompareConfig, run, lambda config: (COLUMNS, "Batch norm vs batch renorm"),
               plot=("norm_compare", "norm_compare_plot"), sweep=("norms", "batch_sizes", "repeats"),
               help="Train one network with batch norm, batch renorm, group norm and none, at small and non-i.i.d. "
                    "minibatches.")
