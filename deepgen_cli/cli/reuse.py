"""`deepgen reuse`: do dense layers reuse early features? (Huang et al. 2017, Figure 5)"""

from __future__ import annotations

import typer

from deepgen_cli.cli.experiment import experiment
from deepgen_cli.engine.reuse import ReuseConfig, run
from deepgen_cli.report.table import Column, fixed, text

COLUMNS = [
    Column("network", "network", text, numeric=False),
    Column("seed", "seed", text),
    Column("block", "block", text),
    Column("target", "target", text, numeric=False),
    Column("source", "source", text),
    Column("weight", "mean |w|", fixed(4)),
    Column("normalized_weight", "normalized", fixed(2)),
]


def register(app: typer.Typer) -> None:
    experiment(app, "reuse", ReuseConfig, run, lambda config: (COLUMNS, "Feature reuse (Huang et al. 2017, Fig. 5)"),
               plot=("reuse", "reuse_plot"), sweep=("repeats",),
               help="Train a small DenseNet and measure how much each layer weighs every earlier layer's features.")
