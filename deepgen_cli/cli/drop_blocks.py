"""`deepgen drop-blocks`: delete residual blocks at test time (Veit et al. 2016), against a plain network."""

from __future__ import annotations

from deepgen_cli.cli.spec import ExperimentSpec
from deepgen_cli.report.table import Column, fixed, percent, text

COLUMNS = [
    Column("network", "network", text, numeric=False),
    Column("seed", "seed", text),
    Column("deleted", "deleted block", text),  # 0: none
    Column("test_accuracy", "test acc", percent),
    Column("drop", "loss", percent),
]

# `reproduce --quick` trains 2 epochs, not 4.
SPEC = ExperimentSpec(
    name="drop-blocks", help="Train a residual network and a plain one, delete one block at a time at test time, and "
                             "measure what each deletion costs.",
    config="deepgen_cli.engine.drop_blocks:DropBlocksConfig", row="deepgen_cli.engine.drop_blocks:DropBlocksRow",
    run="deepgen_cli.engine.drop_blocks:run", columns=tuple(COLUMNS), title="Deleting blocks (Veit et al. 2016)",
    sweep=("repeats", "networks"), papers="Veit et al. 2016", quick=dict(epochs=2),
    smoke=("--epochs", "1", "--subset", "64", "--repeats", "2"))
