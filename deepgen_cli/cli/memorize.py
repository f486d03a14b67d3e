"""`deepgen memorize`: do networks fit random labels and noise images? (Zhang et al., ICLR 2017)"""

from __future__ import annotations

import typer

from deepgen_cli.cli.experiment import experiment
from deepgen_cli.engine.memorize import MemorizeConfig, run
from deepgen_cli.report.table import Column, fixed, percent, text

COLUMNS = [
    Column("model", "model", text, numeric=False),
    Column("seed", "seed", text),
    Column("corruption", "corruption", text, numeric=False),
    Column("noise", "p", fixed(2)),
    Column("changed_fraction", "changed", percent),
    Column("train_accuracy", "train acc", percent),
    Column("test_accuracy", "test acc", percent),
    Column("gap", "gap", percent),
    Column("fit_label", "epochs to 100%", text),
    Column("fit_time_s", "s to 100%", fixed(2)),
    Column("final_train_loss", "train loss", fixed(4)),
    Column("mean_entropy", "entropy", fixed(3)),
]


def register(app: typer.Typer) -> None:
    experiment(app, "memorize", MemorizeConfig, run, lambda config: (COLUMNS, "Memorization (Zhang et al. 2017)"),
               plot=("memorize", "memorize_plot"), sweep=("noise", "repeats"),
               help="Train on randomly corrupted labels or images: train accuracy, test accuracy, the gap, time to fit.")
